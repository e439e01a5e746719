/*
 * The PostgreSQL backend's connections (pg_conn.c): migrations, the statement cache, a
 * transaction an error aborted, a connection the server dropped. Runs in suite pg only
 * (TG_TEST_DATABASE, tests/integration/pgserver.py); skips without it.
 */
/* cmocka.h needs these headers first */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include "helpers.h"
#include "pg_int.h"
#include "rand.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int setup(void **state)
{
    if (!getenv("TG_TEST_DATABASE")) {
        *state = NULL;
        return 0;
    }
    return fx_setup(state);
}

#define NEED_PG(f)                                                                                 \
    do {                                                                                           \
        if (!(f))                                                                                  \
            skip();                                                                                \
    } while (0)

static void test_migrations_applied(void **state)
{
    struct fx *f = *state;
    NEED_PG(f);
    DIR *d = opendir(TG_SOURCE_ROOT "/src/store/migrations/pg");
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += strlen(e->d_name) > 4 && !strcmp(e->d_name + strlen(e->d_name) - 4, ".sql");
    closedir(d);
    assert_true(n >= 6);
    assert_int_equal(store_schema_version(f->s), n);
    /* The same number as SQLite's migrations: one schema, two dialects. */
    d = opendir(TG_SOURCE_ROOT "/src/store/migrations");
    assert_non_null(d);
    int m = 0;
    while ((e = readdir(d)))
        m += strlen(e->d_name) > 4 && !strcmp(e->d_name + strlen(e->d_name) - 4, ".sql");
    closedir(d);
    assert_int_equal(m, n);
}

/*
 * A round of every store function succeeds on PostgreSQL (each statement prepares and runs),
 * and a second round prepares nothing: statements are cached per connection.
 */
static void test_stmt_cache(void **state)
{
    struct fx *f = *state;
    NEED_PG(f);
    unsigned long before = pg_stmt_prepares(f->s);
    fx_store_round(f, 1);
    unsigned long after = pg_stmt_prepares(f->s);
    assert_true(after > before + 80); /* the round's own statements, once each */
    fx_store_round(f, 2);
    assert_int_equal(pg_stmt_prepares(f->s), after);
    store_thread_done(f->s);
    assert_int_equal(pg_stmt_prepares(f->s), 0);
}

/* An error aborts a PostgreSQL transaction: the outer commit fails, the connection goes on. */
static void test_error_dooms_transaction(void **state)
{
    struct fx *f = *state;
    NEED_PG(f);
    struct user u;
    memset(&u, 0, sizeof u);
    uuid_v7(u.id);
    memcpy(u.tenant_id, f->tenant, UUID_STR_LEN);
    snprintf(u.email, sizeof u.email, "dup@example.com");
    snprintf(u.password_hash, sizeof u.password_hash, "x");
    u.role = ROLE_ADMIN;
    u.created_at = u.updated_at = 1700000000;
    assert_int_equal(store_user_insert(f->s, &u), 0);
    assert_int_equal(store_tx_begin(f->s), 0);
    uuid_v7(u.id);
    snprintf(u.email, sizeof u.email, "DUP@example.com"); /* unique without case */
    assert_int_equal(store_user_insert(f->s, &u), -EEXIST);
    assert_int_equal(store_tx_commit(f->s), -EIO);
    int n = 0;
    assert_int_equal(store_user_count(f->s, &n), 0);
    assert_int_equal(n, 1);
}

/* The server ends the connection (a restart, a failover): the next call reconnects. */
static void test_reconnect(void **state)
{
    struct fx *f = *state;
    NEED_PG(f);
    int n;
    assert_int_equal(store_tenant_count(f->s, &n), 0);
    const char *psql = getenv("TG_TEST_PSQL");
    char cmd[1200];
    snprintf(cmd, sizeof cmd,
             "'%s' -X -q '%s' -c \"SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
             "WHERE application_name = 'tikgated'\" >/dev/null",
             psql && *psql ? psql : "psql", getenv("TG_TEST_DATABASE"));
    assert_int_equal(system(cmd), 0);
    int r = store_tenant_count(f->s, &n); /* may see the dead connection once */
    if (r < 0) {
        assert_true(store_connection_lost(f->s)); /* that failure was the connection's */
        assert_int_equal(store_tenant_count(f->s, &n), 0);
    }
    assert_int_equal(store_tenant_count(f->s, &n), 0);
    assert_int_equal(n, 1);
    assert_false(store_connection_lost(f->s));
    /* store_reachable sees through a connection the server ended: it reconnects and says so */
    assert_true(store_reachable(f->s));
    assert_int_equal(system(cmd), 0);
    assert_true(store_reachable(f->s));
    assert_true(store_reachable(f->s));
    assert_int_equal(store_tenant_count(f->s, &n), 0); /* the first call after it works */
    /* idle for over a second, the ended connection is known before the next call */
    assert_int_equal(system(cmd), 0);
    sleep(2);
    assert_int_equal(store_tenant_count(f->s, &n), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_migrations_applied, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_stmt_cache, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_error_dooms_transaction, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_reconnect, setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
