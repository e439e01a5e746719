/*
 * script_int.h - the parsed form of a RouterOS script (docs/internals/script-subset.md), shared
 * by the parser (script_parse.c) and the interpreter (script_exec.c). Internal to src/sim.
 *
 * A program is a token array plus a tree of statements over it:
 *
 *   struct script_prog
 *     t[0..nt)   tokens; t[nt - 1] is always TOK_EOF. Token text points into the
 *                script text: a program BORROWS the text it was parsed from, which must
 *                outlive it. Quoted strings keep their escapes (TOK_STR holds the bytes
 *                between the quotes); the interpreter unescapes them when evaluated.
 *     top        the top-level statements, in order.
 *
 *   struct script_stmt  covers tokens [b, e) of t, without the separator that ends it:
 *     STMT_CMD   a command: t[b] is its first token (whatever it is: the parser does not know
 *                commands; script_check() refuses unknown ones before anything runs).
 *     STMT_DO    ":do { body } [on-error={ onerr }]"; body and onerr are blocks of their own.
 *     STMT_IF    ":if ( cond ) do={ body } [else={ onerr }]": the condition is tokens
 *                [cb, ce) (inside the parentheses); the else block is kept in `onerr`.
 *     STMT_BAD   a ":do {" or ":if" form the subset does not have; `bad` says why (static).
 *
 * Every bracket token ([ ] { } ( )) has `match` set to the index of its partner. Separators
 * (TOK_SEP: a newline or ';') only appear between statements, never inside a STMT_CMD's
 * range at depth 0. Ownership: the program owns t and every block's v; free it with
 * script_prog_release(). The parser is pure: no I/O, no state, no globals.
 */
#ifndef TG_SIM_SCRIPT_INT_H
#define TG_SIM_SCRIPT_INT_H

#include "sim.h"

#include <ctype.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#define SCRIPT_MAX_TOKENS 200000u /* per script */
#define SCRIPT_MAX_NESTING 256    /* open brackets at once */

enum script_tok_kind {
    TOK_WORD,   /* bare word: letters, digits and _ . : , / * @ + - */
    TOK_STR,    /* "..." (the bytes between the quotes, escapes kept) */
    TOK_VAR,    /* $name (the name, without the $) */
    TOK_EQ,     /* = */
    TOK_LBRACE, /* { */
    TOK_RBRACE, /* } */
    TOK_LBRACK, /* [ */
    TOK_RBRACK, /* ] */
    TOK_LPAREN, /* ( */
    TOK_RPAREN, /* ) */
    TOK_SEP,    /* newline or ; */
    TOK_BAD,    /* any other byte, one token each: refused where it is evaluated */
    TOK_EOF,    /* end of the text (s points just past it, n = 0) */
};

struct script_tok {
    enum script_tok_kind k;
    const char *s; /* borrowed from the script text */
    size_t n;
    unsigned line;
    size_t match; /* brackets: index of the partner; 0 otherwise */
};

enum script_stmt_kind { STMT_CMD, STMT_DO, STMT_IF, STMT_BAD };

struct script_stmt;

struct script_block {
    struct script_stmt *v; /* owned */
    size_t n, alloc;
};

struct script_stmt {
    enum script_stmt_kind kind;
    unsigned line;                   /* line of t[b] */
    size_t b, e;                     /* tokens [b, e) */
    struct script_block body, onerr; /* STMT_DO (STMT_IF: do and else) */
    bool has_onerr;                  /* STMT_DO: an on-error={ } follows (STMT_IF: else={ }) */
    size_t cb, ce;                   /* STMT_IF: the condition's tokens */
    const char *bad;                 /* STMT_BAD: static reason */
};

struct script_prog {
    struct script_tok *t; /* owned */
    size_t nt, alloc;
    struct script_block top;
};

/* Why a script could not be parsed. */
struct script_syntax_err {
    char msg[SIM_ERR_LEN];
    unsigned line; /* 1-based */
};

/*
 * Parses text[0..len) (borrowed, not NUL-terminated, NULL only when len is 0; the program
 * points into it). Only an unterminated string, unbalanced brackets and the caps (len >
 * SIM_MAX_SCRIPT, more than SCRIPT_MAX_TOKENS tokens, more than SCRIPT_MAX_NESTING open
 * brackets) are syntax errors; everything else becomes a statement that fails, if ever, when
 * it runs. Returns 0 with *ret filled (owned: free with script_prog_release()), or -EINVAL
 * (syntax) / -E2BIG (a cap) with *err set; on failure nothing is allocated and *ret is
 * untouched.
 */
int script_parse(const char *text, size_t len, struct script_prog *ret,
                 struct script_syntax_err *err);
/* Frees what the program owns (not the text); accepts NULL and a released program. */
void script_prog_release(struct script_prog *p);

/*
 * script_check.c: checks a parsed program against the router as RouterOS compiles a script
 * before running any of it: every command exists on this router (its version and board), every
 * argument is one the command takes, every variable is declared before it is used, every
 * escape is one RouterOS v7 has, every :do / :if has a form the subset knows. 0, or -EINVAL
 * with *err (the first problem and its line). Reads only p and opt.
 */
int script_check(const struct script_prog *p, const struct sim_options *opt,
                 struct script_syntax_err *err);

/* True when t is the bare word w. */
static inline bool script_is_word(const struct script_tok *t, const char *w)
{
    return t->k == TOK_WORD && t->n == strlen(w) && memcmp(t->s, w, t->n) == 0;
}

/* Characters of a variable name ($name, :local name). */
static inline bool script_var_char(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

#endif
