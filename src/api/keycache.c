/*
 * keycache.c - recently authenticated API keys, so that a request does not need its own read
 * transaction for the key lookup (issue 13).
 *
 * A small direct-mapped table: SHA-256 of the key -> the principal it authenticated as, for
 * API_KEY_CACHE_MS. Only successful lookups are kept (an unknown key always reaches the
 * store). A revocation through this process clears the table at once (api_key_cache_clear);
 * a revocation on another node (several API nodes on one PostgreSQL) takes effect here when
 * the entry expires, i.e. within API_KEY_CACHE_MS. A lookup that was in flight while the
 * table was cleared does not store its (possibly pre-revocation) answer: the generation
 * counter tells.
 */
#include "api_int.h"
#include "clock.h"

#include <pthread.h>
#include <sodium.h>
#include <string.h>

#define SLOTS 256 /* a power of two */

struct slot {
    uint8_t hash[APIKEY_HASH_LEN];
    const struct store *store; /* several stores in one process (tests) do not mix */
    int64_t fetched_ms;        /* monotonic; 0: empty */
    struct principal who;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct slot slots[SLOTS];
static unsigned long long generation; /* under mu: bumped by every clear */

static struct slot *slot_of(const uint8_t hash[APIKEY_HASH_LEN])
{
    return &slots[(hash[0] | (unsigned)hash[1] << 8) & (SLOTS - 1)];
}

bool api_key_cache_get(const struct store *s, const uint8_t hash[APIKEY_HASH_LEN],
                       struct principal *ret_who, unsigned long long *ret_gen)
{
    bool hit = false;
    int64_t now = clock_mono_ms();
    pthread_mutex_lock(&mu);
    const struct slot *e = slot_of(hash);
    if (e->fetched_ms && e->store == s && now - e->fetched_ms < API_KEY_CACHE_MS &&
        sodium_memcmp(e->hash, hash, APIKEY_HASH_LEN) == 0) {
        *ret_who = e->who;
        hit = true;
    }
    *ret_gen = generation;
    pthread_mutex_unlock(&mu);
    return hit;
}

void api_key_cache_put(const struct store *s, const uint8_t hash[APIKEY_HASH_LEN],
                       const struct principal *who, unsigned long long gen)
{
    int64_t now = clock_mono_ms();
    pthread_mutex_lock(&mu);
    if (gen == generation) {
        struct slot *e = slot_of(hash);
        memcpy(e->hash, hash, APIKEY_HASH_LEN);
        e->store = s;
        e->fetched_ms = now ? now : 1;
        e->who = *who;
    }
    pthread_mutex_unlock(&mu);
}

void api_key_cache_clear(void)
{
    pthread_mutex_lock(&mu);
    generation++;
    sodium_memzero(slots, sizeof slots);
    pthread_mutex_unlock(&mu);
}
