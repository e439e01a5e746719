/*
 * main.c - tikgated: wires configuration, store, API and HTTP server together.
 *
 * Signals: SIGINT/SIGTERM are blocked in every thread and taken by sigwait()
 * in the main thread, which then stops the server (in-flight requests finish)
 * and closes the store. SIGHUP re-reads the TLS certificate and key (the
 * listener and open connections stay). SIGPIPE is ignored.
 */
#include "alloc.h"
#include "api.h"
#include "bootstrap.h"
#include "config.h"
#include "dispatcher.h"
#include "edge_role.h"
#include "fdlimit.h"
#include "hooks.h"
#include "http.h"
#include "log.h"
#include "node_role.h"
#include "rand.h"
#include "store.h"
#include "tls_ca.h"
#include "tunnel.h"
#include "vpn_role.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

static void wake_dispatcher(void *ctx)
{
    dispatcher_wake(ctx);
}

static void beat_dispatcher(void *ctx, int64_t db_now_ms)
{
    (void)db_now_ms;
    dispatcher_beat(ctx);
}

struct metrics_ctx {
    _Atomic(struct http_server *) srv; /* set once the server runs; read by its threads */
    struct edge_role *edge;
    struct vpn_role *vpn;
    struct dispatcher *disp;
};

/* The process's own counters for /metrics (the API adds the store's). */
static void process_metrics(void *ctx, struct buf *out)
{
    struct metrics_ctx *m = ctx;
    struct http_server *srv = m->srv;
    if (srv) {
        unsigned long long by[6];
        http_server_stats(srv, by);
        buf_append_str(out, "# HELP tikgate_http_responses_total HTTP responses by status class.\n"
                            "# TYPE tikgate_http_responses_total counter\n");
        for (int i = 1; i <= 5; i++)
            buf_printf(out, "tikgate_http_responses_total{class=\"%dxx\"} %llu\n", i, by[i]);
    }
    buf_printf(out,
               "# HELP tikgate_log_dropped_lines_total Log lines dropped: the buffer was full.\n"
               "# TYPE tikgate_log_dropped_lines_total counter\n"
               "tikgate_log_dropped_lines_total %llu\n",
               log_dropped());
    edge_role_metrics(m->edge, out);
    vpn_role_metrics(m->vpn, out);
    dispatcher_metrics(m->disp, out);
}

static void wake_vpn(void *ctx)
{
    vpn_role_wake(ctx);
}

static void wake_edge(void *ctx)
{
    edge_role_wake(ctx);
}

static enum log_level parse_level(const char *s)
{
    if (!strcmp(s, "debug"))
        return LOG_DEBUG;
    if (!strcmp(s, "warn"))
        return LOG_WARN;
    if (!strcmp(s, "error"))
        return LOG_ERROR;
    return LOG_INFO;
}

/*
 * The API's URL on the edge's tunnel address when TIKGATE_LISTEN takes every address
 * ("0.0.0.0:P", "[::]:P", ":P"), else NULL (owned).
 */
static char *tunnel_api_url(const struct config *cfg)
{
    const char *colon = strrchr(cfg->listen, ':');
    uint32_t first, last;
    if (!colon || tunnel_pool_parse(cfg->tunnel_pool, &first, &last) < 0)
        return NULL;
    size_t hl = (size_t)(colon - cfg->listen);
    bool any = hl == 0 || (hl == 7 && !strncmp(cfg->listen, "0.0.0.0", 7)) ||
               (hl == 4 && !strncmp(cfg->listen, "[::]", 4));
    if (!any)
        return NULL;
    char ip[16];
    tunnel_ip_format(first, ip);
    return xasprintf("http://%s%s", ip, colon);
}

/*
 * The edge node's roles: the management VPN, then the relay sized to nofile descriptors.
 * 0 and both set, or -1 (logged; nothing left running).
 */
static int start_edge(struct store *st, const struct config *cfg, unsigned long nofile,
                      struct vpn_role **ret_vpn, struct edge_role **ret_edge)
{
    struct vpn_role *vpn = NULL;
    struct vpn_role_config vc = {.store = st,
                                 .mode = cfg->vpn,
                                 .backend = cfg->wg_backend,
                                 .entry_point = cfg->entry_point,
                                 .node_name = cfg->node_name,
                                 .ifname = cfg->wg_interface,
                                 .port = cfg->wg_port,
                                 .pool = cfg->tunnel_pool,
                                 .mgmt_networks = cfg->management_networks,
                                 .down_after_secs = cfg->tunnel_down_after};
    if (vpn_role_start(&vc, &vpn) < 0) {
        log_error("daemon", "cannot start the management VPN (TIKGATE_VPN=%s)", cfg->vpn);
        return -1;
    }
    /* F8: one budget of descriptors: the HTTP server's own cap and the reserve come first */
    unsigned long reserve = cfg->fd_reserve;
    if (cfg->roles_mask & CONFIG_ROLE_API)
        reserve += cfg->http_max_connections < nofile ? cfg->http_max_connections : nofile;
    struct edge_role_config ec = {
        .store = st,
        .entry_point = cfg->entry_point,
        .listen_addr = cfg->edge_listen,
        .port_lo = cfg->edge_ports.lo,
        .port_hi = cfg->edge_ports.hi,
        .mgmt_networks = cfg->management_networks,
        .tunnel_pool = cfg->tunnel_pool,
        .limits = {.max_conns = fdlimit_edge_conns(nofile, reserve),
                   .conns_per_grant = cfg->edge_conns_per_grant,
                   .conns_per_source = cfg->edge_conns_per_source,
                   .idle_timeout_ms = cfg->edge_idle_timeout * 1000u,
                   .threads = cfg->edge_threads},
        .refused = {.interval_ms = (int64_t)cfg->edge_refused_interval * 1000,
                    .records_per_grant = cfg->edge_refused_records,
                    .retention_ms = (int64_t)cfg->edge_refused_retention * 86400 * 1000},
        .store_grace_ms = (int64_t)cfg->edge_store_grace * 1000};
    log_info("daemon",
             "open files limit %lu (%lu kept for HTTP and the rest): the edge relays at most %u "
             "connections",
             nofile, reserve, ec.limits.max_conns);
    if (edge_role_start(&ec, ret_edge) < 0) {
        log_error("daemon", "cannot start the edge");
        vpn_role_stop(vpn);
        return -1;
    }
    *ret_vpn = vpn;
    return 0;
}

/*
 * This node as the registry shows it (store.h, struct store_node). with_vpn: the VPN role runs
 * (its endpoint and pool are shown; before the roles start it is not known yet).
 */
static void node_self(const struct config *cfg, bool with_vpn, struct store_node *ret)
{
    memset(ret, 0, sizeof *ret);
    snprintf(ret->name, sizeof ret->name, "%s", cfg->node_name);
    config_roles_format(cfg->roles_mask, ret->roles, sizeof ret->roles);
    snprintf(ret->region, sizeof ret->region, "%s", cfg->region);
    if (!(cfg->roles_mask & CONFIG_ROLE_EDGE))
        return;
    snprintf(ret->entry_point, sizeof ret->entry_point, "%s", cfg->entry_point);
    ret->port_lo = cfg->edge_ports.lo;
    ret->port_hi = cfg->edge_ports.hi;
    if (!with_vpn)
        return;
    bool v6 = strchr(cfg->entry_point, ':') != NULL;
    snprintf(ret->wg_endpoint, sizeof ret->wg_endpoint, "%s%s%s:%u", v6 ? "[" : "",
             cfg->entry_point, v6 ? "]" : "", cfg->wg_port);
    snprintf(ret->tunnel_pool, sizeof ret->tunnel_pool, "%s", cfg->tunnel_pool);
}

/* The dispatcher's and scheduler's settings from cfg; edge and vpn are woken by them. */
static struct dispatcher_config dispatcher_config_of(struct store *st, const struct config *cfg,
                                                     struct edge_role *edge, struct vpn_role *vpn)
{
    return (struct dispatcher_config){
        .store = st,
        .workers = (int)cfg->dispatch_workers,
        .max_attempts = (int)cfg->job_max_attempts,
        .backoff_base_ms = (int)cfg->job_backoff_ms,
        .backoff_max_ms = (int)cfg->job_backoff_max_ms,
        .connect_timeout_ms = (int)cfg->ros_connect_timeout_ms,
        .io_timeout_ms = (int)cfg->ros_io_timeout_ms,
        .push_deadline_ms = (int)cfg->push_deadline_ms,
        .tenant_workers = (int)cfg->dispatch_tenant_workers,
        .lease_ms = cfg->job_lease_ms,
        /* within the lease (a running job is not re-queued while the router reboots) */
        .reboot_confirm_ms = cfg->job_lease_ms * 3 / 4,
        .poll_interval_s = (int)cfg->poll_interval,
        .run_dispatcher = cfg->roles_mask & CONFIG_ROLE_DISPATCHER,
        .run_scheduler = cfg->roles_mask & CONFIG_ROLE_SCHEDULER,
        .grants_changed = wake_edge,
        .grants_ctx = edge,
        .tunnels_changed = wake_vpn,
        .tunnels_ctx = vpn,
        .mgmt_networks = cfg->management_networks,
        .tunnel_pool = cfg->tunnel_pool,
        .node_dead_after_ms = config_dead_after_ms(cfg),
        .edge_move_after_ms = (int64_t)cfg->edge_move_after * 1000,
        .node_name = cfg->node_name,
        .verify_interval_s = cfg->verify_interval,
    };
}

/*
 * The webhook sender (docs/webhooks.md), beside the dispatcher role, with cfg's
 * TIKGATE_WEBHOOK_* settings: 0 and *ret, or -1 (logged).
 */
static int start_hooks(struct store *st, const struct config *cfg, struct hooks_sender **ret)
{
    struct hooks_sender_config hsc = {
        .store = st,
        .node_name = cfg->node_name,
        .allow_private = cfg->webhook_allow_private,
        .max_attempts = (int)cfg->webhook_max_attempts,
        .backoff_ms = cfg->webhook_backoff_ms,
        .backoff_max_ms = cfg->webhook_backoff_max_ms,
        .timeout_ms = cfg->webhook_timeout_ms,
        .poll_ms = cfg->webhook_poll_ms,
        .retention_ms = (int64_t)cfg->webhook_retention * 86400 * 1000,
    };
    if (hooks_sender_start(&hsc, ret) < 0) {
        log_error("daemon", "cannot start the webhook sender");
        return -1;
    }
    return 0;
}

/*
 * Runs the roles of cfg until SIGINT/SIGTERM: the edge, then the dispatcher
 * and scheduler, then HTTP; stops them in the reverse order. Returns the exit
 * status (0 after a signal, 1 when something could not start).
 */
/* The HTTP server's settings: the API's handler and preflight, the F7 caps of cfg. */
static struct http_server_config http_config(const struct config *cfg, struct api *api)
{
    return (struct http_server_config){
        .listen = cfg->listen,
        .max_body = cfg->max_body,
        .threads = cfg->http_threads,
        .write_threads = cfg->http_write_threads,
        .handler = api_handle,
        .ctx = api,
        .tls_cert = cfg->tls_cert,
        .tls_key = cfg->tls_key,
        .content_security_policy = API_CONTENT_SECURITY_POLICY,
        .preflight = api_preflight,
        .app_release = api_preflight_release,
        .max_connections = cfg->http_max_connections,
        .per_ip_connections = cfg->http_per_ip_connections,
        .request_timeout_ms = cfg->http_request_timeout_ms,
    };
}

/* What serve() started (the API's wake-ups point at them). */
struct running {
    struct edge_role *edge;
    struct vpn_role *vpn;
    struct dispatcher *disp;
};

/* The files the API serves from TIKGATE_SHARE_DIR. */
struct share_paths {
    const char *openapi, *errors, *web;
};

/* The API's settings: cfg's, the share files p, and the hooks into what serve() started. */
static struct api_config api_config_of(const struct config *cfg, const struct share_paths *p,
                                       const struct running *run, const char *tunnel_url,
                                       struct metrics_ctx *mctx, const char *ca_pem,
                                       const char *ca_fingerprint)
{
    return (struct api_config){.public_url = cfg->public_url,
                               .mgmt_networks = cfg->management_networks,
                               .openapi_path = p->openapi,
                               .errors_doc_path = p->errors,
                               .web_dir = p->web,
                               .max_body = cfg->max_body,
                               .public_max_body = cfg->http_public_max_body,
                               .poll_interval_s = (int)cfg->poll_interval,
                               .pull_lease_s = (int)cfg->pull_lease,
                               .bootstrap_ttl_s = (int64_t)cfg->bootstrap_token_ttl,
                               .jobs_queued = wake_dispatcher,
                               .jobs_ctx = run->disp,
                               .entry_point = cfg->entry_point,
                               .edge_port_lo = cfg->edge_ports.lo,
                               .edge_port_hi = cfg->edge_ports.hi,
                               .allow_private_sources = cfg->allow_private_sources,
                               .webhook_allow_private = cfg->webhook_allow_private,
                               .grants_changed = wake_edge,
                               .grants_ctx = run->edge,
                               .vpn_enabled = run->vpn != NULL,
                               .tunnel_pool = cfg->tunnel_pool,
                               .wg_port = cfg->wg_port,
                               .tunnels_changed = wake_vpn,
                               .tunnels_ctx = run->vpn,
                               .tunnel_url = tunnel_url,
                               .metrics = process_metrics,
                               .metrics_ctx = mctx,
                               .tls_ca_pem = ca_pem,
                               .tls_ca_fingerprint = ca_fingerprint,
                               .node_name = cfg->node_name,
                               .node_dead_after_ms = config_dead_after_ms(cfg),
                               .site_queue_max = cfg->site_queue_max,
                               .queue_max = cfg->queue_max,
                               .edges_changed = wake_edge,
                               .edges_ctx = run->edge,
                               .audit_retention_days = (int)cfg->audit_retention};
}

/* Serves until SIGINT or SIGTERM; SIGHUP re-reads the TLS certificate. */
static void wait_for_signals(struct http_server *srv)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    int sig = 0;
    while (sigwait(&set, &sig) == 0 && sig == SIGHUP) {
        if (http_server_reload_tls(srv) == -ENOTSUP)
            log_info("daemon", "SIGHUP: not serving HTTPS, nothing to reload");
    }
    log_info("daemon", "signal %d: shutting down", sig);
}

static int serve(struct store *st, const struct config *cfg)
{
    int rc = 1;
    const char *ca_pem = NULL, *ca_fingerprint = NULL;
    if (cfg->tls_ca && tls_ca_load(cfg->tls_ca, cfg->public_url, &ca_pem, &ca_fingerprint) < 0)
        return rc;
    if (cfg->tls_cert && strncasecmp(cfg->public_url, "https://", 8) != 0)
        log_warn("daemon",
                 "serving HTTPS but TIKGATE_PUBLIC_URL is %s: routers cannot fetch from it",
                 cfg->public_url);
    int r = bootstrap_run(st, cfg);
    if (r < 0) {
        log_error("daemon", "bootstrap failed: %s", strerror(-r));
        return rc;
    }
    /* From here on info lines (the access log) are buffered off the callers' threads. */
    if ((r = log_async_start()) < 0)
        log_warn("daemon", "log lines stay unbuffered: %s", strerror(-r));
    /* F8: the soft limit (often 1024) up to the hard one, before any thread opens files */
    unsigned long nofile = fdlimit_raise();
    char *openapi = xasprintf("%s/api/openapi.yaml", cfg->share_dir);
    char *errors = xasprintf("%s/docs/errors.md", cfg->share_dir);
    char *web = xasprintf("%s/web", cfg->share_dir);
    struct edge_role *edge = NULL;
    struct vpn_role *vpn = NULL;
    struct dispatcher *disp = NULL;
    struct hooks_sender *hooks = NULL;
    char *tunnel_url = NULL;
    struct http_server *srv = NULL;
    struct node_role *node = NULL;
    struct store_node self;

    /* The registry first: a node's claims carry its name, and its heartbeat renews them. */
    node_self(cfg, false, &self);
    if (node_role_start(st, &self, cfg->heartbeat_ms, &node) < 0)
        goto out_free_paths;
    if ((cfg->roles_mask & CONFIG_ROLE_EDGE) && start_edge(st, cfg, nofile, &vpn, &edge) < 0)
        goto out_stop_node;
    if (vpn) {
        node_self(cfg, true, &self);
        if (node_role_update(node, &self) < 0)
            goto out_stop_edge;
    }
    struct dispatcher_config dc = dispatcher_config_of(st, cfg, edge, vpn);
    if ((dc.run_dispatcher || dc.run_scheduler) && dispatcher_start(&dc, &disp) < 0) {
        log_error("daemon", "cannot start the dispatcher");
        goto out_stop_edge;
    }
    if (disp)
        node_role_on_beat(node, beat_dispatcher, disp);
    if (dc.run_dispatcher && start_hooks(st, cfg, &hooks) < 0)
        goto out_stop_dispatcher;
    api_login_limiter_size(cfg->login_slots);
    struct metrics_ctx mctx = {.edge = edge, .vpn = vpn, .disp = disp};
    tunnel_url = vpn ? tunnel_api_url(cfg) : NULL;
    struct running run = {.edge = edge, .vpn = vpn, .disp = disp};
    struct share_paths paths = {openapi, errors, web};
    struct api api = {
        .store = st,
        .cfg = api_config_of(cfg, &paths, &run, tunnel_url, &mctx, ca_pem, ca_fingerprint)};
    struct http_server_config hc = http_config(cfg, &api);
    /* Without the api role (an edge or worker node of a larger installation) no HTTP at all. */
    r = (cfg->roles_mask & CONFIG_ROLE_API) ? http_server_start(&hc, &srv) : 0;
    if (r < 0) {
        log_error("daemon", "cannot listen on %s: %s", cfg->listen,
                  r == -EBADMSG || r == -ENOTSUP ? "no HTTPS (see above)" : strerror(-r));
        goto out_stop_dispatcher;
    }
    mctx.srv = srv;
    if (srv)
        log_info("daemon", "listening on %s (port %u)", cfg->listen, http_server_port(srv));
    else
        log_info("daemon", "roles %s: no API on this node", cfg->roles);

    wait_for_signals(srv);
    http_server_stop(srv);
    rc = 0;
out_stop_dispatcher:
    free(tunnel_url);
    node_role_clear_beats(node);
    hooks_sender_stop(hooks);
    dispatcher_stop(disp);
out_stop_edge:
    edge_role_stop(edge);
    vpn_role_stop(vpn);
out_stop_node:
    node_role_stop(node);
out_free_paths:
    free(web);
    free(errors);
    free(openapi);
    log_async_stop();
    return rc;
}

/*
 * `tikgated migrate-to URL`: copies the installation's SQLite store (st, TIKGATE_DATABASE)
 * into the PostgreSQL database at url (migrated first, must be empty), with the same master
 * key (TIKGATE_DATA_DIR), and verifies the row counts (store_copy). The daemon must be
 * stopped. Prints one JSON line; the URL is not echoed (it may hold a password).
 */
static int migrate_to(struct store *st, const struct config *cfg, const char *url)
{
    if (!url || (strncmp(url, "postgres://", 11) != 0 && strncmp(url, "postgresql://", 13) != 0)) {
        fprintf(stderr, "tikgated: migrate-to needs a postgres:// or postgresql:// URL\n");
        return 2;
    }
    if (strncmp(cfg->database, "sqlite:", 7) != 0) {
        fprintf(stderr, "tikgated: migrate-to copies from a SQLite store (TIKGATE_DATABASE)\n");
        return 2;
    }
    struct store *to = NULL;
    int r = store_open(url, cfg->data_dir, &to);
    if (r < 0) {
        fprintf(stderr, "tikgated: cannot open the PostgreSQL store: %s\n",
                r == -ENOTSUP ? "this build has no PostgreSQL backend" : strerror(-r));
        return 1;
    }
    long rows = 0;
    r = store_copy(st, to, &rows);
    store_close(to);
    if (r < 0) {
        fprintf(stderr, "tikgated: migration failed, nothing was copied: %s\n",
                r == -EEXIST ? "the PostgreSQL database is not empty" : strerror(-r));
        return 1;
    }
    printf("{\"migrated_rows\": %ld, \"schema_version\": %d}\n", rows, store_schema_version(st));
    return 0;
}

int main(int argc, char **argv)
{
    /* Block the shutdown signals before any thread starts, so only sigwait() sees them. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* Every file the daemon creates (database, WAL, keys) is the service user's alone (F12). */
    umask(077);

    struct config cfg;
    char **args = NULL;
    int nargs = 0;
    if (config_load(&cfg, argc, argv, &args, &nargs) < 0) {
        config_release(&cfg);
        return 2;
    }
    log_set_level(parse_level(cfg.log_level));
    if (tg_rand_init() < 0 || hooks_global_init() < 0) {
        fprintf(stderr, "tikgated: libsodium or libcurl failed to initialise\n");
        return 1;
    }
    int r = bootstrap_secure_data_dir(&cfg);
    if (r < 0) {
        fprintf(stderr, "tikgated: cannot create %s: %s\n", cfg.data_dir, strerror(-r));
        config_release(&cfg);
        return 1;
    }
    struct store *st = NULL;
    r = store_open(cfg.database, cfg.data_dir, &st);
    if (r < 0) {
        /* A PostgreSQL URL may hold a password: not echoed. */
        bool pg = strncmp(cfg.database, "sqlite:", 7) != 0;
        fprintf(stderr, "tikgated: cannot open store %s: %s\n",
                pg ? "(the PostgreSQL URL in TIKGATE_DATABASE)" : cfg.database,
                r == -ENOTSUP ? "this build has no PostgreSQL backend" : strerror(-r));
        config_release(&cfg);
        return 1;
    }
    int rc;
    if (nargs >= 1 && !strcmp(args[0], "tenant-create")) {
        rc = bootstrap_tenant_create(st, &cfg, nargs >= 2 ? args[1] : "tenant") < 0 ? 1 : 0;
    } else if (nargs >= 1 && !strcmp(args[0], "migrate-to")) {
        rc = migrate_to(st, &cfg, nargs >= 2 ? args[1] : NULL);
    } else if (nargs >= 1) {
        fprintf(stderr, "tikgated: unknown command '%s'\n", args[0]);
        config_usage(argv[0]);
        rc = 2;
    } else {
        rc = serve(st, &cfg);
    }
    store_close(st);
    config_release(&cfg);
    return rc;
}
