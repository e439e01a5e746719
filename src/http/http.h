/*
 * http.h - the HTTP transport: request/response values, a route matcher and
 * the libmicrohttpd adapter.
 *
 * This module knows nothing of the API. The application (api/) hands a
 * handler to http_server_start(); the handler is called once per complete
 * request, on one of the server's worker threads, and fills the response.
 * Only http/server.c includes microhttpd.h.
 */
#ifndef TG_HTTP_H
#define TG_HTTP_H

#include "buf.h"
#include "rand.h" /* UUID_STR_LEN */

#include <stdbool.h>
#include <stddef.h>

#define HTTP_MAX_PARAMS 4
#define HTTP_MAX_HEADERS 8

struct http_request {
    const char *method;
    const char *path; /* without the query string */
    const char *body; /* NUL-terminated, NULL when empty */
    size_t body_len;
    bool body_too_large;       /* the body went over the server's cap and was discarded */
    const char *content_type;  /* NULL when absent */
    const char *authorization; /* NULL when absent */
    char client_addr[64];      /* numeric address of the peer */
    void *transport;           /* opaque: used by http_request_query/header */
    size_t body_cap;           /* this request's body cap (body_too_large beyond) */
    void *app;                 /* what the preflight left for this request, else NULL */
    /* A UUIDv7 naming this request: sent back as X-Request-Id, in the access log line and in
     * the audit log (the same value in the preflight and the handler). */
    char request_id[UUID_STR_LEN];
};

/* Value of query parameter name, or NULL. Borrowed: valid during the handler call. */
const char *http_request_query(const struct http_request *req, const char *name);
const char *http_request_header(const struct http_request *req, const char *name);

struct http_header {
    char *name;  /* owned */
    char *value; /* owned */
};

struct http_response {
    int status;
    const char *content_type; /* static string */
    struct buf body;          /* capped at HTTP_RESPONSE_CAP */
    /* http_response_file: the body is body_fd's first body_fd_len bytes instead (owned). */
    bool has_body_fd;
    int body_fd;
    size_t body_fd_len;
    struct http_header headers[HTTP_MAX_HEADERS];
    int n_headers;
    /* > 0: the path carries a secret from this byte on; the access log shows the first
     * log_path_keep bytes and "..." (a bootstrap token, a device token). */
    size_t log_path_keep;
};

#define HTTP_RESPONSE_CAP ((size_t)64 << 20)

void http_response_init(struct http_response *res);
void http_response_release(struct http_response *res);
/*
 * The body is fd's first len bytes (fd owned from here: closed with the response; a file
 * nobody writes any more, e.g. a sealed memfd). Over plain HTTP it is sent with sendfile(2),
 * without the copy into the socket that a body in memory costs (issue 13: a third of the CPU
 * of a 90 kB list answer); over TLS libmicrohttpd reads it. Replaces body.
 */
void http_response_file(struct http_response *res, int fd, size_t len);
/* Adds a header (copied). Ignored beyond HTTP_MAX_HEADERS. */
void http_response_header(struct http_response *res, const char *name, const char *value);

typedef void (*http_handler_fn)(void *ctx, const struct http_request *req,
                                struct http_response *res);

/* What a preflight decided for a request it lets through. */
struct http_preflight {
    size_t body_cap; /* body bytes this request may send (body_too_large beyond), <= max_body */
    void *app;       /* handed to the handler as req->app, released with cfg->app_release */
    /* The client is authenticated: an announced body over body_cap is drained (memory stays
     * at nothing, the request deadline bounds the time) so that a client writing its whole
     * body before reading sees the 413. Otherwise the 413 is sent at once, unread. */
    bool drain_over_cap;
};

/*
 * Called once per request when its headers are in and before any of its body is read
 * (req->body is NULL): the place to authenticate. Returns 0 after filling *ret (the body is
 * then read up to ret->body_cap), or 1 after filling res: that response is sent as it is and
 * the body, if any, is never read (the connection closes after the answer when a body was
 * announced). res is not touched on 0.
 */
typedef int (*http_preflight_fn)(void *ctx, const struct http_request *req,
                                 struct http_response *res, struct http_preflight *ret);

struct http_server_config {
    const char *listen; /* "127.0.0.1:8080", "[::1]:8080", "0.0.0.0:8080" */
    size_t max_body;    /* request body cap in bytes (413 beyond) */
    unsigned threads;   /* worker threads */
    /* Threads for the requests that may wait (every method but GET and HEAD), so that they
     * do not hold the other connections of MHD's thread (server.c); 0: none, they run on
     * MHD's threads. */
    unsigned write_threads;
    http_handler_fn handler;
    void *ctx;
    /* HTTPS: PEM files of the certificate chain and its private key (both or neither);
     * borrowed, read at start and by http_server_reload_tls(). NULL: plain HTTP. */
    const char *tls_cert;
    const char *tls_key;
    /* Content-Security-Policy of every response (borrowed, static); NULL: none. */
    const char *content_security_policy;
    /* Optional (NULL: every request may send max_body bytes): see http_preflight_fn. */
    http_preflight_fn preflight;
    void (*app_release)(void *app); /* frees a struct http_preflight's app; may be NULL */
    /*
     * Pre-auth denial-of-service limits (security-review F7), 0 = the default:
     * max_connections: open connections in all (HTTP_DEFAULT_MAX_CONNECTIONS, lowered to
     *   what RLIMIT_NOFILE leaves, with a warning);
     * per_ip_connections: open connections from one address (HTTP_DEFAULT_PER_IP);
     * request_timeout_ms: total time a client has to send a request's headers and body,
     *   from the connection's start or the end of its previous response; the connection is
     *   closed beyond (HTTP_DEFAULT_REQUEST_TIMEOUT_MS). Also the idle timeout.
     */
    unsigned max_connections;
    unsigned per_ip_connections;
    unsigned request_timeout_ms;
};

#define HTTP_DEFAULT_MAX_CONNECTIONS 16384u
#define HTTP_DEFAULT_PER_IP 64u
#define HTTP_DEFAULT_REQUEST_TIMEOUT_MS 30000u
/* Descriptors http_server_start() leaves to the rest of the process (store, edge, pushes). */
#define HTTP_FD_RESERVE 1024u

struct http_server;

/*
 * Binds and starts serving. Returns 0 or -errno: -EADDRINUSE, -EINVAL for a bad
 * address, -EBADMSG for an unusable TLS certificate/key and -ENOTSUP when
 * libmicrohttpd has no TLS (both logged with the reason).
 * Every response carries X-Request-Id, X-Content-Type-Options, Referrer-Policy,
 * X-Frame-Options, the configured Content-Security-Policy and, over TLS,
 * Strict-Transport-Security.
 */
int http_server_start(const struct http_server_config *cfg, struct http_server **ret);
/* True when libmicrohttpd can serve TLS with a certificate callback. */
bool http_tls_supported(void);
/*
 * Reads the TLS files again; new handshakes use the new certificate, open
 * connections keep theirs. On failure (-errno, logged) the previous
 * certificate stays. -ENOTSUP when the server is not serving TLS.
 */
int http_server_reload_tls(struct http_server *srv);
/* The port actually bound (useful with port 0). */
unsigned http_server_port(const struct http_server *srv);
/* Responses sent so far per status class: [2] = 2xx, [4] = 4xx, [5] = 5xx. */
void http_server_stats(const struct http_server *srv, unsigned long long ret_by_class[6]);
/* Connections closed so far because their request was not in by request_timeout_ms. */
unsigned long long http_server_timed_out(const struct http_server *srv);
/* The connection caps in force (after the RLIMIT_NOFILE adjustment). */
void http_server_limits(const struct http_server *srv, unsigned *ret_max, unsigned *ret_per_ip);
/* Stops accepting, finishes in-flight requests, frees. Accepts NULL. */
void http_server_stop(struct http_server *srv);

/* --- routing --- */

struct http_route {
    const char *method;    /* "GET", "POST", ... */
    const char *pattern;   /* "/v1/sites/{id}/note": {name} matches one non-empty segment */
    void (*handler)(void); /* opaque for the router: the caller casts it back to its type */
    unsigned flags;        /* opaque for the router */
};

struct http_match {
    const struct http_route *route;
    int n_params;
    char params[HTTP_MAX_PARAMS][128];
};

enum http_match_result {
    HTTP_MATCH_OK = 0,
    HTTP_MATCH_NO_PATH = -1,   /* 404: no pattern matches the path */
    HTTP_MATCH_NO_METHOD = -2, /* 405: a pattern matches but not with this method */
};

/*
 * Finds the route for method + path in table[0..n). Segments are compared
 * exactly; a parameter segment longer than 127 bytes does not match. A
 * trailing slash is ignored ("/v1/sites/" == "/v1/sites").
 */
enum http_match_result http_route_match(const struct http_route *table, size_t n,
                                        const char *method, const char *path,
                                        struct http_match *ret);
/* Comma-separated methods allowed on path (for the Allow header of a 405). */
void http_route_allowed(const struct http_route *table, size_t n, const char *path, char *out,
                        size_t outlen);

#endif
