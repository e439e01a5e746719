/*
 * test_queue.c - store_jobs_supersede: a newer job of a kind ends the site's older pending
 * jobs of that kind, and nothing else (not running jobs, not other sites, not newer jobs);
 * store_job_supersede for one job; the claims' order (issue 14, docs/API.md "Priorities"): a site's
 * urgent jobs before its normal ones, FIFO within a class, sites served in turn.
 */
/* cmocka.h needs these headers first */
// clang-format off
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include "helpers.h"
#include "timefmt.h"

#include <stdio.h>
#include <string.h>

static enum job_status status_of(struct fx *f, const char *id)
{
    struct job j;
    assert_int_equal(store_job_get_any(f->s, id, &j), 0);
    enum job_status st = j.status;
    job_release(&j);
    return st;
}

static void test_supersede(void **state)
{
    struct fx *f = *state;
    char a[UUID_STR_LEN], b[UUID_STR_LEN];
    char j1[UUID_STR_LEN], j2[UUID_STR_LEN], j3[UUID_STR_LEN], j4[UUID_STR_LEN], k1[UUID_STR_LEN];
    fx_site(f, NULL, NULL, false, a, NULL);
    fx_site(f, NULL, NULL, false, b, NULL);
    fx_job(f, a, false, true, NULL, NULL, j1); /* policy jobs (fx_job's kind) */
    fx_job(f, a, false, true, NULL, NULL, j2);
    fx_job(f, b, false, true, NULL, NULL, k1);
    fx_job(f, a, false, true, NULL, NULL, j3);
    fx_job(f, a, false, true, NULL, NULL, j4);
    struct job run;
    assert_int_equal(store_job_claim_pull(f->s, a, time_now_ms(), 60000, &run), 0);
    assert_string_equal(run.id, j1); /* running: not superseded */
    job_release(&run);

    int n = -1;
    assert_int_equal(store_jobs_supersede(f->s, a, JOB_KIND_POLICY, j3, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(status_of(f, j1), JOB_RUNNING);
    assert_int_equal(status_of(f, j2), JOB_SUPERSEDED);
    assert_int_equal(status_of(f, j3), JOB_PENDING);
    assert_int_equal(status_of(f, j4), JOB_PENDING); /* newer than j3 */
    assert_int_equal(status_of(f, k1), JOB_PENDING); /* another site */

    struct job j;
    assert_int_equal(store_job_get(f->s, f->tenant, a, j2, &j), 0);
    char want[UUID_STR_LEN + 32];
    snprintf(want, sizeof want, "superseded by job %s", j3);
    assert_string_equal(j.last_error, want);
    assert_string_equal(j.events[j.nevents - 1].kind, "superseded");
    assert_string_equal(j.events[j.nevents - 1].message, want);
    job_release(&j);

    /* Other kinds are left alone; a job of another site as the reference matches nothing. */
    assert_int_equal(store_jobs_supersede(f->s, a, JOB_KIND_SCRIPT, j4, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(store_jobs_supersede(f->s, a, JOB_KIND_POLICY, k1, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(status_of(f, j3), JOB_PENDING);
    assert_int_equal(store_jobs_supersede(f->s, a, JOB_KIND_POLICY, j4, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(status_of(f, j3), JOB_SUPERSEDED);
}

/* A pull claim of site: the job's id into ret_id and its class, then the job completes. */
static enum job_class pull_next(struct fx *f, const char *site, char ret_id[UUID_STR_LEN])
{
    struct job j;
    assert_int_equal(store_job_claim_pull(f->s, site, time_now_ms(), 60000, &j), 0);
    memcpy(ret_id, j.id, UUID_STR_LEN);
    enum job_class cls = j.queue_class;
    job_release(&j);
    assert_int_equal(store_job_finish(f->s, ret_id, JOB_COMPLETED, "ok"), 0);
    return cls;
}

/* A batch claim of one push: its id into ret_id (-ENOENT: none), then it completes. */
static int push_next(struct fx *f, char ret_id[UUID_STR_LEN])
{
    int64_t now = time_now_ms();
    struct store_push_claim cl = {
        .owner = "node-a", .now_ms = now, .lease_until_ms = now + 60000, .limit = 1};
    struct job *jobs = NULL;
    size_t n = 0;
    int r = store_job_claim_push_batch(f->s, &cl, &jobs, &n);
    if (r < 0)
        return r;
    assert_int_equal(n, 1);
    memcpy(ret_id, jobs[0].id, UUID_STR_LEN);
    store_job_array_free(jobs, n);
    assert_int_equal(store_job_finish(f->s, ret_id, JOB_COMPLETED, "ok"), 0);
    return 0;
}

/*
 * A site's urgent jobs are claimed before its normal ones queued earlier, by the pull claim
 * and by the batch push claim alike; within a class the order stays the queue's.
 */
static void test_claim_urgent_first(void **state)
{
    struct fx *f = *state;
    char a[UUID_STR_LEN], got[UUID_STR_LEN];
    char s[4][UUID_STR_LEN], t1[UUID_STR_LEN], t2[UUID_STR_LEN], rot[UUID_STR_LEN];
    for (int pass = 0; pass < 2; pass++) {
        fx_site(f, NULL, pass ? "10.99.0.3" : "10.99.0.2", true, a, NULL);
        fx_job_of(f, a, JOB_KIND_SCRIPT, JOB_CLASS_NORMAL, s[0]);
        fx_job_of(f, a, JOB_KIND_TRANSIENT_ACCESS, JOB_CLASS_NORMAL, s[1]); /* a setup */
        fx_job_of(f, a, JOB_KIND_TRANSIENT_ACCESS, JOB_CLASS_URGENT, t1);   /* a teardown */
        fx_job_of(f, a, JOB_KIND_SCRIPT, JOB_CLASS_NORMAL, s[2]);
        fx_job_of(f, a, JOB_KIND_API_USER, JOB_CLASS_URGENT, rot);
        fx_job_of(f, a, JOB_KIND_TRANSIENT_FORWARD, JOB_CLASS_URGENT, t2);
        fx_job_of(f, a, JOB_KIND_ACTION, JOB_CLASS_NORMAL, s[3]);
        const char *want[] = {t1, rot, t2, s[0], s[1], s[2], s[3]};
        for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
            if (pass == 0) {
                enum job_class cls = pull_next(f, a, got);
                assert_int_equal(cls, i < 3 ? JOB_CLASS_URGENT : JOB_CLASS_NORMAL);
            } else {
                assert_int_equal(push_next(f, got), 0);
            }
            assert_string_equal(got, want[i]);
        }
        assert_int_equal(push_next(f, got), -ENOENT);
    }
}

/* An urgent job queued while a normal one runs waits for it: one job per site at a time. */
static void test_urgent_waits_for_running(void **state)
{
    struct fx *f = *state;
    char a[UUID_STR_LEN], s1[UUID_STR_LEN], t1[UUID_STR_LEN], got[UUID_STR_LEN];
    fx_site(f, NULL, "10.99.0.2", true, a, NULL);
    fx_job_of(f, a, JOB_KIND_SCRIPT, JOB_CLASS_NORMAL, s1);
    struct job j;
    assert_int_equal(store_job_claim_pull(f->s, a, time_now_ms(), 60000, &j), 0);
    assert_string_equal(j.id, s1);
    job_release(&j);
    fx_job_of(f, a, JOB_KIND_TRANSIENT_ACCESS, JOB_CLASS_URGENT, t1);
    assert_int_equal(push_next(f, got), -ENOENT);
    assert_int_equal(store_job_claim_pull(f->s, a, time_now_ms(), 60000, &j), -ENOENT);
    assert_int_equal(store_job_finish(f->s, s1, JOB_COMPLETED, "ok"), 0);
    assert_int_equal(push_next(f, got), 0);
    assert_string_equal(got, t1);
}

/*
 * Fairness: of the sites whose heads are of one class, the one served least recently goes
 * first, so a site with a backlog of old jobs does not stay in front of sites whose jobs came
 * later; an urgent head goes before every normal one.
 */
static void test_sites_take_turns(void **state)
{
    struct fx *f = *state;
    char a[UUID_STR_LEN], b[UUID_STR_LEN], c[UUID_STR_LEN], d[UUID_STR_LEN];
    char aj[4][UUID_STR_LEN], bj[UUID_STR_LEN], cj[UUID_STR_LEN], dj[UUID_STR_LEN];
    char got[UUID_STR_LEN];
    fx_site(f, NULL, "10.99.0.2", true, a, NULL);
    fx_site(f, NULL, "10.99.0.3", true, b, NULL);
    fx_site(f, NULL, "10.99.0.4", true, c, NULL);
    fx_site(f, NULL, "10.99.0.5", true, d, NULL);
    for (int i = 0; i < 4; i++) /* a's backlog, older than every other job */
        fx_job_of(f, a, JOB_KIND_SCRIPT, JOB_CLASS_NORMAL, aj[i]);
    fx_job_of(f, b, JOB_KIND_SCRIPT, JOB_CLASS_NORMAL, bj);
    fx_job_of(f, c, JOB_KIND_SCRIPT, JOB_CLASS_NORMAL, cj);
    const char *want[] = {aj[0], bj, cj, aj[1], aj[2], aj[3]};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        if (i == 1) /* an urgent job of d, queued last, overtakes the normal heads */
            fx_job_of(f, d, JOB_KIND_TRANSIENT_ACCESS, JOB_CLASS_URGENT, dj);
        assert_int_equal(push_next(f, got), 0);
        if (i == 1) {
            assert_string_equal(got, dj);
            assert_int_equal(push_next(f, got), 0);
        }
        assert_string_equal(got, want[i]);
    }
    assert_int_equal(push_next(f, got), -ENOENT);
}

/*
 * Starvation: three sites with old backlogs (300 jobs each) and claims of three at a time
 * (three free workers). Ordered by head age, the backlogged sites would take every claim until
 * they drained; in turn, the site whose one job came last is served by the second claim.
 */
static void test_backlogs_do_not_starve(void **state)
{
    struct fx *f = *state;
    enum { BACKLOG = 300, SITES = 3 };
    char a[SITES][UUID_STR_LEN], b[UUID_STR_LEN], bj[UUID_STR_LEN], id[UUID_STR_LEN];
    for (int i = 0; i < SITES; i++) {
        char addr[32];
        snprintf(addr, sizeof addr, "10.99.1.%d", i + 2);
        fx_site(f, NULL, addr, true, a[i], NULL);
    }
    fx_site(f, NULL, "10.99.2.2", true, b, NULL);
    for (int k = 0; k < BACKLOG; k++)
        for (int i = 0; i < SITES; i++)
            fx_job_of(f, a[i], JOB_KIND_SCRIPT, JOB_CLASS_NORMAL, id);
    fx_job_of(f, b, JOB_KIND_SCRIPT, JOB_CLASS_NORMAL, bj);
    bool served = false;
    for (int round = 0; round < 2 && !served; round++) {
        int64_t now = time_now_ms();
        struct store_push_claim cl = {
            .owner = "node-a", .now_ms = now, .lease_until_ms = now + 60000, .limit = SITES};
        struct job *jobs = NULL;
        size_t n = 0;
        assert_int_equal(store_job_claim_push_batch(f->s, &cl, &jobs, &n), 0);
        assert_int_equal(n, SITES);
        for (size_t i = 0; i < n; i++) {
            served |= !strcmp(jobs[i].id, bj);
            assert_int_equal(store_job_finish(f->s, jobs[i].id, JOB_COMPLETED, "ok"), 0);
        }
        store_job_array_free(jobs, n);
    }
    assert_true(served);
}

/* store_job_supersede: one pending job of the named kind, with its event; nothing else. */
static void test_supersede_one(void **state)
{
    struct fx *f = *state;
    char a[UUID_STR_LEN], setup[UUID_STR_LEN], td[UUID_STR_LEN], other[UUID_STR_LEN];
    fx_site(f, NULL, NULL, false, a, NULL);
    fx_job_of(f, a, JOB_KIND_TRANSIENT_ACCESS, JOB_CLASS_NORMAL, setup);
    fx_job_of(f, a, JOB_KIND_TRANSIENT_ACCESS, JOB_CLASS_NORMAL, other);
    fx_job_of(f, a, JOB_KIND_TRANSIENT_ACCESS, JOB_CLASS_URGENT, td);
    int n = -1;
    assert_int_equal(store_job_supersede(f->s, setup, JOB_KIND_TRANSIENT_FORWARD, td, &n), 0);
    assert_int_equal(n, 0); /* not of that kind */
    assert_int_equal(store_job_supersede(f->s, setup, JOB_KIND_TRANSIENT_ACCESS, td, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(status_of(f, setup), JOB_SUPERSEDED);
    assert_int_equal(status_of(f, other), JOB_PENDING);
    assert_int_equal(status_of(f, td), JOB_PENDING);
    struct job j;
    assert_int_equal(store_job_get(f->s, f->tenant, a, setup, &j), 0);
    char want[UUID_STR_LEN + 32];
    snprintf(want, sizeof want, "superseded by job %s", td);
    assert_string_equal(j.events[j.nevents - 1].kind, "superseded");
    assert_string_equal(j.events[j.nevents - 1].message, want);
    job_release(&j);
    /* a running job is left alone */
    assert_int_equal(store_job_claim_pull(f->s, a, time_now_ms(), 60000, &j), 0);
    assert_string_equal(j.id, td);
    job_release(&j);
    assert_int_equal(store_job_supersede(f->s, td, JOB_KIND_TRANSIENT_ACCESS, other, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(status_of(f, td), JOB_RUNNING);
}

/* The drift check's claim: due sites once per interval, never with open jobs. */
static void test_claim_verify(void **state)
{
    struct fx *f = *state;
    char a[UUID_STR_LEN], got[UUID_STR_LEN], job[UUID_STR_LEN];
    fx_site(f, NULL, "10.99.0.2", true, a, NULL);
    int64_t now = time_now() + 3600; /* the adoption counted as a check */
    assert_int_equal(store_site_claim_verify(f->s, "edge-1", now - 3600, 3600, got), -ENOENT);
    assert_int_equal(store_site_claim_verify(f->s, "edge-1", now, 3600, got), 0);
    assert_string_equal(got, a);
    assert_int_equal(store_site_claim_verify(f->s, "edge-1", now, 3600, got), -ENOENT);
    /* an interval later it is due again, unless it has a job waiting */
    fx_job(f, a, false, true, NULL, NULL, job);
    assert_int_equal(store_site_claim_verify(f->s, "edge-1", now + 3600, 3600, got), -ENOENT);
    assert_int_equal(store_job_cancel(f->s, f->tenant, a, job), 0);
    assert_int_equal(store_site_claim_verify(f->s, "edge-1", now + 3600, 3600, got), 0);
    assert_string_equal(got, a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_supersede, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_claim_verify, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_claim_urgent_first, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_urgent_waits_for_running, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_sites_take_turns, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_backlogs_do_not_starve, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_supersede_one, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
