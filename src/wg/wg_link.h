/*
 * wg_link.h - what the WireGuard interface needs from the kernel, over
 * rtnetlink (raw NETLINK_ROUTE sockets, no `ip` subprocess): link up + MTU,
 * the interface address, whether the kernel's WireGuard can be used, and a
 * preflight that names what is missing (CAP_NET_ADMIN, /dev/net/tun, the
 * wireguard-go binary) so the daemon can say so at start.
 *
 * Every call acts in the network namespace of the calling thread. Nothing
 * here allocates; netlink replies are read into a fixed, capped buffer and
 * bounded by a timeout.
 */
#ifndef TG_WG_LINK_H
#define TG_WG_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WG_DEFAULT_MTU 1420
#define WG_NETLINK_TIMEOUT_MS 2000

/*
 * An interface address: local/prefix, and for the point-to-point form (the
 * router's "/32 with network=") the peer address; the kernel then routes only
 * the peer through the interface.
 */
struct wg_ifaddr {
    int family; /* AF_INET or AF_INET6 */
    uint8_t local[16];
    uint8_t prefix;
    bool has_peer;
    uint8_t peer[16];
};

/*
 * Parses "100.64.0.1/10" (host bits allowed: it is an address, not a network)
 * and, when peer is not NULL, a peer address of the same family ("100.64.0.1").
 * 0 or -EINVAL.
 */
int wg_ifaddr_parse(const char *addr, const char *peer, struct wg_ifaddr *ret);

/* Sets the link's MTU (0: leave it) and brings it up. 0, -ENODEV, or -errno from the kernel. */
int wg_link_up(const char *ifname, unsigned mtu);
/* Adds (or replaces: idempotent) an address on the link. 0, -ENODEV or -errno. */
int wg_link_add_address(const char *ifname, const struct wg_ifaddr *a);
/* Removes that address from the link. 0, -ENODEV, -EADDRNOTAVAIL (not there) or -errno. */
int wg_link_del_address(const char *ifname, const struct wg_ifaddr *a);
/* MTU, address (a may be NULL), up: what a fresh interface needs. */
int wg_link_setup(const char *ifname, unsigned mtu, const struct wg_ifaddr *a);
/* Deletes a link (used for a kernel probe that created one). 0, -ENODEV or -errno. */
int wg_link_delete(const char *ifname);

/*
 * Creates a kernel WireGuard link named ifname (RTM_NEWLINK, IFLA_INFO_KIND
 * "wireguard", NLM_F_EXCL), down and unconfigured. 0, -EEXIST, -EPERM, or the
 * kernel's answer as is: without the module that is -EOPNOTSUPP (the caller
 * maps it). -EINVAL for a bad name.
 */
int wg_link_create_wireguard(const char *ifname);

/*
 * Whether the kernel can create a "wireguard" link here: sends RTM_NEWLINK of
 * kind wireguard with an impossible MTU, so that a present module answers
 * EINVAL and nothing is created (netbird's trick); if a link was created
 * anyway it is deleted. 1 = kernel WireGuard usable, 0 = not (EOPNOTSUPP: no
 * module), -EPERM = no CAP_NET_ADMIN, other -errno.
 */
int wg_kernel_probe(void);

/* True when the effective capability set holds CAP_NET_ADMIN. */
bool wg_have_cap_net_admin(void);

/*
 * Checks what the userspace backend needs: CAP_NET_ADMIN, an openable
 * /dev/net/tun, the wireguard-go binary (wireguard_go: a path or a name looked
 * up in PATH; NULL = "wireguard-go"). 0, or -EPERM / -ENODEV / -ENOENT with a
 * sentence for the operator in msg (always NUL-terminated).
 */
int wg_preflight_userspace(const char *wireguard_go, char *msg, size_t msg_len);
/*
 * Resolves wireguard_go (see above) to an executable path in out.
 * 0, -ENOENT, -ENAMETOOLONG.
 */
int wg_find_program(const char *name, char *out, size_t out_len);

#endif
