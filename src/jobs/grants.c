/*
 * grants.c - setting transient grants up and tearing them down (grants.h).
 */
#include "grants.h"

#include "alloc.h"
#include "enqueue.h"
#include "plan.h"
#include "rand.h"
#include "timefmt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Tells the dispatcher and the edge, when the caller asked for it. */
static void notify(const struct jobs_grant_env *env)
{
    if (env->jobs_queued)
        env->jobs_queued(env->jobs_ctx);
    if (env->grants_changed)
        env->grants_changed(env->grants_ctx);
}

/* Queues the job of step for g with plan (inside the caller's transaction). */
static int enqueue_grant_job(struct store *st, const struct grant *g, enum job_grant_step step,
                             const struct job_plan *plan, const char *created_by,
                             char ret_id[UUID_STR_LEN])
{
    char desc[128];
    job_grant_description(g, step, desc, sizeof desc);
    struct job_spec spec = {
        .site_id = g->site_id,
        .kind = job_grant_kind(g),
        .description = desc,
        .plan = plan,
        .express = true,
        .needs_ack = true,
        .removal = step != JOB_GRANT_SETUP,
        .created_by = created_by,
    };
    return jobs_enqueue(st, &spec, ret_id);
}

/*
 * A teardown is urgent and a setup is not (docs/API.md "Priorities"): the teardown job_id would run
 * before g's setup if that has not run yet, and the setup after it would leave the user or
 * rule on the router. So the setup ends superseded by the teardown (inside the caller's
 * transaction; a running setup is left alone: a site runs one job at a time, the teardown
 * follows it).
 */
static int supersede_setup(struct store *st, const struct grant *g, const char *job_id)
{
    if (!g->setup_job_id[0])
        return 0;
    return store_job_supersede(st, g->setup_job_id, job_grant_kind(g), job_id, NULL);
}

int jobs_grant_setup(const struct jobs_grant_env *env, struct grant *g)
{
    struct store *st = env->store;
    uuid_v7(g->id);
    g->created_at = time_now();
    if (g->kind == GRANT_ACCESS) {
        grant_generate_credential(g->username);
        grant_generate_credential(g->password);
    }
    struct job_plan plan = {0};
    char job_id[UUID_STR_LEN];
    int r = store_tx_begin(st);
    if (r < 0)
        return r;
    r = store_grant_insert(st, g, env->edge_port_lo, env->edge_port_hi);
    if (r < 0)
        goto out_end_tx;
    job_plan_grant_setup(&plan, g, env->mgmt_networks);
    r = enqueue_grant_job(st, g, JOB_GRANT_SETUP, &plan, g->created_by, job_id);
    if (r < 0)
        goto out_end_tx;
    r = store_grant_set_setup_job(st, g->id, job_id);
out_end_tx:
    r = store_tx_end(st, r);
    job_plan_release(&plan);
    if (r == 0)
        notify(env);
    return r;
}

int jobs_grant_teardown(const struct jobs_grant_env *env, const char *grant_id, bool revoked,
                        const char *created_by)
{
    struct store *st = env->store;
    struct job_plan plan = {0};
    char job_id[UUID_STR_LEN];
    struct grant g;
    int r = store_grant_get_any(st, grant_id, &g);
    if (r < 0)
        return r;
    if (g.torn_down_at) {
        r = -EBUSY;
        goto out_release;
    }
    job_plan_grant_teardown(&plan, &g);
    r = store_tx_begin(st);
    if (r < 0)
        goto out_release;
    r = enqueue_grant_job(st, &g, revoked ? JOB_GRANT_REVOKE : JOB_GRANT_EXPIRE, &plan, created_by,
                          job_id);
    if (r == 0)
        r = supersede_setup(st, &g, job_id);
    if (r == 0)
        r = store_grant_teardown(st, grant_id, revoked, job_id);
    r = store_tx_end(st, r);
    if (r == 0)
        notify(env);
out_release:
    job_plan_release(&plan);
    grant_release(&g);
    return r;
}

static const char *prev_owner_of(const struct store_due_grant *due, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(due[i].id, id))
            return due[i].prev_owner;
    return "";
}

/*
 * At most this many grants of one site share a removal job when they expire in the same batch:
 * one push session removes them all (a mass expiry is one job per router, not one per grant)
 * while a failed job still retries a bounded amount of work.
 */
#define TEARDOWN_GRANTS_PER_JOB 64

/* A grant of a batch, sorted by site and kind (then its place: a site keeps its order). */
struct batch_slot {
    const struct grant *g;
    size_t idx;
};

static int slot_cmp(const void *a, const void *b)
{
    const struct batch_slot *x = a, *y = b;
    int c = strcmp(x->g->site_id, y->g->site_id);
    if (c == 0)
        c = (int)x->g->kind - (int)y->g->kind;
    if (c == 0)
        c = x->idx < y->idx ? -1 : x->idx > y->idx;
    return c;
}

/* The removal job of the k grants sl[0..k) (same site and kind) into *ret. */
static int build_teardown_job(const struct batch_slot *sl, size_t k, struct job *ret)
{
    struct job_plan plan = {0};
    char desc[128];
    for (size_t i = 0; i < k; i++)
        job_plan_grant_teardown(&plan, sl[i].g);
    if (k == 1)
        job_grant_description(sl[0].g, JOB_GRANT_EXPIRE, desc, sizeof desc);
    else
        snprintf(desc, sizeof desc, "Expire %zu %s", k,
                 sl[0].g->kind == GRANT_ACCESS ? "transient access grants" : "transient forwards");
    struct job_spec spec = {.site_id = sl[0].g->site_id,
                            .kind = job_grant_kind(sl[0].g),
                            .description = desc,
                            .plan = &plan,
                            .express = true,
                            .needs_ack = true,
                            .removal = true,
                            .created_by = "scheduler"};
    int r = jobs_build(&spec, ret);
    job_plan_release(&plan);
    return r;
}

/*
 * The removal jobs of the locked grants t[0..n), built (the grants of one site and kind
 * together, TEARDOWN_GRANTS_PER_JOB at most per job), then inserted in one go, the grants
 * marked torn down by owner, and a "taken_over" event on the jobs of those whose claim
 * lapsed elsewhere (once per job and lapsed node).
 */
static int expire_locked(struct store *st, const char *owner, const struct store_taken_grant *t,
                         size_t n)
{
    struct batch_slot *sl = xcalloc(n ? n : 1, sizeof *sl);
    struct job *jobs = xcalloc(n ? n : 1, sizeof *jobs);
    size_t *job_of = xcalloc(n ? n : 1, sizeof *job_of); /* grant index -> its job */
    struct strlist gids = {0}, jids = {0};
    size_t built = 0;
    int r = 0;
    for (size_t i = 0; i < n; i++)
        sl[i] = (struct batch_slot){&t[i].g, i};
    qsort(sl, n, sizeof *sl, slot_cmp);
    for (size_t a = 0; a < n && r == 0;) {
        size_t b = a + 1;
        while (b < n && b - a < TEARDOWN_GRANTS_PER_JOB &&
               !strcmp(sl[b].g->site_id, sl[a].g->site_id) && sl[b].g->kind == sl[a].g->kind)
            b++;
        r = build_teardown_job(&sl[a], b - a, &jobs[built]);
        if (r < 0)
            break;
        for (size_t i = a; i < b; i++)
            job_of[sl[i].idx] = built;
        built++;
        a = b;
    }
    for (size_t i = 0; r == 0 && i < n; i++) {
        strlist_add(&gids, t[i].g.id);
        strlist_add(&jids, jobs[job_of[i]].id);
    }
    if (r == 0)
        r = store_job_insert_many(st, jobs, built);
    for (size_t i = 0; r == 0 && i < n; i++)
        r = supersede_setup(st, &t[i].g, jobs[job_of[i]].id);
    if (r == 0)
        r = store_grants_expire_many(st, owner, &gids, &jids);
    /* one "taken_over" per job and lapsed node (its grants share the job) */
    const char **told = xcalloc(built ? built : 1, sizeof *told);
    for (size_t i = 0; r == 0 && i < n; i++) {
        if (!t[i].prev_owner[0] || (told[job_of[i]] && !strcmp(told[job_of[i]], t[i].prev_owner)))
            continue;
        told[job_of[i]] = t[i].prev_owner;
        char msg[256];
        snprintf(msg, sizeof msg,
                 "Node %s claimed this expiry and stopped heartbeating (its lease lapsed): node "
                 "%s took it over",
                 t[i].prev_owner, owner);
        r = store_job_event(st, jobs[job_of[i]].id, "taken_over", msg);
    }
    free(told);
    for (size_t i = 0; i < built; i++)
        job_release(&jobs[i]);
    free(jobs);
    free(job_of);
    free(sl);
    strlist_release(&gids);
    strlist_release(&jids);
    return r;
}

/* due[from, to) in one transaction: 0 with *ret_done, or the error that rolled it back. */
static int expire_range(struct store *st, const char *owner, const struct store_due_grant *due,
                        size_t n, size_t from, size_t to, int *ret_done)
{
    struct strlist ids = {0};
    for (size_t i = from; i < to; i++)
        strlist_add(&ids, due[i].id);
    struct grant *g = NULL;
    struct store_taken_grant *t = NULL;
    size_t ng = 0;
    int r = store_tx_begin(st);
    if (r == 0) {
        r = store_grants_lock_claimed(st, owner, &ids, &g, &ng);
        if (r == 0) { /* the grants move into t, with the previous owner of each */
            t = xcalloc(ng ? ng : 1, sizeof *t);
            for (size_t i = 0; i < ng; i++) {
                t[i].g = g[i];
                snprintf(t[i].prev_owner, sizeof t[i].prev_owner, "%s",
                         prev_owner_of(due, n, g[i].id));
            }
            free(g);
            g = NULL;
            r = expire_locked(st, owner, t, ng);
        }
        r = store_tx_end(st, r);
    }
    if (r == 0)
        *ret_done = (int)ng;
    if (t)
        store_taken_grant_array_free(t, ng);
    else
        store_grant_array_free(g, ng);
    strlist_release(&ids);
    return r;
}

int jobs_grant_expire_due(const struct jobs_grant_env *env, const char *owner, int64_t now_ms,
                          int64_t idle_ms, int limit, struct jobs_expired *ret)
{
    struct store *st = env->store;
    struct store_taken_grant *t = NULL;
    size_t n = 0;
    memset(ret, 0, sizeof *ret);
    int r = store_tx_begin(st);
    if (r < 0)
        return r;
    r = store_grants_take_due(st, owner, now_ms, idle_ms, limit, &t, &n);
    if (r == 0 && n)
        r = expire_locked(st, owner, t, n);
    r = store_tx_end(st, r);
    for (size_t i = 0; r == 0 && i < n; i++)
        if (t[i].prev_owner[0] && !ret->taken_over++)
            snprintf(ret->from, sizeof ret->from, "%s", t[i].prev_owner);
    if (r == 0)
        ret->done = (int)n;
    if (t)
        store_taken_grant_array_free(t, n);
    return r;
}

int jobs_grant_expire_claimed(const struct jobs_grant_env *env, const char *owner,
                              const struct store_due_grant *due, size_t n, int *ret_done)
{
    int done = 0;
    int r = expire_range(env->store, owner, due, n, 0, n, &done);
    if (r < 0 && r != -ENOSPC && r != -EAGAIN && r != -EIO && n > 1) {
        /* one grant spoilt the batch (-EBADMSG: a password that cannot be unsealed): the
         * others go one by one, the bad one stays claimed and is tried again later */
        done = 0;
        for (size_t i = 0; i < n; i++) {
            int one = 0;
            if (expire_range(env->store, owner, due, n, i, i + 1, &one) == 0)
                done += one;
        }
        r = 0;
    }
    if (r == 0)
        *ret_done = done;
    return r;
}
