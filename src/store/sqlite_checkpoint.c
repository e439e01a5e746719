/*
 * sqlite_checkpoint.c - the WAL checkpointer: one thread per SQLite store copies the
 * write-ahead log back into the database file, every STORE_CHECKPOINT_MS.
 *
 * SQLite's default runs that checkpoint inside the commit that takes the log past 1 000 pages,
 * on whichever thread committed: with the API's writes that was an HTTP worker, which then
 * waited for the checkpoint's fdatasync() (tens to hundreds of milliseconds on a busy disk)
 * while every other connection of that worker waited behind it (issue 13, the mixed load).
 * Connections are opened with wal_autocheckpoint off (sqlite_conn.c) and this thread runs a
 * PASSIVE checkpoint instead: it takes no lock that a reader or a writer waits for, copies what
 * no reader still needs, and SQLite starts the log over at the next write once all of it was
 * copied (or, when the log has grown past STORE_WAL_RESTART_FRAMES, restart_log() does). The
 * thread has its own connection (store_conn: the connection of the calling
 * thread), released with the others by sqlite_close.
 */
#include "clock.h"
#include "log.h"
#include "sqlite_int.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

/*
 * Starts the log over: the writer paused (write_mu, its open group committed), a RESTART
 * checkpoint copies the frames written since the PASSIVE one and waits (busy handler, at most
 * STORE_WAL_RESTART_WAIT_MS) for the readers still reading older frames; the next write then
 * writes from the start of the file, which PRAGMA journal_size_limit keeps at 64 MB.
 *
 * Why: SQLite starts the log over only when a write begins with every frame copied and no
 * reader in the log. Under a steady load some reader always is, and the log grew without end
 * (1.4 GB in 15 s of bench/write.sh, each write slower than the last as the log's index grew:
 * 2 450 creates/s down to 1 400). Writers wait here for the few frames' copy and one fsync.
 */
static void restart_log(struct sqlite_store *s, struct store_conn *c)
{
    if (sqlite_writer_pause(s) < 0)
        return;
    sqlite3_busy_timeout(c->db, STORE_WAL_RESTART_WAIT_MS);
    int rc = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_RESTART, NULL, NULL);
    sqlite3_busy_timeout(c->db, STORE_BUSY_TIMEOUT_MS);
    sqlite_writer_resume(s);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY)
        log_warn("store", "WAL restart failed: %s", sqlite3_errmsg(c->db));
}

static void *checkpointer_main(void *arg)
{
    struct sqlite_store *s = arg;
    pthread_mutex_lock(&s->ckpt_mu);
    while (!s->ckpt_stop) {
        struct timespec until =
            clock_timespec_ns(clock_mono_ns() + (int64_t)STORE_CHECKPOINT_MS * 1000000);
        while (!s->ckpt_stop && !s->ckpt_wanted &&
               pthread_cond_timedwait(&s->ckpt_cond, &s->ckpt_mu, &until) == 0)
            ;
        if (s->ckpt_stop)
            break;
        s->ckpt_wanted = false;
        pthread_mutex_unlock(&s->ckpt_mu);
        struct store_conn *c = store_conn(&s->base);
        int frames = 0, copied = 0;
        int rc =
            c ? sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &frames, &copied)
              : SQLITE_CANTOPEN;
        if (rc != SQLITE_OK && rc != SQLITE_BUSY)
            log_warn("store", "WAL checkpoint failed: %s",
                     c ? sqlite3_errmsg(c->db) : "no connection");
        else if (frames > STORE_WAL_RESTART_FRAMES)
            restart_log(s, c);
        pthread_mutex_lock(&s->ckpt_mu);
    }
    pthread_mutex_unlock(&s->ckpt_mu);
    return NULL;
}

void sqlite_checkpointer_want(struct sqlite_store *s)
{
    if (!s->ckpt_running)
        return;
    pthread_mutex_lock(&s->ckpt_mu);
    if (!s->ckpt_wanted) {
        s->ckpt_wanted = true;
        pthread_cond_signal(&s->ckpt_cond);
    }
    pthread_mutex_unlock(&s->ckpt_mu);
}

int sqlite_checkpointer_start(struct sqlite_store *s)
{
    pthread_mutex_init(&s->ckpt_mu, NULL);
    clock_cond_init(&s->ckpt_cond);
    s->ckpt_stop = false;
    int e = pthread_create(&s->ckpt_thread, NULL, checkpointer_main, s);
    if (e != 0) {
        log_error("store", "cannot start the WAL checkpointer: %s", strerror(e));
        pthread_cond_destroy(&s->ckpt_cond);
        pthread_mutex_destroy(&s->ckpt_mu);
        return -e;
    }
    s->ckpt_running = true;
    return 0;
}

void sqlite_checkpointer_stop(struct sqlite_store *s)
{
    if (!s->ckpt_running)
        return;
    pthread_mutex_lock(&s->ckpt_mu);
    s->ckpt_stop = true;
    pthread_cond_signal(&s->ckpt_cond);
    pthread_mutex_unlock(&s->ckpt_mu);
    pthread_join(s->ckpt_thread, NULL);
    pthread_cond_destroy(&s->ckpt_cond);
    pthread_mutex_destroy(&s->ckpt_mu);
    s->ckpt_running = false;
}
