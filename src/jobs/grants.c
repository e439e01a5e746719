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
 * The removal jobs of the locked grants t[0..n), built, then inserted in one go, the grants
 * marked torn down by owner, and a "taken_over" event on each whose claim lapsed elsewhere.
 */
static int expire_locked(struct store *st, const char *owner, const struct store_taken_grant *t,
                         size_t n)
{
    struct job *jobs = xcalloc(n ? n : 1, sizeof *jobs);
    struct strlist gids = {0}, jids = {0};
    size_t built = 0;
    int r = 0;
    for (; built < n && r == 0; built++) {
        struct job_plan plan = {0};
        char desc[128];
        job_plan_grant_teardown(&plan, &t[built].g);
        job_grant_description(&t[built].g, JOB_GRANT_EXPIRE, desc, sizeof desc);
        struct job_spec spec = {.site_id = t[built].g.site_id,
                                .kind = job_grant_kind(&t[built].g),
                                .description = desc,
                                .plan = &plan,
                                .express = true,
                                .needs_ack = true,
                                .removal = true,
                                .created_by = "scheduler"};
        r = jobs_build(&spec, &jobs[built]);
        job_plan_release(&plan);
        if (r < 0)
            break;
        strlist_add(&gids, t[built].g.id);
        strlist_add(&jids, jobs[built].id);
    }
    if (r == 0)
        r = store_job_insert_many(st, jobs, n);
    for (size_t i = 0; r == 0 && i < n; i++)
        r = supersede_setup(st, &t[i].g, jobs[i].id);
    if (r == 0)
        r = store_grants_expire_many(st, owner, &gids, &jids);
    for (size_t i = 0; r == 0 && i < n; i++) {
        if (!t[i].prev_owner[0])
            continue;
        char msg[256];
        snprintf(msg, sizeof msg,
                 "Node %s claimed this expiry and stopped heartbeating (its lease lapsed): node "
                 "%s took it over",
                 t[i].prev_owner, owner);
        r = store_job_event(st, jobs[i].id, "taken_over", msg);
    }
    for (size_t i = 0; i < built; i++)
        job_release(&jobs[i]);
    free(jobs);
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
