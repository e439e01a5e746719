/*
 * rcache.c - answers of hot read routes kept under the store's change version (issue 13).
 *
 * The policies list is a hundred policies with eight services each: read and written as JSON
 * again for every GET, about 1.3 ms of work for 90 kB that rarely change. An answer is kept
 * here under the version the store gave before it was built (store_policies_version: triggers
 * bump it with every write, by any node) and served again, byte for byte, only while the
 * store still gives that version; one single-row read per request decides.
 *
 * A small direct-mapped table: the hash of (tenant, key) picks the slot; a new answer replaces
 * the slot's previous one. Bounded: RCACHE_SLOTS slots, each at most RCACHE_BODY_MAX bytes
 * (a larger answer is not kept), so at most 32 MiB. One mutex per slot: a hit copies the body
 * out under it. The table is the process's; the store pointer keeps stores of one process
 * (tests) apart.
 */
#include "api_int.h"
#include "idhash.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define RCACHE_SLOTS 128 /* a power of two */
#define RCACHE_BODY_MAX ((size_t)256 << 10)

struct slot {
    pthread_mutex_t mu;
    const struct store *store; /* NULL: empty */
    char key[API_RCACHE_KEY_MAX];
    int64_t version;
    char *body; /* owned */
    size_t len;
};

static struct slot slots[RCACHE_SLOTS];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void init_slots(void)
{
    for (size_t i = 0; i < RCACHE_SLOTS; i++)
        pthread_mutex_init(&slots[i].mu, NULL);
}

static struct slot *slot_of(const char *key)
{
    pthread_once(&once, init_slots);
    return &slots[idhash_str(key) & (RCACHE_SLOTS - 1)];
}

bool api_rcache_get(const struct store *s, const char *key, int64_t version, struct buf *out)
{
    struct slot *e = slot_of(key);
    bool hit = false;
    pthread_mutex_lock(&e->mu);
    if (e->store == s && e->version == version && strcmp(e->key, key) == 0) {
        buf_reset(out);
        hit = buf_append(out, e->body, e->len) == 0;
    }
    pthread_mutex_unlock(&e->mu);
    return hit;
}

void api_rcache_put(const struct store *s, const char *key, int64_t version, const struct buf *body)
{
    if (body->len > RCACHE_BODY_MAX || strlen(key) >= API_RCACHE_KEY_MAX)
        return;
    char *copy = malloc(body->len ? body->len : 1);
    if (!copy)
        return;
    memcpy(copy, body->data, body->len);
    struct slot *e = slot_of(key);
    pthread_mutex_lock(&e->mu);
    char *old = e->body;
    e->store = s;
    snprintf(e->key, sizeof e->key, "%s", key);
    e->version = version;
    e->body = copy;
    e->len = body->len;
    pthread_mutex_unlock(&e->mu);
    free(old);
}
