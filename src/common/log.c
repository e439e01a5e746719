#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static enum log_level min_level = LOG_INFO;
static int json_mode = -1;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

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

/* Writes s as a JSON string body (without quotes), escaping what JSON needs. */
static void put_json_escaped(FILE *f, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
}

void log_msg(enum log_level lvl, const char *component, const char *fmt, ...)
{
    if (lvl < min_level)
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[96];
    snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);

    int json = json_mode >= 0 ? json_mode : !isatty(STDERR_FILENO);
    pthread_mutex_lock(&log_lock);
    if (json) {
        fprintf(stderr, "{\"ts\":\"%s\",\"level\":\"%s\",\"component\":\"", when, level_name(lvl));
        put_json_escaped(stderr, component);
        fputs("\",\"msg\":\"", stderr);
        put_json_escaped(stderr, msg);
        fputs("\"}\n", stderr);
    } else {
        fprintf(stderr, "%s %-5s %-10s %s\n", when, level_name(lvl), component, msg);
    }
    fflush(stderr);
    pthread_mutex_unlock(&log_lock);
}
