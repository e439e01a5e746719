/*
 * test_job.c - job statuses, kinds and router statuses: names and parsing round trip, the
 * storage/API names never change, anything else is refused; custom job limits.
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

#include "job.h"

static void test_kind_round_trip(void **state)
{
    (void)state;
    /* The text stored in jobs.kind and answered as "kind": fixed forever. */
    static const char *const want[JOB_KIND_COUNT] = {
        [JOB_KIND_POLICY] = "policy",
        [JOB_KIND_API_USER] = "api_user",
        [JOB_KIND_ACTION] = "action",
        [JOB_KIND_SCRIPT] = "script",
        [JOB_KIND_TRANSIENT_ACCESS] = "transient_access",
        [JOB_KIND_TRANSIENT_FORWARD] = "transient_forward",
        [JOB_KIND_SITE_DELETE] = "site_delete",
    };
    for (int i = 0; i < JOB_KIND_COUNT; i++) {
        assert_string_equal(job_kind_name((enum job_kind)i), want[i]);
        enum job_kind k = JOB_KIND_COUNT;
        assert_int_equal(job_kind_parse(want[i], &k), 0);
        assert_int_equal(k, i);
    }
    assert_string_equal(job_kind_name(JOB_KIND_COUNT), "unknown");
    assert_string_equal(job_kind_name((enum job_kind)(JOB_KIND_COUNT + 1)), "unknown");
}

static void test_kind_parse_refuses(void **state)
{
    (void)state;
    static const char *const bad[] = {"", "Policy", "policy ", "site-delete", "unknown", "job"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        enum job_kind k = JOB_KIND_SCRIPT;
        assert_int_equal(job_kind_parse(bad[i], &k), -EINVAL);
        assert_int_equal(k, JOB_KIND_SCRIPT); /* untouched */
    }
    enum job_kind k = JOB_KIND_SCRIPT;
    assert_int_equal(job_kind_parse(NULL, &k), -EINVAL);
}

static void test_router_status_round_trip(void **state)
{
    (void)state;
    static const char *const want[JOB_ROUTER_STATUS_COUNT] = {
        [JOB_ROUTER_BUSY] = "busy", [JOB_ROUTER_DONE] = "done", [JOB_ROUTER_FAIL] = "fail"};
    for (int i = 0; i < JOB_ROUTER_STATUS_COUNT; i++) {
        assert_string_equal(job_router_status_name((enum job_router_status)i), want[i]);
        enum job_router_status st = JOB_ROUTER_STATUS_COUNT;
        assert_int_equal(job_router_status_parse(want[i], &st), 0);
        assert_int_equal(st, i);
    }
    assert_string_equal(job_router_status_name(JOB_ROUTER_STATUS_COUNT), "unknown");
    static const char *const bad[] = {"", "BUSY", "ok", "failed", "completed", "done\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        enum job_router_status st = JOB_ROUTER_DONE;
        assert_int_equal(job_router_status_parse(bad[i], &st), -EINVAL);
        assert_int_equal(st, JOB_ROUTER_DONE);
    }
    enum job_router_status st = JOB_ROUTER_DONE;
    assert_int_equal(job_router_status_parse(NULL, &st), -EINVAL);
}

static void test_status_round_trip(void **state)
{
    (void)state;
    static const char *const want[] = {"pending", "running", "completed",
                                       "failed",  "deleted", "superseded"};
    for (int i = 0; i < JOB_STATUS_COUNT; i++) {
        assert_string_equal(job_status_name((enum job_status)i), want[i]);
        enum job_status st;
        assert_int_equal(job_status_parse(want[i], &st), 0);
        assert_int_equal(st, i);
    }
    enum job_status st;
    assert_int_equal(job_status_parse("queued", &st), -EINVAL);
    assert_string_equal(job_status_name(JOB_STATUS_COUNT), "unknown");
}

static void test_validate_custom(void **state)
{
    (void)state;
    struct tg_err err;
    assert_int_equal(job_validate_custom("Add a rule", "/ip address print", &err), 0);
    assert_int_equal(job_validate_custom("", "x", &err), -EINVAL);
    assert_string_equal(err.code, "parameter_invalid");
    assert_string_equal(err.param, "description");
    char desc[JOB_DESCRIPTION_MAX + 2];
    memset(desc, 'd', sizeof desc - 1);
    desc[sizeof desc - 1] = '\0';
    assert_int_equal(job_validate_custom(desc, "x", &err), -EINVAL);
    assert_string_equal(err.code, "description_too_long");
    desc[JOB_DESCRIPTION_MAX] = '\0';
    assert_int_equal(job_validate_custom(desc, "x", &err), 0);
    assert_int_equal(job_validate_custom("d", "", &err), -EINVAL);
    assert_string_equal(err.param, "script");
    /* invalid UTF-8 is named as such, not as "must not be empty" (F15) */
    assert_int_equal(job_validate_custom("d", "\xff\xfe", &err), -EINVAL);
    assert_string_equal(err.param, "script");
    assert_non_null(strstr(err.message, "UTF-8"));
    assert_int_equal(job_validate_custom("\xff", "x", &err), -EINVAL);
    assert_string_equal(err.param, "description");
    assert_non_null(strstr(err.message, "UTF-8"));
    static char script[JOB_SCRIPT_MAX + 2];
    memset(script, 's', sizeof script - 1);
    assert_int_equal(job_validate_custom("d", script, &err), -EINVAL);
    assert_string_equal(err.code, "script_too_long");
}

static void test_release(void **state)
{
    (void)state;
    struct job j;
    memset(&j, 0, sizeof j);
    j.kind = JOB_KIND_ACTION;
    j.description = strdup("Action site.reboot");
    j.payload = strdup("reboot\t/system\t-\t\t0\n");
    j.events = calloc(1, sizeof *j.events);
    j.events[0].kind = strdup("created");
    j.events[0].message = strdup("Action site.reboot");
    j.nevents = 1;
    job_release(&j);
    assert_null(j.description);
    assert_null(j.payload);
    assert_null(j.events);
    assert_int_equal(j.nevents, 0);
    job_release(&j);
    job_release(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kind_round_trip),          cmocka_unit_test(test_kind_parse_refuses),
        cmocka_unit_test(test_router_status_round_trip), cmocka_unit_test(test_status_round_trip),
        cmocka_unit_test(test_validate_custom),          cmocka_unit_test(test_release),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
