#include "heap.h"

#include "alloc.h"

#include <stdlib.h>

static void place(struct heap *h, size_t i, struct heap_node *n)
{
    h->a[i] = n;
    n->idx = i;
}

/* Moves the node at i towards the root while it is smaller than its parent; returns its new index.
 */
static size_t sift_up(struct heap *h, size_t i)
{
    struct heap_node *n = h->a[i];
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (h->a[p]->key <= n->key)
            break;
        place(h, i, h->a[p]);
        i = p;
    }
    place(h, i, n);
    return i;
}

static void sift_down(struct heap *h, size_t i)
{
    struct heap_node *n = h->a[i];
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = l;
        if (l >= h->len)
            break;
        if (r < h->len && h->a[r]->key < h->a[l]->key)
            m = r;
        if (h->a[m]->key >= n->key)
            break;
        place(h, i, h->a[m]);
        i = m;
    }
    place(h, i, n);
}

void heap_release(struct heap *h)
{
    free(h->a);
    h->a = NULL;
    h->len = h->cap = 0;
}

void heap_push(struct heap *h, struct heap_node *n)
{
    if (h->len == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 64;
        h->a = xrealloc(h->a, h->cap * sizeof(*h->a));
    }
    place(h, h->len++, n);
    sift_up(h, n->idx);
}

void heap_remove(struct heap *h, struct heap_node *n)
{
    size_t i = n->idx;
    if (i == HEAP_NONE)
        return;
    n->idx = HEAP_NONE;
    h->len--;
    if (i == h->len)
        return;
    place(h, i, h->a[h->len]);
    if (sift_up(h, i) == i)
        sift_down(h, i);
}

void heap_update(struct heap *h, struct heap_node *n, int64_t key)
{
    size_t i = n->idx;
    n->key = key;
    if (sift_up(h, i) == i)
        sift_down(h, i);
}
