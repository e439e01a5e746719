/*
 * h_grants.c - transient access and transient port forwarding (seeds 000-003).
 *
 * The handlers parse the body into a struct grant_request, let the domain's
 * grant_validate() apply the rules, and map grants to JSON (objects.c). The
 * lifecycle itself (port, store rows, router job, wake-ups) is
 * jobs_grant_setup() and jobs_grant_teardown() (jobs/grants.c): revoking
 * takes the path the scheduler takes at expiry.
 */
#include "alloc.h"
#include "api_int.h"
#include "grants.h"
#include "store.h"
#include "timefmt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void api_grants_changed(struct api *api)
{
    if (api->cfg.grants_changed)
        api->cfg.grants_changed(api->cfg.grants_ctx);
}

/*
 * Whether the caller sees a transient access's password (security-review F6): holders of
 * transient:create, who could open a login of their own anyway (the creator of a grant held
 * it when creating). transient:view alone (the read-only role) sees the metadata only.
 */
static bool can_see_secret(const struct api_call *call)
{
    return scope_allows(call->who.scopes, SCOPE_TRANSIENT_CREATE);
}

/*
 * ?state= of a grant list (seeds 000/001: a plain list answers the current objects): absent or
 * "active" keeps the grants not yet expired, revoked or torn down; "all" adds the history.
 * The older ?active=true is accepted and means the default. false after answering 400.
 */
static bool list_state(struct api_call *call, bool *ret_active_only)
{
    const char *state = http_request_query(call->req, "state");
    if (!state || !strcmp(state, "active")) {
        *ret_active_only = true;
        return true;
    }
    if (!strcmp(state, "all")) {
        *ret_active_only = false;
        return true;
    }
    api_fail(call, TG_ERR_INVALID_REQUEST, 400, "parameter_invalid", "state",
             "'state' is 'active' (the default: current grants) or 'all' (with expired and "
             "revoked ones).");
    return false;
}

static void list(struct api_call *call, enum grant_kind kind)
{
    const char *site = api_param(call, 0);
    if (!api_check_id(call, site, "site"))
        return;
    bool only;
    if (!list_state(call, &only))
        return;
    struct store_page page;
    if (!api_page(call, &page))
        return;
    struct grant *a = NULL;
    size_t n = 0;
    int r =
        store_grant_list(call->api->store, call->who.tenant_id, site, kind, only, &page, &a, &n);
    if (r < 0) {
        api_fail_list(call, r, "site");
        return;
    }
    int64_t now_ms = time_now_ms();
    bool secret = can_see_secret(call);
    struct jw w;
    api_jw_begin(call, &w);
    jw_open(&w, '[');
    for (size_t i = 0; i < n; i++)
        grant_write_json(&w, &a[i], now_ms, secret);
    jw_close(&w, ']');
    store_grant_array_free(a, n);
    api_jw_send(call, 200, &w);
}

static void send_grant(struct api_call *call, enum grant_kind kind, const char *site,
                       const char *id, int status)
{
    struct grant g;
    int r = store_grant_get(call->api->store, call->who.tenant_id, site, kind, id, &g);
    if (r < 0) {
        api_fail_store(call, r, kind == GRANT_ACCESS ? "transient access" : "transient forward");
        return;
    }
    struct jw w;
    api_jw_begin(call, &w);
    grant_write_json(&w, &g, time_now_ms(), can_see_secret(call));
    api_jw_send(call, status, &w);
    grant_release(&g);
}

static void get(struct api_call *call, enum grant_kind kind)
{
    const char *site = api_param(call, 0), *id = api_param(call, 1);
    if (api_check_id(call, site, "site") && api_check_id(call, id, "grant"))
        send_grant(call, kind, site, id, 200);
}

/*
 * Optional rate_limit_bps (bytes per second, each direction, for the whole
 * grant): seed 000's "management traffic only", enforced. Present (null
 * means 0, off) sets req->has_rate_limit. 0, or -EINVAL with err for a
 * wrong type.
 */
static int read_rate_limit(const json_t *body, struct grant_request *req, struct tg_err *err)
{
    req->rate_limit_bps = 0;
    int r = body_int(body, "rate_limit_bps", "rate_limit_bps", &req->rate_limit_bps, err);
    if (r < 0)
        return r;
    req->has_rate_limit = json_object_get(body, "rate_limit_bps") != NULL;
    return 0;
}

/*
 * Reads the members common to both kinds: minutes, rate limit and the source
 * allow-list (allow_only_cidr, else source_key when not NULL, else the
 * caller's own address). 0, or -EINVAL with err for a wrong type.
 */
static int read_common(struct api_call *call, struct grant_request *req, const char *source_key,
                       struct tg_err *err)
{
    int r =
        body_int(call->body, "expire_after_minutes", "expire_after_minutes", &req->minutes, err);
    if (r < 0)
        return r;
    req->has_minutes = r == 0;
    if ((r = read_rate_limit(call->body, req, err)) < 0)
        return r;
    req->source_param = "allow_only_cidr";
    r = body_string(call->body, "allow_only_cidr", "allow_only_cidr", &req->source, err);
    if (r < 0)
        return r;
    if (r > 0 && source_key) {
        req->source_param = source_key;
        r = body_string(call->body, source_key, source_key, &req->source, err);
        if (r < 0)
            return r;
    }
    if (r > 0) {
        /* Default: the caller's own address. */
        req->source = call->req->client_addr;
        req->source_param = "allow_only_cidr";
    }
    return 0;
}

/* The rules grant_validate() applies that depend on this server's configuration. */
static struct grant_source_rules source_rules(const struct api *api)
{
    return (struct grant_source_rules){.allow_private = api->cfg.allow_private_sources};
}

/* The grant lifecycle's view of this API: the store, the edge's ports, the wake-ups. */
static struct jobs_grant_env grant_env(const struct api *api)
{
    return (struct jobs_grant_env){
        .store = api->store,
        .edge_port_lo = api->cfg.edge_port_lo,
        .edge_port_hi = api->cfg.edge_port_hi,
        .mgmt_networks = api->cfg.mgmt_networks,
        .jobs_queued = api->cfg.jobs_queued,
        .jobs_ctx = api->cfg.jobs_ctx,
        .grants_changed = api->cfg.grants_changed,
        .grants_ctx = api->cfg.grants_ctx,
    };
}

/*
 * Sets g up on the edge fronting site (its entry point and a port of its range: store rows,
 * router job, wake-ups) and answers 201 with it, or the error.
 */
static void create_grant(struct api_call *call, struct site *site, struct grant *g)
{
    struct store_node edge;
    if (api_site_edge(call, site, site->tunnel.mode == TUNNEL_MODE_MANAGED, &edge) < 0)
        return;
    free(g->entry_point);
    g->entry_point = xstrdup(edge.entry_point);
    struct jobs_grant_env env = grant_env(call->api);
    env.edge_port_lo = edge.port_lo;
    env.edge_port_hi = edge.port_hi;
    int r = jobs_grant_setup(&env, g);
    if (r == -EADDRNOTAVAIL) {
        api_fail(call, TG_ERR_CONFLICT, 409, "no_port_available", NULL,
                 "Every port of the edge's range is taken.");
        return;
    }
    if (r < 0) {
        api_fail_store(call, r, "grant");
        return;
    }
    send_grant(call, g->kind, g->site_id, g->id, 201);
}

/* Reads the site, which must be the caller's, into *ret (release it); fills g->site_id. */
static int load_site(struct api_call *call, struct grant *g, struct site *ret)
{
    const char *site = api_param(call, 0);
    if (!api_check_id(call, site, "site"))
        return -ENOENT;
    int r = store_site_get(call->api->store, call->who.tenant_id, site, ret);
    if (r < 0) {
        api_fail_store(call, r, "site");
        return r;
    }
    snprintf(g->site_id, sizeof g->site_id, "%s", site);
    return 0;
}

static void init_grant(struct api_call *call, struct grant *g, enum grant_kind kind)
{
    memset(g, 0, sizeof *g);
    g->kind = kind;
    g->entry_point = NULL; /* the site's edge's, set by create_grant() */
    g->created_by = xstrdup(call->who.name);
}

void h_access_create(struct api_call *call)
{
    struct grant g;
    init_grant(call, &g, GRANT_ACCESS);
    struct tg_err err;
    struct grant_request req = {.kind = GRANT_ACCESS};
    struct grant_source_rules rules = source_rules(call->api);
    struct site site;
    memset(&site, 0, sizeof site);
    if (load_site(call, &g, &site) < 0)
        goto out;
    if (body_string(call->body, "type", "type", &req.access_type, &err) < 0 ||
        body_bool(call->body, "full_access", "full_access", &req.full_access, &err) < 0 ||
        body_bool(call->body, "allow_rfc1918", "allow_rfc1918", &req.allow_rfc1918, &err) < 0 ||
        read_common(call, &req, NULL, &err) < 0 ||
        grant_validate(&req, &rules, time_now_ms(), &g, &err) < 0) {
        api_send_error(call, &err);
        goto out;
    }
    create_grant(call, &site, &g);
out:
    site_release(&site);
    grant_release(&g);
}

void h_forward_create(struct api_call *call)
{
    struct grant g;
    init_grant(call, &g, GRANT_FORWARD);
    struct tg_err err;
    struct grant_request req = {.kind = GRANT_FORWARD};
    struct grant_source_rules rules = source_rules(call->api);
    struct site site;
    memset(&site, 0, sizeof site);
    if (load_site(call, &g, &site) < 0)
        goto out;
    int r = body_string(call->body, "dst_address", "dst_address", &req.dst_address, &err);
    if (r >= 0)
        r = body_int(call->body, "dst_port", "dst_port", &req.dst_port, &err);
    req.has_dst_port = r == 0;
    if (r < 0 || body_bool(call->body, "masquerade", "masquerade", &req.masquerade, &err) < 0 ||
        read_common(call, &req, "allow_from", &err) < 0 ||
        grant_validate(&req, &rules, time_now_ms(), &g, &err) < 0) {
        api_send_error(call, &err);
        goto out;
    }
    create_grant(call, &site, &g);
out:
    site_release(&site);
    grant_release(&g);
}

/*
 * The site and grant ids of the path, after checking that the grant exists
 * for the caller's tenant (else the 404 is sent and false returned).
 */
static bool find_grant(struct api_call *call, enum grant_kind kind, const char **ret_site,
                       const char **ret_id)
{
    const char *site = api_param(call, 0), *id = api_param(call, 1);
    if (!api_check_id(call, site, "site") || !api_check_id(call, id, "grant"))
        return false;
    struct grant g;
    int r = store_grant_get(call->api->store, call->who.tenant_id, site, kind, id, &g);
    if (r < 0) {
        api_fail_store(call, r, "grant");
        return false;
    }
    grant_release(&g);
    *ret_site = site;
    *ret_id = id;
    return true;
}

static void patch(struct api_call *call, enum grant_kind kind)
{
    const char *site, *id;
    if (!find_grant(call, kind, &site, &id))
        return;
    struct tg_err err;
    struct grant_request req = {.kind = kind, .patch = true};
    const char *when = NULL;
    if (read_rate_limit(call->body, &req, &err) < 0) {
        api_send_error(call, &err);
        return;
    }
    int r = body_string(call->body, "expires_at", "expires_at", &when, &err);
    if (r < 0) {
        api_send_error(call, &err);
        return;
    }
    req.has_expires_at = r == 0;
    if (when && time_parse_rfc3339(when, &req.expires_at) < 0) {
        api_fail(call, TG_ERR_INVALID_REQUEST, 400, "parameter_invalid", "expires_at",
                 "'%s' is not an RFC 3339 timestamp.", when);
        return;
    }
    struct grant_source_rules rules = source_rules(call->api);
    struct grant change = {0};
    if (grant_validate(&req, &rules, time_now_ms(), &change, &err) < 0) {
        api_send_error(call, &err);
        return;
    }
    r = store_grant_update(call->api->store, id, change.expires_at_ms,
                           req.has_rate_limit ? &change.rate_limit : NULL);
    if (r == -EBUSY) {
        api_fail(call, TG_ERR_CONFLICT, 409, "grant_not_active", NULL,
                 "The grant has expired or was revoked.");
        return;
    }
    if (r < 0) {
        api_fail_store(call, r, "grant");
        return;
    }
    api_grants_changed(call->api);
    send_grant(call, kind, site, id, 200);
}

static void revoke(struct api_call *call, enum grant_kind kind)
{
    const char *site, *id;
    if (!find_grant(call, kind, &site, &id))
        return;
    struct jobs_grant_env env = grant_env(call->api);
    int r = jobs_grant_teardown(&env, id, true, call->who.name);
    /* Revoking a grant that already ended is not an error: it is gone either way. */
    if (r < 0 && r != -EBUSY) {
        api_fail_store(call, r, "grant");
        return;
    }
    api_send_no_content(call);
}

static void connections(struct api_call *call, enum grant_kind kind)
{
    const char *site, *id;
    if (!find_grant(call, kind, &site, &id))
        return;
    (void)site;
    int r;
    /* Paged: ?after_id=<id of the last record seen>&limit=<1..1000, default 1000>. */
    long long after = 0;
    int limit;
    const char *q = http_request_query(call->req, "after_id");
    char *end = NULL;
    if (q && ((after = strtoll(q, &end, 10)) < 0 || *end || !*q)) {
        api_fail(call, TG_ERR_INVALID_REQUEST, 400, "parameter_invalid", "after_id",
                 "after_id must be a record id (a non-negative integer).");
        return;
    }
    if (!api_query_limit(call, API_PAGE_MAX, API_PAGE_MAX, &limit))
        return;
    struct grant_connection *c = NULL;
    size_t n = 0;
    r = store_grant_conn_list(call->api->store, id, after, limit, &c, &n);
    if (r < 0) {
        api_fail_store(call, r, "grant");
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, connection_to_json(&c[i]));
    free(c);
    api_send_json(call, 200, arr);
}

void h_access_list(struct api_call *call)
{
    list(call, GRANT_ACCESS);
}
void h_access_get(struct api_call *call)
{
    get(call, GRANT_ACCESS);
}
void h_access_patch(struct api_call *call)
{
    patch(call, GRANT_ACCESS);
}
void h_access_revoke(struct api_call *call)
{
    revoke(call, GRANT_ACCESS);
}
void h_access_connections(struct api_call *call)
{
    connections(call, GRANT_ACCESS);
}
void h_forward_list(struct api_call *call)
{
    list(call, GRANT_FORWARD);
}
void h_forward_get(struct api_call *call)
{
    get(call, GRANT_FORWARD);
}
void h_forward_patch(struct api_call *call)
{
    patch(call, GRANT_FORWARD);
}
void h_forward_revoke(struct api_call *call)
{
    revoke(call, GRANT_FORWARD);
}
void h_forward_connections(struct api_call *call)
{
    connections(call, GRANT_FORWARD);
}
