/*
 * verify.h - the drift check: does a router still match the store? (issue 14 item 3)
 *
 * A dispatcher worker with nothing to push claims a site due for it (store_site_claim_verify:
 * adopted, online, its queue empty, not verified within TIKGATE_VERIFY_INTERVAL), logs in as
 * for a push (which already makes the password that works current, two-phase rotation) and
 * reads the router: its users and dst-nat rules tagged by tikgate, and /ip service. Drift is
 * repaired by job, never by a write of the check itself: a tagged user or rule of a grant
 * that is not live (torn down, unknown) gets the removal job; a live grant missing on the
 * router gets its setup job again; a service whose port or state differs from the policy
 * gets the policy job. Each repair is a normal job in the orchestration log, and a "drift"
 * event on the site says what was found. Grants close to their expiry or just made are
 * left alone (their own jobs are on their way).
 */
#ifndef TG_JOBS_VERIFY_H
#define TG_JOBS_VERIFY_H

#include "client.h"
#include "site.h"
#include "store.h"

#include <stddef.h>

/* What one check found (and queued a job for). */
struct jobs_verify_result {
    int stale;   /* tagged users/rules of grants that are not live */
    int missing; /* live grants not on the router */
    int policy;  /* services that differ from the policy (one policy job for all) */
    int filter;  /* management filter rules missing, extra or disabled (the same job) */
};

/*
 * Checks the router behind c (connected and logged in) against site's rows and queues the
 * repairs. mgmt_networks: for re-rendered grant and policy plans. 0 with *ret, or -errno with
 * err filled (a read failed: nothing queued).
 */
int jobs_site_verify(struct store *st, struct ros_client *c, const struct site *site,
                     const char *mgmt_networks, struct jobs_verify_result *ret, char *err,
                     size_t errlen);

#endif
