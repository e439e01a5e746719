/*
 * pem.c - CERTIFICATE blocks of a PEM text (RFC 7468), DER and SHA-256.
 */
#include "pem.h"

#include "alloc.h"

#include <ctype.h>
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define BEGIN_CERT "-----BEGIN CERTIFICATE-----"
#define END_CERT "-----END CERTIFICATE-----"

/* First occurrence of needle in hay[0..n), or NULL. */
static const char *find(const char *hay, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (hay[i] == needle[0] && memcmp(hay + i, needle, k) == 0)
            return hay + i;
    return NULL;
}

int pem_cert_next(const char *pem, size_t len, size_t *pos, struct pem_cert *ret)
{
    memset(ret, 0, sizeof *ret);
    if (len > PEM_MAX_TEXT)
        return -E2BIG;
    if (*pos >= len)
        return -ENOENT;
    const char *begin = find(pem + *pos, len - *pos, BEGIN_CERT);
    if (!begin)
        return -ENOENT;
    const char *b64 = begin + strlen(BEGIN_CERT);
    const char *end = find(b64, (size_t)(pem + len - b64), END_CERT);
    if (!end)
        return -EINVAL;
    size_t b64_len = (size_t)(end - b64);
    if (b64_len / 4 * 3 > PEM_MAX_DER)
        return -E2BIG;
    unsigned char *der = xmalloc(b64_len / 4 * 3 + 3);
    size_t der_len = 0;
    const char *b64_end = NULL;
    if (sodium_base642bin(der, b64_len / 4 * 3 + 3, b64, b64_len, " \t\r\n", &der_len, &b64_end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        b64_end != end || der_len < 2 || der[0] != 0x30) {
        free(der);
        return -EINVAL;
    }
    const char *after = end + strlen(END_CERT);
    while (after < pem + len && (*after == '\r' || *after == '\n'))
        after++;
    ret->text = begin;
    ret->text_len = (size_t)(after - begin);
    ret->der = der;
    ret->der_len = der_len;
    pem_fingerprint(der, der_len, ret->fingerprint);
    *pos = (size_t)(after - pem);
    return 0;
}

void pem_cert_release(struct pem_cert *c)
{
    free(c->der);
    memset(c, 0, sizeof *c);
}

void pem_fingerprint(const unsigned char *der, size_t len, char out[PEM_FINGERPRINT_LEN + 1])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, der, len);
    sodium_bin2hex(out, PEM_FINGERPRINT_LEN + 1, h, sizeof h);
}

int pem_fingerprint_valid(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!isxdigit((unsigned char)s[n]))
            return 0;
    return n == PEM_FINGERPRINT_LEN;
}
