/* test_error.c - the error value and the owned string list. */
/* cmocka.h needs these headers first */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include "error.h"
#include "strlist.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void test_type_names(void **state)
{
    (void)state;
    assert_string_equal(tg_err_type_name(TG_ERR_INVALID_REQUEST), "invalid_request_error");
    assert_string_equal(tg_err_type_name(TG_ERR_AUTHENTICATION), "authentication_error");
    assert_string_equal(tg_err_type_name(TG_ERR_PERMISSION), "permission_error");
    assert_string_equal(tg_err_type_name(TG_ERR_NOT_FOUND), "not_found_error");
    assert_string_equal(tg_err_type_name(TG_ERR_CONFLICT), "conflict_error");
    assert_string_equal(tg_err_type_name(TG_ERR_RATE_LIMIT), "rate_limit_error");
    assert_string_equal(tg_err_type_name(TG_ERR_API), "api_error");
}

static void test_default_status(void **state)
{
    (void)state;
    static const struct {
        enum tg_err_type t;
        int status;
    } cases[] = {{TG_ERR_INVALID_REQUEST, 400},
                 {TG_ERR_AUTHENTICATION, 401},
                 {TG_ERR_PERMISSION, 403},
                 {TG_ERR_NOT_FOUND, 404},
                 {TG_ERR_CONFLICT, 409},
                 {TG_ERR_RATE_LIMIT, 429},
                 {TG_ERR_API, 500}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tg_err e;
        assert_int_equal(tg_err_set(&e, cases[i].t, 0, "c", NULL, "m"), -EINVAL);
        assert_int_equal(e.status, cases[i].status);
        assert_string_equal(e.param, "");
    }
    struct tg_err e;
    tg_err_set(&e, TG_ERR_INVALID_REQUEST, 413, "body_too_large", NULL, "big");
    assert_int_equal(e.status, 413);
}

static void test_set_and_shorthands(void **state)
{
    (void)state;
    struct tg_err e;
    assert_int_equal(tg_err_invalid(&e, "port_conflict", "ssh.port", "port %d", 22), -EINVAL);
    assert_int_equal(e.type, TG_ERR_INVALID_REQUEST);
    assert_int_equal(e.status, 400);
    assert_string_equal(e.code, "port_conflict");
    assert_string_equal(e.param, "ssh.port");
    assert_string_equal(e.message, "port 22");
    assert_int_equal(tg_err_not_found(&e, "policy"), -ENOENT);
    assert_int_equal(e.type, TG_ERR_NOT_FOUND);
    assert_int_equal(e.status, 404);
    assert_string_equal(e.code, "resource_missing");
    assert_string_equal(e.param, "");
    assert_string_equal(e.message, "No such policy.");
}

static void test_truncation(void **state)
{
    (void)state;
    struct tg_err e;
    char longp[300];
    memset(longp, 'p', sizeof longp - 1);
    longp[sizeof longp - 1] = '\0';
    tg_err_invalid(&e, longp, longp, "%s%s", longp, longp);
    assert_int_equal(strlen(e.code), sizeof e.code - 1);
    assert_int_equal(strlen(e.param), sizeof e.param - 1);
    assert_int_equal(strlen(e.message), sizeof e.message - 1);
}

static void test_strlist(void **state)
{
    (void)state;
    struct strlist l = {0};
    char *j = strlist_join(&l, ',');
    assert_string_equal(j, "");
    free(j);
    strlist_add(&l, "a");
    strlist_add(&l, "bb");
    assert_true(strlist_contains(&l, "bb"));
    assert_false(strlist_contains(&l, "b"));
    j = strlist_join(&l, ',');
    assert_string_equal(j, "a,bb");
    free(j);
    struct strlist c = {0};
    strlist_copy(&c, &l);
    strlist_release(&l);
    assert_int_equal(l.n, 0);
    assert_null(l.items);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.items[1], "bb");
    strlist_release(&c);

    strlist_split(&l, ",,10.0.0.0/8,,192.168.0.0/16,", ',');
    assert_int_equal(l.n, 2);
    assert_string_equal(l.items[0], "10.0.0.0/8");
    assert_string_equal(l.items[1], "192.168.0.0/16");
    strlist_split(&l, NULL, ',');
    strlist_split(&l, "", ',');
    assert_int_equal(l.n, 2);
    strlist_release(&l);
    strlist_release(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_type_names),
        cmocka_unit_test(test_default_status),
        cmocka_unit_test(test_set_and_shorthands),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_strlist),
    };
    return cmocka_run_group_tests_name("domain_error", tests, NULL, NULL);
}
