/*
 * fuzz_cidr.c - cidr_parse on arbitrary text, with the invariants the rest of tikgate relies on:
 * the return codes are only 0/-EINVAL/-EADDRNOTAVAIL, a parsed prefix is in range with its host
 * bits clear, its canonical form fits CIDR_STR_LEN, parses back to the same value under
 * CIDR_STRICT and formats to itself (idempotent), and the network contains its own address.
 */
#include "cidr.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_cidr: %s failed on '%s'\n", #cond, s);                           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static void check_parsed(const char *s, const struct cidr *c)
{
    CHECK(c->family == AF_INET || c->family == AF_INET6);
    int bits = c->family == AF_INET ? 32 : 128;
    CHECK(c->prefix <= bits);
    if (c->family == AF_INET)
        for (int i = 4; i < 16; i++)
            CHECK(c->addr[i] == 0);

    char out[CIDR_STR_LEN];
    cidr_format(c, out);
    CHECK(strlen(out) < CIDR_STR_LEN);
    CHECK(strchr(out, '/') != NULL);

    struct cidr back;
    CHECK(cidr_parse(out, CIDR_STRICT, &back) == 0);
    CHECK(cidr_parse(out, CIDR_REQUIRE_PREFIX, &back) == 0);
    CHECK(back.family == c->family);
    CHECK(back.prefix == c->prefix);
    CHECK(memcmp(back.addr, c->addr, sizeof back.addr) == 0);

    char again[CIDR_STR_LEN];
    cidr_format(&back, again);
    CHECK(strcmp(out, again) == 0);

    CHECK(cidr_contains(c, c->family, c->addr));
    CHECK(!cidr_contains(c, c->family == AF_INET ? AF_INET6 : AF_INET, c->addr));
    enum cidr_class cls = cidr_classify(c);
    CHECK(cls >= CIDR_CLASS_PUBLIC && cls <= CIDR_CLASS_RESERVED);
    if (cidr_is_rfc1918(c))
        CHECK(cls == CIDR_CLASS_PRIVATE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char s[128];
    if (size >= sizeof s)
        size = sizeof s - 1;
    memcpy(s, data, size);
    s[size] = '\0';

    struct cidr strict, masked, req;
    int rs = cidr_parse(s, CIDR_STRICT, &strict);
    int rm = cidr_parse(s, CIDR_MASK_HOST_BITS, &masked);
    int rr = cidr_parse(s, CIDR_REQUIRE_PREFIX, &req);
    CHECK(rs == 0 || rs == -EINVAL || rs == -EADDRNOTAVAIL);
    CHECK(rm == 0 || rm == -EINVAL);
    CHECK(rr == 0 || rr == -EINVAL || rr == -EADDRNOTAVAIL);

    if (rs == 0) {
        check_parsed(s, &strict);
        /* nothing to mask: both modes agree */
        CHECK(rm == 0);
        CHECK(memcmp(&strict, &masked, sizeof strict) == 0);
    }
    if (rs == -EADDRNOTAVAIL)
        CHECK(rm == 0); /* only the host bits were wrong */
    if (rs == -EINVAL)
        CHECK(rm == -EINVAL);
    if (rm == 0)
        check_parsed(s, &masked);
    if (rr == 0) {
        CHECK(strchr(s, '/') != NULL);
        CHECK(rs == 0);
    }
    return 0;
}
