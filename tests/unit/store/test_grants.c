/*
 * test_grants.c - grants in the store: port allocation in a range (distinct, full range
 * refused, reusable only after teardown), due grants, updates of live grants only, sealed
 * temporary passwords, authorized_at read with the grant.
 */
/* cmocka.h needs these headers first */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include "alloc.h"
#include "helpers.h"
#include "rand.h"
#include "timefmt.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LO 41000
#define HI 41001

static void make_grant(struct grant *g, const char *site, const char *entry, int64_t expires_ms)
{
    memset(g, 0, sizeof *g);
    uuid_v7(g->id);
    memcpy(g->site_id, site, UUID_STR_LEN);
    g->kind = GRANT_ACCESS;
    g->entry_point = xstrdup(entry);
    grant_generate_credential(g->username);
    grant_generate_credential(g->password);
    snprintf(g->access_type, sizeof g->access_type, "winbox");
    snprintf(g->allow_only_cidr, sizeof g->allow_only_cidr, "8.8.8.8/32");
    g->created_at = time_now();
    g->expires_at_ms = expires_ms;
    g->created_by = xstrdup("test");
}

static int insert(struct fx *f, struct grant *g, const char *site, const char *entry,
                  int64_t expires_ms)
{
    make_grant(g, site, entry, expires_ms);
    return store_grant_insert(f->s, g, LO, HI);
}

static void test_ports_in_tiny_range(void **state)
{
    struct fx *f = *state;
    char site[UUID_STR_LEN];
    fx_site(f, NULL, "10.99.0.2", true, site, NULL);
    int64_t later = time_now_ms() + 3600 * 1000;
    struct grant a, b, c, d, e;
    assert_int_equal(insert(f, &a, site, "edge-1", later), 0);
    assert_int_equal(insert(f, &b, site, "edge-1", later), 0);
    assert_true(a.port >= LO && a.port <= HI);
    assert_true(b.port >= LO && b.port <= HI);
    assert_int_not_equal(a.port, b.port);
    /* The range is full for this entry point. */
    c.port = 0;
    assert_int_equal(insert(f, &c, site, "edge-1", later), -EADDRNOTAVAIL);
    assert_int_equal(c.port, 0);
    struct grant got;
    assert_int_equal(store_grant_get_any(f->s, c.id, &got), -ENOENT);
    /* Another entry point has its own ports. */
    assert_int_equal(insert(f, &d, site, "edge-2", later), 0);

    /* A port comes back only after teardown. */
    assert_int_equal(store_grant_teardown(f->s, a.id, true, NULL), 0);
    assert_int_equal(store_grant_teardown(f->s, a.id, true, NULL), -EBUSY);
    assert_int_equal(store_grant_insert(f->s, &c, LO, HI), 0);
    assert_int_equal(c.port, a.port);
    assert_int_equal(insert(f, &e, site, "edge-1", later), -EADDRNOTAVAIL);

    assert_int_equal(store_grant_get_any(f->s, a.id, &got), 0);
    assert_true(got.torn_down_at > 0);
    assert_true(got.revoked_early);
    assert_true(got.config_removed_from_mpac);
    assert_true(got.expires_at_ms <= time_now_ms());
    grant_release(&got);

    struct grant *live = NULL;
    size_t n = 0;
    assert_int_equal(store_grants_live(f->s, "edge-1", time_now_ms(), &live, &n), 0);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(live[i].target_address, "10.99.0.2");
        assert_int_equal(live[i].target_port, 8291); /* the policy's winbox port */
    }
    store_grant_array_free(live, n);

    grant_release(&a);
    grant_release(&b);
    grant_release(&c);
    grant_release(&d);
    grant_release(&e);
}

static void test_password_sealed(void **state)
{
    struct fx *f = *state;
    char site[UUID_STR_LEN];
    fx_site(f, NULL, NULL, false, site, NULL);
    struct grant a;
    assert_int_equal(insert(f, &a, site, "edge-1", time_now_ms() + 60000), 0);
    struct grant got;
    assert_int_equal(store_grant_get(f->s, f->tenant, site, GRANT_ACCESS, a.id, &got), 0);
    assert_string_equal(got.password, a.password);
    assert_string_equal(got.username, a.username);
    assert_int_equal(got.port, a.port);
    grant_release(&got);
    assert_int_equal(store_grant_get(f->s, f->tenant, site, GRANT_FORWARD, a.id, &got), -ENOENT);
    assert_true(fx_files_contain(f, a.username));
    assert_false(fx_files_contain(f, a.password));
    grant_release(&a);
}

static void test_due(void **state)
{
    struct fx *f = *state;
    char site[UUID_STR_LEN];
    fx_site(f, NULL, NULL, false, site, NULL);
    int64_t now = time_now_ms();
    struct grant past, future, gone;
    assert_int_equal(insert(f, &past, site, "e1", now - 1000), 0);
    assert_int_equal(insert(f, &future, site, "e2", now + 3600 * 1000), 0);
    assert_int_equal(insert(f, &gone, site, "e3", now - 2000), 0);
    assert_int_equal(store_grant_teardown(f->s, gone.id, false, NULL), 0);

    struct strlist due = {0};
    assert_int_equal(store_grants_due(f->s, now, 10, &due), 0);
    assert_int_equal(due.n, 1);
    assert_string_equal(due.items[0], past.id);
    strlist_release(&due);
    assert_int_equal(store_grants_due(f->s, now + 7200 * 1000, 10, &due), 0);
    assert_int_equal(due.n, 2);
    assert_string_equal(due.items[0], past.id); /* soonest first */
    assert_string_equal(due.items[1], future.id);
    strlist_release(&due);
    assert_int_equal(store_grants_due(f->s, now + 7200 * 1000, 1, &due), 0);
    assert_int_equal(due.n, 1);
    strlist_release(&due);

    struct grant got;
    assert_int_equal(store_grant_get_any(f->s, gone.id, &got), 0);
    assert_false(got.revoked_early); /* expiry, not revocation */
    grant_release(&got);
    grant_release(&past);
    grant_release(&future);
    grant_release(&gone);
}

static void test_update_live_only(void **state)
{
    struct fx *f = *state;
    char site[UUID_STR_LEN];
    fx_site(f, NULL, NULL, false, site, NULL);
    int64_t now = time_now_ms();
    struct grant live, expired;
    assert_int_equal(insert(f, &live, site, "e1", now + 600000), 0);
    assert_int_equal(insert(f, &expired, site, "e2", now - 1), 0);

    uint64_t rate = 125000;
    assert_int_equal(store_grant_update(f->s, live.id, now + 1200000, &rate), 0);
    struct grant got;
    assert_int_equal(store_grant_get_any(f->s, live.id, &got), 0);
    assert_int_equal(got.expires_at_ms, now + 1200000);
    assert_int_equal(got.rate_limit, 125000);
    grant_release(&got);
    /* Rate only: the expiry stays. */
    rate = 0;
    assert_int_equal(store_grant_update(f->s, live.id, 0, &rate), 0);
    assert_int_equal(store_grant_get_any(f->s, live.id, &got), 0);
    assert_int_equal(got.expires_at_ms, now + 1200000);
    assert_int_equal(got.rate_limit, 0);
    grant_release(&got);

    /* An expired grant waiting for teardown stays expired. */
    assert_int_equal(store_grant_update(f->s, expired.id, now + 1200000, NULL), -EBUSY);
    assert_int_equal(store_grant_get_any(f->s, expired.id, &got), 0);
    assert_int_equal(got.expires_at_ms, now - 1);
    grant_release(&got);

    assert_int_equal(store_grant_teardown(f->s, live.id, false, NULL), 0);
    assert_int_equal(store_grant_update(f->s, live.id, now + 1800000, NULL), -EBUSY);
    assert_int_equal(store_grant_update(f->s, "00000000-0000-7000-8000-000000000000", 1, NULL),
                     -EBUSY);
    grant_release(&live);
    grant_release(&expired);
}

static void test_list_active(void **state)
{
    struct fx *f = *state;
    char site[UUID_STR_LEN];
    fx_site(f, NULL, NULL, false, site, NULL);
    int64_t now = time_now_ms();
    struct grant a, b;
    assert_int_equal(insert(f, &a, site, "e1", now + 600000), 0);
    assert_int_equal(insert(f, &b, site, "e1", now - 1), 0);
    struct grant *l = NULL;
    size_t n = 0;
    assert_int_equal(store_grant_list(f->s, f->tenant, site, GRANT_ACCESS, false, NULL, &l, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(l[0].id, b.id); /* newest first */
    store_grant_array_free(l, n);
    assert_int_equal(store_grant_list(f->s, f->tenant, site, GRANT_ACCESS, true, NULL, &l, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(l[0].id, a.id);
    store_grant_array_free(l, n);
    assert_int_equal(store_grant_list(f->s, f->tenant, site, GRANT_FORWARD, false, NULL, &l, &n),
                     0);
    assert_int_equal(n, 0);
    store_grant_array_free(l, n);
    grant_release(&a);
    grant_release(&b);
}

/* authorized_at: the start of the first accepted connection, read with the grant itself. */
static void test_authorized_at(void **state)
{
    struct fx *f = *state;
    char site[UUID_STR_LEN];
    fx_site(f, NULL, "10.99.0.2", true, site, NULL);
    int64_t now = time_now_ms();
    struct grant a, got;
    assert_int_equal(insert(f, &a, site, "e1", now + 600000), 0);
    assert_int_equal(store_grant_get(f->s, f->tenant, site, GRANT_ACCESS, a.id, &got), 0);
    assert_int_equal(got.authorized_at_ms, 0);
    grant_release(&got);
    /* A refused source does not authorize anything. */
    struct grant_connection refused = {.started_ms = now - 500, .ended_ms = now - 500};
    snprintf(refused.source, sizeof refused.source, "198.51.100.9:1000");
    snprintf(refused.outcome, sizeof refused.outcome, "refused");
    assert_int_equal(store_grant_conn_insert(f->s, a.id, &refused), 0);
    assert_int_equal(store_grant_conn_open(f->s, a.id, 1, "8.8.8.8:1001", now - 200), 0);
    assert_int_equal(store_grant_conn_open(f->s, a.id, 2, "8.8.8.8:1002", now - 100), 0);
    assert_int_equal(store_grant_get(f->s, f->tenant, site, GRANT_ACCESS, a.id, &got), 0);
    assert_int_equal(got.authorized_at_ms, now - 200);
    grant_release(&got);
    struct grant *l = NULL;
    size_t n = 0;
    assert_int_equal(store_grant_list(f->s, f->tenant, site, GRANT_ACCESS, false, NULL, &l, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(l[0].authorized_at_ms, now - 200);
    store_grant_array_free(l, n);
    assert_int_equal(store_grant_get_any(f->s, a.id, &got), 0);
    assert_int_equal(got.authorized_at_ms, now - 200);
    grant_release(&got);
    /* The edge's reconcile does not pay for it. */
    assert_int_equal(store_grants_live(f->s, "e1", now, &l, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(l[0].authorized_at_ms, 0);
    assert_string_equal(l[0].password, ""); /* nothing unsealed per grant for the relay */
    assert_string_equal(l[0].username, a.username);
    assert_string_equal(l[0].target_address, "10.99.0.2");
    assert_int_equal(l[0].target_port, 8291);
    store_grant_array_free(l, n);
    grant_release(&a);
}

/* A connection whose START and END the edge writes in one batch: one whole row (issue 13). */
static void test_conn_whole(void **state)
{
    struct fx *f = *state;
    char site[UUID_STR_LEN];
    fx_site(f, NULL, "10.99.0.3", true, site, NULL);
    int64_t now = time_now_ms();
    struct grant a, got;
    assert_int_equal(insert(f, &a, site, "e1", now + 600000), 0);
    struct grant_connection c = {.conn_ref = 42,
                                 .started_ms = now - 300,
                                 .ended_ms = now - 100,
                                 .bytes_in = 16,
                                 .bytes_out = 1234567};
    snprintf(c.source, sizeof c.source, "8.8.8.8:1003");
    assert_int_equal(store_grant_conn_whole(f->s, a.id, &c), -EINVAL); /* no outcome */
    snprintf(c.outcome, sizeof c.outcome, "target_closed");
    assert_int_equal(store_grant_conn_whole(f->s, a.id, &c), 0);
    struct grant_connection open_only = c;
    open_only.ended_ms = 0;
    assert_int_equal(store_grant_conn_whole(f->s, a.id, &open_only), -EINVAL);
    struct grant_connection *l = NULL;
    size_t n = 0;
    assert_int_equal(store_grant_conn_list(f->s, a.id, 0, 10, &l, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(l[0].source, "8.8.8.8:1003");
    assert_int_equal(l[0].started_ms, now - 300);
    assert_int_equal(l[0].ended_ms, now - 100);
    assert_int_equal(l[0].bytes_in, 16);
    assert_int_equal(l[0].bytes_out, 1234567);
    assert_string_equal(l[0].outcome, "target_closed");
    free(l);
    /* it authorizes the grant as an open record would */
    assert_int_equal(store_grant_get(f->s, f->tenant, site, GRANT_ACCESS, a.id, &got), 0);
    assert_int_equal(got.authorized_at_ms, now - 300);
    grant_release(&got);
    /* a grant that is gone takes no record */
    char gone[UUID_STR_LEN];
    uuid_v7(gone);
    assert_int_equal(store_grant_conn_whole(f->s, gone, &c), 0);
    assert_int_equal(store_grant_conn_open(f->s, gone, 5, "8.8.8.8:1005", now), 0);
    struct grant_connection end_only = c;
    end_only.conn_ref = 0; /* an END without its START: inserted whole */
    assert_int_equal(store_grant_conn_insert(f->s, gone, &end_only), 0);
    assert_int_equal(store_grant_conn_list(f->s, gone, 0, 10, &l, &n), 0);
    assert_int_equal(n, 0);
    free(l);
    grant_release(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ports_in_tiny_range, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_password_sealed, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_due, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_update_live_only, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_list_active, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_authorized_at, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_conn_whole, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
