/*
 * wg_genl.h - the kernel WireGuard's generic netlink messages ("wireguard"
 * family, <linux/wireguard.h>), built and parsed with libmnl. No I/O here:
 * kernel.c sends what wg_genl_build_set() builds and feeds the kernel's
 * answers to wg_genl_parse_get(), and the unit tests and the fuzz target
 * do the same with messages of their own.
 *
 * The same struct wg_device as the UAPI client (wg_uapi.h) describes both
 * directions, with the same flags, so the backend above does not care which
 * side it talks to.
 */
#ifndef TG_WG_GENL_H
#define TG_WG_GENL_H

#include "buf.h"
#include "wg_uapi.h"

#include <stddef.h>
#include <stdint.h>

/* One SET_DEVICE message at most (wireguard-tools: MNL_SOCKET_BUFFER_SIZE, a page). */
#define WG_GENL_MSG_MAX 4096u
/* What one recv() of a GET_DEVICE dump may bring (MNL_SOCKET_DUMP_SIZE). */
#define WG_GENL_RECV_MAX 32768u

/*
 * Appends the WG_CMD_SET_DEVICE request(s) for d on interface ifname to out:
 * complete netlink messages (type family, NLM_F_REQUEST | NLM_F_ACK, seq
 * seq, seq + 1, ...), each at most WG_GENL_MSG_MAX bytes, laid end to end
 * (walk them with nlmsg_len). Split as wireguard-tools does: the first
 * message carries the device's attributes and WGDEVICE_F_REPLACE_PEERS when
 * d asks for it, later ones only the interface name and further peers; a
 * peer whose allowed IPs do not fit is continued in the next message under
 * the same public key, without its flags (so without
 * WGPEER_F_REPLACE_ALLOWEDIPS: the continuation adds). Peers with
 * WG_PEER_REMOVE send only their key and WGPEER_F_REMOVE_ME.
 * d is borrowed. 0 and *ret_count (messages appended), -EINVAL (bad name or
 * allowed IP), or -E2BIG when out's cap is hit (out is then incomplete).
 */
int wg_genl_build_set(uint16_t family, uint32_t seq, const char *ifname, const struct wg_device *d,
                      struct buf *out, size_t *ret_count);

/* Appends the WG_CMD_GET_DEVICE dump request for ifname to out. 0, -EINVAL, -E2BIG. */
int wg_genl_build_get(uint16_t family, uint32_t seq, const char *ifname, struct buf *out);

/*
 * Parses one buffer of the kernel's GET_DEVICE dump (data[0..len): one or
 * more netlink messages as one recv() returns them) into *dev, which gathers
 * the whole dump: zero it before the first call, release it with
 * wg_device_release() whatever the result. A peer that the kernel continued
 * in a following message (same public key as dev's last peer, first in its
 * message) gets its further allowed IPs. Messages must be of type family,
 * command WG_CMD_GET_DEVICE; unknown attributes are ignored, known ones of
 * the wrong size refused.
 * Returns 1 when the dump ended (NLMSG_DONE), 0 when more is to come,
 * -EPROTO for a malformed message, -E2BIG past WG_UAPI_MAX_PEERS peers or
 * WG_UAPI_MAX_ALLOWED_IPS allowed IPs per peer, or the kernel's own error
 * (an NLMSG_ERROR, as a negative errno in [-4095, -1]).
 */
int wg_genl_parse_get(uint16_t family, const void *data, size_t len, struct wg_device *dev);

/*
 * The "wireguard" family lookup: builds CTRL_CMD_GETFAMILY into out, and
 * parses its reply (one recv) into *ret_family. build: 0, -E2BIG; parse: 0,
 * -EPROTO, or the kernel's error (-ENOENT: no such family, i.e. no module).
 */
int wg_genl_build_family_query(uint32_t seq, struct buf *out);
int wg_genl_parse_family(const void *data, size_t len, uint16_t *ret_family);

#endif
