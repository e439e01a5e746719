/*
 * script_exec.c - runs a parsed script (script_int.h): the interpreter of the RouterOS script
 * subset of docs/internals/script-subset.md.
 *
 * A script is parsed and checked whole first (script_check.c: what RouterOS refuses before
 * running anything); then values are evaluated when a command runs (quoted strings unescaped,
 * $var interpolated, [get] / [find] forms read under the state lock), and what only the running
 * router can refuse (a bad value, a missing item, a missing policy) fails at its line, so the
 * enclosing `on-error` runs. Commands: structured menu add/set/remove/enable/disable, /system
 * identity set, /system reboot, /system package update check-for-updates|install, /file remove,
 * :log, :local, :set, :put, :error, :delay, :return, :if, :parse and calling what it made,
 * /tool fetch (through the host's fetch hook) and /import (a file of the host's store, parsed,
 * checked and run in a fresh variable scope; a syntax error in it is caught by an on-error
 * around the /import only from RouterOS 7.16 on, before that it ends the whole run).
 *
 * Policies: the script runs with the host's policy list (a scheduler's policy=; NULL = every
 * policy): write for changes (and policy for /user, /user group), reboot for /system reboot and
 * package install, read,write,test for /tool fetch; missing one fails "not enough permissions".
 *
 * Limits: 100 000 executed statements per run, /import and calls nested 8 deep, 256 variables,
 * values capped at SIM_MAX_SCRIPT (the parser's caps are in script_int.h).
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
#include <time.h>

#define MAX_STEPS 100000u
#define MAX_IMPORT_DEPTH 8
#define MAX_VARS 256
#define MAX_ARGS 64

struct var {
    char *name;
    char *val;
    bool code; /* made by :parse: val is script text, [$name] runs it */
};

struct ctx {
    const struct sim_script_host *h;
    struct sim_script_report *rep;
    const char *name; /* of the script running now (logs); borrowed */
    struct var vars[MAX_VARS];
    size_t nvars, floor;
    unsigned depth;
    unsigned steps;
    struct sim_options opt; /* the router's (version, board), copied at the start */
    int cur_menu;           /* the menu of the command running: [find] inside it is relative */
    char *ret;              /* :return's value until the caller takes it (owned) */
};

/* R_ABORT: a failure no on-error catches (a syntax error in an imported file before 7.16).
 * R_RETURN: :return ran (c->ret holds the value). */
enum { R_OK = 0, R_FAIL = -1, R_ABORT = -2, R_REBOOT = 1, R_STOP = 2, R_RETURN = 3 };

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

static struct var *var_find(struct ctx *c, const char *name, size_t n)
{
    for (size_t i = c->nvars; i > c->floor; i--)
        if (strlen(c->vars[i - 1].name) == n && memcmp(c->vars[i - 1].name, name, n) == 0)
            return &c->vars[i - 1];
    return NULL;
}

/* ---- policies ---------------------------------------------------------- */

static bool policy_in(const char *list, const char *pol)
{
    size_t n = strlen(pol);
    for (const char *p = list; p && *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == n && memcmp(p, pol, n) == 0)
            return true;
        if (!comma)
            break;
        p = comma + 1;
    }
    return false;
}

/* Fails unless the script's policies include every one of pols (",a,b"). */
static int need(struct ctx *c, unsigned line, const char *what, const char *pols)
{
    if (!c->h->policy)
        return R_OK;
    char one[32];
    for (const char *p = pols; *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        snprintf(one, sizeof one, "%.*s", (int)len, p);
        if (!policy_in(c->h->policy, one))
            return fail(c, line, "%s: not enough permissions (9) (needs policy %s)", what, one);
        if (!comma)
            break;
        p = comma + 1;
    }
    return R_OK;
}

/* ---- paths ------------------------------------------------------------- */

static const char *const special_paths[] = {
    "tool/fetch",
    "import",
    "system/reboot",
    "system/resource",
    "system/identity",
    "system/package",
    "system/package/update",
    "system/routerboard",
    "file",
    "certificate/import",
};

static bool path_ok(const struct ctx *c, const char *cand, bool whole)
{
    size_t n = strlen(cand);
    if (c->opt.no_routerboard && strncmp(cand, "system/routerboard", 18) == 0)
        return false;
    for (size_t k = 0; k < sizeof special_paths / sizeof special_paths[0]; k++)
        if (strncmp(special_paths[k], cand, n) == 0 &&
            (special_paths[k][n] == '\0' || (!whole && special_paths[k][n] == '/')))
            return true;
    for (int m = 0; m < SIM_M_COUNT; m++) {
        const char *mp = sim_menu_defs[m].path;
        if (sim_menu_available(&c->opt, (enum sim_menu_id)m) && strncmp(mp, cand, n) == 0 &&
            (mp[n] == '\0' || (!whole && mp[n] == '/')))
            return true;
    }
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
    if (!path_ok(c, path, false))
        return fail(c, t->line, "bad command name /%s", path);
    (*i)++;
    while (*i < e && p->t[*i].k == TOK_WORD && !(*i + 1 < e && p->t[*i + 1].k == TOK_EQ)) {
        char cand[64];
        int w = snprintf(cand, sizeof cand, "%s/%.*s", path, (int)p->t[*i].n, p->t[*i].s);
        if (w < 0 || (size_t)w >= sizeof cand || !path_ok(c, cand, false))
            break;
        memcpy(path, cand, (size_t)w + 1);
        (*i)++;
    }
    if (!path_ok(c, path, true))
        return fail(c, t->line, "bad command name /%s", path);
    return R_OK;
}

/* ---- find -------------------------------------------------------------- */

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

/* The conditions of a find from j (just after the word "find") to close: "", or [where] k=v /
 * k!=v / k~v, all of which must hold. */
static int parse_find_conds(struct ctx *c, const struct script_prog *p, size_t j, size_t close,
                            unsigned line, struct find *f)
{
    memset(f, 0, sizeof *f);
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
        } else if (p->t[j].k == TOK_BAD && (p->t[j].s[0] == '!' || p->t[j].s[0] == '~')) {
            fc->op = p->t[j].s[0];
            if (fc->op == '!' && (j + 1 >= close || p->t[++j].k != TOK_EQ))
                return fail(c, line, "find: expected !=");
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

/* yes/no/true/false compare as booleans on boolean fields (dynamic=no). */
static const char *bool_norm(const struct sim_field *fd, const char *v)
{
    if (!(fd->flags & SIM_F_BOOL))
        return v;
    if (strcmp(v, "yes") == 0)
        return "true";
    if (strcmp(v, "no") == 0)
        return "false";
    return v;
}

static bool cond_holds(const struct sim_field *fd, const struct find_cond *fc, const regex_t *re,
                       const char *v)
{
    v = v ? v : (fd->flags & SIM_F_BOOL) ? "false" : "";
    if (fc->op == '~')
        return regexec(re, v, 0, NULL, 0) == 0;
    return (strcmp(v, bool_norm(fd, fc->val)) == 0) == (fc->op == '=');
}

/* The values of a /ip service connection entry (RouterOS >= 7.19), aligned with its fields. */
static void conn_item(const struct sim_state *st, const struct sim_conn *cn, struct sim_item *it)
{
    const struct sim_menu *sm = &st->menus[SIM_M_SERVICE];
    memset(it, 0, sizeof *it);
    it->id = cn->id;
    it->val[0] = (char *)cn->service;
    size_t si;
    if (sim_resolve(st, SIM_M_SERVICE, cn->service, &si) == 0)
        it->val[1] = sm->items[si].val[1];
    it->val[3] = "false";
    it->val[4] = "true";
    it->val[5] = "true";
    it->val[6] = (char *)cn->local;
    it->val[7] = (char *)cn->remote;
}

/* Matching ids (lock held); with 7.19+ /ip service, the connection entries too. */
static int find_ids(struct ctx *c, unsigned line, enum sim_menu_id m, const struct find *f,
                    unsigned **ret, size_t *ret_n)
{
    const struct sim_state *st = c->h->st;
    const struct sim_menu *mm = &st->menus[m];
    int fi[MAX_FIND_CONDS];
    regex_t re[MAX_FIND_CONDS];
    size_t nre = 0;
    int r = R_OK;
    for (size_t k = 0; k < f->n && r == R_OK; k++) {
        if ((fi[k] = sim_field_index(mm->def, f->c[k].key)) < 0)
            r = fail(c, line, "unknown property %s in find", f->c[k].key);
        else if (f->c[k].op == '~' && regcomp(&re[k], f->c[k].val, REG_EXTENDED | REG_NOSUB) != 0)
            r = fail(c, line, "find: bad regular expression for %s", f->c[k].key);
        else
            nre = k + 1;
    }
    unsigned *ids = NULL;
    size_t n = 0;
    size_t nvirt = m == SIM_M_SERVICE && sim_version_at_least(&c->opt, 7, 19) ? st->nconns : 0;
    if (r != R_OK)
        goto free_re;
    ids = xcalloc(mm->n + nvirt + 1, sizeof *ids);
    for (size_t k = 0; k < mm->n + nvirt; k++) {
        struct sim_item virt;
        const struct sim_item *it = k < mm->n ? &mm->items[k] : &virt;
        if (k >= mm->n)
            conn_item(st, &st->conns[k - mm->n], &virt);
        bool ok = true;
        for (size_t q = 0; q < f->n && ok; q++)
            ok = cond_holds(&mm->def->fields[fi[q]], &f->c[q], &re[q], it->val[fi[q]]);
        if (ok)
            ids[n++] = it->id;
    }
    *ret = ids;
    *ret_n = n;
free_re:
    for (size_t k = 0; k < nre; k++)
        if (f->c[k].op == '~')
            regfree(&re[k]);
    return r;
}

/* [find ...] of menu m at b..close (after the word find): the ids as "*1;*2" onto out. */
static int eval_find(struct ctx *c, const struct script_prog *p, int m, size_t b, size_t close,
                     unsigned line, struct buf *out, size_t *ret_n)
{
    struct find f;
    if (parse_find_conds(c, p, b, close, line, &f) != R_OK) {
        find_free(&f);
        return R_FAIL;
    }
    int r = need(c, line, "find", "read");
    unsigned *ids = NULL;
    size_t n = 0;
    if (r == R_OK) {
        sim_state_lock(c->h->st);
        r = find_ids(c, line, (enum sim_menu_id)m, &f, &ids, &n);
        sim_state_unlock(c->h->st);
    }
    for (size_t k = 0; r == R_OK && k < n; k++)
        if (buf_printf(out, "%s*%X", k ? ";" : "", ids[k]) < 0)
            r = fail(c, line, "value too long");
    if (ret_n)
        *ret_n = n;
    free(ids);
    find_free(&f);
    return r;
}

/* ---- expressions ------------------------------------------------------- */

static int exec_text(struct ctx *c, const char *name, const char *text, size_t len);

/* True when tokens [b, e) are exactly "[ /path ... find ... ]": sets *path_end to the token after
 * the path, *menu. */
static bool is_find_expr(struct ctx *c, const struct script_prog *p, size_t b, size_t e, int *menu,
                         size_t *find_at)
{
    if (b >= e || p->t[b].k != TOK_LBRACK || p->t[b].match + 1 != e)
        return false;
    size_t i = b + 1, close = p->t[b].match;
    if (script_is_word(&p->t[i], "find") && c->cur_menu >= 0) {
        *menu = c->cur_menu;
        *find_at = i + 1;
        return true;
    }
    if (p->t[i].k != TOK_WORD || p->t[i].s[0] != '/')
        return false;
    char path[64];
    struct sim_script_report saved = *c->rep;
    if (read_path(c, p, &i, close, path) != R_OK) {
        *c->rep = saved;
        return false;
    }
    int m = sim_menu_by_path(path);
    if (m < 0 || i >= close || !script_is_word(&p->t[i], "find"))
        return false;
    *menu = m;
    *find_at = i + 1;
    return true;
}

/* The text of [$f]: runs the code f in a fresh scope; its :return value onto out. */
static int call_code(struct ctx *c, const struct script_tok *t, struct buf *out)
{
    struct var *v = var_find(c, t->s, t->n);
    if (!v)
        return fail(c, t->line, "undefined variable %.*s", (int)t->n, t->s);
    if (!v->code)
        return fail(c, t->line, "$%.*s is not a function", (int)t->n, t->s);
    if (c->depth >= MAX_IMPORT_DEPTH)
        return fail(c, t->line, "calls nested too deep");
    char *text = xstrdup(v->val);
    size_t floor0 = c->floor, n0 = c->nvars;
    c->floor = c->nvars;
    c->depth++;
    int r = exec_text(c, "function", text, strlen(text));
    c->depth--;
    vars_drop(c, n0);
    c->floor = floor0;
    free(text);
    if (r == R_RETURN) {
        r = R_OK;
        if (c->ret && buf_append_str(out, c->ret) < 0)
            r = fail(c, t->line, "value too long");
    } else if (r == R_FAIL || r == R_ABORT) {
        r = R_FAIL;
        c->rep->line = t->line;
    }
    free(c->ret);
    c->ret = NULL;
    return r;
}

/* [/path get item prop] and the get forms of the special paths. */
static int eval_get(struct ctx *c, const struct script_prog *p, size_t b, size_t e, unsigned line,
                    struct buf *out)
{
    size_t i = b;
    char path[64];
    if (read_path(c, p, &i, e, path) != R_OK)
        return R_FAIL;
    int menu = sim_menu_by_path(path);
    if (i < e && script_is_word(&p->t[i], "find")) {
        if (menu < 0)
            return fail(c, line, "unsupported [/%s find]", path);
        return eval_find(c, p, menu, i + 1, e, line, out, NULL);
    }
    if (i >= e || !script_is_word(&p->t[i], "get"))
        return fail(c, line, "unsupported [/%s ...] expression (only get and find)", path);
    i++;
    struct buf ref;
    buf_init(&ref, SIM_MAX_VALUE);
    if (menu >= 0) {
        int saved = c->cur_menu;
        c->cur_menu = menu;
        int er = i < e ? eval_value(c, p, &i, e, &ref) : R_FAIL;
        c->cur_menu = saved;
        if (er != R_OK) {
            buf_release(&ref);
            return i >= e ? fail(c, line, "get needs an item") : R_FAIL;
        }
    }
    if (i + 1 != e || p->t[i].k != TOK_WORD) {
        buf_release(&ref);
        return fail(c, line, "get needs exactly one property name");
    }
    char prop[64];
    snprintf(prop, sizeof prop, "%.*s", (int)p->t[i].n, p->t[i].s);
    int r = need(c, line, "get", "read");
    struct sim_state *st = c->h->st;
    char tmp[64];
    const char *v = NULL;
    sim_state_lock(st);
    if (r != R_OK) {
    } else if (strcmp(path, "system/identity") == 0 && strcmp(prop, "name") == 0) {
        v = st->identity;
    } else if (strcmp(path, "system/resource") == 0 && strcmp(prop, "version") == 0) {
        v = st->opt.version;
    } else if (strcmp(path, "system/resource") == 0 && strcmp(prop, "board-name") == 0) {
        v = sim_board_name(&st->opt);
    } else if (strcmp(path, "system/resource") == 0 && strcmp(prop, "architecture-name") == 0) {
        v = st->opt.no_routerboard ? "x86_64" : "arm64";
    } else if (strcmp(path, "system/resource") == 0 && strcmp(prop, "uptime") == 0) {
        sim_format_duration(sim_uptime(st), tmp, sizeof tmp);
        v = tmp;
    } else if (strcmp(path, "system/routerboard") == 0 && strcmp(prop, "serial-number") == 0) {
        v = st->opt.serial;
    } else if (strcmp(path, "system/routerboard") == 0 && strcmp(prop, "model") == 0) {
        v = sim_board_name(&st->opt);
    } else if (strcmp(path, "system/package/update") == 0) {
        if (strcmp(prop, "status") == 0)
            v = st->pkg_status ? st->pkg_status : "";
        else if (strcmp(prop, "installed-version") == 0)
            v = st->opt.version;
        else if (strcmp(prop, "latest-version") == 0)
            v = st->latest_version[0] ? st->latest_version : st->opt.version;
        else if (strcmp(prop, "channel") == 0)
            v = "stable";
        else
            r = fail(c, line, "unknown property %s", prop);
    } else if (menu >= 0) {
        sim_wg_refresh(st, (enum sim_menu_id)menu, prop);
        const struct sim_menu *mm = &st->menus[menu];
        size_t idx = 0;
        const char *refs = ref.data ? ref.data : "";
        if (!*refs)
            r = fail(c, line, "no such item");
        else if (strchr(refs, ';'))
            r = fail(c, line, "invalid internal item number (get takes one item)");
        else if (sim_resolve(st, (enum sim_menu_id)menu, refs, &idx) != 0)
            r = fail(c, line, "no such item %s", refs);
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
    buf_release(&ref);
    return r;
}

/* [ ... ] between b and close. */
static int eval_bracket(struct ctx *c, const struct script_prog *p, size_t b, size_t close,
                        unsigned line, struct buf *out)
{
    const struct script_tok *t = &p->t[b];
    if (b >= close)
        return fail(c, line, "empty [ ]");
    if (t->k == TOK_VAR && b + 1 == close)
        return call_code(c, t, out);
    if (script_is_word(t, ":len") || script_is_word(t, ":pick")) {
        bool pick = script_is_word(t, ":pick");
        size_t i = b + 1, vb = i;
        int m;
        size_t fat;
        struct buf v;
        buf_init(&v, SIM_MAX_SCRIPT);
        if (i >= close || eval_value(c, p, &i, close, &v) != R_OK) {
            buf_release(&v);
            return i >= close ? fail(c, line, "%.*s needs a value", (int)t->n, t->s) : R_FAIL;
        }
        bool list = is_find_expr(c, p, vb, i, &m, &fat);
        long from = 0, to = -1;
        int r = R_OK;
        if (pick) {
            struct buf nb;
            for (int k = 0; k < 2 && r == R_OK && i < close; k++) {
                buf_init(&nb, 32);
                if (eval_value(c, p, &i, close, &nb) != R_OK)
                    r = R_FAIL;
                else if (k == 0)
                    from = strtol(nb.data ? nb.data : "0", NULL, 10);
                else
                    to = strtol(nb.data ? nb.data : "0", NULL, 10);
                buf_release(&nb);
            }
        }
        if (r == R_OK && i != close)
            r = fail(c, line, "%.*s: unexpected text", (int)t->n, t->s);
        const char *s = v.data ? v.data : "";
        if (r == R_OK && !pick) { /* :len: items of a list, else bytes */
            size_t n = 0;
            if (list && *s)
                for (n = 1; *s; s++)
                    n += *s == ';';
            else if (!list)
                n = v.len;
            if (buf_printf(out, "%zu", n) < 0)
                r = fail(c, line, "value too long");
        } else if (r == R_OK && list) { /* :pick list i: the element, or nothing */
            long k = 0;
            for (const char *q = s; *q && r == R_OK;) {
                size_t len = strcspn(q, ";");
                if (k == from && buf_append(out, q, len) < 0)
                    r = fail(c, line, "value too long");
                k++;
                q += len + (q[len] == ';');
            }
        } else if (r == R_OK) { /* :pick string from [to] */
            long n = (long)v.len;
            if (to < 0)
                to = from + 1;
            if (from < 0)
                from = 0;
            if (to > n)
                to = n;
            if (to > from && buf_append(out, s + from, (size_t)(to - from)) < 0)
                r = fail(c, line, "value too long");
        }
        buf_release(&v);
        return r;
    }
    if (script_is_word(t, ":tostr")) {
        size_t i = b + 1;
        if (i >= close || eval_value(c, p, &i, close, out) != R_OK)
            return i >= close ? fail(c, line, ":tostr needs a value") : R_FAIL;
        return i == close ? R_OK : fail(c, line, ":tostr: unexpected text");
    }
    if (script_is_word(t, ":parse"))
        return fail(c, line, ":parse is only simulated as the value of :local or :set");
    if (script_is_word(t, "find") && c->cur_menu >= 0)
        return eval_find(c, p, c->cur_menu, b + 1, close, line, out, NULL);
    if (t->k != TOK_WORD || t->s[0] != '/')
        return fail(c, line, "unsupported [ ] expression");
    return eval_get(c, p, b, close, line, out);
}

/* One value: word, "string", $var, (a . b), [ ]. */
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
        if (eval_bracket(c, p, *i + 1, close, t->line, out) != R_OK)
            return R_FAIL;
        *i = close + 1;
        return R_OK;
    }
    default:
        return fail(c, t->line, "syntax error near '%.*s'", (int)(t->n > 20 ? 20 : t->n), t->s);
    }
}

/* ---- commands ---------------------------------------------------------- */

struct args {
    struct sim_kv kv[MAX_ARGS];
    char *owned[MAX_ARGS * 2];
    size_t n, nowned;
    bool have_find;
    struct find find;
    char *target;      /* set <name>, remove $ids: names/ids separated by ';' or ',' */
    char flags[4][32]; /* bare words: check-for-updates once */
    size_t nflags;
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

/* Parses [find], a target and k=v arguments up to e. */
static int parse_args(struct ctx *c, const struct script_prog *p, size_t i, size_t e, unsigned line,
                      bool allow_target, struct args *a)
{
    memset(a, 0, sizeof *a);
    bool first = true;
    while (i < e) {
        const struct script_tok *t = &p->t[i];
        if (t->k == TOK_LBRACK && first && allow_target && i + 1 < e &&
            script_is_word(&p->t[i + 1], "find")) {
            size_t close = t->match;
            if (parse_find_conds(c, p, i + 2, close, line, &a->find) != R_OK)
                return R_FAIL;
            a->have_find = true;
            i = close + 1;
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
                   (t->k == TOK_WORD || t->k == TOK_STR || t->k == TOK_VAR || t->k == TOK_LBRACK)) {
            struct buf v;
            buf_init(&v, SIM_MAX_VALUE);
            if (eval_value(c, p, &i, e, &v) != R_OK) {
                buf_release(&v);
                return R_FAIL;
            }
            a->target = buf_steal(&v);
            if (!a->target)
                a->target = xstrdup("");
        } else if (t->k == TOK_WORD && a->nflags < 4 && t->n < 32) {
            snprintf(a->flags[a->nflags++], 32, "%.*s", (int)t->n, t->s);
            i++;
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
    if (a->have_find || a->target || a->nflags)
        return fail(c, line, "/tool fetch: unexpected argument");
    const char *cc = args_get(a, "check-certificate");
    if (cc && strcmp(cc, "yes") && strcmp(cc, "yes-without-crl") && strcmp(cc, "no"))
        return fail(c, line, "/tool fetch: invalid value for check-certificate");
    if (need(c, line, "/tool fetch", "read,write,test") != R_OK)
        return R_FAIL;
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
    int put = 0;
    if (keep && c->h->files) {
        sim_state_lock(c->h->st);
        put = sim_files_put(c->h->files, fname, body.data ? body.data : "", body.len);
        sim_state_unlock(c->h->st);
    }
    buf_release(&body);
    if (put != 0)
        return fail(c, line, "/tool fetch: file store full");
    return R_OK;
}

static int do_import(struct ctx *c, unsigned line, const struct args *a)
{
    const char *fname = args_get(a, "file-name");
    const char *verbose = args_get(a, "verbose");
    if (!fname || a->n != 1 + (verbose != NULL) || a->have_find || a->target)
        return fail(c, line, "/import: only file-name= (and verbose=) are supported");
    if (need(c, line, "/import", "read,write") != R_OK)
        return R_FAIL;
    if (c->depth >= MAX_IMPORT_DEPTH)
        return fail(c, line, "/import: nested too deep");
    /* copy: the imported script may fetch over its own file */
    char *text = NULL;
    size_t len = 0;
    sim_state_lock(c->h->st);
    const struct sim_file *f = c->h->files ? sim_files_get(c->h->files, fname) : NULL;
    if (f) {
        text = xmalloc(f->len + 1);
        memcpy(text, f->data, f->len);
        text[f->len] = '\0';
        len = f->len;
    }
    sim_state_unlock(c->h->st);
    if (!text)
        return fail(c, line, "/import: no such file %s", fname);
    char *name = xstrdup(fname);
    size_t floor0 = c->floor, n0 = c->nvars;
    c->floor = c->nvars; /* fresh variable scope */
    c->depth++;
    int r = exec_text(c, name, text, len);
    c->depth--;
    vars_drop(c, n0);
    c->floor = floor0;
    if (r == R_RETURN) {
        free(c->ret);
        c->ret = NULL;
        r = R_OK;
    }
    if (r == R_FAIL || r == R_ABORT) {
        char inner[SIM_ERR_LEN];
        snprintf(inner, sizeof inner, "%s", c->rep->err);
        fail(c, line, "/import %s: line %u: %s", name, c->rep->line, inner);
    }
    free(name);
    free(text);
    return r;
}

/* The ids a set/remove/enable/disable names (lock held): [find], or names/ids. */
static int target_ids(struct ctx *c, unsigned line, enum sim_menu_id m, const char *verb,
                      const struct args *a, unsigned **ret, size_t *ret_n)
{
    const struct sim_state *st = c->h->st;
    const struct sim_menu_def *d = &sim_menu_defs[m];
    if (a->have_find)
        return find_ids(c, line, m, &a->find, ret, ret_n);
    if (!a->target)
        return fail(c, line, "%s %s: which item? ([find k=\"v\"] or a name)", d->script, verb);
    char *copy = xstrdup(a->target), *save = NULL;
    unsigned *ids = xcalloc(strlen(copy) + 1, sizeof *ids);
    size_t n = 0;
    int r = R_OK;
    for (char *t = strtok_r(copy, ";,", &save); t && r == R_OK; t = strtok_r(NULL, ";,", &save)) {
        size_t idx;
        unsigned cid = 0;
        if (m == SIM_M_SERVICE && t[0] == '*' && sscanf(t + 1, "%x", &cid) == 1 &&
            cid >= SIM_CONN_ID_BASE)
            r = fail(c, line, "%s %s: failure: this is configured elsewhere", d->script, verb);
        else if (sim_resolve(st, m, t, &idx) != 0)
            r = fail(c, line, "%s %s: no such item %s", d->script, verb, t);
        else
            ids[n++] = st->menus[m].items[idx].id;
    }
    free(copy);
    if (r != R_OK) {
        free(ids);
        return r;
    }
    *ret = ids;
    *ret_n = n;
    return R_OK;
}

static int do_menu(struct ctx *c, unsigned line, const char *path, const char *verb,
                   const struct args *a)
{
    struct sim_state *st = c->h->st;
    char err[SIM_ERR_LEN];
    int r = R_OK;
    if (strcmp(verb, "print") == 0)
        return need(c, line, "print", "read"); /* the console output goes nowhere */
    int m = sim_menu_by_path(path);
    const char *pols = (m == SIM_M_USER || m == SIM_M_GROUP) ? "write,policy" : "write";
    if (need(c, line, path, pols) != R_OK)
        return R_FAIL;
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
    if (m < 0) {
        r = fail(c, line, "bad command name /%s %s", path, verb);
        goto out;
    }
    const struct sim_menu_def *d = &sim_menu_defs[m];
    if (strcmp(verb, "add") == 0) {
        unsigned id;
        if (a->have_find || a->target || a->nflags)
            r = fail(c, line, "%s add: unexpected argument", d->script);
        else if (sim_state_add(st, (enum sim_menu_id)m, a->kv, a->n, &id, err) != 0)
            r = fail(c, line, "%s add: %s", d->script, err);
        else {
            log_info("sim.script", "line %u: %s add -> *%X", line, d->script, id);
            sim_state_changed(st);
        }
        goto out;
    }
    bool set = strcmp(verb, "set") == 0, rm = strcmp(verb, "remove") == 0;
    bool en = strcmp(verb, "enable") == 0, dis = strcmp(verb, "disable") == 0;
    if (!set && !rm && !en && !dis) {
        r = fail(c, line, "%s %s: unsupported command", d->script, verb);
        goto out;
    }
    if (!set && (a->n || a->nflags)) {
        r = fail(c, line, "%s %s: unexpected argument", d->script, verb);
        goto out;
    }
    struct sim_kv onoff = {"disabled", dis ? "yes" : "no"};
    const struct sim_kv *kv = set ? a->kv : &onoff;
    size_t nkv = set ? a->n : 1;
    unsigned *ids = NULL;
    size_t nids = 0;
    r = target_ids(c, line, (enum sim_menu_id)m, verb, a, &ids, &nids);
    if (r != R_OK)
        goto out;
    size_t changed = 0;
    for (size_t k = 0; k < nids && r == R_OK; k++) {
        unsigned cid = ids[k];
        int e;
        if (m == SIM_M_SERVICE && cid >= SIM_CONN_ID_BASE) {
            snprintf(err, sizeof err, "failure: this is configured elsewhere");
            e = -EPERM;
        } else {
            e = rm ? sim_state_remove(st, (enum sim_menu_id)m, cid, err)
                   : sim_state_set(st, (enum sim_menu_id)m, cid, kv, nkv, err);
        }
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

static int do_reboot(struct ctx *c, unsigned line, const char *why)
{
    struct sim_state *st = c->h->st;
    sim_state_lock(st);
    st->reboot_pending = true;
    log_info("sim.script", "line %u: %s (the script stops here)", line, why);
    if (st->on_change)
        st->on_change(st->on_change_ctx);
    sim_state_unlock(st);
    return R_REBOOT;
}

static int do_package(struct ctx *c, unsigned line, const char *verb, const struct args *a)
{
    struct sim_state *st = c->h->st;
    char err[SIM_ERR_LEN];
    if (a->n || a->have_find || a->target)
        return fail(c, line, "/system package update %s: unexpected argument", verb);
    if (strcmp(verb, "check-for-updates") == 0) {
        if (need(c, line, "/system package update check-for-updates", "read,write") != R_OK)
            return R_FAIL;
        sim_state_lock(st);
        sim_package_check(st);
        log_info("sim.script", "line %u: check-for-updates: %s", line, st->pkg_status);
        sim_state_unlock(st);
        return R_OK;
    }
    if (strcmp(verb, "install") == 0) {
        if (need(c, line, "/system package update install", "reboot,write") != R_OK)
            return R_FAIL;
        sim_state_lock(st);
        int e = sim_package_install(st, err);
        sim_state_unlock(st);
        if (e != 0)
            return fail(c, line, "/system package update install: %s", err);
        return do_reboot(c, line, "/system package update install");
    }
    if (strcmp(verb, "print") == 0)
        return need(c, line, "print", "read");
    return fail(c, line, "/system package update %s: unsupported command", verb);
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
    if (need(c, line, "/certificate import", "write") != R_OK)
        return R_FAIL;
    char err[SIM_ERR_LEN];
    unsigned n = 0;
    int e = -ENOENT;
    sim_state_lock(c->h->st);
    const struct sim_file *f = c->h->files ? sim_files_get(c->h->files, fname) : NULL;
    if (f)
        e = sim_cert_import(c->h->st, fname, f->data, f->len, &n, err);
    if (e == 0 && n)
        sim_state_changed(c->h->st);
    sim_state_unlock(c->h->st);
    if (!f)
        return fail(c, line, "/certificate import: no such file %s", fname);
    if (e != 0)
        return fail(c, line, "/certificate import: %s", err);
    log_info("sim.script", "line %u: /certificate import %s: %u certificate(s) imported", line,
             fname, n);
    return R_OK;
}

/* /file remove NAME | /file remove [find] | /file remove [find name=NAME]; print does nothing. */
static int do_file(struct ctx *c, unsigned line, const char *verb, const struct args *a)
{
    struct sim_files *files = c->h->files;
    if (strcmp(verb, "print") == 0)
        return need(c, line, "print", "read");
    if (strcmp(verb, "remove") || a->n || !files)
        return fail(c, line, "/file: only remove NAME or remove [find name=\"...\"]");
    if (need(c, line, "/file remove", "write") != R_OK)
        return R_FAIL;
    int r = R_OK;
    sim_state_lock(c->h->st);
    if (a->target) {
        if (sim_files_remove(files, a->target) != 0)
            r = fail(c, line, "/file remove: no such item %s", a->target);
    } else if (a->have_find && a->find.all) {
        while (files->n)
            sim_files_remove(files, files->v[0].name);
    } else if (a->have_find && a->find.n == 1 && a->find.c[0].op == '=' &&
               strcmp(a->find.c[0].key, "name") == 0) {
        sim_files_remove(files, a->find.c[0].val);
    } else {
        r = fail(c, line, "/file remove: which file? (a name or [find name=\"...\"])");
    }
    size_t left = files->n;
    sim_state_unlock(c->h->st);
    if (r == R_OK)
        log_info("sim.script", "line %u: /file remove: %zu file(s) left", line, left);
    return r;
}

/* One value from i to e (the whole rest of the statement) into a fresh owned string. */
static int eval_rest(struct ctx *c, const struct script_prog *p, size_t i, size_t e, unsigned line,
                     const char *what, char **ret)
{
    struct buf v;
    buf_init(&v, SIM_MAX_SCRIPT);
    int r = i < e ? eval_value(c, p, &i, e, &v) : R_OK;
    if (r == R_OK && i != e)
        r = fail(c, line, "%s: unexpected text after the value", what);
    if (r != R_OK) {
        buf_release(&v);
        return r;
    }
    *ret = buf_steal(&v);
    if (!*ret)
        *ret = xstrdup("");
    return R_OK;
}

/* :local name [value] / :set name value; a value that is [:parse "text"] makes a function. */
static int exec_assign(struct ctx *c, const struct script_prog *p, size_t i, size_t e,
                       unsigned line, bool local)
{
    const char *what = local ? ":local" : ":set";
    i++;
    if (i >= e || p->t[i].k != TOK_WORD || p->t[i].n > 63)
        return fail(c, line, "%s needs a variable name", what);
    const struct script_tok *nt = &p->t[i];
    for (size_t k = 0; k < nt->n; k++)
        if (!script_var_char(nt->s[k]))
            return fail(c, line, "%s: bad variable name", what);
    i++;
    char *val = NULL;
    bool code = false;
    int r;
    if (i < e && p->t[i].k == TOK_LBRACK && p->t[i].match + 1 == e &&
        script_is_word(&p->t[i + 1], ":parse")) {
        /* [:parse "text"]: the text is parsed and checked now (a syntax error fails here) */
        r = eval_rest(c, p, i + 2, e - 1, line, ":parse", &val);
        if (r != R_OK)
            return r;
        struct script_prog fp;
        struct script_syntax_err serr;
        if (script_parse(val, strlen(val), &fp, &serr) != 0) {
            free(val);
            return fail(c, line, ":parse: syntax error (line %u): %s", serr.line, serr.msg);
        }
        int ck = script_check(&fp, &c->opt, &serr);
        script_prog_release(&fp);
        if (ck != 0) {
            free(val);
            return fail(c, line, ":parse: %s (line %u)", serr.msg, serr.line);
        }
        code = true;
    } else if ((r = eval_rest(c, p, i, e, line, what, &val)) != R_OK) {
        return r;
    }
    struct var *v = local ? NULL : var_find(c, nt->s, nt->n);
    if (!local && !v) {
        free(val);
        return fail(c, line, "undefined variable %.*s", (int)nt->n, nt->s);
    }
    if (local) {
        if (c->nvars >= MAX_VARS) {
            free(val);
            return fail(c, line, "too many variables");
        }
        v = &c->vars[c->nvars++];
        v->name = xstrndup(nt->s, nt->n);
    } else {
        free(v->val);
    }
    v->val = val;
    v->code = code;
    return R_OK;
}

static int exec_cmd(struct ctx *c, const struct script_prog *p, const struct script_stmt *s)
{
    size_t i = s->b, e = s->e;
    const struct script_tok *t = &p->t[i];
    unsigned line = s->line;
    if (t->k != TOK_WORD)
        return fail(c, line, "syntax error near '%.*s'", (int)(t->n > 20 ? 20 : t->n), t->s);
    unsigned delay_ms = c->h->st ? c->h->st->opt.command_delay_ms : 0; /* set once, at start */
    if (delay_ms) {
        struct timespec ts = {.tv_sec = delay_ms / 1000,
                              .tv_nsec = (long)(delay_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (script_is_word(t, ":local") || script_is_word(t, ":set"))
        return exec_assign(c, p, i, e, line, script_is_word(t, ":local"));
    if (script_is_word(t, ":log")) {
        i++;
        static const char *const levels[] = {"info", "warning", "error", "debug"};
        const char *lvl = NULL;
        for (size_t k = 0; i < e && k < 4; k++)
            if (script_is_word(&p->t[i], levels[k]))
                lvl = levels[k];
        if (!lvl)
            return fail(c, line, ":log needs info, warning, error or debug");
        char *msg;
        if (eval_rest(c, p, i + 1, e, line, ":log", &msg) != R_OK)
            return R_FAIL;
        log_msg(strcmp(lvl, "error") == 0     ? LOG_ERROR
                : strcmp(lvl, "warning") == 0 ? LOG_WARN
                : strcmp(lvl, "debug") == 0   ? LOG_DEBUG
                                              : LOG_INFO,
                "sim.script", "router log (%s): %s", lvl, msg);
        if (c->h->log)
            c->h->log(c->h->log_ctx, lvl, msg);
        free(msg);
        return R_OK;
    }
    if (script_is_word(t, ":put") || script_is_word(t, ":error") || script_is_word(t, ":return") ||
        script_is_word(t, ":delay")) {
        char *v;
        if (eval_rest(c, p, i + 1, e, line, ":put", &v) != R_OK)
            return R_FAIL;
        int r = R_OK;
        if (script_is_word(t, ":put")) {
            if (c->h->put_out)
                (void)(buf_append_str(c->h->put_out, v) == 0 &&
                       buf_append_str(c->h->put_out, "\n") == 0);
        } else if (script_is_word(t, ":error")) {
            r = fail(c, line, "%s", v);
        } else if (script_is_word(t, ":return")) {
            free(c->ret);
            c->ret = v;
            v = NULL;
            r = R_RETURN;
        } else { /* :delay: the sim's commands take no time; the duration must be valid */
            double d;
            if (sim_duration_parse(v, &d) != 0)
                r = fail(c, line, ":delay: invalid time %s", v);
        }
        free(v);
        return r;
    }
    if (t->s[0] != '/')
        return fail(c, line, "unsupported command %.*s", (int)(t->n > 40 ? 40 : t->n), t->s);
    char path[64];
    if (read_path(c, p, &i, e, path) != R_OK)
        return R_FAIL;
    if (strcmp(path, "system/reboot") == 0) {
        if (i != e)
            return fail(c, line, "/system reboot takes no arguments");
        if (need(c, line, "/system reboot", "reboot") != R_OK)
            return R_FAIL;
        return do_reboot(c, line, "/system reboot");
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
    c->cur_menu = sim_menu_by_path(path);
    struct args a;
    bool target_ok = strcmp(verb, "set") == 0 || strcmp(verb, "remove") == 0 ||
                     strcmp(verb, "enable") == 0 || strcmp(verb, "disable") == 0;
    int r = parse_args(c, p, i, e, line, target_ok, &a);
    if (r == R_OK) {
        if (is_fetch)
            r = do_fetch(c, line, &a);
        else if (is_import)
            r = do_import(c, line, &a);
        else if (is_cert_import)
            r = do_cert_import(c, line, &a);
        else if (strcmp(path, "system/package/update") == 0)
            r = do_package(c, line, verb, &a);
        else if (strcmp(path, "file") == 0)
            r = do_file(c, line, verb, &a);
        else
            r = do_menu(c, line, path, verb, &a);
    }
    args_free(&a);
    return r;
}

static int exec_block(struct ctx *c, const struct script_prog *p, const struct script_block *b);

/* :if ( a = b ) / ( a != b ) / ( a ): runs the do or the else block. */
static int exec_if(struct ctx *c, const struct script_prog *p, const struct script_stmt *s)
{
    size_t j = s->cb;
    struct buf a, b;
    buf_init(&a, SIM_MAX_SCRIPT);
    buf_init(&b, SIM_MAX_SCRIPT);
    bool neq = false, cmp = false;
    int r = eval_value(c, p, &j, s->ce, &a);
    if (r == R_OK && j < s->ce) {
        cmp = true;
        if (p->t[j].k == TOK_EQ) {
            j++;
        } else if (j + 1 < s->ce && p->t[j].k == TOK_BAD && p->t[j].s[0] == '!' &&
                   p->t[j + 1].k == TOK_EQ) {
            neq = true;
            j += 2;
        } else {
            r = fail(c, s->line, ":if: only (a = b) and (a != b) conditions");
        }
        if (r == R_OK)
            r = eval_value(c, p, &j, s->ce, &b);
        if (r == R_OK && j != s->ce)
            r = fail(c, s->line, ":if: only (a = b) and (a != b) conditions");
    }
    bool yes;
    if (cmp)
        yes = (a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0)) != neq;
    else
        yes = a.data && strcmp(a.data, "true") == 0;
    buf_release(&a);
    buf_release(&b);
    if (r != R_OK)
        return r;
    size_t n0 = c->nvars;
    if (yes)
        r = exec_block(c, p, &s->body);
    else if (s->has_onerr)
        r = exec_block(c, p, &s->onerr);
    vars_drop(c, n0);
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
        } else if (s->kind == STMT_IF) {
            r = exec_if(c, p, s);
        } else {
            c->rep->commands++;
            r = exec_cmd(c, p, s);
        }
        if (r != R_OK)
            return r;
    }
    return R_OK;
}

/* Parses, checks and runs text (an imported file, a function). A syntax error is an ordinary
 * failure from RouterOS 7.16 on (an on-error around the /import catches it), before that it
 * ends the whole run (R_ABORT). */
static int exec_text(struct ctx *c, const char *name, const char *text, size_t len)
{
    struct script_prog p;
    struct script_syntax_err err;
    if (script_parse(text, len, &p, &err) != 0) {
        fail(c, err.line, "syntax error: %.200s", err.msg);
        return sim_version_at_least(&c->opt, 7, 16) ? R_FAIL : R_ABORT;
    }
    if (script_check(&p, &c->opt, &err) != 0) {
        script_prog_release(&p);
        fail(c, err.line, "%.200s", err.msg);
        return sim_version_at_least(&c->opt, 7, 16) ? R_FAIL : R_ABORT;
    }
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
    struct sim_options opt;
    sim_state_lock(h->st);
    opt = h->st->opt;
    sim_state_unlock(h->st);
    struct script_prog p;
    struct script_syntax_err err;
    if (script_parse(text, text ? len : 0, &p, &err) != 0) {
        rep->line = err.line;
        snprintf(rep->err, sizeof rep->err, "syntax error: %.200s", err.msg);
        return SIM_SCRIPT_SYNTAX;
    }
    if (script_check(&p, &opt, &err) != 0) {
        script_prog_release(&p);
        rep->line = err.line;
        snprintf(rep->err, sizeof rep->err, "%.230s", err.msg);
        return SIM_SCRIPT_SYNTAX;
    }
    struct ctx *c = xcalloc(1, sizeof *c);
    c->h = h;
    c->rep = rep;
    c->name = name;
    c->opt = opt;
    c->cur_menu = -1;
    int r = exec_block(c, &p, &p.top);
    script_prog_release(&p);
    vars_drop(c, 0);
    free(c->ret);
    free(c);
    return r == R_OK || r == R_RETURN ? SIM_SCRIPT_OK
           : r == R_REBOOT            ? SIM_SCRIPT_REBOOT
           : r == R_STOP              ? SIM_SCRIPT_STOPPED
                                      : SIM_SCRIPT_FAILED;
}
