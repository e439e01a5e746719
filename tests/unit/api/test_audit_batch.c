/*
 * test_audit_batch.c - audit entries written by a leader (src/api/audit_batch.c): every entry
 * of many concurrent writers lands exactly once, each writer returns after its entry is in
 * the store, and an entry that cannot be written fails alone (the others of its batch land).
 */
/* cmocka.h needs these headers first */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include "audit_batch.h"
#include "helpers.h"
#include "rand.h"
#include "store.h"
#include "timefmt.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WRITERS 12
#define PER_WRITER 40

/* The fixture of the store tests (tests/unit/store/helpers.c): a fresh store and tenant. */
static struct fx *fx;

static int group_setup(void **state)
{
    if (fx_setup(state) < 0)
        return -1;
    fx = *state;
    return 0;
}

static void entry(struct audit_entry *e, const char *object)
{
    memset(e, 0, sizeof *e);
    uuid_v7(e->id);
    memcpy(e->tenant_id, fx->tenant, UUID_STR_LEN);
    e->at_ms = time_now_ms();
    e->actor_kind = AUDIT_ACTOR_API_KEY;
    snprintf(e->actor_id, sizeof e->actor_id, "key-1");
    snprintf(e->method, sizeof e->method, "POST");
    snprintf(e->route, sizeof e->route, "/v1/sites");
    snprintf(e->object_id, sizeof e->object_id, "%s", object);
    e->status = 201;
}

/* How many entries of the tenant name object (the list's page cap is 200: objects unique). */
static size_t count_object(const char *object)
{
    struct audit_filter f = {.object_id = object};
    struct audit_entry *a = NULL;
    size_t n = 0;
    assert_int_equal(store_audit_list(fx->s, fx->tenant, &f, NULL, &a, &n), 0);
    free(a);
    return n;
}

struct writer {
    int index;
    const struct audit_entry *dup; /* written by this writer too, when set: fails */
    int failures, dup_result, not_visible;
};

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    for (int i = 0; i < PER_WRITER; i++) {
        char object[64];
        snprintf(object, sizeof object, "w%d-%d", w->index, i);
        struct audit_entry e;
        entry(&e, object);
        if (audit_batch_write(fx->s, &e) != 0)
            w->failures++;
        else if (count_object(object) != 1)
            w->not_visible++; /* returned before its entry was committed */
        if (w->dup && i == PER_WRITER / 2)
            w->dup_result = audit_batch_write(fx->s, w->dup);
    }
    store_thread_done(fx->s);
    return NULL;
}

static void test_concurrent_writers_each_entry_once(void **state)
{
    (void)state;
    struct audit_entry taken;
    entry(&taken, "taken");
    assert_int_equal(audit_batch_write(fx->s, &taken), 0);
    assert_int_equal(count_object("taken"), 1);

    pthread_t t[WRITERS];
    struct writer w[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        w[i] = (struct writer){.index = i, .dup = i == 3 ? &taken : NULL};
        assert_int_equal(pthread_create(&t[i], NULL, writer_main, &w[i]), 0);
    }
    for (int i = 0; i < WRITERS; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < WRITERS; i++) {
        assert_int_equal(w[i].failures, 0);
        assert_int_equal(w[i].not_visible, 0);
        for (int k = 0; k < PER_WRITER; k += 7) {
            char object[64];
            snprintf(object, sizeof object, "w%d-%d", i, k);
            assert_int_equal(count_object(object), 1);
        }
    }
    /* the entry whose id is taken failed alone, and was not written twice */
    assert_int_equal(w[3].dup_result, -EEXIST);
    assert_int_equal(count_object("taken"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_concurrent_writers_each_entry_once),
    };
    return cmocka_run_group_tests(tests, group_setup, fx_teardown);
}
