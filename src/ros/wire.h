/*
 * wire.h - RouterOS API wire codec (routeros.md §1.2-§1.4).
 *
 * A word is a length prefix plus that many bytes; a sentence is a list of
 * words ended by a zero-length word (a single 0x00). This module encodes and
 * decodes lengths and sentences, nothing else: no sockets, no logging.
 *
 * Length prefixes (first byte b0):
 *   b0 < 0x80        1 byte            0x00 .. 0x7F
 *   b0 < 0xC0        2 bytes, & 0x3FFF  0x80 .. 0x3FFF
 *   b0 < 0xE0        3 bytes, & 0x1FFFFF
 *   b0 < 0xF0        4 bytes, & 0xFFFFFFF
 *   b0 == 0xF0       5 bytes: 0xF0 then the length as 4 bytes big-endian
 *   b0 in 0xF1-0xF7  refused (-EPROTO): the PHP client's 35-bit lengths
 *   b0 >= 0xF8       refused (-EPROTO): reserved control bytes
 * Non-minimal prefixes (e.g. 80 05 for 5) are accepted when decoding; the
 * encoder always emits the shortest form.
 *
 * Decoding untrusted input is bounded by struct ros_limits: a word or a
 * sentence that would exceed a cap is refused with -E2BIG as soon as its
 * length prefix is read, before its bytes arrive.
 */
#ifndef TG_ROS_WIRE_H
#define TG_ROS_WIRE_H

#include "buf.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Longest length prefix on the wire (the F0 form). */
#define ROS_WIRE_LEN_MAX 5

/* Default caps for decoding. A 1 MiB word fits a large /system/script source. */
#define ROS_WIRE_MAX_WORD (1u << 20)     /* bytes in one word */
#define ROS_WIRE_MAX_WORDS 1024u         /* words in one sentence */
#define ROS_WIRE_MAX_SENTENCE (4u << 20) /* wire bytes of one sentence */

/* Returned by the stateless parser when more input is needed. */
#define ROS_WIRE_PARTIAL (-EAGAIN)

struct ros_limits {
    size_t max_word;     /* max bytes in one word (payload, without prefix) */
    size_t max_words;    /* max words in one sentence (terminator not counted) */
    size_t max_sentence; /* max wire bytes of one sentence: prefixes + words + 0x00 */
};

/* The defaults above. */
extern const struct ros_limits ros_limits_default;

/* A word: owned bytes, NUL-terminated for convenience (len excludes the NUL,
 * the bytes may contain NULs). */
struct ros_word {
    char *data;
    size_t len;
};

/* A sentence: owned words. Zero-initialise (or ros_sentence_init) before use;
 * release with ros_sentence_release(). */
struct ros_sentence {
    struct ros_word *words;
    size_t nwords;
    size_t alloc;
};

enum ros_word_kind {
    ROS_WORD_COMMAND,  /* "/..." */
    ROS_WORD_REPLY,    /* "!re", "!done", "!trap", "!fatal", "!empty" */
    ROS_WORD_ATTR,     /* "=name=value" */
    ROS_WORD_API_ATTR, /* ".tag=value" */
    ROS_WORD_QUERY,    /* "?..." */
    ROS_WORD_OTHER,    /* anything else, e.g. the reason word after !fatal */
};

/* ---- lengths ---------------------------------------------------------- */

/* Encodes len into out (shortest form). Returns the number of bytes written
 * (1..5), or -E2BIG when len > 0xFFFFFFFF. */
int ros_wire_length_encode(size_t len, uint8_t out[ROS_WIRE_LEN_MAX]);

/* Decodes one length prefix from buf[0..n). On success sets *ret_len and
 * *ret_used (prefix size) and returns 0. Returns ROS_WIRE_PARTIAL when n is
 * too short (n == 0 included), -EPROTO for a first byte in F1..FF. */
int ros_wire_length_decode(const uint8_t *buf, size_t n, uint32_t *ret_len, size_t *ret_used);

/* ---- sentences -------------------------------------------------------- */

void ros_sentence_init(struct ros_sentence *s);
/* Frees the words; the struct may be reused after ros_sentence_init(). Accepts NULL. */
void ros_sentence_release(struct ros_sentence *s);
/* Drops the words but keeps the array for reuse. */
void ros_sentence_clear(struct ros_sentence *s);
/* Appends an owned copy of data[0..len). 0, or -EINVAL for an empty word (it
 * would end the sentence on the wire). Not capped: caps apply on decoding. */
int ros_sentence_add(struct ros_sentence *s, const void *data, size_t len);
int ros_sentence_add_str(struct ros_sentence *s, const char *word);
/* printf-style word, e.g. ros_sentence_addf(s, "=name=%s", user). */
int ros_sentence_addf(struct ros_sentence *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Adds "=name=value". */
int ros_sentence_add_attr(struct ros_sentence *s, const char *name, const char *value);
/* True when both hold the same words in the same order. */
bool ros_sentence_equal(const struct ros_sentence *a, const struct ros_sentence *b);

/*
 * Stateless incremental parser (picohttpparser contract). Parses one sentence
 * from the start of buf[0..len): leading empty sentences (a bare 0x00, or a
 * zero length in a non-minimal form such as 80 00) are skipped. Returns:
 *   > 0               bytes consumed (skipped empties + the sentence); *out
 *                     holds the sentence (its previous words are released);
 *   ROS_WIRE_PARTIAL  the sentence is not complete; call again with the same
 *                     bytes plus more (*out is left empty);
 *   -E2BIG            a cap of *lim would be exceeded (known from a prefix);
 *   -EPROTO           a refused length prefix.
 * Errors are final: the stream cannot be resynchronised. lim NULL means
 * ros_limits_default. out is caller-owned; release it with ros_sentence_release().
 * Cost is linear in the number of words per call, so re-feeding a growing
 * buffer is cheap. A buffer of only 0x00 bytes returns ROS_WIRE_PARTIAL; use
 * ros_wire_skip_empty() (or struct ros_decoder) to drop them.
 */
ssize_t ros_sentence_parse(const uint8_t *buf, size_t len, struct ros_sentence *out);
ssize_t ros_sentence_parse_limits(const uint8_t *buf, size_t len, const struct ros_limits *lim,
                                  struct ros_sentence *out);
/* Number of leading 0x00 bytes (empty sentences) in buf[0..len). */
size_t ros_wire_skip_empty(const uint8_t *buf, size_t len);

/* Appends the encoded sentence to out. On error out is unchanged:
 * -EINVAL for no words or an empty word, -E2BIG when out's cap is hit or a
 * word is longer than 0xFFFFFFFF. */
int ros_sentence_encode(struct buf *out, const struct ros_sentence *s);
/* Same for n NUL-terminated words (borrowed). */
int ros_wire_encode_words(struct buf *out, const char *const *words, size_t n);

/* ---- word helpers (all borrow from the sentence) ---------------------- */

enum ros_word_kind ros_word_kind(const struct ros_word *w);

/* words[0] as a C string ("/ip/address/print", "!done"...), NULL if empty. */
const char *ros_sentence_command(const struct ros_sentence *s);
/* True when words[0] equals word. */
bool ros_sentence_is(const struct ros_sentence *s, const char *word);

/* Finds attribute "=name=value" (split at the second '='; "=name" alone has
 * an empty value). Returns 0 and sets *ret_value (NUL-terminated, points into
 * the sentence) and *ret_len (may be NULL), or -ENOENT. The first match wins. */
int ros_sentence_attr(const struct ros_sentence *s, const char *name, const char **ret_value,
                      size_t *ret_len);
/* Convenience: the value or NULL. */
const char *ros_sentence_get(const struct ros_sentence *s, const char *name);
/* API attribute ".name=value": the value or NULL; name with or without its
 * leading dot ("tag" or ".tag"). */
const char *ros_sentence_api_attr(const struct ros_sentence *s, const char *name);
/* The ".tag=" value or NULL. */
const char *ros_sentence_tag(const struct ros_sentence *s);

/* Query words ("?..."), in order: the idx-th query word (with its '?'), or
 * NULL past the end. Order matters for queries (routeros.md §1.4). */
const struct ros_word *ros_sentence_query(const struct ros_sentence *s, size_t idx);

enum ros_query_op {
    ROS_QUERY_HAS,    /* ?name        property present */
    ROS_QUERY_ABSENT, /* ?-name       property absent */
    ROS_QUERY_EQ,     /* ?name=x, ?=name=x */
    ROS_QUERY_LT,     /* ?<name=x */
    ROS_QUERY_GT,     /* ?>name=x */
    ROS_QUERY_STACK,  /* ?#ops        stack operations, in value */
};

/* A parsed query word; name and value point into the word (not NUL-terminated
 * at name_len: use the lengths). */
struct ros_query {
    enum ros_query_op op;
    const char *name;
    size_t name_len;
    const char *value; /* "" for HAS/ABSENT */
    size_t value_len;
};

/* Parses a query word. 0, or -EINVAL when it is not "?..." or has no name. */
int ros_query_parse(const struct ros_word *w, struct ros_query *ret);

/* ---- streaming decoder ------------------------------------------------ */

/* Owns a capped buffer of received bytes; feed it, then take sentences. */
struct ros_decoder {
    struct buf in;
    struct ros_limits lim;
    int error; /* sticky: first fatal error, 0 if none */
};

/* Extra room in the decoder buffer beyond one maximal sentence, so that a
 * caller draining all sentences before each feed of <= this many bytes never
 * hits the buffer cap. */
#define ROS_DECODER_CHUNK (64u * 1024u)

/* lim NULL means ros_limits_default (copied). */
void ros_decoder_init(struct ros_decoder *d, const struct ros_limits *lim);
void ros_decoder_release(struct ros_decoder *d);
/* Appends received bytes (copied). 0, or -E2BIG when the buffer cap
 * (max_sentence + ROS_DECODER_CHUNK) would be exceeded. */
int ros_decoder_feed(struct ros_decoder *d, const void *data, size_t n);
/* Takes the next complete sentence into *out (released first). Returns 1 when
 * a sentence was produced, 0 when more input is needed, or the sticky error
 * (-E2BIG, -EPROTO). Empty sentences are dropped. */
int ros_decoder_next(struct ros_decoder *d, struct ros_sentence *out);
/* Bytes buffered but not yet returned as sentences. */
size_t ros_decoder_pending(const struct ros_decoder *d);

#endif
