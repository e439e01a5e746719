/*
 * tls_ca.h - TIKGATE_TLS_CA: the CA certificate routers install at bootstrap.
 *
 * Read once at start. Only the first certificate of the file is used (and
 * served): the router imports every certificate of the file it fetches, and
 * the bootstrap command vouches for exactly one fingerprint.
 */
#ifndef TG_DAEMON_TLS_CA_H
#define TG_DAEMON_TLS_CA_H

/*
 * Loads path (PEM, at most 1 MiB). On success *ret_pem is that one certificate
 * as PEM text and *ret_fingerprint its SHA-256 (64 lower-case hex digits); both
 * point to static storage that lives until exit. public_url must be https.
 * Returns 0, or -errno after logging why.
 */
int tls_ca_load(const char *path, const char *public_url, const char **ret_pem,
                const char **ret_fingerprint);

#endif
