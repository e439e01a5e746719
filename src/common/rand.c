#include "rand.h"

#include "clock.h"

#include <ctype.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char base62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

int tg_rand_init(void)
{
    return sodium_init() < 0 ? -1 : 0;
}

/*
 * One randombytes_buf() (one getrandom(2)) per 64 bytes, not one per character: a byte below
 * 248 (4 x 62) is uniform modulo 62, the others are drawn again.
 */
void rand_base62(char *out, size_t n)
{
    unsigned char b[64];
    size_t i = 0;
    while (i < n) {
        randombytes_buf(b, sizeof b);
        for (size_t k = 0; k < sizeof b && i < n; k++)
            if (b[k] < 248)
                out[i++] = base62[b[k] % 62];
    }
    sodium_memzero(b, sizeof b);
    out[n] = '\0';
}

/*
 * Monotonic within the process (RFC 9562 §6.2, method 1): ids made in the same
 * millisecond carry a 12-bit counter in rand_a, so they sort in creation order
 * too; the counter starts at a random value below 2048 each millisecond.
 */
static pthread_mutex_t uuid_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t uuid_last_ms;
static unsigned uuid_counter;

void uuid_v7(char out[UUID_STR_LEN])
{
    uint64_t ms = (uint64_t)clock_real_ms();
    unsigned char b[16];
    randombytes_buf(b, sizeof b);
    pthread_mutex_lock(&uuid_lock);
    if (ms <= uuid_last_ms) {
        ms = uuid_last_ms;
        if (++uuid_counter > 0xfff) { /* 4096 ids in one ms: borrow the next ms */
            ms++;
            uuid_counter = randombytes_uniform(2048);
        }
    } else {
        uuid_counter = randombytes_uniform(2048);
    }
    uuid_last_ms = ms;
    unsigned counter = uuid_counter;
    pthread_mutex_unlock(&uuid_lock);
    for (int i = 0; i < 6; i++)
        b[i] = (unsigned char)(ms >> (40 - 8 * i));
    b[6] = (unsigned char)(0x70 | ((counter >> 8) & 0x0f));
    b[7] = (unsigned char)(counter & 0xff);
    b[8] = (unsigned char)(0x80 | (b[8] & 0x3f));
    snprintf(out, UUID_STR_LEN,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
}

int uuid_is_valid(const char *s)
{
    if (!s || strlen(s) != UUID_STR_LEN - 1)
        return 0;
    for (int i = 0; i < UUID_STR_LEN - 1; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return 0;
        } else if (!isxdigit((unsigned char)s[i])) {
            return 0;
        }
    }
    return 1;
}

uint32_t rand_range(uint32_t lo, uint32_t hi)
{
    if (hi <= lo)
        return lo;
    if (hi - lo == UINT32_MAX)
        return randombytes_random(); /* hi - lo + 1 would wrap to 0 */
    return lo + randombytes_uniform(hi - lo + 1);
}
