/*
 * test_routes.c - api_handle's pipeline up to authentication: the routing table (every
 * documented route and alias exists), 404/405 with Allow, 401 with WWW-Authenticate, and the
 * public document routes. No store is opened: nothing here gets past authentication.
 */
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

#define ID "018bac1e-c6a0-79f7-ba86-2627de3e0196"

struct answer {
    struct http_response res;
    json_t *body; /* NULL unless JSON */
};

static void call(struct answer *a, const char *method, const char *path, const char *auth)
{
    static struct api api;
    api.store = NULL;
    api.cfg.public_url = "http://127.0.0.1:1";
    api.cfg.openapi_path = TG_SOURCE_ROOT "/api/openapi.yaml";
    api.cfg.errors_doc_path = NULL;
    api.cfg.max_body = 1 << 20;
    struct http_request req;
    memset(&req, 0, sizeof req);
    req.method = method;
    req.path = path;
    req.authorization = auth;
    http_response_init(&a->res);
    api_handle(&api, &req, &a->res);
    a->body = NULL;
    if (a->res.content_type && strcmp(a->res.content_type, "application/json") == 0)
        a->body = json_loadb(a->res.body.data, a->res.body.len, 0, NULL);
}

static void done(struct answer *a)
{
    json_decref(a->body);
    http_response_release(&a->res);
}

static const char *header(const struct answer *a, const char *name)
{
    for (int i = 0; i < a->res.n_headers; i++)
        if (strcasecmp(a->res.headers[i].name, name) == 0)
            return a->res.headers[i].value;
    return NULL;
}

static void assert_error(const struct answer *a, int status, const char *type, const char *code)
{
    if (a->res.status != status)
        fail_msg("expected %d, got %d: %.*s", status, a->res.status, (int)a->res.body.len,
                 a->res.body.data);
    assert_non_null(a->body);
    assert_string_equal(json_string_value(json_object_get(a->body, "type")), type);
    assert_string_equal(json_string_value(json_object_get(a->body, "code")), code);
    char doc[96];
    snprintf(doc, sizeof doc, "/docs/errors#%s", code);
    assert_string_equal(json_string_value(json_object_get(a->body, "doc_url")), doc);
    assert_non_null(json_string_value(json_object_get(a->body, "message")));
    assert_null(json_object_get(a->body, "param"));
}

/* docs/API.md "Routes": every canonical path and alias, with its method. */
static const char *const documented[][2] = {
    {"GET", "/v1/api-keys"},
    {"POST", "/v1/api-keys"},
    {"DELETE", "/v1/api-keys/" ID},
    {"GET", "/v1/sites"},
    {"GET", "/sites"},
    {"POST", "/v1/sites"},
    {"POST", "/sites"},
    {"GET", "/v1/sites/" ID},
    {"GET", "/sites/" ID},
    {"PATCH", "/v1/sites/" ID},
    {"PATCH", "/sites/" ID},
    {"DELETE", "/v1/sites/" ID},
    {"DELETE", "/sites/" ID},
    {"GET", "/v1/sites/" ID "/note"},
    {"GET", "/v1/sites/" ID "/tunnel/events"},
    {"PUT", "/v1/sites/" ID "/note"},
    {"GET", "/v1/control-plane/policies"},
    {"GET", "/control-plane/policies"},
    {"POST", "/v1/control-plane/policies"},
    {"POST", "/control-plane/policies"},
    {"GET", "/v1/control-plane/policies/" ID},
    {"GET", "/control-plane/policies/" ID},
    {"PUT", "/v1/control-plane/policies/" ID},
    {"PUT", "/control-plane/policies/" ID},
    {"DELETE", "/v1/control-plane/policies/" ID},
    {"DELETE", "/control-plane/policies/" ID},
    {"POST", "/v1/control-plane/policies/" ID "/sites"},
    {"POST", "/control-plane/policies/" ID "/sites"},
    {"GET", "/v1/control-plane/" ID "/credentials"},
    {"GET", "/control-plane/" ID "/credentials"},
    {"POST", "/v1/control-plane/" ID "/credentials"},
    {"POST", "/control-plane/" ID "/credentials"},
};

static void test_every_documented_route_needs_auth(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof documented / sizeof documented[0]; i++) {
        struct answer a;
        call(&a, documented[i][0], documented[i][1], NULL);
        if (a.res.status != 401)
            fail_msg("%s %s: expected 401, got %d", documented[i][0], documented[i][1],
                     a.res.status);
        assert_error(&a, 401, "authentication_error", "authentication_required");
        assert_non_null(header(&a, "WWW-Authenticate"));
        assert_string_equal(header(&a, "WWW-Authenticate"), "Bearer");
        done(&a);
    }
}

static void test_bad_authorization_headers(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "tg_sk_abc", "Token tg_sk_abc"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct answer a;
        call(&a, "GET", "/v1/sites", bad[i]);
        assert_error(&a, 401, "authentication_error", "authentication_required");
        done(&a);
    }
    /* an overlong token is refused before any lookup */
    char longtok[400] = "Bearer ";
    memset(longtok + 7, 'a', 300);
    longtok[307] = '\0';
    struct answer a;
    call(&a, "GET", "/v1/sites", longtok);
    assert_error(&a, 401, "authentication_error", "invalid_token");
    assert_string_equal(header(&a, "WWW-Authenticate"), "Bearer");
    done(&a);
}

static void test_route_not_found(void **state)
{
    (void)state;
    static const char *const paths[] = {"/nope", /* "/" is the portal */
                                        "/v1",
                                        "/v2/sites",
                                        "/sites/" ID "/note", /* the note has no alias */
                                        "/v1/policies/" ID,   /* the seed's delete slip */
                                        "/v1/metadata/" ID,   /* the seed's update slip */
                                        "/v1/control-plane/" ID,
                                        "/v1/sites/" ID "/note/x"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        struct answer a;
        call(&a, "GET", paths[i], "Bearer tg_sk_x");
        if (a.res.status != 404)
            fail_msg("GET %s: expected 404, got %d", paths[i], a.res.status);
        assert_error(&a, 404, "not_found_error", "route_not_found");
        done(&a);
    }
}

static void test_method_not_allowed(void **state)
{
    (void)state;
    static const char *const cases[][3] = {
        {"DELETE", "/v1/sites", "GET, POST"},
        {"PUT", "/sites/" ID, "GET, PATCH, DELETE"},
        {"POST", "/v1/control-plane/policies/" ID, "GET, PUT, DELETE"},
        {"DELETE", "/v1/control-plane/" ID "/credentials", "GET, POST"},
        {"POST", "/healthz", "GET"},
        {"PATCH", "/v1/api-keys", "GET, POST"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct answer a;
        call(&a, cases[i][0], cases[i][1], NULL); /* 405 comes before authentication */
        assert_error(&a, 405, "invalid_request_error", "method_not_allowed");
        const char *allow = header(&a, "Allow");
        assert_non_null(allow);
        assert_string_equal(allow, cases[i][2]);
        done(&a);
    }
}

static void test_public_documents(void **state)
{
    (void)state;
    struct answer a;
    call(&a, "GET", "/openapi.yaml", NULL);
    assert_int_equal(a.res.status, 200);
    assert_string_equal(a.res.content_type, "application/yaml");
    assert_int_equal(strncmp(a.res.body.data, "openapi: 3.1", 12), 0);
    done(&a);
    /* started without the errors document: a 404 in the error shape, no authentication */
    call(&a, "GET", "/docs/errors", NULL);
    assert_error(&a, 404, "not_found_error", "resource_missing");
    done(&a);
}

/* api_preflight on headers alone (security-review F7): refusals answered, caps per route. */
static int preflight(struct answer *a, const char *method, const char *path, const char *auth,
                     struct http_preflight *pf)
{
    static struct api api;
    api.store = NULL;
    api.cfg.max_body = 1 << 20;
    api.cfg.public_max_body = 4096;
    struct http_request req;
    memset(&req, 0, sizeof req);
    req.method = method;
    req.path = path;
    req.authorization = auth;
    http_response_init(&a->res);
    memset(pf, 0, sizeof *pf);
    int r = api_preflight(&api, &req, &a->res, pf);
    a->body = NULL;
    if (r == 1)
        a->body = json_loadb(a->res.body.data, a->res.body.len, 0, NULL);
    return r;
}

static void test_preflight(void **state)
{
    (void)state;
    struct answer a;
    struct http_preflight pf;
    /* no key on an API route: 401 before any body */
    assert_int_equal(preflight(&a, "POST", "/v1/sites", NULL, &pf), 1);
    assert_error(&a, 401, "authentication_error", "authentication_required");
    assert_null(pf.app);
    done(&a);
    assert_int_equal(preflight(&a, "POST", "/v1/nothing", NULL, &pf), 1);
    assert_error(&a, 404, "not_found_error", "route_not_found");
    done(&a);
    assert_int_equal(preflight(&a, "DELETE", "/healthz", NULL, &pf), 1);
    assert_error(&a, 405, "invalid_request_error", "method_not_allowed");
    done(&a);
    /* public routes pass with the small cap and no draining; the token path is marked */
    const char *pub[][2] = {{"POST", "/v1/auth/login"},
                            {"POST", "/poll"},
                            {"POST", "/adopt/sometoken"},
                            {"GET", "/bootstrap/sometoken"}};
    for (size_t i = 0; i < sizeof pub / sizeof pub[0]; i++) {
        assert_int_equal(preflight(&a, pub[i][0], pub[i][1], NULL, &pf), 0);
        assert_int_equal(pf.body_cap, 4096);
        assert_false(pf.drain_over_cap);
        assert_non_null(pf.app);
        api_preflight_release(pf.app);
        done(&a);
    }
    /* the request after a preflight: api_handle reuses its match (the token is elided) */
    assert_int_equal(preflight(&a, "GET", "/bootstrap/sometoken", NULL, &pf), 0);
    done(&a);
    static struct api api;
    api.cfg.max_body = 1 << 20;
    struct http_request req;
    memset(&req, 0, sizeof req);
    req.method = "GET";
    req.path = "/bootstrap/sometoken";
    req.app = pf.app;
    http_response_init(&a.res);
    api_handle(&api, &req, &a.res);
    assert_int_equal(a.res.log_path_keep, strlen("/bootstrap/"));
    http_response_release(&a.res);
    api_preflight_release(pf.app);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_documented_route_needs_auth),
        cmocka_unit_test(test_bad_authorization_headers),
        cmocka_unit_test(test_route_not_found),
        cmocka_unit_test(test_method_not_allowed),
        cmocka_unit_test(test_public_documents),
        cmocka_unit_test(test_preflight),
    };
    return cmocka_run_group_tests_name("api_routes", tests, NULL, NULL);
}
