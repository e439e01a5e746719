/*
 * test_sqlite_conn.c - opening the store: migrations, the master key file, sealing, the
 * nestable transactions, the statement cache, and a clean close.
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
#include "sqlite_int.h"
#include "timefmt.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int count_migration_files(void)
{
    DIR *d = opendir(TG_SOURCE_ROOT "/src/store/migrations");
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l > 4 && !strcmp(e->d_name + l - 4, ".sql"))
            n++;
    }
    closedir(d);
    return n;
}

static void test_migrations_applied(void **state)
{
    struct fx *f = *state;
    int n = count_migration_files();
    assert_true(n >= 5);
    assert_int_equal(store_schema_version(f->s), n);
    int tenants = -1;
    assert_int_equal(store_tenant_count(f->s, &tenants), 0);
    assert_int_equal(tenants, 1);
    char first[UUID_STR_LEN];
    assert_int_equal(store_tenant_first(f->s, first), 0);
    assert_string_equal(first, f->tenant);
}

static void test_master_key_mode(void **state)
{
    struct fx *f = *state;
    char path[300];
    snprintf(path, sizeof path, "%s/master.key", f->dir);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(sb.st_size, 32);
}

/* Reopening keeps the schema (no migration runs twice), the data and the key. */
static void test_reopen(void **state)
{
    struct fx *f = *state;
    char *sealed = store_seal_text(f->s, "hello sealed world");
    int version = store_schema_version(f->s);
    store_close(f->s);
    f->s = NULL;
    char url[300];
    snprintf(url, sizeof url, "sqlite:%s/t.db", f->dir);
    assert_int_equal(store_open(url, f->dir, &f->s), 0);
    assert_int_equal(store_schema_version(f->s), version);
    char first[UUID_STR_LEN];
    assert_int_equal(store_tenant_first(f->s, first), 0);
    assert_string_equal(first, f->tenant);
    char *open = store_open_text(f->s, sealed);
    assert_non_null(open);
    assert_string_equal(open, "hello sealed world");
    free(open);
    free(sealed);
}

static void test_open_refuses_urls(void **state)
{
    struct fx *f = *state;
    struct store *s = (struct store *)0x1;
#ifdef TG_HAVE_POSTGRES
    /* Built with the PostgreSQL backend: a server that is not there is an I/O error. */
    assert_int_equal(store_open("postgres:///tg?host=/nonexistent", f->dir, &s), -EIO);
    assert_int_equal(store_open("postgresql:///tg?host=/nonexistent", f->dir, &s), -EIO);
#else
    assert_int_equal(store_open("postgres://localhost/tg", f->dir, &s), -ENOTSUP);
    assert_int_equal(store_open("postgresql://localhost/tg", f->dir, &s), -ENOTSUP);
#endif
    assert_int_equal(store_open("mysql://localhost/tg", f->dir, &s), -EINVAL);
    assert_int_equal(store_open("/tmp/t.db", f->dir, &s), -EINVAL);
    assert_ptr_equal(s, (struct store *)0x1); /* untouched */
    store_close(NULL);
}

static void test_seal(void **state)
{
    struct fx *f = *state;
    char *a = store_seal_text(f->s, "s3cret");
    char *b = store_seal_text(f->s, "s3cret");
    assert_string_not_equal(a, b); /* random nonces */
    assert_null(strstr(a, "s3cret"));
    char *pa = store_open_text(f->s, a);
    char *pb = store_open_text(f->s, b);
    assert_string_equal(pa, "s3cret");
    assert_string_equal(pb, "s3cret");
    free(pa);
    free(pb);
    /* Tampered, truncated or not hex: NULL. */
    a[strlen(a) - 1] = a[strlen(a) - 1] == '0' ? '1' : '0';
    assert_null(store_open_text(f->s, a));
    assert_null(store_open_text(f->s, "abcd"));
    assert_null(store_open_text(f->s, ""));
    char *zz = store_seal_text(f->s, "x");
    zz[0] = 'z';
    assert_null(store_open_text(f->s, zz));
    free(zz);
    char *empty = store_seal_text(f->s, "");
    char *pe = store_open_text(f->s, empty);
    assert_non_null(pe);
    assert_string_equal(pe, "");
    free(pe);
    free(empty);
    free(a);
    free(b);
}

static void test_mac_and_derive(void **state)
{
    struct fx *f = *state;
    char mac[65];
    store_mac_hex(f->s, "job/1?status=done", mac);
    assert_int_equal(strlen(mac), 64);
    assert_true(store_mac_verify(f->s, "job/1?status=done", mac));
    assert_false(store_mac_verify(f->s, "job/1?status=fail", mac));
    assert_false(store_mac_verify(f->s, "job/1?status=done", ""));
    unsigned char k1[32], k2[32], k3[32];
    store_derive_key(f->s, "a", k1, sizeof k1);
    store_derive_key(f->s, "a", k2, sizeof k2);
    store_derive_key(f->s, "b", k3, sizeof k3);
    assert_memory_equal(k1, k2, 32);
    assert_memory_not_equal(k1, k3, 32);
}

static int tenants(struct fx *f)
{
    int n = -1;
    assert_int_equal(store_tenant_count(f->s, &n), 0);
    return n;
}

static void test_tx_nested_commit(void **state)
{
    struct fx *f = *state;
    char id[UUID_STR_LEN];
    assert_int_equal(store_tx_begin(f->s), 0);
    assert_int_equal(store_tx_begin(f->s), 0);
    assert_int_equal(store_tenant_create(f->s, "inner", MGMT, id), 0);
    assert_int_equal(store_tx_commit(f->s), 0);
    assert_int_equal(store_tenant_create(f->s, "outer", MGMT, id), 0);
    assert_int_equal(store_tx_commit(f->s), 0);
    assert_int_equal(tenants(f), 3);
}

/* An inner rollback dooms the outer transaction: its commit fails and nothing is written. */
static void test_tx_inner_rollback(void **state)
{
    struct fx *f = *state;
    char id[UUID_STR_LEN];
    assert_int_equal(store_tx_begin(f->s), 0);
    assert_int_equal(store_tenant_create(f->s, "a", MGMT, id), 0);
    assert_int_equal(store_tx_begin(f->s), 0);
    assert_int_equal(store_tenant_create(f->s, "b", MGMT, id), 0);
    store_tx_rollback(f->s);
    assert_int_equal(store_tenant_create(f->s, "c", MGMT, id), 0);
    assert_int_equal(store_tx_commit(f->s), -EIO);
    assert_int_equal(tenants(f), 1);
    struct policy *pols = NULL;
    size_t n = 99;
    assert_int_equal(store_policy_list(f->s, id, NULL, &pols, &n), 0);
    assert_int_equal(n, 0);
    store_policy_array_free(pols, n);
    /* The connection is usable again afterwards. */
    assert_int_equal(store_tx_begin(f->s), 0);
    assert_int_equal(store_tenant_create(f->s, "d", MGMT, id), 0);
    assert_int_equal(store_tx_commit(f->s), 0);
    assert_int_equal(tenants(f), 2);
}

static void test_tx_outer_rollback(void **state)
{
    struct fx *f = *state;
    char id[UUID_STR_LEN];
    assert_int_equal(store_tx_begin(f->s), 0);
    assert_int_equal(store_tenant_create(f->s, "a", MGMT, id), 0);
    store_tx_rollback(f->s);
    assert_int_equal(tenants(f), 1);
    /* Unbalanced calls are harmless. */
    assert_int_equal(store_tx_commit(f->s), -EIO);
    store_tx_rollback(f->s);
    assert_int_equal(store_tenant_create(f->s, "b", MGMT, id), 0);
    assert_int_equal(tenants(f), 2);
}

static void test_thread_done(void **state)
{
    struct fx *f = *state;
    store_thread_done(f->s); /* the next call opens a fresh connection */
    assert_int_equal(tenants(f), 1);
    store_thread_done(f->s);
    store_thread_done(f->s);
}

/*
 * One call of (nearly) every store function; round k keeps names unique. The
 * results are not the point here (the other tests check them): the statements are.
 */
static void store_round(struct fx *f, int k)
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
    assert_int_equal(store_job_claim_push(s, now, now + 60000, &j), 0);
    job_release(&j);
    assert_int_equal(store_job_retry(s, j1, now, "again"), 0);
    assert_int_equal(store_job_claim_push(s, now, now + 60000, &j), 0);
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
    assert_int_equal(store_jobs_requeue_push(s, &n), 0);

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
    assert_true(store_grants_next_expiry(s) > 0);
    struct strlist due = {0};
    assert_int_equal(store_grants_due(s, now, 10, &due), 0);
    strlist_release(&due);
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
    assert_int_equal(store_user_by_email(s, u.email, &gotu), 0);
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
    assert_int_equal(store_site_set_deleting(s, f->tenant, site), 0);
    assert_int_equal(store_site_delete(s, f->tenant, site), 0);
    policy_release(&p);
}

/*
 * The statement cache holds every statement: after more distinct statements
 * than the old fixed cache had slots (96) and a round of store calls, nothing
 * was evicted: a second round prepares nothing and every statement is the
 * same object as before.
 */
static void test_stmt_cache_keeps_all(void **state)
{
    struct fx *f = *state;
    enum { N = 300 };
    char *sql[N];
    sqlite3_stmt *st[N];
    struct store_conn *c = store_conn(f->s);
    assert_non_null(c);
    unsigned long before = store_stmt_prepares(f->s);
    for (int i = 0; i < N; i++) {
        sql[i] = xasprintf("SELECT %d", i);
        st[i] = store_stmt(c, sql[i]);
        assert_non_null(st[i]);
    }
    assert_int_equal(store_stmt_prepares(f->s), before + N);
    store_round(f, 1);
    unsigned long after = store_stmt_prepares(f->s);
    assert_true(after > before + N + 80); /* the round's own statements, once each */
    store_round(f, 2);
    assert_int_equal(store_stmt_prepares(f->s), after);
    for (int i = 0; i < N; i++) {
        assert_ptr_equal(store_stmt(c, sql[i]), st[i]);
        free(sql[i]);
    }
    assert_int_equal(store_stmt_prepares(f->s), after);
    /* A fresh connection starts a fresh count. */
    store_thread_done(f->s);
    assert_int_equal(store_stmt_prepares(f->s), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_migrations_applied, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_master_key_mode, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_reopen, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_open_refuses_urls, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_seal, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_mac_and_derive, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_tx_nested_commit, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_tx_inner_rollback, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_tx_outer_rollback, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_thread_done, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_stmt_cache_keeps_all, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
