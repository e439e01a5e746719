/*
 * buf.h - growable byte buffer with a hard cap (curl's dynbuf idea).
 *
 * Every buffer fed from the network is a struct buf with a cap: appending past
 * the cap fails with -E2BIG and leaves the buffer unchanged. The data is always
 * NUL-terminated (the terminator is not counted in len), so text can be used
 * as a C string. The struct is caller-owned (embed it); buf_release() frees
 * the contents only.
 */
#ifndef TG_BUF_H
#define TG_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
    char *data;   /* NULL until the first append */
    size_t len;   /* bytes used, excluding the NUL terminator */
    size_t alloc; /* bytes allocated */
    size_t cap;   /* hard maximum for len */
};

void buf_init(struct buf *b, size_t cap);
void buf_release(struct buf *b);
/* Empties the buffer but keeps its memory. */
void buf_reset(struct buf *b);
/* 0, or -E2BIG when len would exceed cap. */
int buf_append(struct buf *b, const void *data, size_t n);
int buf_append_str(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Drops the first n bytes (n <= len). */
void buf_consume(struct buf *b, size_t n);
/* Hands the contents to the caller (free() it) and empties the buffer. Never NULL. */
char *buf_steal(struct buf *b);

#endif
