#include "config.h"

#include "alloc.h"
#include "cidr.h"
#include "tunnel.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef TG_SHARE_DIR
#define TG_SHARE_DIR "."
#endif

/*
 * What a value may be. Numbers are decimal and never 0 (but K_UINT0's).
 * K_UINT: 1..86 400 (counts, and seconds up to a day), an unsigned.
 * K_UINT0: 0..86 400, where 0 turns the feature off, an unsigned.
 * K_MS: a duration in milliseconds, 1..3 600 000 (one hour), an unsigned.
 * K_SIZE: bytes, 1..SIZE_MAX, a size_t.
 * K_PORTS: "LO-HI", 1 <= LO <= HI <= 65535, a struct config_port_range.
 * K_CIDRS: a comma list of IPv4/IPv6 prefixes without host bits, a char * stored without
 *   spaces ("10.0.0.0/8, fd00::/8" -> "10.0.0.0/8,fd00::/8"): it goes verbatim into every
 *   router's /ip service address, user address and management filter.
 */
enum key_kind { K_STR, K_BOOL, K_UINT, K_UINT0, K_MS, K_SIZE, K_PORTS, K_CIDRS };

#define UINT_KEY_MAX 86400 /* one day in seconds */
#define MS_KEY_MAX 3600000 /* one hour in milliseconds */

struct key {
    const char *name; /* short form; the env name is TIKGATE_ + upper-case */
    enum key_kind kind;
    size_t offset;
    const char *def;
    const char *help;
};

#define OFF(f) offsetof(struct config, f)

static const struct key keys[] = {
    {"listen", K_STR, OFF(listen), "127.0.0.1:8080", "API/portal address"},
    {"database", K_STR, OFF(database), NULL, "sqlite:PATH (default: sqlite:DATA_DIR/tikgate.db)"},
    {"data_dir", K_STR, OFF(data_dir), "./var", "master key, SQLite file"},
    {"roles", K_STR, OFF(roles), "api,scheduler,dispatcher,edge", "roles this process runs"},
    {"entry_point", K_STR, OFF(entry_point), "localhost", "public host name of this edge"},
    {"edge_listen", K_STR, OFF(edge_listen), "0.0.0.0", "address the edge binds"},
    {"edge_ports", K_PORTS, OFF(edge_ports), "40000-59999", "port range for grants"},
    {"allow_private_sources", K_BOOL, OFF(allow_private_sources), "0",
     "accept private/loopback allow-lists"},
    {"webhook_allow_private", K_BOOL, OFF(webhook_allow_private), "0",
     "let webhooks reach loopback and private addresses (docs/webhooks.md)"},
    {"webhook_max_attempts", K_UINT, OFF(webhook_max_attempts), "12",
     "attempts of a webhook delivery before it fails"},
    {"webhook_backoff_ms", K_MS, OFF(webhook_backoff_ms), "10000",
     "first webhook retry delay, doubled per failed attempt (ms)"},
    {"webhook_backoff_max_ms", K_MS, OFF(webhook_backoff_max_ms), "3600000",
     "cap of the webhook retry delay (ms)"},
    {"webhook_timeout_ms", K_MS, OFF(webhook_timeout_ms), "10000",
     "one webhook attempt, connect to answer (ms)"},
    {"webhook_retention", K_UINT, OFF(webhook_retention), "7",
     "days finished webhook events and their delivery log are kept"},
    {"webhook_poll_ms", K_MS, OFF(webhook_poll_ms), "1000",
     "how often the webhook outbox is read (ms)"},
    {"management_networks", K_CIDRS, OFF(management_networks), "100.64.0.0/10",
     "where routers see the platform come from"},
    {"bootstrap_token", K_STR, OFF(bootstrap_token), NULL,
     "on an empty store, the first admin API key"},
    {"admin_email", K_STR, OFF(admin_email), "admin@tikgate.local", "the first portal user"},
    {"admin_password", K_STR, OFF(admin_password), NULL,
     "its password (default: random, kept in DATA_DIR/admin.password)"},
    {"public_url", K_STR, OFF(public_url), NULL,
     "base URL routers use (default http://LISTEN, https:// with TLS_CERT)"},
    {"share_dir", K_STR, OFF(share_dir), TG_SHARE_DIR, "where api/ and docs/ are read from"},
    {"log_level", K_STR, OFF(log_level), "info", "debug, info, warn or error"},
    {"http_threads", K_UINT, OFF(http_threads), "8", "HTTP worker threads"},
    {"http_write_threads", K_UINT0, OFF(http_write_threads), "16",
     "threads for requests that change something (not GET/HEAD), 0 = on the HTTP workers"},
    {"max_body", K_SIZE, OFF(max_body), "1048576", "request body cap in bytes"},
    {"http_public_max_body", K_SIZE, OFF(http_public_max_body), "16384",
     "body cap of requests without an API key (login, device routes), bytes"},
    {"http_max_connections", K_UINT, OFF(http_max_connections), "16384",
     "open HTTP connections in all (lowered to what RLIMIT_NOFILE allows)"},
    {"http_per_ip_connections", K_UINT, OFF(http_per_ip_connections), "64",
     "open HTTP connections from one client address"},
    {"http_request_timeout_ms", K_MS, OFF(http_request_timeout_ms), "30000",
     "total time a client has to send a request's headers and body (ms)"},
    {"poll_interval", K_UINT, OFF(poll_interval), "30", "seconds between router heartbeats"},
    {"bootstrap_token_ttl", K_UINT, OFF(bootstrap_token_ttl), "86400",
     "seconds a site's bootstrap token stays valid after it is issued (security-review F4)"},
    {"login_slots", K_UINT, OFF(login_slots), "16384",
     "entries of the failed-sign-in limiter (e-mails and addresses within their 300 s window)"},
    {"pull_lease", K_UINT, OFF(pull_lease), "600",
     "seconds a pulled job may go unstarted before it is handed out again (3 times at most)"},
    {"job_max_attempts", K_UINT, OFF(job_max_attempts), "5", "push attempts before a job fails"},
    {"job_backoff_ms", K_MS, OFF(job_backoff_ms), "1000", "first push retry delay (ms)"},
    {"job_backoff_max_ms", K_MS, OFF(job_backoff_max_ms), "60000",
     "cap of the push retry delay (ms)"},
    {"job_lease_ms", K_MS, OFF(job_lease_ms), "120000",
     "a job pushed longer than this is re-queued (ms)"},
    {"dispatch_workers", K_UINT, OFF(dispatch_workers), "4", "parallel express pushes"},
    {"ros_connect_timeout_ms", K_MS, OFF(ros_connect_timeout_ms), "2000",
     "RouterOS API connect timeout of a push (ms)"},
    {"ros_io_timeout_ms", K_MS, OFF(ros_io_timeout_ms), "10000",
     "RouterOS API reply timeout of a push (ms)"},
    {"push_deadline_ms", K_MS, OFF(push_deadline_ms), "60000",
     "a whole express push (connect, login, plan) fails after this (ms)"},
    {"dispatch_tenant_workers", K_UINT, OFF(dispatch_tenant_workers), NULL,
     "most push workers one tenant holds (default DISPATCH_WORKERS - 1)"},
    {"edge_threads", K_UINT, OFF(edge_threads), NULL,
     "relay threads of the edge, each with its own listeners and connections (default one "
     "per online CPU, at most 16)"},
    {"edge_conns_per_grant", K_UINT, OFF(edge_conns_per_grant), "256",
     "live relayed connections per grant"},
    {"edge_conns_per_source", K_UINT, OFF(edge_conns_per_source), "64",
     "live relayed connections per source address (whole edge)"},
    {"edge_idle_timeout", K_UINT, OFF(edge_idle_timeout), "3600",
     "seconds a relayed connection may stay silent both ways"},
    {"edge_refused_interval", K_UINT, OFF(edge_refused_interval), "10",
     "seconds of refused connections summed into one record per grant and source"},
    {"edge_refused_records", K_UINT, OFF(edge_refused_records), "1000",
     "refused-connection records kept per grant (then the newest one counts on)"},
    {"edge_refused_retention", K_UINT, OFF(edge_refused_retention), "30",
     "days refused-connection records are kept"},
    {"edge_store_grace", K_UINT, OFF(edge_store_grace), "30",
     "seconds the edge accepts connections without reaching the store (deadlines are kept)"},
    {"fd_reserve", K_UINT, OFF(fd_reserve), "1024",
     "descriptors kept for SQLite and the rest besides HTTP_MAX_CONNECTIONS (edge sizing)"},
    {"tls_cert", K_STR, OFF(tls_cert), NULL,
     "PEM certificate chain: serve HTTPS on LISTEN (re-read on SIGHUP)"},
    {"tls_key", K_STR, OFF(tls_key), NULL, "PEM private key of TLS_CERT (re-read on SIGHUP)"},
    {"tls_ca", K_STR, OFF(tls_ca), NULL,
     "PEM CA routers install and verify by fingerprint at bootstrap"},
    {"vpn", K_STR, OFF(vpn), "auto",
     "management VPN: wireguard (required), auto (if possible) or off"},
    {"wg_backend", K_STR, OFF(wg_backend), "auto",
     "WireGuard implementation: auto (the kernel's if it has the module, else wireguard-go), "
     "kernel or userspace"},
    {"wg_interface", K_STR, OFF(wg_interface), "tikgate0", "the edge's WireGuard interface"},
    {"wg_port", K_UINT, OFF(wg_port), "51820", "UDP port routers connect to (1-65535)"},
    {"tunnel_pool", K_STR, OFF(tunnel_pool), "100.64.0.0/10",
     "tunnel addresses: the edge's and one /32 per site (IPv4)"},
    {"tunnel_down_after", K_UINT, OFF(tunnel_down_after), "180",
     "seconds without a handshake or received traffic before a tunnel is down"},
    {"node_name", K_STR, OFF(node_name), NULL,
     "this node's name in the node registry, unique per installation (default: host name)"},
    {"region", K_STR, OFF(region), "", "the node's region (sites are placed by region)"},
    {"heartbeat_ms", K_MS, OFF(heartbeat_ms), "5000",
     "the node's heartbeat in the registry (ms, at least 100); dead after 3 missed"},
    {"site_queue_max", K_UINT0, OFF(site_queue_max), "100",
     "pending custom jobs and actions per site before 429 site_queue_full (0: no limit)"},
    {"queue_max", K_UINT0, OFF(queue_max), "50000",
     "pending custom jobs and actions in all before 429 queue_full (0: no limit)"},
    {"verify_interval", K_UINT0, OFF(verify_interval), "3600",
     "seconds between drift checks of a router against the store (0: never)"},
    {"edge_move_after", K_UINT0, OFF(edge_move_after), "120",
     "seconds an edge may be dead before its sites move to another edge (0: never)"},
    {"audit_retention", K_UINT, OFF(audit_retention), "365",
     "days the audit log keeps an entry (pruned as entries are written)"},
};

#define N_KEYS (sizeof keys / sizeof keys[0])

static const struct key *find_key(const char *name)
{
    char norm[64];
    size_t n = 0;
    if (strncmp(name, "TIKGATE_", 8) == 0)
        name += 8;
    for (; *name && n < sizeof norm - 1; name++)
        norm[n++] = *name == '-' ? '_' : (char)tolower((unsigned char)*name);
    norm[n] = '\0';
    for (size_t i = 0; i < N_KEYS; i++)
        if (strcmp(keys[i].name, norm) == 0)
            return &keys[i];
    return NULL;
}

/* "40000-59999" -> lo, hi; -EINVAL when malformed. */
static int parse_port_range(const char *s, struct config_port_range *ret)
{
    char *end;
    long a = strtol(s, &end, 10);
    if (*end != '-')
        return -EINVAL;
    long b = strtol(end + 1, &end, 10);
    if (*end || a < 1 || b > 65535 || a > b)
        return -EINVAL;
    ret->lo = (int)a;
    ret->hi = (int)b;
    return 0;
}

static const struct {
    const char *name;
    unsigned bit;
} role_names[] = {{"api", CONFIG_ROLE_API},
                  {"scheduler", CONFIG_ROLE_SCHEDULER},
                  {"dispatcher", CONFIG_ROLE_DISPATCHER},
                  {"edge", CONFIG_ROLE_EDGE}};

void config_roles_format(unsigned mask, char *out, size_t len)
{
    size_t used = 0;
    if (len)
        out[0] = '\0';
    for (size_t i = 0; i < sizeof role_names / sizeof role_names[0]; i++) {
        if (!(mask & role_names[i].bit))
            continue;
        int w = snprintf(out + used, len - used, "%s%s", used ? "," : "", role_names[i].name);
        if (w < 0 || (size_t)w >= len - used)
            return;
        used += (size_t)w;
    }
}

/* "api,edge" -> CONFIG_ROLE_API | CONFIG_ROLE_EDGE; unknown names count for nothing. */
static unsigned parse_roles(const char *s)
{
    unsigned mask = 0;
    while (s && *s) {
        size_t n = strcspn(s, ",");
        for (size_t i = 0; i < sizeof role_names / sizeof role_names[0]; i++)
            if (strlen(role_names[i].name) == n && strncmp(s, role_names[i].name, n) == 0)
                mask |= role_names[i].bit;
        s += n;
        if (*s == ',')
            s++;
    }
    return mask;
}

static int set_value(struct config *cfg, const struct key *k, const char *v, const char *origin)
{
    char *base = (char *)cfg;
    switch (k->kind) {
    case K_STR: {
        char **slot = (char **)(void *)(base + k->offset);
        free(*slot);
        *slot = v ? xstrdup(v) : NULL;
        return 0;
    }
    case K_BOOL: {
        bool *slot = (bool *)(void *)(base + k->offset);
        if (!strcmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes"))
            *slot = true;
        else if (!strcmp(v, "0") || !strcasecmp(v, "false") || !strcasecmp(v, "no"))
            *slot = false;
        else
            goto bad;
        return 0;
    }
    case K_CIDRS: {
        char *copy = xstrdup(v), *save = NULL, *out = xstrdup("");
        size_t n = 0;
        bool ok = true;
        for (char *t = strtok_r(copy, ",", &save); t && ok; t = strtok_r(NULL, ",", &save)) {
            while (isspace((unsigned char)*t))
                t++;
            char *e = t + strlen(t);
            while (e > t && isspace((unsigned char)e[-1]))
                *--e = '\0';
            struct cidr c;
            char canon[CIDR_STR_LEN];
            ok = cidr_parse(t, CIDR_STRICT, &c) == 0 && !cidr_is_v4mapped(&c);
            if (ok) {
                cidr_format(&c, canon);
                char *joined = xasprintf("%s%s%s", out, n ? "," : "", canon);
                free(out);
                out = joined;
                n++;
            }
        }
        free(copy);
        if (!ok || n == 0 || v[strlen(v) - 1] == ',') {
            free(out);
            fprintf(stderr,
                    "tikgated: invalid value '%s' for %s (%s): a comma list of IP "
                    "prefixes such as 100.64.0.0/10,fd00::/8 (no host bits, no ::ffff:0:0/96)\n",
                    v, k->name, origin);
            return -EINVAL;
        }
        char **slot = (char **)(void *)(base + k->offset);
        free(*slot);
        *slot = out;
        return 0;
    }
    case K_PORTS:
        if (parse_port_range(v, (struct config_port_range *)(void *)(base + k->offset)) < 0) {
            fprintf(stderr, "tikgated: %s '%s' is not a range like 40000-59999 (%s)\n", k->name, v,
                    origin);
            return -EINVAL;
        }
        return 0;
    case K_UINT:
    case K_UINT0:
    case K_MS:
    case K_SIZE: {
        char *end;
        errno = 0;
        unsigned long long n = strtoull(v, &end, 10);
        if (errno || *end || !*v || !isdigit((unsigned char)*v) || (n == 0 && k->kind != K_UINT0))
            goto bad;
        if (k->kind == K_UINT || k->kind == K_UINT0) {
            if (n > UINT_KEY_MAX)
                goto bad;
            *(unsigned *)(void *)(base + k->offset) = (unsigned)n;
        } else if (k->kind == K_MS) {
            if (n > MS_KEY_MAX)
                goto bad;
            *(unsigned *)(void *)(base + k->offset) = (unsigned)n;
        } else {
            *(size_t *)(void *)(base + k->offset) = (size_t)n;
        }
        return 0;
    }
    }
bad:
    fprintf(stderr, "tikgated: invalid value '%s' for %s (%s)\n", v, k->name, origin);
    return -EINVAL;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

static int load_file(struct config *cfg, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "tikgated: cannot read config file %s: %s\n", path, strerror(errno));
        return -errno;
    }
    char line[1024];
    int lineno = 0, r = 0;
    while (r == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *s = trim(line);
        if (!*s)
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            fprintf(stderr, "tikgated: %s:%d: expected key = value\n", path, lineno);
            r = -EINVAL;
            break;
        }
        *eq = '\0';
        const struct key *k = find_key(trim(s));
        if (!k) {
            fprintf(stderr, "tikgated: %s:%d: unknown key '%s'\n", path, lineno, trim(s));
            r = -EINVAL;
            break;
        }
        char *v = trim(eq + 1);
        size_t vl = strlen(v);
        if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') {
            v[vl - 1] = '\0';
            v++;
        }
        r = set_value(cfg, k, v, path);
    }
    fclose(f);
    return r;
}

/* The VPN keys' values, which the key table's kinds do not cover. */
static int check_vpn(const struct config *cfg)
{
    uint32_t first, last;
    if (strcmp(cfg->vpn, "auto") && strcmp(cfg->vpn, "wireguard") && strcmp(cfg->vpn, "off")) {
        fprintf(stderr, "tikgated: vpn '%s' is not auto, wireguard or off\n", cfg->vpn);
        return -EINVAL;
    }
    if (strcmp(cfg->wg_backend, "auto") && strcmp(cfg->wg_backend, "kernel") &&
        strcmp(cfg->wg_backend, "userspace")) {
        fprintf(stderr, "tikgated: wg_backend '%s' is not auto, kernel or userspace\n",
                cfg->wg_backend);
        return -EINVAL;
    }
    if (cfg->wg_port > 65535) {
        fprintf(stderr, "tikgated: wg_port %u is not a port (1-65535)\n", cfg->wg_port);
        return -EINVAL;
    }
    size_t n = strlen(cfg->wg_interface);
    if (n < 1 || n > 15 ||
        strspn(cfg->wg_interface, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRS"
                                  "TUVWXYZ0123456789_.-") != n) {
        fprintf(stderr,
                "tikgated: wg_interface '%s' is not an interface name (1-15 of "
                "A-Za-z0-9_.-)\n",
                cfg->wg_interface);
        return -EINVAL;
    }
    if (tunnel_pool_parse(cfg->tunnel_pool, &first, &last) < 0 || last <= first) {
        fprintf(stderr,
                "tikgated: tunnel_pool '%s' is not an IPv4 prefix of /30 or larger "
                "(without host bits, e.g. 100.64.0.0/10)\n",
                cfg->tunnel_pool);
        return -EINVAL;
    }
    return 0;
}

/* The node registry's keys: a name that fits the registry (default: the host name). */
static int check_node(struct config *cfg)
{
    if (!cfg->node_name) {
        char host[256] = "";
        if (gethostname(host, sizeof host - 1) < 0 || !host[0])
            snprintf(host, sizeof host, "localhost");
        cfg->node_name = xstrdup(host);
    }
    size_t n = strlen(cfg->node_name);
    if (n < 1 || n > 63 ||
        strspn(cfg->node_name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRS"
                               "TUVWXYZ0123456789_.-") != n) {
        fprintf(stderr, "tikgated: node_name '%s' is not 1-63 of A-Za-z0-9_.-\n", cfg->node_name);
        return -EINVAL;
    }
    if (strlen(cfg->region) > 63) {
        fprintf(stderr, "tikgated: region '%s' is longer than 63 bytes\n", cfg->region);
        return -EINVAL;
    }
    if (cfg->heartbeat_ms < 100) {
        fprintf(stderr, "tikgated: heartbeat_ms %u is below 100\n", cfg->heartbeat_ms);
        return -EINVAL;
    }
    return 0;
}

void config_usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s [options] [tenant-create NAME | migrate-to POSTGRES_URL]\n\noptions (also "
            "TIKGATE_<NAME> "
            "in the environment or NAME = value in --config FILE;\n"
            "the command line wins over the environment, the environment over the file):\n",
            prog);
    fprintf(stderr, "  --config=FILE  %-24s\n", "configuration file");
    for (size_t i = 0; i < N_KEYS; i++) {
        char flag[64];
        snprintf(flag, sizeof flag, "--%s", keys[i].name);
        for (char *p = flag; *p; p++)
            if (*p == '_')
                *p = '-';
        fprintf(stderr, "  %-26s %s%s%s%s\n", flag, keys[i].help, keys[i].def ? " [" : "",
                keys[i].def ? keys[i].def : "", keys[i].def ? "]" : "");
    }
    fprintf(stderr, "numbers are 1..%d (counts, seconds); (ms) durations are 1..%d (one hour)\n",
            UINT_KEY_MAX, MS_KEY_MAX);
}

int config_load(struct config *cfg, int argc, char **argv, char ***ret_args, int *ret_nargs)
{
    memset(cfg, 0, sizeof *cfg);
    for (size_t i = 0; i < N_KEYS; i++)
        if (keys[i].def && set_value(cfg, &keys[i], keys[i].def, "default") < 0)
            return -EINVAL;

    /* First pass over flags: only --config, so the file can be read before the rest. */
    const char *file = getenv("TIKGATE_CONFIG");
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--config=", 9) == 0)
            file = argv[i] + 9;
        else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            file = argv[++i];
    }
    if (file) {
        cfg->config_file = xstrdup(file);
        if (load_file(cfg, file) < 0)
            return -EINVAL;
    }
    for (size_t i = 0; i < N_KEYS; i++) {
        char env[80];
        snprintf(env, sizeof env, "TIKGATE_%s", keys[i].name);
        for (char *p = env; *p; p++)
            *p = (char)toupper((unsigned char)*p);
        const char *v = getenv(env);
        if (v && set_value(cfg, &keys[i], v, env) < 0)
            return -EINVAL;
    }
    static char *positional[8];
    int np = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0) {
            if (np < 8)
                positional[np++] = argv[i];
            continue;
        }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            config_usage(argv[0]);
            return -EINVAL;
        }
        char name[64];
        const char *val = strchr(a, '=');
        size_t nl = val ? (size_t)(val - a - 2) : strlen(a + 2);
        if (nl >= sizeof name) {
            fprintf(stderr, "tikgated: unknown option %s\n", a);
            return -EINVAL;
        }
        memcpy(name, a + 2, nl);
        name[nl] = '\0';
        if (!strcmp(name, "config")) {
            if (!val)
                i++;
            continue;
        }
        const struct key *k = find_key(name);
        if (!k) {
            fprintf(stderr, "tikgated: unknown option %s\n", a);
            return -EINVAL;
        }
        if (val) {
            val++;
        } else if (k->kind == K_BOOL) {
            val = "1";
        } else if (i + 1 < argc) {
            val = argv[++i];
        } else {
            fprintf(stderr, "tikgated: option %s needs a value\n", a);
            return -EINVAL;
        }
        if (set_value(cfg, k, val, "command line") < 0)
            return -EINVAL;
    }
    if (check_vpn(cfg) < 0 || check_node(cfg) < 0)
        return -EINVAL;
    cfg->roles_mask = parse_roles(cfg->roles);
    if (!cfg->database)
        cfg->database = xasprintf("sqlite:%s/tikgate.db", cfg->data_dir);
    if (!cfg->public_url)
        cfg->public_url = xasprintf("%s://%s", cfg->tls_cert ? "https" : "http", cfg->listen);
    *ret_args = positional;
    *ret_nargs = np;
    return 0;
}

void config_release(struct config *cfg)
{
    for (size_t i = 0; i < N_KEYS; i++) {
        if (keys[i].kind == K_STR || keys[i].kind == K_CIDRS) {
            char **slot = (char **)(void *)((char *)cfg + keys[i].offset);
            free(*slot);
            *slot = NULL;
        }
    }
    free(cfg->config_file);
    cfg->config_file = NULL;
}
