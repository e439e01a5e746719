/*
 * edge.c - the relay loops: listeners, connections, deadline timers, commands.
 *
 * Ownership: everything below a struct loop (its grants, connections, pools,
 * hash table and deadline heap) is touched only by that loop's thread. Other
 * threads talk to it through its command queue (mutex + eventfd) and wait for
 * the answer on a condition variable; a command to the edge goes to every loop.
 * What the loops share (struct edge, struct grant_share) is atomics and two
 * mutexes taken at accept / a connection's end, never per byte (and a
 * rate-limited grant's buckets). See docs/internals/edge.md.
 */
#include "edge.h"

#include "alloc.h"
#include "clock.h"
#include "heap.h"
#include "idhash.h"
#include "netaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

#define MAX_EVENTS 256
#define ACCEPT_BATCH 64
#define LISTEN_BACKLOG 4096
#define THROTTLE_TICK_MS 5
#define EMFILE_RETRY_MS 100
#define CAP_RETRY_MS 10 /* at max_conns with several loops: how soon to look again */

enum hkind {
    H_CMD = 1,
    H_TIMER,
    H_LISTENER,
    H_CLIENT,
    H_TARGET,
};

/* What epoll_event.data.ptr points to. */
struct handle {
    enum hkind kind;
};

/* Token bucket of one direction of a rate-limited grant. */
struct bucket {
    int64_t tokens;
    int64_t last_us; /* CLOCK_MONOTONIC */
};

struct conn;

/*
 * What the loops holding one grant share (one eg_grant per loop points at it): the live count
 * that conns_per_grant caps, and the token buckets of a rate-limited grant (the rate is for the
 * grant, whichever loop relays its bytes). Freed by whoever drops the last reference.
 */
struct grant_share {
    atomic_uint refs;      /* loops holding the grant + commands carrying it */
    atomic_uint holders;   /* loops holding the grant: the last one to drop it reports expiry */
    atomic_bool expired;   /* a loop tore it down at its deadline */
    atomic_uint live;      /* live connections, every loop */
    pthread_mutex_t bk_mu; /* the buckets (taken only when the grant has a rate) */
    uint64_t bk_rate;      /* the rate the buckets were filled for */
    struct bucket bk[2];
    /*
     * Each loop's listener (-1: none), so that the first loop to tear the grant down stops
     * them all (shutdown(), the fd stays its owner's) before it cuts anything: a cut seen by a
     * client means the port refuses. Under fd_mu, which an owner takes to clear its slot
     * before close(): a slot never names a descriptor number reused for something else.
     */
    pthread_mutex_t fd_mu;
    int fds[EDGE_THREADS_MAX];
};

struct eg_grant {
    struct handle h; /* H_LISTENER */
    char id[EDGE_ID_MAX + 1];
    int fd;
    bool dead;
    bool paused;
    struct sockaddr_storage listen;
    struct sockaddr_storage target;
    socklen_t target_len;
    struct cidr *allow; /* owned */
    size_t n_allow;
    int64_t deadline_ms;
    struct heap_node dl; /* in edge.deadlines (key = deadline_ms) unless deadline_ms is 0 */
    uint64_t rate;       /* bytes/s per direction, 0 = off */
    struct grant_share *sh;
    struct conn *conns; /* live connections (doubly linked through gprev/gnext) */
    unsigned live;
    uint64_t total;
    uint64_t refused;
    uint64_t limited;
    struct idhash_node hn;  /* in edge.grants, by id */
    struct eg_grant *pnext; /* paused list / deferred free list */
};

/* One direction of a connection: 0 = client -> target, 1 = target -> client. */
struct dir {
    int pr, pw; /* pipe (splice mode), -1 when none is lent */
    char *buf;  /* buffer (copy mode), NULL when none is lent */
    size_t off; /* copy mode: first unsent byte */
    size_t len; /* bytes held (pipe) or end of data in buf */
    uint64_t bytes;
    bool eof;       /* read side returned 0 */
    bool shut;      /* shutdown(SHUT_WR) sent to the write side */
    bool throttled; /* waiting for the grant's bucket */
    bool spliced;   /* splice mode, and EDGE_SPLICE_AFTER bytes moved: splices from now on */
};

/*
 * In splice mode a direction starts by copying, through a pooled buffer, and splices once it
 * has moved this many bytes (and its buffer is empty): a short exchange (a login, a 16-byte
 * echo) costs a read and a send instead of two splices and a pipe, and a bulk transfer still
 * moves without a copy through user memory (docs/benchmarks.md, issue 13). HAProxy likewise
 * splices only once the data outgrows a buffer.
 */
#define EDGE_SPLICE_AFTER ((uint64_t)64 << 10)

struct conn {
    struct handle hc; /* H_CLIENT */
    struct handle ht; /* H_TARGET */
    int cfd, tfd;
    bool c_rd, c_wr, t_rd, t_wr; /* edge-triggered readiness */
    uint8_t c_peer, t_peer;      /* what epoll said of each peer's end: enum peer_end */
    bool connected;
    bool closing;
    bool on_list;     /* in the connecting or throttled list */
    int8_t first_eof; /* -1, or the dir index whose read side ended first */
    struct dir d[2];
    struct eg_grant *g;
    struct conn *gprev, *gnext; /* grant's list */
    struct conn *lprev, *lnext; /* connecting list or throttled list */
    struct conn *fnext;         /* deferred free list */
    struct conn *iprev, *inext; /* idle list: least recently active first */
    struct src_count *src_n;    /* live count of the source (conns_per_source), or NULL */
    uint64_t id;
    int64_t start_ms;
    int64_t connect_deadline_us;
    int64_t active_us;       /* last time a byte moved (CLOCK_MONOTONIC) */
    struct sockaddr_in6 src; /* big enough for sockaddr_in too */
    char src_str[EDGE_ADDR_STR_LEN];
};

struct clist {
    struct conn *head, *tail;
};

/* Live connections of one source address (conns_per_source), in edge.sources. */
struct src_count {
    struct idhash_node hn;
    char addr[INET6_ADDRSTRLEN];
    unsigned live;
};

enum cmd_type {
    CMD_OPEN = 1,
    CMD_CLOSE,
    CMD_GET,
    CMD_LIST,
    CMD_STATS,
    CMD_STOP,
    CMD_HOLD,
};

struct cmd {
    enum cmd_type type;
    const struct edge_grant *g;
    struct grant_share *sh; /* CMD_OPEN: the share a new grant takes; out: the grant's */
    uint16_t port;          /* CMD_OPEN: out of the first loop, in for the others (join) */
    bool join;              /* CMD_OPEN: another loop bound the port first (no probe) */
    bool created;           /* CMD_OPEN: out: the grant is new in this loop */
    const char *id;
    struct edge_grant_info *info;
    struct edge_grant_info **list;
    size_t *n;
    struct edge_stats *st;
    bool hold;
    int result;
    bool done;
    struct cmd *next;
};

/* One relay loop: a thread, its epoll, its listeners, connections and deadlines. */
struct loop {
    struct edge_config cfg; /* (the edge's, copied) */
    struct edge *edge;      /* shared counters and the source table */
    int ep, evfd, tfd;
    struct handle h_cmd, h_timer;
    pthread_t thread;
    bool stop;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct cmd *q_head, *q_tail;

    /* relay-thread state */
    struct idhash grants;    /* open grants by id */
    struct heap deadlines;   /* grants with a deadline, earliest first */
    struct eg_grant *paused; /* listeners paused at max_conns or EMFILE */
    int64_t resume_at_us;    /* EMFILE retry time, 0 = none */
    struct eg_grant *dead_grants;
    struct conn *dead_conns;
    struct clist connecting;
    struct clist throttled;
    int64_t throttle_at_us;
    struct clist idle; /* every live connection, least recently active first */

    int *pipe_pool; /* pairs */
    unsigned npipes;
    char **buf_pool;
    unsigned nbufs;
    size_t pipe_size; /* real pipe size after F_SETPIPE_SZ */

    unsigned live;
    unsigned idx; /* 0..nloops-1 */
    unsigned nloops;
    bool hold;   /* edge_set_hold: refuse new connections */
    bool emfile; /* paused for EMFILE: resume_at_us only, not at a connection's end */
    uint64_t next_conn_id;
    struct edge_stats st;
};

/*
 * The edge: its loops, and the little they share. Nothing here is touched on the byte path:
 * live (max_conns) is an atomic taken at accept, the source table (conns_per_source) a mutex
 * taken at accept and at a connection's end.
 */
struct edge {
    struct edge_config cfg;
    unsigned nloops;
    struct loop **loops;
    atomic_uint live; /* relayed connections (and accepts in progress), every loop */
    pthread_mutex_t src_mu;
    struct idhash sources; /* struct src_count by source address (under src_mu) */
};

/* ---- small helpers ---- */

const char *edge_end_reason_str(enum edge_end_reason r)
{
    switch (r) {
    case EDGE_END_NONE: return "none";
    case EDGE_END_CLIENT_CLOSED: return "client_closed";
    case EDGE_END_TARGET_CLOSED: return "target_closed";
    case EDGE_END_REFUSED: return "refused";
    case EDGE_END_TARGET_UNREACHABLE: return "target_unreachable";
    case EDGE_END_GRANT_CLOSED: return "grant_closed";
    case EDGE_END_GRANT_EXPIRED: return "grant_expired";
    case EDGE_END_SHUTDOWN: return "shutdown";
    case EDGE_END_LIMITED: return "limited";
    case EDGE_END_IDLE: return "idle_timeout";
    case EDGE_END_UNCONFIRMED: return "unconfirmed";
    }
    return "unknown";
}

static void format_addr(const struct sockaddr *sa, char out[EDGE_ADDR_STR_LEN])
{
    char ip[INET6_ADDRSTRLEN];
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
        snprintf(out, EDGE_ADDR_STR_LEN, "%s:%u", ip, ntohs(in->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
        snprintf(out, EDGE_ADDR_STR_LEN, "[%s]:%u", ip, ntohs(in6->sin6_port));
    } else {
        snprintf(out, EDGE_ADDR_STR_LEN, "?");
    }
}

static uint16_t sockaddr_port(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)ss)->sin_port);
    return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

/* Unique per edge: loop idx numbers idx + 1, idx + 1 + nloops, ... (1, 2, 3... with one loop). */
static uint64_t conn_id_next(struct loop *e)
{
    return e->next_conn_id++ * e->nloops + e->idx + 1;
}

static void emit(struct loop *e, const struct edge_event *ev)
{
    if (e->cfg.on_event)
        e->cfg.on_event(e->cfg.userdata, ev);
}

/* ---- intrusive connection lists ---- */

static void clist_push(struct clist *l, struct conn *c)
{
    c->lnext = NULL;
    c->lprev = l->tail;
    if (l->tail)
        l->tail->lnext = c;
    else
        l->head = c;
    l->tail = c;
    c->on_list = true;
}

static void clist_remove(struct clist *l, struct conn *c)
{
    if (c->lprev)
        c->lprev->lnext = c->lnext;
    else
        l->head = c->lnext;
    if (c->lnext)
        c->lnext->lprev = c->lprev;
    else
        l->tail = c->lprev;
    c->lprev = c->lnext = NULL;
    c->on_list = false;
}

/* The idle list has its own links: a connection is on it for its whole life. */
static void idle_push(struct clist *l, struct conn *c)
{
    c->inext = NULL;
    c->iprev = l->tail;
    if (l->tail)
        l->tail->inext = c;
    else
        l->head = c;
    l->tail = c;
}

static void idle_remove(struct clist *l, struct conn *c)
{
    if (c->iprev)
        c->iprev->inext = c->inext;
    else
        l->head = c->inext;
    if (c->inext)
        c->inext->iprev = c->iprev;
    else
        l->tail = c->iprev;
    c->iprev = c->inext = NULL;
}

/* c moved bytes: it goes to the end of the idle list. */
static void idle_touch(struct loop *e, struct conn *c)
{
    c->active_us = clock_mono_us();
    if (e->idle.tail != c) {
        idle_remove(&e->idle, c);
        idle_push(&e->idle, c);
    }
}

/* ---- live connections per source address ---- */

/* The source address of ss without its port ("::ffff:1.2.3.4" stays as the kernel gave it). */
static void source_key(const struct sockaddr_storage *ss, char out[INET6_ADDRSTRLEN])
{
    out[0] = '\0';
    if (ss->ss_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, out, INET6_ADDRSTRLEN);
    else if (ss->ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, out, INET6_ADDRSTRLEN);
}

static struct src_count *source_find(struct edge *ed, const char *key)
{
    struct idhash_node *n = idhash_find(&ed->sources, key);
    return n ? container_of(n, struct src_count, hn) : NULL;
}

/* One live connection less from source n: the entry goes with the last one. */
static void source_put(struct loop *e, struct src_count *n)
{
    if (!n)
        return;
    struct edge *ed = e->edge;
    pthread_mutex_lock(&ed->src_mu);
    if (--n->live == 0) {
        idhash_remove(&ed->sources, &n->hn);
        free(n);
    }
    pthread_mutex_unlock(&ed->src_mu);
}

/* ---- the share of a grant between loops ---- */

static struct grant_share *share_new(unsigned refs)
{
    struct grant_share *sh = xcalloc(1, sizeof(*sh));
    atomic_init(&sh->refs, refs);
    atomic_init(&sh->holders, 0);
    atomic_init(&sh->expired, false);
    atomic_init(&sh->live, 0);
    pthread_mutex_init(&sh->bk_mu, NULL);
    pthread_mutex_init(&sh->fd_mu, NULL);
    for (int i = 0; i < EDGE_THREADS_MAX; i++)
        sh->fds[i] = -1;
    return sh;
}

static void share_unref(struct grant_share *sh)
{
    if (!sh || atomic_fetch_sub(&sh->refs, 1) != 1)
        return;
    pthread_mutex_destroy(&sh->bk_mu);
    pthread_mutex_destroy(&sh->fd_mu);
    free(sh);
}

/* Loop idx's listener of the grant is fd. */
static void share_listener_set(struct grant_share *sh, unsigned idx, int fd)
{
    pthread_mutex_lock(&sh->fd_mu);
    sh->fds[idx] = fd;
    pthread_mutex_unlock(&sh->fd_mu);
}

/*
 * Loop idx lets the grant go: every loop's listener stops listening (new connections are
 * refused; their owners see accept() fail with EINVAL and drop them from epoll), and idx's
 * slot is cleared: its owner may close it.
 */
static void share_unlisten(struct grant_share *sh, unsigned idx)
{
    pthread_mutex_lock(&sh->fd_mu);
    for (int i = 0; i < EDGE_THREADS_MAX; i++)
        if (sh->fds[i] >= 0)
            shutdown(sh->fds[i], SHUT_RDWR);
    sh->fds[idx] = -1;
    pthread_mutex_unlock(&sh->fd_mu);
}

/* Bucket depth: 100 ms worth of traffic, at least 4 KiB. */
static int64_t bucket_burst(uint64_t rate)
{
    return (int64_t)(rate / 10 > 4096 ? rate / 10 : 4096);
}

/* A new rate refills both buckets (each loop applying the same update: once). */
static void share_set_rate(struct grant_share *sh, uint64_t rate)
{
    pthread_mutex_lock(&sh->bk_mu);
    if (sh->bk_rate != rate) {
        sh->bk_rate = rate;
        for (int i = 0; i < 2; i++) {
            sh->bk[i].tokens = bucket_burst(rate);
            sh->bk[i].last_us = clock_mono_us();
        }
    }
    pthread_mutex_unlock(&sh->bk_mu);
}

/* ---- grants by id (common/idhash.h), deadline heap (common/heap.h) + timerfd ---- */

static struct eg_grant *grant_of_hn(struct idhash_node *n)
{
    return container_of(n, struct eg_grant, hn);
}

static struct eg_grant *grant_find(struct loop *e, const char *id)
{
    struct idhash_node *n = idhash_find(&e->grants, id);
    return n ? grant_of_hn(n) : NULL;
}

/* Puts g in the heap at its deadline (or takes it out when deadline_ms is 0). */
static void deadline_set(struct loop *e, struct eg_grant *g)
{
    heap_remove(&e->deadlines, &g->dl);
    if (g->deadline_ms == 0)
        return;
    g->dl.key = g->deadline_ms;
    heap_push(&e->deadlines, &g->dl);
}

/* The grant with the earliest deadline, NULL when none has one. */
static struct eg_grant *deadline_first(const struct loop *e)
{
    struct heap_node *n = heap_top(&e->deadlines);
    return n ? container_of(n, struct eg_grant, dl) : NULL;
}

/* Arms the CLOCK_REALTIME timerfd at the earliest deadline (absolute, ns precision). */
static void timer_arm(struct loop *e)
{
    struct itimerspec its;
    memset(&its, 0, sizeof(its));
    struct eg_grant *first = deadline_first(e);
    if (first) {
        int64_t d = first->deadline_ms;
        its.it_value.tv_sec = d / 1000;
        its.it_value.tv_nsec = (d % 1000) * 1000000;
        if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
            its.it_value.tv_nsec = 1; /* 0 would disarm */
    }
    timerfd_settime(e->tfd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, NULL);
}

/* ---- pools of pipes and buffers ---- */

static int dir_pipe_get(struct loop *e, struct dir *d)
{
    if (e->npipes > 0) {
        e->npipes--;
        d->pr = e->pipe_pool[2 * e->npipes];
        d->pw = e->pipe_pool[2 * e->npipes + 1];
    } else {
        int p[2];
        if (pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0)
            return -errno;
        if (e->pipe_size)
            fcntl(p[1], F_SETPIPE_SZ, (int)e->pipe_size);
        d->pr = p[0];
        d->pw = p[1];
    }
    e->st.busy_pipes++;
    return 0;
}

/* Returns d's pipe to the pool when it is empty, closes it otherwise (data would leak). */
static void dir_pipe_put(struct loop *e, struct dir *d)
{
    if (d->pr < 0)
        return;
    e->st.busy_pipes--;
    if (d->len == 0 && e->npipes < e->cfg.pool_max) {
        e->pipe_pool[2 * e->npipes] = d->pr;
        e->pipe_pool[2 * e->npipes + 1] = d->pw;
        e->npipes++;
    } else {
        close(d->pr);
        close(d->pw);
    }
    d->pr = d->pw = -1;
}

static void dir_buf_get(struct loop *e, struct dir *d)
{
    if (e->nbufs > 0)
        d->buf = e->buf_pool[--e->nbufs];
    else
        d->buf = xmalloc(e->cfg.chunk_size);
    d->off = d->len = 0;
    e->st.busy_bufs++;
}

static void dir_buf_put(struct loop *e, struct dir *d)
{
    if (!d->buf)
        return;
    e->st.busy_bufs--;
    if (e->nbufs < e->cfg.pool_max)
        e->buf_pool[e->nbufs++] = d->buf;
    else
        free(d->buf);
    d->buf = NULL;
    d->off = d->len = 0;
}

/* ---- connections ---- */

static void listeners_pause(struct loop *e, struct eg_grant *g)
{
    if (g->paused)
        return;
    struct epoll_event ev = {.events = 0, .data.ptr = &g->h};
    epoll_ctl(e->ep, EPOLL_CTL_MOD, g->fd, &ev);
    g->paused = true;
    g->pnext = e->paused;
    e->paused = g;
    e->st.accept_paused++;
}

static void listeners_resume(struct loop *e)
{
    while (e->paused) {
        struct eg_grant *g = e->paused;
        e->paused = g->pnext;
        g->pnext = NULL;
        g->paused = false;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &g->h};
        epoll_ctl(e->ep, EPOLL_CTL_MOD, g->fd, &ev);
    }
    e->resume_at_us = 0;
    e->emfile = false;
}

/* An abortive close: RST instead of FIN, so a cut is a cut even with unsent data. */
static void close_rst(int fd)
{
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(fd);
}

/*
 * Ends c: closes both sockets (with RST when cut by the edge), gives back its
 * pipes/buffers, reports EDGE_EV_CONN_END and queues the struct for freeing
 * after the current epoll batch (events of this batch may still point at it).
 */
static void conn_end(struct loop *e, struct conn *c, enum edge_end_reason reason, int err)
{
    if (c->closing)
        return;
    c->closing = true;
    struct eg_grant *g = c->g;

    if (c->on_list)
        clist_remove(c->connected ? &e->throttled : &e->connecting, c);
    if (c->gprev)
        c->gprev->gnext = c->gnext;
    else
        g->conns = c->gnext;
    if (c->gnext)
        c->gnext->gprev = c->gprev;
    idle_remove(&e->idle, c);
    source_put(e, c->src_n);
    c->src_n = NULL;
    g->live--;
    e->live--;
    atomic_fetch_sub(&g->sh->live, 1);
    atomic_fetch_sub(&e->edge->live, 1);

    bool cut = reason == EDGE_END_GRANT_CLOSED || reason == EDGE_END_GRANT_EXPIRED ||
               reason == EDGE_END_SHUTDOWN;
    for (int i = 0; i < 2; i++) {
        dir_pipe_put(e, &c->d[i]);
        dir_buf_put(e, &c->d[i]);
    }
    if (cut) {
        close_rst(c->cfd);
        if (c->tfd >= 0)
            close_rst(c->tfd);
    } else {
        close(c->cfd);
        if (c->tfd >= 0)
            close(c->tfd);
    }
    c->cfd = c->tfd = -1;

    struct edge_event ev = {
        .type = EDGE_EV_CONN_END,
        .grant_id = g->id,
        .conn_id = c->id,
        .src_str = c->src_str,
        .start_ms = c->start_ms,
        .end_ms = clock_real_ms(),
        .bytes_c2t = c->d[0].bytes,
        .bytes_t2c = c->d[1].bytes,
        .reason = reason,
        .error = err,
        .deadline_ms = g->deadline_ms,
    };
    memcpy(&ev.src, &c->src, sizeof(c->src));
    emit(e, &ev);

    c->g = NULL;
    c->fnext = e->dead_conns;
    e->dead_conns = c;
    if (e->paused && !e->emfile && atomic_load(&e->edge->live) < e->cfg.max_conns)
        listeners_resume(e);
}

/* Ends c because of an I/O error or EOF on side `dir_side` (0 = client, 1 = target). */
static void conn_fail(struct loop *e, struct conn *c, int side, int err)
{
    int first = c->first_eof >= 0 ? c->first_eof : side;
    conn_end(e, c, first == 0 ? EDGE_END_CLIENT_CLOSED : EDGE_END_TARGET_CLOSED, err);
}

/*
 * Takes up to want bytes from the grant's bucket for direction i (shared by the loops, under
 * its mutex: only rate-limited grants come here); returns what it may move.
 */
static size_t bucket_take(struct eg_grant *g, int i, size_t want)
{
    struct grant_share *sh = g->sh;
    pthread_mutex_lock(&sh->bk_mu);
    struct bucket *b = &sh->bk[i];
    int64_t now = clock_mono_us();
    int64_t burst = bucket_burst(g->rate);
    int64_t add = (int64_t)((double)g->rate * (double)(now - b->last_us) / 1e6);
    if (add > 0) {
        b->tokens += add;
        if (b->tokens > burst)
            b->tokens = burst;
        b->last_us = now;
    }
    size_t r = 0;
    if (b->tokens > 0)
        r = want < (size_t)b->tokens ? want : (size_t)b->tokens;
    pthread_mutex_unlock(&sh->bk_mu);
    return r;
}

/* n bytes moved in direction i of a rate-limited grant. */
static void bucket_spend(struct eg_grant *g, int i, ssize_t n)
{
    pthread_mutex_lock(&g->sh->bk_mu);
    g->sh->bk[i].tokens -= n;
    pthread_mutex_unlock(&g->sh->bk_mu);
}

/*
 * What epoll has said of a peer's end, for read_drained(). PEER_GONE (EPOLLHUP or EPOLLERR: a
 * reset, or both directions shut) is final: no edge will follow, and a reset must still be
 * read as the error it is, so such a socket is read until read() says 0 or fails.
 */
enum peer_end { PEER_OPEN, PEER_FIN, PEER_GONE };

/* The peer end told by events ev, given what was known (an end only moves forward). */
static uint8_t peer_end_of(uint8_t known, uint32_t ev)
{
    if (ev & (EPOLLHUP | EPOLLERR))
        return PEER_GONE;
    if ((ev & EPOLLRDHUP) && known == PEER_OPEN)
        return PEER_FIN;
    return known;
}

/*
 * A read of direction i returned less than asked for: the socket's receive queue is empty
 * (TCP copies until it is, or until the length asked for). With edge-triggered epoll the next
 * data raises a new EPOLLIN, so the read that would only say EAGAIN is skipped, as nginx does.
 * When the peer's FIN had been seen (EPOLLRDHUP, before this read), everything before it has
 * now been read: that is the end of the stream, without the read that would return 0.
 * Saves one to two of the ~16 syscalls of a short connection (docs/benchmarks.md, issue 13).
 */
/* Direction i's read side has ended (a read of 0, or read_drained() after the peer's FIN). */
static void dir_eof(struct conn *c, int i)
{
    c->d[i].eof = true;
    if (c->first_eof < 0)
        c->first_eof = (int8_t)i;
}

static void read_drained(struct conn *c, int i, bool *rd)
{
    uint8_t peer = i == 0 ? c->c_peer : c->t_peer;
    if (peer == PEER_OPEN)
        *rd = false;
    else if (peer == PEER_FIN)
        dir_eof(c, i);
    /* PEER_GONE: no edge will come again; read on to the 0 or the error */
}

/*
 * The flags of a send of direction d's buffer. Once d's read side has ended, what is sent is
 * the last of the stream and its FIN follows as soon as it is out (shutdown() or close(),
 * below): MSG_MORE holds it back for that moment, and TCP then sends data and FIN as one
 * segment (tcp_send_fin() marks the queued one), and the peer acks both at once: up to two
 * of a short relayed connection's twenty segments fewer (18.4 measured, docs/benchmarks.md).
 */
static int dir_send_flags(const struct dir *d)
{
    return MSG_NOSIGNAL | (d->eof ? MSG_MORE : 0);
}

/*
 * Moves data in direction i as far as readiness allows. Returns 0, or -1 when
 * the connection was ended (c must not be touched any more).
 */
static int dir_pump(struct loop *e, struct conn *c, int i)
{
    struct dir *d = &c->d[i];
    int sfd = i == 0 ? c->cfd : c->tfd;
    int dfd = i == 0 ? c->tfd : c->cfd;
    bool *rd = i == 0 ? &c->c_rd : &c->t_rd;
    bool *wr = i == 0 ? &c->t_wr : &c->c_wr;
    for (;;) {
        bool splice_mode = d->spliced; /* the buffer is empty when this turns true */
        size_t cap = splice_mode ? e->pipe_size : e->cfg.chunk_size;
        bool progress = false;
        size_t held = splice_mode ? d->len : d->len - d->off;

        /* fill */
        if (!d->eof && *rd && !d->throttled && d->len < cap) {
            size_t want = cap - d->len;
            if (c->g->rate) {
                want = bucket_take(c->g, i, want);
                if (want == 0) {
                    d->throttled = true;
                    if (!c->on_list)
                        clist_push(&e->throttled, c);
                }
            }
            if (want > 0) {
                ssize_t n;
                if (splice_mode) {
                    int pr = d->pr < 0 ? dir_pipe_get(e, d) : 0;
                    if (pr < 0) {
                        conn_fail(e, c, i, -pr);
                        return -1;
                    }
                    n = splice(sfd, NULL, d->pw, NULL, want, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
                } else {
                    if (!d->buf)
                        dir_buf_get(e, d);
                    n = read(sfd, d->buf + d->len, want);
                }
                if (n > 0) {
                    d->len += (size_t)n;
                    held += (size_t)n;
                    if (c->g->rate)
                        bucket_spend(c->g, i, n);
                    progress = true;
                    if (!splice_mode && (size_t)n < want)
                        read_drained(c, i, rd);
                } else if (n == 0) {
                    dir_eof(c, i);
                    progress = true;
                } else if (errno == EAGAIN) {
                    /* splice also says EAGAIN when the pipe is full (in slots, not bytes):
                     * keep the readiness until the pipe has been drained once. */
                    if (!(splice_mode && held > 0))
                        *rd = false;
                } else if (errno != EINTR) {
                    conn_fail(e, c, i, errno);
                    return -1;
                }
                if (held == 0) { /* nothing read: give the pipe/buffer back */
                    if (splice_mode)
                        dir_pipe_put(e, d);
                    else
                        dir_buf_put(e, d);
                }
            }
        }

        /* drain */
        if (held > 0 && *wr) {
            ssize_t n;
            if (splice_mode)
                n = splice(d->pr, NULL, dfd, NULL, held, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
            else
                n = send(dfd, d->buf + d->off, held, dir_send_flags(d));
            if (n > 0) {
                d->bytes += (uint64_t)n;
                progress = true;
                if (splice_mode) {
                    d->len -= (size_t)n;
                    if (d->len == 0)
                        dir_pipe_put(e, d);
                } else {
                    d->off += (size_t)n;
                    if (d->off == d->len) {
                        dir_buf_put(e, d);
                        if (e->cfg.mode == EDGE_RELAY_SPLICE && d->bytes >= EDGE_SPLICE_AFTER) {
                            d->spliced = true;
                            e->st.spliced++;
                        }
                    }
                }
                if (!splice_mode && (size_t)n < held)
                    *wr = false; /* a short send: the socket buffer is full (EPOLLOUT re-arms) */
            } else if (n < 0 && errno == EAGAIN) {
                *wr = false;
            } else if (n < 0 && errno != EINTR) {
                conn_fail(e, c, 1 - i, errno);
                return -1;
            }
        }

        held = splice_mode ? d->len : d->len - d->off;
        if (d->eof && held == 0 && !d->shut) {
            if (!c->d[1 - i].shut) /* else the connection ends now, and close() sends the FIN */
                shutdown(dfd, SHUT_WR);
            d->shut = true;
        }
        if (!progress)
            return 0;
    }
}

static void conn_pump(struct loop *e, struct conn *c)
{
    uint64_t before = c->d[0].bytes + c->d[1].bytes;
    if (dir_pump(e, c, 0) < 0 || dir_pump(e, c, 1) < 0)
        return;
    if (c->d[0].bytes + c->d[1].bytes != before)
        idle_touch(e, c);
    if (c->d[0].shut && c->d[1].shut)
        conn_fail(e, c, c->first_eof, 0);
}

/* The target connect finished (ok or not): ev, its epoll events (an error shows as ERR/HUP). */
static void conn_connected(struct loop *e, struct conn *c, uint32_t ev)
{
    int err = 0;
    socklen_t len = sizeof(err);
    if ((ev & (EPOLLERR | EPOLLHUP)) && getsockopt(c->tfd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (c->on_list)
        clist_remove(&e->connecting, c);
    if (err) {
        e->st.unreachable++;
        conn_end(e, c, EDGE_END_TARGET_UNREACHABLE, err);
        return;
    }
    c->connected = true;
    /* what has arrived by now is in ev (epoll reads the mask when it reports): anything later
     * raises its own EPOLLIN, so no read is tried on a target that has said nothing yet */
    c->t_rd = (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0;
    c->t_peer = peer_end_of(c->t_peer, ev);
    c->t_wr = true;
    conn_pump(e, c);
}

/*
 * Closes fd at once and reports it (reason REFUSED: not allowed; LIMITED: at a cap;
 * UNCONFIRMED: the edge holds).
 */
static void refuse(struct loop *e, struct eg_grant *g, int fd, const struct sockaddr_storage *ss,
                   enum edge_end_reason reason)
{
    close(fd);
    if (reason == EDGE_END_LIMITED) {
        g->limited++;
        e->st.limited++;
    } else if (reason == EDGE_END_UNCONFIRMED) {
        g->refused++;
        e->st.unconfirmed++;
    } else {
        g->refused++;
        e->st.refused++;
    }
    char s[EDGE_ADDR_STR_LEN];
    format_addr((const struct sockaddr *)ss, s);
    int64_t now = clock_real_ms();
    struct edge_event ev = {
        .type = EDGE_EV_CONN_END,
        .grant_id = g->id,
        .conn_id = conn_id_next(e),
        .src = *ss,
        .src_str = s,
        .start_ms = now,
        .end_ms = now,
        .reason = reason,
        .deadline_ms = g->deadline_ms,
    };
    emit(e, &ev);
}

/*
 * Takes a place for an allowed connection of g from ss: in the grant's live count (every loop)
 * and, when conns_per_source is on, in its source's (set in *ret_src, else NULL). Returns false,
 * taking nothing, when the grant or the source is at its cap.
 */
static bool admit(struct loop *e, struct eg_grant *g, const struct sockaddr_storage *ss,
                  struct src_count **ret_src)
{
    *ret_src = NULL;
    unsigned cap = e->cfg.conns_per_grant;
    if (atomic_fetch_add(&g->sh->live, 1) >= cap && cap) {
        atomic_fetch_sub(&g->sh->live, 1);
        return false;
    }
    if (!e->cfg.conns_per_source)
        return true;
    char key[INET6_ADDRSTRLEN];
    source_key(ss, key);
    struct edge *ed = e->edge;
    pthread_mutex_lock(&ed->src_mu);
    struct src_count *n = source_find(ed, key);
    if (n && n->live >= e->cfg.conns_per_source) {
        pthread_mutex_unlock(&ed->src_mu);
        atomic_fetch_sub(&g->sh->live, 1);
        return false;
    }
    if (!n) {
        n = xcalloc(1, sizeof(*n));
        snprintf(n->addr, sizeof(n->addr), "%s", key);
        n->hn.id = n->addr;
        idhash_insert(&ed->sources, &n->hn);
    }
    n->live++;
    pthread_mutex_unlock(&ed->src_mu);
    *ret_src = n;
    return true;
}

static bool allowed(const struct eg_grant *g, const struct sockaddr_storage *ss)
{
    for (size_t i = 0; i < g->n_allow; i++)
        if (cidr_contains_sockaddr(&g->allow[i], (const struct sockaddr *)ss))
            return true;
    return false;
}

static void set_nodelay(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* Starts relaying accepted socket fd of grant g (allowed source ss, its count src_n taken). */
static void conn_start(struct loop *e, struct eg_grant *g, int fd,
                       const struct sockaddr_storage *ss, struct src_count *src_n)
{
    struct conn *c = xcalloc(1, sizeof(*c));
    c->src_n = src_n;
    c->hc.kind = H_CLIENT;
    c->ht.kind = H_TARGET;
    c->cfd = fd;
    c->tfd = -1;
    c->first_eof = -1;
    for (int i = 0; i < 2; i++)
        c->d[i].pr = c->d[i].pw = -1;
    c->g = g;
    c->id = conn_id_next(e);
    c->start_ms = clock_real_ms();
    memcpy(&c->src, ss, ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(c->src));
    format_addr((const struct sockaddr *)ss, c->src_str);
    c->c_rd = c->c_wr = true;

    c->gnext = g->conns;
    if (g->conns)
        g->conns->gprev = c;
    g->conns = c;
    g->live++;
    g->total++;
    e->live++;
    e->st.accepted++;
    c->active_us = clock_mono_us();
    idle_push(&e->idle, c);

    struct edge_event ev = {
        .type = EDGE_EV_CONN_START,
        .grant_id = g->id,
        .conn_id = c->id,
        .src_str = c->src_str,
        .start_ms = c->start_ms,
        .deadline_ms = g->deadline_ms,
    };
    memcpy(&ev.src, &c->src, sizeof(c->src));
    emit(e, &ev);
    if (c->closing) /* the callback closed the grant */
        return;

    /* (the accepted socket has TCP_NODELAY from its listener) */
    struct epoll_event cev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                              .data.ptr = &c->hc};
    if (epoll_ctl(e->ep, EPOLL_CTL_ADD, fd, &cev) < 0) {
        conn_end(e, c, EDGE_END_TARGET_UNREACHABLE, errno);
        return;
    }
    c->tfd = socket(g->target.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->tfd < 0) {
        e->st.unreachable++;
        conn_end(e, c, EDGE_END_TARGET_UNREACHABLE, errno);
        return;
    }
    set_nodelay(c->tfd);
    int r = connect(c->tfd, (const struct sockaddr *)&g->target, g->target_len);
    if (r < 0 && errno != EINPROGRESS) {
        e->st.unreachable++;
        conn_end(e, c, EDGE_END_TARGET_UNREACHABLE, errno);
        return;
    }
    struct epoll_event tev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                              .data.ptr = &c->ht};
    if (epoll_ctl(e->ep, EPOLL_CTL_ADD, c->tfd, &tev) < 0) {
        conn_end(e, c, EDGE_END_TARGET_UNREACHABLE, errno);
        return;
    }
    /* r == 0 (immediate connect) still reports EPOLLOUT, handled like the async case */
    c->connect_deadline_us = clock_mono_us() + (int64_t)e->cfg.connect_timeout_ms * 1000;
    clist_push(&e->connecting, c);
}

/*
 * The place of a connection about to be accepted in max_conns (every loop), or false with the
 * listener paused. With several loops, another loop may free a place: retry shortly.
 */
static bool place_take(struct loop *e, struct eg_grant *g)
{
    if (atomic_fetch_add(&e->edge->live, 1) < e->cfg.max_conns)
        return true;
    atomic_fetch_sub(&e->edge->live, 1);
    listeners_pause(e, g);
    if (e->nloops > 1 && !e->resume_at_us)
        e->resume_at_us = clock_mono_us() + CAP_RETRY_MS * 1000;
    return false;
}

static void grant_teardown(struct loop *e, struct eg_grant *g, enum edge_end_reason reason);

static void on_accept(struct loop *e, struct eg_grant *g)
{
    if (g->deadline_ms && clock_real_ms() >= g->deadline_ms) {
        /* this loop's timer is behind the deadline: accept nothing more (another loop's may
         * have fired, the kernel still spreads connections to this listener) */
        grant_teardown(e, g, EDGE_END_GRANT_EXPIRED);
        timer_arm(e);
        return;
    }
    for (int n = 0; n < ACCEPT_BATCH && !g->dead; n++) {
        if (!place_take(e, g))
            return;
        struct sockaddr_storage ss = {0}; /* accept() fills the family's part */
        socklen_t len = sizeof(ss);
        int fd = accept4(g->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            atomic_fetch_sub(&e->edge->live, 1);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EINVAL) { /* another loop stopped it (share_unlisten): teardown next */
                epoll_ctl(e->ep, EPOLL_CTL_DEL, g->fd, NULL);
                return;
            }
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                /* out of descriptors: stop accepting for a moment rather than spin */
                listeners_pause(e, g);
                e->resume_at_us = clock_mono_us() + EMFILE_RETRY_MS * 1000;
                e->emfile = true;
            }
            return;
        }
        struct src_count *src_n = NULL;
        enum edge_end_reason why = EDGE_END_NONE;
        if (!allowed(g, &ss))
            why = EDGE_END_REFUSED;
        else if (e->hold)
            why = EDGE_END_UNCONFIRMED;
        else if (!admit(e, g, &ss, &src_n))
            why = EDGE_END_LIMITED;
        if (why == EDGE_END_NONE) {
            conn_start(e, g, fd, &ss, src_n);
        } else {
            atomic_fetch_sub(&e->edge->live, 1);
            refuse(e, g, fd, &ss, why);
        }
    }
}

/* ---- grants ---- */

/* Closes g's listener, cuts its connections and queues it for freeing. */
static void grant_teardown(struct loop *e, struct eg_grant *g, enum edge_end_reason reason)
{
    if (g->dead)
        return;
    g->dead = true;
    idhash_remove(&e->grants, &g->hn);
    heap_remove(&e->deadlines, &g->dl);
    if (g->paused) {
        struct eg_grant **pp = &e->paused;
        while (*pp && *pp != g)
            pp = &(*pp)->pnext;
        if (*pp)
            *pp = g->pnext;
        g->paused = false;
    }
    share_unlisten(g->sh, e->idx);
    close(g->fd);
    g->fd = -1;
    while (g->conns)
        conn_end(e, g->conns, reason, 0);
    struct grant_share *sh = g->sh;
    g->sh = NULL;
    if (reason == EDGE_END_GRANT_EXPIRED)
        atomic_store(&sh->expired, true);
    /* expiry is reported once, by the last loop to let the grant go: no loop accepts then */
    bool last = atomic_fetch_sub(&sh->holders, 1) == 1;
    bool expired = last && atomic_load(&sh->expired);
    share_unref(sh);
    if (expired) {
        struct edge_event ev = {
            .type = EDGE_EV_GRANT_EXPIRED,
            .grant_id = g->id,
            .end_ms = clock_real_ms(),
            .deadline_ms = g->deadline_ms,
        };
        emit(e, &ev);
    }
    g->pnext = e->dead_grants;
    e->dead_grants = g;
}

static int grant_set_params(struct eg_grant *g, const struct edge_grant *in)
{
    if (in->n_allow > EDGE_ALLOW_MAX || (in->n_allow > 0 && !in->allow))
        return -EINVAL;
    if (in->deadline_ms < 0)
        return -EINVAL;
    struct cidr *a = NULL;
    if (in->n_allow > 0) {
        a = xmalloc(in->n_allow * sizeof(*a));
        memcpy(a, in->allow, in->n_allow * sizeof(*a));
    }
    free(g->allow);
    g->allow = a;
    g->n_allow = in->n_allow;
    g->deadline_ms = in->deadline_ms;
    g->rate = in->rate_limit;
    if (g->sh)
        share_set_rate(g->sh, g->rate);
    return 0;
}

/*
 * With several loops, a grant's port is bound by every loop (SO_REUSEPORT: the kernel spreads
 * connections over their listeners). SO_REUSEPORT would also let a second grant, or another
 * process of the same user, bind a port already taken and silently share its connections; so
 * the first loop first binds the port once without it: EADDRINUSE as with a single loop.
 */
static int port_probe(const struct sockaddr_storage *ss, socklen_t len)
{
    int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1, r = 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (ss->ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(fd, (const struct sockaddr *)ss, len) < 0)
        r = -errno;
    close(fd);
    return r;
}

/* Binds and listens g->fd on g->listen (filled in with the bound port); join: see port_probe. */
static int listener_open(struct loop *e, struct eg_grant *g, socklen_t llen, bool join)
{
    bool shared = e->nloops > 1;
    if (shared && !join && sockaddr_port(&g->listen) != 0) {
        int r = port_probe(&g->listen, llen);
        if (r < 0)
            return r;
    }
    g->fd = socket(g->listen.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (g->fd < 0)
        return -errno;
    int one = 1;
    setsockopt(g->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (shared)
        setsockopt(g->fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    setsockopt(g->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)); /* inherited by accept */
    if (g->listen.ss_family == AF_INET6)
        setsockopt(g->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(g->fd, (struct sockaddr *)&g->listen, llen) < 0 || listen(g->fd, LISTEN_BACKLOG) < 0)
        return -errno;
    socklen_t sl = sizeof(g->listen);
    getsockname(g->fd, (struct sockaddr *)&g->listen, &sl);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &g->h};
    if (epoll_ctl(e->ep, EPOLL_CTL_ADD, g->fd, &ev) < 0)
        return -errno;
    return 0;
}

/*
 * CMD_OPEN in one loop. A grant the loop has is updated (c->sh becomes its share); a new one
 * takes c->sh and, in a joining loop, c->port. The first loop sets c->port to the bound port.
 */
static int do_open(struct loop *e, struct cmd *c)
{
    const struct edge_grant *in = c->g;
    if (!in || !in->id || in->id[0] == '\0' || strlen(in->id) > EDGE_ID_MAX)
        return -EINVAL;
    struct eg_grant *g = grant_find(e, in->id);
    if (g) {
        int r = grant_set_params(g, in); /* validates before changing anything */
        if (r < 0)
            return r;
        if (c->sh != g->sh) { /* the others join the grant's share, not the new one */
            atomic_fetch_add(&g->sh->refs, 1);
            share_unref(c->sh);
            c->sh = g->sh;
        }
        c->port = sockaddr_port(&g->listen);
        deadline_set(e, g);
        timer_arm(e); /* a past deadline fires at once */
        return 0;
    }
    if (in->deadline_ms != 0 && in->deadline_ms <= clock_real_ms())
        return -ETIMEDOUT;

    g = xcalloc(1, sizeof(*g));
    g->h.kind = H_LISTENER;
    heap_node_init(&g->dl);
    g->fd = -1;
    snprintf(g->id, sizeof(g->id), "%s", in->id);
    g->hn.id = g->id;
    socklen_t llen = 0, tlen = 0;
    int r = netaddr_parse(in->listen_addr, c->join ? c->port : in->listen_port, &g->listen, &llen);
    if (r == 0)
        r = netaddr_parse(in->target_addr, in->target_port, &g->target, &tlen);
    if (r == 0 && in->target_port == 0)
        r = -EINVAL;
    if (r == 0)
        r = grant_set_params(g, in);
    if (r < 0)
        goto out_free;
    g->target_len = tlen;
    r = listener_open(e, g, llen, c->join);
    if (r < 0)
        goto out_close;
    g->sh = c->sh;
    atomic_fetch_add(&g->sh->refs, 1);
    atomic_fetch_add(&g->sh->holders, 1);
    if (e->nloops > 1)
        share_listener_set(g->sh, e->idx, g->fd);
    share_set_rate(g->sh, g->rate);
    c->port = sockaddr_port(&g->listen);
    c->created = true;
    idhash_insert(&e->grants, &g->hn);
    deadline_set(e, g);
    timer_arm(e);
    if (atomic_load(&e->edge->live) >= e->cfg.max_conns)
        listeners_pause(e, g);
    return 0;

out_close:
    if (g->fd >= 0)
        close(g->fd);
out_free:
    free(g->allow);
    free(g);
    return r;
}

static void grant_info(const struct eg_grant *g, struct edge_grant_info *out)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->id, sizeof(out->id), "%s", g->id);
    out->listen = g->listen;
    out->listen_port = sockaddr_port(&g->listen);
    out->deadline_ms = g->deadline_ms;
    out->rate_limit = g->rate;
    out->live_conns = g->live;
    out->total_conns = g->total;
    out->refused_conns = g->refused;
    out->limited_conns = g->limited;
}

static void run_cmd(struct loop *e, struct cmd *c)
{
    struct eg_grant *g;
    switch (c->type) {
    case CMD_OPEN: c->result = do_open(e, c); break;
    case CMD_CLOSE:
        g = c->id ? grant_find(e, c->id) : NULL;
        if (!g) {
            c->result = -ENOENT;
            break;
        }
        grant_teardown(e, g, EDGE_END_GRANT_CLOSED);
        timer_arm(e);
        c->result = 0;
        break;
    case CMD_GET:
        g = c->id ? grant_find(e, c->id) : NULL;
        c->result = g ? 0 : -ENOENT;
        if (g)
            grant_info(g, c->info);
        break;
    case CMD_LIST: {
        struct edge_grant_info *list = NULL;
        size_t n = 0;
        if (e->grants.n > 0) {
            list = xcalloc(e->grants.n, sizeof(*list));
            for (struct idhash_node *hn = idhash_next(&e->grants, NULL); hn;
                 hn = idhash_next(&e->grants, hn))
                grant_info(grant_of_hn(hn), &list[n++]);
        }
        *c->list = list;
        *c->n = n;
        c->result = 0;
        break;
    }
    case CMD_STATS:
        *c->st = e->st;
        c->st->grants = (unsigned)e->grants.n;
        c->st->live_conns = e->live;
        c->st->pool_pipes = e->npipes;
        c->st->pool_bufs = e->nbufs;
        c->st->held = e->hold;
        c->st->loops = 1;
        c->st->loop_conns[0] = e->live;
        c->result = 0;
        break;
    case CMD_HOLD:
        e->hold = c->hold;
        c->result = 0;
        break;
    case CMD_STOP:
        e->stop = true;
        c->result = 0;
        break;
    }
}

/* Runs a command in the relay thread and waits for it (inline when already there). */
static int submit(struct loop *e, struct cmd *c)
{
    if (pthread_equal(pthread_self(), e->thread)) {
        run_cmd(e, c);
        return c->result;
    }
    pthread_mutex_lock(&e->mu);
    c->next = NULL;
    if (e->q_tail)
        e->q_tail->next = c;
    else
        e->q_head = c;
    e->q_tail = c;
    pthread_mutex_unlock(&e->mu);
    uint64_t one = 1;
    ssize_t w = write(e->evfd, &one, sizeof(one));
    (void)w;
    pthread_mutex_lock(&e->mu);
    while (!c->done)
        pthread_cond_wait(&e->cv, &e->mu);
    pthread_mutex_unlock(&e->mu);
    return c->result;
}

static void drain_cmds(struct loop *e)
{
    uint64_t v;
    ssize_t r = read(e->evfd, &v, sizeof(v));
    (void)r;
    for (;;) {
        pthread_mutex_lock(&e->mu);
        struct cmd *c = e->q_head;
        if (c) {
            e->q_head = c->next;
            if (!e->q_head)
                e->q_tail = NULL;
        }
        pthread_mutex_unlock(&e->mu);
        if (!c)
            return;
        run_cmd(e, c);
        pthread_mutex_lock(&e->mu);
        c->done = true;
        pthread_cond_broadcast(&e->cv);
        pthread_mutex_unlock(&e->mu);
    }
}

static void on_timer(struct loop *e)
{
    uint64_t v;
    ssize_t r = read(e->tfd, &v, sizeof(v)); /* ECANCELED after a clock jump: re-check anyway */
    (void)r;
    int64_t now = clock_real_ms();
    struct eg_grant *g;
    while ((g = deadline_first(e)) && g->deadline_ms <= now)
        grant_teardown(e, g, EDGE_END_GRANT_EXPIRED);
    timer_arm(e);
}

/* Periodic work outside epoll events: throttled conns, connect timeouts, EMFILE retry. */
static void housekeeping(struct loop *e)
{
    int64_t now = clock_mono_us();
    if (e->throttled.head && now >= e->throttle_at_us) {
        struct clist l = e->throttled;
        e->throttled.head = e->throttled.tail = NULL;
        for (struct conn *c = l.head; c; c = c->lnext)
            c->on_list = false;
        struct conn *c = l.head;
        while (c) {
            struct conn *next = c->lnext;
            c->lprev = c->lnext = NULL;
            c->d[0].throttled = c->d[1].throttled = false;
            if (!c->closing)
                conn_pump(e, c);
            c = next;
        }
        e->throttle_at_us = now + THROTTLE_TICK_MS * 1000;
    }
    while (e->connecting.head && e->connecting.head->connect_deadline_us <= now) {
        e->st.unreachable++;
        conn_end(e, e->connecting.head, EDGE_END_TARGET_UNREACHABLE, ETIMEDOUT);
    }
    int64_t idle_us = (int64_t)e->cfg.idle_timeout_ms * 1000;
    while (idle_us && e->idle.head && e->idle.head->active_us + idle_us <= now) {
        e->st.idle_cut++;
        conn_end(e, e->idle.head, EDGE_END_IDLE, 0);
    }
    if (e->resume_at_us && now >= e->resume_at_us) {
        e->resume_at_us = 0;
        listeners_resume(e);
    }
}

static int next_timeout_ms(struct loop *e)
{
    int64_t now = clock_mono_us(), t = -1;
    if (e->throttled.head)
        t = e->throttle_at_us > now ? e->throttle_at_us - now : 0;
    if (e->connecting.head) {
        int64_t d = e->connecting.head->connect_deadline_us - now;
        if (d < 0)
            d = 0;
        if (t < 0 || d < t)
            t = d;
    }
    if (e->resume_at_us) {
        int64_t d = e->resume_at_us > now ? e->resume_at_us - now : 0;
        if (t < 0 || d < t)
            t = d;
    }
    if (e->cfg.idle_timeout_ms && e->idle.head) {
        int64_t d = e->idle.head->active_us + (int64_t)e->cfg.idle_timeout_ms * 1000 - now;
        if (d < 0)
            d = 0;
        if (t < 0 || d < t)
            t = d;
    }
    if (t < 0)
        return -1;
    return (int)((t + 999) / 1000);
}

static void free_deferred(struct loop *e)
{
    while (e->dead_conns) {
        struct conn *c = e->dead_conns;
        e->dead_conns = c->fnext;
        free(c);
    }
    while (e->dead_grants) {
        struct eg_grant *g = e->dead_grants;
        e->dead_grants = g->pnext;
        free(g->allow);
        free(g);
    }
}

static void *loop_main(void *arg)
{
    struct loop *e = arg;
    struct epoll_event evs[MAX_EVENTS];

    while (!e->stop) {
        int n = epoll_wait(e->ep, evs, MAX_EVENTS, next_timeout_ms(e));
        if (n < 0 && errno != EINTR)
            break;
        for (int i = 0; i < n; i++) {
            struct handle *h = evs[i].data.ptr;
            uint32_t ev = evs[i].events;
            struct conn *c;
            switch (h->kind) {
            case H_CMD: drain_cmds(e); break;
            case H_TIMER: on_timer(e); break;
            case H_LISTENER: {
                struct eg_grant *g = container_of(h, struct eg_grant, h);
                if (!g->dead)
                    on_accept(e, g);
                break;
            }
            case H_CLIENT:
                c = container_of(h, struct conn, hc);
                if (c->closing)
                    break;
                if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
                    c->c_rd = true;
                c->c_peer = peer_end_of(c->c_peer, ev);
                if (ev & (EPOLLOUT | EPOLLHUP | EPOLLERR))
                    c->c_wr = true;
                if (c->connected)
                    conn_pump(e, c);
                break;
            case H_TARGET:
                c = container_of(h, struct conn, ht);
                if (c->closing)
                    break;
                if (!c->connected) {
                    if (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))
                        conn_connected(e, c, ev);
                    break;
                }
                if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
                    c->t_rd = true;
                c->t_peer = peer_end_of(c->t_peer, ev);
                if (ev & (EPOLLOUT | EPOLLHUP | EPOLLERR))
                    c->t_wr = true;
                conn_pump(e, c);
                break;
            }
        }
        housekeeping(e);
        free_deferred(e);
    }

    /* shutdown: cut everything, answer whoever still waits */
    while (e->grants.n > 0) { /* (a callback may open a grant meanwhile) */
        size_t pos = 0;
        struct idhash_node *hn;
        while ((hn = idhash_scan(&e->grants, &pos)))
            grant_teardown(e, grant_of_hn(hn), EDGE_END_SHUTDOWN);
    }
    free_deferred(e);
    pthread_mutex_lock(&e->mu);
    for (struct cmd *c = e->q_head; c; c = c->next) {
        c->result = -ECANCELED;
        c->done = true;
    }
    e->q_head = e->q_tail = NULL;
    pthread_cond_broadcast(&e->cv);
    pthread_mutex_unlock(&e->mu);
    return NULL;
}

/* ---- one loop: start, stop ---- */

static void loop_release(struct loop *e)
{
    if (e->ep >= 0)
        close(e->ep);
    if (e->evfd >= 0)
        close(e->evfd);
    if (e->tfd >= 0)
        close(e->tfd);
    for (unsigned i = 0; i < 2 * e->npipes; i++)
        close(e->pipe_pool[i]);
    for (unsigned i = 0; i < e->nbufs; i++)
        free(e->buf_pool[i]);
    free(e->pipe_pool);
    free(e->buf_pool);
    idhash_release(&e->grants);
    heap_release(&e->deadlines);
    pthread_mutex_destroy(&e->mu);
    pthread_cond_destroy(&e->cv);
    free(e);
}

/* Starts loop idx of ed (ed->cfg complete). Returns 0 and sets *ret, or -errno. */
static int loop_start(struct edge *ed, unsigned idx, struct loop **ret)
{
    struct loop *e = xcalloc(1, sizeof(*e));
    int r;
    e->cfg = ed->cfg;
    e->edge = ed;
    e->idx = idx;
    e->nloops = ed->nloops;
    e->ep = e->evfd = e->tfd = -1;
    idhash_init(&e->grants, 64);
    e->pipe_pool = xcalloc(2 * (size_t)e->cfg.pool_max, sizeof(int));
    e->buf_pool = xcalloc(e->cfg.pool_max, sizeof(char *));
    e->h_cmd.kind = H_CMD;
    e->h_timer.kind = H_TIMER;
    pthread_mutex_init(&e->mu, NULL);
    clock_cond_init(&e->cv); /* (waited on without a timeout) */

    /* the real pipe size: ask for chunk_size once, read back what the kernel gave */
    if (e->cfg.mode == EDGE_RELAY_SPLICE) {
        int p[2];
        if (pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0) {
            r = -errno;
            goto out_release;
        }
        fcntl(p[1], F_SETPIPE_SZ, (int)e->cfg.chunk_size);
        int sz = fcntl(p[1], F_GETPIPE_SZ);
        e->pipe_size = sz > 0 ? (size_t)sz : 65536;
        e->pipe_pool[0] = p[0];
        e->pipe_pool[1] = p[1];
        e->npipes = 1;
    }

    e->ep = epoll_create1(EPOLL_CLOEXEC);
    e->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    e->tfd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
    if (e->ep < 0 || e->evfd < 0 || e->tfd < 0) {
        r = -errno;
        goto out_release;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &e->h_cmd};
    struct epoll_event tev = {.events = EPOLLIN, .data.ptr = &e->h_timer};
    if (epoll_ctl(e->ep, EPOLL_CTL_ADD, e->evfd, &ev) < 0 ||
        epoll_ctl(e->ep, EPOLL_CTL_ADD, e->tfd, &tev) < 0) {
        r = -errno;
        goto out_release;
    }

    /* the relay thread blocks every signal: SIGPIPE from splice() stays pending there */
    sigset_t all, old;
    sigfillset(&all);
    int sync_sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT};
    for (size_t i = 0; i < sizeof(sync_sigs) / sizeof(sync_sigs[0]); i++)
        sigdelset(&all, sync_sigs[i]);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    r = -pthread_create(&e->thread, NULL, loop_main, e);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r < 0)
        goto out_release;
    *ret = e;
    return 0;

out_release:
    loop_release(e);
    return r;
}

static void loop_stop(struct loop *e)
{
    struct cmd c = {.type = CMD_STOP};
    submit(e, &c);
    pthread_join(e->thread, NULL);
    loop_release(e);
}

/* ---- public API: every command goes to every loop ---- */

/*
 * Whether the caller is one of ed's relay threads. With one loop a callback's commands run
 * inline as before; with several, one loop cannot wait for another (it may be waiting for
 * this one): such calls are refused with -EDEADLK.
 */
static bool in_relay(const struct edge *ed)
{
    if (ed->nloops < 2)
        return false;
    for (unsigned i = 0; i < ed->nloops; i++)
        if (pthread_equal(pthread_self(), ed->loops[i]->thread))
            return true;
    return false;
}

int edge_new(const struct edge_config *cfg, struct edge **ret_edge)
{
    if (!cfg || !ret_edge || cfg->mode > EDGE_RELAY_COPY || cfg->threads > EDGE_THREADS_MAX)
        return -EINVAL;
    struct edge *ed = xcalloc(1, sizeof(*ed));
    ed->cfg = *cfg;
    if (!ed->cfg.max_conns)
        ed->cfg.max_conns = 16384;
    if (!ed->cfg.chunk_size)
        ed->cfg.chunk_size = 256 * 1024;
    if (!ed->cfg.pool_max)
        ed->cfg.pool_max = 32;
    if (!ed->cfg.connect_timeout_ms)
        ed->cfg.connect_timeout_ms = 10000;
    if (!ed->cfg.threads)
        ed->cfg.threads = 1;
    ed->nloops = ed->cfg.threads;
    atomic_init(&ed->live, 0);
    pthread_mutex_init(&ed->src_mu, NULL);
    idhash_init(&ed->sources, 64);
    ed->loops = xcalloc(ed->nloops, sizeof(*ed->loops));
    int r = 0;
    unsigned started = 0;
    while (r == 0 && started < ed->nloops) {
        r = loop_start(ed, started, &ed->loops[started]);
        if (r == 0)
            started++;
    }
    if (r < 0) {
        while (started > 0)
            loop_stop(ed->loops[--started]);
        free(ed->loops);
        idhash_release(&ed->sources);
        pthread_mutex_destroy(&ed->src_mu);
        free(ed);
        return r;
    }
    *ret_edge = ed;
    return 0;
}

void edge_free(struct edge *ed)
{
    if (!ed)
        return;
    for (unsigned i = 0; i < ed->nloops; i++)
        loop_stop(ed->loops[i]);
    free(ed->loops);
    idhash_release(&ed->sources); /* (empty: every connection ended) */
    pthread_mutex_destroy(&ed->src_mu);
    free(ed);
}

/* Closes id in every loop: 0 when one of them had it, else -ENOENT. */
static int close_all(struct edge *ed, const char *id)
{
    int r = -ENOENT;
    for (unsigned i = 0; i < ed->nloops; i++) {
        struct cmd c = {.type = CMD_CLOSE, .id = id};
        if (submit(ed->loops[i], &c) == 0)
            r = 0;
    }
    return r;
}

/*
 * The first loop opens (or updates) the grant: a new one binds the port there first (port 0
 * is chosen there); the others then join on that port. A new grant that a loop cannot join is
 * closed everywhere (all loops accept or none).
 */
int edge_grant_open(struct edge *ed, const struct edge_grant *g)
{
    if (!ed || !g)
        return -EINVAL;
    if (in_relay(ed))
        return -EDEADLK;
    struct cmd c = {.type = CMD_OPEN, .g = g, .sh = share_new(1)};
    int r = submit(ed->loops[0], &c);
    for (unsigned i = 1; r == 0 && i < ed->nloops; i++) {
        struct cmd j = {.type = CMD_OPEN, .g = g, .sh = c.sh, .port = c.port, .join = true};
        int rj = submit(ed->loops[i], &j);
        c.sh = j.sh;
        if (rj < 0 && rj != -ETIMEDOUT) {
            r = rj;
            if (c.created)
                close_all(ed, g->id);
        }
    }
    share_unref(c.sh);
    return r;
}

int edge_grant_close(struct edge *ed, const char *id)
{
    if (!ed || !id)
        return -EINVAL;
    if (in_relay(ed))
        return -EDEADLK;
    return close_all(ed, id);
}

static void info_add(struct edge_grant_info *to, const struct edge_grant_info *from)
{
    to->live_conns += from->live_conns;
    to->total_conns += from->total_conns;
    to->refused_conns += from->refused_conns;
    to->limited_conns += from->limited_conns;
}

int edge_grant_get(struct edge *ed, const char *id, struct edge_grant_info *ret)
{
    if (!ed || !id || !ret)
        return -EINVAL;
    if (in_relay(ed))
        return -EDEADLK;
    int r = -ENOENT;
    struct edge_grant_info sum;
    for (unsigned i = 0; i < ed->nloops; i++) {
        struct edge_grant_info one;
        struct cmd c = {.type = CMD_GET, .id = id, .info = &one};
        if (submit(ed->loops[i], &c) < 0)
            continue;
        if (r < 0)
            sum = one;
        else
            info_add(&sum, &one);
        r = 0;
    }
    if (r == 0)
        *ret = sum;
    return r;
}

/* The grants of every loop, counters summed by id (a grant some loop already let go counts). */
int edge_grant_list(struct edge *ed, struct edge_grant_info **ret_list, size_t *ret_n)
{
    if (!ed || !ret_list || !ret_n)
        return -EINVAL;
    if (in_relay(ed))
        return -EDEADLK;
    struct edge_grant_info *all = NULL, *extra = NULL;
    size_t n = 0, nextra = 0;
    struct idhash by_id;
    idhash_init(&by_id, 64);
    struct idhash_node *nodes = NULL;
    for (unsigned i = 0; i < ed->nloops; i++) {
        struct edge_grant_info *list = NULL;
        size_t k = 0;
        struct cmd c = {.type = CMD_LIST, .list = &list, .n = &k};
        if (submit(ed->loops[i], &c) < 0)
            continue;
        if (i == 0) { /* the common case: every loop holds the same grants */
            all = list;
            n = k;
            nodes = xcalloc(n + 1, sizeof(*nodes));
            for (size_t x = 0; x < n; x++) {
                nodes[x].id = all[x].id;
                idhash_insert(&by_id, &nodes[x]);
            }
            continue;
        }
        for (size_t x = 0; x < k; x++) {
            struct idhash_node *hn = idhash_find(&by_id, list[x].id);
            if (hn) {
                info_add(&all[hn - nodes], &list[x]);
            } else { /* (not in the first loop: a moment before it expires in this one) */
                size_t y = 0;
                while (y < nextra && strcmp(extra[y].id, list[x].id) != 0)
                    y++;
                if (y < nextra) {
                    info_add(&extra[y], &list[x]);
                    continue;
                }
                extra = xrealloc(extra, (nextra + 1) * sizeof(*extra));
                extra[nextra++] = list[x];
            }
        }
        free(list);
    }
    idhash_release(&by_id);
    free(nodes);
    if (nextra) { /* (appended once nothing points into all any more) */
        all = xrealloc(all, (n + nextra) * sizeof(*all));
        memcpy(all + n, extra, nextra * sizeof(*all));
        n += nextra;
    }
    free(extra);
    *ret_list = n ? all : NULL;
    if (!n)
        free(all);
    *ret_n = n;
    return 0;
}

int edge_stats_get(struct edge *ed, struct edge_stats *ret)
{
    if (!ed || !ret)
        return -EINVAL;
    if (in_relay(ed))
        return -EDEADLK;
    struct edge_stats sum = {0};
    for (unsigned i = 0; i < ed->nloops; i++) {
        struct edge_stats st;
        struct cmd c = {.type = CMD_STATS, .st = &st};
        if (submit(ed->loops[i], &c) < 0)
            return c.result;
        if (i == 0) {
            sum.grants = st.grants;
            sum.held = st.held;
        }
        sum.live_conns += st.live_conns;
        sum.accepted += st.accepted;
        sum.refused += st.refused;
        sum.unreachable += st.unreachable;
        sum.limited += st.limited;
        sum.idle_cut += st.idle_cut;
        sum.unconfirmed += st.unconfirmed;
        sum.accept_paused += st.accept_paused;
        sum.pool_pipes += st.pool_pipes;
        sum.pool_bufs += st.pool_bufs;
        sum.busy_pipes += st.busy_pipes;
        sum.busy_bufs += st.busy_bufs;
        sum.spliced += st.spliced;
        sum.loop_conns[i] = st.live_conns;
    }
    sum.loops = ed->nloops;
    *ret = sum;
    return 0;
}

int edge_set_hold(struct edge *ed, bool hold)
{
    if (!ed)
        return -EINVAL;
    if (in_relay(ed))
        return -EDEADLK;
    for (unsigned i = 0; i < ed->nloops; i++) {
        struct cmd c = {.type = CMD_HOLD, .hold = hold};
        submit(ed->loops[i], &c);
    }
    return 0;
}
