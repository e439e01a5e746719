/*
 * state.c - the simulator's RouterOS-shaped configuration.
 *
 * Every menu is a table of fields (struct sim_field) and an ordered array of
 * items whose values are aligned with the fields. Values are strings, as on
 * the API; booleans are normalised to "true"/"false". Validation happens
 * before anything is changed, so a refused add/set leaves the state as it was.
 * The state file (JSON) is written by state_json.c.
 */
#include "alloc.h"
#include "cidr.h"
#include "clock.h"
#include "log.h"
#include "login.h"
#include "sim.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const struct sim_field user_fields[] = {
    {"name", SIM_F_REQUIRED | SIM_F_UNIQUE, NULL, NULL},
    {"password", SIM_F_SECRET, "", NULL},
    {"group", SIM_F_REQUIRED | SIM_F_GROUP, NULL, NULL},
    {"address", SIM_F_NETLIST, "", NULL},
    {"comment", 0, NULL, NULL},
    {"disabled", SIM_F_BOOL, "false", NULL},
};

static const struct sim_field group_fields[] = {
    {"name", SIM_F_REQUIRED | SIM_F_UNIQUE, NULL, NULL},
    {"policy", SIM_F_POLICY, "", NULL},
    {"comment", 0, NULL, NULL},
};

/* dynamic, connection, local, remote: RouterOS >= 7.19 (connection entries; set on the static
 * entries only from 7.19, so older versions print no dynamic property). */
static const struct sim_field service_fields[] = {
    {"name", SIM_F_READONLY | SIM_F_UNIQUE, NULL, NULL},
    {"port", SIM_F_PORT, NULL, NULL},
    {"address", SIM_F_NETLIST, "", NULL},
    {"disabled", SIM_F_BOOL, "false", NULL},
    {"dynamic", SIM_F_READONLY | SIM_F_BOOL, NULL, NULL},
    {"connection", SIM_F_READONLY | SIM_F_BOOL, NULL, NULL},
    {"local", SIM_F_READONLY, NULL, NULL},
    {"remote", SIM_F_READONLY, NULL, NULL},
};

#define NAT_ACTIONS                                                                                \
    ",accept,dst-nat,src-nat,masquerade,redirect,netmap,same,return,jump,passthrough,log,"         \
    "endpoint-independent-nat,"
#define FILTER_ACTIONS                                                                             \
    ",accept,drop,reject,jump,return,log,passthrough,tarpit,fasttrack-connection,"                 \
    "add-src-to-address-list,add-dst-to-address-list,"

/* ip: SIM_F_IP4 (/ip firewall) or SIM_F_IP6 (/ipv6 firewall) on the address fields. dynamic:
 * rules the router made itself (the fasttrack dummy rule); they cannot be changed, removed or
 * placed before. */
#define FIREWALL_FIELDS(actions, ip)                                                               \
    {"chain", SIM_F_REQUIRED, NULL, NULL}, {"action", SIM_F_ENUM, "accept", actions},              \
        {"protocol", 0, NULL, NULL}, {"src-address", ip, NULL, NULL},                              \
        {"dst-address", ip, NULL, NULL}, {"src-port", 0, NULL, NULL}, {"dst-port", 0, NULL, NULL}, \
        {"to-addresses", ip, NULL, NULL}, {"to-ports", 0, NULL, NULL},                             \
        {"in-interface", SIM_F_IFACE, NULL, NULL}, {"in-interface-list", 0, NULL, NULL},           \
        {"out-interface", SIM_F_IFACE, NULL, NULL}, {"out-interface-list", 0, NULL, NULL},         \
        {"src-address-list", 0, NULL, NULL}, {"dst-address-list", 0, NULL, NULL},                  \
        {"connection-state", 0, NULL, NULL}, {"connection-nat-state", 0, NULL, NULL},              \
        {"ipsec-policy", 0, NULL, NULL}, {"hw-offload", SIM_F_BOOL, NULL, NULL},                   \
        {"comment", 0, NULL, NULL}, {"disabled", SIM_F_BOOL, "false", NULL},                       \
        {"dynamic", SIM_F_READONLY | SIM_F_BOOL, "false", NULL},

static const struct sim_field nat_fields[] = {FIREWALL_FIELDS(NAT_ACTIONS, SIM_F_IP4)};
static const struct sim_field filter_fields[] = {FIREWALL_FIELDS(FILTER_ACTIONS, SIM_F_IP4)};
static const struct sim_field filter6_fields[] = {FIREWALL_FIELDS(FILTER_ACTIONS, SIM_F_IP6)};

static const struct sim_field addrlist_fields[] = {
    {"list", SIM_F_REQUIRED, NULL, NULL},    {"address", SIM_F_REQUIRED | SIM_F_IP4, NULL, NULL},
    {"timeout", SIM_F_DURATION, NULL, NULL}, {"comment", 0, NULL, NULL},
    {"disabled", SIM_F_BOOL, "false", NULL}, {"dynamic", SIM_F_BOOL, "false", NULL},
};

static const struct sim_field route_fields[] = {
    {"dst-address", SIM_F_IP4, "0.0.0.0/0", NULL},
    {"gateway", 0, NULL, NULL},
    {"distance", 0, "1", NULL},
    {"routing-table", 0, "main", NULL},
    {"comment", 0, NULL, NULL},
    {"disabled", SIM_F_BOOL, "false", NULL},
    {"dynamic", SIM_F_READONLY | SIM_F_BOOL, "false", NULL},
};

static const struct sim_field interface_fields[] = {
    {"name", SIM_F_REQUIRED | SIM_F_UNIQUE, NULL, NULL},
    {"type", SIM_F_READONLY, NULL, NULL},
    {"mtu", 0, NULL, NULL},
    {"comment", 0, NULL, NULL},
    {"disabled", SIM_F_BOOL, "false", NULL},
    {"running", SIM_F_READONLY | SIM_F_RUNTIME | SIM_F_BOOL, "true", NULL},
};

static const struct sim_field sched_fields[] = {
    {"name", SIM_F_REQUIRED | SIM_F_UNIQUE, NULL, NULL},
    {"start-date", 0, NULL, NULL},
    {"start-time", 0, "startup", NULL},
    {"interval", SIM_F_DURATION, "0s", NULL},
    {"on-event", 0, "", NULL},
    {"policy", SIM_F_POLICY, "ftp,reboot,read,write,policy,test,password,sniff,sensitive,romon",
     NULL},
    {"comment", 0, NULL, NULL},
    {"disabled", SIM_F_BOOL, "false", NULL},
};

static const struct sim_field cert_fields[] = {
    {"name", SIM_F_REQUIRED | SIM_F_UNIQUE, NULL, NULL},
    {"fingerprint", 0, NULL, NULL},
    {"trusted", SIM_F_BOOL, "true", NULL},
    {"pem", SIM_F_SECRET, NULL, NULL}, /* the certificate itself (not a RouterOS property) */
    {"comment", 0, NULL, NULL},
};

const struct sim_menu_def sim_menu_defs[SIM_M_COUNT] = {
    [SIM_M_USER] = {"user", "/user", 0, user_fields, COUNT(user_fields), 0, NULL},
    [SIM_M_GROUP] = {"user/group", "/user group", 0, group_fields, COUNT(group_fields), 0, NULL},
    [SIM_M_SERVICE] = {"ip/service", "/ip service", SIM_MENU_FIXED, service_fields,
                       COUNT(service_fields), 0, NULL},
    [SIM_M_NAT] = {"ip/firewall/nat", "/ip firewall nat", SIM_MENU_ORDERED, nat_fields,
                   COUNT(nat_fields), -1, NULL},
    [SIM_M_FILTER] = {"ip/firewall/filter", "/ip firewall filter", SIM_MENU_ORDERED, filter_fields,
                      COUNT(filter_fields), -1, NULL},
    [SIM_M_SCHED] = {"system/scheduler", "/system scheduler", 0, sched_fields, COUNT(sched_fields),
                     0, NULL},
    [SIM_M_ADDRESS] = {"ip/address", "/ip address", 0, sim_address_fields, SIM_ADDRESS_NFIELDS, -1,
                       sim_address_validate},
    [SIM_M_WG] = {"interface/wireguard", "/interface wireguard", 0, sim_wg_fields, SIM_WG_NFIELDS,
                  0, sim_wg_validate},
    [SIM_M_WG_PEER] = {"interface/wireguard/peers", "/interface wireguard peers", 0,
                       sim_wg_peer_fields, SIM_WG_PEER_NFIELDS, 8, sim_wg_peer_validate},
    [SIM_M_CERT] = {"certificate", "/certificate", SIM_MENU_NO_ADD, cert_fields, COUNT(cert_fields),
                    0, NULL},
    [SIM_M_INTERFACE] = {"interface", "/interface", SIM_MENU_NO_ADD | SIM_MENU_NO_REMOVE,
                         interface_fields, COUNT(interface_fields), 0, NULL},
    [SIM_M_FILTER6] = {"ipv6/firewall/filter", "/ipv6 firewall filter", SIM_MENU_ORDERED,
                       filter6_fields, COUNT(filter6_fields), -1, NULL},
    [SIM_M_ADDRLIST] = {"ip/firewall/address-list", "/ip firewall address-list", 0, addrlist_fields,
                        COUNT(addrlist_fields), -1, NULL},
    [SIM_M_ROUTE] = {"ip/route", "/ip route", 0, route_fields, COUNT(route_fields), -1, NULL},
};

static const char *const policy_names[] = {
    "local",  "telnet",   "ssh", "ftp",   "reboot",    "read", "write", "policy",   "test",
    "winbox", "password", "web", "sniff", "sensitive", "api",  "romon", "rest-api", "dude",
};

static const struct {
    const char *name;
    const char *port;
} default_services[] = {
    {"telnet", "23"},   {"ftp", "21"},   {"www", "80"},      {"ssh", "22"},
    {"www-ssl", "443"}, {"api", "8728"}, {"winbox", "8291"}, {"api-ssl", "8729"},
};

#define POLICY_FULL                                                                                \
    "local,telnet,ssh,ftp,reboot,read,write,policy,test,winbox,password,web,sniff,sensitive,api,"  \
    "romon,rest-api"
#define POLICY_READ                                                                                \
    "local,telnet,ssh,reboot,read,test,winbox,password,web,sniff,sensitive,api,romon,rest-api,"    \
    "!ftp,!write,!policy"
#define POLICY_WRITE                                                                               \
    "local,telnet,ssh,reboot,read,write,test,winbox,password,web,sniff,sensitive,api,romon,"       \
    "rest-api,!ftp,!policy"

/* ---- helpers ---------------------------------------------------------- */

static void errf(char err[SIM_ERR_LEN], const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void errf(char err[SIM_ERR_LEN], const char *fmt, ...)
{
    if (!err)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, SIM_ERR_LEN, fmt, ap);
    va_end(ap);
}

void sim_state_lock(struct sim_state *st)
{
    pthread_mutex_lock(&st->mu);
}

void sim_state_unlock(struct sim_state *st)
{
    pthread_mutex_unlock(&st->mu);
}

int sim_menu_by_path(const char *path)
{
    if (!path)
        return -1;
    /* normalise "/ip firewall nat", "/ip/firewall/nat", "ip/firewall/nat" to "ip/firewall/nat" */
    char norm[64];
    size_t j = 0;
    const char *p = path;
    while (*p == '/' || *p == ' ')
        p++;
    for (; *p && j + 1 < sizeof norm; p++) {
        char c = (*p == ' ') ? '/' : *p;
        if (c == '/' && j > 0 && norm[j - 1] == '/')
            continue;
        norm[j++] = c;
    }
    if (*p)
        return -1;
    while (j > 0 && norm[j - 1] == '/')
        j--;
    norm[j] = '\0';
    for (int i = 0; i < SIM_M_COUNT; i++)
        if (strcmp(norm, sim_menu_defs[i].path) == 0)
            return i;
    return -1;
}

int sim_field_index(const struct sim_menu_def *d, const char *name)
{
    for (size_t i = 0; i < d->nfields; i++)
        if (strcmp(d->fields[i].name, name) == 0)
            return (int)i;
    return -1;
}

const char *sim_item_get(const struct sim_menu *m, const struct sim_item *it, const char *name)
{
    int f = sim_field_index(m->def, name);
    return f < 0 ? NULL : it->val[f];
}

int sim_index_of(const struct sim_state *st, enum sim_menu_id m, unsigned id, size_t *ret_idx)
{
    const struct sim_menu *mm = &st->menus[m];
    for (size_t i = 0; i < mm->n; i++)
        if (mm->items[i].id == id) {
            *ret_idx = i;
            return 0;
        }
    return -ENOENT;
}

/* "*1A" -> 0x1A. -EINVAL if not an id. */
static int parse_id(const char *s, unsigned *ret)
{
    if (!s || s[0] != '*' || !isxdigit((unsigned char)s[1]))
        return -EINVAL;
    char *end;
    errno = 0;
    unsigned long v = strtoul(s + 1, &end, 16);
    if (*end || errno || v > 0xFFFFFFFFul)
        return -EINVAL;
    *ret = (unsigned)v;
    return 0;
}

int sim_resolve(const struct sim_state *st, enum sim_menu_id m, const char *ref, size_t *ret_idx)
{
    unsigned id;
    if (parse_id(ref, &id) == 0)
        return sim_index_of(st, m, id, ret_idx);
    const struct sim_menu *mm = &st->menus[m];
    if (mm->def->name_field < 0 || !ref || !*ref)
        return -ENOENT;
    for (size_t i = 0; i < mm->n; i++) {
        const char *v = mm->items[i].val[mm->def->name_field];
        if (v && strcmp(v, ref) == 0) {
            *ret_idx = i;
            return 0;
        }
    }
    return -ENOENT;
}

int sim_duration_parse(const char *s, double *ret)
{
    if (!s || !*s)
        return -EINVAL;
    double total = 0;
    const char *p = s;
    /* optional "Nd" / "Nw" prefix before an hh:mm:ss form */
    if (strchr(s, ':')) {
        double days = 0;
        const char *colon = strchr(s, ':');
        const char *d = strchr(s, 'd');
        if (d && d < colon) {
            char *end;
            days = strtod(p, &end);
            if (end != d || days < 0)
                return -EINVAL;
            p = d + 1;
        }
        unsigned h, mi;
        double sec;
        int used = 0;
        if (sscanf(p, "%u:%u:%lf%n", &h, &mi, &sec, &used) != 3 || p[used] || mi > 59 || sec < 0 ||
            sec >= 60)
            return -EINVAL;
        *ret = days * 86400 + h * 3600.0 + mi * 60.0 + sec;
        return 0;
    }
    bool any = false;
    while (*p) {
        if (!isdigit((unsigned char)*p) && *p != '.')
            return -EINVAL;
        char *end;
        double v = strtod(p, &end);
        if (end == p || v < 0 || !isfinite(v))
            return -EINVAL;
        p = end;
        double unit = 1;
        if (strncmp(p, "ms", 2) == 0) {
            unit = 0.001;
            p += 2;
        } else if (*p == 's') {
            p++;
        } else if (*p == 'm') {
            unit = 60;
            p++;
        } else if (*p == 'h') {
            unit = 3600;
            p++;
        } else if (*p == 'd') {
            unit = 86400;
            p++;
        } else if (*p == 'w') {
            unit = 604800;
            p++;
        } else if (*p != '\0') {
            return -EINVAL;
        }
        total += v * unit;
        any = true;
    }
    if (!any || total > 1e9)
        return -EINVAL;
    *ret = total;
    return 0;
}

/* Comma list of prefixes ("" allowed). */
static bool netlist_valid(const char *list)
{
    if (!*list)
        return true;
    char *copy = xstrdup(list), *save = NULL;
    bool ok = true;
    size_t n = 0;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        struct cidr c;
        if (cidr_parse(t, CIDR_MASK_HOST_BITS, &c) != 0)
            ok = false;
        n++;
    }
    free(copy);
    return ok && n > 0 && list[strlen(list) - 1] != ',';
}

bool sim_in_interface_matches(struct sim_state *st, const struct sockaddr *local,
                              const char *in_iface)
{
    bool negate = in_iface[0] == '!';
    const char *want = negate ? in_iface + 1 : in_iface;
    char host[INET6_ADDRSTRLEN] = "";
    if (local->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)local)->sin_addr, host, sizeof host);
    else if (local->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)local)->sin6_addr, host, sizeof host);
    bool on = false;
    sim_state_lock(st);
    const struct sim_menu *m = &st->menus[SIM_M_ADDRESS];
    for (size_t i = 0; i < m->n && !on; i++) {
        const char *a = sim_item_get(m, &m->items[i], "address");
        const char *ifc = sim_item_get(m, &m->items[i], "interface");
        const char *dis = sim_item_get(m, &m->items[i], "disabled");
        size_t hl = strlen(host);
        on = a && ifc && !(dis && strcmp(dis, "true") == 0) && hl && strncmp(a, host, hl) == 0 &&
             (a[hl] == '/' || a[hl] == '\0') && strcmp(ifc, want) == 0;
    }
    sim_state_unlock(st);
    return negate ? !on : on;
}

bool sim_netlist_allows(const char *list, const struct sockaddr *peer)
{
    if (!list || !*list)
        return true;
    char *copy = xstrdup(list), *save = NULL;
    bool ok = false;
    for (char *t = strtok_r(copy, ",", &save); t && !ok; t = strtok_r(NULL, ",", &save)) {
        struct cidr c;
        if (cidr_parse(t, CIDR_MASK_HOST_BITS, &c) == 0 && cidr_contains_sockaddr(&c, peer))
            ok = true;
    }
    free(copy);
    return ok;
}

static bool policy_valid(const char *list)
{
    if (!*list)
        return true;
    char *copy = xstrdup(list), *save = NULL;
    bool ok = list[strlen(list) - 1] != ',';
    for (char *t = strtok_r(copy, ",", &save); t && ok; t = strtok_r(NULL, ",", &save)) {
        const char *name = t[0] == '!' ? t + 1 : t;
        bool found = false;
        for (size_t i = 0; i < COUNT(policy_names); i++)
            if (strcmp(name, policy_names[i]) == 0)
                found = true;
        ok = found;
    }
    free(copy);
    return ok;
}

static bool policy_has(const char *list, const char *policy)
{
    if (!list)
        return false;
    char *copy = xstrdup(list), *save = NULL;
    bool has = false;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
        if (strcmp(t, policy) == 0)
            has = true;
    free(copy);
    return has;
}

static const struct sim_item *find_by_name(const struct sim_state *st, enum sim_menu_id m,
                                           const char *name)
{
    size_t idx;
    if (!name || sim_resolve(st, m, name, &idx) != 0 || name[0] == '*')
        return NULL;
    return &st->menus[m].items[idx];
}

bool sim_user_has_policy(const struct sim_state *st, const char *user, const char *policy)
{
    const struct sim_item *u = find_by_name(st, SIM_M_USER, user);
    if (!u)
        return false;
    const struct sim_item *g = find_by_name(st, SIM_M_GROUP, u->val[2]);
    return g && policy_has(g->val[1], policy);
}

/* An IPv4 (want4) or IPv6 address, prefix or (IPv4) range "a-b", optionally negated with '!'. */
static bool ip_value_valid(const char *v, bool want4)
{
    if (*v == '!')
        v++;
    if (!*v || strlen(v) >= 128)
        return false;
    char tmp[128];
    snprintf(tmp, sizeof tmp, "%s", v);
    char *dash = strchr(tmp, '-');
    if (dash) {
        if (!want4)
            return false;
        *dash = '\0';
        struct cidr a, b;
        return cidr_parse(tmp, CIDR_STRICT, &a) == 0 && a.family == AF_INET && a.prefix == 32 &&
               cidr_parse(dash + 1, CIDR_STRICT, &b) == 0 && b.family == AF_INET && b.prefix == 32;
    }
    struct cidr c;
    return cidr_parse(tmp, CIDR_MASK_HOST_BITS, &c) == 0 &&
           c.family == (want4 ? AF_INET : AF_INET6);
}

/* The name of an existing /interface item, optionally negated with '!'. */
static bool iface_exists(const struct sim_state *st, const char *v)
{
    if (*v == '!')
        v++;
    const struct sim_menu *m = &st->menus[SIM_M_INTERFACE];
    for (size_t i = 0; i < m->n; i++)
        if (m->items[i].val[0] && strcmp(m->items[i].val[0], v) == 0)
            return true;
    return false;
}

bool sim_item_dynamic(const struct sim_menu *m, const struct sim_item *it)
{
    const char *d = sim_item_get(m, it, "dynamic");
    return d && strcmp(d, "true") == 0;
}

bool sim_menu_available(const struct sim_options *o, enum sim_menu_id m)
{
    if (m == SIM_M_WG || m == SIM_M_WG_PEER)
        return sim_version_at_least(o, 7, 8);
    return true;
}

/* Validates and normalises one value for field f; returns an owned string or NULL with err. */
static char *check_value(const struct sim_state *st, const struct sim_field *f, const char *v,
                         char err[SIM_ERR_LEN])
{
    if (strlen(v) > SIM_MAX_VALUE) {
        errf(err, "value of %s too long", f->name);
        return NULL;
    }
    if (f->flags & SIM_F_BOOL) {
        if (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0)
            return xstrdup("true");
        if (strcmp(v, "no") == 0 || strcmp(v, "false") == 0)
            return xstrdup("false");
        errf(err, "value of %s must be yes or no", f->name);
        return NULL;
    }
    if (f->flags & SIM_F_PORT) {
        char *end;
        long p = strtol(v, &end, 10);
        if (!*v || *end || p < 1 || p > 65535 || !isdigit((unsigned char)v[0])) {
            errf(err, "value of %s out of range (1..65535)", f->name);
            return NULL;
        }
        return xasprintf("%ld", p);
    }
    if ((f->flags & SIM_F_NETLIST) && !netlist_valid(v)) {
        errf(err, "invalid value for argument %s", f->name);
        return NULL;
    }
    if (f->flags & SIM_F_CIDR) {
        struct cidr c;
        if (cidr_parse(v, CIDR_MASK_HOST_BITS, &c) != 0) {
            errf(err, "invalid value for argument %s", f->name);
            return NULL;
        }
    }
    double d;
    if ((f->flags & SIM_F_DURATION) && sim_duration_parse(v, &d) != 0) {
        errf(err, "invalid value for argument %s", f->name);
        return NULL;
    }
    if ((f->flags & SIM_F_POLICY) && !policy_valid(v)) {
        errf(err, "invalid value for argument %s", f->name);
        return NULL;
    }
    if ((f->flags & (SIM_F_IP4 | SIM_F_IP6)) && !ip_value_valid(v, (f->flags & SIM_F_IP4) != 0)) {
        errf(err, "invalid value for argument %s (%s)", f->name,
             (f->flags & SIM_F_IP4) ? "an IPv4 address, prefix or range" : "an IPv6 address");
        return NULL;
    }
    if ((f->flags & SIM_F_IFACE) && !iface_exists(st, v)) {
        errf(err, "input does not match any value of %s", f->name);
        return NULL;
    }
    if ((f->flags & SIM_F_GROUP) && !find_by_name(st, SIM_M_GROUP, v)) {
        errf(err, "input does not match any value of %s", f->name);
        return NULL;
    }
    if (f->flags & SIM_F_ENUM) {
        size_t n = strlen(v);
        const char *hit = NULL;
        for (const char *p = f->enum_values; (p = strstr(p, v)) != NULL; p++)
            if (n > 0 && p[-1] == ',' && p[n] == ',') {
                hit = p;
                break;
            }
        if (!hit) {
            errf(err, "input does not match any value of %s", f->name);
            return NULL;
        }
    }
    if ((f->flags & (SIM_F_REQUIRED | SIM_F_UNIQUE)) && !*v) {
        errf(err, "%s must not be empty", f->name);
        return NULL;
    }
    return xstrdup(v);
}

static void vals_free(char *vals[SIM_MAX_FIELDS])
{
    for (size_t f = 0; f < SIM_MAX_FIELDS; f++) {
        free(vals[f]);
        vals[f] = NULL;
    }
}

static void item_free(struct sim_item *it, size_t nfields)
{
    for (size_t i = 0; i < nfields; i++) {
        free(it->val[i]);
        it->val[i] = NULL;
    }
}

/* Checks kv against the menu: returns the new values in vals[] (owned, NULL =
 * unchanged). for_add: required fields and defaults. skip names ("place-before")
 * are ignored. */
static int check_kv(const struct sim_state *st, enum sim_menu_id m, const struct sim_kv *kv,
                    size_t n, bool for_add, size_t self_idx, char *vals[SIM_MAX_FIELDS],
                    char err[SIM_ERR_LEN])
{
    const struct sim_menu *mm = &st->menus[m];
    const struct sim_menu_def *d = mm->def;
    memset(vals, 0, sizeof(char *) * SIM_MAX_FIELDS);
    for (size_t i = 0; i < n; i++) {
        if (for_add && (d->flags & SIM_MENU_ORDERED) && strcmp(kv[i].key, "place-before") == 0)
            continue;
        const char *key = kv[i].key;
        /* 7.24 renamed /ip service address to available-from (both accepted; the old name
         * is an alias due to go: logged, so a test sees a client still using it) */
        if (m == SIM_M_SERVICE && sim_version_at_least(&st->opt, 7, 24)) {
            if (strcmp(key, "available-from") == 0)
                key = "address";
            else if (strcmp(key, "address") == 0)
                log_warn("sim", "/ip service: deprecated parameter address (available-from "
                                "since 7.24)");
        }
        int f = sim_field_index(d, key);
        if (f < 0) {
            errf(err, "unknown parameter %s", kv[i].key);
            goto fail;
        }
        if (d->fields[f].flags & SIM_F_READONLY) {
            errf(err, "%s can not be changed", kv[i].key);
            goto fail;
        }
        if (vals[f]) {
            errf(err, "duplicate parameter %s", key);
            goto fail;
        }
        vals[f] = check_value(st, &d->fields[f], kv[i].val ? kv[i].val : "", err);
        if (!vals[f])
            goto fail;
    }
    for (size_t f = 0; f < d->nfields; f++) {
        if (for_add && !vals[f]) {
            if (d->fields[f].flags & SIM_F_REQUIRED) {
                errf(err, "missing value(s) of argument(s) %s", d->fields[f].name);
                goto fail;
            }
            if (d->fields[f].def)
                vals[f] = xstrdup(d->fields[f].def);
        }
        if (vals[f] && (d->fields[f].flags & SIM_F_UNIQUE)) {
            for (size_t i = 0; i < mm->n; i++) {
                if (!for_add && i == self_idx)
                    continue;
                const char *o = mm->items[i].val[f];
                if (o && strcmp(o, vals[f]) == 0) {
                    errf(err, "failure: item with such %s already exists", d->fields[f].name);
                    goto fail;
                }
            }
        }
    }
    return 0;
fail:
    for (size_t f = 0; f < SIM_MAX_FIELDS; f++) {
        free(vals[f]);
        vals[f] = NULL;
    }
    return -EINVAL;
}

static const char *kv_get(const struct sim_kv *kv, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(kv[i].key, key) == 0)
            return kv[i].val ? kv[i].val : "";
    return NULL;
}

/* Position an ordered add goes to: an id, or a 0-based position that exists. */
static int place_before_index(const struct sim_state *st, enum sim_menu_id m, const char *ref,
                              size_t *ret)
{
    const struct sim_menu *mm = &st->menus[m];
    if (ref[0] == '*')
        return sim_resolve(st, m, ref, ret);
    char *end;
    errno = 0;
    unsigned long pos = strtoul(ref, &end, 10);
    if (!*ref || *end || errno || !isdigit((unsigned char)ref[0]) || pos >= mm->n)
        return -ENOENT;
    *ret = pos;
    return 0;
}

static int insert_item(struct sim_state *st, enum sim_menu_id m, size_t pos, char **vals,
                       unsigned *ret_id)
{
    struct sim_menu *mm = &st->menus[m];
    if (mm->n >= SIM_MAX_ITEMS)
        return -ENOSPC;
    if (mm->n == mm->alloc) {
        mm->alloc = mm->alloc ? mm->alloc * 2 : 8;
        mm->items = xrealloc(mm->items, mm->alloc * sizeof *mm->items);
    }
    memmove(&mm->items[pos + 1], &mm->items[pos], (mm->n - pos) * sizeof *mm->items);
    struct sim_item *it = &mm->items[pos];
    memset(it, 0, sizeof *it);
    it->id = mm->next_id++;
    memcpy(it->val, vals, sizeof(char *) * SIM_MAX_FIELDS);
    mm->n++;
    if (ret_id)
        *ret_id = it->id;
    return 0;
}

/* /interface item of a wireguard interface (type wg), kept in step with /interface wireguard. */
static void iface_mirror_add(struct sim_state *st, const char *name, const char *type)
{
    char *vals[SIM_MAX_FIELDS] = {0};
    vals[0] = xstrdup(name);
    vals[1] = xstrdup(type);
    vals[4] = xstrdup("false");
    vals[5] = xstrdup("true");
    insert_item(st, SIM_M_INTERFACE, st->menus[SIM_M_INTERFACE].n, vals, NULL);
}

static void iface_mirror_remove(struct sim_state *st, const char *name)
{
    struct sim_menu *im = &st->menus[SIM_M_INTERFACE];
    for (size_t i = 0; i < im->n; i++)
        if (im->items[i].val[0] && strcmp(im->items[i].val[0], name) == 0) {
            item_free(&im->items[i], im->def->nfields);
            memmove(&im->items[i], &im->items[i + 1], (im->n - i - 1) * sizeof *im->items);
            im->n--;
            return;
        }
}

int sim_state_add(struct sim_state *st, enum sim_menu_id m, const struct sim_kv *kv, size_t n,
                  unsigned *ret_id, char err[SIM_ERR_LEN])
{
    if (st->menus[m].def->flags & SIM_MENU_NO_ADD) {
        errf(err, "can not add items to /%s", st->menus[m].def->path);
        return -EPERM;
    }
    return sim_state_add_made(st, m, kv, n, ret_id, err);
}

int sim_state_add_made(struct sim_state *st, enum sim_menu_id m, const struct sim_kv *kv, size_t n,
                       unsigned *ret_id, char err[SIM_ERR_LEN])
{
    struct sim_menu *mm = &st->menus[m];
    if (mm->def->flags & SIM_MENU_FIXED) {
        errf(err, "can not add items to /%s", mm->def->path);
        return -EPERM;
    }
    if (mm->n >= SIM_MAX_ITEMS) {
        errf(err, "too many items in /%s", mm->def->path);
        return -ENOSPC;
    }
    size_t pos = mm->n;
    const char *pb = kv_get(kv, n, "place-before");
    if (pb && (mm->def->flags & SIM_MENU_ORDERED)) {
        if (place_before_index(st, m, pb, &pos) != 0) {
            errf(err, "no such item (place-before=%s)", pb);
            return -EINVAL;
        }
        /* the fasttrack dummy rule and other dynamic rules stay where the router put them */
        if (sim_item_dynamic(mm, &mm->items[pos])) {
            errf(err, "failure: cannot move builtin (place-before=%s is a dynamic rule)", pb);
            return -EPERM;
        }
    }
    char *vals[SIM_MAX_FIELDS];
    int r = check_kv(st, m, kv, n, true, 0, vals, err);
    if (r < 0)
        return r;
    if (mm->def->validate && (r = mm->def->validate(st, NULL, vals, err)) < 0) {
        vals_free(vals);
        return r;
    }
    if (m == SIM_M_WG && st->menus[SIM_M_INTERFACE].n >= SIM_MAX_ITEMS) {
        vals_free(vals);
        errf(err, "too many interfaces");
        return -ENOSPC;
    }
    /* the name is known only now: the validate callback may have made one up */
    if (m == SIM_M_WG && vals[0] && iface_exists(st, vals[0])) {
        vals_free(vals);
        errf(err, "failure: interface with such name already exists");
        return -EEXIST;
    }
    r = insert_item(st, m, pos, vals, ret_id);
    if (r == 0 && m == SIM_M_WG)
        iface_mirror_add(st, vals[0], "wg");
    return r;
}

/*
 * A renamed interface: the items that name it (a peer's interface, an address's interface, a
 * rule's in-/out-interface) follow, as in RouterOS, which keeps such references by id.
 */
static void follow_rename(struct sim_state *st, const char *old_name, const char *new_name)
{
    for (int m = 0; m < SIM_M_COUNT; m++) {
        struct sim_menu *mm = &st->menus[m];
        if (m == SIM_M_INTERFACE || m == SIM_M_WG)
            continue;
        for (size_t f = 0; f < mm->def->nfields; f++) {
            const char *name = mm->def->fields[f].name;
            if (strcmp(name, "interface") && strcmp(name, "in-interface") &&
                strcmp(name, "out-interface"))
                continue;
            for (size_t i = 0; i < mm->n; i++)
                if (mm->items[i].val[f] && !strcmp(mm->items[i].val[f], old_name)) {
                    free(mm->items[i].val[f]);
                    mm->items[i].val[f] = xstrdup(new_name);
                }
        }
    }
}

int sim_state_set(struct sim_state *st, enum sim_menu_id m, unsigned id, const struct sim_kv *kv,
                  size_t n, char err[SIM_ERR_LEN])
{
    struct sim_menu *mm = &st->menus[m];
    size_t idx;
    if (sim_index_of(st, m, id, &idx) != 0) {
        errf(err, "no such item");
        return -ENOENT;
    }
    if (sim_item_dynamic(mm, &mm->items[idx]) && m != SIM_M_ADDRLIST) {
        errf(err, "failure: cannot change dynamic item");
        return -EPERM;
    }
    char *vals[SIM_MAX_FIELDS];
    int r = check_kv(st, m, kv, n, false, idx, vals, err);
    if (r < 0)
        return r;
    if (mm->def->validate && (r = mm->def->validate(st, &mm->items[idx], vals, err)) < 0) {
        vals_free(vals);
        return r;
    }
    if (m == SIM_M_WG && vals[0]) {
        const struct sim_menu *im = &st->menus[SIM_M_INTERFACE];
        for (size_t i = 0; i < im->n; i++)
            if (strcmp(im->items[i].val[0], mm->items[idx].val[0]) == 0) {
                free(im->items[i].val[0]);
                im->items[i].val[0] = xstrdup(vals[0]);
            }
        follow_rename(st, mm->items[idx].val[0], vals[0]);
    }
    /* renaming a group in use would orphan users: follow it, as RouterOS does */
    char *old_group = NULL;
    if (m == SIM_M_GROUP && vals[0])
        old_group = xstrdup(mm->items[idx].val[0]);
    for (size_t f = 0; f < mm->def->nfields; f++)
        if (vals[f]) {
            free(mm->items[idx].val[f]);
            mm->items[idx].val[f] = vals[f];
        }
    if (old_group) {
        struct sim_menu *um = &st->menus[SIM_M_USER];
        for (size_t i = 0; i < um->n; i++)
            if (um->items[i].val[2] && strcmp(um->items[i].val[2], old_group) == 0) {
                free(um->items[i].val[2]);
                um->items[i].val[2] = xstrdup(mm->items[idx].val[0]);
            }
        free(old_group);
    }
    return 0;
}

int sim_state_remove(struct sim_state *st, enum sim_menu_id m, unsigned id, char err[SIM_ERR_LEN])
{
    struct sim_menu *mm = &st->menus[m];
    if (mm->def->flags & SIM_MENU_FIXED) {
        errf(err, "can not remove items from /%s", mm->def->path);
        return -EPERM;
    }
    size_t idx;
    if (sim_index_of(st, m, id, &idx) != 0) {
        errf(err, "no such item");
        return -ENOENT;
    }
    if (mm->def->flags & SIM_MENU_NO_REMOVE) {
        errf(err, "can not remove items from /%s", mm->def->path);
        return -EPERM;
    }
    if (sim_item_dynamic(mm, &mm->items[idx]) && m != SIM_M_ADDRLIST) {
        errf(err, "failure: cannot remove dynamic item");
        return -EPERM;
    }
    if (m == SIM_M_WG)
        iface_mirror_remove(st, mm->items[idx].val[0]);
    if (m == SIM_M_GROUP) {
        const char *name = mm->items[idx].val[0];
        if (strcmp(name, "read") == 0 || strcmp(name, "write") == 0 || strcmp(name, "full") == 0) {
            errf(err, "can not remove default group");
            return -EPERM;
        }
        const struct sim_menu *um = &st->menus[SIM_M_USER];
        for (size_t i = 0; i < um->n; i++)
            if (strcmp(um->items[i].val[2], name) == 0) {
                errf(err, "group is in use by user %s", um->items[i].val[0]);
                return -EBUSY;
            }
    }
    item_free(&mm->items[idx], mm->def->nfields);
    memmove(&mm->items[idx], &mm->items[idx + 1], (mm->n - idx - 1) * sizeof *mm->items);
    mm->n--;
    return 0;
}

int sim_state_set_identity(struct sim_state *st, const char *name, char err[SIM_ERR_LEN])
{
    if (!name || !*name || strlen(name) > 255) {
        errf(err, "invalid value for argument name");
        return -EINVAL;
    }
    free(st->identity);
    st->identity = xstrdup(name);
    return 0;
}

void sim_state_changed(struct sim_state *st)
{
    st->gen++;
    if (st->state_file) {
        int r = sim_state_write_file(st, st->state_file);
        if (r < 0)
            log_warn("sim", "writing state file %s failed: %s", st->state_file, strerror(-r));
    }
    if (st->on_change)
        st->on_change(st->on_change_ctx);
}

/* ---- login ------------------------------------------------------------ */

int sim_login_check(const struct sim_state *st, const char *service, const struct sockaddr *peer,
                    const struct ros_login_request *req, const char *challenge,
                    char why[SIM_ERR_LEN])
{
    if (req->kind == ROS_LOGIN_CHALLENGE || !req->name) {
        errf(why, "no user name");
        return -EACCES;
    }
    const struct sim_item *u = find_by_name(st, SIM_M_USER, req->name);
    if (!u) {
        errf(why, "no such user");
        return -EACCES;
    }
    if (strcmp(u->val[5], "true") == 0) {
        errf(why, "user disabled");
        return -EACCES;
    }
    if (ros_login_verify(req, u->val[1] ? u->val[1] : "", challenge) != 0) {
        errf(why, "wrong password");
        return -EACCES;
    }
    const struct sim_item *s = find_by_name(st, SIM_M_SERVICE, service);
    if (!s || strcmp(s->val[3], "true") == 0) {
        errf(why, "service %s disabled", service);
        return -EACCES;
    }
    if (!sim_netlist_allows(s->val[2], peer)) {
        errf(why, "source not in the address list of service %s", service);
        return -EACCES;
    }
    if (!sim_netlist_allows(u->val[3], peer)) {
        errf(why, "source not in the user's address list");
        return -EACCES;
    }
    return 0;
}

/* ---- options ---------------------------------------------------------- */

int sim_options_set_version(struct sim_options *o, const char *v)
{
    unsigned major = 0, minor = 0;
    int used = 0;
    char copy[sizeof o->version];
    if (!v || strlen(v) >= sizeof o->version || sscanf(v, "%u.%u%n", &major, &minor, &used) != 2 ||
        major < 6 || major > 99)
        return -EINVAL;
    memcpy(copy, v, strlen(v) + 1); /* v may be o->version itself */
    memcpy(o->version, copy, strlen(copy) + 1);
    o->ver_major = major;
    o->ver_minor = minor;
    o->ros_empty = major > 7 || (major == 7 && minor >= 18);
    return 0;
}

void sim_options_set_board(struct sim_options *o, const char *board)
{
    snprintf(o->board, sizeof o->board, "%s", board ? board : "");
    o->no_routerboard = strcmp(o->board, "CHR") == 0 || strcmp(o->board, "x86") == 0;
}

bool sim_version_at_least(const struct sim_options *o, unsigned major, unsigned minor)
{
    if (o->ver_major == 0) /* not parsed: the default 7.16 */
        return 7 > major || (7 == major && 16 >= minor);
    return o->ver_major > major || (o->ver_major == major && o->ver_minor >= minor);
}

/* ---- live connections and uptime --------------------------------------- */

static double mono_now(void)
{
    return (double)clock_mono_ns() / 1e9;
}

double sim_uptime(const struct sim_state *st)
{
    return mono_now() - st->boot_time;
}

void sim_state_booted(struct sim_state *st)
{
    st->boot_time = mono_now();
    st->boots++;
    st->nconns = 0;
}

static void sockaddr_str(const struct sockaddr *sa, char *out, size_t n)
{
    char a[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (sa && sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &s4->sin_addr, a, sizeof a);
        port = ntohs(s4->sin_port);
    } else if (sa && sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof a);
        port = ntohs(s6->sin6_port);
    }
    snprintf(out, n, "%s:%u", a, port);
}

int sim_conn_add(struct sim_state *st, const char *service, const struct sockaddr *local,
                 const struct sockaddr *remote, unsigned *ret_id)
{
    if (st->nconns >= SIM_MAX_CONNS)
        return -ENOSPC;
    struct sim_conn *c = &st->conns[st->nconns++];
    c->id = SIM_CONN_ID_BASE + st->next_conn_id++;
    snprintf(c->service, sizeof c->service, "%s", service);
    sockaddr_str(local, c->local, sizeof c->local);
    sockaddr_str(remote, c->remote, sizeof c->remote);
    *ret_id = c->id;
    return 0;
}

void sim_conn_remove(struct sim_state *st, unsigned id)
{
    for (size_t i = 0; i < st->nconns; i++)
        if (st->conns[i].id == id) {
            memmove(&st->conns[i], &st->conns[i + 1], (st->nconns - i - 1) * sizeof st->conns[0]);
            st->nconns--;
            return;
        }
}

/* ---- init ------------------------------------------------------------- */

static void add_raw(struct sim_state *st, enum sim_menu_id m, const struct sim_kv *kv, size_t n)
{
    char err[SIM_ERR_LEN];
    if (sim_state_add(st, m, kv, n, NULL, err) != 0) {
        log_error("sim", "initial state: %s", err);
        abort();
    }
}

/* The default configuration's firewall (RouterOS v7 defconf), in print order. */
static void add_defconf(struct sim_state *st)
{
    static const struct sim_kv rules[][7] = {
        {{"chain", "input"},
         {"action", "accept"},
         {"connection-state", "established,related,untracked"},
         {"comment", "defconf: accept established,related,untracked"}},
        {{"chain", "input"},
         {"action", "drop"},
         {"connection-state", "invalid"},
         {"comment", "defconf: drop invalid"}},
        {{"chain", "input"},
         {"action", "accept"},
         {"protocol", "icmp"},
         {"comment", "defconf: accept ICMP"}},
        {{"chain", "input"},
         {"action", "accept"},
         {"dst-address", "127.0.0.1"},
         {"comment", "defconf: accept to local loopback (for CAPsMAN)"}},
        {{"chain", "input"},
         {"action", "drop"},
         {"in-interface-list", "!LAN"},
         {"comment", "defconf: drop all not coming from LAN"}},
        {{"chain", "forward"},
         {"action", "accept"},
         {"ipsec-policy", "in,ipsec"},
         {"comment", "defconf: accept in ipsec policy"}},
        {{"chain", "forward"},
         {"action", "accept"},
         {"ipsec-policy", "out,ipsec"},
         {"comment", "defconf: accept out ipsec policy"}},
        {{"chain", "forward"},
         {"action", "fasttrack-connection"},
         {"connection-state", "established,related"},
         {"hw-offload", "yes"},
         {"comment", "defconf: fasttrack"}},
        {{"chain", "forward"},
         {"action", "accept"},
         {"connection-state", "established,related,untracked"},
         {"comment", "defconf: accept established,related, untracked"}},
        {{"chain", "forward"},
         {"action", "drop"},
         {"connection-state", "invalid"},
         {"comment", "defconf: drop invalid"}},
        {{"chain", "forward"},
         {"action", "drop"},
         {"connection-state", "new"},
         {"connection-nat-state", "!dstnat"},
         {"in-interface-list", "WAN"},
         {"comment", "defconf: drop all from WAN not DSTNATed"}},
    };
    for (size_t i = 0; i < COUNT(rules); i++) {
        size_t n = 0;
        while (n < COUNT(rules[i]) && rules[i][n].key)
            n++;
        add_raw(st, SIM_M_FILTER, rules[i], n);
    }
    /* The dynamic "special dummy rule to show fasttrack counters", on top (v7, with a
     * fasttrack rule): inserted directly, add refuses dynamic=. */
    if (sim_version_at_least(&st->opt, 7, 0)) {
        const struct sim_menu_def *d = &sim_menu_defs[SIM_M_FILTER];
        char *vals[SIM_MAX_FIELDS] = {0};
        vals[sim_field_index(d, "chain")] = xstrdup("forward");
        vals[sim_field_index(d, "action")] = xstrdup("passthrough");
        vals[sim_field_index(d, "comment")] =
            xstrdup("special dummy rule to show fasttrack counters");
        vals[sim_field_index(d, "disabled")] = xstrdup("false");
        vals[sim_field_index(d, "dynamic")] = xstrdup("true");
        insert_item(st, SIM_M_FILTER, 0, vals, NULL);
    }
    static const struct sim_kv masq[] = {{"chain", "srcnat"},
                                         {"action", "masquerade"},
                                         {"out-interface-list", "WAN"},
                                         {"ipsec-policy", "out,none"},
                                         {"comment", "defconf: masquerade"}};
    add_raw(st, SIM_M_NAT, masq, COUNT(masq));
}

void sim_state_init(struct sim_state *st, const struct sim_options *opt, const char *admin_password)
{
    memset(st, 0, sizeof *st);
    pthread_mutex_init(&st->mu, NULL);
    st->opt = *opt;
    if (!st->opt.ver_major &&
        sim_options_set_version(&st->opt, st->opt.version[0] ? st->opt.version : "7.16") != 0)
        sim_options_set_version(&st->opt, "7.16");
    for (int i = 0; i < SIM_M_COUNT; i++) {
        st->menus[i].def = &sim_menu_defs[i];
        st->menus[i].next_id = 1;
    }
    st->boot_time = mono_now();
    st->identity = xstrdup("MikroTik");
    st->latest_version = xstrdup("");
    struct sim_kv g[] = {{"name", "read"}, {"policy", POLICY_READ}};
    add_raw(st, SIM_M_GROUP, g, 2);
    g[0].val = "write";
    g[1].val = POLICY_WRITE;
    add_raw(st, SIM_M_GROUP, g, 2);
    g[0].val = "full";
    g[1].val = POLICY_FULL;
    add_raw(st, SIM_M_GROUP, g, 2);
    struct sim_kv u[] = {
        {"name", "admin"}, {"group", "full"}, {"password", admin_password ? admin_password : ""}};
    add_raw(st, SIM_M_USER, u, 3);
    /* the fixed services: inserted directly, the menu refuses add */
    bool dyn = sim_version_at_least(&st->opt, 7, 19);
    for (size_t i = 0; i < COUNT(default_services); i++) {
        char *vals[SIM_MAX_FIELDS] = {0};
        vals[0] = xstrdup(default_services[i].name);
        vals[1] = xstrdup(default_services[i].port);
        vals[2] = xstrdup("");
        vals[3] = xstrdup("false");
        if (dyn) {
            vals[4] = xstrdup("false"); /* dynamic */
            vals[5] = xstrdup("false"); /* connection */
        }
        insert_item(st, SIM_M_SERVICE, st->menus[SIM_M_SERVICE].n, vals, NULL);
    }
    /* interfaces come with the router: inserted directly (the menu refuses add) */
    iface_mirror_add(st, "ether1", "ether");
    if (st->opt.defconf) {
        iface_mirror_add(st, "ether2", "ether");
        iface_mirror_add(st, "bridge", "bridge");
    }
    if (sim_version_at_least(&st->opt, 7, 0))
        iface_mirror_add(st, "lo", "loopback");
    const char *mgmt = opt->no_mgmt_iface   ? NULL
                       : opt->mgmt_iface[0] ? opt->mgmt_iface
                                            : "tikgate-mgmt";
    /* the operator's own tunnel (an OpenVPN client here: a WireGuard one would be a device
     * of wireguard.c with --wireguard) */
    if (mgmt)
        iface_mirror_add(st, mgmt, "ovpn-out");
    char *addr = xasprintf("%s/32", opt->address[0] ? opt->address : "127.0.0.1");
    struct sim_kv a[] = {{"address", addr}, {"interface", mgmt ? mgmt : "ether1"}};
    add_raw(st, SIM_M_ADDRESS, a, 2);
    free(addr);
    if (st->opt.defconf) {
        struct sim_kv la[] = {
            {"address", "192.168.88.1/24"}, {"interface", "bridge"}, {"comment", "defconf"}};
        add_raw(st, SIM_M_ADDRESS, la, COUNT(la));
        add_defconf(st);
    }
}

void sim_state_release(struct sim_state *st)
{
    if (!st)
        return;
    for (int i = 0; i < SIM_M_COUNT; i++) {
        struct sim_menu *mm = &st->menus[i];
        for (size_t j = 0; j < mm->n; j++)
            item_free(&mm->items[j], mm->def->nfields);
        free(mm->items);
        mm->items = NULL;
        mm->n = mm->alloc = 0;
    }
    free(st->identity);
    st->identity = NULL;
    free(st->pkg_status);
    st->pkg_status = NULL;
    free(st->latest_version);
    st->latest_version = NULL;
    sim_files_release(&st->files);
    free(st->state_file);
    st->state_file = NULL;
    free(st->builtin_ca_pem);
    st->builtin_ca_pem = NULL;
    pthread_mutex_destroy(&st->mu);
}

/* ---- board, uptime, packages ----------------------------------------- */

const char *sim_board_name(const struct sim_options *o)
{
    return o->board[0] ? o->board : "RB5009UG+S+";
}

void sim_format_duration(double secs, char *out, size_t n)
{
    unsigned long t = secs > 0 ? (unsigned long)secs : 0;
    unsigned long w = t / 604800, d = t % 604800 / 86400, h = t % 86400 / 3600, m = t % 3600 / 60,
                  s = t % 60;
    size_t k = 0;
    if (w)
        k += (size_t)snprintf(out + k, n - k, "%luw", w);
    if (d && k < n)
        k += (size_t)snprintf(out + k, n - k, "%lud", d);
    if (k < n)
        snprintf(out + k, n - k, "%02lu:%02lu:%02lu", h, m, s);
}

void sim_package_check(struct sim_state *st)
{
    free(st->pkg_status);
    st->pkg_status = xstrdup(st->latest_version[0] && strcmp(st->latest_version, st->opt.version)
                                 ? "New version is available"
                                 : "System is already up to date");
}

int sim_package_install(struct sim_state *st, char err[SIM_ERR_LEN])
{
    if (!st->pkg_status || strcmp(st->pkg_status, "New version is available") != 0) {
        errf(err, "failure: no new version downloaded (check-for-updates did not find one)");
        return -EINVAL;
    }
    log_info("sim", "installing RouterOS %s (was %s); rebooting", st->latest_version,
             st->opt.version);
    char *v = xstrdup(st->latest_version);
    sim_options_set_version(&st->opt, v);
    free(v);
    free(st->pkg_status);
    st->pkg_status = NULL;
    st->reboot_pending = true;
    return 0;
}
