/*
 * test_plan.c - the plan builders (policy, management filter, API user, site actions),
 * checked through the exact script they render (docs/internals/script-subset.md).
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
#include "plan.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SITE "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
#define TAG "\"tikgate:mgmt-filter:" SITE "\""
#define MGMT "100.64.0.0/10,10.0.0.0/8"

static const struct job_site_ctx ctx = {.site_id = SITE, .mgmt_networks = MGMT};

/*
 * A small policy: winbox and ssh (port 2222) enabled, api disabled in the policy (the
 * renderer must keep it on), api-ssl enabled, the rest disabled; networks overlap the
 * trusted and the management networks so that duplicates show.
 */
static void make_policy(struct policy *p, bool custom_input_rules)
{
    memset(p, 0, sizeof *p);
    p->name = xstrdup("Small");
    p->custom_input_rules = custom_input_rules;
    for (int i = 0; i < SVC_COUNT; i++)
        p->svc[i].port = policy_svc_default_port[i];
    p->svc[SVC_SSH].port = 2222;
    p->svc[SVC_WINBOX].enabled = true;
    p->svc[SVC_SSH].enabled = true;
    p->svc[SVC_API_SSL].enabled = true;
    strlist_add(&p->svc[SVC_WINBOX].networks, "10.0.0.0/8");
    strlist_add(&p->svc[SVC_SSH].networks, "10.0.0.0/8");
    strlist_add(&p->svc[SVC_SSH].networks, "192.168.1.0/24");
    strlist_add(&p->svc[SVC_API].networks, "203.0.113.7/32");
    strlist_add(&p->trusted_networks, "192.168.1.0/24");
}

/* Renders p; returns an owned string. */
static char *render(const struct job_plan *p)
{
    struct buf b;
    buf_init(&b, (size_t)1 << 20);
    assert_int_equal(job_render_script(p, &b), 0);
    return buf_steal(&b);
}

static void expect_script(const struct job_plan *p, const char *want)
{
    char *got = render(p);
    if (strcmp(got, want) != 0)
        fail_msg("script differs:\n--- got\n%s--- want\n%s", got, want);
    free(got);
}

#define SERVICES                                                                                   \
    "/ip service set winbox port=8291 address=\"10.0.0.0/8,192.168.1.0/24,100.64.0.0/10\" "        \
    "disabled=no\n"                                                                                \
    "/ip service set ssh port=2222 address=\"10.0.0.0/8,192.168.1.0/24,100.64.0.0/10\" "           \
    "disabled=no\n"                                                                                \
    "/ip service set www port=80 address=\"192.168.1.0/24,100.64.0.0/10,10.0.0.0/8\" "             \
    "disabled=yes\n"                                                                               \
    "/ip service set www-ssl port=443 address=\"192.168.1.0/24,100.64.0.0/10,10.0.0.0/8\" "        \
    "disabled=yes\n"                                                                               \
    "/ip service set telnet port=23 address=\"192.168.1.0/24,100.64.0.0/10,10.0.0.0/8\" "          \
    "disabled=yes\n"                                                                               \
    "/ip service set ftp port=21 address=\"192.168.1.0/24,100.64.0.0/10,10.0.0.0/8\" "             \
    "disabled=yes\n"                                                                               \
    "/ip service set api-ssl port=8729 address=\"192.168.1.0/24,100.64.0.0/10,10.0.0.0/8\" "       \
    "disabled=no\n"                                                                                \
    "/ip service set api port=8728 "                                                               \
    "address=\"203.0.113.7/32,192.168.1.0/24,100.64.0.0/10,10.0.0.0/8\" disabled=no\n"

#define REMOVE_FILTER                                                                              \
    "/ip firewall filter remove [find comment=" TAG "]\n"                                          \
    "/ipv6 firewall filter remove [find comment=" TAG "]\n"
#define ACCEPT(src)                                                                                \
    "/ip firewall filter add chain=input action=accept protocol=tcp "                              \
    "dst-port=\"8291,2222,8728,8729\" src-address=\"" src "\" comment=" TAG

/* custom_input_rules=false: every add on top (before the first static rule, whose id is found
 * when the line runs: no item numbers, never before the dynamic fasttrack dummy rule), in
 * reverse, so the final order is the same. */
#define ON_TOP(rule)                                                                               \
    ":do { " rule                                                                                  \
    " place-before=[:pick [/ip firewall filter find dynamic=no] 0] } on-error={ " rule " }\n"

/* custom_input_rules=true: the trusted networks' accepts after the router's own rules, the
 * management networks' on top (fidelity #16); no drop rule for the disabled services. */
static void test_policy_custom_rules(void **state)
{
    (void)state;
    struct policy pol;
    make_policy(&pol, true);
    struct job_plan p = {0};
    job_plan_policy(&p, &pol, &ctx);
    expect_script(&p, SERVICES REMOVE_FILTER ACCEPT("192.168.1.0/24") "\n" ON_TOP(
                          ACCEPT("10.0.0.0/8")) ON_TOP(ACCEPT("100.64.0.0/10")));
    job_plan_release(&p);
    policy_release(&pol);
}

static void test_policy_filter_on_top(void **state)
{
    (void)state;
    struct policy pol;
    make_policy(&pol, false);
    struct job_plan p = {0};
    job_plan_policy(&p, &pol, &ctx);
    expect_script(&p, SERVICES REMOVE_FILTER ON_TOP(ACCEPT("192.168.1.0/24"))
                          ON_TOP(ACCEPT("10.0.0.0/8")) ON_TOP(ACCEPT("100.64.0.0/10")));
    /* Structure: 8 services, the two removes, then 3 adds each ending in place-before=top. */
    assert_int_equal(p.ncmds, 8 + 2 + 3);
    for (size_t i = 10; i < p.ncmds; i++) {
        const struct job_cmd *c = &p.cmds[i];
        assert_int_equal(c->verb, JOB_ADD);
        assert_string_equal(c->args[c->nargs - 1].key, "place-before");
        assert_string_equal(c->args[c->nargs - 1].value, JOB_PLACE_TOP);
    }
    job_plan_release(&p);
    policy_release(&pol);
}

static void test_policy_service_names_and_order(void **state)
{
    (void)state;
    struct policy pol;
    make_policy(&pol, true);
    struct job_plan p = {0};
    job_plan_policy(&p, &pol, &ctx);
    static const char *const want[] = {"winbox", "ssh", "www",     "www-ssl",
                                       "telnet", "ftp", "api-ssl", "api"};
    for (int i = 0; i < 8; i++) {
        assert_int_equal(p.cmds[i].verb, JOB_SET);
        assert_true(p.cmds[i].by_name);
        assert_string_equal(p.cmds[i].menu, "/ip service");
        assert_string_equal(p.cmds[i].find_value, want[i]);
    }
    job_plan_release(&p);
    policy_release(&pol);
}

/* Counts the args named key across the plan's /ip service commands. */
static int service_args_named(const struct job_plan *p, const char *key)
{
    int n = 0;
    for (size_t i = 0; i < p->ncmds; i++)
        for (size_t k = 0; k < p->cmds[i].nargs; k++)
            n += strcmp(p->cmds[i].menu, "/ip service") == 0 &&
                 strcmp(p->cmds[i].args[k].key, key) == 0;
    return n;
}

/* fidelity #14: 7.24 renamed /ip service address to available-from; older versions keep it. */
static void test_policy_for_version(void **state)
{
    (void)state;
    static const struct {
        const char *version;
        bool renamed;
    } cases[] = {{"7.8", false},
                 {"7.23.1 (stable)", false},
                 {NULL, false},
                 {"garbage", false},
                 {"7.24", true},
                 {"7.24beta2", true},
                 {"7.25.1 (stable)", true},
                 {"8.0", true}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        struct policy pol;
        make_policy(&pol, true);
        struct job_plan p = {0};
        job_plan_policy(&p, &pol, &ctx);
        job_plan_for_version(&p, cases[c].version);
        assert_int_equal(service_args_named(&p, "available-from"), cases[c].renamed ? 8 : 0);
        assert_int_equal(service_args_named(&p, "address"), cases[c].renamed ? 0 : 8);
        job_plan_release(&p);
        policy_release(&pol);
    }
}

/* Every service disabled in the policy: still no service but api stays on, no lock-out. */
static void test_policy_all_disabled_keeps_api(void **state)
{
    (void)state;
    struct policy pol;
    make_policy(&pol, true);
    for (int i = 0; i < SVC_COUNT; i++)
        pol.svc[i].enabled = false;
    struct job_plan p = {0};
    job_plan_policy(&p, &pol, &ctx);
    char *s = render(&p);
    assert_non_null(strstr(s, "/ip service set api port=8728 address=\"203.0.113.7/32,"
                              "192.168.1.0/24,100.64.0.0/10,10.0.0.0/8\" disabled=no\n"));
    assert_non_null(strstr(s, "/ip service set winbox port=8291 address=\"10.0.0.0/8,"
                              "192.168.1.0/24,100.64.0.0/10\" disabled=yes\n"));
    /* The management sources still reach the api port; nothing is dropped. */
    assert_non_null(strstr(s, "action=accept protocol=tcp dst-port=8728 "
                              "src-address=\"100.64.0.0/10\""));
    assert_null(strstr(s, "action=drop"));
    free(s);
    job_plan_release(&p);
    policy_release(&pol);
}

/* A disabled service's port is not dropped (#16: SSTP, a hotspot or ACME may use it), and one
 * an enabled service shares is accepted once. */
static void test_filter_shared_port_not_dropped(void **state)
{
    (void)state;
    struct policy pol;
    make_policy(&pol, true);
    pol.svc[SVC_TELNET].port = 2222; /* telnet disabled, ssh enabled on 2222 */
    struct job_plan p = {0};
    job_plan_mgmt_filter(&p, &pol, &ctx);
    char *s = render(&p);
    assert_null(strstr(s, "action=drop"));
    assert_non_null(strstr(s, "dst-port=\"8291,2222,8728,8729\""));
    free(s);
    job_plan_release(&p);
    policy_release(&pol);
}

/* Every service enabled, no trusted network: the management networks' accept, on top. */
static void test_filter_without_drop(void **state)
{
    (void)state;
    struct policy pol;
    make_policy(&pol, true);
    for (int i = 0; i < SVC_COUNT; i++)
        pol.svc[i].enabled = true;
    strlist_release(&pol.trusted_networks);
    struct job_plan p = {0};
    struct job_site_ctx one = {.site_id = SITE, .mgmt_networks = "100.64.0.0/10"};
    job_plan_mgmt_filter(&p, &pol, &one);
    expect_script(&p,
                  REMOVE_FILTER ON_TOP("/ip firewall filter add chain=input action=accept "
                                       "protocol=tcp dst-port=\"8291,2222,80,443,23,21,"
                                       "8728,8729\" src-address=\"100.64.0.0/10\" comment=" TAG));
    job_plan_release(&p);
    policy_release(&pol);
}

static void test_api_user(void **state)
{
    (void)state;
    struct job_plan p = {0};
    job_plan_api_user(&p, "tikgate-api", "pa\"ss$w?rd", &ctx);
    assert_int_equal(p.ncmds, 1);
    assert_int_equal(p.cmds[0].verb, JOB_ENSURE);
    expect_script(&p, "/user remove [find name=\"tikgate-api\"]\n"
                      "/user add name=tikgate-api group=full password=\"pa\\\"ss\\$w?rd\" "
                      "address=\"" MGMT "\" comment=\"tikgate:api-user:" SITE "\"\n");
    job_plan_release(&p);
}

static void test_actions_all_known(void **state)
{
    (void)state;
    struct policy pol;
    make_policy(&pol, true);
    size_t n = 0;
    for (const char *const *a = job_actions; *a; a++, n++) {
        struct job_plan p = {0};
        bool ack = true;
        assert_int_equal(job_plan_action(&p, *a, &pol, "tikgate-api", "secret", &ctx, &ack), 0);
        assert_true(p.ncmds > 0);
        /* every action is confirmed by the router, a reboot after it (h_device.c) */
        if (!ack)
            fail_msg("%s: needs_ack %d", *a, ack);
        char *s = render(&p);
        assert_true(s[0] != '\0');
        free(s);
        job_plan_release(&p);
    }
    assert_int_equal(n, 6);
    policy_release(&pol);
}

static void test_action_scripts(void **state)
{
    (void)state;
    struct policy pol;
    make_policy(&pol, true);
    bool ack;
    struct job_plan p = {0};
    assert_int_equal(job_plan_action(&p, "site.reboot", &pol, "u", "p", &ctx, &ack), 0);
    expect_script(&p, "/system reboot\n");
    assert_true(ack);
    assert_true(job_plan_reboots(&p));
    job_plan_release(&p);

    /* the documented procedure: check first, install only a new version (DOC-Upgrade) */
    assert_int_equal(job_plan_action(&p, "site.upgrade", &pol, "u", "p", &ctx, &ack), 0);
    expect_script(&p, "/system package update check-for-updates once\n"
                      ":delay 3s\n"
                      ":local tgStatus [/system package update get status]\n"
                      ":if ($tgStatus = \"New version is available\") do={\n"
                      "/system package update install\n"
                      "} else={\n"
                      ":if ($tgStatus != \"System is already up to date\") do={ :error "
                      "(\"tikgate: check-for-updates: \" . $tgStatus) }\n"
                      "}\n");
    assert_true(ack);
    assert_true(job_plan_reboots(&p));
    job_plan_release(&p);

    /* clear_firewall: every static filter rule goes (dynamic ones cannot), then the
     * management filter comes straight back. */
    assert_int_equal(job_plan_action(&p, "site.clear_firewall", &pol, "u", "p", &ctx, &ack), 0);
    assert_true(ack);
    assert_false(job_plan_reboots(&p));
    expect_script(&p, "/ip firewall filter remove [find dynamic=no]\n" REMOVE_FILTER ACCEPT(
                          "192.168.1.0/24") "\n" ON_TOP(ACCEPT("10.0.0.0/8"))
                          ON_TOP(ACCEPT("100.64.0.0/10")));
    job_plan_release(&p);

    assert_int_equal(
        job_plan_action(&p, "site.recreate_management_filter", &pol, "u", "p", &ctx, &ack), 0);
    assert_true(ack);
    assert_int_equal(p.ncmds, 2 + 3);
    job_plan_release(&p);

    assert_int_equal(job_plan_action(&p, "site.resend_api_user", &pol, "u", "p", &ctx, &ack), 0);
    assert_int_equal(p.ncmds, 1);
    assert_int_equal(p.cmds[0].verb, JOB_ENSURE);
    job_plan_release(&p);

    /* recreate_tunnel: the API user, then the whole policy. */
    assert_int_equal(job_plan_action(&p, "site.recreate_tunnel", &pol, "u", "p", &ctx, &ack), 0);
    assert_true(ack);
    assert_int_equal(p.ncmds, 1 + 8 + 2 + 3);
    assert_string_equal(p.cmds[0].menu, "/user");
    assert_string_equal(p.cmds[1].menu, "/ip service");
    job_plan_release(&p);
    policy_release(&pol);
}

static void test_action_unknown(void **state)
{
    (void)state;
    struct policy pol;
    make_policy(&pol, true);
    struct job_plan p = {0};
    bool ack = false;
    assert_int_equal(job_plan_action(&p, "site.explode", &pol, "u", "p", &ctx, &ack), -EINVAL);
    assert_int_equal(p.ncmds, 0);
    assert_int_equal(job_plan_action(&p, "", &pol, "u", "p", &ctx, &ack), -EINVAL);
    assert_int_equal(job_plan_action(&p, "SITE.REBOOT", &pol, "u", "p", &ctx, &ack), -EINVAL);
    assert_int_equal(p.ncmds, 0);
    policy_release(&pol);
}

static void test_plan_add_and_args(void **state)
{
    (void)state;
    struct job_plan p = {0};
    struct job_cmd *c = job_plan_add(&p, JOB_SET, "/user", "name", "bob");
    job_cmd_arg(c, "group", "read");
    job_plan_add(&p, JOB_REMOVE, "/ip firewall nat", NULL, NULL);
    assert_int_equal(p.ncmds, 2);
    assert_string_equal(p.cmds[0].find_key, "name");
    assert_string_equal(p.cmds[0].find_value, "bob");
    assert_int_equal(p.cmds[0].nargs, 1);
    assert_null(p.cmds[1].find_key);
    assert_null(p.cmds[1].find_value);
    job_plan_release(&p);
    assert_null(p.cmds);
    assert_int_equal(p.ncmds, 0);
    job_plan_release(&p); /* twice is harmless */
    job_plan_release(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy_custom_rules),
        cmocka_unit_test(test_policy_filter_on_top),
        cmocka_unit_test(test_policy_service_names_and_order),
        cmocka_unit_test(test_policy_for_version),
        cmocka_unit_test(test_policy_all_disabled_keeps_api),
        cmocka_unit_test(test_filter_shared_port_not_dropped),
        cmocka_unit_test(test_filter_without_drop),
        cmocka_unit_test(test_api_user),
        cmocka_unit_test(test_actions_all_known),
        cmocka_unit_test(test_action_scripts),
        cmocka_unit_test(test_action_unknown),
        cmocka_unit_test(test_plan_add_and_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
