/*
 * edge.c - the API's view of the edge fronting a site (jobs/edges.h, DESIGN.md §11), and
 * POST /v1/sites/{id}/move.
 */
#include "api_int.h"
#include "edges.h"
#include "tunnel.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

struct jobs_edge_env api_edge_env(const struct api *api)
{
    return (struct jobs_edge_env){.store = api->store,
                                  .dead_after_ms = api->cfg.node_dead_after_ms,
                                  .mgmt_networks = api->cfg.mgmt_networks,
                                  .changed = api->cfg.edges_changed,
                                  .changed_ctx = api->cfg.edges_ctx};
}

/* This node as the edge when no edge is registered at all: TIKGATE_ENTRY_POINT and its ports. */
static void local_edge(const struct api *api, struct store_node *ret)
{
    memset(ret, 0, sizeof *ret);
    snprintf(ret->name, sizeof ret->name, "%s", api->cfg.node_name ? api->cfg.node_name : "");
    snprintf(ret->entry_point, sizeof ret->entry_point, "%s", api->cfg.entry_point);
    if (api->cfg.vpn_enabled)
        snprintf(ret->wg_endpoint, sizeof ret->wg_endpoint, "%s:%u", api->cfg.entry_point,
                 api->cfg.wg_port);
    snprintf(ret->tunnel_pool, sizeof ret->tunnel_pool, "%s",
             api->cfg.tunnel_pool ? api->cfg.tunnel_pool : "");
    ret->port_lo = api->cfg.edge_port_lo;
    ret->port_hi = api->cfg.edge_port_hi;
    ret->alive = true;
}

int api_site_edge(struct api_call *call, struct site *s, bool needs_vpn, struct store_node *ret)
{
    struct jobs_edge_env env = api_edge_env(call->api);
    int r = jobs_site_edge(&env, s, needs_vpn, ret);
    if (r == -ENOENT && !s->edge_node[0]) {
        local_edge(call->api, ret);
        return 0;
    }
    if (r == -ENOENT) { /* bound to a node the registry no longer has */
        api_fail(call, TG_ERR_API, 503, "edge_unavailable", NULL,
                 "The edge %s that fronts this site is not registered any more; move the site "
                 "(POST /v1/sites/%s/move).",
                 s->edge_node, s->id);
        return -EHOSTDOWN;
    }
    if (r < 0) {
        api_fail_store(call, r, "site");
        return r;
    }
    if (!ret->alive) {
        api_fail(call, TG_ERR_API, 503, "edge_unavailable", NULL,
                 "The edge %s that fronts this site has missed its heartbeats; move the site "
                 "(POST /v1/sites/%s/move) or wait until the edge is back.",
                 ret->name, s->id);
        return -EHOSTDOWN;
    }
    return 0;
}

bool api_vpn_available(const struct api *api)
{
    if (api->cfg.vpn_enabled)
        return true;
    struct jobs_edge_env env = api_edge_env(api);
    struct store_node n;
    return jobs_edge_pick(&env, NULL, true, NULL, &n) == 0;
}

static json_t *move_to_json(const struct jobs_move_result *m)
{
    return json_pack("{s:o, s:s, s:i, s:i}", "from",
                     m->from[0] ? json_string(m->from) : json_null(), "to", m->to, "grants_rebound",
                     m->rebound, "grants_revoked", m->revoked);
}

void h_site_move(struct api_call *call)
{
    const char *site_id = api_param(call, 0);
    if (!api_check_id(call, site_id, "site"))
        return;
    struct tg_err err;
    const char *target = NULL;
    if (call->body && body_string(call->body, "edge", "edge", &target, &err) < 0) {
        api_send_error(call, &err);
        return;
    }
    if (target && (!target[0] || strlen(target) >= STORE_NODE_NAME_MAX)) {
        api_fail(call, TG_ERR_INVALID_REQUEST, 400, "parameter_invalid", "edge",
                 "'edge' must be a node name (1 to %d bytes).", STORE_NODE_NAME_MAX - 1);
        return;
    }
    struct site s;
    int r = store_site_get(call->api->store, call->who.tenant_id, site_id, &s);
    if (r < 0) {
        api_fail_store(call, r, "site");
        return;
    }
    enum site_status status = s.status;
    site_release(&s);
    if (status == SITE_DELETING) {
        api_fail(call, TG_ERR_CONFLICT, 409, "site_deleting", NULL, "The site is being deleted.");
        return;
    }
    struct jobs_edge_env env = api_edge_env(call->api);
    struct jobs_move_result res;
    r = jobs_site_move(&env, site_id, target, NULL, call->who.name, &res);
    if (r == -EALREADY)
        api_fail(call, TG_ERR_CONFLICT, 409, "site_on_edge", "edge",
                 "The site is on edge %s already.", target);
    else if (r == -EHOSTDOWN)
        api_fail(call, TG_ERR_CONFLICT, 409, "edge_unavailable", "edge",
                 "'%s' is not an alive edge node%s.", target ? target : "",
                 " (with a management VPN, for a managed site)");
    else if (r == -ENOENT && !target)
        api_fail(call, TG_ERR_CONFLICT, 409, "edge_unavailable", NULL,
                 "No other alive edge node can front this site.");
    else if (r == -ESTALE)
        api_fail(call, TG_ERR_CONFLICT, 409, "site_moved_concurrently", NULL,
                 "Another request moved this site meanwhile; read it and try again.");
    else if (r < 0)
        api_fail_store(call, r, "site");
    else
        api_send_json(call, 200, move_to_json(&res));
}
