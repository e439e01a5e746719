/*
 * h_meta.c - /healthz, /openapi.yaml and /docs/errors.
 */
#include "api_int.h"
#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void h_healthz(struct api_call *call)
{
    /* 200 either way: the process serves (liveness); "degraded" says the database is not
     * reachable from this node, and store routes answer 503 storage_unavailable meanwhile. */
    bool up = store_reachable(call->api->store);
    json_t *o = json_object();
    json_object_set_new(o, "status", json_string(up ? "ok" : "degraded"));
    json_object_set_new(o, "store", json_string(up ? "ok" : "unreachable"));
    json_object_set_new(o, "schema_version", json_integer(store_schema_version(call->api->store)));
    api_send_json(call, 200, o);
}

/* Serves a file from disk with the given content type (read per request: small, rarely hit). */
static void send_file(struct api_call *call, const char *path, const char *content_type)
{
    FILE *f = path ? fopen(path, "rb") : NULL;
    if (!f) {
        api_fail(call, TG_ERR_NOT_FOUND, 404, "resource_missing", NULL, "No such document.");
        return;
    }
    buf_reset(&call->res->body);
    char chunk[8192];
    size_t n;
    int r = 0;
    while (r == 0 && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        r = buf_append(&call->res->body, chunk, n);
    fclose(f);
    if (r < 0) {
        api_fail(call, TG_ERR_API, 500, "internal_server_error", NULL, "Document too large.");
        return;
    }
    call->res->status = 200;
    call->res->content_type = content_type;
}

/*
 * GET /metrics: Prometheus text format. Aggregates over all tenants, so it needs the admin
 * scope of the platform operator: the first tenant, the one the daemon's bootstrap created
 * (security-review F14; other tenants' admins get 403 platform_operator_required, see
 * docs/decisions.md). Scrapers send a bearer key. Counts come from the store at scrape time;
 * the process adds its HTTP and edge counters.
 */
/*
 * True when the caller is the platform operator (its key or session belongs to the first
 * tenant, the one the daemon's bootstrap created); else answers 403 platform_operator_required
 * (what names the route) or the store's error, and returns false.
 */
static bool platform_operator(struct api_call *call, const char *what)
{
    char platform[UUID_STR_LEN];
    int r = store_tenant_first(call->api->store, platform);
    if (r < 0) {
        api_fail_store(call, r, "tenant");
        return false;
    }
    if (strcmp(platform, call->who.tenant_id) != 0) {
        api_fail(call, TG_ERR_PERMISSION, 403, "platform_operator_required", NULL,
                 "%s: it answers the platform operator's (the first tenant's) admin keys and "
                 "sessions only.",
                 what);
        return false;
    }
    return true;
}

void h_metrics(struct api_call *call)
{
    if (!platform_operator(call, "/metrics counts every tenant"))
        return;
    struct store_metrics m;
    int r = store_metrics_get(call->api->store, &m);
    if (r < 0) {
        api_fail_store(call, r, "metrics");
        return;
    }
    struct buf *b = &call->res->body;
    buf_reset(b);
    buf_append_str(b, "# HELP tikgate_sites Sites by status.\n# TYPE tikgate_sites gauge\n");
    for (int i = 0; i < SITE_STATUS_COUNT; i++)
        buf_printf(b, "tikgate_sites{status=\"%s\"} %ld\n", site_status_name((enum site_status)i),
                   m.sites[i]);
    buf_append_str(b, "# HELP tikgate_jobs Jobs by status.\n# TYPE tikgate_jobs gauge\n");
    for (int i = 0; i < JOB_STATUS_COUNT; i++)
        buf_printf(b, "tikgate_jobs{status=\"%s\"} %ld\n", job_status_name((enum job_status)i),
                   m.jobs[i]);
    buf_append_str(b, "# HELP tikgate_grants_live Transient grants open now.\n"
                      "# TYPE tikgate_grants_live gauge\n");
    buf_printf(b, "tikgate_grants_live{kind=\"access\"} %ld\n", m.grants_live[GRANT_ACCESS]);
    buf_printf(b, "tikgate_grants_live{kind=\"forward\"} %ld\n", m.grants_live[GRANT_FORWARD]);
    buf_printf(b, "# TYPE tikgate_tenants gauge\ntikgate_tenants %ld\n", m.tenants);
    buf_printf(b, "# TYPE tikgate_users gauge\ntikgate_users %ld\n", m.users);
    if (m.has_writer) {
        buf_printf(b,
                   "# HELP tikgate_store_writer_holds_total Transactions and autocommit writes "
                   "that held the database's one writer.\n"
                   "# TYPE tikgate_store_writer_holds_total counter\n"
                   "tikgate_store_writer_holds_total %llu\n"
                   "# HELP tikgate_store_writer_held_seconds_total Time the writer was held "
                   "(its share of the elapsed time: how busy it is).\n"
                   "# TYPE tikgate_store_writer_held_seconds_total counter\n"
                   "tikgate_store_writer_held_seconds_total %.6f\n"
                   "# HELP tikgate_store_writer_commits_total COMMITs (a group commit is one).\n"
                   "# TYPE tikgate_store_writer_commits_total counter\n"
                   "tikgate_store_writer_commits_total %llu\n",
                   m.writer_holds, (double)m.writer_held_us / 1e6, m.writer_commits);
    }
    unsigned long full, busy, io;
    store_error_counts(&full, &busy, &io);
    buf_append_str(b, "# HELP tikgate_storage_errors_total Failed database operations by kind.\n"
                      "# TYPE tikgate_storage_errors_total counter\n");
    buf_printf(b, "tikgate_storage_errors_total{kind=\"full\"} %lu\n", full);
    buf_printf(b, "tikgate_storage_errors_total{kind=\"busy\"} %lu\n", busy);
    buf_printf(b, "tikgate_storage_errors_total{kind=\"io\"} %lu\n", io);
    if (call->api->cfg.metrics)
        call->api->cfg.metrics(call->api->cfg.metrics_ctx, b);
    call->res->status = 200;
    call->res->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

void h_portal_index(struct api_call *call)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/index.html", call->api->cfg.web_dir);
    send_file(call, path, "text/html; charset=utf-8");
}

/* Files of the portal: one path segment, no dot-files, known types only. */
void h_portal_asset(struct api_call *call)
{
    const char *file = api_param(call, 0);
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".html", "text/html; charset=utf-8"},
        {".json", "application/json"},
        {".ico", "image/x-icon"},
    };
    const char *type = NULL;
    const char *dot = strrchr(file, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (!strcmp(dot, types[i].ext))
            type = types[i].type;
    if (!type || file[0] == '.' || strchr(file, '/') || strstr(file, "..")) {
        api_fail(call, TG_ERR_NOT_FOUND, 404, "route_not_found", NULL, "No such file.");
        return;
    }
    /*
     * The charting library of the fleet view (docs/portal.md "Charts"): uPlot's release files as
     * `npm ci` installed them beside web/ (share_dir/node_modules, pinned in package-lock.json),
     * served under these two names only; not copied into git.
     */
    static const struct {
        const char *name, *dist;
    } vendor[] = {
        {"uplot.min.js", "uPlot.iife.min.js"},
        {"uplot.min.css", "uPlot.min.css"},
    };
    char path[4096];
    snprintf(path, sizeof path, "%s/assets/%s", call->api->cfg.web_dir, file);
    for (size_t i = 0; i < sizeof vendor / sizeof vendor[0]; i++)
        if (!strcmp(file, vendor[i].name))
            snprintf(path, sizeof path, "%s/../node_modules/uplot/dist/%s", call->api->cfg.web_dir,
                     vendor[i].dist);
    send_file(call, path, type);
}

void h_openapi(struct api_call *call)
{
    send_file(call, call->api->cfg.openapi_path, "application/yaml");
}

void h_errors_doc(struct api_call *call)
{
    send_file(call, call->api->cfg.errors_doc_path, "text/markdown; charset=utf-8");
}

/*
 * GET /v1/nodes: the node registry (DESIGN.md §11), every node by name with alive/dead on the
 * database clock (dead: no heartbeat for 3 heartbeats). Installation-wide like /metrics, so
 * the platform operator's admins only (docs/API.md, docs/decisions.md). Read-only: nodes
 * register themselves.
 */
void h_nodes_list(struct api_call *call)
{
    if (!platform_operator(call, "/v1/nodes lists the installation's nodes"))
        return;
    struct store_node *nodes = NULL;
    size_t n = 0;
    int r = store_node_list(call->api->store, call->api->cfg.node_dead_after_ms, &nodes, &n);
    if (r < 0) {
        api_fail_store(call, r, "node");
        return;
    }
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, node_to_json(&nodes[i]));
    free(nodes);
    api_send_json(call, 200, a);
}
