/* test_cidr.c - CIDR parsing, canonical formatting, matching and classification. */
/* cmocka.h needs these headers first */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include "cidr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

/* Parses s with flags and returns its canonical form (static buffer), or NULL on error. */
static const char *canon(const char *s, unsigned flags)
{
    static char out[CIDR_STR_LEN];
    struct cidr c;
    if (cidr_parse(s, flags, &c) < 0)
        return NULL;
    cidr_format(&c, out);
    return out;
}

static struct cidr must_parse(const char *s)
{
    struct cidr c;
    assert_int_equal(cidr_parse(s, CIDR_STRICT, &c), 0);
    return c;
}

static void test_ipv4_basic(void **state)
{
    (void)state;
    struct cidr c = must_parse("10.0.0.0/8");
    assert_int_equal(c.family, AF_INET);
    assert_int_equal(c.prefix, 8);
    assert_int_equal(c.addr[0], 10);
    assert_int_equal(c.addr[1], 0);
    assert_string_equal(canon("192.168.0.0/16", 0), "192.168.0.0/16");
    assert_string_equal(canon("172.16.0.0/12", 0), "172.16.0.0/12");
    assert_string_equal(canon("0.0.0.0/0", 0), "0.0.0.0/0");
    assert_string_equal(canon("10.0.0.128/25", 0), "10.0.0.128/25");
    assert_string_equal(canon("154.66.115.255/32", 0), "154.66.115.255/32");
}

static void test_ipv6_basic_canonical(void **state)
{
    (void)state;
    struct cidr c = must_parse("2001:db8::/32");
    assert_int_equal(c.family, AF_INET6);
    assert_int_equal(c.prefix, 32);
    assert_string_equal(canon("2001:DB8:0:0::/32", 0), "2001:db8::/32");
    assert_string_equal(canon("2001:0db8:0000:0000:0000:0000:0000:0000/48", 0), "2001:db8::/48");
    assert_string_equal(canon("fe80::/10", 0), "fe80::/10");
    assert_string_equal(canon("::/0", 0), "::/0");
    assert_string_equal(canon("FD00::/8", 0), "fd00::/8");
}

static void test_bare_address_is_host_prefix(void **state)
{
    (void)state;
    assert_string_equal(canon("10.0.0.5", 0), "10.0.0.5/32");
    assert_string_equal(canon("2001:db8::1", 0), "2001:db8::1/128");
    assert_string_equal(canon("::", 0), "::/128");
    struct cidr c = must_parse("192.0.2.1");
    assert_int_equal(c.prefix, 32);
    c = must_parse("::1");
    assert_int_equal(c.prefix, 128);
}

static void test_require_prefix(void **state)
{
    (void)state;
    struct cidr c;
    assert_int_equal(cidr_parse("10.0.0.5", CIDR_REQUIRE_PREFIX, &c), -EINVAL);
    assert_int_equal(cidr_parse("::1", CIDR_REQUIRE_PREFIX, &c), -EINVAL);
    assert_int_equal(cidr_parse("10.0.0.5/32", CIDR_REQUIRE_PREFIX, &c), 0);
}

static void test_host_bits_refused(void **state)
{
    (void)state;
    struct cidr c;
    assert_int_equal(cidr_parse("10.0.0.1/8", CIDR_STRICT, &c), -EADDRNOTAVAIL);
    assert_int_equal(cidr_parse("172.17.0.0/12", CIDR_STRICT, &c), -EADDRNOTAVAIL);
    assert_int_equal(cidr_parse("172.16.0.0/12", CIDR_STRICT, &c), 0);
    assert_int_equal(cidr_parse("172.31.0.0/12", CIDR_STRICT, &c), -EADDRNOTAVAIL);
    assert_int_equal(cidr_parse("10.0.0.64/25", CIDR_STRICT, &c), -EADDRNOTAVAIL);
    assert_int_equal(cidr_parse("1.2.3.4/0", CIDR_STRICT, &c), -EADDRNOTAVAIL);
    assert_int_equal(cidr_parse("2001:db8::1/32", CIDR_STRICT, &c), -EADDRNOTAVAIL);
    assert_int_equal(cidr_parse("2001:db8::1/127", CIDR_STRICT, &c), -EADDRNOTAVAIL);
    assert_int_equal(cidr_parse("2001:db8::2/127", CIDR_STRICT, &c), 0);
}

static void test_host_bits_masked(void **state)
{
    (void)state;
    assert_string_equal(canon("10.0.0.1/8", CIDR_MASK_HOST_BITS), "10.0.0.0/8");
    assert_string_equal(canon("172.31.255.255/12", CIDR_MASK_HOST_BITS), "172.16.0.0/12");
    assert_string_equal(canon("10.0.0.200/25", CIDR_MASK_HOST_BITS), "10.0.0.128/25");
    assert_string_equal(canon("1.2.3.4/0", CIDR_MASK_HOST_BITS), "0.0.0.0/0");
    assert_string_equal(canon("2001:db8:ffff::1/32", CIDR_MASK_HOST_BITS), "2001:db8::/32");
    assert_string_equal(canon("fe80::1234/10", CIDR_MASK_HOST_BITS), "fe80::/10");
    /* a clean prefix is untouched */
    assert_string_equal(canon("10.1.0.0/16", CIDR_MASK_HOST_BITS), "10.1.0.0/16");
}

static void test_bad_prefixes(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "1.2.3.0/33",  "10.0.0.0/-1", "10.0.0.0/08", "10.0.0.0/008", "10.0.0.0/",
        "::/129",      "::/0129",     "::/1000",     "10.0.0.0/+8",  "10.0.0.0/8/8",
        "10.0.0.0/ 8", "10.0.0.0/8 ", "10.0.0.0/8a", "10.0.0.0//8",  "/8",
        "/",           "::/00",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct cidr c;
        memset(&c, 0xab, sizeof c);
        int r = cidr_parse(bad[i], CIDR_STRICT, &c);
        if (r != -EINVAL)
            fail_msg("'%s': expected -EINVAL, got %d", bad[i], r);
        /* out-param untouched on failure */
        assert_int_equal(c.prefix, 0xab);
        assert_int_equal(cidr_parse(bad[i], CIDR_MASK_HOST_BITS, &c), -EINVAL);
    }
}

static void test_garbage(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "garbage",
        "1.2.3",
        "1.2.3.4.5",
        "256.0.0.0",
        "1.2.3.-4",
        " 1.2.3.4",
        "1.2.3.4 ",
        "01.2.3.4",
        "0x0a.0.0.0",
        ":::",
        "2001:db8:::1",
        "fe80::1%eth0",
        "g::1",
        "1:2:3:4:5:6:7:8:9",
        "10.0.0.0\n",
        "aaaa:aaaa:aaaa:aaaa:aaaa:aaaa:aaaa:aaaa:aaaa:aaaa/64", /* >= CIDR_STR_LEN */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct cidr c;
        int r = cidr_parse(bad[i], CIDR_STRICT, &c);
        if (r != -EINVAL)
            fail_msg("'%s': expected -EINVAL, got %d", bad[i], r);
    }
    struct cidr c;
    assert_int_equal(cidr_parse(NULL, CIDR_STRICT, &c), -EINVAL);
}

static void test_longest_valid_text(void **state)
{
    (void)state;
    /* 39 + 4 characters: the longest IPv6 CIDR in full form still fits. */
    assert_string_equal(canon("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", 0),
                        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128");
    assert_string_equal(canon("::ffff:10.0.0.1", 0), "::ffff:10.0.0.1/128");
}

static void test_format_round_trip(void **state)
{
    (void)state;
    static const char *const in[] = {"0.0.0.0/0",   "10.0.0.0/8",        "203.0.113.7/32",
                                     "::/0",        "2001:db8::/32",     "fe80::/64",
                                     "::1/128",     "64:ff9b::/96",      "10.0.0.128/25",
                                     "ff02::1/128", "2001:db8:0:1::/64", "255.255.255.255/32"};
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
        struct cidr a = must_parse(in[i]), b;
        char out[CIDR_STR_LEN];
        cidr_format(&a, out);
        assert_string_equal(out, in[i]);
        assert_int_equal(cidr_parse(out, CIDR_STRICT, &b), 0);
        assert_int_equal(a.family, b.family);
        assert_int_equal(a.prefix, b.prefix);
        assert_memory_equal(a.addr, b.addr, sizeof a.addr);
    }
}

static void test_contains_v4(void **state)
{
    (void)state;
    struct cidr c = must_parse("10.0.0.0/8");
    uint8_t a[4];
    inet_pton(AF_INET, "10.255.255.255", a);
    assert_true(cidr_contains(&c, AF_INET, a));
    inet_pton(AF_INET, "10.0.0.0", a);
    assert_true(cidr_contains(&c, AF_INET, a));
    inet_pton(AF_INET, "11.0.0.0", a);
    assert_false(cidr_contains(&c, AF_INET, a));
    inet_pton(AF_INET, "9.255.255.255", a);
    assert_false(cidr_contains(&c, AF_INET, a));

    c = must_parse("172.16.0.0/12");
    inet_pton(AF_INET, "172.31.1.1", a);
    assert_true(cidr_contains(&c, AF_INET, a));
    inet_pton(AF_INET, "172.32.0.0", a);
    assert_false(cidr_contains(&c, AF_INET, a));

    c = must_parse("192.0.2.7");
    inet_pton(AF_INET, "192.0.2.7", a);
    assert_true(cidr_contains(&c, AF_INET, a));
    inet_pton(AF_INET, "192.0.2.8", a);
    assert_false(cidr_contains(&c, AF_INET, a));

    c = must_parse("0.0.0.0/0");
    inet_pton(AF_INET, "255.255.255.255", a);
    assert_true(cidr_contains(&c, AF_INET, a));
}

static void test_contains_v6_and_family_mismatch(void **state)
{
    (void)state;
    struct cidr c = must_parse("2001:db8::/32");
    uint8_t a[16];
    inet_pton(AF_INET6, "2001:db8:ffff::1", a);
    assert_true(cidr_contains(&c, AF_INET6, a));
    inet_pton(AF_INET6, "2001:db9::1", a);
    assert_false(cidr_contains(&c, AF_INET6, a));
    assert_false(cidr_contains(&c, AF_INET, a)); /* wrong family never matches */

    c = must_parse("fe80::/10");
    inet_pton(AF_INET6, "febf::1", a);
    assert_true(cidr_contains(&c, AF_INET6, a));
    inet_pton(AF_INET6, "fec0::1", a);
    assert_false(cidr_contains(&c, AF_INET6, a));

    c = must_parse("::/0");
    uint8_t v4[4] = {10, 0, 0, 1};
    assert_false(cidr_contains(&c, AF_INET, v4));
    c = must_parse("0.0.0.0/0");
    assert_false(cidr_contains(&c, AF_INET6, a));
}

static void test_contains_sockaddr(void **state)
{
    (void)state;
    struct cidr net4 = must_parse("10.0.0.0/8");
    struct cidr net6 = must_parse("2001:db8::/32");

    struct sockaddr_in in = {0};
    in.sin_family = AF_INET;
    inet_pton(AF_INET, "10.1.2.3", &in.sin_addr);
    assert_true(cidr_contains_sockaddr(&net4, (struct sockaddr *)&in));
    assert_false(cidr_contains_sockaddr(&net6, (struct sockaddr *)&in));
    inet_pton(AF_INET, "192.168.1.1", &in.sin_addr);
    assert_false(cidr_contains_sockaddr(&net4, (struct sockaddr *)&in));

    struct sockaddr_in6 in6 = {0};
    in6.sin6_family = AF_INET6;
    inet_pton(AF_INET6, "2001:db8::5", &in6.sin6_addr);
    assert_true(cidr_contains_sockaddr(&net6, (struct sockaddr *)&in6));
    assert_false(cidr_contains_sockaddr(&net4, (struct sockaddr *)&in6));

    /* v4-mapped IPv6 (a dual-stack listener) counts as the IPv4 address */
    inet_pton(AF_INET6, "::ffff:10.9.8.7", &in6.sin6_addr);
    assert_true(cidr_contains_sockaddr(&net4, (struct sockaddr *)&in6));
    inet_pton(AF_INET6, "::ffff:11.9.8.7", &in6.sin6_addr);
    assert_false(cidr_contains_sockaddr(&net4, (struct sockaddr *)&in6));
    struct cidr host = must_parse("127.0.0.1");
    inet_pton(AF_INET6, "::ffff:127.0.0.1", &in6.sin6_addr);
    assert_true(cidr_contains_sockaddr(&host, (struct sockaddr *)&in6));
    /* ... and is not matched as an IPv6 address */
    struct cidr mapped = must_parse("::ffff:0:0/96");
    assert_false(cidr_contains_sockaddr(&mapped, (struct sockaddr *)&in6));

    struct sockaddr other = {0};
    other.sa_family = AF_UNIX;
    assert_false(cidr_contains_sockaddr(&net4, &other));
}

static enum cidr_class cls(const char *s)
{
    struct cidr c = must_parse(s);
    return cidr_classify(&c);
}

static void test_classify(void **state)
{
    (void)state;
    assert_int_equal(cls("10.1.2.3"), CIDR_CLASS_PRIVATE);
    assert_int_equal(cls("172.16.0.0/12"), CIDR_CLASS_PRIVATE);
    assert_int_equal(cls("172.31.255.255"), CIDR_CLASS_PRIVATE);
    assert_int_equal(cls("172.32.0.1"), CIDR_CLASS_PUBLIC);
    assert_int_equal(cls("192.168.88.1"), CIDR_CLASS_PRIVATE);
    assert_int_equal(cls("fd12:3456::1"), CIDR_CLASS_PRIVATE);
    assert_int_equal(cls("127.0.0.1"), CIDR_CLASS_LOOPBACK);
    assert_int_equal(cls("127.255.255.254"), CIDR_CLASS_LOOPBACK);
    assert_int_equal(cls("::1"), CIDR_CLASS_LOOPBACK);
    assert_int_equal(cls("169.254.1.1"), CIDR_CLASS_LINK_LOCAL);
    assert_int_equal(cls("fe80::1"), CIDR_CLASS_LINK_LOCAL);
    assert_int_equal(cls("224.0.0.1"), CIDR_CLASS_MULTICAST);
    assert_int_equal(cls("239.255.255.250"), CIDR_CLASS_MULTICAST);
    assert_int_equal(cls("ff02::1"), CIDR_CLASS_MULTICAST);
    assert_int_equal(cls("0.0.0.0"), CIDR_CLASS_THIS_NET);
    assert_int_equal(cls("0.1.2.3"), CIDR_CLASS_THIS_NET);
    assert_int_equal(cls("::"), CIDR_CLASS_THIS_NET);
    assert_int_equal(cls("255.255.255.255"), CIDR_CLASS_BROADCAST);
    assert_int_equal(cls("240.0.0.1"), CIDR_CLASS_RESERVED);
    assert_int_equal(cls("255.255.255.254"), CIDR_CLASS_RESERVED);
    assert_int_equal(cls("100.64.0.1"), CIDR_CLASS_RESERVED);
    assert_int_equal(cls("2001:db8::1"), CIDR_CLASS_RESERVED);
    assert_int_equal(cls("8.8.8.8"), CIDR_CLASS_PUBLIC);
    assert_int_equal(cls("154.66.115.255"), CIDR_CLASS_PUBLIC);
    assert_int_equal(cls("1.1.1.0/24"), CIDR_CLASS_PUBLIC);
    assert_int_equal(cls("2606:4700::1111"), CIDR_CLASS_PUBLIC);
    /* the seeds use the documentation ranges as public addresses */
    assert_int_equal(cls("198.51.100.7"), CIDR_CLASS_PUBLIC);
    assert_int_equal(cls("203.0.113.9"), CIDR_CLASS_PUBLIC);
    /* a prefix gets the class of its network address */
    assert_int_equal(cls("0.0.0.0/0"), CIDR_CLASS_THIS_NET);
}

static void test_rfc1918(void **state)
{
    (void)state;
    struct cidr c;
    static const char *const yes[] = {"10.0.0.0/8", "10.20.30.0/24",  "172.16.0.0/12",
                                      "172.20.0.1", "192.168.0.0/16", "192.168.88.0/24"};
    static const char *const no[] = {"0.0.0.0/0",      "8.0.0.0/7",       "172.0.0.0/8",
                                     "192.168.0.0/15", "100.64.0.0/10",   "127.0.0.1",
                                     "fd00::/8",       "::ffff:10.0.0.1", "11.0.0.0/8"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        c = must_parse(yes[i]);
        if (!cidr_is_rfc1918(&c))
            fail_msg("'%s' should be RFC 1918", yes[i]);
    }
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        c = must_parse(no[i]);
        if (cidr_is_rfc1918(&c))
            fail_msg("'%s' should not be RFC 1918", no[i]);
    }
}

/* The exported RFC 1918 table is what cidr_parse() makes of the three networks, in order. */
static void test_rfc1918_table(void **state)
{
    (void)state;
    static const char *const nets[CIDR_RFC1918_COUNT] = {"10.0.0.0/8", "192.168.0.0/16",
                                                         "172.16.0.0/12"};
    for (size_t i = 0; i < CIDR_RFC1918_COUNT; i++) {
        struct cidr c = must_parse(nets[i]);
        assert_int_equal(cidr_rfc1918[i].family, c.family);
        assert_int_equal(cidr_rfc1918[i].prefix, c.prefix);
        assert_memory_equal(cidr_rfc1918[i].addr, c.addr, sizeof c.addr);
        assert_true(cidr_is_rfc1918(&cidr_rfc1918[i]));
        char out[CIDR_STR_LEN];
        cidr_format(&cidr_rfc1918[i], out);
        assert_string_equal(out, nets[i]);
    }
}

/*
 * Every row of cidr.c's pre-parsed class table, by its text form: its network
 * address and its last address get the row's class (unless a row listed
 * earlier claims the last address, as 255.255.255.255 inside 240/4).
 */
static void test_classify_table(void **state)
{
    (void)state;
    static const struct {
        const char *net, *last;
        enum cidr_class cls, last_cls;
    } rows[] = {
        {"0.0.0.0/8", "0.255.255.255", CIDR_CLASS_THIS_NET, CIDR_CLASS_THIS_NET},
        {"10.0.0.0/8", "10.255.255.255", CIDR_CLASS_PRIVATE, CIDR_CLASS_PRIVATE},
        {"100.64.0.0/10", "100.127.255.255", CIDR_CLASS_RESERVED, CIDR_CLASS_RESERVED},
        {"127.0.0.0/8", "127.255.255.255", CIDR_CLASS_LOOPBACK, CIDR_CLASS_LOOPBACK},
        {"169.254.0.0/16", "169.254.255.255", CIDR_CLASS_LINK_LOCAL, CIDR_CLASS_LINK_LOCAL},
        {"172.16.0.0/12", "172.31.255.255", CIDR_CLASS_PRIVATE, CIDR_CLASS_PRIVATE},
        {"192.0.0.0/24", "192.0.0.255", CIDR_CLASS_RESERVED, CIDR_CLASS_RESERVED},
        {"192.0.2.0/24", "192.0.2.255", CIDR_CLASS_RESERVED, CIDR_CLASS_RESERVED},
        {"192.168.0.0/16", "192.168.255.255", CIDR_CLASS_PRIVATE, CIDR_CLASS_PRIVATE},
        {"198.18.0.0/15", "198.19.255.255", CIDR_CLASS_RESERVED, CIDR_CLASS_RESERVED},
        {"198.51.100.0/24", "198.51.100.255", CIDR_CLASS_PUBLIC, CIDR_CLASS_PUBLIC},
        {"203.0.113.0/24", "203.0.113.255", CIDR_CLASS_PUBLIC, CIDR_CLASS_PUBLIC},
        {"224.0.0.0/4", "239.255.255.255", CIDR_CLASS_MULTICAST, CIDR_CLASS_MULTICAST},
        {"255.255.255.255/32", "255.255.255.255", CIDR_CLASS_BROADCAST, CIDR_CLASS_BROADCAST},
        {"240.0.0.0/4", "255.255.255.255", CIDR_CLASS_RESERVED, CIDR_CLASS_BROADCAST},
        {"::/128", "::", CIDR_CLASS_THIS_NET, CIDR_CLASS_THIS_NET},
        {"::1/128", "::1", CIDR_CLASS_LOOPBACK, CIDR_CLASS_LOOPBACK},
        {"fc00::/7", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", CIDR_CLASS_PRIVATE,
         CIDR_CLASS_PRIVATE},
        {"fe80::/10", "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", CIDR_CLASS_LINK_LOCAL,
         CIDR_CLASS_LINK_LOCAL},
        {"ff00::/8", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", CIDR_CLASS_MULTICAST,
         CIDR_CLASS_MULTICAST},
        {"2001:db8::/32", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", CIDR_CLASS_RESERVED,
         CIDR_CLASS_RESERVED},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        if (cls(rows[i].net) != rows[i].cls)
            fail_msg("'%s' classified %d, expected %d", rows[i].net, cls(rows[i].net), rows[i].cls);
        if (cls(rows[i].last) != rows[i].last_cls)
            fail_msg("'%s' classified %d, expected %d", rows[i].last, cls(rows[i].last),
                     rows[i].last_cls);
    }
    /* just outside some rows */
    assert_int_equal(cls("1.0.0.0"), CIDR_CLASS_PUBLIC);
    assert_int_equal(cls("100.128.0.0"), CIDR_CLASS_PUBLIC);
    assert_int_equal(cls("169.255.0.0"), CIDR_CLASS_PUBLIC);
    assert_int_equal(cls("198.20.0.0"), CIDR_CLASS_PUBLIC);
    assert_int_equal(cls("fe00::1"), CIDR_CLASS_PUBLIC);
    assert_int_equal(cls("fec0::1"), CIDR_CLASS_PUBLIC);
    assert_int_equal(cls("2001:db9::1"), CIDR_CLASS_PUBLIC);
    assert_int_equal(cls("::2"), CIDR_CLASS_PUBLIC);
}

static void test_v4mapped(void **state)
{
    (void)state;
    assert_true(cidr_is_v4mapped(&(struct cidr){0}) == false);
    struct cidr c = must_parse("::ffff:0:0/96");
    assert_true(cidr_is_v4mapped(&c));
    c = must_parse("::ffff:10.0.0.1");
    assert_true(cidr_is_v4mapped(&c));
    c = must_parse("::ffff:10.0.0.0/104");
    assert_true(cidr_is_v4mapped(&c));
    c = must_parse("::/0");
    assert_false(cidr_is_v4mapped(&c));
    c = must_parse("::fffe:0:0/96");
    assert_false(cidr_is_v4mapped(&c));
    c = must_parse("10.0.0.0/8");
    assert_false(cidr_is_v4mapped(&c));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipv4_basic),
        cmocka_unit_test(test_ipv6_basic_canonical),
        cmocka_unit_test(test_bare_address_is_host_prefix),
        cmocka_unit_test(test_require_prefix),
        cmocka_unit_test(test_host_bits_refused),
        cmocka_unit_test(test_host_bits_masked),
        cmocka_unit_test(test_bad_prefixes),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_longest_valid_text),
        cmocka_unit_test(test_format_round_trip),
        cmocka_unit_test(test_contains_v4),
        cmocka_unit_test(test_contains_v6_and_family_mismatch),
        cmocka_unit_test(test_contains_sockaddr),
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_rfc1918),
        cmocka_unit_test(test_rfc1918_table),
        cmocka_unit_test(test_classify_table),
        cmocka_unit_test(test_v4mapped),
    };
    return cmocka_run_group_tests_name("common_cidr", tests, NULL, NULL);
}
