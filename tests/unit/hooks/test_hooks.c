/* test_hooks.c - webhook signatures, address classification and the URL check, the body. */
/* cmocka.h needs these headers first */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include "hooks.h"
#include "rand.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

static void test_sign_known_vector(void **state)
{
    (void)state;
    /* python3: hmac.new(b'whsec_test', b'1700000000.{"a":1}', hashlib.sha256).hexdigest() */
    char sig[HOOKS_SIG_MAX];
    hooks_sign("whsec_test", 1700000000, "{\"a\":1}", 7, sig);
    assert_string_equal(sig, "t=1700000000,v1="
                             "38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789");
    hooks_sign("whsec_test", 1700000001, "{\"a\":1}", 7, sig);
    assert_null(strstr(sig, "38877139021993b8")); /* the timestamp is signed */
}

static void test_secret_shape(void **state)
{
    (void)state;
    char a[HOOKS_SECRET_LEN + 1], b[HOOKS_SECRET_LEN + 1];
    hooks_secret_generate(a);
    hooks_secret_generate(b);
    assert_int_equal(strlen(a), HOOKS_SECRET_LEN);
    assert_memory_equal(a, "whsec_", 6);
    assert_string_not_equal(a, b);
}

static bool refused(const char *ip)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (strchr(ip, ':')) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        assert_int_equal(inet_pton(AF_INET6, ip, &s6->sin6_addr), 1);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        assert_int_equal(inet_pton(AF_INET, ip, &s4->sin_addr), 1);
    }
    return hooks_addr_refused((struct sockaddr *)&ss);
}

static void test_address_classes(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "127.0.0.1",       "127.255.0.9",  "10.0.0.1",   "172.16.5.4",
        "172.31.255.255",  "192.168.1.1",  "100.64.0.1", "100.127.255.254",
        "169.254.169.254", "0.0.0.0",      "224.0.0.1",  "239.1.2.3",
        "255.255.255.255", "::1",          "::",         "fe80::1",
        "fc00::1",         "fd12:3456::1", "ff02::1",    "::ffff:127.0.0.1",
        "::ffff:10.1.2.3"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_true(refused(bad[i]));
    static const char *const good[] = {"93.184.215.14", "8.8.8.8",         "172.32.0.1",
                                       "100.128.0.1",   "2606:4700::1111", "::ffff:8.8.8.8"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_false(refused(good[i]));
}

static void test_url_resolve_numeric(void **state)
{
    (void)state;
    char addr[64], host[256];
    int port = 0;
    assert_int_equal(hooks_url_resolve("https://8.8.8.8/hook", false, addr, host, &port), 0);
    assert_string_equal(addr, "8.8.8.8");
    assert_int_equal(port, 443);
    assert_int_equal(hooks_url_resolve("http://[2606:4700::1111]:8080/", false, addr, host, &port),
                     0);
    assert_string_equal(host, "2606:4700::1111");
    assert_int_equal(port, 8080);
    assert_int_equal(hooks_url_resolve("http://127.0.0.1:9/", false, addr, host, &port), -EPERM);
    assert_int_equal(hooks_url_resolve("http://[::1]/", false, addr, host, &port), -EPERM);
    assert_int_equal(hooks_url_resolve("http://127.0.0.1:9/", true, addr, host, &port), 0);
    assert_int_equal(port, 9);
    assert_int_equal(hooks_url_resolve("gopher://8.8.8.8/", false, addr, host, &port), -EINVAL);
    assert_int_equal(hooks_url_resolve("http://8.8.8.8:99999/", false, addr, host, &port), -EINVAL);
}

static void test_body(void **state)
{
    (void)state;
    struct store_webhook_delivery d;
    memset(&d, 0, sizeof d);
    strcpy(d.event_id, "01890000-0000-7000-8000-000000000001");
    strcpy(d.hook.tenant_id, "01890000-0000-7000-8000-000000000002");
    strcpy(d.object_id, "01890000-0000-7000-8000-000000000003");
    strcpy(d.site_id, "01890000-0000-7000-8000-000000000004");
    d.type = WEBHOOK_JOB_FAILED;
    d.detail = "router said \"no\"";
    d.created_at_ms = 1700000000123;
    char *s = hooks_body(&d);
    json_t *o = json_loads(s, 0, NULL);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "id")), d.event_id);
    assert_string_equal(json_string_value(json_object_get(o, "type")), "job.failed");
    assert_string_equal(json_string_value(json_object_get(o, "created_at")),
                        "2023-11-14T22:13:20+00:00");
    json_t *data = json_object_get(o, "data");
    assert_string_equal(json_string_value(json_object_get(data, "job_id")), d.object_id);
    assert_string_equal(json_string_value(json_object_get(data, "site_id")), d.site_id);
    assert_string_equal(json_string_value(json_object_get(data, "message")), d.detail);
    json_decref(o);
    free(s);
    d.type = WEBHOOK_SITE_OFFLINE;
    s = hooks_body(&d);
    o = json_loads(s, 0, NULL);
    data = json_object_get(o, "data");
    assert_null(json_object_get(data, "job_id"));
    assert_null(json_object_get(data, "message"));
    assert_string_equal(json_string_value(json_object_get(data, "site_id")), d.site_id);
    json_decref(o);
    free(s);
}

int main(void)
{
    if (tg_rand_init() < 0 || hooks_global_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sign_known_vector),
        cmocka_unit_test(test_secret_shape),
        cmocka_unit_test(test_address_classes),
        cmocka_unit_test(test_url_resolve_numeric),
        cmocka_unit_test(test_body),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
