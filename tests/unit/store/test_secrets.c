/*
 * test_secrets.c - a store reopened with another master key: sealed secrets fail their reads
 * with -EBADMSG (never an empty payload or password), and a job claimed then ends failed with
 * the reason in its log instead of being delivered as an empty plan.
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
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REASON "payload cannot be unsealed: wrong master key or corrupted data"

static void key_path(const struct fx *f, char *path, size_t len)
{
    snprintf(path, len, "%s/master.key", f->dir);
}

static void read_key(const struct fx *f, unsigned char key[32])
{
    char path[300];
    key_path(f, path, sizeof path);
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(read(fd, key, 32), 32);
    close(fd);
}

/* Closes the store, writes key as its master key and opens it again. */
static void reopen_with(struct fx *f, const unsigned char key[32])
{
    store_close(f->s);
    f->s = NULL;
    char path[300];
    key_path(f, path, sizeof path);
    int fd = open(path, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, key, 32), 32);
    close(fd);
    char url[600];
    const char *pg = getenv("TG_TEST_DATABASE"); /* the same database, not emptied */
    if (pg && *pg)
        snprintf(url, sizeof url, "%s", pg);
    else
        snprintf(url, sizeof url, "sqlite:%s/t.db", f->dir);
    assert_int_equal(store_open(url, f->dir, &f->s), 0);
}

static void insert_grant(struct fx *f, const char *site, struct grant *g)
{
    memset(g, 0, sizeof *g);
    uuid_v7(g->id);
    memcpy(g->site_id, site, UUID_STR_LEN);
    g->kind = GRANT_ACCESS;
    g->entry_point = xstrdup("edge-1");
    grant_generate_credential(g->username);
    grant_generate_credential(g->password);
    snprintf(g->access_type, sizeof g->access_type, "winbox");
    g->created_at = time_now();
    g->expires_at_ms = time_now_ms() + 3600 * 1000;
    g->created_by = xstrdup("test");
    assert_int_equal(store_grant_insert(f->s, g, 42000, 42999), 0);
}

/* The job failed with REASON as its last error and its last event. */
static void assert_failed_unsealable(struct fx *f, const char *site, const char *id)
{
    struct job j;
    assert_int_equal(store_job_get(f->s, f->tenant, site, id, &j), 0);
    assert_int_equal(j.status, JOB_FAILED);
    assert_string_equal(j.last_error, REASON);
    assert_true(j.nevents >= 2);
    assert_string_equal(j.events[j.nevents - 1].kind, "failed");
    assert_string_equal(j.events[j.nevents - 1].message, REASON);
    for (size_t i = 0; i < j.nevents; i++) /* never handed out */
        assert_true(strcmp(j.events[i].kind, "downloaded") && strcmp(j.events[i].kind, "pushing"));
    assert_true(strlen(j.payload) > 0);
    job_release(&j);
}

static void test_other_master_key(void **state)
{
    struct fx *f = *state;
    char a[UUID_STR_LEN], b[UUID_STR_LEN], ja[UUID_STR_LEN], jb[UUID_STR_LEN], jc[UUID_STR_LEN];
    fx_site(f, NULL, "10.99.0.2", true, a, NULL); /* push: adopted, with a tunnel */
    fx_site(f, NULL, NULL, true, b, NULL);        /* pull */
    fx_job(f, a, true, true, NULL, NULL, ja);
    fx_job(f, b, false, true, NULL, NULL, jb);
    struct grant g;
    insert_grant(f, a, &g);

    unsigned char right[32], wrong[32];
    read_key(f, right);
    memcpy(wrong, right, 32);
    wrong[0] ^= 0x5a;
    reopen_with(f, wrong);

    /* Every read of a sealed secret fails, and leaves nothing to release. */
    struct job j;
    assert_int_equal(store_job_get(f->s, f->tenant, a, ja, &j), -EBADMSG);
    assert_int_equal(store_job_get_any(f->s, jb, &j), -EBADMSG);
    struct job *jobs = NULL;
    size_t n = 0;
    /* (a job list unseals scripts only: it shows no plan) */
    assert_int_equal(store_job_list(f->s, f->tenant, b, NULL, &jobs, &n), 0);
    assert_int_equal(n, 1);
    assert_false(jobs[0].is_script);
    assert_null(jobs[0].payload);
    store_job_array_free(jobs, n);
    jobs = NULL;
    struct grant got;
    assert_int_equal(store_grant_get_any(f->s, g.id, &got), -EBADMSG);
    assert_int_equal(store_grant_get(f->s, f->tenant, a, GRANT_ACCESS, g.id, &got), -EBADMSG);
    struct grant *grants = NULL;
    assert_int_equal(store_grant_list(f->s, f->tenant, a, GRANT_ACCESS, false, NULL, &grants, &n),
                     -EBADMSG);
    /* (the relay's live grants carry no password: nothing sealed is read, so they still load) */
    assert_int_equal(store_grants_live(f->s, "edge-1", time_now_ms(), &grants, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(grants[0].id, g.id);
    assert_string_equal(grants[0].password, "");
    store_grant_array_free(grants, n);
    grants = NULL;

    /* Claimed, the unreadable jobs end failed; the next claim takes the next job. */
    int64_t now = time_now_ms();
    assert_int_equal(store_job_claim_push(f->s, now, now + 60000, 0, &j), -EBADMSG);
    assert_int_equal(store_job_claim_push(f->s, now, now + 60000, 0, &j), -ENOENT);
    fx_job(f, b, false, true, NULL, NULL, jc); /* sealed with the key in use */
    assert_int_equal(store_job_claim_pull(f->s, b, now, now + 60000, &j), -EBADMSG);
    assert_int_equal(store_job_claim_pull(f->s, b, now, now + 60000, &j), 0);
    assert_string_equal(j.id, jc);
    assert_int_equal(j.status, JOB_RUNNING);
    assert_true(strlen(j.payload) > 0);
    job_release(&j);
    /* A router reporting on a failed job is told it is final. */
    assert_int_equal(store_job_router_update(f->s, jb, JOB_ROUTER_DONE), -EBUSY);
    assert_int_equal(store_job_cancel(f->s, f->tenant, a, ja), -EBUSY);

    /* With the right key back, the log says why; nothing was lost. */
    reopen_with(f, right);
    assert_failed_unsealable(f, a, ja);
    assert_failed_unsealable(f, b, jb);
    assert_int_equal(store_grant_get_any(f->s, g.id, &got), 0);
    assert_string_equal(got.password, g.password);
    grant_release(&got);
    assert_int_equal(store_job_get_any(f->s, jc, &j), -EBADMSG);
    grant_release(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_other_master_key, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
