/*
 * tls_ca.c - loading TIKGATE_TLS_CA (tls_ca.h).
 */
#include "tls_ca.h"

#include "alloc.h"
#include "log.h"
#include "pem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Loaded once; read by the API's threads for the life of the process. */
static char *g_pem;
static char g_fingerprint[PEM_FINGERPRINT_LEN + 1];

int tls_ca_load(const char *path, const char *public_url, const char **ret_pem,
                const char **ret_fingerprint)
{
    if (strncasecmp(public_url, "https://", 8) != 0) {
        log_error("daemon",
                  "TIKGATE_TLS_CA needs an https TIKGATE_PUBLIC_URL (it is %s): "
                  "routers verify the CA only when they fetch over https",
                  public_url);
        return -EINVAL;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        log_error("daemon", "cannot read TIKGATE_TLS_CA %s: %s", path, strerror(e));
        return -e;
    }
    char *text = xmalloc(PEM_MAX_TEXT + 1);
    size_t len = fread(text, 1, PEM_MAX_TEXT + 1, f);
    int r = ferror(f) ? -EIO : 0;
    fclose(f);
    if (r == 0 && len > PEM_MAX_TEXT)
        r = -EFBIG;
    struct pem_cert c = {0};
    size_t pos = 0;
    if (r == 0)
        r = pem_cert_next(text, len, &pos, &c);
    if (r < 0) {
        log_error("daemon", "TIKGATE_TLS_CA %s: %s", path,
                  r == -ENOENT   ? "no PEM certificate in it"
                  : r == -EINVAL ? "malformed PEM certificate"
                                 : strerror(-r));
        free(text);
        return r;
    }
    free(g_pem);
    g_pem = xstrndup(c.text, c.text_len);
    memcpy(g_fingerprint, c.fingerprint, sizeof g_fingerprint);
    log_info("daemon", "TIKGATE_TLS_CA %s: routers install the CA with SHA-256 fingerprint %s",
             path, g_fingerprint);
    pem_cert_release(&c);
    free(text);
    *ret_pem = g_pem;
    *ret_fingerprint = g_fingerprint;
    return 0;
}
