/* test_tunnel.c - tunnel modes and health, router keys, RouterOS floor, pool, address rules. */
/* cmocka.h needs setjmp.h, stdarg.h and stddef.h first: keep this order. */
/* clang-format off */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tunnel.h"
/* clang-format on */

static void test_names(void **state)
{
    (void)state;
    enum tunnel_mode m;
    enum tunnel_status s;
    assert_int_equal(tunnel_mode_parse("managed", &m), 0);
    assert_int_equal(m, TUNNEL_MODE_MANAGED);
    assert_int_equal(tunnel_mode_parse("Managed", &m), -EINVAL);
    assert_string_equal(tunnel_mode_name(TUNNEL_MODE_EXTERNAL), "external");
    assert_int_equal(tunnel_status_parse("down", &s), 0);
    assert_int_equal(s, TUNNEL_DOWN);
    assert_string_equal(tunnel_status_name((enum tunnel_status)9), "unknown");
}

static void test_status(void **state)
{
    (void)state;
    assert_int_equal(tunnel_status_derive(0, 1000), TUNNEL_PENDING);
    assert_int_equal(tunnel_status_derive(1000, 1000 + 179), TUNNEL_UP);
    assert_int_equal(tunnel_status_derive(1000, 1000 + 180), TUNNEL_DOWN);
    /* the edge's limit, and traffic after the handshake */
    assert_int_equal(tunnel_status_within(0, 2000, 2000, 10), TUNNEL_PENDING);
    assert_int_equal(tunnel_status_within(1000, 1000, 1009, 10), TUNNEL_UP);
    assert_int_equal(tunnel_status_within(1000, 1000, 1010, 10), TUNNEL_DOWN);
    assert_int_equal(tunnel_status_within(1000, 1100, 1109, 10), TUNNEL_UP);
    assert_int_equal(tunnel_status_within(1000, 1100, 1110, 10), TUNNEL_DOWN);
    assert_int_equal(tunnel_status_within(1000, 0, 1005, 10), TUNNEL_UP);
}

static void test_keys(void **state)
{
    (void)state;
    assert_true(tunnel_key_valid("mrgYbg/VijsHzQnIf1xqVsqMqfYanVEnnA1ugIHnpBY="));
    assert_true(tunnel_key_valid("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="));
    assert_false(
        tunnel_key_valid("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=")); /* padding bits */
    assert_false(tunnel_key_valid("mrgYbg/VijsHzQnIf1xqVsqMqfYanVEnnA1ugIHnpBY"));
    assert_false(tunnel_key_valid("mrgYbg/VijsHzQnIf1xqVsqMqfYanVEnnA1ugIHnpBY=="));
    assert_false(tunnel_key_valid("mrgYbg-VijsHzQnIf1xqVsqMqfYanVEnnA1ugIHnpBY="));
    assert_false(tunnel_key_valid(""));
    assert_false(tunnel_key_valid(NULL));
}

static void test_versions(void **state)
{
    (void)state;
    assert_true(tunnel_ros_version_ok("7.8"));
    assert_true(tunnel_ros_version_ok("7.15.3 (stable)"));
    assert_true(tunnel_ros_version_ok("8.0"));
    assert_false(tunnel_ros_version_ok("7.7"));
    assert_false(tunnel_ros_version_ok("6.49.10 (long-term)"));
    assert_false(tunnel_ros_version_ok("7"));
    assert_false(tunnel_ros_version_ok(NULL));
}

static void test_pool(void **state)
{
    (void)state;
    uint32_t first, last;
    char s[16];
    assert_int_equal(tunnel_pool_parse("100.64.0.0/10", &first, &last), 0);
    tunnel_ip_format(first, s);
    assert_string_equal(s, "100.64.0.1");
    tunnel_ip_format(last, s);
    assert_string_equal(s, "100.127.255.254");
    assert_int_equal(tunnel_pool_parse("100.64.0.1/10", &first, &last), -EINVAL);
    assert_int_equal(tunnel_pool_parse("fd00::/64", &first, &last), -EINVAL);
    assert_int_equal(tunnel_pool_parse("10.0.0.0/31", &first, &last), -EINVAL);
}

static void refused(const char *addr, const char *nets)
{
    struct tg_err err;
    if (tunnel_address_check(addr, nets, "100.64.0.0/10", "tunnel_address", &err) == 0)
        fail_msg("%s should be refused with %s", addr, nets);
    assert_string_equal(err.code, addr[0] == 'x' ? "invalid_address" : "tunnel_address_forbidden");
}

static void test_address(void **state)
{
    (void)state;
    const char *def = "100.64.0.0/10";
    assert_int_equal(tunnel_address_check("100.64.3.4", def, NULL, "p", NULL), 0);
    assert_int_equal(
        tunnel_address_check("10.9.0.4", "10.9.0.0/16, 100.64.0.0/10", NULL, "p", NULL), 0);
    refused("127.0.0.1", def);
    refused("127.0.0.3", def);
    refused("::1", def);
    refused("::ffff:127.0.0.1", def);
    refused("0.0.0.0", def);
    refused("169.254.169.254", def);
    refused("224.0.0.1", def);
    refused("10.0.0.1", def);
    refused("xyz", def);
    /* A loopback lab (TIKGATE_MANAGEMENT_NETWORKS=127.0.0.0/8): its routers, never the node. */
    assert_int_equal(tunnel_address_check("127.0.0.3", "127.0.0.0/8", def, "p", NULL), 0);
    assert_int_equal(tunnel_address_check("100.64.0.7", "127.0.0.0/8", def, "p", NULL), 0);
    refused("127.0.0.1", "127.0.0.0/8");
    refused("0.0.0.0", "0.0.0.0/0");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names), cmocka_unit_test(test_status),
        cmocka_unit_test(test_keys),  cmocka_unit_test(test_versions),
        cmocka_unit_test(test_pool),  cmocka_unit_test(test_address),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
