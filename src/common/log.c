#include "log.h"

#include "clock.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static enum log_level min_level = LOG_INFO;
static int json_mode = -1;

void log_set_level(enum log_level lvl)
{
    min_level = lvl;
}

void log_set_json(int mode)
{
    json_mode = mode;
}

static const char *level_name(enum log_level lvl)
{
    switch (lvl) {
    case LOG_DEBUG: return "debug";
    case LOG_INFO: return "info";
    case LOG_WARN: return "warn";
    case LOG_ERROR: return "error";
    }
    return "?";
}

/* A line under construction: fixed size, truncated (never overflowing) when too long. */
struct line {
    char b[4096];
    size_t n;
};

static void put(struct line *l, const char *s, size_t len)
{
    if (len > sizeof l->b - 2 - l->n)
        len = sizeof l->b - 2 - l->n;
    memcpy(l->b + l->n, s, len);
    l->n += len;
}

static void puts_(struct line *l, const char *s)
{
    put(l, s, strlen(s));
}

/* Appends s as the body of a JSON string, escaping what JSON needs. */
static void put_escaped(struct line *l, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    const char *run = s;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c != '"' && c != '\\' && c >= 0x20)
            continue;
        put(l, run, (size_t)(s - run));
        run = s + 1;
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            put(l, e, 2);
        } else {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            put(l, e, 6);
        }
    }
    put(l, run, (size_t)(s - run));
}

/* Writes all of b to stderr (retrying short writes and EINTR); nowhere to report a failure. */
static void write_all(const char *b, size_t n)
{
    while (n) {
        ssize_t w = write(STDERR_FILENO, b, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        b += w;
        n -= (size_t)w;
    }
}

/*
 * The buffered writer (log_async_start): two fixed buffers. Callers append a whole line to
 * the current one under `mu`, held only for a memcpy; a flush swaps the buffers under `mu`
 * and writes the full one outside it, under `wmu` (which orders flushes, so a buffer is
 * empty again before it can become current). A line that does not fit is dropped and
 * counted, never waited for: an info line on the request path costs a format and a memcpy.
 * Warnings and errors flush at once (after the lines before them, in order), so they are on
 * stderr when log_msg() returns, and they wait for room rather than being dropped.
 */
#define ASYNC_CAP ((size_t)1 << 20)
#define ASYNC_PERIOD_MS 50

static struct {
    pthread_mutex_t mu;  /* cur, len[cur], signalled */
    pthread_mutex_t wmu; /* one flush at a time */
    pthread_cond_t cv;   /* the writer's wake-up (clock_cond_init) */
    char buf[2][ASYNC_CAP];
    size_t len[2];
    int cur;
    bool signalled; /* under mu: the writer was woken for a half-full buffer */
    bool stopping;  /* under mu */
    pthread_t writer;
} ring = {.mu = PTHREAD_MUTEX_INITIALIZER, .wmu = PTHREAD_MUTEX_INITIALIZER};

static atomic_bool async_on;
static atomic_ullong dropped_total;
static atomic_ullong dropped_unreported;

/* Writes out what was buffered (and a note of the lines dropped since the last note). */
static void flush_ring(void)
{
    pthread_mutex_lock(&ring.wmu);
    pthread_mutex_lock(&ring.mu);
    int full = ring.cur;
    ring.cur ^= 1;
    ring.signalled = false;
    size_t n = ring.len[full];
    pthread_mutex_unlock(&ring.mu);
    write_all(ring.buf[full], n);
    ring.len[full] = 0;
    unsigned long long d = atomic_exchange(&dropped_unreported, 0);
    if (d) {
        char note[128];
        int k = snprintf(note, sizeof note,
                         "log: %llu line(s) dropped: the log buffer was full (%llu in all)\n", d,
                         atomic_load(&dropped_total));
        write_all(note, (size_t)k);
    }
    pthread_mutex_unlock(&ring.wmu);
}

/* Appends one line; false when it does not fit. *ret_wake: the writer should run now. */
static bool ring_append(const char *b, size_t n, bool *ret_wake)
{
    bool ok = false;
    pthread_mutex_lock(&ring.mu);
    size_t *len = &ring.len[ring.cur];
    if (n <= ASYNC_CAP - *len) {
        memcpy(ring.buf[ring.cur] + *len, b, n);
        *len += n;
        ok = true;
    }
    *ret_wake = !ring.signalled && *len >= ASYNC_CAP / 2;
    if (*ret_wake)
        ring.signalled = true;
    pthread_mutex_unlock(&ring.mu);
    return ok;
}

static void emit(enum log_level lvl, const char *b, size_t n)
{
    if (!atomic_load_explicit(&async_on, memory_order_acquire)) {
        write_all(b, n);
        return;
    }
    bool wake;
    if (lvl >= LOG_WARN) {
        if (!ring_append(b, n, &wake)) {
            flush_ring();
            if (!ring_append(b, n, &wake))
                write_all(b, n); /* longer than a buffer: cannot happen with 4 KiB lines */
        }
        flush_ring();
        return;
    }
    if (!ring_append(b, n, &wake)) {
        atomic_fetch_add(&dropped_total, 1);
        atomic_fetch_add(&dropped_unreported, 1);
    }
    if (wake)
        pthread_cond_signal(&ring.cv);
}

static void *writer_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&ring.mu);
    while (!ring.stopping) {
        if (!ring.signalled)
            clock_cond_wait_until_ms(&ring.cv, &ring.mu, clock_mono_ms() + ASYNC_PERIOD_MS);
        bool any = ring.len[ring.cur] > 0 || atomic_load(&dropped_unreported);
        pthread_mutex_unlock(&ring.mu);
        if (any)
            flush_ring();
        pthread_mutex_lock(&ring.mu);
    }
    pthread_mutex_unlock(&ring.mu);
    return NULL;
}

int log_async_start(void)
{
    if (atomic_load(&async_on))
        return 0;
    int r = clock_cond_init(&ring.cv);
    if (r < 0)
        return r;
    ring.stopping = false;
    if ((r = pthread_create(&ring.writer, NULL, writer_main, NULL)) != 0) {
        pthread_cond_destroy(&ring.cv);
        return -r;
    }
    atomic_store_explicit(&async_on, true, memory_order_release);
    return 0;
}

void log_async_stop(void)
{
    if (!atomic_load(&async_on))
        return;
    pthread_mutex_lock(&ring.mu);
    ring.stopping = true;
    pthread_cond_signal(&ring.cv);
    pthread_mutex_unlock(&ring.mu);
    pthread_join(ring.writer, NULL);
    atomic_store_explicit(&async_on, false, memory_order_release);
    flush_ring(); /* what was appended meanwhile; later lines are written directly */
    pthread_cond_destroy(&ring.cv);
}

void log_flush(void)
{
    if (atomic_load(&async_on))
        flush_ring();
}

unsigned long long log_dropped(void)
{
    return atomic_load(&dropped_total);
}

/*
 * One event = one line, written whole: directly with one write(2) (lines from several
 * threads never interleave: writes up to PIPE_BUF are atomic on pipes; on files and
 * terminals a single write is not split in practice), or, once log_async_start() ran,
 * appended whole to the buffer the writer thread drains.
 */
void log_msg(enum log_level lvl, const char *component, const char *fmt, ...)
{
    if (lvl < min_level)
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);

    int64_t now_ms = clock_real_ms();
    time_t sec = (time_t)(now_ms / 1000);
    struct tm tm;
    gmtime_r(&sec, &tm);
    char when[96];
    snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)(now_ms % 1000));

    int json = json_mode >= 0 ? json_mode : !isatty(STDERR_FILENO);
    struct line l;
    l.n = 0;
    if (json) {
        puts_(&l, "{\"ts\":\"");
        puts_(&l, when);
        puts_(&l, "\",\"level\":\"");
        puts_(&l, level_name(lvl));
        puts_(&l, "\",\"component\":\"");
        put_escaped(&l, component);
        puts_(&l, "\",\"msg\":\"");
        put_escaped(&l, msg);
        puts_(&l, "\"}");
    } else {
        char head[160];
        snprintf(head, sizeof head, "%s %-5s %-10s ", when, level_name(lvl), component);
        puts_(&l, head);
        puts_(&l, msg);
    }
    l.b[l.n++] = '\n';
    emit(lvl, l.b, l.n);
}
