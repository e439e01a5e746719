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
static json_t *site_tunnel_to_json(const struct site *s)
{
    const struct site_tunnel *t = &s->tunnel;
    json_t *o = json_object();
    json_object_set_new(o, "mode", json_string(tunnel_mode_name(t->mode)));
    json_object_set_new(o, "address", json_str_or_null(s->tunnel_address));
    json_object_set_new(o, "status", json_string(tunnel_status_name(t->status)));
    json_object_set_new(o, "public_key",
                        t->public_key[0] ? json_string(t->public_key) : json_null());
    json_object_set_new(o, "last_handshake_at", json_time_or_null(t->last_handshake_at));
    json_object_set_new(o, "endpoint", t->endpoint[0] ? json_string(t->endpoint) : json_null());
    json_object_set_new(o, "rx_bytes", json_integer((json_int_t)t->rx_bytes));
    json_object_set_new(o, "tx_bytes", json_integer((json_int_t)t->tx_bytes));
    return o;
}

json_t *site_to_json(const struct api *api, const struct site *s, bool with_bootstrap)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(s->id));
    json_object_set_new(o, "name", json_string(s->name));
    json_object_set_new(o, "policy_id", json_string(s->policy_id));
    json_object_set_new(o, "tunnel_address", json_str_or_null(s->tunnel_address));
    json_object_set_new(o, "status", json_string(site_status_name(s->status)));
    json_object_set_new(o, "last_seen_at", json_time_or_null(s->last_seen_at));
    json_object_set_new(o, "identity", json_str_or_null(s->identity));
    json_object_set_new(o, "model", json_str_or_null(s->model));
    json_object_set_new(o, "serial_number", json_str_or_null(s->serial_number));
    json_object_set_new(o, "software_version", json_str_or_null(s->software_version));
    json_object_set_new(o, "created_at", json_time_or_null(s->created_at));
    json_object_set_new(o, "updated_at", json_time_or_null(s->updated_at));
    json_object_set_new(o, "tunnel", site_tunnel_to_json(s));
    json_object_set_new(o, "edge", s->edge_node[0] ? json_string(s->edge_node) : json_null());
    json_object_set_new(o, "region", s->region[0] ? json_string(s->region) : json_null());
    if (!with_bootstrap || !s->bootstrap_token[0]) {
        json_object_set_new(o, "bootstrap_command", json_null());
        json_object_set_new(o, "bootstrap_expires_at", json_null());
    } else {
        int64_t until = site_bootstrap_expires_at(s, api->cfg.bootstrap_ttl_s);
        json_object_set_new(o, "bootstrap_expires_at", json_time_or_null(until));
        struct buf cmd;
        buf_init(&cmd, 8192);
        device_render_bootstrap_command(&cmd, api->cfg.public_url, s->bootstrap_token,
                                        api->cfg.tls_ca_fingerprint);
        json_object_set_new(o, "bootstrap_command", json_string(cmd.data ? cmd.data : ""));
        buf_release(&cmd);
    }
    return o;
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

json_t *grant_to_json(const struct grant *g, int64_t now_ms, bool with_secret)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(g->id));
    json_object_set_new(o, "site_id", json_string(g->site_id));
    if (g->kind == GRANT_ACCESS) {
        json_object_set_new(o, "username", json_string(g->username));
        if (with_secret)
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
    json_object_set_new(o, "authorized_at", json_time_or_null(g->authorized_at_ms / 1000));
    json_object_set_new(o, "expires_at", json_time_or_null(g->expires_at_ms / 1000));
    json_object_set_new(o, "expired", json_boolean(grant_expired(g, now_ms)));
    json_object_set_new(o, "entry_point", json_string(g->entry_point));
    char phrase[64];
    time_phrase_relative(g->expires_at_ms / 1000, now_ms / 1000, phrase, sizeof phrase);
    json_object_set_new(o, "time_to_expire", json_string(phrase));
    if (g->kind == GRANT_ACCESS && !strcmp(g->access_type, "winbox")) {
        /* The link carries the password only where the answer does (F6). */
        char *link = with_secret ? xasprintf("winbox://%s:%d?username=%s&password=%s",
                                             g->entry_point, g->port, g->username, g->password)
                                 : xasprintf("winbox://%s:%d?username=%s", g->entry_point, g->port,
                                             g->username);
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
