/*
 * enqueue.c - turning changes into jobs for routers.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "api_int.h"
#include "enqueue.h"
#include "rand.h"
#include "store.h"
#include "timefmt.h"

int api_enqueue(struct api *api, const char *site_id, const char *kind, const char *description,
                const struct job_plan *plan, const char *script, bool express, bool needs_ack,
                const char *created_by, const char *idempotency_key, char ret_job[37])
{
    return jobs_enqueue(api->store, site_id, kind, description, plan, script, express, needs_ack,
                        created_by, idempotency_key, ret_job);
}

void api_jobs_queued(struct api *api)
{
    if (api->cfg.jobs_queued)
        api->cfg.jobs_queued(api->cfg.jobs_ctx);
}

int api_enqueue_policy_jobs(struct api *api, const struct policy *pol,
                            const struct strlist *site_ids, const char *created_by)
{
    for (size_t i = 0; i < site_ids->n; i++) {
        struct job_plan plan = {0};
        struct job_site_ctx ctx = {.site_id = site_ids->items[i],
                                   .mgmt_networks = api->cfg.mgmt_networks};
        job_plan_policy(&plan, pol, &ctx);
        char desc[128];
        snprintf(desc, sizeof desc, "Apply policy '%s'", pol->name);
        int r = api_enqueue(api, site_ids->items[i], "policy", desc, &plan, NULL, true, true,
                            created_by, NULL, NULL);
        job_plan_release(&plan);
        if (r < 0)
            return r;
    }
    return 0;
}

static json_t *time_ms_json(int64_t ms)
{
    char s[RFC3339_LEN];
    time_format_rfc3339(ms / 1000, s);
    /* "2024-06-22T04:33:29+00:00" -> "2024-06-22T04:33:29.123+00:00": events need ms order. */
    char out[40];
    snprintf(out, sizeof out, "%.19s.%03lld+00:00", s, (long long)(ms % 1000));
    return json_string(out);
}

json_t *job_to_json(const struct job *j, bool with_events)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(j->id));
    json_object_set_new(o, "token", json_string(j->token));
    json_object_set_new(o, "site_id", json_string(j->site_id));
    json_object_set_new(o, "kind", json_string(j->kind ? j->kind : ""));
    json_object_set_new(o, "description", json_string(j->description ? j->description : ""));
    json_object_set_new(o, "status", json_string(job_status_name(j->status)));
    json_object_set_new(o, "express_execute", json_boolean(j->express));
    json_object_set_new(o, "needs_acknowledgement", json_boolean(j->needs_ack));
    json_object_set_new(o, "idempotency_key", json_str_or_null(j->idempotency_key));
    json_object_set_new(o, "attempts", json_integer(j->attempts));
    json_object_set_new(o, "created_at", json_time_or_null(j->created_at));
    json_object_set_new(o, "started_at", json_time_or_null(j->started_at));
    json_object_set_new(o, "completed_at", json_time_or_null(j->completed_at));
    json_object_set_new(o, "failed_at", json_time_or_null(j->failed_at));
    json_object_set_new(o, "deleted_at", json_time_or_null(j->deleted_at));
    json_object_set_new(o, "last_error", json_str_or_null(j->last_error));
    json_object_set_new(o, "created_by", json_str_or_null(j->created_by));
    json_object_set_new(o, "script", j->is_script ? json_string(j->payload) : json_null());
    if (with_events) {
        json_t *ev = json_array();
        for (size_t i = 0; i < j->nevents; i++) {
            json_t *e = json_object();
            json_object_set_new(e, "at", time_ms_json(j->events[i].at_ms));
            json_object_set_new(e, "kind", json_string(j->events[i].kind));
            json_object_set_new(e, "message", json_string(j->events[i].message));
            json_array_append_new(ev, e);
        }
        json_object_set_new(o, "events", ev);
    }
    return o;
}
