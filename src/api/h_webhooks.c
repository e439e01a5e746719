/*
 * h_webhooks.c - /v1/webhooks: create (the secret shown once), list, get, update, delete and
 * the delivery log (docs/webhooks.md). Admin scope, tenant-scoped.
 */
#include "api_int.h"
#include "hooks.h"
#include "store.h"
#include "timefmt.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define ATTEMPTS_DEFAULT 50

static json_t *hook_to_json(const struct webhook *h, bool with_secret)
{
    json_t *ev = json_array();
    for (int e = 0; e < WEBHOOK_EVENT_COUNT; e++)
        if (h->events & (1u << e))
            json_array_append_new(ev, json_string(webhook_event_name((enum webhook_event)e)));
    json_t *o = json_pack("{s:s, s:s, s:o, s:b, s:o, s:o}", "id", h->id, "url", h->url, "events",
                          ev, "enabled", h->enabled, "created_at", json_time_or_null(h->created_at),
                          "updated_at", json_time_or_null(h->updated_at));
    if (with_secret)
        json_object_set_new(o, "secret", json_string(h->secret));
    return o;
}

/* The SSRF check of a new URL: 0, or -EINVAL after sending the 400. */
static int check_url(struct api_call *call, const char *url)
{
    int port;
    int r = hooks_url_resolve(url, call->api->cfg.webhook_allow_private, NULL, NULL, &port);
    if (r == -EPERM)
        api_fail(call, TG_ERR_INVALID_REQUEST, 400, "webhook_url_refused", "url",
                 "The URL's host resolves to a loopback, private, link-local, multicast or "
                 "unspecified address: webhooks only go to public addresses (see "
                 "TIKGATE_WEBHOOK_ALLOW_PRIVATE).");
    else if (r == -EHOSTUNREACH)
        api_fail(call, TG_ERR_INVALID_REQUEST, 400, "webhook_url_unresolvable", "url",
                 "The URL's host does not resolve.");
    else if (r < 0)
        api_fail(call, TG_ERR_INVALID_REQUEST, 400, "parameter_invalid", "url",
                 "The URL must be http:// or https:// with a host, without user info, at most "
                 "%d bytes.",
                 WEBHOOK_URL_MAX);
    return r < 0 ? -EINVAL : 0;
}

/* Reads "events" into *ret: 0, 1 when absent, or -EINVAL after filling err. */
static int body_events(const json_t *body, unsigned *ret, struct tg_err *err)
{
    struct strlist names = {0};
    int r = body_string_array(body, "events", "events", WEBHOOK_EVENT_COUNT * 2, &names, err);
    if (r != 0)
        goto out;
    unsigned mask = 0;
    for (size_t i = 0; i < names.n && r == 0; i++) {
        enum webhook_event e;
        if (webhook_event_parse(names.items[i], &e) < 0)
            r = tg_err_invalid(err, "parameter_invalid", "events",
                               "Unknown event '%.64s' (docs/webhooks.md lists them).",
                               names.items[i]);
        else
            mask |= 1u << e;
    }
    if (r == 0 && !mask)
        r = tg_err_invalid(err, "parameter_invalid", "events", "'events' lists no event.");
    if (r == 0)
        *ret = mask;
out:
    strlist_release(&names);
    return r;
}

void h_webhooks_list(struct api_call *call)
{
    struct webhook *a = NULL;
    size_t n = 0;
    int r = store_webhook_list(call->api->store, call->who.tenant_id, &a, &n);
    if (r < 0) {
        api_fail_store(call, r, "webhook");
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, hook_to_json(&a[i], false));
    store_webhook_array_free(a, n);
    api_send_json(call, 200, arr);
}

void h_webhooks_create(struct api_call *call)
{
    struct tg_err err;
    struct webhook h;
    memset(&h, 0, sizeof h);
    const char *url = NULL, *secret = NULL;
    bool enabled = true;
    int r = body_string(call->body, "url", "url", &url, &err);
    if (r > 0)
        r = tg_err_invalid(&err, "parameter_missing", "url", "The 'url' parameter is required.");
    if (r == 0) {
        r = body_events(call->body, &h.events, &err);
        if (r > 0)
            r = tg_err_invalid(&err, "parameter_missing", "events",
                               "'events' must list at least one event.");
    }
    if (r == 0 && body_string(call->body, "secret", "secret", &secret, &err) < 0)
        r = -EINVAL;
    if (r == 0 && secret &&
        (strlen(secret) < WEBHOOK_SECRET_MIN || strlen(secret) > WEBHOOK_SECRET_MAX))
        r = tg_err_invalid(&err, "parameter_invalid", "secret",
                           "The secret must have %d to %d bytes.", WEBHOOK_SECRET_MIN,
                           WEBHOOK_SECRET_MAX);
    if (r == 0 && body_bool(call->body, "enabled", "enabled", &enabled, &err) < 0)
        r = -EINVAL;
    if (r < 0) {
        api_send_error(call, &err);
        return;
    }
    if (check_url(call, url) < 0)
        return;
    uuid_v7(h.id);
    snprintf(h.tenant_id, sizeof h.tenant_id, "%s", call->who.tenant_id);
    snprintf(h.url, sizeof h.url, "%s", url);
    h.enabled = enabled;
    h.created_at = h.updated_at = time_now();
    if (secret)
        snprintf(h.secret, sizeof h.secret, "%s", secret);
    else
        hooks_secret_generate(h.secret);
    r = store_webhook_insert(call->api->store, &h);
    if (r == -EDQUOT)
        api_fail(call, TG_ERR_CONFLICT, 409, "webhook_limit", NULL,
                 "The tenant has %d webhooks already: delete one first.", WEBHOOK_MAX_PER_TENANT);
    else if (r < 0)
        api_fail_store(call, r, "webhook");
    else
        api_send_json(call, 201, hook_to_json(&h, true));
    webhook_release(&h);
}

/* The caller's hook of the path into *h: true, or false after sending the 404 (or 500). */
static bool path_hook(struct api_call *call, struct webhook *h)
{
    const char *id = api_param(call, 0);
    if (!api_check_id(call, id, "webhook"))
        return false;
    int r = store_webhook_get(call->api->store, call->who.tenant_id, id, h);
    if (r < 0)
        api_fail_store(call, r, "webhook");
    return r == 0;
}

void h_webhooks_get(struct api_call *call)
{
    struct webhook h;
    if (path_hook(call, &h))
        api_send_json(call, 200, hook_to_json(&h, false));
}

void h_webhooks_update(struct api_call *call)
{
    struct webhook h;
    if (!path_hook(call, &h))
        return;
    struct tg_err err;
    int r;
    const char *url = NULL;
    r = body_string(call->body, "url", "url", &url, &err);
    if (r >= 0) {
        int e = body_events(call->body, &h.events, &err);
        r = e < 0 ? e : 0;
    }
    if (r == 0 && body_bool(call->body, "enabled", "enabled", &h.enabled, &err) < 0)
        r = -EINVAL;
    if (r < 0) {
        api_send_error(call, &err);
        return;
    }
    if (url) {
        if (check_url(call, url) < 0)
            return;
        snprintf(h.url, sizeof h.url, "%s", url);
    }
    r = store_webhook_update(call->api->store, &h);
    char id[UUID_STR_LEN];
    memcpy(id, h.id, sizeof id);
    if (r == 0)
        r = store_webhook_get(call->api->store, call->who.tenant_id, id, &h);
    if (r < 0) {
        api_fail_store(call, r, "webhook");
        return;
    }
    api_send_json(call, 200, hook_to_json(&h, false));
}

void h_webhooks_delete(struct api_call *call)
{
    const char *id = api_param(call, 0);
    if (!api_check_id(call, id, "webhook"))
        return;
    int r = store_webhook_delete(call->api->store, call->who.tenant_id, id);
    if (r < 0) {
        api_fail_store(call, r, "webhook");
        return;
    }
    api_send_no_content(call);
}

void h_webhooks_deliveries(struct api_call *call)
{
    const char *id = api_param(call, 0);
    if (!api_check_id(call, id, "webhook"))
        return;
    int limit;
    if (!api_query_limit(call, ATTEMPTS_DEFAULT, WEBHOOK_ATTEMPTS_KEPT, &limit))
        return;
    struct store_webhook_attempt *a = NULL;
    size_t n = 0;
    int r = store_webhook_attempts(call->api->store, call->who.tenant_id, id, limit, &a, &n);
    if (r < 0) {
        api_fail_store(call, r, "webhook");
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *o =
            json_pack("{s:s, s:s, s:i, s:o, s:o, s:o, s:I, s:o, s:s}", "event_id", a[i].event_id,
                      "event", webhook_event_name(a[i].type), "attempt", a[i].attempt, "at",
                      json_time_or_null(a[i].at_ms / 1000), "status_code",
                      a[i].status_code ? json_integer(a[i].status_code) : json_null(), "error",
                      a[i].error[0] ? json_text(a[i].error) : json_null(), "duration_ms",
                      (json_int_t)a[i].duration_ms, "next_retry_at",
                      json_time_or_null(a[i].next_at_ms / 1000), "state",
                      webhook_delivery_state_name(a[i].state));
        json_array_append_new(arr, o);
    }
    free(a);
    api_send_json(call, 200, arr);
}
