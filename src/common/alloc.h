/*
 * alloc.h - allocation that never returns NULL.
 *
 * The daemon treats out-of-memory as fatal (redis/h2o): a half-failed
 * allocation path cannot be tested. Parsers of untrusted input still enforce
 * their own caps and return -ENOMEM/-E2BIG when a cap is hit.
 */
#ifndef TG_ALLOC_H
#define TG_ALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
/* Returns an owned copy of s (s may be NULL: returns NULL). */
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* printf into a freshly allocated, owned string. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
