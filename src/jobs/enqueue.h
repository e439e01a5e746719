/*
 * enqueue.h - queueing a job for a site, shared by the API and the scheduler.
 */
#ifndef TG_JOBS_ENQUEUE_H
#define TG_JOBS_ENQUEUE_H

#include <stdbool.h>

#include "plan.h"
#include "store.h"

/*
 * Queues a job for site_id with plan (or the raw script when plan is NULL).
 * Joins the caller's store transaction if one is open. ret_id (may be NULL)
 * receives the job id. 0, 1 when idempotency_key named a job queued before
 * (ret_id is that job; nothing new is queued), or a store error (-E2BIG for
 * an oversized plan).
 */
int jobs_enqueue(struct store *st, const char *site_id, const char *kind, const char *description,
                 const struct job_plan *plan, const char *script, bool express, bool needs_ack,
                 const char *created_by, const char *idempotency_key, char ret_id[37]);

/* Router-side configuration of a grant (temporary user, or dst-nat + masquerade). */
void job_plan_grant_setup(struct job_plan *p, const struct grant *g, const char *mgmt_networks);
void job_plan_grant_teardown(struct job_plan *p, const struct grant *g);

/*
 * Tears a live grant down: marks it in the store (revoked_early when revoked)
 * and queues the router-side removal, in one transaction. The edge follows
 * by reconciliation. 0, -EBUSY (already torn down), -ENOENT, or a store error.
 */
int jobs_grant_teardown(struct store *st, const char *grant_id, bool revoked,
                        const char *created_by);

#endif
