/*
 * respond.c - writing responses: JSON bodies and the error shape.
 */
#include "api_int.h"
#include "rand.h"
#include "timefmt.h"
#include "utf8.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *api_param(const struct api_call *call, int i)
{
    return i < call->match.n_params ? call->match.params[i] : "";
}

void api_send_json(struct api_call *call, int status, json_t *v)
{
    call->res->status = status;
    call->res->content_type = "application/json";
    buf_reset(&call->res->body);
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(v);
    if (!s) {
        call->res->status = 500;
        buf_append_str(&call->res->body,
                       "{\"type\":\"api_error\",\"code\":\"internal_server_error\","
                       "\"message\":\"Could not encode the response.\","
                       "\"doc_url\":\"/docs/errors#internal_server_error\"}");
        return;
    }
    if (buf_append_str(&call->res->body, s) < 0)
        call->res->status = 500;
    free(s);
}

/* --- JSON written straight into a buffer ---------------------------------------------------- */

static void jw_put(struct jw *w, const char *s, size_t n)
{
    struct buf *b = w->b;
    if (b->len + n < b->alloc && b->len + n <= b->cap) { /* room: no call, no checks */
        memcpy(b->data + b->len, s, n);
        b->len += n;
        b->data[b->len] = '\0';
        return;
    }
    if (!w->err && buf_append(b, s, n) < 0)
        w->err = true;
}

/* A value or key after another one needs a comma; after '{', '[' or at the start it does not. */
static void jw_sep(struct jw *w)
{
    size_t n = w->b->len;
    if (n && w->b->data[n - 1] != '{' && w->b->data[n - 1] != '[' && w->b->data[n - 1] != ':')
        jw_put(w, ",", 1);
}

void jw_raw(struct jw *w, const char *s)
{
    jw_put(w, s, strlen(s));
}

void jw_open(struct jw *w, char c)
{
    jw_sep(w);
    jw_put(w, &c, 1);
}

void jw_close(struct jw *w, char c)
{
    jw_put(w, &c, 1);
}

/* The escaping of jansson's json_dumps (no JSON_ENSURE_ASCII, no JSON_ESCAPE_SLASH), so a
 * written object has the bytes api_send_json() gave for the same tree. */
static void jw_escaped(struct jw *w, const char *s)
{
    jw_put(w, "\"", 1);
    const char *run = s;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c != '"' && c != '\\' && c >= 0x20)
            continue;
        jw_put(w, run, (size_t)(s - run));
        run = s + 1;
        char e[8];
        switch (c) {
        case '"': jw_put(w, "\\\"", 2); break;
        case '\\': jw_put(w, "\\\\", 2); break;
        case '\b': jw_put(w, "\\b", 2); break;
        case '\f': jw_put(w, "\\f", 2); break;
        case '\n': jw_put(w, "\\n", 2); break;
        case '\r': jw_put(w, "\\r", 2); break;
        case '\t': jw_put(w, "\\t", 2); break;
        default: snprintf(e, sizeof e, "\\u%04X", c); jw_put(w, e, 6);
        }
    }
    jw_put(w, run, (size_t)(s - run));
    jw_put(w, "\"", 1);
}

void jw_key(struct jw *w, const char *key)
{
    jw_sep(w);
    jw_escaped(w, key);
    jw_put(w, ":", 1);
}

/* Valid UTF-8; ids, CIDRs and times are ASCII, and skip utf8_valid's decoding. */
static bool ascii_or_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p && *p < 0x80)
        p++;
    return !*p || utf8_valid((const char *)p); /* p is where the first non-ASCII byte is */
}

void jw_string(struct jw *w, const char *s)
{
    jw_sep(w);
    if (!s) {
        jw_put(w, "null", 4);
    } else if (ascii_or_valid(s)) {
        jw_escaped(w, s);
    } else { /* as json_text(): U+FFFD for each bad byte */
        char *fixed = utf8_sanitize(s);
        jw_escaped(w, fixed);
        free(fixed);
    }
}

void jw_bool(struct jw *w, bool v)
{
    jw_sep(w);
    jw_raw(w, v ? "true" : "false");
}

void jw_int(struct jw *w, long long v)
{
    char n[24];
    jw_sep(w);
    jw_put(w, n, (size_t)snprintf(n, sizeof n, "%lld", v));
}

void jw_time(struct jw *w, int64_t t)
{
    if (!t) {
        jw_sep(w);
        jw_put(w, "null", 4);
        return;
    }
    char s[RFC3339_LEN];
    time_format_rfc3339(t, s);
    jw_string(w, s);
}

void jw_strlist(struct jw *w, const struct strlist *l)
{
    jw_open(w, '[');
    for (size_t i = 0; i < l->n; i++)
        jw_string(w, l->items[i]);
    jw_close(w, ']');
}

void api_jw_begin(struct api_call *call, struct jw *ret)
{
    buf_reset(&call->res->body);
    ret->b = &call->res->body;
    ret->err = false;
}

void api_jw_send(struct api_call *call, int status, const struct jw *w)
{
    call->res->content_type = "application/json";
    if (w->err) {
        buf_reset(&call->res->body);
        api_fail(call, TG_ERR_API, 500, "internal_server_error", NULL,
                 "The response does not fit in %zu bytes.", call->res->body.cap);
        return;
    }
    call->res->status = status;
}

void api_send_no_content(struct api_call *call)
{
    call->res->status = 204;
    buf_reset(&call->res->body);
}

void api_send_error(struct api_call *call, const struct tg_err *e)
{
    json_t *o = json_object();
    json_object_set_new(o, "type", json_string(tg_err_type_name(e->type)));
    json_object_set_new(o, "code", json_string(e->code));
    json_object_set_new(o, "message", json_text(e->message));
    char doc[128];
    snprintf(doc, sizeof doc, "/docs/errors#%s", e->code);
    json_object_set_new(o, "doc_url", json_string(doc));
    if (e->param[0])
        json_object_set_new(o, "param", json_string(e->param));
    api_send_json(call, e->status, o);
}

void api_fail(struct api_call *call, enum tg_err_type type, int status, const char *code,
              const char *param, const char *fmt, ...)
{
    struct tg_err e;
    char msg[sizeof e.message];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    tg_err_set(&e, type, status, code, param, "%s", msg);
    api_send_error(call, &e);
}

void api_fail_store(struct api_call *call, int r, const char *what)
{
    switch (r) {
    case -ENOENT:
        api_fail(call, TG_ERR_NOT_FOUND, 404, "resource_missing", NULL, "No such %s.", what);
        break;
    case -EEXIST:
        api_fail(call, TG_ERR_CONFLICT, 409, "conflict", NULL,
                 "The %s conflicts with an existing one.", what);
        break;
    case -ENOSPC:
        api_fail(call, TG_ERR_API, 507, "storage_full", NULL,
                 "The database's disk is full: nothing was changed. Reads keep working; writes "
                 "work again as soon as there is space (no restart needed).");
        break;
    case -EAGAIN:
        http_response_header(call->res, "Retry-After", "1");
        api_fail(call, TG_ERR_API, 503, "storage_busy", NULL,
                 "The database's write lock stayed busy for the whole wait: nothing was "
                 "changed. Retry in a moment.");
        break;
    default:
        if (call->api && call->api->store &&
            (store_connection_lost(call->api->store) || !store_reachable(call->api->store))) {
            http_response_header(call->res, "Retry-After", "5");
            api_fail(call, TG_ERR_API, 503, "storage_unavailable", NULL,
                     "The database cannot be reached: nothing was changed. Retry in a moment "
                     "(the service resumes by itself when the database is back).");
            break;
        }
        api_fail(call, TG_ERR_API, 500, "internal_server_error", NULL,
                 "The request could not be completed (storage error).");
        break;
    }
}

json_t *json_time_or_null(int64_t t)
{
    if (!t)
        return json_null();
    char s[RFC3339_LEN];
    time_format_rfc3339(t, s);
    return json_string(s);
}

json_t *json_text(const char *s)
{
    json_t *j = json_string(s);
    if (j)
        return j;
    char *fixed = utf8_sanitize(s);
    j = json_string(fixed);
    free(fixed);
    return j;
}

json_t *json_str_or_null(const char *s)
{
    return s ? json_text(s) : json_null();
}

static const char *json_type_word(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "?";
}

static int wrong_type(struct tg_err *err, const char *param, const char *want, const json_t *v)
{
    return tg_err_invalid(err, "parameter_invalid_type", param, "'%s' must be %s, not %s.", param,
                          want, json_type_word(v));
}

int body_string(const json_t *obj, const char *key, const char *param, const char **ret,
                struct tg_err *err)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return 1;
    if (!json_is_string(v))
        return wrong_type(err, param, "a string", v);
    if (strlen(json_string_value(v)) != json_string_length(v))
        return tg_err_invalid(err, "parameter_invalid", param, "'%s' must not contain NUL.", param);
    *ret = json_string_value(v);
    return 0;
}

int body_bool(const json_t *obj, const char *key, const char *param, bool *ret, struct tg_err *err)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return 1;
    if (!json_is_boolean(v))
        return wrong_type(err, param, "a boolean", v);
    *ret = json_is_true(v);
    return 0;
}

int body_int(const json_t *obj, const char *key, const char *param, long long *ret,
             struct tg_err *err)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return 1;
    if (!json_is_integer(v))
        return wrong_type(err, param, "an integer", v);
    *ret = json_integer_value(v);
    return 0;
}

int body_string_array(const json_t *obj, const char *key, const char *param, size_t max,
                      struct strlist *out, struct tg_err *err)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return 1;
    if (!json_is_array(v))
        return wrong_type(err, param, "an array of strings", v);
    if (json_array_size(v) > max)
        return tg_err_invalid(err, "too_many_items", param, "'%s' may hold at most %zu items.",
                              param, max);
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item)
    {
        char p[128];
        snprintf(p, sizeof p, "%s[%zu]", param, i);
        if (!json_is_string(item))
            return wrong_type(err, p, "a string", item);
        strlist_add(out, json_string_value(item));
    }
    return 0;
}

bool api_query_limit(struct api_call *call, int def, int max, int *ret)
{
    const char *q = http_request_query(call->req, "limit");
    if (!q) {
        *ret = def;
        return true;
    }
    char *end = NULL;
    errno = 0;
    long long v = strtoll(q, &end, 10);
    if (!*q || *end || errno || v < 1 || v > max) {
        api_fail(call, TG_ERR_INVALID_REQUEST, 400, "parameter_invalid", "limit",
                 "limit must be between 1 and %d.", max);
        return false;
    }
    *ret = (int)v;
    return true;
}

static void bad_after_id(struct api_call *call)
{
    api_fail(call, TG_ERR_INVALID_REQUEST, 400, "parameter_invalid", "after_id",
             "after_id must be the id of an item of this list (the last one of the previous "
             "page).");
}

bool api_page(struct api_call *call, struct store_page *ret)
{
    struct store_page p = {.after_id = http_request_query(call->req, "after_id")};
    if (p.after_id && !uuid_is_valid(p.after_id)) {
        bad_after_id(call);
        return false;
    }
    if (!api_query_limit(call, API_PAGE_DEFAULT, API_PAGE_MAX, &p.limit))
        return false;
    *ret = p;
    return true;
}

void api_fail_list(struct api_call *call, int r, const char *what)
{
    if (r == -EINVAL)
        bad_after_id(call);
    else
        api_fail_store(call, r, what);
}

bool api_check_id(struct api_call *call, const char *id, const char *what)
{
    if (uuid_is_valid(id))
        return true;
    api_fail(call, TG_ERR_NOT_FOUND, 404, "resource_missing", NULL, "No such %s.", what);
    return false;
}
