#include "netaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

int netaddr_parse(const char *host, uint16_t port, struct sockaddr_storage *ret_ss,
                  socklen_t *ret_len)
{
    if (!host)
        return -EINVAL;
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, host, &a4) == 1) {
        memset(ret_ss, 0, sizeof(*ret_ss));
        struct sockaddr_in *in = (struct sockaddr_in *)ret_ss;
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        in->sin_addr = a4;
        *ret_len = sizeof(*in);
        return 0;
    }
    if (inet_pton(AF_INET6, host, &a6) == 1) {
        memset(ret_ss, 0, sizeof(*ret_ss));
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ret_ss;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        in6->sin6_addr = a6;
        *ret_len = sizeof(*in6);
        return 0;
    }
    return -EINVAL;
}

int netaddr_split_hostport(const char *s, char *host, size_t host_size, unsigned *ret_port)
{
    if (!s)
        return -EINVAL;
    const char *h = s, *colon;
    size_t hl;
    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        if (!end || end[1] != ':')
            return -EINVAL;
        h = s + 1;
        hl = (size_t)(end - h);
        colon = end + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon)
            return -EINVAL;
        hl = (size_t)(colon - s);
    }
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (hl == 0 || hl >= host_size || colon[1] == '\0' || *end || port < 0 || port > 65535)
        return -EINVAL;
    memcpy(host, h, hl);
    host[hl] = '\0';
    *ret_port = (unsigned)port;
    return 0;
}

int netaddr_parse_hostport(const char *s, struct sockaddr_storage *ret_ss, socklen_t *ret_len)
{
    char host[128];
    unsigned port;
    if (netaddr_split_hostport(s, host, sizeof(host), &port) < 0)
        return -EINVAL;
    return netaddr_parse(strcmp(host, "localhost") == 0 ? "127.0.0.1" : host, (uint16_t)port,
                         ret_ss, ret_len);
}

bool netaddr_is_local(const char *host)
{
    struct sockaddr_storage ss;
    socklen_t len;
    if (netaddr_parse(host, 0, &ss, &len) < 0)
        return false;
    static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    uint8_t a[16];
    int family = ss.ss_family;
    if (family == AF_INET) {
        memcpy(a, &((struct sockaddr_in *)(void *)&ss)->sin_addr, 4);
    } else {
        memcpy(a, &((struct sockaddr_in6 *)(void *)&ss)->sin6_addr, 16);
        if (!memcmp(a, v4mapped, 12)) {
            memmove(a, a + 12, 4);
            family = AF_INET;
        }
    }
    static const uint8_t zero[16];
    if (!memcmp(a, zero, family == AF_INET ? 4 : 16))
        return true;
    struct ifaddrs *ifs = NULL;
    if (getifaddrs(&ifs) < 0)
        return false;
    bool found = false;
    for (struct ifaddrs *i = ifs; i && !found; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != family)
            continue;
        const void *mine =
            family == AF_INET
                ? (const void *)&((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr
                : (const void *)&((struct sockaddr_in6 *)(void *)i->ifa_addr)->sin6_addr;
        found = !memcmp(mine, a, family == AF_INET ? 4 : 16);
    }
    freeifaddrs(ifs);
    return found;
}
