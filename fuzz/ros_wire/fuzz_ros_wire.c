/*
 * fuzz_ros_wire - the RouterOS API sentence decoder on untrusted bytes.
 *
 * Input: byte 0 seeds the chunk sizes, the rest is a byte stream from a peer.
 * Oracles (abort on failure):
 *  1. the streaming decoder fed in random-sized chunks yields exactly the
 *     sentences, and ends with exactly the status, of the stateless parser
 *     run over the whole buffer (split points must not matter);
 *  2. every decoded sentence re-encodes and re-parses to itself, within caps;
 *  3. the word helpers do not read out of bounds (ASan).
 * Small caps are used so that the -E2BIG paths are reached.
 */
#include "wire.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct ros_limits lim = {.max_word = 300, .max_words = 16, .max_sentence = 2048};

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x))                                                                                  \
            abort();                                                                               \
    } while (0)

struct list {
    struct ros_sentence *v;
    size_t n;
};

static void list_push(struct list *l, struct ros_sentence *s)
{
    l->v = realloc(l->v, (l->n + 1) * sizeof(*l->v));
    CHECK(l->v);
    l->v[l->n++] = *s;
    ros_sentence_init(s);
}

static void list_free(struct list *l)
{
    for (size_t i = 0; i < l->n; i++)
        ros_sentence_release(&l->v[i]);
    free(l->v);
}

static uint32_t next_rand(uint32_t *x)
{
    /* xorshift32 */
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

static void exercise_helpers(const struct ros_sentence *s)
{
    const char *v;
    size_t vl;
    (void)ros_sentence_command(s);
    (void)ros_sentence_tag(s);
    (void)ros_sentence_get(s, "message");
    if (ros_sentence_attr(s, ".id", &v, &vl) == 0)
        CHECK(v[vl] == '\0');
    for (size_t i = 0; i < s->nwords; i++) {
        CHECK(s->words[i].len > 0);
        CHECK(s->words[i].data[s->words[i].len] == '\0');
        (void)ros_word_kind(&s->words[i]);
    }
    const struct ros_word *q;
    for (size_t i = 0; (q = ros_sentence_query(s, i)); i++) {
        struct ros_query pq;
        if (ros_query_parse(q, &pq) == 0) {
            CHECK(pq.name + pq.name_len <= q->data + q->len);
            CHECK(pq.value + pq.value_len <= q->data + q->len);
        }
    }
}

static void check_roundtrip(const struct ros_sentence *s)
{
    struct buf b;
    struct ros_sentence back;
    buf_init(&b, lim.max_sentence);
    ros_sentence_init(&back);
    /* the shortest encoding is never longer than what was accepted */
    CHECK(ros_sentence_encode(&b, s) == 0);
    CHECK(ros_sentence_parse_limits((const uint8_t *)b.data, b.len, &lim, &back) == (ssize_t)b.len);
    CHECK(ros_sentence_equal(s, &back));
    ros_sentence_release(&back);
    buf_release(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint32_t seed = 0x9E3779B9u ^ data[0];
    data++;
    size--;

    struct list whole = {0}, chunked = {0};
    struct ros_sentence s;
    ros_sentence_init(&s);

    /* Stateless parser over the whole buffer. */
    size_t pos = 0;
    int whole_status;
    for (;;) {
        pos += ros_wire_skip_empty(data + pos, size - pos);
        ssize_t r = ros_sentence_parse_limits(data + pos, size - pos, &lim, &s);
        if (r <= 0) {
            CHECK(r != 0);
            CHECK(s.nwords == 0);
            whole_status = r == ROS_WIRE_PARTIAL ? 0 : (int)r;
            break;
        }
        CHECK((size_t)r <= size - pos);
        pos += (size_t)r;
        list_push(&whole, &s);
    }

    /* Streaming decoder, random chunks of 1..64 bytes, drained after each feed. */
    struct ros_decoder d;
    ros_decoder_init(&d, &lim);
    int dec_status = 0;
    size_t off = 0;
    while (dec_status == 0 && off < size) {
        size_t n = 1 + next_rand(&seed) % 64;
        if (n > size - off)
            n = size - off;
        CHECK(ros_decoder_feed(&d, data + off, n) == 0);
        off += n;
        int r;
        while ((r = ros_decoder_next(&d, &s)) == 1)
            list_push(&chunked, &s);
        dec_status = r;
    }
    ros_decoder_release(&d);

    CHECK(dec_status == whole_status);
    CHECK(whole.n == chunked.n);
    for (size_t i = 0; i < whole.n; i++) {
        CHECK(ros_sentence_equal(&whole.v[i], &chunked.v[i]));
        exercise_helpers(&whole.v[i]);
        check_roundtrip(&whole.v[i]);
    }

    list_free(&whole);
    list_free(&chunked);
    ros_sentence_release(&s);
    return 0;
}
