/*
 * target.h - the connect-time re-check of a router address (DESIGN.md §10,
 * security-review F1/F2): the dispatcher's express push and the edge's relay
 * connect to a site's tunnel address only after this says yes, so an address
 * that got into the store by any way (an older database, a bug) never points
 * them at loopback, the node itself or an address outside the tunnels.
 */
#ifndef TG_JOBS_TARGET_H
#define TG_JOBS_TARGET_H

#include <stddef.h>

/*
 * 0 when addr may be connected to: tunnel_address_check() (inside mgmt_networks or pool, never
 * unspecified/multicast/link-local/broadcast, loopback only in a loopback lab and never
 * 127.0.0.1) and not an address of this node (netaddr_is_local). Else -EPERM with a sentence in
 * err (errlen bytes, always terminated). mgmt_networks NULL: no check at all (a dispatcher or
 * edge built by hand without the configuration, as unit tests do); the daemon always sets it.
 */
int tunnel_target_check(const char *addr, const char *mgmt_networks, const char *pool, char *err,
                        size_t errlen);

#endif
