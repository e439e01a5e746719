/*
 * enqueue.h - queueing a job for a site, shared by the API and the scheduler.
 */
#ifndef TG_JOBS_ENQUEUE_H
#define TG_JOBS_ENQUEUE_H

#include "job.h"
#include "plan.h"
#include "rand.h" /* UUID_STR_LEN */
#include "store.h"

#include <stdbool.h>

/* One job to queue. Every string is borrowed for the call. */
struct job_spec {
    const char *site_id;
    enum job_kind kind;
    const char *description;
    const struct job_plan *plan; /* the commands; NULL for a raw script job */
    const char *script;          /* the operator's script when plan is NULL */
    bool express;                /* push over the RouterOS API as soon as possible */
    bool needs_ack;              /* wait for the router's done/fail (false: busy completes) */
    bool removal;                /* takes something off the router (job_class_of) */
    bool urgent;                 /* JOB_CLASS_URGENT whatever the kind: a drift repair (its
                                    re-setup of a grant must stay ahead of the grant's teardown
                                    queued after it) */
    const char *created_by;      /* may be NULL */
    const char *idempotency_key; /* may be NULL */
};

/*
 * Queues the job of spec. Joins the caller's store transaction if one is
 * open. ret_id (may be NULL) receives the job id. 0, 1 when
 * spec->idempotency_key named a job queued before (ret_id is that job;
 * nothing new is queued), or a store error (-E2BIG for an oversized plan).
 */
int jobs_enqueue(struct store *st, const struct job_spec *spec, char ret_id[UUID_STR_LEN]);
/*
 * The job of spec as jobs_enqueue would insert it (a fresh id and token, the plan serialised),
 * without storing it and without the idempotency check: for batches (store_job_insert_many).
 * 0 with *ret (release with job_release), -E2BIG for an oversized plan.
 */
int jobs_build(const struct job_spec *spec, struct job *ret);

/*
 * Queues a policy job for every site in site_ids (express, acknowledged),
 * rendering pol for each with the management networks mgmt_networks. Joins
 * the caller's transaction. 0 or the first store error.
 */
int jobs_enqueue_policy(struct store *st, const struct policy *pol, const struct strlist *site_ids,
                        const char *mgmt_networks, const char *created_by);

#endif
