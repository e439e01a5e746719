#include "utf8.h"

#include "alloc.h"

#include <string.h>

size_t utf8_seq(const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    unsigned char c = s[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xbf; /* range of the second byte */
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else {
        return 0;
    }
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return n;
}

bool utf8_valid(const char *s)
{
    while (*s) {
        size_t n = utf8_seq(s);
        if (!n)
            return false;
        s += n;
    }
    return true;
}

char *utf8_sanitize(const char *s)
{
    size_t len = strlen(s);
    char *out = xmalloc(3 * len + 1);
    size_t o = 0;
    while (*s) {
        size_t n = utf8_seq(s);
        if (n) {
            memcpy(out + o, s, n);
            o += n;
            s += n;
        } else {
            memcpy(out + o, "\xef\xbf\xbd", 3);
            o += 3;
            s++;
        }
    }
    out[o] = '\0';
    return out;
}
