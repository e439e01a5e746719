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
#include "tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct http_server {
    struct MHD_Daemon *mhd;
    struct http_server_config cfg;
    unsigned port;
    _Atomic unsigned long long by_class[6]; /* responses per status class: [2] = 2xx ... */
    bool tls;                               /* serving HTTPS: tls_state is initialised */
    struct http_tls tls_state;
};

/* Per TCP connection (MHD's socket context), TLS only: the credential its handshake used. */
struct conn_sock {
    struct http_server *srv;
    struct http_tls_cred *cred; /* owns one reference, NULL before the handshake */
};

struct conn_state {
    struct buf body;
    bool too_large;
    int64_t started_ns; /* monotonic */
};

void http_response_init(struct http_response *res)
{
    memset(res, 0, sizeof *res);
    res->status = 200;
    res->content_type = "application/json";
    buf_init(&res->body, HTTP_RESPONSE_CAP);
}

void http_response_release(struct http_response *res)
{
    buf_release(&res->body);
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

static enum MHD_Result access_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                      const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **con_cls)
{
    (void)version;
    struct http_server *srv = cls;
    struct conn_state *st = *con_cls;
    if (!st) {
        st = xcalloc(1, sizeof *st);
        buf_init(&st->body, srv->cfg.max_body);
        st->started_ns = clock_mono_ns();
        *con_cls = st;
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (!st->too_large && buf_append(&st->body, upload_data, *upload_data_size) < 0) {
            st->too_large = true;
            buf_release(&st->body);
        }
        *upload_data_size = 0;
        return MHD_YES;
    }

    struct http_request req;
    memset(&req, 0, sizeof req);
    req.method = method;
    req.path = url;
    req.body = st->body.len ? st->body.data : NULL;
    req.body_len = st->body.len;
    req.body_too_large = st->too_large;
    req.content_type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
    req.authorization = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    req.transport = conn;
    client_address(conn, req.client_addr, sizeof req.client_addr);

    struct http_response res;
    http_response_init(&res);
    srv->cfg.handler(srv->cfg.ctx, &req, &res);

    /*
     * The body buffer is handed to MHD, which frees it with the response, instead
     * of being copied (MHD_RESPMEM_MUST_COPY): one malloc and one memcpy of the
     * whole body fewer per request. buf_steal() never returns NULL.
     */
    size_t body_len = res.body.len;
    char *body = buf_steal(&res.body);
    struct MHD_Response *r =
        MHD_create_response_from_buffer_with_free_callback(body_len, body, free);
    if (!r) {
        free(body);
        http_response_release(&res);
        return MHD_NO;
    }
    if (body_len || res.status != 204)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, res.content_type);
    for (int i = 0; i < res.n_headers; i++)
        MHD_add_response_header(r, res.headers[i].name, res.headers[i].value);
    add_security_headers(srv, &res, r);
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)res.status, r);
    MHD_destroy_response(r);
    int status_class = res.status / 100;
    if (status_class >= 1 && status_class <= 5)
        srv->by_class[status_class]++;

    double ms = (double)(clock_mono_ns() - st->started_ns) / 1e6;
    log_info("http", "%s %s %s %d %zu %.2fms", req.client_addr, method, url, res.status, body_len,
             ms);
    http_response_release(&res);
    return ret;
}

static void request_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                              enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    struct conn_state *st = *con_cls;
    if (!st)
        return;
    buf_release(&st->body);
    free(st);
    *con_cls = NULL;
}

/* MHD_OPTION_NOTIFY_CONNECTION (TLS only): a conn_sock per connection, released at close. */
static void notify_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                              enum MHD_ConnectionNotificationCode toe)
{
    (void)conn;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        struct conn_sock *cs = xcalloc(1, sizeof *cs);
        cs->srv = cls;
        *socket_context = cs;
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED && *socket_context) {
        struct conn_sock *cs = *socket_context;
        http_tls_cred_release(cs->cred);
        free(cs);
        *socket_context = NULL;
    }
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
    srv->mhd = MHD_start_daemon(
        flags, 0, NULL, NULL, access_handler, srv, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(cfg->threads ? cfg->threads : 2),
        MHD_OPTION_NOTIFY_COMPLETED, request_completed, srv, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)60, MHD_OPTION_CONNECTION_LIMIT, (unsigned)4096,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)64 * 1024, MHD_OPTION_LISTENING_ADDRESS_REUSE,
        (unsigned)1,
        /* Without TLS the list ends here and MHD never reads the TLS options that follow. */
        srv->tls ? MHD_OPTION_HTTPS_PRIORITIES : MHD_OPTION_END, HTTP_TLS_PRIORITIES,
        MHD_OPTION_HTTPS_CERT_CALLBACK, cert_callback, MHD_OPTION_NOTIFY_CONNECTION,
        notify_connection, srv, MHD_OPTION_END);
    if (!srv->mhd) {
        if (srv->tls)
            http_tls_release(&srv->tls_state);
        free(srv);
        return -EADDRINUSE;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = di ? di->port : 0;
    *ret = srv;
    return 0;
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
    MHD_stop_daemon(srv->mhd);
    if (srv->tls)
        http_tls_release(&srv->tls_state);
    free(srv);
}
