/* test_users.c - portal users and their sessions in the store. */
/* cmocka.h needs these headers first */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include "helpers.h"
#include "rand.h"
#include "timefmt.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The store does not look inside the hash: a fixed string keeps the tests fast. */
#define FAKE_HASH "$argon2id$v=19$m=65536,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g"

static void make_user(struct fx *f, const char *email, enum user_role role, struct user *u)
{
    memset(u, 0, sizeof *u);
    uuid_v7(u->id);
    memcpy(u->tenant_id, f->tenant, UUID_STR_LEN);
    snprintf(u->email, sizeof u->email, "%s", email);
    snprintf(u->password_hash, sizeof u->password_hash, "%s", FAKE_HASH);
    u->role = role;
    u->created_at = u->updated_at = time_now();
}

static void test_user_crud(void **state)
{
    struct fx *f = *state;
    struct user a, b, got;
    make_user(f, "Ops@Example.com", ROLE_OPERATOR, &a);
    assert_int_equal(store_user_insert(f->s, &a), 0);
    /* E-mail addresses are unique regardless of case. */
    make_user(f, "ops@example.COM", ROLE_ADMIN, &b);
    assert_int_equal(store_user_insert(f->s, &b), -EEXIST);
    struct user *byemail = NULL;
    size_t nbyemail = 0;
    assert_int_equal(store_users_by_email(f->s, "ops@example.com", &byemail, &nbyemail), 0);
    assert_int_equal(nbyemail, 1);
    got = byemail[0];
    free(byemail);
    assert_string_equal(got.id, a.id);
    assert_int_equal(got.role, ROLE_OPERATOR);
    assert_string_equal(got.password_hash, FAKE_HASH);
    assert_false(got.disabled);
    assert_int_equal(got.last_login_at, 0);

    assert_int_equal(store_user_get(f->s, NULL, a.id, &got), 0);
    assert_int_equal(store_user_get(f->s, f->tenant, a.id, &got), 0);
    char other[UUID_STR_LEN];
    assert_int_equal(store_tenant_create(f->s, "Other", MGMT, other), 0);
    assert_int_equal(store_user_get(f->s, other, a.id, &got), -ENOENT);
    assert_int_equal(store_user_delete(f->s, other, a.id), -ENOENT);
    /* Unique per tenant only (F14): another tenant may have the same address. */
    struct user c;
    make_user(f, "OPS@example.com", ROLE_ADMIN, &c);
    memcpy(c.tenant_id, other, UUID_STR_LEN);
    assert_int_equal(store_user_insert(f->s, &c), 0);
    assert_int_equal(store_users_by_email(f->s, "ops@example.com", &byemail, &nbyemail), 0);
    assert_int_equal(nbyemail, 2);
    assert_string_equal(byemail[0].id, a.id); /* oldest first */
    assert_string_equal(byemail[1].id, c.id);
    free(byemail);
    assert_int_equal(store_user_delete(f->s, other, c.id), 0);

    a.role = ROLE_READ_ONLY;
    a.disabled = true;
    assert_int_equal(store_user_update(f->s, &a), 0);
    assert_int_equal(store_user_get(f->s, NULL, a.id, &got), 0);
    assert_int_equal(got.role, ROLE_READ_ONLY);
    assert_true(got.disabled);
    assert_int_equal(store_user_touch_login(f->s, a.id), 0);
    assert_int_equal(store_user_get(f->s, NULL, a.id, &got), 0);
    assert_true(got.last_login_at > 0);

    make_user(f, "admin@example.com", ROLE_ADMIN, &b);
    assert_int_equal(store_user_insert(f->s, &b), 0);
    int n = 0;
    assert_int_equal(store_user_count(f->s, &n), 0);
    assert_int_equal(n, 2);
    struct user *l = NULL;
    size_t ln = 0;
    assert_int_equal(store_user_list(f->s, f->tenant, NULL, &l, &ln), 0);
    assert_int_equal(ln, 2);
    free(l);
    assert_int_equal(store_user_delete(f->s, f->tenant, a.id), 0);
    assert_int_equal(store_user_get(f->s, NULL, a.id, &got), -ENOENT);
    assert_int_equal(store_user_delete(f->s, f->tenant, a.id), -ENOENT);
}

static void test_sessions(void **state)
{
    struct fx *f = *state;
    struct user u, v;
    make_user(f, "a@example.com", ROLE_ADMIN, &u);
    make_user(f, "b@example.com", ROLE_ADMIN, &v);
    assert_int_equal(store_user_insert(f->s, &u), 0);
    assert_int_equal(store_user_insert(f->s, &v), 0);
    int64_t now = time_now();
    char s1[UUID_STR_LEN], s2[UUID_STR_LEN], s3[UUID_STR_LEN], s4[UUID_STR_LEN], s5[UUID_STR_LEN];
    uuid_v7(s1);
    uuid_v7(s2);
    uuid_v7(s3);
    uuid_v7(s4);
    uuid_v7(s5);
    assert_int_equal(store_session_insert(f->s, s1, u.id, now + 3600), 0);
    assert_int_equal(store_session_insert(f->s, s2, u.id, now + 3600), 0);
    assert_int_equal(store_session_insert(f->s, s3, v.id, now + 3600), 0);
    assert_int_equal(store_session_insert(f->s, s4, v.id, now - 1), 0);
    assert_int_equal(store_session_insert(f->s, s1, v.id, now + 3600), -EEXIST);

    assert_int_equal(store_session_check(f->s, s1, now), 0);
    assert_int_equal(store_session_check(f->s, s4, now), -ENOENT); /* expired */
    assert_int_equal(store_session_check(f->s, s5, now), -ENOENT); /* unknown */
    assert_int_equal(store_session_check(f->s, s1, now + 3600), -ENOENT);

    assert_int_equal(store_session_revoke(f->s, s1), 0);
    assert_int_equal(store_session_check(f->s, s1, now), -ENOENT);
    assert_int_equal(store_session_check(f->s, s2, now), 0);
    assert_int_equal(store_session_revoke_user(f->s, u.id), 0);
    assert_int_equal(store_session_check(f->s, s2, now), -ENOENT);
    assert_int_equal(store_session_check(f->s, s3, now), 0); /* another user's */

    /* A disabled user's sessions are refused, and come back if re-enabled (not revoked). */
    v.disabled = true;
    assert_int_equal(store_user_update(f->s, &v), 0);
    assert_int_equal(store_session_check(f->s, s3, now), -ENOENT);
    v.disabled = false;
    assert_int_equal(store_user_update(f->s, &v), 0);
    assert_int_equal(store_session_check(f->s, s3, now), 0);

    /* Deleting a user deletes their sessions. */
    assert_int_equal(store_user_delete(f->s, f->tenant, v.id), 0);
    assert_int_equal(store_session_check(f->s, s3, now), -ENOENT);
}

/* Issue 11 item 5: the shared failed-sign-in counters (both backends: suite pg too). */
static void test_login_failures(void **state)
{
    struct fx *f = *state;
    int n = 0;
    int64_t start = 0, now = 1000000;
    assert_int_equal(store_login_failures_get(f->s, "k1", now, 300, &n, &start), -ENOENT);
    for (int i = 0; i < 3; i++)
        assert_int_equal(store_login_failure_add(f->s, "k1", now + i, 300), 0);
    assert_int_equal(store_login_failure_add(f->s, "k2", now, 300), 0);
    assert_int_equal(store_login_failures_get(f->s, "k1", now + 10, 300, &n, &start), 0);
    assert_int_equal(n, 3);
    assert_int_equal(start, now); /* the window opened at the first failure */
    /* the window closes 300 s after its start; a failure then opens a new one */
    assert_int_equal(store_login_failures_get(f->s, "k1", now + 300, 300, &n, &start), -ENOENT);
    assert_int_equal(store_login_failure_add(f->s, "k1", now + 301, 300), 0);
    assert_int_equal(store_login_failures_get(f->s, "k1", now + 301, 300, &n, &start), 0);
    assert_int_equal(n, 1);
    assert_int_equal(start, now + 301);
    /* that failure pruned k2 (closed window) */
    assert_int_equal(store_login_failures_get(f->s, "k2", now, 300, &n, &start), -ENOENT);
    assert_int_equal(store_login_failures_clear(f->s, "k1"), 0);
    assert_int_equal(store_login_failures_get(f->s, "k1", now + 301, 300, &n, &start), -ENOENT);
    assert_int_equal(store_login_failures_clear(f->s, "never"), 0);
}

/* The master key's check value: the first one stays, another is answered with it. */
static void test_master_key_check(void **state)
{
    struct fx *f = *state;
    char mine[65], theirs[65], got[65];
    memset(mine, 'a', 64);
    mine[64] = '\0';
    memset(theirs, 'b', 64);
    theirs[64] = '\0';
    assert_int_equal(store_master_key_check(f->s, mine, got), 0);
    assert_string_equal(got, mine);
    assert_int_equal(store_master_key_check(f->s, theirs, got), 0);
    assert_string_equal(got, mine);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_user_crud, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_sessions, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_login_failures, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_master_key_check, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
