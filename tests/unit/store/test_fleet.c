/*
 * test_fleet.c - the fleet view's history (migration 0016): up time by hour from heartbeats,
 * the tenant's counts, and the 5-minute samples written once per boundary and pruned.
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
#include "timefmt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HOUR 3600

static void test_uptime_from_heartbeats(void **state)
{
    struct fx *f = *state;
    char site[UUID_STR_LEN], other[UUID_STR_LEN];
    fx_site(f, NULL, NULL, true, site, NULL);
    fx_site(f, NULL, NULL, true, other, NULL);
    /* an hour boundary in the future, so the times below all come after the adoption */
    int64_t now = (int64_t)time(NULL);
    int64_t h = now - now % HOUR + 2 * HOUR;
    int n = 0;
    assert_int_equal(store_sites_mark_offline(f->s, h - 1000, &n), 0);
    assert_int_equal(n, 2);
    /* back online: the time it was offline is no up time */
    assert_int_equal(store_site_heartbeat(f->s, site, h - 30), 1);
    /* online to online across the boundary: 30 s in each hour */
    assert_int_equal(store_site_heartbeat(f->s, site, h + 30), 0);
    assert_int_equal(store_sites_mark_offline(f->s, h + 31, &n), 0);
    assert_int_equal(store_site_heartbeat(f->s, site, h + 100), 1);
    assert_int_equal(store_site_heartbeat(f->s, site, h + 160), 0);

    struct store_uptime_day *d = NULL;
    size_t cnt = 0;
    /* one window day holding both hours */
    assert_int_equal(store_site_uptime(f->s, f->tenant, NULL, 0, INT64_MAX, h - HOUR, &d, &cnt), 0);
    assert_int_equal(cnt, 1);
    assert_string_equal(d[0].site_id, site);
    assert_int_equal(d[0].day, 0);
    assert_int_equal(d[0].up_s, 30 + 30 + 60);
    free(d);
    /* a window whose day boundary falls between the two hours */
    assert_int_equal(
        store_site_uptime(f->s, f->tenant, site, 0, INT64_MAX, h - 86400 - HOUR / 2, &d, &cnt), 0);
    assert_int_equal(cnt, 2);
    assert_int_equal(d[0].day, 0);
    assert_int_equal(d[0].up_s, 30);
    assert_int_equal(d[1].day, 1);
    assert_int_equal(d[1].up_s, 90);
    free(d);
    /* the other site, a window after it all, sites created later, another tenant: nothing */
    assert_int_equal(store_site_uptime(f->s, f->tenant, other, 0, INT64_MAX, h - HOUR, &d, &cnt),
                     0);
    assert_int_equal(cnt, 0);
    assert_int_equal(store_site_uptime(f->s, f->tenant, NULL, 0, INT64_MAX, h + HOUR, &d, &cnt), 0);
    assert_int_equal(cnt, 0);
    assert_int_equal(
        store_site_uptime(f->s, f->tenant, NULL, now + 86400, INT64_MAX, h - HOUR, &d, &cnt), 0);
    assert_int_equal(cnt, 0);
    char t2[UUID_STR_LEN];
    assert_int_equal(store_tenant_create(f->s, "other", MGMT, t2), 0);
    assert_int_equal(store_site_uptime(f->s, t2, NULL, 0, INT64_MAX, 0, &d, &cnt), 0);
    assert_int_equal(cnt, 0);

    /* an hour never holds more than 3600 s, a silence of weeks stays within the retention */
    assert_int_equal(store_site_heartbeat(f->s, site, h + 40 * 86400), 0);
    assert_int_equal(store_site_uptime(f->s, f->tenant, site, 0, INT64_MAX, h, &d, &cnt), 0);
    long total = 0;
    for (size_t i = 0; i < cnt; i++) {
        assert_true(d[i].up_s <= 86400);
        total += d[i].up_s;
    }
    assert_true(total <= (long)STORE_FLEET_KEEP_S + 2 * HOUR);
    assert_true(total >= (long)STORE_FLEET_KEEP_S);
    free(d);
}

static void test_counts(void **state)
{
    struct fx *f = *state;
    char a[UUID_STR_LEN], b[UUID_STR_LEN], p[UUID_STR_LEN], job[UUID_STR_LEN];
    fx_site(f, NULL, NULL, true, a, NULL);
    fx_site(f, NULL, NULL, true, b, NULL);
    fx_site(f, NULL, NULL, false, p, NULL);
    fx_job(f, a, false, false, NULL, NULL, job);
    int n = 0;
    assert_int_equal(store_sites_mark_offline(f->s, (int64_t)time(NULL) + 10, &n), 0);
    assert_int_equal(store_site_heartbeat(f->s, a, (int64_t)time(NULL) + 20), 1);
    assert_int_equal(store_site_tunnel_mode(f->s, f->tenant, b, TUNNEL_MODE_MANAGED), 0);
    assert_int_equal(store_vpn_peer_observed(f->s, b, NULL, 1, 0, 0, TUNNEL_DOWN), 0);
    struct store_fleet_counts c;
    assert_int_equal(store_fleet_counts(f->s, f->tenant, (int64_t)time(NULL) * 1000, &c), 0);
    assert_int_equal(c.sites[SITE_ONLINE], 1);
    assert_int_equal(c.sites[SITE_OFFLINE], 1);
    assert_int_equal(c.sites[SITE_PENDING_ONBOARDING], 1);
    assert_int_equal(c.tunnels_down, 1);
    assert_int_equal(c.jobs[JOB_PENDING], 1 + 0 * (int)strlen(job));
    assert_int_equal(c.grants_live, 0);
    /* another tenant sees none of it */
    char t2[UUID_STR_LEN];
    assert_int_equal(store_tenant_create(f->s, "other", MGMT, t2), 0);
    assert_int_equal(store_fleet_counts(f->s, t2, (int64_t)time(NULL) * 1000, &c), 0);
    assert_int_equal(c.sites[SITE_ONLINE] + c.sites[SITE_OFFLINE] + c.jobs[JOB_PENDING], 0);
}

/*
 * Every job status has its count, superseded included (the last of the enum): it is counted
 * in its own slot and nowhere else (it once went one past jobs[5], into grants_live).
 */
static void test_counts_superseded(void **state)
{
    struct fx *f = *state;
    char a[UUID_STR_LEN], j1[UUID_STR_LEN], j2[UUID_STR_LEN];
    fx_site(f, NULL, NULL, false, a, NULL);
    fx_job(f, a, false, true, NULL, NULL, j1); /* policy jobs: the older one is superseded */
    fx_job(f, a, false, true, NULL, NULL, j2);
    int n = -1;
    assert_int_equal(store_jobs_supersede(f->s, a, JOB_KIND_POLICY, j2, &n), 0);
    assert_int_equal(n, 1);
    struct store_fleet_counts c;
    assert_int_equal(store_fleet_counts(f->s, f->tenant, (int64_t)time(NULL) * 1000, &c), 0);
    assert_int_equal(sizeof c.jobs / sizeof c.jobs[0], JOB_STATUS_COUNT);
    assert_int_equal(c.jobs[JOB_SUPERSEDED], 1);
    assert_int_equal(c.jobs[JOB_PENDING], 1);
    assert_int_equal(c.grants_live, 0);
}

static void test_samples(void **state)
{
    struct fx *f = *state;
    char t2[UUID_STR_LEN];
    assert_int_equal(store_tenant_create(f->s, "other", MGMT, t2), 0);
    int64_t now = (int64_t)time(NULL) * 1000;
    int64_t at = now - now % STORE_FLEET_STEP_MS;
    int written = -1;
    /* a sample 9 days old, then now's: the old one is pruned, now's written once */
    assert_int_equal(store_fleet_sample(f->s, now - 9LL * 86400 * 1000, &written), 0);
    assert_int_equal(written, 2);
    assert_int_equal(store_fleet_sample(f->s, now, &written), 0);
    assert_int_equal(written, 2);
    assert_int_equal(store_fleet_sample(f->s, now, &written), 0);
    assert_int_equal(written, 0);
    struct store_fleet_point *p = NULL;
    size_t cnt = 0;
    assert_int_equal(store_fleet_history(f->s, f->tenant, 0, 1000, &p, &cnt), 0);
    assert_int_equal(cnt, 1);
    assert_true(p[0].at_ms == at);
    assert_int_equal(p[0].live_grants, 0);
    assert_int_equal(p[0].connections, 0);
    free(p);
    assert_int_equal(store_fleet_history(f->s, f->tenant, at + 1, 1000, &p, &cnt), 0);
    assert_int_equal(cnt, 0);
    struct store_fleet_point live;
    assert_int_equal(store_fleet_now(f->s, f->tenant, at, now, &live), 0);
    assert_true(live.at_ms == now);
    assert_int_equal(live.live_grants, 0);
}

/* A live access grant of site on edge "e", expiring at expires_ms; 0 or the store's error. */
static int grant(struct fx *f, const char *site, int64_t expires_ms, struct grant *g)
{
    memset(g, 0, sizeof *g);
    uuid_v7(g->id);
    memcpy(g->site_id, site, UUID_STR_LEN);
    g->kind = GRANT_ACCESS;
    g->entry_point = xstrdup("e");
    snprintf(g->access_type, sizeof g->access_type, "ssh");
    snprintf(g->allow_only_cidr, sizeof g->allow_only_cidr, "192.0.2.0/24");
    g->created_at = time_now();
    g->expires_at_ms = expires_ms;
    return store_grant_insert(f->s, g, 42000, 42099);
}

static void test_sample_values(void **state)
{
    struct fx *f = *state;
    char site[UUID_STR_LEN];
    fx_site(f, NULL, "10.99.0.2", true, site, NULL);
    int64_t now = time_now_ms();
    int64_t at = now - now % STORE_FLEET_STEP_MS;
    struct grant live, gone, old;
    assert_int_equal(grant(f, site, now + 3600000, &live), 0);
    assert_int_equal(grant(f, site, now + 3600000, &gone), 0);
    assert_int_equal(grant(f, site, now + 3600000, &old), 0);
    assert_int_equal(store_grant_teardown(f->s, gone.id, true, NULL), 0);
    /* in the sample's 5 minutes: two accepted (on two grants), one refused; one before them */
    assert_int_equal(store_grant_conn_open(f->s, live.id, 1, "192.0.2.1:1", at - 1000), 0);
    assert_int_equal(store_grant_conn_open(f->s, old.id, 2, "192.0.2.1:2", at - 1), 0);
    struct grant_connection refused = {.started_ms = at - 500, .ended_ms = at - 500, .count = 1};
    snprintf(refused.source, sizeof refused.source, "198.51.100.9:1000");
    snprintf(refused.outcome, sizeof refused.outcome, "refused");
    assert_int_equal(store_grant_conn_insert(f->s, live.id, &refused), 0);
    assert_int_equal(
        store_grant_conn_open(f->s, live.id, 3, "192.0.2.1:3", at - STORE_FLEET_STEP_MS - 1), 0);
    /* after the boundary: the live point's */
    assert_int_equal(store_grant_conn_open(f->s, live.id, 4, "192.0.2.1:4", at), 0);
    int written = 0;
    assert_int_equal(store_fleet_sample(f->s, now, &written), 0);
    assert_int_equal(written, 1);
    struct store_fleet_point *p = NULL;
    size_t cnt = 0;
    assert_int_equal(store_fleet_history(f->s, f->tenant, at, 10, &p, &cnt), 0);
    assert_int_equal(cnt, 1);
    assert_int_equal(p[0].live_grants, 2);
    assert_int_equal(p[0].connections, 2);
    free(p);
    struct store_fleet_point pt;
    assert_int_equal(store_fleet_now(f->s, f->tenant, at, now + 3600000 + 1, &pt), 0);
    assert_int_equal(pt.live_grants, 0); /* an hour later every grant has expired */
    assert_int_equal(pt.connections, 1);
    struct store_fleet_counts c;
    assert_int_equal(store_fleet_counts(f->s, f->tenant, now, &c), 0);
    assert_int_equal(c.grants_live, 2);
    grant_release(&live);
    grant_release(&gone);
    grant_release(&old);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_uptime_from_heartbeats, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_counts, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_counts_superseded, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_samples, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_sample_values, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
