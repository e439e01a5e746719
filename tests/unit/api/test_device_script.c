/* test_device_script.c - the bootstrap command and fetch commands routers get. */
/* cmocka.h needs these headers first */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include "buf.h"
#include "device_script.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define TOKEN "abcdefghijklmnopqrstuvwxyz012345"
#define FP "aa3055297c7568c62f66c182746941640cbec1c93f0a9388f0af05c01bf3b346"

static char *render_cmd(const char *url, const char *fp)
{
    struct buf b;
    buf_init(&b, 8192);
    assert_int_equal(device_render_bootstrap_command(&b, url, TOKEN, fp), 0);
    return buf_steal(&b);
}

static void test_https_detection(void **state)
{
    (void)state;
    assert_true(device_url_is_https("https://tg.example.net"));
    assert_true(device_url_is_https("HTTPS://tg.example.net"));
    assert_false(device_url_is_https("http://127.0.0.1:8080"));
    assert_false(device_url_is_https("httpsx"));
    assert_false(device_url_is_https(NULL));
}

static void test_fetch_checks_only_https(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 1024);
    assert_int_equal(device_render_fetch(&b, "https://tg.example.net/poll"), 0);
    assert_string_equal(b.data, "/tool fetch url=\"https://tg.example.net/poll\" "
                                "check-certificate=yes");
    buf_reset(&b);
    assert_int_equal(device_render_fetch(&b, "http://127.0.0.1:8080/poll"), 0);
    assert_string_equal(b.data, "/tool fetch url=\"http://127.0.0.1:8080/poll\"");
    buf_reset(&b);
    /* the operator's URL is quoted, never spliced */
    assert_int_equal(device_render_fetch(&b, "https://x/\"; /system reboot; \"$y"), 0);
    assert_string_equal(b.data, "/tool fetch url=\"https://x/\\\"; /system reboot; \\\"\\$y\" "
                                "check-certificate=yes");
    buf_reset(&b);
    assert_int_equal(device_render_file_remove(&b, "tikgate-job.rsc"), 0);
    assert_string_equal(b.data, "/file remove [find name=\"tikgate-job.rsc\"]\n");
    buf_release(&b);
}

static void test_bootstrap_plain_http(void **state)
{
    (void)state;
    char *c = render_cmd("http://127.0.0.1:8080", FP); /* a CA means nothing over http */
    assert_string_equal(c,
                        "/tool fetch url=\"http://127.0.0.1:8080/bootstrap/" TOKEN "\" "
                        "dst-path=tikgate-bootstrap.rsc; /import file-name=tikgate-bootstrap.rsc; "
                        "/file remove [find name=tikgate-bootstrap.rsc]");
    free(c);
}

static void test_bootstrap_https_without_ca(void **state)
{
    (void)state;
    char *c = render_cmd("https://tg.example.net", NULL);
    assert_string_equal(c, "/tool fetch url=\"https://tg.example.net/bootstrap/" TOKEN "\" "
                           "check-certificate=yes dst-path=tikgate-bootstrap.rsc; "
                           "/import file-name=tikgate-bootstrap.rsc; "
                           "/file remove [find name=tikgate-bootstrap.rsc]");
    assert_null(strstr(c, "check-certificate=no"));
    free(c);
}

static void test_bootstrap_https_with_ca(void **state)
{
    (void)state;
    char *c = render_cmd("https://tg.example.net",
                         "AA3055297C7568C62F66C182746941640CBEC1C93F0A9388F0AF05C01BF3B346");
    assert_string_equal(
        c, "/tool fetch url=\"https://tg.example.net/ca.pem\" check-certificate=no "
           "dst-path=tikgate-ca.pem; "
           "/certificate import file-name=tikgate-ca.pem passphrase=\"\"; "
           "/file remove [find name=tikgate-ca.pem]; "
           "/certificate remove [find where name~\"^tikgate-ca.pem_\" fingerprint!=\"" FP "\"]; "
           ":if ([:len [/certificate find fingerprint=\"" FP "\"]] = 0) do={:error \"tikgate: the "
           "CA certificate fetched does not have the fingerprint of this command; nothing was "
           "trusted\"}; "
           "/certificate set [find fingerprint=\"" FP "\"] trusted=yes; "
           "/tool fetch url=\"https://tg.example.net/bootstrap/" TOKEN "\" check-certificate=yes "
           "dst-path=tikgate-bootstrap.rsc; /import file-name=tikgate-bootstrap.rsc; "
           "/file remove [find name=tikgate-bootstrap.rsc]");
    /* the only unchecked fetch is the CA's, and it comes before anything is imported */
    const char *unchecked = strstr(c, "check-certificate=no");
    assert_non_null(unchecked);
    assert_null(strstr(unchecked + 1, "check-certificate=no"));
    assert_true(strstr(c, "/import") > strstr(c, ":error"));
    free(c);
}

static void test_caps(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 40);
    assert_int_equal(device_render_bootstrap_command(&b, "https://tg.example.net", TOKEN, FP),
                     -E2BIG);
    buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_https_detection),
        cmocka_unit_test(test_fetch_checks_only_https),
        cmocka_unit_test(test_bootstrap_plain_http),
        cmocka_unit_test(test_bootstrap_https_without_ca),
        cmocka_unit_test(test_bootstrap_https_with_ca),
        cmocka_unit_test(test_caps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
