/*
 * fuzz_sim_script.c - the sim's script parser (src/sim/script_parse.c) on arbitrary text: the
 * largest parser of untrusted input in tikgate (scripts fetched over HTTP). Linked with the
 * parser alone.
 *
 * Oracles (abort on failure):
 *  1. a refusal is -EINVAL or -E2BIG with a message and a line inside the text, and leaves the
 *     out-param untouched;
 *  2. tokens: EOF last and only there, every token inside the text, lines never decrease, each
 *     kind's bytes are what it says (words of word bytes, strings between quotes, ...), and
 *     brackets are paired both ways with their own kind;
 *  3. the statement tree tiles the tokens: in each block, statements follow each other with
 *     only separators between them, a command has no separator or closing brace at depth 0,
 *     and a :do's body and on-error lie exactly inside their braces;
 *  4. printing the tokens back (one space between them, ';' for every separator) parses to the
 *     same tokens and the same tree: token boundaries do not depend on the spacing.
 */
#include "script_int.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_sim_script: %s failed (line %d)\n", #cond, __LINE__);            \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static bool is_word_byte(char c)
{
    return isalnum((unsigned char)c) || (c != '\0' && strchr("_.:,/*@+-", c) != NULL);
}

static bool is_open(enum script_tok_kind k)
{
    return k == TOK_LBRACE || k == TOK_LBRACK || k == TOK_LPAREN;
}

static bool is_close(enum script_tok_kind k)
{
    return k == TOK_RBRACE || k == TOK_RBRACK || k == TOK_RPAREN;
}

static bool ends_stmt(enum script_tok_kind k)
{
    return k == TOK_SEP || k == TOK_EOF || k == TOK_RBRACE;
}

static void check_tokens(const struct script_prog *p, const char *text, size_t len)
{
    static const char single[] = {
        [TOK_EQ] = '=',     [TOK_LBRACE] = '{', [TOK_RBRACE] = '}', [TOK_LBRACK] = '[',
        [TOK_RBRACK] = ']', [TOK_LPAREN] = '(', [TOK_RPAREN] = ')',
    };
    CHECK(p->nt >= 1 && p->nt <= SCRIPT_MAX_TOKENS);
    CHECK(p->t[p->nt - 1].k == TOK_EOF);
    CHECK(p->t[p->nt - 1].s == text + len && p->t[p->nt - 1].n == 0);
    unsigned line = 1;
    for (size_t i = 0; i < p->nt; i++) {
        const struct script_tok *t = &p->t[i];
        CHECK(t->s >= text && t->n <= len && t->s <= text + len - t->n);
        CHECK(t->line >= line);
        line = t->line;
        switch (t->k) {
        case TOK_WORD:
            CHECK(t->n >= 1);
            for (size_t k = 0; k < t->n; k++)
                CHECK(is_word_byte(t->s[k]));
            break;
        case TOK_STR:
            CHECK(t->s > text && t->s[-1] == '"' && t->s + t->n < text + len && t->s[t->n] == '"');
            break;
        case TOK_VAR:
            CHECK(t->n >= 1 && t->s > text && t->s[-1] == '$');
            for (size_t k = 0; k < t->n; k++)
                CHECK(script_var_char(t->s[k]));
            break;
        case TOK_SEP: CHECK(t->n == 1 && (t->s[0] == '\n' || t->s[0] == ';')); break;
        case TOK_BAD: CHECK(t->n == 1); break;
        case TOK_EOF: CHECK(i == p->nt - 1); break;
        default: CHECK(t->n == 1 && t->s[0] == single[t->k]); break;
        }
        if (is_open(t->k) || is_close(t->k)) {
            size_t m = t->match;
            CHECK(m < p->nt && p->t[m].match == i);
            CHECK(is_open(t->k) ? m > i : m < i);
            enum script_tok_kind want = t->k == TOK_LBRACE   ? TOK_RBRACE
                                        : t->k == TOK_RBRACE ? TOK_LBRACE
                                        : t->k == TOK_LBRACK ? TOK_RBRACK
                                        : t->k == TOK_RBRACK ? TOK_LBRACK
                                        : t->k == TOK_LPAREN ? TOK_RPAREN
                                                             : TOK_LPAREN;
            CHECK(p->t[m].k == want);
        }
    }
}

static bool onerr_follows(const struct script_prog *p, size_t close)
{
    return script_is_word(&p->t[close + 1], "on-error") && p->t[close + 2].k == TOK_EQ &&
           p->t[close + 3].k == TOK_LBRACE;
}

/* The statements of b tile tokens [lo, hi), t[hi] being the closing brace or EOF. */
static void check_block(const struct script_prog *p, const struct script_block *b, size_t lo,
                        size_t hi)
{
    CHECK(p->t[hi].k == TOK_RBRACE || p->t[hi].k == TOK_EOF);
    CHECK(b->n <= b->alloc && (b->n == 0 || b->v));
    size_t pos = lo;
    for (size_t k = 0; k < b->n; k++) {
        const struct script_stmt *s = &b->v[k];
        while (pos < s->b) {
            CHECK(p->t[pos].k == TOK_SEP);
            pos++;
        }
        CHECK(s->b == pos && s->b < s->e && s->e <= hi);
        CHECK(p->t[s->b].k != TOK_SEP);
        CHECK(s->line == p->t[s->b].line);
        CHECK(ends_stmt(p->t[s->e].k));
        CHECK(p->t[s->e].k == TOK_SEP || s->e == hi);
        bool is_do = script_is_word(&p->t[s->b], ":do") && p->t[s->b + 1].k == TOK_LBRACE;
        bool is_if = script_is_word(&p->t[s->b], ":if") && p->t[s->b + 1].k == TOK_LPAREN;
        if (is_if) { /* :if ( cond ) do={ body } [else={ body }] */
            CHECK(s->kind == STMT_IF || s->kind == STMT_BAD);
            size_t close = p->t[s->b + 1].match;
            if (s->kind == STMT_BAD) {
                CHECK(s->bad != NULL && s->bad[0] != '\0');
            } else {
                CHECK(s->cb == s->b + 2 && s->ce == close && s->bad == NULL);
                size_t j = close + 1;
                CHECK(script_is_word(&p->t[j], "do") && p->t[j + 1].k == TOK_EQ &&
                      p->t[j + 2].k == TOK_LBRACE);
                size_t c1 = p->t[j + 2].match;
                check_block(p, &s->body, j + 3, c1);
                size_t after = c1 + 1;
                if (s->has_onerr) {
                    CHECK(script_is_word(&p->t[after], "else") && p->t[after + 1].k == TOK_EQ &&
                          p->t[after + 2].k == TOK_LBRACE);
                    size_t c2 = p->t[after + 2].match;
                    check_block(p, &s->onerr, after + 3, c2);
                    after = c2 + 1;
                } else {
                    CHECK(s->onerr.n == 0);
                }
                CHECK(s->e == after);
            }
            pos = s->e;
            continue;
        }
        if (s->kind == STMT_CMD) {
            CHECK(!is_do);
            CHECK(!s->has_onerr && s->body.n == 0 && s->onerr.n == 0);
            for (size_t i = s->b; i < s->e; i++) {
                CHECK(!ends_stmt(p->t[i].k) && !is_close(p->t[i].k));
                if (is_open(p->t[i].k)) {
                    CHECK(p->t[i].match < s->e);
                    i = p->t[i].match;
                }
            }
        } else {
            CHECK(s->kind == STMT_DO || s->kind == STMT_BAD);
            CHECK(is_do);
            size_t close = p->t[s->b + 1].match;
            check_block(p, &s->body, s->b + 2, close);
            size_t after = close + 1;
            CHECK(s->has_onerr == onerr_follows(p, close));
            if (s->has_onerr) {
                size_t close2 = p->t[close + 3].match;
                check_block(p, &s->onerr, close + 4, close2);
                after = close2 + 1;
            } else {
                CHECK(s->onerr.n == 0);
            }
            if (s->kind == STMT_DO) {
                CHECK(s->e == after && s->bad == NULL);
            } else {
                CHECK(s->bad != NULL && s->bad[0] != '\0');
                CHECK(s->e >= after && !ends_stmt(p->t[after].k));
            }
        }
        pos = s->e;
    }
    while (pos < hi) {
        CHECK(p->t[pos].k == TOK_SEP);
        pos++;
    }
}

static void same_block(const struct script_block *a, const struct script_block *b)
{
    CHECK(a->n == b->n);
    for (size_t k = 0; k < a->n; k++) {
        const struct script_stmt *x = &a->v[k], *y = &b->v[k];
        CHECK(x->kind == y->kind && x->b == y->b && x->e == y->e);
        CHECK(x->has_onerr == y->has_onerr);
        same_block(&x->body, &y->body);
        same_block(&x->onerr, &y->onerr);
    }
}

/* The tokens of p, one space between them, ';' for every separator. Owned; *ret_len set. */
static char *print_tokens(const struct script_prog *p, size_t *ret_len)
{
    size_t cap = 1;
    for (size_t i = 0; i < p->nt; i++)
        cap += p->t[i].n + 3;
    char *out = malloc(cap);
    CHECK(out != NULL);
    size_t o = 0;
    for (size_t i = 0; i + 1 < p->nt; i++) {
        const struct script_tok *t = &p->t[i];
        if (t->k == TOK_STR || t->k == TOK_VAR)
            out[o++] = t->k == TOK_STR ? '"' : '$';
        if (t->k == TOK_SEP) {
            out[o++] = ';';
        } else {
            memcpy(out + o, t->s, t->n);
            o += t->n;
        }
        if (t->k == TOK_STR)
            out[o++] = '"';
        out[o++] = ' ';
    }
    *ret_len = o;
    return out;
}

static void check_reprint(const struct script_prog *p)
{
    size_t len;
    char *text = print_tokens(p, &len);
    if (len > SIM_MAX_SCRIPT) {
        free(text);
        return;
    }
    struct script_prog q;
    struct script_syntax_err err;
    CHECK(script_parse(text, len, &q, &err) == 0);
    CHECK(q.nt == p->nt);
    for (size_t i = 0; i < p->nt; i++) {
        CHECK(q.t[i].k == p->t[i].k);
        if (p->t[i].k != TOK_SEP)
            CHECK(q.t[i].n == p->t[i].n && memcmp(q.t[i].s, p->t[i].s, p->t[i].n) == 0);
        CHECK(q.t[i].match == p->t[i].match);
    }
    same_block(&p->top, &q.top);
    script_prog_release(&q);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (64u << 10))
        return 0; /* the cap (1 MiB) is unit-tested; smaller inputs fuzz faster */
    const char *text = (const char *)data;
    struct script_prog p;
    memset(&p, 0x5a, sizeof p);
    struct script_prog before = p;
    struct script_syntax_err err = {{0}, 0};
    int r = script_parse(text, size, &p, &err);
    if (r != 0) {
        CHECK(r == -EINVAL || r == -E2BIG);
        CHECK(err.msg[0] != '\0');
        unsigned lines = 1;
        for (size_t i = 0; i < size; i++)
            lines += text[i] == '\n' || text[i] == '\r';
        CHECK(err.line >= 1 && err.line <= lines);
        CHECK(memcmp(&p, &before, sizeof p) == 0);
        return 0;
    }
    check_tokens(&p, text, size);
    check_block(&p, &p.top, 0, p.nt - 1);
    check_reprint(&p);
    script_prog_release(&p);
    return 0;
}
