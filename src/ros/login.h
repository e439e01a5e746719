/*
 * login.h - RouterOS API login, both sides (routeros.md §1.5).
 *
 * Plain (RouterOS >= 6.43): "/login =name=U =password=P" -> "!done".
 * Legacy challenge (< 6.43): "/login" -> "!done =ret=<hex challenge>", then
 * "/login =name=U =response=00<hex(MD5(0x00 || password || unhex(challenge)))>".
 * A compatible client always sends the plain form first and answers the
 * challenge if the first "!done" carries "=ret=".
 *
 * MD5 comes from OpenSSL's libcrypto (EVP interface). No sockets here.
 */
#ifndef TG_ROS_LOGIN_H
#define TG_ROS_LOGIN_H

#include "wire.h"

#include <stdbool.h>
#include <stddef.h>

/* "00" + 32 hex digits. */
#define ROS_LOGIN_RESPONSE_LEN 34
/* Challenges we generate: 16 random bytes in hex. */
#define ROS_LOGIN_CHALLENGE_LEN 32
/* Longest challenge we accept from a server, in hex digits. */
#define ROS_LOGIN_CHALLENGE_MAX 256

/*
 * Computes the legacy response for password (borrowed, NUL-terminated) and
 * challenge (hex, even length, 2..ROS_LOGIN_CHALLENGE_MAX digits, either case)
 * into ret (NUL-terminated, lower-case). 0, -EINVAL for a malformed challenge,
 * -EIO if libcrypto fails (e.g. MD5 disabled by a FIPS policy).
 */
int ros_login_md5_response(const char *password, const char *challenge,
                           char ret[ROS_LOGIN_RESPONSE_LEN + 1]);

/* Fills ret with a fresh random challenge (32 lower-case hex digits). 0 or -EIO. */
int ros_login_challenge_new(char ret[ROS_LOGIN_CHALLENGE_LEN + 1]);

/* Builds the client sentences into *out (cleared first; caller-owned).
 * The optional tag (borrowed, may be NULL) is added as ".tag=". 0 or -EINVAL. */
int ros_login_plain_sentence(const char *user, const char *password, const char *tag,
                             struct ros_sentence *out);
int ros_login_md5_sentence(const char *user, const char *response, const char *tag,
                           struct ros_sentence *out);

/* ---- server side ------------------------------------------------------ */

enum ros_login_kind {
    ROS_LOGIN_PLAIN,        /* =name= and =password= */
    ROS_LOGIN_MD5_RESPONSE, /* =name= and =response= */
    ROS_LOGIN_CHALLENGE,    /* bare /login (pre-6.43 clients): answer with =ret= */
};

/* A classified /login request. The strings borrow from the sentence. */
struct ros_login_request {
    enum ros_login_kind kind;
    const char *name;     /* NULL for ROS_LOGIN_CHALLENGE */
    const char *password; /* ROS_LOGIN_PLAIN only */
    const char *response; /* ROS_LOGIN_MD5_RESPONSE only */
};

/*
 * Classifies a received sentence. 0 and *ret set; -EINVAL when it is not
 * "/login", or has =name= with neither =password= nor =response=, or has
 * both. A server speaking only the legacy protocol may answer a PLAIN request
 * with a challenge, as old routers did.
 */
int ros_login_request_parse(const struct ros_sentence *s, struct ros_login_request *ret);

/*
 * Checks a PLAIN or MD5_RESPONSE request against the stored password
 * (borrowed) and, for MD5, the challenge this connection issued (NULL if none).
 * Comparison is constant-time. 0 when it matches, -EACCES otherwise (also for
 * MD5 without a challenge and for ROS_LOGIN_CHALLENGE). The user name is not
 * checked: look the user up before calling.
 */
int ros_login_verify(const struct ros_login_request *req, const char *password,
                     const char *challenge);

#endif
