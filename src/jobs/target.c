#include "target.h"

#include "netaddr.h"
#include "tunnel.h"

#include <errno.h>
#include <stdio.h>

int tunnel_target_check(const char *addr, const char *mgmt_networks, const char *pool, char *err,
                        size_t errlen)
{
    struct tg_err e;
    if (!addr) {
        snprintf(err, errlen, "the site has no tunnel address");
        return -EPERM;
    }
    if (!mgmt_networks)
        return 0; /* a dispatcher or edge built without the configuration (unit tests) */
    if (tunnel_address_check(addr, mgmt_networks, pool, "tunnel_address", &e) < 0) {
        snprintf(err, errlen, "refused to connect to %s: %s", addr, e.message);
        return -EPERM;
    }
    if (netaddr_is_local(addr)) {
        snprintf(err, errlen, "refused to connect to %s: it is an address of this node", addr);
        return -EPERM;
    }
    return 0;
}
