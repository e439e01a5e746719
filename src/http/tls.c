/*
 * tls.c - loading, checking and swapping the server certificate (tls.h).
 */
#include "tls.h"

#include "alloc.h"
#include "log.h"
#include "pem.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TLS_FILE_MAX ((size_t)1 << 20)

/* Reads a whole file of at most TLS_FILE_MAX bytes into *ret (owned, NUL-terminated). */
static int read_file(const char *path, char **ret, size_t *ret_len, char why[256])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        snprintf(why, 256, "cannot open %s: %s", path, strerror(e));
        return -e;
    }
    char *data = xmalloc(TLS_FILE_MAX + 1);
    size_t len = 0;
    int r = 0;
    for (;;) {
        ssize_t n = read(fd, data + len, TLS_FILE_MAX + 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = -errno;
            snprintf(why, 256, "cannot read %s: %s", path, strerror(errno));
            goto close_fd;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len > TLS_FILE_MAX) {
            r = -EFBIG;
            snprintf(why, 256, "%s is larger than 1 MiB", path);
            goto close_fd;
        }
    }
    data[len] = '\0';
close_fd:
    close(fd);
    if (r < 0) {
        sodium_memzero(data, len);
        free(data);
        return r;
    }
    *ret = data;
    *ret_len = len;
    return 0;
}

static void cred_free(struct http_tls_cred *c)
{
    for (unsigned i = 0; i < c->n_chain; i++)
        gnutls_pcert_deinit(&c->chain[i]);
    if (c->key)
        gnutls_privkey_deinit(c->key);
    free(c);
}

/* 0 when the private key's public half is the leaf certificate's public key. */
static int key_matches(struct http_tls_cred *c)
{
    gnutls_pubkey_t pub = NULL;
    gnutls_datum_t a = {0}, b = {0};
    int r = -1;
    if (gnutls_pubkey_init(&pub) < 0)
        return -1;
    if (gnutls_pubkey_import_privkey(pub, c->key, 0, 0) < 0)
        goto deinit_pub;
    if (gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, &a) < 0)
        goto deinit_pub;
    if (gnutls_pubkey_export2(c->chain[0].pubkey, GNUTLS_X509_FMT_DER, &b) < 0)
        goto free_a;
    r = (a.size == b.size && memcmp(a.data, b.data, a.size) == 0) ? 0 : -1;
    gnutls_free(b.data);
free_a:
    gnutls_free(a.data);
deinit_pub:
    gnutls_pubkey_deinit(pub);
    return r;
}

/* Logs the leaf's subject, validity and fingerprint; warns when it is not valid now. */
static void log_leaf(const struct http_tls_cred *c, const char *cert_path)
{
    gnutls_x509_crt_t crt;
    if (gnutls_x509_crt_init(&crt) < 0)
        return;
    if (gnutls_x509_crt_import(crt, &c->chain[0].cert, GNUTLS_X509_FMT_DER) == 0) {
        gnutls_datum_t dn = {0};
        gnutls_x509_crt_get_dn2(crt, &dn);
        time_t until = gnutls_x509_crt_get_expiration_time(crt);
        time_t from = gnutls_x509_crt_get_activation_time(crt);
        char ts[32] = "?";
        struct tm tm;
        if (gmtime_r(&until, &tm))
            strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
        time_t now = time(NULL);
        log_info("http", "TLS certificate %s: subject %s, %u in chain, valid until %s, SHA-256 %s",
                 cert_path, dn.data ? (const char *)dn.data : "?", c->n_chain, ts, c->fingerprint);
        if (now > until || now < from)
            log_warn("http",
                     "TLS certificate %s is not valid now (valid until %s): clients "
                     "that check certificates will refuse it",
                     cert_path, ts);
        gnutls_free(dn.data);
    }
    gnutls_x509_crt_deinit(crt);
}

static int cred_load(const char *cert_path, const char *key_path, struct http_tls_cred **ret,
                     char why[256])
{
    char *cert_pem = NULL, *key_pem = NULL;
    size_t cert_len = 0, key_len = 0;
    int r = read_file(cert_path, &cert_pem, &cert_len, why);
    if (r < 0)
        return r;
    r = read_file(key_path, &key_pem, &key_len, why);
    if (r < 0)
        goto free_cert;
    struct http_tls_cred *c = xcalloc(1, sizeof *c);
    gnutls_datum_t d = {(unsigned char *)cert_pem, (unsigned)cert_len};
    c->n_chain = HTTP_TLS_MAX_CHAIN;
    int g = gnutls_pcert_list_import_x509_raw(c->chain, &c->n_chain, &d, GNUTLS_X509_FMT_PEM, 0);
    if (g < 0 || c->n_chain == 0) {
        c->n_chain = 0;
        snprintf(why, 256, "%s holds no usable PEM certificate (at most %d): %s", cert_path,
                 HTTP_TLS_MAX_CHAIN, g < 0 ? gnutls_strerror(g) : "empty");
        r = -EINVAL;
        goto free_cred;
    }
    g = gnutls_privkey_init(&c->key);
    if (g == 0) {
        gnutls_datum_t k = {(unsigned char *)key_pem, (unsigned)key_len};
        g = gnutls_privkey_import_x509_raw(c->key, &k, GNUTLS_X509_FMT_PEM, NULL, 0);
    }
    if (g < 0) {
        snprintf(why, 256, "%s holds no usable unencrypted PEM private key: %s", key_path,
                 gnutls_strerror(g));
        r = -EINVAL;
        goto free_cred;
    }
    if (key_matches(c) < 0) {
        snprintf(why, 256, "the private key in %s does not belong to the certificate in %s",
                 key_path, cert_path);
        r = -EINVAL;
        goto free_cred;
    }
    pem_fingerprint(c->chain[0].cert.data, c->chain[0].cert.size, c->fingerprint);
    c->refs = 1;
    *ret = c;
    r = 0;
    goto free_key;
free_cred:
    cred_free(c);
free_key:
    sodium_memzero(key_pem, key_len);
    free(key_pem);
free_cert:
    free(cert_pem);
    return r;
}

int http_tls_init(struct http_tls *t, const char *cert_path, const char *key_path, char why[256])
{
    memset(t, 0, sizeof *t);
    struct http_tls_cred *c;
    int r = cred_load(cert_path, key_path, &c, why);
    if (r < 0)
        return r;
    log_leaf(c, cert_path);
    pthread_mutex_init(&t->mu, NULL);
    t->current = c;
    t->cert_path = xstrdup(cert_path);
    t->key_path = xstrdup(key_path);
    return 0;
}

int http_tls_reload(struct http_tls *t, char why[256])
{
    struct http_tls_cred *c;
    int r = cred_load(t->cert_path, t->key_path, &c, why);
    if (r < 0)
        return r;
    log_leaf(c, t->cert_path);
    pthread_mutex_lock(&t->mu);
    struct http_tls_cred *old = t->current;
    t->current = c;
    pthread_mutex_unlock(&t->mu);
    http_tls_cred_release(old);
    return 0;
}

struct http_tls_cred *http_tls_acquire(struct http_tls *t)
{
    pthread_mutex_lock(&t->mu);
    struct http_tls_cred *c = t->current;
    c->refs++;
    pthread_mutex_unlock(&t->mu);
    return c;
}

void http_tls_cred_release(struct http_tls_cred *c)
{
    if (c && --c->refs == 0)
        cred_free(c);
}

void http_tls_release(struct http_tls *t)
{
    if (!t->current)
        return;
    http_tls_cred_release(t->current);
    t->current = NULL;
    pthread_mutex_destroy(&t->mu);
    free(t->cert_path);
    free(t->key_path);
    t->cert_path = t->key_path = NULL;
}
