/*
 * user.h - portal users: roles mapped to scopes, Argon2id password hashes.
 */
#ifndef TG_DOMAIN_USER_H
#define TG_DOMAIN_USER_H

#include "error.h"
#include "rand.h" /* UUID_STR_LEN */

#include <stdbool.h>
#include <stdint.h>

#define USER_EMAIL_MAX 254
#define USER_PASSWORD_MIN 10
#define USER_PASSWORD_MAX 256
#define USER_HASH_MAX 128 /* crypto_pwhash_STRBYTES */

enum user_role {
    ROLE_ADMIN = 0,
    ROLE_OPERATOR,
    ROLE_READ_ONLY,
};

struct user {
    char id[UUID_STR_LEN];
    char tenant_id[UUID_STR_LEN];
    char email[USER_EMAIL_MAX + 1];
    char password_hash[USER_HASH_MAX];
    enum user_role role;
    bool disabled;
    int64_t created_at, updated_at, last_login_at;
};

const char *user_role_name(enum user_role r);
int user_role_parse(const char *s, enum user_role *ret);
/* The scopes a role carries: admin all; operator all but admin; read-only the view scopes. */
uint32_t user_role_scopes(enum user_role r);
/* Shape check of an e-mail address (one @, a dot in the domain, no spaces or controls). */
int user_check_email(const char *email, struct tg_err *err);
int user_check_password(const char *password, struct tg_err *err);
/* Argon2id (libsodium, interactive limits). 0 or -ENOMEM. */
int user_hash_password(const char *password, char out[USER_HASH_MAX]);
/* Constant-time verification against a stored hash. */
bool user_verify_password(const char *hash, const char *password);

#endif
