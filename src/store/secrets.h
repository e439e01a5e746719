/*
 * secrets.h - the store's secrets, the same for every backend: the master key
 * file, sealing of secrets that must be shown again (libsodium secretbox,
 * stored as hex text), the job-URL MAC and keys derived from the master key.
 *
 * Needs only libsodium and the master key: no database header. Not a public
 * header; store.h has the public entry points (store_seal_text, store_mac_hex,
 * store_derive_key...), which secrets.c implements on top of these.
 */
#ifndef TG_STORE_SECRETS_H
#define TG_STORE_SECRETS_H

#include <sodium.h>
#include <stdbool.h>
#include <stddef.h>

struct store;

struct store_secrets {
    unsigned char master_key[crypto_secretbox_KEYBYTES];
};

/*
 * Reads data_dir/master.key into k, creating it (mode 0600, 32 random bytes)
 * when absent. Called by store_open(): logs what it did (info), an unsafe mode
 * (warn) and why it failed (error). 0 or -errno.
 */
int store_secrets_load(struct store_secrets *k, const char *data_dir);
/* Overwrites the key with zeros. */
void store_secrets_wipe(struct store_secrets *k);

/*
 * Seals plaintext with a random nonce: hex(nonce | box). Returns owned text
 * (free()); never NULL.
 */
char *store_secrets_seal(const struct store_secrets *k, const char *plaintext);
/*
 * Opens text made by store_secrets_seal. Returns owned plaintext (free()), or
 * NULL when sealed is not hex, too short, or fails authentication (another
 * key, tampered data).
 */
char *store_secrets_open(const struct store_secrets *k, const char *sealed);

/* HMAC-SHA256 of msg under a key derived from the master key, as 64 hex characters. */
void store_secrets_mac_hex(const struct store_secrets *k, const char *msg, char out[65]);
/* Constant-time check of a MAC made by store_secrets_mac_hex; hex may be NULL. */
bool store_secrets_mac_verify(const struct store_secrets *k, const char *msg, const char *hex);
/* len bytes of key for purpose (a short label): BLAKE2b keyed with the master key. */
void store_secrets_derive(const struct store_secrets *k, const char *purpose, unsigned char *out,
                          size_t len);

/* Implemented by each backend: the secrets s was opened with (borrowed). */
const struct store_secrets *store_secrets(struct store *s);

#endif
