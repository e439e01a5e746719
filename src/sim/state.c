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
#include "log.h"
#include "login.h"
#include "sim.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static const struct sim_field service_fields[] = {
    {"name", SIM_F_READONLY | SIM_F_UNIQUE, NULL, NULL},
    {"port", SIM_F_PORT, NULL, NULL},
    {"address", SIM_F_NETLIST, "", NULL},
    {"disabled", SIM_F_BOOL, "false", NULL},
};

#define NAT_ACTIONS                                                                                \
    ",accept,dst-nat,src-nat,masquerade,redirect,netmap,same,return,jump,passthrough,log,"         \
    "endpoint-independent-nat,"
#define FILTER_ACTIONS                                                                             \
    ",accept,drop,reject,jump,return,log,passthrough,tarpit,fasttrack-connection,"                 \
    "add-src-to-address-list,add-dst-to-address-list,"

#define FIREWALL_FIELDS(actions)                                                                   \
    {"chain", SIM_F_REQUIRED, NULL, NULL}, {"action", SIM_F_ENUM, "accept", actions},              \
        {"protocol", 0, NULL, NULL}, {"src-address", 0, NULL, NULL},                               \
        {"dst-address", 0, NULL, NULL}, {"src-port", 0, NULL, NULL}, {"dst-port", 0, NULL, NULL},  \
        {"to-addresses", 0, NULL, NULL}, {"to-ports", 0, NULL, NULL},                              \
        {"in-interface", 0, NULL, NULL}, {"in-interface-list", 0, NULL, NULL},                     \
        {"out-interface", 0, NULL, NULL}, {"out-interface-list", 0, NULL, NULL},                   \
        {"src-address-list", 0, NULL, NULL}, {"dst-address-list", 0, NULL, NULL},                  \
        {"connection-state", 0, NULL, NULL}, {"connection-nat-state", 0, NULL, NULL},              \
        {"comment", 0, NULL, NULL}, {"disabled", SIM_F_BOOL, "false", NULL},

static const struct sim_field nat_fields[] = {FIREWALL_FIELDS(NAT_ACTIONS)};
static const struct sim_field filter_fields[] = {FIREWALL_FIELDS(FILTER_ACTIONS)};

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
        int f = sim_field_index(d, kv[i].key);
        if (f < 0) {
            errf(err, "unknown parameter %s", kv[i].key);
            goto fail;
        }
        if (d->fields[f].flags & SIM_F_READONLY) {
            errf(err, "%s can not be changed", kv[i].key);
            goto fail;
        }
        if (vals[f]) {
            errf(err, "duplicate parameter %s", kv[i].key);
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
    if (pb && (mm->def->flags & SIM_MENU_ORDERED) && place_before_index(st, m, pb, &pos) != 0) {
        errf(err, "no such item (place-before=%s)", pb);
        return -EINVAL;
    }
    char *vals[SIM_MAX_FIELDS];
    int r = check_kv(st, m, kv, n, true, 0, vals, err);
    if (r < 0)
        return r;
    if (mm->def->validate && (r = mm->def->validate(st, NULL, vals, err)) < 0) {
        vals_free(vals);
        return r;
    }
    return insert_item(st, m, pos, vals, ret_id);
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
    char *vals[SIM_MAX_FIELDS];
    int r = check_kv(st, m, kv, n, false, idx, vals, err);
    if (r < 0)
        return r;
    if (mm->def->validate && (r = mm->def->validate(st, &mm->items[idx], vals, err)) < 0) {
        vals_free(vals);
        return r;
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

/* ---- init ------------------------------------------------------------- */

static void add_raw(struct sim_state *st, enum sim_menu_id m, const struct sim_kv *kv, size_t n)
{
    char err[SIM_ERR_LEN];
    if (sim_state_add(st, m, kv, n, NULL, err) != 0) {
        log_error("sim", "initial state: %s", err);
        abort();
    }
}

void sim_state_init(struct sim_state *st, const struct sim_options *opt, const char *admin_password)
{
    memset(st, 0, sizeof *st);
    pthread_mutex_init(&st->mu, NULL);
    st->opt = *opt;
    for (int i = 0; i < SIM_M_COUNT; i++) {
        st->menus[i].def = &sim_menu_defs[i];
        st->menus[i].next_id = 1;
    }
    st->identity = xstrdup("MikroTik");
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
    for (size_t i = 0; i < COUNT(default_services); i++) {
        char *vals[SIM_MAX_FIELDS] = {0};
        vals[0] = xstrdup(default_services[i].name);
        vals[1] = xstrdup(default_services[i].port);
        vals[2] = xstrdup("");
        vals[3] = xstrdup("false");
        insert_item(st, SIM_M_SERVICE, st->menus[SIM_M_SERVICE].n, vals, NULL);
    }
    char *addr = xasprintf("%s/32", opt->address[0] ? opt->address : "127.0.0.1");
    struct sim_kv a[] = {{"address", addr}, {"interface", "tikgate-mgmt"}};
    add_raw(st, SIM_M_ADDRESS, a, 2);
    free(addr);
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
    free(st->state_file);
    st->state_file = NULL;
    free(st->builtin_ca_pem);
    st->builtin_ca_pem = NULL;
    pthread_mutex_destroy(&st->mu);
}
