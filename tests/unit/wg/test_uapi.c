/*
 * test_uapi.c - the UAPI client: request formatting, get/set reply parsing, and
 * whole exchanges against a fake UAPI server on a unix socket in a temp dir
 * (errno != 0, oversized, truncated and silent replies).
 */
#include "alloc.h"
#include "buf.h"
#include "rand.h"
#include "wg_link.h"
#include "wg_uapi.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
/* clang-format off: cmocka.h needs the headers above */
#include <cmocka.h>
/* clang-format on */

#define K1 "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
#define K2 "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"
#define PRIV "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"
#define ZERO "0000000000000000000000000000000000000000000000000000000000000000"

/* What wireguard-go 0.0.20220316 answers to get=1 (shape of vpn-scale.md §2.2). */
static const char GET_REPLY[] = "private_key=" PRIV "\n"
                                "listen_port=51820\n"
                                "public_key=" K1 "\n"
                                "preshared_key=" ZERO "\n"
                                "protocol_version=1\n"
                                "endpoint=198.51.100.2:58319\n"
                                "last_handshake_time_sec=1764579000\n"
                                "last_handshake_time_nsec=123456789\n"
                                "tx_bytes=572\n"
                                "rx_bytes=484\n"
                                "persistent_keepalive_interval=0\n"
                                "allowed_ip=100.64.0.2/32\n"
                                "public_key=" K2 "\n"
                                "preshared_key=" ZERO "\n"
                                "protocol_version=1\n"
                                "endpoint=[2001:db8::7]:13231\n"
                                "future_key=whatever\n"
                                "last_handshake_time_sec=0\n"
                                "last_handshake_time_nsec=0\n"
                                "tx_bytes=0\n"
                                "rx_bytes=0\n"
                                "persistent_keepalive_interval=25\n"
                                "allowed_ip=100.64.0.3/32\n"
                                "allowed_ip=203.0.113.0/24\n"
                                "errno=0\n"
                                "\n";

static int parse(const char *s, struct wg_device *d)
{
    return wg_uapi_parse_get(s, strlen(s), d);
}

static void test_parse_get(void **state)
{
    (void)state;
    struct wg_device d;
    char hex[WG_KEY_HEX_LEN + 1], ep[WG_ENDPOINT_STR_LEN], c[CIDR_STR_LEN];

    assert_int_equal(parse(GET_REPLY, &d), 0);
    assert_true(d.flags & WG_DEVICE_HAS_PRIVATE_KEY);
    assert_true(d.flags & WG_DEVICE_HAS_LISTEN_PORT);
    assert_int_equal(d.listen_port, 51820);
    wg_key_to_hex(&d.public_key, hex); /* derived from the private key */
    assert_string_equal(hex, K1);
    assert_int_equal(d.n_peers, 2);

    const struct wg_peer *p = &d.peers[0];
    wg_key_to_hex(&p->public_key, hex);
    assert_string_equal(hex, K1);
    assert_false(p->flags & WG_PEER_HAS_PRESHARED_KEY);
    wg_endpoint_format(&p->endpoint, ep);
    assert_string_equal(ep, "198.51.100.2:58319");
    assert_int_equal(p->last_handshake_sec, 1764579000);
    assert_int_equal(p->last_handshake_nsec, 123456789);
    assert_int_equal(p->tx_bytes, 572);
    assert_int_equal(p->rx_bytes, 484);
    assert_int_equal(p->keepalive, 0);
    assert_int_equal(p->n_allowed_ips, 1);
    cidr_format(&p->allowed_ips[0], c);
    assert_string_equal(c, "100.64.0.2/32");

    p = &d.peers[1];
    wg_endpoint_format(&p->endpoint, ep);
    assert_string_equal(ep, "[2001:db8::7]:13231");
    assert_int_equal(p->keepalive, 25);
    assert_int_equal(p->last_handshake_sec, 0);
    assert_int_equal(p->n_allowed_ips, 2);
    cidr_format(&p->allowed_ips[1], c);
    assert_string_equal(c, "203.0.113.0/24");

    struct wg_key k2;
    assert_int_equal(wg_key_from_hex(K2, &k2), 0);
    assert_ptr_equal(wg_device_find_peer(&d, &k2), &d.peers[1]);
    wg_device_release(&d);
    assert_null(d.peers);
    assert_true(wg_key_is_zero(&d.private_key));

    /* An empty device. */
    assert_int_equal(parse("listen_port=0\nerrno=0\n\n", &d), 0);
    assert_int_equal(d.n_peers, 0);
    assert_false(d.flags & WG_DEVICE_HAS_PRIVATE_KEY);
    wg_device_release(&d);
    assert_int_equal(parse("private_key=" ZERO "\nerrno=0\n\n", &d), 0);
    assert_false(d.flags & WG_DEVICE_HAS_PRIVATE_KEY); /* all-zero = unset */
    wg_device_release(&d);
}

static void test_parse_errors(void **state)
{
    (void)state;
    struct wg_device d;
    memset(&d, 0x5a, sizeof(d));
    const struct wg_device before = d;

    /* The server's errno, in either sign convention. */
    assert_int_equal(parse("errno=-22\n\n", &d), -EINVAL);
    assert_int_equal(parse("errno=22\n\n", &d), -EINVAL);
    assert_int_equal(parse("public_key=" K1 "\nerrno=-5\n\n", &d), -EIO);
    /* Malformed. */
    const char *bad[] = {
        "",
        "\n",
        "errno=0\n",    /* no blank line */
        "errno=0\n\nx", /* bytes after the blank line */
        "errno=0\n\n\n",
        "errno=\n\n",
        "errno=abc\n\n",
        "errno=99999\n\n",
        "listen_port=51820\n",              /* truncated: no errno */
        "listen_port=51820\n\nerrno=0\n\n", /* blank line before errno */
        "listen_port=65536\nerrno=0\n\n",
        "listen_port=-1\nerrno=0\n\n",
        "listen_port= 1\nerrno=0\n\n",
        "=1\nerrno=0\n\n",
        "noequals\nerrno=0\n\n",
        "private_key=" K1 "0\nerrno=0\n\n",
        "public_key=zz\nerrno=0\n\n",
        "public_key=" K1 "\nlisten_port=1\nerrno=0\n\n", /* device key after a peer */
        "public_key=" K1 "\nendpoint=198.51.100.2\nerrno=0\n\n",
        "public_key=" K1 "\nendpoint=[::1:5\nerrno=0\n\n",
        "public_key=" K1 "\nendpoint=300.1.1.1:5\nerrno=0\n\n",
        "public_key=" K1 "\nallowed_ip=100.64.0.2\nerrno=0\n\n",
        "public_key=" K1 "\nallowed_ip=100.64.0.2/33\nerrno=0\n\n",
        "public_key=" K1 "\nrx_bytes=18446744073709551616\nerrno=0\n\n",
        "public_key=" K1 "\nlast_handshake_time_nsec=1000000000\nerrno=0\n\n",
        "public_key=" K1 "\npersistent_keepalive_interval=70000\nerrno=0\n\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int r = parse(bad[i], &d);
        if (r != -EPROTO)
            fail_msg("case %zu (%s): %d", i, bad[i], r);
    }
    assert_memory_equal(&d, &before, sizeof(d)); /* untouched on failure */

    /* A line longer than WG_UAPI_LINE_MAX. */
    struct buf b;
    buf_init(&b, 1 << 20);
    buf_append_str(&b, "future_key=");
    for (int i = 0; i < WG_UAPI_LINE_MAX; i++)
        buf_append_str(&b, "x");
    buf_append_str(&b, "\nerrno=0\n\n");
    assert_int_equal(wg_uapi_parse_get(b.data, b.len, &d), -EPROTO);

    /* Too many allowed IPs on one peer. */
    buf_reset(&b);
    buf_append_str(&b, "public_key=" K1 "\n");
    for (int i = 0; i <= WG_UAPI_MAX_ALLOWED_IPS; i++)
        buf_printf(&b, "allowed_ip=10.%d.%d.0/24\n", i / 256, i % 256);
    buf_append_str(&b, "errno=0\n\n");
    assert_int_equal(wg_uapi_parse_get(b.data, b.len, &d), -E2BIG);
    buf_release(&b);

    /* Set replies. */
    assert_int_equal(wg_uapi_parse_errno("errno=0\n\n", 9), 0);
    assert_int_equal(wg_uapi_parse_errno("errno=-98\n\n", 11), -EADDRINUSE);
    assert_int_equal(wg_uapi_parse_errno("errno=0\n", 8), -EPROTO);
    assert_int_equal(wg_uapi_parse_errno("listen_port=1\nerrno=0\n\n", 23), -EPROTO);
    assert_int_equal(wg_uapi_parse_errno("errno=x\n\n", 9), -EPROTO);
}

static void test_format_set(void **state)
{
    (void)state;
    struct wg_device d;
    struct wg_key k1, k2;
    struct cidr c;
    struct buf b;

    memset(&d, 0, sizeof(d));
    assert_int_equal(wg_key_from_hex(PRIV, &d.private_key), 0);
    assert_int_equal(wg_key_from_hex(K1, &k1), 0);
    assert_int_equal(wg_key_from_hex(K2, &k2), 0);
    d.flags = WG_DEVICE_HAS_PRIVATE_KEY | WG_DEVICE_HAS_LISTEN_PORT | WG_DEVICE_REPLACE_PEERS;
    d.listen_port = 51820;
    struct wg_peer *p = wg_device_add_peer(&d, &k1);
    p->flags = WG_PEER_REPLACE_ALLOWED_IPS | WG_PEER_HAS_KEEPALIVE;
    p->keepalive = 25;
    assert_int_equal(wg_endpoint_parse("198.51.100.1:51820", 18, &p->endpoint), 0);
    assert_int_equal(cidr_parse("100.64.0.1/32", 0, &c), 0);
    wg_peer_add_allowed_ip(p, &c);
    p = wg_device_add_peer(&d, &k2);
    p->flags = WG_PEER_REMOVE | WG_PEER_REPLACE_ALLOWED_IPS; /* remove wins */
    wg_peer_add_allowed_ip(p, &c);

    buf_init(&b, 1 << 16);
    assert_int_equal(wg_uapi_format_set(&b, &d), 0);
    assert_string_equal(b.data, "set=1\n"
                                "private_key=" PRIV "\n"
                                "listen_port=51820\n"
                                "replace_peers=true\n"
                                "public_key=" K1 "\n"
                                "endpoint=198.51.100.1:51820\n"
                                "persistent_keepalive_interval=25\n"
                                "replace_allowed_ips=true\n"
                                "allowed_ip=100.64.0.1/32\n"
                                "public_key=" K2 "\n"
                                "remove=true\n"
                                "\n");
    /* A cap too small for the message. */
    struct buf small;
    buf_init(&small, 100);
    assert_int_equal(wg_uapi_format_set(&small, &d), -E2BIG);
    buf_release(&small);
    buf_release(&b);
    wg_device_release(&d);
}

static void test_endpoints_and_names(void **state)
{
    (void)state;
    struct sockaddr_storage ss;
    char out[WG_ENDPOINT_STR_LEN];
    const char *good[] = {"192.0.2.1:1", "[::1]:65535", "[fe80::1%3]:51820", "0.0.0.0:0"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        assert_int_equal(wg_endpoint_parse(good[i], strlen(good[i]), &ss), 0);
        wg_endpoint_format(&ss, out);
        assert_string_equal(out, good[i]);
    }
    const char *bad[] = {
        "",      "192.0.2.1", "192.0.2.1:",       "192.0.2.1:65536",    "[::1]",
        "::1:5", "[::1]x5",   "[fe80::1%eth0]:5", "host.example:51820", "1.2.3.4:+5"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(wg_endpoint_parse(bad[i], strlen(bad[i]), &ss), -EINVAL);
    ss.ss_family = AF_UNSPEC;
    wg_endpoint_format(&ss, out);
    assert_string_equal(out, "");

    assert_true(wg_ifname_valid("tikgate0"));
    assert_true(wg_ifname_valid("tg12345e"));
    assert_false(wg_ifname_valid(""));
    assert_false(wg_ifname_valid("sixteen-chars-xx"));
    assert_false(wg_ifname_valid("../etc"));
    assert_false(wg_ifname_valid(".."));
    assert_false(wg_ifname_valid("a b"));
    assert_false(wg_ifname_valid(NULL));

    struct wg_ifaddr a;
    assert_int_equal(wg_ifaddr_parse("100.64.0.1/10", NULL, &a), 0);
    assert_int_equal(a.family, AF_INET);
    assert_int_equal(a.prefix, 10);
    assert_false(a.has_peer);
    assert_int_equal(a.local[3], 1);
    assert_int_equal(wg_ifaddr_parse("100.64.0.2/32", "100.64.0.1", &a), 0);
    assert_true(a.has_peer);
    assert_int_equal(a.peer[3], 1);
    assert_int_equal(wg_ifaddr_parse("fd00::1/64", NULL, &a), 0);
    assert_int_equal(a.family, AF_INET6);
    assert_int_equal(wg_ifaddr_parse("100.64.0.1", NULL, &a), -EINVAL);
    assert_int_equal(wg_ifaddr_parse("100.64.0.1/33", NULL, &a), -EINVAL);
    assert_int_equal(wg_ifaddr_parse("100.64.0.1/1x", NULL, &a), -EINVAL);
    assert_int_equal(wg_ifaddr_parse("100.64.0.2/32", "fd00::1", &a), -EINVAL);
}

/* ---- a fake UAPI server ---- */

enum fake_mode {
    FAKE_REPLY,  /* send reply (in small pieces), keep the connection open */
    FAKE_CLOSE,  /* send reply, then close (a truncated reply if it lacks the blank line) */
    FAKE_SILENT, /* read the request, answer nothing until the client goes away */
};

struct fake {
    char dir[32];
    char path[64];
    int lfd;
    enum fake_mode mode;
    const char *reply;
    size_t reply_len;
    char req[1 << 16];
    size_t req_len;
    pthread_t thread;
};

static void *fake_run(void *arg)
{
    struct fake *f = arg;
    struct pollfd pfd = {.fd = f->lfd, .events = POLLIN};
    if (poll(&pfd, 1, 5000) != 1)
        return NULL;
    int c = accept(f->lfd, NULL, NULL);
    if (c < 0)
        return NULL;
    f->req_len = 0;
    while (f->req_len < sizeof(f->req) - 1) {
        ssize_t n = read(c, f->req + f->req_len, sizeof(f->req) - 1 - f->req_len);
        if (n <= 0)
            break;
        f->req_len += (size_t)n;
        f->req[f->req_len] = '\0';
        if (strstr(f->req, "\n\n"))
            break;
    }
    if (f->mode == FAKE_SILENT) {
        char x;
        while (read(c, &x, 1) > 0)
            ;
    } else {
        /* In pieces of 7 bytes, so that the client reassembles. */
        for (size_t off = 0; off < f->reply_len;) {
            size_t n = f->reply_len - off < 7 ? f->reply_len - off : 7;
            ssize_t w = send(c, f->reply + off, n, MSG_NOSIGNAL);
            if (w <= 0)
                break;
            off += (size_t)w;
        }
        if (f->mode == FAKE_REPLY) {
            char x;
            struct pollfd cp = {.fd = c, .events = POLLIN};
            if (poll(&cp, 1, 5000) == 1)
                (void)!read(c, &x, 1); /* until the client closes */
        }
    }
    close(c);
    return NULL;
}

static void fake_start(struct fake *f, enum fake_mode mode, const char *reply, size_t len)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    memset(f, 0, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/tg-wg-uapi-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/tgtest0.sock", f->dir);
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", f->path);
    f->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(f->lfd >= 0);
    assert_int_equal(bind(f->lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
    assert_int_equal(listen(f->lfd, 4), 0);
    f->mode = mode;
    f->reply = reply;
    f->reply_len = len;
    assert_int_equal(pthread_create(&f->thread, NULL, fake_run, f), 0);
}

static void fake_stop(struct fake *f)
{
    shutdown(f->lfd, SHUT_RDWR);
    pthread_join(f->thread, NULL);
    close(f->lfd);
    unlink(f->path);
    rmdir(f->dir);
}

static void client_for(const struct fake *f, struct wg_uapi *u)
{
    assert_int_equal(wg_uapi_init(u, f->dir, "tgtest0"), 0);
    assert_string_equal(u->path, f->path);
    u->timeout_ms = 3000;
}

static void test_client_get(void **state)
{
    (void)state;
    struct fake f;
    struct wg_uapi u;
    struct wg_device d;

    fake_start(&f, FAKE_REPLY, GET_REPLY, strlen(GET_REPLY));
    client_for(&f, &u);
    assert_int_equal(wg_uapi_get(&u, &d), 0);
    fake_stop(&f);
    assert_string_equal(f.req, "get=1\n\n");
    assert_int_equal(d.n_peers, 2);
    assert_int_equal(d.peers[0].rx_bytes, 484);
    wg_device_release(&d);
}

static void test_client_errno(void **state)
{
    (void)state;
    struct fake f;
    struct wg_uapi u;
    struct wg_device d;
    struct wg_key k;

    fake_start(&f, FAKE_REPLY, "errno=-22\n\n", 11);
    client_for(&f, &u);
    assert_int_equal(wg_uapi_get(&u, &d), -EINVAL);
    fake_stop(&f);

    fake_start(&f, FAKE_REPLY, "errno=-98\n\n", 11);
    client_for(&f, &u);
    assert_int_equal(wg_key_from_hex(K1, &k), 0);
    assert_int_equal(wg_uapi_remove_peer(&u, &k), -EADDRINUSE);
    fake_stop(&f);
    assert_string_equal(f.req, "set=1\npublic_key=" K1 "\nremove=true\n\n");
}

static void test_client_set_peer(void **state)
{
    (void)state;
    struct fake f;
    struct wg_uapi u;
    struct wg_peer p;
    struct cidr c;

    memset(&p, 0, sizeof(p));
    assert_int_equal(wg_key_from_hex(K2, &p.public_key), 0);
    p.endpoint.ss_family = AF_UNSPEC;
    assert_int_equal(cidr_parse("100.64.0.3/32", 0, &c), 0);
    wg_peer_add_allowed_ip(&p, &c);

    fake_start(&f, FAKE_REPLY, "errno=0\n\n", 9);
    client_for(&f, &u);
    assert_int_equal(wg_uapi_set_peer(&u, &p), 0);
    fake_stop(&f);
    /* One peer, its allowed IPs replaced, nothing about the device or the other peers. */
    assert_string_equal(f.req, "set=1\n"
                               "public_key=" K2 "\n"
                               "persistent_keepalive_interval=0\n"
                               "replace_allowed_ips=true\n"
                               "allowed_ip=100.64.0.3/32\n"
                               "\n");
    free(p.allowed_ips);
}

static void test_client_oversized(void **state)
{
    (void)state;
    struct fake f;
    struct wg_uapi u;
    struct wg_device d;
    struct wg_key k;

    fake_start(&f, FAKE_CLOSE, GET_REPLY, strlen(GET_REPLY));
    client_for(&f, &u);
    u.max_reply = 100; /* smaller than the reply */
    assert_int_equal(wg_uapi_get(&u, &d), -E2BIG);
    fake_stop(&f);

    /* A set reply longer than "errno=N\n\n" may be. */
    static char big[1024];
    memset(big, 'x', sizeof(big));
    fake_start(&f, FAKE_CLOSE, big, sizeof(big));
    client_for(&f, &u);
    assert_int_equal(wg_key_from_hex(K1, &k), 0);
    assert_int_equal(wg_uapi_remove_peer(&u, &k), -E2BIG);
    fake_stop(&f);
}

static void test_client_truncated(void **state)
{
    (void)state;
    struct fake f;
    struct wg_uapi u;
    struct wg_device d;
    size_t cut = strlen(GET_REPLY) / 2;

    fake_start(&f, FAKE_CLOSE, GET_REPLY, cut);
    client_for(&f, &u);
    assert_int_equal(wg_uapi_get(&u, &d), -EPROTO);
    fake_stop(&f);

    /* Cut just before the final blank line. */
    fake_start(&f, FAKE_CLOSE, GET_REPLY, strlen(GET_REPLY) - 1);
    client_for(&f, &u);
    assert_int_equal(wg_uapi_get(&u, &d), -EPROTO);
    fake_stop(&f);
}

static void test_client_timeout_and_absent(void **state)
{
    (void)state;
    struct fake f;
    struct wg_uapi u;
    struct wg_device d;

    fake_start(&f, FAKE_SILENT, NULL, 0);
    client_for(&f, &u);
    u.timeout_ms = 200;
    assert_int_equal(wg_uapi_get(&u, &d), -ETIMEDOUT);
    fake_stop(&f);

    /* Nobody there: no socket file, then a socket file nobody listens on. */
    assert_int_equal(wg_uapi_init(&u, "/tmp/tg-wg-does-not-exist", "tgtest0"), 0);
    assert_int_equal(wg_uapi_get(&u, &d), -ENOENT);

    char dir[] = "/tmp/tg-wg-uapi-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/tgtest0.sock", dir);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
    close(fd); /* bound, never listened: connect() is refused */
    assert_int_equal(wg_uapi_init(&u, dir, "tgtest0"), 0);
    assert_int_equal(wg_uapi_get(&u, &d), -ECONNREFUSED);
    unlink(sun.sun_path);
    rmdir(dir);

    assert_int_equal(wg_uapi_init(&u, NULL, "bad/name"), -EINVAL);
    assert_int_equal(wg_uapi_init(&u, NULL, "tikgate0"), 0);
    assert_string_equal(u.path, "/var/run/wireguard/tikgate0.sock");
}

static void test_client_bulk(void **state)
{
    (void)state;
    struct fake f;
    struct wg_uapi u;
    struct wg_device d;
    struct buf b;

    /* 300 peers in one message: the request is larger than the fake's buffer is not needed. */
    memset(&d, 0, sizeof(d));
    d.flags = WG_DEVICE_REPLACE_PEERS;
    for (int i = 0; i < 300; i++) {
        struct wg_key k;
        struct cidr c = {.family = AF_INET, .prefix = 32};
        memset(&k, 0, sizeof(k));
        k.b[0] = (uint8_t)i;
        k.b[1] = (uint8_t)(i >> 8);
        c.addr[0] = 100;
        c.addr[1] = 64;
        c.addr[2] = (uint8_t)(i >> 8);
        c.addr[3] = (uint8_t)i;
        struct wg_peer *p = wg_device_add_peer(&d, &k);
        p->flags = WG_PEER_REPLACE_ALLOWED_IPS;
        wg_peer_add_allowed_ip(p, &c);
    }
    buf_init(&b, 1 << 20);
    assert_int_equal(wg_uapi_format_set(&b, &d), 0);
    assert_true(b.len < sizeof(f.req));
    fake_start(&f, FAKE_REPLY, "errno=0\n\n", 9);
    client_for(&f, &u);
    assert_int_equal(wg_uapi_set(&u, &d), 0);
    fake_stop(&f);
    assert_int_equal(f.req_len, b.len);
    assert_memory_equal(f.req, b.data, b.len);
    buf_release(&b);
    wg_device_release(&d);
}

int main(void)
{
    if (tg_rand_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_get),        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_format_set),       cmocka_unit_test(test_endpoints_and_names),
        cmocka_unit_test(test_client_get),       cmocka_unit_test(test_client_errno),
        cmocka_unit_test(test_client_set_peer),  cmocka_unit_test(test_client_oversized),
        cmocka_unit_test(test_client_truncated), cmocka_unit_test(test_client_timeout_and_absent),
        cmocka_unit_test(test_client_bulk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
