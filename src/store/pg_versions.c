/*
 * pg_versions.c - the change versions (migration 0020) as this process last heard them, so
 * that a cached answer of the API (api/rcache.c) costs no round trip to PostgreSQL.
 *
 * One watcher thread per store, started by the first read: its own connection LISTENs on
 * tikgate_changes (migration 0022: the trigger that bumps a version NOTIFYs, once per
 * transaction) and reads the version again after every notification, after every write of
 * this process that bumped it, and every PG_VERSIONS_POLL_MS in any case.
 *
 * What a read gets (pg_versions_policies):
 * - the version of every write this process committed: such a write (the trigger's NOTICE,
 *   seen by the writing session, pg_conn.c) makes the cache unknown until the watcher has read
 *   the version after it; reads meanwhile go to the database;
 * - another node's write once its notification reached the watcher and the watcher read the
 *   version (normally a millisecond);
 * - nothing (-EAGAIN: read the database) while the watcher's connection is down, or when its
 *   last successful read is older than PG_VERSIONS_FRESH_MS (a connection that hangs without
 *   failing): so at worst that long behind another node's write.
 */
#include "alloc.h"
#include "clock.h"
#include "log.h"
#include "pg_int.h"

#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define PG_VERSIONS_POLL_MS 500
#define PG_VERSIONS_FRESH_MS 2000
#define CHANGES_CHANNEL "tikgate_changes"

struct pg_versions {
    const char *url; /* the store's */
    pthread_mutex_t mu;
    pthread_t thread;
    int wake_fd;           /* eventfd: a local write, or stop */
    bool stop;             /* under mu */
    unsigned long written; /* under mu: local writes that bumped a version, so far */
    unsigned long read_at; /* under mu: written when policies was read */
    int64_t read_ms;       /* under mu: monotonic time of that read; 0: connection down */
    int64_t policies;      /* under mu */
};

static bool stopping(struct pg_versions *v)
{
    pthread_mutex_lock(&v->mu);
    bool stop = v->stop;
    pthread_mutex_unlock(&v->mu);
    return stop;
}

/*
 * Waits up to ms for conn's socket (when conn) or a wake-up (drained). false: poll failed.
 * *ret_conn: conn's socket is readable.
 */
static bool wait_readable(struct pg_versions *v, PGconn *conn, int ms, bool *ret_conn)
{
    struct pollfd pfd[2] = {{.fd = v->wake_fd, .events = POLLIN},
                            {.fd = conn ? PQsocket(conn) : -1, .events = POLLIN}};
    *ret_conn = false;
    if (poll(pfd, 2, ms) < 0)
        return errno == EINTR;
    uint64_t n;
    if ((pfd[0].revents & POLLIN) && read(v->wake_fd, &n, sizeof n) < 0 && errno != EAGAIN)
        log_debug("store", "postgres: versions watcher: wake-up read failed");
    *ret_conn = pfd[1].revents != 0;
    return true;
}

/*
 * The policies version on conn into *ret, waited for at most PG_VERSIONS_FRESH_MS and not past
 * a stop: 0, or -EIO (the connection is to be dropped). A server that stops answering
 * therefore neither keeps the cache alive nor holds up pg_close.
 */
static int read_policies(struct pg_versions *v, PGconn *conn, int64_t *ret)
{
    if (!PQsendQuery(conn, PG_POLICIES_VERSION_SQL))
        return -EIO;
    int64_t deadline = clock_mono_ms() + PG_VERSIONS_FRESH_MS;
    PGresult *res = NULL;
    int r = -EIO;
    for (;;) {
        if (!PQconsumeInput(conn))
            goto out_clear;
        while (!PQisBusy(conn)) {
            PGresult *next = PQgetResult(conn);
            if (!next)
                goto out_done;
            PQclear(res);
            res = next;
        }
        int64_t left = deadline - clock_mono_ms();
        bool readable;
        if (left <= 0 || stopping(v) || !wait_readable(v, conn, (int)left, &readable))
            goto out_clear;
    }
out_done:
    if (res && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
        *ret = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        r = 0;
    }
out_clear:
    PQclear(res);
    return r;
}

static void set_dead(struct pg_versions *v)
{
    pthread_mutex_lock(&v->mu);
    v->read_ms = 0;
    pthread_mutex_unlock(&v->mu);
}

/* Frees the notifications libpq holds for conn: whether there were any. */
static bool drain_notifies(PGconn *conn)
{
    bool any = false;
    PGnotify *n;
    while ((n = PQnotifies(conn))) {
        PQfreemem(n);
        any = true;
    }
    return any;
}

/*
 * Waits up to ms for a notification on conn or a wake-up. A notification libpq already read
 * (with the last query's answer) ends the wait at once: its socket would not tell. false:
 * conn is lost.
 */
static bool wait_change(struct pg_versions *v, PGconn *conn, int ms)
{
    if (conn && drain_notifies(conn))
        return true;
    bool readable;
    if (!wait_readable(v, conn, ms, &readable))
        return false;
    if (readable) {
        if (!PQconsumeInput(conn))
            return false;
        drain_notifies(conn);
    }
    return true;
}

static void *watch(void *arg)
{
    struct pg_versions *v = arg;
    PGconn *conn = NULL;
    for (;;) {
        pthread_mutex_lock(&v->mu);
        bool stop = v->stop;
        unsigned long written = v->written;
        pthread_mutex_unlock(&v->mu);
        if (stop)
            break;
        if (!conn && !(conn = pg_listen_connect(v->url, "tikgated-versions", CHANGES_CHANNEL))) {
            set_dead(v);
            wait_change(v, NULL, 1000);
            continue;
        }
        int64_t version;
        if (read_policies(v, conn, &version) < 0) {
            PQfinish(conn);
            conn = NULL;
            set_dead(v);
            wait_change(v, NULL, 1000); /* not a loop of reconnections */
            continue;
        }
        pthread_mutex_lock(&v->mu);
        bool current = v->written == written; /* no local write since before the read */
        if (current) {
            v->policies = version;
            v->read_at = written;
            v->read_ms = clock_mono_ms();
        }
        pthread_mutex_unlock(&v->mu);
        if (current && !wait_change(v, conn, PG_VERSIONS_POLL_MS)) {
            log_debug("store", "postgres: versions watcher: connection lost");
            PQfinish(conn);
            conn = NULL;
            set_dead(v);
        }
    }
    PQfinish(conn);
    return NULL;
}

static void wake(struct pg_versions *v)
{
    uint64_t one = 1;
    if (write(v->wake_fd, &one, sizeof one) < 0)
        log_debug("store", "postgres: versions watcher: wake-up write failed");
}

/* A running watcher for s, or NULL (logged): reads then always go to the database. */
static struct pg_versions *versions_start(struct pg_store *s)
{
    struct pg_versions *v = xcalloc(1, sizeof *v);
    v->url = s->url;
    pthread_mutex_init(&v->mu, NULL);
    v->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (v->wake_fd < 0)
        goto out_free;
    if (pthread_create(&v->thread, NULL, watch, v) != 0)
        goto out_close_fd;
    return v;
out_close_fd:
    close(v->wake_fd);
out_free:
    pthread_mutex_destroy(&v->mu);
    free(v);
    log_warn("store", "postgres: no versions watcher: cached answers are checked every time");
    return NULL;
}

/* The store's watcher, started by the first call (only processes that serve the API read). */
static struct pg_versions *versions_of(struct pg_store *s)
{
    struct pg_versions *v = atomic_load(&s->versions);
    if (v)
        return v;
    pthread_mutex_lock(&s->versions_lock);
    if (!(v = atomic_load(&s->versions)) && !s->versions_failed) {
        v = versions_start(s);
        s->versions_failed = !v;
        atomic_store(&s->versions, v);
    }
    pthread_mutex_unlock(&s->versions_lock);
    return v;
}

int pg_versions_policies(struct pg_store *s, int64_t *ret)
{
    struct pg_versions *v = versions_of(s);
    if (!v)
        return -EAGAIN;
    int64_t now = clock_mono_ms();
    pthread_mutex_lock(&v->mu);
    bool ok = v->read_ms && v->read_at == v->written && now - v->read_ms < PG_VERSIONS_FRESH_MS;
    if (ok)
        *ret = v->policies;
    pthread_mutex_unlock(&v->mu);
    return ok ? 0 : -EAGAIN;
}

void pg_versions_wrote(struct pg_store *s)
{
    struct pg_versions *v = atomic_load(&s->versions);
    if (!v) /* no watcher yet: its first read comes after this write's commit */
        return;
    pthread_mutex_lock(&v->mu);
    v->written++;
    pthread_mutex_unlock(&v->mu);
    wake(v);
}

void pg_versions_stop(struct pg_store *s)
{
    struct pg_versions *v = atomic_load(&s->versions);
    if (!v)
        return;
    pthread_mutex_lock(&v->mu);
    v->stop = true;
    pthread_mutex_unlock(&v->mu);
    wake(v);
    pthread_join(v->thread, NULL);
    close(v->wake_fd);
    pthread_mutex_destroy(&v->mu);
    free(v);
    atomic_store(&s->versions, NULL);
}
