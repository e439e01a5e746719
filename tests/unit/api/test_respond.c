/* test_respond.c - the error shape, JSON answers and the request-body field getters. */
/* cmocka.h needs these headers first */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include "api_int.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fixture {
    struct api api;
    struct http_request req;
    struct http_response res;
    struct api_call call;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    http_response_init(&f->res);
    f->req.method = "GET";
    f->req.path = "/";
    f->call.api = &f->api;
    f->call.req = &f->req;
    f->call.res = &f->res;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    http_response_release(&f->res);
    free(f);
    return 0;
}

/* The response body parsed; owned by the caller. */
static json_t *body_json(const struct fixture *f)
{
    json_error_t e;
    json_t *v = json_loadb(f->res.body.data, f->res.body.len, 0, &e);
    if (!v)
        fail_msg("body is not JSON: %s: %.*s", e.text, (int)f->res.body.len, f->res.body.data);
    return v;
}

static const char *str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static void test_error_shape_with_param(void **state)
{
    struct fixture *f = *state;
    struct tg_err e;
    tg_err_invalid(&e, "port_conflict", "ssh.port",
                   "Enabled services winbox and ssh cannot share port 22.");
    api_send_error(&f->call, &e);
    assert_int_equal(f->res.status, 400);
    assert_string_equal(f->res.content_type, "application/json");
    json_t *o = body_json(f);
    assert_int_equal(json_object_size(o), 5);
    assert_string_equal(str(o, "type"), "invalid_request_error");
    assert_string_equal(str(o, "code"), "port_conflict");
    assert_string_equal(str(o, "message"), "Enabled services winbox and ssh cannot share port 22.");
    assert_string_equal(str(o, "param"), "ssh.port");
    assert_string_equal(str(o, "doc_url"), "/docs/errors#port_conflict");
    json_decref(o);
}

static void test_error_shape_without_param(void **state)
{
    struct fixture *f = *state;
    struct tg_err e;
    tg_err_not_found(&e, "policy");
    api_send_error(&f->call, &e);
    assert_int_equal(f->res.status, 404);
    json_t *o = body_json(f);
    assert_int_equal(json_object_size(o), 4);
    assert_null(json_object_get(o, "param")); /* absent, not "" or null */
    assert_string_equal(str(o, "type"), "not_found_error");
    assert_string_equal(str(o, "code"), "resource_missing");
    assert_string_equal(str(o, "doc_url"), "/docs/errors#resource_missing");
    json_decref(o);
}

static void test_error_replaces_previous_body(void **state)
{
    struct fixture *f = *state;
    buf_append_str(&f->res.body, "{\"half\":");
    api_fail(&f->call, TG_ERR_CONFLICT, 409, "default_policy_protected", NULL,
             "The default policy cannot be deleted (%s).", "id");
    assert_int_equal(f->res.status, 409);
    json_t *o = body_json(f);
    assert_string_equal(str(o, "type"), "conflict_error");
    assert_string_equal(str(o, "message"), "The default policy cannot be deleted (id).");
    json_decref(o);
}

static void test_error_message_is_escaped(void **state)
{
    struct fixture *f = *state;
    api_fail(&f->call, TG_ERR_INVALID_REQUEST, 400, "invalid_cidr", "winbox.networks[0]",
             "'%s' is not valid.", "\"}\n\\\x01");
    json_t *o = body_json(f);
    assert_string_equal(str(o, "message"), "'\"}\n\\\x01' is not valid.");
    assert_string_equal(str(o, "param"), "winbox.networks[0]");
    json_decref(o);
}

static void test_every_type_and_status(void **state)
{
    struct fixture *f = *state;
    static const struct {
        enum tg_err_type t;
        int status;
        const char *name;
    } cases[] = {
        {TG_ERR_INVALID_REQUEST, 400, "invalid_request_error"},
        {TG_ERR_AUTHENTICATION, 401, "authentication_error"},
        {TG_ERR_PERMISSION, 403, "permission_error"},
        {TG_ERR_NOT_FOUND, 404, "not_found_error"},
        {TG_ERR_CONFLICT, 409, "conflict_error"},
        {TG_ERR_RATE_LIMIT, 429, "rate_limit_error"},
        {TG_ERR_API, 500, "api_error"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        api_fail(&f->call, cases[i].t, 0, "c", NULL, "m");
        assert_int_equal(f->res.status, cases[i].status);
        json_t *o = body_json(f);
        assert_string_equal(str(o, "type"), cases[i].name);
        json_decref(o);
    }
}

static void test_fail_store(void **state)
{
    struct fixture *f = *state;
    api_fail_store(&f->call, -ENOENT, "site");
    assert_int_equal(f->res.status, 404);
    json_t *o = body_json(f);
    assert_string_equal(str(o, "code"), "resource_missing");
    assert_string_equal(str(o, "message"), "No such site.");
    json_decref(o);

    api_fail_store(&f->call, -EEXIST, "site");
    assert_int_equal(f->res.status, 409);
    o = body_json(f);
    assert_string_equal(str(o, "type"), "conflict_error");
    json_decref(o);

    api_fail_store(&f->call, -EIO, "site");
    assert_int_equal(f->res.status, 500);
    o = body_json(f);
    assert_string_equal(str(o, "type"), "api_error");
    assert_string_equal(str(o, "code"), "internal_server_error"); /* api/openapi.yaml ErrorCode */
    assert_null(strstr(str(o, "message"), "EIO"));
    json_decref(o);
}

static void test_send_json_and_no_content(void **state)
{
    struct fixture *f = *state;
    api_send_json(&f->call, 201, json_pack("{s:s}", "status", "ok"));
    assert_int_equal(f->res.status, 201);
    assert_string_equal(f->res.body.data, "{\"status\":\"ok\"}");
    api_send_json(&f->call, 200, json_array());
    assert_string_equal(f->res.body.data, "[]");
    api_send_no_content(&f->call);
    assert_int_equal(f->res.status, 204);
    assert_int_equal(f->res.body.len, 0);
}

static void test_time_and_str_or_null(void **state)
{
    (void)state;
    json_t *v = json_time_or_null(0);
    assert_true(json_is_null(v));
    json_decref(v);
    v = json_time_or_null(1719030809);
    assert_string_equal(json_string_value(v), "2024-06-22T04:33:29+00:00");
    json_decref(v);
    v = json_str_or_null(NULL);
    assert_true(json_is_null(v));
    json_decref(v);
    v = json_str_or_null("");
    assert_string_equal(json_string_value(v), "");
    json_decref(v);
}

static void test_body_getters(void **state)
{
    (void)state;
    json_t *o = json_pack("{s:s, s:b, s:i, s:f, s:n, s:[ss], s:s#}", "s", "text", "b", 1, "i", 42,
                          "f", 1.5, "n", "a", "x", "y", "nul", "a\0b", 3);
    struct tg_err err;
    const char *sv = NULL;
    bool bv = false;
    long long iv = 0;
    assert_int_equal(body_string(o, "s", "s", &sv, &err), 0);
    assert_string_equal(sv, "text");
    assert_int_equal(body_string(o, "missing", "missing", &sv, &err), 1);
    assert_int_equal(body_string(o, "n", "n", &sv, &err), 1); /* null counts as absent */
    assert_int_equal(body_string(o, "i", "p.i", &sv, &err), -EINVAL);
    assert_string_equal(err.code, "parameter_invalid_type");
    assert_string_equal(err.param, "p.i");
    assert_int_equal(body_string(o, "nul", "nul", &sv, &err), -EINVAL);
    assert_string_equal(err.code, "parameter_invalid");

    assert_int_equal(body_bool(o, "b", "b", &bv, &err), 0);
    assert_true(bv);
    assert_int_equal(body_bool(o, "i", "i", &bv, &err), -EINVAL);
    assert_string_equal(err.code, "parameter_invalid_type");
    assert_int_equal(body_bool(o, "s", "s", &bv, &err), -EINVAL);

    assert_int_equal(body_int(o, "i", "i", &iv, &err), 0);
    assert_int_equal(iv, 42);
    assert_int_equal(body_int(o, "f", "f", &iv, &err), -EINVAL);
    assert_string_equal(err.param, "f");
    assert_int_equal(body_int(o, "b", "b", &iv, &err), -EINVAL);
    assert_int_equal(iv, 42); /* untouched on failure */

    struct strlist l = {0};
    assert_int_equal(body_string_array(o, "a", "a", 8, &l, &err), 0);
    assert_int_equal(l.n, 2);
    strlist_release(&l);
    assert_int_equal(body_string_array(o, "a", "a", 1, &l, &err), -EINVAL);
    assert_string_equal(err.param, "a");
    strlist_release(&l);
    assert_int_equal(body_string_array(o, "s", "s", 8, &l, &err), -EINVAL);
    assert_string_equal(err.code, "parameter_invalid_type");
    assert_int_equal(body_string_array(o, "n", "n", 8, &l, &err), 1);
    assert_int_equal(body_string_array(o, "none", "none", 8, &l, &err), 1);
    assert_int_equal(l.n, 0);
    json_decref(o);
}

static void test_check_id_and_param(void **state)
{
    struct fixture *f = *state;
    assert_true(api_check_id(&f->call, "018bac1e-c6a0-79f7-ba86-2627de3e0196", "site"));
    assert_false(api_check_id(&f->call, "../etc", "site"));
    assert_int_equal(f->res.status, 404); /* a malformed id is a 404 like an unknown one */
    json_t *o = body_json(f);
    assert_string_equal(str(o, "code"), "resource_missing");
    json_decref(o);

    f->call.match.n_params = 1;
    snprintf(f->call.match.params[0], sizeof f->call.match.params[0], "abc");
    assert_string_equal(api_param(&f->call, 0), "abc");
    assert_string_equal(api_param(&f->call, 1), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_error_shape_with_param, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_shape_without_param, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_replaces_previous_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_message_is_escaped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_type_and_status, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fail_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_json_and_no_content, setup, teardown),
        cmocka_unit_test(test_time_and_str_or_null),
        cmocka_unit_test(test_body_getters),
        cmocka_unit_test_setup_teardown(test_check_id_and_param, setup, teardown),
    };
    return cmocka_run_group_tests_name("api_respond", tests, NULL, NULL);
}
