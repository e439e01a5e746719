#include "auth.h"

#include "rand.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    uint32_t bit;
} scope_table[] = {
    {"cpf:view", SCOPE_CPF_VIEW},
    {"cpf:create", SCOPE_CPF_CREATE},
    {"cpf:update", SCOPE_CPF_UPDATE},
    {"cpf:delete", SCOPE_CPF_DELETE},
    {"site:view", SCOPE_SITE_VIEW},
    {"site:create", SCOPE_SITE_CREATE},
    {"site:update", SCOPE_SITE_UPDATE},
    {"site:delete", SCOPE_SITE_DELETE},
    {"site:action", SCOPE_SITE_ACTION},
    {"credentials:view", SCOPE_CREDENTIALS_VIEW},
    {"credentials:rotate", SCOPE_CREDENTIALS_ROTATE},
    {"transient:view", SCOPE_TRANSIENT_VIEW},
    {"transient:create", SCOPE_TRANSIENT_CREATE},
    {"transient:delete", SCOPE_TRANSIENT_DELETE},
    {"job:view", SCOPE_JOB_VIEW},
    {"job:create", SCOPE_JOB_CREATE},
    {"job:delete", SCOPE_JOB_DELETE},
    {"admin", SCOPE_ADMIN},
};

#define N_SCOPES (sizeof scope_table / sizeof scope_table[0])

uint32_t scope_from_name(const char *name)
{
    for (size_t i = 0; i < N_SCOPES; i++)
        if (strcmp(scope_table[i].name, name) == 0)
            return scope_table[i].bit;
    return 0;
}

int scope_parse_list(const struct strlist *names, uint32_t *ret, struct tg_err *err)
{
    uint32_t mask = 0;
    for (size_t i = 0; i < names->n; i++) {
        uint32_t bit = scope_from_name(names->items[i]);
        if (!bit)
            return tg_err_invalid(err, "unknown_scope", "scopes", "Unknown scope '%s'.",
                                  names->items[i]);
        mask |= bit;
    }
    *ret = mask;
    return 0;
}

void scope_to_list(uint32_t mask, struct strlist *out)
{
    for (size_t i = 0; i < N_SCOPES; i++)
        if (mask & scope_table[i].bit)
            strlist_add(out, scope_table[i].name);
}

bool scope_allows(uint32_t held, uint32_t needed)
{
    if (held & SCOPE_ADMIN)
        return true;
    return (held & needed) == needed;
}

void api_key_release(struct api_key *k)
{
    if (!k)
        return;
    free(k->name);
    k->name = NULL;
}

void api_key_generate_secret(char out[APIKEY_SECRET_LEN + 1])
{
    size_t p = strlen(APIKEY_PREFIX);
    memcpy(out, APIKEY_PREFIX, p);
    rand_base62(out + p, APIKEY_SECRET_LEN - p);
}

void api_key_hash(const char *secret, uint8_t out[APIKEY_HASH_LEN])
{
    /* Secrets carry >= 128 bits of entropy, so a fast hash is enough (no password stretching). */
    static const uint8_t context[crypto_generichash_KEYBYTES] = "tikgate api key hash v1 ........";
    crypto_generichash(out, APIKEY_HASH_LEN, (const unsigned char *)secret, strlen(secret), context,
                       sizeof context);
}

bool api_key_hash_equal(const uint8_t a[APIKEY_HASH_LEN], const uint8_t b[APIKEY_HASH_LEN])
{
    return sodium_memcmp(a, b, APIKEY_HASH_LEN) == 0;
}
