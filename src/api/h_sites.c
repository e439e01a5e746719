/*
 * h_sites.c - /v1/sites, the site note and the API credentials of a site.
 */
#include "alloc.h"
#include "api_int.h"
#include "enqueue.h"
#include "netaddr.h"
#include "rand.h"
#include "store.h"
#include "timefmt.h"

#include <ctype.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void h_sites_list(struct api_call *call)
{
    struct store_page page;
    if (!api_page(call, &page))
        return;
    struct site *a = NULL;
    size_t n = 0;
    int r = store_site_list(call->api->store, call->who.tenant_id, &page, &a, &n);
    if (r < 0) {
        api_fail_list(call, r, "site");
        return;
    }
    struct jw w;
    api_jw_begin(call, &w);
    jw_open(&w, '[');
    for (size_t i = 0; i < n; i++)
        site_write_json(&w, call->api, &a[i], false);
    jw_close(&w, ']');
    store_site_array_free(a, n);
    api_jw_send(call, 200, &w);
}

/*
 * Whether the caller sees s's bootstrap command (security-review F4): the token adopts the
 * router and hands out its API password, so only those who could (re-)onboard see it, and only
 * while it is live (unused, unexpired). A site awaiting onboarding: site:create or site:update
 * holders. An adopted site re-armed by POST .../bootstrap: holders of site:update and
 * credentials:rotate, what re-arming needs. site:view alone never sees it.
 */
static bool show_bootstrap(const struct api_call *call, const struct site *s)
{
    uint32_t held = call->who.scopes;
    if (!s->bootstrap_token[0] ||
        site_bootstrap_expired(s, time_now(), call->api->cfg.bootstrap_ttl_s))
        return false;
    if (s->status == SITE_PENDING_ONBOARDING && !s->adopted_at)
        return scope_allows(held, SCOPE_SITE_CREATE) || scope_allows(held, SCOPE_SITE_UPDATE);
    return scope_allows(held, SCOPE_SITE_UPDATE) && scope_allows(held, SCOPE_CREDENTIALS_ROTATE);
}

static void send_site(struct api_call *call, const char *id, int status)
{
    struct site s;
    int r = store_site_get(call->api->store, call->who.tenant_id, id, &s);
    if (r < 0) {
        api_fail_store(call, r, "site");
        return;
    }
    struct jw w;
    api_jw_begin(call, &w);
    site_write_json(&w, call->api, &s, show_bootstrap(call, &s));
    api_jw_send(call, status, &w);
    site_release(&s);
}

/*
 * An operator-managed (external) tunnel address: tunnel_address_check() (inside the management
 * networks or the pool, never loopback outside a loopback lab, unspecified, link-local,
 * multicast), not this node's own nor the edge's tunnel address, and no other site's (any
 * tenant). 0; -EINVAL with err filled; -EEXIST after answering 409 tunnel_address_taken.
 */
static int check_external_address(struct api_call *call, const struct site *s, const char *addr,
                                  struct tg_err *err)
{
    uint32_t first, last;
    char edge_ip[16] = "";
    if (tunnel_pool_parse(call->api->cfg.tunnel_pool, &first, &last) == 0)
        tunnel_ip_format(first, edge_ip);
    int r = tunnel_address_check(addr, call->api->cfg.mgmt_networks, call->api->cfg.tunnel_pool,
                                 "tunnel_address", err);
    if (r < 0)
        return r;
    if (netaddr_is_local(addr) || !strcmp(addr, edge_ip))
        return tg_err_invalid(err, "tunnel_address_forbidden", "tunnel_address",
                              "'%s' is an address of this node: a tunnel address must be a "
                              "router's.",
                              addr);
    bool taken = false;
    r = store_tunnel_address_taken(call->api->store, s->id[0] ? s->id : NULL, NULL, addr, &taken);
    if (r == 0 && taken) {
        api_fail(call, TG_ERR_CONFLICT, 409, "tunnel_address_taken", "tunnel_address",
                 "Another site has the tunnel address %s.", addr);
        return -EEXIST;
    }
    return 0;
}

/*
 * "region" of a create or PATCH: where the site should be served (the edge is picked there
 * first, DESIGN.md §11); null or "" = anywhere. Letters, digits, '.', '-', '_', at most
 * SITE_REGION_MAX - 1 bytes. It applies at the next binding (adoption, first grant, move).
 * 0, or -EINVAL after answering.
 */
static int apply_region(struct api_call *call, struct site *s)
{
    json_t *v = json_object_get(call->body, "region");
    if (!v)
        return 0;
    if (json_is_null(v)) {
        s->region[0] = '\0';
        return 0;
    }
    struct tg_err err;
    const char *region = NULL;
    if (body_string(call->body, "region", "region", &region, &err) < 0) {
        api_send_error(call, &err);
        return -EINVAL;
    }
    size_t n = strlen(region);
    bool ok = n < SITE_REGION_MAX;
    for (size_t i = 0; ok && i < n; i++)
        ok = isalnum((unsigned char)region[i]) || strchr(".-_", region[i]);
    if (!ok) {
        api_fail(call, TG_ERR_INVALID_REQUEST, 400, "parameter_invalid", "region",
                 "'region' is at most %d letters, digits, '.', '-' or '_'.", SITE_REGION_MAX - 1);
        return -EINVAL;
    }
    memcpy(s->region, region, n + 1);
    return 0;
}

/*
 * Applies the optional fields policy_id and tunnel_address of the body to s.
 * Returns 0, or a negative value after sending the error.
 */
static int apply_site_fields(struct api_call *call, struct site *s)
{
    struct tg_err err;
    const char *policy_id = NULL;
    int r = body_string(call->body, "policy_id", "policy_id", &policy_id, &err);
    if (r < 0)
        goto out_err;
    if (r == 0) {
        if (!uuid_is_valid(policy_id)) {
            api_fail(call, TG_ERR_INVALID_REQUEST, 400, "unknown_policy", "policy_id",
                     "No such policy '%s'.", policy_id);
            return -ENOENT;
        }
        struct policy p;
        int pr = store_policy_get(call->api->store, call->who.tenant_id, policy_id, 0, &p);
        if (pr < 0) {
            if (pr == -ENOENT)
                api_fail(call, TG_ERR_INVALID_REQUEST, 400, "unknown_policy", "policy_id",
                         "No such policy '%s'.", policy_id);
            else
                api_fail_store(call, pr, "policy");
            return pr;
        }
        policy_release(&p);
        snprintf(s->policy_id, sizeof s->policy_id, "%s", policy_id);
    }
    if (json_is_null(json_object_get(call->body, "policy_id"))) {
        api_fail(call, TG_ERR_INVALID_REQUEST, 400, "parameter_invalid", "policy_id",
                 "A site always has a policy: 'policy_id' cannot be null.");
        return -EINVAL;
    }
    if (apply_region(call, s) < 0)
        return -EINVAL;
    json_t *ta = json_object_get(call->body, "tunnel_address");
    if (ta && s->tunnel.mode == TUNNEL_MODE_MANAGED) {
        api_fail(call, TG_ERR_CONFLICT, 409, "tunnel_address_managed", "tunnel_address",
                 "This site's tunnel is tikgate's own (managed): its address %s comes from the "
                 "tunnel pool and cannot be set.",
                 s->tunnel_address ? s->tunnel_address : "");
        return -EPERM;
    }
    if (ta && json_is_null(ta)) {
        free(s->tunnel_address);
        s->tunnel_address = NULL;
    } else if (ta) {
        const char *addr = NULL;
        r = body_string(call->body, "tunnel_address", "tunnel_address", &addr, &err);
        if (r < 0)
            goto out_err;
        char canon[64];
        r = site_normalize_address(addr, "tunnel_address", canon, sizeof canon, &err);
        if (r < 0)
            goto out_err;
        if (!(call->who.scopes & SCOPE_ADMIN)) {
            api_fail(call, TG_ERR_PERMISSION, 403, "missing_scope", "tunnel_address",
                     "An operator-managed (external) tunnel address is set by admins only "
                     "(scope admin).");
            return -EPERM;
        }
        r = check_external_address(call, s, canon, &err);
        if (r == -EEXIST)
            return r;
        if (r < 0)
            goto out_err;
        free(s->tunnel_address);
        s->tunnel_address = xstrdup(canon);
    }
    return 0;
out_err:
    api_send_error(call, &err);
    return r;
}

void h_sites_create(struct api_call *call)
{
    struct site s;
    memset(&s, 0, sizeof s);
    struct tg_err err;
    const char *name = NULL;
    int r = body_string(call->body, "name", "name", &name, &err);
    if (r > 0)
        r = tg_err_invalid(&err, "parameter_missing", "name", "The 'name' parameter is required.");
    if (r < 0 || site_validate_name(name, &err) < 0) {
        api_send_error(call, &err);
        return;
    }
    s.name = xstrdup(name);
    uuid_v7(s.id);
    snprintf(s.tenant_id, sizeof s.tenant_id, "%s", call->who.tenant_id);
    s.status = SITE_PENDING_ONBOARDING;
    rand_base62(s.bootstrap_token, SITE_TOKEN_LEN);
    s.created_at = s.updated_at = time_now();
    if (apply_site_fields(call, &s) < 0)
        goto out;
    if (!s.policy_id[0]) {
        struct policy def;
        r = store_policy_get_default(call->api->store, call->who.tenant_id, &def);
        if (r < 0) {
            api_fail_store(call, r, "default policy");
            goto out;
        }
        memcpy(s.policy_id, def.id, sizeof s.policy_id);
        policy_release(&def);
    }
    struct credential cred;
    credential_generate(&cred, s.id);
    r = store_site_insert(call->api->store, &s, &cred);
    credential_release(&cred);
    if (r < 0) {
        api_fail_store(call, r, "site");
        goto out;
    }
    send_site(call, s.id, 201);
out:
    site_release(&s);
}

void h_sites_get(struct api_call *call)
{
    const char *id = api_param(call, 0);
    if (api_check_id(call, id, "site"))
        send_site(call, id, 200);
}

void h_sites_update(struct api_call *call)
{
    const char *id = api_param(call, 0);
    if (!api_check_id(call, id, "site"))
        return;
    struct site s;
    int r = store_site_get(call->api->store, call->who.tenant_id, id, &s);
    if (r < 0) {
        api_fail_store(call, r, "site");
        return;
    }
    struct tg_err err;
    const char *name = NULL;
    r = body_string(call->body, "name", "name", &name, &err);
    if (r == 0 && site_validate_name(name, &err) < 0)
        r = -EINVAL;
    if (r < 0) {
        api_send_error(call, &err);
        goto out;
    }
    if (name) {
        free(s.name);
        s.name = xstrdup(name);
    }
    if (apply_site_fields(call, &s) < 0)
        goto out;
    s.updated_at = time_now();
    r = store_site_update(call->api->store, &s);
    if (r < 0) {
        api_fail_store(call, r, "site");
        goto out;
    }
    send_site(call, id, 200);
out:
    site_release(&s);
}

/*
 * Inside the caller's transaction: a new API password for site id and, when the site is
 * adopted, the express job that sets it on the router. 0 with *ret_saved filled (release it
 * with credential_release), or -errno with nothing to release.
 */
static int rotate_in_tx(struct api_call *call, const char *id, bool adopted,
                        struct credential *ret_saved)
{
    struct credential cred, saved;
    credential_generate(&cred, id);
    /* two-phase (issue 14): with a router, pending until the router has it */
    cred.state = adopted ? CREDENTIAL_PENDING : CREDENTIAL_CURRENT;
    int r = store_credential_rotate(call->api->store, call->who.tenant_id, &cred, &saved);
    credential_release(&cred);
    if (r < 0)
        return r;
    if (adopted) {
        struct job_plan plan = {0};
        struct job_site_ctx ctx = {.site_id = id, .mgmt_networks = call->api->cfg.mgmt_networks};
        job_plan_api_user(&plan, saved.username, saved.password, &ctx);
        struct job_spec spec = {
            .site_id = id,
            .kind = JOB_KIND_API_USER,
            .description = "Rotate the API user's password",
            .plan = &plan,
            .express = true,
            .needs_ack = true,
            .created_by = call->who.name,
        };
        char job_id[UUID_STR_LEN];
        r = jobs_enqueue(call->api->store, &spec, job_id);
        job_plan_release(&plan);
        if (r == 0)
            r = store_credential_set_job(call->api->store, saved.id, job_id);
    }
    if (r < 0) {
        credential_release(&saved);
        return r;
    }
    *ret_saved = saved;
    return 0;
}

/*
 * POST /v1/sites/{id}/bootstrap: a new bootstrap token (re-onboarding a reset router). For an
 * adopted site it re-arms adoption, which hands out the API password: it needs
 * credentials:rotate as well (admin implies it), and rotates the API password in the same
 * transaction, so whoever adopts next gets a password nobody had before (security-review F4).
 * The site's device token keeps working until that adoption succeeds.
 */
void h_sites_bootstrap(struct api_call *call)
{
    const char *id = api_param(call, 0);
    if (!api_check_id(call, id, "site"))
        return;
    struct site s;
    int r = store_site_get(call->api->store, call->who.tenant_id, id, &s);
    if (r < 0) {
        api_fail_store(call, r, "site");
        return;
    }
    bool adopted = s.adopted_at != 0;
    site_release(&s);
    if (adopted && !scope_allows(call->who.scopes, SCOPE_CREDENTIALS_ROTATE)) {
        api_fail(call, TG_ERR_PERMISSION, 403, "missing_scope", NULL,
                 "This site is adopted: a new bootstrap token re-arms adoption, which hands out "
                 "the router's API password, so it needs scope credentials:rotate too.");
        return;
    }
    char token[SITE_TOKEN_LEN + 1];
    rand_base62(token, SITE_TOKEN_LEN);
    struct credential saved;
    bool rotated = false;
    r = store_tx_begin(call->api->store);
    if (r == 0) {
        r = store_site_new_bootstrap(call->api->store, call->who.tenant_id, id, token);
        if (r == 0 && adopted) {
            r = rotate_in_tx(call, id, true, &saved);
            rotated = r == 0;
        }
        r = store_tx_end(call->api->store, r);
    }
    sodium_memzero(token, sizeof token);
    if (rotated)
        credential_release(&saved);
    if (r < 0) {
        api_fail_store(call, r, "site");
        return;
    }
    if (rotated)
        api_jobs_queued(call->api);
    send_site(call, id, 200);
}

/*
 * The router-side cleanup of a site: everything tikgate created there (the grants' users and
 * NAT rules, the management filter, the poll scheduler), the API user last: a push logs in as
 * that user, and once it is gone its session may do nothing more (the sim, like RouterOS,
 * checks the session user's policy on every command), so a cleanup that removed it first
 * could never finish by push. A pulled cleanup runs from the scheduler's script, which goes
 * on after its scheduler is removed, and reports done through its signed URL (no API user).
 */
static void plan_site_cleanup(struct api *api, const struct site *s, struct job_plan *p)
{
    struct grant *g = NULL;
    size_t n = 0;
    if (store_site_grants(api->store, s->id, &g, &n) == 0) {
        for (size_t i = 0; i < n; i++)
            job_plan_grant_teardown(p, &g[i]);
        store_grant_array_free(g, n);
    }
    char *tag = xasprintf("tikgate:mgmt-filter:%s", s->id);
    job_plan_add(p, JOB_REMOVE, "/ip firewall filter", "comment", tag);
    free(tag);
    job_plan_add(p, JOB_REMOVE, "/system scheduler", "name", "tikgate-poll");
    job_plan_add(p, JOB_REMOVE, "/user", "name", CREDENTIAL_USERNAME);
}

void h_sites_delete(struct api_call *call)
{
    const char *id = api_param(call, 0);
    if (!api_check_id(call, id, "site"))
        return;
    struct site s;
    int r = store_site_get(call->api->store, call->who.tenant_id, id, &s);
    if (r < 0) {
        api_fail_store(call, r, "site");
        return;
    }
    /* Never adopted, or deleted a second time while deleting: the record goes at once. */
    if (!s.adopted_at || s.status == SITE_DELETING) {
        site_release(&s);
        r = store_site_delete(call->api->store, call->who.tenant_id, id);
        if (r < 0) {
            api_fail_store(call, r, "site");
            return;
        }
        api_grants_changed(call->api);
        api_send_no_content(call);
        return;
    }
    /* Adopted: close every grant, then clean the router; the record goes when that job
     * completes (store_job_finish), so the orchestration log shows the cleanup. */
    struct grant *g = NULL;
    size_t n = 0;
    r = store_tx_begin(call->api->store);
    if (r == 0 && (r = store_site_grants(call->api->store, id, &g, &n)) == 0) {
        for (size_t i = 0; r == 0 && i < n; i++)
            if (!g[i].torn_down_at)
                r = store_grant_teardown(call->api->store, g[i].id, true, "");
    }
    if (r == 0)
        r = store_site_set_deleting(call->api->store, call->who.tenant_id, id);
    if (r == 0) {
        struct job_plan plan = {0};
        plan_site_cleanup(call->api, &s, &plan);
        struct job_spec spec = {
            .site_id = id,
            .kind = JOB_KIND_SITE_DELETE,
            .description = "Remove tikgate from the router",
            .plan = &plan,
            .express = true,
            .needs_ack = true,
            .created_by = call->who.name,
        };
        char job_id[UUID_STR_LEN];
        r = jobs_enqueue(call->api->store, &spec, job_id);
        job_plan_release(&plan);
        /* the cleanup is urgent (docs/API.md "Priorities"): setups that have not run would follow
         * it and leave users and rules behind if it failed, so they end superseded by it */
        for (size_t i = 0; r >= 0 && i < n; i++)
            if (g[i].setup_job_id[0])
                r = store_job_supersede(call->api->store, g[i].setup_job_id, job_grant_kind(&g[i]),
                                        job_id, NULL);
    }
    store_grant_array_free(g, n);
    r = store_tx_end(call->api->store, r);
    site_release(&s);
    if (r < 0) {
        api_fail_store(call, r, "site");
        return;
    }
    api_grants_changed(call->api);
    api_jobs_queued(call->api);
    api_send_no_content(call);
}

/* GET /v1/sites/{id}/tunnel/events: the tunnel's up/down transitions, newest first (100). */
void h_site_tunnel_events(struct api_call *call)
{
    const char *id = api_param(call, 0);
    if (!api_check_id(call, id, "site"))
        return;
    struct site_event *ev = NULL;
    size_t n = 0;
    int r = store_site_events_list(call->api->store, call->who.tenant_id, id, 100, &ev, &n);
    if (r < 0) {
        api_fail_store(call, r, "site");
        return;
    }
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, site_event_to_json(&ev[i]));
    free(ev);
    api_send_json(call, 200, a);
}

void h_note_get(struct api_call *call)
{
    const char *id = api_param(call, 0);
    if (!api_check_id(call, id, "site"))
        return;
    struct site_note n;
    int r = store_site_note_get(call->api->store, call->who.tenant_id, id, &n);
    if (r < 0) {
        api_fail_store(call, r, "site");
        return;
    }
    api_send_json(call, 200, note_to_json(&n));
    site_note_release(&n);
}

void h_note_put(struct api_call *call)
{
    const char *id = api_param(call, 0);
    if (!api_check_id(call, id, "site"))
        return;
    struct tg_err err;
    const char *content = NULL;
    int r = body_string(call->body, "content", "content", &content, &err);
    if (r > 0)
        r = tg_err_invalid(&err, "parameter_missing", "content",
                           "The 'content' parameter is required.");
    else if (r == 0 && strlen(content) > SITE_NOTE_MAX)
        r = tg_err_invalid(&err, "content_too_long", "content",
                           "The note may have at most %d bytes.", SITE_NOTE_MAX);
    if (r < 0) {
        api_send_error(call, &err);
        return;
    }
    struct site_note n;
    r = store_site_note_put(call->api->store, call->who.tenant_id, id, content, call->who.name, &n);
    if (r < 0) {
        api_fail_store(call, r, "site");
        return;
    }
    api_send_json(call, 200, note_to_json(&n));
    site_note_release(&n);
}

void h_credentials_list(struct api_call *call)
{
    const char *id = api_param(call, 0);
    if (!api_check_id(call, id, "site"))
        return;
    struct credential *a = NULL;
    size_t n = 0;
    int r = store_credential_list(call->api->store, call->who.tenant_id, id, &a, &n);
    if (r < 0) {
        api_fail_store(call, r, "site");
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(
            arr,
            credential_to_json(&a[i], scope_allows(call->who.scopes, SCOPE_CREDENTIALS_ROTATE)));
    store_credential_array_free(a, n);
    api_send_json(call, 200, arr);
}

void h_credentials_rotate(struct api_call *call)
{
    const char *id = api_param(call, 0);
    if (!api_check_id(call, id, "site"))
        return;
    struct site s;
    int r = store_site_get(call->api->store, call->who.tenant_id, id, &s);
    if (r < 0) {
        api_fail_store(call, r, "site");
        return;
    }
    bool adopted = s.status != SITE_PENDING_ONBOARDING;
    site_release(&s);
    struct credential saved;
    bool rotated = false;
    /* The new password and the job that gives it to the router commit together. */
    r = store_tx_begin(call->api->store);
    if (r == 0) {
        r = rotate_in_tx(call, id, adopted, &saved);
        rotated = r == 0;
        r = store_tx_end(call->api->store, r);
    }
    if (r == 0) {
        api_jobs_queued(call->api);
        api_send_json(call, 201, credential_to_json(&saved, true));
    } else {
        api_fail_store(call, r, "site");
    }
    if (rotated)
        credential_release(&saved);
}
