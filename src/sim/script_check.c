/*
 * script_check.c - what RouterOS refuses before it runs a script (script_int.h, script_check).
 *
 * RouterOS compiles a whole script before it runs any of it: an unknown command ("bad command
 * name"), an argument the command does not take ("expected end of command"), a variable used
 * before any :local declares it, or an escape v7 does not have is a syntax error and nothing
 * runs, not even the `on-error` of a `:do` around it (routeros-fidelity.md §2 #9). This pass
 * walks the parsed program with the router's options (version, board) and finds the first such
 * problem. What only the running router can know (a value out of range, an item that does not
 * exist, a missing policy) is left to the interpreter, where `on-error` catches it.
 *
 * Pure: reads the program, the options and the static menu tables; no state, no I/O.
 */
#include "script_int.h"
#include "sim.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MAX_SCOPE_VARS 512
#define MAX_DEPTH 64

struct chk {
    const struct script_prog *p;
    const struct sim_options *o;
    struct script_syntax_err *err;
    struct {
        const char *s;
        size_t n;
    } vars[MAX_SCOPE_VARS];
    size_t nvars;
    unsigned depth;
    int cur_menu; /* the menu of the command being checked: [find] inside it is relative;
                   * -1: none, -2: a command (/file) whose [find] takes any property */
};

static int bad(struct chk *c, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int bad(struct chk *c, unsigned line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err->msg, sizeof c->err->msg, fmt, ap);
    va_end(ap);
    c->err->line = line;
    return -EINVAL;
}

static const char *short_tok(const struct script_tok *t, char out[48])
{
    snprintf(out, 48, "%.*s", (int)(t->n > 40 ? 40 : t->n), t->s);
    return out;
}

/* ---- variables --------------------------------------------------------- */

static bool var_declared(const struct chk *c, const char *s, size_t n)
{
    for (size_t i = c->nvars; i > 0; i--)
        if (c->vars[i - 1].n == n && memcmp(c->vars[i - 1].s, s, n) == 0)
            return true;
    return false;
}

static int var_declare(struct chk *c, unsigned line, const char *s, size_t n)
{
    if (c->nvars >= MAX_SCOPE_VARS)
        return bad(c, line, "too many variables");
    c->vars[c->nvars].s = s;
    c->vars[c->nvars].n = n;
    c->nvars++;
    return 0;
}

/* ---- commands the router has ------------------------------------------ */

/* Commands that are not menus of state.c: path, verbs (",a,b,"; "" = the path is the command),
 * arguments (",a,b,"). */
static const struct special {
    const char *path;
    const char *verbs;
    const char *args;
} specials[] = {
    {"tool/fetch", "",
     ",url,http-method,http-data,http-header-field,dst-path,output,check-certificate,"},
    {"import", "", ",file-name,verbose,"},
    {"system/reboot", "", ","},
    {"system/identity", ",set,get,print,", ",name,"},
    {"system/resource", ",get,print,", ","},
    {"system/routerboard", ",get,print,", ","},
    {"system/package", ",print,get,", ","},
    {"system/package/update", ",check-for-updates,install,get,print,", ",once,"},
    {"file", ",remove,print,get,find,", ","},
    {"certificate/import", "", ",file-name,passphrase,"},
};

static const struct special *special_of(const char *path)
{
    for (size_t i = 0; i < sizeof specials / sizeof specials[0]; i++)
        if (strcmp(specials[i].path, path) == 0)
            return &specials[i];
    return NULL;
}

static bool in_list(const char *list, const char *s, size_t n)
{
    for (const char *q = list; (q = strstr(q, ",")) != NULL && q[1]; q++)
        if (strncmp(q + 1, s, n) == 0 && q[1 + n] == ',')
            return true;
    return false;
}

/* A path the router has (a menu or a special command, or a directory above one). */
static bool path_exists(const struct chk *c, const char *path, bool whole)
{
    size_t n = strlen(path);
    if (strcmp(path, "system/routerboard") == 0 && c->o->no_routerboard)
        return false;
    for (int m = 0; m < SIM_M_COUNT; m++) {
        const char *mp = sim_menu_defs[m].path;
        if (!sim_menu_available(c->o, (enum sim_menu_id)m))
            continue;
        if (strncmp(mp, path, n) == 0 && (mp[n] == '\0' || (!whole && mp[n] == '/')))
            return true;
    }
    for (size_t i = 0; i < sizeof specials / sizeof specials[0]; i++) {
        const char *sp = specials[i].path;
        if (strcmp(sp, "system/routerboard") == 0 && c->o->no_routerboard)
            continue;
        if (strncmp(sp, path, n) == 0 && (sp[n] == '\0' || (!whole && sp[n] == '/')))
            return true;
    }
    return false;
}

/* Reads the command path at *i (up to e): "/ip firewall filter", "/ip/service". */
static int read_path(struct chk *c, size_t *i, size_t e, char path[96])
{
    const struct script_tok *t = &c->p->t[*i];
    char tb[48];
    if (c->o->ver_major == 6 && memchr(t->s + 1, '/', t->n > 1 ? t->n - 1 : 0))
        return bad(c, t->line, "bad command name %s (RouterOS 6 has no /a/b paths)",
                   short_tok(t, tb));
    size_t n = t->n;
    const char *s = t->s;
    while (n && *s == '/') {
        s++;
        n--;
    }
    while (n && s[n - 1] == '/')
        n--;
    if (n == 0 || n >= 96)
        return bad(c, t->line, "bad command name %s", short_tok(t, tb));
    memcpy(path, s, n);
    path[n] = '\0';
    if (!path_exists(c, path, false))
        return bad(c, t->line, "bad command name %s", short_tok(t, tb));
    (*i)++;
    while (*i < e && c->p->t[*i].k == TOK_WORD && !(*i + 1 < e && c->p->t[*i + 1].k == TOK_EQ)) {
        char cand[96];
        int w = snprintf(cand, sizeof cand, "%s/%.*s", path, (int)c->p->t[*i].n, c->p->t[*i].s);
        if (w < 0 || (size_t)w >= sizeof cand || !path_exists(c, cand, false))
            break;
        memcpy(path, cand, (size_t)w + 1);
        (*i)++;
    }
    if (!path_exists(c, path, true))
        return bad(c, t->line, "bad command name /%s (a directory, not a command)", path);
    return 0;
}

/* The field of a menu an argument or a find condition names, if this version has it. */
static int menu_field(const struct chk *c, enum sim_menu_id m, const char *name, size_t n)
{
    const struct sim_menu_def *d = &sim_menu_defs[m];
    for (size_t f = 0; f < d->nfields; f++) {
        if (strlen(d->fields[f].name) != n || memcmp(d->fields[f].name, name, n) != 0)
            continue;
        /* /ip service: the connection entries' properties exist from 7.19 */
        if (m == SIM_M_SERVICE && f >= 4 && !sim_version_at_least(c->o, 7, 19))
            return -1;
        return (int)f;
    }
    if (m == SIM_M_SERVICE && n == 14 && memcmp(name, "available-from", 14) == 0 &&
        sim_version_at_least(c->o, 7, 24))
        return 2;
    return -1;
}

/* ---- values ------------------------------------------------------------ */

static int check_value(struct chk *c, size_t *i, size_t e);
static int check_expr(struct chk *c, size_t b, size_t e, unsigned line);

static int check_string(struct chk *c, const struct script_tok *t)
{
    for (size_t i = 0; i < t->n; i++) {
        char ch = t->s[i];
        if (ch == '\\' && i + 1 < t->n) {
            char nx = t->s[++i];
            if (nx == '?' && c->o->ver_major >= 7)
                return bad(c, t->line,
                           "syntax error: \\? is not an escape in RouterOS v7 (removed "
                           "in 7.1rc2; write ?)");
            if (!strchr("\"\\$nrt\n?", nx))
                return bad(c, t->line, "syntax error: unknown escape \\%c", nx);
            continue;
        }
        if (ch == '$') {
            size_t j = i + 1;
            while (j < t->n && script_var_char(t->s[j]))
                j++;
            if (j == i + 1)
                return bad(c, t->line,
                           "syntax error: $ without a variable name (escape it as \\$)");
            if (!var_declared(c, t->s + i + 1, j - i - 1))
                return bad(c, t->line, "undefined variable %.*s", (int)(j - i - 1), t->s + i + 1);
            i = j - 1;
        }
    }
    return 0;
}

/* One value at *i: word, "string", $var, ( ... ), [ ... ]. */
static int check_value(struct chk *c, size_t *i, size_t e)
{
    const struct script_tok *t = &c->p->t[*i];
    char tb[48];
    if (*i >= e)
        return bad(c, t->line, "syntax error: missing value");
    switch (t->k) {
    case TOK_WORD: (*i)++; return 0;
    case TOK_STR: (*i)++; return check_string(c, t);
    case TOK_VAR:
        if (!var_declared(c, t->s, t->n))
            return bad(c, t->line, "undefined variable %.*s", (int)t->n, t->s);
        (*i)++;
        return 0;
    case TOK_LPAREN: {
        size_t close = t->match, j = *i + 1;
        while (j < close) {
            int r = check_value(c, &j, close);
            if (r)
                return r;
            if (j == close)
                break;
            const struct script_tok *op = &c->p->t[j];
            if (script_is_word(op, ".") || op->k == TOK_EQ) {
                j++;
            } else if (op->k == TOK_BAD && op->n == 1 && op->s[0] == '!' && j + 1 < close &&
                       c->p->t[j + 1].k == TOK_EQ) {
                j += 2;
            } else {
                return bad(c, op->line, "syntax error near '%s'", short_tok(op, tb));
            }
        }
        *i = close + 1;
        return 0;
    }
    case TOK_LBRACK: {
        size_t close = t->match;
        int r = check_expr(c, *i + 1, close, t->line);
        if (r)
            return r;
        *i = close + 1;
        return 0;
    }
    default: return bad(c, t->line, "syntax error near '%s'", short_tok(t, tb));
    }
}

/* find conditions from j to e: "", [where] k=v, k!=v, k~v; keys must be fields of m. */
static int check_find(struct chk *c, int m, size_t j, size_t e, unsigned line)
{
    const struct script_prog *p = c->p;
    char tb[48];
    if (j < e && script_is_word(&p->t[j], "where"))
        j++;
    while (j < e) {
        const struct script_tok *k = &p->t[j];
        if (k->k != TOK_WORD || j + 1 >= e)
            return bad(c, line, "syntax error in find near '%s'", short_tok(k, tb));
        if (m >= 0 && menu_field(c, (enum sim_menu_id)m, k->s, k->n) < 0)
            return bad(c, line, "expected end of command (find: %s has no property %s)",
                       sim_menu_defs[m].script, short_tok(k, tb));
        j++;
        if (p->t[j].k == TOK_EQ) {
            j++;
        } else if (p->t[j].k == TOK_BAD && p->t[j].n == 1 && p->t[j].s[0] == '~') {
            j++;
        } else if (p->t[j].k == TOK_BAD && p->t[j].n == 1 && p->t[j].s[0] == '!' && j + 1 < e &&
                   p->t[j + 1].k == TOK_EQ) {
            j += 2;
        } else {
            return bad(c, line, "syntax error in find near '%s'", short_tok(&p->t[j], tb));
        }
        int r = check_value(c, &j, e);
        if (r)
            return r;
    }
    return 0;
}

/* [ ... ] from b to e (exclusive of the brackets). */
static int check_expr(struct chk *c, size_t b, size_t e, unsigned line)
{
    const struct script_prog *p = c->p;
    char tb[48];
    if (b >= e)
        return bad(c, line, "syntax error: empty [ ]");
    const struct script_tok *t = &p->t[b];
    if (t->k == TOK_VAR) { /* [$f]: calls a function made by :parse */
        if (!var_declared(c, t->s, t->n))
            return bad(c, t->line, "undefined variable %.*s", (int)t->n, t->s);
        if (b + 1 != e)
            return bad(c, t->line, "syntax error: arguments to a function are not simulated");
        return 0;
    }
    if (script_is_word(t, ":parse") || script_is_word(t, ":len") || script_is_word(t, ":tostr")) {
        size_t i = b + 1;
        int r = check_value(c, &i, e);
        if (!r && i != e)
            r = bad(c, t->line, "expected end of command after %s", short_tok(t, tb));
        return r;
    }
    if (script_is_word(t, ":pick")) {
        size_t i = b + 1;
        int r = check_value(c, &i, e);
        if (!r)
            r = check_value(c, &i, e);
        if (!r && i < e)
            r = check_value(c, &i, e);
        if (!r && i != e)
            r = bad(c, t->line, "expected end of command after :pick");
        return r;
    }
    if (script_is_word(t, "find") && c->cur_menu != -1)
        return check_find(c, c->cur_menu >= 0 ? c->cur_menu : -1, b + 1, e, t->line);
    if (t->k != TOK_WORD || t->s[0] != '/')
        return bad(c, t->line, "bad command name %s", short_tok(t, tb));
    size_t i = b;
    char path[96];
    int r = read_path(c, &i, e, path);
    if (r)
        return r;
    int m = sim_menu_by_path(path);
    const struct special *sp = m < 0 ? special_of(path) : NULL;
    if (i >= e || p->t[i].k != TOK_WORD)
        return bad(c, t->line, "syntax error: [/%s] needs get or find", path);
    const struct script_tok *verb = &p->t[i];
    if (script_is_word(verb, "find")) {
        if (m < 0 && (!sp || !in_list(sp->verbs, "find", 4)))
            return bad(c, t->line, "bad command name find (in /%s)", path);
        return check_find(c, m >= 0 ? m : -1, i + 1, e, t->line);
    }
    if (!script_is_word(verb, "get"))
        return bad(c, t->line, "syntax error: [/%s %s] (only get and find)", path,
                   short_tok(verb, tb));
    i++;
    if (m >= 0) { /* get <item> <prop>: item is [find ...], a name, an id or a variable */
        if (i >= e)
            return bad(c, t->line, "syntax error: get needs an item");
        int saved = c->cur_menu;
        c->cur_menu = m;
        r = check_value(c, &i, e);
        c->cur_menu = saved;
        if (r)
            return r;
    }
    if (i + 1 != e || p->t[i].k != TOK_WORD)
        return bad(c, t->line, "syntax error: get needs one property name");
    if (m >= 0 && menu_field(c, (enum sim_menu_id)m, p->t[i].s, p->t[i].n) < 0)
        return bad(c, t->line, "expected end of command (/%s has no property %s)", path,
                   short_tok(&p->t[i], tb));
    return 0;
}

/* ---- statements --------------------------------------------------------- */

static int check_block(struct chk *c, const struct script_block *b);

/* k=v arguments of a command from i to e; allowed: ",a,b," or the menu's settable fields. */
static int check_args(struct chk *c, size_t i, size_t e, unsigned line, const char *allowed, int m,
                      bool add, bool target)
{
    const struct script_prog *p = c->p;
    char tb[48];
    bool first = true;
    while (i < e) {
        const struct script_tok *t = &p->t[i];
        if (t->k == TOK_WORD && i + 1 < e && p->t[i + 1].k == TOK_EQ) {
            bool ok;
            if (m >= 0) {
                int f = menu_field(c, (enum sim_menu_id)m, t->s, t->n);
                ok = f >= 0 && !(sim_menu_defs[m].fields[f].flags & SIM_F_READONLY);
                if (m == SIM_M_ADDRLIST && f >= 0)
                    ok = true;
                if (!ok && add && (sim_menu_defs[m].flags & SIM_MENU_ORDERED) && t->n == 12 &&
                    memcmp(t->s, "place-before", 12) == 0)
                    ok = true;
            } else {
                ok = in_list(allowed, t->s, t->n);
            }
            if (!ok)
                return bad(c, line, "expected end of command (unknown argument %s)",
                           short_tok(t, tb));
            i += 2;
            int r = check_value(c, &i, e);
            if (r)
                return r;
        } else if (first && target) {
            int r = check_value(c, &i, e);
            if (r)
                return r;
        } else if (t->k == TOK_WORD && m < 0 && in_list(allowed, t->s, t->n)) {
            i++; /* a flag argument: check-for-updates once */
        } else {
            return bad(c, line, "expected end of command near '%s'", short_tok(t, tb));
        }
        first = false;
    }
    return 0;
}

static int check_cmd(struct chk *c, const struct script_stmt *s)
{
    const struct script_prog *p = c->p;
    size_t i = s->b, e = s->e;
    const struct script_tok *t = &p->t[i];
    char tb[48];
    unsigned line = s->line;
    int r;
    if (t->k != TOK_WORD)
        return bad(c, line, "syntax error near '%s'", short_tok(t, tb));
    if (script_is_word(t, ":local") || script_is_word(t, ":set")) {
        bool local = script_is_word(t, ":local");
        i++;
        if (i >= e || p->t[i].k != TOK_WORD)
            return bad(c, line, "syntax error: %s needs a variable name",
                       local ? ":local" : ":set");
        const struct script_tok *nt = &p->t[i];
        for (size_t k = 0; k < nt->n; k++)
            if (!script_var_char(nt->s[k]))
                return bad(c, line, "syntax error: bad variable name %s", short_tok(nt, tb));
        i++;
        if (i < e && (r = check_value(c, &i, e)) != 0)
            return r;
        if (i != e)
            return bad(c, line, "expected end of command after the value");
        if (!local && !var_declared(c, nt->s, nt->n))
            return bad(c, line, "undefined variable %s", short_tok(nt, tb));
        return local ? var_declare(c, line, nt->s, nt->n) : 0;
    }
    if (script_is_word(t, ":log")) {
        i++;
        if (i >= e || !(script_is_word(&p->t[i], "info") || script_is_word(&p->t[i], "warning") ||
                        script_is_word(&p->t[i], "error") || script_is_word(&p->t[i], "debug")))
            return bad(c, line, "syntax error: :log needs info, warning, error or debug");
        i++;
    } else if (script_is_word(t, ":put") || script_is_word(t, ":error") ||
               script_is_word(t, ":delay") || script_is_word(t, ":return")) {
        i++;
        if (i >= e && !script_is_word(t, ":return"))
            return bad(c, line, "syntax error: %s needs a value", short_tok(t, tb));
    } else if (t->s[0] == '/') {
        char path[96];
        if ((r = read_path(c, &i, e, path)) != 0)
            return r;
        int m = sim_menu_by_path(path);
        const struct special *sp = m < 0 ? special_of(path) : NULL;
        c->cur_menu = m;
        if (sp && !sp->verbs[0])
            return check_args(c, i, e, line, sp->args, -1, false, false);
        if (i >= e || p->t[i].k != TOK_WORD)
            return bad(c, line, "bad command name /%s (missing command)", path);
        const struct script_tok *verb = &p->t[i++];
        if (sp) {
            if (!in_list(sp->verbs, verb->s, verb->n))
                return bad(c, line, "bad command name %s (in /%s)", short_tok(verb, tb), path);
            if (strcmp(path, "file") == 0) {
                c->cur_menu = -2;
                return check_args(c, i, e, line, ",", -1, false, true);
            }
            return check_args(c, i, e, line, sp->args, -1, false, false);
        }
        static const char *const verbs[] = {"add", "set", "remove", "print", "enable", "disable"};
        bool known = false;
        for (size_t k = 0; k < sizeof verbs / sizeof verbs[0]; k++)
            known = known || script_is_word(verb, verbs[k]);
        unsigned mf = sim_menu_defs[m].flags;
        /* /ip service and /interface have neither (/certificate's add exists on RouterOS: the
         * sim refuses it when it runs) */
        if ((script_is_word(verb, "add") || script_is_word(verb, "remove")) &&
            (mf & (SIM_MENU_FIXED | SIM_MENU_NO_REMOVE)))
            known = false;
        if (!known)
            return bad(c, line, "bad command name %s (in /%s)", short_tok(verb, tb), path);
        bool add = script_is_word(verb, "add"), print = script_is_word(verb, "print");
        if (print)
            return check_args(c, i, e, line, ",", -1, false, false);
        if (add)
            return check_args(c, i, e, line, NULL, m, true, false);
        if (script_is_word(verb, "set"))
            return check_args(c, i, e, line, NULL, m, false, true);
        return check_args(c, i, e, line, ",", -1, false, true); /* remove, enable, disable */
    } else {
        return bad(c, line, "bad command name %s", short_tok(t, tb));
    }
    /* :log level / :put / :error / :delay / :return: one value */
    if (i < e && (r = check_value(c, &i, e)) != 0)
        return r;
    if (i != e)
        return bad(c, line, "expected end of command near '%s'", short_tok(&p->t[i], tb));
    return 0;
}

static int check_scoped(struct chk *c, const struct script_block *b)
{
    size_t n0 = c->nvars;
    int r = check_block(c, b);
    c->nvars = n0;
    return r;
}

static int check_block(struct chk *c, const struct script_block *b)
{
    if (++c->depth > MAX_DEPTH)
        return bad(c, b->n ? b->v[0].line : 1, "nesting too deep");
    int r = 0;
    for (size_t k = 0; k < b->n && r == 0; k++) {
        const struct script_stmt *s = &b->v[k];
        switch (s->kind) {
        case STMT_BAD: r = bad(c, s->line, "syntax error: %s", s->bad); break;
        case STMT_DO:
            r = check_scoped(c, &s->body);
            if (!r && s->has_onerr)
                r = check_scoped(c, &s->onerr);
            break;
        case STMT_IF: {
            size_t i = s->cb;
            r = i < s->ce ? check_value(c, &i, s->ce) : bad(c, s->line, ":if needs a condition");
            while (!r && i < s->ce) { /* ( a = b ), ( a != b ) */
                const struct script_tok *op = &c->p->t[i];
                if (op->k == TOK_EQ)
                    i++;
                else if (op->k == TOK_BAD && op->s[0] == '!' && i + 1 < s->ce &&
                         c->p->t[i + 1].k == TOK_EQ)
                    i += 2;
                else if (script_is_word(op, "."))
                    i++;
                else {
                    r = bad(c, s->line, "syntax error in :if condition");
                    break;
                }
                r = check_value(c, &i, s->ce);
            }
            if (!r)
                r = check_scoped(c, &s->body);
            if (!r && s->has_onerr)
                r = check_scoped(c, &s->onerr);
            break;
        }
        case STMT_CMD: r = check_cmd(c, s); break;
        }
    }
    c->depth--;
    return r;
}

int script_check(const struct script_prog *p, const struct sim_options *opt,
                 struct script_syntax_err *err)
{
    struct chk c = {.p = p, .o = opt, .err = err, .cur_menu = -1};
    return check_block(&c, &p->top);
}
