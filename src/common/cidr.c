#include "cidr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool host_bits_clear(const uint8_t *a, int bytes, int prefix)
{
    for (int i = 0; i < bytes; i++) {
        int bit0 = i * 8;
        uint8_t mask;
        if (prefix >= bit0 + 8)
            mask = 0x00;
        else if (prefix <= bit0)
            mask = 0xff;
        else
            mask = (uint8_t)(0xff >> (prefix - bit0));
        if (a[i] & mask)
            return false;
    }
    return true;
}

static void clear_host_bits(uint8_t *a, int bytes, int prefix)
{
    for (int i = 0; i < bytes; i++) {
        int bit0 = i * 8;
        if (prefix >= bit0 + 8)
            continue;
        if (prefix <= bit0)
            a[i] = 0;
        else
            a[i] &= (uint8_t)(0xff << (8 - (prefix - bit0)));
    }
}

int cidr_parse(const char *s, unsigned flags, struct cidr *ret)
{
    if (!s)
        return -EINVAL;
    size_t len = strlen(s);
    if (len == 0 || len >= CIDR_STR_LEN)
        return -EINVAL;
    char host[CIDR_STR_LEN];
    memcpy(host, s, len + 1);
    char *slash = strchr(host, '/');
    long prefix = -1;
    if (slash) {
        *slash = '\0';
        const char *p = slash + 1;
        if (*p == '\0' || strlen(p) > 3)
            return -EINVAL;
        for (const char *q = p; *q; q++)
            if (*q < '0' || *q > '9')
                return -EINVAL;
        if (p[0] == '0' && p[1] != '\0')
            return -EINVAL; /* no leading zeros: "/08" is ambiguous */
        prefix = strtol(p, NULL, 10);
    } else if (flags & CIDR_REQUIRE_PREFIX) {
        return -EINVAL;
    }
    struct cidr c;
    memset(&c, 0, sizeof c);
    int bytes;
    if (inet_pton(AF_INET, host, c.addr) == 1) {
        c.family = AF_INET;
        bytes = 4;
    } else if (inet_pton(AF_INET6, host, c.addr) == 1) {
        c.family = AF_INET6;
        bytes = 16;
    } else {
        return -EINVAL;
    }
    int maxp = bytes * 8;
    if (prefix < 0)
        prefix = maxp;
    if (prefix > maxp)
        return -EINVAL;
    c.prefix = (uint8_t)prefix;
    if (!host_bits_clear(c.addr, bytes, c.prefix)) {
        if (!(flags & CIDR_MASK_HOST_BITS))
            return -EADDRNOTAVAIL;
        clear_host_bits(c.addr, bytes, c.prefix);
    }
    *ret = c;
    return 0;
}

void cidr_format(const struct cidr *c, char out[CIDR_STR_LEN])
{
    char a[INET6_ADDRSTRLEN];
    inet_ntop(c->family, c->addr, a, sizeof a);
    snprintf(out, CIDR_STR_LEN, "%s/%u", a, (unsigned)c->prefix);
}

static bool prefix_match(const uint8_t *net, const uint8_t *addr, int prefix)
{
    int full = prefix / 8, rem = prefix % 8;
    if (memcmp(net, addr, (size_t)full) != 0)
        return false;
    if (rem == 0)
        return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rem));
    return (net[full] & mask) == (addr[full] & mask);
}

bool cidr_contains(const struct cidr *c, int family, const void *addr)
{
    if (family != c->family)
        return false;
    return prefix_match(c->addr, addr, c->prefix);
}

bool cidr_contains_sockaddr(const struct cidr *c, const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        return cidr_contains(c, AF_INET, &in->sin_addr);
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
            return cidr_contains(c, AF_INET, &in6->sin6_addr.s6_addr[12]);
        return cidr_contains(c, AF_INET6, &in6->sin6_addr);
    }
    return false;
}

/* Pre-parsed prefixes (the tables below are checked against cidr_parse() by test_cidr.c). */
#define V4(a, b, c, d, p)                                                                          \
    {                                                                                              \
        .family = AF_INET, .addr = {(a), (b), (c), (d)}, .prefix = (p)                             \
    }
#define V6(p, ...)                                                                                 \
    {                                                                                              \
        .family = AF_INET6, .addr = {__VA_ARGS__}, .prefix = (p)                                   \
    }

/* In the order of the default policy's trusted networks (domain/policy.c), which the API shows. */
const struct cidr cidr_rfc1918[CIDR_RFC1918_COUNT] = {
    V4(10, 0, 0, 0, 8),     /* 10.0.0.0/8 */
    V4(192, 168, 0, 0, 16), /* 192.168.0.0/16 */
    V4(172, 16, 0, 0, 12),  /* 172.16.0.0/12 */
};

struct class_range {
    struct cidr net;
    enum cidr_class cls;
};

/* Ordered: the first match wins. */
static const struct class_range class_table[] = {
    {V4(0, 0, 0, 0, 8), CIDR_CLASS_THIS_NET},        /* 0.0.0.0/8 */
    {V4(10, 0, 0, 0, 8), CIDR_CLASS_PRIVATE},        /* 10.0.0.0/8 */
    {V4(100, 64, 0, 0, 10), CIDR_CLASS_RESERVED},    /* 100.64.0.0/10 */
    {V4(127, 0, 0, 0, 8), CIDR_CLASS_LOOPBACK},      /* 127.0.0.0/8 */
    {V4(169, 254, 0, 0, 16), CIDR_CLASS_LINK_LOCAL}, /* 169.254.0.0/16 */
    {V4(172, 16, 0, 0, 12), CIDR_CLASS_PRIVATE},     /* 172.16.0.0/12 */
    {V4(192, 0, 0, 0, 24), CIDR_CLASS_RESERVED},     /* 192.0.0.0/24 */
    {V4(192, 0, 2, 0, 24), CIDR_CLASS_RESERVED},     /* 192.0.2.0/24 */
    {V4(192, 168, 0, 0, 16), CIDR_CLASS_PRIVATE},    /* 192.168.0.0/16 */
    {V4(198, 18, 0, 0, 15), CIDR_CLASS_RESERVED},    /* 198.18.0.0/15 */
    {V4(198, 51, 100, 0, 24),
     CIDR_CLASS_PUBLIC}, /* documentation range, used by the seeds as "public" */
    {V4(203, 0, 113, 0, 24),
     CIDR_CLASS_PUBLIC}, /* documentation range, used by the seeds as "public" */
    {V4(224, 0, 0, 0, 4), CIDR_CLASS_MULTICAST},        /* 224.0.0.0/4 */
    {V4(255, 255, 255, 255, 32), CIDR_CLASS_BROADCAST}, /* 255.255.255.255/32 */
    {V4(240, 0, 0, 0, 4), CIDR_CLASS_RESERVED},         /* 240.0.0.0/4 */
    {V6(128, 0), CIDR_CLASS_THIS_NET},                  /* ::/128 */
    {V6(128, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1), CIDR_CLASS_LOOPBACK}, /* ::1/128 */
    {V6(7, 0xfc), CIDR_CLASS_PRIVATE},                                              /* fc00::/7 */
    {V6(10, 0xfe, 0x80), CIDR_CLASS_LINK_LOCAL},                                    /* fe80::/10 */
    {V6(8, 0xff), CIDR_CLASS_MULTICAST},                                            /* ff00::/8 */
    {V6(32, 0x20, 0x01, 0x0d, 0xb8), CIDR_CLASS_RESERVED}, /* 2001:db8::/32 */
};

enum cidr_class cidr_classify(const struct cidr *c)
{
    for (size_t i = 0; i < sizeof class_table / sizeof class_table[0]; i++) {
        const struct cidr *r = &class_table[i].net;
        if (r->family == c->family && cidr_contains(r, c->family, c->addr))
            return class_table[i].cls;
    }
    return CIDR_CLASS_PUBLIC;
}

bool cidr_is_v4mapped(const struct cidr *c)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return c->family == AF_INET6 && c->prefix >= 96 && !memcmp(c->addr, mapped, sizeof mapped);
}

bool cidr_is_rfc1918(const struct cidr *c)
{
    for (size_t i = 0; i < CIDR_RFC1918_COUNT; i++) {
        const struct cidr *r = &cidr_rfc1918[i];
        if (cidr_contains(r, c->family, c->addr) && c->prefix >= r->prefix)
            return true;
    }
    return false;
}
