#include "grant.h"

#include "cidr.h"
#include "rand.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void grant_release(struct grant *g)
{
    if (!g)
        return;
    sodium_memzero(g->password, sizeof g->password);
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
    if (r == 0 && cidr_is_v4mapped(&c))
        return tg_err_invalid(err, "invalid_cidr", param, "'%s': " CIDR_V4MAPPED_HINT ".", s);
    if (r < 0)
        return tg_err_invalid(err, "invalid_cidr", param, "'%s' is not a valid IP or CIDR.", s);
    int min = c.family == AF_INET ? 24 : 48;
    if (c.prefix < min)
        return tg_err_invalid(err, "source_too_wide", param,
                              "'%s' is wider than /%d: allow a single address or a small range.", s,
                              min);
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
    /* The forward is a dst-nat of the router's IPv4 management address: RouterOS has no NAT
     * from IPv4 to IPv6, and /ip firewall nat refuses an IPv6 to-addresses (decisions.md). */
    if (c.family == AF_INET6)
        return tg_err_invalid(err, "ipv6_destination", "dst_address",
                              "'%s' is an IPv6 address: forwards reach IPv4 destinations only "
                              "(RouterOS cannot dst-nat an IPv4 connection to an IPv6 host).",
                              s);
    enum cidr_class cls = cidr_classify(&c);
    const char *why = NULL;
    switch (cls) {
    case CIDR_CLASS_PUBLIC:
    case CIDR_CLASS_PRIVATE:
    case CIDR_CLASS_RESERVED: break;
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

static int check_rate_limit(long long v, struct tg_err *err)
{
    if (v != 0 && (v < GRANT_RATE_LIMIT_MIN || (unsigned long long)v > GRANT_RATE_LIMIT_MAX))
        return tg_err_invalid(err, "parameter_out_of_range", "rate_limit_bps",
                              "rate_limit_bps must be 0 (off) or between %d and %llu.",
                              GRANT_RATE_LIMIT_MIN, (unsigned long long)GRANT_RATE_LIMIT_MAX);
    return 0;
}

static int validate_patch(const struct grant_request *req, int64_t now_ms, struct grant *out,
                          struct tg_err *err)
{
    if (req->has_rate_limit && check_rate_limit(req->rate_limit_bps, err) < 0)
        return -EINVAL;
    if (!req->has_expires_at && !req->has_rate_limit)
        return tg_err_invalid(err, "parameter_missing", "expires_at",
                              "Send 'expires_at' (RFC 3339) and/or 'rate_limit_bps'.");
    int64_t now = now_ms / 1000;
    if (req->has_expires_at && req->expires_at <= now)
        return tg_err_invalid(err, "parameter_out_of_range", "expires_at",
                              "expires_at must be in the future.");
    /* The same bound as expire_after_minutes at creation: 24 hours. */
    if (req->has_expires_at && req->expires_at > now + GRANT_MINUTES_MAX * 60)
        return tg_err_invalid(err, "parameter_out_of_range", "expires_at",
                              "expires_at may be at most 24 hours from now.");
    out->expires_at_ms = req->has_expires_at ? req->expires_at * 1000 : 0;
    if (req->has_rate_limit)
        out->rate_limit = (uint64_t)req->rate_limit_bps;
    return 0;
}

int grant_validate(const struct grant_request *req, const struct grant_source_rules *rules,
                   int64_t now_ms, struct grant *out, struct tg_err *err)
{
    if (req->patch)
        return validate_patch(req, now_ms, out, err);
    bool access = req->kind == GRANT_ACCESS;
    const char *type = req->access_type ? req->access_type : "winbox";
    char dst[sizeof out->dst_address] = "";
    char src[sizeof out->allow_only_cidr];
    if (access && strcmp(type, "winbox") && strcmp(type, "ssh"))
        return tg_err_invalid(err, "parameter_invalid", "type", "type must be winbox or ssh.");
    if (!access) {
        if (!req->dst_address)
            return tg_err_invalid(err, "parameter_missing", "dst_address",
                                  "The 'dst_address' parameter is required.");
        if (!req->has_dst_port)
            return tg_err_invalid(err, "parameter_missing", "dst_port",
                                  "The 'dst_port' parameter is required.");
        if (req->dst_port < 1 || req->dst_port > 65535)
            return tg_err_invalid(err, "port_out_of_range", "dst_port",
                                  "dst_port must be between 1 and 65535 (got %lld).",
                                  req->dst_port);
        if (grant_check_destination(req->dst_address, rules, dst, sizeof dst, err) < 0)
            return -EINVAL;
    }
    long long minutes = req->has_minutes ? req->minutes : GRANT_MINUTES_DEFAULT;
    if (grant_check_minutes(minutes, err) < 0)
        return -EINVAL;
    long long rate = req->has_rate_limit ? req->rate_limit_bps : 0;
    if (check_rate_limit(rate, err) < 0)
        return -EINVAL;
    const char *param = req->source_param ? req->source_param : "allow_only_cidr";
    if (!req->source)
        return tg_err_invalid(err, "parameter_missing", param, "The '%s' parameter is required.",
                              param);
    if (grant_check_source(req->source, param, rules, src, sizeof src, err) < 0)
        return -EINVAL;
    if (access) {
        snprintf(out->access_type, sizeof out->access_type, "%s", type);
        out->full_access = req->full_access;
        out->allow_rfc1918 = req->allow_rfc1918;
    } else {
        memcpy(out->dst_address, dst, sizeof out->dst_address);
        out->dst_port = (int)req->dst_port;
        out->masquerade = req->masquerade;
    }
    memcpy(out->allow_only_cidr, src, sizeof out->allow_only_cidr);
    out->rate_limit = (uint64_t)rate;
    out->expires_at_ms = now_ms + minutes * 60000;
    return 0;
}

void grant_generate_credential(char out[GRANT_CRED_LEN + 1])
{
    rand_base62(out, GRANT_CRED_LEN);
}
