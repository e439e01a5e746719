/* test_audit.c - the audit log (migration 0014): insert, list with filters and keyset pages
 * newest first, tenant scoping, bounded prune. Both backends (suite unit and pg). */
/* cmocka.h needs these headers first */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include "helpers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An entry of tenant at at_ms by actor on object, with status. */
static void entry(struct audit_entry *e, const char *tenant, int64_t at_ms, const char *actor,
                  const char *object, int status)
{
    memset(e, 0, sizeof *e);
    uuid_v7(e->id);
    snprintf(e->tenant_id, sizeof e->tenant_id, "%s", tenant);
    e->at_ms = at_ms;
    e->actor_kind = AUDIT_ACTOR_API_KEY;
    snprintf(e->actor_id, sizeof e->actor_id, "%s", actor);
    snprintf(e->actor_name, sizeof e->actor_name, "key %s", actor);
    snprintf(e->source, sizeof e->source, "192.0.2.7");
    snprintf(e->method, sizeof e->method, "PATCH");
    snprintf(e->route, sizeof e->route, "/v1/sites/{id}");
    snprintf(e->object_id, sizeof e->object_id, "%s", object);
    e->status = status;
    if (status >= 400)
        snprintf(e->error_code, sizeof e->error_code, "resource_missing");
    uuid_v7(e->request_id);
}

static void test_insert_and_read_back(void **state)
{
    struct fx *f = *state;
    struct audit_entry e, *a = NULL;
    size_t n = 0;
    entry(&e, f->tenant, 1700000000123, "actor-1", "site-1", 404);
    e.actor_kind = AUDIT_ACTOR_USER;
    snprintf(e.parent_id, sizeof e.parent_id, "parent-1");
    assert_int_equal(store_audit_insert(f->s, &e), 0);
    assert_int_equal(store_audit_insert(f->s, &e), -EEXIST); /* the id is the key */
    assert_int_equal(store_audit_list(f->s, f->tenant, NULL, NULL, &a, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(a[0].id, e.id);
    assert_string_equal(a[0].tenant_id, f->tenant);
    assert_true(a[0].at_ms == 1700000000123);
    assert_int_equal(a[0].actor_kind, AUDIT_ACTOR_USER);
    assert_string_equal(a[0].actor_id, "actor-1");
    assert_string_equal(a[0].actor_name, "key actor-1");
    assert_string_equal(a[0].source, "192.0.2.7");
    assert_string_equal(a[0].method, "PATCH");
    assert_string_equal(a[0].route, "/v1/sites/{id}");
    assert_string_equal(a[0].object_id, "site-1");
    assert_string_equal(a[0].parent_id, "parent-1");
    assert_int_equal(a[0].status, 404);
    assert_string_equal(a[0].error_code, "resource_missing");
    assert_string_equal(a[0].request_id, e.request_id);
    free(a);
}

/* ids of the list for f's tenant under filter and page, newest first, into ids[]. */
static size_t list_ids(struct fx *f, const char *tenant, const struct audit_filter *filter,
                       const struct store_page *page, char ids[][UUID_STR_LEN], size_t max)
{
    struct audit_entry *a = NULL;
    size_t n = 0;
    assert_int_equal(store_audit_list(f->s, tenant, filter, page, &a, &n), 0);
    assert_true(n <= max);
    for (size_t i = 0; i < n; i++)
        memcpy(ids[i], a[i].id, UUID_STR_LEN);
    free(a);
    return n;
}

static void test_filters_pages_and_tenants(void **state)
{
    struct fx *f = *state;
    char other[UUID_STR_LEN];
    assert_int_equal(store_tenant_create(f->s, "other", MGMT, other), 0);
    struct audit_entry e[6];
    /* times 1000..6000, two actors, three objects, 2xx and 4xx */
    for (int i = 0; i < 6; i++) {
        char obj[16];
        snprintf(obj, sizeof obj, "obj-%d", i % 3);
        entry(&e[i], f->tenant, 1000 * (i + 1), i % 2 ? "bob" : "alice", obj,
              i % 3 == 2 ? 404 : 200);
        if (i == 4)
            snprintf(e[i].parent_id, sizeof e[i].parent_id, "obj-0");
        assert_int_equal(store_audit_insert(f->s, &e[i]), 0);
    }
    struct audit_entry theirs;
    entry(&theirs, other, 3500, "alice", "obj-0", 200);
    assert_int_equal(store_audit_insert(f->s, &theirs), 0);

    char ids[8][UUID_STR_LEN];
    /* newest first, only this tenant's */
    assert_int_equal(list_ids(f, f->tenant, NULL, NULL, ids, 8), 6);
    for (int i = 0; i < 6; i++)
        assert_string_equal(ids[i], e[5 - i].id);
    assert_int_equal(list_ids(f, other, NULL, NULL, ids, 8), 1);
    assert_string_equal(ids[0], theirs.id);

    /* keyset pages of 4: every entry once */
    struct store_page page = {.limit = 4};
    assert_int_equal(list_ids(f, f->tenant, NULL, &page, ids, 8), 4);
    assert_string_equal(ids[3], e[2].id);
    page.after_id = e[2].id;
    assert_int_equal(list_ids(f, f->tenant, NULL, &page, ids, 8), 2);
    assert_string_equal(ids[0], e[1].id);
    assert_string_equal(ids[1], e[0].id);
    /* another tenant's entry, or none at all, is no cursor */
    struct audit_entry *a = NULL;
    size_t n = 0;
    page.after_id = theirs.id;
    assert_int_equal(store_audit_list(f->s, f->tenant, NULL, &page, &a, &n), -EINVAL);
    page.after_id = "019adb9e-4c3a-7d2e-9f10-3b5c7a1d2e4f";
    assert_int_equal(store_audit_list(f->s, f->tenant, NULL, &page, &a, &n), -EINVAL);

    struct audit_filter by_actor = {.actor_id = "bob"};
    assert_int_equal(list_ids(f, f->tenant, &by_actor, NULL, ids, 8), 3);
    assert_string_equal(ids[0], e[5].id);
    /* object matches object_id or parent_id */
    struct audit_filter by_object = {.object_id = "obj-0"};
    assert_int_equal(list_ids(f, f->tenant, &by_object, NULL, ids, 8), 3);
    assert_string_equal(ids[0], e[4].id);
    assert_string_equal(ids[1], e[3].id);
    assert_string_equal(ids[2], e[0].id);
    struct audit_filter failed = {.result_class = 4};
    assert_int_equal(list_ids(f, f->tenant, &failed, NULL, ids, 8), 2);
    assert_string_equal(ids[0], e[5].id);
    assert_string_equal(ids[1], e[2].id);
    struct audit_filter window = {.since_ms = 2000, .until_ms = 4000};
    assert_int_equal(list_ids(f, f->tenant, &window, NULL, ids, 8), 2);
    assert_string_equal(ids[0], e[2].id);
    assert_string_equal(ids[1], e[1].id);
    struct audit_filter all = {
        .actor_id = "alice", .object_id = "obj-0", .since_ms = 1, .result_class = 2};
    assert_int_equal(list_ids(f, f->tenant, &all, NULL, ids, 8), 2); /* e[0], e[4] */
    struct audit_filter none = {.actor_id = "carol"};
    assert_int_equal(list_ids(f, f->tenant, &none, NULL, ids, 8), 0);
}

static void test_prune_is_bounded(void **state)
{
    struct fx *f = *state;
    struct audit_entry e;
    for (int i = 0; i < 5; i++) {
        entry(&e, f->tenant, 1000 + i, "a", "o", 200);
        assert_int_equal(store_audit_insert(f->s, &e), 0);
    }
    entry(&e, f->tenant, 9000, "a", "kept", 200);
    assert_int_equal(store_audit_insert(f->s, &e), 0);
    size_t n = 99;
    assert_int_equal(store_audit_prune(f->s, 5000, 3, &n), 0);
    assert_int_equal(n, 3); /* at most the limit, oldest first */
    char ids[8][UUID_STR_LEN];
    assert_int_equal(list_ids(f, f->tenant, NULL, NULL, ids, 8), 3);
    assert_int_equal(store_audit_prune(f->s, 5000, 100, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(store_audit_prune(f->s, 5000, 100, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(list_ids(f, f->tenant, NULL, NULL, ids, 8), 1);
    assert_string_equal(ids[0], e.id);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_insert_and_read_back, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_filters_pages_and_tenants, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_prune_is_bounded, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
