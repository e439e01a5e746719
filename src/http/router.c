#include "http.h"

#include <string.h>

/* Matches one pattern against path; fills params. */
static bool pattern_match(const char *pattern, const char *path, struct http_match *m)
{
    const char *p = pattern, *s = path;
    m->n_params = 0;
    while (*p && *s) {
        if (*p != '/' || *s != '/')
            return false;
        p++;
        s++;
        const char *pe = strchr(p, '/');
        size_t plen = pe ? (size_t)(pe - p) : strlen(p);
        const char *se = strchr(s, '/');
        size_t slen = se ? (size_t)(se - s) : strlen(s);
        if (plen >= 2 && p[0] == '{' && p[plen - 1] == '}') {
            if (slen == 0 || slen >= sizeof m->params[0] || m->n_params >= HTTP_MAX_PARAMS)
                return false;
            memcpy(m->params[m->n_params], s, slen);
            m->params[m->n_params][slen] = '\0';
            m->n_params++;
        } else if (plen != slen || memcmp(p, s, plen) != 0) {
            return false;
        }
        p += plen;
        s += slen;
    }
    /* Ignore one trailing slash on the request path. */
    if (s[0] == '/' && s[1] == '\0')
        s++;
    return *p == '\0' && *s == '\0';
}

enum http_match_result http_route_match(const struct http_route *table, size_t n,
                                        const char *method, const char *path,
                                        struct http_match *ret)
{
    bool path_seen = false;
    struct http_match m;
    for (size_t i = 0; i < n; i++) {
        if (!pattern_match(table[i].pattern, path, &m))
            continue;
        path_seen = true;
        if (strcmp(table[i].method, method) == 0) {
            m.route = &table[i];
            *ret = m;
            return HTTP_MATCH_OK;
        }
    }
    return path_seen ? HTTP_MATCH_NO_METHOD : HTTP_MATCH_NO_PATH;
}

void http_route_allowed(const struct http_route *table, size_t n, const char *path, char *out,
                        size_t outlen)
{
    size_t o = 0;
    out[0] = '\0';
    struct http_match m;
    for (size_t i = 0; i < n; i++) {
        if (!pattern_match(table[i].pattern, path, &m))
            continue;
        size_t ml = strlen(table[i].method);
        if (strstr(out, table[i].method))
            continue;
        if (o + ml + 3 >= outlen)
            break;
        if (o) {
            memcpy(out + o, ", ", 2);
            o += 2;
        }
        memcpy(out + o, table[i].method, ml);
        o += ml;
        out[o] = '\0';
    }
}
