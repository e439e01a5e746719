/*
 * fuzz_wg_genl.c - wg_genl_parse_get on arbitrary bytes (what a recv() of
 * the kernel's WG_CMD_GET_DEVICE dump could hold; family id 0x1f), with the
 * invariants the edge relies on: only 1/0/-EPROTO/-E2BIG or a kernel errno
 * in [-4095, -1] come back; a parsed device respects the caps and has sane
 * handshake times; its SET_DEVICE form always builds, in messages of at most
 * WG_GENL_MSG_MAX bytes. The first input byte splits the rest in two
 * buffers (two recv()s gathered into one device, as a continued peer is).
 * wg_genl_parse_family gets the same bytes.
 */
#include "buf.h"
#include "wg_genl.h"

#include <errno.h>
#include <linux/netlink.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FAMILY 0x1f

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_wg_genl: %s failed\n", #cond);                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static bool result_ok(int r)
{
    return r == 1 || r == 0 || r == -EPROTO || r == -E2BIG || (r < 0 && r >= -4095);
}

static void check_device(const struct wg_device *d)
{
    struct buf b;
    size_t count = 0;

    CHECK(d->n_peers <= WG_UAPI_MAX_PEERS);
    for (size_t i = 0; i < d->n_peers; i++) {
        const struct wg_peer *p = &d->peers[i];
        CHECK(p->n_allowed_ips <= WG_UAPI_MAX_ALLOWED_IPS);
        CHECK(p->last_handshake_sec >= 0);
        CHECK(p->last_handshake_nsec >= 0 && p->last_handshake_nsec < 1000000000);
        for (size_t j = 0; j < p->n_allowed_ips; j++) {
            const struct cidr *c = &p->allowed_ips[j];
            CHECK((c->family == AF_INET && c->prefix <= 32) ||
                  (c->family == AF_INET6 && c->prefix <= 128));
        }
    }
    buf_init(&b, (size_t)1 << 28);
    CHECK(wg_genl_build_set(FAMILY, 1, "tikgate0", d, &b, &count) == 0);
    CHECK(count >= 1);
    for (size_t off = 0; off < b.len;) {
        const struct nlmsghdr *nlh = (const struct nlmsghdr *)(b.data + off);
        CHECK(nlh->nlmsg_len <= WG_GENL_MSG_MAX && nlh->nlmsg_len >= NLMSG_HDRLEN);
        off += NLMSG_ALIGN(nlh->nlmsg_len);
    }
    buf_release(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wg_device d = {0};
    uint16_t family = 0;
    size_t split;
    uint8_t *copy;
    int r;

    if (size < 1)
        return 0;
    split = size > 1 ? (size_t)data[0] * (size - 1) / 255 : 0;
    data++;
    size--;
    /* The parser wants what recv() gives: an aligned buffer. */
    copy = malloc(size + NLMSG_ALIGNTO);
    CHECK(copy);
    memcpy(copy, data, size);

    r = wg_genl_parse_family(copy, size, &family);
    CHECK(r == 0 || r == -EPROTO || (r < 0 && r >= -4095));
    if (r == 0)
        CHECK(family >= NLMSG_MIN_TYPE);

    if (split == 0 || split >= size) {
        r = wg_genl_parse_get(FAMILY, copy, size, &d);
    } else {
        /* two receives: each starts aligned */
        r = wg_genl_parse_get(FAMILY, copy, split, &d);
        if (r == 0) {
            memmove(copy, data + split, size - split);
            r = wg_genl_parse_get(FAMILY, copy, size - split, &d);
        }
    }
    CHECK(result_ok(r));
    if (r >= 0)
        check_device(&d);
    wg_device_release(&d);
    free(copy);
    return 0;
}
