/* test_netaddr.c - numeric host (+ port) and "host:port" to sockaddr. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
/* clang-format off: cmocka.h needs the headers above */
#include <cmocka.h>
/* clang-format on */

#include "netaddr.h"

/* The text form of ss ("1.2.3.4 80" or "::1 80") in a static buffer. */
static const char *show(const struct sockaddr_storage *ss)
{
    static char out[80];
    char ip[INET6_ADDRSTRLEN];
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
        snprintf(out, sizeof out, "%s %u", ip, ntohs(in->sin_port));
    } else {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
        snprintf(out, sizeof out, "%s %u", ip, ntohs(in6->sin6_port));
    }
    return out;
}

static void test_parse_v4(void **state)
{
    (void)state;
    struct sockaddr_storage ss;
    memset(&ss, 0xaa, sizeof ss);
    socklen_t len = 0;
    assert_int_equal(netaddr_parse("192.0.2.1", 8291, &ss, &len), 0);
    assert_int_equal(ss.ss_family, AF_INET);
    assert_int_equal(len, sizeof(struct sockaddr_in));
    assert_string_equal(show(&ss), "192.0.2.1 8291");
    /* the rest of the storage is zeroed (sin_zero, padding) */
    const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;
    for (size_t i = 0; i < sizeof in->sin_zero; i++)
        assert_int_equal(in->sin_zero[i], 0);
    assert_int_equal(netaddr_parse("0.0.0.0", 0, &ss, &len), 0);
    assert_string_equal(show(&ss), "0.0.0.0 0");
    assert_int_equal(netaddr_parse("255.255.255.255", 65535, &ss, &len), 0);
    assert_string_equal(show(&ss), "255.255.255.255 65535");
}

static void test_parse_v6(void **state)
{
    (void)state;
    struct sockaddr_storage ss;
    memset(&ss, 0xaa, sizeof ss);
    socklen_t len = 0;
    assert_int_equal(netaddr_parse("2001:db8::1", 22, &ss, &len), 0);
    assert_int_equal(ss.ss_family, AF_INET6);
    assert_int_equal(len, sizeof(struct sockaddr_in6));
    assert_string_equal(show(&ss), "2001:db8::1 22");
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;
    assert_int_equal(in6->sin6_flowinfo, 0);
    assert_int_equal(in6->sin6_scope_id, 0);
    assert_int_equal(netaddr_parse("::", 1, &ss, &len), 0);
    assert_string_equal(show(&ss), ":: 1");
    assert_int_equal(netaddr_parse("::ffff:10.0.0.1", 1, &ss, &len), 0);
    assert_int_equal(ss.ss_family, AF_INET6);
}

static void test_parse_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {"",          "localhost", "example.com", "1.2.3",
                                      "1.2.3.4.5", "256.0.0.1", "[::1]",       "::1%lo",
                                      " 1.2.3.4",  "1.2.3.4 ",  "1.2.3.4:80",  "fe80::1::2"};
    struct sockaddr_storage ss;
    memset(&ss, 0x5a, sizeof ss);
    socklen_t len = 77;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (netaddr_parse(bad[i], 80, &ss, &len) != -EINVAL)
            fail_msg("'%s' should be refused", bad[i]);
    assert_int_equal(netaddr_parse(NULL, 80, &ss, &len), -EINVAL);
    /* outputs untouched on failure */
    assert_int_equal(len, 77);
    assert_int_equal(((unsigned char *)&ss)[0], 0x5a);
}

static void test_hostport(void **state)
{
    (void)state;
    struct sockaddr_storage ss;
    socklen_t len;
    assert_int_equal(netaddr_parse_hostport("127.0.0.1:8080", &ss, &len), 0);
    assert_string_equal(show(&ss), "127.0.0.1 8080");
    assert_int_equal(len, sizeof(struct sockaddr_in));
    assert_int_equal(netaddr_parse_hostport("0.0.0.0:0", &ss, &len), 0);
    assert_string_equal(show(&ss), "0.0.0.0 0");
    assert_int_equal(netaddr_parse_hostport("[::1]:443", &ss, &len), 0);
    assert_string_equal(show(&ss), "::1 443");
    assert_int_equal(len, sizeof(struct sockaddr_in6));
    assert_int_equal(netaddr_parse_hostport("[::]:65535", &ss, &len), 0);
    assert_string_equal(show(&ss), ":: 65535");
    assert_int_equal(netaddr_parse_hostport("localhost:9000", &ss, &len), 0);
    assert_string_equal(show(&ss), "127.0.0.1 9000");
    /* the last colon separates the port: a bare v6 address needs brackets */
    assert_int_equal(netaddr_parse_hostport("::1:80", &ss, &len), 0);
    assert_string_equal(show(&ss), "::1 80");
}

static void test_hostport_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "127.0.0.1",
        "127.0.0.1:",
        "127.0.0.1:x",
        "127.0.0.1:80x",
        "127.0.0.1:65536",
        "127.0.0.1:-1",
        ":80",
        "[::1]",
        "[::1]80",
        "[::1:80",
        "example.com:80",
        "[127.0.0.1]x:1",
        "",
    };
    struct sockaddr_storage ss;
    socklen_t len;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (netaddr_parse_hostport(bad[i], &ss, &len) != -EINVAL)
            fail_msg("'%s' should be refused", bad[i]);
    assert_int_equal(netaddr_parse_hostport(NULL, &ss, &len), -EINVAL);
    /* a host part longer than any address (128 bytes and more) */
    char longer[200];
    memset(longer, 'a', sizeof longer);
    memcpy(longer + sizeof longer - 4, ":80", 4);
    assert_int_equal(netaddr_parse_hostport(longer, &ss, &len), -EINVAL);
    longer[0] = '[';
    memcpy(longer + sizeof longer - 5, "]:80", 5);
    assert_int_equal(netaddr_parse_hostport(longer, &ss, &len), -EINVAL);
}

/* The text split every host:port of tikgate goes through (edge endpoints, the CLI's forward). */
static void test_split_hostport(void **state)
{
    (void)state;
    char host[16];
    unsigned port = 7;
    assert_int_equal(netaddr_split_hostport("edge-1.example.net:51820", host, sizeof host, &port),
                     -EINVAL); /* 18 characters do not fit 16 bytes: untouched */
    assert_int_equal(port, 7);
    assert_int_equal(netaddr_split_hostport("edge.example:51820", host, sizeof host, &port), 0);
    assert_string_equal(host, "edge.example");
    assert_int_equal(port, 51820);
    assert_int_equal(netaddr_split_hostport("[2001:db8::1]:443", host, sizeof host, &port), 0);
    assert_string_equal(host, "2001:db8::1");
    assert_int_equal(port, 443);
    assert_int_equal(netaddr_split_hostport("::1:80", host, sizeof host, &port), 0);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 80);
    assert_int_equal(netaddr_split_hostport("10.0.0.1:0", host, sizeof host, &port), 0);
    assert_int_equal(port, 0); /* callers needing 1..65535 check it */
    static const char *const bad[] = {"",        ":80",  "[]:80", "h",       "h:",     "h:x",
                                      "h:70000", "h:-1", "[::1]", "[::1]80", "[::1:80"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (netaddr_split_hostport(bad[i], host, sizeof host, &port) != -EINVAL)
            fail_msg("'%s' should be refused", bad[i]);
    assert_int_equal(netaddr_split_hostport(NULL, host, sizeof host, &port), -EINVAL);
    /* exactly host_size - 1 characters fit */
    assert_int_equal(netaddr_split_hostport("aaaaaaaaaaaaaaa:1", host, sizeof host, &port), 0);
    assert_int_equal(netaddr_split_hostport("aaaaaaaaaaaaaaaa:1", host, sizeof host, &port),
                     -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_v4),         cmocka_unit_test(test_parse_v6),
        cmocka_unit_test(test_parse_refused),    cmocka_unit_test(test_hostport),
        cmocka_unit_test(test_hostport_refused), cmocka_unit_test(test_split_hostport),
    };
    return cmocka_run_group_tests_name("common_netaddr", tests, NULL, NULL);
}
