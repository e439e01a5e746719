/*
 * edges.h - which edge node fronts a site, and moving a site to another edge (DESIGN.md §11,
 * docs/deployment.md "Sites belong to an edge").
 *
 * Every node with the edge role is in the node registry (store_node_*) with its entry point,
 * port range and, with a management VPN, its WireGuard endpoint. A site is bound to one of
 * them (sites.edge_node) at adoption, or when its first grant is made: an alive edge of the
 * site's region if there is one, else any alive edge, the one fronting the fewest sites
 * (ties: by name). A grant gets its site's edge's entry point and a port of that edge's range;
 * each edge relays only the grants of its entry point and terminates only its sites' tunnels.
 *
 * All edges share one tunnel pool (TIKGATE_TUNNEL_POOL, the same on every node): each takes
 * its first address on its own interface, so a site's /32 and everything on the router that
 * names the edge's address stay valid when the site moves; only the router's WireGuard peer
 * (the edge's key and endpoint) changes.
 *
 * Moving (POST /v1/sites/{id}/move, or the scheduler when a site's edge has been dead for
 * TIKGATE_EDGE_MOVE_AFTER seconds) binds the site to the new edge with a compare-and-set (two
 * nodes moving one site: one wins), re-binds its live grants there in the same transaction
 * (ports kept when free there; an access grant may get a new port; a forward whose port is
 * taken there is revoked, since its port is also the router's dst-nat port), logs "moved" in
 * the site's orchestration log and, for a managed tunnel, queues the job that points the
 * router's peer at the new edge. That job is pulled through the old edge (the router polls
 * through its tunnel), so the move is make-before-break: the old edge keeps the router as
 * its WireGuard peer (sites.edge_prev) until the new edge sees the router's first handshake.
 * And the job is not handed out before the new edge has the router as its peer: the site's
 * pulled jobs wait (sites.edge_wait_until_ms) until that edge's VPN role confirms, at most
 * JOBS_MOVE_PEER_WAIT_MS; else the router could switch first, its handshakes be dropped and
 * WireGuard's 5 s retry outlast the script's report to the new edge.
 * A managed site whose edge is dead therefore cannot move (nothing can reach its router):
 * the sweep moves only external sites and leaves managed ones waiting for their edge.
 */
#ifndef TG_JOBS_EDGES_H
#define TG_JOBS_EDGES_H

#include "site.h"
#include "store.h"

#include <stdbool.h>
#include <stdint.h>

/* How long a moved managed site's pulled jobs wait for the new edge's peer, at most. */
#define JOBS_MOVE_PEER_WAIT_MS 30000

/* Borrowed by each call. */
struct jobs_edge_env {
    struct store *store;
    int64_t dead_after_ms;      /* a node is dead after this long without a heartbeat */
    const char *mgmt_networks;  /* for re-rendered router commands */
    void (*changed)(void *ctx); /* after a committed move: edge, VPN and dispatcher wake-ups */
    void *changed_ctx;
};

/* True when the node runs the role (a name of TIKGATE_ROLES, e.g. "edge"). */
bool jobs_node_has_role(const struct store_node *n, const char *role);

/*
 * Picks the edge for a site of region (NULL/"" = anywhere) as described above; needs_vpn: only
 * edges with a WireGuard endpoint; exclude (may be NULL): a node not to pick. 0 with *ret,
 * -ENOENT when no alive edge qualifies, or a store error.
 */
int jobs_edge_pick(const struct jobs_edge_env *env, const char *region, bool needs_vpn,
                   const char *exclude, struct store_node *ret);

/*
 * The edge fronting site s: its bound one (alive or not: ret->alive says), else one picked and
 * bound now (s->edge_node is updated; needs_vpn: an edge with a WireGuard endpoint). -ENOENT when
 * it has none and no edge is alive (a node set without an edge role: the caller may fall back to
 * its own configuration), or a store error.
 */
int jobs_site_edge(const struct jobs_edge_env *env, struct site *s, bool needs_vpn,
                   struct store_node *ret);

/* The WireGuard endpoint of an edge split into host and port. -EINVAL without one. */
int jobs_edge_wg_endpoint(const struct store_node *n, char host[256], unsigned *ret_port);

/* What a move did. */
struct jobs_move_result {
    char from[STORE_NODE_NAME_MAX]; /* "" when the site had no edge */
    char to[STORE_NODE_NAME_MAX];
    int rebound; /* live grants now on the new edge */
    int revoked; /* forwards whose port was taken there, revoked */
};

/*
 * Moves site_id (any tenant: the caller checked ownership) to the edge target (NULL: picked,
 * not its current one) as described above; by names who asked ("auto" for the scheduler).
 * expected_from (NULL: whatever it is now) makes the move conditional on the current edge.
 * 0 with *ret; -EALREADY (target is its edge already), -EHOSTDOWN (target is not an alive
 * edge, or no VPN for a managed site), -ENOENT (no such site, or no edge to pick), -ESTALE
 * (another node moved it first), or a store error. On failure nothing changed.
 */
int jobs_site_move(const struct jobs_edge_env *env, const char *site_id, const char *target,
                   const char *expected_from, const char *by, struct jobs_move_result *ret);

/*
 * The scheduler's sweep: every external site of an edge node dead for longer than
 * move_after_ms moves to another edge (at most limit sites per call; managed ones wait).
 * *ret_moved: how many. 0 or a store error.
 */
int jobs_edges_sweep(const struct jobs_edge_env *env, int64_t move_after_ms, int limit,
                     int *ret_moved);

#endif
