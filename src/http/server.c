/*
 * server.c - libmicrohttpd adapter.
 *
 * MHD runs an epoll listener with a small thread pool. Each connection gets a
 * struct conn_state on the first access-handler call; the body accumulates in
 * a capped buffer (over the cap it is drained and discarded, and the handler
 * sees body_too_large); the response is queued on the call after the upload
 * ends, never on the first call (which would make MHD 0.9.75 close the
 * connection after every response).
 *
 * A request that may wait (any method but GET and HEAD: it may wait for the
 * store's writer) runs on the offload pool (offload.h) when cfg->write_threads
 * is set: its connection is suspended, a worker runs the handler and resumes
 * it, and MHD's next call for it queues the worker's response. Reads stay on
 * MHD's threads.
 *
 * TLS (cfg->tls_cert): MHD_USE_TLS with a certificate callback instead of a
 * fixed certificate, so http_server_reload_tls() can swap it while the
 * listener and open connections stay up (tls.h has the reference counting).
 * Every response carries the security headers of add_security_headers().
 */
#include "alloc.h"
#include "clock.h"
#include "http.h"
#include "log.h"
#include "netaddr.h"
#include "offload.h"
#include "rand.h"
#include "tls.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

struct conn_sock;

/*
 * MHD's per-connection memory pool: the request line and headers must fit in it (a larger
 * header block is answered 431), bodies stream through it. libmicrohttpd 0.9.75 zeroes the
 * whole pool after every request (MHD_pool_reset), so its size is a per-request cost: 64 KiB
 * were 8 % of the CPU of an authenticated GET (issue 13). 16 KiB still holds twice nginx's
 * default header line limit (8 KiB).
 */
#define HTTP_CONN_POOL ((size_t)16 * 1024)

/* Requests waiting for an offload worker at most (beyond, MHD's thread runs the handler). */
#define HTTP_OFFLOAD_QUEUE 1024u

struct http_server {
    struct MHD_Daemon *mhd;
    struct http_server_config cfg;
    unsigned port;
    _Atomic unsigned long long by_class[6]; /* responses per status class: [2] = 2xx ... */
    bool tls;                               /* serving HTTPS: tls_state is initialised */
    struct http_tls tls_state;
    /* The request deadline (F7): every open connection, swept by a thread. */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t sweeper;
    bool sweeping;           /* the thread runs */
    bool stopping;           /* under mu: the sweeper ends */
    struct conn_sock *conns; /* under mu: open connections, a doubly linked list */
    _Atomic unsigned long long timed_out;
    struct http_offload *offload; /* NULL: every request runs on MHD's threads */
};

/*
 * Per TCP connection (MHD's socket context, MHD_OPTION_NOTIFY_CONNECTION): the
 * credential its TLS handshake used, and the state of the request deadline. MHD
 * calls the CLOSED notification before it closes the socket, so under srv->mu a
 * listed connection's fd is still its own.
 */
struct conn_sock {
    struct http_server *srv;
    struct http_tls_cred *cred; /* owns one reference, NULL before the handshake (TLS only) */
    int fd;
    struct conn_sock *prev, *next; /* under srv->mu */
    bool reading;                  /* under srv->mu: a request is being received */
    bool shut;                     /* under srv->mu: the sweeper shut it down */
    int64_t read_started_ns;       /* under srv->mu: monotonic */
};

struct conn_state {
    struct buf body;
    bool too_large;
    int64_t started_ns; /* monotonic */
    size_t body_cap;
    void *app;                     /* from the preflight, released at the end */
    struct http_response *pending; /* answered by the preflight, sent on the last call */
    bool answered;                 /* the response is queued: later calls do nothing */
    char request_id[UUID_STR_LEN]; /* http_request.request_id */
    /* Offloaded (the connection suspended while a worker runs the handler): what the worker
     * needs, and its answer, handed back by the release store of done before the resume. */
    bool offloaded;
    struct http_server *srv;
    struct MHD_Connection *conn;
    const char *url, *method; /* MHD's, valid until the request completes */
    struct http_response result;
    atomic_bool done;
};

void http_response_init(struct http_response *res)
{
    memset(res, 0, sizeof *res);
    res->status = 200;
    res->content_type = "application/json";
    buf_init(&res->body, HTTP_RESPONSE_CAP);
}

void http_response_file(struct http_response *res, int fd, size_t len)
{
    if (res->has_body_fd)
        close(res->body_fd);
    buf_reset(&res->body);
    res->has_body_fd = true;
    res->body_fd = fd;
    res->body_fd_len = len;
}

void http_response_release(struct http_response *res)
{
    buf_release(&res->body);
    if (res->has_body_fd)
        close(res->body_fd);
    res->has_body_fd = false;
    for (int i = 0; i < res->n_headers; i++) {
        free(res->headers[i].name);
        free(res->headers[i].value);
    }
    res->n_headers = 0;
}

void http_response_header(struct http_response *res, const char *name, const char *value)
{
    if (res->n_headers >= HTTP_MAX_HEADERS)
        return;
    res->headers[res->n_headers].name = xstrdup(name);
    res->headers[res->n_headers].value = xstrdup(value);
    res->n_headers++;
}

const char *http_request_query(const struct http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->transport, MHD_GET_ARGUMENT_KIND, name);
}

const char *http_request_header(const struct http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->transport, MHD_HEADER_KIND, name);
}

static void client_address(struct MHD_Connection *conn, char *out, size_t outlen)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(out, outlen, "?");
    if (!ci || !ci->client_addr)
        return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
                  (socklen_t)outlen);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
            inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], out, (socklen_t)outlen);
        else
            inet_ntop(AF_INET6, &in6->sin6_addr, out, (socklen_t)outlen);
    }
}

/* True when the handler set header name itself (its value wins). */
static bool has_header(const struct http_response *res, const char *name)
{
    for (int i = 0; i < res->n_headers; i++)
        if (strcasecmp(res->headers[i].name, name) == 0)
            return true;
    return false;
}

/* The headers every response carries (API, portal, errors), unless the handler set them. */
static void add_security_headers(const struct http_server *srv, const struct http_response *res,
                                 struct MHD_Response *r)
{
    const struct {
        const char *name, *value;
    } h[] = {
        {"X-Content-Type-Options", "nosniff"},
        {"Referrer-Policy", "no-referrer"},
        {"X-Frame-Options", "DENY"},
        {"Content-Security-Policy", srv->cfg.content_security_policy},
        {"Strict-Transport-Security", srv->tls ? "max-age=31536000" : NULL},
    };
    for (size_t i = 0; i < sizeof h / sizeof h[0]; i++)
        if (h[i].value && !has_header(res, h[i].name))
            MHD_add_response_header(r, h[i].name, h[i].value);
}

static struct conn_sock *conn_sock_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

/* Starts (a request is awaited) or stops (it is answered) the request deadline's clock. */
static void set_reading(struct http_server *srv, struct MHD_Connection *conn, bool reading)
{
    struct conn_sock *cs = conn_sock_of(conn);
    if (!cs)
        return;
    pthread_mutex_lock(&srv->mu);
    cs->reading = reading;
    if (reading)
        cs->read_started_ns = clock_mono_ns();
    pthread_mutex_unlock(&srv->mu);
}

/* True when the request announces a body; *ret_len its length, ULLONG_MAX if chunked. */
static bool announced_body(struct MHD_Connection *conn, unsigned long long *ret_len)
{
    const char *te = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Transfer-Encoding");
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
    *ret_len = 0;
    if (te) {
        *ret_len = ULLONG_MAX;
        return true;
    }
    if (!cl)
        return false;
    char *end;
    errno = 0;
    unsigned long long n = strtoull(cl, &end, 10);
    *ret_len = (errno || end == cl) ? ULLONG_MAX : n;
    return *ret_len > 0;
}

static void fill_request(struct http_request *req, struct MHD_Connection *conn, const char *url,
                         const char *method, const struct conn_state *st)
{
    memset(req, 0, sizeof *req);
    req->method = method;
    req->path = url;
    req->body = st->body.len ? st->body.data : NULL;
    req->body_len = st->body.len;
    req->body_too_large = st->too_large;
    req->body_cap = st->body_cap;
    req->app = st->app;
    req->content_type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
    req->authorization = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    req->transport = conn;
    memcpy(req->request_id, st->request_id, sizeof req->request_id);
    client_address(conn, req->client_addr, sizeof req->client_addr);
}

/* The access log line; a path carrying a secret is cut where the handler said. */
static void log_access(const struct http_request *req, const struct http_response *res,
                       size_t body_len, int64_t started_ns)
{
    /* Milliseconds with two decimals in integers: no floating-point formatting per request. */
    long long cs = (clock_mono_ns() - started_ns + 5000) / 10000;
    size_t keep = res->log_path_keep;
    if (keep && keep < strlen(req->path))
        log_info("http", "%s %s %.*s... %d %zu %lld.%02lldms rid=%s", req->client_addr, req->method,
                 (int)keep, req->path, res->status, body_len, cs / 100, cs % 100, req->request_id);
    else
        log_info("http", "%s %s %s %d %zu %lld.%02lldms rid=%s", req->client_addr, req->method,
                 req->path, res->status, body_len, cs / 100, cs % 100, req->request_id);
}

/* Queues res (released here) as the answer to req; MHD_NO when MHD refuses it. */
static enum MHD_Result send_response(struct http_server *srv, struct MHD_Connection *conn,
                                     const struct http_request *req, struct http_response *res,
                                     int64_t started_ns)
{
    /*
     * The body buffer is handed to MHD, which frees it with the response, instead
     * of being copied (MHD_RESPMEM_MUST_COPY): one malloc and one memcpy of the
     * whole body fewer per request. buf_steal() never returns NULL.
     */
    size_t body_len;
    struct MHD_Response *r;
    if (res->has_body_fd) {
        body_len = res->body_fd_len;
        r = MHD_create_response_from_fd_at_offset64(body_len, res->body_fd, 0);
        if (r)
            res->has_body_fd = false; /* MHD closes it with the response */
    } else {
        body_len = res->body.len;
        char *body = buf_steal(&res->body);
        r = MHD_create_response_from_buffer_with_free_callback(body_len, body, free);
        if (!r)
            free(body);
    }
    if (!r) {
        http_response_release(res);
        return MHD_NO;
    }
    if (body_len || res->status != 204)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, res->content_type);
    for (int i = 0; i < res->n_headers; i++)
        MHD_add_response_header(r, res->headers[i].name, res->headers[i].value);
    MHD_add_response_header(r, "X-Request-Id", req->request_id);
    add_security_headers(srv, res, r);
    set_reading(srv, conn, false);
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)res->status, r);
    MHD_destroy_response(r);
    int status_class = res->status / 100;
    if (status_class >= 1 && status_class <= 5)
        srv->by_class[status_class]++;
    log_access(req, res, body_len, started_ns);
    http_response_release(res);
    return ret;
}

/* A worker of the offload pool: runs the handler of a suspended connection, then resumes it. */
static void run_offloaded(void *arg)
{
    struct conn_state *st = arg;
    struct http_request req;
    fill_request(&req, st->conn, st->url, st->method, st);
    http_response_init(&st->result);
    st->srv->cfg.handler(st->srv->cfg.ctx, &req, &st->result);
    struct MHD_Connection *conn = st->conn;
    atomic_store_explicit(&st->done, true, memory_order_release);
    MHD_resume_connection(conn); /* MHD calls access_handler again: send_offloaded() */
}

/* Whether the request goes to the offload pool; if so its connection is suspended. */
static bool offload(struct http_server *srv, struct MHD_Connection *conn, const char *url,
                    const char *method, struct conn_state *st)
{
    if (!srv->offload || st->pending || !strcmp(method, "GET") || !strcmp(method, "HEAD") ||
        !http_offload_reserve(srv->offload))
        return false;
    st->offloaded = true;
    st->srv = srv;
    st->conn = conn;
    st->url = url;
    st->method = method;
    set_reading(srv, conn, false); /* the request is in: its deadline is met */
    MHD_suspend_connection(conn);
    http_offload_submit(srv->offload, run_offloaded, st);
    return true;
}

/* The call after the worker resumed the connection: queues the worker's response. */
static enum MHD_Result send_offloaded(struct http_server *srv, struct MHD_Connection *conn,
                                      const char *url, const char *method, struct conn_state *st)
{
    if (!atomic_load_explicit(&st->done, memory_order_acquire))
        return MHD_YES; /* (not resumed by the worker: cannot happen) */
    struct http_request req;
    fill_request(&req, conn, url, method, st);
    st->answered = true;
    st->offloaded = false;
    return send_response(srv, conn, &req, &st->result, st->started_ns);
}

/* Answers the request: the preflight's response if it gave one, else the handler's (here or on
 * the offload pool). */
static enum MHD_Result answer(struct http_server *srv, struct MHD_Connection *conn, const char *url,
                              const char *method, struct conn_state *st)
{
    if (offload(srv, conn, url, method, st))
        return MHD_YES;
    struct http_request req;
    fill_request(&req, conn, url, method, st);
    st->answered = true;
    if (st->pending) {
        struct http_response *res = st->pending;
        st->pending = NULL;
        enum MHD_Result ret = send_response(srv, conn, &req, res, st->started_ns);
        free(res);
        return ret;
    }
    struct http_response res;
    http_response_init(&res);
    srv->cfg.handler(srv->cfg.ctx, &req, &res);
    return send_response(srv, conn, &req, &res, st->started_ns);
}

/*
 * First call of a request, headers only: the preflight authenticates and sets the body cap.
 * A refusal, or a Content-Length over the cap of an unauthenticated request, is answered now
 * when a body is announced
 * (MHD then never reads it and closes the connection after the answer); without a body it
 * waits for the next call (queued on the first call, MHD 0.9.75 would close the connection).
 */
static enum MHD_Result begin_request(struct http_server *srv, struct MHD_Connection *conn,
                                     const char *url, const char *method, void **con_cls)
{
    struct conn_state *st = xcalloc(1, sizeof *st);
    st->started_ns = clock_mono_ns();
    uuid_v7(st->request_id);
    st->body_cap = srv->cfg.max_body;
    *con_cls = st;
    bool drain = true;
    if (srv->cfg.preflight) {
        struct http_request req;
        fill_request(&req, conn, url, method, st);
        struct http_response *res = xmalloc(sizeof *res);
        http_response_init(res);
        struct http_preflight pf = {.body_cap = srv->cfg.max_body};
        if (srv->cfg.preflight(srv->cfg.ctx, &req, res, &pf) == 0) {
            http_response_release(res);
            free(res);
            if (pf.body_cap < st->body_cap)
                st->body_cap = pf.body_cap;
            st->app = pf.app;
            drain = pf.drain_over_cap;
        } else {
            st->pending = res;
        }
    }
    buf_init(&st->body, st->body_cap);
    unsigned long long announced;
    bool has_body = announced_body(conn, &announced);
    if (!st->pending && has_body && announced != ULLONG_MAX && announced > st->body_cap)
        st->too_large = true;
    if (has_body && (st->pending || (st->too_large && !drain)))
        return answer(srv, conn, url, method, st);
    return MHD_YES;
}

static enum MHD_Result access_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                      const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **con_cls)
{
    (void)version;
    struct http_server *srv = cls;
    struct conn_state *st = *con_cls;
    if (!st)
        return begin_request(srv, conn, url, method, con_cls);
    if (st->answered) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (st->offloaded)
        return send_offloaded(srv, conn, url, method, st);
    if (*upload_data_size) {
        /* Over the cap the rest is drained and discarded: memory stays at the cap, and the
         * request deadline bounds the time. */
        if (!st->pending && !st->too_large &&
            buf_append(&st->body, upload_data, *upload_data_size) < 0) {
            st->too_large = true;
            buf_release(&st->body);
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    return answer(srv, conn, url, method, st);
}

static void request_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                              enum MHD_RequestTerminationCode toe)
{
    (void)toe;
    struct http_server *srv = cls;
    set_reading(srv, conn, true); /* the deadline of the next request on this connection */
    struct conn_state *st = *con_cls;
    if (!st)
        return;
    buf_release(&st->body);
    if (st->offloaded) /* (a worker's answer MHD never asked for) */
        http_response_release(&st->result);
    if (st->pending) {
        http_response_release(st->pending);
        free(st->pending);
    }
    if (st->app && srv->cfg.app_release)
        srv->cfg.app_release(st->app);
    free(st);
    *con_cls = NULL;
}

/* MHD_OPTION_NOTIFY_CONNECTION: a conn_sock per connection, listed for the sweeper. */
static void notify_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                              enum MHD_ConnectionNotificationCode toe)
{
    struct http_server *srv = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        struct conn_sock *cs = xcalloc(1, sizeof *cs);
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        cs->srv = srv;
        cs->fd = ci ? ci->connect_fd : -1;
        pthread_mutex_lock(&srv->mu);
        cs->reading = true;
        cs->read_started_ns = clock_mono_ns();
        cs->next = srv->conns;
        if (srv->conns)
            srv->conns->prev = cs;
        srv->conns = cs;
        pthread_mutex_unlock(&srv->mu);
        *socket_context = cs;
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED && *socket_context) {
        struct conn_sock *cs = *socket_context;
        pthread_mutex_lock(&srv->mu);
        if (cs->prev)
            cs->prev->next = cs->next;
        else
            srv->conns = cs->next;
        if (cs->next)
            cs->next->prev = cs->prev;
        pthread_mutex_unlock(&srv->mu);
        http_tls_cred_release(cs->cred);
        free(cs);
        *socket_context = NULL;
    }
}

/*
 * The request deadline: MHD's own timeout is an idle timeout (a byte every few seconds
 * keeps a connection forever), so a thread shuts down the socket of every connection whose
 * request is not in request_timeout_ms after it began; MHD then sees the end of the stream
 * and closes it in its own thread.
 */
static void *sweep_main(void *arg)
{
    struct http_server *srv = arg;
    int64_t deadline_ns = (int64_t)srv->cfg.request_timeout_ms * 1000000;
    int64_t period_ms = srv->cfg.request_timeout_ms / 4;
    if (period_ms > 1000)
        period_ms = 1000;
    if (period_ms < 20)
        period_ms = 20;
    pthread_mutex_lock(&srv->mu);
    while (!srv->stopping) {
        int64_t now = clock_mono_ns();
        unsigned n = 0;
        for (struct conn_sock *cs = srv->conns; cs; cs = cs->next) {
            if (!cs->reading || cs->shut || cs->fd < 0 || now - cs->read_started_ns < deadline_ns)
                continue;
            shutdown(cs->fd, SHUT_RDWR);
            cs->shut = true;
            n++;
        }
        if (n) {
            srv->timed_out += n;
            log_debug("http", "closed %u connection(s) whose request was not in within %u ms", n,
                      srv->cfg.request_timeout_ms);
        }
        clock_cond_wait_until_ms(&srv->cv, &srv->mu, clock_mono_ms() + period_ms);
    }
    pthread_mutex_unlock(&srv->mu);
    return NULL;
}

/*
 * MHD_OPTION_UNESCAPE_CALLBACK: %XX decoding of the path and the query, except %00, which
 * stays as it is: a NUL would cut the C string ("/assets/app.js%00.png" served app.js).
 */
static size_t unescape(void *cls, struct MHD_Connection *conn, char *s)
{
    (void)cls;
    (void)conn;
    char *out = s;
    for (const char *in = s; *in; in++) {
        unsigned v;
        if (in[0] == '%' && isxdigit((unsigned char)in[1]) && isxdigit((unsigned char)in[2]) &&
            sscanf(in + 1, "%2x", &v) == 1 && v != 0) {
            *out++ = (char)v;
            in += 2;
        } else {
            *out++ = *in;
        }
    }
    *out = '\0';
    return (size_t)(out - s);
}

/*
 * gnutls_certificate_retrieve_function2, called during each handshake: hands out
 * the current credential and pins it to the connection until it closes. MHD sets
 * the session pointer to the connection (gnutls_session_set_ptr).
 */
static int cert_callback(gnutls_session_t session, const gnutls_datum_t *req_ca_rdn, int nreqs,
                         const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
                         gnutls_pcert_st **pcert, unsigned int *pcert_length,
                         gnutls_privkey_t *privkey)
{
    (void)req_ca_rdn, (void)nreqs, (void)pk_algos, (void)pk_algos_length;
    struct MHD_Connection *conn = gnutls_session_get_ptr(session);
    const union MHD_ConnectionInfo *ci =
        conn ? MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT) : NULL;
    struct conn_sock *cs = ci ? ci->socket_context : NULL;
    if (!cs) {
        log_error("http", "TLS handshake without connection context: refused");
        return -1;
    }
    struct http_tls_cred *c = http_tls_acquire(&cs->srv->tls_state);
    http_tls_cred_release(cs->cred); /* a renegotiation: the new handshake's credential */
    cs->cred = c;
    *pcert = c->chain;
    *pcert_length = c->n_chain;
    *privkey = c->key;
    return 0;
}

bool http_tls_supported(void)
{
    return MHD_is_feature_supported(MHD_FEATURE_TLS) == MHD_YES &&
           MHD_is_feature_supported(MHD_FEATURE_HTTPS_CERT_CALLBACK) == MHD_YES;
}

int http_server_reload_tls(struct http_server *srv)
{
    if (!srv || !srv->tls)
        return -ENOTSUP;
    char why[256];
    int r = http_tls_reload(&srv->tls_state, why);
    if (r < 0)
        log_error("http", "TLS reload failed, still serving the previous certificate: %s", why);
    else
        log_info("http", "TLS certificate reloaded");
    return r;
}

/* Fills in the defaults of the caps and lowers the total to what RLIMIT_NOFILE leaves. */
static void apply_limits(struct http_server_config *cfg)
{
    if (!cfg->max_connections)
        cfg->max_connections = HTTP_DEFAULT_MAX_CONNECTIONS;
    if (!cfg->per_ip_connections)
        cfg->per_ip_connections = HTTP_DEFAULT_PER_IP;
    if (!cfg->request_timeout_ms)
        cfg->request_timeout_ms = HTTP_DEFAULT_REQUEST_TIMEOUT_MS;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        (rlim_t)cfg->max_connections + HTTP_FD_RESERVE > rl.rlim_cur) {
        unsigned fit =
            rl.rlim_cur > HTTP_FD_RESERVE + 64 ? (unsigned)(rl.rlim_cur - HTTP_FD_RESERVE) : 64;
        log_warn("http",
                 "RLIMIT_NOFILE is %llu: at most %u HTTP connections instead of %u (raise the "
                 "limit, e.g. LimitNOFILE= in the unit)",
                 (unsigned long long)rl.rlim_cur, fit, cfg->max_connections);
        cfg->max_connections = fit;
    }
    if (cfg->per_ip_connections > cfg->max_connections)
        cfg->per_ip_connections = cfg->max_connections;
}

static int start_sweeper(struct http_server *srv)
{
    if (pthread_mutex_init(&srv->mu, NULL) != 0)
        return -ENOMEM;
    int r = clock_cond_init(&srv->cv);
    if (r < 0) {
        pthread_mutex_destroy(&srv->mu);
        return r;
    }
    if (pthread_create(&srv->sweeper, NULL, sweep_main, srv) != 0) {
        pthread_cond_destroy(&srv->cv);
        pthread_mutex_destroy(&srv->mu);
        return -EAGAIN;
    }
    srv->sweeping = true;
    return 0;
}

static void stop_sweeper(struct http_server *srv)
{
    if (!srv->sweeping)
        return;
    pthread_mutex_lock(&srv->mu);
    srv->stopping = true;
    pthread_cond_signal(&srv->cv);
    pthread_mutex_unlock(&srv->mu);
    pthread_join(srv->sweeper, NULL);
    srv->sweeping = false;
}

static struct MHD_Daemon *start_mhd(struct http_server *srv, unsigned flags,
                                    const struct sockaddr_storage *ss)
{
    const struct http_server_config *cfg = &srv->cfg;
    unsigned idle_s = (cfg->request_timeout_ms + 999) / 1000;
    return MHD_start_daemon(
        flags, 0, NULL, NULL, access_handler, srv, MHD_OPTION_SOCK_ADDR,
        (const struct sockaddr *)ss, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned)(cfg->threads ? cfg->threads : 2), MHD_OPTION_NOTIFY_COMPLETED, request_completed,
        srv, MHD_OPTION_NOTIFY_CONNECTION, notify_connection, srv, MHD_OPTION_UNESCAPE_CALLBACK,
        unescape, srv, MHD_OPTION_CONNECTION_TIMEOUT, idle_s, MHD_OPTION_CONNECTION_LIMIT,
        cfg->max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT, cfg->per_ip_connections,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, HTTP_CONN_POOL, MHD_OPTION_LISTENING_ADDRESS_REUSE,
        (unsigned)1,
        /* Without TLS the list ends here and MHD never reads the TLS options that follow. */
        srv->tls ? MHD_OPTION_HTTPS_PRIORITIES : MHD_OPTION_END, HTTP_TLS_PRIORITIES,
        MHD_OPTION_HTTPS_CERT_CALLBACK, cert_callback, MHD_OPTION_END);
}

int http_server_start(const struct http_server_config *cfg, struct http_server **ret)
{
    struct sockaddr_storage ss;
    socklen_t sslen;
    int r = netaddr_parse_hostport(cfg->listen, &ss, &sslen);
    if (r < 0)
        return r;
    if ((cfg->tls_cert != NULL) != (cfg->tls_key != NULL)) {
        log_error("http", "TLS needs both a certificate and a key file (TIKGATE_TLS_CERT and "
                          "TIKGATE_TLS_KEY)");
        return -EBADMSG;
    }
    struct http_server *srv = xcalloc(1, sizeof *srv);
    srv->cfg = *cfg;
    apply_limits(&srv->cfg);
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
    if (cfg->tls_cert) {
        if (!http_tls_supported()) {
            log_error("http", "this libmicrohttpd is built without TLS (MHD_FEATURE_TLS or "
                              "MHD_FEATURE_HTTPS_CERT_CALLBACK missing): cannot serve HTTPS");
            free(srv);
            return -ENOTSUP;
        }
        char why[256];
        r = http_tls_init(&srv->tls_state, cfg->tls_cert, cfg->tls_key, why);
        if (r < 0) {
            log_error("http", "cannot serve HTTPS: %s", why);
            free(srv);
            return -EBADMSG;
        }
        srv->tls = true;
        flags |= MHD_USE_TLS;
    }
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    r = start_sweeper(srv);
    if (r < 0)
        goto out_release_tls;
    if (cfg->write_threads) {
        r = http_offload_start(cfg->write_threads, HTTP_OFFLOAD_QUEUE, &srv->offload);
        if (r < 0)
            goto out_stop_sweeper;
        flags |= MHD_ALLOW_SUSPEND_RESUME;
    }
    srv->mhd = start_mhd(srv, flags, &ss);
    if (!srv->mhd) {
        r = -EADDRINUSE;
        goto out_free_offload;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = di ? di->port : 0;
    *ret = srv;
    return 0;

out_free_offload:
    if (srv->offload) {
        http_offload_drain(srv->offload);
        http_offload_free(srv->offload);
    }
out_stop_sweeper:
    stop_sweeper(srv);
    pthread_cond_destroy(&srv->cv);
    pthread_mutex_destroy(&srv->mu);
out_release_tls:
    if (srv->tls)
        http_tls_release(&srv->tls_state);
    free(srv);
    return r;
}

unsigned long long http_server_timed_out(const struct http_server *srv)
{
    return srv->timed_out;
}

void http_server_limits(const struct http_server *srv, unsigned *ret_max, unsigned *ret_per_ip)
{
    *ret_max = srv->cfg.max_connections;
    *ret_per_ip = srv->cfg.per_ip_connections;
}

void http_server_stats(const struct http_server *srv, unsigned long long ret_by_class[6])
{
    for (int i = 0; i < 6; i++)
        ret_by_class[i] = srv->by_class[i];
}

unsigned http_server_port(const struct http_server *srv)
{
    return srv->port;
}

void http_server_stop(struct http_server *srv)
{
    if (!srv)
        return;
    stop_sweeper(srv);
    /* The workers finish and resume their connections first: MHD refuses to stop with a
     * connection suspended. Requests that come meanwhile run on MHD's threads. */
    if (srv->offload)
        http_offload_drain(srv->offload);
    MHD_stop_daemon(srv->mhd);
    http_offload_free(srv->offload);
    pthread_cond_destroy(&srv->cv);
    pthread_mutex_destroy(&srv->mu);
    if (srv->tls)
        http_tls_release(&srv->tls_state);
    free(srv);
}
