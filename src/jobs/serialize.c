/*
 * serialize.c - the storage form of a plan.
 *
 * One line per command: verb, menu, find key, find value, by_name, then
 * key=value arguments, separated by tabs. Tabs, newlines and backslashes in
 * fields are escaped as \t \n \\; an absent find key is written as "-".
 */
#include "alloc.h"
#include "plan.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const verb_names[] = {"add",    "set",      "remove",  "ensure",  "reboot",
                                         "script", "add-once", "upgrade", "wg-rekey"};
#define N_VERBS (sizeof verb_names / sizeof verb_names[0])
_Static_assert(N_VERBS == JOB_VERB_LAST + 1,
               "verb_names[] and enum job_verb must list the same verbs (update JOB_VERB_LAST)");

static int field(struct buf *out, const char *s)
{
    int r = 0;
    for (; r == 0 && *s; s++) {
        if (*s == '\t')
            r = buf_append_str(out, "\\t");
        else if (*s == '\n')
            r = buf_append_str(out, "\\n");
        else if (*s == '\\')
            r = buf_append_str(out, "\\\\");
        else
            r = buf_append(out, s, 1);
    }
    return r;
}

int job_plan_serialize(const struct job_plan *p, struct buf *out)
{
    int r = 0;
    for (size_t i = 0; r == 0 && i < p->ncmds; i++) {
        const struct job_cmd *c = &p->cmds[i];
        r = buf_printf(out, "%s\t", verb_names[c->verb]);
        if (!r)
            r = field(out, c->menu);
        if (!r)
            r = buf_append_str(out, "\t");
        if (!r)
            r = field(out, c->find_key ? c->find_key : "-");
        if (!r)
            r = buf_append_str(out, "\t");
        if (!r)
            r = field(out, c->find_value ? c->find_value : "");
        if (!r)
            r = buf_printf(out, "\t%d", c->by_name ? 1 : 0);
        for (size_t j = 0; r == 0 && j < c->nargs; j++) {
            r = buf_append_str(out, "\t");
            if (!r)
                r = field(out, c->args[j].key);
            if (!r)
                r = buf_append_str(out, "=");
            if (!r)
                r = field(out, c->args[j].value);
        }
        if (!r)
            r = buf_append_str(out, "\n");
    }
    return r;
}

/* Unescapes s[0..n) into an owned string. */
static char *unescape(const char *s, size_t n)
{
    char *o = xmalloc(n + 1);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\' && i + 1 < n) {
            i++;
            o[k++] = s[i] == 't' ? '\t' : s[i] == 'n' ? '\n' : s[i];
        } else {
            o[k++] = s[i];
        }
    }
    o[k] = '\0';
    return o;
}

static int parse_line(const char *line, size_t len, struct job_plan *p)
{
    /* As many fields as the line has: a fixed cap silently dropped arguments past it. */
    size_t cap = 1;
    for (size_t i = 0; i < len; i++)
        cap += line[i] == '\t';
    char **fields = xcalloc(cap, sizeof *fields);
    size_t nf = 0;
    size_t start = 0;
    for (size_t i = 0; i <= len && nf < cap; i++) {
        if (i == len || line[i] == '\t') {
            fields[nf++] = unescape(line + start, i - start);
            start = i + 1;
        }
    }
    int r = -EINVAL;
    if (nf < 5)
        goto out;
    int verb = -1;
    for (int v = 0; v < (int)N_VERBS; v++)
        if (!strcmp(fields[0], verb_names[v]))
            verb = v;
    if (verb < 0)
        goto out;
    bool has_find = strcmp(fields[2], "-") != 0;
    struct job_cmd *c = job_plan_add(p, (enum job_verb)verb, fields[1], has_find ? fields[2] : NULL,
                                     has_find ? fields[3] : NULL);
    c->by_name = fields[4][0] == '1';
    for (size_t i = 5; i < nf; i++) {
        char *eq = strchr(fields[i], '=');
        if (!eq)
            goto out;
        *eq = '\0';
        job_cmd_arg(c, fields[i], eq + 1);
    }
    r = 0;
out:
    for (size_t i = 0; i < nf; i++)
        free(fields[i]);
    free(fields);
    return r;
}

int job_plan_parse(const char *s, struct job_plan *ret)
{
    while (*s) {
        const char *nl = strchr(s, '\n');
        size_t len = nl ? (size_t)(nl - s) : strlen(s);
        if (len) {
            int r = parse_line(s, len, ret);
            if (r < 0) {
                job_plan_release(ret);
                return r;
            }
        }
        s += len;
        if (*s)
            s++;
    }
    return 0;
}
