/*
 * grants.h - the lifecycle of a transient grant (DESIGN.md §3 "Grant").
 *
 * Setting a grant up and tearing it down are one typed call each. Each one
 * writes the grant's store rows and queues its router-side job (the plans of
 * plan.h) in one transaction, then tells the dispatcher and the edge. The
 * API creates and revokes grants through here; the scheduler expires them
 * through here. Validation comes before (domain's grant_validate()).
 */
#ifndef TG_JOBS_GRANTS_H
#define TG_JOBS_GRANTS_H

#include "grant.h"
#include "store.h"

#include <stdbool.h>

/* Where grants live and who hears about their changes. Borrowed by each call. */
struct jobs_grant_env {
    struct store *store;
    int edge_port_lo, edge_port_hi; /* TIKGATE_EDGE_PORTS: setup picks a free port here */
    const char *mgmt_networks;      /* setup: where temporary users may log in from */
    /*
     * Called after a committed change; each may be NULL (the scheduler tells
     * them once per batch itself).
     */
    void (*jobs_queued)(void *ctx); /* a job was queued: wake the dispatcher */
    void *jobs_ctx;
    void (*grants_changed)(void *ctx); /* a grant came or went: the edge reconciles */
    void *grants_ctx;
};

/*
 * Sets up the grant g describes. g has been validated (grant_validate()) and
 * carries kind, site_id, entry_point, expires_at_ms, the kind's fields and
 * created_by. This call fills g->id, g->created_at, g->port (a random free
 * port of the edge's range) and, for access, a fresh g->username and
 * g->password. It stores the grant, queues its setup job (created by
 * g->created_by) and records the job on the grant in one transaction, then
 * calls the hooks. g stays the caller's: release it with grant_release().
 * 0, -EADDRNOTAVAIL when every port of the range is taken, or a store error;
 * on failure nothing is stored.
 */
int jobs_grant_setup(const struct jobs_grant_env *env, struct grant *g);

/*
 * Tears the live grant grant_id down. It marks the grant torn down in the
 * store (revoked_early when revoked, else expired) and queues the router-side
 * removal (created by created_by) in one transaction, then calls the hooks.
 * The edge closes its side by reconciliation. 0, -EBUSY (already torn down),
 * -ENOENT, or a store error.
 */
int jobs_grant_teardown(const struct jobs_grant_env *env, const char *grant_id, bool revoked,
                        const char *created_by);
/*
 * The scheduler's expiry of due grants it claimed (store_grants_claim_due, DESIGN.md §11): in
 * one transaction, the grants of due still live and claimed by owner (locked by
 * store_grants_lock_claimed: a revoke or a node that took a lapsed claim over waits, then finds
 * them torn down) are marked torn down, each with its router-side removal job; a grant whose
 * claim lapsed on another node (prev_owner) gets a "taken_over" event naming it on that job.
 * No hooks are called (the caller tells the edge and the workers once). When the batch fails
 * as a whole (a grant that cannot be read), each grant is tried in a transaction of its own.
 * 0 with *ret_done (how many were torn down), or the store error of the claim check.
 */
int jobs_grant_expire_claimed(const struct jobs_grant_env *env, const char *owner,
                              const struct store_due_grant *due, size_t n, int *ret_done);

/* What one jobs_grant_expire_due() batch did. */
struct jobs_expired {
    int done;                       /* grants torn down */
    int taken_over;                 /* of those, claimed by a node whose lease lapsed */
    char from[STORE_NODE_NAME_MAX]; /* the first such node */
};
/*
 * The scheduler's expiry of a batch of due grants in one transaction (DESIGN.md §11): up to
 * limit due grants no other node holds are taken (store_grants_take_due: locked, not written;
 * idle_ms bounds how long the server lets that transaction sit idle), marked torn down by
 * owner, each with its router-side removal (one job for up to 64 grants of one site and
 * kind, one insert for the batch), a "taken_over" event on the jobs of those a node whose
 * lease lapsed had claimed, and each grant's grant.expired webhook event. Each grant is written
 * once; a crash or an error rolls the batch back and leaves the grants due. No hooks are called. 0
 * with *ret; -EBADMSG when a grant of the batch cannot be read (jobs_grant_expire_claimed then
 * isolates it), or another store error.
 */
int jobs_grant_expire_due(const struct jobs_grant_env *env, const char *owner, int64_t now_ms,
                          int64_t idle_ms, int limit, struct jobs_expired *ret);

#endif
