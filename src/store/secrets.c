/*
 * secrets.c - the master key, sealing, the job-URL MAC and derived keys
 * (secrets.h); the same for every backend.
 */
#include "secrets.h"

#include "alloc.h"
#include "log.h"
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int store_secrets_load(struct store_secrets *k, const char *data_dir)
{
    char *path = xasprintf("%s/master.key", data_dir);
    int r = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0) {
            r = -errno;
            goto out;
        }
        crypto_secretbox_keygen(k->master_key);
        if (write(fd, k->master_key, sizeof k->master_key) != (ssize_t)sizeof k->master_key)
            r = -EIO;
        if (fsync(fd) < 0)
            r = -errno;
        close(fd);
        if (r == 0)
            log_info("store", "created master key %s", path);
        goto out;
    }
    if (fd < 0) {
        r = -errno;
        goto out;
    }
    struct stat sb;
    if (fstat(fd, &sb) == 0 && (sb.st_mode & 077))
        log_warn("store", "%s is readable by others (mode %o); it should be 0600", path,
                 (unsigned)(sb.st_mode & 0777));
    if (read(fd, k->master_key, sizeof k->master_key) != (ssize_t)sizeof k->master_key)
        r = -EIO;
    close(fd);
out:
    if (r < 0)
        log_error("store", "master key %s: %s", path, strerror(-r));
    free(path);
    return r;
}

void store_secrets_wipe(struct store_secrets *k)
{
    sodium_memzero(k->master_key, sizeof k->master_key);
}

char *store_secrets_seal(const struct store_secrets *k, const char *plaintext)
{
    size_t mlen = strlen(plaintext);
    size_t clen = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + mlen;
    unsigned char *box = xmalloc(clen);
    randombytes_buf(box, crypto_secretbox_NONCEBYTES);
    crypto_secretbox_easy(box + crypto_secretbox_NONCEBYTES, (const unsigned char *)plaintext, mlen,
                          box, k->master_key);
    char *hex = xmalloc(clen * 2 + 1);
    sodium_bin2hex(hex, clen * 2 + 1, box, clen);
    free(box);
    return hex;
}

/* A hex digit's value, or -1. */
static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/*
 * Decodes exactly n bytes from 2n hex digits; -1 on anything else. Not constant-time, unlike
 * sodium_hex2bin, which was 8 % of the CPU of a jobs list under load (issue 13): what it
 * decodes is a nonce and ciphertext, whose secrecy rests on the key, not on this.
 */
static int hex_decode(unsigned char *out, size_t n, const char *hex, size_t hexlen)
{
    if (hexlen != 2 * n)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int hi = hexval((unsigned char)hex[2 * i]), lo = hexval((unsigned char)hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

char *store_secrets_open(const struct store_secrets *k, const char *sealed)
{
    size_t hexlen = strlen(sealed);
    size_t clen = hexlen / 2;
    if (clen < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
        return NULL;
    unsigned char *box = xmalloc(clen);
    char *out = NULL;
    if (hex_decode(box, clen, sealed, hexlen) != 0)
        goto out_free_box;
    size_t mlen = clen - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES;
    out = xmalloc(mlen + 1);
    if (crypto_secretbox_open_easy((unsigned char *)out, box + crypto_secretbox_NONCEBYTES,
                                   clen - crypto_secretbox_NONCEBYTES, box, k->master_key) != 0) {
        free(out);
        out = NULL;
        goto out_free_box;
    }
    out[mlen] = '\0';
out_free_box:
    free(box);
    return out;
}

static void mac_key(const struct store_secrets *k,
                    unsigned char key[crypto_auth_hmacsha256_KEYBYTES])
{
    static const unsigned char label[] = "tikgate job url signing key v1";
    crypto_generichash(key, crypto_auth_hmacsha256_KEYBYTES, label, sizeof label - 1, k->master_key,
                       sizeof k->master_key);
}

void store_secrets_mac_hex(const struct store_secrets *k, const char *msg, char out[65])
{
    unsigned char key[crypto_auth_hmacsha256_KEYBYTES];
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    mac_key(k, key);
    crypto_auth_hmacsha256(mac, (const unsigned char *)msg, strlen(msg), key);
    sodium_bin2hex(out, 65, mac, sizeof mac);
    sodium_memzero(key, sizeof key);
}

bool store_secrets_mac_verify(const struct store_secrets *k, const char *msg, const char *hex)
{
    char want[65];
    store_secrets_mac_hex(k, msg, want);
    if (!hex || strlen(hex) != 64)
        return false;
    return sodium_memcmp(want, hex, 64) == 0;
}

void store_secrets_derive(const struct store_secrets *k, const char *purpose, unsigned char *out,
                          size_t len)
{
    crypto_generichash(out, len, (const unsigned char *)purpose, strlen(purpose), k->master_key,
                       sizeof k->master_key);
}

/* --- store.h's entry points --- */

char *store_seal_text(struct store *s, const char *plaintext)
{
    return store_secrets_seal(store_secrets(s), plaintext);
}

char *store_open_text(struct store *s, const char *sealed)
{
    return store_secrets_open(store_secrets(s), sealed);
}

void store_mac_hex(struct store *s, const char *msg, char out[65])
{
    store_secrets_mac_hex(store_secrets(s), msg, out);
}

bool store_mac_verify(struct store *s, const char *msg, const char *hex)
{
    return store_secrets_mac_verify(store_secrets(s), msg, hex);
}

void store_derive_key(struct store *s, const char *purpose, unsigned char *out, size_t len)
{
    store_secrets_derive(store_secrets(s), purpose, out, len);
}
