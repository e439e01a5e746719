/*
 * fuzz_job_plan.c - job_plan_parse (src/jobs/serialize.c) on arbitrary text: the storage form
 * of a job's plan, read back from the store by the dispatcher and by the poll handler.
 *
 * Oracles (abort on failure):
 *  1. a refusal is -EINVAL and leaves the plan empty;
 *  2. an accepted plan has one command per non-empty line, each with a known verb, a menu, a
 *     find value exactly when it has a find key, and argument keys without '=';
 *  3. serialize(parse(text)) parses to the same plan and serializes to the same text: the
 *     storage form is a fixed point after one round;
 *  4. the plan renders to a RouterOS script without error (job_render_script).
 */
#include "plan.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_job_plan: %s failed (line %d)\n", #cond, __LINE__);              \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define BUF_CAP ((size_t)16 << 20)

static void same_str(const char *a, const char *b)
{
    CHECK((a == NULL) == (b == NULL));
    if (a)
        CHECK(strcmp(a, b) == 0);
}

static void same_plan(const struct job_plan *a, const struct job_plan *b)
{
    CHECK(a->ncmds == b->ncmds);
    for (size_t i = 0; i < a->ncmds; i++) {
        const struct job_cmd *x = &a->cmds[i], *y = &b->cmds[i];
        CHECK(x->verb == y->verb && x->by_name == y->by_name && x->nargs == y->nargs);
        same_str(x->menu, y->menu);
        same_str(x->find_key, y->find_key);
        same_str(x->find_value, y->find_value);
        for (size_t j = 0; j < x->nargs; j++) {
            same_str(x->args[j].key, y->args[j].key);
            same_str(x->args[j].value, y->args[j].value);
        }
    }
}

static void check_plan(const struct job_plan *p, size_t lines)
{
    CHECK(p->ncmds == lines);
    for (size_t i = 0; i < p->ncmds; i++) {
        const struct job_cmd *c = &p->cmds[i];
        CHECK(c->verb >= JOB_ADD && c->verb <= JOB_VERB_LAST);
        CHECK(c->menu != NULL);
        CHECK((c->find_key == NULL) == (c->find_value == NULL));
        for (size_t j = 0; j < c->nargs; j++) {
            CHECK(c->args[j].key && c->args[j].value);
            CHECK(strchr(c->args[j].key, '=') == NULL);
        }
    }
}

static char *serialize(const struct job_plan *p)
{
    struct buf b;
    buf_init(&b, BUF_CAP);
    CHECK(job_plan_serialize(p, &b) == 0);
    return buf_steal(&b); /* "" for an empty plan */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (64u << 10))
        return 0;
    /* job_plan_parse reads a C string: the input up to its first NUL */
    char *text = malloc(size + 1);
    CHECK(text != NULL);
    memcpy(text, data, size);
    text[size] = '\0';
    size_t lines = 0;
    for (const char *s = text; *s;) {
        size_t n = strcspn(s, "\n");
        lines += n > 0;
        s += n + (s[n] == '\n');
    }

    struct job_plan p = {0};
    int r = job_plan_parse(text, &p);
    if (r != 0) {
        CHECK(r == -EINVAL);
        CHECK(p.ncmds == 0 && p.cmds == NULL);
        free(text);
        return 0;
    }
    check_plan(&p, lines);

    char *s1 = serialize(&p);
    struct job_plan q = {0};
    CHECK(job_plan_parse(s1, &q) == 0);
    same_plan(&p, &q);
    char *s2 = serialize(&q);
    CHECK(strcmp(s1, s2) == 0);

    struct buf script;
    buf_init(&script, BUF_CAP);
    CHECK(job_render_script(&p, &script) == 0);
    buf_release(&script);

    free(s2);
    free(s1);
    job_plan_release(&q);
    job_plan_release(&p);
    free(text);
    return 0;
}
