#include "session.h"

#include "alloc.h"
#include "rand.h"
#include "timefmt.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <jwt.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ISSUER "tikgate"

static void session_key(struct store *st, unsigned char key[32])
{
    store_derive_key(st, "tikgate session jwt v1", key, 32);
}

bool session_is_jwt(const char *token)
{
    const char *a = strchr(token, '.');
    const char *b = a ? strchr(a + 1, '.') : NULL;
    return a && b && !strchr(b + 1, '.');
}

char *session_issue(struct store *st, const struct user *u, char ret_jti[UUID_STR_LEN],
                    int64_t *ret_exp)
{
    unsigned char key[32];
    session_key(st, key);
    char jti[UUID_STR_LEN];
    uuid_v7(jti);
    int64_t now = time_now(), exp = now + SESSION_TTL_S;
    char *token = NULL;
    jwt_t *jwt = NULL;
    if (jwt_new(&jwt) != 0)
        goto out;
    if (jwt_add_grant(jwt, "iss", ISSUER) || jwt_add_grant(jwt, "sub", u->id) ||
        jwt_add_grant(jwt, "tid", u->tenant_id) || jwt_add_grant(jwt, "jti", jti) ||
        jwt_add_grant_int(jwt, "iat", (long)now) || jwt_add_grant_int(jwt, "exp", (long)exp) ||
        jwt_set_alg(jwt, JWT_ALG_HS256, key, sizeof key))
        goto out;
    if (store_session_insert(st, jti, u->id, exp) < 0)
        goto out;
    token = jwt_encode_str(jwt);
    if (token && ret_jti)
        memcpy(ret_jti, jti, UUID_STR_LEN);
    if (token && ret_exp)
        *ret_exp = exp;
out:
    jwt_free(jwt);
    sodium_memzero(key, sizeof key);
    return token;
}

int session_verify(struct store *st, const char *token, struct principal *who,
                   char ret_jti[UUID_STR_LEN])
{
    if (strlen(token) > 2048 || !session_is_jwt(token))
        return -EACCES;
    unsigned char key[32];
    session_key(st, key);
    jwt_t *jwt = NULL;
    int r = -EACCES;
    int rc = jwt_decode(&jwt, token, key, sizeof key);
    sodium_memzero(key, sizeof key);
    if (rc != 0 || !jwt)
        goto out;
    /* Pin the algorithm after decoding: libjwt would accept "none" with a NULL key. */
    const char *alg = jwt_get_header(jwt, "alg");
    if (jwt_get_alg(jwt) != JWT_ALG_HS256 || !alg || strcmp(alg, "HS256") != 0)
        goto out;
    const char *iss = jwt_get_grant(jwt, "iss");
    const char *sub = jwt_get_grant(jwt, "sub");
    const char *jti = jwt_get_grant(jwt, "jti");
    errno = 0;
    long exp = jwt_get_grant_int(jwt, "exp");
    if (errno || !iss || strcmp(iss, ISSUER) || !sub || !jti || !uuid_is_valid(jti))
        goto out;
    int64_t now = time_now();
    if (exp <= now)
        goto out;
    int sr = store_session_check(st, jti, now);
    struct user u = {0};
    if (sr == 0)
        sr = store_user_get(st, NULL, sub, &u);
    if (sr < 0) {
        r = sr == -ENOENT ? -EACCES : sr;
        goto out;
    }
    if (u.disabled)
        goto out;
    memset(who, 0, sizeof *who);
    memcpy(who->tenant_id, u.tenant_id, sizeof who->tenant_id);
    memcpy(who->key_id, u.id, sizeof who->key_id);
    snprintf(who->name, sizeof who->name, "%s", u.email);
    who->scopes = user_role_scopes(u.role);
    memcpy(ret_jti, jti, UUID_STR_LEN);
    r = 0;
out:
    jwt_free(jwt);
    return r;
}

/* --- failed-login limiter --- */

/*
 * A table of LOGIN_SLOTS keys, "e:<e-mail>" and "a:<address>" (login_limiter_size(), before
 * first use, changes the size). A slot whose window is still open is never reused
 * (security-review F10: evicting it reset a lock); a sign-in that would need a new slot while
 * every slot is in an open window is refused (429) until the oldest window closes.
 * login_throttled() reserves both slots of an attempt before the password is checked, so a
 * failure always has its slot.
 */
struct attempt {
    char key[300];
    int failures;
    int64_t window_start;
};

static struct attempt *slots; /* nslots, allocated on first use */
static int nslots = LOGIN_SLOTS;
static pthread_mutex_t limit_lock = PTHREAD_MUTEX_INITIALIZER;

void login_limiter_size(unsigned n)
{
    pthread_mutex_lock(&limit_lock);
    if (!slots && n)
        nslots = n < 16 ? 16 : n > 1048576 ? 1048576 : (int)n;
    pthread_mutex_unlock(&limit_lock);
}

/* The table, allocated on first use. Caller holds the lock. */
static void ensure_table(void)
{
    if (!slots)
        slots = xcalloc((size_t)nslots, sizeof *slots);
}

/*
 * The address part of a key: IPv4 as is, IPv6 by its /64 (one subscriber's prefix offers
 * 2^64 addresses), anything else (a "?" when unknown) as is.
 */
static void address_key(const char *addr, char *out, size_t n)
{
    struct in6_addr a6;
    char text[INET6_ADDRSTRLEN];
    if (inet_pton(AF_INET6, addr, &a6) == 1) {
        memset(&a6.s6_addr[8], 0, 8);
        if (inet_ntop(AF_INET6, &a6, text, sizeof text)) {
            snprintf(out, n, "a:%s/64", text);
            return;
        }
    }
    snprintf(out, n, "a:%s", addr);
}

static void email_key(const char *email, char *out, size_t n)
{
    snprintf(out, n, "e:");
    size_t o = strlen(out);
    for (const char *v = email; *v && o + 1 < n; v++)
        out[o++] = (char)tolower((unsigned char)*v);
    out[o] = '\0';
}

static bool window_open(const struct attempt *a, int64_t now)
{
    return a->key[0] && now - a->window_start < LOGIN_WINDOW_S;
}

/* The slot of key, or NULL. Caller holds the lock. */
static struct attempt *find_slot(const char *key)
{
    for (int i = 0; i < nslots; i++)
        if (slots[i].key[0] && !strcmp(slots[i].key, key))
            return &slots[i];
    return NULL;
}

/*
 * The slot of key with an open window: found (its window renewed when it had closed), or a
 * free one taken (empty or closed). NULL when the table is full. Caller holds the lock.
 */
static struct attempt *reserve_slot(const char *key, int64_t now)
{
    struct attempt *a = find_slot(key);
    for (int i = 0; !a && i < nslots; i++)
        if (!window_open(&slots[i], now))
            a = &slots[i];
    if (!a)
        return NULL;
    if (strcmp(a->key, key) != 0 || !window_open(a, now)) {
        snprintf(a->key, sizeof a->key, "%s", key);
        a->failures = 0;
        a->window_start = now;
    }
    return a;
}

static int wait_for(const char *key, int64_t now)
{
    struct attempt *a = find_slot(key);
    if (!a || !window_open(a, now) || a->failures < LOGIN_MAX_FAILURES)
        return 0;
    return (int)(a->window_start + LOGIN_WINDOW_S - now);
}

/* Seconds until the oldest open window closes (the table is full). Caller holds the lock. */
static int wait_for_free_slot(int64_t now)
{
    int64_t oldest = now;
    for (int i = 0; i < nslots; i++)
        if (slots[i].window_start < oldest)
            oldest = slots[i].window_start;
    int w = (int)(oldest + LOGIN_WINDOW_S - now);
    return w > 0 ? w : 1;
}

/*
 * The store's name for a limiter key: a MAC under the master key (every node shares it), so
 * the shared table holds no e-mail or address.
 */
static void shared_key(struct store *st, const char *key, char out[65])
{
    char msg[320];
    snprintf(msg, sizeof msg, "login-limiter:%s", key);
    store_mac_hex(st, msg, out);
}

/* Seconds key stays locked by the failures every node counted; 0, or the store's -errno. */
static int shared_wait(struct store *st, const char *key, int64_t now)
{
    char k[65];
    shared_key(st, key, k);
    int failures = 0;
    int64_t start = 0;
    int r = store_login_failures_get(st, k, now, LOGIN_WINDOW_S, &failures, &start);
    if (r == -ENOENT || (r == 0 && failures < LOGIN_MAX_FAILURES))
        return 0;
    if (r < 0)
        return r;
    int w = (int)(start + LOGIN_WINDOW_S - now);
    return w > 0 ? w : 1;
}

int login_throttled(struct store *st, const char *email, const char *addr)
{
    char k1[300], k2[300];
    email_key(email, k1, sizeof k1);
    address_key(addr, k2, sizeof k2);
    int64_t now = time_now();
    pthread_mutex_lock(&limit_lock);
    ensure_table();
    int w1 = wait_for(k1, now), w2 = wait_for(k2, now);
    int w = w1 > w2 ? w1 : w2;
    if (w == 0 && (!reserve_slot(k1, now) || !reserve_slot(k2, now)))
        w = wait_for_free_slot(now);
    pthread_mutex_unlock(&limit_lock);
    if (w > 0 || !st)
        return w;
    w1 = shared_wait(st, k1, now);
    w2 = w1 < 0 ? 0 : shared_wait(st, k2, now);
    if (w1 < 0 || w2 < 0)
        return w1 < 0 ? w1 : w2;
    return w1 > w2 ? w1 : w2;
}

static void count_failure(const char *key, int64_t now)
{
    struct attempt *a = reserve_slot(key, now);
    if (a)
        a->failures++;
}

void login_failed(struct store *st, const char *email, const char *addr)
{
    char k1[300], k2[300];
    email_key(email, k1, sizeof k1);
    address_key(addr, k2, sizeof k2);
    int64_t now = time_now();
    pthread_mutex_lock(&limit_lock);
    ensure_table();
    count_failure(k1, now);
    count_failure(k2, now);
    pthread_mutex_unlock(&limit_lock);
    if (!st)
        return;
    /* Best effort: a store that fails here fails the next sign-in's check too (503). */
    char k[65];
    shared_key(st, k1, k);
    (void)store_login_failure_add(st, k, now, LOGIN_WINDOW_S);
    shared_key(st, k2, k);
    (void)store_login_failure_add(st, k, now, LOGIN_WINDOW_S);
}

void login_succeeded(struct store *st, const char *email, const char *addr)
{
    char k1[300];
    email_key(email, k1, sizeof k1);
    (void)addr; /* the address keeps its count: one good password must not unlock guessing */
    pthread_mutex_lock(&limit_lock);
    ensure_table();
    struct attempt *a = find_slot(k1);
    if (a)
        a->failures = 0;
    pthread_mutex_unlock(&limit_lock);
    if (st) {
        char k[65];
        shared_key(st, k1, k);
        (void)store_login_failures_clear(st, k);
    }
}
