#include "wire.h"

#include "alloc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct ros_limits ros_limits_default = {
    .max_word = ROS_WIRE_MAX_WORD,
    .max_words = ROS_WIRE_MAX_WORDS,
    .max_sentence = ROS_WIRE_MAX_SENTENCE,
};

/* ---- lengths ---------------------------------------------------------- */

int ros_wire_length_encode(size_t len, uint8_t out[ROS_WIRE_LEN_MAX])
{
    if (len < 0x80) {
        out[0] = (uint8_t)len;
        return 1;
    }
    if (len < 0x4000) {
        out[0] = (uint8_t)((len >> 8) | 0x80);
        out[1] = (uint8_t)len;
        return 2;
    }
    if (len < 0x200000) {
        out[0] = (uint8_t)((len >> 16) | 0xC0);
        out[1] = (uint8_t)(len >> 8);
        out[2] = (uint8_t)len;
        return 3;
    }
    if (len < 0x10000000) {
        out[0] = (uint8_t)((len >> 24) | 0xE0);
        out[1] = (uint8_t)(len >> 16);
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
        return 4;
    }
    if (len > 0xFFFFFFFFu)
        return -E2BIG;
    /* The 5-byte form: F0 then 4 bytes, as go-routeros / tik4net / node-routeros. */
    out[0] = 0xF0;
    out[1] = (uint8_t)(len >> 24);
    out[2] = (uint8_t)(len >> 16);
    out[3] = (uint8_t)(len >> 8);
    out[4] = (uint8_t)len;
    return 5;
}

int ros_wire_length_decode(const uint8_t *buf, size_t n, uint32_t *ret_len, size_t *ret_used)
{
    if (n == 0)
        return ROS_WIRE_PARTIAL;

    uint8_t b0 = buf[0];
    size_t used;
    uint32_t v;
    if (b0 < 0x80) {
        used = 1;
        v = b0;
    } else if (b0 < 0xC0) {
        used = 2;
        v = b0 & 0x3F;
    } else if (b0 < 0xE0) {
        used = 3;
        v = b0 & 0x1F;
    } else if (b0 < 0xF0) {
        used = 4;
        v = b0 & 0x0F;
    } else if (b0 == 0xF0) {
        used = 5;
        v = 0;
    } else {
        /* F1..F7: 35-bit lengths (PHP client only); F8..FF: control bytes. */
        return -EPROTO;
    }
    if (n < used)
        return ROS_WIRE_PARTIAL;
    for (size_t i = 1; i < used; i++)
        v = (v << 8) | buf[i];
    *ret_len = v;
    *ret_used = used;
    return 0;
}

/* ---- sentences -------------------------------------------------------- */

void ros_sentence_init(struct ros_sentence *s)
{
    s->words = NULL;
    s->nwords = 0;
    s->alloc = 0;
}

void ros_sentence_clear(struct ros_sentence *s)
{
    for (size_t i = 0; i < s->nwords; i++)
        free(s->words[i].data);
    s->nwords = 0;
}

void ros_sentence_release(struct ros_sentence *s)
{
    if (!s)
        return;
    ros_sentence_clear(s);
    free(s->words);
    ros_sentence_init(s);
}

/* Appends without validation (the parser never produces empty words). */
static void push_word(struct ros_sentence *s, const void *data, size_t len)
{
    if (s->nwords == s->alloc) {
        size_t n = s->alloc ? s->alloc * 2 : 8;
        s->words = xrealloc(s->words, n * sizeof(*s->words));
        s->alloc = n;
    }
    char *p = xmalloc(len + 1);
    if (len)
        memcpy(p, data, len);
    p[len] = '\0';
    s->words[s->nwords].data = p;
    s->words[s->nwords].len = len;
    s->nwords++;
}

int ros_sentence_add(struct ros_sentence *s, const void *data, size_t len)
{
    if (len == 0)
        return -EINVAL;
    push_word(s, data, len);
    return 0;
}

int ros_sentence_add_str(struct ros_sentence *s, const char *word)
{
    return ros_sentence_add(s, word, strlen(word));
}

int ros_sentence_addf(struct ros_sentence *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *w = NULL;
    int n = vasprintf(&w, fmt, ap);
    va_end(ap);
    if (n < 0)
        abort(); /* OOM, as xasprintf */
    int r = ros_sentence_add(s, w, (size_t)n);
    free(w);
    return r;
}

int ros_sentence_add_attr(struct ros_sentence *s, const char *name, const char *value)
{
    return ros_sentence_addf(s, "=%s=%s", name, value);
}

bool ros_sentence_equal(const struct ros_sentence *a, const struct ros_sentence *b)
{
    if (a->nwords != b->nwords)
        return false;
    for (size_t i = 0; i < a->nwords; i++) {
        if (a->words[i].len != b->words[i].len)
            return false;
        if (memcmp(a->words[i].data, b->words[i].data, a->words[i].len) != 0)
            return false;
    }
    return true;
}

size_t ros_wire_skip_empty(const uint8_t *buf, size_t len)
{
    size_t i = 0;
    while (i < len && buf[i] == 0x00)
        i++;
    return i;
}

ssize_t ros_sentence_parse_limits(const uint8_t *buf, size_t len, const struct ros_limits *lim,
                                  struct ros_sentence *out)
{
    if (!lim)
        lim = &ros_limits_default;
    ros_sentence_clear(out);

    size_t start = ros_wire_skip_empty(buf, len);
    size_t pos = start;
    size_t nwords = 0;

    /* Pass 1: walk the prefixes; enforce caps as soon as a length is known. */
    for (;;) {
        uint32_t wl;
        size_t used;
        int r = ros_wire_length_decode(buf + pos, len - pos, &wl, &used);
        if (r < 0)
            return r;
        if (wl == 0) {
            pos += used;
            if (nwords > 0)
                break;
            /* A zero-length word before any word is an empty sentence, even
             * with a non-minimal prefix (80 00): skip it like a bare 00. */
            start = pos;
            continue;
        }
        if (wl > lim->max_word)
            return -E2BIG;
        if (++nwords > lim->max_words)
            return -E2BIG;
        /* wire size so far, this word, and at least the terminator */
        if ((pos - start) + used + (size_t)wl + 1 > lim->max_sentence)
            return -E2BIG;
        if (len - pos - used < wl)
            return ROS_WIRE_PARTIAL;
        pos += used + wl;
    }
    if (pos - start > lim->max_sentence)
        return -E2BIG;

    /* Pass 2: copy the words out. The prefixes were all checked above. */
    size_t p = start;
    for (size_t i = 0; i < nwords; i++) {
        uint32_t wl;
        size_t used;
        (void)ros_wire_length_decode(buf + p, len - p, &wl, &used);
        push_word(out, buf + p + used, wl);
        p += used + wl;
    }
    return (ssize_t)pos;
}

ssize_t ros_sentence_parse(const uint8_t *buf, size_t len, struct ros_sentence *out)
{
    return ros_sentence_parse_limits(buf, len, NULL, out);
}

static int encode_word(struct buf *out, const void *data, size_t len)
{
    uint8_t pfx[ROS_WIRE_LEN_MAX];
    if (len == 0)
        return -EINVAL;
    int n = ros_wire_length_encode(len, pfx);
    if (n < 0)
        return n;
    int r = buf_append(out, pfx, (size_t)n);
    if (r < 0)
        return r;
    return buf_append(out, data, len);
}

/* Undo a partial append: the buf API has no truncate, the struct is ours to edit. */
static void truncate_to(struct buf *out, size_t len)
{
    out->len = len;
    if (out->data)
        out->data[len] = '\0';
}

int ros_sentence_encode(struct buf *out, const struct ros_sentence *s)
{
    if (s->nwords == 0)
        return -EINVAL;
    size_t old = out->len;
    int r;
    for (size_t i = 0; i < s->nwords; i++) {
        r = encode_word(out, s->words[i].data, s->words[i].len);
        if (r < 0)
            goto out_truncate;
    }
    r = buf_append(out, "", 1);
    if (r < 0)
        goto out_truncate;
    return 0;

out_truncate:
    truncate_to(out, old);
    return r;
}

int ros_wire_encode_words(struct buf *out, const char *const *words, size_t n)
{
    if (n == 0)
        return -EINVAL;
    size_t old = out->len;
    int r;
    for (size_t i = 0; i < n; i++) {
        r = encode_word(out, words[i], strlen(words[i]));
        if (r < 0)
            goto out_truncate;
    }
    r = buf_append(out, "", 1);
    if (r < 0)
        goto out_truncate;
    return 0;

out_truncate:
    truncate_to(out, old);
    return r;
}

/* ---- word helpers ----------------------------------------------------- */

enum ros_word_kind ros_word_kind(const struct ros_word *w)
{
    if (w->len == 0)
        return ROS_WORD_OTHER;
    switch (w->data[0]) {
    case '/': return ROS_WORD_COMMAND;
    case '!': return ROS_WORD_REPLY;
    case '=': return ROS_WORD_ATTR;
    case '.': return ROS_WORD_API_ATTR;
    case '?': return ROS_WORD_QUERY;
    default: return ROS_WORD_OTHER;
    }
}

const char *ros_sentence_command(const struct ros_sentence *s)
{
    return s->nwords ? s->words[0].data : NULL;
}

bool ros_sentence_is(const struct ros_sentence *s, const char *word)
{
    size_t n = strlen(word);
    return s->nwords && s->words[0].len == n && memcmp(s->words[0].data, word, n) == 0;
}

/* Splits the word after its 1-char marker at the first '=' following the name:
 * marker name [= value]. Returns true and the value when the name matches. */
static bool match_named(const struct ros_word *w, char marker, const char *name, size_t nlen,
                        const char **ret_value, size_t *ret_len)
{
    if (w->len < 1 + nlen || w->data[0] != marker)
        return false;
    if (memcmp(w->data + 1, name, nlen) != 0)
        return false;
    size_t rest = 1 + nlen;
    if (rest == w->len) { /* "=only-key": empty value */
        *ret_value = w->data + rest;
        *ret_len = 0;
        return true;
    }
    if (w->data[rest] != '=')
        return false;
    *ret_value = w->data + rest + 1;
    *ret_len = w->len - rest - 1;
    return true;
}

int ros_sentence_attr(const struct ros_sentence *s, const char *name, const char **ret_value,
                      size_t *ret_len)
{
    size_t nlen = strlen(name);
    if (nlen == 0 || memchr(name, '=', nlen))
        return -ENOENT;
    /* words[0] is the command or reply word, never an attribute */
    for (size_t i = 1; i < s->nwords; i++) {
        const char *v;
        size_t vl;
        if (match_named(&s->words[i], '=', name, nlen, &v, &vl)) {
            *ret_value = v;
            if (ret_len)
                *ret_len = vl;
            return 0;
        }
    }
    return -ENOENT;
}

const char *ros_sentence_get(const struct ros_sentence *s, const char *name)
{
    const char *v;
    return ros_sentence_attr(s, name, &v, NULL) == 0 ? v : NULL;
}

const char *ros_sentence_api_attr(const struct ros_sentence *s, const char *name)
{
    if (name[0] == '.')
        name++;
    size_t nlen = strlen(name);
    if (nlen == 0 || memchr(name, '=', nlen))
        return NULL;
    for (size_t i = 1; i < s->nwords; i++) {
        const char *v;
        size_t vl;
        if (match_named(&s->words[i], '.', name, nlen, &v, &vl))
            return v;
    }
    return NULL;
}

const char *ros_sentence_tag(const struct ros_sentence *s)
{
    return ros_sentence_api_attr(s, "tag");
}

const struct ros_word *ros_sentence_query(const struct ros_sentence *s, size_t idx)
{
    for (size_t i = 1; i < s->nwords; i++) {
        if (ros_word_kind(&s->words[i]) != ROS_WORD_QUERY)
            continue;
        if (idx == 0)
            return &s->words[i];
        idx--;
    }
    return NULL;
}

/* p[0..n) is "name" or "name=value": split at the first '='. */
static void split_name_value(const char *p, size_t n, struct ros_query *q)
{
    const char *eq = memchr(p, '=', n);
    q->name = p;
    if (eq) {
        q->name_len = (size_t)(eq - p);
        q->value = eq + 1;
        q->value_len = n - q->name_len - 1;
    } else {
        q->name_len = n;
        q->value = p + n; /* the word's NUL terminator: "" */
        q->value_len = 0;
    }
}

int ros_query_parse(const struct ros_word *w, struct ros_query *ret)
{
    struct ros_query q;
    if (w->len < 2 || w->data[0] != '?')
        return -EINVAL;
    const char *p = w->data + 2;
    size_t n = w->len - 2;
    switch (w->data[1]) {
    case '#':
        q.op = ROS_QUERY_STACK;
        q.name = p;
        q.name_len = 0;
        q.value = p;
        q.value_len = n;
        *ret = q;
        return 0;
    case '-':
        q.op = ROS_QUERY_ABSENT;
        q.name = p;
        q.name_len = n;
        q.value = p + n;
        q.value_len = 0;
        break;
    case '<':
        q.op = ROS_QUERY_LT;
        split_name_value(p, n, &q);
        break;
    case '>':
        q.op = ROS_QUERY_GT;
        split_name_value(p, n, &q);
        break;
    case '=':
        q.op = ROS_QUERY_EQ;
        split_name_value(p, n, &q);
        break;
    default:
        split_name_value(w->data + 1, w->len - 1, &q);
        q.op = memchr(w->data + 1, '=', w->len - 1) ? ROS_QUERY_EQ : ROS_QUERY_HAS;
        break;
    }
    if (q.name_len == 0)
        return -EINVAL;
    *ret = q;
    return 0;
}

/* ---- streaming decoder ------------------------------------------------ */

void ros_decoder_init(struct ros_decoder *d, const struct ros_limits *lim)
{
    d->lim = lim ? *lim : ros_limits_default;
    size_t cap = d->lim.max_sentence;
    cap = cap > SIZE_MAX - ROS_DECODER_CHUNK ? SIZE_MAX - 1 : cap + ROS_DECODER_CHUNK;
    buf_init(&d->in, cap);
    d->error = 0;
}

void ros_decoder_release(struct ros_decoder *d)
{
    if (!d)
        return;
    buf_release(&d->in);
}

int ros_decoder_feed(struct ros_decoder *d, const void *data, size_t n)
{
    if (d->error)
        return d->error;
    return buf_append(&d->in, data, n);
}

int ros_decoder_next(struct ros_decoder *d, struct ros_sentence *out)
{
    if (d->error)
        return d->error;
    ros_sentence_clear(out);
    /* Drop empty sentences now so that a stream of 0x00 cannot fill the buffer. */
    size_t skip = ros_wire_skip_empty((const uint8_t *)d->in.data, d->in.len);
    if (skip)
        buf_consume(&d->in, skip);
    if (d->in.len == 0)
        return 0;
    ssize_t r = ros_sentence_parse_limits((const uint8_t *)d->in.data, d->in.len, &d->lim, out);
    if (r == ROS_WIRE_PARTIAL)
        return 0;
    if (r < 0) {
        d->error = (int)r;
        return d->error;
    }
    buf_consume(&d->in, (size_t)r);
    return 1;
}

size_t ros_decoder_pending(const struct ros_decoder *d)
{
    return d->in.len;
}
