/*
 * certs.c - /certificate import and the trust store /tool fetch uses with
 * check-certificate=yes.
 *
 * Certificates are items of the /certificate menu (SIM_M_CERT), so print,
 * find, get, set and remove work as in every other menu; only import makes
 * them. The PEM is kept in a field the API never prints.
 */
#include "alloc.h"
#include "pem.h"
#include "sim.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CERTS_PER_FILE 16

static bool have_fingerprint(const struct sim_state *st, const char *fp)
{
    const struct sim_menu *m = &st->menus[SIM_M_CERT];
    for (size_t i = 0; i < m->n; i++) {
        const char *v = sim_item_get(m, &m->items[i], "fingerprint");
        if (v && strcmp(v, fp) == 0)
            return true;
    }
    return false;
}

int sim_cert_import(struct sim_state *st, const char *file_name, const char *data, size_t len,
                    unsigned *ret_imported, char err[SIM_ERR_LEN])
{
    struct pem_cert certs[MAX_CERTS_PER_FILE];
    size_t n = 0, pos = 0;
    int r = 0;
    while (n < MAX_CERTS_PER_FILE && (r = pem_cert_next(data, len, &pos, &certs[n])) == 0)
        n++;
    if (r == 0 && n == MAX_CERTS_PER_FILE) {
        snprintf(err, SIM_ERR_LEN, "too many certificates in %s", file_name);
        r = -ENOSPC;
        goto release_certs;
    }
    if (r != -ENOENT || n == 0) {
        snprintf(err, SIM_ERR_LEN, "%s: no valid PEM certificate", file_name);
        r = -EINVAL;
        goto release_certs;
    }
    unsigned imported = 0;
    r = 0;
    for (size_t k = 0, next = 0; k < n && r == 0; k++) {
        if (have_fingerprint(st, certs[k].fingerprint))
            continue;
        char name[300];
        size_t idx;
        do
            snprintf(name, sizeof name, "%s_%zu", file_name, next++);
        while (sim_resolve(st, SIM_M_CERT, name, &idx) == 0);
        char *pem = xstrndup(certs[k].text, certs[k].text_len);
        struct sim_kv kv[] = {{"name", name}, {"fingerprint", certs[k].fingerprint}, {"pem", pem}};
        r = sim_state_add_made(st, SIM_M_CERT, kv, 3, NULL, err);
        free(pem);
        if (r == 0)
            imported++;
    }
    *ret_imported = imported;
release_certs:
    for (size_t k = 0; k < n; k++)
        pem_cert_release(&certs[k]);
    return r;
}

void sim_cert_trust_pem(const struct sim_state *st, struct buf *out)
{
    if (st->builtin_ca_pem)
        buf_append_str(out, st->builtin_ca_pem);
    const struct sim_menu *m = &st->menus[SIM_M_CERT];
    for (size_t i = 0; i < m->n; i++) {
        const char *trusted = sim_item_get(m, &m->items[i], "trusted");
        const char *pem = sim_item_get(m, &m->items[i], "pem");
        if (pem && trusted && strcmp(trusted, "true") == 0) {
            buf_append_str(out, "\n");
            buf_append_str(out, pem);
        }
    }
}
