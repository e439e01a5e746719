/* test_policies.c - tenants (with their default policy) and policy CRUD in the store. */
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

static void test_tenant_default_policy(void **state)
{
    struct fx *f = *state;
    struct policy p;
    assert_int_equal(store_policy_get_default(f->s, f->tenant, &p), 0);
    assert_true(p.is_default);
    assert_string_equal(p.tenant_id, f->tenant);
    assert_string_equal(p.name, "Default Policy");
    assert_true(p.svc[SVC_WINBOX].enabled);
    assert_true(p.svc[SVC_SSH].enabled);
    assert_true(p.svc[SVC_API].enabled);
    assert_false(p.svc[SVC_TELNET].enabled);
    for (int i = 0; i < SVC_COUNT; i++)
        assert_int_equal(p.svc[i].port, policy_svc_default_port[i]);
    assert_int_equal(p.svc[SVC_API].networks.n, 1);
    assert_string_equal(p.svc[SVC_API].networks.items[0], MGMT);
    assert_int_equal(p.trusted_networks.n, 3);
    policy_release(&p);

    struct policy *all = NULL;
    size_t n = 0;
    assert_int_equal(store_policy_list(f->s, f->tenant, NULL, &all, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(all[0].id, f->policy);
    store_policy_array_free(all, n);
}

static void make_policy(struct fx *f, const char *name, struct policy *p)
{
    memset(p, 0, sizeof *p);
    uuid_v7(p->id);
    memcpy(p->tenant_id, f->tenant, UUID_STR_LEN);
    p->name = xstrdup(name);
    char slug[64];
    policy_make_slug(name, slug);
    p->slug = xstrdup(slug);
    for (int i = 0; i < SVC_COUNT; i++)
        p->svc[i].port = policy_svc_default_port[i];
    p->svc[SVC_WINBOX].enabled = true;
    p->svc[SVC_API].enabled = true;
    strlist_add(&p->svc[SVC_WINBOX].networks, "10.0.0.0/8");
    strlist_add(&p->svc[SVC_WINBOX].networks, "192.168.1.0/24");
    strlist_add(&p->trusted_networks, "172.16.0.0/12");
    p->custom_input_rules = true;
    p->created_at = p->updated_at = time_now();
}

static void test_policy_crud(void **state)
{
    struct fx *f = *state;
    struct policy p;
    make_policy(f, "Branch", &p);
    assert_int_equal(store_policy_insert(f->s, &p), 0);
    assert_int_equal(store_policy_insert(f->s, &p), -EEXIST); /* same id */

    struct policy g;
    assert_int_equal(store_policy_get(f->s, f->tenant, p.id, 0, &g), 0);
    assert_string_equal(g.name, "Branch");
    assert_string_equal(g.slug, p.slug);
    assert_false(g.is_default);
    assert_true(g.custom_input_rules);
    assert_true(g.svc[SVC_WINBOX].enabled);
    assert_false(g.svc[SVC_SSH].enabled);
    assert_int_equal(g.svc[SVC_WINBOX].networks.n, 2);
    assert_string_equal(g.svc[SVC_WINBOX].networks.items[1], "192.168.1.0/24");
    assert_int_equal(g.trusted_networks.n, 1);
    assert_string_equal(g.trusted_networks.items[0], "172.16.0.0/12");
    policy_release(&g);

    /* Update: name, ports, flags and networks are replaced. */
    free(p.name);
    p.name = xstrdup("Branch 2");
    p.custom_input_rules = false;
    p.svc[SVC_SSH].enabled = true;
    p.svc[SVC_SSH].port = 2222;
    strlist_release(&p.svc[SVC_WINBOX].networks);
    strlist_add(&p.svc[SVC_WINBOX].networks, "10.1.0.0/16");
    strlist_release(&p.trusted_networks);
    p.updated_at = time_now();
    assert_int_equal(store_policy_update(f->s, &p), 0);
    assert_int_equal(store_policy_get(f->s, f->tenant, p.id, 0, &g), 0);
    assert_string_equal(g.name, "Branch 2");
    assert_false(g.custom_input_rules);
    assert_true(g.svc[SVC_SSH].enabled);
    assert_int_equal(g.svc[SVC_SSH].port, 2222);
    assert_int_equal(g.svc[SVC_WINBOX].networks.n, 1);
    assert_string_equal(g.svc[SVC_WINBOX].networks.items[0], "10.1.0.0/16");
    assert_int_equal(g.trusted_networks.n, 0);
    policy_release(&g);

    struct policy *all = NULL;
    size_t n = 0;
    assert_int_equal(store_policy_list(f->s, f->tenant, NULL, &all, &n), 0);
    assert_int_equal(n, 2);
    store_policy_array_free(all, n);

    assert_int_equal(store_policy_delete(f->s, f->tenant, p.id), 0);
    assert_int_equal(store_policy_get(f->s, f->tenant, p.id, 0, &g), -ENOENT);
    assert_int_equal(store_policy_delete(f->s, f->tenant, p.id), -ENOENT);
    assert_int_equal(store_policy_update(f->s, &p), -ENOENT);
    policy_release(&p);
}

static void test_default_protected(void **state)
{
    struct fx *f = *state;
    assert_int_equal(store_policy_delete(f->s, f->tenant, f->policy), -EPERM);
    struct policy p;
    assert_int_equal(store_policy_get(f->s, f->tenant, f->policy, 0, &p), 0);
    assert_true(p.is_default);
    policy_release(&p);
}

static void test_other_tenant_invisible(void **state)
{
    struct fx *f = *state;
    char other[UUID_STR_LEN];
    assert_int_equal(store_tenant_create(f->s, "Other", MGMT, other), 0);
    struct policy p;
    assert_int_equal(store_policy_get(f->s, other, f->policy, 0, &p), -ENOENT);
    assert_int_equal(store_policy_delete(f->s, other, f->policy), -ENOENT);
    struct policy mine;
    make_policy(f, "Mine", &mine);
    assert_int_equal(store_policy_insert(f->s, &mine), 0);
    memcpy(mine.tenant_id, other, UUID_STR_LEN);
    assert_int_equal(store_policy_update(f->s, &mine), -ENOENT);
    assert_int_equal(store_policy_delete(f->s, other, mine.id), -ENOENT);
    policy_release(&mine);
    /* Each tenant has its own default. */
    assert_int_equal(store_policy_get_default(f->s, other, &p), 0);
    assert_string_not_equal(p.id, f->policy);
    policy_release(&p);
}

/* Deleting a policy moves its sites to the default; attach moves them all or none. */
static void test_sites_follow_policies(void **state)
{
    struct fx *f = *state;
    struct policy p;
    make_policy(f, "Temp", &p);
    assert_int_equal(store_policy_insert(f->s, &p), 0);
    char a[UUID_STR_LEN], b[UUID_STR_LEN];
    fx_site(f, p.id, NULL, false, a, NULL);
    fx_site(f, NULL, NULL, false, b, NULL);

    struct policy g;
    assert_int_equal(store_policy_get(f->s, f->tenant, p.id, 1, &g), 0);
    assert_int_equal(g.sites.n, 1);
    assert_string_equal(g.sites.items[0], a);
    policy_release(&g);

    struct strlist ids = {0};
    strlist_add(&ids, b);
    strlist_add(&ids, "00000000-0000-7000-8000-000000000000");
    size_t bad = 99;
    assert_int_equal(store_policy_attach_sites(f->s, f->tenant, p.id, &ids, &bad), -ENOENT);
    assert_int_equal(bad, 1);
    struct site s;
    assert_int_equal(store_site_get(f->s, f->tenant, b, &s), 0);
    assert_string_equal(s.policy_id, f->policy); /* unchanged: all or nothing */
    site_release(&s);
    strlist_release(&ids);

    strlist_add(&ids, b);
    assert_int_equal(store_policy_attach_sites(f->s, f->tenant, p.id, &ids, &bad), 0);
    strlist_release(&ids);
    assert_int_equal(store_site_get(f->s, f->tenant, b, &s), 0);
    assert_string_equal(s.policy_id, p.id);
    site_release(&s);

    assert_int_equal(store_policy_delete(f->s, f->tenant, p.id), 0);
    assert_int_equal(store_site_get(f->s, f->tenant, a, &s), 0);
    assert_string_equal(s.policy_id, f->policy);
    site_release(&s);
    assert_int_equal(store_site_get(f->s, f->tenant, b, &s), 0);
    assert_string_equal(s.policy_id, f->policy);
    site_release(&s);
    policy_release(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_tenant_default_policy, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_policy_crud, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_default_protected, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_other_tenant_invisible, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_sites_follow_policies, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
