/* test_objects.c - policy_from_json / policy_to_json and the other object mappings (no I/O). */
/* cmocka.h needs these headers first */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include "alloc.h"
#include "api_int.h"
#include "rand.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The create body of seed 001 (POST /v1/control-plane/policies), verbatim. */
static const char seed_create_body[] = "{\n"
                                       "        \"name\": \"My New Policy\",\n"
                                       "        \"winbox\": {\n"
                                       "            \"enabled\": true,\n"
                                       "            \"port\": 8291,\n"
                                       "            \"networks\": [\n"
                                       "                \"10.0.0.0/8\",\n"
                                       "                \"192.168.0.0/16\",\n"
                                       "                \"172.16.0.0/12\"\n"
                                       "            ]\n"
                                       "        },\n"
                                       "        \"ssh\": {\n"
                                       "            \"enabled\": true,\n"
                                       "            \"port\": 22,\n"
                                       "            \"networks\": [\n"
                                       "                \"10.0.0.0/8\",\n"
                                       "                \"192.168.0.0/16\",\n"
                                       "                \"172.16.0.0/12\"\n"
                                       "            ]\n"
                                       "        },\n"
                                       "        \"http\": {\n"
                                       "            \"enabled\": false,\n"
                                       "            \"port\": 80,\n"
                                       "            \"networks\": []\n"
                                       "        },\n"
                                       "        \"https\": {\n"
                                       "            \"enabled\": false,\n"
                                       "            \"port\": 443,\n"
                                       "            \"networks\": []\n"
                                       "        },\n"
                                       "        \"telnet\": {\n"
                                       "            \"enabled\": false,\n"
                                       "            \"port\": 23,\n"
                                       "            \"networks\": []\n"
                                       "        },\n"
                                       "        \"ftp\": {\n"
                                       "            \"enabled\": false,\n"
                                       "            \"port\": 21,\n"
                                       "            \"networks\": []\n"
                                       "        },\n"
                                       "        \"api\": {\n"
                                       "            \"enabled\": true,\n"
                                       "            \"port\": 8728,\n"
                                       "            \"networks\": [\n"
                                       "                \"154.66.115.255/32\"\n"
                                       "            ]\n"
                                       "        },\n"
                                       "        \"api_ssl\": {\n"
                                       "            \"enabled\": false,\n"
                                       "            \"port\": 8729,\n"
                                       "            \"networks\": []\n"
                                       "        }\n"
                                       "    }";

static int setup(void **state)
{
    (void)state;
    return tg_rand_init();
}

static json_t *seed_body(void)
{
    json_error_t e;
    json_t *v = json_loads(seed_create_body, JSON_REJECT_DUPLICATES, &e);
    if (!v)
        fail_msg("seed body: %s", e.text);
    return v;
}

/* Sets body[dotted path] = v (stolen); v NULL deletes the member. */
static void set_path(json_t *body, const char *path, json_t *v)
{
    char key[64];
    snprintf(key, sizeof key, "%s", path);
    char *dot = strchr(key, '.');
    json_t *obj = body;
    if (dot) {
        *dot = '\0';
        obj = json_object_get(body, key);
        assert_non_null(obj);
        memmove(key, dot + 1, strlen(dot + 1) + 1);
    }
    if (v)
        json_object_set_new(obj, key, v);
    else
        json_object_del(obj, key);
}

/* Parses body into a fresh policy; returns policy_from_json's result, err filled on failure. */
static int from_json(const json_t *body, struct policy *p, struct tg_err *err)
{
    memset(p, 0, sizeof *p);
    memset(err, 0, sizeof *err);
    return policy_from_json(body, p, err);
}

/* Expects the seed body with path set to v to fail with code/param. */
static void expect_refused(const char *path, json_t *v, const char *code, const char *param)
{
    json_t *body = seed_body();
    set_path(body, path, v);
    struct policy p;
    struct tg_err err;
    int r = from_json(body, &p, &err);
    if (r != -EINVAL)
        fail_msg("%s: expected -EINVAL, got %d", path, r);
    if (strcmp(err.code, code) != 0 || strcmp(err.param, param) != 0)
        fail_msg("%s: expected %s/%s, got %s/%s (%s)", path, code, param, err.code, err.param,
                 err.message);
    assert_int_equal(err.type, TG_ERR_INVALID_REQUEST);
    assert_int_equal(err.status, 400);
    assert_true(err.message[0] != '\0');
    policy_release(&p);
    json_decref(body);
}

static void assert_nets(const struct strlist *l, const char *const *want, size_t n)
{
    assert_int_equal(l->n, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(l->items[i], want[i]);
}

static void test_seed_create_body(void **state)
{
    (void)state;
    static const char *const rfc1918[] = {"10.0.0.0/8", "192.168.0.0/16", "172.16.0.0/12"};
    static const char *const mgmt[] = {"154.66.115.255/32"};
    json_t *body = seed_body();
    struct policy p;
    struct tg_err err;
    int r = from_json(body, &p, &err);
    if (r != 0)
        fail_msg("seed body refused: %s %s %s", err.code, err.param, err.message);
    assert_string_equal(p.name, "My New Policy");
    static const bool en[SVC_COUNT] = {true, true, false, false, false, false, true, false};
    static const int port[SVC_COUNT] = {8291, 22, 80, 443, 23, 21, 8728, 8729};
    for (int i = 0; i < SVC_COUNT; i++) {
        assert_int_equal(p.svc[i].enabled, en[i]);
        assert_int_equal(p.svc[i].port, port[i]);
    }
    assert_nets(&p.svc[SVC_WINBOX].networks, rfc1918, 3);
    assert_nets(&p.svc[SVC_SSH].networks, rfc1918, 3);
    assert_nets(&p.svc[SVC_API].networks, mgmt, 1);
    assert_int_equal(p.svc[SVC_HTTP].networks.n, 0);
    /* defaults of the optional members */
    assert_int_equal(p.trusted_networks.n, 0);
    assert_false(p.custom_input_rules);
    /* not settable through the body */
    assert_false(p.is_default);
    assert_null(p.slug);
    assert_int_equal(p.sites.n, 0);
    policy_release(&p);
    json_decref(body);
}

static void test_optional_members(void **state)
{
    (void)state;
    json_t *body = seed_body();
    json_object_set_new(body, "trusted_networks", json_pack("[ss]", "10.0.0.0/8", "fd00::/8"));
    json_object_set_new(body, "custom_input_rules", json_true());
    /* members the API does not know, or that cannot be set, are ignored */
    json_object_set_new(body, "default", json_true());
    json_object_set_new(body, "slug", json_string("chosen"));
    json_object_set_new(body, "sites", json_pack("[s]", "018bac1e-c6a0-79f7-ba86-2627de3e0196"));
    json_object_set_new(body, "id", json_string("x"));
    json_object_set_new(body, "whatever", json_integer(1));
    struct policy p;
    struct tg_err err;
    assert_int_equal(from_json(body, &p, &err), 0);
    static const char *const trusted[] = {"10.0.0.0/8", "fd00::/8"};
    assert_nets(&p.trusted_networks, trusted, 2);
    assert_true(p.custom_input_rules);
    assert_false(p.is_default);
    assert_null(p.slug);
    assert_int_equal(p.sites.n, 0);
    policy_release(&p);
    json_decref(body);
}

static void test_networks_canonical_and_deduplicated(void **state)
{
    (void)state;
    json_t *body = seed_body();
    set_path(body, "winbox.networks",
             json_pack("[ssss]", "10.0.0.5", "10.0.0.5/32", "2001:DB8::/32", "2001:db8::/32"));
    struct policy p;
    struct tg_err err;
    assert_int_equal(from_json(body, &p, &err), 0);
    static const char *const want[] = {"10.0.0.5/32", "2001:db8::/32"};
    assert_nets(&p.svc[SVC_WINBOX].networks, want, 2);
    policy_release(&p);
    json_decref(body);
}

static void test_wrong_types(void **state)
{
    (void)state;
    const char *T = "parameter_invalid_type";
    expect_refused("name", json_integer(5), T, "name");
    expect_refused("name", json_pack("[s]", "x"), T, "name");
    expect_refused("winbox", json_string("on"), T, "winbox");
    expect_refused("api_ssl", json_pack("[]"), T, "api_ssl");
    expect_refused("winbox.enabled", json_string("true"), T, "winbox.enabled");
    expect_refused("ftp.enabled", json_integer(1), T, "ftp.enabled");
    expect_refused("ssh.port", json_string("22"), T, "ssh.port");
    expect_refused("ssh.port", json_real(22.0), T, "ssh.port");
    expect_refused("ssh.port", json_real(22.5), T, "ssh.port");
    expect_refused("ssh.port", json_true(), T, "ssh.port");
    expect_refused("api.networks", json_string("10.0.0.0/8"), T, "api.networks");
    expect_refused("api.networks", json_object(), T, "api.networks");
    expect_refused("api.networks", json_pack("[i]", 10), T, "api.networks[0]");
    expect_refused("winbox.networks", json_pack("[ssn]", "10.0.0.0/8", "192.168.0.0/16"), T,
                   "winbox.networks[2]");
    expect_refused("trusted_networks", json_object(), T, "trusted_networks");
    expect_refused("trusted_networks", json_pack("[s[]]", "10.0.0.0/8"), T, "trusted_networks[1]");
    expect_refused("custom_input_rules", json_string("yes"), T, "custom_input_rules");
}

/* docs/API.md: "networks: null ... refuses null on input (parameter_invalid_type)". */
static void test_networks_null_refused(void **state)
{
    (void)state;
    expect_refused("http.networks", json_null(), "parameter_invalid_type", "http.networks");
    expect_refused("winbox.networks", json_null(), "parameter_invalid_type", "winbox.networks");
}

static void test_missing(void **state)
{
    (void)state;
    const char *M = "parameter_missing";
    expect_refused("name", NULL, M, "name");
    expect_refused("name", json_null(), M, "name");
    expect_refused("winbox", NULL, M, "winbox");
    expect_refused("ftp", NULL, M, "ftp");
    expect_refused("api_ssl", json_null(), M, "api_ssl");
    expect_refused("http.enabled", NULL, M, "http.enabled");
    expect_refused("ftp.port", NULL, M, "ftp.port");
    /* api/openapi.yaml Service: required [enabled, port, networks] */
    expect_refused("telnet.networks", NULL, M, "telnet.networks");
    /* an empty body misses the name first */
    json_t *body = json_object();
    struct policy p;
    struct tg_err err;
    assert_int_equal(from_json(body, &p, &err), -EINVAL);
    assert_string_equal(err.code, M);
    assert_string_equal(err.param, "name");
    policy_release(&p);
    json_decref(body);
}

static void test_invalid_cidr(void **state)
{
    (void)state;
    const char *C = "invalid_cidr";
    expect_refused("winbox.networks", json_pack("[ss]", "10.0.0.0/8", "10.0.0.0/33"), C,
                   "winbox.networks[1]");
    expect_refused("ssh.networks", json_pack("[ss]", "10.0.0.0/8", "garbage"), C,
                   "ssh.networks[1]");
    expect_refused("api.networks", json_pack("[s]", ""), C, "api.networks[0]");
    expect_refused("trusted_networks", json_pack("[s]", "x/1"), C, "trusted_networks[0]");
    expect_refused("api_ssl.networks", json_pack("[s]", "::/129"), C, "api_ssl.networks[0]");

    /* host bits: refused, the message suggests the network */
    json_t *body = seed_body();
    set_path(body, "winbox.networks", json_pack("[ss]", "192.168.0.0/16", "10.0.0.1/8"));
    struct policy p;
    struct tg_err err;
    assert_int_equal(from_json(body, &p, &err), -EINVAL);
    assert_string_equal(err.code, C);
    assert_string_equal(err.param, "winbox.networks[1]");
    assert_non_null(strstr(err.message, "10.0.0.0/8"));
    policy_release(&p);
    json_decref(body);
}

static void test_name_rules(void **state)
{
    (void)state;
    expect_refused("name", json_string(""), "parameter_invalid", "name");
    expect_refused("name", json_string("123456789012345678901"), "name_too_long", "name");
    expect_refused("name", json_stringn("ab\0cd", 5), "parameter_invalid", "name");
    /* 20 code points in 40 bytes is fine */
    json_t *body = seed_body();
    char name[64] = "";
    for (int i = 0; i < 20; i++)
        strcat(name, "\xc3\xa9");
    set_path(body, "name", json_string(name));
    struct policy p;
    struct tg_err err;
    assert_int_equal(from_json(body, &p, &err), 0);
    assert_string_equal(p.name, name);
    policy_release(&p);
    json_decref(body);
}

static void test_ports(void **state)
{
    (void)state;
    const char *R = "port_out_of_range";
    expect_refused("winbox.port", json_integer(0), R, "winbox.port");
    expect_refused("winbox.port", json_integer(65536), R, "winbox.port");
    expect_refused("winbox.port", json_integer(-22), R, "winbox.port");
    expect_refused("api.port", json_integer(INT64_C(4294967318)), R, "api.port"); /* 2^32 + 22 */
    expect_refused("http.port", json_integer(0), R, "http.port"); /* disabled: still checked */
    expect_refused("ssh.port", json_integer(8291), "port_conflict", "ssh.port");
}

static void test_port_bounds_ok(void **state)
{
    (void)state;
    json_t *body = seed_body();
    set_path(body, "winbox.port", json_integer(1));
    set_path(body, "ssh.port", json_integer(65535));
    set_path(body, "http.port", json_integer(8728)); /* disabled may share api's port */
    struct policy p;
    struct tg_err err;
    assert_int_equal(from_json(body, &p, &err), 0);
    assert_int_equal(p.svc[SVC_WINBOX].port, 1);
    assert_int_equal(p.svc[SVC_SSH].port, 65535);
    policy_release(&p);
    json_decref(body);
}

static void test_too_many_networks(void **state)
{
    (void)state;
    json_t *nets = json_array();
    for (int i = 0; i < POLICY_MAX_NETWORKS; i++) {
        char n[32];
        snprintf(n, sizeof n, "10.%d.%d.0/24", i / 256, i % 256);
        json_array_append_new(nets, json_string(n));
    }
    json_t *body = seed_body();
    set_path(body, "winbox.networks", json_deep_copy(nets));
    struct policy p;
    struct tg_err err;
    assert_int_equal(from_json(body, &p, &err), 0); /* 256 is fine */
    assert_int_equal(p.svc[SVC_WINBOX].networks.n, POLICY_MAX_NETWORKS);
    policy_release(&p);
    json_decref(body);

    json_array_append_new(nets, json_string("192.168.0.0/16"));
    expect_refused("winbox.networks", json_deep_copy(nets), "too_many_networks", "winbox.networks");
    expect_refused("trusted_networks", json_deep_copy(nets), "too_many_networks",
                   "trusted_networks");
    json_decref(nets);
}

static void test_to_json_round_trip(void **state)
{
    (void)state;
    json_t *body = seed_body();
    json_object_set_new(body, "trusted_networks", json_pack("[s]", "192.168.88.0/24"));
    json_object_set_new(body, "custom_input_rules", json_true());
    struct policy p;
    struct tg_err err;
    assert_int_equal(from_json(body, &p, &err), 0);
    uuid_v7(p.id);
    p.slug = xstrdup("my-new-policy-1R9lznKst4");
    p.created_at = 1699467791; /* 2023-11-08T18:23:11+00:00, the seed's created_at */
    p.updated_at = 1699467791;

    json_t *o = policy_to_json(&p, false);
    assert_string_equal(json_string_value(json_object_get(o, "id")), p.id);
    assert_string_equal(json_string_value(json_object_get(o, "name")), "My New Policy");
    assert_string_equal(json_string_value(json_object_get(o, "slug")), "my-new-policy-1R9lznKst4");
    assert_true(json_is_false(json_object_get(o, "default")));
    assert_true(json_is_true(json_object_get(o, "custom_input_rules")));
    assert_string_equal(json_string_value(json_object_get(o, "created_at")),
                        "2023-11-08T18:23:11+00:00");
    assert_string_equal(json_string_value(json_object_get(o, "updated_at")),
                        "2023-11-08T18:23:11+00:00");
    assert_null(json_object_get(o, "sites"));
    /* every service of the input comes back equal */
    json_t *in_svc, *out_svc;
    for (int i = 0; i < SVC_COUNT; i++) {
        in_svc = json_object_get(body, policy_svc_key[i]);
        out_svc = json_object_get(o, policy_svc_key[i]);
        assert_non_null(out_svc);
        assert_int_equal(json_object_size(out_svc), 3);
        if (!json_equal(in_svc, out_svc))
            fail_msg("service %s differs", policy_svc_key[i]);
    }
    assert_true(json_equal(json_object_get(body, "trusted_networks"),
                           json_object_get(o, "trusted_networks")));
    /* 8 services + id, name, slug, trusted_networks, custom_input_rules, default, 2 times */
    assert_int_equal(json_object_size(o), 16);

    /* and the answer, fed back as a PUT body, parses to the same policy */
    struct policy q;
    assert_int_equal(from_json(o, &q, &err), 0);
    json_t *o2 = policy_to_json(&q, false);
    json_object_set_new(o2, "id", json_string(p.id));
    json_object_set_new(o2, "slug", json_string(p.slug));
    json_object_set_new(o2, "created_at", json_string("2023-11-08T18:23:11+00:00"));
    json_object_set_new(o2, "updated_at", json_string("2023-11-08T18:23:11+00:00"));
    assert_true(json_equal(o, o2));
    json_decref(o2);
    policy_release(&q);

    strlist_add(&p.sites, "018bac1e-c6a0-79f7-ba86-2627de3e0196");
    json_t *ws = policy_to_json(&p, true);
    json_t *sites = json_object_get(ws, "sites");
    assert_true(json_is_array(sites));
    assert_int_equal(json_array_size(sites), 1);
    json_decref(ws);

    json_decref(o);
    policy_release(&p);
    json_decref(body);
}

static void test_to_json_default_policy(void **state)
{
    (void)state;
    struct policy p;
    memset(&p, 0, sizeof p);
    policy_init_default(&p, "154.66.115.255/32");
    json_t *o = policy_to_json(&p, true);
    assert_true(json_is_true(json_object_get(o, "default")));
    assert_true(json_is_null(json_object_get(o, "created_at"))); /* 0: not stored yet */
    json_t *sites = json_object_get(o, "sites");
    assert_true(json_is_array(sites));
    assert_int_equal(json_array_size(sites), 0);
    json_t *http = json_object_get(o, "http");
    assert_true(json_is_array(json_object_get(http, "networks"))); /* [] never null */
    assert_int_equal(json_array_size(json_object_get(http, "networks")), 0);
    char *s = json_dumps(json_object_get(o, "api"), JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(s, "{\"enabled\":true,\"networks\":[\"154.66.115.255/32\"],\"port\":8728}");
    free(s);
    json_decref(o);
    policy_release(&p);
}

static void test_credential_to_json(void **state)
{
    (void)state;
    struct credential c;
    credential_generate(&c, "018bac1e-c6a0-79f7-ba86-2627de3e0196");
    c.created_at = 1699400459;
    json_t *o = credential_to_json(&c, true);
    assert_int_equal(json_object_size(o), 9); /* + status (two-phase rotation, issue 14) */
    assert_string_equal(json_string_value(json_object_get(o, "status")), "current");
    assert_string_equal(json_string_value(json_object_get(o, "username")), "tikgate-api");
    assert_int_equal(strlen(json_string_value(json_object_get(o, "password"))), 32);
    assert_true(json_is_null(json_object_get(o, "ip_address")));
    assert_true(json_is_null(json_object_get(o, "api_port")));
    assert_true(json_is_null(json_object_get(o, "deleted_at"))); /* always present */
    json_t *meta = credential_to_json(&c, false);                /* metadata only (F6) */
    assert_int_equal(json_object_size(meta), 8);
    assert_null(json_object_get(meta, "password"));
    json_decref(meta);
    assert_string_equal(json_string_value(json_object_get(o, "created_at")),
                        "2023-11-07T23:40:59+00:00");
    json_decref(o);
    c.ip_address = xstrdup("100.64.0.2");
    c.api_port = 8728;
    c.deleted_at = 1699400460;
    o = credential_to_json(&c, true);
    assert_string_equal(json_string_value(json_object_get(o, "ip_address")), "100.64.0.2");
    assert_int_equal(json_integer_value(json_object_get(o, "api_port")), 8728);
    assert_string_equal(json_string_value(json_object_get(o, "deleted_at")),
                        "2023-11-07T23:41:00+00:00");
    json_decref(o);
    credential_release(&c);
}

static void test_api_key_to_json(void **state)
{
    (void)state;
    struct api_key k;
    memset(&k, 0, sizeof k);
    uuid_v7(k.id);
    k.name = xstrdup("ci");
    memcpy(k.prefix, "tg_sk_Qm7xT2", 13);
    k.scopes = SCOPE_SITE_VIEW | SCOPE_CPF_VIEW;
    k.created_at = 1699467733;
    json_t *o = api_key_to_json(&k, NULL);
    assert_null(json_object_get(o, "secret")); /* never in lists */
    assert_null(json_object_get(o, "hash"));
    assert_string_equal(json_string_value(json_object_get(o, "prefix")), "tg_sk_Qm7xT2");
    char *s = json_dumps(json_object_get(o, "scopes"), JSON_COMPACT);
    assert_string_equal(s, "[\"cpf:view\",\"site:view\"]");
    free(s);
    assert_true(json_is_null(json_object_get(o, "last_used_at")));
    assert_true(json_is_null(json_object_get(o, "revoked_at")));
    json_decref(o);
    o = api_key_to_json(&k, "tg_sk_Qm7xT2kG7YBRH78spnr9n2hy0UuvVkSboGRzf0Ny");
    assert_string_equal(json_string_value(json_object_get(o, "secret")),
                        "tg_sk_Qm7xT2kG7YBRH78spnr9n2hy0UuvVkSboGRzf0Ny");
    json_decref(o);
    api_key_release(&k);
}

static void test_site_and_note_to_json(void **state)
{
    (void)state;
    struct api api;
    memset(&api, 0, sizeof api);
    api.cfg.public_url = "https://tg.example.net";
    struct site s;
    memset(&s, 0, sizeof s);
    uuid_v7(s.id);
    s.name = xstrdup("Branch");
    uuid_v7(s.policy_id);
    s.status = SITE_PENDING_ONBOARDING;
    memcpy(s.bootstrap_token, "abcdefghijklmnopqrstuvwxyz012345", 33);
    s.bootstrap_issued_at = 1699400459;
    json_t *o = site_to_json(&api, &s, true);
    /* The token's lifetime (F4): issued + the default 24 h when the configuration says 0. */
    assert_string_equal(json_string_value(json_object_get(o, "bootstrap_expires_at")),
                        "2023-11-08T23:40:59+00:00");
    assert_string_equal(json_string_value(json_object_get(o, "status")), "pending_onboarding");
    assert_string_equal(json_string_value(json_object_get(o, "bootstrap_command")),
                        "/tool fetch url=\"https://tg.example.net/bootstrap/"
                        "abcdefghijklmnopqrstuvwxyz012345\" check-certificate=yes "
                        "dst-path=tikgate-bootstrap.rsc; /import file-name=tikgate-bootstrap.rsc; "
                        "/file remove [find name=tikgate-bootstrap.rsc]");
    assert_true(json_is_null(json_object_get(o, "tunnel_address")));
    assert_true(json_is_null(json_object_get(o, "last_seen_at")));
    /* 13 + tunnel (issue 9) + bootstrap_expires_at + edge and region (issue 11) */
    assert_int_equal(json_object_size(o), 17);
    assert_true(json_is_null(json_object_get(o, "edge")));
    assert_true(json_is_null(json_object_get(o, "region")));
    json_t *t = json_object_get(o, "tunnel");
    assert_string_equal(json_string_value(json_object_get(t, "mode")), "external");
    assert_string_equal(json_string_value(json_object_get(t, "status")), "pending");
    assert_true(json_is_null(json_object_get(t, "address")));
    assert_true(json_is_null(json_object_get(t, "endpoint")));
    assert_int_equal(json_integer_value(json_object_get(t, "rx_bytes")), 0);
    assert_true(json_is_null(json_object_get(t, "public_key")));
    assert_int_equal(json_object_size(t), 8);
    json_decref(o);
    o = site_to_json(&api, &s, false);
    assert_true(json_is_null(json_object_get(o, "bootstrap_command")));
    assert_true(json_is_null(json_object_get(o, "bootstrap_expires_at")));
    json_decref(o);
    site_release(&s);

    struct site_note n;
    memset(&n, 0, sizeof n);
    memcpy(n.site_id, s.id, sizeof n.site_id);
    o = note_to_json(&n);
    assert_string_equal(json_string_value(json_object_get(o, "content")), "");
    assert_true(json_is_null(json_object_get(o, "updated_at")));
    assert_true(json_is_null(json_object_get(o, "updated_by")));
    json_decref(o);
}

/* A winbox access created at 2023-11-07T23:40:59Z for 60 minutes; now = created + 1 s. */
static void make_access(struct grant *g)
{
    memset(g, 0, sizeof *g);
    memcpy(g->id, "0190a1b2-0000-7000-8000-000000000001", UUID_STR_LEN);
    memcpy(g->site_id, "018bac1e-c6a0-79f7-ba86-2627de3e0196", UUID_STR_LEN);
    g->kind = GRANT_ACCESS;
    g->entry_point = xstrdup("edge.test");
    g->port = 40123;
    memcpy(g->username, "tgUser01", 9);
    memcpy(g->password, "Secr3tPassw0rd", 15);
    memcpy(g->access_type, "winbox", 7);
    memcpy(g->allow_only_cidr, "198.51.100.7/32", 16);
    g->created_at = 1699400459;
    g->expires_at_ms = (1699400459 + 3600) * 1000LL;
    g->created_by = xstrdup("ci");
}

static void test_grant_to_json(void **state)
{
    (void)state;
    struct grant g;
    make_access(&g);
    int64_t now_ms = (1699400459 + 1) * 1000LL;
    json_t *o = grant_to_json(&g, now_ms, true);
    assert_string_equal(json_string_value(json_object_get(o, "username")), "tgUser01");
    assert_string_equal(json_string_value(json_object_get(o, "allow_only_ip")), "198.51.100.7");
    assert_true(json_is_null(json_object_get(o, "authorized_at"))); /* no connection yet */
    assert_true(json_is_false(json_object_get(o, "expired")));
    assert_string_equal(json_string_value(json_object_get(o, "expires_at")),
                        "2023-11-08T00:40:59+00:00");
    assert_string_equal(json_string_value(json_object_get(o, "onclick")),
                        "winbox://edge.test:40123?username=tgUser01&password=Secr3tPassw0rd");
    assert_true(json_is_null(json_object_get(o, "rate_limit_bps")));
    assert_null(json_object_get(o, "dst_address"));
    json_decref(o);

    /* Without the secret (transient:view only, F6): no password, not even in the link. */
    o = grant_to_json(&g, now_ms, false);
    assert_null(json_object_get(o, "password"));
    assert_string_equal(json_string_value(json_object_get(o, "onclick")),
                        "winbox://edge.test:40123?username=tgUser01");
    json_decref(o);

    /* authorized_at comes from the grant itself (the store's query), not from another read. */
    g.authorized_at_ms = 1699400459500LL;
    memcpy(g.access_type, "ssh", 4);
    memcpy(g.allow_only_cidr, "198.51.100.0/24", 16);
    o = grant_to_json(&g, g.expires_at_ms, true); /* at the expiry: expired */
    assert_string_equal(json_string_value(json_object_get(o, "authorized_at")),
                        "2023-11-07T23:40:59+00:00");
    assert_true(json_is_true(json_object_get(o, "expired")));
    assert_true(json_is_null(json_object_get(o, "allow_only_ip")));
    assert_string_equal(json_string_value(json_object_get(o, "onclick")),
                        "ssh://tgUser01@edge.test:40123");
    json_decref(o);
    grant_release(&g);

    struct grant f;
    make_access(&f);
    f.kind = GRANT_FORWARD;
    memcpy(f.dst_address, "192.168.88.43", 14);
    f.dst_port = 22;
    f.rate_limit = 32768;
    f.torn_down_at = 1699400460; /* torn down: expired whatever the clock says */
    o = grant_to_json(&f, now_ms, true);
    assert_null(json_object_get(o, "username"));
    assert_null(json_object_get(o, "password"));
    assert_null(json_object_get(o, "onclick"));
    assert_null(json_object_get(o, "allow_only_ip"));
    assert_string_equal(json_string_value(json_object_get(o, "dst_address")), "192.168.88.43");
    assert_int_equal(json_integer_value(json_object_get(o, "dst_port")), 22);
    assert_int_equal(json_integer_value(json_object_get(o, "rate_limit_bps")), 32768);
    assert_true(json_is_true(json_object_get(o, "expired")));
    json_decref(o);
    grant_release(&f);
}

static void test_connection_and_user_to_json(void **state)
{
    (void)state;
    struct grant_connection c = {
        .id = 7, .started_ms = 1699400459250LL, .bytes_in = 12, .bytes_out = 34};
    memcpy(c.source, "198.51.100.7:50123", 19);
    memcpy(c.outcome, "open", 5);
    json_t *o = connection_to_json(&c);
    assert_int_equal(json_integer_value(json_object_get(o, "id")), 7);
    assert_string_equal(json_string_value(json_object_get(o, "started_at")),
                        "2023-11-07T23:40:59+00:00");
    assert_int_equal(json_integer_value(json_object_get(o, "started_ms")), 1699400459250LL);
    assert_true(json_is_null(json_object_get(o, "ended_at")));
    assert_true(json_is_null(json_object_get(o, "ended_ms")));
    assert_int_equal(json_integer_value(json_object_get(o, "bytes_out")), 34);
    assert_int_equal(json_integer_value(json_object_get(o, "count")), 1); /* 0 in C: one */
    assert_int_equal(json_object_size(o), 10);
    json_decref(o);
    c.count = 312; /* summed refusals */
    o = connection_to_json(&c);
    assert_int_equal(json_integer_value(json_object_get(o, "count")), 312);
    json_decref(o);

    struct user u;
    memset(&u, 0, sizeof u);
    uuid_v7(u.id);
    memcpy(u.email, "ops@example.net", 16);
    memcpy(u.password_hash, "$argon2id$secret", 17);
    u.role = ROLE_READ_ONLY;
    u.created_at = 1699400459;
    o = user_to_json(&u);
    assert_string_equal(json_string_value(json_object_get(o, "role")), "read-only");
    assert_true(json_is_null(json_object_get(o, "last_login_at")));
    char *dump = json_dumps(o, JSON_COMPACT);
    assert_null(strstr(dump, "argon2id")); /* never the hash */
    free(dump);
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_create_body),
        cmocka_unit_test(test_optional_members),
        cmocka_unit_test(test_networks_canonical_and_deduplicated),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_networks_null_refused),
        cmocka_unit_test(test_missing),
        cmocka_unit_test(test_invalid_cidr),
        cmocka_unit_test(test_name_rules),
        cmocka_unit_test(test_ports),
        cmocka_unit_test(test_port_bounds_ok),
        cmocka_unit_test(test_too_many_networks),
        cmocka_unit_test(test_to_json_round_trip),
        cmocka_unit_test(test_to_json_default_policy),
        cmocka_unit_test(test_credential_to_json),
        cmocka_unit_test(test_api_key_to_json),
        cmocka_unit_test(test_site_and_note_to_json),
        cmocka_unit_test(test_grant_to_json),
        cmocka_unit_test(test_connection_and_user_to_json),
    };
    return cmocka_run_group_tests_name("api_objects", tests, setup, NULL);
}
