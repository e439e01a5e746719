/*
 * cidr.h - IPv4/IPv6 prefixes: parsing, formatting, matching, classification.
 *
 * Used by the domain (policy networks, grant allow-lists), the edge (source
 * checks at accept) and the simulator (service address lists). Pure functions,
 * no allocation; the tables are constant.
 */
#ifndef TG_CIDR_H
#define TG_CIDR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#define CIDR_STR_LEN 50 /* INET6_ADDRSTRLEN (46) + "/128" */

/* The message part validators add when cidr_is_v4mapped() refuses a prefix. */
#define CIDR_V4MAPPED_HINT                                                                         \
    "an IPv4-mapped IPv6 address (::ffff:0:0/96) is not accepted: write the IPv4 form"

struct cidr {
    int family;       /* AF_INET or AF_INET6 */
    uint8_t addr[16]; /* network address, network byte order; IPv4 uses the first 4 bytes */
    uint8_t prefix;   /* 0..32 or 0..128 */
};

enum cidr_parse_flags {
    CIDR_STRICT = 0,         /* host bits set -> -EINVAL; bare address -> /32 or /128 */
    CIDR_MASK_HOST_BITS = 1, /* host bits are cleared instead of refused */
    CIDR_REQUIRE_PREFIX = 2, /* a bare address (no "/n") is refused */
};

/*
 * Parses "a.b.c.d/n" or "x:y::z/n" (or a bare address, as a host prefix).
 * Returns 0 and fills *ret, -EINVAL for a malformed string or a prefix out of
 * range, -EADDRNOTAVAIL when host bits are set under CIDR_STRICT.
 */
int cidr_parse(const char *s, unsigned flags, struct cidr *ret);
/* Canonical text form, always with "/n". */
void cidr_format(const struct cidr *c, char out[CIDR_STR_LEN]);
/* True when addr (family AF_INET: 4 bytes, AF_INET6: 16 bytes) lies in c. */
bool cidr_contains(const struct cidr *c, int family, const void *addr);
/* True when sa (sockaddr_in or sockaddr_in6; v4-mapped v6 counts as v4) lies in c. */
bool cidr_contains_sockaddr(const struct cidr *c, const struct sockaddr *sa);

/* Address classes used by validation. */
enum cidr_class {
    CIDR_CLASS_PUBLIC = 0,
    CIDR_CLASS_PRIVATE,    /* 10/8, 172.16/12, 192.168/16, fc00::/7 */
    CIDR_CLASS_LOOPBACK,   /* 127/8, ::1 */
    CIDR_CLASS_LINK_LOCAL, /* 169.254/16, fe80::/10 */
    CIDR_CLASS_MULTICAST,  /* 224/4, ff00::/8 */
    CIDR_CLASS_THIS_NET,   /* 0/8, :: */
    CIDR_CLASS_BROADCAST,  /* 255.255.255.255 */
    CIDR_CLASS_RESERVED,   /* 100.64/10 CGN, 240/4, documentation ranges, ... */
};

/* The class of a prefix's network address (a prefix straddling classes gets the first's). */
enum cidr_class cidr_classify(const struct cidr *c);
/*
 * True for an IPv4-mapped IPv6 prefix, within ::ffff:0:0/96: an IPv4 network spelled as
 * IPv6. The edge matches a v4 client against v4 prefixes only, so such an allow-list matches
 * nothing today and all of IPv4 after a "fix" of the matcher: every validator of
 * operator-given CIDRs refuses it (security-review F15).
 */
bool cidr_is_v4mapped(const struct cidr *c);
/* True for 10/8, 172.16/12, 192.168/16 (RFC 1918) only. */
bool cidr_is_rfc1918(const struct cidr *c);

/*
 * The RFC 1918 networks, parsed: 10.0.0.0/8, 192.168.0.0/16, 172.16.0.0/12,
 * in that order (the default policy lists them so).
 */
#define CIDR_RFC1918_COUNT 3
extern const struct cidr cidr_rfc1918[CIDR_RFC1918_COUNT];

#endif
