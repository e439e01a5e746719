#include "strlist.h"

#include "alloc.h"
#include "buf.h"

#include <stdlib.h>
#include <string.h>

void strlist_add(struct strlist *l, const char *s)
{
    l->items = xrealloc(l->items, (l->n + 1) * sizeof *l->items);
    l->items[l->n++] = xstrdup(s);
}

bool strlist_contains(const struct strlist *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->items[i], s) == 0)
            return true;
    return false;
}

void strlist_release(struct strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

char *strlist_join(const struct strlist *l, char sep)
{
    struct buf b;
    buf_init(&b, (size_t)1 << 30);
    for (size_t i = 0; i < l->n; i++) {
        if (i)
            buf_append(&b, &sep, 1);
        buf_append_str(&b, l->items[i]);
    }
    return buf_steal(&b);
}

void strlist_split(struct strlist *l, const char *s, char sep)
{
    if (!s)
        return;
    const char *p = s;
    while (*p) {
        const char *e = strchr(p, sep);
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n) {
            char *item = xstrndup(p, n);
            l->items = xrealloc(l->items, (l->n + 1) * sizeof *l->items);
            l->items[l->n++] = item;
        }
        p += n;
        if (*p)
            p++;
    }
}

void strlist_copy(struct strlist *dst, const struct strlist *src)
{
    for (size_t i = 0; i < src->n; i++)
        strlist_add(dst, src->items[i]);
}
