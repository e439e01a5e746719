/* Unit tests for the script parser alone (src/sim/script_parse.c, script_int.h): tokens,
 * brackets, the statement tree of nested blocks, and syntax errors (an error and no program).
 * Linked with the parser library only: no simulator state. */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include "script_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse(const char *text, struct script_prog *p)
{
    struct script_syntax_err err;
    int r = script_parse(text, strlen(text), p, &err);
    if (r != 0)
        fprintf(stderr, "parse failed (%d) at line %u: %s\n", r, err.line, err.msg);
    return r;
}

static bool tok_is(const struct script_tok *t, enum script_tok_kind k, const char *text)
{
    return t->k == k && t->n == strlen(text) && memcmp(t->s, text, t->n) == 0;
}

static void test_tokens(void **unused)
{
    (void)unused;
    const char *text = "# comment at the start of a line\n"
                       "  /user set [find name=\"a\\\"b\"] comment=($x . \"y\") # not a comment\n"
                       "/ip \\\nservice set $ ~;";
    struct script_prog p;
    assert_int_equal(parse(text, &p), 0);
    static const struct {
        enum script_tok_kind k;
        const char *s;
        unsigned line;
    } want[] = {
        {TOK_SEP, "\n", 1},       {TOK_WORD, "/user", 2},   {TOK_WORD, "set", 2},
        {TOK_LBRACK, "[", 2},     {TOK_WORD, "find", 2},    {TOK_WORD, "name", 2},
        {TOK_EQ, "=", 2},         {TOK_STR, "a\\\"b", 2},   {TOK_RBRACK, "]", 2},
        {TOK_WORD, "comment", 2}, {TOK_EQ, "=", 2},         {TOK_LPAREN, "(", 2},
        {TOK_VAR, "x", 2},        {TOK_WORD, ".", 2},       {TOK_STR, "y", 2},
        {TOK_RPAREN, ")", 2},     {TOK_BAD, "#", 2},        {TOK_WORD, "not", 2},
        {TOK_WORD, "a", 2},       {TOK_WORD, "comment", 2}, {TOK_SEP, "\n", 2},
        {TOK_WORD, "/ip", 3},     {TOK_WORD, "service", 4}, {TOK_WORD, "set", 4},
        {TOK_BAD, "$", 4},        {TOK_BAD, "~", 4},        {TOK_SEP, ";", 4},
        {TOK_EOF, "", 4},
    };
    assert_int_equal(p.nt, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < p.nt; i++) {
        if (!tok_is(&p.t[i], want[i].k, want[i].s) || p.t[i].line != want[i].line) {
            fprintf(stderr, "token %zu: kind %d '%.*s' line %u\n", i, p.t[i].k, (int)p.t[i].n,
                    p.t[i].s, p.t[i].line);
            fail();
        }
    }
    /* tokens point into the text; brackets know their partner */
    assert_ptr_equal(p.t[1].s, strstr(text, "/user"));
    assert_int_equal(p.t[3].match, 8);
    assert_int_equal(p.t[8].match, 3);
    assert_int_equal(p.t[11].match, 15);
    assert_int_equal(p.t[15].match, 11);
    /* two commands (the comment line leaves only its newline) */
    assert_int_equal(p.top.n, 2);
    assert_int_equal(p.top.v[0].kind, STMT_CMD);
    assert_int_equal(p.top.v[0].b, 1);
    assert_int_equal(p.top.v[0].e, 20);
    assert_int_equal(p.top.v[1].b, 21);
    assert_int_equal(p.top.v[1].e, 26);
    assert_int_equal(p.top.v[1].line, 3);
    script_prog_release(&p);
    script_prog_release(&p); /* twice is harmless */
    script_prog_release(NULL);
}

static void test_nested_blocks(void **unused)
{
    (void)unused;
    const char *text = ":local a \"1\"\n"                                      /* 1 */
                       ":do {\n"                                               /* 2 */
                       "  /system identity set name=\"x\"\n"                   /* 3 */
                       "  :do { /bad; /worse } on-error={ :log info \"c\" }\n" /* 4 */
                       "  :do {\n"                                             /* 5 */
                       "    :do { /deep }\n"                                   /* 6 */
                       "  } on-error={\n"                                      /* 7 */
                       "  }\n"                                                 /* 8 */
                       "} on-error={\n"                                        /* 9 */
                       "  :log error \"outer\"\n"                              /* 10 */
                       "}\n"                                                   /* 11 */
                       ":do { } while=(1)\n"                                   /* 12 */
                       "/user add name=x { not a block }\n";                   /* 13 */
    struct script_prog p;
    assert_int_equal(parse(text, &p), 0);
    const struct script_block *top = &p.top;
    assert_int_equal(top->n, 4);
    assert_int_equal(top->v[0].kind, STMT_CMD);
    assert_true(script_is_word(&p.t[top->v[0].b], ":local"));

    const struct script_stmt *outer = &top->v[1];
    assert_int_equal(outer->kind, STMT_DO);
    assert_int_equal(outer->line, 2);
    assert_true(outer->has_onerr);
    assert_true(script_is_word(&p.t[outer->b], ":do"));
    assert_int_equal(p.t[outer->e].k, TOK_SEP);
    assert_int_equal(p.t[outer->e - 1].k, TOK_RBRACE);
    assert_int_equal(p.t[outer->e - 1].line, 11);
    assert_int_equal(outer->body.n, 3);
    assert_int_equal(outer->onerr.n, 1);
    assert_int_equal(outer->onerr.v[0].kind, STMT_CMD);
    assert_int_equal(outer->onerr.v[0].line, 10);

    const struct script_block *body = &outer->body;
    assert_int_equal(body->v[0].kind, STMT_CMD);
    assert_int_equal(body->v[0].line, 3);
    /* one-line :do with ';' inside: two commands, on-error with one */
    assert_int_equal(body->v[1].kind, STMT_DO);
    assert_int_equal(body->v[1].line, 4);
    assert_true(body->v[1].has_onerr);
    assert_int_equal(body->v[1].body.n, 2);
    assert_true(script_is_word(&p.t[body->v[1].body.v[1].b], "/worse"));
    assert_int_equal(body->v[1].onerr.n, 1);
    /* three levels deep; an empty on-error */
    assert_int_equal(body->v[2].kind, STMT_DO);
    assert_true(body->v[2].has_onerr);
    assert_int_equal(body->v[2].onerr.n, 0);
    assert_int_equal(body->v[2].body.n, 1);
    const struct script_stmt *deep = &body->v[2].body.v[0];
    assert_int_equal(deep->kind, STMT_DO);
    assert_false(deep->has_onerr);
    assert_int_equal(deep->line, 6);
    assert_int_equal(deep->body.n, 1);
    assert_true(script_is_word(&p.t[deep->body.v[0].b], "/deep"));

    /* another :do form is a statement that fails when run, not a syntax error */
    assert_int_equal(top->v[2].kind, STMT_BAD);
    assert_int_equal(top->v[2].line, 12);
    assert_non_null(strstr(top->v[2].bad, "on-error"));
    assert_int_equal(p.t[top->v[2].e].k, TOK_SEP);
    assert_int_equal(p.t[top->v[2].e].line, 12);
    /* braces that do not follow :do belong to the command */
    assert_int_equal(top->v[3].kind, STMT_CMD);
    assert_int_equal(p.t[top->v[3].e].k, TOK_SEP);
    assert_int_equal(p.t[top->v[3].e - 1].k, TOK_RBRACE);
    script_prog_release(&p);
}

static void test_syntax_errors(void **unused)
{
    (void)unused;
    static const struct {
        const char *text;
        int code;
        unsigned line;
        const char *msg;
    } cases[] = {
        {"/system identity set name=\"a\"\n/user add name=\"x\n", -EINVAL, 2, "unterminated"},
        {":do { /system identity set name=\"x\"\n", -EINVAL, 1, "unclosed {"},
        {"\n\n}\n", -EINVAL, 3, "unbalanced }"},
        {"/user add name=(\"a\"\n", -EINVAL, 1, "unclosed ("},
        {":log info [find )\n", -EINVAL, 1, "unbalanced )"},
        {":do {\n\n} on-error={ ]\n}", -EINVAL, 3, "unbalanced ]"},
        {"\"a \\\" b", -EINVAL, 1, "unterminated"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct script_prog p;
        memset(&p, 0xa5, sizeof p);
        struct script_prog before = p;
        struct script_syntax_err err = {{0}, 0};
        int r = script_parse(cases[i].text, strlen(cases[i].text), &p, &err);
        if (r != cases[i].code || err.line != cases[i].line || !strstr(err.msg, cases[i].msg)) {
            fprintf(stderr, "case %zu: r=%d line=%u msg=%s\n", i, r, err.line, err.msg);
            fail();
        }
        /* no program: the out-param is untouched */
        assert_memory_equal(&p, &before, sizeof p);
    }
}

static void test_caps(void **unused)
{
    (void)unused;
    struct script_prog p;
    struct script_syntax_err err;
    /* nesting */
    char deep[SCRIPT_MAX_NESTING + 2];
    memset(deep, '(', sizeof deep);
    assert_int_equal(script_parse(deep, sizeof deep, &p, &err), -E2BIG);
    assert_non_null(strstr(err.msg, "nesting"));
    memset(deep, '[', SCRIPT_MAX_NESTING);
    memset(deep + SCRIPT_MAX_NESTING, ']', 2);
    assert_int_equal(script_parse(deep, SCRIPT_MAX_NESTING, &p, &err), -EINVAL);
    /* length: checked before anything is read */
    assert_int_equal(script_parse("x", SIM_MAX_SCRIPT + 1u, &p, &err), -E2BIG);
    assert_int_equal(err.line, 1);
    /* tokens */
    size_t n = 2 * (size_t)SCRIPT_MAX_TOKENS + 2;
    char *many = malloc(n);
    assert_non_null(many);
    for (size_t i = 0; i < n; i += 2)
        memcpy(many + i, "x;", 2);
    assert_int_equal(script_parse(many, n, &p, &err), -E2BIG);
    assert_non_null(strstr(err.msg, "tokens"));
    /* just under the cap: SCRIPT_MAX_TOKENS - 1 tokens and EOF */
    assert_int_equal(script_parse(many, SCRIPT_MAX_TOKENS - 1, &p, &err), 0);
    assert_int_equal(p.nt, SCRIPT_MAX_TOKENS);
    assert_int_equal(p.top.n, SCRIPT_MAX_TOKENS / 2);
    script_prog_release(&p);
    free(many);
}

/* NUL is not a word byte (strchr() finds the terminator): found by fuzz/sim_script. */
static void test_nul_byte(void **unused)
{
    (void)unused;
    static const char text[] = "/user\0x add \"a\0b\"";
    struct script_prog p;
    struct script_syntax_err err;
    assert_int_equal(script_parse(text, sizeof text - 1, &p, &err), 0);
    assert_int_equal(p.nt, 6);
    assert_true(tok_is(&p.t[0], TOK_WORD, "/user"));
    assert_int_equal(p.t[1].k, TOK_BAD);
    assert_int_equal(p.t[1].n, 1);
    assert_int_equal(p.t[1].s[0], '\0');
    assert_true(tok_is(&p.t[2], TOK_WORD, "x"));
    assert_true(tok_is(&p.t[3], TOK_WORD, "add"));
    /* inside quotes it is kept: the interpreter refuses it when the value is evaluated */
    assert_int_equal(p.t[4].k, TOK_STR);
    assert_int_equal(p.t[4].n, 3);
    script_prog_release(&p);
}

static void test_empty(void **unused)
{
    (void)unused;
    struct script_prog p;
    struct script_syntax_err err;
    assert_int_equal(script_parse(NULL, 0, &p, &err), 0);
    assert_int_equal(p.nt, 1);
    assert_int_equal(p.t[0].k, TOK_EOF);
    assert_int_equal(p.top.n, 0);
    script_prog_release(&p);
    assert_int_equal(parse("\n# only a comment\n;;\n", &p), 0);
    assert_int_equal(p.top.n, 0);
    assert_int_equal(p.t[p.nt - 1].line, 4);
    script_prog_release(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokens),        cmocka_unit_test(test_nested_blocks),
        cmocka_unit_test(test_syntax_errors), cmocka_unit_test(test_caps),
        cmocka_unit_test(test_nul_byte),      cmocka_unit_test(test_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
