/*
 * error.h - the API's error value, produced by validation and handlers.
 *
 * A struct tg_err is caller-owned (usually on the stack of a request) and
 * carries everything the error shape of DESIGN.md §2 needs:
 * {"type","code","message","doc_url"} plus "param" when one field is at
 * fault. The HTTP status travels with it so that handlers never map twice.
 */
#ifndef TG_DOMAIN_ERROR_H
#define TG_DOMAIN_ERROR_H

enum tg_err_type {
    TG_ERR_NONE = 0,
    TG_ERR_INVALID_REQUEST,
    TG_ERR_AUTHENTICATION,
    TG_ERR_PERMISSION,
    TG_ERR_NOT_FOUND,
    TG_ERR_CONFLICT,
    TG_ERR_RATE_LIMIT,
    TG_ERR_API,
};

struct tg_err {
    enum tg_err_type type;
    int status;        /* HTTP status */
    char code[48];     /* machine-readable, e.g. "port_conflict" */
    char param[96];    /* field at fault ("winbox.port"), or "" */
    char message[320]; /* for humans */
};

/* Fills *e; status 0 picks the default status of the type. Returns -EINVAL for chaining. */
int tg_err_set(struct tg_err *e, enum tg_err_type type, int status, const char *code,
               const char *param, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
const char *tg_err_type_name(enum tg_err_type type);

/* Shorthands for the most common errors. All return -EINVAL (invalid) or -ENOENT (not found). */
int tg_err_invalid(struct tg_err *e, const char *code, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int tg_err_not_found(struct tg_err *e, const char *what);

#endif
