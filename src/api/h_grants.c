/*
 * h_grants.c - transient access and transient port forwarding (seeds 000-003).
 *
 * Creating a grant allocates a free edge port, stores the grant and queues the
 * router-side job in one transaction, then tells the edge and the dispatcher.
 * Revoking tears it down the same way the scheduler does at expiry.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "alloc.h"
#include "api_int.h"
#include "cidr.h"
#include "enqueue.h"
#include "rand.h"
#include "store.h"
#include "timefmt.h"

void api_grants_changed(struct api *api)
{
    if (api->cfg.grants_changed)
        api->cfg.grants_changed(api->cfg.grants_ctx);
}

static bool grant_expired(const struct grant *g, int64_t now_ms)
{
    return g->torn_down_at != 0 || g->expires_at_ms <= now_ms;
}

static json_t *grant_to_json(struct api *api, const struct grant *g)
{
    int64_t now_ms = time_now_ms();
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(g->id));
    json_object_set_new(o, "site_id", json_string(g->site_id));
    if (g->kind == GRANT_ACCESS) {
        json_object_set_new(o, "username", json_string(g->username));
        json_object_set_new(o, "password", json_string(g->password));
    }
    json_object_set_new(o, "port", json_integer(g->port));
    if (g->kind == GRANT_ACCESS) {
        json_object_set_new(o, "type", json_string(g->access_type));
        json_object_set_new(o, "full_access", json_boolean(g->full_access));
        json_object_set_new(o, "allow_rfc1918", json_boolean(g->allow_rfc1918));
    } else {
        json_object_set_new(o, "dst_address", json_string(g->dst_address));
        json_object_set_new(o, "dst_port", json_integer(g->dst_port));
        json_object_set_new(o, "masquerade", json_boolean(g->masquerade));
    }
    json_object_set_new(o, "config_committed_to_site", json_time_or_null(g->config_committed_at));
    json_object_set_new(o, "config_removed_from_site", json_boolean(g->config_removed_from_site));
    json_object_set_new(o, "config_removed_from_mpac", json_boolean(g->config_removed_from_mpac));
    json_object_set_new(o, "revoked_early", json_boolean(g->revoked_early));
    if (g->kind == GRANT_ACCESS) {
        struct cidr c;
        bool host = cidr_parse(g->allow_only_cidr, CIDR_STRICT, &c) == 0 &&
                    c.prefix == (c.family == AF_INET ? 32 : 128);
        char ip[sizeof g->allow_only_cidr] = "";
        if (host) {
            snprintf(ip, sizeof ip, "%s", g->allow_only_cidr);
            char *slash = strchr(ip, '/');
            if (slash)
                *slash = '\0';
        }
        json_object_set_new(o, "allow_only_ip", host ? json_string(ip) : json_null());
    }
    json_object_set_new(o, "allow_only_cidr", json_string(g->allow_only_cidr));
    json_object_set_new(o, "authorized_at",
                        json_time_or_null(store_grant_first_connection(api->store, g->id) / 1000));
    json_object_set_new(o, "expires_at", json_time_or_null(g->expires_at_ms / 1000));
    json_object_set_new(o, "expired", json_boolean(grant_expired(g, now_ms)));
    json_object_set_new(o, "entry_point", json_string(g->entry_point));
    char phrase[64];
    time_phrase_relative(g->expires_at_ms / 1000, now_ms / 1000, phrase, sizeof phrase);
    json_object_set_new(o, "time_to_expire", json_string(phrase));
    if (g->kind == GRANT_ACCESS && !strcmp(g->access_type, "winbox")) {
        char *link = xasprintf("winbox://%s:%d?username=%s&password=%s", g->entry_point, g->port,
                               g->username, g->password);
        json_object_set_new(o, "onclick", json_string(link));
        free(link);
    } else if (g->kind == GRANT_ACCESS) {
        char *link = xasprintf("ssh://%s@%s:%d", g->username, g->entry_point, g->port);
        json_object_set_new(o, "onclick", json_string(link));
        free(link);
    }
    json_object_set_new(o, "rate_limit_bps",
                        g->rate_limit ? json_integer((json_int_t)g->rate_limit) : json_null());
    json_object_set_new(o, "created_by", json_str_or_null(g->created_by));
    json_object_set_new(o, "created_at", json_time_or_null(g->created_at));
    return o;
}

static void list(struct api_call *call, enum grant_kind kind)
{
    const char *site = api_param(call, 0);
    if (!api_check_id(call, site, "site"))
        return;
    const char *active = http_request_query(call->req, "active");
    bool only = active && (!strcmp(active, "true") || !strcmp(active, "1"));
    struct grant *a = NULL;
    size_t n = 0;
    int r = store_grant_list(call->api->store, call->who.tenant_id, site, kind, only, &a, &n);
    if (r < 0)
        return api_fail_store(call, r, "site");
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, grant_to_json(call->api, &a[i]));
    store_grant_array_free(a, n);
    api_send_json(call, 200, arr);
}

static void send_grant(struct api_call *call, enum grant_kind kind, const char *site,
                       const char *id, int status)
{
    struct grant g;
    int r = store_grant_get(call->api->store, call->who.tenant_id, site, kind, id, &g);
    if (r < 0)
        return api_fail_store(call, r, kind == GRANT_ACCESS ? "transient access" :
                                                              "transient forward");
    api_send_json(call, status, grant_to_json(call->api, &g));
    sodium_memzero(g.password, sizeof g.password);
    grant_release(&g);
}

static void get(struct api_call *call, enum grant_kind kind)
{
    const char *site = api_param(call, 0), *id = api_param(call, 1);
    if (api_check_id(call, site, "site") && api_check_id(call, id, "grant"))
        send_grant(call, kind, site, id, 200);
}

#define RATE_LIMIT_MIN 1024           /* 1 KiB/s: below that nothing useful gets through */
#define RATE_LIMIT_MAX (10ull << 30)  /* 10 GiB/s */

/*
 * Optional rate_limit_bps (bytes per second, each direction, for the whole
 * grant): seed 000's "management traffic only", enforced. null or 0 = off.
 * Returns 0 (value set or left), or -EINVAL with err.
 */
static int parse_rate_limit(struct api_call *call, uint64_t *ret, struct tg_err *err)
{
    long long v = 0;
    int r = body_int(call->body, "rate_limit_bps", "rate_limit_bps", &v, err);
    if (r < 0)
        return r;
    if (r > 0 && !json_is_null(json_object_get(call->body, "rate_limit_bps")))
        return 0;
    if (v != 0 && (v < RATE_LIMIT_MIN || (unsigned long long)v > RATE_LIMIT_MAX))
        return tg_err_invalid(err, "parameter_out_of_range", "rate_limit_bps",
                              "rate_limit_bps must be 0 (off) or between %d and %llu.",
                              RATE_LIMIT_MIN, (unsigned long long)RATE_LIMIT_MAX);
    *ret = (uint64_t)v;
    return 0;
}

/* Reads the fields common to both kinds: minutes and the source allow-list. */
static int common_fields(struct api_call *call, struct grant *g, const char *source_key,
                         struct tg_err *err)
{
    long long minutes = GRANT_MINUTES_DEFAULT;
    int r = body_int(call->body, "expire_after_minutes", "expire_after_minutes", &minutes, err);
    if (r < 0 || grant_check_minutes(minutes, err) < 0)
        return -EINVAL;
    g->expires_at_ms = time_now_ms() + minutes * 60000;
    if (parse_rate_limit(call, &g->rate_limit, err) < 0)
        return -EINVAL;
    struct grant_source_rules rules = {.allow_private = call->api->cfg.allow_private_sources};
    const char *src = NULL;
    const char *param = "allow_only_cidr";
    r = body_string(call->body, "allow_only_cidr", "allow_only_cidr", &src, err);
    if (r < 0)
        return r;
    if (r > 0 && source_key) {
        param = source_key;
        r = body_string(call->body, source_key, source_key, &src, err);
        if (r < 0)
            return r;
    }
    if (r > 0) {
        /* Default: the caller's own address. */
        src = call->req->client_addr;
        param = "allow_only_cidr";
    }
    return grant_check_source(src, param, &rules, g->allow_only_cidr, sizeof g->allow_only_cidr,
                              err);
}

/* Stores g with its setup job, in one transaction; sends the error on failure. */
static int store_new_grant(struct api_call *call, struct grant *g)
{
    struct store *st = call->api->store;
    struct job_plan plan = {0};
    int r = store_tx_begin(st);
    if (r < 0)
        goto out;
    r = store_grant_insert(st, g, call->api->cfg.edge_port_lo, call->api->cfg.edge_port_hi);
    if (r == 0) {
        job_plan_grant_setup(&plan, g, call->api->cfg.mgmt_networks);
        char desc[128], job_id[37];
        if (g->kind == GRANT_ACCESS)
            snprintf(desc, sizeof desc, "Transient %s access for %s", g->access_type,
                     g->username);
        else
            snprintf(desc, sizeof desc, "Transient forward to %s:%d", g->dst_address,
                     g->dst_port);
        r = api_enqueue(call->api, g->site_id,
                        g->kind == GRANT_ACCESS ? "transient_access" : "transient_forward", desc,
                        &plan, NULL, true, true, call->who.name, NULL, job_id);
        if (r == 0)
            r = store_grant_set_setup_job(st, g->id, job_id);
    }
    if (r == 0)
        r = store_tx_commit(st);
    else
        store_tx_rollback(st);
out:
    job_plan_release(&plan);
    if (r == -EADDRNOTAVAIL)
        api_fail(call, TG_ERR_CONFLICT, 409, "no_port_available", NULL,
                 "Every port of the edge's range is taken.");
    else if (r < 0)
        api_fail_store(call, r, "grant");
    if (r == 0) {
        api_jobs_queued(call->api);
        api_grants_changed(call->api);
    }
    return r;
}

/* Checks the site is the caller's; fills g->site_id. */
static int load_site(struct api_call *call, struct grant *g)
{
    const char *site = api_param(call, 0);
    if (!api_check_id(call, site, "site"))
        return -ENOENT;
    struct site s;
    int r = store_site_get(call->api->store, call->who.tenant_id, site, &s);
    if (r < 0) {
        api_fail_store(call, r, "site");
        return r;
    }
    site_release(&s);
    snprintf(g->site_id, sizeof g->site_id, "%s", site);
    return 0;
}

static void init_grant(struct api_call *call, struct grant *g, enum grant_kind kind)
{
    memset(g, 0, sizeof *g);
    uuid_v7(g->id);
    g->kind = kind;
    g->entry_point = xstrdup(call->api->cfg.entry_point);
    g->created_at = time_now();
    g->created_by = xstrdup(call->who.name);
}

void h_access_create(struct api_call *call)
{
    struct grant g;
    init_grant(call, &g, GRANT_ACCESS);
    struct tg_err err;
    const char *type = "winbox";
    bool full = false, rfc1918 = false;
    int r = load_site(call, &g);
    if (r < 0)
        goto out;
    if ((r = body_string(call->body, "type", "type", &type, &err)) < 0 ||
        (r = body_bool(call->body, "full_access", "full_access", &full, &err)) < 0 ||
        (r = body_bool(call->body, "allow_rfc1918", "allow_rfc1918", &rfc1918, &err)) < 0)
        goto out_err;
    if (strcmp(type, "winbox") && strcmp(type, "ssh")) {
        r = tg_err_invalid(&err, "parameter_invalid", "type", "type must be winbox or ssh.");
        goto out_err;
    }
    if ((r = common_fields(call, &g, NULL, &err)) < 0)
        goto out_err;
    snprintf(g.access_type, sizeof g.access_type, "%s", type);
    g.full_access = full;
    g.allow_rfc1918 = rfc1918;
    grant_generate_credential(g.username);
    grant_generate_credential(g.password);
    if (store_new_grant(call, &g) == 0)
        send_grant(call, GRANT_ACCESS, g.site_id, g.id, 201);
    goto out;
out_err:
    api_send_error(call, &err);
out:
    sodium_memzero(g.password, sizeof g.password);
    grant_release(&g);
}

void h_forward_create(struct api_call *call)
{
    struct grant g;
    init_grant(call, &g, GRANT_FORWARD);
    struct tg_err err;
    const char *dst = NULL;
    long long dport = 0;
    bool masq = false;
    int r = load_site(call, &g);
    if (r < 0)
        goto out;
    if ((r = body_string(call->body, "dst_address", "dst_address", &dst, &err)) > 0)
        r = tg_err_invalid(&err, "parameter_missing", "dst_address",
                           "The 'dst_address' parameter is required.");
    if (r < 0)
        goto out_err;
    if ((r = body_int(call->body, "dst_port", "dst_port", &dport, &err)) > 0)
        r = tg_err_invalid(&err, "parameter_missing", "dst_port",
                           "The 'dst_port' parameter is required.");
    if (r < 0)
        goto out_err;
    if (dport < 1 || dport > 65535) {
        r = tg_err_invalid(&err, "port_out_of_range", "dst_port",
                           "dst_port must be between 1 and 65535 (got %lld).", dport);
        goto out_err;
    }
    if ((r = body_bool(call->body, "masquerade", "masquerade", &masq, &err)) < 0)
        goto out_err;
    struct grant_source_rules rules = {.allow_private = call->api->cfg.allow_private_sources};
    if ((r = grant_check_destination(dst, &rules, g.dst_address, sizeof g.dst_address, &err)) < 0)
        goto out_err;
    if ((r = common_fields(call, &g, "allow_from", &err)) < 0)
        goto out_err;
    g.dst_port = (int)dport;
    g.masquerade = masq;
    if (store_new_grant(call, &g) == 0)
        send_grant(call, GRANT_FORWARD, g.site_id, g.id, 201);
    goto out;
out_err:
    api_send_error(call, &err);
out:
    grant_release(&g);
}

/*
 * The site and grant ids of the path, after checking that the grant exists
 * for the caller's tenant (else the 404 is sent and false returned).
 * *ret_rate (may be NULL) receives the grant's current rate limit.
 */
static bool find_grant(struct api_call *call, enum grant_kind kind, const char **ret_site,
                       const char **ret_id, uint64_t *ret_rate)
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
    if (ret_rate)
        *ret_rate = g.rate_limit;
    sodium_memzero(g.password, sizeof g.password);
    grant_release(&g);
    *ret_site = site;
    *ret_id = id;
    return true;
}

static void patch(struct api_call *call, enum grant_kind kind)
{
    const char *site, *id;
    uint64_t rate;
    if (!find_grant(call, kind, &site, &id, &rate))
        return;
    struct tg_err err;
    const char *when = NULL;
    bool has_rate = json_object_get(call->body, "rate_limit_bps") != NULL;
    int r;
    if (has_rate && parse_rate_limit(call, &rate, &err) < 0)
        return api_send_error(call, &err);
    r = body_string(call->body, "expires_at", "expires_at", &when, &err);
    if (r > 0 && !has_rate)
        r = tg_err_invalid(&err, "parameter_missing", "expires_at",
                           "Send 'expires_at' (RFC 3339) and/or 'rate_limit_bps'.");
    int64_t t = 0;
    if (r == 0 && time_parse_rfc3339(when, &t) < 0)
        r = tg_err_invalid(&err, "parameter_invalid", "expires_at",
                           "'%s' is not an RFC 3339 timestamp.", when);
    int64_t now = time_now();
    if (r == 0 && t <= now)
        r = tg_err_invalid(&err, "parameter_out_of_range", "expires_at",
                           "expires_at must be in the future.");
    if (r == 0 && t > now + 24 * 3600)
        r = tg_err_invalid(&err, "parameter_out_of_range", "expires_at",
                           "expires_at may be at most 24 hours from now.");
    if (r < 0)
        return api_send_error(call, &err);
    r = store_grant_update(call->api->store, id, when ? t * 1000 : 0, has_rate ? &rate : NULL);
    if (r == -EBUSY)
        return api_fail(call, TG_ERR_CONFLICT, 409, "grant_not_active", NULL,
                        "The grant has expired or was revoked.");
    if (r < 0)
        return api_fail_store(call, r, "grant");
    api_grants_changed(call->api);
    send_grant(call, kind, site, id, 200);
}

static void revoke(struct api_call *call, enum grant_kind kind)
{
    const char *site, *id;
    if (!find_grant(call, kind, &site, &id, NULL))
        return;
    int r = jobs_grant_teardown(call->api->store, id, true, call->who.name);
    /* Revoking a grant that already ended is not an error: it is gone either way. */
    if (r < 0 && r != -EBUSY)
        return api_fail_store(call, r, "grant");
    if (r == 0) {
        api_grants_changed(call->api);
        api_jobs_queued(call->api);
    }
    api_send_no_content(call);
}

static void connections(struct api_call *call, enum grant_kind kind)
{
    const char *site, *id;
    if (!find_grant(call, kind, &site, &id, NULL))
        return;
    (void)site;
    int r;
    /* Paged: ?after_id=<id of the last record seen>&limit=<1..1000, default 1000>. */
    long long after = 0, limit = 1000;
    const char *q = http_request_query(call->req, "after_id");
    char *end = NULL;
    if (q && ((after = strtoll(q, &end, 10)) < 0 || *end || !*q))
        return api_fail(call, TG_ERR_INVALID_REQUEST, 400, "parameter_invalid", "after_id",
                        "after_id must be a record id (a non-negative integer).");
    q = http_request_query(call->req, "limit");
    if (q && ((limit = strtoll(q, &end, 10)) < 1 || limit > 1000 || *end))
        return api_fail(call, TG_ERR_INVALID_REQUEST, 400, "parameter_invalid", "limit",
                        "limit must be between 1 and 1000.");
    struct grant_connection *c = NULL;
    size_t n = 0;
    r = store_grant_conn_list(call->api->store, id, after, (int)limit, &c, &n);
    if (r < 0)
        return api_fail_store(call, r, "grant");
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "id", json_integer(c[i].id));
        json_object_set_new(o, "source", json_string(c[i].source));
        json_object_set_new(o, "started_at", json_time_or_null(c[i].started_ms / 1000));
        json_object_set_new(o, "ended_at", json_time_or_null(c[i].ended_ms / 1000));
        json_object_set_new(o, "started_ms", json_integer(c[i].started_ms));
        json_object_set_new(o, "ended_ms", c[i].ended_ms ? json_integer(c[i].ended_ms)
                                                         : json_null());
        json_object_set_new(o, "bytes_in", json_integer((json_int_t)c[i].bytes_in));
        json_object_set_new(o, "bytes_out", json_integer((json_int_t)c[i].bytes_out));
        json_object_set_new(o, "outcome", json_string(c[i].outcome));
        json_array_append_new(arr, o);
    }
    free(c);
    api_send_json(call, 200, arr);
}

void h_access_list(struct api_call *call) { list(call, GRANT_ACCESS); }
void h_access_get(struct api_call *call) { get(call, GRANT_ACCESS); }
void h_access_patch(struct api_call *call) { patch(call, GRANT_ACCESS); }
void h_access_revoke(struct api_call *call) { revoke(call, GRANT_ACCESS); }
void h_access_connections(struct api_call *call) { connections(call, GRANT_ACCESS); }
void h_forward_list(struct api_call *call) { list(call, GRANT_FORWARD); }
void h_forward_get(struct api_call *call) { get(call, GRANT_FORWARD); }
void h_forward_patch(struct api_call *call) { patch(call, GRANT_FORWARD); }
void h_forward_revoke(struct api_call *call) { revoke(call, GRANT_FORWARD); }
void h_forward_connections(struct api_call *call) { connections(call, GRANT_FORWARD); }
