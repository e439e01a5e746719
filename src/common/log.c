#include "log.h"

#include "clock.h"

#include <stdarg.h>
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

/*
 * One event = one line = one write(2): lines from several threads never
 * interleave (writes up to PIPE_BUF are atomic on pipes; on files and
 * terminals a single write is not split in practice), no lock, no stdio buffer.
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
    ssize_t w = write(STDERR_FILENO, l.b, l.n);
    (void)w; /* nowhere to report a failing log */
}
