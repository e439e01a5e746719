/*
 * client.h - blocking RouterOS API client (plain TCP, routeros.md §1).
 *
 * One command at a time per connection. Every wait is a poll() bounded by a
 * timeout, so a silent router costs at most the configured time. Any I/O or
 * protocol error, a timeout or a !fatal leaves the connection dead: further
 * calls return -ENOTCONN and the caller reconnects. Not thread-safe; use one
 * client per thread. TLS (api-ssl) is not implemented here.
 *
 * Callers that write to a socket the peer may have closed should ignore
 * SIGPIPE anyway; this client uses MSG_NOSIGNAL.
 */
#ifndef TG_ROS_CLIENT_H
#define TG_ROS_CLIENT_H

#include "wire.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ROS_CLIENT_CONNECT_TIMEOUT_MS 5000
#define ROS_CLIENT_IO_TIMEOUT_MS 15000
#define ROS_CLIENT_MAX_ROWS 100000u

struct ros_client_opts {
    int connect_timeout_ms; /* <= 0: ROS_CLIENT_CONNECT_TIMEOUT_MS, whole connect */
    int io_timeout_ms;      /* <= 0: ROS_CLIENT_IO_TIMEOUT_MS, max wait for progress */
    /*
     * 0: none. Else an absolute CLOCK_MONOTONIC time in ms (clock_mono_ms()) after which every
     * wait fails with -ETIMEDOUT, whatever the router sends: io_timeout_ms alone is reset by
     * each byte, so a router trickling one byte per io_timeout_ms would hold the caller for
     * ever (security-review F9). Bounds the connect too.
     */
    int64_t deadline_ms;
    size_t max_rows;                 /* 0: ROS_CLIENT_MAX_ROWS !re rows per command */
    const struct ros_limits *limits; /* NULL: ros_limits_default (copied) */
};

/* The outcome of one command. All memory is owned by the reply; free it with
 * ros_reply_release(). */
struct ros_reply {
    struct ros_sentence *rows; /* the !re sentences, in order */
    size_t nrows;
    bool empty;               /* the router sent !empty (RouterOS >= 7.18): zero rows */
    struct ros_sentence done; /* the !done sentence (nwords == 0 if none) */
    const char *ret;          /* =ret= of !done (points into done), or NULL */
    char *trap_message;       /* =message= of the first !trap, or NULL */
    int trap_category;        /* =category= of that !trap, -1 if absent or no trap */
    char *fatal;              /* the reason word of !fatal, or NULL */
};

struct ros_client;

/* Releases the reply's contents and zeroes it. Accepts NULL. */
void ros_reply_release(struct ros_reply *r);

/*
 * Connects to host (IPv4/IPv6 literal, "[v6]" or a name; names are resolved
 * with getaddrinfo, which is not bounded by the timeout) and port. Tries each
 * address until one connects within the remaining connect timeout.
 * opts may be NULL. Returns 0 and *ret (owned: ros_client_close()), or
 * -EINVAL (bad argument), -EHOSTUNREACH (name does not resolve), -ETIMEDOUT,
 * -ECONNREFUSED or another -errno of the last address tried.
 */
int ros_client_connect(const char *host, uint16_t port, const struct ros_client_opts *opts,
                       struct ros_client **ret);

/* Wraps an already connected stream socket. Takes fd on success (it is made
 * non-blocking and closed by ros_client_close()); on failure fd is untouched. */
int ros_client_from_fd(int fd, const struct ros_client_opts *opts, struct ros_client **ret);

/* Closes the socket and frees the client. Accepts NULL. */
void ros_client_close(struct ros_client *c);

/*
 * Logs in: plain form first; if the !done carries =ret=, answers the legacy
 * MD5 challenge. user and password are borrowed and never logged.
 * 0, -EACCES (the router refused: message in ros_client_last_error()),
 * -EPROTO (bad challenge or unexpected reply), or an I/O error of
 * ros_client_run().
 */
int ros_client_login(struct ros_client *c, const char *user, const char *password);

/*
 * Sends one command (n words, borrowed, NUL-terminated; words[0] the command)
 * and collects its replies up to !done. If no ".tag=" word is given, the
 * client adds its own; replies carrying another tag are discarded, untagged
 * replies are accepted (servers that do not echo tags).
 *
 * *ret is zeroed on entry and filled on 0, -EREMOTEIO and -ECONNABORTED;
 * always call ros_reply_release() on it. Returns:
 *   0              !done received (rows, empty, ret filled);
 *   -EREMOTEIO     a !trap came before !done: trap_message/trap_category set,
 *                  the connection stays usable;
 *   -ECONNABORTED  !fatal: reason in fatal; the connection is dead;
 *   -ECONNRESET    the router closed the connection (e.g. on reboot);
 *   -ETIMEDOUT     no progress within io_timeout_ms, or the deadline passed;
 *   -E2BIG         a cap was hit (sentence limits, max_rows);
 *   -EPROTO        undecodable stream or unknown reply word;
 *   -EINVAL        no words or an empty word; -ENOTCONN after a fatal error.
 */
int ros_client_run(struct ros_client *c, const char *const *words, size_t n, struct ros_reply *ret);

/* The message of the last !trap / !fatal seen by login or run, or NULL.
 * Borrowed: valid until the next call on c. */
const char *ros_client_last_error(const struct ros_client *c);

/* Low-level access for streaming commands (listen, follow): send one sentence
 * as is, and receive the next one (any tag) into *out (caller-owned). Same
 * error codes as ros_client_run for I/O. */
int ros_client_send(struct ros_client *c, const struct ros_sentence *s);
int ros_client_recv(struct ros_client *c, struct ros_sentence *out);

/*
 * Sets (or, with 0, clears) the absolute deadline of every later wait, as
 * ros_client_opts.deadline_ms does.
 */
void ros_client_set_deadline(struct ros_client *c, int64_t deadline_ms);

/* True until an I/O, protocol, timeout or !fatal error. */
bool ros_client_alive(const struct ros_client *c);

#endif
