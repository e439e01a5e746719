/*
 * device_script.h - the RouterOS text routers fetch tikgate with: the
 * bootstrap command an operator pastes, and the `/tool fetch` commands of the
 * generated scripts. Pure (no I/O), unit-tested in tests/unit/api.
 *
 * Certificate checks: every fetch of an https URL carries check-certificate=yes
 * (RouterOS's default is no check). With a CA fingerprint (TIKGATE_TLS_CA) the
 * bootstrap command first fetches that CA unchecked (GET /ca.pem), imports it,
 * removes any certificate imported from that file whose SHA-256 fingerprint
 * differs, stops with :error unless the expected one is present, and only then
 * fetches the bootstrap script with the check on. Fetched scripts are removed
 * from /file once imported (they may hold secrets).
 */
#ifndef TG_API_DEVICE_SCRIPT_H
#define TG_API_DEVICE_SCRIPT_H

#include "buf.h"

#include <stdbool.h>

#define DEVICE_CA_PATH "/ca.pem"        /* where the CA of TIKGATE_TLS_CA is served */
#define DEVICE_CA_FILE "tikgate-ca.pem" /* its name on the router's /file */
#define DEVICE_BOOTSTRAP_FILE "tikgate-bootstrap.rsc"

/* True when url starts with "https://" (any case). */
bool device_url_is_https(const char *url);

/* Appends `/tool fetch url="URL"` and, for an https URL, ` check-certificate=yes`.
 * 0 or -E2BIG (the buffer's cap). */
int device_render_fetch(struct buf *b, const char *url);

/* Appends `/file remove [find name="NAME"]` and a newline (no error when absent). */
int device_render_file_remove(struct buf *b, const char *name);

/*
 * Appends the one-line bootstrap command for token (no newline). ca_fingerprint
 * is NULL or the 64 hex digits of the CA routers must install first (only
 * used when public_url is https). 0 or -E2BIG.
 */
int device_render_bootstrap_command(struct buf *b, const char *public_url, const char *token,
                                    const char *ca_fingerprint);

#endif
