/*
 * heap.h - an intrusive binary min-heap on an int64_t key.
 *
 * The element embeds a struct heap_node and the heap holds pointers to those
 * nodes; each node knows its index, so update and removal are O(log n) (the
 * edge's deadline heap: key = deadline in Unix ms). The heap owns only its
 * pointer array, never the elements. Not thread-safe: one owner.
 *
 *     struct item { struct heap_node hn; ... };
 *     struct heap h = HEAP_INIT;
 *     heap_node_init(&it->hn);
 *     it->hn.key = deadline;
 *     heap_push(&h, &it->hn);
 *     struct item *first = container_of(heap_top(&h), struct item, hn);
 */
#ifndef TG_HEAP_H
#define TG_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HEAP_NONE SIZE_MAX /* heap_node.idx of a node in no heap */

struct heap_node {
    int64_t key; /* set before heap_push(); change it only through heap_update() */
    size_t idx;  /* position in the heap, HEAP_NONE when not in one */
};

struct heap {
    struct heap_node **a; /* owned array of borrowed nodes */
    size_t len, cap;
};

#define HEAP_INIT                                                                                  \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

static inline void heap_node_init(struct heap_node *n)
{
    n->key = 0;
    n->idx = HEAP_NONE;
}

static inline bool heap_node_queued(const struct heap_node *n)
{
    return n->idx != HEAP_NONE;
}

/* The node with the smallest key (any of them on a tie), NULL when empty. */
static inline struct heap_node *heap_top(const struct heap *h)
{
    return h->len ? h->a[0] : NULL;
}

/* Frees the array (not the nodes, which are left with stale indices). Accepts an empty heap. */
void heap_release(struct heap *h);
/* Adds n (not in any heap) at n->key. Grows the array (aborts on OOM). */
void heap_push(struct heap *h, struct heap_node *n);
/* Takes n out of h; nothing when n is in no heap. */
void heap_remove(struct heap *h, struct heap_node *n);
/* Sets n's key and restores the order (n must be in h). */
void heap_update(struct heap *h, struct heap_node *n, int64_t key);

#endif
