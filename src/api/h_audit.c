/*
 * h_audit.c - the audit log of actions: recorded by the dispatcher, listed at GET /v1/audit.
 *
 * api_audit_request() runs once per request, after its answer is built, from the one place
 * every request goes through (routes.c: api_preflight() when it answers itself, else
 * api_handle()). What it records is decided by the route table alone, so a new route cannot
 * forget it (docs/API.md "Audit log"):
 *   - every POST/PUT/PATCH/DELETE route that needs an API key or session, whatever the
 *     result (403 missing_scope, 4xx from the handler, 5xx included); a 401 has no tenant
 *     and stays in the access log only;
 *   - sign-in (POST /v1/auth/login): the account signed in, or on failure one entry in each
 *     tenant with an account of that e-mail address (none when no account has it);
 *   - not the device routes (/adopt, /poll: public, a router's own traffic, recorded as site
 *     and job events), nor any read.
 * The entry is written after the action and cannot undo it: a failed write is logged, and so
 * is the entry of a request the store refused (507 storage_full, 503 storage_busy), unwritten.
 */
#include "api_int.h"
#include "log.h"
#include "timefmt.h"

#include <errno.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUDIT_PRUNE_EVERY 256 /* inserts between two prunes of this process */
#define AUDIT_PRUNE_BATCH 1000
#define AUDIT_RETENTION_DEFAULT_DAYS 365
#define AUDIT_BODY_SCAN_MAX ((size_t)65536) /* larger answers are not parsed for id/code */

static atomic_ulong audit_writes;

static bool is_sign_in(const struct http_route *rt)
{
    return rt->handler == (void (*)(void))h_auth_login;
}

static bool route_audited(const struct http_route *rt)
{
    if (!strcmp(rt->method, "GET") || !strcmp(rt->method, "HEAD"))
        return false;
    return !(rt->flags & ROUTE_PUBLIC) || is_sign_in(rt);
}

static void copy(char *out, size_t outlen, const char *s)
{
    snprintf(out, outlen, "%s", s ? s : "");
}

/* The answer's JSON object, or NULL (no body, not JSON, too large). */
static json_t *answer_json(const struct api_call *call)
{
    const struct buf *b = &call->res->body;
    if (!b->len || b->len > AUDIT_BODY_SCAN_MAX)
        return NULL;
    json_t *v = json_loadb(b->data, b->len, 0, NULL);
    if (v && !json_is_object(v)) {
        json_decref(v);
        v = NULL;
    }
    return v;
}

/* object_id / parent_id: the path ids, then the id of what a 2xx POST created. */
static void fill_objects(const struct api_call *call, const json_t *answer, struct audit_entry *e)
{
    const char *ids[HTTP_MAX_PARAMS + 1];
    int n = 0;
    for (int i = 0; i < call->match.n_params; i++)
        ids[n++] = call->match.params[i];
    const char *created = json_string_value(json_object_get(answer, "id"));
    if (created && call->res->status / 100 == 2 && !strcmp(call->match.route->method, "POST") &&
        (!n || strcmp(ids[n - 1], created)))
        ids[n++] = created;
    if (n > 0)
        copy(e->object_id, sizeof e->object_id, ids[n - 1]);
    if (n > 1)
        copy(e->parent_id, sizeof e->parent_id, ids[n - 2]);
}

static void prune_now_and_then(struct api *api, int64_t now_ms)
{
    if (atomic_fetch_add(&audit_writes, 1) % AUDIT_PRUNE_EVERY != 0)
        return;
    int days = api->cfg.audit_retention_days > 0 ? api->cfg.audit_retention_days
                                                 : AUDIT_RETENTION_DEFAULT_DAYS;
    size_t n = 0;
    int r = store_audit_prune(api->store, now_ms - (int64_t)days * 86400000, AUDIT_PRUNE_BATCH, &n);
    if (r < 0)
        log_warn("audit", "pruning entries older than %d days failed: %s", days, strerror(-r));
    else if (n)
        log_info("audit", "audit entries older than %d days pruned: %zu", days, n);
}

static void write_entry(struct api_call *call, struct audit_entry *e)
{
    uuid_v7(e->id);
    e->at_ms = time_now_ms();
    if (!strncmp(e->error_code, "storage_", 8)) {
        /* The store just refused this request's own write (full, busy): another
         * write would wait out the same busy timeout before the answer. The log keeps it. */
        log_warn("audit",
                 "request %s: %s %s by %s %s (%s) from %s on %s: %d %s (not in the "
                 "audit log: the store refused the write)",
                 e->request_id, e->method, e->route, audit_actor_name(e->actor_kind), e->actor_id,
                 e->actor_name, e->source, e->object_id[0] ? e->object_id : "-", e->status,
                 e->error_code);
        return;
    }
    int r = store_audit_insert(call->api->store, e);
    if (r < 0)
        log_error("audit", "request %s (%s %s, status %d): the audit entry was not written: %s",
                  e->request_id, e->method, e->route, e->status, strerror(-r));
    else
        prune_now_and_then(call->api, e->at_ms);
}

/* A failed sign-in: one entry per tenant with an account of the e-mail address tried. */
static void failed_sign_in(struct api_call *call, struct audit_entry *e)
{
    const char *email = json_string_value(json_object_get(call->body, "email"));
    struct user *a = NULL;
    size_t n = 0;
    if (!email || store_users_by_email(call->api->store, email, &a, &n) < 0)
        return;
    e->actor_kind = AUDIT_ACTOR_USER;
    copy(e->actor_name, sizeof e->actor_name, email);
    for (size_t i = 0; i < n; i++) {
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = !strcmp(a[j].tenant_id, a[i].tenant_id);
        if (seen)
            continue;
        copy(e->tenant_id, sizeof e->tenant_id, a[i].tenant_id);
        copy(e->actor_id, sizeof e->actor_id, a[i].id);
        copy(e->object_id, sizeof e->object_id, a[i].id);
        write_entry(call, e);
    }
    if (a)
        sodium_memzero(a, n * sizeof *a);
    free(a);
}

void api_audit_request(struct api_call *call)
{
    const struct http_route *rt = call->match.route;
    if (!rt || !route_audited(rt))
        return;
    bool sign_in = is_sign_in(rt);
    if (!call->who.tenant_id[0] && !sign_in)
        return; /* a 401: no tenant to file it under */
    struct audit_entry e;
    memset(&e, 0, sizeof e);
    copy(e.source, sizeof e.source, call->req->client_addr);
    copy(e.method, sizeof e.method, rt->method);
    copy(e.route, sizeof e.route, rt->pattern);
    copy(e.request_id, sizeof e.request_id, call->req->request_id);
    e.status = call->res->status;
    json_t *answer = answer_json(call);
    if (e.status >= 400)
        copy(e.error_code, sizeof e.error_code, json_string_value(json_object_get(answer, "code")));
    if (!call->who.tenant_id[0]) {
        json_decref(answer);
        failed_sign_in(call, &e);
        return;
    }
    copy(e.tenant_id, sizeof e.tenant_id, call->who.tenant_id);
    e.actor_kind = call->session_jti[0] || sign_in ? AUDIT_ACTOR_USER : AUDIT_ACTOR_API_KEY;
    copy(e.actor_id, sizeof e.actor_id, call->who.key_id);
    copy(e.actor_name, sizeof e.actor_name, call->who.name);
    if (sign_in)
        copy(e.object_id, sizeof e.object_id, call->who.key_id);
    else
        fill_objects(call, answer, &e);
    json_decref(answer);
    write_entry(call, &e);
}

json_t *audit_entry_to_json(const struct audit_entry *e)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(e->id));
    json_object_set_new(o, "at", json_time_or_null(e->at_ms / 1000));
    json_t *actor = json_object();
    json_object_set_new(actor, "kind", json_string(audit_actor_name(e->actor_kind)));
    json_object_set_new(actor, "id", json_str_or_null(e->actor_id[0] ? e->actor_id : NULL));
    json_object_set_new(actor, "name", json_text(e->actor_name));
    json_object_set_new(o, "actor", actor);
    json_object_set_new(o, "source", json_text(e->source));
    json_object_set_new(o, "method", json_string(e->method));
    json_object_set_new(o, "route", json_text(e->route));
    json_object_set_new(o, "object_id", json_str_or_null(e->object_id[0] ? e->object_id : NULL));
    json_object_set_new(o, "parent_id", json_str_or_null(e->parent_id[0] ? e->parent_id : NULL));
    json_object_set_new(o, "status", json_integer(e->status));
    json_object_set_new(o, "error_code", json_str_or_null(e->error_code[0] ? e->error_code : NULL));
    json_object_set_new(o, "request_id", json_text(e->request_id));
    return o;
}

/* ?name= as an RFC 3339 time in ms into *ret (0 when absent); false after the 400. */
static bool query_time(struct api_call *call, const char *name, int64_t *ret)
{
    const char *v = http_request_query(call->req, name);
    int64_t t = 0;
    if (v && time_parse_rfc3339(v, &t) < 0) {
        api_fail(call, TG_ERR_INVALID_REQUEST, 400, "parameter_invalid", name,
                 "%s must be an RFC 3339 time (2024-06-22T04:33:29Z).", name);
        return false;
    }
    *ret = v ? t * 1000 : 0;
    return true;
}

/* The filters of GET /v1/audit; false after the 400. */
static bool query_filter(struct api_call *call, struct audit_filter *f)
{
    memset(f, 0, sizeof *f);
    f->actor_id = http_request_query(call->req, "actor");
    f->object_id = http_request_query(call->req, "object");
    if ((f->actor_id && strlen(f->actor_id) >= UUID_STR_LEN) ||
        (f->object_id && strlen(f->object_id) >= AUDIT_OBJECT_MAX)) {
        api_fail(call, TG_ERR_INVALID_REQUEST, 400, "parameter_invalid",
                 f->actor_id && strlen(f->actor_id) >= UUID_STR_LEN ? "actor" : "object",
                 "The id is too long.");
        return false;
    }
    const char *res = http_request_query(call->req, "result");
    if (res) {
        if (strlen(res) != 3 || res[0] < '2' || res[0] > '5' || strcmp(res + 1, "xx")) {
            api_fail(call, TG_ERR_INVALID_REQUEST, 400, "parameter_invalid", "result",
                     "result must be 2xx, 3xx, 4xx or 5xx.");
            return false;
        }
        f->result_class = res[0] - '0';
    }
    return query_time(call, "since", &f->since_ms) && query_time(call, "until", &f->until_ms);
}

void h_audit_list(struct api_call *call)
{
    struct store_page page;
    struct audit_filter f;
    if (!api_page(call, &page) || !query_filter(call, &f))
        return;
    struct audit_entry *a = NULL;
    size_t n = 0;
    int r = store_audit_list(call->api->store, call->who.tenant_id, &f, &page, &a, &n);
    if (r < 0) {
        api_fail_list(call, r, "audit entry");
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, audit_entry_to_json(&a[i]));
    free(a);
    api_send_json(call, 200, arr);
}
