/* uapi.c - the WireGuard UAPI text protocol: request formatting, reply parsing, one exchange. */
#include "alloc.h"
#include "clock.h"
#include "wg_uapi.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* ---- device values ---- */

static void peer_release(struct wg_peer *p)
{
    free(p->allowed_ips);
    wg_key_wipe(&p->preshared_key);
    memset(p, 0, sizeof(*p));
}

void wg_device_release(struct wg_device *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n_peers; i++)
        peer_release(&d->peers[i]);
    free(d->peers);
    wg_key_wipe(&d->private_key);
    memset(d, 0, sizeof(*d));
}

struct wg_peer *wg_device_add_peer(struct wg_device *d, const struct wg_key *pub)
{
    if (d->n_peers == d->alloc_peers) {
        size_t n = d->alloc_peers ? d->alloc_peers * 2 : 8;
        d->peers = xrealloc(d->peers, n * sizeof(*d->peers));
        d->alloc_peers = n;
    }
    struct wg_peer *p = &d->peers[d->n_peers++];
    memset(p, 0, sizeof(*p));
    p->public_key = *pub;
    p->endpoint.ss_family = AF_UNSPEC;
    return p;
}

void wg_peer_add_allowed_ip(struct wg_peer *p, const struct cidr *c)
{
    if (p->n_allowed_ips == p->alloc_allowed_ips) {
        size_t n = p->alloc_allowed_ips ? p->alloc_allowed_ips * 2 : 2;
        p->allowed_ips = xrealloc(p->allowed_ips, n * sizeof(*p->allowed_ips));
        p->alloc_allowed_ips = n;
    }
    p->allowed_ips[p->n_allowed_ips++] = *c;
}

const struct wg_peer *wg_device_find_peer(const struct wg_device *d, const struct wg_key *pub)
{
    for (size_t i = 0; i < d->n_peers; i++)
        if (wg_key_equal(&d->peers[i].public_key, pub))
            return &d->peers[i];
    return NULL;
}

/* ---- endpoints ---- */

void wg_endpoint_format(const struct sockaddr_storage *ss, char out[WG_ENDPOINT_STR_LEN])
{
    char a[INET6_ADDRSTRLEN];
    out[0] = '\0';
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a));
        snprintf(out, WG_ENDPOINT_STR_LEN, "%s:%u", a, ntohs(sin->sin_port));
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a));
        if (sin6->sin6_scope_id)
            snprintf(out, WG_ENDPOINT_STR_LEN, "[%s%%%u]:%u", a, sin6->sin6_scope_id,
                     ntohs(sin6->sin6_port));
        else
            snprintf(out, WG_ENDPOINT_STR_LEN, "[%s]:%u", a, ntohs(sin6->sin6_port));
    }
}

/* Decimal digits only (no sign, no spaces), value <= max. 0 or -EINVAL. */
static int parse_u64(const char *s, size_t len, uint64_t max, uint64_t *ret)
{
    uint64_t v = 0;
    if (len == 0 || len > 20)
        return -EINVAL;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -EINVAL;
        unsigned dgt = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - dgt) / 10)
            return -EINVAL;
        v = v * 10 + dgt;
    }
    if (v > max)
        return -EINVAL;
    *ret = v;
    return 0;
}

int wg_endpoint_parse(const char *s, size_t len, struct sockaddr_storage *ret)
{
    char host[INET6_ADDRSTRLEN];
    const char *colon;
    uint64_t port, scope = 0;
    struct sockaddr_storage ss;

    memset(&ss, 0, sizeof(ss));
    if (len == 0 || len >= WG_ENDPOINT_STR_LEN)
        return -EINVAL;
    if (s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (!close || close + 1 >= s + len || close[1] != ':')
            return -EINVAL;
        const char *h = s + 1;
        size_t hlen = (size_t)(close - h);
        const char *pct = memchr(h, '%', hlen);
        if (pct) {
            if (parse_u64(pct + 1, (size_t)(close - pct - 1), UINT32_MAX, &scope) < 0)
                return -EINVAL;
            hlen = (size_t)(pct - h);
        }
        if (hlen == 0 || hlen >= sizeof(host))
            return -EINVAL;
        memcpy(host, h, hlen);
        host[hlen] = '\0';
        colon = close + 1;
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
        if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
            return -EINVAL;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_scope_id = (uint32_t)scope;
    } else {
        colon = memchr(s, ':', len);
        if (!colon || (size_t)(colon - s) >= sizeof(host))
            return -EINVAL;
        memcpy(host, s, (size_t)(colon - s));
        host[colon - s] = '\0';
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
        if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
            return -EINVAL;
        sin->sin_family = AF_INET;
    }
    if (parse_u64(colon + 1, (size_t)(s + len - colon - 1), 65535, &port) < 0)
        return -EINVAL;
    if (ss.ss_family == AF_INET)
        ((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
    *ret = ss;
    return 0;
}

/* ---- requests ---- */

static int format_peer(struct buf *out, const struct wg_peer *p)
{
    char hex[WG_KEY_HEX_LEN + 1], ep[WG_ENDPOINT_STR_LEN], c[CIDR_STR_LEN];
    int r;

    wg_key_to_hex(&p->public_key, hex);
    r = buf_printf(out, "public_key=%s\n", hex);
    if (r < 0 || (p->flags & WG_PEER_REMOVE))
        return r < 0 ? r : buf_append_str(out, "remove=true\n");
    if ((p->flags & WG_PEER_UPDATE_ONLY) && (r = buf_append_str(out, "update_only=true\n")) < 0)
        return r;
    if (p->flags & WG_PEER_HAS_PRESHARED_KEY) {
        wg_key_to_hex(&p->preshared_key, hex);
        r = buf_printf(out, "preshared_key=%s\n", hex);
        sodium_memzero(hex, sizeof(hex));
        if (r < 0)
            return r;
    }
    if (p->endpoint.ss_family == AF_INET || p->endpoint.ss_family == AF_INET6) {
        wg_endpoint_format(&p->endpoint, ep);
        if ((r = buf_printf(out, "endpoint=%s\n", ep)) < 0)
            return r;
    }
    if ((p->flags & WG_PEER_HAS_KEEPALIVE) &&
        (r = buf_printf(out, "persistent_keepalive_interval=%u\n", p->keepalive)) < 0)
        return r;
    if ((p->flags & WG_PEER_REPLACE_ALLOWED_IPS) &&
        (r = buf_append_str(out, "replace_allowed_ips=true\n")) < 0)
        return r;
    for (size_t i = 0; i < p->n_allowed_ips; i++) {
        cidr_format(&p->allowed_ips[i], c);
        if ((r = buf_printf(out, "allowed_ip=%s\n", c)) < 0)
            return r;
    }
    return 0;
}

int wg_uapi_format_set(struct buf *out, const struct wg_device *d)
{
    char hex[WG_KEY_HEX_LEN + 1];
    int r;

    if ((r = buf_append_str(out, "set=1\n")) < 0)
        return r;
    if (d->flags & WG_DEVICE_HAS_PRIVATE_KEY) {
        wg_key_to_hex(&d->private_key, hex);
        r = buf_printf(out, "private_key=%s\n", hex);
        sodium_memzero(hex, sizeof(hex));
        if (r < 0)
            return r;
    }
    if ((d->flags & WG_DEVICE_HAS_LISTEN_PORT) &&
        (r = buf_printf(out, "listen_port=%u\n", d->listen_port)) < 0)
        return r;
    if ((d->flags & WG_DEVICE_HAS_FWMARK) && (r = buf_printf(out, "fwmark=%u\n", d->fwmark)) < 0)
        return r;
    if ((d->flags & WG_DEVICE_REPLACE_PEERS) &&
        (r = buf_append_str(out, "replace_peers=true\n")) < 0)
        return r;
    for (size_t i = 0; i < d->n_peers; i++)
        if ((r = format_peer(out, &d->peers[i])) < 0)
            return r;
    return buf_append_str(out, "\n");
}

/* ---- replies ---- */

static bool key_is(const char *k, size_t klen, const char *want)
{
    return strlen(want) == klen && memcmp(k, want, klen) == 0;
}

/* "errno=" value: a decimal with an optional '-'; 0 stays 0, anything else becomes -|N|. */
static int parse_errno_value(const char *v, size_t vlen, int *ret)
{
    uint64_t n;
    bool neg = vlen > 0 && v[0] == '-';
    if (parse_u64(v + neg, vlen - neg, 4095, &n) < 0)
        return -EPROTO;
    *ret = -(int)n;
    return 0;
}

static int parse_key_hex(const char *v, size_t vlen, struct wg_key *ret)
{
    return wg_key_from_hex_n(v, vlen, ret) < 0 ? -EPROTO : 0;
}

static int parse_num(const char *v, size_t vlen, uint64_t max, uint64_t *ret)
{
    return parse_u64(v, vlen, max, ret) < 0 ? -EPROTO : 0;
}

/* One key=value line of a peer section. */
static int parse_peer_line(struct wg_peer *p, const char *k, size_t klen, const char *v,
                           size_t vlen)
{
    uint64_t n;
    int r;

    if (key_is(k, klen, "preshared_key")) {
        if ((r = parse_key_hex(v, vlen, &p->preshared_key)) < 0)
            return r;
        p->flags &= ~(unsigned)WG_PEER_HAS_PRESHARED_KEY; /* the last line counts */
        if (!wg_key_is_zero(&p->preshared_key))
            p->flags |= WG_PEER_HAS_PRESHARED_KEY;
    } else if (key_is(k, klen, "endpoint")) {
        if (wg_endpoint_parse(v, vlen, &p->endpoint) < 0)
            return -EPROTO;
    } else if (key_is(k, klen, "last_handshake_time_sec")) {
        if ((r = parse_num(v, vlen, INT64_MAX, &n)) < 0)
            return r;
        p->last_handshake_sec = (int64_t)n;
    } else if (key_is(k, klen, "last_handshake_time_nsec")) {
        if ((r = parse_num(v, vlen, 999999999, &n)) < 0)
            return r;
        p->last_handshake_nsec = (int64_t)n;
    } else if (key_is(k, klen, "rx_bytes")) {
        if ((r = parse_num(v, vlen, UINT64_MAX, &p->rx_bytes)) < 0)
            return r;
    } else if (key_is(k, klen, "tx_bytes")) {
        if ((r = parse_num(v, vlen, UINT64_MAX, &p->tx_bytes)) < 0)
            return r;
    } else if (key_is(k, klen, "persistent_keepalive_interval")) {
        if ((r = parse_num(v, vlen, 65535, &n)) < 0)
            return r;
        p->keepalive = (uint16_t)n;
    } else if (key_is(k, klen, "allowed_ip")) {
        char s[CIDR_STR_LEN];
        struct cidr c;
        if (vlen >= sizeof(s))
            return -EPROTO;
        memcpy(s, v, vlen);
        s[vlen] = '\0';
        if (cidr_parse(s, CIDR_MASK_HOST_BITS | CIDR_REQUIRE_PREFIX, &c) < 0)
            return -EPROTO;
        if (p->n_allowed_ips >= WG_UAPI_MAX_ALLOWED_IPS)
            return -E2BIG;
        wg_peer_add_allowed_ip(p, &c);
    } else if (key_is(k, klen, "protocol_version")) {
        if ((r = parse_num(v, vlen, UINT32_MAX, &n)) < 0)
            return r;
    } else if (key_is(k, klen, "private_key") || key_is(k, klen, "listen_port") ||
               key_is(k, klen, "fwmark")) {
        return -EPROTO; /* device keys come before the first peer */
    }
    /* Unknown keys are ignored: newer implementations add fields. */
    return 0;
}

static int parse_device_line(struct wg_device *d, const char *k, size_t klen, const char *v,
                             size_t vlen)
{
    uint64_t n;
    int r;

    if (key_is(k, klen, "private_key")) {
        if ((r = parse_key_hex(v, vlen, &d->private_key)) < 0)
            return r;
        d->flags &= ~(unsigned)WG_DEVICE_HAS_PRIVATE_KEY;
        memset(&d->public_key, 0, sizeof(d->public_key));
        if (!wg_key_is_zero(&d->private_key)) {
            d->flags |= WG_DEVICE_HAS_PRIVATE_KEY;
            if (wg_key_public(&d->private_key, &d->public_key) < 0)
                memset(&d->public_key, 0, sizeof(d->public_key));
        }
    } else if (key_is(k, klen, "listen_port")) {
        if ((r = parse_num(v, vlen, 65535, &n)) < 0)
            return r;
        d->listen_port = (uint16_t)n;
        d->flags |= WG_DEVICE_HAS_LISTEN_PORT;
    } else if (key_is(k, klen, "fwmark")) {
        if ((r = parse_num(v, vlen, UINT32_MAX, &n)) < 0)
            return r;
        d->fwmark = (uint32_t)n;
        d->flags |= WG_DEVICE_HAS_FWMARK;
    }
    return 0;
}

/*
 * Walks the lines of data[0..len). For each "key=value" line calls the device
 * or peer handler; stops at "errno=". The message must end with
 * "errno=N\n\n" exactly at len.
 */
int wg_uapi_parse_get(const char *data, size_t len, struct wg_device *ret)
{
    struct wg_device d;
    struct wg_peer *peer = NULL;
    size_t pos = 0;
    int r = -EPROTO;

    memset(&d, 0, sizeof(d));
    while (pos < len) {
        const char *line = data + pos;
        const char *nl = memchr(line, '\n', len - pos);
        if (!nl || (size_t)(nl - line) + 1 > WG_UAPI_LINE_MAX) {
            r = -EPROTO;
            goto out_release;
        }
        size_t llen = (size_t)(nl - line);
        pos += llen + 1;
        const char *eq = memchr(line, '=', llen);
        if (!eq || eq == line) {
            r = -EPROTO; /* a blank line before errno, or no key */
            goto out_release;
        }
        const char *k = line, *v = eq + 1;
        size_t klen = (size_t)(eq - line), vlen = llen - klen - 1;

        if (key_is(k, klen, "errno")) {
            int e;
            if (parse_errno_value(v, vlen, &e) < 0 || pos + 1 != len || data[pos] != '\n') {
                r = -EPROTO;
                goto out_release;
            }
            if (e != 0) {
                r = e;
                goto out_release;
            }
            *ret = d;
            return 0;
        }
        if (key_is(k, klen, "public_key")) {
            struct wg_key pub;
            if ((r = parse_key_hex(v, vlen, &pub)) < 0)
                goto out_release;
            if (d.n_peers >= WG_UAPI_MAX_PEERS) {
                r = -E2BIG;
                goto out_release;
            }
            peer = wg_device_add_peer(&d, &pub);
            continue;
        }
        r = peer ? parse_peer_line(peer, k, klen, v, vlen)
                 : parse_device_line(&d, k, klen, v, vlen);
        if (r < 0)
            goto out_release;
    }
    r = -EPROTO; /* no errno line */
out_release:
    wg_device_release(&d);
    return r;
}

int wg_uapi_parse_errno(const char *data, size_t len)
{
    int e;
    if (len < sizeof("errno=0\n\n") - 1 || memcmp(data, "errno=", 6) != 0 ||
        data[len - 1] != '\n' || data[len - 2] != '\n')
        return -EPROTO;
    if (parse_errno_value(data + 6, len - 8, &e) < 0)
        return -EPROTO;
    return e;
}

/* ---- the socket ---- */

bool wg_ifname_valid(const char *ifname)
{
    size_t n = ifname ? strnlen(ifname, WG_IFNAME_MAX + 1) : 0;
    if (n == 0 || n > WG_IFNAME_MAX || !strcmp(ifname, ".") || !strcmp(ifname, ".."))
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = ifname[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return false;
    }
    return true;
}

int wg_uapi_init(struct wg_uapi *u, const char *dir, const char *ifname)
{
    if (!wg_ifname_valid(ifname))
        return -EINVAL;
    int n = snprintf(u->path, sizeof(u->path), "%s/%s.sock", dir ? dir : WG_UAPI_DIR, ifname);
    if (n < 0 || (size_t)n >= sizeof(u->path))
        return -ENAMETOOLONG;
    u->timeout_ms = WG_UAPI_TIMEOUT_MS;
    u->max_reply = WG_UAPI_GET_REPLY_MAX;
    return 0;
}

/* Waits for events on fd until deadline. 0, -ETIMEDOUT or -errno. */
static int wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - clock_mono_ms();
        if (left <= 0)
            return -ETIMEDOUT;
        struct pollfd pfd = {.fd = fd, .events = events};
        int n = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
        if (n > 0)
            return 0;
        if (n == 0)
            return -ETIMEDOUT;
        if (errno != EINTR)
            return -errno;
    }
}

static int connect_unix(const char *path, int64_t deadline, int *ret_fd)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    int fd, r;

    if (strlen(path) >= sizeof(sun.sun_path))
        return -ENAMETOOLONG;
    memcpy(sun.sun_path, path, strlen(path) + 1);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    while (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EINPROGRESS) {
            r = -errno;
            goto out_close_fd;
        }
        /* A full backlog: wait until the listener accepts, then check the result. */
        if ((r = wait_fd(fd, POLLOUT, deadline)) < 0)
            goto out_close_fd;
        int err = 0;
        socklen_t elen = sizeof(err);
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
            err = errno;
        if (err == 0)
            break;
        r = -err;
        goto out_close_fd;
    }
    *ret_fd = fd;
    return 0;
out_close_fd:
    close(fd);
    return r;
}

/* True once reply holds the terminating blank line (a "\n\n", or a "\n" first). */
static bool reply_complete(const struct buf *reply, size_t from)
{
    if (reply->len >= 1 && reply->data[0] == '\n')
        return true;
    size_t start = from > 0 ? from - 1 : 0;
    for (size_t i = start; i + 1 < reply->len; i++)
        if (reply->data[i] == '\n' && reply->data[i + 1] == '\n')
            return true;
    return false;
}

int wg_uapi_transact(const struct wg_uapi *u, const char *req, size_t req_len, size_t cap,
                     struct buf *reply)
{
    int64_t deadline = clock_mono_ms() + (u->timeout_ms > 0 ? u->timeout_ms : WG_UAPI_TIMEOUT_MS);
    size_t sent = 0;
    char chunk[65536];
    int fd = -1, r;

    buf_reset(reply);
    reply->cap = cap;
    if ((r = connect_unix(u->path, deadline, &fd)) < 0)
        return r;
    while (sent < req_len) {
        ssize_t n = send(fd, req + sent, req_len - sent, MSG_NOSIGNAL);
        if (n >= 0) {
            sent += (size_t)n;
            continue;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN) {
            r = -errno;
            goto out_close_fd;
        }
        if ((r = wait_fd(fd, POLLOUT, deadline)) < 0)
            goto out_close_fd;
    }
    for (;;) {
        size_t room = cap - reply->len;
        if (room == 0) {
            r = -E2BIG;
            goto out_close_fd;
        }
        ssize_t n = recv(fd, chunk, room < sizeof(chunk) ? room : sizeof(chunk), 0);
        if (n > 0) {
            size_t before = reply->len;
            if ((r = buf_append(reply, chunk, (size_t)n)) < 0)
                goto out_close_fd;
            if (reply_complete(reply, before))
                break;
            continue;
        }
        if (n == 0) {
            r = -EPROTO; /* closed before the blank line */
            goto out_close_fd;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN) {
            r = -errno;
            goto out_close_fd;
        }
        if ((r = wait_fd(fd, POLLIN, deadline)) < 0)
            goto out_close_fd;
    }
    r = 0;
out_close_fd:
    close(fd);
    return r;
}

int wg_uapi_get(const struct wg_uapi *u, struct wg_device *ret)
{
    struct buf reply;
    int r;

    buf_init(&reply, u->max_reply);
    r = wg_uapi_transact(u, "get=1\n\n", 7, u->max_reply ? u->max_reply : WG_UAPI_GET_REPLY_MAX,
                         &reply);
    if (r == 0)
        r = wg_uapi_parse_get(reply.data, reply.len, ret);
    if (reply.data)
        sodium_memzero(reply.data, reply.len); /* holds the private key */
    buf_release(&reply);
    return r;
}

int wg_uapi_set(const struct wg_uapi *u, const struct wg_device *d)
{
    struct buf req, reply;
    int r;

    buf_init(&req, WG_UAPI_REQUEST_MAX);
    buf_init(&reply, WG_UAPI_SET_REPLY_MAX);
    if ((r = wg_uapi_format_set(&req, d)) < 0)
        goto out_release;
    if ((r = wg_uapi_transact(u, req.data, req.len, WG_UAPI_SET_REPLY_MAX, &reply)) < 0)
        goto out_release;
    r = wg_uapi_parse_errno(reply.data, reply.len);
out_release:
    if (req.data)
        sodium_memzero(req.data, req.len);
    buf_release(&req);
    buf_release(&reply);
    return r;
}

int wg_uapi_set_peer(const struct wg_uapi *u, const struct wg_peer *p)
{
    struct wg_peer one = *p;
    struct wg_device d = {.peers = &one, .n_peers = 1, .alloc_peers = 1};

    one.flags = (p->flags & (WG_PEER_UPDATE_ONLY | WG_PEER_HAS_PRESHARED_KEY)) |
                WG_PEER_REPLACE_ALLOWED_IPS | WG_PEER_HAS_KEEPALIVE;
    return wg_uapi_set(u, &d); /* d borrows p's arrays: not released here */
}

int wg_uapi_remove_peer(const struct wg_uapi *u, const struct wg_key *pub)
{
    struct wg_peer one;
    struct wg_device d = {.peers = &one, .n_peers = 1, .alloc_peers = 1};

    memset(&one, 0, sizeof(one));
    one.public_key = *pub;
    one.flags = WG_PEER_REMOVE;
    one.endpoint.ss_family = AF_UNSPEC;
    return wg_uapi_set(u, &d);
}
