/*
 * job.h - a job for a router and its orchestration-log events (DESIGN.md §3).
 *
 * pending -> running -> completed | failed; pending -> deleted (cancelled).
 * The payload is a serialized job plan (src/jobs/plan.h) or, for custom
 * script jobs, the operator's RouterOS script.
 */
#ifndef TG_DOMAIN_JOB_H
#define TG_DOMAIN_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define JOB_DESCRIPTION_MAX 100
#define JOB_SCRIPT_MAX 2000
#define JOB_TOKEN_LEN 10

enum job_status {
    JOB_PENDING = 0,
    JOB_RUNNING,
    JOB_COMPLETED,
    JOB_FAILED,
    JOB_DELETED,
};

const char *job_status_name(enum job_status s);
int job_status_parse(const char *s, enum job_status *ret);

struct job_event {
    int64_t at_ms;
    char *kind;    /* owned: created, downloaded, express_requested, pushed, busy, completed, ... */
    char *message; /* owned */
};

struct job {
    char id[37];
    char site_id[37];
    char tenant_id[37];
    char token[JOB_TOKEN_LEN + 1];
    char *kind;        /* owned: policy, api_user, action, script, ... */
    char *description; /* owned */
    char *payload;     /* owned */
    bool is_script;    /* payload is raw RouterOS script, not a plan */
    bool express;
    bool needs_ack;
    enum job_status status;
    int attempts;
    int64_t next_attempt_ms;
    int64_t created_at, started_at, completed_at, failed_at, deleted_at; /* seconds, 0 = unset */
    char *last_error;     /* owned, NULL */
    char *created_by;     /* owned, NULL */
    char *idempotency_key; /* owned, NULL */
    struct job_event *events; /* filled by store_job_get only */
    size_t nevents;
};

void job_release(struct job *j);
/* Validates a custom script job's description and script (DESIGN/altostrat limits). */
int job_validate_custom(const char *description, const char *script, struct tg_err *err);

#endif
