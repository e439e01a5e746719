/*
 * rand.h - identifiers and secrets from libsodium's CSPRNG.
 *
 * tg_rand_init() must run once before any other call (it calls sodium_init).
 * All output buffers are caller-owned and NUL-terminated.
 */
#ifndef TG_RAND_H
#define TG_RAND_H

#include <stddef.h>
#include <stdint.h>

#define UUID_STR_LEN 37 /* 36 characters + NUL */

int tg_rand_init(void);
/* n random characters from [0-9A-Za-z] into out (out must hold n + 1 bytes). */
void rand_base62(char *out, size_t n);
/* A UUIDv7 (RFC 9562): 48-bit Unix milliseconds, then random bits. Sorts by time. */
void uuid_v7(char out[UUID_STR_LEN]);
/* True when s is a syntactically valid UUID in canonical lower/upper-case hex form. */
int uuid_is_valid(const char *s);
/* Uniform integer in [lo, hi]. */
uint32_t rand_range(uint32_t lo, uint32_t hi);

#endif
