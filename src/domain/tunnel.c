#include "tunnel.h"

#include "cidr.h"
#include "site.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const mode_names[] = {"external", "managed"};
static const char *const status_names[] = {"pending", "up", "down"};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

const char *tunnel_mode_name(enum tunnel_mode m)
{
    return (unsigned)m < N_OF(mode_names) ? mode_names[m] : "unknown";
}

int tunnel_mode_parse(const char *s, enum tunnel_mode *ret)
{
    for (size_t i = 0; s && i < N_OF(mode_names); i++)
        if (!strcmp(s, mode_names[i])) {
            *ret = (enum tunnel_mode)i;
            return 0;
        }
    return -EINVAL;
}

const char *tunnel_status_name(enum tunnel_status st)
{
    return (unsigned)st < N_OF(status_names) ? status_names[st] : "unknown";
}

int tunnel_status_parse(const char *s, enum tunnel_status *ret)
{
    for (size_t i = 0; s && i < N_OF(status_names); i++)
        if (!strcmp(s, status_names[i])) {
            *ret = (enum tunnel_status)i;
            return 0;
        }
    return -EINVAL;
}

enum tunnel_status tunnel_status_derive(int64_t last_handshake_at, int64_t now)
{
    return tunnel_status_within(last_handshake_at, last_handshake_at, now, TUNNEL_UP_SECS);
}

enum tunnel_status tunnel_status_within(int64_t last_handshake_at, int64_t last_seen, int64_t now,
                                        int64_t down_after)
{
    if (last_handshake_at <= 0)
        return TUNNEL_PENDING;
    if (last_seen < last_handshake_at)
        last_seen = last_handshake_at;
    return now - last_seen < down_after ? TUNNEL_UP : TUNNEL_DOWN;
}

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

bool tunnel_key_valid(const char *b64)
{
    if (!b64 || strlen(b64) != TUNNEL_KEY_B64_LEN || b64[43] != '=')
        return false;
    int last = 0;
    for (size_t i = 0; i < 43; i++) {
        last = b64_value(b64[i]);
        if (last < 0)
            return false;
    }
    /* 43 characters carry 258 bits: the last one's low 2 bits are padding and must be 0. */
    return (last & 3) == 0;
}

bool tunnel_ros_version_ok(const char *version)
{
    return site_ros_version_at_least(version, 7, 8);
}

int tunnel_pool_parse(const char *pool, uint32_t *ret_first, uint32_t *ret_last)
{
    struct cidr c;
    if (!pool || cidr_parse(pool, CIDR_STRICT, &c) < 0 || c.family != AF_INET || c.prefix > 30)
        return -EINVAL;
    uint32_t base = ((uint32_t)c.addr[0] << 24) | ((uint32_t)c.addr[1] << 16) |
                    ((uint32_t)c.addr[2] << 8) | c.addr[3];
    uint32_t size = c.prefix == 0 ? 0 : (uint32_t)1 << (32 - c.prefix); /* /0: wraps to 0 */
    *ret_first = base + 1;
    *ret_last = base + size - 2;
    return 0;
}

void tunnel_ip_format(uint32_t ip, char out[16])
{
    snprintf(out, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}

/* True when the comma-separated prefix list holds a prefix containing (family, a). */
static bool list_contains(const char *list, int family, const uint8_t *a, bool *ret_has_loopback)
{
    bool found = false;
    while (list && *list) {
        size_t n = strcspn(list, ", ");
        char item[CIDR_STR_LEN + 1];
        if (n > 0 && n < sizeof item) {
            memcpy(item, list, n);
            item[n] = '\0';
            struct cidr c;
            if (cidr_parse(item, CIDR_MASK_HOST_BITS, &c) == 0) {
                if (cidr_contains(&c, family, a))
                    found = true;
                if (ret_has_loopback && cidr_classify(&c) == CIDR_CLASS_LOOPBACK)
                    *ret_has_loopback = true;
            }
        }
        list += n;
        while (*list == ',' || *list == ' ')
            list++;
    }
    return found;
}

int tunnel_address_check(const char *addr, const char *mgmt_networks, const char *pool,
                         const char *param, struct tg_err *err)
{
    struct tg_err scratch;
    if (!err)
        err = &scratch;
    struct cidr c;
    if (!addr || cidr_parse(addr, CIDR_STRICT, &c) < 0 ||
        c.prefix != (c.family == AF_INET ? 32 : 128))
        return tg_err_invalid(err, "invalid_address", param, "'%s' is not an address.",
                              addr ? addr : "");
    static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (c.family == AF_INET6 && !memcmp(c.addr, v4mapped, 12)) { /* ::ffff:a.b.c.d is a.b.c.d */
        memmove(c.addr, c.addr + 12, 4);
        memset(c.addr + 4, 0, 12);
        c.family = AF_INET;
        c.prefix = 32;
    }
    const char *why = NULL;
    switch (cidr_classify(&c)) {
    case CIDR_CLASS_THIS_NET: why = "an unspecified address"; break;
    case CIDR_CLASS_MULTICAST: why = "a multicast address"; break;
    case CIDR_CLASS_BROADCAST: why = "the broadcast address"; break;
    case CIDR_CLASS_LINK_LOCAL: why = "a link-local address"; break;
    default: break;
    }
    bool lab = false;
    bool inside = list_contains(mgmt_networks, c.family, c.addr, &lab) ||
                  list_contains(pool, c.family, c.addr, NULL);
    if (!why && cidr_classify(&c) == CIDR_CLASS_LOOPBACK) {
        static const uint8_t one4[4] = {127, 0, 0, 1};
        bool node = c.family == AF_INET6 || !memcmp(c.addr, one4, 4); /* ::1 and 127.0.0.1 */
        if (!lab || node)
            why = "a loopback address (this node)";
    }
    if (why)
        return tg_err_invalid(err, "tunnel_address_forbidden", param,
                              "'%s' is %s: a tunnel address must be a router's.", addr, why);
    if (!inside)
        return tg_err_invalid(err, "tunnel_address_forbidden", param,
                              "'%s' is outside the management networks (%s) and the tunnel pool.",
                              addr, mgmt_networks ? mgmt_networks : "");
    return 0;
}
