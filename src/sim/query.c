/*
 * query.c - the RouterOS API query stack for print (routeros.md §1.4).
 *
 * The stack starts as infinitely many `true`; each query word pushes one
 * value or runs stack operations; an item matches when no `false` is left.
 * We keep the explicit part of the stack; reads below it yield `true`.
 * `?#` operations: `!` negate top, `&` and `|` pop two and push the result,
 * a decimal N pushes a copy of entry N counted from the top (0 = top), N at
 * the end of the word replaces the whole stack with that entry, `.` after an
 * index is a separator and elsewhere pushes a copy of the top.
 * Comparisons: an absent property compares as ""; when both sides are
 * decimal integers (or *hex ids) they compare as numbers, else bytewise.
 */
#include "sim.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct stack {
    bool v[SIM_QUERY_STACK_MAX];
    size_t n;
};

static bool peek(const struct stack *s, size_t depth)
{
    return depth < s->n ? s->v[s->n - 1 - depth] : true;
}

static bool pop(struct stack *s)
{
    return s->n ? s->v[--s->n] : true;
}

static int push(struct stack *s, bool b, char err[SIM_ERR_LEN])
{
    if (s->n >= SIM_QUERY_STACK_MAX) {
        snprintf(err, SIM_ERR_LEN, "query stack overflow");
        return -EINVAL;
    }
    s->v[s->n++] = b;
    return 0;
}

/* Number value of "123" or "*1A"; false if neither. */
static bool as_number(const char *s, size_t n, unsigned long long *ret)
{
    if (n == 0 || n > 20)
        return false;
    int base = 10;
    if (s[0] == '*') {
        s++;
        n--;
        base = 16;
        if (n == 0)
            return false;
    }
    unsigned long long v = 0;
    for (size_t i = 0; i < n; i++) {
        int d;
        if (isdigit((unsigned char)s[i]))
            d = s[i] - '0';
        else if (base == 16 && isxdigit((unsigned char)s[i]))
            d = tolower((unsigned char)s[i]) - 'a' + 10;
        else
            return false;
        v = v * (unsigned)base + (unsigned)d;
    }
    *ret = v;
    return true;
}

static int compare(const char *a, size_t an, const char *b, size_t bn)
{
    unsigned long long x, y;
    if (as_number(a, an, &x) && as_number(b, bn, &y) && (a[0] == '*') == (b[0] == '*'))
        return x < y ? -1 : x > y;
    size_t n = an < bn ? an : bn;
    int c = memcmp(a, b, n);
    if (c)
        return c;
    return an < bn ? -1 : an > bn;
}

/* The property's printable value, or NULL when absent (or secret). */
static const char *prop(const struct sim_menu *m, const struct sim_item *it, const char *name,
                        size_t name_len, char idbuf[16])
{
    if (name_len == 3 && memcmp(name, ".id", 3) == 0) {
        snprintf(idbuf, 16, "*%X", it->id);
        return idbuf;
    }
    for (size_t f = 0; f < m->def->nfields; f++) {
        const char *fn = m->def->fields[f].name;
        if (strlen(fn) == name_len && memcmp(fn, name, name_len) == 0)
            return (m->def->fields[f].flags & SIM_F_SECRET) ? NULL : it->val[f];
    }
    return NULL;
}

static int stack_ops(struct stack *s, const char *ops, size_t n, char err[SIM_ERR_LEN])
{
    size_t i = 0;
    bool after_index = false;
    while (i < n) {
        char c = ops[i];
        if (isdigit((unsigned char)c)) {
            size_t idx = 0, j = i;
            while (j < n && isdigit((unsigned char)ops[j])) {
                idx = idx * 10 + (size_t)(ops[j] - '0');
                if (idx > 100000)
                    idx = 100000;
                j++;
            }
            bool v = peek(s, idx);
            if (j == n) {
                s->n = 0;
                return push(s, v, err);
            }
            if (push(s, v, err) < 0)
                return -EINVAL;
            i = j;
            after_index = true;
            continue;
        }
        switch (c) {
        case '!': {
            bool v = pop(s);
            if (push(s, !v, err) < 0)
                return -EINVAL;
            break;
        }
        case '&':
        case '|': {
            bool a = pop(s), b = pop(s);
            if (push(s, c == '&' ? (a && b) : (a || b), err) < 0)
                return -EINVAL;
            break;
        }
        case '.':
            if (!after_index && push(s, peek(s, 0), err) < 0)
                return -EINVAL;
            break;
        default: snprintf(err, SIM_ERR_LEN, "unknown query operation %c", c); return -EINVAL;
        }
        after_index = false;
        i++;
    }
    return 0;
}

int sim_query_match(const struct sim_menu *m, const struct sim_item *it,
                    const struct ros_sentence *s, bool *ret, char err[SIM_ERR_LEN])
{
    struct stack st = {.n = 0};
    for (size_t qi = 0;; qi++) {
        const struct ros_word *w = ros_sentence_query(s, qi);
        if (!w)
            break;
        struct ros_query q;
        if (ros_query_parse(w, &q) != 0) {
            snprintf(err, SIM_ERR_LEN, "invalid query word");
            return -EINVAL;
        }
        if (q.op == ROS_QUERY_STACK) {
            if (stack_ops(&st, q.value, q.value_len, err) < 0)
                return -EINVAL;
            continue;
        }
        char idbuf[16];
        const char *v = prop(m, it, q.name, q.name_len, idbuf);
        bool b;
        switch (q.op) {
        case ROS_QUERY_HAS: b = v != NULL; break;
        case ROS_QUERY_ABSENT: b = v == NULL; break;
        case ROS_QUERY_EQ:
            b = compare(v ? v : "", v ? strlen(v) : 0, q.value, q.value_len) == 0;
            break;
        case ROS_QUERY_LT:
            b = compare(v ? v : "", v ? strlen(v) : 0, q.value, q.value_len) < 0;
            break;
        case ROS_QUERY_GT:
            b = compare(v ? v : "", v ? strlen(v) : 0, q.value, q.value_len) > 0;
            break;
        default: b = false; break;
        }
        if (push(&st, b, err) < 0)
            return -EINVAL;
    }
    bool all = true;
    for (size_t i = 0; i < st.n; i++)
        all = all && st.v[i];
    *ret = all;
    return 0;
}
