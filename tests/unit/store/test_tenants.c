/* test_tenants.c - tenants and API-key authentication in the store. */
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

/* A key of tenant with scopes; its secret goes to secret_out (APIKEY_SECRET_LEN + 1). */
static void make_key(const char *tenant, const char *name, uint32_t scopes, struct api_key *k,
                     char *secret_out)
{
    memset(k, 0, sizeof *k);
    uuid_v7(k->id);
    snprintf(k->tenant_id, sizeof k->tenant_id, "%s", tenant);
    k->name = strdup(name);
    api_key_generate_secret(secret_out);
    snprintf(k->prefix, sizeof k->prefix, "%.*s", APIKEY_DISPLAY_PREFIX_LEN, secret_out);
    api_key_hash(secret_out, k->hash);
    k->scopes = scopes;
    k->created_at = time_now();
}

static void test_authenticate_by_hash(void **state)
{
    struct fx *f = *state;
    struct api_key k, got;
    char secret[APIKEY_SECRET_LEN + 1];
    make_key(f->tenant, "ci", SCOPE_CPF_VIEW | SCOPE_SITE_VIEW, &k, secret);
    assert_int_equal(store_api_key_insert(f->s, &k), 0);

    uint8_t h[APIKEY_HASH_LEN];
    api_key_hash(secret, h);
    int64_t before = time_now();
    assert_int_equal(store_api_key_authenticate(f->s, h, &got), 0);
    assert_string_equal(got.id, k.id);
    assert_string_equal(got.tenant_id, f->tenant);
    assert_string_equal(got.name, "ci");
    assert_int_equal(got.scopes, SCOPE_CPF_VIEW | SCOPE_SITE_VIEW);
    assert_int_equal(got.revoked_at, 0);
    /* The first use is recorded; a second one within the minute keeps it (no write per request). */
    assert_true(got.last_used_at >= before && got.last_used_at <= time_now());
    int64_t first_use = got.last_used_at;
    api_key_release(&got);
    assert_int_equal(store_api_key_authenticate(f->s, h, &got), 0);
    assert_int_equal(got.last_used_at, first_use);
    api_key_release(&got);

    /* Any other secret, even one differing in one character, is unknown. */
    secret[APIKEY_SECRET_LEN - 1] = secret[APIKEY_SECRET_LEN - 1] == 'a' ? 'b' : 'a';
    api_key_hash(secret, h);
    assert_int_equal(store_api_key_authenticate(f->s, h, &got), -ENOENT);
    api_key_release(&k);
}

static void test_revoked_key_no_longer_authenticates(void **state)
{
    struct fx *f = *state;
    struct api_key k, got;
    char secret[APIKEY_SECRET_LEN + 1];
    make_key(f->tenant, "old", SCOPE_CPF_VIEW, &k, secret);
    assert_int_equal(store_api_key_insert(f->s, &k), 0);
    uint8_t h[APIKEY_HASH_LEN];
    api_key_hash(secret, h);

    /* Another tenant cannot revoke it: its key is indistinguishable from a missing one. */
    char other[UUID_STR_LEN];
    assert_int_equal(store_tenant_create(f->s, "Other", MGMT, other), 0);
    assert_int_equal(store_api_key_revoke(f->s, other, k.id), -ENOENT);
    assert_int_equal(store_api_key_authenticate(f->s, h, &got), 0);
    api_key_release(&got);

    assert_int_equal(store_api_key_revoke(f->s, f->tenant, k.id), 0);
    assert_int_equal(store_api_key_authenticate(f->s, h, &got), -ENOENT);
    /* Revoking twice is not an error. */
    assert_int_equal(store_api_key_revoke(f->s, f->tenant, k.id), 0);
    api_key_release(&k);
}

static void test_same_secret_hash_is_unique(void **state)
{
    struct fx *f = *state;
    struct api_key a, b;
    char secret[APIKEY_SECRET_LEN + 1];
    make_key(f->tenant, "a", SCOPE_CPF_VIEW, &a, secret);
    assert_int_equal(store_api_key_insert(f->s, &a), 0);
    make_key(f->tenant, "b", SCOPE_CPF_VIEW, &b, secret);
    memcpy(b.hash, a.hash, APIKEY_HASH_LEN); /* a second key with the same secret */
    assert_int_equal(store_api_key_insert(f->s, &b), -EEXIST);
    api_key_release(&a);
    api_key_release(&b);
}

static void test_tenants(void **state)
{
    struct fx *f = *state;
    int n = 0;
    assert_int_equal(store_tenant_count(f->s, &n), 0);
    assert_int_equal(n, 1);
    char other[UUID_STR_LEN], first[UUID_STR_LEN];
    assert_int_equal(store_tenant_create(f->s, "Second", MGMT, other), 0);
    assert_int_equal(store_tenant_count(f->s, &n), 0);
    assert_int_equal(n, 2);
    /* The first tenant stays the one bootstrap created. */
    assert_int_equal(store_tenant_first(f->s, first), 0);
    assert_string_equal(first, f->tenant);
    /* Each tenant gets its own default policy. */
    struct policy p;
    assert_int_equal(store_policy_get_default(f->s, other, &p), 0);
    assert_string_not_equal(p.id, f->policy);
    policy_release(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_authenticate_by_hash, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_revoked_key_no_longer_authenticates, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_same_secret_hash_is_unique, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_tenants, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
