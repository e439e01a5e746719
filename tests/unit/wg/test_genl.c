/*
 * test_genl.c - the kernel backend's generic netlink messages (src/wg/genl.c),
 * checked at the message level since no test machine has the wireguard
 * module: SET_DEVICE requests are decoded back with libmnl's own parser and
 * every attribute compared (keys, port, flags, allowed IPs, keepalive,
 * endpoints), 10 000 peers and a 1 000-address peer are split as
 * wireguard-tools splits them, and GET_DEVICE dumps built here (as the
 * kernel lays them out, a peer continued across messages included) parse
 * into the device they describe; malformed ones are refused.
 */
#include "alloc.h"
#include "buf.h"
#include "wg_genl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/time_types.h>
#include <linux/wireguard.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* clang-format off: cmocka.h needs the headers above */
#include <cmocka.h>
/* clang-format on */

#define FAMILY 0x1f
#define SEQ 1000u

static struct wg_key key_n(unsigned n, uint8_t tag)
{
    struct wg_key k;
    memset(k.b, tag, sizeof(k.b));
    memcpy(k.b, &n, sizeof(n));
    return k;
}

static struct cidr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint8_t prefix)
{
    struct cidr x = {.family = AF_INET, .prefix = prefix};
    x.addr[0] = a;
    x.addr[1] = b;
    x.addr[2] = c;
    x.addr[3] = d;
    return x;
}

static struct cidr v6_host(unsigned n)
{
    struct cidr x = {.family = AF_INET6, .prefix = 128};
    x.addr[0] = 0xfd;
    memcpy(x.addr + 12, &n, sizeof(n));
    return x;
}

/* ---- a decoder of SET_DEVICE messages, written against libmnl and <linux/wireguard.h> ---- */

struct attr_tab {
    const struct nlattr *a[32];
};

static int tab_cb(const struct nlattr *a, void *data)
{
    struct attr_tab *t = data;
    uint16_t type = mnl_attr_get_type(a);
    assert_true(type < 32);
    assert_null(t->a[type]); /* no attribute twice */
    t->a[type] = a;
    return MNL_CB_OK;
}

/* What one message said, beyond the peers gathered into the device. */
struct set_msg {
    bool has_private_key, has_port, replace_peers;
    size_t n_peer_nests;
};

static void decode_allowed_ips(const struct nlattr *list, struct wg_peer *p)
{
    const struct nlattr *ip;
    assert_int_equal(mnl_attr_validate(list, MNL_TYPE_NESTED), 0);
    mnl_attr_for_each_nested(ip, list)
    {
        struct attr_tab t = {0};
        struct cidr c = {0};
        assert_int_equal(mnl_attr_parse_nested(ip, tab_cb, &t), MNL_CB_OK);
        assert_non_null(t.a[WGALLOWEDIP_A_FAMILY]);
        assert_non_null(t.a[WGALLOWEDIP_A_IPADDR]);
        assert_non_null(t.a[WGALLOWEDIP_A_CIDR_MASK]);
        assert_int_equal(mnl_attr_validate(t.a[WGALLOWEDIP_A_FAMILY], MNL_TYPE_U16), 0);
        assert_int_equal(mnl_attr_validate(t.a[WGALLOWEDIP_A_CIDR_MASK], MNL_TYPE_U8), 0);
        c.family = mnl_attr_get_u16(t.a[WGALLOWEDIP_A_FAMILY]);
        size_t alen = c.family == AF_INET ? 4 : 16;
        assert_int_equal(mnl_attr_get_payload_len(t.a[WGALLOWEDIP_A_IPADDR]), alen);
        memcpy(c.addr, mnl_attr_get_payload(t.a[WGALLOWEDIP_A_IPADDR]), alen);
        c.prefix = mnl_attr_get_u8(t.a[WGALLOWEDIP_A_CIDR_MASK]);
        wg_peer_add_allowed_ip(p, &c);
    }
}

/* One peer nest into dev; a continuation (same key as the last, first in message) appends. */
static void decode_peer(const struct nlattr *nest, bool first, struct wg_device *dev)
{
    struct attr_tab t = {0};
    struct wg_key pub;
    struct wg_peer *p;

    assert_int_equal(mnl_attr_parse_nested(nest, tab_cb, &t), MNL_CB_OK);
    assert_non_null(t.a[WGPEER_A_PUBLIC_KEY]);
    assert_int_equal(mnl_attr_get_payload_len(t.a[WGPEER_A_PUBLIC_KEY]), WG_KEY_LEN);
    memcpy(pub.b, mnl_attr_get_payload(t.a[WGPEER_A_PUBLIC_KEY]), WG_KEY_LEN);
    bool cont = first && dev->n_peers &&
                !memcmp(dev->peers[dev->n_peers - 1].public_key.b, pub.b, WG_KEY_LEN);
    if (cont) {
        p = &dev->peers[dev->n_peers - 1];
        /* a continuation carries the key and further allowed IPs only */
        for (unsigned i = 0; i < 32; i++)
            if (i != WGPEER_A_PUBLIC_KEY && i != WGPEER_A_ALLOWEDIPS)
                assert_null(t.a[i]);
    } else {
        p = wg_device_add_peer(dev, &pub);
    }
    if (t.a[WGPEER_A_FLAGS]) {
        assert_int_equal(mnl_attr_validate(t.a[WGPEER_A_FLAGS], MNL_TYPE_U32), 0);
        uint32_t f = mnl_attr_get_u32(t.a[WGPEER_A_FLAGS]);
        assert_int_equal(f & ~(uint32_t)__WGPEER_F_ALL, 0);
        if (f & WGPEER_F_REMOVE_ME)
            p->flags |= WG_PEER_REMOVE;
        if (f & WGPEER_F_UPDATE_ONLY)
            p->flags |= WG_PEER_UPDATE_ONLY;
        if (f & WGPEER_F_REPLACE_ALLOWEDIPS)
            p->flags |= WG_PEER_REPLACE_ALLOWED_IPS;
    }
    if (t.a[WGPEER_A_PRESHARED_KEY]) {
        assert_int_equal(mnl_attr_get_payload_len(t.a[WGPEER_A_PRESHARED_KEY]), WG_KEY_LEN);
        memcpy(p->preshared_key.b, mnl_attr_get_payload(t.a[WGPEER_A_PRESHARED_KEY]), WG_KEY_LEN);
        p->flags |= WG_PEER_HAS_PRESHARED_KEY;
    }
    if (t.a[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL]) {
        assert_int_equal(
            mnl_attr_validate(t.a[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL], MNL_TYPE_U16), 0);
        p->keepalive = mnl_attr_get_u16(t.a[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL]);
        p->flags |= WG_PEER_HAS_KEEPALIVE;
    }
    if (t.a[WGPEER_A_ENDPOINT]) {
        size_t len = mnl_attr_get_payload_len(t.a[WGPEER_A_ENDPOINT]);
        assert_true(len == sizeof(struct sockaddr_in) || len == sizeof(struct sockaddr_in6));
        memcpy(&p->endpoint, mnl_attr_get_payload(t.a[WGPEER_A_ENDPOINT]), len);
    }
    if (t.a[WGPEER_A_ALLOWEDIPS])
        decode_allowed_ips(t.a[WGPEER_A_ALLOWEDIPS], p);
}

static void decode_set_msg(const struct nlmsghdr *nlh, uint32_t seq, struct wg_device *dev,
                           struct set_msg *ret)
{
    struct attr_tab t = {0};
    const struct nlattr *peer;

    memset(ret, 0, sizeof(*ret));
    assert_int_equal(nlh->nlmsg_type, FAMILY);
    assert_int_equal(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
    assert_int_equal(nlh->nlmsg_seq, seq);
    assert_true(nlh->nlmsg_len <= WG_GENL_MSG_MAX);
    const struct genlmsghdr *g = mnl_nlmsg_get_payload(nlh);
    assert_int_equal(g->cmd, WG_CMD_SET_DEVICE);
    assert_int_equal(g->version, WG_GENL_VERSION);
    assert_int_equal(mnl_attr_parse(nlh, sizeof(*g), tab_cb, &t), MNL_CB_OK);
    assert_non_null(t.a[WGDEVICE_A_IFNAME]);
    assert_int_equal(mnl_attr_validate(t.a[WGDEVICE_A_IFNAME], MNL_TYPE_NUL_STRING), 0);
    assert_string_equal(mnl_attr_get_str(t.a[WGDEVICE_A_IFNAME]), "tikgate0");
    assert_null(t.a[WGDEVICE_A_IFINDEX]);
    if (t.a[WGDEVICE_A_PRIVATE_KEY]) {
        assert_int_equal(mnl_attr_get_payload_len(t.a[WGDEVICE_A_PRIVATE_KEY]), WG_KEY_LEN);
        memcpy(dev->private_key.b, mnl_attr_get_payload(t.a[WGDEVICE_A_PRIVATE_KEY]), WG_KEY_LEN);
        dev->flags |= WG_DEVICE_HAS_PRIVATE_KEY;
        ret->has_private_key = true;
    }
    if (t.a[WGDEVICE_A_LISTEN_PORT]) {
        assert_int_equal(mnl_attr_validate(t.a[WGDEVICE_A_LISTEN_PORT], MNL_TYPE_U16), 0);
        dev->listen_port = mnl_attr_get_u16(t.a[WGDEVICE_A_LISTEN_PORT]);
        dev->flags |= WG_DEVICE_HAS_LISTEN_PORT;
        ret->has_port = true;
    }
    if (t.a[WGDEVICE_A_FLAGS]) {
        assert_int_equal(mnl_attr_get_u32(t.a[WGDEVICE_A_FLAGS]), WGDEVICE_F_REPLACE_PEERS);
        dev->flags |= WG_DEVICE_REPLACE_PEERS;
        ret->replace_peers = true;
    }
    if (!t.a[WGDEVICE_A_PEERS])
        return;
    bool first = true;
    mnl_attr_for_each_nested(peer, t.a[WGDEVICE_A_PEERS])
    {
        decode_peer(peer, first, dev);
        first = false;
        ret->n_peer_nests++;
    }
    assert_true(ret->n_peer_nests > 0);
}

/* Decodes all messages of out; checks seq numbering; returns how many there were. */
static size_t decode_all(const struct buf *out, struct wg_device *dev, struct set_msg *first,
                         struct set_msg *later_or)
{
    size_t count = 0, off = 0;
    memset(later_or, 0, sizeof(*later_or));
    while (off < out->len) {
        const struct nlmsghdr *nlh = (const struct nlmsghdr *)(out->data + off);
        int rem = (int)(out->len - off);
        assert_true(mnl_nlmsg_ok(nlh, rem));
        struct set_msg m;
        decode_set_msg(nlh, SEQ + (uint32_t)count, dev, &m);
        if (count == 0) {
            *first = m;
        } else {
            later_or->has_private_key |= m.has_private_key;
            later_or->has_port |= m.has_port;
            later_or->replace_peers |= m.replace_peers;
        }
        off += NLMSG_ALIGN(nlh->nlmsg_len);
        count++;
    }
    assert_int_equal(off, out->len);
    return count;
}

static void assert_peer_equal(const struct wg_peer *a, const struct wg_peer *b)
{
    assert_memory_equal(a->public_key.b, b->public_key.b, WG_KEY_LEN);
    unsigned want = b->flags;
    if (want & WG_PEER_REMOVE)
        want = WG_PEER_REMOVE; /* a removal sends nothing else */
    assert_int_equal(a->flags, want);
    if (want & WG_PEER_REMOVE) {
        assert_int_equal(a->n_allowed_ips, 0);
        return;
    }
    if (want & WG_PEER_HAS_PRESHARED_KEY)
        assert_memory_equal(a->preshared_key.b, b->preshared_key.b, WG_KEY_LEN);
    if (want & WG_PEER_HAS_KEEPALIVE)
        assert_int_equal(a->keepalive, b->keepalive);
    assert_int_equal(a->endpoint.ss_family, b->endpoint.ss_family);
    if (b->endpoint.ss_family == AF_INET)
        assert_memory_equal(&a->endpoint, &b->endpoint, sizeof(struct sockaddr_in));
    if (b->endpoint.ss_family == AF_INET6)
        assert_memory_equal(&a->endpoint, &b->endpoint, sizeof(struct sockaddr_in6));
    assert_int_equal(a->n_allowed_ips, b->n_allowed_ips);
    for (size_t i = 0; i < a->n_allowed_ips; i++) {
        assert_int_equal(a->allowed_ips[i].family, b->allowed_ips[i].family);
        assert_int_equal(a->allowed_ips[i].prefix, b->allowed_ips[i].prefix);
        assert_memory_equal(a->allowed_ips[i].addr, b->allowed_ips[i].addr,
                            a->allowed_ips[i].family == AF_INET ? 4 : 16);
    }
}

/* A device with one peer of every kind the edge sends. */
static void make_device(struct wg_device *d)
{
    memset(d, 0, sizeof(*d));
    d->flags = WG_DEVICE_HAS_PRIVATE_KEY | WG_DEVICE_HAS_LISTEN_PORT | WG_DEVICE_REPLACE_PEERS;
    d->private_key = key_n(7, 0x77);
    d->listen_port = 51820;

    struct wg_key k = key_n(1, 0xa1);
    struct wg_peer *p = wg_device_add_peer(d, &k);
    p->flags = WG_PEER_REPLACE_ALLOWED_IPS | WG_PEER_HAS_KEEPALIVE | WG_PEER_HAS_PRESHARED_KEY;
    p->keepalive = 25;
    p->preshared_key = key_n(9, 0x99);
    struct sockaddr_in *sin = (struct sockaddr_in *)&p->endpoint;
    sin->sin_family = AF_INET;
    sin->sin_port = htons(13231);
    inet_pton(AF_INET, "198.51.100.2", &sin->sin_addr);
    struct cidr c = v4(100, 64, 0, 2, 32);
    wg_peer_add_allowed_ip(p, &c);
    c = v6_host(2);
    wg_peer_add_allowed_ip(p, &c);

    k = key_n(2, 0xa2);
    p = wg_device_add_peer(d, &k); /* pending site: no endpoint, keepalive off */
    p->flags = WG_PEER_REPLACE_ALLOWED_IPS | WG_PEER_HAS_KEEPALIVE | WG_PEER_UPDATE_ONLY;
    p->keepalive = 0;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&p->endpoint;
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(51820);
    inet_pton(AF_INET6, "2001:db8::7", &s6->sin6_addr);
    c = v4(100, 64, 0, 3, 32);
    wg_peer_add_allowed_ip(p, &c);

    k = key_n(3, 0xa3);
    p = wg_device_add_peer(d, &k); /* re-key: the next key, no allowed IPs yet */
    p->flags = WG_PEER_REPLACE_ALLOWED_IPS;

    k = key_n(4, 0xa4);
    p = wg_device_add_peer(d, &k);
    p->flags = WG_PEER_REMOVE | WG_PEER_HAS_KEEPALIVE; /* only the removal goes out */
    c = v4(10, 0, 0, 1, 32);
    wg_peer_add_allowed_ip(p, &c);
}

static void test_set_every_attribute(void **state)
{
    (void)state;
    struct wg_device d, got = {0};
    struct set_msg first, later;
    struct buf out;
    size_t count = 0;

    make_device(&d);
    buf_init(&out, 1u << 20);
    assert_int_equal(wg_genl_build_set(FAMILY, SEQ, "tikgate0", &d, &out, &count), 0);
    assert_int_equal(count, 1);
    assert_int_equal(decode_all(&out, &got, &first, &later), 1);
    assert_true(first.has_private_key && first.has_port && first.replace_peers);
    assert_int_equal(first.n_peer_nests, 4);
    assert_memory_equal(got.private_key.b, d.private_key.b, WG_KEY_LEN);
    assert_int_equal(got.listen_port, 51820);
    assert_int_equal(got.flags, d.flags);
    assert_int_equal(got.n_peers, 4);
    for (size_t i = 0; i < 4; i++)
        assert_peer_equal(&got.peers[i], &d.peers[i]);
    wg_device_release(&got);

    /* One peer update as wg_backend_set_peer sends it: no device attributes, no replace. */
    struct wg_device one = {.peers = d.peers, .n_peers = 1, .alloc_peers = 1};
    buf_reset(&out);
    assert_int_equal(wg_genl_build_set(FAMILY, SEQ, "tikgate0", &one, &out, &count), 0);
    assert_int_equal(decode_all(&out, &got, &first, &later), 1);
    assert_false(first.has_private_key || first.has_port || first.replace_peers);
    assert_int_equal(got.n_peers, 1);
    assert_peer_equal(&got.peers[0], &d.peers[0]);
    wg_device_release(&got);

    /* REPLACE_PEERS with no peers at all: one message, the flag, no peers nest. */
    struct wg_device empty = {.flags = WG_DEVICE_REPLACE_PEERS};
    buf_reset(&out);
    assert_int_equal(wg_genl_build_set(FAMILY, SEQ, "tikgate0", &empty, &out, &count), 0);
    assert_int_equal(decode_all(&out, &got, &first, &later), 1);
    assert_true(first.replace_peers);
    assert_int_equal(first.n_peer_nests, 0);
    wg_device_release(&got);

    /* Refused: a bad name, a bad prefix. */
    assert_int_equal(wg_genl_build_set(FAMILY, SEQ, "", &d, &out, &count), -EINVAL);
    assert_int_equal(wg_genl_build_set(FAMILY, SEQ, "a-name-too-long-x", &d, &out, &count),
                     -EINVAL);
    d.peers[0].allowed_ips[0].prefix = 33;
    assert_int_equal(wg_genl_build_set(FAMILY, SEQ, "tikgate0", &d, &out, &count), -EINVAL);
    /* The cap of out is honoured. */
    d.peers[0].allowed_ips[0].prefix = 32;
    struct buf small;
    buf_init(&small, 64);
    assert_int_equal(wg_genl_build_set(FAMILY, SEQ, "tikgate0", &d, &small, &count), -E2BIG);
    buf_release(&small);
    buf_release(&out);
    wg_device_release(&d);
}

static void test_split_10000_peers(void **state)
{
    (void)state;
    struct wg_device d = {0}, got = {0};
    struct set_msg first, later;
    struct buf out;
    size_t count = 0;

    d.flags = WG_DEVICE_HAS_PRIVATE_KEY | WG_DEVICE_HAS_LISTEN_PORT | WG_DEVICE_REPLACE_PEERS;
    d.private_key = key_n(1, 0x55);
    d.listen_port = 51820;
    for (unsigned i = 0; i < 10000; i++) {
        struct wg_key k = key_n(i, 0xb0);
        struct wg_peer *p = wg_device_add_peer(&d, &k);
        p->flags = WG_PEER_REPLACE_ALLOWED_IPS | WG_PEER_HAS_KEEPALIVE;
        p->keepalive = i % 2 ? 25 : 0;
        struct cidr c = v4(100, (uint8_t)(64 + i / 65536), (uint8_t)(i / 256), (uint8_t)i, 32);
        wg_peer_add_allowed_ip(p, &c);
    }
    buf_init(&out, 64u << 20);
    assert_int_equal(wg_genl_build_set(FAMILY, SEQ, "tikgate0", &d, &out, &count), 0);
    /* about 120 bytes a peer: some 300 messages of at most a page */
    assert_true(count > 100 && count < 1000);
    assert_int_equal(decode_all(&out, &got, &first, &later), count);
    /* Device attributes and REPLACE_PEERS only in the first message. */
    assert_true(first.has_private_key && first.has_port && first.replace_peers);
    assert_false(later.has_private_key || later.has_port || later.replace_peers);
    assert_int_equal(got.n_peers, 10000);
    for (size_t i = 0; i < 10000; i++)
        assert_peer_equal(&got.peers[i], &d.peers[i]);
    wg_device_release(&got);
    buf_release(&out);
    wg_device_release(&d);
}

/* A peer whose allowed IPs take several messages: continued under the same key. */
static void test_split_one_big_peer(void **state)
{
    (void)state;
    struct wg_device d = {0}, got = {0};
    struct set_msg first, later;
    struct buf out;
    size_t count = 0, off = 0, msg = 0;

    struct wg_key k = key_n(1, 0xc1);
    struct wg_peer *p = wg_device_add_peer(&d, &k);
    p->flags = WG_PEER_REPLACE_ALLOWED_IPS | WG_PEER_HAS_KEEPALIVE;
    p->keepalive = 25;
    for (unsigned i = 0; i < 1000; i++) {
        struct cidr c = v6_host(i);
        wg_peer_add_allowed_ip(p, &c);
    }
    k = key_n(2, 0xc2);
    p = wg_device_add_peer(&d, &k);
    p->flags = WG_PEER_REPLACE_ALLOWED_IPS;
    buf_init(&out, 8u << 20);
    assert_int_equal(wg_genl_build_set(FAMILY, SEQ, "tikgate0", &d, &out, &count), 0);
    assert_true(count >= 10); /* 1000 × 40 bytes */
    assert_int_equal(decode_all(&out, &got, &first, &later), count);
    assert_int_equal(got.n_peers, 2);
    assert_peer_equal(&got.peers[0], &d.peers[0]);
    assert_peer_equal(&got.peers[1], &d.peers[1]);
    /* Only the first part carries the peer's flags (REPLACE_ALLOWEDIPS): later parts add. */
    while (off < out.len) {
        const struct nlmsghdr *nlh = (const struct nlmsghdr *)(out.data + off);
        struct attr_tab t = {0}, pt = {0};
        assert_int_equal(mnl_attr_parse(nlh, sizeof(struct genlmsghdr), tab_cb, &t), MNL_CB_OK);
        const struct nlattr *peer = mnl_attr_get_payload(t.a[WGDEVICE_A_PEERS]);
        assert_int_equal(mnl_attr_parse_nested(peer, tab_cb, &pt), MNL_CB_OK);
        if (msg == 0)
            assert_non_null(pt.a[WGPEER_A_FLAGS]);
        else if (!memcmp(mnl_attr_get_payload(pt.a[WGPEER_A_PUBLIC_KEY]), d.peers[0].public_key.b,
                         WG_KEY_LEN))
            assert_null(pt.a[WGPEER_A_FLAGS]);
        off += NLMSG_ALIGN(nlh->nlmsg_len);
        msg++;
    }
    wg_device_release(&got);
    buf_release(&out);
    wg_device_release(&d);
}

/* ---- GET_DEVICE dumps, laid out as the kernel's wg_get_device_dump() does ---- */

struct dump {
    char buf[1u << 16] __attribute__((aligned(NLMSG_ALIGNTO)));
    size_t len;
};

static struct nlmsghdr *dump_msg(struct dump *dm, uint16_t type)
{
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(dm->buf + dm->len);
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = NLM_F_MULTI;
    nlh->nlmsg_seq = SEQ;
    if (type >= NLMSG_MIN_TYPE) {
        struct genlmsghdr *g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
        g->cmd = WG_CMD_GET_DEVICE;
        g->version = WG_GENL_VERSION;
    }
    return nlh;
}

static void dump_end(struct dump *dm, struct nlmsghdr *nlh)
{
    dm->len += NLMSG_ALIGN(nlh->nlmsg_len);
}

static void put_ip(struct nlmsghdr *nlh, const struct cidr *c)
{
    struct nlattr *n = mnl_attr_nest_start(nlh, 0);
    mnl_attr_put_u16(nlh, WGALLOWEDIP_A_FAMILY, (uint16_t)c->family);
    mnl_attr_put(nlh, WGALLOWEDIP_A_IPADDR, c->family == AF_INET ? 4 : 16, c->addr);
    mnl_attr_put_u8(nlh, WGALLOWEDIP_A_CIDR_MASK, c->prefix);
    mnl_attr_nest_end(nlh, n);
}

/* A full peer as the kernel reports it. */
static void put_full_peer(struct nlmsghdr *nlh, unsigned n, int64_t hs, uint64_t rx, uint64_t tx)
{
    struct wg_key k = key_n(n, 0xd0), zero = {{0}};
    struct __kernel_timespec ts = {.tv_sec = hs, .tv_nsec = 250};
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)(40000 + n))};
    sin.sin_addr.s_addr = htonl(0xc6336400u + n); /* 198.51.100.n */
    struct nlattr *p = mnl_attr_nest_start(nlh, 0);
    mnl_attr_put(nlh, WGPEER_A_PUBLIC_KEY, WG_KEY_LEN, k.b);
    mnl_attr_put(nlh, WGPEER_A_PRESHARED_KEY, WG_KEY_LEN, zero.b);
    mnl_attr_put(nlh, WGPEER_A_LAST_HANDSHAKE_TIME, sizeof(ts), &ts);
    mnl_attr_put_u16(nlh, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, 25);
    mnl_attr_put_u64(nlh, WGPEER_A_TX_BYTES, tx);
    mnl_attr_put_u64(nlh, WGPEER_A_RX_BYTES, rx);
    mnl_attr_put_u32(nlh, WGPEER_A_PROTOCOL_VERSION, 1);
    mnl_attr_put(nlh, WGPEER_A_ENDPOINT, sizeof(sin), &sin);
    struct nlattr *ips = mnl_attr_nest_start(nlh, WGPEER_A_ALLOWEDIPS);
    struct cidr c = v4(100, 64, 0, (uint8_t)n, 32);
    put_ip(nlh, &c);
    mnl_attr_nest_end(nlh, ips);
    mnl_attr_nest_end(nlh, p);
}

static void build_dump(struct dump *dm)
{
    struct wg_key priv = key_n(5, 0x11), pub = key_n(6, 0x22);
    memset(dm, 0, sizeof(*dm));
    struct nlmsghdr *nlh = dump_msg(dm, FAMILY);
    mnl_attr_put_u32(nlh, WGDEVICE_A_IFINDEX, 7);
    mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, "tikgate0");
    mnl_attr_put(nlh, WGDEVICE_A_PRIVATE_KEY, WG_KEY_LEN, priv.b);
    mnl_attr_put(nlh, WGDEVICE_A_PUBLIC_KEY, WG_KEY_LEN, pub.b);
    mnl_attr_put_u16(nlh, WGDEVICE_A_LISTEN_PORT, 51820);
    mnl_attr_put_u32(nlh, WGDEVICE_A_FWMARK, 0);
    struct nlattr *peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
    put_full_peer(nlh, 1, 1700000000, 1234, 5678);
    put_full_peer(nlh, 2, 0, 0, 0); /* never handshaken */
    mnl_attr_nest_end(nlh, peers);
    dump_end(dm, nlh);

    /* Next message: peer 2 continued (key + more allowed IPs), then peer 3. */
    nlh = dump_msg(dm, FAMILY);
    mnl_attr_put_u32(nlh, WGDEVICE_A_IFINDEX, 7);
    mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, "tikgate0");
    peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
    struct wg_key k2 = key_n(2, 0xd0);
    struct nlattr *p = mnl_attr_nest_start(nlh, 0);
    mnl_attr_put(nlh, WGPEER_A_PUBLIC_KEY, WG_KEY_LEN, k2.b);
    struct nlattr *ips = mnl_attr_nest_start(nlh, WGPEER_A_ALLOWEDIPS);
    struct cidr c = v6_host(2);
    put_ip(nlh, &c);
    mnl_attr_nest_end(nlh, ips);
    mnl_attr_nest_end(nlh, p);
    put_full_peer(nlh, 3, 1700000100, UINT64_MAX, 1);
    mnl_attr_nest_end(nlh, peers);
    dump_end(dm, nlh);
    nlh = dump_msg(dm, NLMSG_DONE);
    mnl_nlmsg_put_extra_header(nlh, sizeof(int));
    dump_end(dm, nlh);
}

static void test_parse_get(void **state)
{
    (void)state;
    static struct dump dm;
    struct wg_device d = {0};
    struct wg_key priv = key_n(5, 0x11), pub = key_n(6, 0x22);

    build_dump(&dm);
    assert_int_equal(wg_genl_parse_get(FAMILY, dm.buf, dm.len, &d), 1);
    assert_int_equal(d.flags, WG_DEVICE_HAS_PRIVATE_KEY | WG_DEVICE_HAS_LISTEN_PORT);
    assert_memory_equal(d.private_key.b, priv.b, WG_KEY_LEN);
    assert_memory_equal(d.public_key.b, pub.b, WG_KEY_LEN);
    assert_int_equal(d.listen_port, 51820);
    assert_int_equal(d.n_peers, 3);
    for (unsigned i = 0; i < 3; i++) {
        struct wg_key k = key_n(i + 1, 0xd0);
        const struct wg_peer *p = wg_device_find_peer(&d, &k);
        assert_ptr_equal(p, &d.peers[i]);
        assert_int_equal(p->keepalive, 25);
        assert_int_equal(p->flags, WG_PEER_HAS_KEEPALIVE); /* zero preshared key: none */
        char ep[WG_ENDPOINT_STR_LEN], want[32];
        wg_endpoint_format(&p->endpoint, ep);
        snprintf(want, sizeof want, "198.51.100.%u:%u", i + 1, 40001 + i);
        assert_string_equal(ep, want);
        assert_int_equal(p->allowed_ips[0].family, AF_INET);
        assert_int_equal(p->allowed_ips[0].addr[3], i + 1);
        assert_int_equal(p->allowed_ips[0].prefix, 32);
    }
    assert_int_equal(d.peers[0].last_handshake_sec, 1700000000);
    assert_int_equal(d.peers[0].last_handshake_nsec, 250);
    assert_int_equal(d.peers[0].rx_bytes, 1234);
    assert_int_equal(d.peers[0].tx_bytes, 5678);
    assert_int_equal(d.peers[1].last_handshake_sec, 0);
    assert_int_equal(d.peers[1].n_allowed_ips, 2); /* continued in the second message */
    assert_int_equal(d.peers[1].allowed_ips[1].family, AF_INET6);
    assert_int_equal(d.peers[1].allowed_ips[1].prefix, 128);
    assert_int_equal(d.peers[0].n_allowed_ips, 1);
    assert_true(d.peers[2].rx_bytes == UINT64_MAX);
    assert_int_equal(d.peers[2].tx_bytes, 1);
    wg_device_release(&d);

    /* Message by message, as separate recv()s: 0, 0, then 1. */
    size_t first = NLMSG_ALIGN(((struct nlmsghdr *)dm.buf)->nlmsg_len);
    size_t second = NLMSG_ALIGN(((struct nlmsghdr *)(dm.buf + first))->nlmsg_len);
    assert_int_equal(wg_genl_parse_get(FAMILY, dm.buf, first, &d), 0);
    assert_int_equal(wg_genl_parse_get(FAMILY, dm.buf + first, second, &d), 0);
    assert_int_equal(d.n_peers, 3);
    assert_int_equal(
        wg_genl_parse_get(FAMILY, dm.buf + first + second, dm.len - first - second, &d), 1);
    assert_int_equal(d.peers[1].n_allowed_ips, 2);
    wg_device_release(&d);
}

static void test_parse_get_refuses(void **state)
{
    (void)state;
    static struct dump dm;
    struct wg_device d = {0};

    /* The kernel's error (no such device). */
    memset(&dm, 0, sizeof(dm));
    struct nlmsghdr *nlh = dump_msg(&dm, NLMSG_ERROR);
    struct nlmsgerr *e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));
    e->error = -ENODEV;
    dump_end(&dm, nlh);
    assert_int_equal(wg_genl_parse_get(FAMILY, dm.buf, dm.len, &d), -ENODEV);
    wg_device_release(&d);

    /* A message of another family, or a truncated buffer. */
    build_dump(&dm);
    assert_int_equal(wg_genl_parse_get(FAMILY + 1, dm.buf, dm.len, &d), -EPROTO);
    wg_device_release(&d);
    assert_int_equal(wg_genl_parse_get(FAMILY, dm.buf, dm.len - 3, &d), -EPROTO);
    wg_device_release(&d);
    assert_int_equal(wg_genl_parse_get(FAMILY, dm.buf, 0, &d), -EPROTO);
    /* A length of 2^31 + 16 (libmnl's check takes it as negative): refused, not followed. */
    ((struct nlmsghdr *)dm.buf)->nlmsg_len = 0x80000010u;
    assert_int_equal(wg_genl_parse_get(FAMILY, dm.buf, dm.len, &d), -EPROTO);
    wg_device_release(&d);
    uint16_t fam;
    assert_int_equal(wg_genl_parse_family(dm.buf, dm.len, &fam), -EPROTO);

    /* A listen port of the wrong size. */
    memset(&dm, 0, sizeof(dm));
    nlh = dump_msg(&dm, FAMILY);
    mnl_attr_put_u32(nlh, WGDEVICE_A_LISTEN_PORT, 51820);
    dump_end(&dm, nlh);
    assert_int_equal(wg_genl_parse_get(FAMILY, dm.buf, dm.len, &d), -EPROTO);
    wg_device_release(&d);

    /* A peer without a public key; an allowed IP with a bad prefix. */
    memset(&dm, 0, sizeof(dm));
    nlh = dump_msg(&dm, FAMILY);
    struct nlattr *peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
    struct nlattr *p = mnl_attr_nest_start(nlh, 0);
    mnl_attr_put_u64(nlh, WGPEER_A_RX_BYTES, 1);
    mnl_attr_nest_end(nlh, p);
    mnl_attr_nest_end(nlh, peers);
    dump_end(&dm, nlh);
    assert_int_equal(wg_genl_parse_get(FAMILY, dm.buf, dm.len, &d), -EPROTO);
    wg_device_release(&d);

    memset(&dm, 0, sizeof(dm));
    nlh = dump_msg(&dm, FAMILY);
    peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
    p = mnl_attr_nest_start(nlh, 0);
    struct wg_key k = key_n(1, 1);
    mnl_attr_put(nlh, WGPEER_A_PUBLIC_KEY, WG_KEY_LEN, k.b);
    struct nlattr *ips = mnl_attr_nest_start(nlh, WGPEER_A_ALLOWEDIPS);
    struct cidr c = v4(10, 0, 0, 1, 33);
    put_ip(nlh, &c);
    mnl_attr_nest_end(nlh, ips);
    mnl_attr_nest_end(nlh, p);
    mnl_attr_nest_end(nlh, peers);
    dump_end(&dm, nlh);
    assert_int_equal(wg_genl_parse_get(FAMILY, dm.buf, dm.len, &d), -EPROTO);
    wg_device_release(&d);
}

static void test_family(void **state)
{
    (void)state;
    static struct dump dm;
    struct buf out;
    uint16_t id = 0;

    buf_init(&out, WG_GENL_MSG_MAX);
    assert_int_equal(wg_genl_build_family_query(SEQ, &out), 0);
    const struct nlmsghdr *q = (const struct nlmsghdr *)out.data;
    assert_int_equal(q->nlmsg_type, GENL_ID_CTRL);
    struct attr_tab t = {0};
    assert_int_equal(mnl_attr_parse(q, sizeof(struct genlmsghdr), tab_cb, &t), MNL_CB_OK);
    assert_string_equal(mnl_attr_get_str(t.a[CTRL_ATTR_FAMILY_NAME]), "wireguard");
    buf_release(&out);

    memset(&dm, 0, sizeof(dm));
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(dm.buf);
    nlh->nlmsg_type = GENL_ID_CTRL;
    struct genlmsghdr *g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
    g->cmd = CTRL_CMD_NEWFAMILY;
    mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, "wireguard");
    mnl_attr_put_u16(nlh, CTRL_ATTR_FAMILY_ID, 0x22);
    dm.len = NLMSG_ALIGN(nlh->nlmsg_len);
    assert_int_equal(wg_genl_parse_family(dm.buf, dm.len, &id), 0);
    assert_int_equal(id, 0x22);

    /* No module: the controller answers ENOENT. */
    memset(&dm, 0, sizeof(dm));
    nlh = mnl_nlmsg_put_header(dm.buf);
    nlh->nlmsg_type = NLMSG_ERROR;
    struct nlmsgerr *e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));
    e->error = -ENOENT;
    dm.len = NLMSG_ALIGN(nlh->nlmsg_len);
    assert_int_equal(wg_genl_parse_family(dm.buf, dm.len, &id), -ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_every_attribute), cmocka_unit_test(test_split_10000_peers),
        cmocka_unit_test(test_split_one_big_peer),  cmocka_unit_test(test_parse_get),
        cmocka_unit_test(test_parse_get_refuses),   cmocka_unit_test(test_family),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
