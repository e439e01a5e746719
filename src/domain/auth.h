/*
 * auth.h - scopes, API keys and the authenticated principal.
 *
 * API keys are "tg_sk_" + 40 base62 characters. Only a keyed BLAKE2b hash of
 * the secret is stored; lookups are by hash and the final comparison is
 * constant-time. Scopes follow resource:action (DESIGN.md §6); "admin" implies
 * every scope.
 */
#ifndef TG_DOMAIN_AUTH_H
#define TG_DOMAIN_AUTH_H

#include "error.h"
#include "rand.h" /* UUID_STR_LEN */
#include "strlist.h"

#include <stdbool.h>
#include <stdint.h>

enum scope {
    SCOPE_CPF_VIEW = 1u << 0,
    SCOPE_CPF_CREATE = 1u << 1,
    SCOPE_CPF_UPDATE = 1u << 2,
    SCOPE_CPF_DELETE = 1u << 3,
    SCOPE_SITE_VIEW = 1u << 4,
    SCOPE_SITE_CREATE = 1u << 5,
    SCOPE_SITE_UPDATE = 1u << 6,
    SCOPE_SITE_DELETE = 1u << 7,
    SCOPE_SITE_ACTION = 1u << 8,
    SCOPE_CREDENTIALS_VIEW = 1u << 9,
    SCOPE_CREDENTIALS_ROTATE = 1u << 10,
    SCOPE_TRANSIENT_VIEW = 1u << 11,
    SCOPE_TRANSIENT_CREATE = 1u << 12,
    SCOPE_TRANSIENT_DELETE = 1u << 13,
    SCOPE_JOB_VIEW = 1u << 14,
    SCOPE_JOB_CREATE = 1u << 15,
    SCOPE_JOB_DELETE = 1u << 16,
    SCOPE_ADMIN = 1u << 17,
};

#define SCOPE_ALL ((1u << 18) - 1)
#define APIKEY_PREFIX "tg_sk_"
#define APIKEY_SECRET_LEN 46 /* "tg_sk_" + 40 */
#define APIKEY_HASH_LEN 32
#define APIKEY_DISPLAY_PREFIX_LEN 12

/* Scope bit for a name like "cpf:view", or 0 when unknown. */
uint32_t scope_from_name(const char *name);
/* Parses a list of scope names; -EINVAL (with err) on an unknown one. */
int scope_parse_list(const struct strlist *names, uint32_t *ret, struct tg_err *err);
/* Canonical names of the bits in mask, in table order. */
void scope_to_list(uint32_t mask, struct strlist *out);
/* True when a principal holding `held` may do something needing `needed`. */
bool scope_allows(uint32_t held, uint32_t needed);

struct principal {
    char tenant_id[UUID_STR_LEN];
    char key_id[UUID_STR_LEN]; /* API key id, or user id for sessions */
    char name[260];            /* shown as "created_by"/"updated_by" (a key name or an e-mail) */
    uint32_t scopes;
};

struct api_key {
    char id[UUID_STR_LEN];
    char tenant_id[UUID_STR_LEN];
    char *name; /* owned */
    char prefix[APIKEY_DISPLAY_PREFIX_LEN + 1];
    uint8_t hash[APIKEY_HASH_LEN];
    uint32_t scopes;
    int64_t created_at;
    int64_t last_used_at; /* 0 = never */
    int64_t revoked_at;   /* 0 = active */
};

void api_key_release(struct api_key *k);
/* New random secret (APIKEY_SECRET_LEN chars + NUL). */
void api_key_generate_secret(char out[APIKEY_SECRET_LEN + 1]);
/* Hash of a presented secret; pepper may be NULL. */
void api_key_hash(const char *secret, uint8_t out[APIKEY_HASH_LEN]);
/* Constant-time equality of two hashes. */
bool api_key_hash_equal(const uint8_t a[APIKEY_HASH_LEN], const uint8_t b[APIKEY_HASH_LEN]);

#endif
