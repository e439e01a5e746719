#include "policy.h"

#include "alloc.h"
#include "cidr.h"
#include "rand.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const policy_svc_key[SVC_COUNT] = {"winbox", "ssh", "http", "https",
                                               "telnet", "ftp", "api",  "api_ssl"};
const char *const policy_svc_ros_name[SVC_COUNT] = {"winbox", "ssh", "www", "www-ssl",
                                                    "telnet", "ftp", "api", "api-ssl"};
const int policy_svc_default_port[SVC_COUNT] = {8291, 22, 80, 443, 23, 21, 8728, 8729};

void policy_release(struct policy *p)
{
    if (!p)
        return;
    free(p->name);
    free(p->slug);
    p->name = p->slug = NULL;
    strlist_release(&p->trusted_networks);
    strlist_release(&p->sites);
    for (int i = 0; i < SVC_COUNT; i++)
        strlist_release(&p->svc[i].networks);
}

int policy_normalize_cidr(const char *s, const char *param, char *out, size_t outlen,
                          struct tg_err *err)
{
    struct cidr c;
    int r = cidr_parse(s, CIDR_STRICT, &c);
    if (r == -EADDRNOTAVAIL) {
        struct cidr m;
        cidr_parse(s, CIDR_MASK_HOST_BITS, &m);
        char canon[CIDR_STR_LEN];
        cidr_format(&m, canon);
        return tg_err_invalid(err, "invalid_cidr", param,
                              "'%s' has host bits set; did you mean '%s'?", s, canon);
    }
    if (r == 0 && cidr_is_v4mapped(&c))
        return tg_err_invalid(err, "invalid_cidr", param, "'%s': " CIDR_V4MAPPED_HINT ".", s);
    if (r < 0)
        return tg_err_invalid(err, "invalid_cidr", param, "'%s' is not a valid IPv4 or IPv6 CIDR.",
                              s);
    char canon[CIDR_STR_LEN];
    cidr_format(&c, canon);
    snprintf(out, outlen, "%s", canon);
    return 0;
}

long utf8_length(const char *s)
{
    long n = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int extra;
        if (*p < 0x80)
            extra = 0;
        else if ((*p & 0xe0) == 0xc0)
            extra = 1;
        else if ((*p & 0xf0) == 0xe0)
            extra = 2;
        else if ((*p & 0xf8) == 0xf0)
            extra = 3;
        else
            return -1;
        p++;
        for (int i = 0; i < extra; i++, p++)
            if ((*p & 0xc0) != 0x80)
                return -1;
        n++;
    }
    return n;
}

int policy_validate(const struct policy *p, struct tg_err *err)
{
    if (!p->name)
        return tg_err_invalid(err, "parameter_missing", "name",
                              "The 'name' parameter is required.");
    long len = utf8_length(p->name);
    if (len < 1)
        return tg_err_invalid(err, "parameter_invalid", "name", "The name must not be empty.");
    if (len > POLICY_NAME_MAX)
        return tg_err_invalid(err, "name_too_long", "name",
                              "The name may have at most %d characters (got %ld).", POLICY_NAME_MAX,
                              len);
    if (p->trusted_networks.n > POLICY_MAX_NETWORKS)
        return tg_err_invalid(err, "too_many_networks", "trusted_networks",
                              "At most %d trusted networks.", POLICY_MAX_NETWORKS);
    for (int i = 0; i < SVC_COUNT; i++) {
        const struct policy_service *s = &p->svc[i];
        char param[64];
        snprintf(param, sizeof param, "%s.port", policy_svc_key[i]);
        if (s->port < 1 || s->port > 65535)
            return tg_err_invalid(err, "port_out_of_range", param,
                                  "The %s port must be between 1 and 65535 (got %d).",
                                  policy_svc_key[i], s->port);
        if (s->networks.n > POLICY_MAX_NETWORKS) {
            snprintf(param, sizeof param, "%s.networks", policy_svc_key[i]);
            return tg_err_invalid(err, "too_many_networks", param, "At most %d networks.",
                                  POLICY_MAX_NETWORKS);
        }
        if (!s->enabled)
            continue;
        for (int j = 0; j < i; j++) {
            if (p->svc[j].enabled && p->svc[j].port == s->port)
                return tg_err_invalid(err, "port_conflict", param,
                                      "Enabled services %s and %s cannot share port %d.",
                                      policy_svc_key[j], policy_svc_key[i], s->port);
        }
    }
    return 0;
}

void policy_make_slug(const char *name, char out[64])
{
    size_t o = 0;
    int dash = 0;
    for (const unsigned char *p = (const unsigned char *)name; *p && o < 40; p++) {
        if (isalnum(*p)) {
            if (dash && o > 0)
                out[o++] = '-';
            dash = 0;
            out[o++] = (char)tolower(*p);
        } else {
            dash = 1;
        }
    }
    if (o == 0) {
        memcpy(out, "policy", 6);
        o = 6;
    }
    out[o++] = '-';
    rand_base62(out + o, POLICY_SLUG_SUFFIX);
}

void policy_init_default(struct policy *p, const char *mgmt_networks)
{
    char rfc1918[CIDR_RFC1918_COUNT][CIDR_STR_LEN]; /* "10.0.0.0/8", "192.168.0.0/16", ... */
    for (size_t i = 0; i < CIDR_RFC1918_COUNT; i++)
        cidr_format(&cidr_rfc1918[i], rfc1918[i]);
    p->name = xstrdup("Default Policy");
    char slug[64];
    policy_make_slug(p->name, slug);
    p->slug = xstrdup(slug);
    p->is_default = true;
    p->custom_input_rules = true;
    for (size_t i = 0; i < CIDR_RFC1918_COUNT; i++)
        strlist_add(&p->trusted_networks, rfc1918[i]);
    for (int i = 0; i < SVC_COUNT; i++) {
        p->svc[i].port = policy_svc_default_port[i];
        p->svc[i].enabled = (i == SVC_WINBOX || i == SVC_SSH || i == SVC_API);
    }
    for (size_t i = 0; i < CIDR_RFC1918_COUNT; i++) {
        strlist_add(&p->svc[SVC_WINBOX].networks, rfc1918[i]);
        strlist_add(&p->svc[SVC_SSH].networks, rfc1918[i]);
    }
    /* Stored networks are canonical CIDRs (as policy_from_json makes them), so that the
     * default policy read back and PUT unchanged passes validation. */
    struct strlist raw = {0};
    strlist_split(&raw, mgmt_networks, ',');
    for (size_t i = 0; i < raw.n; i++) {
        char *s = raw.items[i];
        while (*s == ' ' || *s == '\t')
            s++;
        size_t n = strlen(s);
        while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
            s[--n] = '\0';
        struct cidr c;
        if (cidr_parse(s, CIDR_STRICT, &c) < 0)
            continue; /* not a CIDR: skipped here, the configuration should refuse it */
        char canon[CIDR_STR_LEN];
        cidr_format(&c, canon);
        if (!strlist_contains(&p->svc[SVC_API].networks, canon))
            strlist_add(&p->svc[SVC_API].networks, canon);
    }
    strlist_release(&raw);
}
