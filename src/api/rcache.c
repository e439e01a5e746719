/*
 * rcache.c - answers of hot read routes kept under the store's change version (issue 13).
 *
 * The policies list is a hundred policies with eight services each: read and written as JSON
 * again for every GET, about 1.3 ms of work for 90 kB that rarely change. An answer is kept
 * here under the version the store gave before it was built (store_policies_version: triggers
 * bump it with every write, by any node) and served again, byte for byte, only while the
 * store still gives that version; one single-row read per request decides.
 *
 * An answer of RCACHE_FILE_MIN bytes or more is kept in a sealed memfd (nothing can change
 * it once written) and a hit is sent from a dup() of it (http_response_file): sendfile(2)
 * instead of copying 90 kB into the response and again into the socket, which was a third of
 * tikgated's CPU on bench/api.sh ROUTE=list (docs/benchmarks.md). A response in flight keeps
 * its descriptor, so a slot may be replaced meanwhile. When dup() fails (no descriptor left)
 * the body is read from the file into the response instead. Smaller answers stay in memory.
 *
 * A small direct-mapped table: the hash of (tenant, key) picks the slot; a new answer replaces
 * the slot's previous one. Bounded: RCACHE_SLOTS slots, each at most RCACHE_BODY_MAX bytes
 * (a larger answer is not kept), so at most 32 MiB and RCACHE_SLOTS descriptors. One mutex per
 * slot: a hit copies the body out, or dup()s the file, under it. The table is the process's;
 * the store pointer keeps stores of one process (tests) apart.
 */
#include "api_int.h"
#include "idhash.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define RCACHE_SLOTS 128 /* a power of two */
#define RCACHE_BODY_MAX ((size_t)256 << 10)
#define RCACHE_FILE_MIN ((size_t)16 << 10)

struct slot {
    pthread_mutex_t mu;
    const struct store *store; /* NULL: empty */
    char key[API_RCACHE_KEY_MAX];
    int64_t version;
    char *body; /* owned; NULL when the answer is in file */
    bool has_file;
    int file; /* owned when has_file: a sealed memfd of len bytes */
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

/* The file's len bytes appended to out (a hit when no descriptor is left for a dup). */
static int read_file(int fd, size_t len, struct buf *out)
{
    char chunk[16384];
    for (size_t off = 0; off < len;) {
        size_t want = len - off < sizeof chunk ? len - off : sizeof chunk;
        ssize_t n = pread(fd, chunk, want, (off_t)off);
        if (n <= 0 || buf_append(out, chunk, (size_t)n) < 0)
            return -1;
        off += (size_t)n;
    }
    return 0;
}

bool api_rcache_get(const struct store *s, const char *key, int64_t version,
                    struct http_response *res)
{
    struct slot *e = slot_of(key);
    bool hit = false;
    pthread_mutex_lock(&e->mu);
    if (e->store == s && e->version == version && strcmp(e->key, key) == 0) {
        buf_reset(&res->body);
        if (!e->has_file)
            hit = buf_append(&res->body, e->body, e->len) == 0;
        else {
            int fd = fcntl(e->file, F_DUPFD_CLOEXEC, 0);
            if (fd >= 0) {
                http_response_file(res, fd, e->len);
                hit = true;
            } else
                hit = read_file(e->file, e->len, &res->body) == 0;
        }
    }
    pthread_mutex_unlock(&e->mu);
    return hit;
}

/* A sealed memfd holding body, or -1 (then the answer is kept in memory). */
static int sealed_file(const struct buf *body)
{
    int fd = memfd_create("tikgate-rcache", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        return -1;
    for (size_t off = 0; off < body->len;) {
        ssize_t n = write(fd, body->data + off, body->len - off);
        if (n <= 0)
            goto out_close;
        off += (size_t)n;
    }
    if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
        goto out_close;
    return fd;
out_close:
    close(fd);
    return -1;
}

void api_rcache_put(const struct store *s, const char *key, int64_t version, const struct buf *body)
{
    if (body->len > RCACHE_BODY_MAX || strlen(key) >= API_RCACHE_KEY_MAX)
        return;
    int fd = body->len >= RCACHE_FILE_MIN ? sealed_file(body) : -1;
    char *copy = NULL;
    if (fd < 0) {
        if (!(copy = malloc(body->len ? body->len : 1)))
            return;
        memcpy(copy, body->data, body->len);
    }
    struct slot *e = slot_of(key);
    pthread_mutex_lock(&e->mu);
    char *old = e->body;
    int old_file = e->has_file ? e->file : -1;
    e->store = s;
    snprintf(e->key, sizeof e->key, "%s", key);
    e->version = version;
    e->body = copy;
    e->has_file = fd >= 0;
    e->file = fd;
    e->len = body->len;
    pthread_mutex_unlock(&e->mu);
    free(old);
    if (old_file >= 0)
        close(old_file);
}
