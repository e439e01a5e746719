/*
 * test_paging.c - keyset paging of every paged list (paging.c and the list functions):
 * pages follow each other without gaps or repeats in the list's own order, the last page is
 * short, a NULL page is the whole list, and after_id must name an item of the same list
 * (same tenant, site and kind) or the list answers -EINVAL.
 */
/* cmocka.h needs these headers first */
// clang-format off
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
// clang-format on

#include "alloc.h"
#include "helpers.h"
#include "rand.h"
#include "timefmt.h"

#define NONE "00000000-0000-7000-8000-000000000000"

/* A list under test: fetches one page into ids (at most 16), returns the count or -errno. */
typedef int (*page_fn)(struct fx *f, const void *arg, const struct store_page *page,
                       char ids[][UUID_STR_LEN]);

/* Walks fn with pages of limit and checks the concatenation is the whole list, in order. */
static void walk(struct fx *f, page_fn fn, const void *arg, int limit)
{
    char all[16][UUID_STR_LEN], got[16][UUID_STR_LEN], page_ids[16][UUID_STR_LEN];
    int total = fn(f, arg, NULL, all);
    assert_true(total >= 0);
    int seen = 0;
    struct store_page page = {.limit = limit};
    char last[UUID_STR_LEN];
    for (;;) {
        int n = fn(f, arg, &page, page_ids);
        assert_true(n >= 0 && n <= limit);
        for (int i = 0; i < n; i++)
            memcpy(got[seen++], page_ids[i], UUID_STR_LEN);
        if (n < limit)
            break;
        memcpy(last, page_ids[n - 1], UUID_STR_LEN);
        page.after_id = last;
    }
    assert_int_equal(seen, total);
    for (int i = 0; i < total; i++)
        assert_string_equal(got[i], all[i]);
}

static int sites_page(struct fx *f, const void *arg, const struct store_page *page,
                      char ids[][UUID_STR_LEN])
{
    const char *tenant = arg ? arg : f->tenant;
    struct site *a = NULL;
    size_t n = 0;
    int r = store_site_list(f->s, tenant, page, &a, &n);
    if (r < 0)
        return r;
    for (size_t i = 0; i < n; i++)
        memcpy(ids[i], a[i].id, UUID_STR_LEN);
    store_site_array_free(a, n);
    return (int)n;
}

static void test_sites(void **state)
{
    struct fx *f = *state;
    char ids[5][UUID_STR_LEN];
    for (int i = 0; i < 5; i++)
        fx_site(f, NULL, NULL, false, ids[i], NULL);
    char got[16][UUID_STR_LEN];
    assert_int_equal(sites_page(f, NULL, NULL, got), 5);
    for (int i = 0; i < 5; i++)
        assert_string_equal(got[i], ids[i]); /* oldest first */
    for (int limit = 1; limit <= 6; limit++)
        walk(f, sites_page, NULL, limit);
    struct store_page p = {.after_id = ids[1], .limit = 2};
    assert_int_equal(sites_page(f, NULL, &p, got), 2);
    assert_string_equal(got[0], ids[2]);
    assert_string_equal(got[1], ids[3]);
    p.after_id = ids[4];
    assert_int_equal(sites_page(f, NULL, &p, got), 0); /* after the last: empty */
    /* An id that is no site, or another tenant's site, is no cursor. */
    p.after_id = NONE;
    assert_int_equal(sites_page(f, NULL, &p, got), -EINVAL);
    char other[UUID_STR_LEN];
    assert_int_equal(store_tenant_create(f->s, "Other", MGMT, other), 0);
    p.after_id = ids[0];
    assert_int_equal(sites_page(f, other, &p, got), -EINVAL);
    p.after_id = NULL;
    assert_int_equal(sites_page(f, other, &p, got), 0);
    /* A policy id is no site id. */
    p.after_id = f->policy;
    assert_int_equal(sites_page(f, NULL, &p, got), -EINVAL);
}

struct site_arg {
    const char *site;
};

static int jobs_page(struct fx *f, const void *arg, const struct store_page *page,
                     char ids[][UUID_STR_LEN])
{
    const struct site_arg *a = arg;
    struct job *l = NULL;
    size_t n = 0;
    int r = store_job_list(f->s, f->tenant, a->site, page, &l, &n);
    if (r < 0)
        return r;
    for (size_t i = 0; i < n; i++)
        memcpy(ids[i], l[i].id, UUID_STR_LEN);
    store_job_array_free(l, n);
    return (int)n;
}

static void test_jobs(void **state)
{
    struct fx *f = *state;
    char a[UUID_STR_LEN], b[UUID_STR_LEN], ids[5][UUID_STR_LEN], elsewhere[UUID_STR_LEN];
    fx_site(f, NULL, NULL, false, a, NULL);
    fx_site(f, NULL, NULL, false, b, NULL);
    for (int i = 0; i < 5; i++)
        fx_job(f, a, false, true, NULL, NULL, ids[i]);
    fx_job(f, b, false, true, NULL, NULL, elsewhere);
    struct site_arg arg = {.site = a};
    char got[16][UUID_STR_LEN];
    struct store_page p = {.limit = 2};
    assert_int_equal(jobs_page(f, &arg, &p, got), 2);
    assert_string_equal(got[0], ids[4]); /* newest first */
    assert_string_equal(got[1], ids[3]);
    p.after_id = ids[3];
    assert_int_equal(jobs_page(f, &arg, &p, got), 2);
    assert_string_equal(got[0], ids[2]);
    for (int limit = 1; limit <= 6; limit++)
        walk(f, jobs_page, &arg, limit);
    /* Another site's job is no cursor of this site's log. */
    p.after_id = elsewhere;
    assert_int_equal(jobs_page(f, &arg, &p, got), -EINVAL);
    /* An unknown site stays a 404 (-ENOENT), whatever the cursor. */
    struct site_arg none = {.site = NONE};
    assert_int_equal(jobs_page(f, &none, &p, got), -ENOENT);
}

struct grant_arg {
    const char *site;
    enum grant_kind kind;
    bool active;
};

static int grants_page(struct fx *f, const void *arg, const struct store_page *page,
                       char ids[][UUID_STR_LEN])
{
    const struct grant_arg *a = arg;
    struct grant *l = NULL;
    size_t n = 0;
    int r = store_grant_list(f->s, f->tenant, a->site, a->kind, a->active, page, &l, &n);
    if (r < 0)
        return r;
    for (size_t i = 0; i < n; i++)
        memcpy(ids[i], l[i].id, UUID_STR_LEN);
    store_grant_array_free(l, n);
    return (int)n;
}

static void insert_grant(struct fx *f, const char *site, enum grant_kind kind, int64_t expires,
                         char ret_id[UUID_STR_LEN])
{
    struct grant g;
    memset(&g, 0, sizeof g);
    uuid_v7(g.id);
    memcpy(g.site_id, site, UUID_STR_LEN);
    g.kind = kind;
    g.entry_point = xstrdup("e1");
    snprintf(g.access_type, sizeof g.access_type, "winbox");
    snprintf(g.dst_address, sizeof g.dst_address, "192.168.88.2");
    g.dst_port = 80;
    snprintf(g.allow_only_cidr, sizeof g.allow_only_cidr, "8.8.8.8/32");
    g.created_at = time_now();
    g.expires_at_ms = expires;
    assert_int_equal(store_grant_insert(f->s, &g, 43000, 43999), 0);
    memcpy(ret_id, g.id, UUID_STR_LEN);
    grant_release(&g);
}

static void test_grants(void **state)
{
    struct fx *f = *state;
    char site[UUID_STR_LEN], acc[6][UUID_STR_LEN], fwd[UUID_STR_LEN];
    fx_site(f, NULL, NULL, false, site, NULL);
    int64_t now = time_now_ms();
    for (int i = 0; i < 6; i++) /* every other one has expired */
        insert_grant(f, site, GRANT_ACCESS, i % 2 ? now - 1000 : now + 600000, acc[i]);
    insert_grant(f, site, GRANT_FORWARD, now + 600000, fwd);
    struct grant_arg all = {.site = site, .kind = GRANT_ACCESS};
    struct grant_arg active = {.site = site, .kind = GRANT_ACCESS, .active = true};
    for (int limit = 1; limit <= 7; limit++) {
        walk(f, grants_page, &all, limit);
        walk(f, grants_page, &active, limit);
    }
    char got[16][UUID_STR_LEN];
    struct store_page p = {.after_id = acc[4], .limit = 10};
    assert_int_equal(grants_page(f, &all, &p, got), 4); /* newest first: 3, 2, 1, 0 */
    assert_string_equal(got[0], acc[3]);
    /* An expired grant is still a cursor of the active list (it was on an earlier page). */
    p.after_id = acc[5];
    assert_int_equal(grants_page(f, &active, &p, got), 3);
    assert_string_equal(got[0], acc[4]);
    assert_string_equal(got[1], acc[2]);
    assert_string_equal(got[2], acc[0]);
    /* A forward is no cursor of the access list and the other way round. */
    p.after_id = fwd;
    assert_int_equal(grants_page(f, &all, &p, got), -EINVAL);
    struct grant_arg fwds = {.site = site, .kind = GRANT_FORWARD};
    p.after_id = acc[0];
    assert_int_equal(grants_page(f, &fwds, &p, got), -EINVAL);
    p.after_id = NULL;
    assert_int_equal(grants_page(f, &fwds, &p, got), 1);
}

static int users_page(struct fx *f, const void *arg, const struct store_page *page,
                      char ids[][UUID_STR_LEN])
{
    (void)arg;
    struct user *l = NULL;
    size_t n = 0;
    int r = store_user_list(f->s, f->tenant, page, &l, &n);
    if (r < 0)
        return r;
    for (size_t i = 0; i < n; i++)
        memcpy(ids[i], l[i].id, UUID_STR_LEN);
    free(l);
    return (int)n;
}

static void test_users(void **state)
{
    struct fx *f = *state;
    /* One second, so the order is created_at then e-mail: z, a, m -> a, m, z. */
    static const char *const emails[] = {"z@example.com", "a@example.com", "M@example.com",
                                         "b@example.com"};
    char ids[4][UUID_STR_LEN];
    for (int i = 0; i < 4; i++) {
        struct user u;
        memset(&u, 0, sizeof u);
        uuid_v7(u.id);
        memcpy(u.tenant_id, f->tenant, UUID_STR_LEN);
        snprintf(u.email, sizeof u.email, "%s", emails[i]);
        snprintf(u.password_hash, sizeof u.password_hash, "x");
        u.created_at = u.updated_at = 1700000000;
        assert_int_equal(store_user_insert(f->s, &u), 0);
        memcpy(ids[i], u.id, UUID_STR_LEN);
    }
    char got[16][UUID_STR_LEN];
    assert_int_equal(users_page(f, NULL, NULL, got), 4);
    assert_string_equal(got[0], ids[1]); /* a */
    assert_string_equal(got[1], ids[3]); /* b */
    assert_string_equal(got[2], ids[2]); /* M (e-mails compare without case) */
    assert_string_equal(got[3], ids[0]); /* z */
    for (int limit = 1; limit <= 5; limit++)
        walk(f, users_page, NULL, limit);
    struct store_page p = {.after_id = ids[3], .limit = 1};
    assert_int_equal(users_page(f, NULL, &p, got), 1);
    assert_string_equal(got[0], ids[2]);
    p.after_id = NONE;
    assert_int_equal(users_page(f, NULL, &p, got), -EINVAL);
}

static int keys_page(struct fx *f, const void *arg, const struct store_page *page,
                     char ids[][UUID_STR_LEN])
{
    (void)arg;
    struct api_key *l = NULL;
    size_t n = 0;
    int r = store_api_key_list(f->s, f->tenant, page, &l, &n);
    if (r < 0)
        return r;
    for (size_t i = 0; i < n; i++)
        memcpy(ids[i], l[i].id, UUID_STR_LEN);
    store_api_key_array_free(l, n);
    return (int)n;
}

static int policies_page(struct fx *f, const void *arg, const struct store_page *page,
                         char ids[][UUID_STR_LEN])
{
    (void)arg;
    struct policy *l = NULL;
    size_t n = 0;
    int r = store_policy_list(f->s, f->tenant, page, &l, &n);
    if (r < 0)
        return r;
    for (size_t i = 0; i < n; i++)
        memcpy(ids[i], l[i].id, UUID_STR_LEN);
    store_policy_array_free(l, n);
    return (int)n;
}

static void test_keys_and_policies(void **state)
{
    struct fx *f = *state;
    char keys[4][UUID_STR_LEN], pols[3][UUID_STR_LEN];
    for (int i = 0; i < 4; i++) {
        struct api_key k;
        memset(&k, 0, sizeof k);
        uuid_v7(k.id);
        memcpy(k.tenant_id, f->tenant, UUID_STR_LEN);
        k.name = xasprintf("key %d", i);
        char secret[APIKEY_SECRET_LEN + 1];
        api_key_generate_secret(secret);
        memcpy(k.prefix, secret, APIKEY_DISPLAY_PREFIX_LEN);
        api_key_hash(secret, k.hash);
        k.scopes = SCOPE_SITE_VIEW;
        k.created_at = time_now();
        assert_int_equal(store_api_key_insert(f->s, &k), 0);
        memcpy(keys[i], k.id, UUID_STR_LEN);
        api_key_release(&k);
    }
    for (int limit = 1; limit <= 5; limit++)
        walk(f, keys_page, NULL, limit);
    char got[16][UUID_STR_LEN];
    struct store_page p = {.after_id = keys[1], .limit = 5};
    assert_int_equal(keys_page(f, NULL, &p, got), 2);
    assert_string_equal(got[0], keys[2]);
    p.after_id = f->policy; /* a policy is no key */
    assert_int_equal(keys_page(f, NULL, &p, got), -EINVAL);

    memcpy(pols[0], f->policy, UUID_STR_LEN); /* the default, created with the tenant */
    for (int i = 1; i < 3; i++) {
        struct policy pol;
        assert_int_equal(store_policy_get_default(f->s, f->tenant, &pol), 0);
        uuid_v7(pol.id);
        free(pol.name);
        free(pol.slug);
        pol.name = xasprintf("P%d", i);
        pol.slug = xasprintf("p%d-0123456789", i);
        pol.is_default = false;
        assert_int_equal(store_policy_insert(f->s, &pol), 0);
        memcpy(pols[i], pol.id, UUID_STR_LEN);
        policy_release(&pol);
    }
    for (int limit = 1; limit <= 4; limit++)
        walk(f, policies_page, NULL, limit);
    p.after_id = pols[0];
    p.limit = 1;
    assert_int_equal(policies_page(f, NULL, &p, got), 1);
    assert_string_equal(got[0], pols[1]);
    p.after_id = keys[0];
    assert_int_equal(policies_page(f, NULL, &p, got), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sites, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_jobs, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_grants, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_users, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_keys_and_policies, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
