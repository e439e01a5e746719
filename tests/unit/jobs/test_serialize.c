/*
 * test_serialize.c - the storage form of a plan: serialize -> parse is the identity, and
 * malformed input is refused.
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

static void expect_str_eq(const char *a, const char *b)
{
    if (!a || !b) {
        assert_true(a == b);
        return;
    }
    assert_string_equal(a, b);
}

static void expect_plans_equal(const struct job_plan *a, const struct job_plan *b)
{
    assert_int_equal(a->ncmds, b->ncmds);
    for (size_t i = 0; i < a->ncmds; i++) {
        const struct job_cmd *x = &a->cmds[i], *y = &b->cmds[i];
        assert_int_equal(x->verb, y->verb);
        expect_str_eq(x->menu, y->menu);
        expect_str_eq(x->find_key, y->find_key);
        expect_str_eq(x->find_value, y->find_value);
        assert_int_equal(x->by_name, y->by_name);
        assert_int_equal(x->nargs, y->nargs);
        for (size_t j = 0; j < x->nargs; j++) {
            assert_string_equal(x->args[j].key, y->args[j].key);
            assert_string_equal(x->args[j].value, y->args[j].value);
        }
    }
}

static char *serialize(const struct job_plan *p)
{
    struct buf b;
    buf_init(&b, (size_t)1 << 20);
    assert_int_equal(job_plan_serialize(p, &b), 0);
    return buf_steal(&b);
}

static void round_trip(const struct job_plan *p)
{
    char *s = serialize(p);
    struct job_plan q = {0};
    int r = job_plan_parse(s, &q);
    if (r != 0)
        fail_msg("parse failed (%d) on:\n%s", r, s);
    expect_plans_equal(p, &q);
    /* And the second generation serializes to the same text. */
    char *s2 = serialize(&q);
    assert_string_equal(s, s2);
    free(s2);
    job_plan_release(&q);
    free(s);
}

static void test_round_trip_every_verb(void **state)
{
    (void)state;
    struct job_plan p = {0};
    struct job_cmd *c = job_plan_add(&p, JOB_ADD, "/ip firewall filter", NULL, NULL);
    job_cmd_arg(c, "chain", "input");
    job_cmd_arg(c, "place-before", "0");
    c = job_plan_add(&p, JOB_SET, "/ip service", "name", "winbox");
    c->by_name = true;
    job_cmd_arg(c, "port", "8291");
    c = job_plan_add(&p, JOB_SET, "/user", "name", "bob");
    job_cmd_arg(c, "group", "full");
    job_plan_add(&p, JOB_REMOVE, "/ip firewall nat", NULL, NULL);
    job_plan_add(&p, JOB_REMOVE, "/user", "comment", "tikgate:access:1");
    c = job_plan_add(&p, JOB_ENSURE, "/user", "name", "tikgate-api");
    job_cmd_arg(c, "password", "p");
    job_plan_add(&p, JOB_REBOOT, "/system", NULL, NULL);
    c = job_plan_add(&p, JOB_SCRIPT, "/system script", NULL, NULL);
    job_cmd_arg(c, "source", ":log info \"a\"\n:log info \"b\"\n");
    c = job_plan_add(&p, JOB_ADD_ONCE, "/user group", "name", "tikgate-ro");
    job_cmd_arg(c, "name", "tikgate-ro");
    round_trip(&p);
    job_plan_release(&p);
}

static void test_round_trip_awkward_values(void **state)
{
    (void)state;
    struct job_plan p = {0};
    struct job_cmd *c = job_plan_add(&p, JOB_ENSURE, "/user", "comment", "a\tb\nc\\d=e");
    job_cmd_arg(c, "password", "tab\there");
    job_cmd_arg(c, "nl", "line1\nline2\n");
    job_cmd_arg(c, "bs", "C:\\dir\\");
    job_cmd_arg(c, "bs2", "\\\\t\\n"); /* backslashes before t and n, not escapes */
    job_cmd_arg(c, "eq", "a=b==c=");
    job_cmd_arg(c, "empty", "");
    job_cmd_arg(c, "cr", "x\ry");
    job_cmd_arg(c, "dash", "-");
    job_cmd_arg(c, "utf8", "r\xc3\xa9seau");
    c = job_plan_add(&p, JOB_SET, "/ip service", "name", "");
    job_cmd_arg(c, "x", "\t\n\\");
    round_trip(&p);
    job_plan_release(&p);
}

static void test_round_trip_many_args(void **state)
{
    (void)state;
    struct job_plan p = {0};
    struct job_cmd *c = job_plan_add(&p, JOB_ADD, "/ip firewall filter", NULL, NULL);
    for (int i = 0; i < 100; i++) {
        char k[16], v[16];
        snprintf(k, sizeof k, "k%d", i);
        snprintf(v, sizeof v, "v%d", i);
        job_cmd_arg(c, k, v);
    }
    round_trip(&p);
    job_plan_release(&p);
}

static void test_round_trip_empty(void **state)
{
    (void)state;
    struct job_plan p = {0};
    char *s = serialize(&p);
    assert_string_equal(s, "");
    free(s);
    struct job_plan q = {0};
    assert_int_equal(job_plan_parse("", &q), 0);
    assert_int_equal(q.ncmds, 0);
    /* Blank lines are skipped. */
    assert_int_equal(job_plan_parse("\n\nreboot\t/system\t-\t\t0\n\n", &q), 0);
    assert_int_equal(q.ncmds, 1);
    assert_int_equal(q.cmds[0].verb, JOB_REBOOT);
    assert_null(q.cmds[0].find_key);
    job_plan_release(&q);
}

static void test_serialized_form(void **state)
{
    (void)state;
    struct job_plan p = {0};
    struct job_cmd *c = job_plan_add(&p, JOB_SET, "/ip service", "name", "ssh");
    c->by_name = true;
    job_cmd_arg(c, "port", "22");
    c = job_plan_add(&p, JOB_ADD, "/user", NULL, NULL);
    job_cmd_arg(c, "comment", "a\tb");
    char *s = serialize(&p);
    assert_string_equal(s, "set\t/ip service\tname\tssh\t1\tport=22\n"
                           "add\t/user\t-\t\t0\tcomment=a\\tb\n");
    free(s);
    job_plan_release(&p);
}

static void expect_parse_error(const char *s)
{
    struct job_plan q = {0};
    assert_int_equal(job_plan_parse(s, &q), -EINVAL);
    assert_int_equal(q.ncmds, 0);
    assert_null(q.cmds);
}

static void test_parse_errors(void **state)
{
    (void)state;
    expect_parse_error("bogus\t/user\t-\t\t0\n");         /* unknown verb */
    expect_parse_error("add\t/user\t-\t\n");              /* too few fields */
    expect_parse_error("add");                            /* one field */
    expect_parse_error("add\t/user\t-\t\t0\tnoequals\n"); /* argument without '=' */
    expect_parse_error("ADD\t/user\t-\t\t0\n");           /* verbs are lower case */
    /* A bad line after good ones: everything parsed so far is released. */
    expect_parse_error("reboot\t/system\t-\t\t0\nadd\t/user\t-\t\t0\tname=x\nnope\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_every_verb),
        cmocka_unit_test(test_round_trip_awkward_values),
        cmocka_unit_test(test_round_trip_many_args),
        cmocka_unit_test(test_round_trip_empty),
        cmocka_unit_test(test_serialized_form),
        cmocka_unit_test(test_parse_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
