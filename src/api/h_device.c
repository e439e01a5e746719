/*
 * h_device.c - the routes routers call (DESIGN.md §3 "Site", altostrat.md §2.10):
 * GET /bootstrap/{token}, POST /adopt/{token}, POST /poll, GET /job/{id}/update.
 *
 * They answer RouterOS scripts (text/plain) in the subset of
 * docs/internals/script-subset.md, and authenticate by the site's bootstrap
 * token, its device token, or a per-job HMAC signature - never by API key.
 */
#include "alloc.h"
#include "api_int.h"
#include "device_script.h"
#include "log.h"
#include "netaddr.h"
#include "rand.h"
#include "store.h"
#include "timefmt.h"

#include <ctype.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FACTS_MAX 8192
/* The interface a router reaches tikgate through (its address is the site's tunnel address;
 * forwards' dst-nat match it): operators name their tunnel so until tikgate runs its own VPN. */
#define ACK_SCHEDULER "tikgate-ack"

static void send_script(struct api_call *call, int status, struct buf *script)
{
    call->res->status = status;
    call->res->content_type = "text/plain; charset=utf-8";
    buf_reset(&call->res->body);
    if (buf_append(&call->res->body, script->data ? script->data : "", script->len) < 0)
        call->res->status = 500;
}

static bool token_ok(const char *t)
{
    size_t n = strlen(t);
    if (n != SITE_TOKEN_LEN)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)t[i]))
            return false;
    return true;
}

static void bad_token(struct api_call *call)
{
    api_fail(call, TG_ERR_NOT_FOUND, 404, "resource_missing", NULL,
             "Unknown or already used bootstrap token.");
}

/*
 * The live site of a bootstrap token: 0 with *ret filled; else the error is answered (404 for
 * an unknown or used token, 410 bootstrap_token_expired past TIKGATE_BOOTSTRAP_TOKEN_TTL, F4)
 * and a negative value returned.
 */
static int site_by_token(struct api_call *call, const char *token, struct site *ret)
{
    struct site s;
    if (!token_ok(token) || store_site_by_bootstrap_token(call->api->store, token, &s) < 0) {
        bad_token(call);
        return -ENOENT;
    }
    if (site_bootstrap_expired(&s, time_now(), call->api->cfg.bootstrap_ttl_s)) {
        site_release(&s);
        api_fail(call, TG_ERR_NOT_FOUND, 410, "bootstrap_token_expired", NULL,
                 "This bootstrap token has expired (tokens are valid for %lld s): issue a new one "
                 "with POST /v1/sites/{id}/bootstrap and run the new bootstrap command.",
                 (long long)(call->api->cfg.bootstrap_ttl_s > 0 ? call->api->cfg.bootstrap_ttl_s
                                                                : SITE_BOOTSTRAP_TTL_DEFAULT));
        return -ETIMEDOUT;
    }
    *ret = s;
    return 0;
}

/*
 * Whether a site gets tikgate's own WireGuard tunnel (DESIGN.md §10): when this node runs the
 * VPN, unless the site is an operator-managed (external) one with its address already set.
 */
static bool site_gets_managed_tunnel(const struct api *api, const struct site *s)
{
    if (!api_vpn_available(api))
        return false;
    return s->tunnel.mode == TUNNEL_MODE_MANAGED || !s->tunnel_address;
}

/*
 * The board facts as script locals $model and $serial. CHR and x86 have no /system routerboard:
 * a script naming it does not even parse there, so it is read through :parse inside :do (the
 * board name stands in for the model).
 */
static void render_board_facts(struct buf *b)
{
    buf_append_str(b,
                   ":local model [/system resource get board-name]\n"
                   ":local serial \"\"\n"
                   ":do {\n"
                   ":local tgModel [:parse \":return [/system routerboard get model]\"]\n"
                   ":local tgSerial [:parse \":return [/system routerboard get serial-number]\"]\n"
                   ":set model [$tgModel]\n"
                   ":set serial [$tgSerial]\n"
                   "} on-error={ :log info \"tikgate: no /system routerboard (CHR or x86)\" }\n");
}

/*
 * The bootstrap of a managed site (RouterOS >= 7.8): create the router's WireGuard interface
 * (reused when it exists: the add fails and is ignored; the router makes its own key, which
 * never leaves it), then send its public key with the facts. A refused adoption (an older
 * RouterOS, a bad key) is a non-2xx answer: the script logs why it stops.
 */
static void render_bootstrap_vpn(struct api *api, const char *token, struct buf *b)
{
    buf_printf(b,
               ":log info \"tikgate: bootstrap (the management VPN needs RouterOS %s or later "
               "with WireGuard)\"\n",
               TUNNEL_MIN_ROS);
    buf_printf(b,
               ":do { /interface wireguard add name=\"%s\" comment=\"%s\" } on-error={ "
               ":log info \"tikgate: reusing interface %s\" }\n",
               TUNNEL_ROUTER_IF, TUNNEL_TAG, TUNNEL_ROUTER_IF);
    buf_printf(b, ":local wgkey [/interface wireguard get [find name=\"%s\"] public-key]\n",
               TUNNEL_ROUTER_IF);
    render_board_facts(b);
    buf_append_str(b, ":local facts (\"identity=\" . [/system identity get name] . \";model=\" . "
                      "$model . \";serial-number=\" . $serial . \";version=\" . "
                      "[/system resource get version] . \";board-name=\" . "
                      "[/system resource get board-name] . \";wg-public-key=\" . $wgkey)\n");
    char *url = xasprintf("%s/adopt/%s", api->cfg.public_url, token);
    buf_append_str(b, ":do { ");
    device_render_fetch(b, url);
    buf_printf(b,
               " http-method=post http-data=$facts dst-path=\"tikgate-adopt.rsc\" } "
               "on-error={ :log error \"tikgate: adoption refused (RouterOS %s or later is "
               "required; the reason is on the site's page)\" }\n",
               TUNNEL_MIN_ROS);
    buf_append_str(b, "/import file-name=\"tikgate-adopt.rsc\"\n");
    free(url);
}

/*
 * The router's half of the tunnel: the edge as its only peer on the interface, its /32 with
 * network= the edge (only the edge is routed into the tunnel). Everything tagged tikgate:mgmt:*
 * and removed first.
 */
static void render_tunnel(const struct store_node *edge, const char *edge_pub, const char *edge_ip,
                          const char *site_ip, struct buf *b)
{
    char host[256];
    unsigned wg_port = 0;
    if (jobs_edge_wg_endpoint(edge, host, &wg_port) < 0) /* checked by check_tunnel_facts */
        host[0] = '\0';
    buf_printf(b, "/interface wireguard peers remove [find comment=\"%s:edge\"]\n", TUNNEL_TAG);
    buf_printf(b,
               "/interface wireguard peers add interface=\"%s\" public-key=\"%s\" "
               "endpoint-address=",
               TUNNEL_ROUTER_IF, edge_pub);
    job_script_quote(b, host);
    buf_printf(b,
               " endpoint-port=%u allowed-address=\"%s/32\" persistent-keepalive=25s "
               "comment=\"%s:edge\"\n",
               wg_port, edge_ip, TUNNEL_TAG);
    buf_printf(b, "/ip address remove [find comment=\"%s:address\"]\n", TUNNEL_TAG);
    buf_printf(b,
               "/ip address add address=\"%s/32\" network=\"%s\" interface=\"%s\" "
               "comment=\"%s:address\"\n",
               site_ip, edge_ip, TUNNEL_ROUTER_IF, TUNNEL_TAG);
}

/*
 * The input accept for the edge's management traffic, at the top (after the policy's rules):
 * before the first static rule, like the policy's block (fidelity #6: on a default
 * configuration the first rule is the dynamic fasttrack dummy, which place-before=0 names and
 * RouterOS refuses to place before; job_render_script's top placement finds the static one).
 */
static void render_tunnel_filter(const char *edge_ip, struct buf *b)
{
    struct job_plan plan = {0};
    job_plan_add(&plan, JOB_REMOVE, "/ip firewall filter", "comment", TUNNEL_TAG ":input");
    struct job_cmd *c = job_plan_add(&plan, JOB_ADD, "/ip firewall filter", NULL, NULL);
    job_cmd_arg(c, "chain", "input");
    job_cmd_arg(c, "in-interface", TUNNEL_ROUTER_IF);
    job_cmd_arg(c, "src-address", edge_ip);
    job_cmd_arg(c, "action", "accept");
    job_cmd_arg(c, "comment", TUNNEL_TAG ":input");
    job_cmd_arg(c, "place-before", JOB_PLACE_TOP);
    job_render_script(&plan, b);
    job_plan_release(&plan);
}

void h_device_bootstrap(struct api_call *call)
{
    const char *token = api_param(call, 0);
    struct site s;
    if (site_by_token(call, token, &s) < 0)
        return;
    struct buf b;
    buf_init(&b, 16384);
    buf_printf(&b, "# tikgate bootstrap for site %s\n", s.id);
    if (site_gets_managed_tunnel(call->api, &s)) {
        render_bootstrap_vpn(call->api, token, &b);
        send_script(call, 200, &b);
        buf_release(&b);
        site_release(&s);
        return;
    }
    /* An external site: the management address is read from the interface named
     * JOB_MGMT_IFACE; without one the adoption is refused with that reason
     * (docs/decisions.md). */
    render_board_facts(&b);
    buf_append_str(&b, ":local tunnel \"\"\n"
                       ":do { :set tunnel [/ip address get [find interface=\"" JOB_MGMT_IFACE
                       "\"] address] } on-error={ :log warning \"tikgate: no single address on "
                       "interface " JOB_MGMT_IFACE "\" }\n"
                       ":local facts (\"identity=\" . [/system identity get name] . \";model=\" . "
                       "$model . \";serial-number=\" . $serial . \";version=\" . "
                       "[/system resource get version] . \";board-name=\" . "
                       "[/system resource get board-name] . \";tunnel-address=\" . $tunnel)\n");
    char *url = xasprintf("%s/adopt/%s", call->api->cfg.public_url, token);
    device_render_fetch(&b, url);
    buf_append_str(&b, " http-method=post http-data=$facts dst-path=\"tikgate-adopt.rsc\"\n");
    buf_append_str(&b, "/import file-name=\"tikgate-adopt.rsc\"\n");
    free(url);
    send_script(call, 200, &b);
    buf_release(&b);
    site_release(&s);
}

struct facts {
    char *identity, *model, *serial, *version, *tunnel, *wg_key;
};

static void facts_release(struct facts *f)
{
    free(f->identity);
    free(f->model);
    free(f->serial);
    free(f->version);
    free(f->tunnel);
    free(f->wg_key);
}

/* Parses "k=v;k=v"; keys [a-z0-9-]+, values without control characters. */
static int parse_facts(const char *body, struct facts *f, struct tg_err *err)
{
    memset(f, 0, sizeof *f);
    const char *p = body;
    int n = 0;
    while (*p) {
        const char *end = strchr(p, ';');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        if (len == 0) {
            p += end ? 1 : 0;
            if (!end)
                break;
            continue;
        }
        if (!eq || eq == p)
            return tg_err_invalid(err, "malformed_facts", NULL,
                                  "Facts must be 'key=value' pairs separated by ';'.");
        for (const char *k = p; k < eq; k++)
            if (!(islower((unsigned char)*k) || isdigit((unsigned char)*k) || *k == '-'))
                return tg_err_invalid(err, "malformed_facts", NULL,
                                      "Fact names use a-z, 0-9 and '-'.");
        for (const char *v = eq + 1; v < p + len; v++)
            if ((unsigned char)*v < 0x20 || *v == 0x7f)
                return tg_err_invalid(err, "malformed_facts", NULL,
                                      "Fact values must not contain control characters.");
        size_t klen = (size_t)(eq - p);
        char *val = xstrndup(eq + 1, len - klen - 1);
        char **slot = NULL;
        if (klen == 8 && !memcmp(p, "identity", 8))
            slot = &f->identity;
        else if (klen == 5 && !memcmp(p, "model", 5))
            slot = &f->model;
        else if (klen == 13 && !memcmp(p, "serial-number", 13))
            slot = &f->serial;
        else if (klen == 7 && !memcmp(p, "version", 7))
            slot = &f->version;
        else if (klen == 14 && !memcmp(p, "tunnel-address", 14))
            slot = &f->tunnel;
        else if (klen == 13 && !memcmp(p, "wg-public-key", 13))
            slot = &f->wg_key;
        if (slot) {
            free(*slot);
            *slot = val;
        } else {
            free(val);
        }
        n++;
        p += len;
        if (*p)
            p++;
    }
    if (n == 0)
        return tg_err_invalid(err, "malformed_facts", NULL, "No facts were sent.");
    if (f->tunnel && !*f->tunnel) { /* the bootstrap found no address on the interface */
        free(f->tunnel);
        f->tunnel = NULL;
    }
    if (f->tunnel) {
        char *slash = strchr(f->tunnel, '/');
        if (slash)
            *slash = '\0';
        char canon[64];
        if (site_normalize_address(f->tunnel, "tunnel-address", canon, sizeof canon, err) < 0)
            return -EINVAL;
        free(f->tunnel);
        f->tunnel = xstrdup(canon);
    }
    return 0;
}

/* The policies the poll scheduler's scripts run with: what its jobs do, reboot (site.reboot,
 * site.upgrade) included; a missing one is "not enough permissions (9)" on the router. */
#define TIKGATE_POLL_POLICY "reboot,read,write,policy,test,password,sensitive"

/* A POST of data to the poll URL, with auth (" http-header-field=...") when not NULL, and
 * tail (" dst-path=..." or " output=none"). */
static void render_poll_post(struct buf *b, const char *url, const char *auth, const char *data,
                             const char *tail)
{
    device_render_fetch(b, url);
    buf_append_str(b, " http-method=post");
    if (auth)
        buf_append_str(b, auth);
    buf_printf(b, " http-data=\"%s\"%s", data, tail);
}

/*
 * The scheduler the router installs, at the very end of the adoption script, then the
 * adoption's confirmation (a poll proves the whole script ran: docs/decisions.md "No push
 * before the router ran its whole adoption script"): poll every interval, import what comes
 * back. tunnel_base (a managed site, the API reachable on the edge's tunnel address): poll
 * there, authenticated by the WireGuard peer, with no device token on the router (F5); NULL:
 * the public URL with the device token.
 */
static void render_scheduler(struct api *api, const char *device_token, const char *tunnel_base,
                             struct buf *b)
{
    struct buf ev;
    buf_init(&ev, 4096);
    char *url = xasprintf("%s/poll", tunnel_base ? tunnel_base : api->cfg.public_url);
    char *hdr = xasprintf("Authorization: Bearer %s", device_token);
    /* Over the tunnel (tunnel_base) the WireGuard peer authenticates the router: no token. */
    char *auth = NULL;
    if (!tunnel_base) {
        struct buf h;
        buf_init(&h, 512);
        buf_append_str(&h, " http-header-field=");
        job_script_quote(&h, hdr);
        auth = buf_steal(&h);
    }
    render_poll_post(&ev, url, auth, "heartbeat", " dst-path=\"tikgate-job.rsc\"; ");
    /* RouterOS refuses a job with a syntax error before running any of it (no busy, no fail
     * report). From 7.16 an on-error around /import catches that: tell tikgate at once. Older
     * versions say nothing; the job then fails after STORE_PULL_MAX_DOWNLOADS downloads. */
    buf_append_str(&ev, ":do { /import file-name=\"tikgate-job.rsc\" } on-error={ ");
    render_poll_post(&ev, url, auth, "import-failed", " output=none }; ");
    buf_append_str(&ev, "/file remove [find name=\"tikgate-job.rsc\"]");
    buf_printf(b,
               "/system scheduler add name=\"tikgate-poll\" interval=%ds start-time=startup "
               "policy=\"" TIKGATE_POLL_POLICY "\" "
               "comment=\"tikgate:poll\" on-event=",
               api->cfg.poll_interval_s);
    job_script_quote(b, ev.data);
    buf_append_str(b, "\n");
    /* The adoption's last word (store_site_heartbeat marks the site configured). A failed
     * fetch leaves that to the scheduler's first poll. */
    buf_append_str(b, ":do { ");
    render_poll_post(b, url, auth, "adopted", " output=none } on-error={ :log warning ");
    buf_append_str(b, "\"tikgate: the adoption could not be confirmed; the first poll will\" }\n");
    sodium_memzero(hdr, strlen(hdr));
    free(hdr);
    if (auth) {
        sodium_memzero(auth, strlen(auth));
        free(auth);
    }
    free(url);
    sodium_memzero(ev.data, ev.len);
    buf_release(&ev);
}

/*
 * A managed tunnel needs RouterOS >= TUNNEL_MIN_ROS and the router's WireGuard public key, and
 * this edge's keypair; fills the pool bounds and the edge's address and key. 0, or -EINVAL after
 * answering the error (the bootstrap token stays unused: re-run after fixing the router).
 */
static int check_tunnel_facts(struct api_call *call, struct site *s, const struct facts *f,
                              uint32_t *ret_first, uint32_t *ret_last, char edge_ip[16],
                              char edge_pub[TUNNEL_KEY_B64_LEN + 1], struct store_node *ret_edge)
{
    if (!tunnel_ros_version_ok(f->version)) {
        api_fail(call, TG_ERR_INVALID_REQUEST, 422, "routeros_version_unsupported", "version",
                 "The management VPN needs RouterOS %s or later (WireGuard); this router runs "
                 "%s. Upgrade it and run the bootstrap command again.",
                 TUNNEL_MIN_ROS, f->version ? f->version : "an unknown version");
        return -EINVAL;
    }
    if (!f->wg_key || !tunnel_key_valid(f->wg_key)) {
        api_fail(call, TG_ERR_INVALID_REQUEST, 400, "invalid_wireguard_key", "wg-public-key",
                 "The router sent no valid WireGuard public key (44 characters of base64) for "
                 "interface %s.",
                 TUNNEL_ROUTER_IF);
        return -EINVAL;
    }
    char host[256];
    unsigned port;
    if (api_site_edge(call, s, true, ret_edge) < 0)
        return -EINVAL;
    if (tunnel_pool_parse(ret_edge->tunnel_pool, ret_first, ret_last) < 0 ||
        jobs_edge_wg_endpoint(ret_edge, host, &port) < 0 ||
        store_vpn_edge_public(call->api->store, ret_edge->entry_point, edge_pub) < 0) {
        api_fail(call, TG_ERR_API, 503, "vpn_unavailable", NULL,
                 "The edge's WireGuard interface is not ready; try again.");
        return -EINVAL;
    }
    tunnel_ip_format(*ret_first, edge_ip);
    return 0;
}

/*
 * An external site's router reports its tunnel address (the operator's own VPN): the rules of
 * tunnel_address_check(), not this node's, and not another tenant's router (F1). A site that
 * was adopted before (re-armed by POST .../bootstrap) is adopted again only at the address it
 * has (F4): a re-adoption never moves where tikgate sends the API password; an admin changes
 * the address first. 0, or -EINVAL after answering the error.
 */
static int check_reported_address(struct api_call *call, const struct site *s, const char *addr)
{
    struct tg_err err;
    bool taken = false;
    if (s->adopted_at && s->tunnel_address && strcmp(addr, s->tunnel_address) != 0) {
        api_fail(call, TG_ERR_CONFLICT, 409, "tunnel_address_changed", "tunnel-address",
                 "This site was adopted at tunnel address %s; the router reports %s. Adopting "
                 "again keeps the address: an admin sets the new one on the site first.",
                 s->tunnel_address, addr);
        return -EINVAL;
    }
    if (tunnel_address_check(addr, call->api->cfg.mgmt_networks, call->api->cfg.tunnel_pool,
                             "tunnel-address", &err) < 0) {
        api_send_error(call, &err);
        return -EINVAL;
    }
    if (netaddr_is_local(addr)) {
        api_fail(call, TG_ERR_INVALID_REQUEST, 400, "tunnel_address_forbidden", "tunnel-address",
                 "'%s' is an address of this node: a tunnel address must be a router's.", addr);
        return -EINVAL;
    }
    if (store_tunnel_address_taken(call->api->store, s->id, s->tenant_id, addr, &taken) == 0 &&
        taken) {
        api_fail(call, TG_ERR_CONFLICT, 409, "tunnel_address_taken", "tunnel-address",
                 "Another site has the tunnel address %s.", addr);
        return -EINVAL;
    }
    return 0;
}

/* Answers a refused adoption (nothing was stored) in the error shape. */
static void fail_adoption(struct api_call *call, int r, bool managed)
{
    if (r == -EEXIST && managed) {
        api_fail(call, TG_ERR_CONFLICT, 409, "wireguard_key_in_use", "wg-public-key",
                 "Another site's router has this WireGuard key: create a new key on the router "
                 "(remove interface %s) and run the bootstrap again.",
                 TUNNEL_ROUTER_IF);
    } else if (r == -EADDRNOTAVAIL) {
        api_fail(call, TG_ERR_API, 503, "tunnel_pool_exhausted", NULL,
                 "The tunnel pool %s has no free address.", call->api->cfg.tunnel_pool);
    } else {
        api_fail_store(call, r, "site");
    }
}

/* The tunnel half of an adoption reply (managed sites only; borrowed). */
struct adopt_tunnel {
    bool managed;
    const char *edge_pub, *edge_ip, *tunnel_ip;
    const struct store_node *edge;
};

/*
 * The adopt reply: the router's side of the tunnel (managed sites), the poll scheduler, the
 * platform's API user with the current credential cur, the policy, the tunnel's input accept.
 * The script holds the API password: wiped once sent.
 */
static void send_adopt_reply(struct api_call *call, const struct site *s, const char *ros_version,
                             const struct policy *pol, const struct credential *cur,
                             const char *device_token, const struct adopt_tunnel *tun)
{
    struct buf b;
    buf_init(&b, (size_t)1 << 20);
    buf_printf(&b, "# tikgate: site %s adopted\n", s->id);
    device_render_file_remove(&b, "tikgate-adopt.rsc"); /* it holds the API password */
    if (tun->managed)
        render_tunnel(tun->edge, tun->edge_pub, tun->edge_ip, tun->tunnel_ip, &b);
    /* an earlier adoption's scheduler must not poll while this script runs */
    buf_append_str(&b, "/system scheduler remove [find name=\"tikgate-poll\"]\n");
    struct job_plan plan = {0};
    struct job_site_ctx ctx = {.site_id = s->id, .mgmt_networks = call->api->cfg.mgmt_networks};
    job_plan_api_user(&plan, cur->username, cur->password, &ctx);
    job_plan_policy(&plan, pol, &ctx);
    job_plan_for_version(&plan, ros_version);
    job_render_script(&plan, &b);
    job_plan_release(&plan);
    if (tun->managed)
        render_tunnel_filter(tun->edge_ip, &b);
    render_scheduler(call->api, device_token, tun->managed ? call->api->cfg.tunnel_url : NULL, &b);
    buf_append_str(&b, ":log info \"tikgate: adoption complete\"\n");
    send_script(call, 200, &b);
    sodium_memzero(b.data, b.len);
    buf_release(&b);
}

void h_device_adopt(struct api_call *call)
{
    const char *token = api_param(call, 0);
    struct site s;
    if (site_by_token(call, token, &s) < 0)
        return;
    struct tg_err err;
    struct facts f;
    if (call->req->body_len > FACTS_MAX || call->req->body_too_large) {
        site_release(&s);
        api_fail(call, TG_ERR_INVALID_REQUEST, 413, "body_too_large", NULL,
                 "Facts are limited to %d bytes.", FACTS_MAX);
        return;
    }
    if (!call->req->body || parse_facts(call->req->body, &f, &err) < 0) {
        if (!call->req->body)
            tg_err_invalid(&err, "malformed_facts", NULL, "No facts were sent.");
        else
            facts_release(&f);
        site_release(&s);
        api_send_error(call, &err);
        return;
    }
    struct policy pol;
    struct credential *creds = NULL;
    size_t ncreds = 0;
    int r = store_policy_get(call->api->store, s.tenant_id, s.policy_id, 0, &pol);
    if (r == 0) {
        r = store_credential_list(call->api->store, s.tenant_id, s.id, &creds, &ncreds);
        if (r < 0)
            policy_release(&pol);
    }
    if (r < 0 || ncreds == 0) {
        facts_release(&f);
        site_release(&s);
        api_fail_store(call, r < 0 ? r : -EIO, "site");
        return;
    }
    bool managed = site_gets_managed_tunnel(call->api, &s);
    if (!managed && !f.tunnel) {
        /* An external site: no hidden dependency on tikgate-mgmt; the router is told why, in
         * its log, and nothing is adopted (docs/decisions.md). */
        log_warn("device",
                 "site %s: adoption refused: the router has no interface named " JOB_MGMT_IFACE
                 " with an address (facts: identity %s)",
                 s.id, f.identity ? f.identity : "?");
        struct buf b;
        buf_init(&b, 1024);
        buf_append_str(&b, "# tikgate: adoption refused\n"
                           ":log error \"tikgate: adoption refused: name the interface tikgate "
                           "reaches this router through " JOB_MGMT_IFACE " and give it its "
                           "IPv4 address, then run the bootstrap command again\"\n"
                           ":error \"tikgate: no interface " JOB_MGMT_IFACE "\"\n");
        send_script(call, 200, &b);
        buf_release(&b);
        store_credential_array_free(creds, ncreds);
        policy_release(&pol);
        facts_release(&f);
        site_release(&s);
        return;
    }
    if (!managed && f.tunnel && check_reported_address(call, &s, f.tunnel) < 0) {
        store_credential_array_free(creds, ncreds);
        policy_release(&pol);
        facts_release(&f);
        site_release(&s);
        return;
    }
    char tunnel_ip[16] = "", edge_ip[16] = "", edge_pub[TUNNEL_KEY_B64_LEN + 1] = "";
    uint32_t pool_first = 0, pool_last = 0;
    struct store_node edge;
    memset(&edge, 0, sizeof edge);
    if (managed &&
        check_tunnel_facts(call, &s, &f, &pool_first, &pool_last, edge_ip, edge_pub, &edge) < 0) {
        store_credential_array_free(creds, ncreds);
        policy_release(&pol);
        facts_release(&f);
        site_release(&s);
        return;
    }
    char device_token[SITE_TOKEN_LEN + 1];
    rand_base62(device_token, SITE_TOKEN_LEN);
    struct store_adoption adoption = {
        .facts = call->req->body,
        .identity = f.identity,
        .model = f.model,
        .serial = f.serial,
        .version = f.version,
        .tunnel_address = f.tunnel,
        .device_token = device_token,
    };
    /* An external site gets its edge now too (errors: at its first grant), before it is
     * online: whoever sees it online sees its edge. Sticky even if the adoption fails. */
    if (!managed) {
        struct jobs_edge_env env = api_edge_env(call->api);
        (void)jobs_site_edge(&env, &s, false, &edge);
    }
    /* The /32 and the adoption in one transaction: a refused adoption assigns nothing. */
    r = store_tx_begin(call->api->store);
    if (r == 0) {
        if (managed) {
            r = store_site_tunnel_assign(call->api->store, s.id, f.wg_key, pool_first + 1,
                                         pool_last, tunnel_ip);
            adoption.tunnel_address = tunnel_ip;
        }
        if (r == 0)
            r = store_site_adopt(call->api->store, s.id, &adoption);
        r = store_tx_end(call->api->store, r);
    }
    if (r < 0) {
        fail_adoption(call, r, managed);
        goto out;
    }
    /* the adopt reply installs the newest credential: the router has it once it runs it, and
     * a pending one left from before (a re-adoption) is the one it gets */
    store_credential_confirm(call->api->store, s.id, creds[ncreds - 1].id, NULL);
    if (managed && call->api->cfg.tunnels_changed)
        call->api->cfg.tunnels_changed(call->api->cfg.tunnels_ctx);
    struct adopt_tunnel tun = {managed, edge_pub, edge_ip, tunnel_ip, &edge};
    send_adopt_reply(call, &s, f.version, &pol, &creds[ncreds - 1], device_token, &tun);
    log_info("device", "site %s adopted (identity %s, tunnel %s%s)", s.id,
             f.identity ? f.identity : "?",
             managed    ? tunnel_ip
             : f.tunnel ? f.tunnel
                        : "?",
             managed ? ", managed" : "");
out:
    sodium_memzero(device_token, sizeof device_token);
    store_credential_array_free(creds, ncreds);
    policy_release(&pol);
    facts_release(&f);
    site_release(&s);
}

/* A signed report URL under base (the public URL, or the tunnel URL for a poll that came in
 * through the tunnel). */
static void job_url(struct api *api, const char *base, const char *job_id, const char *status,
                    struct buf *b)
{
    char msg[64], sig[65];
    snprintf(msg, sizeof msg, "%s:%s", job_id, status);
    store_mac_hex(api->store, msg, sig);
    char *url = xasprintf("%s/job/%s/update?status=%s&signature=%s", base, job_id, status, sig);
    device_render_fetch(b, url);
    buf_append_str(b, " output=none\n");
    free(url);
}

/* The startup scheduler that reports "done" once the router is back from the reboot the job
 * asks for (start-time=startup with interval 0 runs once, after boot). */
static void ack_scheduler(struct api *api, const char *base, const char *job_id, struct buf *b)
{
    struct buf ev;
    buf_init(&ev, 4096);
    buf_append_str(&ev, ":delay 5s; ");
    struct buf line;
    buf_init(&line, 4096);
    job_url(api, base, job_id, job_router_status_name(JOB_ROUTER_DONE), &line);
    if (line.len && line.data[line.len - 1] == '\n')
        line.data[--line.len] = '\0';
    buf_append(&ev, line.data, line.len);
    /* the job's file stays when the reboot cut the job short: gone after the boot */
    buf_append_str(&ev, "; /file remove [find name=\"tikgate-job.rsc\"]; "
                        "/system scheduler remove [find name=\"" ACK_SCHEDULER "\"]");
    buf_append_str(b, "/system scheduler remove [find name=\"" ACK_SCHEDULER "\"]\n");
    buf_append_str(b, "/system scheduler add name=\"" ACK_SCHEDULER "\" start-time=startup "
                      "interval=0s policy=\"" TIKGATE_POLL_POLICY "\" "
                      "comment=\"tikgate:ack\" on-event=");
    job_script_quote(b, ev.data);
    buf_append_str(b, "\n");
    buf_release(&line);
    buf_release(&ev);
}

void h_device_poll(struct api_call *call)
{
    const char *h = call->req->authorization;
    struct site s;
    /*
     * A managed router polls through the tunnel without a token: a TCP peer whose source is a
     * managed site's /32 can only be that site's WireGuard peer (replies to it are routed into
     * the edge's interface, which hands them only to the peer owning that allowed IP).
     */
    bool via_tunnel = !h && call->api->cfg.vpn_enabled && call->api->cfg.tunnel_url &&
                      store_site_by_tunnel_peer(call->api->store, call->req->client_addr, &s) == 0;
    if (!via_tunnel && (!h || strncasecmp(h, "Bearer ", 7) != 0 || !token_ok(h + 7) ||
                        store_site_by_device_token(call->api->store, h + 7, &s) < 0)) {
        http_response_header(call->res, "WWW-Authenticate", "Bearer");
        api_fail(call, TG_ERR_AUTHENTICATION, 401, "invalid_device_token", NULL,
                 "Unknown device token.");
        return;
    }
    if (store_site_heartbeat(call->api->store, s.id, time_now()) == 1)
        log_info("device", "site %s is back online", s.id);
    struct buf b;
    buf_init(&b, (size_t)4 << 20);
    /* "adopted": the adoption script's last line (the heartbeat above marked the site
     * configured); "import-failed": the poll scheduler's on-error, RouterOS refused the job it
     * fetched (7.16+). Neither gets a job. */
    const char *body = call->req->body;
    if (body && (!strcmp(body, "adopted") || !strcmp(body, "import-failed"))) {
        if (!strcmp(body, "import-failed") && store_job_pull_refused(call->api->store, s.id) == 0)
            log_warn("device", "site %s: the router refused its job script (syntax error)", s.id);
        buf_append_str(&b, "# tikgate: noted\n");
        send_script(call, 200, &b);
        buf_release(&b);
        site_release(&s);
        return;
    }
    struct job j;
    int r;
    int64_t lease_ms =
        (int64_t)(call->api->cfg.pull_lease_s > 0 ? call->api->cfg.pull_lease_s : 600) * 1000;
    /* -EBADMSG: the store failed that job with the reason; the next claim takes another. */
    while ((r = store_job_claim_pull(call->api->store, s.id, time_now_ms(),
                                     time_now_ms() + lease_ms, &j)) == -EBADMSG)
        log_warn("device",
                 "site %s: a job failed: its payload cannot be unsealed (wrong master "
                 "key or corrupted data)",
                 s.id);
    if (r < 0) {
        buf_append_str(&b, "# tikgate: nothing to do\n");
        send_script(call, 200, &b);
        buf_release(&b);
        site_release(&s);
        return;
    }
    struct job_plan plan = {0};
    bool plan_ok = !j.is_script && job_plan_parse(j.payload, &plan) == 0;
    bool reboots = plan_ok && job_plan_reboots(&plan);
    buf_printf(&b, "# tikgate job %s (%s)\n:do {\n", j.token, job_kind_name(j.kind));
    const char *base = via_tunnel ? call->api->cfg.tunnel_url : call->api->cfg.public_url;
    job_url(call->api, base, j.id, job_router_status_name(JOB_ROUTER_BUSY), &b);
    if (reboots) {
        /* The router confirms a reboot after it: a startup entry reports done and removes
         * itself. Removed again below when the job ends without rebooting (an up-to-date
         * upgrade) or fails. */
        ack_scheduler(call->api, base, j.id, &b);
    }
    if (j.is_script) {
        buf_append_str(&b, j.payload);
        buf_append_str(&b, "\n");
    } else if (plan_ok) {
        job_plan_for_site(&plan, &s, call->api->cfg.tunnel_pool);
        job_render_script(&plan, &b);
    }
    job_plan_release(&plan);
    if (reboots)
        buf_append_str(&b, "/system scheduler remove [find name=\"" ACK_SCHEDULER "\"]\n");
    job_url(call->api, base, j.id, job_router_status_name(JOB_ROUTER_DONE), &b);
    buf_append_str(&b, "} on-error={\n");
    if (reboots)
        buf_append_str(&b, "/system scheduler remove [find name=\"" ACK_SCHEDULER "\"]\n");
    job_url(call->api, base, j.id, job_router_status_name(JOB_ROUTER_FAIL), &b);
    buf_append_str(&b, "}\n");
    /* The file this answer was imported from holds the job (passwords): not left behind, also
     * by routers whose scheduler predates its own /file remove. */
    device_render_file_remove(&b, "tikgate-job.rsc");
    send_script(call, 200, &b);
    sodium_memzero(b.data, b.len);
    buf_release(&b);
    job_release(&j);
    site_release(&s);
}

/*
 * Two-phase rotation (issue 14): a completed job that set an API password on the router makes
 * that credential current (store_credential_confirm_job; most jobs set none: -ENOENT).
 */
static void confirm_credential_of(struct api *api, const char *job_id)
{
    struct job j;
    if (store_job_get_any(api->store, job_id, &j) < 0)
        return;
    bool done = j.status == JOB_COMPLETED;
    job_release(&j);
    bool changed = false;
    if (done && store_credential_confirm_job(api->store, job_id, &changed) == 0 && changed)
        log_info("device", "job %s: the router has the new API password: it is current now",
                 job_id);
}

void h_device_job_update(struct api_call *call)
{
    const char *id = api_param(call, 0);
    const char *status = http_request_query(call->req, "status");
    const char *sig = http_request_query(call->req, "signature");
    if (!uuid_is_valid(id)) {
        api_fail(call, TG_ERR_NOT_FOUND, 404, "resource_missing", NULL, "No such job.");
        return;
    }
    enum job_router_status rs;
    if (job_router_status_parse(status, &rs) < 0) {
        api_fail(call, TG_ERR_INVALID_REQUEST, 400, "parameter_invalid", "status",
                 "status must be busy, done or fail.");
        return;
    }
    char msg[64];
    snprintf(msg, sizeof msg, "%s:%s", id, status);
    if (!store_mac_verify(call->api->store, msg, sig)) {
        api_fail(call, TG_ERR_PERMISSION, 403, "invalid_signature", "signature",
                 "The signature does not match this job and status.");
        return;
    }
    int r = store_job_router_update(call->api->store, id, rs);
    if (r == -EBUSY) {
        api_fail(call, TG_ERR_CONFLICT, 409, "job_finished", NULL, "The job has already finished.");
        return;
    }
    if (r < 0) {
        api_fail_store(call, r, "job");
        return;
    }
    confirm_credential_of(call->api, id);
    struct buf b;
    buf_init(&b, 64);
    buf_append_str(&b, "ok\n");
    send_script(call, 200, &b);
    buf_release(&b);
}

/* GET /ca.pem: the CA of TIKGATE_TLS_CA, which the bootstrap command verifies by fingerprint. */
void h_device_ca(struct api_call *call)
{
    const char *pem = call->api->cfg.tls_ca_pem;
    if (!pem) {
        api_fail(call, TG_ERR_NOT_FOUND, 404, "resource_missing", NULL,
                 "No CA certificate is configured (TIKGATE_TLS_CA).");
        return;
    }
    call->res->content_type = "application/x-pem-file";
    buf_reset(&call->res->body);
    if (buf_append_str(&call->res->body, pem) < 0)
        call->res->status = 500;
}
