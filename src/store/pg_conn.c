/*
 * pg_conn.c - connections, migrations, statement cache, transactions and the cursor of the
 * PostgreSQL store (pg_int.h; the SQLite twin is sqlite_conn.c).
 */
#include "alloc.h"
#include "clock.h"
#include "log.h"
#include "pg_int.h"
#include "utf8.h"

#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

extern const char *const store_pg_migrations[];
extern const char *const store_pg_migrations_names[];

/* The advisory lock key held while migrating ("tikgate" in ASCII). */
#define PG_MIGRATE_LOCK "7406229430474597"

static void stmt_free(struct pg_stmt *st)
{
    pg_reset(st);
    pg_clear_bindings(st);
    free(st);
}

static void conn_free(struct pg_session *c)
{
    for (size_t i = 0; i < c->cache_cap; i++)
        if (c->cache[i].stmt)
            stmt_free(c->cache[i].stmt);
    free(c->cache);
    PQfinish(c->conn);
    free(c);
}

/*
 * After every statement: one that changed a change version (its NOTICE set c->changed) and is
 * committed, on its own or by this COMMIT, tells the versions watcher (pg_versions.c) before
 * the caller answers anyone. (A ROLLBACK tells it too: one needless read.)
 */
static void after_statement(struct pg_session *c)
{
    if (c->changed && c->tx_depth == 0 && PQtransactionStatus(c->conn) == PQTRANS_IDLE) {
        c->changed = false;
        pg_versions_wrote(c->store);
    }
}

/* Runs sql (no parameters, may hold several statements). 0 or -EIO, logged at debug. */
static int exec(struct pg_session *c, const char *sql)
{
    PGresult *res = PQexec(c->conn, sql);
    after_statement(c);
    ExecStatusType st = PQresultStatus(res);
    int r = 0;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        log_debug("store", "postgres: %s: %.80s", PQerrorMessage(c->conn), sql);
        r = -EIO;
    }
    c->lost = r < 0 && PQstatus(c->conn) == CONNECTION_BAD;
    PQclear(res);
    return r;
}

static void notice_quiet(void *arg, const char *message)
{
    (void)arg;
    log_debug("store", "postgres: %s", message);
}

/* A session's notices: the change-version trigger's marks the session, others are logged. */
static void notice_receive(void *arg, const PGresult *res)
{
    struct pg_session *c = arg;
    const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    if (primary && !strcmp(primary, PG_CHANGED_NOTICE))
        c->changed = true;
    else
        log_debug("store", "postgres: %s", PQresultErrorMessage(res));
}

/* The session's settings, on a new connection and after a reset. 0 or -EIO. */
static int session_setup(struct pg_session *c)
{
    PQsetNoticeReceiver(c->conn, notice_receive, c);
    /* READ COMMITTED is the server's default; say it so a changed default does not apply.
     * Notices reach the session whatever the database's client_min_messages (the trigger's). */
    return exec(c, "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED;"
                   "SET client_encoding = 'UTF8'; SET application_name = 'tikgated';"
                   "SET client_min_messages = notice");
}

/*
 * A connection the server dropped (a restart, a failover, an idle timeout) is reset before the
 * next call, outside a transaction only (inside one the transaction is lost anyway: its calls
 * fail until it ends). Its prepared statements went with it: the cache starts again.
 */
static void conn_revive(struct pg_session *c)
{
    if (PQstatus(c->conn) != CONNECTION_BAD || c->tx_depth > 0)
        return;
    for (size_t i = 0; i < c->cache_cap; i++) {
        if (c->cache[i].stmt)
            stmt_free(c->cache[i].stmt);
        c->cache[i].sql = NULL;
        c->cache[i].stmt = NULL;
    }
    c->cache_used = 0;
    PQreset(c->conn);
    if (PQstatus(c->conn) == CONNECTION_OK && session_setup(c) == 0)
        log_debug("store", "postgres: connection re-established");
}

/*
 * Connects to url with libpq's bounds of a server that does not answer (a stopped host, a
 * partition): connect_timeout 5 s and TCP keepalives (dead after about 20 s idle), both
 * overridden by the URL when it sets them (later keywords win, the URL is expanded last).
 * PQreset reuses them.
 */
PGconn *pg_connect_db(const char *url)
{
    static const char *const keys[] = {"connect_timeout",
                                       "keepalives",
                                       "keepalives_idle",
                                       "keepalives_interval",
                                       "keepalives_count",
                                       "dbname",
                                       NULL};
    const char *const vals[] = {"5", "1", "10", "5", "2", url, NULL};
    return PQconnectdbParams(keys, vals, 1);
}

static struct pg_session *conn_open(struct pg_store *s, enum log_level lvl)
{
    struct pg_session *c = xcalloc(1, sizeof *c);
    c->store = s;
    c->cache_cap = PG_STMT_CACHE_INITIAL;
    c->cache = xcalloc(c->cache_cap, sizeof *c->cache);
    c->conn = pg_connect_db(s->url);
    if (PQstatus(c->conn) != CONNECTION_OK) {
        log_msg(lvl, "store", "cannot connect to PostgreSQL: %s", PQerrorMessage(c->conn));
        conn_free(c);
        return NULL;
    }
    if (session_setup(c) < 0) {
        conn_free(c);
        return NULL;
    }
    pthread_mutex_lock(&s->conns_lock);
    c->next = s->conns;
    s->conns = c;
    pthread_mutex_unlock(&s->conns_lock);
    return c;
}

/*
 * A connection idle for a second may have been closed by the server meanwhile (a restart, a
 * failover: it says so and hangs up, which libpq learns only by reading). Outside a
 * transaction, such a connection reads what is pending (non-blocking: libpq's socket is), so
 * a closed one is known as CONNECTION_BAD and re-established before the statement, instead of
 * failing the statement of the first request after the server is back.
 */
#define PG_IDLE_CHECK_MS 1000

struct pg_session *pg_session(struct store *base)
{
    struct pg_store *s = pg_store_of(base);
    struct pg_session *c = pthread_getspecific(s->conn_key);
    if (c) {
        if (c->tx_depth == 0) {
            int64_t now = clock_mono_ms();
            /* twice: the server's last words (FATAL ...), then its end of file */
            for (int i = 0;
                 i < 2 && now - c->used_ms >= PG_IDLE_CHECK_MS &&
                 PQstatus(c->conn) == CONNECTION_OK && PQtransactionStatus(c->conn) == PQTRANS_IDLE;
                 i++)
                (void)PQconsumeInput(c->conn); /* EOF: CONNECTION_BAD */
            c->used_ms = now;
        }
        conn_revive(c);
        return c;
    }
    c = conn_open(s, LOG_DEBUG);
    if (c)
        pthread_setspecific(s->conn_key, c);
    return c;
}

bool pg_connection_lost(struct store *s)
{
    struct pg_session *c = pthread_getspecific(pg_store_of(s)->conn_key);
    return !c || c->lost; /* no connection: the last call could not open one */
}

bool pg_reachable(struct store *s)
{
    struct pg_session *c = pg_session(s); /* re-establishes a dropped connection */
    if (!c || PQstatus(c->conn) != CONNECTION_OK)
        return false;
    /* A connection the server closed still says OK until it is used: ask (not inside a
     * transaction, where an earlier error would make any statement fail). */
    if (c->tx_depth > 0 || PQtransactionStatus(c->conn) != PQTRANS_IDLE)
        return true;
    if (exec(c, "SELECT 1") == 0)
        return true;
    conn_revive(c); /* dropped just now: one reconnection attempt */
    return PQstatus(c->conn) == CONNECTION_OK && exec(c, "SELECT 1") == 0;
}

void pg_thread_done(struct store *base)
{
    struct pg_store *s = pg_store_of(base);
    struct pg_session *c = pthread_getspecific(s->conn_key);
    if (!c)
        return;
    pthread_setspecific(s->conn_key, NULL);
    pthread_mutex_lock(&s->conns_lock);
    for (struct pg_session **pp = &s->conns; *pp; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    }
    pthread_mutex_unlock(&s->conns_lock);
    conn_free(c);
}

static struct pg_slot *slot_find(struct pg_slot *t, size_t cap, const char *sql)
{
    size_t i = (size_t)(((uint64_t)(uintptr_t)sql * UINT64_C(0x9E3779B97F4A7C15)) >> 32);
    for (;; i++) {
        struct pg_slot *slot = &t[i & (cap - 1)];
        if (slot->sql == sql || !slot->sql)
            return slot;
    }
}

static void cache_grow(struct pg_session *c)
{
    size_t cap = c->cache_cap * 2;
    struct pg_slot *t = xcalloc(cap, sizeof *t);
    for (size_t i = 0; i < c->cache_cap; i++)
        if (c->cache[i].sql)
            *slot_find(t, cap, c->cache[i].sql) = c->cache[i];
    free(c->cache);
    c->cache = t;
    c->cache_cap = cap;
}

/*
 * sql with ?N rewritten to $N and a bare ? to the next number (SQLite's rule: one above the
 * highest so far). Skips quoted literals. Returns owned text; *ret_n: the highest number.
 */
static char *rewrite_params(const char *sql, int *ret_n)
{
    size_t len = strlen(sql);
    char *out = xmalloc(len * 2 + 1);
    size_t o = 0;
    int max = 0;
    bool quoted = false;
    for (const char *p = sql; *p; p++) {
        if (*p == '\'')
            quoted = !quoted;
        if (quoted || *p != '?') {
            out[o++] = *p;
            continue;
        }
        int n = 0;
        while (p[1] >= '0' && p[1] <= '9')
            n = n * 10 + (*++p - '0');
        if (n == 0)
            n = max + 1;
        if (n > max)
            max = n;
        o += (size_t)sprintf(out + o, "$%d", n);
    }
    out[o] = '\0';
    *ret_n = max;
    return out;
}

struct pg_stmt *pg_stmt(struct pg_session *c, const char *sql)
{
    struct pg_slot *slot = slot_find(c->cache, c->cache_cap, sql);
    if (slot->sql) {
        pg_reset(slot->stmt);
        pg_clear_bindings(slot->stmt);
        return slot->stmt;
    }
    struct pg_stmt *st = xcalloc(1, sizeof *st);
    st->sql = sql;
    st->c = c;
    st->blob_col = -1;
    snprintf(st->name, sizeof st->name, "tg%lu", c->prepares + 1);
    char *text = rewrite_params(sql, &st->nparams);
    PGresult *res =
        st->nparams <= PG_MAX_PARAMS ? PQprepare(c->conn, st->name, text, 0, NULL) : NULL;
    bool ok = res && PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok)
        log_debug("store", "prepare failed: %s: %.200s", PQerrorMessage(c->conn), text);
    if (!ok && PQstatus(c->conn) == CONNECTION_BAD)
        c->lost = true;
    PQclear(res);
    free(text);
    if (!ok) {
        free(st);
        return NULL;
    }
    c->prepares++;
    if ((c->cache_used + 1) * 2 > c->cache_cap) {
        cache_grow(c);
        slot = slot_find(c->cache, c->cache_cap, sql);
    }
    slot->sql = sql;
    slot->stmt = st;
    c->cache_used++;
    return st;
}

unsigned long pg_stmt_prepares(struct store *s)
{
    struct pg_session *c = pthread_getspecific(pg_store_of(s)->conn_key);
    return c ? c->prepares : 0;
}

struct pg_stmt *pg_prepare(struct store *s, const char *sql, struct pg_session **ret_c)
{
    struct pg_session *c = pg_session(s);
    struct pg_stmt *st = c ? pg_stmt(c, sql) : NULL;
    if (st)
        *ret_c = c;
    return st;
}

/*
 * One payload-free channel for every wake-up (enum store_wake): a transaction sends at most one
 * NOTIFY, whatever it changed; listeners wake everything that sleeps on the store.
 */
#define CHANNEL "tikgate_wake"

static void send_notify(struct pg_session *c, unsigned mask)
{
    if (mask)
        exec(c, "NOTIFY " CHANNEL);
}

int pg_begin(struct pg_session *c)
{
    if (c->tx_depth++ > 0)
        return 0;
    c->tx_failed = false;
    c->tx_err = 0;
    c->notify = 0;
    int r = exec(c, "BEGIN");
    if (r < 0)
        c->tx_depth = 0;
    return r;
}

int pg_commit(struct pg_session *c)
{
    if (c->tx_depth <= 0)
        return -EIO;
    if (--c->tx_depth > 0)
        return 0;
    if (c->tx_failed) {
        exec(c, "ROLLBACK");
        c->tx_failed = false;
        return c->tx_err < 0 ? c->tx_err : -EIO;
    }
    /* COMMIT of a transaction an error aborted answers ROLLBACK, without an error. */
    bool aborted = PQtransactionStatus(c->conn) == PQTRANS_INERROR;
    /* NOTIFY just before COMMIT, in the same round trip: delivered by the COMMIT, with it */
    bool wake = !aborted && c->notify;
    c->notify = 0;
    int r = exec(c, wake ? "NOTIFY " CHANNEL "; COMMIT" : "COMMIT");
    if (PQtransactionStatus(c->conn) != PQTRANS_IDLE)
        exec(c, "ROLLBACK");
    return aborted ? -EIO : r;
}

void pg_rollback(struct pg_session *c)
{
    if (c->tx_depth <= 0)
        return;
    if (--c->tx_depth > 0) {
        c->tx_failed = true;
        return;
    }
    c->tx_err = 0;
    c->tx_failed = false;
    c->notify = 0;
    if (PQtransactionStatus(c->conn) != PQTRANS_IDLE)
        exec(c, "ROLLBACK");
}

void pg_notify(struct pg_session *c, unsigned mask)
{
    if (c->tx_depth > 0)
        c->notify |= mask;
    else
        send_notify(c, mask);
}

bool pg_read_begin(struct pg_session *c)
{
    if (c->tx_depth > 0 || PQtransactionStatus(c->conn) != PQTRANS_IDLE)
        return false;
    PGresult *res = PQexec(c->conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    return ok;
}

void pg_read_end(struct pg_session *c, bool began)
{
    if (!began)
        return;
    PQclear(PQexec(c->conn, "COMMIT"));
    if (PQtransactionStatus(c->conn) != PQTRANS_IDLE)
        PQclear(PQexec(c->conn, "ROLLBACK"));
}

struct pg_stmt *pg_begin_stmt(struct store *s, const char *sql, struct pg_session **ret_c,
                              int *ret_err)
{
    struct pg_session *c = pg_session(s);
    *ret_c = c;
    if (!c) {
        *ret_err = -EIO;
        return NULL;
    }
    *ret_err = pg_begin(c);
    if (*ret_err < 0)
        return NULL;
    struct pg_stmt *st = pg_stmt(c, sql);
    if (!st) {
        pg_rollback(c);
        *ret_err = -EIO;
    }
    return st;
}

int pg_end(struct pg_session *c, int r)
{
    if (r < 0) {
        /* an inner level's storage failure is what the outermost commit reports (as SQLite) */
        if (c->tx_depth > 1 && c->tx_err == 0 && (r == -ENOSPC || r == -EAGAIN))
            c->tx_err = r;
        pg_rollback(c);
        return r;
    }
    return pg_commit(c);
}

int pg_tx_begin(struct store *s)
{
    struct pg_session *c = pg_session(s);
    return c ? pg_begin(c) : -EIO;
}

int pg_tx_commit(struct store *s)
{
    struct pg_session *c = pg_session(s);
    return c ? pg_commit(c) : -EIO;
}

void pg_tx_rollback(struct store *s)
{
    struct pg_session *c = pg_session(s);
    if (c)
        pg_rollback(c);
}

int pg_tx_end(struct store *s, int r)
{
    struct pg_session *c = pg_session(s);
    if (!c)
        return r < 0 ? r : -EIO;
    return pg_end(c, r);
}

/* Storage errors since start, by kind (added to store_error_counts' SQLite ones). */
static atomic_ulong errors_full, errors_busy, errors_io;

void pg_error_counts(unsigned long *ret_full, unsigned long *ret_busy, unsigned long *ret_io)
{
    *ret_full = atomic_load(&errors_full);
    *ret_busy = atomic_load(&errors_busy);
    *ret_io = atomic_load(&errors_io);
}

/*
 * SQLSTATE to -errno, the SQLite backend's contract: integrity violations (class 23) are its
 * constraint errors (-EEXIST); insufficient resources (class 53: disk full, out of memory,
 * too many connections) -ENOSPC; a serialization failure, a deadlock or a lock not available
 * (40001, 40P01, 55P03) -EAGAIN (retry later); anything else -EIO. The storage kinds count.
 */
static int map_sqlstate(const char *state)
{
    if (state && strncmp(state, "23", 2) == 0)
        return -EEXIST;
    if (state && strncmp(state, "53", 2) == 0) {
        atomic_fetch_add(&errors_full, 1);
        return -ENOSPC;
    }
    if (state && (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
                  strcmp(state, "55P03") == 0)) {
        atomic_fetch_add(&errors_busy, 1);
        return -EAGAIN;
    }
    atomic_fetch_add(&errors_io, 1);
    return -EIO;
}

int pg_step(struct pg_stmt *st)
{
    if (!st->res) {
        st->res = PQexecPrepared(st->c->conn, st->name, st->nparams, (const char *const *)st->vals,
                                 st->lens, st->fmts, 0);
        after_statement(st->c);
        ExecStatusType es = PQresultStatus(st->res);
        if (es != PGRES_TUPLES_OK && es != PGRES_COMMAND_OK) {
            const char *state = PQresultErrorField(st->res, PG_DIAG_SQLSTATE);
            int r = map_sqlstate(state);
            st->c->lost = PQstatus(st->c->conn) == CONNECTION_BAD;
            log_debug("store", "postgres: %s (%s): %.120s", PQresultErrorMessage(st->res),
                      state ? state : "-", st->sql);
            st->c->changes = 0;
            PQclear(st->res);
            st->res = NULL;
            return r;
        }
        st->c->lost = false;
        const char *n = PQcmdTuples(st->res);
        st->c->changes = n && *n ? strtol(n, NULL, 10) : 0;
        st->nrows = es == PGRES_TUPLES_OK ? PQntuples(st->res) : 0;
        st->row = -1;
    }
    if (st->row + 1 < st->nrows) {
        st->row++;
        free(st->blob);
        st->blob = NULL;
        st->blob_col = -1;
        return PG_ROW;
    }
    st->row = st->nrows;
    return PG_DONE;
}

void pg_reset(struct pg_stmt *st)
{
    PQclear(st->res);
    st->res = NULL;
    st->row = st->nrows = 0;
    free(st->blob);
    st->blob = NULL;
    st->blob_col = -1;
}

void pg_clear_bindings(struct pg_stmt *st)
{
    for (int i = 0; i < PG_MAX_PARAMS; i++) {
        free(st->vals[i]);
        st->vals[i] = NULL;
        st->lens[i] = st->fmts[i] = 0;
    }
}

/* Takes v (owned, may be NULL) as parameter i (1-based). Parameters past the SQL's are dropped. */
static void bind_owned(struct pg_stmt *st, int i, char *v, int len, int fmt)
{
    if (i < 1 || i > PG_MAX_PARAMS) {
        free(v);
        return;
    }
    free(st->vals[i - 1]);
    st->vals[i - 1] = v;
    st->lens[i - 1] = len;
    st->fmts[i - 1] = fmt;
}

/*
 * PostgreSQL refuses text that is not valid UTF-8 (SQLite stores the bytes): such text, which
 * can only come from outside (router facts), is stored with U+FFFD for each bad byte, what the
 * API shows for it on SQLite too (utf8_sanitize).
 */
void pg_bind_text(struct pg_stmt *st, int i, const char *s)
{
    bind_owned(st, i, !s ? NULL : utf8_valid(s) ? xstrdup(s) : utf8_sanitize(s), 0, 0);
}

void pg_bind_int64(struct pg_stmt *st, int i, int64_t v)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%lld", (long long)v);
    bind_owned(st, i, xstrdup(buf), 0, 0);
}

void pg_bind_int(struct pg_stmt *st, int i, int v)
{
    pg_bind_int64(st, i, v);
}

void pg_bind_null(struct pg_stmt *st, int i)
{
    bind_owned(st, i, NULL, 0, 0);
}

void pg_bind_blob(struct pg_stmt *st, int i, const void *p, int n)
{
    char *v = xmalloc((size_t)n + 1);
    memcpy(v, p, (size_t)n);
    bind_owned(st, i, v, n, 1);
}

void pg_bind_time(struct pg_stmt *st, int i, int64_t t)
{
    if (t)
        pg_bind_int64(st, i, t);
    else
        pg_bind_null(st, i);
}

static bool has_value(struct pg_stmt *st, int i)
{
    return st->res && st->row >= 0 && st->row < st->nrows && i < PQnfields(st->res) &&
           !PQgetisnull(st->res, st->row, i);
}

const unsigned char *pg_column_text(struct pg_stmt *st, int i)
{
    return has_value(st, i) ? (const unsigned char *)PQgetvalue(st->res, st->row, i) : NULL;
}

int64_t pg_column_int64(struct pg_stmt *st, int i)
{
    const char *v = (const char *)pg_column_text(st, i);
    if (!v)
        return 0;
    if (v[0] == 't' && !v[1])
        return 1;
    if (v[0] == 'f' && !v[1])
        return 0;
    return strtoll(v, NULL, 10);
}

int pg_column_int(struct pg_stmt *st, int i)
{
    return (int)pg_column_int64(st, i);
}

bool pg_column_isnull(struct pg_stmt *st, int i)
{
    return !has_value(st, i);
}

static void blob_decode(struct pg_stmt *st, int i)
{
    if (st->blob_col == i)
        return;
    free(st->blob);
    st->blob = NULL;
    st->blob_len = 0;
    st->blob_col = i;
    const unsigned char *v = pg_column_text(st, i);
    if (v)
        st->blob = PQunescapeBytea(v, &st->blob_len);
}

const void *pg_column_blob(struct pg_stmt *st, int i)
{
    blob_decode(st, i);
    return st->blob;
}

int pg_column_bytes(struct pg_stmt *st, int i)
{
    blob_decode(st, i);
    return (int)st->blob_len;
}

int pg_column_count(struct pg_stmt *st)
{
    return st->res ? PQnfields(st->res) : 0;
}

long pg_changes(struct pg_session *c)
{
    return c->changes;
}

int pg_map_rc(struct pg_session *c, int rc)
{
    (void)c;
    return rc < 0 ? rc : 0;
}

int pg_step_done(struct pg_session *c, struct pg_stmt *st)
{
    int r = pg_map_rc(c, pg_step(st));
    pg_reset(st);
    return r;
}

int pg_step_changed(struct pg_session *c, struct pg_stmt *st)
{
    int r = pg_step_done(c, st);
    if (r < 0)
        return r;
    return pg_changes(c) ? 0 : -ENOENT;
}

int pg_collect(struct pg_session *c, struct pg_stmt *st, size_t elem_size,
               int (*read_row)(void *ctx, struct pg_stmt *st, void *elem), void *ctx,
               void (*release_row)(void *elem), void **ret, size_t *n)
{
    char *a = NULL;
    size_t cnt = 0;
    int rc, r = 0;
    while ((rc = pg_step(st)) == PG_ROW) {
        a = xrealloc(a, (cnt + 1) * elem_size);
        void *elem = a + cnt * elem_size;
        memset(elem, 0, elem_size);
        r = read_row(ctx, st, elem);
        if (r < 0)
            break;
        cnt++;
    }
    pg_reset(st);
    if (r == 0 && rc != PG_DONE)
        r = pg_map_rc(c, rc);
    if (r < 0) {
        for (size_t i = 0; release_row && i < cnt; i++)
            release_row(a + i * elem_size);
        free(a);
        return r;
    }
    *ret = a;
    *n = cnt;
    return 0;
}

int pg_step_row(struct pg_session *c, struct pg_stmt *st,
                int (*read_row)(void *ctx, struct pg_stmt *st, void *out), void *ctx, void *out)
{
    int rc = pg_step(st);
    int r = 0;
    if (rc == PG_ROW && read_row)
        r = read_row(ctx, st, out);
    pg_reset(st);
    if (rc == PG_ROW)
        return r;
    return rc == PG_DONE ? -ENOENT : pg_map_rc(c, rc);
}

int pg_read_int(void *ctx, struct pg_stmt *st, void *out)
{
    (void)ctx;
    *(int *)out = pg_column_int(st, 0);
    return 0;
}

int pg_read_int64(void *ctx, struct pg_stmt *st, void *out)
{
    (void)ctx;
    *(int64_t *)out = pg_column_int64(st, 0);
    return 0;
}

int pg_read_id(void *ctx, struct pg_stmt *st, void *out)
{
    (void)ctx;
    pg_col_copy(st, 0, out, UUID_STR_LEN);
    return 0;
}

int pg_site_owned(struct pg_session *c, const char *tenant_id, const char *site_id)
{
    static const char sql[] = "SELECT 1 FROM sites WHERE id = ? AND tenant_id = ?";
    struct pg_stmt *st = pg_stmt(c, sql);
    if (!st)
        return -EIO;
    pg_bind_text(st, 1, site_id);
    pg_bind_text(st, 2, tenant_id);
    return pg_step_row(c, st, NULL, NULL, NULL);
}

char *pg_col_strdup(struct pg_stmt *st, int i)
{
    const unsigned char *t = pg_column_text(st, i);
    return t ? xstrdup((const char *)t) : NULL;
}

void pg_col_copy(struct pg_stmt *st, int i, char *out, size_t outlen)
{
    const unsigned char *t = pg_column_text(st, i);
    snprintf(out, outlen, "%s", t ? (const char *)t : "");
}

int64_t pg_col_time(struct pg_stmt *st, int i)
{
    return pg_column_isnull(st, i) ? 0 : pg_column_int64(st, i);
}

/* The schema version in tikgate_schema (created when absent), or -EIO. */
static int schema_version(struct pg_session *c)
{
    if (exec(c, "CREATE TABLE IF NOT EXISTS tikgate_schema (version integer NOT NULL);"
                "INSERT INTO tikgate_schema SELECT 0 WHERE NOT EXISTS "
                "(SELECT 1 FROM tikgate_schema)") < 0)
        return -EIO;
    PGresult *res = PQexec(c->conn, "SELECT version FROM tikgate_schema");
    int v = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1
                ? atoi(PQgetvalue(res, 0, 0))
                : -EIO;
    PQclear(res);
    return v;
}

/* Applies the migrations above the stored version, one transaction each. */
static int apply(struct store *s, struct pg_session *c, int version, int n)
{
    for (int i = version; i < n; i++) {
        char update[80];
        snprintf(update, sizeof update, "UPDATE tikgate_schema SET version = %d", i + 1);
        if (pg_begin(c) < 0)
            return -EIO;
        if (exec(c, store_pg_migrations[i]) < 0 || exec(c, update) < 0) {
            log_error("store", "migration %s failed: %s", store_pg_migrations_names[i],
                      PQerrorMessage(c->conn));
            pg_rollback(c);
            return -EIO;
        }
        if (pg_commit(c) < 0)
            return -EIO;
        log_info("store", "applied migration %s (PostgreSQL)", store_pg_migrations_names[i]);
    }
    s->schema_version = n;
    return 0;
}

/*
 * Migrates under a session advisory lock, so two nodes starting together do not both
 * migrate: the second waits, then finds the schema current.
 */
static int migrate(struct store *s, struct pg_session *c)
{
    int n = 0;
    while (store_pg_migrations[n])
        n++;
    if (exec(c, "SELECT pg_advisory_lock(" PG_MIGRATE_LOCK ")") < 0) {
        log_error("store", "cannot lock for migrations: %s", PQerrorMessage(c->conn));
        return -EIO;
    }
    int version = schema_version(c);
    int r;
    if (version < 0) {
        log_error("store", "cannot read the schema version: %s", PQerrorMessage(c->conn));
        r = -EIO;
    } else if (version > n) {
        log_error("store", "database schema %d is newer than this binary (%d)", version, n);
        r = -EPROTO;
    } else {
        r = apply(s, c, version, n);
    }
    exec(c, "SELECT pg_advisory_unlock(" PG_MIGRATE_LOCK ")");
    return r;
}

int pg_open(const char *url, struct store **ret)
{
    struct pg_store *s = xcalloc(1, sizeof *s);
    s->url = xstrdup(url);
    pthread_mutex_init(&s->conns_lock, NULL);
    pthread_mutex_init(&s->versions_lock, NULL);
    pthread_key_create(&s->conn_key, NULL);
    int r;
    struct pg_session *c = conn_open(s, LOG_ERROR);
    if (!c) {
        r = -EIO;
        goto out_free;
    }
    pthread_setspecific(s->conn_key, c);
    r = migrate(&s->base, c);
    if (r < 0)
        goto out_free;
    *ret = &s->base;
    return 0;
out_free:
    pg_close(&s->base);
    return r;
}

void pg_close(struct store *base)
{
    struct pg_store *s = pg_store_of(base);
    pg_versions_stop(s);
    pthread_setspecific(s->conn_key, NULL);
    struct pg_session *c = s->conns;
    while (c) {
        struct pg_session *next = c->next;
        conn_free(c);
        c = next;
    }
    pthread_key_delete(s->conn_key);
    pthread_mutex_destroy(&s->conns_lock);
    pthread_mutex_destroy(&s->versions_lock);
    free(s->url);
    free(s);
}

char *pg_text_array(const char *const *items, size_t n)
{
    size_t cap = 3;
    for (size_t i = 0; i < n; i++)
        cap += (items[i] ? 2 * strlen(items[i]) + 2 : 4) + 1;
    char *out = xmalloc(cap);
    size_t len = 0;
    out[len++] = '{';
    for (size_t i = 0; i < n; i++) {
        if (i)
            out[len++] = ',';
        if (!items[i]) {
            memcpy(out + len, "NULL", 4);
            len += 4;
            continue;
        }
        out[len++] = '"';
        for (const char *p = items[i]; *p; p++) {
            if (*p == '"' || *p == '\\')
                out[len++] = '\\';
            out[len++] = *p;
        }
        out[len++] = '"';
    }
    out[len++] = '}';
    out[len] = '\0';
    return out;
}

char *pg_id_array(const struct strlist *ids)
{
    return pg_text_array((const char *const *)ids->items, ids->n);
}

char *pg_int_array(const int64_t *v, size_t n)
{
    char *out = xmalloc(n * 21 + 3);
    size_t len = 0;
    out[len++] = '{';
    for (size_t i = 0; i < n; i++)
        len += (size_t)sprintf(out + len, "%s%lld", i ? "," : "", (long long)v[i]);
    out[len++] = '}';
    out[len] = '\0';
    return out;
}

/* ---- LISTEN: the wake-ups of other nodes (store.h, store_listen_open) ---- */

struct store_listener {
    PGconn *conn; /* NULL after a failure: connected again by the next wait */
    bool lost;    /* the connection broke: report every channel once it is back */
};

PGconn *pg_listen_connect(const char *url, const char *app_name, const char *channel)
{
    PGconn *conn = pg_connect_db(url);
    PGresult *res = NULL;
    if (PQstatus(conn) == CONNECTION_OK) {
        PQsetNoticeProcessor(conn, notice_quiet, NULL);
        char sql[128];
        snprintf(sql, sizeof sql, "SET application_name = '%s'; LISTEN %s", app_name, channel);
        res = PQexec(conn, sql);
    }
    if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
        log_debug("store", "postgres: LISTEN %s: %s", channel, PQerrorMessage(conn));
        PQclear(res);
        PQfinish(conn);
        return NULL;
    }
    PQclear(res);
    return conn;
}

/* The wake-up listener's connection (pg_listen_open/wait), or NULL. */
static PGconn *listen_connect(struct pg_store *s)
{
    return pg_listen_connect(s->url, "tikgated-listen", CHANNEL);
}

int pg_listen_open(struct store *base, struct store_listener **ret)
{
    PGconn *conn = listen_connect(pg_store_of(base));
    if (!conn)
        return -EIO;
    struct store_listener *l = xcalloc(1, sizeof *l);
    l->conn = conn;
    *ret = l;
    return 0;
}

/* Collects the notifications libpq has read into *mask (one channel: every kind). */
static void drain_notifies(PGconn *conn, unsigned *mask)
{
    PGnotify *n;
    while ((n = PQnotifies(conn))) {
        *mask |= STORE_WAKE_JOBS | STORE_WAKE_GRANTS | STORE_WAKE_TUNNELS;
        PQfreemem(n);
    }
}

static void listen_lost(struct store_listener *l, int timeout_ms)
{
    PQfinish(l->conn);
    l->conn = NULL;
    l->lost = true;
    struct timespec ts = {.tv_sec = timeout_ms / 1000, .tv_nsec = (timeout_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int pg_listen_wait(struct store *base, struct store_listener *l, int timeout_ms, unsigned *ret_mask)
{
    if (!l->conn && !(l->conn = listen_connect(pg_store_of(base)))) {
        listen_lost(l, timeout_ms);
        return -EIO;
    }
    unsigned mask = 0;
    if (l->lost)
        mask = STORE_WAKE_JOBS | STORE_WAKE_GRANTS | STORE_WAKE_TUNNELS;
    l->lost = false;
    drain_notifies(l->conn, &mask);
    if (!mask) {
        struct pollfd pfd = {.fd = PQsocket(l->conn), .events = POLLIN};
        int pr = poll(&pfd, 1, timeout_ms);
        if (pr < 0 && errno != EINTR) {
            listen_lost(l, 0);
            return -EIO;
        }
        if (pr > 0 && !PQconsumeInput(l->conn)) {
            log_debug("store", "postgres: LISTEN connection lost: %s", PQerrorMessage(l->conn));
            listen_lost(l, timeout_ms);
            return -EIO;
        }
        drain_notifies(l->conn, &mask);
    }
    *ret_mask = mask;
    return 0;
}

void pg_listen_close(struct store *base, struct store_listener *l)
{
    (void)base;
    if (!l)
        return;
    PQfinish(l->conn);
    free(l);
}
