/*
 * log.h - one line per event on stderr (buffered off the caller's thread in the daemon).
 *
 * JSON lines when stderr is not a terminal (for collectors), plain text when
 * it is. Library-style modules (common, domain, ros, store) do not log above
 * debug: the caller decides. Secrets must never be passed to the log.
 */
#ifndef TG_LOG_H
#define TG_LOG_H

enum log_level {
    LOG_DEBUG = 0,
    LOG_INFO = 1,
    LOG_WARN = 2,
    LOG_ERROR = 3,
};

void log_set_level(enum log_level lvl);
/* Force JSON (1), text (0) or auto-detect (-1, the default). */
void log_set_json(int mode);
/*
 * Buffered mode (the daemon, once it starts serving): lines below warn go to a fixed buffer
 * that a writer thread drains every 50 ms (or when half full); a line that finds the buffer
 * full is dropped and counted (a note with the count follows), the caller never waits for
 * I/O. Warnings and errors are written before log_msg() returns, after the lines before them.
 * log_async_stop() drains and returns to direct writes. Start returns 0 or -errno.
 */
int log_async_start(void);
void log_async_stop(void);
/* Writes out what is buffered now (buffered mode; no-op otherwise). */
void log_flush(void);
/* Lines dropped because the buffer was full, since the start of the process. */
unsigned long long log_dropped(void);
void log_msg(enum log_level lvl, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_debug(comp, ...) log_msg(LOG_DEBUG, comp, __VA_ARGS__)
#define log_info(comp, ...) log_msg(LOG_INFO, comp, __VA_ARGS__)
#define log_warn(comp, ...) log_msg(LOG_WARN, comp, __VA_ARGS__)
#define log_error(comp, ...) log_msg(LOG_ERROR, comp, __VA_ARGS__)

#endif
