/*
 * test_queue.c - store_jobs_supersede: a newer job of a kind ends the site's older pending
 * jobs of that kind, and nothing else (not running jobs, not other sites, not newer jobs).
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
