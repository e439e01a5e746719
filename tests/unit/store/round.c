/*
 * fx_store_round: one call of every store function through the public API (store.h), for the
 * statement-cache tests of both backends (test_sqlite_conn.c, test_pg_conn.c).
 */
/* cmocka.h needs these headers first */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include "alloc.h"
#include "helpers.h"
#include "rand.h"
#include "timefmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * One call of (nearly) every store function; round k keeps names unique. The
 * results are not the point here (the other tests check them): the statements are.
 */
void fx_store_round(struct fx *f, int k)
{
    struct store *s = f->s;
    int n;
    size_t cnt;
    char name[64], id[UUID_STR_LEN];
    snprintf(name, sizeof name, "round %d", k);
    assert_int_equal(store_tenant_count(s, &n), 0);
    assert_int_equal(store_tenant_first(s, id), 0);
    assert_int_equal(store_tenant_create(s, name, MGMT, id), 0);

    struct api_key key = {0}, gotkey;
    uuid_v7(key.id);
    memcpy(key.tenant_id, f->tenant, UUID_STR_LEN);
    key.name = xstrdup(name);
    snprintf(key.prefix, sizeof key.prefix, "tg_%d", k);
    char secret[APIKEY_SECRET_LEN + 1];
    api_key_generate_secret(secret);
    api_key_hash(secret, key.hash);
    key.scopes = 1;
    key.created_at = time_now();
    assert_int_equal(store_api_key_insert(s, &key), 0);
    assert_int_equal(store_api_key_authenticate(s, key.hash, &gotkey), 0);
    api_key_release(&gotkey);
    struct api_key *keys;
    assert_int_equal(store_api_key_list(s, f->tenant, NULL, &keys, &cnt), 0);
    store_api_key_array_free(keys, cnt);
    assert_int_equal(store_api_key_revoke(s, f->tenant, key.id), 0);
    api_key_release(&key);

    struct policy p, q;
    assert_int_equal(store_policy_get_default(s, f->tenant, &p), 0);
    memset(&q, 0, sizeof q);
    policy_init_default(&q, MGMT);
    uuid_v7(q.id);
    memcpy(q.tenant_id, f->tenant, UUID_STR_LEN);
    q.is_default = false;
    free(q.name);
    free(q.slug);
    q.name = xstrdup(name);
    q.slug = xasprintf("round-%d", k);
    q.created_at = q.updated_at = time_now();
    assert_int_equal(store_policy_insert(s, &q), 0);
    assert_int_equal(store_policy_update(s, &q), 0);
    policy_release(&q);
    struct policy *pols;
    assert_int_equal(store_policy_list(s, f->tenant, NULL, &pols, &cnt), 0);
    memcpy(id, pols[cnt - 1].id, UUID_STR_LEN);
    store_policy_array_free(pols, cnt);
    assert_int_equal(store_policy_get(s, f->tenant, id, 1, &q), 0);
    policy_release(&q);

    char site[UUID_STR_LEN];
    struct credential cred, rot;
    fx_site(f, NULL, "10.99.0.2", true, site, &cred);
    struct strlist ids = {0};
    strlist_add(&ids, site);
    size_t bad;
    assert_int_equal(store_policy_attach_sites(s, f->tenant, id, &ids, &bad), 0);
    assert_int_equal(store_policy_adopted_sites(s, id, &ids), 0);
    strlist_release(&ids);
    assert_int_equal(store_policy_delete(s, f->tenant, id), 0);
    struct site st, *sites;
    assert_int_equal(store_site_get(s, f->tenant, site, &st), 0);
    assert_int_equal(store_site_update(s, &st), 0);
    site_release(&st);
    assert_int_equal(store_site_list(s, f->tenant, NULL, &sites, &cnt), 0);
    store_site_array_free(sites, cnt);
    struct site_note note;
    assert_int_equal(store_site_note_put(s, f->tenant, site, "note", "me", &note), 0);
    site_note_release(&note);
    assert_int_equal(store_site_note_get(s, f->tenant, site, &note), 0);
    site_note_release(&note);
    credential_generate(&rot, site);
    assert_int_equal(store_credential_rotate(s, f->tenant, &rot, &cred), 0);
    credential_release(&cred);
    struct credential *creds;
    assert_int_equal(store_credential_list(s, f->tenant, site, &creds, &cnt), 0);
    store_credential_array_free(creds, cnt);
    char token[SITE_TOKEN_LEN + 1], dev[SITE_TOKEN_LEN + 1];
    rand_base62(token, SITE_TOKEN_LEN);
    rand_base62(dev, SITE_TOKEN_LEN);
    assert_int_equal(store_site_new_bootstrap(s, f->tenant, site, token), 0);
    assert_int_equal(store_site_by_bootstrap_token(s, token, &st), 0);
    site_release(&st);
    assert_int_equal(
        store_site_adopt(s, site, &(struct store_adoption){"k=v", "r", "m", "sn", "7", NULL, dev}),
        0);
    assert_int_equal(store_site_by_device_token(s, dev, &st), 0);
    site_release(&st);
    assert_int_equal(store_site_get_any(s, site, &st), 0);
    site_release(&st);
    assert_true(store_site_heartbeat(s, site, time_now()) >= 0);
    assert_int_equal(store_sites_mark_offline(s, 0, &n), 0);

    char j1[UUID_STR_LEN], j2[UUID_STR_LEN], j3[UUID_STR_LEN];
    struct job j, *jobs;
    int64_t now = time_now_ms();
    fx_job(f, site, true, true, NULL, name, j1);
    fx_job(f, site, false, true, NULL, NULL, j2);
    fx_job(f, site, false, true, NULL, NULL, j3);
    assert_int_equal(store_job_by_idempotency(s, site, name, id), 0);
    assert_int_equal(store_job_claim_push(s, now, now + 60000, 0, &j), 0);
    job_release(&j);
    assert_int_equal(store_job_retry(s, j1, now, "again"), 0);
    assert_int_equal(store_job_claim_push(s, now, now + 60000, 0, &j), 0);
    job_release(&j);
    assert_int_equal(store_job_finish(s, j1, JOB_COMPLETED, "ok"), 0);
    assert_int_equal(store_job_claim_pull(s, site, now, now + 60000, &j), 0);
    job_release(&j);
    assert_int_equal(store_job_router_update(s, j2, JOB_ROUTER_BUSY), 0);
    assert_int_equal(store_job_router_update(s, j2, JOB_ROUTER_DONE), 0);
    assert_int_equal(store_job_event(s, j2, "note", "x"), 0);
    assert_int_equal(store_job_cancel(s, f->tenant, site, j3), 0);
    assert_int_equal(store_job_get(s, f->tenant, site, j2, &j), 0);
    job_release(&j);
    assert_int_equal(store_job_get_any(s, j2, &j), 0);
    job_release(&j);
    assert_int_equal(store_job_list(s, f->tenant, site, NULL, &jobs, &cnt), 0);
    store_job_array_free(jobs, cnt);
    assert_int_equal(store_jobs_requeue_expired(s, now, &n), 0);
    assert_int_equal(store_jobs_requeue_push(s, "round-node", &n), 0);
    assert_int_equal(store_jobs_take_over(s, "round-node", 60000, &n), 0);
    struct store_push_claim cl = {
        .owner = "round-node", .now_ms = now, .lease_until_ms = now, .limit = 4};
    size_t nclaimed = 0;
    jobs = NULL;
    assert_true(store_job_claim_push_batch(s, &cl, &jobs, &nclaimed) <= 0);
    store_job_array_free(jobs, nclaimed);
    assert_int_equal(store_job_insert_many(s, NULL, 0), 0);

    struct grant g, got, *grants;
    memset(&g, 0, sizeof g);
    uuid_v7(g.id);
    memcpy(g.site_id, site, UUID_STR_LEN);
    g.kind = GRANT_ACCESS;
    g.entry_point = xstrdup("edge-1");
    grant_generate_credential(g.username);
    grant_generate_credential(g.password);
    snprintf(g.access_type, sizeof g.access_type, "winbox");
    g.created_at = time_now();
    g.expires_at_ms = now + 3600 * 1000;
    g.created_by = xstrdup("test");
    assert_int_equal(store_grant_insert(s, &g, 43000, 43999), 0);
    assert_int_equal(store_grant_set_setup_job(s, g.id, j1), 0);
    uint64_t rate = 1000;
    assert_int_equal(store_grant_update(s, g.id, now + 7200 * 1000, &rate), 0);
    assert_int_equal(store_grant_get(s, f->tenant, site, GRANT_ACCESS, g.id, &got), 0);
    grant_release(&got);
    assert_int_equal(store_grant_get_any(s, g.id, &got), 0);
    grant_release(&got);
    assert_int_equal(store_grant_list(s, f->tenant, site, GRANT_ACCESS, true, NULL, &grants, &cnt),
                     0);
    store_grant_array_free(grants, cnt);
    assert_int_equal(store_grants_live(s, "edge-1", now, &grants, &cnt), 0);
    store_grant_array_free(grants, cnt);
    assert_int_equal(store_site_grants(s, site, &grants, &cnt), 0);
    store_grant_array_free(grants, cnt);
    assert_int_equal(store_grant_conn_open(s, g.id, 7, "192.0.2.1", now), 0);
    struct grant_connection gc = {.conn_ref = 7, .started_ms = now, .ended_ms = now + 1};
    snprintf(gc.source, sizeof gc.source, "192.0.2.1");
    snprintf(gc.outcome, sizeof gc.outcome, "closed");
    assert_int_equal(store_grant_conn_insert(s, g.id, &gc), 0);
    gc.conn_ref = 0;
    snprintf(gc.outcome, sizeof gc.outcome, "refused");
    assert_int_equal(store_grant_conn_insert(s, g.id, &gc), 0);
    struct grant_connection *conns;
    assert_int_equal(store_grant_conn_list(s, g.id, 0, 10, &conns, &cnt), 0);
    free(conns);
    /* authorized_at comes with the grant (the first accepted connection) */
    assert_int_equal(store_grant_get(s, f->tenant, site, GRANT_ACCESS, g.id, &got), 0);
    assert_true(got.authorized_at_ms > 0);
    grant_release(&got);
    assert_true(store_grants_next_expiry(s, 0) > 0);
    assert_int_equal(store_grants_next_expiry(s, INT64_MAX - 1), 0);
    struct strlist due = {0};
    assert_int_equal(store_grants_due(s, now, 10, &due), 0);
    strlist_release(&due);
    struct store_due_grant *claimed = NULL;
    assert_int_equal(store_grants_claim_due(s, "round-node", now, 1000, 10, &claimed, &cnt), 0);
    free(claimed);
    struct strlist gids = {0};
    strlist_add(&gids, g.id);
    assert_int_equal(store_grants_lock_claimed(s, "round-node", &gids, &grants, &cnt), 0);
    store_grant_array_free(grants, cnt);
    struct strlist none = {0};
    assert_int_equal(store_grants_expire_many(s, NULL, &none, &none), 0);
    strlist_release(&gids);
    assert_int_equal(store_leases_renew(s, "round-node", 1000, &n), 0);
    assert_int_equal(store_grant_teardown(s, g.id, true, j2), 0);
    grant_release(&g);

    struct user u, gotu, *users;
    memset(&u, 0, sizeof u);
    uuid_v7(u.id);
    memcpy(u.tenant_id, f->tenant, UUID_STR_LEN);
    snprintf(u.email, sizeof u.email, "round%d@example.com", k);
    snprintf(u.password_hash, sizeof u.password_hash, "x");
    u.created_at = u.updated_at = time_now();
    assert_int_equal(store_user_insert(s, &u), 0);
    assert_int_equal(store_users_by_email(s, u.email, &users, &cnt), 0);
    free(users);
    assert_int_equal(store_user_get(s, NULL, u.id, &gotu), 0);
    assert_int_equal(store_user_get(s, f->tenant, u.id, &gotu), 0);
    assert_int_equal(store_user_list(s, f->tenant, NULL, &users, &cnt), 0);
    free(users);
    assert_int_equal(store_user_update(s, &u), 0);
    assert_int_equal(store_user_touch_login(s, u.id), 0);
    assert_int_equal(store_user_count(s, &n), 0);
    char jti[UUID_STR_LEN];
    uuid_v7(jti);
    assert_int_equal(store_session_insert(s, jti, u.id, time_now() + 60), 0);
    assert_int_equal(store_session_check(s, jti, time_now()), 0);
    assert_int_equal(store_session_revoke(s, jti), 0);
    assert_int_equal(store_session_revoke_user(s, u.id), 0);
    assert_int_equal(store_user_delete(s, f->tenant, u.id), 0);

    struct store_metrics m;
    assert_int_equal(store_metrics_get(s, &m), 0);
    struct store_node nd = {0}, *nodes = NULL;
    snprintf(nd.name, sizeof nd.name, "round-%d", k);
    assert_int_equal(store_node_register(s, &nd), 0);
    assert_int_equal(store_node_heartbeat(s, nd.name, NULL), 0);
    assert_int_equal(store_node_get(s, nd.name, 1000, &nd), 0);
    assert_int_equal(store_node_list(s, 1000, &nodes, &cnt), 0);
    free(nodes);
    struct audit_entry ae = {.at_ms = time_now_ms(), .status = 204}, *entries = NULL;
    uuid_v7(ae.id);
    memcpy(ae.tenant_id, f->tenant, UUID_STR_LEN);
    snprintf(ae.method, sizeof ae.method, "DELETE");
    snprintf(ae.route, sizeof ae.route, "/v1/sites/{id}");
    assert_int_equal(store_audit_insert(s, &ae), 0);
    struct store_page page = {.after_id = ae.id, .limit = 10};
    assert_int_equal(store_audit_list(s, f->tenant, NULL, &page, &entries, &cnt), 0);
    free(entries);
    assert_int_equal(store_audit_prune(s, 0, 10, &cnt), 0);
    assert_int_equal(store_site_set_deleting(s, f->tenant, site), 0);
    assert_int_equal(store_site_delete(s, f->tenant, site), 0);
    policy_release(&p);
}
