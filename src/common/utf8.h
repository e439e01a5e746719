/*
 * utf8.h - UTF-8 validation (RFC 3629) for text that arrives as bytes: router facts, URL
 * paths, request bodies. JSON strings must be valid UTF-8, so text that is not is either
 * refused (utf8_valid) or shown with U+FFFD in place of each bad byte (utf8_sanitize).
 */
#ifndef TG_UTF8_H
#define TG_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Length of the valid UTF-8 sequence at s (no overlongs, no surrogates, at most U+10FFFF),
 * or 0 when s does not start one. s is NUL-terminated. */
size_t utf8_seq(const char *s);
/* True when the NUL-terminated s is valid UTF-8. */
bool utf8_valid(const char *s);
/* A copy of s (borrowed) in which every byte that is not part of a valid sequence is
 * U+FFFD. Returns owned: free(). Never NULL (aborts on OOM). */
char *utf8_sanitize(const char *s);

#endif
