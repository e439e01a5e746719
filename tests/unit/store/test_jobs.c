/*
 * test_jobs.c - jobs in the store: claiming by pull and by push (one running job per site,
 * jobs of a site in order), router updates, cancel, lease requeue, idempotency, events and
 * the sealed payload.
 */
/* cmocka.h needs these headers first */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include "helpers.h"
#include "timefmt.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LEASE 60000

static enum job_status status_of(struct fx *f, const char *id)
{
    struct job j;
    assert_int_equal(store_job_get_any(f->s, id, &j), 0);
    enum job_status st = j.status;
    job_release(&j);
    return st;
}

static void claim_pull(struct fx *f, const char *site, const char *want)
{
    struct job j;
    int64_t now = time_now_ms();
    int r = store_job_claim_pull(f->s, site, now, now + LEASE, &j);
    if (!want) {
        assert_int_equal(r, -ENOENT);
        return;
    }
    assert_int_equal(r, 0);
    assert_string_equal(j.id, want);
    assert_int_equal(j.status, JOB_RUNNING);
    assert_true(j.started_at > 0);
    job_release(&j);
}

static void claim_push(struct fx *f, const char *want)
{
    struct job j;
    int64_t now = time_now_ms();
    int r = store_job_claim_push(f->s, now, now + LEASE, 0, &j);
    if (!want) {
        assert_int_equal(r, -ENOENT);
        return;
    }
    assert_int_equal(r, 0);
    assert_string_equal(j.id, want);
    assert_int_equal(j.status, JOB_RUNNING);
    job_release(&j);
}

static void test_insert_get_events(void **state)
{
    struct fx *f = *state;
    char site[UUID_STR_LEN], id[UUID_STR_LEN];
    fx_site(f, NULL, NULL, false, site, NULL);
    fx_job(f, site, true, true, "ensure\t/user\tname\tx\t0\tpassword=Plain-Secret-42\n", NULL, id);
    struct job j;
    assert_int_equal(store_job_get(f->s, f->tenant, site, id, &j), 0);
    assert_string_equal(j.payload, "ensure\t/user\tname\tx\t0\tpassword=Plain-Secret-42\n");
    assert_string_equal(j.tenant_id, f->tenant);
    assert_int_equal(j.status, JOB_PENDING);
    assert_true(j.express);
    assert_int_equal(j.nevents, 2);
    assert_string_equal(j.events[0].kind, "created");
    assert_string_equal(j.events[1].kind, "express_requested");
    job_release(&j);
    assert_false(fx_files_contain(f, "Plain-Secret-42"));

    struct job *all = NULL;
    size_t n = 0;
    char id2[UUID_STR_LEN];
    fx_job(f, site, false, true, NULL, NULL, id2);
    assert_int_equal(store_job_list(f->s, f->tenant, site, NULL, &all, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(all[0].id, id2); /* newest first */
    assert_string_equal(all[1].id, id);
    store_job_array_free(all, n);

    char other[UUID_STR_LEN];
    assert_int_equal(store_tenant_create(f->s, "Other", MGMT, other), 0);
    assert_int_equal(store_job_get(f->s, other, site, id, &j), -ENOENT);
    assert_int_equal(store_job_list(f->s, other, site, NULL, &all, &n), -ENOENT);
}

static void test_claim_pull_order(void **state)
{
    struct fx *f = *state;
    char a[UUID_STR_LEN], b[UUID_STR_LEN], j1[UUID_STR_LEN], j2[UUID_STR_LEN], j3[UUID_STR_LEN],
        k1[UUID_STR_LEN];
    fx_site(f, NULL, NULL, false, a, NULL);
    fx_site(f, NULL, NULL, false, b, NULL);
    fx_job(f, a, false, true, NULL, NULL, j1);
    fx_job(f, b, false, true, NULL, NULL, k1);
    fx_job(f, a, true, true, NULL, NULL, j2);
    fx_job(f, a, false, true, NULL, NULL, j3);

    claim_pull(f, a, j1);
    claim_pull(f, a, NULL); /* one running job per site */
    claim_pull(f, b, k1);   /* other sites are independent */
    assert_int_equal(store_job_finish(f->s, j1, JOB_COMPLETED, "ok"), 0);
    assert_int_equal(status_of(f, j1), JOB_COMPLETED);
    claim_pull(f, a, j2);
    assert_int_equal(store_job_finish(f->s, j2, JOB_FAILED, "boom"), 0);
    struct job j;
    assert_int_equal(store_job_get_any(f->s, j2, &j), 0);
    assert_int_equal(j.status, JOB_FAILED);
    assert_string_equal(j.last_error, "boom");
    assert_true(j.failed_at > 0);
    job_release(&j);
    claim_pull(f, a, j3);
    assert_int_equal(store_job_finish(f->s, j3, JOB_COMPLETED, "ok"), 0);
    claim_pull(f, a, NULL);
}

/* Concurrent push claims (test_concurrent_claims): each worker claims until nothing is left. */
#define CLAIM_SITES 4
#define CLAIM_JOBS 3 /* per site */
#define CLAIM_WORKERS 4

struct claim_run {
    struct fx *f;
    pthread_mutex_t lock;
    char ids[CLAIM_SITES * CLAIM_JOBS][UUID_STR_LEN];
    char sites[CLAIM_SITES * CLAIM_JOBS][UUID_STR_LEN];
    int n, errors;
};

static void *claim_worker(void *arg)
{
    struct claim_run *run = arg;
    for (int misses = 0; misses < 3;) {
        struct job j;
        int64_t now = time_now_ms();
        int r = store_job_claim_push(run->f->s, now, now + LEASE, 0, &j);
        pthread_mutex_lock(&run->lock);
        if (r == 0 && run->n < CLAIM_SITES * CLAIM_JOBS) {
            memcpy(run->ids[run->n], j.id, UUID_STR_LEN);
            memcpy(run->sites[run->n], j.site_id, UUID_STR_LEN);
            run->n++;
        } else if (r != -ENOENT) {
            run->errors++;
        }
        pthread_mutex_unlock(&run->lock);
        if (r == 0)
            job_release(&j);
        misses = r == 0 ? 0 : misses + 1;
    }
    store_thread_done(run->f->s);
    return NULL;
}

/* Claims of run->n.. by CLAIM_WORKERS threads at once; returns how many were claimed. */
static int claim_round(struct claim_run *run)
{
    int before = run->n;
    pthread_t t[CLAIM_WORKERS];
    for (int i = 0; i < CLAIM_WORKERS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, claim_worker, run), 0);
    for (int i = 0; i < CLAIM_WORKERS; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(run->errors, 0);
    /* Never the same job twice, never two jobs of one site in a round. */
    for (int i = before; i < run->n; i++)
        for (int k = 0; k < i; k++) {
            assert_string_not_equal(run->ids[i], run->ids[k]);
            if (k >= before)
                assert_string_not_equal(run->sites[i], run->sites[k]);
        }
    return run->n - before;
}

/*
 * Workers claiming at the same time (PostgreSQL: FOR UPDATE SKIP LOCKED and the
 * jobs_one_running index; SQLite: its single writer) take each job once and keep every site to
 * one running job: each round claims one job per site, finishing them frees the next.
 */
static void test_concurrent_claims(void **state)
{
    struct fx *f = *state;
    struct claim_run *run = calloc(1, sizeof *run);
    assert_non_null(run);
    run->f = f;
    pthread_mutex_init(&run->lock, NULL);
    for (int i = 0; i < CLAIM_SITES; i++) {
        char site[UUID_STR_LEN], job[UUID_STR_LEN], addr[16];
        snprintf(addr, sizeof addr, "10.98.0.%d", i + 1);
        fx_site(f, NULL, addr, true, site, NULL);
        for (int k = 0; k < CLAIM_JOBS; k++)
            fx_job(f, site, true, true, NULL, NULL, job);
    }
    for (int round = 0; round < CLAIM_JOBS; round++) {
        int first = run->n;
        assert_int_equal(claim_round(run), CLAIM_SITES);
        for (int i = first; i < run->n; i++)
            assert_int_equal(store_job_finish(f->s, run->ids[i], JOB_COMPLETED, "ok"), 0);
    }
    assert_int_equal(claim_round(run), 0);
    pthread_mutex_destroy(&run->lock);
    free(run);
}

static void test_claim_push(void **state)
{
    struct fx *f = *state;
    char a[UUID_STR_LEN], noaddr[UUID_STR_LEN], unadopted[UUID_STR_LEN];
    fx_site(f, NULL, "10.99.0.2", true, a, NULL);
    fx_site(f, NULL, NULL, true, noaddr, NULL);
    fx_site(f, NULL, "10.99.0.3", false, unadopted, NULL);
    char n1[UUID_STR_LEN], n2[UUID_STR_LEN], x1[UUID_STR_LEN], x2[UUID_STR_LEN], x3[UUID_STR_LEN];
    fx_job(f, noaddr, true, true, NULL, NULL, n1);
    fx_job(f, unadopted, true, true, NULL, NULL, n2);
    fx_job(f, a, false, true, NULL, NULL, x1); /* not express: only pull takes it */
    fx_job(f, a, true, true, NULL, NULL, x2);
    fx_job(f, a, true, true, NULL, NULL, x3);

    /* x2 waits behind the pending x1: jobs of a site run in order. */
    claim_push(f, NULL);
    claim_pull(f, a, x1);
    claim_push(f, NULL); /* x1 is running */
    assert_int_equal(store_job_finish(f->s, x1, JOB_COMPLETED, "ok"), 0);
    claim_push(f, x2);
    claim_push(f, NULL); /* x3 waits for x2 */
    claim_pull(f, a, NULL);
    assert_int_equal(store_job_finish(f->s, x2, JOB_COMPLETED, "ok"), 0);
    claim_push(f, x3);
    /* A retry with a future attempt time is not due. */
    assert_int_equal(store_job_retry(f->s, x3, time_now_ms() + 3600 * 1000, "later"), 0);
    struct job j;
    assert_int_equal(store_job_get_any(f->s, x3, &j), 0);
    assert_int_equal(j.status, JOB_PENDING);
    assert_int_equal(j.attempts, 1);
    assert_string_equal(j.last_error, "later");
    job_release(&j);
    claim_push(f, NULL);
    assert_int_equal(store_job_retry(f->s, x3, 0, "again"), -ENOENT); /* not running */
    assert_int_equal(status_of(f, n1), JOB_PENDING);
    assert_int_equal(status_of(f, n2), JOB_PENDING);
}

/* Worker shares (F9): with tenant_max 2 a tenant never has more than two jobs being pushed. */
static void test_claim_push_tenant_share(void **state)
{
    struct fx *f = *state;
    char a[3][UUID_STR_LEN], ja[3][UUID_STR_LEN], b[UUID_STR_LEN], jb[UUID_STR_LEN];
    const char *addr[3] = {"10.99.0.2", "10.99.0.3", "10.99.0.4"};
    for (int i = 0; i < 3; i++) {
        fx_site(f, NULL, addr[i], true, a[i], NULL);
        fx_job(f, a[i], true, true, NULL, NULL, ja[i]);
    }
    /* a second tenant, its site and job queued after the first tenant's */
    char mine[UUID_STR_LEN], mine_pol[UUID_STR_LEN];
    memcpy(mine, f->tenant, sizeof mine);
    memcpy(mine_pol, f->policy, sizeof mine_pol);
    assert_int_equal(store_tenant_create(f->s, "Other", MGMT, f->tenant), 0);
    struct policy p;
    assert_int_equal(store_policy_get_default(f->s, f->tenant, &p), 0);
    memcpy(f->policy, p.id, sizeof f->policy);
    policy_release(&p);
    fx_site(f, NULL, "10.99.0.9", true, b, NULL);
    fx_job(f, b, true, true, NULL, NULL, jb);
    memcpy(f->tenant, mine, sizeof mine);
    memcpy(f->policy, mine_pol, sizeof mine_pol);

    struct job j;
    int64_t now = time_now_ms();
    for (int i = 0; i < 2; i++) {
        assert_int_equal(store_job_claim_push(f->s, now, now + LEASE, 2, &j), 0);
        assert_string_equal(j.id, ja[i]);
        job_release(&j);
    }
    /* the first tenant's third job waits: the other tenant's job goes first */
    assert_int_equal(store_job_claim_push(f->s, now, now + LEASE, 2, &j), 0);
    assert_string_equal(j.id, jb);
    job_release(&j);
    assert_int_equal(store_job_claim_push(f->s, now, now + LEASE, 2, &j), -ENOENT);
    assert_int_equal(store_job_finish(f->s, ja[0], JOB_COMPLETED, "ok"), 0);
    assert_int_equal(store_job_claim_push(f->s, now, now + LEASE, 2, &j), 0);
    assert_string_equal(j.id, ja[2]);
    job_release(&j);
}

static void test_router_update(void **state)
{
    struct fx *f = *state;
    char a[UUID_STR_LEN], j1[UUID_STR_LEN], j2[UUID_STR_LEN], j3[UUID_STR_LEN];
    fx_site(f, NULL, NULL, false, a, NULL);
    fx_job(f, a, false, true, NULL, NULL, j1);
    fx_job(f, a, false, false, NULL, NULL, j2);
    fx_job(f, a, false, true, NULL, NULL, j3);

    claim_pull(f, a, j1);
    assert_int_equal(store_job_router_update(f->s, j1, JOB_ROUTER_BUSY), 0);
    assert_int_equal(status_of(f, j1), JOB_RUNNING);
    assert_int_equal(store_job_router_update(f->s, j1, JOB_ROUTER_STATUS_COUNT), -EINVAL);
    assert_int_equal(store_job_router_update(f->s, j1, JOB_ROUTER_DONE), 0);
    assert_int_equal(status_of(f, j1), JOB_COMPLETED);
    assert_int_equal(store_job_router_update(f->s, j1, JOB_ROUTER_DONE), -EBUSY);
    assert_int_equal(store_job_router_update(f->s, j1, JOB_ROUTER_FAIL), -EBUSY);
    assert_int_equal(store_job_router_update(f->s, j1, JOB_ROUTER_BUSY), -EBUSY);

    /* needs_ack false (a reboot): busy is already the end. */
    claim_pull(f, a, j2);
    assert_int_equal(store_job_router_update(f->s, j2, JOB_ROUTER_BUSY), 0);
    assert_int_equal(status_of(f, j2), JOB_COMPLETED);

    claim_pull(f, a, j3);
    assert_int_equal(store_job_router_update(f->s, j3, JOB_ROUTER_FAIL), 0);
    assert_int_equal(status_of(f, j3), JOB_FAILED);
    assert_int_equal(
        store_job_router_update(f->s, "00000000-0000-7000-8000-000000000000", JOB_ROUTER_DONE),
        -ENOENT);

    struct job j;
    assert_int_equal(store_job_get(f->s, f->tenant, a, j1, &j), 0);
    const char *want[] = {"created", "downloaded", "busy", "completed"};
    assert_int_equal(j.nevents, 4);
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(j.events[i].kind, want[i]);
    job_release(&j);
}

static void test_cancel(void **state)
{
    struct fx *f = *state;
    char a[UUID_STR_LEN], j1[UUID_STR_LEN], j2[UUID_STR_LEN];
    fx_site(f, NULL, NULL, false, a, NULL);
    fx_job(f, a, false, true, NULL, NULL, j1);
    fx_job(f, a, false, true, NULL, NULL, j2);
    claim_pull(f, a, j1);
    assert_int_equal(store_job_cancel(f->s, f->tenant, a, j1), -EBUSY); /* running */
    assert_int_equal(store_job_cancel(f->s, f->tenant, a, j2), 0);
    assert_int_equal(status_of(f, j2), JOB_DELETED);
    assert_int_equal(store_job_cancel(f->s, f->tenant, a, j2), -EBUSY);
    assert_int_equal(store_job_finish(f->s, j1, JOB_COMPLETED, "ok"), 0);
    assert_int_equal(store_job_cancel(f->s, f->tenant, a, j1), -EBUSY); /* completed */
    claim_pull(f, a, NULL); /* the cancelled job is never handed out */
    assert_int_equal(store_job_cancel(f->s, f->tenant, a, "00000000-0000-7000-8000-000000000000"),
                     -ENOENT);
    char other[UUID_STR_LEN];
    assert_int_equal(store_tenant_create(f->s, "Other", MGMT, other), 0);
    char j3[UUID_STR_LEN];
    fx_job(f, a, false, true, NULL, NULL, j3);
    assert_int_equal(store_job_cancel(f->s, other, a, j3), -ENOENT);
    assert_int_equal(status_of(f, j3), JOB_PENDING);
}

/*
 * The check and the write of router updates and cancel are one transaction:
 * inside a caller's transaction that rolls back, nothing of them stays.
 */
static void test_update_cancel_one_tx(void **state)
{
    struct fx *f = *state;
    char a[UUID_STR_LEN], j1[UUID_STR_LEN], j2[UUID_STR_LEN];
    fx_site(f, NULL, NULL, false, a, NULL);
    fx_job(f, a, false, true, NULL, NULL, j1);
    fx_job(f, a, false, true, NULL, NULL, j2);
    claim_pull(f, a, j1);
    assert_int_equal(store_tx_begin(f->s), 0);
    assert_int_equal(store_job_router_update(f->s, j1, JOB_ROUTER_DONE), 0);
    assert_int_equal(store_job_cancel(f->s, f->tenant, a, j2), 0);
    assert_int_equal(status_of(f, j1), JOB_COMPLETED);
    assert_int_equal(status_of(f, j2), JOB_DELETED);
    store_tx_rollback(f->s);
    assert_int_equal(status_of(f, j1), JOB_RUNNING);
    assert_int_equal(status_of(f, j2), JOB_PENDING);
    /* A refusal inside a caller's transaction dooms it, like any failed store call. */
    assert_int_equal(store_tx_begin(f->s), 0);
    assert_int_equal(store_job_cancel(f->s, f->tenant, a, j2), 0);
    assert_int_equal(store_job_cancel(f->s, f->tenant, a, j1), -EBUSY);
    assert_int_equal(store_tx_end(f->s, 0), -EIO);
    assert_int_equal(status_of(f, j2), JOB_PENDING);
    /* store_tx_end commits on 0, and rolls back and passes an error through. */
    assert_int_equal(store_tx_begin(f->s), 0);
    assert_int_equal(store_job_cancel(f->s, f->tenant, a, j2), 0);
    assert_int_equal(store_tx_end(f->s, 0), 0);
    assert_int_equal(status_of(f, j2), JOB_DELETED);
    assert_int_equal(store_tx_begin(f->s), 0);
    assert_int_equal(store_job_router_update(f->s, j1, JOB_ROUTER_DONE), 0);
    assert_int_equal(store_tx_end(f->s, -EPERM), -EPERM);
    assert_int_equal(status_of(f, j1), JOB_RUNNING);
}

/* A statement store_job_finish cannot prepare fails it, and nothing of it is committed. */
static void test_finish_all_or_nothing(void **state)
{
    struct fx *f = *state;
    char a[UUID_STR_LEN], j1[UUID_STR_LEN];
    fx_site(f, NULL, NULL, false, a, NULL);
    fx_job(f, a, false, true, NULL, NULL, j1);
    claim_pull(f, a, j1);
    if (getenv("TG_TEST_DATABASE"))
        skip(); /* SQLite only: the test drops tables in the database file */
    /* Behind the store's back: the grants table that finishing a job updates goes away. */
    char path[300];
    snprintf(path, sizeof path, "%s/t.db", f->dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db, "DROP TABLE grant_connections; DROP TABLE grants", NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(store_job_finish(f->s, j1, JOB_COMPLETED, "ok"), -EIO);
    assert_int_equal(status_of(f, j1), JOB_RUNNING);
    struct job j;
    assert_int_equal(store_job_get(f->s, f->tenant, a, j1, &j), 0);
    assert_string_equal(j.events[j.nevents - 1].kind, "downloaded");
    job_release(&j);
}

static void test_requeue(void **state)
{
    struct fx *f = *state;
    char a[UUID_STR_LEN], b[UUID_STR_LEN], j1[UUID_STR_LEN], j2[UUID_STR_LEN];
    fx_site(f, NULL, NULL, false, a, NULL);
    fx_site(f, NULL, "10.99.0.5", true, b, NULL);
    fx_job(f, a, false, true, NULL, NULL, j1);
    fx_job(f, b, true, true, NULL, NULL, j2);
    int64_t now = time_now_ms();
    struct job j;
    assert_int_equal(store_job_claim_pull(f->s, a, now, now + 1000, &j), 0);
    job_release(&j);
    assert_int_equal(store_job_claim_push(f->s, now, now + 5000, 0, &j), 0);
    assert_string_equal(j.id, j2);
    job_release(&j);

    int n = -1;
    assert_int_equal(store_jobs_requeue_expired(f->s, now + 500, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(store_jobs_requeue_expired(f->s, now + 2000, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(status_of(f, j1), JOB_PENDING);
    assert_int_equal(status_of(f, j2), JOB_RUNNING);
    claim_pull(f, a, j1); /* handed out again */

    /* Start-up: every push job goes back, pull jobs stay. */
    assert_int_equal(store_jobs_requeue_push(f->s, "node-a", &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(status_of(f, j2), JOB_PENDING);
    assert_int_equal(status_of(f, j1), JOB_RUNNING);

    assert_int_equal(store_job_get(f->s, f->tenant, b, j2, &j), 0);
    assert_string_equal(j.events[j.nevents - 1].kind, "requeued");
    job_release(&j);
}

static void test_idempotency(void **state)
{
    struct fx *f = *state;
    char a[UUID_STR_LEN], b[UUID_STR_LEN], j1[UUID_STR_LEN], got[UUID_STR_LEN];
    fx_site(f, NULL, NULL, false, a, NULL);
    fx_site(f, NULL, NULL, false, b, NULL);
    assert_int_equal(store_job_by_idempotency(f->s, a, "key-1", got), -ENOENT);
    fx_job(f, a, false, true, NULL, "key-1", j1);
    assert_int_equal(store_job_by_idempotency(f->s, a, "key-1", got), 0);
    assert_string_equal(got, j1);
    assert_int_equal(store_job_by_idempotency(f->s, b, "key-1", got), -ENOENT);
    assert_int_equal(store_job_by_idempotency(f->s, a, "key-2", got), -ENOENT);
    /* The same key on another site is a different job. */
    char k1[UUID_STR_LEN];
    fx_job(f, b, false, true, NULL, "key-1", k1);
    /* The same key on the same site is refused by the database. */
    struct job j;
    memset(&j, 0, sizeof j);
    memcpy(j.id, "00000000-0000-7000-8000-0000000000aa", UUID_STR_LEN);
    memcpy(j.site_id, a, UUID_STR_LEN);
    memcpy(j.token, "tok0000000", 11);
    char desc[] = "d", payload[] = "", key[] = "key-1";
    j.kind = JOB_KIND_POLICY;
    j.description = desc;
    j.payload = payload;
    j.idempotency_key = key;
    assert_int_equal(store_job_insert(f->s, &j), -EEXIST);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_insert_get_events, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_claim_pull_order, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_claim_push, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_claim_push_tenant_share, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_router_update, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_cancel, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_update_cancel_one_tx, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_finish_all_or_nothing, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_requeue, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_claims, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_idempotency, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
