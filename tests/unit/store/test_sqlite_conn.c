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

extern const char *const store_migrations[];

/*
 * Upgrading a schema-6 database (migration 0007): users are rebuilt for per-tenant e-mail
 * uniqueness without losing a user or a session (dropping `users` would cascade to them), and
 * an unused bootstrap token gets an issue time (it counts from the upgrade).
 */
static void test_upgrade_from_6(void **state)
{
    struct fx *f = *state;
    char path[300];
    snprintf(path, sizeof path, "%s/old.db", f->dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA foreign_keys=ON", NULL, NULL, NULL), SQLITE_OK);
    for (int i = 0; i < 6; i++)
        assert_int_equal(sqlite3_exec(db, store_migrations[i], NULL, NULL, NULL), SQLITE_OK);
    char *sql = xasprintf(
        "PRAGMA user_version=6;"
        "INSERT INTO tenants VALUES ('t1', 'T', 1);"
        "INSERT INTO users (id, tenant_id, email, password_hash, role, disabled, created_at, "
        "updated_at) VALUES ('u1', 't1', 'Old@Example.com', 'h', 'admin', 0, 1, 1);"
        "INSERT INTO sessions VALUES ('j1', 'u1', 1, %lld, NULL);"
        "INSERT INTO policies (id, tenant_id, name, slug, created_at, updated_at) "
        "VALUES ('p1', 't1', 'P', 'p-1', 1, 1);"
        "INSERT INTO sites (id, tenant_id, name, policy_id, bootstrap_token_sealed, "
        "bootstrap_token_hash, created_at, updated_at) VALUES ('s1', 't1', 'S', 'p1', 'x', "
        "x'00', 1, 1);",
        (long long)time_now() + 3600);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    free(sql);
    sqlite3_close(db);

    struct store *s;
    char url[320];
    snprintf(url, sizeof url, "sqlite:%s", path);
    int64_t before = time_now();
    assert_int_equal(store_open(url, f->dir, &s), 0);
    assert_int_equal(store_schema_version(s), count_migration_files());
    struct user *u = NULL;
    size_t n = 0;
    assert_int_equal(store_users_by_email(s, "old@example.com", &u, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(u[0].id, "u1");
    free(u);
    assert_int_equal(store_session_check(s, "j1", time_now()), 0);
    struct site site;
    assert_int_equal(store_site_get(s, "t1", "s1", &site), 0);
    assert_true(site.bootstrap_issued_at >= before);
    site_release(&site);
    store_close(s);
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
    fx_store_round(f, 1);
    unsigned long after = store_stmt_prepares(f->s);
    assert_true(after > before + N + 80); /* the round's own statements, once each */
    fx_store_round(f, 2);
    assert_int_equal(store_stmt_prepares(f->s), after);
    for (int i = 0; i < N; i++) {
        assert_ptr_equal(store_stmt(c, sql[i]), st[i]);
        free(sql[i]);
    }
    assert_int_equal(store_stmt_prepares(f->s), after);
    /* A fresh connection starts a fresh count; the writer's (the round's writes) stays. */
    unsigned long threads = c->prepares;
    store_thread_done(f->s);
    assert_int_equal(store_stmt_prepares(f->s), after - threads);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_migrations_applied, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_master_key_mode, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_reopen, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_upgrade_from_6, fx_setup, fx_teardown),
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
