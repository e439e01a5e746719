/* test_cli_core.c - the CLI's durations, exit codes, tables and name resolution. */
/* cmocka.h needs these headers first */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include "cli_core.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long dur(const char *s)
{
    long v = -1;
    return cli_parse_duration(s, &v) == 0 ? v : -1;
}

static void test_durations(void **state)
{
    (void)state;
    assert_int_equal(dur("30m"), 1800);
    assert_int_equal(dur("2h"), 7200);
    assert_int_equal(dur("1h30m"), 5400);
    assert_int_equal(dur("45s"), 45);
    assert_int_equal(dur("1d"), 86400);
    assert_int_equal(dur("90"), 5400); /* a bare number is minutes */
    assert_int_equal(dur(""), -1);
    assert_int_equal(dur("m"), -1);
    assert_int_equal(dur("30x"), -1);
    assert_int_equal(dur("-5m"), -1);
    assert_int_equal(dur("0m"), -1);
    assert_int_equal(dur("1h30"), -1); /* the unit of 30 is not guessed */
    assert_int_equal(dur("2h "), -1);
    assert_int_equal(dur("99999999999999999999h"), -1);
    assert_int_equal(cli_parse_duration(NULL, &(long){0}), -EINVAL);
    assert_int_equal(cli_minutes_ceil(1800), 30);
    assert_int_equal(cli_minutes_ceil(45), 1);
    assert_int_equal(cli_minutes_ceil(61), 2);
}

static void test_exit_codes(void **state)
{
    (void)state;
    assert_int_equal(cli_exit_for_error("invalid_request_error", 400), CLI_INVALID);
    /* job_already_started is a 409 of type invalid_request_error: the type wins. */
    assert_int_equal(cli_exit_for_error("invalid_request_error", 409), CLI_INVALID);
    assert_int_equal(cli_exit_for_error("authentication_error", 401), CLI_AUTH);
    assert_int_equal(cli_exit_for_error("permission_error", 403), CLI_PERMISSION);
    assert_int_equal(cli_exit_for_error("not_found_error", 404), CLI_NOT_FOUND);
    assert_int_equal(cli_exit_for_error("conflict_error", 409), CLI_CONFLICT);
    assert_int_equal(cli_exit_for_error("rate_limit_error", 429), CLI_RATE_LIMIT);
    assert_int_equal(cli_exit_for_error("api_error", 503), CLI_SERVER);
    /* Without the error shape (a proxy's page): by status. */
    assert_int_equal(cli_exit_for_error(NULL, 401), CLI_AUTH);
    assert_int_equal(cli_exit_for_error(NULL, 404), CLI_NOT_FOUND);
    assert_int_equal(cli_exit_for_error(NULL, 413), CLI_INVALID);
    assert_int_equal(cli_exit_for_error("something_new", 409), CLI_CONFLICT);
    assert_int_equal(cli_exit_for_error(NULL, 502), CLI_SERVER);
}

/* Renders rows (JSON text) with cols into a string (owned). */
static char *render(const struct cli_col *cols, size_t n, const char *rows_json)
{
    json_t *rows = json_loads(rows_json, 0, NULL);
    assert_non_null(rows);
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    cli_table_render(f, cols, n, rows);
    fclose(f);
    json_decref(rows);
    return out;
}

static void test_table(void **state)
{
    (void)state;
    static const struct cli_col cols[] = {{"ID", "id", CELL_TEXT},
                                          {"NAME", "name", CELL_TEXT},
                                          {"TUNNEL", "tunnel.status", CELL_TEXT},
                                          {"SSH", "ssh", CELL_SERVICE},
                                          {"NETS", "nets", CELL_LIST},
                                          {"READY", "committed", CELL_SET}};
    char *out = render(cols, 6,
                       "[{\"id\":\"a1\",\"name\":\"branch-12\",\"tunnel\":{\"status\":\"up\"},"
                       "\"ssh\":{\"enabled\":true,\"port\":22},\"nets\":[\"10.0.0.0/8\","
                       "\"192.168.0.0/16\"],\"committed\":\"2024-01-01T00:00:00+00:00\"},"
                       "{\"id\":\"b22\",\"name\":\"k\\u00f6ln\\nhq\",\"tunnel\":null,"
                       "\"ssh\":{\"enabled\":false,\"port\":22},\"nets\":[],"
                       "\"committed\":null}]");
    assert_string_equal(out, "ID   NAME       TUNNEL  SSH  NETS                       READY\n"
                             "a1   branch-12  up      22   10.0.0.0/8,192.168.0.0/16  yes\n"
                             "b22  k\xc3\xb6ln hq    -       off  -                          no\n");
    free(out);
    out = render(cols, 2, "[]");
    assert_string_equal(out, "ID  NAME\n");
    free(out);
}

static void test_object_lines(void **state)
{
    (void)state;
    json_t *o = json_loads("{\"id\":\"x\",\"n\":3,\"ok\":false,\"t\":{\"mode\":\"managed\","
                           "\"address\":null},\"l\":[\"a\",\"b\"],\"ev\":[{\"k\":1}]}",
                           0, NULL);
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    cli_object_render(f, o);
    fclose(f);
    assert_string_equal(out, "id: x\nn: 3\nok: no\nt.mode: managed\nt.address: -\nl: a,b\n"
                             "ev: [1 items]\n");
    free(out);
    json_decref(o);
}

static void test_uuid_shape(void **state)
{
    (void)state;
    assert_true(cli_is_uuid("01a2320d-61d6-7345-ad98-1eb52d0cca96"));
    assert_false(cli_is_uuid("01a2320d-61d6-7345-ad98-1eb52d0cca9"));
    assert_false(cli_is_uuid("01a2320d-61d6-7345-ad98-1eb52d0cca960"));
    assert_false(cli_is_uuid("01a2320d_61d6-7345-ad98-1eb52d0cca96"));
    assert_false(cli_is_uuid("branch-12"));
    assert_false(cli_is_uuid(""));
}

static void test_resolve(void **state)
{
    (void)state;
    json_t *sites = json_loads("[{\"id\":\"id-1\",\"name\":\"hq\"},{\"id\":\"id-2\",\"name\":"
                               "\"branch\"},{\"id\":\"id-3\",\"name\":\"branch\"},{\"id\":"
                               "\"id-4\",\"name\":\"id-1\"}]",
                               0, NULL);
    const char *id = NULL;
    char msg[256];
    assert_int_equal(cli_resolve_name(sites, "hq", "site", &id, msg, sizeof msg), 0);
    assert_string_equal(id, "id-1");
    /* An id wins over a site named like it. */
    assert_int_equal(cli_resolve_name(sites, "id-1", "site", &id, msg, sizeof msg), 0);
    assert_string_equal(id, "id-1");
    assert_int_equal(cli_resolve_name(sites, "id-3", "site", &id, msg, sizeof msg), 0);
    assert_string_equal(id, "id-3");
    id = NULL;
    assert_int_equal(cli_resolve_name(sites, "branch", "site", &id, msg, sizeof msg), -EEXIST);
    assert_null(id);
    assert_string_equal(msg, "Several sites are named 'branch': id-2, id-3; give the id instead.");
    assert_int_equal(cli_resolve_name(sites, "HQ", "site", &id, msg, sizeof msg), -ENOENT);
    assert_string_equal(msg, "No site has the id or name 'HQ'.");
    assert_int_equal(cli_resolve_name(sites, "x", "policy", &id, msg, 8), -ENOENT);
    assert_string_equal(msg, "No poli"); /* truncated, terminated */
    json_decref(sites);
}

static void test_json_path(void **state)
{
    (void)state;
    json_t *o = json_loads("{\"a\":{\"b\":{\"c\":7}},\"s\":\"x\"}", 0, NULL);
    assert_int_equal(json_integer_value(cli_json_path(o, "a.b.c")), 7);
    assert_null(cli_json_path(o, "a.x.c"));
    assert_null(cli_json_path(o, "s.t"));
    assert_null(cli_json_path(NULL, "a"));
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_durations),  cmocka_unit_test(test_exit_codes),
        cmocka_unit_test(test_table),      cmocka_unit_test(test_object_lines),
        cmocka_unit_test(test_uuid_shape), cmocka_unit_test(test_resolve),
        cmocka_unit_test(test_json_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
