/*
 * hooks.c - signatures, the SSRF check of a hook's URL and the body of an event
 * (docs/webhooks.md).
 */
#include "hooks.h"

#include "alloc.h"
#include "cidr.h"
#include "timefmt.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int hooks_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -EIO;
}

void hooks_secret_generate(char out[HOOKS_SECRET_LEN + 1])
{
    uint8_t raw[16];
    randombytes_buf(raw, sizeof raw);
    memcpy(out, "whsec_", 6);
    sodium_bin2hex(out + 6, HOOKS_SECRET_LEN + 1 - 6, raw, sizeof raw);
    sodium_memzero(raw, sizeof raw);
}

void hooks_sign(const char *secret, int64_t ts, const char *body, size_t body_len,
                char out[HOOKS_SIG_MAX])
{
    crypto_auth_hmacsha256_state st;
    uint8_t mac[crypto_auth_hmacsha256_BYTES];
    char prefix[24];
    int pl = snprintf(prefix, sizeof prefix, "%lld.", (long long)ts);
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)prefix, (size_t)pl);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, body_len);
    crypto_auth_hmacsha256_final(&st, mac);
    char hex[2 * sizeof mac + 1];
    sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
    snprintf(out, HOOKS_SIG_MAX, "t=%lld,v1=%s", (long long)ts, hex);
    sodium_memzero(&st, sizeof st);
}

bool hooks_addr_refused(const struct sockaddr *sa)
{
    struct cidr c = {0};
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        c.family = AF_INET;
        c.prefix = 32;
        memcpy(c.addr, &in->sin_addr, 4);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (!memcmp(in6->sin6_addr.s6_addr, mapped, sizeof mapped)) {
            c.family = AF_INET;
            c.prefix = 32;
            memcpy(c.addr, in6->sin6_addr.s6_addr + 12, 4);
        } else {
            c.family = AF_INET6;
            c.prefix = 128;
            memcpy(c.addr, in6->sin6_addr.s6_addr, 16);
        }
    } else {
        return true;
    }
    return cidr_classify(&c) != CIDR_CLASS_PUBLIC;
}

/* The host (without brackets) and port of url into host/ret_port. 0 or -EINVAL. */
static int url_host(const char *url, char host[256], int *ret_port)
{
    CURLU *u = curl_url();
    if (!u)
        return -ENOMEM;
    int r = -EINVAL;
    char *h = NULL, *port = NULL;
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
        goto out_cleanup;
    size_t hl = strlen(h);
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
        memmove(h, h + 1, hl - 2);
        h[hl - 2] = '\0';
    }
    char *zone = strchr(h, '%'); /* a zone id: a link-local address, refused below anyway */
    if (zone)
        *zone = '\0';
    if (strlen(h) == 0 || strlen(h) >= 256)
        goto out_cleanup;
    snprintf(host, 256, "%s", h);
    *ret_port = atoi(port);
    r = *ret_port > 0 && *ret_port < 65536 ? 0 : -EINVAL;
out_cleanup:
    curl_free(h);
    curl_free(port);
    curl_url_cleanup(u);
    return r;
}

int hooks_url_resolve(const char *url, bool allow_private, char ret_addr[64], char ret_host[256],
                      int *ret_port)
{
    if (webhook_url_check(url) < 0)
        return -EINVAL;
    char host[256];
    int port;
    int r = url_host(url, host, &port);
    if (r < 0)
        return r;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC};
    struct addrinfo *res = NULL;
    if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res)
        return -EHOSTUNREACH;
    r = 0;
    for (struct addrinfo *a = res; a && r == 0; a = a->ai_next)
        if (!allow_private && hooks_addr_refused(a->ai_addr))
            r = -EPERM;
    if (r == 0 && ret_addr) {
        const void *p = res->ai_family == AF_INET
                            ? (const void *)&((struct sockaddr_in *)res->ai_addr)->sin_addr
                            : (const void *)&((struct sockaddr_in6 *)res->ai_addr)->sin6_addr;
        if (!inet_ntop(res->ai_family, p, ret_addr, 64))
            r = -EINVAL;
    }
    freeaddrinfo(res);
    if (r == 0) {
        if (ret_host)
            snprintf(ret_host, 256, "%s", host);
        *ret_port = port;
    }
    return r;
}

char *hooks_body(const struct store_webhook_delivery *d)
{
    char when[RFC3339_LEN];
    time_format_rfc3339(d->created_at_ms / 1000, when);
    json_t *data = json_object();
    const char *obj = webhook_event_object(d->type);
    if (strcmp(obj, "site") != 0) {
        char key[16];
        snprintf(key, sizeof key, "%s_id", obj);
        json_object_set_new(data, key, json_string(d->object_id));
    }
    json_object_set_new(data, "site_id", d->site_id[0] ? json_string(d->site_id) : json_null());
    if (d->type == WEBHOOK_JOB_COMPLETED || d->type == WEBHOOK_JOB_FAILED)
        json_object_set_new(data, "message", d->detail ? json_string(d->detail) : json_null());
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:o}", "id", d->event_id, "type",
                          webhook_event_name(d->type), "created_at", when, "tenant_id",
                          d->hook.tenant_id, "data", data);
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!s)
        abort(); /* only on OOM: the values are valid UTF-8 from the store */
    char *out = xstrdup(s);
    free(s);
    return out;
}
