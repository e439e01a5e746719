/*
 * idhash.h - an intrusive chained hash table keyed by a NUL-terminated id.
 *
 * The element embeds a struct idhash_node whose id points at the element's
 * own key (e.g. a UUID in a char array of the element); the table holds the
 * nodes and owns only its bucket array. Ids are hashed with 64-bit FNV-1a
 * steps (prime 1099511628211) from the start value edge.c always used,
 * 1469598103934665603 (the standard offset basis has one digit more; for a
 * table any start does). The bucket count is a power of two, doubled when the
 * load reaches 1.
 * Not thread-safe: one owner. Used by the edge (grants by id) and the edge
 * role's reconcile (open grants by id).
 */
#ifndef TG_IDHASH_H
#define TG_IDHASH_H

#include <stddef.h>

struct idhash_node {
    struct idhash_node *next; /* bucket chain */
    const char *id;           /* the key, borrowed: set before insert, unchanged while linked */
    size_t hash;              /* of id, set by idhash_insert() */
};

struct idhash {
    struct idhash_node **buckets; /* owned */
    size_t nbuckets;              /* power of two */
    size_t n;                     /* nodes linked */
};

/* The hash of s (see above). */
size_t idhash_str(const char *s);

/* An empty table with at least min_buckets buckets (rounded up to a power of two, >= 8). */
void idhash_init(struct idhash *h, size_t min_buckets);
/* Frees the bucket array; the nodes are not touched. */
void idhash_release(struct idhash *h);
/* The node whose id equals id, or NULL. */
struct idhash_node *idhash_find(const struct idhash *h, const char *id);
/* Links n (n->id set). Does not check for a duplicate id: find first. */
void idhash_insert(struct idhash *h, struct idhash_node *n);
/* Unlinks n; nothing when n is not in h (n zeroed, or inserted once and removed since). */
void idhash_remove(struct idhash *h, struct idhash_node *n);

/*
 * Walks all nodes: for (n = idhash_next(h, NULL); n; n = idhash_next(h, n)).
 * Nothing may be inserted or removed during such a walk. O(buckets + nodes) in all.
 */
struct idhash_node *idhash_next(const struct idhash *h, const struct idhash_node *n);

/*
 * For loops that unlink what they visit: the head of bucket *pos or of the
 * next non-empty bucket after it (*pos is moved there), NULL when there is
 * none. Start with *pos = 0:
 *     size_t pos = 0;
 *     while ((n = idhash_scan(h, &pos)))
 *         idhash_remove(h, n), ...;
 */
struct idhash_node *idhash_scan(const struct idhash *h, size_t *pos);

#endif
