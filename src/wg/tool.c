/*
 * tool.c - tikgate-wg: a debug and test driver of src/wg (not installed).
 *
 *   tikgate-wg genkey            a new private key, base64
 *   tikgate-wg pubkey            the public key of the base64 private key on stdin
 *   tikgate-wg probe             kernel WireGuard probe and userspace preflight
 *   tikgate-wg serve OPTIONS     own one interface, driven by line commands on stdin
 *   tikgate-wg bench OPTIONS     bulk-load peers and time single-peer changes
 *
 * OPTIONS: --if NAME (required) --address A/P[,PEER] --port N --key-file F --mtu N
 *          --wireguard-go PATH --uapi-dir DIR; bench: --peers N --adds N
 *
 * serve stands in for the daemon's edge role: it keeps the desired state
 * (key, port, peers) and applies it level-triggered: the whole state in one
 * message at start and after every restart of wireguard-go found by
 * supervision (every 200 ms), single-peer messages in between. Like the
 * daemon writing a site's endpoint back to its store, it remembers each
 * peer's last endpoint (get=1 every second) and re-applies it after a
 * restart, so that the edge's own traffic re-handshakes at once through the
 * router's NAT mapping instead of waiting for the router's rekey (<= 2 min).
 * Each endpoint it records is reported ("event endpoint <pub> <addr:port>"),
 * and the restart event says how many peers were re-applied with one.
 * Commands (one
 * per line; answers "ok ..." or "err <-errno> <text>"; "event ..." lines come
 * unasked):
 *   peer <pub-b64> <allowed[,allowed...]> [keepalive [endpoint]]
 *   unpeer <pub-b64>
 *   show        device and peer lines from get=1, then "ok"
 *   pid         wireguard-go's pid
 *   quit        (also EOF on stdin, SIGTERM, SIGINT)
 */
#include "clock.h"
#include "rand.h"
#include "wg_backend.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SUPERVISE_MS 200
#define OBSERVE_MS 1000
#define LINE_MAX_LEN 1024

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

struct opts {
    const char *ifname;
    const char *address;
    const char *key_file;
    const char *wireguard_go;
    const char *uapi_dir;
    unsigned port;
    unsigned mtu;
    unsigned peers;
    unsigned adds;
    enum wg_impl impl; /* --backend; userspace by default (the tests and benchmarks drive it) */
};

static int usage(void)
{
    fprintf(stderr, "usage: tikgate-wg genkey | pubkey | probe | serve OPTIONS | bench OPTIONS\n"
                    "  --if NAME --address A/P[,PEER] --port N --key-file F --mtu N\n"
                    "  --wireguard-go PATH --uapi-dir DIR --peers N --adds N\n"
                    "  --backend auto|kernel|userspace (default userspace)\n");
    return 2;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
    memset(o, 0, sizeof(*o));
    o->peers = 10000;
    o->adds = 50;
    o->impl = WG_IMPL_USERSPACE;
    for (int i = 2; i < argc; i += 2) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            return -EINVAL;
        if (!strcmp(a, "--if"))
            o->ifname = v;
        else if (!strcmp(a, "--address"))
            o->address = v;
        else if (!strcmp(a, "--key-file"))
            o->key_file = v;
        else if (!strcmp(a, "--wireguard-go"))
            o->wireguard_go = v;
        else if (!strcmp(a, "--uapi-dir"))
            o->uapi_dir = v;
        else if (!strcmp(a, "--port"))
            o->port = (unsigned)strtoul(v, NULL, 10);
        else if (!strcmp(a, "--mtu"))
            o->mtu = (unsigned)strtoul(v, NULL, 10);
        else if (!strcmp(a, "--peers"))
            o->peers = (unsigned)strtoul(v, NULL, 10);
        else if (!strcmp(a, "--adds"))
            o->adds = (unsigned)strtoul(v, NULL, 10);
        else if (!strcmp(a, "--backend")) {
            if (wg_impl_parse(v, &o->impl) < 0)
                return -EINVAL;
        } else
            return -EINVAL;
    }
    return o->ifname ? 0 : -EINVAL;
}

static double now_s(void)
{
    return (double)clock_mono_ns() / 1e9;
}

/* Reads a base64 key from a file (trailing newline allowed). */
static int read_key_file(const char *path, struct wg_key *ret)
{
    char line[128] = {0};
    FILE *f = fopen(path, "r");
    if (!f)
        return -errno;
    if (!fgets(line, sizeof(line), f)) {
        fclose(f);
        return -EINVAL;
    }
    fclose(f);
    line[strcspn(line, "\r\n")] = '\0';
    return wg_key_from_base64(line, ret);
}

static int cmd_genkey(void)
{
    struct wg_key k;
    char b64[WG_KEY_B64_LEN + 1];
    if (wg_key_generate(&k) < 0)
        return 1;
    wg_key_to_base64(&k, b64);
    printf("%s\n", b64);
    wg_key_wipe(&k);
    return 0;
}

static int cmd_pubkey(void)
{
    char line[128] = {0};
    struct wg_key priv, pub;
    char b64[WG_KEY_B64_LEN + 1];
    if (!fgets(line, sizeof(line), stdin))
        return 1;
    line[strcspn(line, "\r\n")] = '\0';
    if (wg_key_from_base64(line, &priv) < 0 || wg_key_public(&priv, &pub) < 0) {
        fprintf(stderr, "tikgate-wg: not a WireGuard key\n");
        return 1;
    }
    wg_key_to_base64(&pub, b64);
    printf("%s\n", b64);
    wg_key_wipe(&priv);
    return 0;
}

static int cmd_probe(void)
{
    char msg[256];
    int k = wg_kernel_probe();
    int u = wg_preflight_userspace(NULL, msg, sizeof(msg));
    printf("kernel=%s (%d)\nuserspace=%s%s%s\n",
           k == 1   ? "usable"
           : k == 0 ? "no module"
                    : strerror(-k),
           k, u == 0 ? "ok" : "unusable", u ? ": " : "", msg);
    return 0;
}

static int open_backend(const struct opts *o, struct wg_backend **ret)
{
    struct wg_ifaddr addr;
    char err[WG_ERROR_LEN], abuf[128];
    struct wg_backend_config cfg = {
        .ifname = o->ifname,
        .impl = o->impl,
        .wireguard_go = o->wireguard_go,
        .uapi_dir = o->uapi_dir,
        .mtu = o->mtu,
    };
    char msg[256];
    int r =
        o->impl == WG_IMPL_KERNEL ? 0 : wg_preflight_userspace(o->wireguard_go, msg, sizeof(msg));
    if (r < 0 && !(o->impl == WG_IMPL_AUTO && wg_kernel_probe() == 1)) {
        fprintf(stderr, "tikgate-wg: %s\n", msg);
        return r;
    }
    if (o->address) {
        snprintf(abuf, sizeof(abuf), "%s", o->address);
        char *peer = strchr(abuf, ',');
        if (peer)
            *peer++ = '\0';
        if (wg_ifaddr_parse(abuf, peer, &addr) < 0) {
            fprintf(stderr, "tikgate-wg: bad --address %s\n", o->address);
            return -EINVAL;
        }
        cfg.address = &addr;
    }
    r = wg_backend_open(&cfg, ret, err);
    if (r < 0)
        fprintf(stderr, "tikgate-wg: %s (%s)\n", err, strerror(-r));
    return r;
}

/* Parses "a/n,b/m" into p's allowed IPs. */
static int parse_allowed(const char *list, struct wg_peer *p)
{
    char tmp[LINE_MAX_LEN];
    snprintf(tmp, sizeof(tmp), "%s", list);
    for (char *save = NULL, *t = strtok_r(tmp, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        struct cidr c;
        if (cidr_parse(t, CIDR_REQUIRE_PREFIX, &c) < 0)
            return -EINVAL;
        wg_peer_add_allowed_ip(p, &c);
    }
    return 0;
}

/* The desired state: what the daemon would read from its store. */
struct desired {
    struct wg_device dev; /* private key, port, peers */
};

static void remove_desired(struct desired *s, const struct wg_key *pub)
{
    for (size_t i = 0; i < s->dev.n_peers; i++) {
        if (wg_key_equal(&s->dev.peers[i].public_key, pub)) {
            free(s->dev.peers[i].allowed_ips);
            s->dev.peers[i] = s->dev.peers[--s->dev.n_peers];
            return;
        }
    }
}

static bool endpoint_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    char x[WG_ENDPOINT_STR_LEN], y[WG_ENDPOINT_STR_LEN];
    wg_endpoint_format(a, x);
    wg_endpoint_format(b, y);
    return !strcmp(x, y);
}

/*
 * Copies the endpoints wireguard-go learned into the desired peers (the
 * daemon's write-back of tunnel.endpoint) and reports each new or changed one
 * as "event endpoint <pub> <addr:port>": from then on a restart re-applies it.
 * A peer whose first handshake (or roam) is less than one sampling period old
 * when wireguard-go dies is re-applied without it (or with the old one) and
 * waits for the router's own rekey; the event says when that window is over.
 */
static void observe(struct wg_backend *b, struct desired *s)
{
    struct wg_device d;
    char b64[WG_KEY_B64_LEN + 1], ep[WG_ENDPOINT_STR_LEN];
    if (wg_backend_get(b, &d) < 0)
        return;
    for (size_t i = 0; i < s->dev.n_peers; i++) {
        struct wg_peer *q = &s->dev.peers[i];
        const struct wg_peer *p = wg_device_find_peer(&d, &q->public_key);
        if (!p || p->endpoint.ss_family == AF_UNSPEC || endpoint_equal(&p->endpoint, &q->endpoint))
            continue;
        q->endpoint = p->endpoint;
        wg_key_to_base64(&q->public_key, b64);
        wg_endpoint_format(&q->endpoint, ep);
        printf("event endpoint %s %s\n", b64, ep);
    }
    fflush(stdout);
    wg_device_release(&d);
}

/* Desired peers that a restart re-applies with a known endpoint. */
static size_t known_endpoints(const struct desired *s)
{
    size_t n = 0;
    for (size_t i = 0; i < s->dev.n_peers; i++)
        n += s->dev.peers[i].endpoint.ss_family != AF_UNSPEC;
    return n;
}

static int apply_all(struct wg_backend *b, struct desired *s)
{
    s->dev.flags |= WG_DEVICE_REPLACE_PEERS;
    for (size_t i = 0; i < s->dev.n_peers; i++)
        s->dev.peers[i].flags |= WG_PEER_REPLACE_ALLOWED_IPS | WG_PEER_HAS_KEEPALIVE;
    return wg_backend_set(b, &s->dev);
}

static void show(struct wg_backend *b)
{
    struct wg_device d;
    char b64[WG_KEY_B64_LEN + 1], ep[WG_ENDPOINT_STR_LEN], c[CIDR_STR_LEN];
    int r = wg_backend_get(b, &d);
    if (r < 0) {
        printf("err %d %s\n", r, strerror(-r));
        return;
    }
    wg_key_to_base64(&d.public_key, b64);
    printf("device public_key=%s listen_port=%u peers=%zu\n", b64, d.listen_port, d.n_peers);
    for (size_t i = 0; i < d.n_peers; i++) {
        const struct wg_peer *p = &d.peers[i];
        wg_key_to_base64(&p->public_key, b64);
        wg_endpoint_format(&p->endpoint, ep);
        printf("peer %s endpoint=%s last_handshake=%lld.%09lld rx=%llu tx=%llu keepalive=%u "
               "allowed_ips=",
               b64, ep[0] ? ep : "-", (long long)p->last_handshake_sec,
               (long long)p->last_handshake_nsec, (unsigned long long)p->rx_bytes,
               (unsigned long long)p->tx_bytes, p->keepalive);
        for (size_t j = 0; j < p->n_allowed_ips; j++) {
            cidr_format(&p->allowed_ips[j], c);
            printf("%s%s", j ? "," : "", c);
        }
        printf("\n");
    }
    printf("ok\n");
    wg_device_release(&d);
}

static void handle_line(struct wg_backend *b, struct desired *s, char *line, bool *quit)
{
    char *save = NULL;
    char *cmd = strtok_r(line, " \t", &save);
    int r;

    if (!cmd)
        return;
    if (!strcmp(cmd, "quit")) {
        *quit = true;
        printf("ok\n");
    } else if (!strcmp(cmd, "pid")) {
        printf("ok %d\n", (int)wg_backend_pid(b));
    } else if (!strcmp(cmd, "show")) {
        show(b);
    } else if (!strcmp(cmd, "peer")) {
        char *key = strtok_r(NULL, " \t", &save), *allowed = strtok_r(NULL, " \t", &save);
        char *ka = strtok_r(NULL, " \t", &save), *ep = strtok_r(NULL, " \t", &save);
        struct wg_key pub;
        struct wg_peer p;
        memset(&p, 0, sizeof(p));
        p.endpoint.ss_family = AF_UNSPEC;
        if (!key || !allowed || wg_key_from_base64(key, &pub) < 0) {
            printf("err %d usage: peer <pub-b64> <allowed,...> [keepalive [endpoint]]\n", -EINVAL);
            return;
        }
        p.public_key = pub;
        p.keepalive = ka ? (uint16_t)strtoul(ka, NULL, 10) : 0;
        if (parse_allowed(allowed, &p) < 0 ||
            (ep && wg_endpoint_parse(ep, strlen(ep), &p.endpoint) < 0)) {
            free(p.allowed_ips);
            printf("err %d bad allowed IPs or endpoint\n", -EINVAL);
            return;
        }
        r = wg_backend_set_peer(b, &p);
        if (r < 0) {
            free(p.allowed_ips);
            printf("err %d %s\n", r, strerror(-r));
            return;
        }
        /* An update without an endpoint leaves wireguard-go's as it is: keep the one recorded. */
        const struct wg_peer *old = wg_device_find_peer(&s->dev, &pub);
        if (old && p.endpoint.ss_family == AF_UNSPEC)
            p.endpoint = old->endpoint;
        remove_desired(s, &pub);
        struct wg_peer *q = wg_device_add_peer(&s->dev, &pub);
        *q = p; /* takes p's allowed IPs */
        printf("ok\n");
    } else if (!strcmp(cmd, "unpeer")) {
        char *key = strtok_r(NULL, " \t", &save);
        struct wg_key pub;
        if (!key || wg_key_from_base64(key, &pub) < 0) {
            printf("err %d usage: unpeer <pub-b64>\n", -EINVAL);
            return;
        }
        r = wg_backend_remove_peer(b, &pub);
        if (r < 0) {
            printf("err %d %s\n", r, strerror(-r));
            return;
        }
        remove_desired(s, &pub);
        printf("ok\n");
    } else {
        printf("err %d unknown command %s\n", -EINVAL, cmd);
    }
}

static int cmd_serve(const struct opts *o)
{
    struct wg_backend *b = NULL;
    struct desired s;
    char b64[WG_KEY_B64_LEN + 1];
    char line[LINE_MAX_LEN];
    size_t llen = 0;
    bool quit = false;
    double last_observe = 0;
    int r, rc = 1;

    memset(&s, 0, sizeof(s));
    if (o->key_file) {
        if (read_key_file(o->key_file, &s.dev.private_key) < 0) {
            fprintf(stderr, "tikgate-wg: cannot read a key from %s\n", o->key_file);
            return 1;
        }
    } else if (wg_key_generate(&s.dev.private_key) < 0) {
        return 1;
    }
    s.dev.flags = WG_DEVICE_HAS_PRIVATE_KEY;
    if (o->port) {
        s.dev.flags |= WG_DEVICE_HAS_LISTEN_PORT;
        s.dev.listen_port = (uint16_t)o->port;
    }
    wg_key_public(&s.dev.private_key, &s.dev.public_key);
    wg_key_to_base64(&s.dev.public_key, b64);

    if (open_backend(o, &b) < 0)
        goto out_release;
    if ((r = apply_all(b, &s)) < 0) {
        fprintf(stderr, "tikgate-wg: cannot configure %s: %s\n", o->ifname, strerror(-r));
        goto out_close;
    }
    printf("ready public_key=%s backend=%s kernel=%d pid=%d\n", b64, wg_backend_name(b),
           wg_kernel_probe(), (int)wg_backend_pid(b));
    fflush(stdout);

    while (!quit && !stop_requested) {
        struct pollfd pfd = {.fd = STDIN_FILENO, .events = POLLIN};
        int n = poll(&pfd, 1, SUPERVISE_MS);
        if (n < 0 && errno != EINTR)
            break;
        if (n > 0) {
            ssize_t got = read(STDIN_FILENO, line + llen, sizeof(line) - 1 - llen);
            if (got <= 0)
                break; /* EOF: the driver went away */
            llen += (size_t)got;
            char *nl;
            while ((nl = memchr(line, '\n', llen))) {
                *nl = '\0';
                handle_line(b, &s, line, &quit);
                fflush(stdout);
                llen -= (size_t)(nl + 1 - line);
                memmove(line, nl + 1, llen);
            }
            if (llen == sizeof(line) - 1)
                llen = 0; /* an overlong line: drop it */
        }
        bool restarted = false;
        r = wg_backend_supervise(b, &restarted);
        if (r < 0 && r != -EAGAIN) {
            printf("event restart_failed %d %s\n", r, wg_backend_error(b));
            fflush(stdout);
        }
        if (restarted) {
            r = apply_all(b, &s);
            printf("event restarted restarts=%u pid=%d peers=%zu endpoints=%zu apply=%d\n",
                   wg_backend_restarts(b), (int)wg_backend_pid(b), s.dev.n_peers,
                   known_endpoints(&s), r);
            fflush(stdout);
        } else if (r == 0 && now_s() - last_observe >= OBSERVE_MS / 1000.0) {
            observe(b, &s);
            last_observe = now_s();
        }
    }
    rc = 0;
out_close:
    wg_backend_close(b);
out_release:
    wg_device_release(&s.dev);
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static long rss_kb(pid_t pid)
{
    char path[64], line[256];
    long kb = -1;
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (!strncmp(line, "VmRSS:", 6))
            kb = strtol(line + 6, NULL, 10);
    fclose(f);
    return kb;
}

static void peer_for(struct wg_device *d, unsigned i)
{
    struct wg_key priv, pub;
    wg_key_generate(&priv);
    wg_key_public(&priv, &pub);
    struct wg_peer *p = wg_device_add_peer(d, &pub);
    struct cidr c = {.family = AF_INET, .prefix = 32};
    unsigned host = i + 2; /* 100.64.0.1 is the edge */
    c.addr[0] = 100;
    c.addr[1] = (uint8_t)(64 | ((host >> 16) & 63));
    c.addr[2] = (uint8_t)(host >> 8);
    c.addr[3] = (uint8_t)host;
    p->flags = WG_PEER_REPLACE_ALLOWED_IPS;
    wg_peer_add_allowed_ip(p, &c);
}

static int cmd_bench(const struct opts *o)
{
    struct wg_backend *b = NULL;
    struct wg_device dev, got, extra;
    int r, rc = 1;

    memset(&dev, 0, sizeof(dev));
    memset(&extra, 0, sizeof(extra));
    if (open_backend(o, &b) < 0)
        return 1;
    wg_key_generate(&dev.private_key);
    dev.flags = WG_DEVICE_HAS_PRIVATE_KEY | WG_DEVICE_HAS_LISTEN_PORT | WG_DEVICE_REPLACE_PEERS;
    dev.listen_port = (uint16_t)(o->port ? o->port : 51820);

    double t0 = now_s();
    for (unsigned i = 0; i < o->peers; i++)
        peer_for(&dev, i);
    double keygen = now_s() - t0;

    struct buf msg;
    buf_init(&msg, WG_UAPI_REQUEST_MAX);
    wg_uapi_format_set(&msg, &dev);
    size_t msg_bytes = msg.len;
    buf_release(&msg);

    t0 = now_s();
    r = wg_backend_set(b, &dev);
    double bulk = now_s() - t0;
    if (r < 0) {
        fprintf(stderr, "tikgate-wg: bulk set: %s\n", strerror(-r));
        goto out_close;
    }

    for (unsigned i = 0; i < o->adds; i++)
        peer_for(&extra, o->peers + i);
    double *add = calloc(o->adds + 1, sizeof(double)), *rem = calloc(o->adds + 1, sizeof(double));
    for (unsigned i = 0; i < o->adds; i++) {
        t0 = now_s();
        r = wg_backend_set_peer(b, &extra.peers[i]);
        add[i] = (now_s() - t0) * 1e3;
        if (r < 0) {
            fprintf(stderr, "tikgate-wg: add: %s\n", strerror(-r));
            goto out_free;
        }
    }
    t0 = now_s();
    r = wg_backend_get(b, &got);
    double get_ms = (now_s() - t0) * 1e3;
    if (r < 0) {
        fprintf(stderr, "tikgate-wg: get: %s\n", strerror(-r));
        goto out_free;
    }
    size_t n_got = got.n_peers;
    wg_device_release(&got);
    for (unsigned i = 0; i < o->adds; i++) {
        t0 = now_s();
        r = wg_backend_remove_peer(b, &extra.peers[i].public_key);
        rem[i] = (now_s() - t0) * 1e3;
        if (r < 0)
            goto out_free;
    }
    qsort(add, o->adds, sizeof(double), cmp_double);
    qsort(rem, o->adds, sizeof(double), cmp_double);
    printf("bench peers=%u keygen_s=%.3f bulk_set_ms=%.1f message_bytes=%zu "
           "add_first_ms=%.3f add_median_ms=%.3f add_max_ms=%.3f remove_median_ms=%.3f "
           "get_ms=%.1f peers_seen=%zu wireguard_go_rss_kb=%ld\n",
           o->peers, keygen, bulk * 1e3, msg_bytes, o->adds ? add[0] : 0.0,
           o->adds ? add[o->adds / 2] : 0.0, o->adds ? add[o->adds - 1] : 0.0,
           o->adds ? rem[o->adds / 2] : 0.0, get_ms, n_got, rss_kb(wg_backend_pid(b)));
    rc = n_got == (size_t)o->peers + o->adds ? 0 : 1;
out_free:
    free(add);
    free(rem);
out_close:
    wg_backend_close(b);
    wg_device_release(&dev);
    wg_device_release(&extra);
    return rc;
}

int main(int argc, char **argv)
{
    struct opts o;
    struct sigaction sa;

    if (argc < 2)
        return usage();
    if (tg_rand_init() < 0)
        return 1;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal; /* no SA_RESTART: poll() returns */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);

    if (!strcmp(argv[1], "genkey"))
        return cmd_genkey();
    if (!strcmp(argv[1], "pubkey"))
        return cmd_pubkey();
    if (!strcmp(argv[1], "probe"))
        return cmd_probe();
    if (parse_opts(argc, argv, &o) < 0)
        return usage();
    if (!strcmp(argv[1], "serve"))
        return cmd_serve(&o);
    if (!strcmp(argv[1], "bench"))
        return cmd_bench(&o);
    return usage();
}
