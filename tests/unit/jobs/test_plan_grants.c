/*
 * test_plan_grants.c - the router-side plans of transient grants (plan.c): a temporary user
 * in group full or tikgate-ro for access, a dst-nat rule (plus a masquerade on request) for
 * a forward, and their teardowns; the kind and description of their jobs.
 */
/* cmocka.h needs these headers first */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include "plan.h"
#include "site.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GID "0190a1b2-0000-7000-8000-000000000001"
#define MGMT "100.64.0.0/10"

static void make_grant(struct grant *g, enum grant_kind kind)
{
    memset(g, 0, sizeof *g);
    snprintf(g->id, sizeof g->id, "%s", GID);
    g->kind = kind;
    g->port = 40123;
    snprintf(g->username, sizeof g->username, "tgUser01");
    snprintf(g->password, sizeof g->password, "Secr3tPassw0rd");
    snprintf(g->access_type, sizeof g->access_type, "winbox");
    snprintf(g->dst_address, sizeof g->dst_address, "192.168.88.10");
    g->dst_port = 80;
}

static void expect_render(const struct job_plan *p, const char *want)
{
    struct buf b;
    buf_init(&b, 1 << 16);
    assert_int_equal(job_render_script(p, &b), 0);
    char *got = buf_steal(&b);
    if (strcmp(got, want) != 0)
        fail_msg("got:\n%s\nwant:\n%s", got, want);
    free(got);
}

static void test_access_full(void **state)
{
    (void)state;
    struct grant g;
    make_grant(&g, GRANT_ACCESS);
    g.full_access = true;
    struct job_plan p = {0};
    job_plan_grant_setup(&p, &g, MGMT);
    assert_int_equal(p.ncmds, 1);
    assert_int_equal(p.cmds[0].verb, JOB_ENSURE);
    expect_render(&p, "/user remove [find comment=\"tikgate:access:" GID "\"]\n"
                      "/user add name=tgUser01 group=full password=Secr3tPassw0rd "
                      "address=\"" MGMT "\" comment=\"tikgate:access:" GID "\"\n");
    job_plan_release(&p);
}

static void test_access_read_only(void **state)
{
    (void)state;
    struct grant g;
    make_grant(&g, GRANT_ACCESS);
    g.full_access = false;
    struct job_plan p = {0};
    job_plan_grant_setup(&p, &g, MGMT);
    /* the group is added once, then its policy is set to exactly ours (a group of that name that
     * was already there, with any policy, is not trusted) */
    assert_int_equal(p.ncmds, 3);
    assert_int_equal(p.cmds[0].verb, JOB_ADD_ONCE);
    assert_int_equal(p.cmds[1].verb, JOB_SET);
    expect_render(&p,
                  ":do { /user group add name=tikgate-ro "
                  "policy=\"local,telnet,ssh,winbox,web,api,read,test\" "
                  "comment=\"tikgate:group:read-only\" } on-error={ :log debug \"tikgate: already "
                  "there\" }\n"
                  "/user group set [find name=\"tikgate-ro\"] "
                  "policy=\"local,telnet,ssh,winbox,web,api,read,test\" "
                  "comment=\"tikgate:group:read-only\"\n"
                  "/user remove [find comment=\"tikgate:access:" GID "\"]\n"
                  "/user add name=tgUser01 group=tikgate-ro password=Secr3tPassw0rd "
                  "address=\"" MGMT "\" comment=\"tikgate:access:" GID "\"\n");
    /* The read-only group never carries write, policy, sensitive or reboot rights. */
    const char *pol = NULL;
    for (size_t i = 0; i < p.cmds[0].nargs; i++)
        if (!strcmp(p.cmds[0].args[i].key, "policy"))
            pol = p.cmds[0].args[i].value;
    assert_non_null(pol);
    assert_null(strstr(pol, "write"));
    assert_null(strstr(pol, "policy"));
    assert_null(strstr(pol, "sensitive"));
    assert_null(strstr(pol, "reboot"));
    job_plan_release(&p);
}

static void test_forward_plain(void **state)
{
    (void)state;
    struct grant g;
    make_grant(&g, GRANT_FORWARD);
    struct job_plan p = {0};
    job_plan_grant_setup(&p, &g, MGMT);
    expect_render(&p, "/ip firewall nat remove [find comment=\"tikgate:fwd:" GID "\"]\n"
                      "/ip firewall nat add chain=dstnat action=dst-nat protocol=tcp "
                      "dst-port=40123 in-interface=tikgate-mgmt to-addresses=192.168.88.10 "
                      "to-ports=80 comment=\"tikgate:fwd:" GID "\"\n");
    job_plan_release(&p);
}

/* On a managed site the edge's connections arrive on tikgate-wg: the dst-nat matches it
 * there, and the stored plan (tikgate-mgmt) is left for external sites. */
static void test_forward_for_site(void **state)
{
    (void)state;
    struct grant g;
    make_grant(&g, GRANT_FORWARD);
    for (int managed = 0; managed < 2; managed++) {
        struct job_plan p = {0};
        job_plan_grant_setup(&p, &g, MGMT);
        struct site s = {.software_version = "7.15.3"};
        s.tunnel.mode = managed ? TUNNEL_MODE_MANAGED : TUNNEL_MODE_EXTERNAL;
        job_plan_for_site(&p, &s, "100.64.0.0/10");
        const char *want = managed ? "tikgate-wg" : "tikgate-mgmt";
        bool seen = false;
        for (size_t k = 0; k < p.cmds[1].nargs; k++)
            if (strcmp(p.cmds[1].args[k].key, "in-interface") == 0) {
                assert_string_equal(p.cmds[1].args[k].value, want);
                seen = true;
            }
        assert_true(seen);
        job_plan_release(&p);
    }
}

/* fidelity #16: on a managed site the masquerade matches only the edge's tunnel address (the
 * pool's first), so the LAN's own connections to the destination are not masqueraded. */
static void test_masquerade_for_site(void **state)
{
    (void)state;
    struct grant g;
    make_grant(&g, GRANT_FORWARD);
    g.masquerade = true;
    for (int managed = 0; managed < 2; managed++) {
        struct job_plan p = {0};
        job_plan_grant_setup(&p, &g, MGMT);
        struct site s = {.software_version = "7.15.3"};
        s.tunnel.mode = managed ? TUNNEL_MODE_MANAGED : TUNNEL_MODE_EXTERNAL;
        job_plan_for_site(&p, &s, "100.64.0.0/10");
        const struct job_cmd *m = &p.cmds[2];
        assert_string_equal(m->args[1].value, "masquerade");
        const char *src = NULL;
        for (size_t k = 0; k < m->nargs; k++)
            if (strcmp(m->args[k].key, "src-address") == 0)
                src = m->args[k].value;
        if (managed)
            assert_string_equal(src, "100.64.0.1");
        else
            assert_null(src);
        job_plan_release(&p);
    }
}

static void test_forward_masquerade(void **state)
{
    (void)state;
    struct grant g;
    make_grant(&g, GRANT_FORWARD);
    g.masquerade = true;
    struct job_plan p = {0};
    job_plan_grant_setup(&p, &g, MGMT);
    expect_render(&p, "/ip firewall nat remove [find comment=\"tikgate:fwd:" GID "\"]\n"
                      "/ip firewall nat add chain=dstnat action=dst-nat protocol=tcp "
                      "dst-port=40123 in-interface=tikgate-mgmt to-addresses=192.168.88.10 "
                      "to-ports=80 comment=\"tikgate:fwd:" GID "\"\n"
                      "/ip firewall nat add chain=srcnat action=masquerade protocol=tcp "
                      "dst-address=192.168.88.10 dst-port=80 comment=\"tikgate:fwd:" GID "\"\n");
    job_plan_release(&p);
}

static void test_teardown(void **state)
{
    (void)state;
    struct grant g;
    make_grant(&g, GRANT_ACCESS);
    struct job_plan p = {0};
    job_plan_grant_teardown(&p, &g);
    expect_render(&p, "/user remove [find comment=\"tikgate:access:" GID "\"]\n");
    job_plan_release(&p);

    make_grant(&g, GRANT_FORWARD);
    g.masquerade = true;
    job_plan_grant_teardown(&p, &g);
    /* One remove takes both NAT rules: they share the tag. */
    expect_render(&p, "/ip firewall nat remove [find comment=\"tikgate:fwd:" GID "\"]\n");
    job_plan_release(&p);
}

static void test_job_kind_and_description(void **state)
{
    (void)state;
    struct grant g;
    char d[128];
    make_grant(&g, GRANT_ACCESS);
    assert_int_equal(job_grant_kind(&g), JOB_KIND_TRANSIENT_ACCESS);
    job_grant_description(&g, JOB_GRANT_SETUP, d, sizeof d);
    assert_string_equal(d, "Transient winbox access for tgUser01");
    job_grant_description(&g, JOB_GRANT_REVOKE, d, sizeof d);
    assert_string_equal(d, "Revoke transient access tgUser01");
    job_grant_description(&g, JOB_GRANT_EXPIRE, d, sizeof d);
    assert_string_equal(d, "Expire transient access tgUser01");
    make_grant(&g, GRANT_FORWARD);
    assert_int_equal(job_grant_kind(&g), JOB_KIND_TRANSIENT_FORWARD);
    job_grant_description(&g, JOB_GRANT_SETUP, d, sizeof d);
    assert_string_equal(d, "Transient forward to 192.168.88.10:80");
    job_grant_description(&g, JOB_GRANT_REVOKE, d, sizeof d);
    assert_string_equal(d, "Revoke transient forward 192.168.88.10");
    job_grant_description(&g, JOB_GRANT_EXPIRE, d, sizeof d);
    assert_string_equal(d, "Expire transient forward 192.168.88.10");
    char small[10];
    job_grant_description(&g, JOB_GRANT_SETUP, small, sizeof small);
    assert_string_equal(small, "Transient"); /* truncated, terminated */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_access_full),
        cmocka_unit_test(test_access_read_only),
        cmocka_unit_test(test_forward_plain),
        cmocka_unit_test(test_forward_for_site),
        cmocka_unit_test(test_masquerade_for_site),
        cmocka_unit_test(test_forward_masquerade),
        cmocka_unit_test(test_teardown),
        cmocka_unit_test(test_job_kind_and_description),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
