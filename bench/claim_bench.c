/*
 * claim_bench.c - push-job claim throughput of the store (bench/claims.sh; not a test).
 *
 *   claim_bench URL DATA_DIR SITES NODES WORKERS batch|single|fill
 *
 * Fills the store at URL (a fresh PostgreSQL database or sqlite:PATH) with SITES adopted sites
 * with one express job each (so no claim waits for a site's running job), then claims them
 * all, each thread with its own connection:
 * - batch: one claimer per node (NODES lease owners), store_job_claim_push_batch with limit
 *   WORKERS, as tikgated's dispatcher claims for its idle workers (one claim at a time per
 *   node);
 * - single: NODES x WORKERS threads with store_job_claim_push, one job per transaction (the
 *   claim before issue 11: every worker claimed for itself), the reference;
 * - fill: only the rows (to look at the queries by hand).
 * No tenant share (the claimed jobs stay running: a share would stop the claims). Prints one
 * JSON line: jobs, seconds, claims/s, claim calls.
 */
#include "alloc.h"
#include "clock.h"
#include "rand.h"
#include "store.h"
#include "timefmt.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct run {
    struct store *s;
    bool batch;
    int workers;
    atomic_long claimed, errors, claim_ns, calls;
};

struct worker {
    struct run *run;
    char owner[STORE_NODE_NAME_MAX];
    pthread_t t;
};

static int claim(struct worker *w, struct job **ret, size_t *n)
{
    struct run *r = w->run;
    int64_t now = time_now_ms();
    if (!r->batch) {
        struct job *j = xcalloc(1, sizeof *j);
        int rc = store_job_claim_push(r->s, now, now + 600000, 0, j);
        if (rc < 0) {
            free(j);
            return rc;
        }
        *ret = j;
        *n = 1;
        return 0;
    }
    struct store_push_claim cl = {
        .owner = w->owner, .now_ms = now, .lease_until_ms = now + 600000, .limit = r->workers};
    return store_job_claim_push_batch(r->s, &cl, ret, n);
}

static void *work(void *arg)
{
    struct worker *w = arg;
    struct run *r = w->run;
    for (int misses = 0; misses < 3;) {
        struct job *jobs = NULL;
        size_t n = 0;
        int64_t t0 = clock_mono_ns();
        int rc = claim(w, &jobs, &n);
        atomic_fetch_add(&r->claim_ns, clock_mono_ns() - t0);
        atomic_fetch_add(&r->calls, 1);
        if (rc < 0) {
            if (rc != -ENOENT)
                atomic_fetch_add(&r->errors, 1);
            misses++;
            continue;
        }
        misses = 0;
        atomic_fetch_add(&r->claimed, (long)n);
        store_job_array_free(jobs, n);
    }
    store_thread_done(r->s);
    return NULL;
}

/* SITES adopted sites of one tenant with JOBS express jobs each. */
static int fill(struct store *s, int sites, int jobs_per_site)
{
    char tenant[UUID_STR_LEN];
    if (store_tenant_create(s, "bench", "127.0.0.0/8", tenant) < 0)
        return -1;
    struct policy p;
    if (store_policy_get_default(s, tenant, &p) < 0)
        return -1;
    struct job *batch = xcalloc((size_t)jobs_per_site, sizeof *batch);
    for (int i = 0; i < sites; i++) {
        struct site st;
        memset(&st, 0, sizeof st);
        uuid_v7(st.id);
        memcpy(st.tenant_id, tenant, UUID_STR_LEN);
        st.name = xstrdup("bench");
        memcpy(st.policy_id, p.id, UUID_STR_LEN);
        st.tunnel_address = xasprintf("10.%d.%d.%d", i / 62500, i / 250 % 250, i % 250 + 2);
        st.status = SITE_PENDING_ONBOARDING;
        rand_base62(st.bootstrap_token, SITE_TOKEN_LEN);
        st.created_at = st.updated_at = time_now();
        struct credential c;
        credential_generate(&c, st.id);
        char dev[SITE_TOKEN_LEN + 1];
        rand_base62(dev, SITE_TOKEN_LEN);
        struct store_adoption a = {"k=v", "r1", "hAP", "X1", "7.15", NULL, dev};
        int r = store_site_insert(s, &st, &c);
        if (r == 0)
            r = store_site_adopt(s, st.id, &a);
        if (r == 0) /* the router confirmed its adoption script: pushable */
            r = store_site_heartbeat(s, st.id, time_now()) < 0 ? -1 : 0;
        for (int k = 0; r == 0 && k < jobs_per_site; k++) {
            struct job *j = &batch[k];
            memset(j, 0, sizeof *j);
            uuid_v7(j->id);
            memcpy(j->site_id, st.id, UUID_STR_LEN);
            rand_base62(j->token, JOB_TOKEN_LEN);
            j->kind = JOB_KIND_POLICY;
            j->description = xstrdup("bench");
            j->payload = xstrdup("reboot\t/system\t-\t\t0\n");
            j->express = true;
            j->needs_ack = true;
            j->created_at = time_now();
        }
        if (r == 0)
            r = store_job_insert_many(s, batch, (size_t)jobs_per_site);
        for (int k = 0; k < jobs_per_site; k++)
            job_release(&batch[k]);
        site_release(&st);
        credential_release(&c);
        if (r < 0) {
            fprintf(stderr, "claim_bench: filling the store failed: %s\n", strerror(-r));
            return -1;
        }
    }
    free(batch);
    policy_release(&p);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: %s URL DATA_DIR SITES NODES WORKERS batch|single|fill\n", argv[0]);
        return 2;
    }
    int sites = atoi(argv[3]), per = 1, nodes = atoi(argv[4]);
    int workers = atoi(argv[5]);
    const char *mode = argv[6];
    if (tg_rand_init() < 0 || sites < 1 || per < 1 || nodes < 1 || workers < 1 ||
        workers > STORE_CLAIM_MAX)
        return 2;
    struct run run = {.batch = !strcmp(mode, "batch"), .workers = workers};
    if (store_open(argv[1], argv[2], &run.s) < 0) {
        fprintf(stderr, "claim_bench: cannot open the store\n");
        return 1;
    }
    if (fill(run.s, sites, per) < 0)
        return 1;
    if (!strcmp(mode, "fill")) {
        store_close(run.s);
        return 0;
    }
    int nw = run.batch ? nodes : nodes * workers;
    struct worker *w = xcalloc((size_t)nw, sizeof *w);
    int64_t t0 = clock_mono_ns();
    for (int i = 0; i < nw; i++) {
        w[i].run = &run;
        snprintf(w[i].owner, sizeof w[i].owner, "bench-node-%d",
                 run.batch ? i + 1 : i / workers + 1);
        if (pthread_create(&w[i].t, NULL, work, &w[i]) != 0)
            return 1;
    }
    for (int i = 0; i < nw; i++)
        pthread_join(w[i].t, NULL);
    double secs = (double)(clock_mono_ns() - t0) / 1e9;
    long claimed = atomic_load(&run.claimed);
    printf("{\"mode\": \"%s\", \"nodes\": %d, \"workers\": %d, \"jobs\": %ld, \"errors\": %ld, "
           "\"seconds\": %.3f, \"claims_per_s\": %.0f, \"claim_calls\": %ld, "
           "\"claim_seconds\": %.3f}\n",
           mode, nodes, workers, claimed, atomic_load(&run.errors), secs, claimed / secs,
           atomic_load(&run.calls), (double)atomic_load(&run.claim_ns) / 1e9 / nw);
    free(w);
    store_close(run.s);
    return claimed == (long)sites * per ? 0 : 1;
}
