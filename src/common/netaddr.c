#include "netaddr.h"

#include <arpa/inet.h>
#include <errno.h>
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

int netaddr_parse_hostport(const char *s, struct sockaddr_storage *ret_ss, socklen_t *ret_len)
{
    char host[128];
    const char *colon;
    if (!s)
        return -EINVAL;
    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        if (!end || end[1] != ':' || (size_t)(end - s - 1) >= sizeof(host))
            return -EINVAL;
        memcpy(host, s + 1, (size_t)(end - s - 1));
        host[end - s - 1] = '\0';
        colon = end + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || (size_t)(colon - s) >= sizeof(host))
            return -EINVAL;
        memcpy(host, s, (size_t)(colon - s));
        host[colon - s] = '\0';
    }
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end || port < 0 || port > 65535)
        return -EINVAL;
    return netaddr_parse(strcmp(host, "localhost") == 0 ? "127.0.0.1" : host, (uint16_t)port,
                         ret_ss, ret_len);
}
