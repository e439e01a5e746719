#include "idhash.h"

#include "alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

size_t idhash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return (size_t)h;
}

void idhash_init(struct idhash *h, size_t min_buckets)
{
    size_t nb = 8;
    while (nb < min_buckets)
        nb *= 2;
    h->buckets = xcalloc(nb, sizeof(*h->buckets));
    h->nbuckets = nb;
    h->n = 0;
}

void idhash_release(struct idhash *h)
{
    free(h->buckets);
    h->buckets = NULL;
    h->nbuckets = h->n = 0;
}

struct idhash_node *idhash_find(const struct idhash *h, const char *id)
{
    size_t hv = idhash_str(id);
    for (struct idhash_node *n = h->buckets[hv & (h->nbuckets - 1)]; n; n = n->next)
        if (n->hash == hv && strcmp(n->id, id) == 0)
            return n;
    return NULL;
}

static void grow(struct idhash *h)
{
    size_t nb = h->nbuckets * 2;
    struct idhash_node **b = xcalloc(nb, sizeof(*b));
    for (size_t i = 0; i < h->nbuckets; i++) {
        struct idhash_node *x = h->buckets[i];
        while (x) {
            struct idhash_node *next = x->next;
            size_t k = x->hash & (nb - 1);
            x->next = b[k];
            b[k] = x;
            x = next;
        }
    }
    free(h->buckets);
    h->buckets = b;
    h->nbuckets = nb;
}

void idhash_insert(struct idhash *h, struct idhash_node *n)
{
    if (h->n + 1 > h->nbuckets)
        grow(h);
    n->hash = idhash_str(n->id);
    size_t k = n->hash & (h->nbuckets - 1);
    n->next = h->buckets[k];
    h->buckets[k] = n;
    h->n++;
}

void idhash_remove(struct idhash *h, struct idhash_node *n)
{
    struct idhash_node **pp = &h->buckets[n->hash & (h->nbuckets - 1)];
    for (; *pp; pp = &(*pp)->next) {
        if (*pp == n) {
            *pp = n->next;
            n->next = NULL;
            h->n--;
            return;
        }
    }
}

struct idhash_node *idhash_scan(const struct idhash *h, size_t *pos)
{
    for (size_t i = *pos; i < h->nbuckets; i++) {
        if (h->buckets[i]) {
            *pos = i;
            return h->buckets[i];
        }
    }
    *pos = h->nbuckets;
    return NULL;
}

struct idhash_node *idhash_next(const struct idhash *h, const struct idhash_node *n)
{
    size_t pos = 0;
    if (n) {
        if (n->next)
            return n->next;
        pos = (n->hash & (h->nbuckets - 1)) + 1;
    }
    return idhash_scan(h, &pos);
}
