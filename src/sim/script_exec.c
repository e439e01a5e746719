/*
 * script_exec.c - runs a parsed script (script_int.h): the interpreter of the RouterOS script
 * subset of docs/internals/script-subset.md.
 *
 * Values are evaluated when a command runs (quoted strings unescaped, $var interpolated, [get]
 * forms read under the state lock); a command outside the subset fails at its line, so the
 * enclosing `on-error` runs. Commands: structured menu add/set/remove (find with where, =, !=
 * and ~), /system identity set, /system reboot, :log, :local, :if (a = b / a != b) do={ }
 * else={ }, :error, [:len ...], /tool fetch (through the host's fetch hook, check-certificate
 * against /certificate, certs.c), /certificate import, /file remove and /import (a file of the
 * host's store, parsed and run in a fresh variable scope).
 *
 * Limits: 100 000 executed statements per run, /import nested 8 deep, 256 variables, values
 * capped at SIM_MAX_SCRIPT (the parser's caps are in script_int.h). Scripts run with the
 * system's rights (no policy checks).
 */
#include "alloc.h"
#include "log.h"
#include "script_int.h"
#include "sim.h"

#include <errno.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_STEPS 100000u
#define MAX_IMPORT_DEPTH 8
#define MAX_VARS 256
#define MAX_ARGS 64

struct var {
    char *name;
    char *val;
};

struct ctx {
    const struct sim_script_host *h;
    struct sim_script_report *rep;
    const char *name; /* of the script running now (logs); borrowed */
    struct var vars[MAX_VARS];
    size_t nvars, floor;
    unsigned depth;
    unsigned steps;
};

enum { R_OK = 0, R_FAIL = -1, R_REBOOT = 1, R_STOP = 2 };

/* ---- execution helpers ------------------------------------------------ */

static int fail(struct ctx *c, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct ctx *c, unsigned line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->rep->err, sizeof c->rep->err, fmt, ap);
    va_end(ap);
    c->rep->line = line;
    return R_FAIL;
}

static const char *var_get(const struct ctx *c, const char *name, size_t n)
{
    for (size_t i = c->nvars; i > c->floor; i--)
        if (strlen(c->vars[i - 1].name) == n && memcmp(c->vars[i - 1].name, name, n) == 0)
            return c->vars[i - 1].val;
    return NULL;
}

static void vars_drop(struct ctx *c, size_t to)
{
    while (c->nvars > to) {
        c->nvars--;
        free(c->vars[c->nvars].name);
        free(c->vars[c->nvars].val);
    }
}

static int eval_value(struct ctx *c, const struct script_prog *p, size_t *i, size_t e,
                      struct buf *out);

/* Unescapes a quoted string and interpolates $var. A NUL byte is refused: values are C strings
 * from here on, and would silently end at it. */
static int eval_string(struct ctx *c, const struct script_tok *t, struct buf *out)
{
    for (size_t i = 0; i < t->n; i++) {
        char ch = t->s[i];
        if (ch == '\0')
            return fail(c, t->line, "NUL byte in string");
        if (ch == '\\') {
            if (i + 1 >= t->n)
                return fail(c, t->line, "bad escape in string");
            char nx = t->s[++i];
            switch (nx) {
            case '"':
            case '\\':
            case '$':
            case '?': buf_append(out, &nx, 1); break;
            case 'n': buf_append_str(out, "\n"); break;
            case 'r': buf_append_str(out, "\r"); break;
            case 't': buf_append_str(out, "\t"); break;
            case '\n': break; /* continuation inside a string */
            default: return fail(c, t->line, "unsupported escape \\%c in string", nx);
            }
            continue;
        }
        if (ch == '$') {
            size_t j = i + 1;
            while (j < t->n && script_var_char(t->s[j]))
                j++;
            if (j == i + 1)
                return fail(c, t->line, "bad $ in string (escape it as \\$)");
            const char *v = var_get(c, t->s + i + 1, j - i - 1);
            if (!v)
                return fail(c, t->line, "undefined variable %.*s", (int)(j - i - 1), t->s + i + 1);
            if (buf_append_str(out, v) < 0)
                return fail(c, t->line, "value too long");
            i = j - 1;
            continue;
        }
        if (buf_append(out, &ch, 1) < 0)
            return fail(c, t->line, "value too long");
    }
    return R_OK;
}

static const char *const known_paths[] = {
    "user",
    "user/group",
    "ip/service",
    "ip/firewall/nat",
    "ip/firewall/filter",
    "system/scheduler",
    "system/identity",
    "ip/address",
    "tool/fetch",
    "import",
    "system/reboot",
    "system/resource",
    "system/routerboard",
    "interface/wireguard",
    "interface/wireguard/peers",
    "certificate",
    "certificate/import",
    "file",
};

static bool path_prefix(const char *cand)
{
    size_t n = strlen(cand);
    for (size_t k = 0; k < sizeof known_paths / sizeof known_paths[0]; k++)
        if (strncmp(known_paths[k], cand, n) == 0 &&
            (known_paths[k][n] == '\0' || known_paths[k][n] == '/'))
            return true;
    return false;
}

static bool path_known(const char *cand)
{
    for (size_t k = 0; k < sizeof known_paths / sizeof known_paths[0]; k++)
        if (strcmp(known_paths[k], cand) == 0)
            return true;
    return false;
}

/* Reads a command path ("/ip firewall nat", "/ip/service") from *i. */
static int read_path(struct ctx *c, const struct script_prog *p, size_t *i, size_t e, char path[64])
{
    const struct script_tok *t = &p->t[*i];
    size_t n = t->n;
    const char *s = t->s;
    while (n && *s == '/') {
        s++;
        n--;
    }
    while (n && s[n - 1] == '/')
        n--;
    if (n == 0 || n >= 64)
        return fail(c, t->line, "bad command name %.*s", (int)t->n, t->s);
    memcpy(path, s, n);
    path[n] = '\0';
    if (!path_prefix(path))
        return fail(c, t->line, "bad command name /%s", path);
    (*i)++;
    while (*i < e && p->t[*i].k == TOK_WORD && !(*i + 1 < e && p->t[*i + 1].k == TOK_EQ)) {
        char cand[64];
        int w = snprintf(cand, sizeof cand, "%s/%.*s", path, (int)p->t[*i].n, p->t[*i].s);
        if (w < 0 || (size_t)w >= sizeof cand || !path_prefix(cand))
            break;
        memcpy(path, cand, (size_t)w + 1);
        (*i)++;
    }
    if (!path_known(path))
        return fail(c, t->line, "bad command name /%s", path);
    return R_OK;
}

/* One condition of a find: key=value, key!=value or key~"regex" (POSIX extended). */
struct find_cond {
    char key[64];
    char op; /* '=', '!' (!=) or '~' */
    char *val;
};

#define MAX_FIND_CONDS 4

struct find {
    bool all;
    size_t n;
    struct find_cond c[MAX_FIND_CONDS];
};

static void find_free(struct find *f)
{
    for (size_t k = 0; k < f->n; k++)
        free(f->c[k].val);
    f->n = 0;
}

/* The conditions of a find from j (just after the word "find") to close: "", or
 * [where] k=v / k!=v / k~v, all of which must hold. */
static int parse_find_conds(struct ctx *c, const struct script_prog *p, size_t j, size_t close,
                            unsigned line, struct find *f)
{
    if (j < close && script_is_word(&p->t[j], "where"))
        j++;
    if (j == close) {
        f->all = true;
        return R_OK;
    }
    while (j < close) {
        if (f->n == MAX_FIND_CONDS)
            return fail(c, line, "find: at most %d conditions", MAX_FIND_CONDS);
        const struct script_tok *k = &p->t[j];
        if (k->k != TOK_WORD || k->n >= sizeof f->c[0].key || j + 1 >= close)
            return fail(c, line, "unsupported find filter (only k=\"v\", k!=\"v\", k~\"v\")");
        struct find_cond *fc = &f->c[f->n];
        j++;
        if (p->t[j].k == TOK_EQ) {
            fc->op = '=';
        } else if (p->t[j].k == TOK_BAD && p->t[j].n == 1 &&
                   (p->t[j].s[0] == '!' || p->t[j].s[0] == '~')) {
            fc->op = p->t[j].s[0];
            if (fc->op == '!' && (j + 1 >= close || p->t[++j].k != TOK_EQ))
                return fail(c, line, "find: expected != ");
        } else {
            return fail(c, line, "unsupported find filter (only k=\"v\", k!=\"v\", k~\"v\")");
        }
        j++;
        memcpy(fc->key, k->s, k->n);
        fc->key[k->n] = '\0';
        struct buf v;
        buf_init(&v, SIM_MAX_VALUE);
        if (eval_value(c, p, &j, close, &v) != R_OK) {
            buf_release(&v);
            return R_FAIL;
        }
        fc->val = buf_steal(&v);
        f->n++;
    }
    return R_OK;
}

/* Parses "[find]" / "[find k=v ...]" at *i (a TOK_LBRACK). */
static int parse_find(struct ctx *c, const struct script_prog *p, size_t *i, struct find *f)
{
    const struct script_tok *lb = &p->t[*i];
    size_t close = lb->match, j = *i + 1;
    memset(f, 0, sizeof *f);
    if (!script_is_word(&p->t[j], "find"))
        return fail(c, lb->line, "unsupported [ ] expression (only [find k=\"v\"])");
    if (parse_find_conds(c, p, j + 1, close, lb->line, f) != R_OK) {
        find_free(f); /* the conditions parsed before the failing one */
        return R_FAIL;
    }
    *i = close + 1;
    return R_OK;
}

static bool cond_holds(const struct find_cond *fc, const regex_t *re, const char *v)
{
    v = v ? v : "";
    if (fc->op == '~')
        return regexec(re, v, 0, NULL, 0) == 0;
    return (strcmp(v, fc->val) == 0) == (fc->op == '=');
}

/* Matching ids (lock held). */
static int find_ids(struct ctx *c, unsigned line, enum sim_menu_id m, const struct find *f,
                    unsigned **ret, size_t *ret_n)
{
    const struct sim_menu *mm = &c->h->st->menus[m];
    int fi[MAX_FIND_CONDS];
    regex_t re[MAX_FIND_CONDS];
    size_t nre = 0;
    int r = R_OK;
    for (size_t k = 0; k < f->n && r == R_OK; k++) {
        if ((fi[k] = sim_field_index(mm->def, f->c[k].key)) < 0)
            r = fail(c, line, "unknown property %s in find", f->c[k].key);
        else if (f->c[k].op == '~' && regcomp(&re[k], f->c[k].val, REG_EXTENDED | REG_NOSUB) != 0)
            r = fail(c, line, "find: bad regular expression for %s", f->c[k].key);
        else if (f->c[k].op == '~')
            nre = k + 1;
    }
    unsigned *ids = NULL;
    size_t n = 0;
    if (r != R_OK)
        goto free_re;
    ids = xcalloc(mm->n ? mm->n : 1, sizeof *ids);
    for (size_t k = 0; k < mm->n; k++) {
        bool ok = true;
        for (size_t q = 0; q < f->n && ok; q++)
            ok = cond_holds(&f->c[q], &re[q], mm->items[k].val[fi[q]]);
        if (ok)
            ids[n++] = mm->items[k].id;
    }
    *ret = ids;
    *ret_n = n;
free_re:
    for (size_t k = 0; k < nre; k++)
        if (f->c[k].op == '~')
            regfree(&re[k]);
    return r;
}

/* [cmd] in an expression: the get forms of the subset. */
static int eval_get(struct ctx *c, const struct script_prog *p, size_t b, size_t e, unsigned line,
                    struct buf *out)
{
    size_t i = b;
    char path[64];
    if (i >= e || p->t[i].k != TOK_WORD || p->t[i].s[0] != '/')
        return fail(c, line, "unsupported [ ] expression");
    if (read_path(c, p, &i, e, path) != R_OK)
        return R_FAIL;
    if (i >= e || !script_is_word(&p->t[i], "get"))
        return fail(c, line, "unsupported [/%s ...] expression (only get)", path);
    i++;
    struct sim_state *st = c->h->st;
    int menu = sim_menu_by_path(path);
    struct find f = {0};
    bool have_find = false;
    char ref[256] = "";
    if (menu >= 0) {
        if (i < e && p->t[i].k == TOK_LBRACK) {
            if (parse_find(c, p, &i, &f) != R_OK)
                return R_FAIL;
            have_find = true;
        } else if (i < e && (p->t[i].k == TOK_WORD || p->t[i].k == TOK_STR) && p->t[i].n < 256) {
            memcpy(ref, p->t[i].s, p->t[i].n);
            ref[p->t[i].n] = '\0';
            i++;
        } else {
            return fail(c, line, "get needs an item");
        }
    }
    if (i + 1 != e || p->t[i].k != TOK_WORD) {
        find_free(&f);
        return fail(c, line, "get needs exactly one property name");
    }
    char prop[64];
    snprintf(prop, sizeof prop, "%.*s", (int)p->t[i].n, p->t[i].s);
    int r = R_OK;
    const char *v = NULL;
    sim_state_lock(st);
    if (strcmp(path, "system/identity") == 0 && strcmp(prop, "name") == 0) {
        v = st->identity;
    } else if (strcmp(path, "system/resource") == 0 && strcmp(prop, "version") == 0) {
        v = st->opt.version;
    } else if (strcmp(path, "system/resource") == 0 && strcmp(prop, "board-name") == 0) {
        v = "tikgate-sim";
    } else if (strcmp(path, "system/routerboard") == 0 && strcmp(prop, "serial-number") == 0) {
        v = st->opt.serial;
    } else if (strcmp(path, "system/routerboard") == 0 && strcmp(prop, "model") == 0) {
        v = "tikgate-sim";
    } else if (menu >= 0) {
        sim_wg_refresh(st, (enum sim_menu_id)menu, prop);
        const struct sim_menu *mm = &st->menus[menu];
        size_t idx = 0;
        if (have_find) {
            unsigned *ids = NULL;
            size_t n = 0;
            r = find_ids(c, line, (enum sim_menu_id)menu, &f, &ids, &n);
            if (r == R_OK && n == 0)
                r = fail(c, line, "no such item");
            else if (r == R_OK && n > 1)
                r = fail(c, line, "find matched %zu items", n);
            if (r == R_OK)
                sim_index_of(st, (enum sim_menu_id)menu, ids[0], &idx);
            free(ids);
        } else if (sim_resolve(st, (enum sim_menu_id)menu, ref, &idx) != 0) {
            r = fail(c, line, "no such item %s", ref);
        }
        if (r == R_OK) {
            int fi = sim_field_index(mm->def, prop);
            if (fi < 0)
                r = fail(c, line, "unknown property %s", prop);
            else
                v = mm->items[idx].val[fi] ? mm->items[idx].val[fi] : "";
        }
    } else {
        r = fail(c, line, "unsupported [/%s get %s]", path, prop);
    }
    if (r == R_OK && buf_append_str(out, v) < 0)
        r = fail(c, line, "value too long");
    sim_state_unlock(st);
    find_free(&f);
    return r;
}

/* [:len V] from b (after ":len") to e: the number of items of V = [/path find ...], else the
 * length of the value V. */
static int eval_len(struct ctx *c, const struct script_prog *p, size_t b, size_t e, unsigned line,
                    struct buf *out)
{
    if (b < e && p->t[b].k == TOK_LBRACK && p->t[b].match + 1 == e && p->t[b + 1].k == TOK_WORD &&
        p->t[b + 1].s[0] == '/') {
        size_t i = b + 1, close = p->t[b].match;
        char path[64];
        if (read_path(c, p, &i, close, path) != R_OK)
            return R_FAIL;
        int menu = sim_menu_by_path(path);
        if (menu < 0 || i >= close || !script_is_word(&p->t[i], "find"))
            return fail(c, line, "unsupported [:len [/%s ...]] (only find)", path);
        struct find f = {0};
        if (parse_find_conds(c, p, i + 1, close, line, &f) != R_OK) {
            find_free(&f);
            return R_FAIL;
        }
        unsigned *ids = NULL;
        size_t n = 0;
        sim_state_lock(c->h->st);
        int r = find_ids(c, line, (enum sim_menu_id)menu, &f, &ids, &n);
        sim_state_unlock(c->h->st);
        free(ids);
        find_free(&f);
        return r == R_OK ? (buf_printf(out, "%zu", n) < 0 ? R_FAIL : R_OK) : r;
    }
    struct buf v;
    buf_init(&v, SIM_MAX_SCRIPT);
    size_t i = b;
    int r = eval_value(c, p, &i, e, &v);
    if (r == R_OK && i != e)
        r = fail(c, line, ":len takes one value");
    if (r == R_OK && buf_printf(out, "%zu", v.len) < 0)
        r = fail(c, line, "value too long");
    buf_release(&v);
    return r;
}

/* One value: word, "string", $var, (a . b), [get], [:len]. */
static int eval_value(struct ctx *c, const struct script_prog *p, size_t *i, size_t e,
                      struct buf *out)
{
    if (*i >= e)
        return fail(c, p->t[*i].line, "missing value");
    const struct script_tok *t = &p->t[*i];
    switch (t->k) {
    case TOK_WORD:
        if (buf_append(out, t->s, t->n) < 0)
            return fail(c, t->line, "value too long");
        (*i)++;
        return R_OK;
    case TOK_STR: (*i)++; return eval_string(c, t, out);
    case TOK_VAR: {
        const char *v = var_get(c, t->s, t->n);
        if (!v)
            return fail(c, t->line, "undefined variable %.*s", (int)t->n, t->s);
        if (buf_append_str(out, v) < 0)
            return fail(c, t->line, "value too long");
        (*i)++;
        return R_OK;
    }
    case TOK_LPAREN: {
        size_t close = t->match, j = *i + 1;
        for (;;) {
            if (eval_value(c, p, &j, close, out) != R_OK)
                return R_FAIL;
            if (j == close)
                break;
            if (!script_is_word(&p->t[j], "."))
                return fail(c, t->line, "unsupported expression (only concatenation with .)");
            j++;
        }
        *i = close + 1;
        return R_OK;
    }
    case TOK_LBRACK: {
        size_t close = t->match;
        if (script_is_word(&p->t[*i + 1], ":len")) {
            if (eval_len(c, p, *i + 2, close, t->line, out) != R_OK)
                return R_FAIL;
            *i = close + 1;
            return R_OK;
        }
        if (eval_get(c, p, *i + 1, close, t->line, out) != R_OK)
            return R_FAIL;
        *i = close + 1;
        return R_OK;
    }
    default:
        return fail(c, t->line, "syntax error near '%.*s'", (int)(t->n > 20 ? 20 : t->n), t->s);
    }
}

struct args {
    struct sim_kv kv[MAX_ARGS];
    char *owned[MAX_ARGS * 2];
    size_t n, nowned;
    bool have_find;
    struct find find;
    char *target; /* set <name> */
};

static void args_free(struct args *a)
{
    for (size_t k = 0; k < a->nowned; k++)
        free(a->owned[k]);
    find_free(&a->find);
    free(a->target);
}

static const char *args_get(const struct args *a, const char *key)
{
    for (size_t k = 0; k < a->n; k++)
        if (strcmp(a->kv[k].key, key) == 0)
            return a->kv[k].val;
    return NULL;
}

/* Parses [find], a bare target and k=v arguments up to e. */
static int parse_args(struct ctx *c, const struct script_prog *p, size_t i, size_t e, unsigned line,
                      bool allow_target, struct args *a)
{
    memset(a, 0, sizeof *a);
    bool first = true;
    while (i < e) {
        const struct script_tok *t = &p->t[i];
        if (t->k == TOK_LBRACK && first && allow_target) {
            if (parse_find(c, p, &i, &a->find) != R_OK)
                return R_FAIL;
            a->have_find = true;
        } else if (t->k == TOK_WORD && i + 1 < e && p->t[i + 1].k == TOK_EQ) {
            if (a->n >= MAX_ARGS)
                return fail(c, line, "too many arguments");
            char *key = xstrndup(t->s, t->n);
            a->owned[a->nowned++] = key;
            for (size_t k = 0; k < a->n; k++)
                if (strcmp(a->kv[k].key, key) == 0)
                    return fail(c, line, "duplicate argument %s", key);
            i += 2;
            if (i >= e)
                return fail(c, line, "missing value of %s", key);
            struct buf v;
            buf_init(&v, SIM_MAX_SCRIPT);
            if (eval_value(c, p, &i, e, &v) != R_OK) {
                buf_release(&v);
                return R_FAIL;
            }
            char *val = buf_steal(&v);
            a->owned[a->nowned++] = val;
            a->kv[a->n].key = key;
            a->kv[a->n].val = val;
            a->n++;
        } else if (first && allow_target &&
                   (t->k == TOK_WORD || t->k == TOK_STR || t->k == TOK_VAR)) {
            struct buf v;
            buf_init(&v, SIM_MAX_VALUE);
            if (eval_value(c, p, &i, e, &v) != R_OK) {
                buf_release(&v);
                return R_FAIL;
            }
            a->target = buf_steal(&v);
        } else {
            return fail(c, line, "syntax error near '%.*s'", (int)(t->n > 20 ? 20 : t->n), t->s);
        }
        first = false;
    }
    return R_OK;
}

static bool stop_requested(const struct ctx *c)
{
    return c->h->should_stop && c->h->should_stop(c->h->stop_ctx);
}

static int exec_text(struct ctx *c, const char *name, const char *text, size_t len);

/* Drops the query string: URLs carry tokens and signatures. */
static void url_for_log(const char *url, char *out, size_t n)
{
    size_t k = strcspn(url, "?#");
    snprintf(out, n, "%.*s", (int)(k > 200 ? 200 : k), url);
}

static int do_fetch(struct ctx *c, unsigned line, const struct args *a)
{
    static const char *const allowed[] = {
        "url",      "http-method", "http-data",        "http-header-field",
        "dst-path", "output",      "check-certificate"};
    for (size_t k = 0; k < a->n; k++) {
        bool ok = false;
        for (size_t j = 0; j < sizeof allowed / sizeof allowed[0]; j++)
            ok = ok || strcmp(a->kv[k].key, allowed[j]) == 0;
        if (!ok)
            return fail(c, line, "/tool fetch: unsupported argument %s", a->kv[k].key);
    }
    if (a->have_find || a->target)
        return fail(c, line, "/tool fetch: unexpected argument");
    const char *url = args_get(a, "url");
    const char *method = args_get(a, "http-method");
    const char *output = args_get(a, "output");
    const char *dst = args_get(a, "dst-path");
    if (!url || !*url)
        return fail(c, line, "/tool fetch: missing url");
    if (method && strcmp(method, "get") && strcmp(method, "post"))
        return fail(c, line, "/tool fetch: unsupported http-method %s", method);
    if (output && strcmp(output, "none") && strcmp(output, "file"))
        return fail(c, line, "/tool fetch: unsupported output %s", output);
    const char *cc = args_get(a, "check-certificate");
    if (cc && strcmp(cc, "yes") && strcmp(cc, "yes-without-crl") && strcmp(cc, "no"))
        return fail(c, line, "/tool fetch: invalid value for check-certificate");
    bool keep = !output || strcmp(output, "file") == 0;
    char fname[256] = "";
    if (keep) {
        if (dst) {
            snprintf(fname, sizeof fname, "%s", dst);
        } else {
            size_t k = strcspn(url, "?#");
            const char *slash = url;
            for (size_t j = 0; j < k; j++)
                if (url[j] == '/')
                    slash = url + j + 1;
            snprintf(fname, sizeof fname, "%.*s", (int)(url + k - slash), slash);
        }
        if (!*fname)
            return fail(c, line, "/tool fetch: no file name (give dst-path or output=none)");
    }
    if (!c->h->fetch)
        return fail(c, line, "/tool fetch: not available");
    struct sim_fetch_req req = {
        .url = url,
        .post = method && strcmp(method, "post") == 0,
        .data = args_get(a, "http-data"),
        .headers = args_get(a, "http-header-field"),
        .check_cert = cc && strcmp(cc, "no") != 0,
    };
    struct buf trust; /* the trust store as it is now (certs.c) */
    buf_init(&trust, SIM_MAX_SCRIPT);
    if (req.check_cert) {
        sim_state_lock(c->h->st);
        sim_cert_trust_pem(c->h->st, &trust);
        sim_state_unlock(c->h->st);
        req.trust_pem = trust.data;
    }
    struct buf body;
    buf_init(&body, SIM_MAX_SCRIPT);
    long status = 0;
    char err[SIM_ERR_LEN] = "";
    char lurl[256];
    url_for_log(url, lurl, sizeof lurl);
    int r = c->h->fetch(c->h->fetch_ctx, &req, &body, &status, err);
    buf_release(&trust);
    if (r != 0) {
        buf_release(&body);
        return fail(c, line, "/tool fetch %s failed: %s", lurl, err[0] ? err : strerror(-r));
    }
    if (status < 200 || status > 299) {
        buf_release(&body);
        return fail(c, line, "/tool fetch %s failed: HTTP status %ld", lurl, status);
    }
    log_debug("sim.script", "fetch %s %s -> %ld, %zu bytes%s%s", req.post ? "POST" : "GET", lurl,
              status, body.len, keep ? " -> file " : "", keep ? fname : "");
    if (keep && sim_files_put(c->h->files, fname, body.data ? body.data : "", body.len) != 0) {
        buf_release(&body);
        return fail(c, line, "/tool fetch: file store full");
    }
    buf_release(&body);
    return R_OK;
}

static int do_import(struct ctx *c, unsigned line, const struct args *a)
{
    const char *fname = args_get(a, "file-name");
    if (!fname || a->n != 1 || a->have_find || a->target)
        return fail(c, line, "/import: only file-name= is supported");
    const struct sim_file *f = c->h->files ? sim_files_get(c->h->files, fname) : NULL;
    if (!f)
        return fail(c, line, "/import: no such file %s", fname);
    if (c->depth >= MAX_IMPORT_DEPTH)
        return fail(c, line, "/import: nested too deep");
    /* copy: the imported script may fetch over its own file */
    char *text = xmalloc(f->len + 1);
    memcpy(text, f->data, f->len);
    text[f->len] = '\0';
    size_t len = f->len;
    char *name = xstrdup(fname);
    size_t floor0 = c->floor, n0 = c->nvars;
    c->floor = c->nvars; /* fresh variable scope */
    c->depth++;
    int r = exec_text(c, name, text, len);
    c->depth--;
    vars_drop(c, n0);
    c->floor = floor0;
    if (r == R_FAIL) {
        char inner[SIM_ERR_LEN];
        snprintf(inner, sizeof inner, "%s", c->rep->err);
        fail(c, line, "/import %s: line %u: %s", name, c->rep->line, inner);
    }
    free(name);
    free(text);
    return r;
}

static int do_menu(struct ctx *c, unsigned line, const char *path, const char *verb,
                   const struct args *a)
{
    struct sim_state *st = c->h->st;
    char err[SIM_ERR_LEN];
    int r = R_OK;
    sim_state_lock(st);
    if (strcmp(path, "system/identity") == 0) {
        const char *name = args_get(a, "name");
        if (strcmp(verb, "set") || !name || a->n != 1 || a->have_find || a->target)
            r = fail(c, line, "/system identity: only set name=\"...\" is supported");
        else if (sim_state_set_identity(st, name, err) != 0)
            r = fail(c, line, "/system identity set: %s", err);
        else {
            log_info("sim.script", "line %u: /system identity set name=%s", line, name);
            sim_state_changed(st);
        }
        goto out;
    }
    int m = sim_menu_by_path(path);
    if (m < 0) {
        r = fail(c, line, "bad command name /%s %s", path, verb);
        goto out;
    }
    const struct sim_menu_def *d = &sim_menu_defs[m];
    if (strcmp(verb, "add") == 0) {
        unsigned id;
        if (a->have_find || a->target)
            r = fail(c, line, "%s add: unexpected argument", d->script);
        else if (sim_state_add(st, (enum sim_menu_id)m, a->kv, a->n, &id, err) != 0)
            r = fail(c, line, "%s add: %s", d->script, err);
        else {
            log_info("sim.script", "line %u: %s add -> *%X", line, d->script, id);
            sim_state_changed(st);
        }
        goto out;
    }
    bool set = strcmp(verb, "set") == 0;
    if (!set && strcmp(verb, "remove") != 0) {
        r = fail(c, line, "%s %s: unsupported command", d->script, verb);
        goto out;
    }
    if (!set && a->n) {
        r = fail(c, line, "%s remove: unexpected argument %s", d->script, a->kv[0].key);
        goto out;
    }
    unsigned *ids = NULL;
    size_t nids = 0;
    if (a->have_find) {
        r = find_ids(c, line, (enum sim_menu_id)m, &a->find, &ids, &nids);
        if (r != R_OK)
            goto out;
    } else if (a->target) {
        size_t idx;
        if (sim_resolve(st, (enum sim_menu_id)m, a->target, &idx) != 0) {
            r = fail(c, line, "%s %s: no such item %s", d->script, verb, a->target);
            goto out;
        }
        ids = xcalloc(1, sizeof *ids);
        ids[0] = st->menus[m].items[idx].id;
        nids = 1;
    } else {
        r = fail(c, line, "%s %s: which item? ([find k=\"v\"] or a name)", d->script, verb);
        goto out;
    }
    size_t changed = 0;
    for (size_t k = 0; k < nids && r == R_OK; k++) {
        int e = set ? sim_state_set(st, (enum sim_menu_id)m, ids[k], a->kv, a->n, err)
                    : sim_state_remove(st, (enum sim_menu_id)m, ids[k], err);
        if (e != 0)
            r = fail(c, line, "%s %s: %s", d->script, verb, err);
        else
            changed++;
    }
    free(ids);
    if (changed) {
        log_info("sim.script", "line %u: %s %s: %zu item(s)", line, d->script, verb, changed);
        sim_state_changed(st);
    }
out:
    sim_state_unlock(st);
    return r;
}

/* /certificate import file-name=F [passphrase=P]: the PEM certificates of file F (certs.c). */
static int do_cert_import(struct ctx *c, unsigned line, const struct args *a)
{
    for (size_t k = 0; k < a->n; k++)
        if (strcmp(a->kv[k].key, "file-name") && strcmp(a->kv[k].key, "passphrase"))
            return fail(c, line, "/certificate import: unsupported argument %s", a->kv[k].key);
    const char *fname = args_get(a, "file-name");
    if (!fname || a->have_find || a->target)
        return fail(c, line, "/certificate import: file-name= is required");
    const struct sim_file *f = c->h->files ? sim_files_get(c->h->files, fname) : NULL;
    if (!f)
        return fail(c, line, "/certificate import: no such file %s", fname);
    char err[SIM_ERR_LEN];
    unsigned n = 0;
    sim_state_lock(c->h->st);
    int e = sim_cert_import(c->h->st, fname, f->data, f->len, &n, err);
    if (e == 0 && n)
        sim_state_changed(c->h->st);
    sim_state_unlock(c->h->st);
    if (e != 0)
        return fail(c, line, "/certificate import: %s", err);
    log_info("sim.script", "line %u: /certificate import %s: %u certificate(s) imported", line,
             fname, n);
    return R_OK;
}

/* /file remove NAME | /file remove [find] | /file remove [find name=NAME] (none: no error). */
static int do_file(struct ctx *c, unsigned line, const char *verb, const struct args *a)
{
    struct sim_files *files = c->h->files;
    if (strcmp(verb, "remove") || a->n || !files)
        return fail(c, line, "/file: only remove NAME or remove [find name=\"...\"]");
    if (a->target) {
        if (sim_files_remove(files, a->target) != 0)
            return fail(c, line, "/file remove: no such item %s", a->target);
    } else if (a->have_find && a->find.all) {
        while (files->n)
            sim_files_remove(files, files->v[0].name);
    } else if (a->have_find && a->find.n == 1 && a->find.c[0].op == '=' &&
               strcmp(a->find.c[0].key, "name") == 0) {
        sim_files_remove(files, a->find.c[0].val);
    } else {
        return fail(c, line, "/file remove: which file? (a name or [find name=\"...\"])");
    }
    log_info("sim.script", "line %u: /file remove: %zu file(s) left", line, files->n);
    return R_OK;
}

/* :error V: fails with the message V (on-error catches it, like any failure). */
static int exec_error(struct ctx *c, const struct script_prog *p, size_t i, size_t e, unsigned line)
{
    struct buf v;
    buf_init(&v, SIM_MAX_VALUE);
    int r = i < e ? eval_value(c, p, &i, e, &v) : fail(c, line, ":error needs a message");
    if (r == R_OK && i != e)
        r = fail(c, line, ":error: unexpected text after the message");
    if (r == R_OK)
        r = fail(c, line, "%s", v.data ? v.data : "");
    buf_release(&v);
    return r;
}

/*
 * :if (A = B) do={ ... } [else={ ... }], also A != B. The chosen body runs in the
 * current variable scope; it is run from its text, which parsed with the whole
 * script (line numbers in its errors count from the brace).
 */
static int exec_if(struct ctx *c, const struct script_prog *p, size_t i, size_t e, unsigned line)
{
    if (i >= e || p->t[i].k != TOK_LPAREN)
        return fail(c, line, ":if needs a (condition)");
    size_t close = p->t[i].match, j = i + 1;
    struct buf a, b;
    buf_init(&a, SIM_MAX_SCRIPT);
    buf_init(&b, SIM_MAX_SCRIPT);
    bool neq = false;
    int r = eval_value(c, p, &j, close, &a);
    if (r == R_OK) {
        if (j < close && p->t[j].k == TOK_EQ) {
            j++;
        } else if (j + 1 < close && p->t[j].k == TOK_BAD && p->t[j].s[0] == '!' &&
                   p->t[j + 1].k == TOK_EQ) {
            neq = true;
            j += 2;
        } else {
            r = fail(c, line, ":if: only (a = b) and (a != b) conditions");
        }
    }
    if (r == R_OK)
        r = eval_value(c, p, &j, close, &b);
    if (r == R_OK && j != close)
        r = fail(c, line, ":if: only (a = b) and (a != b) conditions");
    bool equal = a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0);
    buf_release(&a);
    buf_release(&b);
    if (r != R_OK)
        return r;
    size_t k = close + 1, body[2][2] = {{0, 0}, {0, 0}};
    static const char *const words[2] = {"do", "else"};
    for (int w = 0; w < 2; w++) {
        if (k + 2 < e && script_is_word(&p->t[k], words[w]) && p->t[k + 1].k == TOK_EQ &&
            p->t[k + 2].k == TOK_LBRACE) {
            body[w][0] = k + 2;
            body[w][1] = p->t[k + 2].match;
            k = body[w][1] + 1;
        } else if (w == 0) {
            return fail(c, line, ":if needs do={ ... }");
        }
    }
    if (k != e)
        return fail(c, line, ":if: unexpected text after the bodies");
    const size_t *chosen = body[equal != neq ? 0 : 1]; /* its braces' token indexes */
    if (!chosen[0])
        return R_OK;
    const char *text = p->t[chosen[0]].s + 1;
    size_t n0 = c->nvars;
    r = exec_text(c, ":if", text, (size_t)(p->t[chosen[1]].s - text));
    vars_drop(c, n0);
    if (r == R_FAIL) /* a line of the body text -> a line of this script */
        c->rep->line += p->t[chosen[0]].line - 1;
    return r;
}

static int exec_cmd(struct ctx *c, const struct script_prog *p, const struct script_stmt *s)
{
    size_t i = s->b, e = s->e;
    const struct script_tok *t = &p->t[i];
    unsigned line = s->line;
    if (t->k != TOK_WORD)
        return fail(c, line, "syntax error near '%.*s'", (int)(t->n > 20 ? 20 : t->n), t->s);
    if (script_is_word(t, ":local")) {
        i++;
        if (i >= e || p->t[i].k != TOK_WORD || p->t[i].n > 63)
            return fail(c, line, ":local needs a variable name");
        const struct script_tok *nt = &p->t[i];
        for (size_t k = 0; k < nt->n; k++)
            if (!script_var_char(nt->s[k]))
                return fail(c, line, ":local: bad variable name");
        i++;
        struct buf v;
        buf_init(&v, SIM_MAX_SCRIPT);
        if (i >= e) {
            buf_release(&v);
            return fail(c, line, ":local needs a value");
        }
        if (eval_value(c, p, &i, e, &v) != R_OK) {
            buf_release(&v);
            return R_FAIL;
        }
        if (i != e) {
            buf_release(&v);
            return fail(c, line, ":local: unexpected text after the value");
        }
        if (c->nvars >= MAX_VARS) {
            buf_release(&v);
            return fail(c, line, "too many variables");
        }
        c->vars[c->nvars].name = xstrndup(nt->s, nt->n);
        c->vars[c->nvars].val = buf_steal(&v);
        c->nvars++;
        return R_OK;
    }
    if (script_is_word(t, ":log")) {
        i++;
        static const char *const levels[] = {"info", "warning", "error", "debug"};
        const char *lvl = NULL;
        for (size_t k = 0; i < e && k < 4; k++)
            if (script_is_word(&p->t[i], levels[k]))
                lvl = levels[k];
        if (!lvl)
            return fail(c, line, ":log needs info, warning, error or debug");
        i++;
        struct buf v;
        buf_init(&v, SIM_MAX_VALUE);
        if (eval_value(c, p, &i, e, &v) != R_OK) {
            buf_release(&v);
            return R_FAIL;
        }
        if (i != e) {
            buf_release(&v);
            return fail(c, line, ":log: unexpected text after the message");
        }
        log_msg(strcmp(lvl, "error") == 0     ? LOG_ERROR
                : strcmp(lvl, "warning") == 0 ? LOG_WARN
                : strcmp(lvl, "debug") == 0   ? LOG_DEBUG
                                              : LOG_INFO,
                "sim.script", "router log (%s): %s", lvl, v.data ? v.data : "");
        if (c->h->log)
            c->h->log(c->h->log_ctx, lvl, v.data ? v.data : "");
        buf_release(&v);
        return R_OK;
    }
    if (script_is_word(t, ":if"))
        return exec_if(c, p, i + 1, e, line);
    if (script_is_word(t, ":error"))
        return exec_error(c, p, i + 1, e, line);
    if (t->s[0] != '/')
        return fail(c, line, "unsupported command %.*s", (int)(t->n > 40 ? 40 : t->n), t->s);
    char path[64];
    if (read_path(c, p, &i, e, path) != R_OK)
        return R_FAIL;
    if (strcmp(path, "system/reboot") == 0) {
        if (i != e)
            return fail(c, line, "/system reboot takes no arguments");
        struct sim_state *st = c->h->st;
        sim_state_lock(st);
        st->reboot_pending = true;
        log_info("sim.script", "line %u: /system reboot (the script stops here)", line);
        if (st->on_change)
            st->on_change(st->on_change_ctx);
        sim_state_unlock(st);
        return R_REBOOT;
    }
    bool is_fetch = strcmp(path, "tool/fetch") == 0, is_import = strcmp(path, "import") == 0;
    bool is_cert_import = strcmp(path, "certificate/import") == 0;
    const char *verb = "";
    char verbbuf[32];
    if (!is_fetch && !is_import && !is_cert_import) {
        if (i >= e || p->t[i].k != TOK_WORD || p->t[i].n >= sizeof verbbuf)
            return fail(c, line, "/%s: missing command", path);
        snprintf(verbbuf, sizeof verbbuf, "%.*s", (int)p->t[i].n, p->t[i].s);
        verb = verbbuf;
        i++;
    }
    struct args a;
    bool target_ok = strcmp(verb, "set") == 0 || strcmp(verb, "remove") == 0;
    int r = parse_args(c, p, i, e, line, target_ok, &a);
    if (r == R_OK) {
        if (is_fetch)
            r = do_fetch(c, line, &a);
        else if (is_import)
            r = do_import(c, line, &a);
        else if (is_cert_import)
            r = do_cert_import(c, line, &a);
        else if (strcmp(path, "file") == 0)
            r = do_file(c, line, verb, &a);
        else
            r = do_menu(c, line, path, verb, &a);
    }
    args_free(&a);
    return r;
}

static int exec_block(struct ctx *c, const struct script_prog *p, const struct script_block *b)
{
    for (size_t k = 0; k < b->n; k++) {
        const struct script_stmt *s = &b->v[k];
        if (stop_requested(c))
            return R_STOP;
        if (++c->steps > MAX_STEPS)
            return fail(c, s->line, "too many steps");
        int r;
        if (s->kind == STMT_BAD) {
            r = fail(c, s->line, "%s", s->bad);
        } else if (s->kind == STMT_DO) {
            size_t n0 = c->nvars;
            r = exec_block(c, p, &s->body);
            vars_drop(c, n0);
            if (r == R_FAIL && s->has_onerr) {
                c->rep->caught++;
                log_info("sim.script", "%s: on-error caught line %u: %s", c->name, c->rep->line,
                         c->rep->err);
                c->rep->err[0] = '\0';
                c->rep->line = 0;
                r = exec_block(c, p, &s->onerr);
                vars_drop(c, n0);
            }
        } else {
            c->rep->commands++;
            r = exec_cmd(c, p, s);
        }
        if (r != R_OK)
            return r;
    }
    return R_OK;
}

static int exec_text(struct ctx *c, const char *name, const char *text, size_t len)
{
    struct script_prog p;
    struct script_syntax_err err;
    if (script_parse(text, len, &p, &err) != 0)
        return fail(c, err.line, "syntax error: %.200s", err.msg);
    const char *name0 = c->name;
    c->name = name;
    int r = exec_block(c, &p, &p.top);
    c->name = name0;
    script_prog_release(&p);
    return r;
}

enum sim_script_result sim_script_run(const struct sim_script_host *h, const char *name,
                                      const char *text, size_t len, struct sim_script_report *rep)
{
    struct sim_script_report dummy;
    if (!rep)
        rep = &dummy;
    memset(rep, 0, sizeof *rep);
    struct script_prog p;
    struct script_syntax_err err;
    if (script_parse(text, text ? len : 0, &p, &err) != 0) {
        rep->line = err.line;
        snprintf(rep->err, sizeof rep->err, "syntax error: %.200s", err.msg);
        return SIM_SCRIPT_SYNTAX;
    }
    struct ctx *c = xcalloc(1, sizeof *c);
    c->h = h;
    c->rep = rep;
    c->name = name;
    int r = exec_block(c, &p, &p.top);
    script_prog_release(&p);
    vars_drop(c, 0);
    free(c);
    return r == R_OK       ? SIM_SCRIPT_OK
           : r == R_REBOOT ? SIM_SCRIPT_REBOOT
           : r == R_STOP   ? SIM_SCRIPT_STOPPED
                           : SIM_SCRIPT_FAILED;
}
