/* test_router.c - http_route_match and http_route_allowed. */
/* cmocka.h needs these headers first */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include "http.h"

#include <stdio.h>
#include <string.h>

/* A table shaped like the API's: canonical paths, an alias, a literal/param overlap. */
static const struct http_route table[] = {
    {"GET", "/healthz", NULL, 1},
    {"GET", "/v1/sites", NULL, 2},
    {"POST", "/v1/sites", NULL, 3},
    {"GET", "/v1/sites/{id}", NULL, 4},
    {"PATCH", "/v1/sites/{id}", NULL, 5},
    {"DELETE", "/v1/sites/{id}", NULL, 6},
    {"GET", "/v1/sites/{id}/note", NULL, 7},
    {"PUT", "/v1/sites/{id}/note", NULL, 8},
    {"GET", "/sites", NULL, 2}, /* alias: same handler */
    {"GET", "/v1/control-plane/policies", NULL, 9},
    {"GET", "/v1/control-plane/policies/{id}", NULL, 10},
    {"POST", "/v1/control-plane/policies/{id}/sites", NULL, 11},
    {"GET", "/v1/control-plane/{site}/credentials", NULL, 12},
    {"POST", "/v1/control-plane/{site}/credentials", NULL, 13},
    {"GET", "/a/{b}/{c}/{d}/{e}", NULL, 14},
    {"GET", "/x/{1}/{2}/{3}/{4}/{5}", NULL, 15}, /* more params than HTTP_MAX_PARAMS */
};
/* The handler each row stands for (the router treats handlers as opaque). */
static const char *const names[] = {
    "healthz",   "sites_list",  "sites_create", "sites_get", "sites_update", "sites_delete",
    "note_get",  "note_put",    "sites_list",   "pol_list",  "pol_get",      "pol_attach",
    "cred_list", "cred_rotate", "four",         "five",
};
#define NAME(route) names[(route)-table]
#define N (sizeof table / sizeof table[0])

static const struct http_route *ok(const char *method, const char *path, struct http_match *m)
{
    memset(m, 0x5a, sizeof *m);
    enum http_match_result r = http_route_match(table, N, method, path, m);
    if (r != HTTP_MATCH_OK)
        fail_msg("%s %s: expected a match, got %d", method, path, r);
    return m->route;
}

static enum http_match_result res(const char *method, const char *path)
{
    struct http_match m;
    return http_route_match(table, N, method, path, &m);
}

static void test_exact(void **state)
{
    (void)state;
    struct http_match m;
    assert_string_equal(NAME(ok("GET", "/healthz", &m)), "healthz");
    assert_int_equal(m.n_params, 0);
    assert_ptr_equal(m.route, &table[0]);
    assert_string_equal(NAME(ok("GET", "/v1/sites", &m)), "sites_list");
    assert_string_equal(NAME(ok("POST", "/v1/sites", &m)), "sites_create");
    assert_int_equal(m.route->flags, 3);
    assert_string_equal(NAME(ok("GET", "/sites", &m)), "sites_list");
    assert_string_equal(NAME(ok("GET", "/v1/control-plane/policies", &m)), "pol_list");
}

static void test_params(void **state)
{
    (void)state;
    struct http_match m;
    const char *id = "018bac1e-c6a0-79f7-ba86-2627de3e0196";
    char path[256];
    snprintf(path, sizeof path, "/v1/sites/%s", id);
    assert_string_equal(NAME(ok("GET", path, &m)), "sites_get");
    assert_int_equal(m.n_params, 1);
    assert_string_equal(m.params[0], id);
    assert_string_equal(NAME(ok("PATCH", path, &m)), "sites_update");
    snprintf(path, sizeof path, "/v1/sites/%s/note", id);
    assert_string_equal(NAME(ok("PUT", path, &m)), "note_put");
    assert_string_equal(m.params[0], id);
    assert_string_equal(NAME(ok("GET", "/v1/control-plane/abc/credentials", &m)), "cred_list");
    assert_string_equal(m.params[0], "abc");
    assert_string_equal(NAME(ok("POST", "/v1/control-plane/policies/p1/sites", &m)), "pol_attach");
    assert_string_equal(m.params[0], "p1");
    assert_string_equal(NAME(ok("GET", "/a/1/22/333/4444", &m)), "four");
    assert_int_equal(m.n_params, 4);
    assert_string_equal(m.params[0], "1");
    assert_string_equal(m.params[1], "22");
    assert_string_equal(m.params[2], "333");
    assert_string_equal(m.params[3], "4444");
    /* parameters are taken verbatim: no decoding, no validation */
    assert_string_equal(NAME(ok("GET", "/v1/sites/%2e%2e", &m)), "sites_get");
    assert_string_equal(m.params[0], "%2e%2e");
    assert_string_equal(NAME(ok("GET", "/v1/sites/..", &m)), "sites_get");
}

static void test_table_order_decides_overlap(void **state)
{
    (void)state;
    struct http_match m;
    /* both "/v1/control-plane/policies/{id}" and "/v1/control-plane/{site}/credentials"
     * match; the earlier row (the literal "policies") wins */
    assert_string_equal(NAME(ok("GET", "/v1/control-plane/policies/credentials", &m)), "pol_get");
    assert_string_equal(m.params[0], "credentials");
    /* with POST only the credentials row has the method */
    assert_string_equal(NAME(ok("POST", "/v1/control-plane/policies/credentials", &m)),
                        "cred_rotate");
    assert_string_equal(m.params[0], "policies");
}

static void test_trailing_slash(void **state)
{
    (void)state;
    struct http_match m;
    assert_string_equal(NAME(ok("GET", "/v1/sites/", &m)), "sites_list");
    assert_string_equal(NAME(ok("GET", "/healthz/", &m)), "healthz");
    assert_string_equal(NAME(ok("GET", "/v1/sites/abc/", &m)), "sites_get");
    assert_string_equal(m.params[0], "abc");
    assert_string_equal(NAME(ok("PUT", "/v1/sites/abc/note/", &m)), "note_put");
    /* only one */
    assert_int_equal(res("GET", "/v1/sites//"), HTTP_MATCH_NO_PATH);
    assert_int_equal(res("GET", "/healthz//"), HTTP_MATCH_NO_PATH);
}

static void test_not_found(void **state)
{
    (void)state;
    static const char *const paths[] = {
        "",
        "/",
        "healthz",
        "/healthzz",
        "/health",
        "//healthz",
        "/v1",
        "/v1/site",
        "/v1/sites/a/b",
        "/v1/sites//note",
        "/V1/SITES",
        "/v1/sites?x",
        "/v1/sites/a/note/x",
        "/v2/sites",
        "/v1/control-plane",
        "/x/1/2/3/4/5", /* five params never fit */
    };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        enum http_match_result r = res("GET", paths[i]);
        if (r != HTTP_MATCH_NO_PATH)
            fail_msg("'%s': expected 404, got %d", paths[i], r);
    }
    /* "/v1/sites?x" is a path segment "sites?x": the server strips the query before */
}

static void test_method_not_allowed(void **state)
{
    (void)state;
    assert_int_equal(res("DELETE", "/v1/sites"), HTTP_MATCH_NO_METHOD);
    assert_int_equal(res("PUT", "/v1/sites/abc"), HTTP_MATCH_NO_METHOD);
    assert_int_equal(res("POST", "/healthz"), HTTP_MATCH_NO_METHOD);
    assert_int_equal(res("PUT", "/v1/control-plane/policies/p1/sites"), HTTP_MATCH_NO_METHOD);
    assert_int_equal(res("POST", "/sites"), HTTP_MATCH_NO_METHOD);  /* alias has only GET here */
    assert_int_equal(res("get", "/healthz"), HTTP_MATCH_NO_METHOD); /* methods are case-sensitive */
    assert_int_equal(res("", "/healthz"), HTTP_MATCH_NO_METHOD);
    assert_int_equal(res("DELETE", "/v1/sites/"), HTTP_MATCH_NO_METHOD);
    /* no route: 404, not 405, whatever the method */
    assert_int_equal(res("DELETE", "/nope"), HTTP_MATCH_NO_PATH);
}

static void test_overlong_param(void **state)
{
    (void)state;
    char path[400];
    struct http_match m;
    char seg[200];
    memset(seg, 'a', 127);
    seg[127] = '\0';
    snprintf(path, sizeof path, "/v1/sites/%s", seg);
    assert_string_equal(NAME(ok("GET", path, &m)), "sites_get");
    assert_int_equal(strlen(m.params[0]), 127);
    memset(seg, 'a', 128);
    seg[128] = '\0';
    snprintf(path, sizeof path, "/v1/sites/%s", seg);
    assert_int_equal(res("GET", path), HTTP_MATCH_NO_PATH);
    snprintf(path, sizeof path, "/v1/sites/%s/note", seg);
    assert_int_equal(res("GET", path), HTTP_MATCH_NO_PATH);
    assert_int_equal(res("DELETE", path), HTTP_MATCH_NO_PATH);
    /* a long literal segment is just a mismatch */
    snprintf(path, sizeof path, "/%s", seg);
    assert_int_equal(res("GET", path), HTTP_MATCH_NO_PATH);
}

static void test_out_param_only_on_success(void **state)
{
    (void)state;
    struct http_match m;
    memset(&m, 0x5a, sizeof m);
    assert_int_equal(http_route_match(table, N, "GET", "/nope", &m), HTTP_MATCH_NO_PATH);
    assert_int_equal(m.n_params, 0x5a5a5a5a);
    assert_int_equal(http_route_match(table, N, "PUT", "/v1/sites/x", &m), HTTP_MATCH_NO_METHOD);
    assert_int_equal(m.n_params, 0x5a5a5a5a);
    assert_int_equal(http_route_match(table, 0, "GET", "/healthz", &m), HTTP_MATCH_NO_PATH);
}

static void test_allowed(void **state)
{
    (void)state;
    char out[64];
    http_route_allowed(table, N, "/v1/sites", out, sizeof out);
    assert_string_equal(out, "GET, POST");
    http_route_allowed(table, N, "/v1/sites/abc/", out, sizeof out);
    assert_string_equal(out, "GET, PATCH, DELETE");
    http_route_allowed(table, N, "/healthz", out, sizeof out);
    assert_string_equal(out, "GET");
    http_route_allowed(table, N, "/nope", out, sizeof out);
    assert_string_equal(out, "");
    /* GET appears on two matching rows (policies/{id} and {site}/credentials): listed once */
    http_route_allowed(table, N, "/v1/control-plane/policies/credentials", out, sizeof out);
    assert_string_equal(out, "GET, POST");
}

static void test_allowed_small_buffer(void **state)
{
    (void)state;
    char out[12];
    memset(out, 'X', sizeof out);
    http_route_allowed(table, N, "/v1/sites/abc", out, sizeof out);
    assert_true(strlen(out) < sizeof out);
    assert_string_equal(out, "GET, PATCH"); /* DELETE does not fit: left out, not cut */
    char tiny[3];
    http_route_allowed(table, N, "/v1/sites/abc", tiny, sizeof tiny);
    assert_string_equal(tiny, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact),
        cmocka_unit_test(test_params),
        cmocka_unit_test(test_table_order_decides_overlap),
        cmocka_unit_test(test_trailing_slash),
        cmocka_unit_test(test_not_found),
        cmocka_unit_test(test_method_not_allowed),
        cmocka_unit_test(test_overlong_param),
        cmocka_unit_test(test_out_param_only_on_success),
        cmocka_unit_test(test_allowed),
        cmocka_unit_test(test_allowed_small_buffer),
    };
    return cmocka_run_group_tests_name("http_router", tests, NULL, NULL);
}
