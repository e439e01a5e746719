#include "job.h"

#include "policy.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const names[JOB_STATUS_COUNT] = {
    [JOB_PENDING] = "pending", [JOB_RUNNING] = "running", [JOB_COMPLETED] = "completed",
    [JOB_FAILED] = "failed",   [JOB_DELETED] = "deleted", [JOB_SUPERSEDED] = "superseded",
};

const char *job_status_name(enum job_status s)
{
    return (unsigned)s < JOB_STATUS_COUNT ? names[s] : "unknown";
}

int job_status_parse(const char *s, enum job_status *ret)
{
    for (int i = 0; i < JOB_STATUS_COUNT; i++) {
        if (!strcmp(s, names[i])) {
            *ret = (enum job_status)i;
            return 0;
        }
    }
    return -EINVAL;
}

static const char *const kind_names[JOB_KIND_COUNT] = {
    [JOB_KIND_POLICY] = "policy",
    [JOB_KIND_API_USER] = "api_user",
    [JOB_KIND_ACTION] = "action",
    [JOB_KIND_SCRIPT] = "script",
    [JOB_KIND_TRANSIENT_ACCESS] = "transient_access",
    [JOB_KIND_TRANSIENT_FORWARD] = "transient_forward",
    [JOB_KIND_SITE_DELETE] = "site_delete",
};

const char *job_kind_name(enum job_kind k)
{
    return (unsigned)k < JOB_KIND_COUNT ? kind_names[k] : "unknown";
}

int job_kind_parse(const char *s, enum job_kind *ret)
{
    for (int i = 0; s && i < JOB_KIND_COUNT; i++) {
        if (!strcmp(s, kind_names[i])) {
            *ret = (enum job_kind)i;
            return 0;
        }
    }
    return -EINVAL;
}

static const char *const class_names[JOB_CLASS_COUNT] = {
    [JOB_CLASS_NORMAL] = "normal",
    [JOB_CLASS_URGENT] = "urgent",
};

const char *job_class_name(enum job_class c)
{
    return (unsigned)c < JOB_CLASS_COUNT ? class_names[c] : "unknown";
}

/*
 * Per kind: the class of its jobs that put something on the router, and of those that take
 * it off. Site actions (reboot, upgrade, a tunnel move) and scripts keep the operator's order
 * among themselves; a grant's setup is normal, its teardown urgent (the teardown supersedes a
 * setup that has not run: jobs_grant_teardown).
 */
static const enum job_class kind_classes[JOB_KIND_COUNT][2] = {
    [JOB_KIND_POLICY] = {JOB_CLASS_URGENT, JOB_CLASS_URGENT},
    [JOB_KIND_API_USER] = {JOB_CLASS_URGENT, JOB_CLASS_URGENT},
    [JOB_KIND_ACTION] = {JOB_CLASS_NORMAL, JOB_CLASS_NORMAL},
    [JOB_KIND_SCRIPT] = {JOB_CLASS_NORMAL, JOB_CLASS_NORMAL},
    [JOB_KIND_TRANSIENT_ACCESS] = {JOB_CLASS_NORMAL, JOB_CLASS_URGENT},
    [JOB_KIND_TRANSIENT_FORWARD] = {JOB_CLASS_NORMAL, JOB_CLASS_URGENT},
    [JOB_KIND_SITE_DELETE] = {JOB_CLASS_URGENT, JOB_CLASS_URGENT},
};

enum job_class job_class_of(enum job_kind k, bool removal)
{
    return (unsigned)k < JOB_KIND_COUNT ? kind_classes[k][removal] : JOB_CLASS_NORMAL;
}

static const char *const router_status_names[JOB_ROUTER_STATUS_COUNT] = {
    [JOB_ROUTER_BUSY] = "busy",
    [JOB_ROUTER_DONE] = "done",
    [JOB_ROUTER_FAIL] = "fail",
};

const char *job_router_status_name(enum job_router_status s)
{
    return (unsigned)s < JOB_ROUTER_STATUS_COUNT ? router_status_names[s] : "unknown";
}

int job_router_status_parse(const char *s, enum job_router_status *ret)
{
    for (int i = 0; s && i < JOB_ROUTER_STATUS_COUNT; i++) {
        if (!strcmp(s, router_status_names[i])) {
            *ret = (enum job_router_status)i;
            return 0;
        }
    }
    return -EINVAL;
}

void job_release(struct job *j)
{
    if (!j)
        return;
    free(j->description);
    free(j->payload);
    free(j->last_error);
    free(j->created_by);
    free(j->idempotency_key);
    for (size_t i = 0; i < j->nevents; i++) {
        free(j->events[i].kind);
        free(j->events[i].message);
    }
    free(j->events);
    j->description = j->payload = j->last_error = j->created_by = NULL;
    j->idempotency_key = NULL;
    j->events = NULL;
    j->nevents = 0;
}

int job_validate_custom(const char *description, const char *script, struct tg_err *err)
{
    long dl = utf8_length(description);
    if (dl < 0)
        return tg_err_invalid(err, "parameter_invalid", "description",
                              "The description is not valid UTF-8.");
    if (dl < 1)
        return tg_err_invalid(err, "parameter_invalid", "description",
                              "The description must not be empty.");
    if (dl > JOB_DESCRIPTION_MAX)
        return tg_err_invalid(err, "description_too_long", "description",
                              "The description may have at most %d characters.",
                              JOB_DESCRIPTION_MAX);
    long sl = utf8_length(script);
    if (sl < 0)
        return tg_err_invalid(err, "parameter_invalid", "script", "The script is not valid UTF-8.");
    if (sl < 1)
        return tg_err_invalid(err, "parameter_invalid", "script", "The script must not be empty.");
    if (sl > JOB_SCRIPT_MAX)
        return tg_err_invalid(err, "script_too_long", "script",
                              "The script may have at most %d characters.", JOB_SCRIPT_MAX);
    return 0;
}
