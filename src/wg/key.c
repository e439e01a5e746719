/* key.c - WireGuard keys with libsodium (X25519), base64 and hex forms. */
#include "wg_key.h"

#include <errno.h>
#include <sodium.h>
#include <stddef.h>
#include <string.h>

int wg_key_generate(struct wg_key *ret)
{
    struct wg_key k;
    if (sodium_init() < 0)
        return -EIO;
    randombytes_buf(k.b, sizeof(k.b));
    wg_key_clamp(&k);
    *ret = k;
    sodium_memzero(&k, sizeof(k));
    return 0;
}

void wg_key_clamp(struct wg_key *k)
{
    k->b[0] &= 248;
    k->b[31] &= 127;
    k->b[31] |= 64;
}

int wg_key_public(const struct wg_key *priv, struct wg_key *ret)
{
    struct wg_key pub;
    if (crypto_scalarmult_base(pub.b, priv->b) != 0)
        return -EINVAL;
    *ret = pub;
    return 0;
}

void wg_key_to_base64(const struct wg_key *k, char out[WG_KEY_B64_LEN + 1])
{
    sodium_bin2base64(out, WG_KEY_B64_LEN + 1, k->b, WG_KEY_LEN, sodium_base64_VARIANT_ORIGINAL);
}

int wg_key_from_base64(const char *s, struct wg_key *ret)
{
    struct wg_key k;
    size_t n = 0;
    const char *end = NULL;

    if (!s || strnlen(s, WG_KEY_B64_LEN + 1) != WG_KEY_B64_LEN || s[WG_KEY_B64_LEN - 1] != '=' ||
        s[WG_KEY_B64_LEN - 2] == '=')
        return -EINVAL;
    /* libsodium refuses non-zero padding bits and characters outside the alphabet. */
    if (sodium_base642bin(k.b, sizeof(k.b), s, WG_KEY_B64_LEN, NULL, &n, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        n != WG_KEY_LEN || end != s + WG_KEY_B64_LEN) {
        sodium_memzero(&k, sizeof(k));
        return -EINVAL;
    }
    *ret = k;
    sodium_memzero(&k, sizeof(k));
    return 0;
}

void wg_key_to_hex(const struct wg_key *k, char out[WG_KEY_HEX_LEN + 1])
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < WG_KEY_LEN; i++) {
        out[2 * i] = digits[k->b[i] >> 4];
        out[2 * i + 1] = digits[k->b[i] & 15];
    }
    out[WG_KEY_HEX_LEN] = '\0';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int wg_key_from_hex_n(const char *s, size_t len, struct wg_key *ret)
{
    struct wg_key k;
    if (!s || len != WG_KEY_HEX_LEN)
        return -EINVAL;
    for (size_t i = 0; i < WG_KEY_LEN; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            sodium_memzero(&k, sizeof(k));
            return -EINVAL;
        }
        k.b[i] = (uint8_t)(hi << 4 | lo);
    }
    *ret = k;
    sodium_memzero(&k, sizeof(k));
    return 0;
}

int wg_key_from_hex(const char *s, struct wg_key *ret)
{
    if (!s || strnlen(s, WG_KEY_HEX_LEN + 1) != WG_KEY_HEX_LEN)
        return -EINVAL;
    return wg_key_from_hex_n(s, WG_KEY_HEX_LEN, ret);
}

bool wg_key_is_zero(const struct wg_key *k)
{
    return sodium_is_zero(k->b, WG_KEY_LEN) == 1;
}

bool wg_key_equal(const struct wg_key *a, const struct wg_key *b)
{
    return sodium_memcmp(a->b, b->b, WG_KEY_LEN) == 0;
}

void wg_key_wipe(struct wg_key *k)
{
    sodium_memzero(k->b, WG_KEY_LEN);
}
