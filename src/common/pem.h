/*
 * pem.h - X.509 certificates in PEM: the CERTIFICATE blocks of a text, each
 * decoded to DER, with the SHA-256 fingerprint in the form RouterOS shows in
 * `/certificate print` (64 lower-case hex digits, no separators).
 *
 * Pure: no I/O. Only the base64 armour is checked (and that the DER starts
 * with a SEQUENCE); the certificate itself is not parsed.
 */
#ifndef TG_PEM_H
#define TG_PEM_H

#include <stddef.h>

#define PEM_FINGERPRINT_LEN 64         /* hex digits of a SHA-256 fingerprint */
#define PEM_MAX_TEXT ((size_t)1 << 20) /* longest PEM text looked at */
#define PEM_MAX_DER ((size_t)64 << 10) /* longest certificate accepted */

struct pem_cert {
    const char *text; /* the block from "-----BEGIN" to the end of its END line: borrowed */
    size_t text_len;
    unsigned char *der; /* owned (pem_cert_release) */
    size_t der_len;
    char fingerprint[PEM_FINGERPRINT_LEN + 1];
};

/*
 * Reads the next CERTIFICATE block of pem[0..len) at or after *pos (start with
 * *pos = 0); other blocks (keys, ...) are skipped. Returns 0 with *ret filled
 * and *pos moved past the block, -ENOENT when there is none left, -EINVAL for
 * a malformed block (no END line, bad base64, not DER), -E2BIG beyond the caps.
 * On failure *ret holds nothing to release.
 */
int pem_cert_next(const char *pem, size_t len, size_t *pos, struct pem_cert *ret);
/* Frees what pem_cert_next() allocated; accepts a zeroed struct. */
void pem_cert_release(struct pem_cert *c);

/* SHA-256 of der as 64 lower-case hex digits. */
void pem_fingerprint(const unsigned char *der, size_t len, char out[PEM_FINGERPRINT_LEN + 1]);

/* True when s is 64 hex digits (either case). */
int pem_fingerprint_valid(const char *s);

#endif
