/*
 * test_grants.c - the grant lifecycle (grants.c) and jobs_enqueue (enqueue.c) against a
 * temporary store: setup stores the grant with a port of the range and its setup job in one
 * transaction and wakes the dispatcher and the edge; a full range stores nothing; teardown
 * queues the removal once; job specs and idempotency keys.
 */
/* cmocka.h needs these headers first */
// clang-format off
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
// clang-format on

#include "alloc.h"
#include "enqueue.h"
#include "grants.h"
#include "helpers.h"
#include "plan.h"
#include "timefmt.h"

#define LO 42000
#define HI 42001

struct hooks {
    int jobs, grants;
};

static void on_jobs(void *ctx)
{
    ((struct hooks *)ctx)->jobs++;
}

static void on_grants(void *ctx)
{
    ((struct hooks *)ctx)->grants++;
}

static struct jobs_grant_env env_of(struct fx *f, struct hooks *h)
{
    return (struct jobs_grant_env){.store = f->s,
                                   .edge_port_lo = LO,
                                   .edge_port_hi = HI,
                                   .mgmt_networks = MGMT,
                                   .jobs_queued = on_jobs,
                                   .jobs_ctx = h,
                                   .grants_changed = on_grants,
                                   .grants_ctx = h};
}

/* A validated access grant as the API hands it over (no id, port or credentials yet). */
static void request_access(struct grant *g, const char *site)
{
    memset(g, 0, sizeof *g);
    memcpy(g->site_id, site, UUID_STR_LEN);
    g->kind = GRANT_ACCESS;
    g->entry_point = xstrdup("edge.test");
    snprintf(g->access_type, sizeof g->access_type, "ssh");
    snprintf(g->allow_only_cidr, sizeof g->allow_only_cidr, "198.51.100.7/32");
    g->expires_at_ms = time_now_ms() + 3600 * 1000;
    g->created_by = xstrdup("ops");
}

static void request_forward(struct grant *g, const char *site)
{
    request_access(g, site);
    g->kind = GRANT_FORWARD;
    g->access_type[0] = '\0';
    snprintf(g->dst_address, sizeof g->dst_address, "192.168.88.43");
    g->dst_port = 22;
}

/* The site's jobs, newest first. */
static size_t jobs_of(struct fx *f, const char *site, struct job **ret)
{
    size_t n = 0;
    assert_int_equal(store_job_list(f->s, f->tenant, site, NULL, ret, &n), 0);
    return n;
}

static void test_setup_access(void **state)
{
    struct fx *f = *state;
    struct hooks h = {0};
    struct jobs_grant_env env = env_of(f, &h);
    char site[UUID_STR_LEN];
    fx_site(f, NULL, "10.99.0.2", true, site, NULL);
    struct grant g;
    request_access(&g, site);
    assert_int_equal(jobs_grant_setup(&env, &g), 0);
    assert_true(g.port >= LO && g.port <= HI);
    assert_int_equal(strlen(g.username), GRANT_CRED_LEN);
    assert_int_equal(strlen(g.password), GRANT_CRED_LEN);
    assert_string_not_equal(g.username, g.password);
    assert_int_equal(g.id[14], '7'); /* UUIDv7 */
    assert_true(g.created_at > 0);
    assert_int_equal(h.jobs, 1);
    assert_int_equal(h.grants, 1);

    struct grant got;
    assert_int_equal(store_grant_get(f->s, f->tenant, site, GRANT_ACCESS, g.id, &got), 0);
    assert_int_equal(got.port, g.port);
    assert_string_equal(got.password, g.password);
    assert_string_equal(got.created_by, "ops");
    struct job *j = NULL;
    assert_int_equal(jobs_of(f, site, &j), 1);
    assert_string_equal(got.setup_job_id, j[0].id);
    assert_int_equal(j[0].kind, JOB_KIND_TRANSIENT_ACCESS);
    char want[128];
    snprintf(want, sizeof want, "Transient ssh access for %s", g.username);
    assert_string_equal(j[0].description, want);
    assert_true(j[0].express);
    assert_true(j[0].needs_ack);
    assert_string_equal(j[0].created_by, "ops");
    /* The job's plan is the grant's setup plan, with the management networks. */
    struct job_plan want_plan = {0}, got_plan = {0};
    job_plan_grant_setup(&want_plan, &g, MGMT);
    struct buf b;
    buf_init(&b, 1 << 16);
    assert_int_equal(job_plan_serialize(&want_plan, &b), 0);
    char *serialized = buf_steal(&b);
    assert_null(j[0].payload); /* a list unseals no plan */
    struct job full;
    assert_int_equal(store_job_get_any(f->s, j[0].id, &full), 0);
    assert_string_equal(full.payload, serialized);
    assert_int_equal(job_plan_parse(full.payload, &got_plan), 0);
    assert_int_equal(got_plan.ncmds, 3); /* tikgate-ro group, its policy, the user */
    job_release(&full);
    free(serialized);
    job_plan_release(&want_plan);
    job_plan_release(&got_plan);
    store_job_array_free(j, 1);
    grant_release(&got);
    grant_release(&g);
}

static void test_setup_forward_and_full_range(void **state)
{
    struct fx *f = *state;
    struct hooks h = {0};
    struct jobs_grant_env env = env_of(f, &h);
    char site[UUID_STR_LEN];
    fx_site(f, NULL, "10.99.0.2", true, site, NULL);
    struct grant a, b, c;
    request_forward(&a, site);
    request_forward(&b, site);
    request_forward(&c, site);
    assert_int_equal(jobs_grant_setup(&env, &a), 0);
    assert_string_equal(a.username, ""); /* no credentials for a forward */
    assert_int_equal(jobs_grant_setup(&env, &b), 0);
    assert_int_not_equal(a.port, b.port);
    assert_int_equal(h.jobs, 2);
    /* Both ports are taken: nothing is stored, no job queued, nobody woken. */
    assert_int_equal(jobs_grant_setup(&env, &c), -EADDRNOTAVAIL);
    assert_int_equal(h.jobs, 2);
    assert_int_equal(h.grants, 2);
    struct grant got;
    assert_int_equal(store_grant_get_any(f->s, c.id, &got), -ENOENT);
    struct job *j = NULL;
    size_t n = jobs_of(f, site, &j);
    assert_int_equal(n, 2);
    assert_int_equal(j[0].kind, JOB_KIND_TRANSIENT_FORWARD);
    assert_string_equal(j[0].description, "Transient forward to 192.168.88.43:22");
    store_job_array_free(j, n);
    grant_release(&a);
    grant_release(&b);
    grant_release(&c);
}

static void test_teardown(void **state)
{
    struct fx *f = *state;
    struct hooks h = {0};
    struct jobs_grant_env env = env_of(f, &h);
    char site[UUID_STR_LEN];
    fx_site(f, NULL, "10.99.0.2", true, site, NULL);
    struct grant g;
    request_access(&g, site);
    assert_int_equal(jobs_grant_setup(&env, &g), 0);
    assert_int_equal(jobs_grant_teardown(&env, g.id, true, "admin"), 0);
    assert_int_equal(h.jobs, 2);
    assert_int_equal(h.grants, 2);
    struct grant got;
    assert_int_equal(store_grant_get_any(f->s, g.id, &got), 0);
    assert_true(got.torn_down_at > 0);
    assert_true(got.revoked_early);
    assert_true(got.config_removed_from_mpac);
    struct job *j = NULL;
    size_t n = jobs_of(f, site, &j);
    assert_int_equal(n, 2);
    assert_string_equal(got.teardown_job_id, j[0].id);
    char want[128];
    snprintf(want, sizeof want, "Revoke transient access %s", g.username);
    assert_string_equal(j[0].description, want);
    assert_string_equal(j[0].created_by, "admin");
    assert_int_equal(j[0].kind, JOB_KIND_TRANSIENT_ACCESS);
    store_job_array_free(j, n);
    grant_release(&got);

    /* Once only: a second teardown changes nothing and wakes nobody. */
    assert_int_equal(jobs_grant_teardown(&env, g.id, false, "scheduler"), -EBUSY);
    assert_int_equal(h.jobs, 2);
    assert_int_equal(jobs_of(f, site, &j), 2);
    store_job_array_free(j, 2);
    assert_int_equal(
        jobs_grant_teardown(&env, "00000000-0000-7000-8000-000000000000", false, "scheduler"),
        -ENOENT);

    /* Expiry (the scheduler's path, without hooks). */
    struct jobs_grant_env quiet = {.store = f->s, .edge_port_lo = LO, .edge_port_hi = HI};
    struct grant fwd;
    request_forward(&fwd, site);
    assert_int_equal(jobs_grant_setup(&quiet, &fwd), 0);
    assert_int_equal(jobs_grant_teardown(&quiet, fwd.id, false, "scheduler"), 0);
    assert_int_equal(h.jobs, 2);
    assert_int_equal(store_grant_get_any(f->s, fwd.id, &got), 0);
    assert_false(got.revoked_early);
    assert_true(got.torn_down_at > 0);
    n = jobs_of(f, site, &j);
    assert_string_equal(j[0].description, "Expire transient forward 192.168.88.43");
    assert_string_equal(j[0].created_by, "scheduler");
    store_job_array_free(j, n);
    grant_release(&got);
    grant_release(&fwd);
    grant_release(&g);
}

/* The grant's teardown job id (a copy). */
static void teardown_job_of(struct fx *f, const char *grant_id, char ret[UUID_STR_LEN])
{
    struct grant got;
    assert_int_equal(store_grant_get_any(f->s, grant_id, &got), 0);
    assert_true(got.torn_down_at > 0);
    memcpy(ret, got.teardown_job_id, UUID_STR_LEN);
    grant_release(&got);
}

/* n grants of kind on site, already expired (set up through env). ids: n x UUID_STR_LEN. */
static void expired_grants(struct jobs_grant_env *env, const char *site, bool forward, int n,
                           char (*ids)[UUID_STR_LEN])
{
    for (int i = 0; i < n; i++) {
        struct grant g;
        if (forward)
            request_forward(&g, site);
        else
            request_access(&g, site);
        g.expires_at_ms = time_now_ms() - 1000;
        assert_int_equal(jobs_grant_setup(env, &g), 0);
        memcpy(ids[i], g.id, UUID_STR_LEN);
        grant_release(&g);
    }
}

/*
 * A batch's expired grants of one site and kind share removal jobs (64 at most each); another
 * site or kind gets its own.
 */
static void test_expiry_batches_share_jobs(void **state)
{
    struct fx *f = *state;
    struct jobs_grant_env env = {
        .store = f->s, .edge_port_lo = 43000, .edge_port_hi = 43999, .mgmt_networks = MGMT};
    char a[UUID_STR_LEN], b[UUID_STR_LEN];
    fx_site(f, NULL, "10.99.0.2", true, a, NULL);
    fx_site(f, NULL, "10.99.0.3", true, b, NULL);
    char fa[70][UUID_STR_LEN], xa[1][UUID_STR_LEN], fb[2][UUID_STR_LEN];
    expired_grants(&env, a, true, 70, fa);
    expired_grants(&env, a, false, 1, xa);
    expired_grants(&env, b, true, 2, fb);
    struct jobs_expired ex;
    assert_int_equal(jobs_grant_expire_due(&env, "node-a", time_now_ms(), 5000, 1024, &ex), 0);
    assert_int_equal(ex.done, 73);

    char j0[UUID_STR_LEN], j[UUID_STR_LEN], first[UUID_STR_LEN], last[UUID_STR_LEN];
    teardown_job_of(f, fa[0], first);
    teardown_job_of(f, fa[69], last);
    assert_string_not_equal(first, last);
    int in_first = 0;
    for (int i = 0; i < 70; i++) {
        teardown_job_of(f, fa[i], j);
        assert_true(!strcmp(j, first) || !strcmp(j, last));
        in_first += !strcmp(j, first);
    }
    assert_int_equal(in_first, 64); /* in the grants' order: the oldest 64 first */
    teardown_job_of(f, xa[0], j);
    assert_string_not_equal(j, first);
    assert_string_not_equal(j, last);
    teardown_job_of(f, fb[0], j0);
    teardown_job_of(f, fb[1], j);
    assert_string_equal(j0, j);

    struct job job;
    assert_int_equal(store_job_get(f->s, f->tenant, a, first, &job), 0);
    assert_string_equal(job.description, "Expire 64 transient forwards");
    assert_int_equal(job.kind, JOB_KIND_TRANSIENT_FORWARD);
    struct job_plan plan = {0};
    assert_int_equal(job_plan_parse(job.payload, &plan), 0);
    assert_int_equal(plan.ncmds, 64); /* one removal per grant */
    job_plan_release(&plan);
    job_release(&job);
    assert_int_equal(store_job_get(f->s, f->tenant, b, j, &job), 0);
    assert_string_equal(job.description, "Expire 2 transient forwards");
    job_release(&job);
    teardown_job_of(f, xa[0], j);
    assert_int_equal(store_job_get(f->s, f->tenant, a, j, &job), 0);
    assert_int_equal(job.kind, JOB_KIND_TRANSIENT_ACCESS);
    assert_non_null(strstr(job.description, "Expire transient access "));
    job_release(&job);
}

static void test_enqueue_spec(void **state)
{
    struct fx *f = *state;
    char site[UUID_STR_LEN], id[UUID_STR_LEN], again[UUID_STR_LEN];
    fx_site(f, NULL, NULL, false, site, NULL);
    struct job_spec spec = {.site_id = site,
                            .kind = JOB_KIND_SCRIPT,
                            .description = "Print addresses",
                            .script = "/ip address print",
                            .express = false,
                            .needs_ack = true,
                            .created_by = "ops",
                            .idempotency_key = "k-1"};
    assert_int_equal(jobs_enqueue(f->s, &spec, id), 0);
    /* The same key again: the first job, nothing new. */
    assert_int_equal(jobs_enqueue(f->s, &spec, again), 1);
    assert_string_equal(again, id);
    struct job j;
    assert_int_equal(store_job_get(f->s, f->tenant, site, id, &j), 0);
    assert_int_equal(j.kind, JOB_KIND_SCRIPT);
    assert_true(j.is_script);
    assert_string_equal(j.payload, "/ip address print");
    assert_false(j.express);
    assert_true(j.needs_ack);
    assert_string_equal(j.idempotency_key, "k-1");
    assert_int_equal(j.nevents, 1); /* created; not express */
    job_release(&j);

    struct job_plan plan = {0};
    job_plan_add(&plan, JOB_REBOOT, "/system", NULL, NULL);
    struct job_spec reboot = {.site_id = site,
                              .kind = JOB_KIND_ACTION,
                              .description = "Action site.reboot",
                              .plan = &plan,
                              .express = true};
    assert_int_equal(jobs_enqueue(f->s, &reboot, NULL), 0);
    job_plan_release(&plan);
    struct job *all = NULL;
    size_t n = jobs_of(f, site, &all);
    assert_int_equal(n, 2);
    assert_int_equal(all[0].kind, JOB_KIND_ACTION);
    assert_false(all[0].is_script);
    assert_false(all[0].needs_ack);
    assert_null(all[0].created_by);
    store_job_array_free(all, n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_setup_access, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_setup_forward_and_full_range, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_teardown, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_enqueue_spec, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_expiry_batches_share_jobs, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
