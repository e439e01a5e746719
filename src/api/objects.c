/*
 * objects.c - mapping between domain structs and the API's JSON objects.
 */
#include "alloc.h"
#include "api_int.h"
#include "cidr.h"
#include "device_script.h"
#include "timefmt.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Parses back what a jw writer wrote: the tree for the callers that embed an object. */
static json_t *jw_tree(void (*write)(struct jw *w, const void *obj, bool flag), const void *obj,
                       bool flag)
{
    struct buf b;
    buf_init(&b, HTTP_RESPONSE_CAP);
    struct jw w = {.b = &b};
    write(&w, obj, flag);
    json_t *o = w.err ? NULL : json_loadb(b.data, b.len, 0, NULL);
    buf_release(&b);
    return o;
}

void policy_write_json(struct jw *w, const struct policy *p, bool with_sites)
{
    jw_open(w, '{');
    jw_key(w, "id");
    jw_string(w, p->id);
    jw_key(w, "name");
    jw_string(w, p->name);
    jw_key(w, "slug");
    jw_string(w, p->slug);
    for (int i = 0; i < SVC_COUNT; i++) {
        jw_key(w, policy_svc_key[i]);
        jw_open(w, '{');
        jw_key(w, "enabled");
        jw_bool(w, p->svc[i].enabled);
        jw_key(w, "port");
        jw_int(w, p->svc[i].port);
        jw_key(w, "networks");
        jw_strlist(w, &p->svc[i].networks);
        jw_close(w, '}');
    }
    jw_key(w, "trusted_networks");
    jw_strlist(w, &p->trusted_networks);
    jw_key(w, "custom_input_rules");
    jw_bool(w, p->custom_input_rules);
    jw_key(w, "default");
    jw_bool(w, p->is_default);
    if (with_sites) {
        jw_key(w, "sites");
        jw_strlist(w, &p->sites);
    }
    jw_key(w, "created_at");
    jw_time(w, p->created_at);
    jw_key(w, "updated_at");
    jw_time(w, p->updated_at);
    jw_close(w, '}');
}

static void policy_write_any(struct jw *w, const void *obj, bool flag)
{
    policy_write_json(w, obj, flag);
}

/* The tree of a policy (tests, the fuzzer): parsed back from what policy_write_json() writes,
 * so there is one mapping of a policy to JSON. NULL if it does not fit HTTP_RESPONSE_CAP. */
json_t *policy_to_json(const struct policy *p, bool with_sites)
{
    return jw_tree(policy_write_any, p, with_sites);
}

/* Reads and normalises a list of CIDRs at obj[key] into out. */
static int parse_networks(const json_t *obj, const char *key, const char *param,
                          struct strlist *out, struct tg_err *err)
{
    /* The generic "too_many_items" of body_string_array is too_many_networks here. */
    const json_t *v = json_object_get(obj, key);
    if (json_is_array(v) && json_array_size(v) > POLICY_MAX_NETWORKS)
        return tg_err_invalid(err, "too_many_networks", param, "At most %d networks.",
                              POLICY_MAX_NETWORKS);
    struct strlist raw = {0};
    int r = body_string_array(obj, key, param, POLICY_MAX_NETWORKS, &raw, err);
    if (r < 0)
        goto out;
    r = 0;
    for (size_t i = 0; i < raw.n; i++) {
        char p[128], canon[64];
        snprintf(p, sizeof p, "%s[%zu]", param, i);
        r = policy_normalize_cidr(raw.items[i], p, canon, sizeof canon, err);
        if (r < 0)
            goto out;
        if (!strlist_contains(out, canon))
            strlist_add(out, canon);
    }
out:
    strlist_release(&raw);
    return r;
}

static int parse_service(const json_t *body, int i, struct policy_service *svc, struct tg_err *err)
{
    const char *key = policy_svc_key[i];
    json_t *o = json_object_get(body, key);
    char param[64];
    if (!o || json_is_null(o))
        return tg_err_invalid(err, "parameter_missing", key, "The '%s' service is required.", key);
    if (!json_is_object(o))
        return tg_err_invalid(err, "parameter_invalid_type", key,
                              "'%s' must be an object {enabled, port, networks}.", key);
    snprintf(param, sizeof param, "%s.enabled", key);
    int r = body_bool(o, "enabled", param, &svc->enabled, err);
    if (r < 0)
        return r;
    if (r > 0)
        return tg_err_invalid(err, "parameter_missing", param, "'%s' is required.", param);
    snprintf(param, sizeof param, "%s.port", key);
    long long port;
    r = body_int(o, "port", param, &port, err);
    if (r < 0)
        return r;
    if (r > 0)
        return tg_err_invalid(err, "parameter_missing", param, "'%s' is required.", param);
    if (port < 1 || port > 65535)
        return tg_err_invalid(err, "port_out_of_range", param,
                              "'%s' must be between 1 and 65535 (got %lld).", param, port);
    svc->port = (int)port;
    snprintf(param, sizeof param, "%s.networks", key);
    /* Required, and null is refused (docs/API.md "networks: null"), unlike trusted_networks. */
    const json_t *nets = json_object_get(o, "networks");
    if (!nets)
        return tg_err_invalid(err, "parameter_missing", param, "'%s' is required.", param);
    if (json_is_null(nets))
        return tg_err_invalid(err, "parameter_invalid_type", param,
                              "'%s' must be an array of strings, not null.", param);
    r = parse_networks(o, "networks", param, &svc->networks, err);
    return r < 0 ? r : 0;
}

int policy_from_json(const json_t *obj, struct policy *p, struct tg_err *err)
{
    const char *name = NULL;
    int r = body_string(obj, "name", "name", &name, err);
    if (r < 0)
        return r;
    if (r > 0)
        return tg_err_invalid(err, "parameter_missing", "name",
                              "The 'name' parameter is required.");
    p->name = xstrdup(name);
    for (int i = 0; i < SVC_COUNT; i++) {
        r = parse_service(obj, i, &p->svc[i], err);
        if (r < 0)
            return r;
    }
    r = parse_networks(obj, "trusted_networks", "trusted_networks", &p->trusted_networks, err);
    if (r < 0)
        return r;
    bool cir = false;
    r = body_bool(obj, "custom_input_rules", "custom_input_rules", &cir, err);
    if (r < 0)
        return r;
    p->custom_input_rules = cir;
    return policy_validate(p, err);
}

/* {mode, address, status, last_handshake_at, endpoint, rx_bytes, tx_bytes} (DESIGN.md §10). */
static void site_tunnel_write(struct jw *w, const struct site *s)
{
    const struct site_tunnel *t = &s->tunnel;
    jw_open(w, '{');
    jw_key(w, "mode");
    jw_string(w, tunnel_mode_name(t->mode));
    jw_key(w, "address");
    jw_string(w, s->tunnel_address);
    jw_key(w, "status");
    jw_string(w, tunnel_status_name(t->status));
    jw_key(w, "public_key");
    jw_string(w, t->public_key[0] ? t->public_key : NULL);
    jw_key(w, "last_handshake_at");
    jw_time(w, t->last_handshake_at);
    jw_key(w, "endpoint");
    jw_string(w, t->endpoint[0] ? t->endpoint : NULL);
    jw_key(w, "rx_bytes");
    jw_int(w, (long long)t->rx_bytes);
    jw_key(w, "tx_bytes");
    jw_int(w, (long long)t->tx_bytes);
    jw_close(w, '}');
}

void site_write_json(struct jw *w, const struct api *api, const struct site *s, bool with_bootstrap)
{
    jw_open(w, '{');
    jw_key(w, "id");
    jw_string(w, s->id);
    jw_key(w, "name");
    jw_string(w, s->name);
    jw_key(w, "policy_id");
    jw_string(w, s->policy_id);
    jw_key(w, "tunnel_address");
    jw_string(w, s->tunnel_address);
    jw_key(w, "status");
    jw_string(w, site_status_name(s->status));
    jw_key(w, "last_seen_at");
    jw_time(w, s->last_seen_at);
    jw_key(w, "identity");
    jw_string(w, s->identity);
    jw_key(w, "model");
    jw_string(w, s->model);
    jw_key(w, "serial_number");
    jw_string(w, s->serial_number);
    jw_key(w, "software_version");
    jw_string(w, s->software_version);
    jw_key(w, "created_at");
    jw_time(w, s->created_at);
    jw_key(w, "updated_at");
    jw_time(w, s->updated_at);
    jw_key(w, "tunnel");
    site_tunnel_write(w, s);
    jw_key(w, "edge");
    jw_string(w, s->edge_node[0] ? s->edge_node : NULL);
    jw_key(w, "region");
    jw_string(w, s->region[0] ? s->region : NULL);
    if (!with_bootstrap || !s->bootstrap_token[0]) {
        jw_key(w, "bootstrap_command");
        jw_string(w, NULL);
        jw_key(w, "bootstrap_expires_at");
        jw_string(w, NULL);
    } else {
        jw_key(w, "bootstrap_expires_at");
        jw_time(w, site_bootstrap_expires_at(s, api->cfg.bootstrap_ttl_s));
        struct buf cmd;
        buf_init(&cmd, 8192);
        device_render_bootstrap_command(&cmd, api->cfg.public_url, s->bootstrap_token,
                                        api->cfg.tls_ca_fingerprint);
        jw_key(w, "bootstrap_command");
        jw_string(w, cmd.data ? cmd.data : "");
        buf_release(&cmd);
    }
    jw_close(w, '}');
}

struct site_of_api {
    const struct api *api;
    const struct site *s;
};

static void site_write_any(struct jw *w, const void *obj, bool flag)
{
    const struct site_of_api *x = obj;
    site_write_json(w, x->api, x->s, flag);
}

/* The tree of a site (tests), parsed back from site_write_json(): one mapping. */
json_t *site_to_json(const struct api *api, const struct site *s, bool with_bootstrap)
{
    struct site_of_api x = {.api = api, .s = s};
    return jw_tree(site_write_any, &x, with_bootstrap);
}

json_t *credential_to_json(const struct credential *c, bool with_secret)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(c->id));
    json_object_set_new(o, "site_id", json_string(c->site_id));
    json_object_set_new(o, "username", json_string(c->username));
    if (with_secret)
        json_object_set_new(o, "password", json_string(c->password));
    json_object_set_new(o, "ip_address", json_str_or_null(c->ip_address));
    json_object_set_new(o, "api_port", c->api_port ? json_integer(c->api_port) : json_null());
    json_object_set_new(o, "created_at", json_time_or_null(c->created_at));
    json_object_set_new(o, "deleted_at", json_time_or_null(c->deleted_at));
    json_object_set_new(o, "status", json_string(credential_state_name(c->state)));
    return o;
}

json_t *api_key_to_json(const struct api_key *k, const char *secret)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(k->id));
    json_object_set_new(o, "name", json_string(k->name ? k->name : ""));
    json_object_set_new(o, "prefix", json_string(k->prefix));
    struct strlist scopes = {0};
    scope_to_list(k->scopes, &scopes);
    json_t *a = json_array();
    for (size_t i = 0; i < scopes.n; i++)
        json_array_append_new(a, json_string(scopes.items[i]));
    strlist_release(&scopes);
    json_object_set_new(o, "scopes", a);
    json_object_set_new(o, "created_at", json_time_or_null(k->created_at));
    json_object_set_new(o, "last_used_at", json_time_or_null(k->last_used_at));
    json_object_set_new(o, "revoked_at", json_time_or_null(k->revoked_at));
    if (secret)
        json_object_set_new(o, "secret", json_string(secret));
    return o;
}

json_t *note_to_json(const struct site_note *n)
{
    json_t *o = json_object();
    json_object_set_new(o, "site_id", json_string(n->site_id));
    json_object_set_new(o, "content", json_string(n->content ? n->content : ""));
    json_object_set_new(o, "updated_at", json_time_or_null(n->updated_at));
    json_object_set_new(o, "updated_by", json_str_or_null(n->updated_by));
    return o;
}

/* "2024-06-22T04:33:29.123+00:00": an event's time (events need ms order). */
static void ms_text(int64_t ms, char out[40])
{
    char s[RFC3339_LEN];
    time_format_rfc3339(ms / 1000, s);
    snprintf(out, 40, "%.19s.%03lld+00:00", s, (long long)(ms % 1000));
}

static json_t *time_ms_json(int64_t ms)
{
    char out[40];
    ms_text(ms, out);
    return json_string(out);
}

json_t *site_event_to_json(const struct site_event *e)
{
    json_t *o = json_object();
    json_object_set_new(o, "at", time_ms_json(e->at_ms));
    json_object_set_new(o, "kind", json_string(e->kind));
    json_object_set_new(o, "message", json_string(e->message));
    return o;
}

void job_write_json(struct jw *w, const struct job *j, bool with_events)
{
    jw_open(w, '{');
    jw_key(w, "id");
    jw_string(w, j->id);
    jw_key(w, "token");
    jw_string(w, j->token);
    jw_key(w, "site_id");
    jw_string(w, j->site_id);
    jw_key(w, "kind");
    jw_string(w, job_kind_name(j->kind));
    jw_key(w, "priority");
    jw_string(w, job_class_name(j->queue_class));
    jw_key(w, "description");
    jw_string(w, j->description ? j->description : "");
    jw_key(w, "status");
    jw_string(w, job_status_name(j->status));
    jw_key(w, "express_execute");
    jw_bool(w, j->express);
    jw_key(w, "needs_acknowledgement");
    jw_bool(w, j->needs_ack);
    jw_key(w, "idempotency_key");
    jw_string(w, j->idempotency_key);
    jw_key(w, "attempts");
    jw_int(w, j->attempts);
    jw_key(w, "created_at");
    jw_time(w, j->created_at);
    jw_key(w, "started_at");
    jw_time(w, j->started_at);
    jw_key(w, "completed_at");
    jw_time(w, j->completed_at);
    jw_key(w, "failed_at");
    jw_time(w, j->failed_at);
    jw_key(w, "deleted_at");
    jw_time(w, j->deleted_at);
    jw_key(w, "last_error");
    jw_string(w, j->last_error);
    jw_key(w, "created_by");
    jw_string(w, j->created_by);
    jw_key(w, "script");
    jw_string(w, j->is_script ? j->payload : NULL);
    if (with_events) {
        jw_key(w, "events");
        jw_open(w, '[');
        for (size_t i = 0; i < j->nevents; i++) {
            char at[40];
            ms_text(j->events[i].at_ms, at);
            jw_open(w, '{');
            jw_key(w, "at");
            jw_string(w, at);
            jw_key(w, "kind");
            jw_string(w, j->events[i].kind);
            jw_key(w, "message");
            jw_string(w, j->events[i].message);
            jw_close(w, '}');
        }
        jw_close(w, ']');
    }
    jw_close(w, '}');
}

static void job_write_any(struct jw *w, const void *obj, bool flag)
{
    job_write_json(w, obj, flag);
}

json_t *job_to_json(const struct job *j, bool with_events)
{
    return jw_tree(job_write_any, j, with_events);
}

static bool grant_expired(const struct grant *g, int64_t now_ms)
{
    return g->torn_down_at != 0 || g->expires_at_ms <= now_ms;
}

void grant_write_json(struct jw *w, const struct grant *g, int64_t now_ms, bool with_secret)
{
    jw_open(w, '{');
    jw_key(w, "id");
    jw_string(w, g->id);
    jw_key(w, "site_id");
    jw_string(w, g->site_id);
    if (g->kind == GRANT_ACCESS) {
        jw_key(w, "username");
        jw_string(w, g->username);
        if (with_secret) {
            jw_key(w, "password");
            jw_string(w, g->password);
        }
    }
    jw_key(w, "port");
    jw_int(w, g->port);
    if (g->kind == GRANT_ACCESS) {
        jw_key(w, "type");
        jw_string(w, g->access_type);
        jw_key(w, "full_access");
        jw_bool(w, g->full_access);
        jw_key(w, "allow_rfc1918");
        jw_bool(w, g->allow_rfc1918);
    } else {
        jw_key(w, "dst_address");
        jw_string(w, g->dst_address);
        jw_key(w, "dst_port");
        jw_int(w, g->dst_port);
        jw_key(w, "masquerade");
        jw_bool(w, g->masquerade);
    }
    jw_key(w, "config_committed_to_site");
    jw_time(w, g->config_committed_at);
    jw_key(w, "config_removed_from_site");
    jw_bool(w, g->config_removed_from_site);
    jw_key(w, "config_removed_from_mpac");
    jw_bool(w, g->config_removed_from_mpac);
    jw_key(w, "revoked_early");
    jw_bool(w, g->revoked_early);
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
        jw_key(w, "allow_only_ip");
        jw_string(w, host ? ip : NULL);
    }
    jw_key(w, "allow_only_cidr");
    jw_string(w, g->allow_only_cidr);
    jw_key(w, "authorized_at");
    jw_time(w, g->authorized_at_ms / 1000);
    jw_key(w, "expires_at");
    jw_time(w, g->expires_at_ms / 1000);
    jw_key(w, "expired");
    jw_bool(w, grant_expired(g, now_ms));
    jw_key(w, "entry_point");
    jw_string(w, g->entry_point);
    char phrase[64];
    time_phrase_relative(g->expires_at_ms / 1000, now_ms / 1000, phrase, sizeof phrase);
    jw_key(w, "time_to_expire");
    jw_string(w, phrase);
    if (g->kind == GRANT_ACCESS) {
        char *link;
        if (strcmp(g->access_type, "winbox"))
            link = xasprintf("ssh://%s@%s:%d", g->username, g->entry_point, g->port);
        else if (with_secret) /* the link carries the password only where the answer does (F6) */
            link = xasprintf("winbox://%s:%d?username=%s&password=%s", g->entry_point, g->port,
                             g->username, g->password);
        else
            link = xasprintf("winbox://%s:%d?username=%s", g->entry_point, g->port, g->username);
        jw_key(w, "onclick");
        jw_string(w, link);
        free(link);
    }
    jw_key(w, "rate_limit_bps");
    if (g->rate_limit)
        jw_int(w, (long long)g->rate_limit);
    else
        jw_string(w, NULL);
    jw_key(w, "created_by");
    jw_string(w, g->created_by);
    jw_key(w, "created_at");
    jw_time(w, g->created_at);
    jw_close(w, '}');
}

struct grant_at {
    const struct grant *g;
    int64_t now_ms;
};

static void grant_write_any(struct jw *w, const void *obj, bool flag)
{
    const struct grant_at *x = obj;
    grant_write_json(w, x->g, x->now_ms, flag);
}

/* The tree of a grant (tests), parsed back from grant_write_json(): one mapping. */
json_t *grant_to_json(const struct grant *g, int64_t now_ms, bool with_secret)
{
    struct grant_at x = {.g = g, .now_ms = now_ms};
    return jw_tree(grant_write_any, &x, with_secret);
}

json_t *connection_to_json(const struct grant_connection *c)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(c->id));
    json_object_set_new(o, "source", json_string(c->source));
    json_object_set_new(o, "started_at", json_time_or_null(c->started_ms / 1000));
    json_object_set_new(o, "ended_at", json_time_or_null(c->ended_ms / 1000));
    json_object_set_new(o, "started_ms", json_integer(c->started_ms));
    json_object_set_new(o, "ended_ms", c->ended_ms ? json_integer(c->ended_ms) : json_null());
    json_object_set_new(o, "bytes_in", json_integer((json_int_t)c->bytes_in));
    json_object_set_new(o, "bytes_out", json_integer((json_int_t)c->bytes_out));
    json_object_set_new(o, "outcome", json_string(c->outcome));
    /* connections the record stands for: refused ones are summed per source and interval */
    json_object_set_new(o, "count", json_integer((json_int_t)(c->count ? c->count : 1)));
    return o;
}

json_t *user_to_json(const struct user *u)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(u->id));
    json_object_set_new(o, "tenant_id", json_string(u->tenant_id));
    json_object_set_new(o, "email", json_string(u->email));
    json_object_set_new(o, "role", json_string(user_role_name(u->role)));
    json_object_set_new(o, "disabled", json_boolean(u->disabled));
    json_object_set_new(o, "created_at", json_time_or_null(u->created_at));
    json_object_set_new(o, "updated_at", json_time_or_null(u->updated_at));
    json_object_set_new(o, "last_login_at", json_time_or_null(u->last_login_at));
    return o;
}

json_t *node_to_json(const struct store_node *n)
{
    json_t *o = json_object();
    json_object_set_new(o, "name", json_text(n->name));
    json_t *roles = json_array();
    for (const char *p = n->roles; *p;) {
        size_t len = strcspn(p, ",");
        json_array_append_new(roles, json_stringn(p, len));
        p += len + (p[len] == ',');
    }
    json_object_set_new(o, "roles", roles);
    json_object_set_new(o, "region", json_text(n->region));
    json_object_set_new(o, "entry_point", json_text(n->entry_point));
    json_object_set_new(o, "wg_endpoint", json_text(n->wg_endpoint));
    json_object_set_new(o, "tunnel_pool", json_text(n->tunnel_pool));
    json_t *ports = json_null();
    if (n->port_lo > 0) {
        ports = json_object();
        json_object_set_new(ports, "lo", json_integer(n->port_lo));
        json_object_set_new(ports, "hi", json_integer(n->port_hi));
    }
    json_object_set_new(o, "edge_ports", ports);
    json_object_set_new(o, "started_at", time_ms_json(n->started_at_ms));
    json_object_set_new(o, "heartbeat_at", time_ms_json(n->heartbeat_at_ms));
    json_object_set_new(o, "status", json_string(n->alive ? "alive" : "dead"));
    return o;
}
