#include "plan.h"

#include "alloc.h"
#include "site.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void job_plan_release(struct job_plan *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->ncmds; i++) {
        struct job_cmd *c = &p->cmds[i];
        free(c->menu);
        free(c->find_key);
        free(c->find_value);
        for (size_t j = 0; j < c->nargs; j++) {
            free(c->args[j].key);
            free(c->args[j].value);
        }
        free(c->args);
    }
    free(p->cmds);
    p->cmds = NULL;
    p->ncmds = 0;
}

struct job_cmd *job_plan_add(struct job_plan *p, enum job_verb verb, const char *menu,
                             const char *find_key, const char *find_value)
{
    p->cmds = xrealloc(p->cmds, (p->ncmds + 1) * sizeof *p->cmds);
    struct job_cmd *c = &p->cmds[p->ncmds++];
    memset(c, 0, sizeof *c);
    c->verb = verb;
    c->menu = xstrdup(menu);
    c->find_key = xstrdup(find_key);
    c->find_value = xstrdup(find_value);
    return c;
}

void job_cmd_arg(struct job_cmd *c, const char *key, const char *value)
{
    c->args = xrealloc(c->args, (c->nargs + 1) * sizeof *c->args);
    c->args[c->nargs].key = xstrdup(key);
    c->args[c->nargs].value = xstrdup(value);
    c->nargs++;
}

static char *tag(const char *kind, const char *id)
{
    return xasprintf("tikgate:%s:%s", kind, id);
}

/* networks ∪ trusted ∪ management, without duplicates, comma-joined (owned). */
static char *service_addresses(const struct policy_service *svc, const struct policy *pol,
                               const char *mgmt)
{
    struct strlist all = {0};
    for (size_t i = 0; i < svc->networks.n; i++)
        if (!strlist_contains(&all, svc->networks.items[i]))
            strlist_add(&all, svc->networks.items[i]);
    for (size_t i = 0; i < pol->trusted_networks.n; i++)
        if (!strlist_contains(&all, pol->trusted_networks.items[i]))
            strlist_add(&all, pol->trusted_networks.items[i]);
    struct strlist m = {0};
    strlist_split(&m, mgmt, ',');
    for (size_t i = 0; i < m.n; i++)
        if (!strlist_contains(&all, m.items[i]))
            strlist_add(&all, m.items[i]);
    strlist_release(&m);
    char *s = strlist_join(&all, ',');
    strlist_release(&all);
    return s;
}

/*
 * Adds one accept rule per source of family fam (0 IPv4, 1 IPv6) in srcs to the enabled
 * ports en. top: each before the first static rule, added in reverse so the final order is
 * srcs' order; otherwise appended after the router's own rules.
 */
static void add_accepts(struct job_plan *p, int fam, const struct strlist *srcs, const char *en,
                        const char *t, bool top)
{
    static const char *const menus[2] = {"/ip firewall filter", "/ipv6 firewall filter"};
    for (size_t k = 0; k < srcs->n; k++) {
        const char *src = srcs->items[top ? srcs->n - 1 - k : k];
        if ((strchr(src, ':') != NULL) != (fam == 1))
            continue;
        struct job_cmd *c = job_plan_add(p, JOB_ADD, menus[fam], NULL, NULL);
        job_cmd_arg(c, "chain", "input");
        job_cmd_arg(c, "action", "accept");
        job_cmd_arg(c, "protocol", "tcp");
        job_cmd_arg(c, "dst-port", en);
        job_cmd_arg(c, "src-address", src);
        job_cmd_arg(c, "comment", t);
        if (top)
            job_cmd_arg(c, "place-before", JOB_PLACE_TOP);
    }
}

/*
 * The management filter: accept rules from the management networks and the policy's trusted
 * networks to the enabled services' ports (the api service always), IPv4 sources in /ip
 * firewall, IPv6 ones in /ipv6 firewall. There is no drop rule: a disabled service does not
 * listen (its /ip service entry is disabled), and dropping its port would cut whatever else
 * the router serves there (SSTP on 443, a hotspot or ACME on 80: fidelity #16).
 * The management networks' rules always go on top, before the first static rule (the
 * platform must reach its router through a default configuration's "drop all not coming from
 * LAN"); the trusted networks' rules go on top too with custom_input_rules off, and after the
 * router's own rules with it on (the customer's rules keep priority).
 */
void job_plan_mgmt_filter(struct job_plan *p, const struct policy *pol,
                          const struct job_site_ctx *s)
{
    char *t = tag("mgmt-filter", s->site_id);
    job_plan_add(p, JOB_REMOVE, "/ip firewall filter", "comment", t);
    job_plan_add(p, JOB_REMOVE, "/ipv6 firewall filter", "comment", t);

    /* The api service is never disabled (job_plan_policy): its port is always accepted. */
    struct strlist enabled = {0};
    for (int i = 0; i < SVC_COUNT; i++) {
        char port[8];
        snprintf(port, sizeof port, "%d", pol->svc[i].port);
        if ((pol->svc[i].enabled || i == SVC_API) && !strlist_contains(&enabled, port))
            strlist_add(&enabled, port);
    }
    struct strlist mgmt = {0}, trusted = {0};
    strlist_split(&mgmt, s->mgmt_networks, ',');
    for (size_t i = 0; i < pol->trusted_networks.n; i++)
        if (!strlist_contains(&mgmt, pol->trusted_networks.items[i]) &&
            !strlist_contains(&trusted, pol->trusted_networks.items[i]))
            strlist_add(&trusted, pol->trusted_networks.items[i]);
    char *en = strlist_join(&enabled, ',');
    for (int fam = 0; fam < 2; fam++) {
        /* on top: the trusted block first, then the management block before it */
        add_accepts(p, fam, &trusted, en, t, !pol->custom_input_rules);
        add_accepts(p, fam, &mgmt, en, t, true);
    }
    free(en);
    free(t);
    strlist_release(&mgmt);
    strlist_release(&trusted);
    strlist_release(&enabled);
}

void job_plan_policy(struct job_plan *p, const struct policy *pol, const struct job_site_ctx *s)
{
    /* The api service (our own way in) is set last, always including the management networks. */
    static const int order[SVC_COUNT] = {SVC_WINBOX, SVC_SSH, SVC_HTTP,    SVC_HTTPS,
                                         SVC_TELNET, SVC_FTP, SVC_API_SSL, SVC_API};
    for (int k = 0; k < SVC_COUNT; k++) {
        int i = order[k];
        const struct policy_service *svc = &pol->svc[i];
        struct job_cmd *c = job_plan_add(p, JOB_SET, "/ip service", "name", policy_svc_ros_name[i]);
        c->by_name = true;
        char port[8];
        snprintf(port, sizeof port, "%d", svc->port);
        char *addr = service_addresses(svc, pol, s->mgmt_networks);
        job_cmd_arg(c, "port", port);
        job_cmd_arg(c, "address", addr);
        job_cmd_arg(c, "disabled", (svc->enabled || i == SVC_API) ? "no" : "yes");
        free(addr);
    }
    job_plan_mgmt_filter(p, pol, s);
}

void job_plan_api_user(struct job_plan *p, const char *username, const char *password,
                       const struct job_site_ctx *s)
{
    char *t = tag("api-user", s->site_id);
    struct job_cmd *c = job_plan_add(p, JOB_ENSURE, "/user", "name", username);
    job_cmd_arg(c, "name", username);
    job_cmd_arg(c, "group", "full");
    job_cmd_arg(c, "password", password);
    job_cmd_arg(c, "address", s->mgmt_networks);
    job_cmd_arg(c, "comment", t);
    free(t);
}

bool job_plan_reboots(const struct job_plan *p)
{
    for (size_t i = 0; i < p->ncmds; i++)
        if (p->cmds[i].verb == JOB_REBOOT || p->cmds[i].verb == JOB_UPGRADE)
            return true;
    return false;
}

void job_plan_for_version(struct job_plan *p, const char *ros_version)
{
    if (!site_ros_version_at_least(ros_version, 7, 24))
        return;
    for (size_t i = 0; i < p->ncmds; i++) {
        struct job_cmd *c = &p->cmds[i];
        if (strcmp(c->menu, "/ip service") != 0)
            continue;
        for (size_t k = 0; k < c->nargs; k++) {
            if (strcmp(c->args[k].key, "address") == 0) {
                free(c->args[k].key);
                c->args[k].key = xstrdup("available-from");
            }
        }
    }
}

/* True when c is a forward's masquerade rule (chain=srcnat action=masquerade). */
static bool is_masquerade(const struct job_cmd *c)
{
    bool srcnat = false, masq = false;
    for (size_t k = 0; k < c->nargs; k++) {
        srcnat =
            srcnat || (!strcmp(c->args[k].key, "chain") && !strcmp(c->args[k].value, "srcnat"));
        masq =
            masq || (!strcmp(c->args[k].key, "action") && !strcmp(c->args[k].value, "masquerade"));
    }
    return srcnat && masq;
}

void job_plan_for_site(struct job_plan *p, const struct site *s, const char *tunnel_pool)
{
    job_plan_for_version(p, s->software_version);
    if (s->tunnel.mode != TUNNEL_MODE_MANAGED)
        return;
    uint32_t first, last;
    char edge_ip[16] = "";
    if (tunnel_pool && tunnel_pool_parse(tunnel_pool, &first, &last) == 0)
        tunnel_ip_format(first, edge_ip);
    for (size_t i = 0; i < p->ncmds; i++) {
        struct job_cmd *c = &p->cmds[i];
        if (strcmp(c->menu, "/ip firewall nat") != 0 || c->verb != JOB_ADD)
            continue;
        for (size_t k = 0; k < c->nargs; k++) {
            if (strcmp(c->args[k].key, "in-interface") == 0 &&
                strcmp(c->args[k].value, JOB_MGMT_IFACE) == 0) {
                free(c->args[k].value);
                c->args[k].value = xstrdup(TUNNEL_ROUTER_IF);
            }
        }
        if (edge_ip[0] && is_masquerade(c))
            job_cmd_arg(c, "src-address", edge_ip);
    }
}

static char *grant_tag(const struct grant *g)
{
    return tag(g->kind == GRANT_ACCESS ? "access" : "fwd", g->id);
}

void job_plan_grant_setup(struct job_plan *p, const struct grant *g, const char *mgmt_networks)
{
    char *t = grant_tag(g);
    if (g->kind == GRANT_ACCESS) {
        const char *group = "full";
        if (!g->full_access) {
            /* The default "read" group can still reboot and read secrets: a group of our own. */
            struct job_cmd *c = job_plan_add(p, JOB_ADD_ONCE, "/user group", "name", "tikgate-ro");
            job_cmd_arg(c, "name", "tikgate-ro");
            job_cmd_arg(c, "policy", JOB_RO_POLICY);
            job_cmd_arg(c, "comment", "tikgate:group:read-only");
            /* A group of that name that was already there is not trusted: its policy is set to
             * exactly ours every time (whatever it had, even full). */
            c = job_plan_add(p, JOB_SET, "/user group", "name", "tikgate-ro");
            job_cmd_arg(c, "policy", JOB_RO_POLICY);
            job_cmd_arg(c, "comment", "tikgate:group:read-only");
            group = "tikgate-ro";
        }
        struct job_cmd *c = job_plan_add(p, JOB_ENSURE, "/user", "comment", t);
        job_cmd_arg(c, "name", g->username);
        job_cmd_arg(c, "group", group);
        job_cmd_arg(c, "password", g->password);
        job_cmd_arg(c, "address", mgmt_networks);
        job_cmd_arg(c, "comment", t);
    } else {
        char port[8], dport[8];
        snprintf(port, sizeof port, "%d", g->port);
        snprintf(dport, sizeof dport, "%d", g->dst_port);
        job_plan_add(p, JOB_REMOVE, "/ip firewall nat", "comment", t);
        struct job_cmd *c = job_plan_add(p, JOB_ADD, "/ip firewall nat", NULL, NULL);
        job_cmd_arg(c, "chain", "dstnat");
        job_cmd_arg(c, "action", "dst-nat");
        job_cmd_arg(c, "protocol", "tcp");
        job_cmd_arg(c, "dst-port", port);
        job_cmd_arg(c, "in-interface", JOB_MGMT_IFACE);
        job_cmd_arg(c, "to-addresses", g->dst_address);
        job_cmd_arg(c, "to-ports", dport);
        job_cmd_arg(c, "comment", t);
        if (g->masquerade) {
            c = job_plan_add(p, JOB_ADD, "/ip firewall nat", NULL, NULL);
            job_cmd_arg(c, "chain", "srcnat");
            job_cmd_arg(c, "action", "masquerade");
            job_cmd_arg(c, "protocol", "tcp");
            job_cmd_arg(c, "dst-address", g->dst_address);
            job_cmd_arg(c, "dst-port", dport);
            job_cmd_arg(c, "comment", t);
        }
    }
    free(t);
}

void job_plan_grant_teardown(struct job_plan *p, const struct grant *g)
{
    char *t = grant_tag(g);
    job_plan_add(p, JOB_REMOVE, g->kind == GRANT_ACCESS ? "/user" : "/ip firewall nat", "comment",
                 t);
    free(t);
}

enum job_kind job_grant_kind(const struct grant *g)
{
    return g->kind == GRANT_ACCESS ? JOB_KIND_TRANSIENT_ACCESS : JOB_KIND_TRANSIENT_FORWARD;
}

void job_grant_description(const struct grant *g, enum job_grant_step step, char *out,
                           size_t outlen)
{
    bool access = g->kind == GRANT_ACCESS;
    if (step == JOB_GRANT_SETUP && access)
        snprintf(out, outlen, "Transient %s access for %s", g->access_type, g->username);
    else if (step == JOB_GRANT_SETUP)
        snprintf(out, outlen, "Transient forward to %s:%d", g->dst_address, g->dst_port);
    else
        snprintf(out, outlen, "%s %s %s", step == JOB_GRANT_REVOKE ? "Revoke" : "Expire",
                 access ? "transient access" : "transient forward",
                 access ? g->username : g->dst_address);
}

const char *const job_actions[] = {
    "site.reboot",
    "site.clear_firewall",
    "site.recreate_management_filter",
    "site.resend_api_user",
    "site.recreate_tunnel",
    "site.upgrade",
    NULL,
};

int job_plan_action(struct job_plan *p, const char *action, const struct policy *pol,
                    const char *username, const char *password, const struct job_site_ctx *s,
                    bool *ret_needs_ack)
{
    /* Every action is acknowledged by the router: a reboot (and an upgrade, which reboots) says
     * "done" from a startup scheduler after the boot, or push sees the uptime restart. */
    *ret_needs_ack = true;
    if (!strcmp(action, "site.reboot")) {
        job_plan_add(p, JOB_REBOOT, "/system", NULL, NULL);
    } else if (!strcmp(action, "site.clear_firewall")) {
        /* Filter rules only: NAT carries the LAN's masquerade and live transient forwards.
         * Static rules only: dynamic ones (the fasttrack dummy rule) cannot be removed. */
        job_plan_add(p, JOB_REMOVE, "/ip firewall filter", "dynamic", "no");
        /* Keep the platform's own way in: the management filter comes straight back. */
        job_plan_mgmt_filter(p, pol, s);
    } else if (!strcmp(action, "site.recreate_management_filter")) {
        job_plan_mgmt_filter(p, pol, s);
    } else if (!strcmp(action, "site.resend_api_user")) {
        job_plan_api_user(p, username, password, s);
    } else if (!strcmp(action, "site.recreate_tunnel")) {
        /* tikgate has no VPN of its own yet: re-apply what the tunnel carries (policy, user). */
        job_plan_api_user(p, username, password, s);
        job_plan_policy(p, pol, s);
    } else if (!strcmp(action, "site.upgrade")) {
        /* check-for-updates, then install only when a new version is there (DOC-Upgrade) */
        job_plan_add(p, JOB_UPGRADE, "/system package update", NULL, NULL);
    } else {
        return -EINVAL;
    }
    return 0;
}

void job_plan_tunnel(struct job_plan *p, const struct job_tunnel_peer *t)
{
    char buf[64], port[8];
    struct job_cmd *c =
        job_plan_add(p, JOB_ENSURE, "/interface wireguard peers", "comment", TUNNEL_TAG ":edge");
    job_cmd_arg(c, "interface", TUNNEL_ROUTER_IF);
    job_cmd_arg(c, "public-key", t->edge_public_key);
    job_cmd_arg(c, "endpoint-address", t->endpoint_host);
    snprintf(port, sizeof port, "%u", t->endpoint_port);
    job_cmd_arg(c, "endpoint-port", port);
    snprintf(buf, sizeof buf, "%s/32", t->edge_address);
    job_cmd_arg(c, "allowed-address", buf);
    job_cmd_arg(c, "persistent-keepalive", "25s");
    job_cmd_arg(c, "comment", TUNNEL_TAG ":edge");
    c = job_plan_add(p, JOB_ENSURE, "/ip address", "comment", TUNNEL_TAG ":address");
    snprintf(buf, sizeof buf, "%s/32", t->site_address);
    job_cmd_arg(c, "address", buf);
    job_cmd_arg(c, "network", t->edge_address);
    job_cmd_arg(c, "interface", TUNNEL_ROUTER_IF);
    job_cmd_arg(c, "comment", TUNNEL_TAG ":address");
    /* remove + add on top (not ENSURE): an add before the first static rule falls back to a
     * plain add when there is none, and never names the dynamic fasttrack dummy (#6) */
    job_plan_add(p, JOB_REMOVE, "/ip firewall filter", "comment", TUNNEL_TAG ":input");
    c = job_plan_add(p, JOB_ADD, "/ip firewall filter", NULL, NULL);
    job_cmd_arg(c, "chain", "input");
    job_cmd_arg(c, "in-interface", TUNNEL_ROUTER_IF);
    job_cmd_arg(c, "src-address", t->edge_address);
    job_cmd_arg(c, "action", "accept");
    job_cmd_arg(c, "comment", TUNNEL_TAG ":input");
    job_cmd_arg(c, "place-before", JOB_PLACE_TOP);
}
