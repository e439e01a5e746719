/*
 * edges.c - which edge fronts a site, and moving sites between edges (edges.h).
 */
#include "edges.h"

#include "enqueue.h"
#include "grants.h"
#include "netaddr.h"
#include "plan.h"
#include "strlist.h"
#include "timefmt.h"
#include "tunnel.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool jobs_node_has_role(const struct store_node *n, const char *role)
{
    size_t len = strlen(role);
    for (const char *p = n->roles; *p;) {
        size_t k = strcspn(p, ",");
        if (k == len && strncmp(p, role, len) == 0)
            return true;
        p += k;
        if (*p == ',')
            p++;
    }
    return false;
}

/* An alive edge that may front the site (VPN when needed), other than exclude. */
static bool edge_qualifies(const struct store_node *n, bool needs_vpn, const char *exclude)
{
    if (!n->alive || !jobs_node_has_role(n, "edge") || !n->entry_point[0])
        return false;
    if (needs_vpn && !n->wg_endpoint[0])
        return false;
    return !exclude || strcmp(n->name, exclude) != 0;
}

int jobs_edge_pick(const struct jobs_edge_env *env, const char *region, bool needs_vpn,
                   const char *exclude, struct store_node *ret)
{
    struct store_node *nodes = NULL;
    size_t n = 0;
    int r = store_node_list(env->store, env->dead_after_ms, &nodes, &n);
    if (r < 0)
        return r;
    /* best: in the region first, then the fewest sites, then the name (the list's order) */
    long best_load = -1;
    bool best_in_region = false;
    size_t best = n;
    for (size_t i = 0; i < n; i++) {
        if (!edge_qualifies(&nodes[i], needs_vpn, exclude))
            continue;
        long load = 0;
        r = store_edge_site_count(env->store, nodes[i].name, &load);
        if (r < 0)
            goto out_free;
        bool in_region = region && region[0] && strcmp(nodes[i].region, region) == 0;
        if (best == n || (in_region && !best_in_region) ||
            (in_region == best_in_region && load < best_load)) {
            best = i;
            best_load = load;
            best_in_region = in_region;
        }
    }
    r = best == n ? -ENOENT : 0;
    if (r == 0)
        *ret = nodes[best];
out_free:
    free(nodes);
    return r;
}

int jobs_site_edge(const struct jobs_edge_env *env, struct site *s, bool needs_vpn,
                   struct store_node *ret)
{
    for (int attempt = 0; attempt < 3; attempt++) {
        if (s->edge_node[0])
            return store_node_get(env->store, s->edge_node, env->dead_after_ms, ret);
        int r = jobs_edge_pick(env, s->region, needs_vpn, NULL, ret);
        if (r < 0)
            return r;
        r = store_site_set_edge(env->store, s->id, NULL, ret->name);
        if (r == 0) {
            snprintf(s->edge_node, sizeof s->edge_node, "%s", ret->name);
            return 0;
        }
        if (r != -ESTALE)
            return r;
        /* another node bound it meanwhile: use that one */
        struct site now;
        r = store_site_get_any(env->store, s->id, &now);
        if (r < 0)
            return r;
        snprintf(s->edge_node, sizeof s->edge_node, "%s", now.edge_node);
        site_release(&now);
    }
    return -ESTALE;
}

int jobs_edge_wg_endpoint(const struct store_node *n, char host[256], unsigned *ret_port)
{
    unsigned port;
    if (netaddr_split_hostport(n->wg_endpoint, host, 256, &port) < 0 || port == 0)
        return -EINVAL;
    *ret_port = port;
    return 0;
}

/* The pulled job that points a managed site's router at its new edge (joins the tx). */
static int queue_tunnel_job(const struct jobs_edge_env *env, const struct site *s,
                            const struct store_node *to, const char *by)
{
    char pub[TUNNEL_KEY_B64_LEN + 1], host[256], edge_ip[16];
    unsigned port;
    uint32_t first, last;
    if (!s->tunnel_address || tunnel_pool_parse(to->tunnel_pool, &first, &last) < 0 ||
        jobs_edge_wg_endpoint(to, host, &port) < 0)
        return -EHOSTDOWN;
    int r = store_vpn_edge_public(env->store, to->entry_point, pub);
    if (r < 0)
        return r == -ENOENT ? -EHOSTDOWN : r;
    tunnel_ip_format(first, edge_ip);
    struct job_tunnel_peer tp = {.edge_public_key = pub,
                                 .endpoint_host = host,
                                 .endpoint_port = port,
                                 .edge_address = edge_ip,
                                 .site_address = s->tunnel_address};
    struct job_plan plan = {0};
    job_plan_tunnel(&plan, &tp);
    char desc[128];
    snprintf(desc, sizeof desc, "site.move: the management tunnel to edge %s", to->name);
    /* pulled, not pushed: the router is reachable only through the edge it leaves */
    struct job_spec spec = {.site_id = s->id,
                            .kind = JOB_KIND_ACTION,
                            .description = desc,
                            .plan = &plan,
                            .express = false,
                            .needs_ack = true,
                            .created_by = by};
    r = jobs_enqueue(env->store, &spec, NULL);
    job_plan_release(&plan);
    return r < 0 ? r : 0;
}

/*
 * Re-binds the live grants of s to the edge to (inside the caller's transaction); the ids of
 * forwards that cannot keep their port there go to ret_stuck.
 */
static int rebind_grants(const struct jobs_edge_env *env, const struct site *s,
                         const struct store_node *to, struct jobs_move_result *res,
                         struct strlist *ret_stuck)
{
    struct grant *gs = NULL;
    size_t n = 0;
    int r = store_site_grants(env->store, s->id, &gs, &n);
    if (r < 0)
        return r;
    for (size_t i = 0; i < n && r == 0; i++) {
        if (gs[i].torn_down_at)
            continue;
        struct store_grant_rebind rb = {.grant_id = gs[i].id,
                                        .entry_point = to->entry_point,
                                        .port_lo = to->port_lo,
                                        .port_hi = to->port_hi,
                                        .any_port = gs[i].kind == GRANT_ACCESS};
        int port = 0;
        r = store_grant_rebind(env->store, &rb, &port);
        if (r == 0) {
            res->rebound++;
        } else if (r == -EADDRINUSE || r == -EADDRNOTAVAIL) {
            strlist_add(ret_stuck, gs[i].id);
            r = 0;
        } else if (r == -EBUSY) {
            r = 0; /* torn down meanwhile */
        }
    }
    store_grant_array_free(gs, n);
    return r;
}

/* Picks or checks the move's target edge for s. */
static int move_target(const struct jobs_edge_env *env, const struct site *s, const char *target,
                       struct store_node *ret)
{
    bool managed = s->tunnel.mode == TUNNEL_MODE_MANAGED;
    if (!target)
        return jobs_edge_pick(env, s->region, managed, s->edge_node[0] ? s->edge_node : NULL, ret);
    if (s->edge_node[0] && strcmp(s->edge_node, target) == 0)
        return -EALREADY;
    int r = store_node_get(env->store, target, env->dead_after_ms, ret);
    if (r == -ENOENT)
        return -EHOSTDOWN;
    if (r < 0)
        return r;
    return edge_qualifies(ret, managed, NULL) ? 0 : -EHOSTDOWN;
}

/* The committed part of a move: binding, grants, log and router job in one transaction. */
static int move_tx(const struct jobs_edge_env *env, const struct site *s,
                   const struct store_node *to, const char *by, struct jobs_move_result *res,
                   struct strlist *stuck)
{
    int r = store_tx_begin(env->store);
    if (r < 0)
        return r;
    r = store_site_set_edge(env->store, s->id, s->edge_node[0] ? s->edge_node : NULL, to->name);
    if (r == 0)
        r = rebind_grants(env, s, to, res, stuck);
    if (r == 0 && s->tunnel.mode == TUNNEL_MODE_MANAGED) {
        /* make-before-break: the old edge keeps the router as peer until it is here */
        r = store_site_edge_prev(env->store, s->id, s->edge_node[0] ? s->edge_node : NULL,
                                 time_now_ms() + JOBS_MOVE_PEER_WAIT_MS);
        if (r == 0)
            r = queue_tunnel_job(env, s, to, by);
    }
    if (r == 0) {
        char msg[320];
        snprintf(msg, sizeof msg, "from %s to %s by %.64s: %d live grant(s) re-bound",
                 s->edge_node[0] ? s->edge_node : "no edge", to->name, by, res->rebound);
        r = store_site_event(env->store, s->id, "moved", msg);
    }
    return store_tx_end(env->store, r);
}

int jobs_site_move(const struct jobs_edge_env *env, const char *site_id, const char *target,
                   const char *expected_from, const char *by, struct jobs_move_result *ret)
{
    struct site s;
    int r = store_site_get_any(env->store, site_id, &s);
    if (r < 0)
        return r;
    struct jobs_move_result res = {0};
    struct strlist stuck = {0};
    struct store_node to;
    if (expected_from && strcmp(s.edge_node, expected_from) != 0) {
        r = -ESTALE;
        goto out_release;
    }
    r = move_target(env, &s, target, &to);
    if (r < 0)
        goto out_release;
    snprintf(res.from, sizeof res.from, "%s", s.edge_node);
    snprintf(res.to, sizeof res.to, "%s", to.name);
    r = move_tx(env, &s, &to, by, &res, &stuck);
    if (r < 0)
        goto out_release;
    /* forwards whose port is the router's dst-nat port and is taken on the new edge */
    struct jobs_grant_env genv = {.store = env->store};
    for (size_t i = 0; i < stuck.n; i++)
        if (jobs_grant_teardown(&genv, stuck.items[i], true, "site.move") == 0)
            res.revoked++;
    if (env->changed)
        env->changed(env->changed_ctx);
    *ret = res;
out_release:
    strlist_release(&stuck);
    site_release(&s);
    return r;
}

/*
 * A managed site's router reaches tikgate only through its tunnel (it polls through it; no
 * device token is left on it, security-review F5): with its edge dead nothing can tell it of
 * a new edge, so it waits for that edge (a single-homed router; docs/deployment.md).
 */
static bool stays_with_its_edge(const struct jobs_edge_env *env, const char *site_id)
{
    struct site s;
    if (store_site_get_any(env->store, site_id, &s) < 0)
        return true;
    bool managed = s.tunnel.mode == TUNNEL_MODE_MANAGED;
    site_release(&s);
    return managed;
}

int jobs_edges_sweep(const struct jobs_edge_env *env, int64_t move_after_ms, int limit,
                     int *ret_moved)
{
    struct store_node *nodes = NULL;
    size_t n = 0;
    /* alive against dead_after + move_after: not alive = dead for longer than move_after */
    int r = store_node_list(env->store, env->dead_after_ms + move_after_ms, &nodes, &n);
    if (r < 0)
        return r;
    int moved = 0;
    for (size_t i = 0; i < n && moved < limit; i++) {
        if (nodes[i].alive || !jobs_node_has_role(&nodes[i], "edge"))
            continue;
        struct strlist ids = {0};
        r = store_edge_sites(env->store, nodes[i].name, limit - moved, &ids);
        for (size_t k = 0; r == 0 && k < ids.n; k++) {
            if (stays_with_its_edge(env, ids.items[k]))
                continue;
            struct jobs_move_result res;
            int m = jobs_site_move(env, ids.items[k], NULL, nodes[i].name, "auto", &res);
            if (m == 0)
                moved++;
            /* -ENOENT: no other edge alive; -ESTALE: another scheduler moved it: both fine */
        }
        strlist_release(&ids);
        if (r < 0)
            break;
    }
    free(nodes);
    if (r == 0)
        *ret_moved = moved;
    return r;
}
