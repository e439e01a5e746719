/*
 * api.h - the REST API: routing table, authentication and handlers.
 *
 * api_handle() is the http_handler_fn the daemon gives to the HTTP server. It
 * runs on the server's worker threads; everything it touches is either
 * per-request or thread-safe (the store hands each thread its own connection).
 * Only this module includes jansson.h.
 */
#ifndef TG_API_H
#define TG_API_H

#include "http.h"
#include "store.h"

#include <stdbool.h>
#include <stddef.h>

struct api_config {
    const char *public_url;      /* base URL routers and operators reach us at */
    const char *mgmt_networks;   /* TIKGATE_MANAGEMENT_NETWORKS, comma-separated CIDRs */
    const char *openapi_path;    /* file served at /openapi.yaml */
    const char *errors_doc_path; /* file served at /docs/errors */
    const char *web_dir;         /* the portal's static files (index.html, assets/) */
    size_t max_body;
    /* Body cap of the routes without an API key (login, device routes): what an anonymous
     * client may make the server hold (security-review F7). 0: API_PUBLIC_MAX_BODY. */
    size_t public_max_body;
    int poll_interval_s; /* routers' heartbeat interval (the scheduler they install) */
    int pull_lease_s;    /* a pulled job not started within this goes back (0: 600) */
    /* A bootstrap token is refused this long after it was issued (0: 86400; F4). */
    int64_t bootstrap_ttl_s;
    /* Called after jobs were queued (wakes the dispatcher). May be NULL. */
    void (*jobs_queued)(void *ctx);
    void *jobs_ctx;
    /* Transient grants */
    const char *entry_point;        /* host name users connect to (TIKGATE_ENTRY_POINT) */
    int edge_port_lo, edge_port_hi; /* TIKGATE_EDGE_PORTS */
    bool allow_private_sources;     /* TIKGATE_ALLOW_PRIVATE_SOURCES: labs and tests */
    /* Called after a grant was created, changed or revoked (reconciles the edge). May be NULL. */
    void (*grants_changed)(void *ctx);
    void *grants_ctx;
    /*
     * The Management VPN (DESIGN.md §10): vpn_enabled when this node's edge runs its WireGuard
     * interface; then the bootstrap script creates the router's interface and adopt assigns
     * the site's /32 from tunnel_pool and answers with the edge as its peer (wg_port at
     * entry_point). tunnels_changed (may be NULL) reconciles the edge's peers.
     */
    bool vpn_enabled;
    const char *tunnel_pool; /* TIKGATE_TUNNEL_POOL */
    unsigned wg_port;        /* TIKGATE_WG_PORT */
    void (*tunnels_changed)(void *ctx);
    void *tunnels_ctx;
    /*
     * "http://<edge tunnel address>:<port>" when this API is reachable on the edge's tunnel
     * address (it listens on all addresses), else NULL. Managed routers then poll and report
     * there, authenticated by the WireGuard peer they come from: no device token is left on
     * the router (security-review F5).
     */
    const char *tunnel_url;
    /* Appends the process's own metrics (HTTP, edge) in Prometheus text. May be NULL. */
    void (*metrics)(void *ctx, struct buf *out);
    void *metrics_ctx;
    /* TIKGATE_TLS_CA: the one PEM certificate served at GET /ca.pem and its SHA-256
     * fingerprint (64 hex digits) for the bootstrap command. Both NULL when unset. */
    const char *tls_ca_pem;
    const char *tls_ca_fingerprint;
    /*
     * Many nodes (DESIGN.md §11): this node's name in the registry and how long a node may
     * miss heartbeats before it counts as dead (3 heartbeats). A site's grants and tunnel go
     * to the edge it is bound to (jobs/edges.h); with no edge registered at all, to this
     * node's own entry_point and ports. edges_changed (may be NULL): after a site moved.
     */
    const char *node_name;
    int64_t node_dead_after_ms;
    /* Pending jobs an operator may queue per site and in all (0: no limit; issue 14). */
    unsigned site_queue_max, queue_max;
    void (*edges_changed)(void *ctx);
    void *edges_ctx;
};

/* The portal's Content-Security-Policy, sent as a header on every response. */
#define API_CONTENT_SECURITY_POLICY                                                                \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "              \
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "                 \
    "frame-ancestors 'none'"

struct api {
    struct store *store;
    struct api_config cfg;
};

#define API_PUBLIC_MAX_BODY ((size_t)16384)

/* ctx is a struct api *. Also usable without api_preflight() (req->app NULL): it then
 * matches and authenticates itself. */
void api_handle(void *ctx, const struct http_request *req, struct http_response *res);
/* Sizes the failed-sign-in limiter (TIKGATE_LOGIN_SLOTS, 0: 16384); call before serving. */
void api_login_limiter_size(unsigned slots);
/*
 * The http_preflight_fn: on the headers alone, matches the route, authenticates and checks
 * the scope (404, 405, 401, 403 answered before any body is read) and sets the body cap:
 * max_body with an API key or session, public_max_body on unauthenticated routes.
 * ret->app is released with api_preflight_release().
 */
int api_preflight(void *ctx, const struct http_request *req, struct http_response *res,
                  struct http_preflight *ret);
void api_preflight_release(void *app);

/* The routing table: every canonical path and alias of DESIGN.md §2, one row each (the
 * handlers are api's own; exported for tests and the route fuzzer). */
extern const struct http_route api_routes[];
extern const size_t api_routes_count;

#endif
