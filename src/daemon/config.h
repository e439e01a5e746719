/*
 * config.h - tikgated's configuration: defaults < config file < environment < flags.
 *
 * Environment names are stable (DESIGN.md §8). The config file holds
 * "key = value" lines where key is either the environment name
 * (TIKGATE_LISTEN) or its short form (listen); '#' starts a comment.
 */
#ifndef TG_DAEMON_CONFIG_H
#define TG_DAEMON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

/* The roles a process runs (TIKGATE_ROLES, comma-separated names), as bits of config.roles_mask. */
enum config_role {
    CONFIG_ROLE_API = 1u << 0,        /* "api": HTTP API and portal */
    CONFIG_ROLE_SCHEDULER = 1u << 1,  /* "scheduler" */
    CONFIG_ROLE_DISPATCHER = 1u << 2, /* "dispatcher": express push */
    CONFIG_ROLE_EDGE = 1u << 3,       /* "edge": the relay */
};

struct config_port_range {
    int lo, hi; /* 1 <= lo <= hi <= 65535 */
};

struct config {
    char *listen;
    char *database;
    char *data_dir;
    char *roles;         /* as given, e.g. "api,scheduler" */
    unsigned roles_mask; /* enum config_role bits of roles; unknown names are ignored */
    char *entry_point;
    char *edge_listen;
    struct config_port_range edge_ports; /* TIKGATE_EDGE_PORTS "40000-59999" */
    bool allow_private_sources;
    bool webhook_allow_private;      /* TIKGATE_WEBHOOK_ALLOW_PRIVATE */
    unsigned webhook_max_attempts;   /* attempts of a delivery before it fails */
    unsigned webhook_backoff_ms;     /* first retry delay (doubles) */
    unsigned webhook_backoff_max_ms; /* cap of the delay */
    unsigned webhook_timeout_ms;     /* one attempt */
    unsigned webhook_poll_ms;        /* outbox poll interval */
    unsigned webhook_retention;      /* days finished events are kept */
    char *management_networks;
    char *bootstrap_token;
    char *admin_email;    /* the first portal user */
    char *admin_password; /* its password (else random, kept in DATA_DIR/admin.password) */
    char *public_url;
    char *share_dir; /* directory holding api/openapi.yaml and docs/errors.md */
    char *config_file;
    char *log_level;
    unsigned http_threads;
    unsigned http_write_threads;
    size_t max_body;
    size_t http_public_max_body;      /* body cap without an API key (login, device routes) */
    unsigned http_max_connections;    /* open HTTP connections in all */
    unsigned http_per_ip_connections; /* open HTTP connections per client address */
    unsigned http_request_timeout_ms; /* total deadline of a request's headers and body */
    unsigned poll_interval;           /* seconds between router heartbeats */
    unsigned bootstrap_token_ttl;     /* seconds a bootstrap token is valid after it is issued */
    unsigned login_slots;             /* failed-sign-in limiter entries (TIKGATE_LOGIN_SLOTS) */
    unsigned pull_lease;              /* seconds a pulled job may wait for the router's busy */
    unsigned job_max_attempts;        /* express-push attempts before a job fails */
    unsigned job_backoff_ms;         /* first retry delay (doubles, capped at job_backoff_max_ms) */
    unsigned job_backoff_max_ms;     /* cap of the retry delay */
    unsigned job_lease_ms;           /* a job running longer than this goes back to the queue */
    unsigned dispatch_workers;       /* parallel express pushes */
    unsigned ros_connect_timeout_ms; /* RouterOS API connect timeout (express push) */
    unsigned ros_io_timeout_ms;      /* RouterOS API reply timeout (express push) */
    unsigned push_deadline_ms;       /* a whole express push: connect + login + plan */
    unsigned dispatch_tenant_workers; /* workers one tenant may hold (0: dispatch_workers - 1) */
    unsigned edge_threads;            /* relay loops (0: one per online CPU, at most 16) */
    unsigned edge_conns_per_grant;    /* live relayed connections per grant */
    unsigned edge_conns_per_source;   /* live relayed connections per source address */
    unsigned edge_idle_timeout;       /* seconds without a byte either way before a cut */
    unsigned edge_refused_interval;   /* seconds refused connections are summed per row */
    unsigned edge_refused_records;    /* refused-connection rows kept per grant */
    unsigned edge_refused_retention;  /* days refused-connection rows are kept */
    unsigned edge_store_grace;        /* seconds without the store before new conns are refused */
    unsigned fd_reserve;              /* descriptors kept from the edge besides HTTP's cap */

    char *tls_cert;     /* PEM chain: serve HTTPS on listen (NULL: plain HTTP) */
    char *tls_key;      /* its PEM private key */
    char *tls_ca;       /* PEM CA routers install at bootstrap, verified by fingerprint */
    char *vpn;          /* TIKGATE_VPN: "auto", "wireguard" or "off" (checked by config_load) */
    char *wg_backend;   /* TIKGATE_WG_BACKEND: "auto", "kernel" or "userspace" (checked) */
    char *wg_interface; /* the edge's WireGuard interface name */
    unsigned wg_port;   /* its UDP port, 1..65535 (checked by config_load) */
    char *tunnel_pool;  /* IPv4 prefix: the edge takes the first address, sites a /32 each */
    unsigned tunnel_down_after; /* seconds without handshake or traffic before a tunnel is down */

    char *node_name; /* TIKGATE_NODE_NAME: this node in the registry (default: host name) */
    char *region;    /* TIKGATE_REGION: where it runs ("" for none) */
    unsigned
        heartbeat_ms; /* TIKGATE_HEARTBEAT_MS: 100..; dead after 3 missed (config_dead_after_ms) */
    unsigned site_queue_max;  /* TIKGATE_SITE_QUEUE_MAX: pending operator jobs per site */
    unsigned queue_max;       /* TIKGATE_QUEUE_MAX: ... in all */
    unsigned verify_interval; /* TIKGATE_VERIFY_INTERVAL: s between drift checks (0: never) */
    unsigned edge_move_after; /* TIKGATE_EDGE_MOVE_AFTER: s an edge is dead before its sites
                                 move (0: never) */
    unsigned audit_retention; /* TIKGATE_AUDIT_RETENTION: days an audit entry is kept */
};

/* A node is dead after this many heartbeats without one (DESIGN.md §11). */
#define CONFIG_DEAD_HEARTBEATS 3
/* How old a node's last heartbeat may be while it counts as alive. */
static inline long long config_dead_after_ms(const struct config *cfg)
{
    return (long long)cfg->heartbeat_ms * CONFIG_DEAD_HEARTBEATS;
}
/*
 * The roles of mask in their canonical order, comma-separated ("api,scheduler,dispatcher,edge";
 * "" for none) into out (64 bytes are enough for all four).
 */
void config_roles_format(unsigned mask, char *out, size_t len);

/*
 * Fills cfg from all sources, each overriding the one before: defaults, the
 * file (--config FILE, else TIKGATE_CONFIG), the environment (TIKGATE_<KEY>),
 * the command line. argv options: --listen=ADDR (or --listen ADDR) and the
 * other keys in long form; positional arguments are left in *ret_args and
 * *ret_nargs (a subcommand; *ret_args points into argv, in a static array).
 * Returns 0, or -EINVAL after printing a message to stderr (also for --help,
 * after printing the usage). Release cfg with config_release() in both cases.
 */
int config_load(struct config *cfg, int argc, char **argv, char ***ret_args, int *ret_nargs);
/* Frees the strings of cfg. Accepts a cfg that config_load() failed on. */
void config_release(struct config *cfg);
/* Prints every option with its help and default to stderr. */
void config_usage(const char *prog);

#endif
