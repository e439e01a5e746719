/*
 * test_credentials.c - two-phase rotation (migration 0017): a pending credential leaves the
 * current one until confirmed; confirming makes it current and retires the current one and
 * older pending ones; a job's completion confirms what it set, even a retired one.
 */
/* cmocka.h needs setjmp.h, stdarg.h and stddef.h first: keep this order. */
/* clang-format off */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "helpers.h"
/* clang-format on */

/* "c p r" letters of the site's credentials, oldest first. */
static void states(struct fx *f, const char *site, char *out, size_t outlen)
{
    struct credential *all = NULL;
    size_t n = 0;
    assert_int_equal(store_credential_list(f->s, f->tenant, site, &all, &n), 0);
    size_t o = 0;
    for (size_t i = 0; i < n && o + 2 < outlen; i++) {
        out[o++] = credential_state_name(all[i].state)[0];
        if (all[i].state == CREDENTIAL_RETIRED)
            assert_true(all[i].deleted_at > 0);
        else
            assert_int_equal(all[i].deleted_at, 0);
        if (i + 1 < n)
            out[o++] = ' ';
    }
    out[o] = '\0';
    store_credential_array_free(all, n);
}

static void rotate(struct fx *f, const char *site, enum credential_state st, struct credential *ret)
{
    struct credential c, stored;
    credential_generate(&c, site);
    c.state = st;
    assert_int_equal(store_credential_rotate(f->s, f->tenant, &c, &stored), 0);
    assert_int_equal(stored.state, st);
    *ret = stored;
}

static void test_two_phase(void **state)
{
    struct fx *f = *state;
    char site[UUID_STR_LEN], st[32];
    struct credential c0, p1, p2, p3;
    fx_site(f, NULL, "10.99.0.2", true, site, &c0);
    states(f, site, st, sizeof st);
    assert_string_equal(st, "c");
    rotate(f, site, CREDENTIAL_PENDING, &p1);
    rotate(f, site, CREDENTIAL_PENDING, &p2);
    states(f, site, st, sizeof st);
    assert_string_equal(st, "c p p"); /* the current one stays until the router has another */
    bool changed = true;
    assert_int_equal(store_credential_confirm(f->s, site, c0.id, &changed), 0);
    assert_false(changed); /* already current: nothing changes */
    states(f, site, st, sizeof st);
    assert_string_equal(st, "c p p");
    /* the router has p1: it is current, c0 retired, p2 (newer) still pending */
    assert_int_equal(store_credential_confirm(f->s, site, p1.id, &changed), 0);
    assert_true(changed);
    states(f, site, st, sizeof st);
    assert_string_equal(st, "r c p");
    /* jobs: p3's job completes before p2's: p3 current, p2 (older pending) retired */
    rotate(f, site, CREDENTIAL_PENDING, &p3);
    char job[UUID_STR_LEN], job2[UUID_STR_LEN];
    fx_job(f, site, true, true, NULL, NULL, job);
    fx_job(f, site, true, true, NULL, NULL, job2);
    assert_int_equal(store_credential_set_job(f->s, p3.id, job), 0);
    assert_int_equal(store_credential_set_job(f->s, p2.id, job2), 0);
    assert_int_equal(store_credential_confirm_job(f->s, job, &changed), 0);
    assert_true(changed);
    states(f, site, st, sizeof st);
    assert_string_equal(st, "r r r c");
    /* then p2's job completes after all: the router has p2, reality wins */
    assert_int_equal(store_credential_confirm_job(f->s, job2, &changed), 0);
    assert_true(changed);
    states(f, site, st, sizeof st);
    assert_string_equal(st, "r r c r");
    /* errors; a job that set no password takes no write lock (SQLite's writer counters) */
    struct store_metrics m0, m1;
    assert_int_equal(store_metrics_get(f->s, &m0), 0);
    assert_int_equal(
        store_credential_confirm_job(f->s, "00000000-0000-7000-8000-000000000000", &changed),
        -ENOENT);
    assert_int_equal(store_metrics_get(f->s, &m1), 0);
    if (m0.has_writer)
        assert_int_equal(m1.writer_holds, m0.writer_holds);
    char other[UUID_STR_LEN];
    fx_site(f, NULL, "10.99.0.3", true, other, NULL);
    assert_int_equal(store_credential_confirm(f->s, other, p2.id, &changed), -ENOENT);
    assert_int_equal(store_credential_set_job(f->s, "00000000-0000-7000-8000-000000000000", job),
                     -ENOENT);
    /* a current rotation (no router to ask) retires every other one at once */
    struct credential c5;
    rotate(f, site, CREDENTIAL_CURRENT, &c5);
    states(f, site, st, sizeof st);
    assert_string_equal(st, "r r r r c");
    credential_release(&c0);
    credential_release(&p1);
    credential_release(&p2);
    credential_release(&p3);
    credential_release(&c5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_two_phase, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
