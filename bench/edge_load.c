/*
 * edge_load.c - load generator and sinks for bench/edge.sh (loopback only).
 *
 * PORT may also be ADDR:PORT (an IPv4 loopback address; 127.0.0.1 when omitted).
 *
 *   edge_load server echo|sink|once PORT   epoll server on 127.0.0.1:PORT (runs until killed);
 *                                          `once` echoes the first read then closes (the
 *                                          server closes first, like HTTP Connection: close,
 *                                          so TIME_WAIT does not pile up on ephemeral ports)
 *   edge_load stream PORT SECONDS          one TCP stream of 256 KiB writes; prints Gbit/s
 *   edge_load cps PORT SECONDS CONC        CONC parallel loops of connect (from 127.0.0.2-251),
 *                                          send 16 B, read the echo, close; prints
 *                                          connections/s and failures
 *   edge_load idle PORT N                  opens N connections (each does one 1-byte echo),
 *                                          prints "ready N" and holds them until killed
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct sockaddr_in lo(const char *spec)
{
    char host[64] = "127.0.0.1";
    const char *colon = strrchr(spec, ':');
    if (colon && (size_t)(colon - spec) < sizeof(host)) {
        memcpy(host, spec, (size_t)(colon - spec));
        host[colon - spec] = '\0';
        spec = colon + 1;
    }
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(spec))};
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
        fprintf(stderr, "bad address %s\n", host);
        exit(2);
    }
    return a;
}

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static int server(int echo, int once, const char *port)
{
    int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = lo(port);
    if (bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 4096) < 0)
        die("bind/listen");
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = l};
    epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
    static char buf[256 * 1024];
    struct epoll_event evs[256];
    for (;;) {
        int n = epoll_wait(ep, evs, 256, -1);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == l) {
                for (;;) {
                    int c = accept4(l, NULL, NULL, SOCK_NONBLOCK);
                    if (c < 0)
                        break;
                    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
                    struct epoll_event cev = {.events = EPOLLIN, .data.fd = c};
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
                }
                continue;
            }
            ssize_t r = read(fd, buf, sizeof(buf));
            if (r == 0 || (r < 0 && errno != EAGAIN)) {
                close(fd);
                continue;
            }
            if (r > 0 && echo && (send(fd, buf, (size_t)r, MSG_NOSIGNAL) != r || once))
                close(fd); /* small echoes only: a short write means a broken peer */
        }
    }
    return 0;
}

static int stream(const char *port, double secs)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = lo(port);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
        die("connect");
    static char buf[256 * 1024];
    memset(buf, 'x', sizeof(buf));
    uint64_t total = 0;
    double t0 = now_s(), end = t0 + secs;
    while (now_s() < end) {
        ssize_t n = send(fd, buf, sizeof(buf), MSG_NOSIGNAL);
        if (n <= 0)
            die("send");
        total += (uint64_t)n;
    }
    /* wait until the sink has everything: it closes after our FIN went through */
    shutdown(fd, SHUT_WR);
    char c;
    while (read(fd, &c, 1) > 0)
        ;
    double dt = now_s() - t0;
    printf("%.2f\n", (double)total * 8 / dt / 1e9);
    return 0;
}

struct slot {
    int fd;
    int got;
};

/*
 * Source addresses rotate over 127.0.0.2-251 (port chosen at connect time), so the
 * generator's own 4-tuples never run short; the relay's outbound side is left as is.
 */
static int cps_connect(int ep, struct slot *s, const struct sockaddr_in *a)
{
    static unsigned rot;
    s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (s->fd < 0)
        return -1;
    int one = 1;
    setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(s->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
    struct sockaddr_in src = {.sin_family = AF_INET};
    src.sin_addr.s_addr = htonl(0x7f000002u + rot++ % 250);
    bind(s->fd, (struct sockaddr *)&src, sizeof(src));
    s->got = -1; /* connecting */
    if (connect(s->fd, (const struct sockaddr *)a, sizeof(*a)) < 0 && errno != EINPROGRESS) {
        close(s->fd);
        return -1;
    }
    struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN, .data.ptr = s};
    epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev);
    return 0;
}

static int cps(const char *port, double secs, int conc)
{
    struct sockaddr_in a = lo(port);
    int ep = epoll_create1(0);
    struct slot *slots = calloc((size_t)conc, sizeof(*slots));
    static const char msg[16] = "0123456789abcdef";
    uint64_t done = 0, errors = 0;
    for (int i = 0; i < conc; i++)
        if (cps_connect(ep, &slots[i], &a) < 0)
            errors++;
    struct epoll_event evs[256];
    double t0 = now_s(), end = t0 + secs;
    while (now_s() < end) {
        int n = epoll_wait(ep, evs, 256, 100);
        for (int i = 0; i < n; i++) {
            struct slot *s = evs[i].data.ptr;
            int restart = 0;
            if (s->got < 0) {
                int err = 0;
                socklen_t l = sizeof(err);
                getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &l);
                if (err || send(s->fd, msg, sizeof(msg), MSG_NOSIGNAL) != sizeof(msg)) {
                    errors++;
                    restart = 1;
                } else {
                    s->got = 0;
                    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = s};
                    epoll_ctl(ep, EPOLL_CTL_MOD, s->fd, &ev);
                }
            } else {
                char buf[64];
                ssize_t r = read(s->fd, buf, sizeof(buf));
                if (r > 0) {
                    s->got += (int)r;
                    if (s->got >= (int)sizeof(msg)) {
                        done++;
                        restart = 1;
                    }
                } else if (r == 0 || errno != EAGAIN) {
                    errors++;
                    restart = 1;
                }
            }
            if (restart) {
                close(s->fd);
                while (cps_connect(ep, s, &a) < 0)
                    errors++;
            }
        }
    }
    double dt = now_s() - t0;
    printf("%.0f %llu\n", (double)done / dt, (unsigned long long)errors);
    return 0;
}

static int idle(const char *port, int n)
{
    struct sockaddr_in a = lo(port);
    int *fds = calloc((size_t)n, sizeof(int));
    for (int i = 0; i < n; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        if (fds[i] < 0 || connect(fds[i], (struct sockaddr *)&a, sizeof(a)) < 0)
            die("idle connect");
        char c = 'i';
        if (send(fds[i], &c, 1, 0) != 1 || read(fds[i], &c, 1) != 1)
            die("idle echo");
    }
    printf("ready %d\n", n);
    fflush(stdout);
    for (;;)
        pause();
    return 0;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    if (argc == 4 && strcmp(argv[1], "server") == 0)
        return server(strcmp(argv[2], "sink") != 0, strcmp(argv[2], "once") == 0, argv[3]);
    if (argc == 4 && strcmp(argv[1], "stream") == 0)
        return stream(argv[2], atof(argv[3]));
    if (argc == 5 && strcmp(argv[1], "cps") == 0)
        return cps(argv[2], atof(argv[3]), atoi(argv[4]));
    if (argc == 4 && strcmp(argv[1], "idle") == 0)
        return idle(argv[2], atoi(argv[3]));
    fprintf(stderr, "usage: see the header of bench/edge_load.c\n");
    return 2;
}
