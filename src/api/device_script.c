/*
 * device_script.c - bootstrap command and fetch commands (device_script.h).
 */
#include "device_script.h"

#include "alloc.h"
#include "plan.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool device_url_is_https(const char *url)
{
    return url && strncasecmp(url, "https://", 8) == 0;
}

int device_render_fetch(struct buf *b, const char *url)
{
    int r = buf_append_str(b, "/tool fetch url=");
    if (!r)
        r = job_script_quote(b, url);
    if (!r && device_url_is_https(url))
        r = buf_append_str(b, " check-certificate=yes");
    return r;
}

int device_render_file_remove(struct buf *b, const char *name)
{
    int r = buf_append_str(b, "/file remove [find name=");
    if (!r)
        r = job_script_quote(b, name);
    return r ? r : buf_append_str(b, "]\n");
}

/* fingerprint as RouterOS prints it: lower-case. */
static void lower_hex(const char *in, char out[65])
{
    size_t i = 0;
    for (; in[i] && i < 64; i++)
        out[i] = (char)tolower((unsigned char)in[i]);
    out[i] = '\0';
}

/* The CA steps of the bootstrap command, each followed by "; ". */
static int render_ca_steps(struct buf *b, const char *public_url, const char *fingerprint)
{
    char fp[65];
    lower_hex(fingerprint, fp);
    char *url = xasprintf("%s%s", public_url, DEVICE_CA_PATH);
    int r = buf_append_str(b, "/tool fetch url=");
    if (!r)
        r = job_script_quote(b, url);
    free(url);
    if (!r)
        r = buf_printf(b,
                       " check-certificate=no dst-path=" DEVICE_CA_FILE "; "
                       "/certificate import file-name=" DEVICE_CA_FILE " passphrase=\"\"; "
                       "/file remove [find name=" DEVICE_CA_FILE "]; "
                       "/certificate remove [find where name~\"^" DEVICE_CA_FILE
                       "_\" fingerprint!=\"%s\"]; "
                       ":if ([:len [/certificate find fingerprint=\"%s\"]] = 0) do={:error "
                       "\"tikgate: the CA certificate fetched does not have the fingerprint of "
                       "this command; nothing was trusted\"}; "
                       "/certificate set [find fingerprint=\"%s\"] trusted=yes; ",
                       fp, fp, fp);
    return r;
}

int device_render_bootstrap_command(struct buf *b, const char *public_url, const char *token,
                                    const char *ca_fingerprint)
{
    int r = 0;
    if (ca_fingerprint && device_url_is_https(public_url))
        r = render_ca_steps(b, public_url, ca_fingerprint);
    char *url = xasprintf("%s/bootstrap/%s", public_url, token);
    if (!r)
        r = device_render_fetch(b, url);
    free(url);
    if (!r)
        r = buf_append_str(b, " dst-path=" DEVICE_BOOTSTRAP_FILE
                              "; /import file-name=" DEVICE_BOOTSTRAP_FILE
                              "; /file remove [find name=" DEVICE_BOOTSTRAP_FILE "]");
    return r;
}
