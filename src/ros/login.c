#include "login.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <string.h>

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static void to_hex(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0x0F];
    }
    out[2 * n] = '\0';
}

int ros_login_md5_response(const char *password, const char *challenge,
                           char ret[ROS_LOGIN_RESPONSE_LEN + 1])
{
    unsigned char chal[ROS_LOGIN_CHALLENGE_MAX / 2];
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    int r = -EIO;

    size_t hl = strlen(challenge);
    if (hl == 0 || hl % 2 || hl > ROS_LOGIN_CHALLENGE_MAX)
        return -EINVAL;
    for (size_t i = 0; i < hl / 2; i++) {
        int hi = hexval((unsigned char)challenge[2 * i]);
        int lo = hexval((unsigned char)challenge[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -EINVAL;
        chal[i] = (unsigned char)(hi << 4 | lo);
    }

    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx)
        return -EIO;
    static const unsigned char zero = 0;
    if (EVP_DigestInit_ex(ctx, EVP_md5(), NULL) != 1 || EVP_DigestUpdate(ctx, &zero, 1) != 1 ||
        EVP_DigestUpdate(ctx, password, strlen(password)) != 1 ||
        EVP_DigestUpdate(ctx, chal, hl / 2) != 1 || EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 ||
        mdlen != 16)
        goto out_free_ctx;

    ret[0] = '0';
    ret[1] = '0';
    to_hex(md, 16, ret + 2);
    r = 0;

out_free_ctx:
    EVP_MD_CTX_free(ctx);
    return r;
}

int ros_login_challenge_new(char ret[ROS_LOGIN_CHALLENGE_LEN + 1])
{
    unsigned char raw[ROS_LOGIN_CHALLENGE_LEN / 2];
    if (sodium_init() < 0)
        return -EIO;
    randombytes_buf(raw, sizeof(raw));
    to_hex(raw, sizeof(raw), ret);
    return 0;
}

static int login_sentence(const char *user, const char *key, const char *value, const char *tag,
                          struct ros_sentence *out)
{
    if (!user || !value)
        return -EINVAL;
    ros_sentence_clear(out);
    ros_sentence_add_str(out, "/login");
    ros_sentence_add_attr(out, "name", user);
    ros_sentence_add_attr(out, key, value);
    if (tag && tag[0])
        ros_sentence_addf(out, ".tag=%s", tag);
    return 0;
}

int ros_login_plain_sentence(const char *user, const char *password, const char *tag,
                             struct ros_sentence *out)
{
    return login_sentence(user, "password", password, tag, out);
}

int ros_login_md5_sentence(const char *user, const char *response, const char *tag,
                           struct ros_sentence *out)
{
    return login_sentence(user, "response", response, tag, out);
}

int ros_login_request_parse(const struct ros_sentence *s, struct ros_login_request *ret)
{
    if (!ros_sentence_is(s, "/login"))
        return -EINVAL;
    struct ros_login_request req = {0};
    req.name = ros_sentence_get(s, "name");
    req.password = ros_sentence_get(s, "password");
    req.response = ros_sentence_get(s, "response");
    if (!req.name) {
        if (req.password || req.response)
            return -EINVAL;
        req.kind = ROS_LOGIN_CHALLENGE;
    } else if (req.password && !req.response) {
        req.kind = ROS_LOGIN_PLAIN;
    } else if (req.response && !req.password) {
        req.kind = ROS_LOGIN_MD5_RESPONSE;
    } else {
        return -EINVAL;
    }
    *ret = req;
    return 0;
}

/* Constant-time equality of two strings of any length: compare their hashes. */
static bool secret_equal(const char *a, const char *b)
{
    unsigned char ha[crypto_generichash_BYTES], hb[crypto_generichash_BYTES];
    crypto_generichash(ha, sizeof(ha), (const unsigned char *)a, strlen(a), NULL, 0);
    crypto_generichash(hb, sizeof(hb), (const unsigned char *)b, strlen(b), NULL, 0);
    return sodium_memcmp(ha, hb, sizeof(ha)) == 0;
}

int ros_login_verify(const struct ros_login_request *req, const char *password,
                     const char *challenge)
{
    if (sodium_init() < 0)
        return -EACCES;
    if (!password)
        return -EACCES;

    if (req->kind == ROS_LOGIN_PLAIN)
        return req->password && secret_equal(req->password, password) ? 0 : -EACCES;
    if (req->kind != ROS_LOGIN_MD5_RESPONSE || !challenge || !req->response)
        return -EACCES;

    char want[ROS_LOGIN_RESPONSE_LEN + 1];
    char got[ROS_LOGIN_RESPONSE_LEN + 1];
    if (strlen(req->response) != ROS_LOGIN_RESPONSE_LEN)
        return -EACCES;
    for (size_t i = 0; i <= ROS_LOGIN_RESPONSE_LEN; i++)
        got[i] = (char)tolower((unsigned char)req->response[i]);
    if (ros_login_md5_response(password, challenge, want) < 0)
        return -EACCES;
    return sodium_memcmp(want, got, ROS_LOGIN_RESPONSE_LEN) == 0 ? 0 : -EACCES;
}
