/*
 * vpn_role.h - the edge's side of the Management VPN (DESIGN.md §10,
 * docs/vpn.md): one WireGuard interface owned by this process.
 *
 * At start: the preflight (CAP_NET_ADMIN, /dev/net/tun, wireguard-go), the
 * edge's keypair (generated once, kept in the store with the private key
 * sealed), then a thread that opens the interface (wireguard-go, supervised:
 * PR_SET_PDEATHSIG ties it to that thread) with the first address of the
 * tunnel pool. The thread is level-triggered like the edge's listeners: every
 * second (or when woken) it restarts a dead wireguard-go and re-applies the
 * whole state (key, port, every peer with its last endpoint), then compares
 * the managed sites of the store with the device's get=1 and adds, re-keys or
 * removes only the peers that differ. Every poll_ms it writes what it saw
 * (endpoint, handshake, rx/tx) back and derives the tunnel status (up while
 * the last handshake or the last growth of the peer's rx counter is younger
 * than down_after_secs, 180 s by default); up/down transitions go to the site's
 * orchestration log (store_site_event) and the log.
 */
#ifndef TG_DAEMON_VPN_ROLE_H
#define TG_DAEMON_VPN_ROLE_H

#include "buf.h"
#include "store.h"

#include <stdbool.h>
#include <stddef.h>

/* Borrowed for vpn_role_start() only (copied). */
struct vpn_role_config {
    struct store *store;
    const char *mode;          /* "wireguard" (required), "auto" (if possible) or "off" */
    const char *entry_point;   /* whose keypair (vpn_edges) */
    const char *node_name;     /* this node (TIKGATE_NODE_NAME): the peers are its sites' */
    const char *ifname;        /* TIKGATE_WG_INTERFACE */
    unsigned port;             /* TIKGATE_WG_PORT */
    const char *pool;          /* TIKGATE_TUNNEL_POOL */
    const char *mgmt_networks; /* must contain the pool (the routers let only these in) */
    const char *backend;       /* TIKGATE_WG_BACKEND: "auto" (NULL), "kernel" or "userspace" */
    const char *wireguard_go;  /* NULL: "wireguard-go" in PATH */
    const char *uapi_dir;      /* NULL: /var/run/wireguard */
    int poll_ms;               /* get=1 write-back period; 0: 2000 */
    unsigned down_after_secs;  /* down after this long without handshake or traffic; 0: 180 */
};

struct vpn_role;

/*
 * Starts the VPN. 0 with *ret owned by the caller (vpn_role_stop), or *ret NULL
 * when the VPN does not run (mode off, or auto with a failed preflight or
 * start, or a pool outside mgmt_networks, as in a loopback lab with
 * TIKGATE_MANAGEMENT_NETWORKS=127.0.0.0/8: a warning is logged). -errno when mode is wireguard and
 * the interface cannot be made (the reason is logged as an error) or the config is invalid.
 */
int vpn_role_start(const struct vpn_role_config *cfg, struct vpn_role **ret);
/* Reconcile now (a site's router key or address changed). Accepts NULL. */
void vpn_role_wake(struct vpn_role *v);
/* Stops the thread and the interface (wireguard-go gets SIGTERM). Accepts NULL. */
void vpn_role_stop(struct vpn_role *v);
/* Appends tikgate_vpn_* in Prometheus text. Accepts NULL (tikgate_vpn_enabled 0). */
void vpn_role_metrics(struct vpn_role *v, struct buf *out);
/* wireguard-go's pid (tests), 0 when not running. Accepts NULL. */
int vpn_role_pid(struct vpn_role *v);

#endif
