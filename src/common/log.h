/*
 * log.h - one line per event on stderr.
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
void log_msg(enum log_level lvl, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_debug(comp, ...) log_msg(LOG_DEBUG, comp, __VA_ARGS__)
#define log_info(comp, ...) log_msg(LOG_INFO, comp, __VA_ARGS__)
#define log_warn(comp, ...) log_msg(LOG_WARN, comp, __VA_ARGS__)
#define log_error(comp, ...) log_msg(LOG_ERROR, comp, __VA_ARGS__)

#endif
