#include "user.h"

#include "auth.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>

static const char *const role_names[] = {"admin", "operator", "read-only"};

const char *user_role_name(enum user_role r)
{
    return (unsigned)r < 3 ? role_names[r] : "read-only";
}

int user_role_parse(const char *s, enum user_role *ret)
{
    for (int i = 0; i < 3; i++) {
        if (!strcmp(s, role_names[i])) {
            *ret = (enum user_role)i;
            return 0;
        }
    }
    return -EINVAL;
}

uint32_t user_role_scopes(enum user_role r)
{
    switch (r) {
    case ROLE_ADMIN: return SCOPE_ALL;
    case ROLE_OPERATOR: return SCOPE_ALL & ~(uint32_t)SCOPE_ADMIN;
    case ROLE_READ_ONLY:
        return SCOPE_CPF_VIEW | SCOPE_SITE_VIEW | SCOPE_CREDENTIALS_VIEW | SCOPE_TRANSIENT_VIEW |
               SCOPE_JOB_VIEW;
    }
    return 0;
}

int user_check_email(const char *email, struct tg_err *err)
{
    size_t n = strlen(email);
    const char *at = strchr(email, '@');
    bool ok = n >= 3 && n <= USER_EMAIL_MAX && at && at != email && at == strrchr(email, '@') &&
              strchr(at, '.') && at[1] != '.' && email[n - 1] != '.';
    for (const unsigned char *p = (const unsigned char *)email; ok && *p; p++)
        if (*p <= 0x20 || *p == 0x7f)
            ok = false;
    if (!ok)
        return tg_err_invalid(err, "invalid_email", "email", "'%s' is not an e-mail address.",
                              email);
    return 0;
}

int user_check_password(const char *password, struct tg_err *err)
{
    size_t n = strlen(password);
    if (n < USER_PASSWORD_MIN)
        return tg_err_invalid(err, "password_too_short", "password",
                              "Passwords need at least %d characters.", USER_PASSWORD_MIN);
    if (n > USER_PASSWORD_MAX)
        return tg_err_invalid(err, "password_too_long", "password",
                              "Passwords may have at most %d characters.", USER_PASSWORD_MAX);
    return 0;
}

int user_hash_password(const char *password, char out[USER_HASH_MAX])
{
    if (crypto_pwhash_str(out, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        return -ENOMEM;
    return 0;
}

bool user_verify_password(const char *hash, const char *password)
{
    return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
}
