#include "error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int default_status(enum tg_err_type type)
{
    switch (type) {
    case TG_ERR_NONE: return 200;
    case TG_ERR_INVALID_REQUEST: return 400;
    case TG_ERR_AUTHENTICATION: return 401;
    case TG_ERR_PERMISSION: return 403;
    case TG_ERR_NOT_FOUND: return 404;
    case TG_ERR_CONFLICT: return 409;
    case TG_ERR_RATE_LIMIT: return 429;
    case TG_ERR_API: return 500;
    }
    return 500;
}

const char *tg_err_type_name(enum tg_err_type type)
{
    switch (type) {
    case TG_ERR_NONE: return "none";
    case TG_ERR_INVALID_REQUEST: return "invalid_request_error";
    case TG_ERR_AUTHENTICATION: return "authentication_error";
    case TG_ERR_PERMISSION: return "permission_error";
    case TG_ERR_NOT_FOUND: return "not_found_error";
    case TG_ERR_CONFLICT: return "conflict_error";
    case TG_ERR_RATE_LIMIT: return "rate_limit_error";
    case TG_ERR_API: return "api_error";
    }
    return "api_error";
}

__attribute__((format(printf, 6, 0))) static void vset(struct tg_err *e, enum tg_err_type type,
                                                       int status, const char *code,
                                                       const char *param, const char *fmt,
                                                       va_list ap)
{
    e->type = type;
    e->status = status ? status : default_status(type);
    snprintf(e->code, sizeof e->code, "%s", code ? code : "");
    snprintf(e->param, sizeof e->param, "%s", param ? param : "");
    vsnprintf(e->message, sizeof e->message, fmt, ap);
}

int tg_err_set(struct tg_err *e, enum tg_err_type type, int status, const char *code,
               const char *param, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vset(e, type, status, code, param, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

int tg_err_invalid(struct tg_err *e, const char *code, const char *param, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vset(e, TG_ERR_INVALID_REQUEST, 400, code, param, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

int tg_err_not_found(struct tg_err *e, const char *what)
{
    tg_err_set(e, TG_ERR_NOT_FOUND, 404, "resource_missing", NULL, "No such %s.", what);
    return -ENOENT;
}
