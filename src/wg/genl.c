/*
 * genl.c - WireGuard's generic netlink messages (wg_genl.h): SET_DEVICE with
 * wireguard-tools' splitting, the GET_DEVICE dump parser, the family lookup.
 * libmnl frames and validates; nothing here does I/O.
 */
#include "wg_genl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/time_types.h>
#include <linux/wireguard.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <time.h>

/* One message being built, in an aligned scratch buffer. */
struct msg {
    char buf[WG_GENL_MSG_MAX] __attribute__((aligned(NLMSG_ALIGNTO)));
    struct nlmsghdr *nlh;
};

static bool ifname_ok(const char *ifname)
{
    return ifname && ifname[0] && strlen(ifname) < IFNAMSIZ;
}

static void msg_start(struct msg *m, uint16_t type, uint16_t flags, uint32_t seq, uint8_t cmd)
{
    m->nlh = mnl_nlmsg_put_header(m->buf);
    m->nlh->nlmsg_type = type;
    m->nlh->nlmsg_flags = flags;
    m->nlh->nlmsg_seq = seq;
    struct genlmsghdr *g = mnl_nlmsg_put_extra_header(m->nlh, sizeof(*g));
    g->cmd = cmd;
    g->version = WG_GENL_VERSION;
}

static int msg_flush(struct msg *m, struct buf *out)
{
    return buf_append(out, m->buf, NLMSG_ALIGN(m->nlh->nlmsg_len));
}

/* The device attributes of the first message. false: they do not fit (cannot happen). */
static bool put_device(struct nlmsghdr *nlh, const struct wg_device *d)
{
    uint32_t flags = (d->flags & WG_DEVICE_REPLACE_PEERS) ? WGDEVICE_F_REPLACE_PEERS : 0;
    if ((d->flags & WG_DEVICE_HAS_PRIVATE_KEY) &&
        !mnl_attr_put_check(nlh, WG_GENL_MSG_MAX, WGDEVICE_A_PRIVATE_KEY, WG_KEY_LEN,
                            d->private_key.b))
        return false;
    if ((d->flags & WG_DEVICE_HAS_LISTEN_PORT) &&
        !mnl_attr_put_u16_check(nlh, WG_GENL_MSG_MAX, WGDEVICE_A_LISTEN_PORT, d->listen_port))
        return false;
    if ((d->flags & WG_DEVICE_HAS_FWMARK) &&
        !mnl_attr_put_u32_check(nlh, WG_GENL_MSG_MAX, WGDEVICE_A_FWMARK, d->fwmark))
        return false;
    return !flags || mnl_attr_put_u32_check(nlh, WG_GENL_MSG_MAX, WGDEVICE_A_FLAGS, flags);
}

/* A peer's flags, preshared key, endpoint and keepalive (sent once, at its start). */
static bool put_peer_head(struct nlmsghdr *nlh, const struct wg_peer *p)
{
    uint32_t flags = 0;
    if (p->flags & WG_PEER_REMOVE)
        return mnl_attr_put_u32_check(nlh, WG_GENL_MSG_MAX, WGPEER_A_FLAGS, WGPEER_F_REMOVE_ME);
    if (p->flags & WG_PEER_UPDATE_ONLY)
        flags |= WGPEER_F_UPDATE_ONLY;
    if (p->flags & WG_PEER_REPLACE_ALLOWED_IPS)
        flags |= WGPEER_F_REPLACE_ALLOWEDIPS;
    if (flags && !mnl_attr_put_u32_check(nlh, WG_GENL_MSG_MAX, WGPEER_A_FLAGS, flags))
        return false;
    if ((p->flags & WG_PEER_HAS_PRESHARED_KEY) &&
        !mnl_attr_put_check(nlh, WG_GENL_MSG_MAX, WGPEER_A_PRESHARED_KEY, WG_KEY_LEN,
                            p->preshared_key.b))
        return false;
    if (p->endpoint.ss_family == AF_INET &&
        !mnl_attr_put_check(nlh, WG_GENL_MSG_MAX, WGPEER_A_ENDPOINT, sizeof(struct sockaddr_in),
                            &p->endpoint))
        return false;
    if (p->endpoint.ss_family == AF_INET6 &&
        !mnl_attr_put_check(nlh, WG_GENL_MSG_MAX, WGPEER_A_ENDPOINT, sizeof(struct sockaddr_in6),
                            &p->endpoint))
        return false;
    return !(p->flags & WG_PEER_HAS_KEEPALIVE) ||
           mnl_attr_put_u16_check(nlh, WG_GENL_MSG_MAX, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL,
                                  p->keepalive);
}

static bool put_allowed_ip(struct nlmsghdr *nlh, const struct cidr *c)
{
    struct nlattr *n = mnl_attr_nest_start_check(nlh, WG_GENL_MSG_MAX, 0);
    if (!n)
        return false;
    if (!mnl_attr_put_u16_check(nlh, WG_GENL_MSG_MAX, WGALLOWEDIP_A_FAMILY, (uint16_t)c->family) ||
        !mnl_attr_put_check(nlh, WG_GENL_MSG_MAX, WGALLOWEDIP_A_IPADDR,
                            c->family == AF_INET ? 4 : 16, c->addr) ||
        !mnl_attr_put_u8_check(nlh, WG_GENL_MSG_MAX, WGALLOWEDIP_A_CIDR_MASK, c->prefix)) {
        mnl_attr_nest_cancel(nlh, n);
        return false;
    }
    mnl_attr_nest_end(nlh, n);
    return true;
}

/*
 * Puts peer p from allowed IP *ip on. Returns 1 = the whole peer fit, 0 = a
 * part of it fit (*ip: where the next message goes on), -1 = nothing of it fit.
 */
static int put_peer(struct nlmsghdr *nlh, const struct wg_peer *p, size_t *ip)
{
    struct nlattr *peer = mnl_attr_nest_start_check(nlh, WG_GENL_MSG_MAX, 0);
    if (!peer)
        return -1;
    if (!mnl_attr_put_check(nlh, WG_GENL_MSG_MAX, WGPEER_A_PUBLIC_KEY, WG_KEY_LEN,
                            p->public_key.b) ||
        (*ip == 0 && !put_peer_head(nlh, p)))
        goto out_cancel;
    if (!(p->flags & WG_PEER_REMOVE) && *ip < p->n_allowed_ips) {
        size_t first = *ip;
        struct nlattr *ips = mnl_attr_nest_start_check(nlh, WG_GENL_MSG_MAX, WGPEER_A_ALLOWEDIPS);
        if (!ips)
            goto out_cancel;
        while (*ip < p->n_allowed_ips && put_allowed_ip(nlh, &p->allowed_ips[*ip]))
            (*ip)++;
        if (*ip == first)
            goto out_cancel;
        mnl_attr_nest_end(nlh, ips);
        if (*ip < p->n_allowed_ips) {
            mnl_attr_nest_end(nlh, peer);
            return 0;
        }
    }
    mnl_attr_nest_end(nlh, peer);
    return 1;
out_cancel:
    mnl_attr_nest_cancel(nlh, peer);
    return -1;
}

static bool device_valid(const struct wg_device *d)
{
    for (size_t i = 0; i < d->n_peers; i++)
        for (size_t j = 0; j < d->peers[i].n_allowed_ips; j++) {
            const struct cidr *c = &d->peers[i].allowed_ips[j];
            if ((c->family != AF_INET || c->prefix > 32) &&
                (c->family != AF_INET6 || c->prefix > 128))
                return false;
        }
    return true;
}

int wg_genl_build_set(uint16_t family, uint32_t seq, const char *ifname, const struct wg_device *d,
                      struct buf *out, size_t *ret_count)
{
    struct msg m;
    size_t peer = 0, ip = 0, count = 0;
    int r;

    if (!ifname_ok(ifname) || !device_valid(d))
        return -EINVAL;
    do {
        bool progress = false;
        msg_start(&m, family, NLM_F_REQUEST | NLM_F_ACK, seq + (uint32_t)count, WG_CMD_SET_DEVICE);
        mnl_attr_put_strz(m.nlh, WGDEVICE_A_IFNAME, ifname);
        if (count == 0 && !put_device(m.nlh, d))
            return -E2BIG;
        if (peer < d->n_peers) {
            struct nlattr *peers =
                mnl_attr_nest_start_check(m.nlh, WG_GENL_MSG_MAX, WGDEVICE_A_PEERS);
            if (!peers)
                return -E2BIG;
            while (peer < d->n_peers) {
                int fit = put_peer(m.nlh, &d->peers[peer], &ip);
                if (fit < 0)
                    break;
                progress = true;
                if (fit == 0)
                    break;
                peer++;
                ip = 0;
            }
            if (!progress)
                return -E2BIG; /* one allowed IP does not fit in an empty message: cannot be */
            mnl_attr_nest_end(m.nlh, peers);
        }
        if ((r = msg_flush(&m, out)) < 0)
            return r;
        count++;
    } while (peer < d->n_peers);
    *ret_count = count;
    return 0;
}

int wg_genl_build_get(uint16_t family, uint32_t seq, const char *ifname, struct buf *out)
{
    struct msg m;

    if (!ifname_ok(ifname))
        return -EINVAL;
    msg_start(&m, family, NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP, seq, WG_CMD_GET_DEVICE);
    mnl_attr_put_strz(m.nlh, WGDEVICE_A_IFNAME, ifname);
    return msg_flush(&m, out);
}

int wg_genl_build_family_query(uint32_t seq, struct buf *out)
{
    struct msg m;

    msg_start(&m, GENL_ID_CTRL, NLM_F_REQUEST | NLM_F_ACK, seq, CTRL_CMD_GETFAMILY);
    ((struct genlmsghdr *)mnl_nlmsg_get_payload(m.nlh))->version = 1;
    mnl_attr_put_strz(m.nlh, CTRL_ATTR_FAMILY_NAME, WG_GENL_NAME);
    return msg_flush(&m, out);
}

/* ---- parsing ---- */

#define ATTRS_MAX 31
_Static_assert(WGDEVICE_A_MAX <= ATTRS_MAX && WGPEER_A_MAX <= ATTRS_MAX &&
                   WGALLOWEDIP_A_MAX <= ATTRS_MAX && CTRL_ATTR_MAX <= ATTRS_MAX,
               "attribute table too small");

/* Collects the attributes of one nest (or message) by type, each validated for its size. */
struct attrs {
    const struct nlattr *a[ATTRS_MAX + 1];
    unsigned max;
    const uint8_t *want; /* per type: 1 = u8, 2 = u16, 4 = u32, 8 = u64, 0 = any, else length */
    bool bad;
};

static int collect(const struct nlattr *a, void *data)
{
    struct attrs *s = data;
    uint16_t type = mnl_attr_get_type(a);
    if (type > s->max)
        return MNL_CB_OK; /* newer kernels' attributes */
    uint8_t w = s->want[type];
    if (w && mnl_attr_get_payload_len(a) != w) {
        s->bad = true;
        return MNL_CB_ERROR;
    }
    s->a[type] = a;
    return MNL_CB_OK;
}

static int parse_nest(const struct nlattr *nest, struct attrs *s)
{
    if (mnl_attr_parse_nested(nest, collect, s) != MNL_CB_OK || s->bad)
        return -EPROTO;
    return 0;
}

static const uint8_t want_ip[WGALLOWEDIP_A_MAX + 1] = {
    [WGALLOWEDIP_A_FAMILY] = 2,
    [WGALLOWEDIP_A_CIDR_MASK] = 1,
};

static int parse_allowed_ip(const struct nlattr *nest, struct wg_peer *p)
{
    struct attrs s = {.max = WGALLOWEDIP_A_MAX, .want = want_ip};
    struct cidr c = {0};
    int r;

    if ((r = parse_nest(nest, &s)) < 0)
        return r;
    if (!s.a[WGALLOWEDIP_A_FAMILY] || !s.a[WGALLOWEDIP_A_IPADDR] || !s.a[WGALLOWEDIP_A_CIDR_MASK])
        return -EPROTO;
    c.family = mnl_attr_get_u16(s.a[WGALLOWEDIP_A_FAMILY]);
    size_t alen = c.family == AF_INET ? 4 : c.family == AF_INET6 ? 16 : 0;
    c.prefix = mnl_attr_get_u8(s.a[WGALLOWEDIP_A_CIDR_MASK]);
    if (!alen || mnl_attr_get_payload_len(s.a[WGALLOWEDIP_A_IPADDR]) != alen || c.prefix > alen * 8)
        return -EPROTO;
    memcpy(c.addr, mnl_attr_get_payload(s.a[WGALLOWEDIP_A_IPADDR]), alen);
    if (p->n_allowed_ips >= WG_UAPI_MAX_ALLOWED_IPS)
        return -E2BIG;
    wg_peer_add_allowed_ip(p, &c);
    return 0;
}

static int parse_endpoint(const struct nlattr *a, struct sockaddr_storage *ret)
{
    size_t len = mnl_attr_get_payload_len(a);
    const struct sockaddr *sa = mnl_attr_get_payload(a);
    sa_family_t fam;

    if (len < sizeof(fam))
        return -EPROTO;
    memcpy(&fam, sa, sizeof(fam));
    if ((fam == AF_INET && len == sizeof(struct sockaddr_in)) ||
        (fam == AF_INET6 && len == sizeof(struct sockaddr_in6))) {
        memset(ret, 0, sizeof(*ret));
        memcpy(ret, sa, len);
        return 0;
    }
    return -EPROTO;
}

static const uint8_t want_peer[WGPEER_A_MAX + 1] = {
    [WGPEER_A_PUBLIC_KEY] = WG_KEY_LEN,
    [WGPEER_A_PRESHARED_KEY] = WG_KEY_LEN,
    [WGPEER_A_FLAGS] = 4,
    [WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL] = 2,
    [WGPEER_A_LAST_HANDSHAKE_TIME] = sizeof(struct __kernel_timespec),
    [WGPEER_A_RX_BYTES] = 8,
    [WGPEER_A_TX_BYTES] = 8,
    [WGPEER_A_PROTOCOL_VERSION] = 4,
};

static const uint8_t zero_key[WG_KEY_LEN];

/* One peer nest; first: the first peer of its message (may continue dev's last peer). */
static int parse_peer(const struct nlattr *nest, bool first, struct wg_device *dev)
{
    struct attrs s = {.max = WGPEER_A_MAX, .want = want_peer};
    struct wg_key pub;
    struct wg_peer *p;
    const struct nlattr *ip;
    int r;

    if ((r = parse_nest(nest, &s)) < 0)
        return r;
    if (!s.a[WGPEER_A_PUBLIC_KEY])
        return -EPROTO;
    memcpy(pub.b, mnl_attr_get_payload(s.a[WGPEER_A_PUBLIC_KEY]), WG_KEY_LEN);
    if (first && dev->n_peers > 0 && wg_key_equal(&dev->peers[dev->n_peers - 1].public_key, &pub)) {
        p = &dev->peers[dev->n_peers - 1];
    } else {
        if (dev->n_peers >= WG_UAPI_MAX_PEERS)
            return -E2BIG;
        p = wg_device_add_peer(dev, &pub);
    }
    if (s.a[WGPEER_A_PRESHARED_KEY]) {
        memcpy(p->preshared_key.b, mnl_attr_get_payload(s.a[WGPEER_A_PRESHARED_KEY]), WG_KEY_LEN);
        if (memcmp(p->preshared_key.b, zero_key, WG_KEY_LEN) != 0)
            p->flags |= WG_PEER_HAS_PRESHARED_KEY;
    }
    if (s.a[WGPEER_A_ENDPOINT] && (r = parse_endpoint(s.a[WGPEER_A_ENDPOINT], &p->endpoint)) < 0)
        return r;
    if (s.a[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL]) {
        p->keepalive = mnl_attr_get_u16(s.a[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL]);
        p->flags |= WG_PEER_HAS_KEEPALIVE;
    }
    if (s.a[WGPEER_A_LAST_HANDSHAKE_TIME]) {
        struct __kernel_timespec ts;
        memcpy(&ts, mnl_attr_get_payload(s.a[WGPEER_A_LAST_HANDSHAKE_TIME]), sizeof(ts));
        if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000)
            return -EPROTO;
        p->last_handshake_sec = ts.tv_sec;
        p->last_handshake_nsec = ts.tv_nsec;
    }
    if (s.a[WGPEER_A_RX_BYTES])
        p->rx_bytes = mnl_attr_get_u64(s.a[WGPEER_A_RX_BYTES]);
    if (s.a[WGPEER_A_TX_BYTES])
        p->tx_bytes = mnl_attr_get_u64(s.a[WGPEER_A_TX_BYTES]);
    if (s.a[WGPEER_A_ALLOWEDIPS]) {
        if (mnl_attr_validate(s.a[WGPEER_A_ALLOWEDIPS], MNL_TYPE_NESTED) < 0)
            return -EPROTO;
        mnl_attr_for_each_nested(ip, s.a[WGPEER_A_ALLOWEDIPS])
        {
            if ((r = parse_allowed_ip(ip, p)) < 0)
                return r;
        }
    }
    return 0;
}

static const uint8_t want_device[WGDEVICE_A_MAX + 1] = {
    [WGDEVICE_A_IFINDEX] = 4,
    [WGDEVICE_A_PRIVATE_KEY] = WG_KEY_LEN,
    [WGDEVICE_A_PUBLIC_KEY] = WG_KEY_LEN,
    [WGDEVICE_A_FLAGS] = 4,
    [WGDEVICE_A_LISTEN_PORT] = 2,
    [WGDEVICE_A_FWMARK] = 4,
};

/* Walks a nest's children and checks that they fill it exactly. */
static bool nest_ok(const struct nlattr *nest)
{
    const struct nlattr *a;
    size_t used = 0;
    mnl_attr_for_each_nested(a, nest) used += MNL_ALIGN(a->nla_len);
    size_t len = mnl_attr_get_payload_len(nest);
    return used == len || used == (size_t)MNL_ALIGN(len);
}

static int parse_device_msg(const struct nlmsghdr *nlh, struct wg_device *dev)
{
    struct attrs s = {.max = WGDEVICE_A_MAX, .want = want_device};
    const struct genlmsghdr *g;
    const struct nlattr *peer;
    int r;

    if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof(*g))
        return -EPROTO;
    g = mnl_nlmsg_get_payload(nlh);
    if (g->cmd != WG_CMD_GET_DEVICE)
        return -EPROTO;
    if (mnl_attr_parse(nlh, sizeof(*g), collect, &s) != MNL_CB_OK || s.bad)
        return -EPROTO;
    if (s.a[WGDEVICE_A_PRIVATE_KEY]) {
        memcpy(dev->private_key.b, mnl_attr_get_payload(s.a[WGDEVICE_A_PRIVATE_KEY]), WG_KEY_LEN);
        if (memcmp(dev->private_key.b, zero_key, WG_KEY_LEN) != 0)
            dev->flags |= WG_DEVICE_HAS_PRIVATE_KEY;
    }
    if (s.a[WGDEVICE_A_PUBLIC_KEY])
        memcpy(dev->public_key.b, mnl_attr_get_payload(s.a[WGDEVICE_A_PUBLIC_KEY]), WG_KEY_LEN);
    if (s.a[WGDEVICE_A_LISTEN_PORT]) {
        dev->listen_port = mnl_attr_get_u16(s.a[WGDEVICE_A_LISTEN_PORT]);
        dev->flags |= WG_DEVICE_HAS_LISTEN_PORT;
    }
    if (s.a[WGDEVICE_A_FWMARK]) {
        dev->fwmark = mnl_attr_get_u32(s.a[WGDEVICE_A_FWMARK]);
        if (dev->fwmark)
            dev->flags |= WG_DEVICE_HAS_FWMARK;
    }
    if (!s.a[WGDEVICE_A_PEERS])
        return 0;
    if (mnl_attr_validate(s.a[WGDEVICE_A_PEERS], MNL_TYPE_NESTED) < 0 ||
        !nest_ok(s.a[WGDEVICE_A_PEERS]))
        return -EPROTO;
    bool first = true;
    mnl_attr_for_each_nested(peer, s.a[WGDEVICE_A_PEERS])
    {
        if ((r = parse_peer(peer, first, dev)) < 0)
            return r;
        first = false;
    }
    return 0;
}

/*
 * mnl_nlmsg_ok() compares (int)nlmsg_len with the bytes left, so a length
 * of 2^31 or more passes it and mnl_nlmsg_next() jumps gigabytes ahead
 * (found by fuzz/wg_genl). Compared unsigned here.
 */
static bool msg_ok(const struct nlmsghdr *nlh, int rem)
{
    return rem >= (int)sizeof(*nlh) && nlh->nlmsg_len >= sizeof(*nlh) &&
           nlh->nlmsg_len <= (unsigned)rem;
}

/* An NLMSG_ERROR: its error (0 = an ack) or -EPROTO. */
static int error_of(const struct nlmsghdr *nlh)
{
    if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof(struct nlmsgerr))
        return -EPROTO;
    const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
    return e->error <= 0 && e->error >= -4095 ? e->error : -EPROTO;
}

int wg_genl_parse_get(uint16_t family, const void *data, size_t len, struct wg_device *dev)
{
    const struct nlmsghdr *nlh = data;
    int rem = len > INT32_MAX ? -1 : (int)len;
    int r;

    if (rem <= 0 || ((uintptr_t)data % NLMSG_ALIGNTO) != 0)
        return -EPROTO;
    while (msg_ok(nlh, rem)) {
        if (nlh->nlmsg_type == NLMSG_DONE)
            return 1;
        if (nlh->nlmsg_type == NLMSG_ERROR) {
            r = error_of(nlh);
            if (r < 0)
                return r;
        } else if (nlh->nlmsg_type == family && family >= NLMSG_MIN_TYPE) {
            if ((r = parse_device_msg(nlh, dev)) < 0)
                return r;
        } else if (nlh->nlmsg_type != NLMSG_NOOP) {
            return -EPROTO;
        }
        nlh = mnl_nlmsg_next(nlh, &rem);
    }
    return rem == 0 ? 0 : -EPROTO;
}

static const uint8_t want_ctrl[CTRL_ATTR_MAX + 1] = {[CTRL_ATTR_FAMILY_ID] = 2};

int wg_genl_parse_family(const void *data, size_t len, uint16_t *ret_family)
{
    const struct nlmsghdr *nlh = data;
    int rem = len > INT32_MAX ? -1 : (int)len;

    if (rem <= 0 || ((uintptr_t)data % NLMSG_ALIGNTO) != 0)
        return -EPROTO;
    for (; msg_ok(nlh, rem); nlh = mnl_nlmsg_next(nlh, &rem)) {
        if (nlh->nlmsg_type == NLMSG_ERROR) {
            int r = error_of(nlh);
            if (r < 0)
                return r;
            continue;
        }
        if (nlh->nlmsg_type != GENL_ID_CTRL ||
            nlh->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof(struct genlmsghdr))
            continue;
        struct attrs s = {.max = CTRL_ATTR_MAX, .want = want_ctrl};
        if (mnl_attr_parse(nlh, sizeof(struct genlmsghdr), collect, &s) != MNL_CB_OK || s.bad ||
            !s.a[CTRL_ATTR_FAMILY_ID])
            return -EPROTO;
        uint16_t id = mnl_attr_get_u16(s.a[CTRL_ATTR_FAMILY_ID]);
        if (id < NLMSG_MIN_TYPE)
            return -EPROTO;
        *ret_family = id;
        return 0;
    }
    return -EPROTO;
}
