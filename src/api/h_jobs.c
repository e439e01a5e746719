/*
 * h_jobs.c - the orchestration log and custom jobs (/v1/sites/{id}/jobs,
 * MikroCloud's /api/asynchronous/{site}), and site actions.
 */
#include "alloc.h"
#include "api_int.h"
#include "enqueue.h"
#include "rand.h"
#include "store.h"
#include "timefmt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void api_jobs_queued(struct api *api)
{
    if (api->cfg.jobs_queued)
        api->cfg.jobs_queued(api->cfg.jobs_ctx);
}

void h_jobs_list(struct api_call *call)
{
    const char *site = api_param(call, 0);
    if (!api_check_id(call, site, "site"))
        return;
    struct store_page page;
    if (!api_page(call, &page))
        return;
    struct job *a = NULL;
    size_t n = 0;
    int r = store_job_list(call->api->store, call->who.tenant_id, site, &page, &a, &n);
    if (r < 0) {
        api_fail_list(call, r, "site");
        return;
    }
    struct jw w;
    api_jw_begin(call, &w);
    jw_open(&w, '[');
    for (size_t i = 0; i < n; i++)
        job_write_json(&w, &a[i], false);
    jw_close(&w, ']');
    store_job_array_free(a, n);
    api_jw_send(call, 200, &w);
}

static void send_job(struct api_call *call, const char *site, const char *id, int status)
{
    struct job j;
    int r = store_job_get(call->api->store, call->who.tenant_id, site, id, &j);
    if (r < 0) {
        api_fail_store(call, r, "job");
        return;
    }
    struct jw w;
    api_jw_begin(call, &w);
    job_write_json(&w, &j, true);
    api_jw_send(call, status, &w);
    job_release(&j);
}

void h_jobs_get(struct api_call *call)
{
    const char *site = api_param(call, 0), *id = api_param(call, 1);
    if (api_check_id(call, site, "site") && api_check_id(call, id, "job"))
        send_job(call, site, id, 200);
}

static bool header_bool(const struct api_call *call, const char *name, bool def)
{
    const char *v = http_request_header(call->req, name);
    if (!v)
        return def;
    return !strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "yes");
}

/*
 * Reads a custom job from a JSON body {description, script, express_execute,
 * needs_acknowledgement, idempotency_key} or, for text/plain, the script as the
 * body and the rest from X-Description, X-Express-Execute, X-Needs-Ack and
 * X-Idempotency-Key (the gen-3 form). Queues it; 0 and ret_id, or <0 after
 * sending the error.
 */
/*
 * The queue limits (issue 14 item 1) for the jobs an operator queues (custom scripts, site
 * actions): at most site_queue_max pending jobs per site and queue_max in all. The platform's
 * own jobs (grant setup and teardown, rotations, policy pushes) are never refused: they are
 * what keeps routers safe. 0, or -EAGAIN after answering 429 with Retry-After.
 */
static int queue_full(struct api_call *call, const char *site)
{
    long site_n = 0, all_n = 0;
    unsigned site_max = call->api->cfg.site_queue_max, all_max = call->api->cfg.queue_max;
    if (site_max && store_jobs_pending_count(call->api->store, site, &site_n) == 0 &&
        site_n >= (long)site_max) {
        http_response_header(call->res, "Retry-After", "5");
        api_fail(call, TG_ERR_RATE_LIMIT, 429, "site_queue_full", NULL,
                 "This site has %ld jobs waiting (TIKGATE_SITE_QUEUE_MAX %u): let the router "
                 "catch up, or cancel some, then try again.",
                 site_n, site_max);
        return -EAGAIN;
    }
    if (all_max && store_jobs_pending_count(call->api->store, NULL, &all_n) == 0 &&
        all_n >= (long)all_max) {
        http_response_header(call->res, "Retry-After", "5");
        api_fail(call, TG_ERR_RATE_LIMIT, 429, "queue_full", NULL,
                 "%ld jobs are waiting in all (TIKGATE_QUEUE_MAX %u): try again later.", all_n,
                 all_max);
        return -EAGAIN;
    }
    return 0;
}

static int create_custom(struct api_call *call, const char *site, char ret_id[UUID_STR_LEN])
{
    struct tg_err err;
    const char *description = NULL, *script = NULL, *idem = NULL;
    bool express = true, needs_ack = true;
    char *script_copy = NULL;
    int r = 0;
    const char *ct = call->req->content_type;
    if (ct && !strncasecmp(ct, "text/plain", 10)) {
        if (call->req->body_too_large)
            return api_fail(call, TG_ERR_INVALID_REQUEST, 413, "body_too_large", NULL,
                            "The request body is too large."),
                   -E2BIG;
        script_copy = xstrndup(call->req->body ? call->req->body : "", call->req->body_len);
        script = script_copy;
        description = http_request_header(call->req, "X-Description");
        idem = http_request_header(call->req, "X-Idempotency-Key");
        express = header_bool(call, "X-Express-Execute", true);
        needs_ack = header_bool(call, "X-Needs-Ack", true);
        if (!description)
            r = tg_err_invalid(&err, "parameter_missing", "description",
                               "Send the description in the X-Description header.");
    } else {
        if (!call->body) {
            r = tg_err_invalid(&err, "parameter_missing", NULL,
                               "Send a JSON object {description, script} or a text/plain script.");
        }
        if (r == 0 &&
            (r = body_string(call->body, "description", "description", &description, &err)) > 0)
            r = tg_err_invalid(&err, "parameter_missing", "description",
                               "The 'description' parameter is required.");
        if (r == 0 && (r = body_string(call->body, "script", "script", &script, &err)) > 0)
            r = tg_err_invalid(&err, "parameter_missing", "script",
                               "The 'script' parameter is required.");
        if (r == 0 &&
            body_bool(call->body, "express_execute", "express_execute", &express, &err) < 0)
            r = -EINVAL;
        if (r == 0 && body_bool(call->body, "needs_acknowledgement", "needs_acknowledgement",
                                &needs_ack, &err) < 0)
            r = -EINVAL;
        if (r == 0 &&
            body_string(call->body, "idempotency_key", "idempotency_key", &idem, &err) < 0)
            r = -EINVAL;
    }
    if (r == 0)
        r = job_validate_custom(description, script, &err);
    if (r < 0) {
        api_send_error(call, &err);
        free(script_copy);
        return r;
    }
    struct site s;
    r = store_site_get(call->api->store, call->who.tenant_id, site, &s);
    if (r < 0) {
        api_fail_store(call, r, "site");
        free(script_copy);
        return r;
    }
    site_release(&s);
    if (queue_full(call, site) < 0) {
        free(script_copy);
        return -EAGAIN;
    }
    struct job_spec spec = {
        .site_id = site,
        .kind = JOB_KIND_SCRIPT,
        .description = description,
        .script = script,
        .express = express,
        .needs_ack = needs_ack,
        .created_by = call->who.name,
        .idempotency_key = idem,
    };
    r = jobs_enqueue(call->api->store, &spec, ret_id);
    free(script_copy);
    if (r < 0) {
        api_fail_store(call, r, "job");
        return r;
    }
    if (r == 0)
        api_jobs_queued(call->api);
    return r; /* 1: the idempotency key named an earlier job */
}

void h_jobs_create(struct api_call *call)
{
    const char *site = api_param(call, 0);
    if (!api_check_id(call, site, "site"))
        return;
    char id[UUID_STR_LEN];
    int r = create_custom(call, site, id);
    if (r >= 0)
        send_job(call, site, id, r == 1 ? 200 : 201);
}

void h_jobs_create_async(struct api_call *call)
{
    const char *site = api_param(call, 0);
    if (!api_check_id(call, site, "site"))
        return;
    char id[UUID_STR_LEN];
    if (create_custom(call, site, id) < 0)
        return;
    struct job j;
    int r = store_job_get(call->api->store, call->who.tenant_id, site, id, &j);
    if (r < 0) {
        api_fail_store(call, r, "job");
        return;
    }
    /* MikroCloud's envelope, plus the job itself. */
    json_t *data = json_object();
    json_object_set_new(data, "idempotency_key",
                        json_string(j.idempotency_key ? j.idempotency_key : j.id));
    json_object_set_new(data, "request_id", json_string(j.id));
    json_object_set_new(data, "target", json_string(site));
    json_object_set_new(data, "notify_url", json_null());
    json_object_set_new(data, "date", json_time_or_null(j.created_at));
    json_object_set_new(data, "job", job_to_json(&j, false));
    json_t *o = json_object();
    json_object_set_new(o, "status", json_string("success"));
    json_object_set_new(o, "data", data);
    job_release(&j);
    api_send_json(call, 202, o);
}

void h_jobs_cancel(struct api_call *call)
{
    const char *site = api_param(call, 0), *id = api_param(call, 1);
    if (!api_check_id(call, site, "site") || !api_check_id(call, id, "job"))
        return;
    int r = store_job_cancel(call->api->store, call->who.tenant_id, site, id);
    if (r == -EBUSY) {
        api_fail(call, TG_ERR_INVALID_REQUEST, 409, "job_already_started", NULL,
                 "Cannot delete a job that has already started.");
        return;
    }
    if (r < 0) {
        api_fail_store(call, r, "job");
        return;
    }
    api_send_no_content(call);
}

/*
 * site.recreate_tunnel on a managed site: re-applies the router's half of the tunnel
 * idempotently (DESIGN.md §10, docs/vpn.md): the edge peer, the /32 with network= the edge and
 * the input accept, each ensured by its tikgate:mgmt:* comment. Over the express push an
 * ensure is print+set (never a removal, which would cut the tunnel the push runs through); in
 * the pulled script it is remove+add. Then the router is re-keyed make-before-break over the
 * push (JOB_WG_REKEY: a second interface with a new key, the edge adds it beside the old one,
 * switches after its first handshake, the old interface goes).
 * 0, or -ENOENT when the edge has no keypair (the VPN does not run).
 */
static int plan_tunnel(const struct api *api, const struct site *s, const struct store_node *edge,
                       struct job_plan *p)
{
    char edge_pub[TUNNEL_KEY_B64_LEN + 1], edge_ip[16], buf[64], port[8], host[256];
    unsigned wg_port;
    uint32_t first, last;
    if (!s->tunnel_address || tunnel_pool_parse(edge->tunnel_pool, &first, &last) < 0 ||
        jobs_edge_wg_endpoint(edge, host, &wg_port) < 0)
        return -ENOENT;
    int r = store_vpn_edge_public(api->store, edge->entry_point, edge_pub);
    if (r < 0)
        return r;
    tunnel_ip_format(first, edge_ip);
    struct job_tunnel_peer tp = {.edge_public_key = edge_pub,
                                 .endpoint_host = host,
                                 .endpoint_port = wg_port,
                                 .edge_address = edge_ip,
                                 .site_address = s->tunnel_address};
    job_plan_tunnel(p, &tp);
    /* then the re-key, make-before-break (push.h JOB_WG_REKEY, docs/vpn.md) */
    snprintf(port, sizeof port, "%u", wg_port);
    struct job_cmd *c = job_plan_add(p, JOB_WG_REKEY, "/interface wireguard", NULL, NULL);
    job_cmd_arg(c, "public-key", edge_pub);
    job_cmd_arg(c, "endpoint-address", host);
    job_cmd_arg(c, "endpoint-port", port);
    snprintf(buf, sizeof buf, "%s/32", edge_ip);
    job_cmd_arg(c, "allowed-address", buf);
    job_cmd_arg(c, "persistent-keepalive", "25s");
    job_cmd_arg(c, "src-address", edge_ip);
    return 0;
}

void h_site_action(struct api_call *call)
{
    const char *site_id = api_param(call, 0);
    if (!api_check_id(call, site_id, "site"))
        return;
    struct tg_err err;
    const char *action = NULL;
    int r = body_string(call->body, "action", "action", &action, &err);
    if (r > 0)
        r = tg_err_invalid(&err, "parameter_missing", "action",
                           "The 'action' parameter is required.");
    if (r < 0) {
        api_send_error(call, &err);
        return;
    }
    struct site s;
    r = store_site_get(call->api->store, call->who.tenant_id, site_id, &s);
    if (r < 0) {
        api_fail_store(call, r, "site");
        return;
    }
    struct policy pol;
    struct credential *creds = NULL;
    size_t n = 0;
    r = store_policy_get(call->api->store, s.tenant_id, s.policy_id, 0, &pol);
    if (r == 0 && (r = store_credential_list(call->api->store, s.tenant_id, s.id, &creds, &n)) < 0)
        policy_release(&pol);
    if (r < 0 || n == 0) {
        site_release(&s);
        api_fail_store(call, r < 0 ? r : -EIO, "site");
        return;
    }
    struct job_plan plan = {0};
    struct job_site_ctx ctx = {.site_id = s.id, .mgmt_networks = call->api->cfg.mgmt_networks};
    bool needs_ack;
    r = job_plan_action(&plan, action, &pol, creds[n - 1].username, creds[n - 1].password, &ctx,
                        &needs_ack);
    if (r < 0) {
        api_fail(call, TG_ERR_INVALID_REQUEST, 400, "unknown_action", "action",
                 "Unknown action '%s'.", action);
        goto out;
    }
    if (!strcmp(action, "site.recreate_tunnel") && s.tunnel.mode == TUNNEL_MODE_MANAGED &&
        api_vpn_available(call->api)) {
        struct store_node edge;
        if (api_site_edge(call, &s, true, &edge) < 0)
            goto out;
        if (plan_tunnel(call->api, &s, &edge, &plan) < 0) {
            api_fail(call, TG_ERR_API, 503, "vpn_unavailable", NULL,
                     "The edge's WireGuard interface is not ready; try again.");
            goto out;
        }
    }
    if (queue_full(call, s.id) < 0)
        goto out;
    char id[UUID_STR_LEN];
    char desc[128];
    snprintf(desc, sizeof desc, "Action %s", action);
    struct job_spec spec = {
        .site_id = s.id,
        .kind = JOB_KIND_ACTION,
        .description = desc,
        .plan = &plan,
        .express = true,
        .needs_ack = needs_ack,
        .created_by = call->who.name,
    };
    r = jobs_enqueue(call->api->store, &spec, id);
    /* site.resend_api_user sets the newest credential: its completion confirms it */
    if (r == 0 && !strcmp(action, "site.resend_api_user"))
        r = store_credential_set_job(call->api->store, creds[n - 1].id, id);
    if (r < 0) {
        api_fail_store(call, r, "job");
        goto out;
    }
    api_jobs_queued(call->api);
    struct job j;
    if (store_job_get(call->api->store, call->who.tenant_id, s.id, id, &j) == 0) {
        json_t *o = json_object();
        json_object_set_new(o, "message", json_string("Action queued"));
        json_object_set_new(o, "job", job_to_json(&j, false));
        api_send_json(call, 202, o);
        job_release(&j);
    } else {
        api_fail_store(call, -EIO, "job");
    }
out:
    job_plan_release(&plan);
    store_credential_array_free(creds, n);
    policy_release(&pol);
    site_release(&s);
}
