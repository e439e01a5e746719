/*
 * cli_core.c - exit codes, durations, tables and site names of the tikgate CLI.
 * Pure: no network, no files; output only to the FILE the caller passes.
 */
#include "cli_core.h"

#include "alloc.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

int cli_exit_for_error(const char *type, long status)
{
    static const struct {
        const char *type;
        int code;
    } by_type[] = {
        {"invalid_request_error", CLI_INVALID},
        {"authentication_error", CLI_AUTH},
        {"permission_error", CLI_PERMISSION},
        {"not_found_error", CLI_NOT_FOUND},
        {"conflict_error", CLI_CONFLICT},
        {"rate_limit_error", CLI_RATE_LIMIT},
        {"api_error", CLI_SERVER},
    };
    for (size_t i = 0; type && i < sizeof by_type / sizeof by_type[0]; i++)
        if (!strcmp(type, by_type[i].type))
            return by_type[i].code;
    switch (status) {
    case 401: return CLI_AUTH;
    case 403: return CLI_PERMISSION;
    case 404: return CLI_NOT_FOUND;
    case 409: return CLI_CONFLICT;
    case 429: return CLI_RATE_LIMIT;
    default: break;
    }
    if (status >= 400 && status < 500)
        return CLI_INVALID;
    return CLI_SERVER;
}

static long unit_seconds(char u)
{
    switch (u) {
    case 's': return 1;
    case 'm': return 60;
    case 'h': return 3600;
    case 'd': return 86400;
    default: return 0;
    }
}

int cli_parse_duration(const char *s, long *ret_seconds)
{
    if (!s || !*s)
        return -EINVAL;
    long total = 0;
    const char *p = s;
    while (*p) {
        if (!isdigit((unsigned char)*p))
            return -EINVAL;
        errno = 0;
        char *end;
        long n = strtol(p, &end, 10);
        if (errno || n > INT_MAX)
            return -EINVAL;
        long unit = 60; /* a bare number is minutes, only as the whole string */
        if (*end) {
            unit = unit_seconds(*end);
            if (!unit)
                return -EINVAL;
            end++;
        } else if (p != s) {
            return -EINVAL; /* "1h30" is ambiguous */
        }
        if (n > (LONG_MAX - total) / unit)
            return -EINVAL;
        total += n * unit;
        p = end;
    }
    if (total <= 0)
        return -EINVAL;
    *ret_seconds = total;
    return 0;
}

long cli_minutes_ceil(long seconds)
{
    return (seconds + 59) / 60;
}

json_t *cli_json_path(json_t *obj, const char *path)
{
    const char *dot = strchr(path, '.');
    if (!json_is_object(obj))
        return NULL;
    if (!dot)
        return json_object_get(obj, path);
    char head[64];
    size_t n = (size_t)(dot - path);
    if (n >= sizeof head)
        return NULL;
    memcpy(head, path, n);
    head[n] = '\0';
    return cli_json_path(json_object_get(obj, head), dot + 1);
}

static char *scalar_text(json_t *v)
{
    if (!v || json_is_null(v))
        return xstrdup("-");
    if (json_is_string(v))
        return xstrdup(json_string_value(v));
    if (json_is_true(v))
        return xstrdup("yes");
    if (json_is_false(v))
        return xstrdup("no");
    if (json_is_integer(v))
        return xasprintf("%lld", (long long)json_integer_value(v));
    if (json_is_real(v))
        return xasprintf("%g", json_real_value(v));
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    char *out = xstrdup(s ? s : "?");
    free(s);
    return out;
}

static char *list_text(json_t *v)
{
    if (!json_is_array(v) || json_array_size(v) == 0)
        return xstrdup("-");
    size_t cap = 1, len = 0, i;
    json_t *e;
    char *out = xstrdup("");
    json_array_foreach(v, i, e)
    {
        char *t = scalar_text(e);
        size_t tl = strlen(t);
        cap = len + tl + 2;
        out = xrealloc(out, cap);
        if (i)
            out[len++] = ',';
        memcpy(out + len, t, tl + 1);
        len += tl;
        free(t);
    }
    return out;
}

char *cli_cell_text(json_t *row, const struct cli_col *col)
{
    json_t *v = cli_json_path(row, col->path);
    switch (col->kind) {
    case CELL_SERVICE:
        if (!json_is_object(v))
            return xstrdup("-");
        if (!json_is_true(json_object_get(v, "enabled")))
            return xstrdup("off");
        return scalar_text(json_object_get(v, "port"));
    case CELL_LIST: return list_text(v);
    case CELL_SET: return xstrdup(v && !json_is_null(v) && !json_is_false(v) ? "yes" : "no");
    case CELL_TEXT:
    default: return scalar_text(v);
    }
}

/* Display width: code points, not bytes (continuation bytes do not count). */
static size_t text_width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            w++;
    return w;
}

/* Replaces control characters (a newline in a description) by spaces, in place. */
static void flatten(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = ' ';
}

static void put_cell(FILE *out, const char *s, size_t width, bool last)
{
    fputs(s, out);
    if (last)
        return;
    for (size_t w = text_width(s); w < width + 2; w++)
        fputc(' ', out);
}

void cli_table_render(FILE *out, const struct cli_col *cols, size_t ncols, json_t *rows)
{
    size_t nrows = json_array_size(rows);
    char **cells = xcalloc((nrows + 1) * ncols, sizeof *cells);
    size_t *width = xcalloc(ncols, sizeof *width);
    for (size_t c = 0; c < ncols; c++) {
        cells[c] = xstrdup(cols[c].header);
        width[c] = text_width(cells[c]);
    }
    for (size_t r = 0; r < nrows; r++) {
        for (size_t c = 0; c < ncols; c++) {
            char *t = cli_cell_text(json_array_get(rows, r), &cols[c]);
            flatten(t);
            size_t w = text_width(t);
            if (w > width[c])
                width[c] = w;
            cells[(r + 1) * ncols + c] = t;
        }
    }
    for (size_t r = 0; r <= nrows; r++) {
        for (size_t c = 0; c < ncols; c++)
            put_cell(out, cells[r * ncols + c], width[c], c + 1 == ncols);
        fputc('\n', out);
    }
    for (size_t i = 0; i < (nrows + 1) * ncols; i++)
        free(cells[i]);
    free(cells);
    free(width);
}

static void object_lines(FILE *out, json_t *obj, const char *prefix)
{
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v)
    {
        char *name = prefix ? xasprintf("%s.%s", prefix, k) : xstrdup(k);
        if (json_is_object(v)) {
            object_lines(out, v, name);
        } else {
            bool objects = json_is_array(v) && json_is_object(json_array_get(v, 0));
            char *t = objects ? xasprintf("[%zu items]", json_array_size(v))
                              : (json_is_array(v) ? list_text(v) : scalar_text(v));
            flatten(t);
            fprintf(out, "%s: %s\n", name, t);
            free(t);
        }
        free(name);
    }
}

void cli_object_render(FILE *out, json_t *obj)
{
    object_lines(out, obj, NULL);
}

bool cli_is_uuid(const char *s)
{
    static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
    for (size_t i = 0; i < sizeof shape - 1; i++) {
        if (!s[i])
            return false;
        if (shape[i] == '-' ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
            return false;
    }
    return s[sizeof shape - 1] == '\0';
}

int cli_resolve_name(json_t *items, const char *arg, const char *noun, const char **ret_id,
                     char *msg, size_t msglen)
{
    size_t i, n = 0, used = 0;
    json_t *s;
    const char *found = NULL;
    json_array_foreach(items, i, s)
    {
        const char *id = json_string_value(json_object_get(s, "id"));
        if (id && !strcmp(id, arg)) {
            *ret_id = id;
            return 0;
        }
    }
    used = (size_t)snprintf(msg, msglen, "Several %ss are named '%s': ", noun, arg);
    json_array_foreach(items, i, s)
    {
        const char *name = json_string_value(json_object_get(s, "name"));
        const char *id = json_string_value(json_object_get(s, "id"));
        if (!name || !id || strcmp(name, arg) != 0)
            continue;
        if (used < msglen)
            used += (size_t)snprintf(msg + used, msglen - used, "%s%s", n ? ", " : "", id);
        found = id;
        n++;
    }
    if (n == 1) {
        msg[0] = '\0';
        *ret_id = found;
        return 0;
    }
    if (n > 1) {
        if (used < msglen)
            snprintf(msg + used, msglen - used, "; give the id instead.");
        return -EEXIST;
    }
    snprintf(msg, msglen, "No %s has the id or name '%s'.", noun, arg);
    return -ENOENT;
}
