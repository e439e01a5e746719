/*
 * test_claims.c - no leader (DESIGN.md §11): batch push claims with a lease owner, the
 * take-over of dead nodes' jobs, due grants claimed in batches with leases. On SQLite (suite
 * unit) and PostgreSQL (suite pg), where two claiming threads stand for two nodes.
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
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LEASE 60000

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static void register_node(struct fx *f, const char *name)
{
    struct store_node n = {0};
    snprintf(n.name, sizeof n.name, "%s", name);
    snprintf(n.roles, sizeof n.roles, "scheduler,dispatcher");
    assert_int_equal(store_node_register(f->s, &n), 0);
}

/* A batch claim by owner; returns how many jobs it got (their ids into ids, may be NULL). */
static size_t claim(struct fx *f, const char *owner, int limit, int tenant_max,
                    char ids[][UUID_STR_LEN])
{
    int64_t now = time_now_ms();
    struct store_push_claim cl = {.owner = owner,
                                  .now_ms = now,
                                  .lease_until_ms = now + LEASE,
                                  .tenant_max = tenant_max,
                                  .limit = limit};
    struct job *jobs = NULL;
    size_t n = 0;
    int r = store_job_claim_push_batch(f->s, &cl, &jobs, &n);
    if (r == -ENOENT)
        return 0;
    assert_int_equal(r, 0);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(jobs[i].status, JOB_RUNNING);
        if (ids)
            memcpy(ids[i], jobs[i].id, UUID_STR_LEN);
    }
    store_job_array_free(jobs, n);
    return n;
}

static enum job_status status_of(struct fx *f, const char *id)
{
    struct job j;
    assert_int_equal(store_job_get_any(f->s, id, &j), 0);
    enum job_status st = j.status;
    job_release(&j);
    return st;
}

/* The message of the job's newest event of kind, or "" (into out). */
static void last_event(struct fx *f, const char *site, const char *id, const char *kind, char *out,
                       size_t len)
{
    struct job j;
    assert_int_equal(store_job_get(f->s, f->tenant, site, id, &j), 0);
    out[0] = '\0';
    for (size_t i = 0; i < j.nevents; i++)
        if (!strcmp(j.events[i].kind, kind))
            snprintf(out, len, "%s", j.events[i].message ? j.events[i].message : "");
    job_release(&j);
}

static void test_batch_claim_keeps_the_rules(void **state)
{
    struct fx *f = *state;
    char a[UUID_STR_LEN], b[UUID_STR_LEN], c[UUID_STR_LEN];
    fx_site(f, NULL, "10.99.0.2", true, a, NULL);
    fx_site(f, NULL, "10.99.0.3", true, b, NULL);
    fx_site(f, NULL, "10.99.0.4", true, c, NULL);
    char a1[UUID_STR_LEN], a2[UUID_STR_LEN], b1[UUID_STR_LEN], c1[UUID_STR_LEN];
    fx_job(f, a, true, true, NULL, NULL, a1);
    fx_job(f, a, true, true, NULL, NULL, a2);
    fx_job(f, b, true, true, NULL, NULL, b1);
    fx_job(f, c, false, true, NULL, NULL, c1); /* not express: waits for the router */

    /* One job per site (the oldest), never the pull-only one. */
    char got[8][UUID_STR_LEN];
    assert_int_equal(claim(f, "node-a", 8, 0, got), 2);
    assert_string_equal(got[0], a1);
    assert_string_equal(got[1], b1);
    char msg[256];
    last_event(f, a, a1, "pushing", msg, sizeof msg);
    assert_string_equal(msg, "Express push over the RouterOS API started");
    /* Site a has a running job: its next one waits, for every node. */
    assert_int_equal(claim(f, "node-b", 8, 0, NULL), 0);
    assert_int_equal(status_of(f, a2), JOB_PENDING);
    assert_int_equal(store_job_finish(f->s, a1, JOB_COMPLETED, "ok"), 0);
    assert_int_equal(claim(f, "node-b", 8, 0, got), 1);
    assert_string_equal(got[0], a2);
    assert_int_equal(status_of(f, c1), JOB_PENDING);
    assert_int_equal(
        store_job_claim_push_batch(f->s, &(struct store_push_claim){.limit = 0}, NULL, NULL),
        -EINVAL);
}

static void test_tenant_share_is_per_node(void **state)
{
    struct fx *f = *state;
    char s[3][UUID_STR_LEN], j[3][UUID_STR_LEN];
    for (int i = 0; i < 3; i++) {
        char addr[16];
        snprintf(addr, sizeof addr, "10.99.1.%d", i + 2);
        fx_site(f, NULL, addr, true, s[i], NULL);
        fx_job(f, s[i], true, true, NULL, NULL, j[i]);
    }
    /* A share of 1 per node: node-a takes one of the tenant's jobs, node-b another. */
    assert_int_equal(claim(f, "node-a", 8, 1, NULL), 1);
    assert_int_equal(claim(f, "node-a", 8, 1, NULL), 0);
    assert_int_equal(claim(f, "node-b", 8, 1, NULL), 1);
    assert_int_equal(claim(f, "node-b", 8, 1, NULL), 0);
    /* Without a share the last one goes too. */
    assert_int_equal(claim(f, "node-a", 8, 0, NULL), 1);
}

static void test_dead_node_jobs_are_taken_over(void **state)
{
    struct fx *f = *state;
    register_node(f, "node-a");
    register_node(f, "node-b");
    char a[UUID_STR_LEN], b[UUID_STR_LEN], ja[UUID_STR_LEN], jb[UUID_STR_LEN];
    fx_site(f, NULL, "10.99.2.2", true, a, NULL);
    fx_site(f, NULL, "10.99.2.3", true, b, NULL);
    fx_job(f, a, true, true, NULL, NULL, ja);
    fx_job(f, b, true, true, NULL, NULL, jb);
    char got[2][UUID_STR_LEN];
    assert_int_equal(claim(f, "node-a", 1, 0, got), 1);
    assert_string_equal(got[0], ja);
    assert_int_equal(claim(f, "node-b", 1, 0, got), 1);
    assert_string_equal(got[0], jb);

    int n = -1;
    /* Both alive: nothing to take over. */
    assert_int_equal(store_jobs_take_over(f->s, "node-b", 60000, &n), 0);
    assert_int_equal(n, 0);
    /* node-a falls silent; node-b heartbeats: after 300 ms of silence node-a is dead. */
    sleep_ms(400);
    assert_int_equal(store_node_heartbeat(f->s, "node-b", NULL), 0);
    assert_int_equal(store_jobs_take_over(f->s, "node-b", 300, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(status_of(f, ja), JOB_PENDING);
    assert_int_equal(status_of(f, jb), JOB_RUNNING); /* the taker's own claim stays */
    char msg[256];
    last_event(f, a, ja, "requeued", msg, sizeof msg);
    assert_non_null(strstr(msg, "Node node-a stopped heartbeating"));
    assert_non_null(strstr(msg, "node-b"));
    /* Once only: a second taker finds nothing. */
    register_node(f, "node-c");
    assert_int_equal(store_jobs_take_over(f->s, "node-c", 300, &n), 0);
    assert_int_equal(n, 0);
    /* Anyone claims it again. */
    assert_int_equal(claim(f, "node-c", 4, 0, got), 1);
    assert_string_equal(got[0], ja);
}

static void test_restart_requeues_only_its_own(void **state)
{
    struct fx *f = *state;
    char a[UUID_STR_LEN], b[UUID_STR_LEN], ja[UUID_STR_LEN], jb[UUID_STR_LEN];
    fx_site(f, NULL, "10.99.3.2", true, a, NULL);
    fx_site(f, NULL, "10.99.3.3", true, b, NULL);
    fx_job(f, a, true, true, NULL, NULL, ja);
    fx_job(f, b, true, true, NULL, NULL, jb);
    assert_int_equal(claim(f, "node-a", 1, 0, NULL), 1);
    assert_int_equal(claim(f, "node-b", 1, 0, NULL), 1);
    int n = -1;
    assert_int_equal(store_jobs_requeue_push(f->s, "node-a", &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(status_of(f, ja), JOB_PENDING);
    assert_int_equal(status_of(f, jb), JOB_RUNNING);
}

static void expired_grant(struct fx *f, const char *site, int64_t expires_ms,
                          char ret[UUID_STR_LEN])
{
    struct grant g;
    memset(&g, 0, sizeof g);
    uuid_v7(g.id);
    memcpy(g.site_id, site, UUID_STR_LEN);
    g.kind = GRANT_ACCESS;
    g.entry_point = xstrdup("edge-1");
    grant_generate_credential(g.username);
    grant_generate_credential(g.password);
    snprintf(g.access_type, sizeof g.access_type, "winbox");
    snprintf(g.allow_only_cidr, sizeof g.allow_only_cidr, "8.8.8.8/32");
    g.created_at = time_now();
    g.expires_at_ms = expires_ms;
    g.created_by = xstrdup("test");
    assert_int_equal(store_grant_insert(f->s, &g, 40000, 59999), 0);
    memcpy(ret, g.id, UUID_STR_LEN);
    grant_release(&g);
}

static size_t claim_due(struct fx *f, const char *owner, int64_t lease_ms, int limit,
                        struct store_due_grant **ret)
{
    size_t n = 0;
    *ret = NULL;
    assert_int_equal(store_grants_claim_due(f->s, owner, time_now_ms(), lease_ms, limit, ret, &n),
                     0);
    return n;
}

static void test_due_grants_claimed_with_leases(void **state)
{
    struct fx *f = *state;
    char site[UUID_STR_LEN], g1[UUID_STR_LEN], g2[UUID_STR_LEN], g3[UUID_STR_LEN], g4[UUID_STR_LEN];
    fx_site(f, NULL, "10.99.4.2", true, site, NULL);
    int64_t now = time_now_ms();
    expired_grant(f, site, now - 3000, g1);
    expired_grant(f, site, now - 2000, g2);
    expired_grant(f, site, now - 1000, g3);
    expired_grant(f, site, now + 3600 * 1000, g4); /* not due */

    struct store_due_grant *due;
    /* Earliest first; node-b gets what node-a did not take; then nothing is left. */
    assert_int_equal(claim_due(f, "node-a", 300, 2, &due), 2);
    assert_string_equal(due[0].id, g1);
    assert_string_equal(due[1].id, g2);
    assert_string_equal(due[0].prev_owner, "");
    free(due);
    assert_int_equal(claim_due(f, "node-b", 60000, 10, &due), 1);
    assert_string_equal(due[0].id, g3);
    free(due);
    /* A node's own claims come back to it (a teardown that failed is tried again), never to
     * another node while their lease holds. */
    assert_int_equal(claim_due(f, "node-b", 60000, 10, &due), 1);
    assert_string_equal(due[0].id, g3);
    assert_string_equal(due[0].prev_owner, "");
    free(due);
    assert_int_equal(claim_due(f, "node-a", 300, 10, &due), 2);
    assert_string_equal(due[0].prev_owner, "");
    free(due);
    /* A renewed lease holds beyond its first end... */
    int n = -1;
    assert_int_equal(store_leases_renew(f->s, "node-a", 60000, &n), 0);
    assert_int_equal(n, 2);
    sleep_ms(400);
    assert_int_equal(claim_due(f, "node-b", 60000, 10, &due), 1);
    assert_string_equal(due[0].id, g3);
    free(due);
    /* ...one that lapses (node-a stopped renewing) goes to the next claim, naming node-a. */
    assert_int_equal(store_leases_renew(f->s, "node-a", 100, &n), 0);
    sleep_ms(300);
    assert_int_equal(claim_due(f, "node-b", 60000, 10, &due), 3);
    assert_string_equal(due[0].id, g1);
    assert_string_equal(due[0].prev_owner, "node-a");
    assert_string_equal(due[1].prev_owner, "node-a");
    assert_string_equal(due[2].prev_owner, "");
    free(due);

    /* Only the owner locks (and may tear down) its claims; torn-down ones are gone. */
    struct strlist ids = {0};
    strlist_add(&ids, g1);
    strlist_add(&ids, g2);
    strlist_add(&ids, g3);
    struct grant *g = NULL;
    size_t ng = 0;
    assert_int_equal(store_tx_begin(f->s), 0);
    assert_int_equal(store_grants_lock_claimed(f->s, "node-a", &ids, &g, &ng), 0);
    assert_int_equal(ng, 0);
    assert_int_equal(store_grants_lock_claimed(f->s, "node-b", &ids, &g, &ng), 0);
    assert_int_equal(ng, 3);
    char j1[UUID_STR_LEN], j2[UUID_STR_LEN], j3[UUID_STR_LEN];
    fx_job(f, site, true, true, NULL, NULL, j1);
    fx_job(f, site, true, true, NULL, NULL, j2);
    fx_job(f, site, true, true, NULL, NULL, j3);
    struct strlist jobs = {0};
    for (size_t i = 0; i < ng; i++)
        strlist_add(&jobs, !strcmp(g[i].id, g1) ? j1 : !strcmp(g[i].id, g2) ? j2 : j3);
    struct strlist gids = {0};
    for (size_t i = 0; i < ng; i++)
        strlist_add(&gids, g[i].id);
    assert_int_equal(store_grants_expire_many(f->s, NULL, &gids, &jobs), 0);
    assert_int_equal(store_tx_end(f->s, 0), 0);
    store_grant_array_free(g, ng);
    struct grant got;
    assert_int_equal(store_grant_get_any(f->s, g1, &got), 0);
    assert_true(got.torn_down_at > 0);
    assert_string_equal(got.teardown_job_id, j1);
    assert_true(got.config_removed_from_mpac);
    grant_release(&got);
    /* Torn down twice: refused as a whole. */
    assert_int_equal(store_tx_begin(f->s), 0);
    assert_int_equal(store_grants_expire_many(f->s, NULL, &gids, &jobs), -EBUSY);
    assert_int_equal(store_tx_end(f->s, -EBUSY), -EBUSY);
    assert_int_equal(claim_due(f, "node-b", 60000, 10, &due), 0);
    free(due);
    strlist_release(&ids);
    strlist_release(&gids);
    strlist_release(&jobs);
}

/* take_due's rows in a transaction of this thread: their ids into out (at most 16). */
static size_t take(struct fx *f, const char *owner, int limit, char out[][UUID_STR_LEN],
                   char prev[][STORE_NODE_NAME_MAX])
{
    struct store_taken_grant *t = NULL;
    size_t n = 0;
    assert_int_equal(store_grants_take_due(f->s, owner, time_now_ms(), 10000, limit, &t, &n), 0);
    assert_true(n <= 16);
    for (size_t i = 0; i < n; i++) {
        memcpy(out[i], t[i].g.id, UUID_STR_LEN);
        assert_int_equal(t[i].g.torn_down_at, 0);
        if (prev)
            memcpy(prev[i], t[i].prev_owner, STORE_NODE_NAME_MAX);
    }
    store_taken_grant_array_free(t, n);
    return n;
}

static void test_due_grants_taken_in_one_transaction(void **state)
{
    struct fx *f = *state;
    char site[UUID_STR_LEN], g0[UUID_STR_LEN], g1[UUID_STR_LEN], g2[UUID_STR_LEN], g3[UUID_STR_LEN],
        g4[UUID_STR_LEN];
    fx_site(f, NULL, "10.99.7.2", true, site, NULL);
    int64_t now = time_now_ms();
    expired_grant(f, site, now - 4000, g0);
    expired_grant(f, site, now - 3000, g1);
    expired_grant(f, site, now - 2000, g2);
    expired_grant(f, site, now - 1000, g3);
    expired_grant(f, site, now + 3600 * 1000, g4); /* not due */
    struct store_due_grant *due;
    /* g0: node-b's live claim; g1: node-c's claim, whose lease lapses */
    assert_int_equal(claim_due(f, "node-b", 60000, 1, &due), 1);
    assert_string_equal(due[0].id, g0);
    free(due);
    assert_int_equal(claim_due(f, "node-c", 100, 1, &due), 1);
    assert_string_equal(due[0].id, g1);
    free(due);
    sleep_ms(300);

    /* Taken earliest first, without a write: a rollback leaves them as they were. */
    char ids[16][UUID_STR_LEN], prev[16][STORE_NODE_NAME_MAX];
    assert_int_equal(store_tx_begin(f->s), 0);
    assert_int_equal(take(f, "node-a", 10, ids, prev), 3);
    assert_int_equal(store_tx_end(f->s, -EINVAL), -EINVAL);
    assert_int_equal(store_tx_begin(f->s), 0);
    assert_int_equal(take(f, "node-a", 2, ids, prev), 2);
    assert_string_equal(ids[0], g1);
    assert_string_equal(prev[0], "node-c");
    assert_string_equal(ids[1], g2);
    assert_string_equal(prev[1], "");
    /* torn down by node-a in the same transaction, the owner recorded */
    struct strlist gids = {0}, jobs = {0};
    strlist_add(&gids, g1);
    strlist_add(&gids, g2);
    char j1[UUID_STR_LEN], j2[UUID_STR_LEN];
    fx_job(f, site, true, true, NULL, NULL, j1);
    fx_job(f, site, true, true, NULL, NULL, j2);
    strlist_add(&jobs, j1);
    strlist_add(&jobs, j2);
    assert_int_equal(store_grants_expire_many(f->s, "node-a", &gids, &jobs), 0);
    assert_int_equal(store_tx_end(f->s, 0), 0);
    struct grant got;
    assert_int_equal(store_grant_get_any(f->s, g2, &got), 0);
    assert_true(got.torn_down_at > 0);
    assert_string_equal(got.teardown_job_id, j2);
    grant_release(&got);
    /* node-a's teardown is final: nobody claims them again, nor takes them */
    assert_int_equal(claim_due(f, "node-c", 60000, 10, &due), 1);
    assert_string_equal(due[0].id, g3); /* g0 is still node-b's */
    free(due);
    assert_int_equal(store_tx_begin(f->s), 0);
    assert_int_equal(take(f, "node-a", 10, ids, NULL), 0);
    /* a node's own claims come back to it */
    assert_int_equal(take(f, "node-b", 10, ids, prev), 1);
    assert_string_equal(ids[0], g0);
    assert_string_equal(prev[0], "");
    assert_int_equal(store_tx_end(f->s, 0), 0);
    strlist_release(&gids);
    strlist_release(&jobs);
}

/* Two threads (two nodes' schedulers) taking due grants in open transactions (PostgreSQL). */
struct taker {
    struct fx *f;
    const char *owner;
    pthread_barrier_t *taken, *release; /* NULL: take and end at once */
    char ids[16][UUID_STR_LEN];
    size_t n;
};

static void *taker_main(void *arg)
{
    struct taker *t = arg;
    assert_int_equal(store_tx_begin(t->f->s), 0);
    t->n = take(t->f, t->owner, 3, t->ids, NULL);
    if (t->taken) { /* hold the rows until the other has tried */
        pthread_barrier_wait(t->taken);
        pthread_barrier_wait(t->release);
    }
    assert_int_equal(store_tx_end(t->f->s, -EINVAL), -EINVAL);
    store_thread_done(t->f->s);
    return NULL;
}

static void test_taken_grants_are_skipped_by_others(void **state)
{
    struct fx *f = *state;
    struct store_listener *l = NULL;
    if (store_listen_open(f->s, &l) == -ENOTSUP) { /* SQLite: one writer, nothing to skip */
        store_listen_close(f->s, NULL);
        return;
    }
    store_listen_close(f->s, l);
    char site[UUID_STR_LEN], id[UUID_STR_LEN];
    fx_site(f, NULL, "10.99.8.2", true, site, NULL);
    for (int i = 0; i < 5; i++)
        expired_grant(f, site, time_now_ms() - 1000 - i, id);
    pthread_barrier_t taken, release;
    pthread_barrier_init(&taken, NULL, 2);
    pthread_barrier_init(&release, NULL, 2);
    struct taker a = {.f = f, .owner = "node-a", .taken = &taken, .release = &release};
    struct taker b = {.f = f, .owner = "node-b"};
    pthread_t ta, tb;
    assert_int_equal(pthread_create(&ta, NULL, taker_main, &a), 0);
    pthread_barrier_wait(&taken); /* node-a holds three */
    assert_int_equal(pthread_create(&tb, NULL, taker_main, &b), 0);
    pthread_join(tb, NULL); /* node-b did not wait for them */
    pthread_barrier_wait(&release);
    pthread_join(ta, NULL);
    pthread_barrier_destroy(&taken);
    pthread_barrier_destroy(&release);
    assert_int_equal(a.n, 3);
    assert_int_equal(b.n, 2); /* the two node-a did not lock */
    for (size_t i = 0; i < a.n; i++)
        for (size_t k = 0; k < b.n; k++)
            assert_string_not_equal(a.ids[i], b.ids[k]);
}

static void test_insert_many(void **state)
{
    struct fx *f = *state;
    char site[UUID_STR_LEN];
    fx_site(f, NULL, "10.99.5.2", true, site, NULL);
    struct job jobs[3];
    memset(jobs, 0, sizeof jobs);
    for (int i = 0; i < 3; i++) {
        uuid_v7(jobs[i].id);
        memcpy(jobs[i].site_id, site, UUID_STR_LEN);
        rand_base62(jobs[i].token, JOB_TOKEN_LEN);
        jobs[i].kind = JOB_KIND_POLICY;
        jobs[i].description = xstrdup(i == 1 ? "quote \" and \\ and {,}" : "Apply policy");
        jobs[i].payload = xstrdup("reboot\t/system\t-\t\t0\n");
        jobs[i].express = i != 2;
        jobs[i].needs_ack = true;
        jobs[i].created_at = time_now();
        jobs[i].created_by = i ? xstrdup("test") : NULL;
    }
    assert_int_equal(store_job_insert_many(f->s, jobs, 3), 0);
    struct job got;
    assert_int_equal(store_job_get(f->s, f->tenant, site, jobs[1].id, &got), 0);
    assert_string_equal(got.description, "quote \" and \\ and {,}");
    assert_string_equal(got.payload, "reboot\t/system\t-\t\t0\n");
    assert_true(got.express);
    assert_int_equal(got.nevents, 2); /* created, express_requested */
    assert_string_equal(got.events[0].kind, "created");
    assert_string_equal(got.events[1].kind, "express_requested");
    assert_string_equal(got.created_by, "test");
    job_release(&got);
    assert_int_equal(store_job_get(f->s, f->tenant, site, jobs[2].id, &got), 0);
    assert_false(got.express);
    assert_int_equal(got.nevents, 1);
    job_release(&got);
    assert_int_equal(store_job_get(f->s, f->tenant, site, jobs[0].id, &got), 0);
    assert_null(got.created_by);
    job_release(&got);
    for (int i = 0; i < 3; i++)
        job_release(&jobs[i]);
}

/* Two claimers at once (two nodes' threads): every job once, every due grant once. */
#define RACE_SITES 60
#define RACE_GRANTS 400

struct race {
    struct fx *f;
    const char *owner;
    int jobs, grants, errors;
};

static void *racer(void *arg)
{
    struct race *r = arg;
    for (int misses = 0; misses < 3;) {
        int64_t now = time_now_ms();
        struct store_push_claim cl = {
            .owner = r->owner, .now_ms = now, .lease_until_ms = now + LEASE, .limit = 7};
        struct job *jobs = NULL;
        size_t n = 0;
        int rc = store_job_claim_push_batch(r->f->s, &cl, &jobs, &n);
        if (rc == 0) {
            for (size_t i = 0; i < n; i++)
                if (store_job_finish(r->f->s, jobs[i].id, JOB_COMPLETED, r->owner) < 0)
                    r->errors++;
            r->jobs += (int)n;
            store_job_array_free(jobs, n);
        } else if (rc != -ENOENT) {
            r->errors++;
        }
        struct store_due_grant *due = NULL;
        size_t nd = 0;
        if (store_grants_claim_due(r->f->s, r->owner, now, LEASE, 32, &due, &nd) < 0)
            r->errors++;
        for (size_t i = 0; i < nd; i++) /* torn down once: a second time would be -EBUSY */
            if (store_grant_teardown(r->f->s, due[i].id, false, NULL) < 0)
                r->errors++;
        r->grants += (int)nd;
        free(due);
        misses = rc == 0 || nd ? 0 : misses + 1;
    }
    store_thread_done(r->f->s);
    return NULL;
}

static void test_two_claimers_never_share(void **state)
{
    struct fx *f = *state;
    char site[UUID_STR_LEN], id[UUID_STR_LEN];
    for (int i = 0; i < RACE_SITES; i++) {
        char addr[16];
        snprintf(addr, sizeof addr, "10.98.%d.%d", i / 200, i % 200 + 2);
        fx_site(f, NULL, addr, true, site, NULL);
        for (int k = 0; k < 3; k++)
            fx_job(f, site, true, true, NULL, NULL, id);
    }
    int64_t past = time_now_ms() - 1000;
    for (int i = 0; i < RACE_GRANTS; i++)
        expired_grant(f, site, past - i, id);
    struct race a = {.f = f, .owner = "node-a"}, b = {.f = f, .owner = "node-b"};
    pthread_t ta, tb;
    assert_int_equal(pthread_create(&ta, NULL, racer, &a), 0);
    assert_int_equal(pthread_create(&tb, NULL, racer, &b), 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    assert_int_equal(a.errors + b.errors, 0);
    assert_int_equal(a.jobs + b.jobs, RACE_SITES * 3);
    assert_int_equal(a.grants + b.grants, RACE_GRANTS);
    /* Both took part (on SQLite they take turns; either way nothing went twice). */
    assert_true(a.jobs + b.jobs > 0);
}

/* Wake-ups: one NOTIFY with the commit of a queued express job or a grant change (PostgreSQL). */
static void test_listen_wakes(void **state)
{
    struct fx *f = *state;
    struct store_listener *l = NULL;
    int r = store_listen_open(f->s, &l);
    if (r == -ENOTSUP) { /* SQLite: in-process wake-ups only */
        store_listen_close(f->s, NULL);
        return;
    }
    assert_int_equal(r, 0);
    unsigned mask = 99;
    assert_int_equal(store_listen_wait(f->s, l, 50, &mask), 0);
    assert_int_equal(mask, 0); /* nothing happened */
    char site[UUID_STR_LEN], id[UUID_STR_LEN];
    fx_site(f, NULL, "10.99.6.2", true, site, NULL);
    fx_job(f, site, false, true, NULL, NULL, id); /* not express: nobody to wake */
    assert_int_equal(store_listen_wait(f->s, l, 200, &mask), 0);
    assert_int_equal(mask, 0);
    /* Two express jobs in one transaction: woken (one notification for both). */
    assert_int_equal(store_tx_begin(f->s), 0);
    fx_job(f, site, true, true, NULL, NULL, id);
    fx_job(f, site, true, true, NULL, NULL, id);
    assert_int_equal(store_listen_wait(f->s, l, 100, &mask), 0);
    assert_int_equal(mask, 0); /* not before the commit */
    assert_int_equal(store_tx_end(f->s, 0), 0);
    mask = 0;
    for (int i = 0; i < 20 && !mask; i++)
        assert_int_equal(store_listen_wait(f->s, l, 100, &mask), 0);
    assert_true(mask & STORE_WAKE_JOBS);
    assert_int_equal(store_listen_wait(f->s, l, 200, &mask), 0);
    assert_int_equal(mask, 0); /* and only one */
    /* A rolled-back transaction wakes nobody. */
    assert_int_equal(store_tx_begin(f->s), 0);
    fx_job(f, site, true, true, NULL, NULL, id);
    assert_int_equal(store_tx_end(f->s, -EINVAL), -EINVAL);
    assert_int_equal(store_listen_wait(f->s, l, 200, &mask), 0);
    assert_int_equal(mask, 0);
    /* A grant created (its own statement, outside a transaction). */
    char g[UUID_STR_LEN];
    expired_grant(f, site, time_now_ms() + 60000, g);
    mask = 0;
    for (int i = 0; i < 20 && !mask; i++)
        assert_int_equal(store_listen_wait(f->s, l, 100, &mask), 0);
    assert_true(mask & STORE_WAKE_GRANTS);
    store_listen_close(f->s, l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_batch_claim_keeps_the_rules, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_tenant_share_is_per_node, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_dead_node_jobs_are_taken_over, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_restart_requeues_only_its_own, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_due_grants_claimed_with_leases, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_due_grants_taken_in_one_transaction, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_taken_grants_are_skipped_by_others, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_insert_many, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_two_claimers_never_share, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_listen_wakes, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
