/*
 * job.h - a job for a router and its orchestration-log events (DESIGN.md §3).
 *
 * pending -> running -> completed | failed; pending -> deleted (cancelled).
 * The payload is a serialized job plan (src/jobs/plan.h) or, for custom
 * script jobs, the operator's RouterOS script.
 */
#ifndef TG_DOMAIN_JOB_H
#define TG_DOMAIN_JOB_H

#include "error.h"
#include "rand.h" /* UUID_STR_LEN */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JOB_DESCRIPTION_MAX 100
#define JOB_SCRIPT_MAX 2000
#define JOB_TOKEN_LEN 10

enum job_status {
    JOB_PENDING = 0,
    JOB_RUNNING,
    JOB_COMPLETED,
    JOB_FAILED,
    JOB_DELETED,
    JOB_SUPERSEDED, /* a newer job of the same kind for its site replaced it before it ran */
    JOB_STATUS_COUNT,
};

const char *job_status_name(enum job_status s);
int job_status_parse(const char *s, enum job_status *ret);

/*
 * What a job is for. The name is both the storage form (jobs.kind) and the
 * API's "kind" member, so the strings never change.
 */
enum job_kind {
    JOB_KIND_POLICY = 0,        /* "policy": apply a policy */
    JOB_KIND_API_USER,          /* "api_user": the platform's API user (rotation) */
    JOB_KIND_ACTION,            /* "action": a site action (site.reboot, ...) */
    JOB_KIND_SCRIPT,            /* "script": an operator's custom script */
    JOB_KIND_TRANSIENT_ACCESS,  /* "transient_access": set up / tear down a temporary user */
    JOB_KIND_TRANSIENT_FORWARD, /* "transient_forward": set up / tear down a dst-nat rule */
    JOB_KIND_SITE_DELETE,       /* "site_delete": remove tikgate from the router; the site
                                   record goes when it completes */
    JOB_KIND_COUNT,
};

/* "policy", ...; "unknown" outside the enum. */
const char *job_kind_name(enum job_kind k);
/* 0, or -EINVAL for a name that is no job kind (*ret untouched). */
int job_kind_parse(const char *s, enum job_kind *ret);

/*
 * A job's queue class (issue 14, docs/API.md "Priorities"): of a site's pending jobs the
 * claims take the URGENT ones first, then the NORMAL ones, oldest first within a class. Stored
 * as its number (jobs.queue_class, the claims order by it: higher first); NORMAL is 0, what a
 * zeroed struct job has.
 */
enum job_class {
    JOB_CLASS_NORMAL = 0, /* "normal": custom scripts, site actions (reboot, upgrade), grant
                             setups: FIFO among themselves */
    JOB_CLASS_URGENT,     /* "urgent": security work: grant teardowns, API-user pushes
                             (rotation), policy pushes, site cleanup */
    JOB_CLASS_COUNT,
};

/* "normal", "urgent"; "unknown" outside the enum. */
const char *job_class_name(enum job_class c);
/*
 * The class of a job of kind k; removal: the job takes something off the router (a grant's
 * teardown, a drift repair's removal of a left-over user or rule).
 */
enum job_class job_class_of(enum job_kind k, bool removal);

/* What a router reports for a pulled job (GET /job/{id}/update?status=busy|done|fail). */
enum job_router_status {
    JOB_ROUTER_BUSY = 0, /* "busy": started (completes a job that needs no acknowledgement) */
    JOB_ROUTER_DONE,     /* "done": succeeded */
    JOB_ROUTER_FAIL,     /* "fail": failed */
    JOB_ROUTER_STATUS_COUNT,
};

/* "busy", "done", "fail"; "unknown" outside the enum. */
const char *job_router_status_name(enum job_router_status s);
/* 0, or -EINVAL for anything but busy, done and fail (*ret untouched). */
int job_router_status_parse(const char *s, enum job_router_status *ret);

struct job_event {
    int64_t at_ms;
    char *kind;    /* owned: created, downloaded, express_requested, pushed, busy, completed, ... */
    char *message; /* owned */
};

struct job {
    char id[UUID_STR_LEN];
    char site_id[UUID_STR_LEN];
    char tenant_id[UUID_STR_LEN];
    char token[JOB_TOKEN_LEN + 1];
    enum job_kind kind; /* JOB_KIND_COUNT when the stored name is unknown to this version */
    enum job_class queue_class;
    char *description; /* owned */
    char *payload;     /* owned */
    bool is_script;    /* payload is raw RouterOS script, not a plan */
    bool express;
    bool needs_ack;
    enum job_status status;
    int attempts;
    int64_t next_attempt_ms;
    int64_t created_at, started_at, completed_at, failed_at, deleted_at; /* seconds, 0 = unset */
    char *last_error;                                                    /* owned, NULL */
    char *created_by;                                                    /* owned, NULL */
    char *idempotency_key;                                               /* owned, NULL */
    struct job_event *events; /* filled by store_job_get only */
    size_t nevents;
};

void job_release(struct job *j);
/* Validates a custom script job's description and script (DESIGN/altostrat limits). */
int job_validate_custom(const char *description, const char *script, struct tg_err *err);

#endif
