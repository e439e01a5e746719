/*
 * test_render_script.c - quoting and the script form of every verb
 * (docs/internals/script-subset.md).
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

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *quote(const char *s)
{
    struct buf b;
    buf_init(&b, 4096);
    assert_int_equal(job_script_quote(&b, s), 0);
    return buf_steal(&b);
}

static void expect_quote(const char *in, const char *want)
{
    char *got = quote(in);
    assert_string_equal(got, want);
    free(got);
}

static void test_quote_escapes(void **state)
{
    (void)state;
    expect_quote("", "\"\"");
    expect_quote("plain", "\"plain\"");
    expect_quote("a\"b", "\"a\\\"b\"");
    expect_quote("a\\b", "\"a\\\\b\"");
    expect_quote("$x", "\"\\$x\"");
    /* no \? (removed in RouterOS 7.1rc2; the strict sim refuses it): ? is plain in quotes */
    expect_quote("why?", "\"why?\"");
    expect_quote("l1\nl2", "\"l1\\nl2\"");
    expect_quote("a\tb", "\"a\\tb\"");
    expect_quote("a\rb", "\"a\\rb\"");
    expect_quote("\"\\$?\n\t", "\"\\\"\\\\\\$?\\n\\t\"");
    /* Other characters pass through, brackets and semicolons included (they are inside quotes). */
    expect_quote("[find]; :log x", "\"[find]; :log x\"");
}

static void test_quote_cap(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 8);
    assert_int_equal(job_script_quote(&b, "0123456789abcdef"), -E2BIG);
    buf_release(&b);
}

static char *render(const struct job_plan *p)
{
    struct buf b;
    buf_init(&b, 1 << 16);
    assert_int_equal(job_render_script(p, &b), 0);
    return buf_steal(&b);
}

static void expect_render(const struct job_plan *p, const char *want)
{
    char *got = render(p);
    if (strcmp(got, want) != 0)
        fail_msg("got:\n%s\nwant:\n%s", got, want);
    free(got);
}

static void test_bare_and_quoted_values(void **state)
{
    (void)state;
    struct job_plan p = {0};
    struct job_cmd *c = job_plan_add(&p, JOB_ADD, "/user", NULL, NULL);
    job_cmd_arg(c, "a", "8291");
    job_cmd_arg(c, "b", "no");
    job_cmd_arg(c, "c", "x-y_z.1");
    job_cmd_arg(c, "d", "10.0.0.0/8");
    job_cmd_arg(c, "e", "");
    job_cmd_arg(c, "f", "two words");
    job_cmd_arg(c, "g", "$var");
    expect_render(&p, "/user add a=8291 b=no c=x-y_z.1 d=\"10.0.0.0/8\" e=\"\" f=\"two words\" "
                      "g=\"\\$var\"\n");
    job_plan_release(&p);
}

static void test_verbs(void **state)
{
    (void)state;
    struct job_plan p = {0};
    struct job_cmd *c = job_plan_add(&p, JOB_SET, "/user", "name", "bob \"b\"");
    job_cmd_arg(c, "group", "read");
    c = job_plan_add(&p, JOB_SET, "/ip service", "name", "winbox");
    c->by_name = true;
    job_cmd_arg(c, "port", "8291");
    job_plan_add(&p, JOB_REMOVE, "/ip firewall nat", NULL, NULL);
    job_plan_add(&p, JOB_REMOVE, "/ip firewall nat", "comment", "tikgate:fwd:1");
    c = job_plan_add(&p, JOB_ENSURE, "/user", "comment", "t:1");
    job_cmd_arg(c, "name", "u1");
    job_plan_add(&p, JOB_REBOOT, "/system", NULL, NULL);
    c = job_plan_add(&p, JOB_SCRIPT, "/system script", NULL, NULL);
    job_cmd_arg(c, "source", ":log info \"hi\"\n/system identity print");
    expect_render(&p, "/user set [find name=\"bob \\\"b\\\"\"] group=read\n"
                      "/ip service set winbox port=8291\n"
                      "/ip firewall nat remove [find]\n"
                      "/ip firewall nat remove [find comment=\"tikgate:fwd:1\"]\n"
                      "/user remove [find comment=\"t:1\"]\n"
                      "/user add name=u1\n"
                      "/system reboot\n"
                      ":log info \"hi\"\n/system identity print\n");
    job_plan_release(&p);
}

static void test_add_once(void **state)
{
    (void)state;
    struct job_plan p = {0};
    struct job_cmd *c = job_plan_add(&p, JOB_ADD_ONCE, "/user group", "name", "tikgate-ro");
    job_cmd_arg(c, "name", "tikgate-ro");
    job_cmd_arg(c, "policy", "local,read");
    expect_render(&p, ":do { /user group add name=tikgate-ro policy=\"local,read\" } "
                      "on-error={ :log debug \"tikgate: already there\" }\n");
    job_plan_release(&p);
}

/* place-before anywhere in the args: the fallback add drops it and keeps the rest in order. */
static void test_place_before_fallback(void **state)
{
    (void)state;
    struct job_plan p = {0};
    struct job_cmd *c = job_plan_add(&p, JOB_ADD, "/ip firewall filter", NULL, NULL);
    job_cmd_arg(c, "chain", "input");
    job_cmd_arg(c, "place-before", "0");
    job_cmd_arg(c, "action", "drop");
    expect_render(&p, ":do { /ip firewall filter add chain=input place-before=0 action=drop } "
                      "on-error={ /ip firewall filter add chain=input action=drop }\n");
    job_plan_release(&p);
}

static void test_empty_plan_and_cap(void **state)
{
    (void)state;
    struct job_plan p = {0};
    expect_render(&p, "");
    struct job_cmd *c = job_plan_add(&p, JOB_ADD, "/user", NULL, NULL);
    job_cmd_arg(c, "name", "a-rather-long-user-name-that-does-not-fit");
    struct buf b;
    buf_init(&b, 16);
    assert_int_equal(job_render_script(&p, &b), -E2BIG);
    buf_release(&b);
    job_plan_release(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quote_escapes),
        cmocka_unit_test(test_quote_cap),
        cmocka_unit_test(test_bare_and_quoted_values),
        cmocka_unit_test(test_verbs),
        cmocka_unit_test(test_add_once),
        cmocka_unit_test(test_place_before_fallback),
        cmocka_unit_test(test_empty_plan_and_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
