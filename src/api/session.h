/*
 * session.h - portal sign-in: session JWTs (HS256) and the failed-login limiter.
 *
 * Tokens are issued and verified only here. Verification is strict: the
 * algorithm is pinned to HS256 (checked after decoding, so "none" or a
 * public-key algorithm never passes), the key is 32 bytes derived from the
 * master key and never empty, iss must be "tikgate", exp must be in the
 * future, and the jti must name a live session in the store (logout revokes).
 */
#ifndef TG_API_SESSION_H
#define TG_API_SESSION_H

#include "auth.h"
#include "rand.h" /* UUID_STR_LEN */
#include "store.h"
#include "user.h"

#include <stdbool.h>
#include <stdint.h>

#define SESSION_TTL_S (12 * 3600)

/* Issues a token for u; returns an owned string or NULL. ret_jti/ret_exp may be NULL. */
char *session_issue(struct store *st, const struct user *u, char ret_jti[UUID_STR_LEN],
                    int64_t *ret_exp);
/*
 * Verifies token; on success fills *who (tenant, user id, e-mail, role scopes)
 * and ret_jti. -EACCES for a token that is not valid (the reason is not told to the
 * caller); the store's -errno when the session could not be looked up (the database is down:
 * the caller answers 503, not 401, so a portal does not drop a session that is still good).
 */
int session_verify(struct store *st, const char *token, struct principal *who,
                   char ret_jti[UUID_STR_LEN]);
/* True when token looks like a JWT (three dot-separated parts). */
bool session_is_jwt(const char *token);

/*
 * Failed-login limiter (per e-mail and per client address, IPv6 by /64): after
 * LOGIN_MAX_FAILURES failures within LOGIN_WINDOW_S, further attempts are refused for the
 * rest of the window (a hard lock, docs/decisions.md). Two layers: this node's table in
 * memory, and, given a store (st non-NULL), the failures every API node of that store counted
 * (login_failures, migration 0012: the limit holds across nodes, issue 11 item 5).
 * login_throttled() returns seconds to wait, 0 when allowed (the store's -errno when it could
 * not be asked); when allowed it reserves the attempt's two slots of the table. A slot in an
 * open window is never reused: with all LOGIN_SLOTS in use, attempts needing a new slot wait.
 */
#define LOGIN_MAX_FAILURES 5
#define LOGIN_WINDOW_S 300
#define LOGIN_SLOTS 16384
/* The table's size (TIKGATE_LOGIN_SLOTS; 16..1048576, 0: LOGIN_SLOTS). Before the first login. */
void login_limiter_size(unsigned n);
int login_throttled(struct store *st, const char *email, const char *addr);
void login_failed(struct store *st, const char *email, const char *addr);
void login_succeeded(struct store *st, const char *email, const char *addr);

#endif
