/* Unit tests for src/ros/wire.c: routeros.md §1.3 and §1.6 vectors verbatim. */
/* cmocka.h needs these headers first */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
// clang-format on

#include "wire.h"

/* Hex string ("06 2f6c" — spaces ignored) to bytes; returns an owned buffer. */
static uint8_t *unhex(const char *hex, size_t *ret_len)
{
    size_t n = strlen(hex);
    uint8_t *out = malloc(n / 2 + 1);
    size_t o = 0;
    int hi = -1;
    for (size_t i = 0; i < n; i++) {
        char c = hex[i];
        int v;
        if (c >= '0' && c <= '9')
            v = c - '0';
        else if (c >= 'a' && c <= 'f')
            v = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v = c - 'A' + 10;
        else
            continue;
        if (hi < 0) {
            hi = v;
        } else {
            out[o++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    assert_int_equal(hi, -1);
    *ret_len = o;
    return out;
}

/* ---- §1.3 length vectors ------------------------------------------------ */

static const struct {
    uint32_t len;
    const char *hex;
} len_vectors[] = {
    {0, "00"},
    {1, "01"},
    {0x39, "39"},
    {0x7F, "7F"},
    {0x80, "80 80"},
    {0x82, "80 82"},
    {0x87, "80 87"},
    {0xFF, "80 FF"},
    {0x100, "81 00"},
    {0x1C42, "9C 42"},
    {0x3FFF, "BF FF"},
    {0x4000, "C0 40 00"},
    {0x4321, "C0 43 21"},
    {0xAD73B, "CA D7 3B"},
    {0x1FFFF4, "DF FF F4"},
    {0x1FFFFF, "DF FF FF"},
    {0x200000, "E0 20 00 00"},
    {0x2ACDEF, "E0 2A CD EF"},
    {0x5AD736B, "E5 AD 73 6B"},
    {0xFFFFFF0, "EF FF FF F0"},
    {0xFFFFFFF, "EF FF FF FF"},
    {0x10000000, "F0 10 00 00 00"},
    {0x10000080, "F0 10 00 00 80"},
};

static void test_length_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(len_vectors) / sizeof(len_vectors[0]); i++) {
        size_t want_n;
        uint8_t *want = unhex(len_vectors[i].hex, &want_n);
        uint8_t got[ROS_WIRE_LEN_MAX];

        int n = ros_wire_length_encode(len_vectors[i].len, got);
        assert_int_equal(n, (int)want_n);
        assert_memory_equal(got, want, want_n);

        uint32_t len = 0xDEADBEEF;
        size_t used = 0;
        assert_int_equal(ros_wire_length_decode(want, want_n, &len, &used), 0);
        assert_int_equal(len, len_vectors[i].len);
        assert_int_equal(used, want_n);

        /* every strict prefix is partial */
        for (size_t k = 0; k < want_n; k++)
            assert_int_equal(ros_wire_length_decode(want, k, &len, &used), ROS_WIRE_PARTIAL);
        free(want);
    }
}

static void test_length_max_and_too_big(void **state)
{
    (void)state;
    uint8_t out[ROS_WIRE_LEN_MAX];
    assert_int_equal(ros_wire_length_encode(0xFFFFFFFFu, out), 5);
    static const uint8_t want[] = {0xF0, 0xFF, 0xFF, 0xFF, 0xFF};
    assert_memory_equal(out, want, 5);
#if SIZE_MAX > 0xFFFFFFFFu
    assert_int_equal(ros_wire_length_encode((size_t)0x100000000ull, out), -E2BIG);
#endif
}

static void test_length_control_bytes(void **state)
{
    (void)state;
    uint32_t len;
    size_t used;
    /* F8, FC, FF control bytes, F1..F7 35-bit forms, and the bad prefix FF FF FF FF FF */
    for (unsigned b = 0xF1; b <= 0xFF; b++) {
        uint8_t in[5] = {(uint8_t)b, 0, 0, 0, 0};
        assert_int_equal(ros_wire_length_decode(in, 1, &len, &used), -EPROTO);
        assert_int_equal(ros_wire_length_decode(in, 5, &len, &used), -EPROTO);
    }
    static const uint8_t bad[] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
    assert_int_equal(ros_wire_length_decode(bad, sizeof(bad), &len, &used), -EPROTO);

    struct ros_sentence s = {0};
    static const uint8_t sent_f8[] = {0x01, 'x', 0xF8, 0x00};
    assert_int_equal(ros_sentence_parse(sent_f8, sizeof(sent_f8), &s), -EPROTO);
    static const uint8_t sent_f1[] = {0xF1, 0x0D, 0x4E, 0xF9, 0xC3};
    assert_int_equal(ros_sentence_parse(sent_f1, sizeof(sent_f1), &s), -EPROTO);
    ros_sentence_release(&s);
}

static void test_length_non_minimal_accepted(void **state)
{
    (void)state;
    uint32_t len;
    size_t used;
    static const uint8_t in[] = {0xC0, 0x00, 0x05};
    assert_int_equal(ros_wire_length_decode(in, 3, &len, &used), 0);
    assert_int_equal(len, 5);
    assert_int_equal(used, 3);
}

/* ---- §1.6 whole sentences ---------------------------------------------- */

struct sentence_vector {
    const char *words[8];
    const char *hex;
};

static const struct sentence_vector sentence_vectors[] = {
    {{"/login", "=name=admin", "=password="},
     "06 2f6c6f67696e 0b 3d6e616d653d61646d696e 0a 3d70617373776f72643d 00"},
    {{"!done"}, "05 21646f6e65 00"},
    {{"!done", "=ret=*3"}, "05 21646f6e65 07 3d7265743d2a33 00"},
    {{"!empty"}, "06 21656d707479 00"},
    {{"/ip/service/print", "?name=api"},
     "11 2f69702f736572766963652f7072696e74 09 3f6e616d653d617069 00"},
    {{"/interface/print", "?type=ether", "?type=vlan", "?#|", ".tag=5"},
     "10 2f696e746572666163652f7072696e74 0b 3f747970653d6574686572 0a 3f747970653d766c616e"
     " 03 3f237c 06 2e7461673d35 00"},
    {{"!trap", "=message=invalid user name or password (6)"},
     "05 2174726170 2a "
     "3d6d6573736167653d696e76616c69642075736572206e616d65206f722070617373776f726420283629 00"},
    {{"/login"}, "06 2F 6C 6F 67 69 6E 00"},
};

static size_t nwords_of(const struct sentence_vector *v)
{
    size_t n = 0;
    while (n < 8 && v->words[n])
        n++;
    return n;
}

static void check_words(const struct ros_sentence *s, const struct sentence_vector *v)
{
    size_t n = nwords_of(v);
    assert_int_equal(s->nwords, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(s->words[i].len, strlen(v->words[i]));
        assert_string_equal(s->words[i].data, v->words[i]);
    }
}

static void test_sentence_vectors_encode(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(sentence_vectors) / sizeof(sentence_vectors[0]); i++) {
        const struct sentence_vector *v = &sentence_vectors[i];
        size_t want_n;
        uint8_t *want = unhex(v->hex, &want_n);
        struct buf b;
        buf_init(&b, 1 << 16);
        assert_int_equal(ros_wire_encode_words(&b, v->words, nwords_of(v)), 0);
        assert_int_equal(b.len, want_n);
        assert_memory_equal(b.data, want, want_n);

        /* and via struct ros_sentence */
        struct ros_sentence s = {0};
        for (size_t k = 0; k < nwords_of(v); k++)
            assert_int_equal(ros_sentence_add_str(&s, v->words[k]), 0);
        buf_reset(&b);
        assert_int_equal(ros_sentence_encode(&b, &s), 0);
        assert_int_equal(b.len, want_n);
        assert_memory_equal(b.data, want, want_n);
        ros_sentence_release(&s);
        buf_release(&b);
        free(want);
    }
}

static void test_sentence_vectors_decode(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(sentence_vectors) / sizeof(sentence_vectors[0]); i++) {
        const struct sentence_vector *v = &sentence_vectors[i];
        size_t n;
        uint8_t *in = unhex(v->hex, &n);
        struct ros_sentence s = {0};
        assert_int_equal(ros_sentence_parse(in, n, &s), (ssize_t)n);
        check_words(&s, v);
        /* every strict prefix is partial and leaves the sentence empty */
        for (size_t k = 0; k < n; k++) {
            assert_int_equal(ros_sentence_parse(in, k, &s), ROS_WIRE_PARTIAL);
            assert_int_equal(s.nwords, 0);
        }
        ros_sentence_release(&s);
        free(in);
    }
}

/* All §1.6 sentences concatenated, with empty sentences in between, fed to the
 * streaming decoder one byte at a time. */
static void test_decoder_byte_by_byte(void **state)
{
    (void)state;
    struct buf stream;
    buf_init(&stream, 1 << 16);
    size_t nv = sizeof(sentence_vectors) / sizeof(sentence_vectors[0]);
    for (size_t i = 0; i < nv; i++) {
        size_t n;
        uint8_t *in = unhex(sentence_vectors[i].hex, &n);
        assert_int_equal(buf_append(&stream, "\0\0", i % 3), 0); /* empty sentences */
        assert_int_equal(buf_append(&stream, in, n), 0);
        free(in);
    }
    assert_int_equal(buf_append(&stream, "\0", 1), 0);

    struct ros_decoder d;
    ros_decoder_init(&d, NULL);
    struct ros_sentence s = {0};
    size_t got = 0;
    for (size_t i = 0; i < stream.len; i++) {
        assert_int_equal(ros_decoder_feed(&d, stream.data + i, 1), 0);
        int r;
        while ((r = ros_decoder_next(&d, &s)) == 1) {
            assert_true(got < nv);
            check_words(&s, &sentence_vectors[got]);
            got++;
        }
        assert_int_equal(r, 0);
    }
    assert_int_equal(got, nv);
    assert_int_equal(ros_decoder_pending(&d), 0);
    ros_sentence_release(&s);
    ros_decoder_release(&d);
    buf_release(&stream);
}

static void test_stateless_consumes_leading_empties(void **state)
{
    (void)state;
    static const uint8_t in[] = {0x00, 0x00, 0x05, '!', 'd', 'o', 'n', 'e', 0x00, 0x01};
    struct ros_sentence s = {0};
    assert_int_equal(ros_sentence_parse(in, sizeof(in), &s), 9);
    assert_true(ros_sentence_is(&s, "!done"));
    /* only empties: partial (the caller uses ros_wire_skip_empty) */
    assert_int_equal(ros_sentence_parse(in, 2, &s), ROS_WIRE_PARTIAL);
    assert_int_equal(ros_wire_skip_empty(in, sizeof(in)), 2);

    /* a non-minimal zero length (80 00, C0 00 00) is an empty sentence too */
    static const uint8_t nm[] = {0x80, 0x00, 0xC0, 0x00, 0x00, 0x03, '!', 'r', 'e', 0x80, 0x00};
    assert_int_equal(ros_sentence_parse(nm, sizeof(nm), &s), (ssize_t)sizeof(nm));
    assert_int_equal(s.nwords, 1);
    assert_true(ros_sentence_is(&s, "!re"));
    assert_int_equal(ros_sentence_parse(nm, 5, &s), ROS_WIRE_PARTIAL);
    ros_sentence_release(&s);
}

/* ---- sizes, caps, bytes ------------------------------------------------- */

static void roundtrip_word(size_t len, size_t want_wire_word)
{
    char *w = malloc(len + 1);
    memset(w, 'a', len);
    w[len] = '\0';
    const char *words[] = {w};
    struct buf b;
    buf_init(&b, 4 << 20);
    assert_int_equal(ros_wire_encode_words(&b, words, 1), 0);
    assert_int_equal(b.len, want_wire_word + 1); /* + terminator */
    struct ros_sentence s = {0};
    struct ros_limits lim = {.max_word = 4 << 20, .max_words = 1, .max_sentence = 4 << 20};
    assert_int_equal(ros_sentence_parse_limits((const uint8_t *)b.data, b.len, &lim, &s),
                     (ssize_t)b.len);
    assert_int_equal(s.nwords, 1);
    assert_int_equal(s.words[0].len, len);
    assert_memory_equal(s.words[0].data, w, len);
    assert_int_equal(s.words[0].data[len], '\0');
    ros_sentence_release(&s);
    buf_release(&b);
    free(w);
}

static void test_word_sizes(void **state)
{
    (void)state;
    /* APIConnectorTest.php writeWordProvider: 128 -> 130, 254 -> 256, 255 -> 257 */
    roundtrip_word(127, 128);
    roundtrip_word(128, 130);
    roundtrip_word(254, 256);
    roundtrip_word(255, 257);
    roundtrip_word(0x3FFF, 0x3FFF + 2);
    roundtrip_word(0x4000, 0x4000 + 3);
    roundtrip_word(0x200000 - 1, 0x200000 - 1 + 3);
}

static void test_comment_10009(void **state)
{
    (void)state;
    /* readWordProvider: "=comment=" + 'a' * 10000 is a 10,009-byte word */
    char *w = malloc(10009 + 1);
    memcpy(w, "=comment=", 9);
    memset(w + 9, 'a', 10000);
    w[10009] = '\0';
    const char *words[] = {"/ip/firewall/nat/set", "=.id=*1", w};
    struct buf b;
    buf_init(&b, 1 << 20);
    assert_int_equal(ros_wire_encode_words(&b, words, 3), 0);
    /* 10009 = 0x2719 -> A7 19 */
    const uint8_t *p = (const uint8_t *)b.data + 1 + 20 + 1 + 7;
    assert_int_equal(p[0], 0xA7);
    assert_int_equal(p[1], 0x19);

    struct ros_decoder d;
    ros_decoder_init(&d, NULL);
    struct ros_sentence s = {0};
    /* feed in uneven chunks */
    size_t off = 0, step = 1;
    int r = 0;
    while (off < b.len) {
        size_t n = b.len - off < step ? b.len - off : step;
        assert_int_equal(ros_decoder_feed(&d, b.data + off, n), 0);
        off += n;
        step = step * 3 + 1;
        r = ros_decoder_next(&d, &s);
        if (off < b.len)
            assert_int_equal(r, 0);
    }
    assert_int_equal(r, 1);
    assert_int_equal(s.nwords, 3);
    const char *v;
    size_t vl;
    assert_int_equal(ros_sentence_attr(&s, "comment", &v, &vl), 0);
    assert_int_equal(vl, 10000);
    assert_int_equal(v[0], 'a');
    assert_int_equal(v[9999], 'a');
    assert_string_equal(ros_sentence_get(&s, ".id"), "*1");
    ros_sentence_release(&s);
    ros_decoder_release(&d);
    buf_release(&b);
    free(w);
}

static void test_utf8_length_in_bytes(void **state)
{
    (void)state;
    /* "ł" is 2 UTF-8 bytes: "=name=ł" is 8 bytes */
    const char *words[] = {"/user/set", "=name=\xc5\x82"};
    struct buf b;
    buf_init(&b, 1024);
    assert_int_equal(ros_wire_encode_words(&b, words, 2), 0);
    assert_int_equal((uint8_t)b.data[10], 8);
    struct ros_sentence s = {0};
    assert_int_equal(ros_sentence_parse((const uint8_t *)b.data, b.len, &s), (ssize_t)b.len);
    assert_int_equal(s.words[1].len, 8);
    assert_string_equal(ros_sentence_get(&s, "name"), "\xc5\x82");
    ros_sentence_release(&s);
    buf_release(&b);
}

static void test_binary_bytes_and_nul(void **state)
{
    (void)state;
    struct ros_sentence a = {0}, b = {0};
    assert_int_equal(ros_sentence_add_str(&a, "!re"), 0);
    assert_int_equal(ros_sentence_add(&a, "=x=\0\xff\x01", 6), 0);
    struct buf out;
    buf_init(&out, 1024);
    assert_int_equal(ros_sentence_encode(&out, &a), 0);
    assert_int_equal(ros_sentence_parse((const uint8_t *)out.data, out.len, &b), (ssize_t)out.len);
    assert_true(ros_sentence_equal(&a, &b));
    assert_int_equal(b.words[1].len, 6);
    const char *v;
    size_t vl;
    assert_int_equal(ros_sentence_attr(&b, "x", &v, &vl), 0);
    assert_int_equal(vl, 3);
    assert_memory_equal(v, "\0\xff\x01", 3);
    ros_sentence_release(&a);
    ros_sentence_release(&b);
    buf_release(&out);
}

static void test_caps(void **state)
{
    (void)state;
    struct ros_limits lim = {.max_word = 16, .max_words = 3, .max_sentence = 40};
    struct ros_sentence s = {0};

    /* a word of 17 bytes: refused as soon as its prefix is seen */
    static const uint8_t big[] = {0x11, 'a'};
    assert_int_equal(ros_sentence_parse_limits(big, sizeof(big), &lim, &s), -E2BIG);
    /* a 4-byte prefix announcing 256 MiB with the default caps */
    static const uint8_t huge[] = {0xEF, 0xFF, 0xFF, 0xFF};
    assert_int_equal(ros_sentence_parse(huge, sizeof(huge), &s), -E2BIG);
    static const uint8_t huge5[] = {0xF0, 0xFF, 0xFF, 0xFF, 0xFF};
    assert_int_equal(ros_sentence_parse(huge5, sizeof(huge5), &s), -E2BIG);

    /* exactly 16 bytes is fine */
    uint8_t ok[1 + 16 + 1] = {0x10};
    memset(ok + 1, 'b', 16);
    ok[17] = 0;
    assert_int_equal(ros_sentence_parse_limits(ok, sizeof(ok), &lim, &s), (ssize_t)sizeof(ok));

    /* 4 words > max_words 3 */
    static const uint8_t four[] = {1, 'a', 1, 'b', 1, 'c', 1, 'd', 0};
    assert_int_equal(ros_sentence_parse_limits(four, sizeof(four), &lim, &s), -E2BIG);
    assert_int_equal(ros_sentence_parse_limits(four, 6, &lim, &s), ROS_WIRE_PARTIAL);
    assert_int_equal(ros_sentence_parse_limits(four, 7, &lim, &s), -E2BIG);

    /* 3 words of 14 bytes: 3 * 15 + 1 = 46 wire bytes > 40 */
    uint8_t three[46];
    for (int i = 0; i < 3; i++) {
        three[i * 15] = 14;
        memset(three + i * 15 + 1, 'c', 14);
    }
    three[45] = 0;
    assert_int_equal(ros_sentence_parse_limits(three, sizeof(three), &lim, &s), -E2BIG);
    /* the exact limit: 2 words of 14 + one of 8 -> 30 + 9 + 1 = 40 */
    three[30] = 8;
    three[39] = 0;
    assert_int_equal(ros_sentence_parse_limits(three, 40, &lim, &s), 40);

    /* the decoder error is sticky */
    struct ros_decoder d;
    ros_decoder_init(&d, &lim);
    assert_int_equal(ros_decoder_feed(&d, big, sizeof(big)), 0);
    assert_int_equal(ros_decoder_next(&d, &s), -E2BIG);
    assert_int_equal(ros_decoder_next(&d, &s), -E2BIG);
    assert_int_equal(ros_decoder_feed(&d, ok, sizeof(ok)), -E2BIG);
    ros_decoder_release(&d);

    /* the decoder buffer itself is capped */
    ros_decoder_init(&d, &lim);
    char *flood = calloc(1, 40 + ROS_DECODER_CHUNK + 1);
    assert_int_equal(ros_decoder_feed(&d, flood, 40 + ROS_DECODER_CHUNK + 1), -E2BIG);
    /* but a flood of empty sentences is drained */
    assert_int_equal(ros_decoder_feed(&d, flood, ROS_DECODER_CHUNK), 0);
    assert_int_equal(ros_decoder_next(&d, &s), 0);
    assert_int_equal(ros_decoder_pending(&d), 0);
    assert_int_equal(ros_decoder_feed(&d, flood, ROS_DECODER_CHUNK), 0);
    free(flood);
    ros_decoder_release(&d);
    ros_sentence_release(&s);
}

static void test_encode_errors(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 8);
    assert_int_equal(buf_append(&b, "xy", 2), 0);
    const char *empty_word[] = {"/x", ""};
    assert_int_equal(ros_wire_encode_words(&b, empty_word, 2), -EINVAL);
    assert_int_equal(ros_wire_encode_words(&b, empty_word, 0), -EINVAL);
    const char *too_long[] = {"/abcdefgh"};
    assert_int_equal(ros_wire_encode_words(&b, too_long, 1), -E2BIG);
    /* unchanged after errors */
    assert_int_equal(b.len, 2);
    assert_string_equal(b.data, "xy");
    struct ros_sentence s = {0};
    assert_int_equal(ros_sentence_encode(&b, &s), -EINVAL);
    assert_int_equal(ros_sentence_add(&s, "", 0), -EINVAL);
    buf_release(&b);
}

/* ---- helpers ------------------------------------------------------------ */

static void test_helpers(void **state)
{
    (void)state;
    struct ros_sentence s = {0};
    ros_sentence_add_str(&s, "!re");
    ros_sentence_add_str(&s, "=name=iu=c3Eeg");
    ros_sentence_add_str(&s, "=password=");
    ros_sentence_add_str(&s, "=follow");
    ros_sentence_add_str(&s, "=.id=*1A");
    ros_sentence_add_str(&s, "=.proplist=.id,name,comment");
    ros_sentence_add_str(&s, ".tag=abc");
    ros_sentence_add_str(&s, "=namex=no");
    ros_sentence_addf(&s, "=n%d=%s", 7, "seven");
    ros_sentence_add_attr(&s, "comment", "a=b");

    assert_string_equal(ros_sentence_command(&s), "!re");
    assert_true(ros_sentence_is(&s, "!re"));
    assert_false(ros_sentence_is(&s, "!r"));
    assert_string_equal(ros_sentence_get(&s, "name"), "iu=c3Eeg");
    assert_string_equal(ros_sentence_get(&s, "password"), "");
    assert_string_equal(ros_sentence_get(&s, "follow"), "");
    assert_string_equal(ros_sentence_get(&s, ".id"), "*1A");
    assert_string_equal(ros_sentence_get(&s, ".proplist"), ".id,name,comment");
    assert_string_equal(ros_sentence_get(&s, "namex"), "no");
    assert_string_equal(ros_sentence_get(&s, "n7"), "seven");
    assert_string_equal(ros_sentence_get(&s, "comment"), "a=b");
    assert_null(ros_sentence_get(&s, "nam"));
    assert_null(ros_sentence_get(&s, "tag"));
    assert_null(ros_sentence_get(&s, "re"));
    assert_null(ros_sentence_get(&s, ""));
    assert_string_equal(ros_sentence_tag(&s), "abc");
    assert_string_equal(ros_sentence_api_attr(&s, ".tag"), "abc");
    assert_int_equal(ros_word_kind(&s.words[0]), ROS_WORD_REPLY);
    assert_int_equal(ros_word_kind(&s.words[1]), ROS_WORD_ATTR);
    assert_int_equal(ros_word_kind(&s.words[6]), ROS_WORD_API_ATTR);
    assert_null(ros_sentence_query(&s, 0));

    struct ros_sentence e = {0};
    assert_null(ros_sentence_command(&e));
    assert_null(ros_sentence_tag(&e));
    ros_sentence_release(&s);
    ros_sentence_release(&e);
    ros_sentence_release(NULL);
}

static void check_query(const struct ros_word *w, enum ros_query_op op, const char *name,
                        const char *value)
{
    struct ros_query q;
    assert_int_equal(ros_query_parse(w, &q), 0);
    assert_int_equal(q.op, op);
    assert_int_equal(q.name_len, strlen(name));
    assert_memory_equal(q.name, name, q.name_len);
    assert_int_equal(q.value_len, strlen(value));
    assert_memory_equal(q.value, value, q.value_len);
}

static void test_queries(void **state)
{
    (void)state;
    struct ros_sentence s = {0};
    const char *words[] = {
        "/interface/print", "?type=ether", "?=type=vlan", "?#|!",           "?name",
        "?-comment",        "?<mtu=1500",  "?>comment=",  "=.proplist=name"};
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        ros_sentence_add_str(&s, words[i]);
    assert_int_equal(ros_word_kind(&s.words[0]), ROS_WORD_COMMAND);
    check_query(ros_sentence_query(&s, 0), ROS_QUERY_EQ, "type", "ether");
    check_query(ros_sentence_query(&s, 1), ROS_QUERY_EQ, "type", "vlan");
    check_query(ros_sentence_query(&s, 2), ROS_QUERY_STACK, "", "|!");
    check_query(ros_sentence_query(&s, 3), ROS_QUERY_HAS, "name", "");
    check_query(ros_sentence_query(&s, 4), ROS_QUERY_ABSENT, "comment", "");
    check_query(ros_sentence_query(&s, 5), ROS_QUERY_LT, "mtu", "1500");
    check_query(ros_sentence_query(&s, 6), ROS_QUERY_GT, "comment", "");
    assert_null(ros_sentence_query(&s, 7));

    struct ros_query q;
    struct ros_word bad1 = {"?", 1}, bad2 = {"?=", 2}, bad3 = {"=x=1", 4}, bad4 = {"?-", 2};
    assert_int_equal(ros_query_parse(&bad1, &q), -EINVAL);
    assert_int_equal(ros_query_parse(&bad2, &q), -EINVAL);
    assert_int_equal(ros_query_parse(&bad3, &q), -EINVAL);
    assert_int_equal(ros_query_parse(&bad4, &q), -EINVAL);
    ros_sentence_release(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_length_vectors),
        cmocka_unit_test(test_length_max_and_too_big),
        cmocka_unit_test(test_length_control_bytes),
        cmocka_unit_test(test_length_non_minimal_accepted),
        cmocka_unit_test(test_sentence_vectors_encode),
        cmocka_unit_test(test_sentence_vectors_decode),
        cmocka_unit_test(test_decoder_byte_by_byte),
        cmocka_unit_test(test_stateless_consumes_leading_empties),
        cmocka_unit_test(test_word_sizes),
        cmocka_unit_test(test_comment_10009),
        cmocka_unit_test(test_utf8_length_in_bytes),
        cmocka_unit_test(test_binary_bytes_and_nul),
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_encode_errors),
        cmocka_unit_test(test_helpers),
        cmocka_unit_test(test_queries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
