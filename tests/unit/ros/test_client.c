/*
 * Unit tests for src/ros/client.c against a tiny scripted RouterOS API server
 * running in a thread on 127.0.0.1 / ::1 (or a socketpair). The server uses
 * the module's own decoder/encoder and login helpers, so it also exercises
 * the server-side API that tikgate-sim builds on.
 */
/* cmocka.h needs these headers first */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include "client.h"
#include "login.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* cmocka's assert_* must not run outside the test thread: the server aborts instead. */
#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x))                                                                                  \
            abort();                                                                               \
    } while (0)

struct fake {
    int listen_fd;
    int conn_fd; /* for socketpair mode: already connected */
    uint16_t port;
    bool legacy; /* answer the first /login with a challenge */
    bool split;  /* send replies one byte at a time */
    const char *user;
    const char *password;
    pthread_t thread;
    int logins_ok;
    char challenge[ROS_LOGIN_CHALLENGE_LEN + 1];
};

static void send_all(int fd, const char *p, size_t n, bool split)
{
    while (n > 0) {
        ssize_t w = send(fd, p, split ? 1 : n, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

/* Sends one reply sentence: the words, then ".tag=" if tag is set. */
static void reply(struct fake *f, int fd, const char *tag, const char *const *words, size_t n)
{
    struct ros_sentence s = {0};
    for (size_t i = 0; i < n; i++)
        ros_sentence_add_str(&s, words[i]);
    if (tag)
        ros_sentence_addf(&s, ".tag=%s", tag);
    struct buf b;
    buf_init(&b, 1 << 20);
    CHECK(ros_sentence_encode(&b, &s) == 0);
    send_all(fd, b.data, b.len, f->split);
    buf_release(&b);
    ros_sentence_release(&s);
}

#define REPLY(f, fd, tag, ...)                                                                     \
    do {                                                                                           \
        const char *w_[] = {__VA_ARGS__};                                                          \
        reply(f, fd, tag, w_, sizeof(w_) / sizeof(w_[0]));                                         \
    } while (0)

/* Answers /login like a router: plain, or legacy challenge then MD5 response. */
static void handle_login(struct fake *f, int fd, const struct ros_sentence *s, const char *tag)
{
    struct ros_login_request req;
    if (ros_login_request_parse(s, &req) < 0) {
        REPLY(f, fd, tag, "!trap", "=message=bad login request");
        REPLY(f, fd, tag, "!done");
        return;
    }
    if (req.kind == ROS_LOGIN_CHALLENGE || (f->legacy && req.kind == ROS_LOGIN_PLAIN)) {
        char ret[64];
        CHECK(ros_login_challenge_new(f->challenge) == 0);
        snprintf(ret, sizeof(ret), "=ret=%s", f->challenge);
        REPLY(f, fd, tag, "!done", ret);
        return;
    }
    const char *chal = f->challenge[0] ? f->challenge : NULL;
    if (strcmp(req.name, f->user) == 0 && ros_login_verify(&req, f->password, chal) == 0) {
        f->logins_ok++;
        REPLY(f, fd, tag, "!done");
        return;
    }
    REPLY(f, fd, tag, "!trap",
          req.kind == ROS_LOGIN_PLAIN ? "=message=invalid user name or password (6)"
                                      : "=message=cannot log in");
    REPLY(f, fd, tag, "!done");
}

static void *serve(void *arg)
{
    struct fake *f = arg;
    int fd = f->conn_fd;
    if (fd < 0) {
        fd = accept(f->listen_fd, NULL, NULL);
        if (fd < 0)
            return NULL;
        int one = 1;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    struct ros_decoder d;
    ros_decoder_init(&d, NULL);
    struct ros_sentence s = {0};
    char chunk[4096];
    for (;;) {
        int r = ros_decoder_next(&d, &s);
        if (r < 0)
            break;
        if (r == 0) {
            ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
            if (n <= 0)
                break;
            ros_decoder_feed(&d, chunk, (size_t)n);
            continue;
        }
        const char *tag = ros_sentence_tag(&s);
        const char *cmd = ros_sentence_command(&s);
        if (strcmp(cmd, "/login") == 0) {
            handle_login(f, fd, &s, tag);
        } else if (strcmp(cmd, "/ip/address/print") == 0) {
            REPLY(f, fd, tag, "!re", "=.id=*1", "=address=192.0.2.1/24", "=interface=ether1");
            REPLY(f, fd, tag, "!re", "=.id=*2", "=address=198.51.100.1/24", "=comment=a=b\xc5\x82");
            REPLY(f, fd, tag, "!done");
        } else if (strcmp(cmd, "/ip/firewall/nat/add") == 0) {
            REPLY(f, fd, tag, "!done", "=ret=*3");
        } else if (strcmp(cmd, "/empty") == 0) {
            REPLY(f, fd, tag, "!empty");
            REPLY(f, fd, tag, "!done");
        } else if (strcmp(cmd, "/trap") == 0) {
            REPLY(f, fd, tag, "!trap", "=category=1", "=message=value of x out of range");
            REPLY(f, fd, tag, "!done");
        } else if (strcmp(cmd, "/foreign") == 0) {
            /* a reply to another command, a stray empty sentence, then ours */
            REPLY(f, fd, "other", "!re", "=x=foreign");
            REPLY(f, fd, "other", "!done");
            send_all(fd, "\0\0", 2, f->split);
            REPLY(f, fd, tag, "!re", "=x=mine");
            REPLY(f, fd, tag, "!done");
        } else if (strcmp(cmd, "/untagged") == 0) {
            REPLY(f, fd, NULL, "!re", "=x=1");
            REPLY(f, fd, NULL, "!done");
        } else if (strcmp(cmd, "/quit") == 0) {
            REPLY(f, fd, NULL, "!fatal", "session terminated on request");
            break;
        } else if (strcmp(cmd, "/slow") == 0) {
            continue; /* never answer: the client times out */
        } else if (strcmp(cmd, "/close") == 0) {
            break;
        } else if (strcmp(cmd, "/garbage") == 0) {
            send_all(fd, "\x01x\xf8", 3, false);
        } else if (strcmp(cmd, "/weird") == 0) {
            REPLY(f, fd, tag, "!what");
        } else {
            REPLY(f, fd, tag, "!trap", "=category=0", "=message=no such command");
            REPLY(f, fd, tag, "!done");
        }
    }
    ros_sentence_release(&s);
    ros_decoder_release(&d);
    close(fd);
    return NULL;
}

static int fake_start(struct fake *f, int family)
{
    f->conn_fd = -1;
    f->listen_fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(f->listen_fd >= 0);
    struct sockaddr_storage ss = {0};
    socklen_t len;
    if (family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof(*a);
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_loopback;
        len = sizeof(*a);
    }
    if (bind(f->listen_fd, (struct sockaddr *)&ss, len) < 0 || listen(f->listen_fd, 4) < 0) {
        close(f->listen_fd);
        return -errno;
    }
    assert_int_equal(getsockname(f->listen_fd, (struct sockaddr *)&ss, &len), 0);
    f->port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                      : ((struct sockaddr_in6 *)&ss)->sin6_port);
    assert_int_equal(pthread_create(&f->thread, NULL, serve, f), 0);
    return 0;
}

static void fake_stop(struct fake *f)
{
    pthread_join(f->thread, NULL);
    if (f->listen_fd >= 0)
        close(f->listen_fd);
}

static struct ros_client *connect_fake(struct fake *f, const char *host, int io_timeout_ms)
{
    struct ros_client_opts o = {.connect_timeout_ms = 2000, .io_timeout_ms = io_timeout_ms};
    struct ros_client *c = NULL;
    assert_int_equal(ros_client_connect(host, f->port, &o, &c), 0);
    assert_non_null(c);
    return c;
}

/* ros_client_run over a NULL-terminated list of words. */
static int run_words(struct ros_client *c, struct ros_reply *rep, ...)
{
    const char *w[16];
    size_t n = 0;
    va_list ap;
    va_start(ap, rep);
    while (n < 16 && (w[n] = va_arg(ap, const char *)) != NULL)
        n++;
    va_end(ap);
    return ros_client_run(c, w, n, rep);
}

#define RUN(c, rep, ...) run_words(c, rep, __VA_ARGS__, (const char *)NULL)

static void session(bool legacy, bool split, int family, const char *host)
{
    struct fake f = {.legacy = legacy, .split = split, .user = "admin", .password = "secret"};
    if (fake_start(&f, family) < 0) {
        skip();
        return;
    }
    struct ros_client *c = connect_fake(&f, host, 5000);
    assert_int_equal(ros_client_login(c, "admin", "secret"), 0);

    struct ros_reply rep;
    assert_int_equal(RUN(c, &rep, "/ip/address/print", "=.proplist=.id,address"), 0);
    assert_int_equal(rep.nrows, 2);
    assert_false(rep.empty);
    assert_string_equal(ros_sentence_get(&rep.rows[0], "address"), "192.0.2.1/24");
    assert_string_equal(ros_sentence_get(&rep.rows[1], "comment"), "a=b\xc5\x82");
    assert_null(rep.ret);
    assert_null(rep.trap_message);
    assert_int_equal(rep.trap_category, -1);
    assert_true(ros_sentence_is(&rep.done, "!done"));
    ros_reply_release(&rep);

    assert_int_equal(RUN(c, &rep, "/ip/firewall/nat/add", "=chain=dstnat"), 0);
    assert_string_equal(rep.ret, "*3");
    ros_reply_release(&rep);

    assert_int_equal(RUN(c, &rep, "/empty"), 0);
    assert_true(rep.empty);
    assert_int_equal(rep.nrows, 0);
    ros_reply_release(&rep);

    assert_int_equal(RUN(c, &rep, "/trap", "=x=9"), -EREMOTEIO);
    assert_string_equal(rep.trap_message, "value of x out of range");
    assert_int_equal(rep.trap_category, 1);
    assert_string_equal(ros_client_last_error(c), "value of x out of range");
    ros_reply_release(&rep);
    assert_true(ros_client_alive(c)); /* a trap does not kill the session */

    assert_int_equal(RUN(c, &rep, "/foreign"), 0);
    assert_int_equal(rep.nrows, 1);
    assert_string_equal(ros_sentence_get(&rep.rows[0], "x"), "mine");
    ros_reply_release(&rep);

    /* a caller-chosen tag is kept */
    assert_int_equal(RUN(c, &rep, "/foreign", ".tag=mytag"), 0);
    assert_int_equal(rep.nrows, 1);
    assert_string_equal(ros_sentence_tag(&rep.rows[0]), "mytag");
    ros_reply_release(&rep);

    assert_int_equal(RUN(c, &rep, "/untagged"), 0);
    assert_int_equal(rep.nrows, 1);
    ros_reply_release(&rep);

    assert_int_equal(RUN(c, &rep, "/quit"), -ECONNABORTED);
    assert_string_equal(rep.fatal, "session terminated on request");
    assert_false(ros_client_alive(c));
    ros_reply_release(&rep);
    assert_int_equal(RUN(c, &rep, "/ip/address/print"), -ENOTCONN);
    ros_reply_release(&rep);

    ros_client_close(c);
    fake_stop(&f);
    assert_int_equal(f.logins_ok, 1);
}

static void test_session_plain(void **state)
{
    (void)state;
    session(false, false, AF_INET, "127.0.0.1");
}

static void test_session_legacy_md5(void **state)
{
    (void)state;
    session(true, false, AF_INET, "127.0.0.1");
}

static void test_session_split_replies(void **state)
{
    (void)state;
    session(true, true, AF_INET, "127.0.0.1");
}

static void test_session_ipv6(void **state)
{
    (void)state;
    session(false, false, AF_INET6, "[::1]");
}

static void login_fails(bool legacy)
{
    struct fake f = {.legacy = legacy, .user = "admin", .password = "secret"};
    assert_int_equal(fake_start(&f, AF_INET), 0);
    struct ros_client *c = connect_fake(&f, "127.0.0.1", 5000);
    assert_int_equal(ros_client_login(c, "admin", "wrong"), -EACCES);
    assert_string_equal(ros_client_last_error(c),
                        legacy ? "cannot log in" : "invalid user name or password (6)");
    assert_true(ros_client_alive(c));
    assert_int_equal(ros_client_login(c, "nobody", "secret"), -EACCES);
    assert_int_equal(ros_client_login(c, "admin", "secret"), 0);
    ros_client_close(c);
    fake_stop(&f);
    assert_int_equal(f.logins_ok, 1);
}

static void test_login_refused_plain(void **state)
{
    (void)state;
    login_fails(false);
}

static void test_login_refused_legacy(void **state)
{
    (void)state;
    login_fails(true);
}

static void test_read_timeout(void **state)
{
    (void)state;
    struct fake f = {.user = "admin", .password = ""};
    assert_int_equal(fake_start(&f, AF_INET), 0);
    struct ros_client *c = connect_fake(&f, "127.0.0.1", 200);
    struct ros_reply rep;
    assert_int_equal(RUN(c, &rep, "/slow"), -ETIMEDOUT);
    assert_false(ros_client_alive(c));
    ros_reply_release(&rep);
    ros_client_close(c);
    fake_stop(&f);
}

static void test_peer_close_and_garbage(void **state)
{
    (void)state;
    struct fake f = {.user = "admin", .password = ""};
    assert_int_equal(fake_start(&f, AF_INET), 0);
    struct ros_client *c = connect_fake(&f, "127.0.0.1", 2000);
    struct ros_reply rep;
    assert_int_equal(RUN(c, &rep, "/close"), -ECONNRESET);
    ros_reply_release(&rep);
    ros_client_close(c);
    fake_stop(&f);

    assert_int_equal(fake_start(&f, AF_INET), 0);
    c = connect_fake(&f, "127.0.0.1", 2000);
    assert_int_equal(RUN(c, &rep, "/garbage"), -EPROTO);
    ros_reply_release(&rep);
    ros_client_close(c);
    fake_stop(&f);

    assert_int_equal(fake_start(&f, AF_INET), 0);
    c = connect_fake(&f, "127.0.0.1", 2000);
    assert_int_equal(RUN(c, &rep, "/weird"), -EPROTO);
    ros_reply_release(&rep);
    ros_client_close(c);
    fake_stop(&f);
}

static void test_run_bad_args(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    struct ros_client *c = NULL;
    assert_int_equal(ros_client_from_fd(sv[0], NULL, &c), 0);
    struct ros_reply rep;
    assert_int_equal(ros_client_run(c, NULL, 0, &rep), -EINVAL);
    ros_reply_release(&rep);
    assert_int_equal(RUN(c, &rep, "/x", ""), -EINVAL);
    ros_reply_release(&rep);
    assert_true(ros_client_alive(c));
    ros_client_close(c);
    close(sv[1]);
    assert_int_equal(ros_client_from_fd(-1, NULL, &c), -EINVAL);
}

static void test_socketpair_session(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    struct fake f = {.listen_fd = -1, .conn_fd = sv[1], .user = "u", .password = "p"};
    assert_int_equal(pthread_create(&f.thread, NULL, serve, &f), 0);
    struct ros_client *c = NULL;
    assert_int_equal(ros_client_from_fd(sv[0], NULL, &c), 0);
    assert_int_equal(ros_client_login(c, "u", "p"), 0);

    /* low-level send/recv */
    struct ros_sentence s = {0};
    ros_sentence_add_str(&s, "/ip/firewall/nat/add");
    ros_sentence_add_str(&s, ".tag=raw");
    assert_int_equal(ros_client_send(c, &s), 0);
    assert_int_equal(ros_client_recv(c, &s), 0);
    assert_true(ros_sentence_is(&s, "!done"));
    assert_string_equal(ros_sentence_get(&s, "ret"), "*3");
    assert_string_equal(ros_sentence_tag(&s), "raw");
    ros_sentence_release(&s);

    ros_client_close(c);
    fake_stop(&f);
}

/* Writes one byte every 40 ms until the peer closes (security-review F9's slow router). */
static void *trickle(void *arg)
{
    int fd = *(int *)arg;
    char b = 0x7f; /* the length of a word that never ends */
    for (int i = 0; i < 200; i++) {
        if (send(fd, &b, 1, MSG_NOSIGNAL) != 1)
            break;
        b = 'x';
        usleep(40000);
    }
    return NULL;
}

/* A byte every 40 ms resets a 200 ms I/O timeout each time: only the deadline ends the wait. */
static void test_deadline_trickle(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, trickle, &sv[1]), 0);
    struct ros_client_opts o = {.io_timeout_ms = 200};
    struct ros_client *c = NULL;
    assert_int_equal(ros_client_from_fd(sv[0], &o, &c), 0);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    ros_client_set_deadline(c, (int64_t)a.tv_sec * 1000 + a.tv_nsec / 1000000 + 300);
    struct ros_sentence s = {0};
    assert_int_equal(ros_client_recv(c, &s), -ETIMEDOUT);
    clock_gettime(CLOCK_MONOTONIC, &b);
    int64_t took = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
    assert_true(took >= 290 && took < 600);
    assert_false(ros_client_alive(c));
    ros_sentence_release(&s);
    ros_client_close(c);
    shutdown(sv[1], SHUT_RDWR);
    pthread_join(t, NULL);
    close(sv[1]);
}

static void test_connect_errors(void **state)
{
    (void)state;
    struct ros_client *c = NULL;
    /* a port that was just free: refused */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, len), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    assert_int_equal(ros_client_connect("127.0.0.1", ntohs(a.sin_port), NULL, &c), -ECONNREFUSED);
    assert_null(c);

    assert_int_equal(ros_client_connect("", 8728, NULL, &c), -EINVAL);
    assert_int_equal(ros_client_connect("127.0.0.1", 0, NULL, &c), -EINVAL);
    assert_null(c);
}

/* A listener whose accept queue is full drops SYNs: the connect must time out. */
static void test_connect_timeout(void **state)
{
    (void)state;
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    assert_int_equal(bind(lfd, (struct sockaddr *)&a, len), 0);
    assert_int_equal(listen(lfd, 0), 0);
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&a, &len), 0);
    int fill[4];
    for (int i = 0; i < 4; i++) {
        fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        (void)connect(fill[i], (struct sockaddr *)&a, len);
    }
    usleep(50000);
    struct ros_client_opts o = {.connect_timeout_ms = 300};
    struct ros_client *c = NULL;
    int r = ros_client_connect("127.0.0.1", ntohs(a.sin_port), &o, &c);
    assert_int_equal(r, -ETIMEDOUT);
    for (int i = 0; i < 4; i++)
        close(fill[i]);
    close(lfd);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_session_plain),         cmocka_unit_test(test_session_legacy_md5),
        cmocka_unit_test(test_session_split_replies), cmocka_unit_test(test_session_ipv6),
        cmocka_unit_test(test_login_refused_plain),   cmocka_unit_test(test_login_refused_legacy),
        cmocka_unit_test(test_read_timeout),          cmocka_unit_test(test_peer_close_and_garbage),
        cmocka_unit_test(test_run_bad_args),          cmocka_unit_test(test_socketpair_session),
        cmocka_unit_test(test_connect_errors),        cmocka_unit_test(test_connect_timeout),
        cmocka_unit_test(test_deadline_trickle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
