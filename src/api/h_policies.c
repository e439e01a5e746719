/*
 * h_policies.c - /v1/control-plane/policies (seed 001 "Policies").
 */
#include "alloc.h"
#include "api_int.h"
#include "enqueue.h"
#include "rand.h"
#include "store.h"
#include "timefmt.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/*
 * Queues policy jobs for the adopted sites of policy_id (only those in
 * only_sites when it is not NULL). Runs inside the caller's transaction.
 */
static int queue_policy_jobs(struct api_call *call, const char *policy_id,
                             const struct strlist *only_sites)
{
    struct policy p;
    int r = store_policy_get(call->api->store, call->who.tenant_id, policy_id, 0, &p);
    if (r < 0)
        return r;
    struct strlist adopted = {0}, chosen = {0};
    r = store_policy_adopted_sites(call->api->store, policy_id, &adopted);
    for (size_t i = 0; r == 0 && i < adopted.n; i++)
        if (!only_sites || strlist_contains(only_sites, adopted.items[i]))
            strlist_add(&chosen, adopted.items[i]);
    if (r == 0)
        r = jobs_enqueue_policy(call->api->store, &p, &chosen, call->api->cfg.mgmt_networks,
                                call->who.name);
    strlist_release(&adopted);
    strlist_release(&chosen);
    policy_release(&p);
    return r;
}

/*
 * Answers a GET from the response cache (api/rcache.c) when key's answer was kept under the
 * store's current policies version: true, sent. Else false with *ret_version, the version to
 * keep the answer built next under (read before it; -1 when it could not be read: the answer
 * is built and not kept).
 */
static bool send_cached(struct api_call *call, const char *key, int64_t *ret_version)
{
    if (store_policies_version(call->api->store, ret_version) < 0) {
        *ret_version = -1;
        return false;
    }
    if (!api_rcache_get(call->api->store, key, *ret_version, call->res))
        return false;
    call->res->content_type = "application/json";
    call->res->status = 200;
    return true;
}

/* Keeps a built 200 answer under version (from send_cached). */
static void keep_answer(struct api_call *call, const char *key, int64_t version)
{
    if (version >= 0 && call->res->status == 200)
        api_rcache_put(call->api->store, key, version, &call->res->body);
}

void h_policies_list(struct api_call *call)
{
    struct store_page page;
    if (!api_page(call, &page))
        return;
    char key[API_RCACHE_KEY_MAX];
    int64_t version;
    snprintf(key, sizeof key, "policies %s %d %s", call->who.tenant_id, page.limit,
             page.after_id ? page.after_id : "");
    if (send_cached(call, key, &version))
        return;
    struct policy *a = NULL;
    size_t n = 0;
    int r = store_policy_list(call->api->store, call->who.tenant_id, &page, &a, &n);
    if (r < 0) {
        api_fail_list(call, r, "policy");
        return;
    }
    struct jw w;
    api_jw_begin(call, &w);
    jw_open(&w, '[');
    for (size_t i = 0; i < n; i++)
        policy_write_json(&w, &a[i], false);
    jw_close(&w, ']');
    store_policy_array_free(a, n);
    api_jw_send(call, 200, &w);
    keep_answer(call, key, version);
}

/* Sends the policy id as stored, with or without its site list. */
static void send_policy(struct api_call *call, const char *id, int status, bool with_sites)
{
    struct policy p;
    int r = store_policy_get(call->api->store, call->who.tenant_id, id, with_sites, &p);
    if (r < 0) {
        api_fail_store(call, r, "policy");
        return;
    }
    struct jw w;
    api_jw_begin(call, &w);
    policy_write_json(&w, &p, with_sites);
    api_jw_send(call, status, &w);
    policy_release(&p);
}

/* Reads the "sites" list of a body; 1 when absent. */
static int parse_site_list(struct api_call *call, struct strlist *ids, bool required)
{
    struct tg_err err;
    int r = body_string_array(call->body, "sites", "sites", 10000, ids, &err);
    if (r < 0) {
        api_send_error(call, &err);
        return r;
    }
    if (r > 0 && required) {
        api_fail(call, TG_ERR_INVALID_REQUEST, 400, "parameter_missing", "sites",
                 "The 'sites' parameter is required.");
        return -EINVAL;
    }
    for (size_t i = 0; i < ids->n; i++) {
        if (!uuid_is_valid(ids->items[i])) {
            char param[64];
            snprintf(param, sizeof param, "sites[%zu]", i);
            api_fail(call, TG_ERR_NOT_FOUND, 404, "resource_missing", param, "No such site '%s'.",
                     ids->items[i]);
            return -ENOENT;
        }
    }
    return r;
}

static int attach(struct api_call *call, const char *policy_id, const struct strlist *ids)
{
    size_t bad = 0;
    int r = store_tx_begin(call->api->store);
    if (r == 0) {
        r = store_policy_attach_sites(call->api->store, call->who.tenant_id, policy_id, ids, &bad);
        if (r == 0)
            r = queue_policy_jobs(call, policy_id, ids);
        r = store_tx_end(call->api->store, r);
        if (r == 0)
            api_jobs_queued(call->api);
    }
    if (r == -ENOENT && bad != (size_t)-1) {
        char param[64];
        snprintf(param, sizeof param, "sites[%zu]", bad);
        api_fail(call, TG_ERR_NOT_FOUND, 404, "resource_missing", param, "No such site '%s'.",
                 ids->items[bad]);
    } else if (r < 0) {
        api_fail_store(call, r, "policy");
    }
    return r;
}

void h_policies_create(struct api_call *call)
{
    struct policy p;
    memset(&p, 0, sizeof p);
    struct strlist sites = {0};
    struct tg_err err;
    if (policy_from_json(call->body, &p, &err) < 0) {
        api_send_error(call, &err);
        goto out;
    }
    int has_sites = parse_site_list(call, &sites, false);
    if (has_sites < 0)
        goto out;
    uuid_v7(p.id);
    snprintf(p.tenant_id, sizeof p.tenant_id, "%s", call->who.tenant_id);
    char slug[64];
    policy_make_slug(p.name, slug);
    p.slug = xstrdup(slug);
    p.created_at = p.updated_at = time_now();
    int r = store_policy_insert(call->api->store, &p);
    if (r < 0) {
        api_fail_store(call, r, "policy");
        goto out;
    }
    if (has_sites == 0 && sites.n) {
        if (attach(call, p.id, &sites) < 0) {
            /* Keep "bad input changes nothing": the policy goes away again. */
            store_policy_delete(call->api->store, p.tenant_id, p.id);
            goto out;
        }
    }
    send_policy(call, p.id, 201, has_sites == 0);
out:
    strlist_release(&sites);
    policy_release(&p);
}

void h_policies_get(struct api_call *call)
{
    const char *id = api_param(call, 0);
    if (!api_check_id(call, id, "policy"))
        return;
    char key[API_RCACHE_KEY_MAX];
    int64_t version;
    snprintf(key, sizeof key, "policy %s %s", call->who.tenant_id, id);
    if (send_cached(call, key, &version))
        return;
    send_policy(call, id, 200, true);
    keep_answer(call, key, version);
}

void h_policies_update(struct api_call *call)
{
    const char *id = api_param(call, 0);
    if (!api_check_id(call, id, "policy"))
        return;
    struct policy cur;
    int r = store_policy_get(call->api->store, call->who.tenant_id, id, 0, &cur);
    if (r < 0) {
        api_fail_store(call, r, "policy");
        return;
    }
    struct policy p;
    memset(&p, 0, sizeof p);
    struct tg_err err;
    if (policy_from_json(call->body, &p, &err) < 0) {
        api_send_error(call, &err);
        goto out;
    }
    memcpy(p.id, cur.id, sizeof p.id);
    memcpy(p.tenant_id, cur.tenant_id, sizeof p.tenant_id);
    p.slug = xstrdup(cur.slug); /* the slug is stable: URLs built on it keep working */
    p.is_default = cur.is_default;
    p.created_at = cur.created_at;
    p.updated_at = time_now();
    r = store_tx_begin(call->api->store);
    if (r == 0) {
        r = store_policy_update(call->api->store, &p);
        if (r == 0)
            r = queue_policy_jobs(call, p.id, NULL);
        r = store_tx_end(call->api->store, r);
    }
    if (r == 0)
        api_jobs_queued(call->api);
    if (r < 0) {
        api_fail_store(call, r, "policy");
        goto out;
    }
    send_policy(call, id, 200, false);
out:
    policy_release(&p);
    policy_release(&cur);
}

void h_policies_delete(struct api_call *call)
{
    const char *id = api_param(call, 0);
    if (!api_check_id(call, id, "policy"))
        return;
    /* The sites fall back to the default policy: they get its configuration. */
    struct strlist moved = {0};
    struct policy def;
    int r = store_policy_get_default(call->api->store, call->who.tenant_id, &def);
    if (r == 0) {
        r = store_tx_begin(call->api->store);
        if (r == 0) {
            r = store_policy_adopted_sites(call->api->store, id, &moved);
            if (r == 0)
                r = store_policy_delete(call->api->store, call->who.tenant_id, id);
            if (r == 0)
                r = jobs_enqueue_policy(call->api->store, &def, &moved,
                                        call->api->cfg.mgmt_networks, call->who.name);
            r = store_tx_end(call->api->store, r);
        }
        policy_release(&def);
    }
    strlist_release(&moved);
    if (r == 0)
        api_jobs_queued(call->api);
    if (r == -EPERM) {
        api_fail(call, TG_ERR_CONFLICT, 409, "default_policy_protected", NULL,
                 "The default policy cannot be deleted.");
        return;
    }
    if (r < 0) {
        api_fail_store(call, r, "policy");
        return;
    }
    api_send_no_content(call);
}

void h_policies_attach(struct api_call *call)
{
    const char *id = api_param(call, 0);
    if (!api_check_id(call, id, "policy"))
        return;
    struct strlist sites = {0};
    if (parse_site_list(call, &sites, true) >= 0 && attach(call, id, &sites) == 0)
        send_policy(call, id, 200, true);
    strlist_release(&sites);
}
