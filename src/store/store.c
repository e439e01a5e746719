/*
 * store.c - the backend-independent part of the store: the database URL picks a backend
 * (docs/internals/store.md), the master key is loaded for every backend, and each public
 * function of store.h is one line through the backend's table.
 */
#include "log.h"
#include "store_ops.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* The backend for url and the target its open takes (SQLite: the path). NULL: unknown scheme. */
static const struct store_ops *backend_for(const char *url, const char **ret_target)
{
    if (strncmp(url, "sqlite:", 7) == 0) {
        *ret_target = url + 7;
        return &store_sqlite_ops;
    }
    if (strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0) {
        *ret_target = url;
#ifdef TG_HAVE_POSTGRES
        return &store_pg_ops;
#else
        return NULL;
#endif
    }
    return NULL;
}

int store_open(const char *url, const char *data_dir, struct store **ret)
{
    const char *target = NULL;
    const struct store_ops *ops = backend_for(url, &target);
    if (!ops)
        return target ? -ENOTSUP : -EINVAL;
    if (mkdir(data_dir, 0700) < 0 && errno != EEXIST)
        return -errno;
    struct store_secrets secrets;
    int r = store_secrets_load(&secrets, data_dir);
    if (r < 0)
        return r;
    struct store *s = NULL;
    r = ops->open(target, &s);
    if (r < 0) {
        store_secrets_wipe(&secrets);
        return r;
    }
    s->ops = ops;
    s->secrets = secrets;
    store_secrets_wipe(&secrets);
    log_info("store", "opened the %s store (schema %d)", ops->name, s->schema_version);
    *ret = s;
    return 0;
}

void store_close(struct store *s)
{
    if (!s)
        return;
    store_secrets_wipe(&s->secrets);
    s->ops->close(s);
}

int store_schema_version(struct store *s)
{
    return s->schema_version;
}

const struct store_secrets *store_secrets(struct store *s)
{
    return &s->secrets;
}

#ifndef TG_HAVE_POSTGRES
int store_copy(struct store *from, struct store *to, long *ret_rows)
{
    (void)from;
    (void)to;
    (void)ret_rows;
    return -ENOTSUP;
}
#endif

bool store_node_valid(const struct store_node *n)
{
    return n->name[0] && memchr(n->name, 0, sizeof n->name) &&
           memchr(n->roles, 0, sizeof n->roles) && memchr(n->region, 0, sizeof n->region) &&
           memchr(n->entry_point, 0, sizeof n->entry_point) &&
           memchr(n->wg_endpoint, 0, sizeof n->wg_endpoint) &&
           memchr(n->tunnel_pool, 0, sizeof n->tunnel_pool);
}

size_t store_claim_pick(const struct store_claim_candidate *cand, size_t n, int tenant_max,
                        int limit, bool *picked)
{
    size_t got = 0;
    for (size_t i = 0; i < n; i++) {
        picked[i] = false;
        if (got >= (size_t)limit)
            continue;
        if (tenant_max > 0) {
            int same = cand[i].running;
            for (size_t k = 0; k < i; k++)
                same += picked[k] && !strcmp(cand[k].tenant_id, cand[i].tenant_id);
            if (same >= tenant_max)
                continue;
        }
        picked[i] = true;
        got++;
    }
    return got;
}

/* GENERATED BEGIN (scripts/dev/store_vtable.py) */
void store_thread_done(struct store *s)
{
    s->ops->thread_done(s);
}

bool store_reachable(struct store *s)
{
    return s->ops->reachable(s);
}

bool store_connection_lost(struct store *s)
{
    return s->ops->connection_lost(s);
}

int store_tx_begin(struct store *s)
{
    return s->ops->tx_begin(s);
}

int store_tx_commit(struct store *s)
{
    return s->ops->tx_commit(s);
}

void store_tx_rollback(struct store *s)
{
    s->ops->tx_rollback(s);
}

int store_tx_end(struct store *s, int r)
{
    return s->ops->tx_end(s, r);
}

int store_tenant_count(struct store *s, int *ret)
{
    return s->ops->tenant_count(s, ret);
}

int store_tenant_first(struct store *s, char ret_id[UUID_STR_LEN])
{
    return s->ops->tenant_first(s, ret_id);
}

int store_tenant_create(struct store *s, const char *name, const char *mgmt_networks,
                        char ret_id[UUID_STR_LEN])
{
    return s->ops->tenant_create(s, name, mgmt_networks, ret_id);
}

int store_api_key_insert(struct store *s, const struct api_key *k)
{
    return s->ops->api_key_insert(s, k);
}

int store_api_key_authenticate(struct store *s, const uint8_t hash[APIKEY_HASH_LEN],
                               struct api_key *ret)
{
    return s->ops->api_key_authenticate(s, hash, ret);
}

int store_api_key_list(struct store *s, const char *tenant_id, const struct store_page *page,
                       struct api_key **ret, size_t *n)
{
    return s->ops->api_key_list(s, tenant_id, page, ret, n);
}

int store_api_key_revoke(struct store *s, const char *tenant_id, const char *id)
{
    return s->ops->api_key_revoke(s, tenant_id, id);
}

int store_policy_list(struct store *s, const char *tenant_id, const struct store_page *page,
                      struct policy **ret, size_t *n)
{
    return s->ops->policy_list(s, tenant_id, page, ret, n);
}

int store_policy_get(struct store *s, const char *tenant_id, const char *id, int with_sites,
                     struct policy *ret)
{
    return s->ops->policy_get(s, tenant_id, id, with_sites, ret);
}

int store_policy_get_default(struct store *s, const char *tenant_id, struct policy *ret)
{
    return s->ops->policy_get_default(s, tenant_id, ret);
}

int store_policy_insert(struct store *s, const struct policy *p)
{
    return s->ops->policy_insert(s, p);
}

int store_policy_update(struct store *s, const struct policy *p)
{
    return s->ops->policy_update(s, p);
}

int store_policy_delete(struct store *s, const char *tenant_id, const char *id)
{
    return s->ops->policy_delete(s, tenant_id, id);
}

int store_policy_attach_sites(struct store *s, const char *tenant_id, const char *policy_id,
                              const struct strlist *site_ids, size_t *ret_bad)
{
    return s->ops->policy_attach_sites(s, tenant_id, policy_id, site_ids, ret_bad);
}

int store_policies_version(struct store *s, int64_t *ret)
{
    return s->ops->policies_version(s, ret);
}

int store_site_insert(struct store *s, const struct site *site, const struct credential *cred)
{
    return s->ops->site_insert(s, site, cred);
}

int store_site_list(struct store *s, const char *tenant_id, const struct store_page *page,
                    struct site **ret, size_t *n)
{
    return s->ops->site_list(s, tenant_id, page, ret, n);
}

int store_site_get(struct store *s, const char *tenant_id, const char *id, struct site *ret)
{
    return s->ops->site_get(s, tenant_id, id, ret);
}

int store_site_update(struct store *s, const struct site *site)
{
    return s->ops->site_update(s, site);
}

int store_site_delete(struct store *s, const char *tenant_id, const char *id)
{
    return s->ops->site_delete(s, tenant_id, id);
}

int store_site_note_get(struct store *s, const char *tenant_id, const char *site_id,
                        struct site_note *ret)
{
    return s->ops->site_note_get(s, tenant_id, site_id, ret);
}

int store_site_note_put(struct store *s, const char *tenant_id, const char *site_id,
                        const char *content, const char *updated_by, struct site_note *ret)
{
    return s->ops->site_note_put(s, tenant_id, site_id, content, updated_by, ret);
}

int store_credential_list(struct store *s, const char *tenant_id, const char *site_id,
                          struct credential **ret, size_t *n)
{
    return s->ops->credential_list(s, tenant_id, site_id, ret, n);
}

int store_credential_rotate(struct store *s, const char *tenant_id, const struct credential *cred,
                            struct credential *ret)
{
    return s->ops->credential_rotate(s, tenant_id, cred, ret);
}

int store_credential_set_job(struct store *s, const char *cred_id, const char *job_id)
{
    return s->ops->credential_set_job(s, cred_id, job_id);
}

int store_credential_confirm(struct store *s, const char *site_id, const char *cred_id,
                             bool *ret_changed)
{
    return s->ops->credential_confirm(s, site_id, cred_id, ret_changed);
}

int store_credential_confirm_job(struct store *s, const char *job_id, bool *ret_changed)
{
    return s->ops->credential_confirm_job(s, job_id, ret_changed);
}

int store_site_claim_verify(struct store *s, const char *node, int64_t now_s, int64_t interval_s,
                            char ret_id[UUID_STR_LEN])
{
    return s->ops->site_claim_verify(s, node, now_s, interval_s, ret_id);
}

int store_site_by_bootstrap_token(struct store *s, const char *token, struct site *ret)
{
    return s->ops->site_by_bootstrap_token(s, token, ret);
}

int store_site_by_device_token(struct store *s, const char *token, struct site *ret)
{
    return s->ops->site_by_device_token(s, token, ret);
}

int store_site_adopt(struct store *s, const char *site_id, const struct store_adoption *a)
{
    return s->ops->site_adopt(s, site_id, a);
}

int store_site_new_bootstrap(struct store *s, const char *tenant_id, const char *site_id,
                             const char *token)
{
    return s->ops->site_new_bootstrap(s, tenant_id, site_id, token);
}

int store_site_set_deleting(struct store *s, const char *tenant_id, const char *site_id)
{
    return s->ops->site_set_deleting(s, tenant_id, site_id);
}

int store_site_heartbeat(struct store *s, const char *site_id, int64_t now)
{
    return s->ops->site_heartbeat(s, site_id, now);
}

int store_sites_mark_offline(struct store *s, int64_t cutoff, int *ret_n)
{
    return s->ops->sites_mark_offline(s, cutoff, ret_n);
}

int store_site_get_any(struct store *s, const char *site_id, struct site *ret)
{
    return s->ops->site_get_any(s, site_id, ret);
}

int store_policy_adopted_sites(struct store *s, const char *policy_id, struct strlist *ret)
{
    return s->ops->policy_adopted_sites(s, policy_id, ret);
}

int store_job_insert(struct store *s, const struct job *j)
{
    return s->ops->job_insert(s, j);
}

int store_job_insert_many(struct store *s, const struct job *jobs, size_t n)
{
    return s->ops->job_insert_many(s, jobs, n);
}

int store_job_by_idempotency(struct store *s, const char *site_id, const char *key,
                             char ret_id[UUID_STR_LEN])
{
    return s->ops->job_by_idempotency(s, site_id, key, ret_id);
}

int store_site_grants(struct store *s, const char *site_id, struct grant **ret, size_t *n)
{
    return s->ops->site_grants(s, site_id, ret, n);
}

int store_job_list(struct store *s, const char *tenant_id, const char *site_id,
                   const struct store_page *page, struct job **ret, size_t *n)
{
    return s->ops->job_list(s, tenant_id, site_id, page, ret, n);
}

int store_job_get(struct store *s, const char *tenant_id, const char *site_id, const char *job_id,
                  struct job *ret)
{
    return s->ops->job_get(s, tenant_id, site_id, job_id, ret);
}

int store_job_get_any(struct store *s, const char *job_id, struct job *ret)
{
    return s->ops->job_get_any(s, job_id, ret);
}

int store_job_cancel(struct store *s, const char *tenant_id, const char *site_id,
                     const char *job_id)
{
    return s->ops->job_cancel(s, tenant_id, site_id, job_id);
}

int store_jobs_supersede(struct store *s, const char *site_id, enum job_kind kind,
                         const char *by_job_id, int *ret_n)
{
    return s->ops->jobs_supersede(s, site_id, kind, by_job_id, ret_n);
}

int store_job_supersede(struct store *s, const char *job_id, enum job_kind kind,
                        const char *by_job_id, int *ret_n)
{
    return s->ops->job_supersede(s, job_id, kind, by_job_id, ret_n);
}

int store_jobs_pending_count(struct store *s, const char *site_id, long *ret)
{
    return s->ops->jobs_pending_count(s, site_id, ret);
}

int store_job_event(struct store *s, const char *job_id, const char *kind, const char *message)
{
    return s->ops->job_event(s, job_id, kind, message);
}

int store_job_claim_pull(struct store *s, const char *site_id, int64_t now_ms, int64_t lease_ms,
                         struct job *ret)
{
    return s->ops->job_claim_pull(s, site_id, now_ms, lease_ms, ret);
}

int store_job_claim_push(struct store *s, int64_t now_ms, int64_t lease_ms, int tenant_max,
                         struct job *ret)
{
    return s->ops->job_claim_push(s, now_ms, lease_ms, tenant_max, ret);
}

int store_job_claim_push_batch(struct store *s, struct store_push_claim *c, struct job **ret,
                               size_t *n)
{
    return s->ops->job_claim_push_batch(s, c, ret, n);
}

int store_jobs_take_over(struct store *s, const char *taker, int64_t dead_after_ms, int *ret_n)
{
    return s->ops->jobs_take_over(s, taker, dead_after_ms, ret_n);
}

int store_job_finish(struct store *s, const char *job_id, enum job_status status,
                     const char *message)
{
    return s->ops->job_finish(s, job_id, status, message);
}

int store_job_retry(struct store *s, const char *job_id, int64_t next_ms, const char *message)
{
    return s->ops->job_retry(s, job_id, next_ms, message);
}

int store_job_router_update(struct store *s, const char *job_id, enum job_router_status status)
{
    return s->ops->job_router_update(s, job_id, status);
}

int store_jobs_requeue_expired(struct store *s, int64_t now_ms, int *ret_n)
{
    return s->ops->jobs_requeue_expired(s, now_ms, ret_n);
}

int store_job_pull_refused(struct store *s, const char *site_id)
{
    return s->ops->job_pull_refused(s, site_id);
}

int store_jobs_requeue_push(struct store *s, const char *owner, int *ret_n)
{
    return s->ops->jobs_requeue_push(s, owner, ret_n);
}

int store_grant_insert(struct store *s, struct grant *g, int port_lo, int port_hi)
{
    return s->ops->grant_insert(s, g, port_lo, port_hi);
}

int store_grant_list(struct store *s, const char *tenant_id, const char *site_id,
                     enum grant_kind kind, bool active_only, const struct store_page *page,
                     struct grant **ret, size_t *n)
{
    return s->ops->grant_list(s, tenant_id, site_id, kind, active_only, page, ret, n);
}

int store_grant_get(struct store *s, const char *tenant_id, const char *site_id,
                    enum grant_kind kind, const char *id, struct grant *ret)
{
    return s->ops->grant_get(s, tenant_id, site_id, kind, id, ret);
}

int store_grant_get_any(struct store *s, const char *id, struct grant *ret)
{
    return s->ops->grant_get_any(s, id, ret);
}

int store_grant_update(struct store *s, const char *id, int64_t expires_at_ms, const uint64_t *rate)
{
    return s->ops->grant_update(s, id, expires_at_ms, rate);
}

int store_grant_set_setup_job(struct store *s, const char *id, const char *job_id)
{
    return s->ops->grant_set_setup_job(s, id, job_id);
}

int store_grant_teardown(struct store *s, const char *id, bool revoked, const char *job_id)
{
    return s->ops->grant_teardown(s, id, revoked, job_id);
}

int64_t store_grants_next_expiry(struct store *s, int64_t after_ms)
{
    return s->ops->grants_next_expiry(s, after_ms);
}

int store_grants_due(struct store *s, int64_t now_ms, int limit, struct strlist *ret)
{
    return s->ops->grants_due(s, now_ms, limit, ret);
}

int store_grants_claim_due(struct store *s, const char *owner, int64_t now_ms, int64_t lease_ms,
                           int limit, struct store_due_grant **ret, size_t *n)
{
    return s->ops->grants_claim_due(s, owner, now_ms, lease_ms, limit, ret, n);
}

int store_grants_take_due(struct store *s, const char *owner, int64_t now_ms, int64_t lease_ms,
                          int limit, struct store_taken_grant **ret, size_t *n)
{
    return s->ops->grants_take_due(s, owner, now_ms, lease_ms, limit, ret, n);
}

int store_grants_lock_claimed(struct store *s, const char *owner, const struct strlist *ids,
                              struct grant **ret, size_t *n)
{
    return s->ops->grants_lock_claimed(s, owner, ids, ret, n);
}

int store_grants_expire_many(struct store *s, const char *owner, const struct strlist *ids,
                             const struct strlist *job_ids)
{
    return s->ops->grants_expire_many(s, owner, ids, job_ids);
}

int store_leases_renew(struct store *s, const char *owner, int64_t lease_ms, int *ret_n)
{
    return s->ops->leases_renew(s, owner, lease_ms, ret_n);
}

int store_grants_live(struct store *s, const char *entry_point, int64_t now_ms, struct grant **ret,
                      size_t *n)
{
    return s->ops->grants_live(s, entry_point, now_ms, ret, n);
}

int store_grant_conn_open(struct store *s, const char *grant_id, uint64_t conn_ref,
                          const char *source, int64_t started_ms)
{
    struct grant_connection c = {.conn_ref = conn_ref, .started_ms = started_ms};
    snprintf(c.source, sizeof c.source, "%s", source);
    return s->ops->grant_conn_open(s, grant_id, &c);
}

int store_grant_conn_whole(struct store *s, const char *grant_id, const struct grant_connection *c)
{
    if (!c->ended_ms || !c->outcome[0])
        return -EINVAL;
    return s->ops->grant_conn_open(s, grant_id, c);
}

int store_grant_conn_insert(struct store *s, const char *grant_id, const struct grant_connection *c)
{
    return s->ops->grant_conn_insert(s, grant_id, c);
}

int store_grant_conn_refused(struct store *s, const char *grant_id,
                             const struct grant_connection *c, unsigned max_records)
{
    return s->ops->grant_conn_refused(s, grant_id, c, max_records);
}

int store_grant_conn_prune(struct store *s, int64_t before_ms, int *ret_n)
{
    return s->ops->grant_conn_prune(s, before_ms, ret_n);
}

int store_grant_conn_list(struct store *s, const char *grant_id, int64_t after_id, int limit,
                          struct grant_connection **ret, size_t *n)
{
    return s->ops->grant_conn_list(s, grant_id, after_id, limit, ret, n);
}

int store_user_insert(struct store *s, const struct user *u)
{
    return s->ops->user_insert(s, u);
}

int store_users_by_email(struct store *s, const char *email, struct user **ret, size_t *n)
{
    return s->ops->users_by_email(s, email, ret, n);
}

int store_user_get(struct store *s, const char *tenant_id, const char *id, struct user *ret)
{
    return s->ops->user_get(s, tenant_id, id, ret);
}

int store_user_list(struct store *s, const char *tenant_id, const struct store_page *page,
                    struct user **ret, size_t *n)
{
    return s->ops->user_list(s, tenant_id, page, ret, n);
}

int store_user_update(struct store *s, const struct user *u)
{
    return s->ops->user_update(s, u);
}

int store_user_delete(struct store *s, const char *tenant_id, const char *id)
{
    return s->ops->user_delete(s, tenant_id, id);
}

int store_user_touch_login(struct store *s, const char *id)
{
    return s->ops->user_touch_login(s, id);
}

int store_user_count(struct store *s, int *ret)
{
    return s->ops->user_count(s, ret);
}

int store_session_insert(struct store *s, const char *jti, const char *user_id, int64_t expires_at)
{
    return s->ops->session_insert(s, jti, user_id, expires_at);
}

int store_session_check(struct store *s, const char *jti, int64_t now)
{
    return s->ops->session_check(s, jti, now);
}

int store_session_revoke(struct store *s, const char *jti)
{
    return s->ops->session_revoke(s, jti);
}

int store_session_revoke_user(struct store *s, const char *user_id)
{
    return s->ops->session_revoke_user(s, user_id);
}

int store_login_failure_add(struct store *s, const char *key, int64_t now, int64_t window_s)
{
    return s->ops->login_failure_add(s, key, now, window_s);
}

int store_login_failures_get(struct store *s, const char *key, int64_t now, int64_t window_s,
                             int *ret_failures, int64_t *ret_window_start)
{
    return s->ops->login_failures_get(s, key, now, window_s, ret_failures, ret_window_start);
}

int store_login_failures_clear(struct store *s, const char *key)
{
    return s->ops->login_failures_clear(s, key);
}

int store_master_key_check(struct store *s, const char *mac, char ret_stored[65])
{
    return s->ops->master_key_check(s, mac, ret_stored);
}

int store_vpn_edge_ensure(struct store *s, const char *entry_point,
                          const struct store_vpn_edge *fresh, struct store_vpn_edge *ret)
{
    return s->ops->vpn_edge_ensure(s, entry_point, fresh, ret);
}

int store_vpn_edge_public(struct store *s, const char *entry_point,
                          char ret[TUNNEL_KEY_B64_LEN + 1])
{
    return s->ops->vpn_edge_public(s, entry_point, ret);
}

int store_vpn_peers(struct store *s, const char *edge_node, struct store_vpn_peer **ret, size_t *n)
{
    return s->ops->vpn_peers(s, edge_node, ret, n);
}

int store_vpn_rekey_begin(struct store *s, const char *site_id, const char *next_key)
{
    return s->ops->vpn_rekey_begin(s, site_id, next_key);
}

int store_vpn_rekey_next_seen(struct store *s, const char *site_id, const char *next_key,
                              int64_t handshake_at)
{
    return s->ops->vpn_rekey_next_seen(s, site_id, next_key, handshake_at);
}

int store_vpn_rekey_next_state(struct store *s, const char *site_id,
                               char ret_key[TUNNEL_KEY_B64_LEN + 1], int64_t *ret_hs)
{
    return s->ops->vpn_rekey_next_state(s, site_id, ret_key, ret_hs);
}

int store_vpn_rekey_commit(struct store *s, const char *site_id, const char *next_key)
{
    return s->ops->vpn_rekey_commit(s, site_id, next_key);
}

int store_vpn_rekey_abort(struct store *s, const char *site_id, const char *next_key)
{
    return s->ops->vpn_rekey_abort(s, site_id, next_key);
}

int store_vpn_rekey_rollback(struct store *s, const char *site_id, const char *old_key,
                             const char *next_key)
{
    return s->ops->vpn_rekey_rollback(s, site_id, old_key, next_key);
}

int store_vpn_peer_observed(struct store *s, const char *site_id, const char *endpoint,
                            int64_t last_handshake_at, uint64_t rx, uint64_t tx,
                            enum tunnel_status status)
{
    return s->ops->vpn_peer_observed(s, site_id, endpoint, last_handshake_at, rx, tx, status);
}

int store_site_tunnel_assign(struct store *s, const char *site_id, const char *public_key,
                             uint32_t first, uint32_t last, char ret_address[16])
{
    return s->ops->site_tunnel_assign(s, site_id, public_key, first, last, ret_address);
}

int store_site_tunnel_mode(struct store *s, const char *tenant_id, const char *site_id,
                           enum tunnel_mode mode)
{
    return s->ops->site_tunnel_mode(s, tenant_id, site_id, mode);
}

int store_site_by_tunnel_peer(struct store *s, const char *addr, struct site *ret)
{
    return s->ops->site_by_tunnel_peer(s, addr, ret);
}

int store_site_event(struct store *s, const char *site_id, const char *kind, const char *message)
{
    return s->ops->site_event(s, site_id, kind, message);
}

int store_site_events_list(struct store *s, const char *tenant_id, const char *site_id, int limit,
                           struct site_event **ret, size_t *n)
{
    return s->ops->site_events_list(s, tenant_id, site_id, limit, ret, n);
}

int store_tunnel_address_taken(struct store *s, const char *site_id, const char *other_tenant_of,
                               const char *addr, bool *ret_taken)
{
    return s->ops->tunnel_address_taken(s, site_id, other_tenant_of, addr, ret_taken);
}

int store_site_set_edge(struct store *s, const char *site_id, const char *expected_edge,
                        const char *edge_node)
{
    return s->ops->site_set_edge(s, site_id, expected_edge, edge_node);
}

int store_site_edge_prev(struct store *s, const char *site_id, const char *prev_edge,
                         int64_t wait_until_ms)
{
    return s->ops->site_edge_prev(s, site_id, prev_edge, wait_until_ms);
}

int store_site_edge_peer_ready(struct store *s, const char *site_id, const char *edge_node)
{
    return s->ops->site_edge_peer_ready(s, site_id, edge_node);
}

int store_site_edge_settled(struct store *s, const char *site_id, const char *edge_node)
{
    return s->ops->site_edge_settled(s, site_id, edge_node);
}

int store_edge_site_count(struct store *s, const char *edge_node, long *ret)
{
    return s->ops->edge_site_count(s, edge_node, ret);
}

int store_edge_sites(struct store *s, const char *edge_node, int limit, struct strlist *ret)
{
    return s->ops->edge_sites(s, edge_node, limit, ret);
}

int store_edge_adopt_orphans(struct store *s, const char *edge_node, int *ret_n)
{
    return s->ops->edge_adopt_orphans(s, edge_node, ret_n);
}

int store_grant_rebind(struct store *s, const struct store_grant_rebind *b, int *ret_port)
{
    return s->ops->grant_rebind(s, b, ret_port);
}

int store_node_register(struct store *s, const struct store_node *n)
{
    return s->ops->node_register(s, n);
}

int store_node_heartbeat(struct store *s, const char *name, int64_t *ret_now_ms)
{
    return s->ops->node_heartbeat(s, name, ret_now_ms);
}

int store_node_list(struct store *s, int64_t dead_after_ms, struct store_node **ret, size_t *n)
{
    return s->ops->node_list(s, dead_after_ms, ret, n);
}

int store_node_get(struct store *s, const char *name, int64_t dead_after_ms, struct store_node *ret)
{
    return s->ops->node_get(s, name, dead_after_ms, ret);
}

int store_audit_insert(struct store *s, const struct audit_entry *e)
{
    return s->ops->audit_insert(s, e);
}

int store_audit_list(struct store *s, const char *tenant_id, const struct audit_filter *f,
                     const struct store_page *page, struct audit_entry **ret, size_t *n)
{
    return s->ops->audit_list(s, tenant_id, f, page, ret, n);
}

int store_audit_prune(struct store *s, int64_t before_ms, int limit, size_t *ret_n)
{
    return s->ops->audit_prune(s, before_ms, limit, ret_n);
}

int store_listen_open(struct store *s, struct store_listener **ret)
{
    return s->ops->listen_open(s, ret);
}

int store_listen_wait(struct store *s, struct store_listener *l, int timeout_ms, unsigned *ret_mask)
{
    return s->ops->listen_wait(s, l, timeout_ms, ret_mask);
}

void store_listen_close(struct store *s, struct store_listener *l)
{
    s->ops->listen_close(s, l);
}

int store_webhook_insert(struct store *s, const struct webhook *h)
{
    return s->ops->webhook_insert(s, h);
}

int store_webhook_list(struct store *s, const char *tenant_id, struct webhook **ret, size_t *n)
{
    return s->ops->webhook_list(s, tenant_id, ret, n);
}

int store_webhook_get(struct store *s, const char *tenant_id, const char *id, struct webhook *ret)
{
    return s->ops->webhook_get(s, tenant_id, id, ret);
}

int store_webhook_update(struct store *s, const struct webhook *h)
{
    return s->ops->webhook_update(s, h);
}

int store_webhook_delete(struct store *s, const char *tenant_id, const char *id)
{
    return s->ops->webhook_delete(s, tenant_id, id);
}

int store_webhook_claim(struct store *s, const char *owner, int64_t now_ms, int64_t lease_ms,
                        int limit, struct store_webhook_delivery **ret, size_t *n)
{
    return s->ops->webhook_claim(s, owner, now_ms, lease_ms, limit, ret, n);
}

int store_webhook_leases_release(struct store *s, const char *owner)
{
    return s->ops->webhook_leases_release(s, owner);
}

int store_webhook_prune(struct store *s, int64_t before_ms, int *ret_n)
{
    return s->ops->webhook_prune(s, before_ms, ret_n);
}

int store_webhook_attempt_record(struct store *s, const char *owner,
                                 const struct store_webhook_attempt *a)
{
    return s->ops->webhook_attempt_record(s, owner, a);
}

int store_webhook_attempts(struct store *s, const char *tenant_id, const char *hook_id, int limit,
                           struct store_webhook_attempt **ret, size_t *n)
{
    return s->ops->webhook_attempts(s, tenant_id, hook_id, limit, ret, n);
}

int store_metrics_get(struct store *s, struct store_metrics *ret)
{
    return s->ops->metrics_get(s, ret);
}

int store_fleet_counts(struct store *s, const char *tenant_id, int64_t now_ms,
                       struct store_fleet_counts *ret)
{
    return s->ops->fleet_counts(s, tenant_id, now_ms, ret);
}

int store_fleet_sample(struct store *s, int64_t now_ms, int *ret_written)
{
    return s->ops->fleet_sample(s, now_ms, ret_written);
}

int store_fleet_history(struct store *s, const char *tenant_id, int64_t since_ms, int max,
                        struct store_fleet_point **ret, size_t *n)
{
    return s->ops->fleet_history(s, tenant_id, since_ms, max, ret, n);
}

int store_fleet_now(struct store *s, const char *tenant_id, int64_t since_ms, int64_t now_ms,
                    struct store_fleet_point *ret)
{
    return s->ops->fleet_now(s, tenant_id, since_ms, now_ms, ret);
}

int store_site_uptime(struct store *s, const char *tenant_id, const char *site_id,
                      int64_t created_from, int64_t created_to, int64_t since_s,
                      struct store_uptime_day **ret, size_t *n)
{
    return s->ops->site_uptime(s, tenant_id, site_id, created_from, created_to, since_s, ret, n);
}

/* GENERATED END */
