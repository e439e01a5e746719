/*
 * tls.h - the HTTP server's certificate, internal to src/http (with gnutls.h).
 *
 * A struct http_tls holds the certificate chain and private key currently
 * served, loaded from two PEM files. Each TLS connection takes a reference
 * to the credential that was current at its handshake (http_tls_acquire) and
 * drops it when it closes, so a reload swaps the pointer under a mutex and
 * the old credential is freed when its last connection ends. Loading checks
 * that the key belongs to the first certificate of the chain.
 */
#ifndef TG_HTTP_TLS_H
#define TG_HTTP_TLS_H

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <pthread.h>
#include <stddef.h>

#define HTTP_TLS_MAX_CHAIN 8 /* certificates in the chain file */
/* Protocol versions offered: TLS 1.2 and 1.3 only. */
#define HTTP_TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

struct http_tls_cred {
    _Atomic unsigned refs;
    gnutls_pcert_st chain[HTTP_TLS_MAX_CHAIN];
    unsigned n_chain;
    gnutls_privkey_t key;
    char fingerprint[65]; /* SHA-256 of the leaf, hex */
};

struct http_tls {
    pthread_mutex_t mu;
    struct http_tls_cred *current; /* owns one reference */
    char *cert_path, *key_path;    /* owned */
};

/* Loads both files (each capped at 1 MiB). 0 and t ready, or -errno with a
 * one-line reason in why (nothing to release then). Paths are copied. */
int http_tls_init(struct http_tls *t, const char *cert_path, const char *key_path, char why[256]);
/* Loads the files again and, if they are good, makes them current. On failure
 * (-errno, why set) the old credential stays current. */
int http_tls_reload(struct http_tls *t, char why[256]);
/* A new reference to the current credential (never NULL after init). */
struct http_tls_cred *http_tls_acquire(struct http_tls *t);
/* Drops one reference; frees at zero. Accepts NULL. */
void http_tls_cred_release(struct http_tls_cred *c);
/* Drops the current credential and the paths (connections may still hold theirs). */
void http_tls_release(struct http_tls *t);

#endif
