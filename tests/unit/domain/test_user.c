/* test_user.c - roles and their scopes, e-mail and password checks, Argon2id hashes. */
/* cmocka.h needs these headers first */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include "auth.h"
#include "rand.h"
#include "user.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int setup(void **state)
{
    (void)state;
    return tg_rand_init();
}

static void test_role_names(void **state)
{
    (void)state;
    static const struct {
        enum user_role r;
        const char *name;
    } t[] = {{ROLE_ADMIN, "admin"}, {ROLE_OPERATOR, "operator"}, {ROLE_READ_ONLY, "read-only"}};
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(user_role_name(t[i].r), t[i].name);
        enum user_role r = (enum user_role)99;
        assert_int_equal(user_role_parse(t[i].name, &r), 0);
        assert_int_equal(r, t[i].r);
    }
    enum user_role r = ROLE_OPERATOR;
    assert_int_equal(user_role_parse("Admin", &r), -EINVAL);
    assert_int_equal(user_role_parse("readonly", &r), -EINVAL);
    assert_int_equal(user_role_parse("read_only", &r), -EINVAL);
    assert_int_equal(user_role_parse("", &r), -EINVAL);
    assert_int_equal(user_role_parse("admin ", &r), -EINVAL);
    assert_int_equal(r, ROLE_OPERATOR); /* untouched on failure */
    /* An out-of-range role names the least privileged one. */
    assert_string_equal(user_role_name((enum user_role)7), "read-only");
}

static void test_role_scopes(void **state)
{
    (void)state;
    uint32_t admin = user_role_scopes(ROLE_ADMIN);
    uint32_t op = user_role_scopes(ROLE_OPERATOR);
    uint32_t ro = user_role_scopes(ROLE_READ_ONLY);
    assert_int_equal(admin, SCOPE_ALL);
    assert_true(admin & SCOPE_ADMIN);
    assert_int_equal(op, SCOPE_ALL & ~(uint32_t)SCOPE_ADMIN);
    assert_false(op & SCOPE_ADMIN);
    assert_true(op & SCOPE_SITE_ACTION);
    assert_true(op & SCOPE_CREDENTIALS_ROTATE);
    assert_true(op & SCOPE_JOB_DELETE);
    assert_int_equal(ro, SCOPE_CPF_VIEW | SCOPE_SITE_VIEW | SCOPE_CREDENTIALS_VIEW |
                             SCOPE_TRANSIENT_VIEW | SCOPE_JOB_VIEW);
    assert_int_equal(__builtin_popcount(ro), 5);
    assert_false(ro & SCOPE_ADMIN);
    /* Every read-only scope is a ":view" one, and every ":view" scope is read-only's. */
    struct strlist names = {0};
    scope_to_list(SCOPE_ALL, &names);
    for (size_t i = 0; i < names.n; i++) {
        bool view = strstr(names.items[i], ":view") != NULL;
        uint32_t bit = scope_from_name(names.items[i]);
        assert_true(bit != 0);
        if (view != ((ro & bit) != 0))
            fail_msg("scope %s: view=%d in read-only=%d", names.items[i], view, !view);
    }
    strlist_release(&names);
    assert_int_equal(user_role_scopes((enum user_role)42), 0);
}

static void email_ok(const char *e)
{
    struct tg_err err;
    memset(&err, 0, sizeof err);
    if (user_check_email(e, &err) != 0)
        fail_msg("'%s' refused: %s", e, err.message);
}

static void email_bad(const char *e)
{
    struct tg_err err;
    memset(&err, 0, sizeof err);
    if (user_check_email(e, &err) != -EINVAL)
        fail_msg("'%s' accepted", e);
    assert_string_equal(err.code, "invalid_email");
    assert_string_equal(err.param, "email");
    assert_int_equal(err.status, 400);
}

static void test_email(void **state)
{
    (void)state;
    email_ok("ops@example.com");
    email_ok("a@b.c");
    email_ok("first.last+tag@sub.example.co.uk");
    email_bad("");
    email_bad("@");
    email_bad("a@b");
    email_bad("example.com");
    email_bad("@example.com");
    email_bad("a@@example.com");
    email_bad("a@b@example.com");
    email_bad("a@.example.com");
    email_bad("a@example.com.");
    email_bad("a b@example.com");
    email_bad("ab@example.com ");
    email_bad("a\t@example.com");
    email_bad("a\x7f@example.com");
    email_bad("a\n@example.com");
    /* Length: 254 characters accepted, 255 refused. */
    char e[300];
    memset(e, 'a', sizeof e);
    memcpy(e + 254 - 12, "@example.com", 12);
    e[254] = '\0';
    email_ok(e);
    memset(e, 'a', sizeof e);
    memcpy(e + 255 - 12, "@example.com", 12);
    e[255] = '\0';
    email_bad(e);
}

static void test_password_length(void **state)
{
    (void)state;
    struct tg_err err;
    char pw[300];
    memset(pw, 'x', sizeof pw);
    pw[9] = '\0';
    memset(&err, 0, sizeof err);
    assert_int_equal(user_check_password(pw, &err), -EINVAL);
    assert_string_equal(err.code, "password_too_short");
    assert_string_equal(err.param, "password");
    assert_int_equal(user_check_password("", &err), -EINVAL);
    memset(pw, 'x', sizeof pw);
    pw[10] = '\0';
    assert_int_equal(user_check_password(pw, &err), 0);
    memset(pw, 'x', sizeof pw);
    pw[256] = '\0';
    assert_int_equal(user_check_password(pw, &err), 0);
    memset(pw, 'x', sizeof pw);
    pw[257] = '\0';
    memset(&err, 0, sizeof err);
    assert_int_equal(user_check_password(pw, &err), -EINVAL);
    assert_string_equal(err.code, "password_too_long");
}

static void test_hash_and_verify(void **state)
{
    (void)state;
    char h1[USER_HASH_MAX], h2[USER_HASH_MAX];
    assert_int_equal(user_hash_password("correct horse battery", h1), 0);
    assert_int_equal(user_hash_password("correct horse battery", h2), 0);
    assert_int_equal(strncmp(h1, "$argon2id$", 10), 0);
    assert_true(strlen(h1) < USER_HASH_MAX);
    assert_string_not_equal(h1, h2); /* random salts */
    assert_true(user_verify_password(h1, "correct horse battery"));
    assert_true(user_verify_password(h2, "correct horse battery"));
    assert_false(user_verify_password(h1, "correct horse batterY"));
    assert_false(user_verify_password(h1, "correct horse battery "));
    assert_false(user_verify_password(h1, ""));
    /* A damaged or foreign hash never verifies. */
    assert_false(user_verify_password("", "correct horse battery"));
    assert_false(user_verify_password("$2y$10$abcdefghijklmnopqrstuv", "correct horse battery"));
    char bad[USER_HASH_MAX];
    memcpy(bad, h1, sizeof bad);
    size_t n = strlen(bad);
    bad[n - 2] = bad[n - 2] == 'A' ? 'B' : 'A';
    assert_false(user_verify_password(bad, "correct horse battery"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_role_names),      cmocka_unit_test(test_role_scopes),
        cmocka_unit_test(test_email),           cmocka_unit_test(test_password_length),
        cmocka_unit_test(test_hash_and_verify),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
