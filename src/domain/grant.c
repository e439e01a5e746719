#include "grant.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"
#include "rand.h"

void grant_release(struct grant *g)
{
    if (!g)
        return;
    free(g->entry_point);
    free(g->created_by);
    free(g->target_address);
    g->entry_point = g->created_by = g->target_address = NULL;
}

const char *grant_kind_name(enum grant_kind k)
{
    return k == GRANT_ACCESS ? "access" : "forward";
}

int grant_check_source(const char *s, const char *param, const struct grant_source_rules *rules,
                       char *out, size_t outlen, struct tg_err *err)
{
    struct cidr c;
    int r = cidr_parse(s, CIDR_STRICT, &c);
    if (r == -EADDRNOTAVAIL)
        return tg_err_invalid(err, "invalid_cidr", param, "'%s' has host bits set.", s);
    if (r < 0)
        return tg_err_invalid(err, "invalid_cidr", param, "'%s' is not a valid IP or CIDR.", s);
    int min = c.family == AF_INET ? 24 : 48;
    if (c.prefix < min)
        return tg_err_invalid(err, "source_too_wide", param,
                              "'%s' is wider than /%d: allow a single address or a small range.",
                              s, min);
    enum cidr_class cls = cidr_classify(&c);
    bool ok = cls == CIDR_CLASS_PUBLIC;
    if (rules->allow_private)
        ok = cls == CIDR_CLASS_PUBLIC || cls == CIDR_CLASS_PRIVATE || cls == CIDR_CLASS_LOOPBACK ||
             cls == CIDR_CLASS_RESERVED;
    if (!ok)
        return tg_err_invalid(err, "source_not_public", param,
                              "'%s' is not a publicly routed address.", s);
    char canon[CIDR_STR_LEN];
    cidr_format(&c, canon);
    snprintf(out, outlen, "%s", canon);
    return 0;
}

int grant_check_destination(const char *s, const struct grant_source_rules *rules, char *out,
                            size_t outlen, struct tg_err *err)
{
    struct cidr c;
    if (cidr_parse(s, CIDR_REQUIRE_PREFIX, &c) == 0 || cidr_parse(s, CIDR_STRICT, &c) < 0 ||
        (c.family == AF_INET && c.prefix != 32) || (c.family == AF_INET6 && c.prefix != 128))
        return tg_err_invalid(err, "invalid_address", "dst_address",
                              "'%s' is not a valid IP address.", s);
    enum cidr_class cls = cidr_classify(&c);
    const char *why = NULL;
    switch (cls) {
    case CIDR_CLASS_PUBLIC:
    case CIDR_CLASS_PRIVATE:
    case CIDR_CLASS_RESERVED:
        break;
    case CIDR_CLASS_LOOPBACK:
        if (!rules->allow_private)
            why = "a loopback address";
        break;
    case CIDR_CLASS_LINK_LOCAL: why = "a link-local address"; break;
    case CIDR_CLASS_MULTICAST: why = "a multicast address"; break;
    case CIDR_CLASS_THIS_NET: why = "in 0.0.0.0/8"; break;
    case CIDR_CLASS_BROADCAST: why = "the broadcast address"; break;
    }
    if (why)
        return tg_err_invalid(err, "invalid_destination", "dst_address",
                              "'%s' is %s: forward to a private or publicly routed address.", s,
                              why);
    char canon[CIDR_STR_LEN];
    cidr_format(&c, canon);
    char *slash = strchr(canon, '/');
    if (slash)
        *slash = '\0';
    snprintf(out, outlen, "%s", canon);
    return 0;
}

int grant_check_minutes(long long minutes, struct tg_err *err)
{
    if (minutes < GRANT_MINUTES_MIN || minutes > GRANT_MINUTES_MAX)
        return tg_err_invalid(err, "parameter_out_of_range", "expire_after_minutes",
                              "expire_after_minutes must be between %d and %d (got %lld).",
                              GRANT_MINUTES_MIN, GRANT_MINUTES_MAX, minutes);
    return 0;
}

void grant_generate_credential(char out[GRANT_CRED_LEN + 1])
{
    rand_base62(out, GRANT_CRED_LEN);
}
