/*
 * edge.h - tikgate's own TCP relay (DESIGN.md §4, docs/internals/edge.md).
 *
 * One edge = cfg.threads relay loops, each a thread with its own epoll loop,
 * listeners, connections and deadlines (single-owner: no lock on the byte path).
 * Each open grant is one listening socket per loop (SO_REUSEPORT when there are
 * several: the kernel spreads new connections over them); an accepted connection
 * is checked against the grant's allow-list, then relayed to the grant's target
 * with backpressure and half-close propagation by the loop that accepted it. At
 * the grant's deadline (or on edge_grant_close()) every loop closes its listener
 * and cuts its live connections of the grant.
 *
 * Threading: every function below may be called from any thread except
 * edge_free() (not from a relay thread). Calls are synchronous: they hand a
 * command to every loop in turn and wait for each answer (a few microseconds).
 * Called from the relay thread itself (i.e. from the event callback), they run
 * inline with one loop, and fail with -EDEADLK with several.
 *
 * The edge does no storage: the daemon reconciles it (desired grants from the
 * store vs edge_grant_list()) and persists the connection records it receives
 * through the event callback.
 */
#ifndef TG_EDGE_H
#define TG_EDGE_H

#include "cidr.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define EDGE_ID_MAX 36       /* longest grant id (a UUID) */
#define EDGE_ADDR_STR_LEN 56 /* "[v6addr%scope]:65535" + NUL */
#define EDGE_ALLOW_MAX 64    /* longest allow-list */
#define EDGE_THREADS_MAX 16  /* relay loops per edge */

struct edge;

enum edge_relay_mode {
    EDGE_RELAY_SPLICE = 0, /* splice() through a pipe pair taken from a pool while data flows */
    EDGE_RELAY_COPY = 1,   /* read()/write() through a buffer taken from a pool while data flows */
};

enum edge_event_type {
    EDGE_EV_CONN_START = 1, /* an allowed connection was accepted; connecting to the target */
    EDGE_EV_CONN_END,       /* a connection ended (also sent alone when refused or limited) */
    EDGE_EV_GRANT_EXPIRED,  /* the grant's deadline passed: listener closed, conns cut */
};

enum edge_end_reason {
    EDGE_END_NONE = 0,           /* (EDGE_EV_CONN_START) */
    EDGE_END_CLIENT_CLOSED,      /* the client closed (or reset, see error) first */
    EDGE_END_TARGET_CLOSED,      /* the target closed (or reset, see error) first */
    EDGE_END_REFUSED,            /* the source is outside the allow-list */
    EDGE_END_TARGET_UNREACHABLE, /* connect() to the target failed or timed out */
    EDGE_END_GRANT_CLOSED,       /* edge_grant_close() */
    EDGE_END_GRANT_EXPIRED,      /* the grant's deadline passed */
    EDGE_END_SHUTDOWN,           /* edge_free() */
    EDGE_END_LIMITED,            /* allowed source, but its grant or source is at its cap */
    EDGE_END_IDLE,               /* no byte either way for idle_timeout_ms */
    EDGE_END_UNCONFIRMED,        /* refused at accept while the edge holds (edge_set_hold) */
};

/*
 * One event. Every pointer in it is borrowed and valid only during the
 * callback. For EDGE_EV_GRANT_EXPIRED only grant_id, deadline_ms and end_ms
 * (the time the teardown ran) are set.
 */
struct edge_event {
    enum edge_event_type type;
    const char *grant_id;
    uint64_t conn_id;            /* unique per edge, pairs START with END */
    struct sockaddr_storage src; /* client address */
    const char *src_str;         /* "127.0.0.1:54321" or "[::1]:54321" */
    int64_t start_ms;            /* Unix ms (CLOCK_REALTIME) of accept */
    int64_t end_ms;              /* Unix ms of the end (0 in START) */
    uint64_t bytes_c2t;          /* client -> target bytes relayed */
    uint64_t bytes_t2c;          /* target -> client bytes relayed */
    enum edge_end_reason reason;
    int error;           /* errno behind the reason when there is one, else 0 */
    int64_t deadline_ms; /* the grant's deadline (EDGE_EV_GRANT_EXPIRED) */
};

/*
 * Called from the relay thread for every event. It must be quick and must not
 * block (queue the record, do not write to the database from it): the relay
 * does nothing else while it runs. With several loops it is called from each
 * loop's thread, concurrently. With one loop it may call edge_grant_* (they run
 * inline) but not edge_free().
 */
typedef void (*edge_event_fn)(void *userdata, const struct edge_event *ev);

struct edge_config {
    unsigned threads;            /* relay loops, <= EDGE_THREADS_MAX (0: 1) */
    unsigned max_conns;          /* relayed connections per edge; accept pauses at it (0: 16384) */
    enum edge_relay_mode mode;   /* EDGE_RELAY_SPLICE by default */
    size_t chunk_size;           /* pipe size / copy buffer size (0: 256 KiB) */
    unsigned pool_max;           /* idle pipes/buffers kept for reuse (0: 32) */
    unsigned connect_timeout_ms; /* target connect timeout (0: 10 000) */
    /*
     * Per-grant and per-source caps of live relayed connections (0: none). An allowed
     * connection beyond either is closed at once (EDGE_END_LIMITED, no START), so one grant
     * or one client cannot take every descriptor of the process (security-review F8).
     */
    unsigned conns_per_grant;  /* whole grant, every loop */
    unsigned conns_per_source; /* by source address (the port does not count), whole edge */
    unsigned idle_timeout_ms;  /* cut a connection that moved no byte for this long (0: never) */
    edge_event_fn on_event;    /* may be NULL */
    void *userdata;            /* passed to on_event */
};

/* A grant as the daemon describes it. All fields are borrowed (copied by edge_grant_open). */
struct edge_grant {
    const char *id;          /* 1..EDGE_ID_MAX characters */
    const char *listen_addr; /* numeric IPv4/IPv6 address to bind */
    uint16_t listen_port;    /* 0 picks a free port (see edge_grant_info) */
    const char *target_addr; /* numeric IPv4/IPv6 address to connect to */
    uint16_t target_port;
    const struct cidr *allow; /* allowed sources; an empty list refuses every source */
    size_t n_allow;           /* <= EDGE_ALLOW_MAX */
    int64_t deadline_ms;      /* Unix ms (CLOCK_REALTIME) of expiry; 0 = none */
    uint64_t rate_limit;      /* bytes/s, whole grant (every loop), each direction; 0 = off */
};

/* What the edge holds for an open grant. */
struct edge_grant_info {
    char id[EDGE_ID_MAX + 1];
    struct sockaddr_storage listen; /* bound address (port filled in when 0 was asked) */
    uint16_t listen_port;
    int64_t deadline_ms;
    uint64_t rate_limit;
    unsigned live_conns;
    uint64_t total_conns; /* accepted since opened (allowed ones) */
    uint64_t refused_conns;
    uint64_t limited_conns; /* allowed but closed at a cap */
};

/*
 * Starts the relay thread. cfg is copied. Returns 0 and sets *ret_edge (free
 * with edge_free()), or -errno (-EINVAL for a bad config, or the errno of
 * epoll/eventfd/timerfd/pthread_create).
 */
int edge_new(const struct edge_config *cfg, struct edge **ret_edge);

/*
 * Stops and joins the relay thread: every listener is closed and every live
 * connection cut (EDGE_END_SHUTDOWN events are delivered first). Accepts NULL.
 * Must not be called from the relay thread.
 */
void edge_free(struct edge *e);

/*
 * Opens grant g (listen, accept, relay), or, when a grant with g->id is
 * already open, updates its deadline, allow-list and rate limit in place
 * without touching its listener or live connections (the listen/target
 * fields are then ignored; connections already accepted are not re-checked
 * against a new allow-list).
 * Returns 0, -EINVAL (bad id/address/allow-list), -ETIMEDOUT (a new grant
 * whose deadline already passed; an existing one given a past deadline
 * expires at once), or the errno of socket/bind/listen (-EADDRINUSE,
 * -EADDRNOTAVAIL, -EMFILE, ...). Borrows g.
 */
int edge_grant_open(struct edge *e, const struct edge_grant *g);

/*
 * Closes grant id: the listener is closed and every live connection cut at
 * once (EDGE_END_GRANT_CLOSED events, delivered before this returns).
 * Returns 0 or -ENOENT.
 */
int edge_grant_close(struct edge *e, const char *id);

/*
 * Hold (on) or resume (off). While held, every new connection an allow-list accepts is
 * closed at once (EDGE_END_UNCONFIRMED, counted in edge_stats.unconfirmed, no START); live
 * connections, deadlines and every other command go on as before. The daemon holds while it
 * cannot confirm its grants against the store (a revoke it cannot see). Returns 0.
 */
int edge_set_hold(struct edge *e, bool hold);

/* Fills *ret with what the edge holds for grant id. Returns 0 or -ENOENT. */
int edge_grant_get(struct edge *e, const char *id, struct edge_grant_info *ret);

/*
 * Lists the open grants (in no particular order). Returns 0 and sets *ret_list
 * to an owned array (free with free(); NULL when *ret_n is 0) and *ret_n.
 */
int edge_grant_list(struct edge *e, struct edge_grant_info **ret_list, size_t *ret_n);

/* Counters of the whole edge. */
struct edge_stats {
    unsigned grants;
    unsigned live_conns;
    uint64_t accepted;
    uint64_t refused;
    uint64_t unreachable;
    uint64_t limited;       /* closed at conns_per_grant / conns_per_source */
    uint64_t idle_cut;      /* cut after idle_timeout_ms */
    uint64_t unconfirmed;   /* refused at accept while held (edge_set_hold) */
    bool held;              /* edge_set_hold(true) is in force */
    uint64_t accept_paused; /* times accept was paused at max_conns */
    unsigned pool_pipes;    /* idle pipes in the pool */
    unsigned pool_bufs;     /* idle copy buffers in the pool */
    unsigned busy_pipes;    /* pipes lent to connections with data in flight */
    unsigned busy_bufs;
    uint64_t spliced; /* directions that switched from copying to splice (EDGE_SPLICE_AFTER) */
    unsigned loops;   /* relay loops */
    unsigned loop_conns[EDGE_THREADS_MAX]; /* live connections of each loop */
};
int edge_stats_get(struct edge *e, struct edge_stats *ret);

const char *edge_end_reason_str(enum edge_end_reason r);

#endif
