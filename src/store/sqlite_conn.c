/*
 * sqlite_conn.c - connections, migrations, statement cache and transactions
 * of the SQLite store.
 */
#include "alloc.h"
#include "clock.h"
#include "log.h"
#include "sqlite_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const char *const store_migrations[];
extern const char *const store_migrations_names[];

static void conn_free(struct store_conn *c)
{
    for (size_t i = 0; i < c->cache_cap; i++)
        if (c->cache[i].stmt)
            sqlite3_finalize(c->cache[i].stmt);
    free(c->cache);
    sqlite3_close(c->db);
    free(c);
}

/* Storage errors since start, by kind (the metrics' counters; any thread). */
static atomic_ulong errors_full, errors_busy, errors_io;
static _Atomic int64_t last_warn_ms;

/*
 * The -errno of a failed SQLite result code: -ENOSPC for a full disk or database
 * (SQLITE_FULL), -EAGAIN when the write lock was not had within the busy timeout
 * (SQLITE_BUSY, SQLITE_LOCKED), -EEXIST for a constraint, else -EIO. The storage kinds are
 * counted and logged as a warning at most every 10 s, so the operator sees why writes fail.
 */
int sqlite_fail(int rc, const char *msg)
{
    int r;
    atomic_ulong *count;
    switch (rc & 0xff) {
    case SQLITE_CONSTRAINT: return -EEXIST;
    case SQLITE_FULL:
        r = -ENOSPC;
        count = &errors_full;
        break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        r = -EAGAIN;
        count = &errors_busy;
        break;
    default:
        r = -EIO;
        count = &errors_io;
        break;
    }
    atomic_fetch_add(count, 1);
    int64_t now = clock_mono_ms(), last = atomic_load(&last_warn_ms);
    if (now - last >= 10000 && atomic_compare_exchange_strong(&last_warn_ms, &last, now))
        log_warn("store", "storage error: %s%s", msg,
                 r == -ENOSPC   ? " (the disk or the database is full: writes fail until there "
                                  "is space again)"
                 : r == -EAGAIN ? " (the database's write lock was busy for the whole busy "
                                  "timeout)"
                                : "");
    else
        log_debug("store", "sqlite: %s", msg);
    return r;
}

void store_error_counts(unsigned long *ret_full, unsigned long *ret_busy, unsigned long *ret_io)
{
    *ret_full = atomic_load(&errors_full);
    *ret_busy = atomic_load(&errors_busy);
    *ret_io = atomic_load(&errors_io);
#ifdef TG_HAVE_POSTGRES
    unsigned long full, busy, io;
    pg_error_counts(&full, &busy, &io);
    *ret_full += full;
    *ret_busy += busy;
    *ret_io += io;
#endif
}

int sqlite_exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        int r = sqlite_fail(rc, msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        return r;
    }
    return 0;
}

/* Before SQLite initialises: no allocation statistics, whose global mutex every
 * sqlite3_malloc() of every connection takes (issue 13; nothing reads them). */
static void sqlite_global_config(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

struct store_conn *sqlite_conn_open(struct sqlite_store *s, enum log_level lvl)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, sqlite_global_config);
    struct store_conn *c = xcalloc(1, sizeof *c);
    c->owner = s;
    c->cache_cap = STMT_CACHE_INITIAL;
    c->cache = xcalloc(c->cache_cap, sizeof *c->cache);
    int rc = sqlite3_open_v2(
        s->path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        log_msg(lvl, "store", "cannot open %s: %s", s->path, sqlite3_errstr(rc));
        goto out_free;
    }
    sqlite3_busy_timeout(c->db, STORE_BUSY_TIMEOUT_MS);
    /* wal_autocheckpoint=0: the checkpointer thread does it, not a committing request.
     * No mmap on these connections (the writer's is set by sqlite_writer.c): a connection
     * whose file another connection changed unmaps all of it before its next read, and with
     * writes every few ms that munmap(2) and its TLB shootdown on every core cost more than
     * the pread(2)s of the pages read again (docs/benchmarks.md, issue 13). */
    if (sqlite_exec(c->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                           "PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;"
                           "PRAGMA wal_autocheckpoint=0; PRAGMA mmap_size=0;"
                           "PRAGMA journal_size_limit=67108864;") < 0)
        goto out_free;
    pthread_mutex_lock(&s->conns_lock);
    c->next = s->conns;
    s->conns = c;
    pthread_mutex_unlock(&s->conns_lock);
    return c;
out_free:
    conn_free(c);
    return NULL;
}

struct store_conn *store_conn(struct store *base)
{
    struct sqlite_store *s = sqlite_store_of(base);
    struct store_conn *c = pthread_getspecific(s->conn_key);
    if (c)
        return c;
    c = sqlite_conn_open(s, LOG_DEBUG);
    if (c)
        pthread_setspecific(s->conn_key, c);
    return c;
}

bool sqlite_connection_lost(struct store *s)
{
    (void)s;
    return false;
}

bool sqlite_reachable(struct store *s)
{
    (void)s; /* a file: its failures are the disk's (-ENOSPC, -EIO), not a server's absence */
    return true;
}

void sqlite_thread_done(struct store *base)
{
    struct sqlite_store *s = sqlite_store_of(base);
    struct store_conn *c = pthread_getspecific(s->conn_key);
    if (!c)
        return;
    pthread_setspecific(s->conn_key, NULL);
    pthread_mutex_lock(&s->conns_lock);
    for (struct store_conn **pp = &s->conns; *pp; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    }
    pthread_mutex_unlock(&s->conns_lock);
    conn_free(c);
}

/* The slot of sql in a table of cap (a power of two) slots: its own, or the free one to take. */
static struct stmt_slot *slot_find(struct stmt_slot *t, size_t cap, const char *sql)
{
    /* Fibonacci hashing of the address: static strings are 1-8 byte aligned and close. */
    size_t i = (size_t)(((uint64_t)(uintptr_t)sql * UINT64_C(0x9E3779B97F4A7C15)) >> 32);
    for (;; i++) {
        struct stmt_slot *slot = &t[i & (cap - 1)];
        if (slot->sql == sql || !slot->sql)
            return slot;
    }
}

/* Doubles the cache; statements keep their addresses, only the slots move. */
static void cache_grow(struct store_conn *c)
{
    size_t cap = c->cache_cap * 2;
    struct stmt_slot *t = xcalloc(cap, sizeof *t);
    for (size_t i = 0; i < c->cache_cap; i++)
        if (c->cache[i].sql)
            *slot_find(t, cap, c->cache[i].sql) = c->cache[i];
    free(c->cache);
    c->cache = t;
    c->cache_cap = cap;
}

sqlite3_stmt *store_stmt(struct store_conn *c, const char *sql)
{
    struct stmt_slot *slot = slot_find(c->cache, c->cache_cap, sql);
    if (slot->sql) {
        sqlite3_reset(slot->stmt);
        sqlite3_clear_bindings(slot->stmt);
        return slot->stmt;
    }
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
    if (rc != SQLITE_OK) {
        log_debug("store", "prepare failed: %s: %.80s", sqlite3_errmsg(c->db), sql);
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

unsigned long store_stmt_prepares(struct store *s)
{
    struct sqlite_store *o = sqlite_store_of(s);
    struct store_conn *c = pthread_getspecific(o->conn_key);
    pthread_mutex_lock(&o->write_mu); /* the writer's count is in o->writer between writes */
    unsigned long n = (c ? c->prepares : 0) + (o->writer ? o->writer->prepares : 0);
    pthread_mutex_unlock(&o->write_mu);
    return n;
}

sqlite3_stmt *store_prepare(struct store *s, const char *sql, struct store_conn **ret_c)
{
    struct store_conn *c = store_conn(s);
    sqlite3_stmt *st = c ? store_stmt(c, sql) : NULL;
    if (st)
        *ret_c = c;
    return st;
}

/* An autocommit statement that writes takes the process's writer mutex for its step. */
static bool autocommit_write(struct store_conn *c, sqlite3_stmt *st)
{
    return c->tx_depth == 0 && !c->holds_write && sqlite3_get_autocommit(c->db) &&
           !sqlite3_stmt_readonly(st);
}

int store_begin(struct store_conn *c)
{
    if (c->tx_depth++ > 0)
        return 0;
    c->tx_failed = false;
    c->tx_err = 0;
    int r = sqlite_writer_begin(c);
    if (r < 0)
        c->tx_depth = 0;
    return r;
}

int store_commit(struct store_conn *c)
{
    if (c->tx_depth <= 0)
        return -EIO;
    if (--c->tx_depth > 0)
        return 0;
    if (c->tx_failed) {
        c->tx_failed = false;
        int r = c->tx_err < 0 ? c->tx_err : -EIO;
        sqlite_writer_end(c, r);
        return r;
    }
    return sqlite_writer_end(c, 0);
}

void store_rollback(struct store_conn *c)
{
    if (c->tx_depth <= 0)
        return;
    if (--c->tx_depth > 0) {
        c->tx_failed = true;
        return;
    }
    c->tx_err = 0;
    c->tx_failed = false;
    sqlite_writer_end(c, -ECANCELED);
}

sqlite3_stmt *store_begin_stmt(struct store *s, const char *sql, struct store_conn **ret_c,
                               int *ret_err)
{
    struct store_conn *c = store_conn(s);
    *ret_c = c;
    if (!c) {
        *ret_err = -EIO;
        return NULL;
    }
    *ret_err = store_begin(c);
    if (*ret_err < 0)
        return NULL;
    sqlite3_stmt *st = store_stmt(c, sql);
    if (!st) {
        store_rollback(c);
        *ret_err = -EIO;
    }
    return st;
}

int store_end(struct store_conn *c, int r)
{
    if (r < 0) {
        /* an inner level's storage failure is what the outermost commit reports (a full
         * disk stays -ENOSPC, a busy lock -EAGAIN); any other refusal dooms it as -EIO */
        if (c->tx_depth > 1 && c->tx_err == 0 && (r == -ENOSPC || r == -EAGAIN))
            c->tx_err = r;
        store_rollback(c);
        return r;
    }
    return store_commit(c);
}

int sqlite_tx_begin(struct store *s)
{
    struct store_conn *c = store_conn(s);
    return c ? store_begin(c) : -EIO;
}

int sqlite_tx_commit(struct store *s)
{
    struct store_conn *c = store_conn(s);
    return c ? store_commit(c) : -EIO;
}

void sqlite_tx_rollback(struct store *s)
{
    struct store_conn *c = store_conn(s);
    if (c)
        store_rollback(c);
}

int sqlite_tx_end(struct store *s, int r)
{
    struct store_conn *c = store_conn(s);
    if (!c)
        return r < 0 ? r : -EIO;
    return store_end(c, r);
}

int store_map_rc(struct store_conn *c, int rc)
{
    if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW)
        return 0;
    return sqlite_fail(rc, sqlite3_errmsg(c->db));
}

int store_step_done(struct store_conn *c, sqlite3_stmt *st)
{
    bool lock = autocommit_write(c, st);
    if (lock) {
        int r = sqlite_writer_lock_autocommit(c);
        if (r < 0) {
            sqlite3_reset(st);
            return r;
        }
    }
    int rc = sqlite3_step(st);
    int r = store_map_rc(c, rc);
    sqlite3_reset(st);
    if (lock) {
        sqlite_writer_unlock_autocommit(c, r);
    }
    return r;
}

int store_collect(struct store_conn *c, sqlite3_stmt *st, size_t elem_size,
                  int (*read_row)(void *ctx, sqlite3_stmt *st, void *elem), void *ctx,
                  void (*release_row)(void *elem), void **ret, size_t *n)
{
    char *a = NULL;
    size_t cnt = 0;
    int rc, r = 0;
    bool lock = autocommit_write(c, st); /* an INSERT/UPDATE ... RETURNING */
    if (lock && (r = sqlite_writer_lock_autocommit(c)) < 0) {
        sqlite3_reset(st);
        return r;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        a = xrealloc(a, (cnt + 1) * elem_size);
        void *elem = a + cnt * elem_size;
        memset(elem, 0, elem_size);
        r = read_row(ctx, st, elem);
        if (r < 0)
            break;
        cnt++;
    }
    sqlite3_reset(st);
    if (r == 0 && rc != SQLITE_DONE)
        r = store_map_rc(c, rc);
    if (lock) {
        sqlite_writer_unlock_autocommit(c, r);
    }
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

int store_step_row(struct store_conn *c, sqlite3_stmt *st,
                   int (*read_row)(void *ctx, sqlite3_stmt *st, void *out), void *ctx, void *out)
{
    bool lock = autocommit_write(c, st);
    if (lock) {
        int r = sqlite_writer_lock_autocommit(c);
        if (r < 0) {
            sqlite3_reset(st);
            return r;
        }
    }
    int rc = sqlite3_step(st);
    int r = 0;
    if (rc == SQLITE_ROW && read_row)
        r = read_row(ctx, st, out);
    else if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        r = store_map_rc(c, rc);
    sqlite3_reset(st);
    if (lock) {
        sqlite_writer_unlock_autocommit(c, r);
    }
    if (rc == SQLITE_ROW)
        return r;
    return rc == SQLITE_DONE ? -ENOENT : r;
}

int store_read_int(void *ctx, sqlite3_stmt *st, void *out)
{
    (void)ctx;
    *(int *)out = sqlite3_column_int(st, 0);
    return 0;
}

int store_read_int64(void *ctx, sqlite3_stmt *st, void *out)
{
    (void)ctx;
    *(int64_t *)out = sqlite3_column_int64(st, 0);
    return 0;
}

int store_read_id(void *ctx, sqlite3_stmt *st, void *out)
{
    (void)ctx;
    col_copy(st, 0, out, UUID_STR_LEN);
    return 0;
}

int store_site_owned(struct store_conn *c, const char *tenant_id, const char *site_id)
{
    static const char sql[] = "SELECT 1 FROM sites WHERE id = ? AND tenant_id = ?";
    sqlite3_stmt *st = store_stmt(c, sql);
    if (!st)
        return -EIO;
    bind_text(st, 1, site_id);
    bind_text(st, 2, tenant_id);
    return store_step_row(c, st, NULL, NULL, NULL);
}

int store_step_changed(struct store_conn *c, sqlite3_stmt *st)
{
    int r = store_step_done(c, st);
    if (r < 0)
        return r;
    return sqlite3_changes(c->db) ? 0 : -ENOENT;
}

char *col_strdup(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? xstrdup((const char *)t) : NULL;
}

void col_copy(sqlite3_stmt *st, int i, char *out, size_t outlen)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    snprintf(out, outlen, "%s", t ? (const char *)t : "");
}

void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

void bind_time(sqlite3_stmt *st, int i, int64_t t)
{
    if (t)
        sqlite3_bind_int64(st, i, t);
    else
        sqlite3_bind_null(st, i);
}

int64_t col_time(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, i);
}

/* Applies every migration above PRAGMA user_version, each in its own transaction. */
static int migrate(struct store *s, struct store_conn *c)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(c->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return -EIO;
    int version = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    sqlite3_finalize(st);
    int n = 0;
    while (store_migrations[n])
        n++;
    if (version > n) {
        log_error("store", "database schema %d is newer than this binary (%d)", version, n);
        return -EPROTO;
    }
    for (int i = version; i < n; i++) {
        if (store_begin(c) < 0)
            return -EIO;
        char pragma[64];
        snprintf(pragma, sizeof pragma, "PRAGMA user_version=%d", i + 1);
        if (sqlite_exec(c->db, store_migrations[i]) < 0 || sqlite_exec(c->db, pragma) < 0) {
            log_error("store", "migration %s failed: %s", store_migrations_names[i],
                      sqlite3_errmsg(c->db));
            store_rollback(c);
            return -EIO;
        }
        if (store_commit(c) < 0)
            return -EIO;
        log_info("store", "applied migration %s", store_migrations_names[i]);
    }
    s->schema_version = n;
    return 0;
}

int sqlite_open(const char *path, struct store **ret)
{
    struct sqlite_store *s = xcalloc(1, sizeof *s);
    s->path = xstrdup(path);
    pthread_mutex_init(&s->conns_lock, NULL);
    sqlite_writer_init(s);
    pthread_key_create(&s->conn_key, NULL);
    int r;
    struct store_conn *c = sqlite_conn_open(s, LOG_ERROR);
    if (!c) {
        r = -EIO;
        goto out_free;
    }
    pthread_setspecific(s->conn_key, c);
    r = migrate(&s->base, c);
    if (r < 0)
        goto out_free;
    r = sqlite_checkpointer_start(s);
    if (r < 0)
        goto out_free;
    *ret = &s->base;
    return 0;
out_free:
    sqlite_close(&s->base);
    return r;
}

void sqlite_close(struct store *base)
{
    struct sqlite_store *s = sqlite_store_of(base);
    sqlite_checkpointer_stop(s);
    pthread_setspecific(s->conn_key, NULL);
    struct store_conn *c = s->conns;
    while (c) {
        struct store_conn *next = c->next;
        conn_free(c);
        c = next;
    }
    pthread_key_delete(s->conn_key);
    pthread_mutex_destroy(&s->conns_lock);
    sqlite_writer_destroy(s);
    free(s->path);
    free(s);
}

/* One machine: the daemon wakes its own threads; no notifications between processes. */
int sqlite_listen_open(struct store *s, struct store_listener **ret)
{
    (void)s;
    (void)ret;
    return -ENOTSUP;
}

int sqlite_listen_wait(struct store *s, struct store_listener *l, int timeout_ms,
                       unsigned *ret_mask)
{
    (void)s;
    (void)l;
    (void)timeout_ms;
    (void)ret_mask;
    return -ENOTSUP;
}

void sqlite_listen_close(struct store *s, struct store_listener *l)
{
    (void)s;
    (void)l;
}
