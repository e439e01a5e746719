/*
 * sqlite_writer.c - the SQLite store's one write connection and its group commit.
 *
 * Every transaction of the process (store_begin ... store_commit) runs on one connection, the
 * writer, which the thread holding write_mu borrows: for the transaction the writer's handle
 * and statement cache are swapped into the thread's struct store_conn, so callers keep using
 * their `c`. A connection whose database another connection has changed drops its page cache
 * and its mapping of the file before its next read (~35 pread(2)s and a munmap(2) with its
 * TLB shootdown per transient-access create when each HTTP worker wrote on its own
 * connection, docs/benchmarks.md); the writer's stay warm from one write to the next.
 *
 * Group commit: a transaction ends with RELEASE of its own savepoint inside the writer's
 * open BEGIN IMMEDIATE. If other threads are waiting for write_mu (and the group is young
 * and small), the thread hands the open transaction on and waits for the COMMIT that the
 * last member of the group runs; its store_commit returns that COMMIT's result. A member
 * that fails rolls back to its savepoint and leaves at once: the others are unaffected.
 * One COMMIT writes the pages the members share (table and index leaves) once, and takes
 * SQLite's file locks once.
 *
 * The invariant that ends every group: a member leaves the transaction open only after it saw
 * another thread waiting for write_mu, and each thread that takes write_mu with a group open
 * joins it (store_begin) or commits it first (an autocommit write on its own connection:
 * sqlite_writer_lock_autocommit). A waiter that is not woken within a second commits the
 * group itself (it never should be). The rule for callers, unchanged: no lock of the
 * caller's is held across a store write (a member waits for the group's later members,
 * which could otherwise wait for that lock).
 */
#include "clock.h"
#include "log.h"
#include "sqlite_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>

/* Bounds of one group: members, and age of its transaction when a member leaves. */
#define STORE_GROUP_MAX 32
#define STORE_GROUP_MAX_MS 10
/* A member not woken by then commits the group itself. */
#define STORE_GROUP_RESCUE_MS 1000

/* A member waiting for its group's COMMIT: on the member's stack, in o->group_waiters. */
struct group_waiter {
    int result;
    bool done; /* under group_mu */
    struct group_waiter *next;
};

void sqlite_writer_init(struct sqlite_store *s)
{
    pthread_mutex_init(&s->write_mu, NULL);
    pthread_mutex_init(&s->group_mu, NULL);
    clock_cond_init(&s->group_cond); /* waits on CLOCK_MONOTONIC */
}

void sqlite_writer_destroy(struct sqlite_store *s)
{
    /* the writer connection itself is in s->conns, freed with the others */
    pthread_cond_destroy(&s->group_cond);
    pthread_mutex_destroy(&s->group_mu);
    pthread_mutex_destroy(&s->write_mu);
}

/* Takes write_mu: 0, or -EAGAIN when it was not had within STORE_WRITER_WAIT_MS. */
static int mu_lock(struct sqlite_store *o)
{
    atomic_fetch_add(&o->writers_waiting, 1);
    /* timedlock, on the real clock: ThreadSanitizer (clang 14) does not know clocklock, and a
     * clock step only lengthens or shortens this one wait */
    struct timespec until = clock_timespec_ms(clock_real_ms() + STORE_WRITER_WAIT_MS);
    int rc = pthread_mutex_timedlock(&o->write_mu, &until);
    atomic_fetch_sub(&o->writers_waiting, 1);
    if (rc != 0)
        return sqlite_fail(SQLITE_BUSY, "this process's writers queued past the writer wait");
    o->held_since_us = clock_mono_us();
    atomic_fetch_add_explicit(&o->writer_holds, 1, memory_order_relaxed);
    return 0;
}

/* Lets write_mu go, counting the time it was held. */
static void mu_unlock(struct sqlite_store *o)
{
    atomic_fetch_add_explicit(&o->writer_held_us,
                              (unsigned long long)(clock_mono_us() - o->held_since_us),
                              memory_order_relaxed);
    pthread_mutex_unlock(&o->write_mu);
}

/* A busy timeout (another process's lock) starts or prolongs the fail-fast window. */
static int note_busy(struct sqlite_store *o, int r)
{
    if (r == -EAGAIN)
        atomic_store(&o->busy_until_ms, clock_mono_ms() + STORE_BUSY_FAILFAST_MS);
    return r;
}

/* While another process's lock has just outlasted a busy timeout (busy_until_ms), a write
 * tries SQLite's lock once: it fails at once while the lock is held, goes on once it is free. */
static void set_busy_timeout(struct sqlite_store *o, sqlite3 *db)
{
    bool fail_fast = clock_mono_ms() < atomic_load(&o->busy_until_ms);
    sqlite3_busy_timeout(db, fail_fast ? 0 : STORE_BUSY_TIMEOUT_MS);
}

/* Exchanges the SQLite handle and its statement cache of a and b. */
static void handle_swap(struct store_conn *a, struct store_conn *b)
{
    struct store_conn t = *a;
    a->db = b->db;
    a->cache = b->cache;
    a->cache_cap = b->cache_cap;
    a->cache_used = b->cache_used;
    a->prepares = b->prepares;
    b->db = t.db;
    b->cache = t.cache;
    b->cache_cap = t.cache_cap;
    b->cache_used = t.cache_used;
    b->prepares = t.prepares;
}

/* Under write_mu: ends the open group with r for every waiting member. */
static void group_finish(struct sqlite_store *o, int r)
{
    pthread_mutex_lock(&o->group_mu);
    for (struct group_waiter *w = o->group_waiters; w; w = w->next) {
        w->result = r;
        w->done = true;
    }
    pthread_cond_broadcast(&o->group_cond);
    pthread_mutex_unlock(&o->group_mu);
    o->group_waiters = NULL;
    o->group_open = false;
    o->group_members = 0;
}

/* The writer's transaction control statements: prepared once, in the writer's cache. */
static const char sql_begin[] = "BEGIN IMMEDIATE", sql_commit[] = "COMMIT",
                  sql_rollback[] = "ROLLBACK", sql_savepoint[] = "SAVEPOINT tg_tx",
                  sql_release[] = "RELEASE tg_tx", sql_rollback_to[] = "ROLLBACK TO tg_tx";

/* Runs one of them on w, the store_conn that has the writer's handle now: 0 or -errno. */
static int run(struct store_conn *w, const char *sql)
{
    sqlite3_stmt *st = store_stmt(w, sql);
    if (!st)
        return -EIO;
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : sqlite_fail(rc, sqlite3_errmsg(w->db));
}

/* Under write_mu, on w (which has the writer's handle): COMMITs the open group (0 or -errno,
 * for all its members). */
static int group_commit(struct sqlite_store *o, struct store_conn *w)
{
    atomic_fetch_add_explicit(&o->writer_commits, 1, memory_order_relaxed);
    int r = note_busy(o, run(w, sql_commit));
    if (r < 0 && !sqlite3_get_autocommit(w->db))
        run(w, sql_rollback);
    group_finish(o, r);
    return r;
}

/* Returns the writer's handle to o->writer and lets write_mu go. */
static void leave(struct store_conn *c)
{
    handle_swap(c, c->owner->writer);
    c->holds_write = false;
    mu_unlock(c->owner);
}

/* A member's wait for its group's COMMIT; its result. */
static int wait_commit(struct sqlite_store *o, struct group_waiter *w)
{
    pthread_mutex_lock(&o->group_mu);
    while (!w->done) {
        struct timespec until = clock_timespec_ms(clock_mono_ms() + STORE_GROUP_RESCUE_MS);
        if (pthread_cond_timedwait(&o->group_cond, &o->group_mu, &until) == 0 || w->done)
            continue;
        pthread_mutex_unlock(&o->group_mu);
        log_error("store", "a group of writes was left open: committing it");
        pthread_mutex_lock(&o->write_mu);
        if (o->group_open)
            group_commit(o, o->writer); /* no thread has the handle: write_mu is ours */
        pthread_mutex_unlock(&o->write_mu);
        pthread_mutex_lock(&o->group_mu);
    }
    int r = w->result;
    pthread_mutex_unlock(&o->group_mu);
    return r;
}

/* The writer's WAL hook: frames is the log's length after a COMMIT. */
static int log_grown(void *arg, sqlite3 *db, const char *name, int frames)
{
    (void)db;
    (void)name;
    if (frames > STORE_WAL_RESTART_FRAMES)
        sqlite_checkpointer_want(arg);
    return SQLITE_OK;
}

/*
 * Under write_mu: opens the writer. Its file is mapped (mmap_size): only its own commits
 * change what it reads, so the mapping stays valid, and its pages are read in place rather
 * than copied by a pread(2) each time they fall out of the 2 MB page cache.
 */
static int writer_open(struct sqlite_store *o)
{
    struct store_conn *w = sqlite_conn_open(o, LOG_ERROR);
    if (!w)
        return -EIO;
    sqlite_exec(w->db, "PRAGMA mmap_size=268435456"); /* without it: pread(2)s */
    /* after each COMMIT: a log past the restart size wakes the checkpointer at once, rather
     * than at its next second (at 2 000 creates/s the log grows ~90 MB a second) */
    sqlite3_wal_hook(w->db, log_grown, o);
    o->writer = w;
    return 0;
}

int sqlite_writer_begin(struct store_conn *c)
{
    struct sqlite_store *o = c->owner;
    int r = mu_lock(o);
    if (r < 0)
        return r;
    if (!o->writer && (r = writer_open(o)) < 0) {
        mu_unlock(o);
        return r;
    }
    c->holds_write = true;
    handle_swap(c, o->writer);
    set_busy_timeout(o, c->db);
    if (!o->group_open) {
        r = note_busy(o, run(c, sql_begin));
        if (r < 0) {
            leave(c);
            return r;
        }
        o->group_open = true;
        o->group_opened_ms = clock_mono_ms();
    }
    r = run(c, sql_savepoint);
    if (r < 0)
        return sqlite_writer_end(c, r);
    return 0;
}

int sqlite_writer_end(struct store_conn *c, int r)
{
    struct sqlite_store *o = c->owner;
    sqlite3 *db = c->db;
    if (r == 0 && (r = run(c, sql_release)) == 0)
        o->group_members++;
    else if (!sqlite3_get_autocommit(db)) {
        run(c, sql_rollback_to);
        run(c, sql_release);
    }
    if (sqlite3_get_autocommit(db)) {
        /* SQLite ended the whole transaction (an I/O error, a full disk): every member's
         * work is gone with it */
        group_finish(o, r < 0 ? r : -EIO);
        leave(c);
        return r < 0 ? r : -EIO;
    }
    bool hand_on = atomic_load(&o->writers_waiting) > 0 && o->group_members < STORE_GROUP_MAX &&
                   clock_mono_ms() - o->group_opened_ms < STORE_GROUP_MAX_MS;
    if (!hand_on) {
        int cr = group_commit(o, c);
        leave(c);
        return r < 0 ? r : cr;
    }
    if (r < 0) { /* nothing of this one remains: the group goes on without it */
        leave(c);
        return r;
    }
    struct group_waiter w = {.next = o->group_waiters};
    o->group_waiters = &w;
    leave(c);
    return wait_commit(o, &w);
}

int sqlite_writer_pause(struct sqlite_store *s)
{
    int r = mu_lock(s);
    if (r == 0 && s->group_open)
        group_commit(s, s->writer);
    return r;
}

void sqlite_writer_resume(struct sqlite_store *s)
{
    mu_unlock(s);
}

int sqlite_writer_lock_autocommit(struct store_conn *c)
{
    int r = sqlite_writer_pause(c->owner);
    if (r < 0)
        return r;
    c->holds_write = true;
    set_busy_timeout(c->owner, c->db);
    return 0;
}

int sqlite_writer_unlock_autocommit(struct store_conn *c, int r)
{
    note_busy(c->owner, r);
    c->holds_write = false;
    mu_unlock(c->owner);
    return r;
}
