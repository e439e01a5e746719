/*
 * fuzz_wg_uapi.c - wg_uapi_parse_get on arbitrary bytes (a get=1 reply from a
 * UAPI socket), with the invariants the edge relies on: only 0/-EPROTO/-E2BIG
 * or a server errno in [-4095, -1] come back; a parsed device respects the
 * caps; written back in the get form it parses to the same device; and
 * wg_uapi_parse_errno never accepts what is not "errno=N\n\n".
 */
#include "buf.h"
#include "wg_uapi.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_wg_uapi: %s failed\n", #cond);                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* The device in the form wireguard-go answers get=1 with. */
static void write_get(struct buf *b, const struct wg_device *d)
{
    char hex[WG_KEY_HEX_LEN + 1], ep[WG_ENDPOINT_STR_LEN], c[CIDR_STR_LEN];
    if (d->flags & WG_DEVICE_HAS_PRIVATE_KEY) {
        wg_key_to_hex(&d->private_key, hex);
        buf_printf(b, "private_key=%s\n", hex);
    }
    if (d->flags & WG_DEVICE_HAS_LISTEN_PORT)
        buf_printf(b, "listen_port=%u\n", d->listen_port);
    if (d->flags & WG_DEVICE_HAS_FWMARK)
        buf_printf(b, "fwmark=%u\n", d->fwmark);
    for (size_t i = 0; i < d->n_peers; i++) {
        const struct wg_peer *p = &d->peers[i];
        wg_key_to_hex(&p->public_key, hex);
        buf_printf(b, "public_key=%s\n", hex);
        if (p->flags & WG_PEER_HAS_PRESHARED_KEY) {
            wg_key_to_hex(&p->preshared_key, hex);
            buf_printf(b, "preshared_key=%s\n", hex);
        }
        wg_endpoint_format(&p->endpoint, ep);
        if (ep[0])
            buf_printf(b, "endpoint=%s\n", ep);
        buf_printf(b,
                   "last_handshake_time_sec=%lld\nlast_handshake_time_nsec=%lld\n"
                   "tx_bytes=%llu\nrx_bytes=%llu\npersistent_keepalive_interval=%u\n",
                   (long long)p->last_handshake_sec, (long long)p->last_handshake_nsec,
                   (unsigned long long)p->tx_bytes, (unsigned long long)p->rx_bytes, p->keepalive);
        for (size_t j = 0; j < p->n_allowed_ips; j++) {
            cidr_format(&p->allowed_ips[j], c);
            buf_printf(b, "allowed_ip=%s\n", c);
        }
    }
    buf_append_str(b, "errno=0\n\n");
}

static void check_same(const struct wg_device *a, const struct wg_device *b)
{
    CHECK(a->flags == b->flags);
    CHECK(a->listen_port == b->listen_port && a->fwmark == b->fwmark);
    CHECK(wg_key_equal(&a->private_key, &b->private_key));
    CHECK(a->n_peers == b->n_peers);
    for (size_t i = 0; i < a->n_peers; i++) {
        const struct wg_peer *p = &a->peers[i], *q = &b->peers[i];
        char e1[WG_ENDPOINT_STR_LEN], e2[WG_ENDPOINT_STR_LEN];
        CHECK(wg_key_equal(&p->public_key, &q->public_key));
        CHECK(p->flags == q->flags);
        wg_endpoint_format(&p->endpoint, e1);
        wg_endpoint_format(&q->endpoint, e2);
        CHECK(strcmp(e1, e2) == 0);
        CHECK(p->last_handshake_sec == q->last_handshake_sec);
        CHECK(p->last_handshake_nsec == q->last_handshake_nsec);
        CHECK(p->rx_bytes == q->rx_bytes && p->tx_bytes == q->tx_bytes);
        CHECK(p->keepalive == q->keepalive);
        CHECK(p->n_allowed_ips == q->n_allowed_ips);
        for (size_t j = 0; j < p->n_allowed_ips; j++)
            CHECK(memcmp(&p->allowed_ips[j], &q->allowed_ips[j], sizeof(struct cidr)) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wg_device d, again;
    struct buf b;
    const char *s = (const char *)data;

    int e = wg_uapi_parse_errno(s, size);
    CHECK(e == -EPROTO || (e <= 0 && e >= -4095));
    if (e != -EPROTO)
        CHECK(size >= 9 && memcmp(s, "errno=", 6) == 0 && s[size - 1] == '\n');

    int r = wg_uapi_parse_get(s, size, &d);
    if (r != 0) {
        CHECK(r == -EPROTO || r == -E2BIG || (r < 0 && r >= -4095));
        return 0;
    }
    CHECK(size >= 2 && s[size - 1] == '\n' && s[size - 2] == '\n');
    CHECK(d.n_peers <= WG_UAPI_MAX_PEERS);
    for (size_t i = 0; i < d.n_peers; i++) {
        CHECK(d.peers[i].n_allowed_ips <= WG_UAPI_MAX_ALLOWED_IPS);
        CHECK(d.peers[i].last_handshake_nsec >= 0 && d.peers[i].last_handshake_nsec < 1000000000);
    }

    buf_init(&b, (size_t)1 << 28);
    write_get(&b, &d);
    CHECK(wg_uapi_parse_get(b.data, b.len, &again) == 0);
    check_same(&d, &again);
    wg_device_release(&again);
    buf_release(&b);

    /* And the set form of it is always complete. */
    buf_init(&b, (size_t)1 << 28);
    CHECK(wg_uapi_format_set(&b, &d) == 0);
    CHECK(b.len >= 7 && memcmp(b.data, "set=1\n", 6) == 0 && b.data[b.len - 1] == '\n');
    buf_release(&b);
    wg_device_release(&d);
    return 0;
}
