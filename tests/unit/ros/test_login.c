/* Unit tests for src/ros/login.c: routeros.md §1.5 MD5 vectors, both sides. */
/* cmocka.h needs these headers first */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
// clang-format on

#include "login.h"

static const struct {
    const char *user, *password, *challenge, *response;
} md5_vectors[] = {
    {"admin", "", "856780b7411eefd3abadee2058c149a3", "005062f7a5ef124d34675bf3e81f56c556"},
    {"userTest", "passTest", "abc123", "0021277bff9ac7caf06aa608e46616d47f"},
    {"admin", "secret", "aabbccddeeff00112233445566778899", "00a8bfd49490a32a90532cbac11691aae2"},
};
#define NVEC (sizeof(md5_vectors) / sizeof(md5_vectors[0]))

static void test_md5_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < NVEC; i++) {
        char got[ROS_LOGIN_RESPONSE_LEN + 1];
        assert_int_equal(
            ros_login_md5_response(md5_vectors[i].password, md5_vectors[i].challenge, got), 0);
        assert_string_equal(got, md5_vectors[i].response);
    }
    /* upper-case challenge digits are the same bytes */
    char got[ROS_LOGIN_RESPONSE_LEN + 1];
    assert_int_equal(ros_login_md5_response("secret", "AABBCCDDEEFF00112233445566778899", got), 0);
    assert_string_equal(got, md5_vectors[2].response);
}

static void test_md5_bad_challenge(void **state)
{
    (void)state;
    char got[ROS_LOGIN_RESPONSE_LEN + 1];
    assert_int_equal(ros_login_md5_response("x", "", got), -EINVAL);
    assert_int_equal(ros_login_md5_response("x", "abc", got), -EINVAL); /* odd */
    assert_int_equal(ros_login_md5_response("x", "zz", got), -EINVAL);  /* not hex */
    assert_int_equal(ros_login_md5_response("x", "0g", got), -EINVAL);
    char longc[ROS_LOGIN_CHALLENGE_MAX + 3];
    memset(longc, 'a', sizeof(longc) - 1);
    longc[sizeof(longc) - 1] = '\0';
    assert_int_equal(ros_login_md5_response("x", longc, got), -EINVAL);
    longc[ROS_LOGIN_CHALLENGE_MAX] = '\0';
    assert_int_equal(ros_login_md5_response("x", longc, got), 0);
}

static void test_client_sentences(void **state)
{
    (void)state;
    struct ros_sentence s = {0};
    assert_int_equal(ros_login_plain_sentence("admin", "", NULL, &s), 0);
    struct buf b;
    buf_init(&b, 1024);
    assert_int_equal(ros_sentence_encode(&b, &s), 0);
    /* §1.6: /login =name=admin =password= */
    static const uint8_t want[] = {0x06, '/', 'l', 'o', 'g', 'i', 'n', 0x0b, '=',  'n', 'a',
                                   'm',  'e', '=', 'a', 'd', 'm', 'i', 'n',  0x0a, '=', 'p',
                                   'a',  's', 's', 'w', 'o', 'r', 'd', '=',  0x00};
    assert_int_equal(b.len, sizeof(want));
    assert_memory_equal(b.data, want, sizeof(want));

    assert_int_equal(ros_login_md5_sentence("admin", md5_vectors[0].response, "t1", &s), 0);
    assert_int_equal(s.nwords, 4);
    assert_string_equal(ros_sentence_get(&s, "response"), md5_vectors[0].response);
    assert_string_equal(ros_sentence_tag(&s), "t1");
    ros_sentence_release(&s);
    buf_release(&b);
}

static void test_challenge_new(void **state)
{
    (void)state;
    char a[ROS_LOGIN_CHALLENGE_LEN + 1], b[ROS_LOGIN_CHALLENGE_LEN + 1];
    assert_int_equal(ros_login_challenge_new(a), 0);
    assert_int_equal(ros_login_challenge_new(b), 0);
    assert_int_equal(strlen(a), ROS_LOGIN_CHALLENGE_LEN);
    assert_string_not_equal(a, b);
    assert_int_equal(strspn(a, "0123456789abcdef"), ROS_LOGIN_CHALLENGE_LEN);
    char r[ROS_LOGIN_RESPONSE_LEN + 1];
    assert_int_equal(ros_login_md5_response("pw", a, r), 0);
}

static void parse_words(const char *const *w, size_t n, struct ros_sentence *s)
{
    ros_sentence_clear(s);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(ros_sentence_add_str(s, w[i]), 0);
}

static void test_server_parse(void **state)
{
    (void)state;
    struct ros_sentence s = {0};
    struct ros_login_request req;

    const char *plain[] = {"/login", "=name=admin", "=password=", ".tag=x"};
    parse_words(plain, 4, &s);
    assert_int_equal(ros_login_request_parse(&s, &req), 0);
    assert_int_equal(req.kind, ROS_LOGIN_PLAIN);
    assert_string_equal(req.name, "admin");
    assert_string_equal(req.password, "");
    assert_null(req.response);

    const char *md5[] = {"/login", "=name=admin", "=response=00ab"};
    parse_words(md5, 3, &s);
    assert_int_equal(ros_login_request_parse(&s, &req), 0);
    assert_int_equal(req.kind, ROS_LOGIN_MD5_RESPONSE);
    assert_string_equal(req.response, "00ab");

    const char *bare[] = {"/login"};
    parse_words(bare, 1, &s);
    assert_int_equal(ros_login_request_parse(&s, &req), 0);
    assert_int_equal(req.kind, ROS_LOGIN_CHALLENGE);
    assert_null(req.name);

    const char *both[] = {"/login", "=name=a", "=password=b", "=response=c"};
    parse_words(both, 4, &s);
    assert_int_equal(ros_login_request_parse(&s, &req), -EINVAL);
    const char *name_only[] = {"/login", "=name=a"};
    parse_words(name_only, 2, &s);
    assert_int_equal(ros_login_request_parse(&s, &req), -EINVAL);
    const char *pw_only[] = {"/login", "=password=a"};
    parse_words(pw_only, 2, &s);
    assert_int_equal(ros_login_request_parse(&s, &req), -EINVAL);
    const char *other[] = {"/system/identity/print"};
    parse_words(other, 1, &s);
    assert_int_equal(ros_login_request_parse(&s, &req), -EINVAL);
    ros_sentence_release(&s);
}

static void test_server_verify(void **state)
{
    (void)state;
    struct ros_login_request req = {.kind = ROS_LOGIN_PLAIN, .name = "admin", .password = "s3"};
    assert_int_equal(ros_login_verify(&req, "s3", NULL), 0);
    assert_int_equal(ros_login_verify(&req, "s4", NULL), -EACCES);
    assert_int_equal(ros_login_verify(&req, "s", NULL), -EACCES);
    assert_int_equal(ros_login_verify(&req, "", NULL), -EACCES);
    req.password = "";
    assert_int_equal(ros_login_verify(&req, "", NULL), 0);

    for (size_t i = 0; i < NVEC; i++) {
        struct ros_login_request m = {.kind = ROS_LOGIN_MD5_RESPONSE,
                                      .name = md5_vectors[i].user,
                                      .response = md5_vectors[i].response};
        assert_int_equal(ros_login_verify(&m, md5_vectors[i].password, md5_vectors[i].challenge),
                         0);
        assert_int_equal(ros_login_verify(&m, "wrong", md5_vectors[i].challenge), -EACCES);
        assert_int_equal(ros_login_verify(&m, md5_vectors[i].password, NULL), -EACCES);
        assert_int_equal(ros_login_verify(&m, md5_vectors[i].password, "00"), -EACCES);
    }
    /* upper-case hex in the response is accepted, a truncated one is not */
    struct ros_login_request up = {.kind = ROS_LOGIN_MD5_RESPONSE,
                                   .name = "admin",
                                   .response = "00A8BFD49490A32A90532CBAC11691AAE2"};
    assert_int_equal(ros_login_verify(&up, "secret", md5_vectors[2].challenge), 0);
    up.response = "00a8bfd49490a32a90532cbac11691aae";
    assert_int_equal(ros_login_verify(&up, "secret", md5_vectors[2].challenge), -EACCES);

    struct ros_login_request ch = {.kind = ROS_LOGIN_CHALLENGE};
    assert_int_equal(ros_login_verify(&ch, "", "00"), -EACCES);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_md5_vectors),      cmocka_unit_test(test_md5_bad_challenge),
        cmocka_unit_test(test_client_sentences), cmocka_unit_test(test_challenge_new),
        cmocka_unit_test(test_server_parse),     cmocka_unit_test(test_server_verify),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
