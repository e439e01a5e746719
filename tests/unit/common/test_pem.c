/* test_pem.c - PEM certificate blocks, DER, and the RouterOS-style SHA-256 fingerprint. */
/* cmocka.h needs these headers first */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include "pem.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* A self-signed P-256 CA made with openssl; its fingerprint as `openssl x509 -fingerprint
 * -sha256` prints it: AA:30:55:...:B3:46. */
#define CERT_BODY                                                                                  \
    "MIIBiTCCAS+gAwIBAgIUIkixhA71YmT03XpR5F2uzKUe/gMwCgYIKoZIzj0EAwIw\n"                           \
    "GjEYMBYGA1UEAwwPdGlrZ2F0ZS10ZXN0LWNhMB4XDTI2MTIwMTExNDAzMVoXDTM2\n"                           \
    "MTEyODExNDAzMVowGjEYMBYGA1UEAwwPdGlrZ2F0ZS10ZXN0LWNhMFkwEwYHKoZI\n"                           \
    "zj0CAQYIKoZIzj0DAQcDQgAEnwZFChYko1VZDYLWqwfdJ5mbT+VWUtV0aCUBCrdy\n"                           \
    "O6zBVyr3pVk2eyuNKCRRRdKeczwLIENmrVsUYbSjbzXwqqNTMFEwHQYDVR0OBBYE\n"                           \
    "FNtfVKU1bG0kH0wqhpU5TAJ8E7pbMB8GA1UdIwQYMBaAFNtfVKU1bG0kH0wqhpU5\n"                           \
    "TAJ8E7pbMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIgafGamj+8\n"                           \
    "AlIMeYKih4iZZMmRm93TRWbSkaNdHEGR7MkCIQCz4c36lGr4RYieagewr88l4ug/\n"                           \
    "3OgoTFc6Jnf3f/JHtA==\n"
#define CERT "-----BEGIN CERTIFICATE-----\n" CERT_BODY "-----END CERTIFICATE-----\n"
#define FP "aa3055297c7568c62f66c182746941640cbec1c93f0a9388f0af05c01bf3b346"

static void test_fingerprint_format(void **state)
{
    (void)state;
    size_t pos = 0;
    struct pem_cert c;
    assert_int_equal(pem_cert_next(CERT, strlen(CERT), &pos, &c), 0);
    assert_string_equal(c.fingerprint, FP);
    assert_int_equal(strlen(c.fingerprint), PEM_FINGERPRINT_LEN);
    assert_int_equal(c.der[0], 0x30);
    assert_int_equal(c.der_len, 397);
    assert_ptr_equal(c.text, CERT);
    assert_int_equal(c.text_len, strlen(CERT));
    assert_int_equal(pos, strlen(CERT));
    pem_cert_release(&c);
    assert_int_equal(pem_cert_next(CERT, strlen(CERT), &pos, &c), -ENOENT);
    assert_true(pem_fingerprint_valid(FP));
    assert_true(
        pem_fingerprint_valid("AA3055297C7568C62F66C182746941640CBEC1C93F0A9388F0AF05C01BF3B346"));
    assert_false(pem_fingerprint_valid("aa:30"));
    assert_false(pem_fingerprint_valid(FP "0"));
    assert_false(pem_fingerprint_valid(""));
}

static void test_chain_and_other_blocks(void **state)
{
    (void)state;
    const char *text =
        "junk before\n-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n" CERT
        "\r\n" CERT;
    size_t pos = 0, n = 0;
    struct pem_cert c;
    int r;
    while ((r = pem_cert_next(text, strlen(text), &pos, &c)) == 0) {
        assert_string_equal(c.fingerprint, FP);
        assert_memory_equal(c.text, "-----BEGIN CERTIFICATE-----", 27);
        pem_cert_release(&c);
        n++;
    }
    assert_int_equal(r, -ENOENT);
    assert_int_equal(n, 2);
}

static void test_malformed(void **state)
{
    (void)state;
    struct pem_cert c;
    size_t pos = 0;
    const char *no_end = "-----BEGIN CERTIFICATE-----\n" CERT_BODY;
    assert_int_equal(pem_cert_next(no_end, strlen(no_end), &pos, &c), -EINVAL);
    pos = 0;
    const char *bad = "-----BEGIN CERTIFICATE-----\nMIIB*iTCC\n-----END CERTIFICATE-----\n";
    assert_int_equal(pem_cert_next(bad, strlen(bad), &pos, &c), -EINVAL);
    pos = 0;
    /* valid base64, but not a DER SEQUENCE */
    const char *notder = "-----BEGIN CERTIFICATE-----\naGVsbG8=\n-----END CERTIFICATE-----\n";
    assert_int_equal(pem_cert_next(notder, strlen(notder), &pos, &c), -EINVAL);
    pos = 0;
    assert_int_equal(pem_cert_next("", 0, &pos, &c), -ENOENT);
    pos = 0;
    assert_int_equal(pem_cert_next("hello", 5, &pos, &c), -ENOENT);
    pos = 0;
    assert_int_equal(pem_cert_next(CERT, PEM_MAX_TEXT + 1, &pos, &c), -E2BIG);
    pem_cert_release(&c); /* zeroed: fine */
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fingerprint_format),
        cmocka_unit_test(test_chain_and_other_blocks),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
