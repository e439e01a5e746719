/*
 * routes.c - the routing table and the request pipeline.
 *
 * One table holds every canonical path and every alias of DESIGN.md §2: an
 * alias is one more row pointing at the same handler, never a second handler.
 * Pipeline: match (404/405) -> authenticate (401) -> scope (403) -> body cap
 * (413) -> content type (415) -> JSON parse (400) -> handler -> audit log (h_audit.c: every
 * answer of an audited route is recorded here, whatever step gave it).
 */
#include "alloc.h"
#include "api_int.h"
#include "session.h"
#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define R(method, pattern, fn, flags)                                                              \
    {                                                                                              \
        method, pattern, (void (*)(void))(fn), (flags)                                             \
    }

/* Expands one policy route into its canonical and alias rows. */
#define POLICY_ROUTE(method, suffix, fn, flags)                                                    \
    R(method, "/v1/control-plane/policies" suffix, fn, flags),                                     \
        R(method, "/control-plane/policies" suffix, fn, flags)

#define SITE_CP_ROUTE(method, suffix, fn, flags)                                                   \
    R(method, "/v1/control-plane/{site}" suffix, fn, flags),                                       \
        R(method, "/control-plane/{site}" suffix, fn, flags)

#define SITE_ROUTE(method, suffix, fn, flags)                                                      \
    R(method, "/v1/sites" suffix, fn, flags), R(method, "/sites" suffix, fn, flags)

#define JOB_ROUTE(method, suffix, fn, flags)                                                       \
    R(method, "/v1/sites/{id}/jobs" suffix, fn, flags),                                            \
        R(method, "/api/routers/{id}/jobs" suffix, fn, flags)

/* One grant route in every spelling of DESIGN.md §2. */
#define ACCESS_ROUTE(method, suffix, fn, flags)                                                    \
    R(method, "/v1/control-plane/{site}/transient-access" suffix, fn, flags),                      \
        R(method, "/control-plane/{site}/transient-accesses" suffix, fn, flags)
#define FORWARD_ROUTE(method, suffix, fn, flags)                                                   \
    R(method, "/v1/control-plane/{site}/transient-forward" suffix, fn, flags),                     \
        R(method, "/control-plane/{site}/transient-forward" suffix, fn, flags),                    \
        R(method, "/api/routers/{site}/transient-forwarding" suffix, fn, flags)

const struct http_route api_routes[] = {
    R("GET", "/healthz", h_healthz, ROUTE_PUBLIC),
    R("GET", "/openapi.yaml", h_openapi, ROUTE_PUBLIC),
    R("GET", "/docs/errors", h_errors_doc, ROUTE_PUBLIC),
    R("GET", "/metrics", h_metrics, SCOPE_ADMIN),
    R("GET", "/v1/nodes", h_nodes_list, SCOPE_ADMIN),
    R("GET", "/v1/audit", h_audit_list, SCOPE_ADMIN),

    R("GET", "/", h_portal_index, ROUTE_PUBLIC),
    R("GET", "/assets/{file}", h_portal_asset, ROUTE_PUBLIC),

    R("POST", "/v1/auth/login", h_auth_login, ROUTE_PUBLIC | ROUTE_BODY),
    R("POST", "/v1/auth/logout", h_auth_logout, 0),
    R("GET", "/v1/auth/me", h_auth_me, 0),
    R("GET", "/v1/users", h_users_list, SCOPE_ADMIN),
    R("POST", "/v1/users", h_users_create, SCOPE_ADMIN | ROUTE_BODY),
    R("PATCH", "/v1/users/{id}", h_users_update, SCOPE_ADMIN | ROUTE_BODY),
    R("DELETE", "/v1/users/{id}", h_users_delete, SCOPE_ADMIN),

    R("GET", "/v1/api-keys", h_keys_list, SCOPE_ADMIN),
    R("POST", "/v1/api-keys", h_keys_create, SCOPE_ADMIN | ROUTE_BODY),
    R("DELETE", "/v1/api-keys/{id}", h_keys_revoke, SCOPE_ADMIN),
    R("GET", "/v1/webhooks", h_webhooks_list, SCOPE_ADMIN),
    R("POST", "/v1/webhooks", h_webhooks_create, SCOPE_ADMIN | ROUTE_BODY),
    R("GET", "/v1/webhooks/{id}", h_webhooks_get, SCOPE_ADMIN),
    R("PATCH", "/v1/webhooks/{id}", h_webhooks_update, SCOPE_ADMIN | ROUTE_BODY),
    R("DELETE", "/v1/webhooks/{id}", h_webhooks_delete, SCOPE_ADMIN),
    R("GET", "/v1/webhooks/{id}/deliveries", h_webhooks_deliveries, SCOPE_ADMIN),

    POLICY_ROUTE("GET", "", h_policies_list, SCOPE_CPF_VIEW),
    POLICY_ROUTE("POST", "", h_policies_create, SCOPE_CPF_CREATE | ROUTE_BODY),
    POLICY_ROUTE("GET", "/{id}", h_policies_get, SCOPE_CPF_VIEW),
    POLICY_ROUTE("PUT", "/{id}", h_policies_update, SCOPE_CPF_UPDATE | ROUTE_BODY),
    POLICY_ROUTE("DELETE", "/{id}", h_policies_delete, SCOPE_CPF_DELETE),
    POLICY_ROUTE("POST", "/{id}/sites", h_policies_attach, SCOPE_CPF_UPDATE | ROUTE_BODY),
    /* The seed's curl example sends PUT to the attach endpoint: serve it too. */
    POLICY_ROUTE("PUT", "/{id}/sites", h_policies_attach, SCOPE_CPF_UPDATE | ROUTE_BODY),

    SITE_CP_ROUTE("GET", "/credentials", h_credentials_list, SCOPE_CREDENTIALS_VIEW),
    SITE_CP_ROUTE("POST", "/credentials", h_credentials_rotate,
                  SCOPE_CREDENTIALS_ROTATE | ROUTE_BODY_OPT),

    SITE_CP_ROUTE("POST", "/action", h_site_action, SCOPE_SITE_ACTION | ROUTE_BODY),

    ACCESS_ROUTE("GET", "", h_access_list, SCOPE_TRANSIENT_VIEW),
    ACCESS_ROUTE("POST", "", h_access_create, SCOPE_TRANSIENT_CREATE | ROUTE_BODY_OPT),
    ACCESS_ROUTE("GET", "/{id}", h_access_get, SCOPE_TRANSIENT_VIEW),
    ACCESS_ROUTE("PATCH", "/{id}", h_access_patch, SCOPE_TRANSIENT_CREATE | ROUTE_BODY),
    ACCESS_ROUTE("DELETE", "/{id}", h_access_revoke, SCOPE_TRANSIENT_DELETE),
    ACCESS_ROUTE("GET", "/{id}/connections", h_access_connections, SCOPE_TRANSIENT_VIEW),
    FORWARD_ROUTE("GET", "", h_forward_list, SCOPE_TRANSIENT_VIEW),
    FORWARD_ROUTE("POST", "", h_forward_create, SCOPE_TRANSIENT_CREATE | ROUTE_BODY),
    FORWARD_ROUTE("GET", "/{id}", h_forward_get, SCOPE_TRANSIENT_VIEW),
    FORWARD_ROUTE("PATCH", "/{id}", h_forward_patch, SCOPE_TRANSIENT_CREATE | ROUTE_BODY),
    FORWARD_ROUTE("DELETE", "/{id}", h_forward_revoke, SCOPE_TRANSIENT_DELETE),
    FORWARD_ROUTE("GET", "/{id}/connections", h_forward_connections, SCOPE_TRANSIENT_VIEW),

    SITE_ROUTE("GET", "", h_sites_list, SCOPE_SITE_VIEW),
    SITE_ROUTE("POST", "", h_sites_create, SCOPE_SITE_CREATE | ROUTE_BODY),
    SITE_ROUTE("GET", "/{id}", h_sites_get, SCOPE_SITE_VIEW),
    SITE_ROUTE("PATCH", "/{id}", h_sites_update, SCOPE_SITE_UPDATE | ROUTE_BODY),
    SITE_ROUTE("DELETE", "/{id}", h_sites_delete, SCOPE_SITE_DELETE),
    R("POST", "/v1/sites/{id}/bootstrap", h_sites_bootstrap, SCOPE_SITE_UPDATE | ROUTE_BODY_OPT),
    R("GET", "/v1/sites/{id}/tunnel/events", h_site_tunnel_events, SCOPE_SITE_VIEW),
    R("GET", "/v1/sites/{id}/uptime", h_site_uptime, SCOPE_SITE_VIEW),
    R("GET", "/v1/fleet/summary", h_fleet_summary, SCOPE_SITE_VIEW),
    R("GET", "/v1/fleet/history", h_fleet_history, SCOPE_SITE_VIEW),
    R("GET", "/v1/fleet/uptime", h_fleet_uptime, SCOPE_SITE_VIEW),
    /* DESIGN.md §11: the edge is the platform's, so moving a site is an admin's call */
    R("POST", "/v1/sites/{id}/move", h_site_move, SCOPE_ADMIN | ROUTE_BODY_OPT),
    R("GET", "/v1/sites/{id}/note", h_note_get, SCOPE_SITE_VIEW),
    R("PUT", "/v1/sites/{id}/note", h_note_put, SCOPE_SITE_UPDATE | ROUTE_BODY),

    JOB_ROUTE("GET", "", h_jobs_list, SCOPE_JOB_VIEW),
    JOB_ROUTE("POST", "", h_jobs_create, SCOPE_JOB_CREATE | ROUTE_RAW),
    JOB_ROUTE("GET", "/{job}", h_jobs_get, SCOPE_JOB_VIEW),
    JOB_ROUTE("DELETE", "/{job}", h_jobs_cancel, SCOPE_JOB_DELETE),
    R("POST", "/api/asynchronous/{id}", h_jobs_create_async, SCOPE_JOB_CREATE | ROUTE_RAW),

    /* Device-facing: authenticated by bootstrap token, device token or job signature. */
    R("GET", "/bootstrap/{token}", h_device_bootstrap, ROUTE_PUBLIC | ROUTE_SECRET_PATH),
    R("POST", "/adopt/{token}", h_device_adopt, ROUTE_PUBLIC | ROUTE_RAW | ROUTE_SECRET_PATH),
    R("POST", "/poll", h_device_poll, ROUTE_PUBLIC | ROUTE_RAW),
    R("GET", "/job/{id}/update", h_device_job_update, ROUTE_PUBLIC),
    R("GET", "/ca.pem", h_device_ca, ROUTE_PUBLIC),
};

const size_t api_routes_count = sizeof api_routes / sizeof api_routes[0];
#define N_ROUTES api_routes_count

/* 401 with the challenge header RFC 6750 asks for. */
static void unauthorized(struct api_call *call, const char *code, const char *msg)
{
    http_response_header(call->res, "WWW-Authenticate", "Bearer");
    api_fail(call, TG_ERR_AUTHENTICATION, 401, code, NULL, "%s", msg);
}

/* Resolves the bearer token to a principal; 0 or -EACCES after sending 401. */
static int authenticate(struct api_call *call)
{
    const char *h = call->req->authorization;
    if (!h || strncasecmp(h, "Bearer ", 7) != 0 || !h[7]) {
        unauthorized(call, "authentication_required",
                     "Send an API key as 'Authorization: Bearer <key>'.");
        return -EACCES;
    }
    const char *token = h + 7;
    while (*token == ' ')
        token++;
    if (session_is_jwt(token)) {
        int r = session_verify(call->api->store, token, &call->who, call->session_jti);
        if (r == -EACCES)
            unauthorized(call, "invalid_token", "The session is not valid, expired or ended.");
        else if (r < 0)
            api_fail_store(call, r, "session");
        if (r < 0)
            return -EACCES;
        return 0;
    }
    if (strlen(token) > 256) {
        unauthorized(call, "invalid_token", "The API key is not valid.");
        return -EACCES;
    }
    uint8_t hash[APIKEY_HASH_LEN];
    api_key_hash(token, hash);
    unsigned long long gen;
    if (api_key_cache_get(call->api->store, hash, &call->who, &gen))
        return 0;
    struct api_key k;
    int r = store_api_key_authenticate(call->api->store, hash, &k);
    if (r < 0) {
        if (r == -ENOENT)
            unauthorized(call, "invalid_token", "The API key is not valid or was revoked.");
        else
            api_fail_store(call, r, "API key");
        return -EACCES;
    }
    memcpy(call->who.tenant_id, k.tenant_id, sizeof call->who.tenant_id);
    memcpy(call->who.key_id, k.id, sizeof call->who.key_id);
    snprintf(call->who.name, sizeof call->who.name, "%s", k.name ? k.name : "");
    call->who.scopes = k.scopes;
    api_key_release(&k);
    api_key_cache_put(call->api->store, hash, &call->who, gen);
    return 0;
}

static bool is_json_type(const char *ct)
{
    if (!ct)
        return false;
    size_t n = strlen("application/json");
    if (strncasecmp(ct, "application/json", n) != 0)
        return false;
    return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ';
}

/* Checks and parses the body per the route's flags; 0 or negative after sending the error. */
static int read_body(struct api_call *call, unsigned flags)
{
    const struct http_request *req = call->req;
    if (req->body_too_large) {
        api_fail(call, TG_ERR_INVALID_REQUEST, 413, "body_too_large", NULL,
                 "The request body exceeds %zu bytes.",
                 req->body_cap ? req->body_cap : call->api->cfg.max_body);
        return -E2BIG;
    }
    bool wants = flags & (ROUTE_BODY | ROUTE_BODY_OPT);
    if (flags & ROUTE_RAW) {
        /* Raw routes read the body themselves; a JSON body is parsed for the API ones
         * (device routes take text whatever the router says it is). */
        if (req->body_too_large || !req->body_len || !is_json_type(req->content_type) ||
            (flags & ROUTE_PUBLIC))
            return 0;
        wants = true;
    }
    if (!req->body_len) {
        if (flags & ROUTE_BODY) {
            api_fail(call, TG_ERR_INVALID_REQUEST, 400, "parameter_missing", NULL,
                     "This request needs a JSON object body.");
            return -EINVAL;
        }
        return 0;
    }
    if (!wants)
        return 0; /* a body on GET/DELETE is ignored */
    if (!is_json_type(req->content_type)) {
        api_fail(call, TG_ERR_INVALID_REQUEST, 415, "unsupported_media_type", NULL,
                 "Request bodies must be sent as 'Content-Type: application/json'.");
        return -EINVAL;
    }
    json_error_t jerr;
    json_t *v = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!v) {
        api_fail(call, TG_ERR_INVALID_REQUEST, 400, "invalid_json", NULL,
                 "The body is not valid JSON: %s (line %d, column %d).", jerr.text, jerr.line,
                 jerr.column);
        return -EINVAL;
    }
    if (!json_is_object(v)) {
        json_decref(v);
        api_fail(call, TG_ERR_INVALID_REQUEST, 400, "invalid_json", NULL,
                 "The body must be a JSON object.");
        return -EINVAL;
    }
    call->body = v;
    return 0;
}

/* A route whose path carries a secret: the access log stops before its first parameter. */
static void mark_secret_path(struct api_call *call)
{
    const struct http_route *rt = call->match.route;
    if (rt->flags & ROUTE_SECRET_PATH) {
        const char *brace = strchr(rt->pattern, '{');
        call->res->log_path_keep = brace ? (size_t)(brace - rt->pattern) : 1;
    }
}

/* Match (404/405), authenticate (401), scope (403): 0, or -1 after sending the error. */
static int admit(struct api_call *call)
{
    const struct http_request *req = call->req;
    enum http_match_result m =
        http_route_match(api_routes, N_ROUTES, req->method, req->path, &call->match);
    if (m == HTTP_MATCH_NO_PATH) {
        api_fail(call, TG_ERR_NOT_FOUND, 404, "route_not_found", NULL, "No route %s %s.",
                 req->method, req->path);
        return -1;
    }
    if (m == HTTP_MATCH_NO_METHOD) {
        char allow[128];
        http_route_allowed(api_routes, N_ROUTES, req->path, allow, sizeof allow);
        http_response_header(call->res, "Allow", allow);
        api_fail(call, TG_ERR_INVALID_REQUEST, 405, "method_not_allowed", NULL,
                 "%s is not allowed on %s (allowed: %s).", req->method, req->path, allow);
        return -1;
    }
    mark_secret_path(call);
    unsigned flags = call->match.route->flags;
    if (flags & ROUTE_PUBLIC)
        return 0;
    if (authenticate(call) < 0)
        return -1;
    if (!scope_allows(call->who.scopes, ROUTE_SCOPES(flags))) {
        struct strlist need = {0};
        scope_to_list(ROUTE_SCOPES(flags), &need);
        char *names = strlist_join(&need, ',');
        api_fail(call, TG_ERR_PERMISSION, 403, "missing_scope", NULL,
                 "This API key lacks the scope %s.", names);
        free(names);
        strlist_release(&need);
        return -1;
    }
    return 0;
}

/* What api_preflight() established, for api_handle(). */
struct api_pre {
    struct http_match match;
    struct principal who;
    char session_jti[UUID_STR_LEN];
};

int api_preflight(void *ctx, const struct http_request *req, struct http_response *res,
                  struct http_preflight *ret)
{
    struct api_call call;
    memset(&call, 0, sizeof call);
    call.api = ctx;
    call.req = req;
    call.res = res;
    if (admit(&call) < 0) {
        api_audit_request(&call);
        return 1;
    }
    struct api_pre *pre = xmalloc(sizeof *pre);
    pre->match = call.match;
    pre->who = call.who;
    memcpy(pre->session_jti, call.session_jti, sizeof pre->session_jti);
    size_t pub =
        call.api->cfg.public_max_body ? call.api->cfg.public_max_body : API_PUBLIC_MAX_BODY;
    ret->app = pre;
    bool pub_route = call.match.route->flags & ROUTE_PUBLIC;
    ret->body_cap = pub_route ? pub : call.api->cfg.max_body;
    ret->drain_over_cap = !pub_route;
    return 0;
}

void api_preflight_release(void *app)
{
    free(app);
}

void api_handle(void *ctx, const struct http_request *req, struct http_response *res)
{
    struct api_call call;
    memset(&call, 0, sizeof call);
    call.api = ctx;
    call.req = req;
    call.res = res;
    const struct api_pre *pre = req->app;
    if (pre) {
        call.match = pre->match;
        call.who = pre->who;
        memcpy(call.session_jti, pre->session_jti, sizeof call.session_jti);
        mark_secret_path(&call);
    } else if (admit(&call) < 0) {
        api_audit_request(&call);
        return;
    }
    if (read_body(&call, call.match.route->flags) == 0) {
        api_handler_fn fn = (api_handler_fn)call.match.route->handler;
        fn(&call);
    }
    api_audit_request(&call);
    json_decref(call.body);
}

void api_login_limiter_size(unsigned slots)
{
    login_limiter_size(slots);
}
