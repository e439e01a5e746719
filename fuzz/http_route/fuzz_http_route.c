/*
 * fuzz_http_route.c - http_route_match and http_route_allowed (src/http/router.c) on arbitrary
 * method and path, against tikgated's routing table.
 *
 * The table is the real one, api_routes[] of src/api/routes.c (linked in with the api library),
 * followed by synthetic rows for the corners it lacks: four parameters (the most a match
 * holds), five (never matches), "{}" and an empty segment. The input may add up to four
 * patterns of its own.
 *
 * Input: "METHOD\nPATH[\nPATTERN]..." (up to the first NUL).
 * Oracles (abort on failure):
 *  1. the result is the one of a reference matcher written from http.h's contract: the first
 *     row whose pattern matches the path and whose method is the method; 405 when only other
 *     methods match; 404 when no pattern does. The params are the reference's;
 *  2. a match rebuilds the path: the pattern with its params put back is the path, or the path
 *     without its one trailing slash; so every param is a non-empty piece of the path without
 *     '/', shorter than 128 bytes;
 *  3. *ret is written only on a match;
 *  4. http_route_allowed lists, in table order and once each, the methods of the matching
 *     rows, and truncated to a small buffer it keeps whole names and stays NUL-terminated.
 */
#include "api.h"
#include "http.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_http_route: %s failed (line %d)\n", #cond, __LINE__);            \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* ---- the routes: tikgated's own table, then synthetic rows ----------- */

/* api_routes[] (src/api/routes.c) holds at most this many rows; checked at every input. */
#define MAX_API_ROUTES 256
#define N_API_ROUTES api_routes_count

static const struct http_route synthetic_routes[] = {
    {"GET", "/q/{a}/{b}/{c}/{d}", NULL, 0},
    {"POST", "/q/{a}/{b}/{c}/{d}/{e}", NULL, 0},
    {"PUT", "/lit/{}", NULL, 0},
    {"DELETE", "/x//y", NULL, 0},
    {"PATCH", "/v1/sites/{id}", NULL, 0}, /* a later row for a path the table has */
};

#define N_SYNTHETIC (sizeof synthetic_routes / sizeof synthetic_routes[0])
#define MAX_EXTRA 4
#define MAX_ROWS (MAX_API_ROUTES + N_SYNTHETIC + MAX_EXTRA)

static const char *const methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};

/* ---- the reference matcher (http.h's contract, written independently) -- */

struct ref_match {
    int n;
    char params[HTTP_MAX_PARAMS][128];
};

static bool is_param(const char *seg, size_t n)
{
    return n >= 2 && seg[0] == '{' && seg[n - 1] == '}';
}

/* pattern against path[0..len) exactly: same number of '/'-separated segments. */
static bool ref_exact(const char *pattern, const char *path, size_t len, struct ref_match *m)
{
    m->n = 0;
    if (!*pattern)
        return len == 0;
    if (pattern[0] != '/' || len == 0 || path[0] != '/')
        return false;
    const char *p = pattern + 1, *s = path + 1, *end = path + len;
    for (;;) {
        size_t pn = strcspn(p, "/");
        const char *slash = memchr(s, '/', (size_t)(end - s));
        size_t sn = slash ? (size_t)(slash - s) : (size_t)(end - s);
        if (is_param(p, pn)) {
            if (sn == 0 || sn >= sizeof m->params[0] || m->n == HTTP_MAX_PARAMS)
                return false;
            memcpy(m->params[m->n], s, sn);
            m->params[m->n][sn] = '\0';
            m->n++;
        } else if (pn != sn || memcmp(p, s, pn) != 0) {
            return false;
        }
        bool p_more = p[pn] == '/', s_more = slash != NULL;
        if (p_more != s_more)
            return false;
        if (!p_more)
            return true;
        p += pn + 1;
        s += sn + 1;
    }
}

/* One trailing slash of the path is ignored. */
static bool ref_match(const char *pattern, const char *path, struct ref_match *m)
{
    size_t len = strlen(path);
    if (ref_exact(pattern, path, len, m))
        return true;
    return len > 0 && path[len - 1] == '/' && ref_exact(pattern, path, len - 1, m);
}

/* The pattern with its params put back. */
static void rebuild(const char *pattern, const struct http_match *m, char *out, size_t cap)
{
    size_t o = 0;
    int k = 0;
    for (const char *p = pattern; *p;) {
        size_t n = strcspn(p, "/");
        const char *piece = p;
        size_t pn = n;
        if (is_param(p, n)) {
            CHECK(k < m->n_params);
            piece = m->params[k++];
            pn = strlen(piece);
        }
        CHECK(o + pn + 1 < cap);
        memcpy(out + o, piece, pn);
        o += pn;
        p += n;
        if (*p == '/') {
            out[o++] = '/';
            p++;
        }
    }
    CHECK(k == m->n_params);
    out[o] = '\0';
}

static void check_match(const struct http_route *table, size_t n, const char *method,
                        const char *path)
{
    struct http_match got;
    memset(&got, 0xa5, sizeof got);
    struct http_match untouched = got;
    enum http_match_result r = http_route_match(table, n, method, path, &got);

    int first = -1;
    bool any = false;
    struct ref_match want = {0}, m;
    for (size_t i = 0; i < n; i++) {
        if (!ref_match(table[i].pattern, path, &m))
            continue;
        any = true;
        if (first < 0 && strcmp(table[i].method, method) == 0) {
            first = (int)i;
            want = m;
        }
    }
    if (first < 0) {
        CHECK(r == (any ? HTTP_MATCH_NO_METHOD : HTTP_MATCH_NO_PATH));
        CHECK(memcmp(&got, &untouched, sizeof got) == 0);
        return;
    }
    CHECK(r == HTTP_MATCH_OK);
    CHECK(got.route == &table[first]);
    CHECK(got.n_params == want.n);
    for (int k = 0; k < want.n; k++) {
        CHECK(strcmp(got.params[k], want.params[k]) == 0);
        size_t pl = strlen(got.params[k]);
        CHECK(pl > 0 && pl < sizeof got.params[k] && !strchr(got.params[k], '/'));
        CHECK(strstr(path, got.params[k]) != NULL);
    }
    size_t len = strlen(path);
    char *back = malloc(len + 2);
    CHECK(back != NULL);
    rebuild(got.route->pattern, &got, back, len + 2);
    bool same = strcmp(back, path) == 0;
    bool minus_slash = len > 0 && path[len - 1] == '/' && strlen(back) == len - 1 &&
                       memcmp(back, path, len - 1) == 0;
    CHECK(same || minus_slash);
    free(back);
}

static void check_allowed(const struct http_route *table, size_t n, const char *path, size_t small)
{
    char want[128] = "";
    struct ref_match m;
    for (size_t i = 0; i < n; i++) {
        if (!ref_match(table[i].pattern, path, &m))
            continue;
        const char *meth = table[i].method;
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(table[j].method, meth) == 0 && ref_match(table[j].pattern, path, &m);
        if (seen)
            continue;
        size_t wl = strlen(want);
        snprintf(want + wl, sizeof want - wl, "%s%s", wl ? ", " : "", meth);
    }
    char got[128];
    http_route_allowed(table, n, path, got, sizeof got);
    CHECK(strcmp(got, want) == 0);

    /* truncated: whole names only, within the buffer */
    char tiny[32];
    CHECK(small >= 1 && small <= sizeof tiny);
    memset(tiny, 'x', sizeof tiny);
    http_route_allowed(table, n, path, tiny, small);
    size_t tl = strnlen(tiny, small);
    CHECK(tl < small);
    CHECK(strncmp(want, tiny, tl) == 0);
    CHECK(tl == 0 || want[tl] == '\0' || want[tl] == ',');
    for (size_t k = small; k < sizeof tiny; k++)
        CHECK(tiny[k] == 'x');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *text = malloc(size + 1);
    CHECK(text != NULL);
    memcpy(text, data, size);
    text[size] = '\0';

    /* METHOD \n PATH [\n PATTERN]... */
    char *lines[2 + MAX_EXTRA];
    size_t nl = 0;
    for (char *s = text; nl < 2 + MAX_EXTRA;) {
        lines[nl++] = s;
        char *e = strchr(s, '\n');
        if (!e)
            break;
        *e = '\0';
        s = e + 1;
    }
    const char *method = lines[0];
    const char *path = nl > 1 ? lines[1] : "";

    struct http_route table[MAX_ROWS];
    size_t n = 0;
    CHECK(api_routes_count <= MAX_API_ROUTES);
    memcpy(table, api_routes, api_routes_count * sizeof api_routes[0]);
    n += N_API_ROUTES;
    memcpy(table + n, synthetic_routes, sizeof synthetic_routes);
    n += N_SYNTHETIC;
    for (size_t k = 2; k < nl; k++)
        table[n++] = (struct http_route){methods[k % 5], lines[k], NULL, 0};

    check_match(table, n, method, path);
    /* the same request against the real table alone, and against no table at all */
    check_match(api_routes, N_API_ROUTES, method, path);
    struct http_match m;
    CHECK(http_route_match(table, 0, method, path, &m) == HTTP_MATCH_NO_PATH);
    check_allowed(table, n, path, 1 + size % 32);
    free(text);
    return 0;
}
