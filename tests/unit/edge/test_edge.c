/*
 * test_edge.c - the relay end to end on loopback: echo, 4 MiB byte-for-byte,
 * allow-list refusal, close/deadline cuts, deadline extension, records,
 * unreachable target, max_conns, rate limit, IPv6. Every test runs with the
 * relay loops TG_TEST_EDGE_THREADS asks for (meson runs the file with 1 and 2),
 * and test_revoke_loops with two loops whatever it says.
 */
/* cmocka.h needs these headers first */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include "cidr.h"
#include "clock.h"
#include "edge.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---- echo server ---- */

#define MAX_ECHO_CONNS 64

struct echo_server {
    int fd;
    uint16_t port;
    _Atomic int stop; /* set by echo_stop(), read by the server thread */
    pthread_t thread;
    pthread_t conns[MAX_ECHO_CONNS];
    int nconns;
};

static void *echo_conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[65536];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n <= 0)
            break;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = send(fd, buf + off, (size_t)(n - off), MSG_NOSIGNAL);
            if (w <= 0)
                goto out;
            off += w;
        }
    }
    shutdown(fd, SHUT_WR);
out:
    close(fd);
    return NULL;
}

static void *echo_main(void *arg)
{
    struct echo_server *s = arg;
    while (!s->stop) {
        struct pollfd p = {.fd = s->fd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int c = accept(s->fd, NULL, NULL);
        if (c < 0)
            continue;
        if (s->nconns == MAX_ECHO_CONNS) {
            close(c);
            continue;
        }
        pthread_create(&s->conns[s->nconns++], NULL, echo_conn, (void *)(intptr_t)c);
    }
    return NULL;
}

static void echo_start(struct echo_server *s)
{
    memset(s, 0, sizeof(*s));
    s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    int one = 1;
    setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(s->fd, 128), 0);
    socklen_t l = sizeof(a);
    getsockname(s->fd, (struct sockaddr *)&a, &l);
    s->port = ntohs(a.sin_port);
    pthread_create(&s->thread, NULL, echo_main, s);
}

static void echo_stop(struct echo_server *s)
{
    s->stop = 1;
    pthread_join(s->thread, NULL);
    close(s->fd);
    for (int i = 0; i < s->nconns; i++)
        pthread_join(s->conns[i], NULL);
}

/* ---- event recorder ---- */

#define MAX_EVENTS 256

struct rec {
    enum edge_event_type type;
    char grant_id[EDGE_ID_MAX + 1];
    char src[EDGE_ADDR_STR_LEN];
    uint64_t conn_id;
    int64_t start_ms, end_ms, deadline_ms;
    uint64_t c2t, t2c;
    enum edge_end_reason reason;
    int error;
};

static pthread_mutex_t rec_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t rec_cv; /* clock_cond_init() in main() */
static struct rec recs[MAX_EVENTS];
static int nrecs;

static void on_event(void *ud, const struct edge_event *ev)
{
    (void)ud;
    pthread_mutex_lock(&rec_mu);
    if (nrecs < MAX_EVENTS) {
        struct rec *r = &recs[nrecs++];
        r->type = ev->type;
        snprintf(r->grant_id, sizeof(r->grant_id), "%s", ev->grant_id);
        snprintf(r->src, sizeof(r->src), "%s", ev->src_str ? ev->src_str : "");
        r->conn_id = ev->conn_id;
        r->start_ms = ev->start_ms;
        r->end_ms = ev->end_ms;
        r->deadline_ms = ev->deadline_ms;
        r->c2t = ev->bytes_c2t;
        r->t2c = ev->bytes_t2c;
        r->reason = ev->reason;
        r->error = ev->error;
    }
    pthread_cond_broadcast(&rec_cv);
    pthread_mutex_unlock(&rec_mu);
}

/* Monotonic ms with sub-ms precision, for measured durations. */
static double mono_ms(void)
{
    return (double)clock_mono_ns() / 1e6;
}

/* Waits (≤ 3 s) for an event of type for grant id; copies it into *out. */
static int wait_rec(enum edge_event_type type, const char *id, struct rec *out)
{
    int64_t deadline = clock_mono_ms() + 3000;
    int found = -1;
    pthread_mutex_lock(&rec_mu);
    for (;;) {
        for (int i = 0; i < nrecs; i++) {
            if (recs[i].type == type && strcmp(recs[i].grant_id, id) == 0) {
                *out = recs[i];
                found = 0;
                break;
            }
        }
        if (found == 0 || clock_cond_wait_until_ms(&rec_cv, &rec_mu, deadline) != 0)
            break;
    }
    pthread_mutex_unlock(&rec_mu);
    return found;
}

/* ---- fixtures and helpers ---- */

struct fx {
    struct echo_server echo;
    struct edge *edge;
    enum edge_relay_mode mode;
};

/* A fixture whose edge has cfg (on_event and the connect timeout are set here). */
static int setup_cfg(void **state, struct edge_config cfg)
{
    struct fx *f = calloc(1, sizeof(*f));
    echo_start(&f->echo);
    cfg.on_event = on_event;
    cfg.connect_timeout_ms = 2000;
    f->mode = cfg.mode;
    const char *threads = getenv("TG_TEST_EDGE_THREADS");
    if (!cfg.threads && threads)
        cfg.threads = (unsigned)atoi(threads);
    assert_int_equal(edge_new(&cfg, &f->edge), 0);
    pthread_mutex_lock(&rec_mu);
    nrecs = 0;
    pthread_mutex_unlock(&rec_mu);
    *state = f;
    return 0;
}

static int setup_mode(void **state, enum edge_relay_mode mode, unsigned max_conns)
{
    return setup_cfg(state, (struct edge_config){.mode = mode, .max_conns = max_conns});
}

static int setup_caps(void **state)
{
    return setup_cfg(state, (struct edge_config){.conns_per_grant = 3, .conns_per_source = 2});
}

static int setup_two_loops(void **state)
{
    return setup_cfg(state, (struct edge_config){.threads = 2});
}

static int setup_idle(void **state)
{
    return setup_cfg(state, (struct edge_config){.idle_timeout_ms = 300});
}

static int setup(void **state)
{
    return setup_mode(state, EDGE_RELAY_SPLICE, 0);
}

static int setup_copy(void **state)
{
    return setup_mode(state, EDGE_RELAY_COPY, 0);
}

static int setup_max2(void **state)
{
    return setup_mode(state, EDGE_RELAY_SPLICE, 2);
}

static int teardown(void **state)
{
    struct fx *f = *state;
    edge_free(f->edge);
    echo_stop(&f->echo);
    free(f);
    return 0;
}

static struct cidr allow_lo[1];

/* Grant id on 127.0.0.1:port (0: a free one) to the echo server, from 127.0.0.1 only. */
static struct edge_grant grant_to_echo(struct fx *f, const char *id, uint16_t port)
{
    assert_int_equal(cidr_parse("127.0.0.1/32", CIDR_STRICT, &allow_lo[0]), 0);
    return (struct edge_grant){.id = id,
                               .listen_addr = "127.0.0.1",
                               .listen_port = port,
                               .target_addr = "127.0.0.1",
                               .target_port = f->echo.port,
                               .allow = allow_lo,
                               .n_allow = 1};
}

/* Opens grant id on 127.0.0.1:<free port> to the echo server; returns the port. */
static uint16_t open_grant(struct fx *f, const char *id, int64_t deadline_ms, uint64_t rate)
{
    struct edge_grant g = grant_to_echo(f, id, 0);
    g.deadline_ms = deadline_ms;
    g.rate_limit = rate;
    assert_int_equal(edge_grant_open(f->edge, &g), 0);
    struct edge_grant_info info;
    assert_int_equal(edge_grant_get(f->edge, id, &info), 0);
    assert_true(info.listen_port > 0);
    return info.listen_port;
}

/* Blocking client socket (2 s receive timeout), optionally bound to src. -errno on failure. */
static int client(const char *src, uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct timeval tv = {.tv_sec = 2};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (src) {
        struct sockaddr_in s = {.sin_family = AF_INET};
        inet_pton(AF_INET, src, &s.sin_addr);
        assert_int_equal(bind(fd, (struct sockaddr *)&s, sizeof(s)), 0);
    }
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    return fd;
}

static void roundtrip(int fd, const char *msg)
{
    size_t n = strlen(msg);
    char buf[256];
    assert_int_equal(send(fd, msg, n, MSG_NOSIGNAL), (ssize_t)n);
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        assert_true(r > 0);
        got += (size_t)r;
    }
    assert_memory_equal(buf, msg, n);
}

/* Waits for the peer to close fd (read 0 or ECONNRESET); returns ms waited, -1 on timeout. */
static double wait_cut(int fd)
{
    double t0 = mono_ms();
    char buf[64];
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 3000) <= 0)
            return -1;
        ssize_t r = read(fd, buf, sizeof(buf));
        if (r == 0 || (r < 0 && errno == ECONNRESET))
            return mono_ms() - t0;
        if (r < 0)
            return -1;
    }
}

/* ---- tests ---- */

static void test_echo(void **state)
{
    struct fx *f = *state;
    uint16_t port = open_grant(f, "g-echo", 0, 0);
    int fd = client(NULL, port);
    assert_true(fd >= 0);
    roundtrip(fd, "hello through the edge");
    roundtrip(fd, "again");
    close(fd);
    struct rec r;
    assert_int_equal(wait_rec(EDGE_EV_CONN_START, "g-echo", &r), 0);
    assert_int_equal(wait_rec(EDGE_EV_CONN_END, "g-echo", &r), 0);
    assert_int_equal(r.reason, EDGE_END_CLIENT_CLOSED);
    assert_int_equal(r.c2t, 27);
    assert_int_equal(r.t2c, 27);
    assert_true(strncmp(r.src, "127.0.0.1:", 10) == 0);
    assert_true(r.end_ms >= r.start_ms);
    /* a short exchange is copied, never spliced (EDGE_SPLICE_AFTER) */
    struct edge_stats st;
    assert_int_equal(edge_stats_get(f->edge, &st), 0);
    assert_int_equal(st.spliced, 0);
}

#define BIG (4u << 20)

struct writer {
    int fd;
    const unsigned char *data;
};

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    size_t off = 0;
    while (off < BIG) {
        ssize_t n =
            send(w->fd, w->data + off, BIG - off > 100000 ? 100000 : BIG - off, MSG_NOSIGNAL);
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    shutdown(w->fd, SHUT_WR); /* half-close: the echo must still come back in full */
    return NULL;
}

static void test_big_transfer(void **state)
{
    struct fx *f = *state;
    uint16_t port = open_grant(f, "g-big", 0, 0);
    unsigned char *data = malloc(BIG), *back = malloc(BIG);
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < BIG; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        data[i] = (unsigned char)x;
    }
    int fd = client(NULL, port);
    assert_true(fd >= 0);
    struct writer w = {.fd = fd, .data = data};
    pthread_t t;
    pthread_create(&t, NULL, writer_main, &w);
    size_t got = 0;
    for (;;) {
        ssize_t n = read(fd, back + got, BIG - got + (got == BIG));
        if (n <= 0)
            break;
        got += (size_t)n;
        if (got > BIG)
            break;
    }
    pthread_join(t, NULL);
    assert_int_equal(got, BIG);
    assert_memory_equal(data, back, BIG);
    close(fd);
    struct rec r;
    assert_int_equal(wait_rec(EDGE_EV_CONN_END, "g-big", &r), 0);
    assert_int_equal(r.c2t, BIG);
    assert_int_equal(r.t2c, BIG);
    assert_int_equal(r.reason, EDGE_END_CLIENT_CLOSED);
    /* in splice mode both directions began by copying and went on by splice, intact */
    struct edge_stats st;
    assert_int_equal(edge_stats_get(f->edge, &st), 0);
    assert_int_equal(st.spliced, f->mode == EDGE_RELAY_SPLICE ? 2 : 0);
    assert_int_equal(st.busy_pipes + st.busy_bufs, 0);
    free(data);
    free(back);
}

static void test_refused(void **state)
{
    struct fx *f = *state;
    uint16_t port = open_grant(f, "g-refuse", 0, 0);
    int fd = client("127.0.0.2", port);
    assert_true(fd >= 0);
    double ms = wait_cut(fd);
    assert_true(ms >= 0 && ms < 1000);
    close(fd);
    struct rec r;
    assert_int_equal(wait_rec(EDGE_EV_CONN_END, "g-refuse", &r), 0);
    assert_int_equal(r.reason, EDGE_END_REFUSED);
    assert_true(strncmp(r.src, "127.0.0.2:", 10) == 0);
    assert_int_equal(r.c2t + r.t2c, 0);
    struct edge_grant_info info;
    assert_int_equal(edge_grant_get(f->edge, "g-refuse", &info), 0);
    assert_int_equal(info.refused_conns, 1);
    assert_int_equal(info.total_conns, 0);
    /* the allowed source still works */
    fd = client("127.0.0.1", port);
    roundtrip(fd, "ok");
    close(fd);
}

static void test_close_cuts(void **state)
{
    struct fx *f = *state;
    uint16_t port = open_grant(f, "g-close", 0, 0);
    int fd = client(NULL, port);
    roundtrip(fd, "live");
    double t0 = mono_ms();
    assert_int_equal(edge_grant_close(f->edge, "g-close"), 0);
    double ms = wait_cut(fd);
    print_message("      cut after close: %.2f ms (call + cut %.2f ms)\n", ms, mono_ms() - t0);
    assert_true(ms >= 0 && ms < 1000);
    close(fd);
    assert_int_equal(client(NULL, port), -ECONNREFUSED);
    assert_int_equal(edge_grant_close(f->edge, "g-close"), -ENOENT);
    struct edge_grant_info info;
    assert_int_equal(edge_grant_get(f->edge, "g-close", &info), -ENOENT);
    struct rec r;
    assert_int_equal(wait_rec(EDGE_EV_CONN_END, "g-close", &r), 0);
    assert_int_equal(r.reason, EDGE_END_GRANT_CLOSED);
    assert_int_equal(r.c2t, 4);
    assert_int_equal(r.t2c, 4);
}

static void test_deadline(void **state)
{
    struct fx *f = *state;
    int64_t deadline = clock_real_ms() + 300;
    uint16_t port = open_grant(f, "g-deadline", deadline, 0);
    int fd = client(NULL, port);
    roundtrip(fd, "before");
    assert_true(wait_cut(fd) >= 0);
    int64_t late = clock_real_ms() - deadline;
    print_message("      cut %lld ms after the deadline (client side)\n", (long long)late);
    assert_true(late >= 0 && late < 1000);
    close(fd);
    /* (with several loops, the first to cut stopped every loop's listener first) */
    assert_int_equal(client(NULL, port), -ECONNREFUSED);
    struct rec r; /* reported once, when every loop has let the grant go */
    assert_int_equal(wait_rec(EDGE_EV_GRANT_EXPIRED, "g-deadline", &r), 0);
    assert_int_equal(r.deadline_ms, deadline);
    assert_true(r.end_ms >= deadline && r.end_ms - deadline < 1000);
    assert_int_equal(wait_rec(EDGE_EV_CONN_END, "g-deadline", &r), 0);
    assert_int_equal(r.reason, EDGE_END_GRANT_EXPIRED);
    int expired = 0; /* once, by the last loop to close its listener */
    pthread_mutex_lock(&rec_mu);
    for (int i = 0; i < nrecs; i++)
        expired += recs[i].type == EDGE_EV_GRANT_EXPIRED;
    pthread_mutex_unlock(&rec_mu);
    assert_int_equal(expired, 1);
    struct edge_grant_info info;
    assert_int_equal(edge_grant_get(f->edge, "g-deadline", &info), -ENOENT);
}

static void test_deadline_extend(void **state)
{
    struct fx *f = *state;
    int64_t t0 = clock_real_ms();
    uint16_t port = open_grant(f, "g-ext", t0 + 300, 0);
    int fd = client(NULL, port);
    roundtrip(fd, "one");
    /* extend in place: same listener, same live connection */
    uint16_t port2 = open_grant(f, "g-ext", t0 + 900, 0);
    assert_int_equal(port2, port);
    usleep(500 * 1000);
    roundtrip(fd, "still alive after the first deadline");
    int fd2 = client(NULL, port);
    assert_true(fd2 >= 0);
    roundtrip(fd2, "new conn ok");
    assert_true(wait_cut(fd) >= 0);
    int64_t late = clock_real_ms() - (t0 + 900);
    print_message("      extended deadline: cut %lld ms late\n", (long long)late);
    assert_true(late >= 0 && late < 1000);
    assert_true(wait_cut(fd2) >= 0);
    close(fd);
    close(fd2);
    /* shortening works the same way: a deadline in the past expires at once */
    port = open_grant(f, "g-short", clock_real_ms() + 60000, 0);
    fd = client(NULL, port);
    roundtrip(fd, "x");
    struct edge_grant g = {
        .id = "g-short", .allow = allow_lo, .n_allow = 1, .deadline_ms = clock_real_ms() - 1};
    assert_int_equal(edge_grant_open(f->edge, &g), 0);
    double ms = wait_cut(fd);
    assert_true(ms >= 0 && ms < 1000);
    close(fd);
    /* a new grant whose deadline already passed is not opened */
    g.id = "g-past";
    g.listen_addr = g.target_addr = "127.0.0.1";
    g.target_port = f->echo.port;
    assert_int_equal(edge_grant_open(f->edge, &g), -ETIMEDOUT);
}

static void test_unreachable(void **state)
{
    struct fx *f = *state;
    /* a bound but not listening socket: connect gets ECONNREFUSED */
    int hole = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    assert_int_equal(bind(hole, (struct sockaddr *)&a, sizeof(a)), 0);
    socklen_t l = sizeof(a);
    getsockname(hole, (struct sockaddr *)&a, &l);
    assert_int_equal(cidr_parse("127.0.0.0/8", CIDR_STRICT, &allow_lo[0]), 0);
    struct edge_grant g = {.id = "g-unreach",
                           .listen_addr = "127.0.0.1",
                           .target_addr = "127.0.0.1",
                           .target_port = ntohs(a.sin_port),
                           .allow = allow_lo,
                           .n_allow = 1};
    assert_int_equal(edge_grant_open(f->edge, &g), 0);
    struct edge_grant_info info;
    assert_int_equal(edge_grant_get(f->edge, "g-unreach", &info), 0);
    int fd = client(NULL, info.listen_port);
    assert_true(fd >= 0);
    double ms = wait_cut(fd);
    assert_true(ms >= 0 && ms < 1000);
    close(fd);
    struct rec r;
    assert_int_equal(wait_rec(EDGE_EV_CONN_END, "g-unreach", &r), 0);
    assert_int_equal(r.reason, EDGE_END_TARGET_UNREACHABLE);
    assert_int_equal(r.error, ECONNREFUSED);
    close(hole);
}

static void test_errors_and_list(void **state)
{
    struct fx *f = *state;
    uint16_t port = open_grant(f, "g-a", 0, 0);
    open_grant(f, "g-b", clock_real_ms() + 60000, 0);
    struct edge_grant g = grant_to_echo(f, "g-c", port);
    assert_int_equal(edge_grant_open(f->edge, &g), -EADDRINUSE);
    g.listen_port = 0;
    g.listen_addr = "not-an-address";
    assert_int_equal(edge_grant_open(f->edge, &g), -EINVAL);
    g.listen_addr = "127.0.0.1";
    g.target_port = 0;
    assert_int_equal(edge_grant_open(f->edge, &g), -EINVAL);
    g.target_port = f->echo.port;
    g.id = "0123456789012345678901234567890123456"; /* 37 characters */
    assert_int_equal(edge_grant_open(f->edge, &g), -EINVAL);
    g.id = "g-c";
    g.n_allow = EDGE_ALLOW_MAX + 1;
    assert_int_equal(edge_grant_open(f->edge, &g), -EINVAL);

    struct edge_grant_info *list;
    size_t n;
    assert_int_equal(edge_grant_list(f->edge, &list, &n), 0);
    assert_int_equal(n, 2);
    int seen = 0;
    for (size_t i = 0; i < n; i++)
        seen |= strcmp(list[i].id, "g-a") == 0 ? 1 : strcmp(list[i].id, "g-b") == 0 ? 2 : 4;
    assert_int_equal(seen, 3);
    free(list);
    assert_int_equal(edge_grant_close(f->edge, "g-a"), 0);
    assert_int_equal(edge_grant_list(f->edge, &list, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].id, "g-b");
    free(list);
    assert_int_equal(edge_grant_close(f->edge, "g-b"), 0);
    assert_int_equal(edge_grant_list(f->edge, &list, &n), 0);
    assert_int_equal(n, 0);
    assert_null(list);
}

static void test_max_conns(void **state)
{
    struct fx *f = *state;
    uint16_t port = open_grant(f, "g-max", 0, 0);
    int a = client(NULL, port), b = client(NULL, port);
    roundtrip(a, "a");
    roundtrip(b, "b");
    int c = client(NULL, port); /* completes in the kernel backlog, not accepted */
    assert_true(c >= 0);
    assert_int_equal(send(c, "c", 1, MSG_NOSIGNAL), 1);
    struct pollfd p = {.fd = c, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 200), 0);
    struct edge_stats st;
    assert_int_equal(edge_stats_get(f->edge, &st), 0);
    assert_int_equal(st.live_conns, 2);
    assert_true(st.accept_paused >= 1);
    close(a);
    assert_int_equal(poll(&p, 1, 2000), 1); /* accepted once a slot is free */
    char ch;
    assert_int_equal(read(c, &ch, 1), 1);
    assert_int_equal(ch, 'c');
    close(b);
    close(c);
}

/* Counts the events of grant id that ended with reason. */
static int count_recs(const char *id, enum edge_end_reason reason)
{
    int n = 0;
    pthread_mutex_lock(&rec_mu);
    for (int i = 0; i < nrecs; i++)
        n += recs[i].type == EDGE_EV_CONN_END && recs[i].reason == reason &&
             strcmp(recs[i].grant_id, id) == 0;
    pthread_mutex_unlock(&rec_mu);
    return n;
}

/* F8: 3 live connections per grant, 2 per source; beyond, closed at once as LIMITED. */
static void test_caps(void **state)
{
    struct fx *f = *state;
    struct cidr lo8;
    assert_int_equal(cidr_parse("127.0.0.0/8", CIDR_STRICT, &lo8), 0);
    struct edge_grant g = {.id = "g-caps",
                           .listen_addr = "127.0.0.1",
                           .target_addr = "127.0.0.1",
                           .target_port = f->echo.port,
                           .allow = &lo8,
                           .n_allow = 1};
    assert_int_equal(edge_grant_open(f->edge, &g), 0);
    struct edge_grant_info info;
    assert_int_equal(edge_grant_get(f->edge, "g-caps", &info), 0);
    uint16_t port = info.listen_port;
    int a = client("127.0.0.1", port), b = client("127.0.0.1", port);
    roundtrip(a, "a");
    roundtrip(b, "b");
    int c = client("127.0.0.1", port); /* a third from the same source */
    assert_true(c >= 0);
    double ms = wait_cut(c);
    assert_true(ms >= 0 && ms < 1000);
    close(c);
    int d = client("127.0.0.2", port); /* another source: the grant's third */
    roundtrip(d, "d");
    int e = client("127.0.0.3", port); /* the grant's fourth */
    ms = wait_cut(e);
    assert_true(ms >= 0 && ms < 1000);
    close(e);
    assert_int_equal(edge_grant_get(f->edge, "g-caps", &info), 0);
    assert_int_equal(info.live_conns, 3);
    assert_int_equal(info.limited_conns, 2);
    assert_int_equal(info.refused_conns, 0);
    assert_int_equal(count_recs("g-caps", EDGE_END_LIMITED), 2);
    struct edge_stats st;
    assert_int_equal(edge_stats_get(f->edge, &st), 0);
    assert_int_equal(st.limited, 2);
    /* a slot freed: the first source may connect again */
    close(a);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(edge_grant_get(f->edge, "g-caps", &info), 0);
        if (info.live_conns == 2)
            break;
        usleep(10000);
    }
    int a2 = client("127.0.0.1", port);
    roundtrip(a2, "again");
    close(a2);
    close(b);
    close(d);
}

/* F8: a connection that moves no byte for idle_timeout_ms (300) is cut; a chatty one is not. */
static void test_idle_timeout(void **state)
{
    struct fx *f = *state;
    uint16_t port = open_grant(f, "g-idle", 0, 0);
    int quiet = client(NULL, port), chatty = client(NULL, port);
    roundtrip(quiet, "q");
    double t0 = mono_ms();
    for (int i = 0; i < 6; i++) {
        roundtrip(chatty, "c");
        usleep(100000);
    }
    double ms = wait_cut(quiet);
    assert_true(ms >= 0);
    assert_true(mono_ms() - t0 < 1000); /* cut after ~300 ms of silence, not at the end */
    roundtrip(chatty, "still here");
    close(quiet);
    struct rec r;
    assert_int_equal(wait_rec(EDGE_EV_CONN_END, "g-idle", &r), 0);
    assert_int_equal(r.reason, EDGE_END_IDLE);
    assert_string_equal(edge_end_reason_str(EDGE_END_IDLE), "idle_timeout");
    assert_int_equal(count_recs("g-idle", EDGE_END_IDLE), 1);
    close(chatty);
}

/*
 * Issue 11 item 4: while held, new connections are closed at once (UNCONFIRMED, counted);
 * a live one keeps relaying and the deadline still cuts it; resumed, new ones relay again.
 */
static void test_hold(void **state)
{
    struct fx *f = *state;
    uint16_t port = open_grant(f, "g-hold", 0, 0);
    int live = client(NULL, port);
    roundtrip(live, "before");
    assert_int_equal(edge_set_hold(f->edge, true), 0);
    struct edge_stats st;
    assert_int_equal(edge_stats_get(f->edge, &st), 0);
    assert_true(st.held);
    int refused = client(NULL, port);
    assert_true(refused >= 0);
    assert_true(wait_cut(refused) >= 0);
    close(refused);
    roundtrip(live, "held");
    assert_int_equal(edge_stats_get(f->edge, &st), 0);
    assert_int_equal(st.unconfirmed, 1);
    assert_int_equal(count_recs("g-hold", EDGE_END_UNCONFIRMED), 1);
    assert_string_equal(edge_end_reason_str(EDGE_END_UNCONFIRMED), "unconfirmed");
    assert_int_equal(edge_set_hold(f->edge, false), 0);
    int again = client(NULL, port);
    roundtrip(again, "resumed");
    close(again);
    /* held again: the deadline still cuts the live connection */
    assert_int_equal(edge_set_hold(f->edge, true), 0);
    struct edge_grant_info info;
    assert_int_equal(edge_grant_get(f->edge, "g-hold", &info), 0);
    struct edge_grant g = {.id = "g-hold",
                           .listen_addr = "127.0.0.1",
                           .target_addr = "127.0.0.1",
                           .target_port = f->echo.port,
                           .allow = allow_lo,
                           .n_allow = 1,
                           .deadline_ms = clock_real_ms() + 200};
    assert_int_equal(edge_grant_open(f->edge, &g), 0);
    assert_true(wait_cut(live) >= 0);
    close(live);
    assert_int_equal(edge_grant_get(f->edge, "g-hold", &info), -ENOENT);
}

static void test_rate_limit(void **state)
{
    struct fx *f = *state;
    uint16_t port = open_grant(f, "g-rate", 0, 200000); /* 200 kB/s each way */
    int fd = client(NULL, port);
    static char data[100000];
    memset(data, 'r', sizeof(data));
    double t0 = mono_ms();
    assert_int_equal(send(fd, data, sizeof(data), MSG_NOSIGNAL), (ssize_t)sizeof(data));
    size_t got = 0;
    char buf[65536];
    while (got < sizeof(data)) {
        ssize_t n = read(fd, buf, sizeof(buf));
        assert_true(n > 0);
        got += (size_t)n;
    }
    double ms = mono_ms() - t0;
    print_message("      100 kB echoed at 200 kB/s in %.0f ms\n", ms);
    /* 20 kB burst, then 80 kB at 200 kB/s = 400 ms */
    assert_true(ms >= 300 && ms < 2000);
    close(fd);
    /* the limit can be lifted in place */
    open_grant(f, "g-rate", 0, 0);
    fd = client(NULL, port);
    t0 = mono_ms();
    assert_int_equal(send(fd, data, sizeof(data), MSG_NOSIGNAL), (ssize_t)sizeof(data));
    for (got = 0; got < sizeof(data);) {
        ssize_t n = read(fd, buf, sizeof(buf));
        assert_true(n > 0);
        got += (size_t)n;
    }
    assert_true(mono_ms() - t0 < 300);
    close(fd);
}

static void test_ipv6(void **state)
{
    struct fx *f = *state;
    int probe = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    int ok = probe >= 0 && bind(probe, (struct sockaddr *)&a6, sizeof(a6)) == 0;
    if (probe >= 0)
        close(probe);
    if (!ok)
        skip();
    struct cidr allow6;
    assert_int_equal(cidr_parse("::1/128", CIDR_STRICT, &allow6), 0);
    struct edge_grant g = {.id = "g-v6",
                           .listen_addr = "::1",
                           .target_addr = "127.0.0.1",
                           .target_port = f->echo.port,
                           .allow = &allow6,
                           .n_allow = 1};
    assert_int_equal(edge_grant_open(f->edge, &g), 0);
    struct edge_grant_info info;
    assert_int_equal(edge_grant_get(f->edge, "g-v6", &info), 0);
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    struct timeval tv = {.tv_sec = 2};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    a6.sin6_port = htons(info.listen_port);
    assert_int_equal(connect(fd, (struct sockaddr *)&a6, sizeof(a6)), 0);
    roundtrip(fd, "v6");
    close(fd);
    struct rec r;
    assert_int_equal(wait_rec(EDGE_EV_CONN_END, "g-v6", &r), 0);
    assert_true(strncmp(r.src, "[::1]:", 6) == 0);
}

static void test_shutdown_cuts(void **state)
{
    struct fx *f = *state;
    uint16_t port = open_grant(f, "g-shut", 0, 0);
    int fd = client(NULL, port);
    roundtrip(fd, "x");
    edge_free(f->edge);
    f->edge = NULL;
    assert_true(wait_cut(fd) >= 0);
    close(fd);
    struct rec r;
    assert_int_equal(wait_rec(EDGE_EV_CONN_END, "g-shut", &r), 0);
    assert_int_equal(r.reason, EDGE_END_SHUTDOWN);
}

#define LOOPS_MAXC 24 /* two rounds within the echo server's 64 */

/*
 * Connects to port until both loops relay one (the kernel spreads connections by their
 * 4-tuple), LOOPS_MAXC at most; returns how many, in fds, and the edge's stats in *st.
 */
static int fill_loops(struct fx *f, uint16_t port, int fds[LOOPS_MAXC], struct edge_stats *st)
{
    int n = 0;
    do {
        fds[n] = client(NULL, port);
        assert_true(fds[n] >= 0);
        roundtrip(fds[n], "hi");
        n++;
        assert_int_equal(edge_stats_get(f->edge, st), 0);
    } while (n < LOOPS_MAXC && (st->loop_conns[0] == 0 || st->loop_conns[1] == 0));
    return n;
}

/*
 * Two loops: connections accepted by either loop are cut by a revoke (edge_grant_close), and
 * once it returns the port refuses (no loop left accepting); the port can then be taken by a
 * new grant, relayed by both loops again.
 */
static void test_revoke_loops(void **state)
{
    struct fx *f = *state;
    uint16_t port = open_grant(f, "g-loops", 0, 0);
    int fds[LOOPS_MAXC];
    struct edge_stats st;
    int n = fill_loops(f, port, fds, &st);
    assert_int_equal(st.loops, 2);
    assert_true(st.loop_conns[0] > 0 && st.loop_conns[1] > 0);
    assert_int_equal(st.live_conns, (unsigned)n);
    struct edge_grant_info info;
    assert_int_equal(edge_grant_get(f->edge, "g-loops", &info), 0);
    assert_int_equal(info.live_conns, (unsigned)n);
    assert_int_equal(info.total_conns, (uint64_t)n);

    assert_int_equal(edge_grant_close(f->edge, "g-loops"), 0);
    assert_int_equal(client(NULL, port), -ECONNREFUSED);
    for (int i = 0; i < n; i++) {
        assert_true(wait_cut(fds[i]) >= 0);
        close(fds[i]);
    }
    assert_int_equal(count_recs("g-loops", EDGE_END_GRANT_CLOSED), n);
    assert_int_equal(edge_stats_get(f->edge, &st), 0);
    assert_int_equal(st.live_conns, 0);
    assert_int_equal(st.grants, 0);
    assert_int_equal(edge_grant_get(f->edge, "g-loops", &info), -ENOENT);

    /* the same port for a new grant: both loops bind it again */
    struct edge_grant g = grant_to_echo(f, "g-loops-2", port);
    assert_int_equal(edge_grant_open(f->edge, &g), 0);
    struct edge_grant dup = g; /* a second grant on a port taken: refused, not shared */
    dup.id = "g-loops-dup";
    assert_int_equal(edge_grant_open(f->edge, &dup), -EADDRINUSE);
    n = fill_loops(f, port, fds, &st);
    assert_true(st.loop_conns[0] > 0 && st.loop_conns[1] > 0);
    for (int i = 0; i < n; i++)
        close(fds[i]);
    assert_int_equal(edge_grant_close(f->edge, "g-loops-2"), 0);
    assert_int_equal(client(NULL, port), -ECONNREFUSED);
}

/* ---- a target that speaks first ---- */

/* Accepts one connection on fd, sends its banner (and a FIN with it when close_at_once). */
struct banner_server {
    int fd;
    const char *banner;
    bool close_at_once;
};

static void *banner_main(void *arg)
{
    struct banner_server *b = arg;
    int c = accept(b->fd, NULL, NULL);
    if (c < 0)
        return NULL;
    send(c, b->banner, strlen(b->banner), MSG_NOSIGNAL);
    if (b->close_at_once) {
        close(c);
        return NULL;
    }
    char buf[64];
    while (read(c, buf, sizeof buf) > 0) /* until the client's EOF, then the FIN back */
        ;
    close(c);
    return NULL;
}

/* Reads fd until EOF (≤ 2 s by its receive timeout) into buf: the length, -1 on an error. */
static ssize_t read_to_eof(int fd, char *buf, size_t cap)
{
    size_t got = 0;
    for (;;) {
        ssize_t n = read(fd, buf + got, cap - got);
        if (n == 0)
            return (ssize_t)got;
        if (n < 0)
            return -1;
        got += (size_t)n;
        if (got == cap)
            return -1;
    }
}

/*
 * The relay reads a target only when epoll says it has something (readiness is edge-triggered,
 * a short read ends it, a short read after EPOLLRDHUP is the end of the stream): a target that
 * speaks first (an SSH banner), alone or with its FIN in the same segment, must still reach the
 * client whole, then its EOF; and a client that never sends must not hold that up.
 */
static void test_target_speaks_first(void **state)
{
    struct fx *f = *state;
    for (int at_once = 0; at_once < 2; at_once++) {
        struct banner_server b = {.banner = "SSH-2.0-tikgate-test\r\n", .close_at_once = at_once};
        b.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in a = {.sin_family = AF_INET};
        inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
        assert_int_equal(bind(b.fd, (struct sockaddr *)&a, sizeof a), 0);
        assert_int_equal(listen(b.fd, 4), 0);
        socklen_t l = sizeof a;
        getsockname(b.fd, (struct sockaddr *)&a, &l);
        pthread_t t;
        pthread_create(&t, NULL, banner_main, &b);

        const char *id = at_once ? "g-banner-fin" : "g-banner";
        struct edge_grant g = grant_to_echo(f, id, 0);
        g.target_port = ntohs(a.sin_port);
        assert_int_equal(edge_grant_open(f->edge, &g), 0);
        struct edge_grant_info info;
        assert_int_equal(edge_grant_get(f->edge, id, &info), 0);
        int fd = client(NULL, info.listen_port);
        assert_true(fd >= 0);
        char buf[128];
        if (at_once) { /* banner, then EOF, without the client saying anything */
            assert_int_equal(read_to_eof(fd, buf, sizeof buf), (ssize_t)strlen(b.banner));
        } else { /* the banner while the connection stays open; the client's EOF ends it */
            size_t got = 0;
            while (got < strlen(b.banner)) {
                ssize_t n = read(fd, buf + got, sizeof buf - got);
                assert_true(n > 0);
                got += (size_t)n;
            }
            assert_int_equal(got, strlen(b.banner));
            shutdown(fd, SHUT_WR);
            assert_int_equal(read_to_eof(fd, buf + got, sizeof buf - got), 0);
        }
        assert_memory_equal(buf, b.banner, strlen(b.banner));
        close(fd);
        struct rec r;
        assert_int_equal(wait_rec(EDGE_EV_CONN_END, id, &r), 0);
        assert_int_equal(r.t2c, strlen(b.banner));
        assert_int_equal(r.c2t, 0);
        assert_int_equal(r.reason, at_once ? EDGE_END_TARGET_CLOSED : EDGE_END_CLIENT_CLOSED);
        pthread_join(t, NULL);
        close(b.fd);
        assert_int_equal(edge_grant_close(f->edge, id), 0);
    }
}

/* A request sent with its FIN in one go (send, shutdown at once): the whole echo comes back. */
static void test_request_with_fin(void **state)
{
    struct fx *f = *state;
    uint16_t port = open_grant(f, "g-fin", 0, 0);
    for (int i = 0; i < 20; i++) {
        int fd = client(NULL, port);
        assert_true(fd >= 0);
        const char *msg = "one request, then the end of it";
        assert_int_equal(send(fd, msg, strlen(msg), MSG_NOSIGNAL), (ssize_t)strlen(msg));
        shutdown(fd, SHUT_WR);
        char buf[128];
        assert_int_equal(read_to_eof(fd, buf, sizeof buf), (ssize_t)strlen(msg));
        assert_memory_equal(buf, msg, strlen(msg));
        close(fd);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_echo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_echo, setup_copy, teardown),
        cmocka_unit_test_setup_teardown(test_big_transfer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_big_transfer, setup_copy, teardown),
        cmocka_unit_test_setup_teardown(test_target_speaks_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_target_speaks_first, setup_copy, teardown),
        cmocka_unit_test_setup_teardown(test_request_with_fin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_with_fin, setup_copy, teardown),
        cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_cuts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deadline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deadline_extend, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreachable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors_and_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_conns, setup_max2, teardown),
        cmocka_unit_test_setup_teardown(test_caps, setup_caps, teardown),
        cmocka_unit_test_setup_teardown(test_idle_timeout, setup_idle, teardown),
        cmocka_unit_test_setup_teardown(test_hold, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rate_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rate_limit, setup_copy, teardown),
        cmocka_unit_test_setup_teardown(test_ipv6, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shutdown_cuts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revoke_loops, setup_two_loops, teardown),
        cmocka_unit_test_setup_teardown(test_deadline, setup_two_loops, teardown),
    };
    if (clock_cond_init(&rec_cv) < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
