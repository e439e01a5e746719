/* test_policy.c - every policy validation rule, CIDR normalisation, slugs, the default policy. */
/* cmocka.h needs these headers first */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include "alloc.h"
#include "policy.h"
#include "rand.h"

#include <ctype.h>
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

/* A valid policy like the seed's create body. Free with policy_release(). */
static void make_valid(struct policy *p)
{
    memset(p, 0, sizeof *p);
    p->name = xstrdup("My New Policy");
    for (int i = 0; i < SVC_COUNT; i++) {
        p->svc[i].port = policy_svc_default_port[i];
        p->svc[i].enabled = i == SVC_WINBOX || i == SVC_SSH || i == SVC_API;
    }
    strlist_add(&p->svc[SVC_WINBOX].networks, "10.0.0.0/8");
    strlist_add(&p->svc[SVC_API].networks, "154.66.115.255/32");
}

static void set_name(struct policy *p, const char *name)
{
    free(p->name);
    p->name = name ? xstrdup(name) : NULL;
}

static void expect_err(const struct policy *p, const char *code, const char *param)
{
    struct tg_err err;
    memset(&err, 0, sizeof err);
    assert_int_equal(policy_validate(p, &err), -EINVAL);
    assert_string_equal(err.code, code);
    assert_string_equal(err.param, param);
    assert_int_equal(err.type, TG_ERR_INVALID_REQUEST);
    assert_int_equal(err.status, 400);
    assert_true(err.message[0] != '\0');
}

static void expect_ok(const struct policy *p)
{
    struct tg_err err;
    memset(&err, 0, sizeof err);
    int r = policy_validate(p, &err);
    if (r != 0)
        fail_msg("expected valid, got %s (%s): %s", err.code, err.param, err.message);
}

static void test_valid_seed_policy(void **state)
{
    (void)state;
    struct policy p;
    make_valid(&p);
    expect_ok(&p);
    policy_release(&p);
}

static void test_name_missing(void **state)
{
    (void)state;
    struct policy p;
    make_valid(&p);
    set_name(&p, NULL);
    expect_err(&p, "parameter_missing", "name");
    policy_release(&p);
}

static void test_name_empty(void **state)
{
    (void)state;
    struct policy p;
    make_valid(&p);
    set_name(&p, "");
    expect_err(&p, "parameter_invalid", "name");
    policy_release(&p);
}

static void test_name_length_ascii(void **state)
{
    (void)state;
    struct policy p;
    make_valid(&p);
    set_name(&p, "x");
    expect_ok(&p);
    set_name(&p, "12345678901234567890"); /* 20 */
    expect_ok(&p);
    set_name(&p, "123456789012345678901"); /* 21 */
    expect_err(&p, "name_too_long", "name");
    policy_release(&p);
}

static void test_name_length_counts_code_points(void **state)
{
    (void)state;
    struct policy p;
    make_valid(&p);
    char name[128] = "";
    for (int i = 0; i < 20; i++)
        strcat(name, "\xc3\xa9"); /* é: 2 bytes, 1 character */
    assert_int_equal(strlen(name), 40);
    set_name(&p, name);
    expect_ok(&p);
    strcat(name, "\xc3\xa9");
    set_name(&p, name);
    expect_err(&p, "name_too_long", "name");

    name[0] = '\0';
    for (int i = 0; i < 20; i++)
        strcat(name, "\xe2\x82\xac"); /* €: 3 bytes */
    set_name(&p, name);
    expect_ok(&p);
    name[0] = '\0';
    for (int i = 0; i < 20; i++)
        strcat(name, "\xf0\x9f\x94\x92"); /* 🔒: 4 bytes */
    set_name(&p, name);
    expect_ok(&p);
    strcat(name, "a");
    set_name(&p, name);
    expect_err(&p, "name_too_long", "name");
    policy_release(&p);
}

static void test_name_invalid_utf8(void **state)
{
    (void)state;
    struct policy p;
    make_valid(&p);
    set_name(&p, "bad\xff");
    expect_err(&p, "parameter_invalid", "name");
    set_name(&p, "cut\xc3");
    expect_err(&p, "parameter_invalid", "name");
    policy_release(&p);
}

static void test_utf8_length(void **state)
{
    (void)state;
    assert_int_equal(utf8_length(""), 0);
    assert_int_equal(utf8_length("abc"), 3);
    assert_int_equal(utf8_length("h\xc3\xa9llo"), 5);
    assert_int_equal(utf8_length("\xe2\x82\xac\xf0\x9f\x94\x92"), 2);
    assert_int_equal(utf8_length("\x80"), -1); /* lone continuation byte */
    assert_int_equal(utf8_length("\xc3"), -1); /* truncated at the end */
    assert_int_equal(utf8_length("\xe2\x82"), -1);
    assert_int_equal(utf8_length("\xc3\x41"), -1);             /* bad continuation */
    assert_int_equal(utf8_length("\xf8\x88\x80\x80\x80"), -1); /* 5-byte form */
}

static void test_ports(void **state)
{
    (void)state;
    struct policy p;
    make_valid(&p);
    p.svc[SVC_WINBOX].port = 0;
    expect_err(&p, "port_out_of_range", "winbox.port");
    p.svc[SVC_WINBOX].port = 1;
    expect_ok(&p);
    p.svc[SVC_WINBOX].port = 65535;
    expect_ok(&p);
    p.svc[SVC_WINBOX].port = 65536;
    expect_err(&p, "port_out_of_range", "winbox.port");
    p.svc[SVC_WINBOX].port = -1;
    expect_err(&p, "port_out_of_range", "winbox.port");
    p.svc[SVC_WINBOX].port = 8291;
    p.svc[SVC_API_SSL].port = 65536;
    expect_err(&p, "port_out_of_range", "api_ssl.port");
    policy_release(&p);
}

static void test_disabled_service_port_still_checked(void **state)
{
    (void)state;
    struct policy p;
    make_valid(&p);
    assert_false(p.svc[SVC_TELNET].enabled);
    p.svc[SVC_TELNET].port = 0;
    expect_err(&p, "port_out_of_range", "telnet.port");
    policy_release(&p);
}

static void test_port_conflict(void **state)
{
    (void)state;
    struct policy p;
    make_valid(&p);
    p.svc[SVC_SSH].port = 8291; /* winbox's port */
    struct tg_err err;
    assert_int_equal(policy_validate(&p, &err), -EINVAL);
    assert_string_equal(err.code, "port_conflict");
    assert_string_equal(err.param, "ssh.port"); /* the later service */
    assert_non_null(strstr(err.message, "winbox"));
    assert_non_null(strstr(err.message, "ssh"));
    assert_non_null(strstr(err.message, "8291"));
    p.svc[SVC_SSH].port = 22;

    p.svc[SVC_API_SSL].enabled = true;
    p.svc[SVC_API_SSL].port = 8728; /* api's port */
    expect_err(&p, "port_conflict", "api_ssl.port");
    policy_release(&p);
}

static void test_disabled_service_may_share_port(void **state)
{
    (void)state;
    struct policy p;
    make_valid(&p);
    p.svc[SVC_HTTP].port = 8291; /* disabled, shares winbox's port */
    p.svc[SVC_FTP].port = 8291;  /* two disabled on the same port too */
    expect_ok(&p);
    p.svc[SVC_HTTP].enabled = true;
    expect_err(&p, "port_conflict", "http.port");
    p.svc[SVC_WINBOX].enabled = false; /* now only http is enabled on 8291 */
    expect_ok(&p);
    policy_release(&p);
}

static void test_too_many_networks(void **state)
{
    (void)state;
    struct policy p;
    make_valid(&p);
    strlist_release(&p.svc[SVC_SSH].networks);
    for (int i = 0; i < POLICY_MAX_NETWORKS; i++) {
        char net[32];
        snprintf(net, sizeof net, "10.%d.%d.0/24", i / 256, i % 256);
        strlist_add(&p.svc[SVC_SSH].networks, net);
    }
    expect_ok(&p); /* 256 is fine */
    strlist_add(&p.svc[SVC_SSH].networks, "192.168.0.0/16");
    expect_err(&p, "too_many_networks", "ssh.networks");

    strlist_release(&p.svc[SVC_SSH].networks);
    for (int i = 0; i <= POLICY_MAX_NETWORKS; i++)
        strlist_add(&p.trusted_networks, "10.0.0.0/8");
    expect_err(&p, "too_many_networks", "trusted_networks");
    policy_release(&p);
}

static void test_normalize_cidr(void **state)
{
    (void)state;
    struct tg_err err;
    char out[64];
    assert_int_equal(policy_normalize_cidr("10.0.0.0/8", "p", out, sizeof out, &err), 0);
    assert_string_equal(out, "10.0.0.0/8");
    assert_int_equal(policy_normalize_cidr("10.0.0.5", "p", out, sizeof out, &err), 0);
    assert_string_equal(out, "10.0.0.5/32");
    assert_int_equal(policy_normalize_cidr("2001:DB8::", "p", out, sizeof out, &err), 0);
    assert_string_equal(out, "2001:db8::/128");
    assert_int_equal(policy_normalize_cidr("2001:0db8:0:0::/32", "p", out, sizeof out, &err), 0);
    assert_string_equal(out, "2001:db8::/32");
    /* an IPv4-mapped IPv6 prefix is refused with a message naming it (F15) */
    assert_int_equal(policy_normalize_cidr("::ffff:10.0.0.0/104", "p", out, sizeof out, &err),
                     -EINVAL);
    assert_string_equal(err.code, "invalid_cidr");
    assert_non_null(strstr(err.message, "IPv4-mapped"));
    assert_int_equal(policy_normalize_cidr("::ffff:0:0/96", "p", out, sizeof out, &err), -EINVAL);
    /* ::/0 only contains the mapped range: accepted */
    assert_int_equal(policy_normalize_cidr("::/0", "p", out, sizeof out, &err), 0);
}

static void test_normalize_cidr_host_bits(void **state)
{
    (void)state;
    struct tg_err err;
    char out[64] = "untouched";
    assert_int_equal(
        policy_normalize_cidr("10.0.0.1/8", "winbox.networks[1]", out, sizeof out, &err), -EINVAL);
    assert_string_equal(out, "untouched");
    assert_string_equal(err.code, "invalid_cidr");
    assert_string_equal(err.param, "winbox.networks[1]");
    assert_int_equal(err.status, 400);
    assert_non_null(strstr(err.message, "10.0.0.0/8")); /* the suggestion */
    assert_int_equal(policy_normalize_cidr("2001:db8::1/32", "x", out, sizeof out, &err), -EINVAL);
    assert_string_equal(err.code, "invalid_cidr");
    assert_non_null(strstr(err.message, "2001:db8::/32"));
}

static void test_normalize_cidr_invalid(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",         "garbage", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/08",
        "1.2.3.4/", "::/129",  "10.0.0.0/8 "};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct tg_err err;
        char out[64] = "untouched";
        assert_int_equal(
            policy_normalize_cidr(bad[i], "trusted_networks[0]", out, sizeof out, &err), -EINVAL);
        assert_string_equal(out, "untouched");
        assert_string_equal(err.code, "invalid_cidr");
        assert_string_equal(err.param, "trusted_networks[0]");
        assert_int_equal(err.type, TG_ERR_INVALID_REQUEST);
    }
}

static void check_slug(const char *slug, const char *want_prefix)
{
    size_t pl = strlen(want_prefix), n = strlen(slug);
    if (strncmp(slug, want_prefix, pl) != 0)
        fail_msg("slug '%s' does not start with '%s'", slug, want_prefix);
    assert_int_equal(n, pl + POLICY_SLUG_SUFFIX);
    for (size_t i = pl; i < n; i++)
        assert_true(isalnum((unsigned char)slug[i]));
}

static void check_url_safe(const char *slug)
{
    assert_true(strlen(slug) > POLICY_SLUG_SUFFIX + 1);
    assert_true(strlen(slug) < 64);
    assert_true(slug[0] != '-');
    assert_null(strstr(slug, "--"));
    for (const char *c = slug; *c; c++)
        assert_true((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' ||
                    (*c >= 'A' && *c <= 'Z' && c >= slug + strlen(slug) - POLICY_SLUG_SUFFIX));
}

static void test_slug(void **state)
{
    (void)state;
    char slug[64];
    policy_make_slug("My New Policy", slug);
    check_slug(slug, "my-new-policy-");
    check_url_safe(slug);
    policy_make_slug("Default Policy", slug);
    check_slug(slug, "default-policy-");
    policy_make_slug("  Hello,  World!! ", slug);
    check_slug(slug, "hello-world-");
    check_url_safe(slug);
    policy_make_slug("ABC_def-123", slug);
    check_slug(slug, "abc-def-123-");
    policy_make_slug("office/../../etc", slug);
    check_slug(slug, "office-etc-");
}

static void test_slug_empty_and_odd_names(void **state)
{
    (void)state;
    char slug[64];
    policy_make_slug("", slug);
    check_slug(slug, "policy-");
    policy_make_slug("!!! ???", slug);
    check_slug(slug, "policy-");
    policy_make_slug("\xf0\x9f\x94\x92\xe2\x82\xac", slug); /* only non-ASCII */
    check_slug(slug, "policy-");
    check_url_safe(slug);
    policy_make_slug("Caf\xc3\xa9 Nord", slug);
    check_url_safe(slug);
    policy_make_slug("x", slug);
    check_slug(slug, "x-");
}

static void test_slug_long_name_fits(void **state)
{
    (void)state;
    char name[300];
    memset(name, 'a', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    char slug[64];
    policy_make_slug(name, slug);
    check_url_safe(slug);
    /* alternating words: dashes must not push it past 63 characters */
    char words[300] = "";
    for (int i = 0; i < 70; i++)
        strcat(words, "a b ");
    policy_make_slug(words, slug);
    check_url_safe(slug);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_slug_unique(void **state)
{
    (void)state;
    enum { N = 5000 };
    char **all = xcalloc(N, sizeof *all);
    for (int i = 0; i < N; i++) {
        char slug[64];
        policy_make_slug("Same Name", slug);
        all[i] = xstrdup(slug);
    }
    qsort(all, N, sizeof *all, cmp_str);
    for (int i = 1; i < N; i++)
        assert_string_not_equal(all[i - 1], all[i]);
    for (int i = 0; i < N; i++)
        free(all[i]);
    free(all);
}

static void assert_list(const struct strlist *l, const char *const *want, size_t n)
{
    assert_int_equal(l->n, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(l->items[i], want[i]);
}

static void test_init_default(void **state)
{
    (void)state;
    static const char *const rfc1918[] = {"10.0.0.0/8", "192.168.0.0/16", "172.16.0.0/12"};
    static const char *const mgmt[] = {"154.66.115.255/32", "100.64.0.0/10"};
    struct policy p;
    memset(&p, 0, sizeof p);
    policy_init_default(&p, "154.66.115.255/32,100.64.0.0/10");
    assert_string_equal(p.name, "Default Policy");
    check_slug(p.slug, "default-policy-");
    assert_true(p.is_default);
    assert_true(p.custom_input_rules);
    assert_list(&p.trusted_networks, rfc1918, 3);

    static const bool enabled[SVC_COUNT] = {true, true, false, false, false, false, true, false};
    static const int ports[SVC_COUNT] = {8291, 22, 80, 443, 23, 21, 8728, 8729};
    for (int i = 0; i < SVC_COUNT; i++) {
        assert_int_equal(p.svc[i].enabled, enabled[i]);
        assert_int_equal(p.svc[i].port, ports[i]);
    }
    assert_list(&p.svc[SVC_WINBOX].networks, rfc1918, 3);
    assert_list(&p.svc[SVC_SSH].networks, rfc1918, 3);
    assert_list(&p.svc[SVC_API].networks, mgmt, 2);
    for (int i = SVC_HTTP; i <= SVC_FTP; i++)
        assert_int_equal(p.svc[i].networks.n, 0);
    assert_int_equal(p.svc[SVC_API_SSL].networks.n, 0);
    assert_int_equal(p.sites.n, 0);
    expect_ok(&p);
    policy_release(&p);
    policy_release(&p); /* twice is fine */
    policy_release(NULL);
}

static void test_init_default_no_mgmt(void **state)
{
    (void)state;
    struct policy p;
    memset(&p, 0, sizeof p);
    policy_init_default(&p, NULL);
    assert_true(p.svc[SVC_API].enabled);
    assert_int_equal(p.svc[SVC_API].networks.n, 0);
    expect_ok(&p);
    policy_release(&p);
    memset(&p, 0, sizeof p);
    policy_init_default(&p, "");
    assert_int_equal(p.svc[SVC_API].networks.n, 0);
    policy_release(&p);
}

/* The stored networks are canonical CIDRs, whatever the environment variable's spelling. */
static void test_init_default_mgmt_canonical(void **state)
{
    (void)state;
    static const char *const want[] = {"10.0.0.5/32", "2001:db8::/32", "100.64.0.0/10"};
    struct policy p;
    memset(&p, 0, sizeof p);
    policy_init_default(&p, "10.0.0.5, 2001:DB8::/32 ,,not-a-cidr,100.64.0.0/10,\t10.0.0.5/32");
    assert_list(&p.svc[SVC_API].networks, want, 3);
    policy_release(&p);
}

static void test_svc_tables(void **state)
{
    (void)state;
    static const char *const keys[] = {"winbox", "ssh", "http", "https",
                                       "telnet", "ftp", "api",  "api_ssl"};
    static const char *const ros[] = {"winbox", "ssh", "www", "www-ssl",
                                      "telnet", "ftp", "api", "api-ssl"};
    for (int i = 0; i < SVC_COUNT; i++) {
        assert_string_equal(policy_svc_key[i], keys[i]);
        assert_string_equal(policy_svc_ros_name[i], ros[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_seed_policy),
        cmocka_unit_test(test_name_missing),
        cmocka_unit_test(test_name_empty),
        cmocka_unit_test(test_name_length_ascii),
        cmocka_unit_test(test_name_length_counts_code_points),
        cmocka_unit_test(test_name_invalid_utf8),
        cmocka_unit_test(test_utf8_length),
        cmocka_unit_test(test_ports),
        cmocka_unit_test(test_disabled_service_port_still_checked),
        cmocka_unit_test(test_port_conflict),
        cmocka_unit_test(test_disabled_service_may_share_port),
        cmocka_unit_test(test_too_many_networks),
        cmocka_unit_test(test_normalize_cidr),
        cmocka_unit_test(test_normalize_cidr_host_bits),
        cmocka_unit_test(test_normalize_cidr_invalid),
        cmocka_unit_test(test_slug),
        cmocka_unit_test(test_slug_empty_and_odd_names),
        cmocka_unit_test(test_slug_long_name_fits),
        cmocka_unit_test(test_slug_unique),
        cmocka_unit_test(test_init_default),
        cmocka_unit_test(test_init_default_no_mgmt),
        cmocka_unit_test(test_init_default_mgmt_canonical),
        cmocka_unit_test(test_svc_tables),
    };
    return cmocka_run_group_tests_name("domain_policy", tests, setup, NULL);
}
