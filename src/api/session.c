#include "session.h"

#include "rand.h"
#include "timefmt.h"

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
    if (errno || !iss || strcmp(iss, ISSUER) || !sub || !jti || strlen(jti) != 36)
        goto out;
    int64_t now = time_now();
    if (exp <= now)
        goto out;
    if (store_session_check(st, jti, now) < 0)
        goto out;
    struct user u;
    if (store_user_get(st, NULL, sub, &u) < 0 || u.disabled)
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

#define LIMIT_SLOTS 4096

struct attempt {
    char key[300];
    int failures;
    int64_t window_start;
};

static struct attempt slots[LIMIT_SLOTS];
static pthread_mutex_t limit_lock = PTHREAD_MUTEX_INITIALIZER;

static void make_key(char *out, size_t n, const char *kind, const char *v)
{
    snprintf(out, n, "%s:", kind);
    size_t o = strlen(out);
    for (; *v && o + 1 < n; v++)
        out[o++] = (char)tolower((unsigned char)*v);
    out[o] = '\0';
}

/* The slot for key (found, or the stalest one reused). Caller holds the lock. */
static struct attempt *slot(const char *key, bool create)
{
    struct attempt *stalest = &slots[0];
    for (int i = 0; i < LIMIT_SLOTS; i++) {
        if (!strcmp(slots[i].key, key))
            return &slots[i];
        if (slots[i].window_start < stalest->window_start)
            stalest = &slots[i];
    }
    if (!create)
        return NULL;
    snprintf(stalest->key, sizeof stalest->key, "%s", key);
    stalest->failures = 0;
    stalest->window_start = time_now();
    return stalest;
}

static int wait_for(const char *key, int64_t now)
{
    struct attempt *a = slot(key, false);
    if (!a || now - a->window_start >= LOGIN_WINDOW_S || a->failures < LOGIN_MAX_FAILURES)
        return 0;
    return (int)(a->window_start + LOGIN_WINDOW_S - now);
}

int login_throttled(const char *email, const char *addr)
{
    char k1[300], k2[300];
    make_key(k1, sizeof k1, "e", email);
    make_key(k2, sizeof k2, "a", addr);
    int64_t now = time_now();
    pthread_mutex_lock(&limit_lock);
    int w1 = wait_for(k1, now), w2 = wait_for(k2, now);
    pthread_mutex_unlock(&limit_lock);
    return w1 > w2 ? w1 : w2;
}

static void count_failure(const char *key, int64_t now)
{
    struct attempt *a = slot(key, true);
    if (now - a->window_start >= LOGIN_WINDOW_S) {
        a->window_start = now;
        a->failures = 0;
    }
    a->failures++;
}

void login_failed(const char *email, const char *addr)
{
    char k1[300], k2[300];
    make_key(k1, sizeof k1, "e", email);
    make_key(k2, sizeof k2, "a", addr);
    int64_t now = time_now();
    pthread_mutex_lock(&limit_lock);
    count_failure(k1, now);
    count_failure(k2, now);
    pthread_mutex_unlock(&limit_lock);
}

void login_succeeded(const char *email, const char *addr)
{
    char k1[300];
    make_key(k1, sizeof k1, "e", email);
    (void)addr; /* the address keeps its count: one good password must not unlock guessing */
    pthread_mutex_lock(&limit_lock);
    struct attempt *a = slot(k1, false);
    if (a)
        a->failures = 0;
    pthread_mutex_unlock(&limit_lock);
}
