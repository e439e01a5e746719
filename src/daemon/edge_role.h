/*
 * edge_role.h - the edge role: keeps the relay (src/edge) in line with the store.
 *
 * Level-triggered (DESIGN.md §4): a thread computes the desired set (live
 * grants of this entry point, with their relay targets) every 250 ms or when
 * woken, opens what is missing, updates deadlines that changed and closes what
 * is no longer live. The relay cuts connections at each grant's deadline by
 * itself, so expiry does not wait for this loop. Connection records from the
 * relay thread are queued and written to the store by this thread.
 */
#ifndef TG_DAEMON_EDGE_ROLE_H
#define TG_DAEMON_EDGE_ROLE_H

#include "buf.h"
#include "store.h"

#include <stdbool.h>
#include <stddef.h>

struct edge_role_config {
    struct store *store;
    const char *entry_point; /* grants of this entry point are ours */
    const char *listen_addr; /* numeric address the listeners bind */
    int port_lo, port_hi;    /* TIKGATE_EDGE_PORTS (only checked against the ephemeral range) */
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
