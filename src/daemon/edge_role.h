/*
 * edge_role.h - the edge role: keeps the relay (src/edge) in line with the store.
 *
 * Level-triggered (DESIGN.md §4): a thread computes the desired set (live
 * grants of this entry point, with their relay targets) every 250 ms or when
 * woken, opens what is missing, updates deadlines that changed and closes what
 * is no longer live. The relay cuts connections at each grant's deadline by
 * itself, so expiry does not wait for this loop. Connection records from the
 * relay thread are queued and written to the store by this thread, a batch at
 * most every 20 ms in one transaction; a connection that opened and ended within
 * one batch is written as one whole row (store_grant_conn_whole).
 */
#ifndef TG_DAEMON_EDGE_ROLE_H
#define TG_DAEMON_EDGE_ROLE_H

#include "buf.h"
#include "store.h"

#include <stdbool.h>
#include <stddef.h>

/* The relay's caps (src/edge/edge.h, struct edge_config; 0: the edge's default / none). */
struct edge_role_limits {
    unsigned max_conns;       /* whole edge, sized from RLIMIT_NOFILE (fdlimit.h) */
    unsigned conns_per_grant; /* TIKGATE_EDGE_CONNS_PER_GRANT */
    unsigned conns_per_source;
    unsigned idle_timeout_ms;
    unsigned threads; /* relay loops (TIKGATE_EDGE_THREADS); 0: the online CPUs, at most 16 */
};

/*
 * Refused and limited connections are not one record each (security-review F8): they are
 * summed per grant, outcome and source over interval_ms (at most AGG_SOURCES sources per grant
 * and interval, the rest as source "*"), a grant keeps at most records_per_grant of them
 * (store_grant_conn_refused), and records older than retention_ms are deleted every minute.
 * 0: 10 s, 1000, 30 days.
 */
struct edge_role_refused {
    int64_t interval_ms;
    unsigned records_per_grant;
    int64_t retention_ms;
};

struct edge_role_config {
    struct store *store;
    const char *entry_point; /* grants of this entry point are ours */
    const char *listen_addr; /* numeric address the listeners bind */
    int port_lo, port_hi;    /* TIKGATE_EDGE_PORTS (only checked against the ephemeral range) */
    /*
     * The connect-time re-check of relay targets (jobs/target.h): a grant whose site address
     * fails it is not opened (logged once, and one "target_refused" connection record).
     * NULL mgmt_networks: no re-check (unit tests).
     */
    const char *mgmt_networks;
    const char *tunnel_pool;
    struct edge_role_limits limits;
    struct edge_role_refused refused;
    /*
     * TIKGATE_EDGE_STORE_GRACE: how long the edge accepts new connections to the grants it
     * holds while it cannot read them from the store (it cannot see a revoke nor record the
     * connection); then it refuses them until the store is back. Deadlines are kept
     * throughout. 0: 30 000 ms.
     */
    int64_t store_grace_ms;
};

struct edge_role;

int edge_role_start(const struct edge_role_config *cfg, struct edge_role **ret);
/* Reconcile now (a grant was created, changed or revoked). Accepts NULL. */
void edge_role_wake(struct edge_role *er);
void edge_role_stop(struct edge_role *er);
/* Appends the relay's counters in Prometheus text. Accepts NULL (appends nothing). */
void edge_role_metrics(struct edge_role *er, struct buf *out);

/*
 * The pure part of a reconcile: live[0..nlive) are the ids the store wants
 * open, open[0..nopen) the ids the relay has open (neither list holds an id
 * twice). Sets ret_match[i] (nlive entries, caller's array) to the index in
 * open of live[i], or SIZE_MAX when live[i] is not open yet (to open), and
 * ret_close[k] (nopen entries) to true when open[k] is not live (to close).
 * Borrows the ids. O(nlive + nopen): a hash of the open ids.
 */
void edge_role_diff(const char *const *live, size_t nlive, const char *const *open, size_t nopen,
                    size_t *ret_match, bool *ret_close);

#endif
