/*
 * test_session.c - portal session JWTs against a real store (issue/verify, every way a
 * token must be refused) and the failed-login limiter.
 */
/* cmocka.h needs these headers first */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include "alloc.h"
#include "rand.h"
#include "session.h"
#include "store.h"
#include "timefmt.h"

#include <errno.h>
#include <ftw.h>
#include <jwt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char dir[256];
static struct store *st;
static struct user user, other_user;

static void make_user(const char *tenant, const char *email, enum user_role role, struct user *u)
{
    memset(u, 0, sizeof *u);
    uuid_v7(u->id);
    memcpy(u->tenant_id, tenant, UUID_STR_LEN);
    snprintf(u->email, sizeof u->email, "%s", email);
    snprintf(u->password_hash, sizeof u->password_hash, "x");
    u->role = role;
    u->created_at = u->updated_at = time_now();
    assert_int_equal(store_user_insert(st, u), 0);
}

static int group_setup(void **state)
{
    (void)state;
    if (tg_rand_init() < 0)
        return -1;
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/tg-session-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir))
        return -1;
    char url[300], tenant[UUID_STR_LEN];
    snprintf(url, sizeof url, "sqlite:%s/t.db", dir);
    if (store_open(url, dir, &st) < 0 || store_tenant_create(st, "T", NULL, tenant) < 0)
        return -1;
    make_user(tenant, "ops@example.com", ROLE_OPERATOR, &user);
    make_user(tenant, "ro@example.com", ROLE_READ_ONLY, &other_user);
    return 0;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int group_teardown(void **state)
{
    (void)state;
    store_close(st);
    nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
    return 0;
}

static int verify(const char *token)
{
    struct principal who;
    char jti[UUID_STR_LEN];
    return session_verify(st, token, &who, jti);
}

static void test_round_trip(void **state)
{
    (void)state;
    char jti[UUID_STR_LEN];
    int64_t exp = 0;
    int64_t now = time_now();
    char *tok = session_issue(st, &user, jti, &exp);
    assert_non_null(tok);
    assert_true(session_is_jwt(tok));
    assert_true(uuid_is_valid(jti));
    assert_true(exp >= now + SESSION_TTL_S && exp <= time_now() + SESSION_TTL_S);

    struct principal who;
    char got[UUID_STR_LEN];
    memset(&who, 0xa5, sizeof who);
    assert_int_equal(session_verify(st, tok, &who, got), 0);
    assert_string_equal(got, jti);
    assert_string_equal(who.tenant_id, user.tenant_id);
    assert_string_equal(who.key_id, user.id);
    assert_string_equal(who.name, "ops@example.com");
    assert_int_equal(who.scopes, user_role_scopes(ROLE_OPERATOR));
    /* Verification is repeatable. */
    assert_int_equal(session_verify(st, tok, &who, got), 0);

    /* Two tokens of one user are two sessions. */
    char jti2[UUID_STR_LEN];
    char *tok2 = session_issue(st, &user, jti2, NULL);
    assert_string_not_equal(jti, jti2);
    assert_string_not_equal(tok, tok2);
    free(tok2);
    free(tok);
}

static void test_tampered(void **state)
{
    (void)state;
    char *tok = session_issue(st, &user, NULL, NULL);
    assert_non_null(tok);
    size_t n = strlen(tok);
    char *dot1 = strchr(tok, '.');
    char *dot2 = strchr(dot1 + 1, '.');
    /* One character of the header, the payload, then the signature. */
    size_t where[] = {2, (size_t)(dot1 - tok) + 5, (size_t)(dot2 - tok) + 3, n - 2};
    for (size_t i = 0; i < sizeof where / sizeof where[0]; i++) {
        char *t = xstrdup(tok);
        t[where[i]] = t[where[i]] == 'A' ? 'B' : 'A';
        assert_int_equal(verify(t), -EACCES);
        free(t);
    }
    /* Truncated signature, missing signature. */
    char *t = xstrdup(tok);
    t[n - 1] = '\0';
    assert_int_equal(verify(t), -EACCES);
    t[dot2 - tok + 1] = '\0';
    assert_int_equal(verify(t), -EACCES);
    free(t);
    assert_int_equal(verify(tok), 0);
    free(tok);
}

/*
 * A token made here: claims of a live session, signed with alg over key (NULL: the
 * platform's own session key). Returns owned.
 */
static char *forge(jwt_alg_t alg, const unsigned char *key, size_t keylen, const char *iss,
                   int64_t exp, bool new_session, char ret_jti[UUID_STR_LEN])
{
    unsigned char own[32];
    if (!key && alg != JWT_ALG_NONE) {
        store_derive_key(st, "tikgate session jwt v1", own, sizeof own);
        key = own;
        keylen = sizeof own;
    }
    char jti[UUID_STR_LEN];
    uuid_v7(jti);
    if (new_session)
        assert_int_equal(store_session_insert(st, jti, user.id, time_now() + 3600), 0);
    jwt_t *jwt = NULL;
    assert_int_equal(jwt_new(&jwt), 0);
    if (iss)
        assert_int_equal(jwt_add_grant(jwt, "iss", iss), 0);
    assert_int_equal(jwt_add_grant(jwt, "sub", user.id), 0);
    assert_int_equal(jwt_add_grant(jwt, "tid", user.tenant_id), 0);
    assert_int_equal(jwt_add_grant(jwt, "jti", jti), 0);
    assert_int_equal(jwt_add_grant_int(jwt, "iat", (long)time_now()), 0);
    assert_int_equal(jwt_add_grant_int(jwt, "exp", (long)exp), 0);
    assert_int_equal(jwt_set_alg(jwt, alg, alg == JWT_ALG_NONE ? NULL : key,
                                 alg == JWT_ALG_NONE ? 0 : (int)keylen),
                     0);
    char *tok = jwt_encode_str(jwt);
    assert_non_null(tok);
    jwt_free(jwt);
    if (ret_jti)
        memcpy(ret_jti, jti, UUID_STR_LEN);
    return tok; /* libjwt 1.x: the string is free()d */
}

static void test_forge_control(void **state)
{
    (void)state;
    /* The forging helper itself makes acceptable tokens when everything is right. */
    char *tok = forge(JWT_ALG_HS256, NULL, 0, "tikgate", time_now() + 600, true, NULL);
    assert_int_equal(verify(tok), 0);
    free(tok);
}

static void test_other_key(void **state)
{
    (void)state;
    unsigned char key[32];
    memset(key, 0x42, sizeof key);
    char *tok = forge(JWT_ALG_HS256, key, sizeof key, "tikgate", time_now() + 600, true, NULL);
    assert_int_equal(verify(tok), -EACCES);
    free(tok);
    /* Another master key: a second store's derived key. */
    unsigned char own[32], theirs[32];
    store_derive_key(st, "tikgate session jwt v1", own, sizeof own);
    store_derive_key(st, "tikgate session jwt v2", theirs, sizeof theirs);
    assert_memory_not_equal(own, theirs, 32);
    tok = forge(JWT_ALG_HS256, theirs, sizeof theirs, "tikgate", time_now() + 600, true, NULL);
    assert_int_equal(verify(tok), -EACCES);
    free(tok);
}

static void test_alg_none_and_others(void **state)
{
    (void)state;
    char *tok = forge(JWT_ALG_NONE, NULL, 0, "tikgate", time_now() + 600, true, NULL);
    assert_true(session_is_jwt(tok));
    assert_int_equal(verify(tok), -EACCES);
    free(tok);

    /* Hand-made: {"alg":"none","typ":"JWT"} with an honest payload and no signature. */
    char good_jti[UUID_STR_LEN];
    char *good = forge(JWT_ALG_HS256, NULL, 0, "tikgate", time_now() + 600, true, good_jti);
    char *payload = strchr(good, '.') + 1;
    *strchr(payload, '.') = '\0';
    char *none = xasprintf("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.%s.", payload);
    assert_int_equal(verify(none), -EACCES);
    free(none);
    none = xasprintf("eyJhbGciOiJOT05FIiwidHlwIjoiSldUIn0.%s.", payload); /* "NONE" */
    assert_int_equal(verify(none), -EACCES);
    free(none);
    free(good);

    /* The right key under another HMAC algorithm is still refused: HS256 only. */
    tok = forge(JWT_ALG_HS512, NULL, 0, "tikgate", time_now() + 600, true, NULL);
    assert_int_equal(verify(tok), -EACCES);
    free(tok);
}

static void test_claims(void **state)
{
    (void)state;
    char *tok = forge(JWT_ALG_HS256, NULL, 0, "tikgate", time_now() - 1, true, NULL);
    assert_int_equal(verify(tok), -EACCES); /* expired */
    free(tok);
    tok = forge(JWT_ALG_HS256, NULL, 0, "someone-else", time_now() + 600, true, NULL);
    assert_int_equal(verify(tok), -EACCES);
    free(tok);
    tok = forge(JWT_ALG_HS256, NULL, 0, NULL, time_now() + 600, true, NULL);
    assert_int_equal(verify(tok), -EACCES); /* no iss */
    free(tok);
    tok = forge(JWT_ALG_HS256, NULL, 0, "tikgate", time_now() + 600, false, NULL);
    assert_int_equal(verify(tok), -EACCES); /* jti is no session */
    free(tok);
}

static void test_revoked(void **state)
{
    (void)state;
    char jti[UUID_STR_LEN];
    char *tok = session_issue(st, &user, jti, NULL);
    assert_int_equal(verify(tok), 0);
    assert_int_equal(store_session_revoke(st, jti), 0);
    assert_int_equal(verify(tok), -EACCES);
    free(tok);

    char *a = session_issue(st, &other_user, NULL, NULL);
    char *b = session_issue(st, &other_user, NULL, NULL);
    assert_int_equal(verify(a), 0);
    assert_int_equal(store_session_revoke_user(st, other_user.id), 0);
    assert_int_equal(verify(a), -EACCES);
    assert_int_equal(verify(b), -EACCES);
    free(a);
    free(b);

    /* A disabled user's live session is refused. */
    struct user u = other_user;
    char *c = session_issue(st, &u, NULL, NULL);
    assert_int_equal(verify(c), 0);
    u.disabled = true;
    assert_int_equal(store_user_update(st, &u), 0);
    assert_int_equal(verify(c), -EACCES);
    u.disabled = false;
    assert_int_equal(store_user_update(st, &u), 0);
    free(c);
}

static void test_garbage(void **state)
{
    (void)state;
    assert_int_equal(verify(""), -EACCES);
    assert_int_equal(verify("tg_sk_abcdefghijklmnopqrstuvwxyz0123456789ABCD"), -EACCES);
    assert_int_equal(verify("a.b.c"), -EACCES);
    assert_int_equal(verify("..."), -EACCES);
    char *big = xmalloc(3000);
    memset(big, 'A', 2999);
    big[2999] = '\0';
    big[10] = '.';
    big[20] = '.';
    assert_int_equal(verify(big), -EACCES);
    free(big);
}

static void test_is_jwt(void **state)
{
    (void)state;
    assert_true(session_is_jwt("a.b.c"));
    assert_true(session_is_jwt("eyJ.eyJ."));
    assert_false(session_is_jwt(""));
    assert_false(session_is_jwt("abc"));
    assert_false(session_is_jwt("a.b"));
    assert_false(session_is_jwt("a.b.c.d"));
    assert_false(session_is_jwt("tg_sk_0123456789"));
}

/* The limiter is process-wide: every case uses its own e-mails and addresses. */
static void fail_n(const char *email, const char *addr, int n)
{
    for (int i = 0; i < n; i++)
        login_failed(NULL, email, addr);
}

static void test_limiter_threshold(void **state)
{
    (void)state;
    fail_n("t1@example.com", "198.51.100.1", LOGIN_MAX_FAILURES - 1);
    assert_int_equal(login_throttled(NULL, "t1@example.com", "198.51.100.1"), 0);
    login_failed(NULL, "t1@example.com", "198.51.100.1");
    int w = login_throttled(NULL, "t1@example.com", "198.51.100.1");
    assert_true(w > 0 && w <= LOGIN_WINDOW_S);
    /* Neighbours are not affected. */
    assert_int_equal(login_throttled(NULL, "t1b@example.com", "198.51.100.2"), 0);
}

static void test_limiter_per_email(void **state)
{
    (void)state;
    char addr[32];
    for (int i = 0; i < LOGIN_MAX_FAILURES; i++) {
        snprintf(addr, sizeof addr, "198.51.100.%d", 10 + i);
        login_failed(NULL, "t2@example.com", addr);
    }
    /* From a fresh address, and in another case: the e-mail is throttled. */
    assert_true(login_throttled(NULL, "T2@Example.COM", "203.0.113.99") > 0);
    /* Each of those addresses saw one failure only. */
    assert_int_equal(login_throttled(NULL, "t2-other@example.com", "198.51.100.10"), 0);
}

static void test_limiter_per_address(void **state)
{
    (void)state;
    char email[64];
    for (int i = 0; i < LOGIN_MAX_FAILURES; i++) {
        snprintf(email, sizeof email, "t3-%d@example.com", i);
        login_failed(NULL, email, "198.51.100.30");
    }
    assert_true(login_throttled(NULL, "t3-new@example.com", "198.51.100.30") > 0);
    assert_int_equal(login_throttled(NULL, "t3-new@example.com", "198.51.100.31"), 0);
}

static void test_limiter_success(void **state)
{
    (void)state;
    fail_n("t4@example.com", "198.51.100.40", LOGIN_MAX_FAILURES);
    assert_true(login_throttled(NULL, "t4@example.com", "198.51.100.41") > 0);
    login_succeeded(NULL, "t4@example.com", "198.51.100.40");
    /* The e-mail's count is reset, the address keeps its own. */
    assert_int_equal(login_throttled(NULL, "t4@example.com", "198.51.100.41"), 0);
    assert_true(login_throttled(NULL, "t4-new@example.com", "198.51.100.40") > 0);
    assert_true(login_throttled(NULL, "t4@example.com", "198.51.100.40") > 0);
    /* A success for an e-mail never seen is harmless. */
    login_succeeded(NULL, "t4-never@example.com", "198.51.100.42");
    assert_int_equal(login_throttled(NULL, "t4-never@example.com", "198.51.100.42"), 0);
}

/* IPv6 sources count by their /64 (F10): a prefix's other addresses share the lock. */
static void test_limiter_ipv6_prefix(void **state)
{
    (void)state;
    char email[64], addr[64];
    for (int i = 0; i < LOGIN_MAX_FAILURES; i++) {
        snprintf(email, sizeof email, "t5-%d@example.com", i);
        snprintf(addr, sizeof addr, "2001:db8:5:6::%x", i + 1);
        login_failed(NULL, email, addr);
    }
    assert_true(login_throttled(NULL, "t5-new@example.com", "2001:db8:5:6:ffff:1:2:3") > 0);
    assert_int_equal(login_throttled(NULL, "t5-new@example.com", "2001:db8:5:7::1"), 0);
}

/*
 * The review's attack (F10): lock an e-mail, then fail from enough other addresses to cycle
 * the table. A slot in an open window is never reused, so the lock holds, and once every slot
 * is taken new keys are refused rather than evicting one. Runs last: it fills the table.
 */
static void test_limiter_never_evicts_open_window(void **state)
{
    (void)state;
    fail_n("victim@example.com", "198.51.100.60", LOGIN_MAX_FAILURES);
    assert_true(login_throttled(NULL, "victim@example.com", "203.0.113.1") > 0);
    char email[64], addr[64];
    int refused = 0;
    for (int i = 0; i < LOGIN_SLOTS; i++) {
        snprintf(email, sizeof email, "filler-%d@example.com", i);
        snprintf(addr, sizeof addr, "10.%d.%d.%d", (i >> 16) & 255, (i >> 8) & 255, i & 255);
        if (login_throttled(NULL, email, addr) > 0) {
            refused++;
            continue;
        }
        login_failed(NULL, email, addr);
    }
    assert_true(refused > 0); /* the table filled up and new keys waited */
    int w = login_throttled(NULL, "victim@example.com", "203.0.113.2");
    assert_true(w > 0 && w <= LOGIN_WINDOW_S);
    /* A brand-new e-mail and address wait for a free slot too. */
    w = login_throttled(NULL, "fresh@example.com", "192.0.2.77");
    assert_true(w > 0 && w <= LOGIN_WINDOW_S);
}

/*
 * Issue 11 item 5: another node on the same database and master key (a second store opened
 * on the file from the same data directory) verifies a session this one issued: the signing
 * key comes from the master key, not from the process.
 */
static void test_other_node(void **state)
{
    (void)state;
    char url[300];
    snprintf(url, sizeof url, "sqlite:%s/t.db", dir);
    struct store *node_b = NULL;
    assert_int_equal(store_open(url, dir, &node_b), 0);
    char jti[UUID_STR_LEN];
    char *tok = session_issue(st, &user, jti, NULL);
    assert_non_null(tok);
    struct principal who;
    char got[UUID_STR_LEN];
    assert_int_equal(session_verify(node_b, tok, &who, got), 0);
    assert_string_equal(got, jti);
    assert_string_equal(who.key_id, user.id);
    /* revoked through one node: refused by the other */
    assert_int_equal(store_session_revoke(node_b, jti), 0);
    assert_int_equal(session_verify(st, tok, &who, got), -EACCES);
    free(tok);
    store_close(node_b);
}

/*
 * The limiter's shared layer: failures another node counted in the store (its login_failures
 * rows, keyed by a MAC) lock an e-mail here although this node's table never saw them.
 */
static void test_limiter_shared(void **state)
{
    (void)state;
    char key[65];
    store_mac_hex(st, "login-limiter:e:shared@example.com", key);
    int64_t now = time_now();
    for (int i = 0; i < LOGIN_MAX_FAILURES - 1; i++)
        assert_int_equal(store_login_failure_add(st, key, now, LOGIN_WINDOW_S), 0);
    assert_int_equal(login_throttled(st, "shared@example.com", "198.51.100.70"), 0);
    assert_int_equal(store_login_failure_add(st, key, now, LOGIN_WINDOW_S), 0);
    int w = login_throttled(st, "Shared@Example.com", "198.51.100.71");
    assert_true(w > 0 && w <= LOGIN_WINDOW_S);
    assert_int_equal(login_throttled(NULL, "shared@example.com", "198.51.100.72"), 0);
    /* this node's failures reach the store too, under the same key */
    login_failed(st, "counted@example.com", "198.51.100.73");
    store_mac_hex(st, "login-limiter:e:counted@example.com", key);
    int n = 0;
    int64_t start = 0;
    assert_int_equal(store_login_failures_get(st, key, now, LOGIN_WINDOW_S, &n, &start), 0);
    assert_int_equal(n, 1);
    login_succeeded(st, "counted@example.com", "198.51.100.73");
    assert_int_equal(store_login_failures_get(st, key, now, LOGIN_WINDOW_S, &n, &start), -ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_tampered),
        cmocka_unit_test(test_forge_control),
        cmocka_unit_test(test_other_key),
        cmocka_unit_test(test_alg_none_and_others),
        cmocka_unit_test(test_claims),
        cmocka_unit_test(test_revoked),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_is_jwt),
        cmocka_unit_test(test_limiter_threshold),
        cmocka_unit_test(test_limiter_per_email),
        cmocka_unit_test(test_limiter_per_address),
        cmocka_unit_test(test_limiter_success),
        cmocka_unit_test(test_limiter_ipv6_prefix),
        cmocka_unit_test(test_other_node),
        cmocka_unit_test(test_limiter_shared), /* before the next one fills the table */
        cmocka_unit_test(test_limiter_never_evicts_open_window),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
