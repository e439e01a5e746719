/*
 * tunnel.h - the rules of a site's management tunnel (DESIGN.md §10): modes,
 * health, which addresses a tunnel may have, the tunnel pool, the router's
 * WireGuard key and its RouterOS version. Pure functions, no I/O, no
 * allocation; what the node's own addresses are is the caller's business.
 */
#ifndef TG_DOMAIN_TUNNEL_H
#define TG_DOMAIN_TUNNEL_H

#include "error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TUNNEL_UP_SECS 180    /* up while the last handshake is younger (WireGuard's reject time) */
#define TUNNEL_MIN_ROS "7.8"  /* the RouterOS floor for the managed tunnel */
#define TUNNEL_KEY_B64_LEN 44 /* a WireGuard key in base64, without the NUL */
#define TUNNEL_ENDPOINT_MAX 72        /* "[v6%scope]:65535" + NUL */
#define TUNNEL_ROUTER_IF "tikgate-wg" /* the router's interface (RouterOS name) */
#define TUNNEL_TAG "tikgate:mgmt"     /* comment prefix of everything the tunnel adds */

enum tunnel_mode {
    TUNNEL_MODE_EXTERNAL = 0, /* "external": the operator's own tunnel; the address was set */
    TUNNEL_MODE_MANAGED,      /* "managed": tikgate's WireGuard tunnel, address from the pool */
};

enum tunnel_status {
    TUNNEL_PENDING = 0, /* "pending": no handshake yet */
    TUNNEL_UP,          /* "up": last handshake < TUNNEL_UP_SECS ago */
    TUNNEL_DOWN,        /* "down": older */
};

/* The state of a site's tunnel as the store keeps it (a value, nothing owned). */
struct site_tunnel {
    enum tunnel_mode mode;
    enum tunnel_status status;
    char public_key[TUNNEL_KEY_B64_LEN + 1]; /* the router's, "" when none */
    char endpoint[TUNNEL_ENDPOINT_MAX];      /* "" when never seen */
    int64_t last_handshake_at;               /* Unix seconds, 0 = never */
    uint64_t rx_bytes, tx_bytes;
};

const char *tunnel_mode_name(enum tunnel_mode m);            /* "unknown" outside the enum */
int tunnel_mode_parse(const char *s, enum tunnel_mode *ret); /* 0 or -EINVAL */
const char *tunnel_status_name(enum tunnel_status s);        /* "unknown" outside the enum */
int tunnel_status_parse(const char *s, enum tunnel_status *ret);
/* pending when never, up when now - last_handshake_at < TUNNEL_UP_SECS, else down. */
enum tunnel_status tunnel_status_derive(int64_t last_handshake_at, int64_t now);
/*
 * The same rule with the edge's limit (TIKGATE_TUNNEL_DOWN_AFTER, seconds > 0):
 * pending when last_handshake_at is 0 (never), up when now - last_seen < down_after,
 * else down. last_seen is the later of the last handshake and the last time the
 * edge saw the peer's received bytes grow (keepalives every 25 s count).
 */
enum tunnel_status tunnel_status_within(int64_t last_handshake_at, int64_t last_seen, int64_t now,
                                        int64_t down_after);

/*
 * A WireGuard public key as RouterOS prints it: exactly 44 characters of
 * standard base64 with one '=' decoding to 32 bytes, the unused low bits zero
 * (the same rule as wg_key_from_base64, without depending on src/wg).
 */
bool tunnel_key_valid(const char *b64);

/* True for a RouterOS version ("7.15.3", "7.8 (stable)") of at least TUNNEL_MIN_ROS. */
bool tunnel_ros_version_ok(const char *version);

/*
 * An IPv4 pool "100.64.0.0/10" -> its first and last host numbers (host byte
 * order; network and broadcast excluded). The edge takes *ret_first; sites get
 * the ones after it. 0, or -EINVAL (not IPv4, prefix > 30).
 */
int tunnel_pool_parse(const char *pool, uint32_t *ret_first, uint32_t *ret_last);
/* 0x64400001 -> "100.64.0.1". */
void tunnel_ip_format(uint32_t ip, char out[16]);

/*
 * Whether addr (a canonical numeric address) may be a tunnel address: never
 * unspecified, multicast, broadcast or link-local, always inside one of
 * mgmt_networks (comma-separated prefixes) or the tunnel pool (may be NULL);
 * loopback only when mgmt_networks
 * itself holds it (a loopback lab, TIKGATE_MANAGEMENT_NETWORKS=127.0.0.0/8),
 * and never 127.0.0.1 (the node itself). v4-mapped IPv6 counts as IPv4.
 * 0, or -EINVAL with err filled (code "tunnel_address_forbidden", param).
 * err may be NULL.
 */
int tunnel_address_check(const char *addr, const char *mgmt_networks, const char *pool,
                         const char *param, struct tg_err *err);

#endif
