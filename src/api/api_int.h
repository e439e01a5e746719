/*
 * api_int.h - shared by the API's handler files. Not a public header.
 */
#ifndef TG_API_INT_H
#define TG_API_INT_H

#include "api.h"
#include "auth.h"
#include "edges.h"
#include "error.h"
#include "job.h"
#include "plan.h"
#include "policy.h"
#include "rand.h" /* UUID_STR_LEN */
#include "site.h"
#include "store.h"
#include "user.h"

#include <jansson.h>

/* Everything one request's handler needs. */
struct api_call {
    struct api *api;
    const struct http_request *req;
    struct http_response *res;
    struct http_match match;
    struct principal who;
    json_t *body;                   /* parsed JSON body or NULL; owned by the dispatcher */
    char session_jti[UUID_STR_LEN]; /* set when authenticated by a portal session, else "" */
};

typedef void (*api_handler_fn)(struct api_call *call);

/* Route flags (struct http_route.flags): required scopes in the low bits plus these. */
#define ROUTE_PUBLIC (1u << 30)   /* no authentication */
#define ROUTE_BODY (1u << 29)     /* a JSON object body is required */
#define ROUTE_BODY_OPT (1u << 28) /* a JSON object body is allowed (empty is fine) */
#define ROUTE_RAW (1u << 27)      /* any body, any content type, not parsed (device routes) */
/* The first path parameter is a secret (a bootstrap token): elided in the access log. */
#define ROUTE_SECRET_PATH (1u << 26)
#define ROUTE_SCOPES(f) ((f) & ((1u << 26) - 1))

/*
 * The API-key cache (keycache.c): a successful key lookup is reused for API_KEY_CACHE_MS, so
 * a key revoked on another node stops working here within that bound; a revocation through
 * this process clears the cache at once. get: true with *ret_who on a fresh hit; *ret_gen is
 * passed to put after a store lookup (a clear in between makes put a no-op).
 */
#define API_KEY_CACHE_MS 1000
bool api_key_cache_get(const struct store *s, const uint8_t hash[APIKEY_HASH_LEN],
                       struct principal *ret_who, unsigned long long *ret_gen);
void api_key_cache_put(const struct store *s, const uint8_t hash[APIKEY_HASH_LEN],
                       const struct principal *who, unsigned long long gen);
void api_key_cache_clear(void);

/*
 * The response cache (rcache.c): answers kept under a store change version (e.g.
 * store_policies_version), served byte for byte while the store gives the same version.
 * key: the tenant and what selects the answer (route, id, page), < API_RCACHE_KEY_MAX bytes.
 * get: true with the body set in *res on a hit (a large one as a file: http_response_file).
 * put: keeps a copy of body (a 200's JSON built after reading version); too large answers are
 * not kept.
 */
#define API_RCACHE_KEY_MAX 192
bool api_rcache_get(const struct store *s, const char *key, int64_t version,
                    struct http_response *res);
void api_rcache_put(const struct store *s, const char *key, int64_t version,
                    const struct buf *body);

/* --- the edge fronting a site (edge.c) --- */
struct jobs_edge_env api_edge_env(const struct api *api);
/*
 * The edge a site's grants and tunnel go to (jobs_site_edge; binds one when the site has
 * none, with a VPN when needs_vpn): 0 with *ret (this node's own configuration when no edge is
 * registered at all), or -errno after answering 503 edge_unavailable (its edge is dead or gone) or
 * a store error.
 */
int api_site_edge(struct api_call *call, struct site *s, bool needs_vpn, struct store_node *ret);
/* True when this node or an alive edge node runs a management VPN. */
bool api_vpn_available(const struct api *api);

/* Path parameter i of the matched route. */
const char *api_param(const struct api_call *call, int i);

/* --- responses --- */
/* Writes the error shape for e; e->status is the HTTP status. */
void api_send_error(struct api_call *call, const struct tg_err *e);
/* Shorthand for a simple error. */
void api_fail(struct api_call *call, enum tg_err_type type, int status, const char *code,
              const char *param, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Maps a store error (-ENOENT, -EEXIST, -EIO, ...) on <what> to an API error. */
void api_fail_store(struct api_call *call, int r, const char *what);
/* Sends v (stolen) as JSON with status. */
void api_send_json(struct api_call *call, int status, json_t *v);
void api_send_no_content(struct api_call *call);

/*
 * JSON written straight into the response body, without a tree (hot objects: a policy, a
 * list of them). The bytes are those api_send_json() gives for the same tree (jansson's
 * compact form and escaping), commas are placed from the previous byte. api_jw_begin()
 * empties the body; api_jw_send() answers status, or 500 if the body overflowed its cap.
 */
struct jw {
    struct buf *b;
    bool err; /* an append failed: the body is not valid JSON */
};
void api_jw_begin(struct api_call *call, struct jw *ret);
void api_jw_send(struct api_call *call, int status, const struct jw *w);
void jw_open(struct jw *w, char c); /* '{' or '[' (with a comma before it when needed) */
void jw_close(struct jw *w, char c);
void jw_key(struct jw *w, const char *key);
void jw_string(struct jw *w, const char *s); /* NULL: null; bad UTF-8 as json_text() */
void jw_bool(struct jw *w, bool v);
void jw_int(struct jw *w, long long v);
void jw_time(struct jw *w, int64_t t); /* RFC 3339, or null for 0 */
void jw_strlist(struct jw *w, const struct strlist *l);
void jw_raw(struct jw *w, const char *s);

/* --- JSON helpers (validation of request bodies) --- */
json_t *json_time_or_null(int64_t t);
/* A JSON string of s, or null when s is NULL. Text that is not valid UTF-8 (router facts,
 * a URL path in a message) keeps its place with U+FFFD for each bad byte (F15). */
json_t *json_str_or_null(const char *s);
json_t *json_text(const char *s);
/*
 * Field getters on the request body: each returns 0 and sets *ret when the
 * field is present with the right type, 1 when absent (or null where nullable),
 * and -EINVAL after filling err when present with a wrong type.
 */
int body_string(const json_t *obj, const char *key, const char *param, const char **ret,
                struct tg_err *err);
int body_bool(const json_t *obj, const char *key, const char *param, bool *ret, struct tg_err *err);
int body_int(const json_t *obj, const char *key, const char *param, long long *ret,
             struct tg_err *err);
/* Array of strings (null counts as absent); appended to out. */
int body_string_array(const json_t *obj, const char *key, const char *param, size_t max,
                      struct strlist *out, struct tg_err *err);
/* True when id is a syntactically valid UUID; otherwise fills a 404 for <what>. */
bool api_check_id(struct api_call *call, const char *id, const char *what);

/* --- paged lists (docs/API.md "Paging") --- */
#define API_PAGE_DEFAULT 100 /* items per page when ?limit= is absent */
#define API_PAGE_MAX 1000    /* the largest ?limit= accepted */
/*
 * Reads ?limit= (1..max, default def) into *ret. false after sending the 400
 * (parameter_invalid, param "limit") for anything else.
 */
bool api_query_limit(struct api_call *call, int def, int max, int *ret);
/*
 * Reads ?limit= (1..API_PAGE_MAX, default API_PAGE_DEFAULT) and ?after_id=
 * (a UUID, borrowed from the request) into *ret. false after sending the 400
 * for a bad value.
 */
bool api_page(struct api_call *call, struct store_page *ret);
/*
 * Like api_fail_store() for a paged list; -EINVAL (after_id names no item
 * of this list) is the same 400 as a malformed after_id.
 */
void api_fail_list(struct api_call *call, int r, const char *what);

/*
 * --- object mapping (objects.c) ---
 * The *_to_json mappers borrow what they map, do no I/O and return a new
 * reference (json_decref it, or hand it to api_send_json / a json_*_set_new).
 */
json_t *policy_to_json(const struct policy *p, bool with_sites);
/* The same object written into w (what policy_to_json() builds, as bytes). */
void policy_write_json(struct jw *w, const struct policy *p, bool with_sites);
/* Parses a full policy body (create/PUT) into p; name/services/networks/flags. */
int policy_from_json(const json_t *obj, struct policy *p, struct tg_err *err);
void site_write_json(struct jw *w, const struct api *api, const struct site *s,
                     bool with_bootstrap);
json_t *site_to_json(const struct api *api, const struct site *s, bool with_bootstrap);
/* with_secret: include the password (credentials:rotate holders, security-review F6). */
json_t *credential_to_json(const struct credential *c, bool with_secret);
json_t *api_key_to_json(const struct api_key *k, const char *secret);
json_t *note_to_json(const struct site_note *n);
/* {at, kind, message} of a site's tunnel event. */
json_t *site_event_to_json(const struct site_event *e);
/* A job; with_events adds its orchestration log ("events", oldest first). */
json_t *job_to_json(const struct job *j, bool with_events);
/* The same object written into w (what job_to_json() gives, as bytes). */
void job_write_json(struct jw *w, const struct job *j, bool with_events);
/* A transient access or forward as of now_ms (expired, time_to_expire); with_secret: the
 * access's password too (transient:create holders, security-review F6). */
void grant_write_json(struct jw *w, const struct grant *g, int64_t now_ms, bool with_secret);
json_t *grant_to_json(const struct grant *g, int64_t now_ms, bool with_secret);
/* One connection record of a grant. */
json_t *connection_to_json(const struct grant_connection *c);
/* A portal user (never the password hash). */
json_t *user_to_json(const struct user *u);
/* A node of the registry (GET /v1/nodes). */
json_t *node_to_json(const struct store_node *n);

/* --- notifications --- */
/* Tells the dispatcher (if any) that jobs were queued. */
void api_jobs_queued(struct api *api);
/* Tells the edge (if any) that grants changed. */
void api_grants_changed(struct api *api);

/* --- handlers --- */
void h_healthz(struct api_call *call);
void h_openapi(struct api_call *call);
void h_errors_doc(struct api_call *call);
void h_policies_list(struct api_call *call);
void h_policies_create(struct api_call *call);
void h_policies_get(struct api_call *call);
void h_policies_update(struct api_call *call);
void h_policies_delete(struct api_call *call);
void h_policies_attach(struct api_call *call);
void h_sites_list(struct api_call *call);
void h_sites_create(struct api_call *call);
void h_sites_get(struct api_call *call);
void h_sites_update(struct api_call *call);
void h_sites_delete(struct api_call *call);
void h_sites_bootstrap(struct api_call *call);
void h_note_get(struct api_call *call);
void h_site_tunnel_events(struct api_call *call);
void h_note_put(struct api_call *call);
void h_credentials_list(struct api_call *call);
void h_credentials_rotate(struct api_call *call);
void h_keys_list(struct api_call *call);
void h_keys_create(struct api_call *call);
void h_keys_revoke(struct api_call *call);
void h_webhooks_list(struct api_call *call);
void h_webhooks_create(struct api_call *call);
void h_webhooks_get(struct api_call *call);
void h_webhooks_update(struct api_call *call);
void h_webhooks_delete(struct api_call *call);
void h_webhooks_deliveries(struct api_call *call);
void h_device_bootstrap(struct api_call *call);
void h_device_adopt(struct api_call *call);
void h_device_poll(struct api_call *call);
void h_device_job_update(struct api_call *call);
void h_jobs_list(struct api_call *call);
void h_jobs_get(struct api_call *call);
void h_jobs_create(struct api_call *call);
void h_jobs_create_async(struct api_call *call);
void h_jobs_cancel(struct api_call *call);
void h_site_action(struct api_call *call);
void h_site_move(struct api_call *call);
void h_auth_login(struct api_call *call);
void h_auth_logout(struct api_call *call);
void h_auth_me(struct api_call *call);
void h_users_list(struct api_call *call);
void h_users_create(struct api_call *call);
void h_users_update(struct api_call *call);
void h_users_delete(struct api_call *call);
void h_portal_index(struct api_call *call);
void h_metrics(struct api_call *call);
void h_nodes_list(struct api_call *call);
/* the fleet view (h_fleet.c) */
void h_fleet_summary(struct api_call *call);
void h_fleet_history(struct api_call *call);
void h_fleet_uptime(struct api_call *call);
void h_site_uptime(struct api_call *call);
void h_portal_asset(struct api_call *call);
void h_access_list(struct api_call *call);
void h_access_create(struct api_call *call);
void h_access_get(struct api_call *call);
void h_access_patch(struct api_call *call);
void h_access_revoke(struct api_call *call);
void h_access_connections(struct api_call *call);
void h_forward_list(struct api_call *call);
void h_forward_create(struct api_call *call);
void h_forward_get(struct api_call *call);
void h_forward_patch(struct api_call *call);
void h_forward_revoke(struct api_call *call);
void h_forward_connections(struct api_call *call);

/* --- the audit log (h_audit.c) --- */
/* Records call's request in the audit log when its route is audited (h_audit.c's header);
 * called once per request by the dispatcher after the answer is built. */
void api_audit_request(struct api_call *call);
json_t *audit_entry_to_json(const struct audit_entry *e);
void h_audit_list(struct api_call *call);

/* GET /ca.pem (h_device.c): the CA of TIKGATE_TLS_CA, public. */
void h_device_ca(struct api_call *call);

#endif
