/*
 * grants.c - setting transient grants up and tearing them down (grants.h).
 */
#include "grants.h"

#include "enqueue.h"
#include "plan.h"
#include "rand.h"
#include "timefmt.h"

#include <errno.h>
#include <stdio.h>
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
        .created_by = created_by,
    };
    return jobs_enqueue(st, &spec, ret_id);
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
        r = store_grant_teardown(st, grant_id, revoked, job_id);
    r = store_tx_end(st, r);
    if (r == 0)
        notify(env);
out_release:
    job_plan_release(&plan);
    grant_release(&g);
    return r;
}
