/*
 * strlist.h - a small owned list of strings (networks, site ids, scopes).
 */
#ifndef TG_DOMAIN_STRLIST_H
#define TG_DOMAIN_STRLIST_H

#include <stdbool.h>
#include <stddef.h>

struct strlist {
    char **items; /* owned */
    size_t n;
};

/* Appends an owned copy of s. */
void strlist_add(struct strlist *l, const char *s);
bool strlist_contains(const struct strlist *l, const char *s);
void strlist_release(struct strlist *l);
/* Joins with sep into an owned string ("" for an empty list). */
char *strlist_join(const struct strlist *l, char sep);
/* Splits s at sep, skipping empty parts; appends to l. */
void strlist_split(struct strlist *l, const char *s, char sep);
void strlist_copy(struct strlist *dst, const struct strlist *src);

#endif
