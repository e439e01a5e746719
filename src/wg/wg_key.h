/*
 * wg_key.h - WireGuard keys (Curve25519): generation and the three text forms.
 *
 * A key is 32 raw bytes. WireGuard tools and RouterOS show keys in standard
 * base64 (44 characters ending in '='); the userspace API (UAPI) speaks
 * lowercase hex (64 characters). Parsers are strict: exact length, canonical
 * encoding, nothing before or after. Private keys are clamped as wg(8)
 * genkey does, and are wiped with wg_key_wipe() when no longer needed.
 *
 * All structs are caller-owned values; nothing here allocates. Call
 * tg_rand_init() (sodium_init) once before generating keys.
 */
#ifndef TG_WG_KEY_H
#define TG_WG_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WG_KEY_LEN 32
#define WG_KEY_B64_LEN 44 /* characters, without the NUL */
#define WG_KEY_HEX_LEN 64 /* characters, without the NUL */

struct wg_key {
    uint8_t b[WG_KEY_LEN];
};

/* A new random private key, clamped (RFC 7748 §5). 0, or -EIO if libsodium is not initialised. */
int wg_key_generate(struct wg_key *ret);
/* Clamps a private key in place: clears bits 0-2 and 255, sets bit 254. */
void wg_key_clamp(struct wg_key *k);
/*
 * The public key of a private key (X25519 with the base point; clamping is
 * implied). 0, or -EINVAL when the result is the all-zero point (cannot happen
 * for a clamped key; kept as libsodium reports it).
 */
int wg_key_public(const struct wg_key *priv, struct wg_key *ret);

/* out gets WG_KEY_B64_LEN characters and a NUL. */
void wg_key_to_base64(const struct wg_key *k, char out[WG_KEY_B64_LEN + 1]);
/*
 * Parses the wg/RouterOS form: exactly 44 characters of standard base64 with
 * one '=' of padding, decoding to 32 bytes with the unused low bits zero.
 * 0, or -EINVAL (ret untouched).
 */
int wg_key_from_base64(const char *s, struct wg_key *ret);
/* out gets WG_KEY_HEX_LEN lowercase hex characters and a NUL. */
void wg_key_to_hex(const struct wg_key *k, char out[WG_KEY_HEX_LEN + 1]);
/* Parses exactly 64 hex characters (either case). 0, or -EINVAL (ret untouched). */
int wg_key_from_hex(const char *s, struct wg_key *ret);
/* Same, for a string that is not NUL-terminated at 64 (len must be 64). */
int wg_key_from_hex_n(const char *s, size_t len, struct wg_key *ret);

/* True for the all-zero key (wireguard-go reports an unset key so). Constant time. */
bool wg_key_is_zero(const struct wg_key *k);
/* Constant-time equality. */
bool wg_key_equal(const struct wg_key *a, const struct wg_key *b);
/* Overwrites the key so that the compiler cannot elide it. */
void wg_key_wipe(struct wg_key *k);

#endif
