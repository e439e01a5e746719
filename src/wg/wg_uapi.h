/*
 * wg_uapi.h - the WireGuard cross-platform userspace API (UAPI) client.
 *
 * wireguard-go (and boringtun) serve a text protocol on the stream socket
 * /var/run/wireguard/<ifname>.sock (https://www.wireguard.com/xplatform/):
 * a request is "get=1\n\n" or "set=1\n" + key=value lines + "\n"; every reply
 * ends with "errno=N\n\n" (0 = ok; wireguard-go sends negative values such as
 * -22). Keys are lowercase hex on the wire.
 *
 * One struct wg_device describes both directions: the answer of a get, and
 * what a set changes. A set sends only what its flags say, so a peer update
 * never touches the device's other peers unless WG_DEVICE_REPLACE_PEERS is
 * given. Every exchange opens its own connection, is bounded by a timeout for
 * the whole exchange (connect to last byte, poll()-based) and reads at most a
 * fixed number of bytes.
 *
 * Ownership: struct wg_device and struct wg_peer are caller-owned values;
 * their arrays (peers, allowed_ips) are owned by them and freed by
 * wg_device_release(). The functions that send a device borrow it.
 * Not thread-safe per struct; the functions keep no global state.
 */
#ifndef TG_WG_UAPI_H
#define TG_WG_UAPI_H

#include "buf.h"
#include "cidr.h"
#include "wg_key.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define WG_UAPI_DIR "/var/run/wireguard"
#define WG_IFNAME_MAX 15                  /* IFNAMSIZ - 1 */
#define WG_UAPI_PATH_MAX 108              /* sizeof(sun_path) */
#define WG_UAPI_MAX_PEERS 65536           /* wireguard-go's MaxPeers */
#define WG_UAPI_MAX_ALLOWED_IPS 1024      /* per peer, in a get reply */
#define WG_UAPI_LINE_MAX 256              /* longest reply line, "\n" included */
#define WG_UAPI_GET_REPLY_MAX (32u << 20) /* 65 536 peers dump in about 20 MiB */
#define WG_UAPI_SET_REPLY_MAX 256u        /* "errno=N\n\n" */
#define WG_UAPI_REQUEST_MAX (64u << 20)
#define WG_UAPI_TIMEOUT_MS 5000
#define WG_ENDPOINT_STR_LEN 72 /* "[v6%scope]:65535" + NUL */

enum wg_peer_flags {
    WG_PEER_REMOVE = 1 << 0,              /* set: remove this peer (nothing else is sent) */
    WG_PEER_UPDATE_ONLY = 1 << 1,         /* set: change it only if it exists */
    WG_PEER_REPLACE_ALLOWED_IPS = 1 << 2, /* set: allowed_ips replace the peer's list */
    WG_PEER_HAS_PRESHARED_KEY = 1 << 3,   /* preshared_key is meaningful */
    WG_PEER_HAS_KEEPALIVE = 1 << 4,       /* set: send keepalive (0 turns it off) */
};

struct wg_peer {
    struct wg_key public_key;
    struct wg_key preshared_key;      /* WG_PEER_HAS_PRESHARED_KEY */
    unsigned flags;                   /* enum wg_peer_flags */
    struct sockaddr_storage endpoint; /* ss_family AF_UNSPEC: none (the router is behind NAT) */
    uint16_t keepalive;               /* persistent keepalive, seconds, 0 = off */
    int64_t last_handshake_sec;       /* get: Unix time of the last handshake, 0 = never */
    int64_t last_handshake_nsec;
    uint64_t rx_bytes;        /* get */
    uint64_t tx_bytes;        /* get */
    struct cidr *allowed_ips; /* owned */
    size_t n_allowed_ips;
    size_t alloc_allowed_ips;
};

enum wg_device_flags {
    WG_DEVICE_HAS_PRIVATE_KEY = 1 << 0, /* get: a key is set; set: send private_key */
    WG_DEVICE_HAS_LISTEN_PORT = 1 << 1,
    WG_DEVICE_HAS_FWMARK = 1 << 2,
    WG_DEVICE_REPLACE_PEERS = 1 << 3, /* set: the peers below replace all of the device's */
};

struct wg_device {
    unsigned flags;            /* enum wg_device_flags */
    struct wg_key private_key; /* wiped by wg_device_release() */
    struct wg_key public_key;  /* get: derived from private_key */
    uint16_t listen_port;
    uint32_t fwmark;
    struct wg_peer *peers; /* owned */
    size_t n_peers;
    size_t alloc_peers;
};

/* Frees the peers and their allowed IPs, wipes the keys, leaves *d zeroed. NULL is fine. */
void wg_device_release(struct wg_device *d);
/*
 * Appends a zeroed peer with public key pub and returns it (owned by d; the
 * pointer, and earlier ones, stay valid until the next wg_device_add_peer).
 */
struct wg_peer *wg_device_add_peer(struct wg_device *d, const struct wg_key *pub);
/* Appends an allowed IP to p (copied). */
void wg_peer_add_allowed_ip(struct wg_peer *p, const struct cidr *c);
/* The peer with public key pub, or NULL. Linear. */
const struct wg_peer *wg_device_find_peer(const struct wg_device *d, const struct wg_key *pub);

/* "198.51.100.2:51820" or "[2001:db8::1]:51820"; an empty string for no endpoint. */
void wg_endpoint_format(const struct sockaddr_storage *ss, char out[WG_ENDPOINT_STR_LEN]);
/* Parses the form above (IPv6 with an optional numeric %scope). 0 or -EINVAL. */
int wg_endpoint_parse(const char *s, size_t len, struct sockaddr_storage *ret);

/*
 * Appends the "set=1" request for d to out (a complete message, ending in the
 * blank line). Peers with WG_PEER_REMOVE send only their key and remove=true.
 * 0, or -E2BIG when out's cap is hit (out is then incomplete).
 */
int wg_uapi_format_set(struct buf *out, const struct wg_device *d);
/*
 * Parses a complete "get=1" reply (data[0..len), the final "\n\n" included).
 * Accepts unknown keys (ignored), refuses malformed lines and values, device
 * keys after the first peer, lines longer than WG_UAPI_LINE_MAX, more than
 * WG_UAPI_MAX_PEERS peers or WG_UAPI_MAX_ALLOWED_IPS allowed IPs per peer, a
 * missing errno line and bytes after the blank line. Returns 0 and fills *ret
 * (owned by the caller: wg_device_release), -EPROTO for a malformed reply,
 * -E2BIG past a cap, or the reply's own errno as a negative value (ret untouched).
 */
int wg_uapi_parse_get(const char *data, size_t len, struct wg_device *ret);
/* Parses a "set=1" reply, which must be exactly "errno=N\n\n": 0, -EPROTO, or -N. */
int wg_uapi_parse_errno(const char *data, size_t len);

/* Where one interface's socket is. */
struct wg_uapi {
    char path[WG_UAPI_PATH_MAX];
    int timeout_ms;   /* for one whole exchange; WG_UAPI_TIMEOUT_MS by default */
    size_t max_reply; /* cap on a get reply; WG_UAPI_GET_REPLY_MAX by default */
};

/* True for 1-15 characters of [A-Za-z0-9_.-] (what tikgate accepts as an interface name). */
bool wg_ifname_valid(const char *ifname);
/*
 * Points u at <dir>/<ifname>.sock (dir NULL: WG_UAPI_DIR) with the default
 * timeout and cap. 0, or -EINVAL for a bad name, -ENAMETOOLONG.
 */
int wg_uapi_init(struct wg_uapi *u, const char *dir, const char *ifname);

/*
 * One request/reply exchange: connects, sends req[0..req_len), reads until the
 * reply's terminating blank line (at most cap bytes) into reply (reset first).
 * 0, -ENOENT/-ECONNREFUSED (nobody serves the socket), -ETIMEDOUT, -E2BIG
 * (reply over cap), -EPROTO (connection closed before the reply ended), or
 * another -errno from the socket calls.
 */
int wg_uapi_transact(const struct wg_uapi *u, const char *req, size_t req_len, size_t cap,
                     struct buf *reply);
/* get=1 into *ret (owned by the caller). Errors of wg_uapi_transact and wg_uapi_parse_get. */
int wg_uapi_get(const struct wg_uapi *u, struct wg_device *ret);
/* Sends d in one set=1 message (bulk: all peers at once). 0 or -errno. */
int wg_uapi_set(const struct wg_uapi *u, const struct wg_device *d);
/*
 * Adds or updates one peer, never touching the others: sends its key,
 * replace_allowed_ips=true with p's allowed IPs, its keepalive (0 = off), its
 * endpoint if it has one and its preshared key if flagged. p is borrowed.
 */
int wg_uapi_set_peer(const struct wg_uapi *u, const struct wg_peer *p);
/* Removes one peer (absent: wireguard-go answers 0 as well). */
int wg_uapi_remove_peer(const struct wg_uapi *u, const struct wg_key *pub);

#endif
