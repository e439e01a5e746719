#include "client.h"

#include "alloc.h"
#include "clock.h"
#include "log.h"
#include "login.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct ros_client {
    int fd;
    int io_timeout_ms;
    int64_t deadline_ms; /* 0 or the absolute monotonic bound of every wait */
    size_t max_rows;
    struct ros_decoder dec;
    struct buf out;
    unsigned long tag_seq;
    int dead;         /* 0, or the error that killed the connection */
    char *last_error; /* owned */
};

/* Waits for events on fd until deadline (monotonic ms). 0, -ETIMEDOUT or -errno. */
static int wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - clock_mono_ms();
        if (left <= 0)
            return -ETIMEDOUT;
        struct pollfd pfd = {.fd = fd, .events = events};
        int r = poll(&pfd, 1, left > INT32_MAX ? INT32_MAX : (int)left);
        if (r > 0)
            return 0; /* readiness or error: the next syscall reports which */
        if (r == 0)
            return -ETIMEDOUT;
        if (errno != EINTR)
            return -errno;
    }
}

static void set_last_error(struct ros_client *c, const char *msg)
{
    free(c->last_error);
    c->last_error = msg ? xstrdup(msg) : NULL;
}

static int kill_conn(struct ros_client *c, int err)
{
    if (!c->dead)
        c->dead = err;
    return err;
}

void ros_reply_release(struct ros_reply *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nrows; i++)
        ros_sentence_release(&r->rows[i]);
    free(r->rows);
    ros_sentence_release(&r->done);
    free(r->trap_message);
    free(r->fatal);
    memset(r, 0, sizeof(*r));
    r->trap_category = -1;
}

/* The end of the next wait for progress: io_timeout_ms from now, never past the deadline. */
static int64_t io_deadline(const struct ros_client *c)
{
    int64_t d = clock_mono_ms() + c->io_timeout_ms;
    return c->deadline_ms > 0 && c->deadline_ms < d ? c->deadline_ms : d;
}

void ros_client_set_deadline(struct ros_client *c, int64_t deadline_ms)
{
    c->deadline_ms = deadline_ms > 0 ? deadline_ms : 0;
}

/* ---- connection ------------------------------------------------------- */

static struct ros_client *client_new(int fd, const struct ros_client_opts *opts)
{
    struct ros_client *c = xcalloc(1, sizeof(*c));
    c->fd = fd;
    c->io_timeout_ms =
        opts && opts->io_timeout_ms > 0 ? opts->io_timeout_ms : ROS_CLIENT_IO_TIMEOUT_MS;
    c->deadline_ms = opts ? opts->deadline_ms : 0;
    c->max_rows = opts && opts->max_rows ? opts->max_rows : ROS_CLIENT_MAX_ROWS;
    const struct ros_limits *lim = opts ? opts->limits : NULL;
    ros_decoder_init(&c->dec, lim);
    buf_init(&c->out, c->dec.lim.max_sentence);
    return c;
}

int ros_client_from_fd(int fd, const struct ros_client_opts *opts, struct ros_client **ret)
{
    if (fd < 0 || !ret)
        return -EINVAL;
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -errno;
    *ret = client_new(fd, opts);
    return 0;
}

/* Non-blocking connect to one address, bounded by deadline. Returns the fd or -errno. */
static int connect_one(const struct addrinfo *ai, int64_t deadline)
{
    int r;
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0)
        return -errno;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        if (errno != EINPROGRESS) {
            r = -errno;
            goto out_close_fd;
        }
        r = wait_fd(fd, POLLOUT, deadline);
        if (r < 0)
            goto out_close_fd;
        int err = 0;
        socklen_t len = sizeof(err);
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) {
            r = -errno;
            goto out_close_fd;
        }
        if (err) {
            r = -err;
            goto out_close_fd;
        }
    }
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;

out_close_fd:
    close(fd);
    return r;
}

int ros_client_connect(const char *host, uint16_t port, const struct ros_client_opts *opts,
                       struct ros_client **ret)
{
    char name[256];
    char service[8];
    struct addrinfo *res = NULL;
    int r;

    if (!host || !host[0] || port == 0 || !ret)
        return -EINVAL;
    size_t hl = strlen(host);
    if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
        host++;
        hl -= 2;
    }
    if (hl >= sizeof(name))
        return -EINVAL;
    memcpy(name, host, hl);
    name[hl] = '\0';
    snprintf(service, sizeof(service), "%u", (unsigned)port);

    int timeout = opts && opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms
                                                       : ROS_CLIENT_CONNECT_TIMEOUT_MS;
    int64_t deadline = clock_mono_ms() + timeout;
    if (opts && opts->deadline_ms > 0 && opts->deadline_ms < deadline)
        deadline = opts->deadline_ms;

    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    r = getaddrinfo(name, service, &hints, &res);
    if (r != 0) {
        if (r == EAI_SYSTEM)
            return errno ? -errno : -EHOSTUNREACH;
        if (r == EAI_MEMORY)
            return -ENOMEM;
        return -EHOSTUNREACH;
    }

    r = -EHOSTUNREACH;
    for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd = connect_one(ai, deadline);
        if (fd >= 0) {
            *ret = client_new(fd, opts);
            r = 0;
            goto out_free_res;
        }
        r = fd;
        if (r == -ETIMEDOUT)
            break; /* the deadline is shared by all addresses */
    }

out_free_res:
    freeaddrinfo(res);
    return r;
}

void ros_client_close(struct ros_client *c)
{
    if (!c)
        return;
    if (c->fd >= 0)
        close(c->fd);
    ros_decoder_release(&c->dec);
    buf_release(&c->out);
    free(c->last_error);
    free(c);
}

bool ros_client_alive(const struct ros_client *c)
{
    return c && !c->dead;
}

const char *ros_client_last_error(const struct ros_client *c)
{
    return c->last_error;
}

/* ---- sentence I/O ----------------------------------------------------- */

static int write_all(struct ros_client *c, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int r = wait_fd(c->fd, POLLOUT, io_deadline(c));
            if (r < 0)
                return r;
            continue;
        }
        return w < 0 && errno != EPIPE ? -errno : -ECONNRESET;
    }
    return 0;
}

int ros_client_send(struct ros_client *c, const struct ros_sentence *s)
{
    if (c->dead)
        return -ENOTCONN;
    buf_reset(&c->out);
    int r = ros_sentence_encode(&c->out, s);
    if (r < 0)
        return r; /* nothing was sent: the connection is still fine */
    r = write_all(c, c->out.data, c->out.len);
    if (r < 0)
        return kill_conn(c, r);
    return 0;
}

int ros_client_recv(struct ros_client *c, struct ros_sentence *out)
{
    /* A read chunk never exceeds ROS_DECODER_CHUNK, so feeding after draining
     * the decoder cannot overflow its buffer. */
    char chunk[16384];
    if (c->dead)
        return -ENOTCONN;
    for (;;) {
        int r = ros_decoder_next(&c->dec, out);
        if (r > 0)
            return 0;
        if (r < 0)
            return kill_conn(c, r);

        if (c->deadline_ms > 0 && clock_mono_ms() >= c->deadline_ms)
            return kill_conn(c, -ETIMEDOUT); /* also when bytes keep coming */
        ssize_t n = recv(c->fd, chunk, sizeof(chunk), 0);
        if (n > 0) {
            r = ros_decoder_feed(&c->dec, chunk, (size_t)n);
            if (r < 0)
                return kill_conn(c, r);
            continue;
        }
        if (n == 0)
            return kill_conn(c, -ECONNRESET);
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            r = wait_fd(c->fd, POLLIN, io_deadline(c));
            if (r < 0)
                return kill_conn(c, r);
            continue;
        }
        return kill_conn(c, -errno);
    }
}

/* ---- commands --------------------------------------------------------- */

static void take_sentence(struct ros_sentence *dst, struct ros_sentence *src)
{
    *dst = *src;
    ros_sentence_init(src);
}

/* Sends req (a tag is appended if it has none) and collects the reply. */
static int run_sentence(struct ros_client *c, struct ros_sentence *req, struct ros_reply *ret)
{
    char tagbuf[32];
    struct ros_sentence s;
    int r;

    memset(ret, 0, sizeof(*ret));
    ret->trap_category = -1;
    if (c->dead)
        return -ENOTCONN;

    const char *tag = ros_sentence_tag(req);
    if (!tag) {
        snprintf(tagbuf, sizeof(tagbuf), "%lu", ++c->tag_seq);
        ros_sentence_addf(req, ".tag=%s", tagbuf);
        tag = tagbuf;
    }
    /* tag may point into req: keep req alive until the end */
    r = ros_client_send(c, req);
    if (r < 0)
        return r;

    ros_sentence_init(&s);
    for (;;) {
        r = ros_client_recv(c, &s);
        if (r < 0)
            goto out_release;

        if (ros_sentence_is(&s, "!fatal")) {
            ret->fatal = xstrdup(s.nwords > 1 ? s.words[1].data : "");
            set_last_error(c, ret->fatal);
            r = kill_conn(c, -ECONNABORTED);
            goto out_release;
        }
        const char *t = ros_sentence_tag(&s);
        if (t && strcmp(t, tag) != 0) {
            log_debug("ros", "discarding reply with foreign tag");
            continue;
        }
        if (ros_sentence_is(&s, "!re")) {
            if (ret->nrows >= c->max_rows) {
                r = kill_conn(c, -E2BIG);
                goto out_release;
            }
            ret->rows = xrealloc(ret->rows, (ret->nrows + 1) * sizeof(*ret->rows));
            take_sentence(&ret->rows[ret->nrows++], &s);
        } else if (ros_sentence_is(&s, "!empty")) {
            ret->empty = true;
        } else if (ros_sentence_is(&s, "!trap")) {
            if (!ret->trap_message) {
                const char *m = ros_sentence_get(&s, "message");
                const char *cat = ros_sentence_get(&s, "category");
                ret->trap_message = xstrdup(m ? m : "");
                if (cat && cat[0] >= '0' && cat[0] <= '9' && cat[1] == '\0')
                    ret->trap_category = cat[0] - '0';
                set_last_error(c, ret->trap_message);
            }
        } else if (ros_sentence_is(&s, "!done")) {
            take_sentence(&ret->done, &s);
            ret->ret = ros_sentence_get(&ret->done, "ret");
            r = ret->trap_message ? -EREMOTEIO : 0;
            goto out_release;
        } else {
            r = kill_conn(c, -EPROTO);
            goto out_release;
        }
    }

out_release:
    ros_sentence_release(&s);
    return r;
}

int ros_client_run(struct ros_client *c, const char *const *words, size_t n, struct ros_reply *ret)
{
    struct ros_sentence req;
    int r = 0;

    memset(ret, 0, sizeof(*ret));
    ret->trap_category = -1;
    if (n == 0 || !words)
        return -EINVAL;
    ros_sentence_init(&req);
    for (size_t i = 0; i < n; i++) {
        r = ros_sentence_add_str(&req, words[i]);
        if (r < 0)
            goto out_release;
    }
    r = run_sentence(c, &req, ret);

out_release:
    ros_sentence_release(&req);
    return r;
}

int ros_client_login(struct ros_client *c, const char *user, const char *password)
{
    struct ros_sentence req;
    struct ros_reply rep;
    char response[ROS_LOGIN_RESPONSE_LEN + 1];
    int r;

    if (!user || !password)
        return -EINVAL;
    set_last_error(c, NULL);
    ros_sentence_init(&req);
    ros_login_plain_sentence(user, password, NULL, &req);
    r = run_sentence(c, &req, &rep);
    if (r == -EREMOTEIO) {
        r = -EACCES;
        goto out_release_reply;
    }
    if (r < 0 || !rep.ret)
        goto out_release_reply; /* 0: plain login accepted */

    /* Legacy router: the !done carried a challenge. */
    r = ros_login_md5_response(password, rep.ret, response);
    if (r < 0) {
        r = kill_conn(c, -EPROTO);
        goto out_release_reply;
    }
    ros_reply_release(&rep);
    ros_login_md5_sentence(user, response, NULL, &req);
    r = run_sentence(c, &req, &rep);
    if (r == -EREMOTEIO)
        r = -EACCES;
    explicit_bzero(response, sizeof(response));

out_release_reply:
    ros_reply_release(&rep);
    ros_sentence_release(&req);
    return r;
}
