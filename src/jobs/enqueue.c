#include "enqueue.h"

#include "alloc.h"
#include "rand.h"
#include "timefmt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int jobs_build(const struct job_spec *spec, struct job *ret)
{
    struct job j;
    memset(&j, 0, sizeof j);
    uuid_v7(j.id);
    snprintf(j.site_id, sizeof j.site_id, "%s", spec->site_id);
    rand_base62(j.token, JOB_TOKEN_LEN);
    j.kind = spec->kind;
    j.queue_class = spec->urgent ? JOB_CLASS_URGENT : job_class_of(spec->kind, spec->removal);
    j.description = xstrdup(spec->description);
    if (spec->plan) {
        struct buf b;
        buf_init(&b, (size_t)4 << 20);
        if (job_plan_serialize(spec->plan, &b) < 0) {
            buf_release(&b);
            job_release(&j);
            return -E2BIG;
        }
        j.payload = buf_steal(&b);
    } else {
        j.payload = xstrdup(spec->script);
        j.is_script = true;
    }
    j.express = spec->express;
    j.needs_ack = spec->needs_ack;
    j.created_at = time_now();
    j.created_by = xstrdup(spec->created_by);
    j.idempotency_key = xstrdup(spec->idempotency_key);
    *ret = j;
    return 0;
}

int jobs_enqueue(struct store *st, const struct job_spec *spec, char ret_id[UUID_STR_LEN])
{
    /* A repeated idempotency key returns the job queued the first time (no second job). */
    char existing[UUID_STR_LEN];
    if (spec->idempotency_key &&
        store_job_by_idempotency(st, spec->site_id, spec->idempotency_key, existing) == 0) {
        if (ret_id)
            memcpy(ret_id, existing, UUID_STR_LEN);
        return 1;
    }
    struct job j;
    int r = jobs_build(spec, &j);
    if (r < 0)
        return r;
    r = store_job_insert(st, &j);
    /* a newer policy push or rotation replaces the older ones still waiting (issue 14) */
    if (r == 0 && (j.kind == JOB_KIND_POLICY || j.kind == JOB_KIND_API_USER))
        r = store_jobs_supersede(st, j.site_id, j.kind, j.id, NULL);
    if (r == 0 && ret_id)
        memcpy(ret_id, j.id, UUID_STR_LEN);
    job_release(&j);
    return r;
}

int jobs_enqueue_policy(struct store *st, const struct policy *pol, const struct strlist *site_ids,
                        const char *mgmt_networks, const char *created_by)
{
    char desc[128];
    snprintf(desc, sizeof desc, "Apply policy '%s'", pol->name);
    for (size_t i = 0; i < site_ids->n; i++) {
        struct job_plan plan = {0};
        struct job_site_ctx ctx = {.site_id = site_ids->items[i], .mgmt_networks = mgmt_networks};
        job_plan_policy(&plan, pol, &ctx);
        struct job_spec spec = {
            .site_id = site_ids->items[i],
            .kind = JOB_KIND_POLICY,
            .description = desc,
            .plan = &plan,
            .express = true,
            .needs_ack = true,
            .created_by = created_by,
        };
        char id[UUID_STR_LEN];
        int r = jobs_enqueue(st, &spec, id);
        job_plan_release(&plan);
        if (r < 0)
            return r;
        /* jobs_enqueue superseded the site's older pending policy jobs (issue 13, 14) */
    }
    return 0;
}
