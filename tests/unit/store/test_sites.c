/*
 * test_sites.c - sites and their API credentials in the store: rotation, sealing (no
 * plaintext secret in the database files), tenant isolation.
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

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_site_insert_get(void **state)
{
    struct fx *f = *state;
    char id[UUID_STR_LEN];
    fx_site(f, NULL, "10.99.0.2", false, id, NULL);
    struct site s;
    assert_int_equal(store_site_get(f->s, f->tenant, id, &s), 0);
    assert_string_equal(s.name, "site");
    assert_string_equal(s.policy_id, f->policy);
    assert_string_equal(s.tunnel_address, "10.99.0.2");
    assert_int_equal(s.status, SITE_PENDING_ONBOARDING);
    assert_int_equal(strlen(s.bootstrap_token), SITE_TOKEN_LEN); /* unsealed on the way out */
    char token[SITE_TOKEN_LEN + 1];
    memcpy(token, s.bootstrap_token, sizeof token);
    site_release(&s);

    struct site by;
    assert_int_equal(store_site_by_bootstrap_token(f->s, token, &by), 0);
    assert_string_equal(by.id, id);
    site_release(&by);
    assert_false(fx_files_contain(f, token));

    struct site *all = NULL;
    size_t n = 0;
    assert_int_equal(store_site_list(f->s, f->tenant, NULL, &all, &n), 0);
    assert_int_equal(n, 1);
    store_site_array_free(all, n);
}

static void test_site_wrong_policy_or_tenant(void **state)
{
    struct fx *f = *state;
    char other[UUID_STR_LEN];
    assert_int_equal(store_tenant_create(f->s, "Other", MGMT, other), 0);
    struct policy op;
    assert_int_equal(store_policy_get_default(f->s, other, &op), 0);
    /* A site of f's tenant on the other tenant's policy is refused. */
    struct site s;
    memset(&s, 0, sizeof s);
    uuid_v7(s.id);
    memcpy(s.tenant_id, f->tenant, UUID_STR_LEN);
    s.name = xstrdup("x");
    memcpy(s.policy_id, op.id, UUID_STR_LEN);
    rand_base62(s.bootstrap_token, SITE_TOKEN_LEN);
    struct credential c;
    credential_generate(&c, s.id);
    assert_int_equal(store_site_insert(f->s, &s, &c), -ENOENT);
    struct site got;
    assert_int_equal(store_site_get(f->s, f->tenant, s.id, &got), -ENOENT);
    site_release(&s);
    policy_release(&op);

    char id[UUID_STR_LEN];
    fx_site(f, NULL, NULL, false, id, NULL);
    assert_int_equal(store_site_get(f->s, other, id, &got), -ENOENT);
    assert_int_equal(store_site_delete(f->s, other, id), -ENOENT);
    struct credential *cl = NULL;
    size_t n = 0;
    assert_int_equal(store_credential_list(f->s, other, id, &cl, &n), -ENOENT);
    assert_int_equal(store_site_delete(f->s, f->tenant, id), 0);
    assert_int_equal(store_site_get(f->s, f->tenant, id, &got), -ENOENT);
}

static void test_credentials_rotate(void **state)
{
    struct fx *f = *state;
    char id[UUID_STR_LEN];
    struct credential first;
    fx_site(f, NULL, "10.99.0.3", false, id, &first);

    struct credential *l = NULL;
    size_t n = 0;
    assert_int_equal(store_credential_list(f->s, f->tenant, id, &l, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(l[0].id, first.id);
    assert_string_equal(l[0].username, CREDENTIAL_USERNAME);
    assert_string_equal(l[0].password, first.password);
    assert_int_equal(l[0].deleted_at, 0);
    assert_string_equal(l[0].ip_address, "10.99.0.3");
    assert_int_equal(l[0].api_port, 8728);
    store_credential_array_free(l, n);

    struct credential next, ret;
    credential_generate(&next, id);
    assert_string_not_equal(next.password, first.password);
    assert_int_equal(store_credential_rotate(f->s, f->tenant, &next, &ret), 0);
    assert_string_equal(ret.id, next.id);
    assert_string_equal(ret.password, next.password);
    assert_int_equal(ret.deleted_at, 0);
    credential_release(&ret);

    assert_int_equal(store_credential_list(f->s, f->tenant, id, &l, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(l[0].id, first.id);
    assert_true(l[0].deleted_at > 0);
    assert_string_equal(l[0].password, first.password); /* still readable (rotation login) */
    assert_string_equal(l[1].id, next.id);
    assert_int_equal(l[1].deleted_at, 0);
    assert_string_equal(l[1].password, next.password);
    store_credential_array_free(l, n);

    /* Another tenant cannot rotate it. */
    char other[UUID_STR_LEN];
    assert_int_equal(store_tenant_create(f->s, "Other", MGMT, other), 0);
    struct credential third;
    credential_generate(&third, id);
    assert_int_equal(store_credential_rotate(f->s, other, &third, &ret), -ENOENT);

    /* Sealed at rest: neither password is in the database files; the username is. */
    assert_true(fx_files_contain(f, CREDENTIAL_USERNAME));
    assert_false(fx_files_contain(f, first.password));
    assert_false(fx_files_contain(f, next.password));
}

static void test_adopt_and_tokens(void **state)
{
    struct fx *f = *state;
    char id[UUID_STR_LEN];
    fx_site(f, NULL, NULL, false, id, NULL);
    struct site s;
    assert_int_equal(store_site_get(f->s, f->tenant, id, &s), 0);
    char token[SITE_TOKEN_LEN + 1];
    memcpy(token, s.bootstrap_token, sizeof token);
    site_release(&s);
    assert_int_equal(
        store_site_adopt(f->s, id,
                         &(struct store_adoption){"k=v", "r1", "hAP", "SN", "7.15", "10.99.0.9",
                                                  "devtoken0123456789abcdefghijklmn"}),
        0);
    /* Single-use: the bootstrap token is gone after adoption. */
    assert_int_equal(store_site_by_bootstrap_token(f->s, token, &s), -ENOENT);
    assert_int_equal(
        store_site_adopt(f->s, id,
                         &(struct store_adoption){"k=v", "r1", "hAP", "SN", "7.15", NULL, "other"}),
        -ENOENT);
    assert_int_equal(store_site_by_device_token(f->s, "devtoken0123456789abcdefghijklmn", &s), 0);
    assert_string_equal(s.id, id);
    assert_int_equal(s.status, SITE_ONLINE);
    assert_string_equal(s.tunnel_address, "10.99.0.9");
    assert_true(s.adopted_at > 0);
    assert_string_equal(s.bootstrap_token, "");
    site_release(&s);
    assert_false(fx_files_contain(f, "devtoken0123456789abcdefghijklmn"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_site_insert_get, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_site_wrong_policy_or_tenant, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_credentials_rotate, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_adopt_and_tokens, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
