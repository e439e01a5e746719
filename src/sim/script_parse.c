/*
 * script_parse.c - RouterOS script text -> struct script_prog (script_int.h).
 *
 * Three passes: tokenize (quoted strings keep their escapes until evaluated), match brackets,
 * then build the tree of statements (commands, `:do` and `:if` blocks). What each command means
 * is script_check.c's business (RouterOS refuses a script with an unknown command, argument or
 * variable before running it). Here only an unterminated string, unbalanced brackets/braces
 * and the caps are syntax errors; everything else becomes a statement (STMT_BAD for a form the
 * subset does not have) for the checker to judge.
 *
 * Pure: no I/O, no simulator state; linked alone by the fuzzer (fuzz/sim_script).
 */
#include "alloc.h"
#include "script_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int syntax(struct script_syntax_err *err, int code, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int syntax(struct script_syntax_err *err, int code, unsigned line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    err->line = line;
    return code;
}

/* ---- tokenizer -------------------------------------------------------- */

/* Not NUL: strchr() finds the terminator, which once made NUL bytes part of words (and a
 * command name cut short at one, "/user\0x", ran as "/user"). */
static bool word_char(char c)
{
    return isalnum((unsigned char)c) || (c != '\0' && strchr("_.:,/*@+-", c) != NULL);
}

static int push_tok(struct script_prog *p, enum script_tok_kind k, const char *s, size_t n,
                    unsigned line, struct script_syntax_err *err)
{
    if (p->nt >= SCRIPT_MAX_TOKENS)
        return syntax(err, -E2BIG, line, "script too long (tokens)");
    if (p->nt == p->alloc) {
        p->alloc = p->alloc ? p->alloc * 2 : 64;
        p->t = xrealloc(p->t, p->alloc * sizeof *p->t);
    }
    p->t[p->nt++] = (struct script_tok){k, s, n, line, 0};
    return 0;
}

/* Scans a quoted string starting at s[i] == '"'; 0 and the token, or -EINVAL. */
static int scan_string(struct script_prog *p, const char *s, size_t len, size_t *i, unsigned *line,
                       struct script_syntax_err *err)
{
    unsigned l0 = *line;
    size_t j = *i + 1;
    while (j < len && s[j] != '"') {
        if (s[j] == '\\' && j + 1 < len)
            j++;
        if (s[j] == '\n')
            (*line)++;
        j++;
    }
    if (j >= len)
        return syntax(err, -EINVAL, l0, "unterminated string");
    int r = push_tok(p, TOK_STR, s + *i + 1, j - *i - 1, l0, err);
    *i = j + 1;
    return r;
}

static int tokenize(struct script_prog *p, const char *s, size_t len, struct script_syntax_err *err)
{
    unsigned line = 1;
    bool line_start = true;
    size_t i = 0;
    int r;
    while (i < len) {
        char c = s[i];
        if (c == ' ' || c == '\t' || c == '\r') {
            i++;
            continue;
        }
        if (c == '\\' && i + 1 < len && (s[i + 1] == '\n' || s[i + 1] == '\r')) {
            i += (s[i + 1] == '\r' && i + 2 < len && s[i + 2] == '\n') ? 3 : 2;
            line++;
            continue;
        }
        if (c == '\n' || c == ';') {
            if ((r = push_tok(p, TOK_SEP, s + i, 1, line, err)) < 0)
                return r;
            if (c == '\n') {
                line++;
                line_start = true;
            }
            i++;
            continue;
        }
        if (c == '#' && line_start) {
            while (i < len && s[i] != '\n')
                i++;
            continue;
        }
        line_start = false;
        enum script_tok_kind k = TOK_BAD; /* any other byte: one TOK_BAD byte */
        size_t start = i, n = 1;
        switch (c) {
        case '{': k = TOK_LBRACE; break;
        case '}': k = TOK_RBRACE; break;
        case '[': k = TOK_LBRACK; break;
        case ']': k = TOK_RBRACK; break;
        case '(': k = TOK_LPAREN; break;
        case ')': k = TOK_RPAREN; break;
        case '=': k = TOK_EQ; break;
        case '"':
            if ((r = scan_string(p, s, len, &i, &line, err)) < 0)
                return r;
            continue;
        case '$': {
            size_t j = i + 1;
            while (j < len && script_var_char(s[j]))
                j++;
            if (j > i + 1) {
                k = TOK_VAR;
                start = i + 1;
                n = j - i - 1;
            }
            break;
        }
        default:
            if (word_char(c)) {
                size_t j = i;
                while (j < len && word_char(s[j]))
                    j++;
                k = TOK_WORD;
                n = j - i;
            }
        }
        if ((r = push_tok(p, k, s + start, n, line, err)) < 0)
            return r;
        i = start + n;
    }
    return push_tok(p, TOK_EOF, s + len, 0, line, err);
}

static int match_brackets(struct script_prog *p, struct script_syntax_err *err)
{
    size_t stack[SCRIPT_MAX_NESTING];
    size_t sp = 0;
    for (size_t i = 0; i < p->nt; i++) {
        enum script_tok_kind k = p->t[i].k;
        if (k == TOK_LBRACE || k == TOK_LBRACK || k == TOK_LPAREN) {
            if (sp == SCRIPT_MAX_NESTING)
                return syntax(err, -E2BIG, p->t[i].line, "nesting too deep");
            stack[sp++] = i;
        } else if (k == TOK_RBRACE || k == TOK_RBRACK || k == TOK_RPAREN) {
            enum script_tok_kind want = k == TOK_RBRACE   ? TOK_LBRACE
                                        : k == TOK_RBRACK ? TOK_LBRACK
                                                          : TOK_LPAREN;
            if (sp == 0 || p->t[stack[sp - 1]].k != want)
                return syntax(err, -EINVAL, p->t[i].line, "unbalanced %.1s", p->t[i].s);
            sp--;
            p->t[i].match = stack[sp];
            p->t[stack[sp]].match = i;
        }
    }
    if (sp)
        return syntax(err, -EINVAL, p->t[stack[sp - 1]].line, "unclosed %.1s",
                      p->t[stack[sp - 1]].s);
    return 0;
}

/* ---- statements ------------------------------------------------------- */

static struct script_stmt *block_add(struct script_block *b)
{
    if (b->n == b->alloc) {
        b->alloc = b->alloc ? b->alloc * 2 : 8;
        b->v = xrealloc(b->v, b->alloc * sizeof *b->v);
    }
    struct script_stmt *s = &b->v[b->n++];
    memset(s, 0, sizeof *s);
    return s;
}

static void block_free(struct script_block *b)
{
    for (size_t i = 0; i < b->n; i++) {
        block_free(&b->v[i].body);
        block_free(&b->v[i].onerr);
    }
    free(b->v);
    b->v = NULL;
    b->n = b->alloc = 0;
}

/* End of a statement starting at i: the first SEP/EOF/closing brace at depth 0. */
static size_t stmt_end(const struct script_prog *p, size_t i)
{
    while (p->t[i].k != TOK_SEP && p->t[i].k != TOK_EOF && p->t[i].k != TOK_RBRACE) {
        if (p->t[i].k == TOK_LBRACE || p->t[i].k == TOK_LBRACK || p->t[i].k == TOK_LPAREN)
            i = p->t[i].match;
        i++;
    }
    return i;
}

static void parse_block(struct script_prog *p, size_t *i, struct script_block *out);

/* Fills out->v[si], a ":do {" at *i; leaves *i after the statement. */
static void parse_do(struct script_prog *p, size_t *i, struct script_block *out, size_t si)
{
    size_t close = p->t[*i + 1].match;
    size_t j = *i + 2;
    /* out->v may move while nested statements are added: fill it by index */
    struct script_block body = {0};
    parse_block(p, &j, &body);
    out->v[si].kind = STMT_DO;
    out->v[si].body = body;
    j = close + 1;
    if (script_is_word(&p->t[j], "on-error") && p->t[j + 1].k == TOK_EQ &&
        p->t[j + 2].k == TOK_LBRACE) {
        size_t close2 = p->t[j + 2].match;
        size_t k = j + 3;
        struct script_block oe = {0};
        parse_block(p, &k, &oe);
        out->v[si].onerr = oe;
        out->v[si].has_onerr = true;
        j = close2 + 1;
    }
    if (p->t[j].k != TOK_SEP && p->t[j].k != TOK_EOF && p->t[j].k != TOK_RBRACE) {
        out->v[si].kind = STMT_BAD;
        out->v[si].bad = "unsupported :do form (only :do { } on-error={ })";
        j = stmt_end(p, j);
    }
    out->v[si].e = j;
    *i = j;
}

/* Fills out->v[si], an ":if (" at *i: ":if ( cond ) do={ body } [else={ body }]". */
static void parse_if(struct script_prog *p, size_t *i, struct script_block *out, size_t si)
{
    size_t close = p->t[*i + 1].match;
    size_t j = close + 1;
    out->v[si].kind = STMT_IF;
    out->v[si].cb = *i + 2;
    out->v[si].ce = close;
    static const char *const words[2] = {"do", "else"};
    for (int w = 0; w < 2; w++) {
        if (script_is_word(&p->t[j], words[w]) && p->t[j + 1].k == TOK_EQ &&
            p->t[j + 2].k == TOK_LBRACE) {
            size_t close2 = p->t[j + 2].match, k = j + 3;
            struct script_block b = {0};
            parse_block(p, &k, &b);
            if (w == 0)
                out->v[si].body = b;
            else {
                out->v[si].onerr = b;
                out->v[si].has_onerr = true;
            }
            j = close2 + 1;
        } else if (w == 0) {
            out->v[si].kind = STMT_BAD;
            out->v[si].bad = ":if needs ( condition ) do={ ... }";
            break;
        }
    }
    if (out->v[si].kind == STMT_IF && p->t[j].k != TOK_SEP && p->t[j].k != TOK_EOF &&
        p->t[j].k != TOK_RBRACE) {
        out->v[si].kind = STMT_BAD;
        out->v[si].bad = "unsupported :if form (only :if ( ) do={ } else={ })";
    }
    if (out->v[si].kind == STMT_BAD)
        j = stmt_end(p, j);
    out->v[si].e = j;
    *i = j;
}

/* Parses statements from *i up to the closing brace (nested) or EOF. Brackets are balanced
 * (match_brackets ran), so this cannot fail; recursion is bounded by SCRIPT_MAX_NESTING. */
static void parse_block(struct script_prog *p, size_t *i, struct script_block *out)
{
    for (;;) {
        while (p->t[*i].k == TOK_SEP)
            (*i)++;
        if (p->t[*i].k == TOK_RBRACE || p->t[*i].k == TOK_EOF)
            return;
        const struct script_tok *t = &p->t[*i];
        struct script_stmt *s = block_add(out);
        s->line = t->line;
        s->b = *i;
        if (script_is_word(t, ":do") && p->t[*i + 1].k == TOK_LBRACE) {
            parse_do(p, i, out, (size_t)(s - out->v));
            continue;
        }
        if (script_is_word(t, ":if") && p->t[*i + 1].k == TOK_LPAREN) {
            parse_if(p, i, out, (size_t)(s - out->v));
            continue;
        }
        s->kind = STMT_CMD;
        s->e = stmt_end(p, *i);
        *i = s->e;
    }
}

int script_parse(const char *text, size_t len, struct script_prog *ret,
                 struct script_syntax_err *err)
{
    struct script_prog p = {0};
    int r;
    if (!text)
        text = ""; /* len is 0: no arithmetic on NULL */
    if (len > SIM_MAX_SCRIPT)
        return syntax(err, -E2BIG, 1, "script too long");
    if ((r = tokenize(&p, text, len, err)) < 0 || (r = match_brackets(&p, err)) < 0)
        goto out_release;
    size_t i = 0;
    parse_block(&p, &i, &p.top);
    if (p.t[i].k != TOK_EOF) {
        r = syntax(err, -EINVAL, p.t[i].line, "unexpected }");
        goto out_release;
    }
    *ret = p;
    return 0;

out_release:
    script_prog_release(&p);
    return r;
}

void script_prog_release(struct script_prog *p)
{
    if (!p)
        return;
    block_free(&p->top);
    free(p->t);
    p->t = NULL;
    p->nt = p->alloc = 0;
}
