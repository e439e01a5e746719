/* test_key.c - WireGuard keys: X25519 test vectors, base64/hex forms, strict parsing. */
#include "rand.h"
#include "wg_key.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
/* clang-format off: cmocka.h needs the headers above */
#include <cmocka.h>
/* clang-format on */

/* RFC 7748 §6.1 (Alice and Bob); `wg pubkey` gives the same public keys. */
#define ALICE_PRIV_HEX "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"
#define ALICE_PUB_HEX "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
#define ALICE_PRIV_B64 "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo="
#define ALICE_PUB_B64 "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo="
#define BOB_PRIV_B64 "XasIfmJKikt54X+Lg4AO5m87sSkmGLb9HC+LJ/+I4Os="
#define BOB_PUB_B64 "3p7bfXt9wbTTW2HC7OQ1Nz+DQ8hbeGdNrfx+FG+IK08="

static int setup(void **state)
{
    (void)state;
    return tg_rand_init();
}

static void test_rfc7748_vectors(void **state)
{
    (void)state;
    struct wg_key priv, pub, want;
    char hex[WG_KEY_HEX_LEN + 1], b64[WG_KEY_B64_LEN + 1];

    assert_int_equal(wg_key_from_hex(ALICE_PRIV_HEX, &priv), 0);
    assert_int_equal(wg_key_public(&priv, &pub), 0);
    wg_key_to_hex(&pub, hex);
    assert_string_equal(hex, ALICE_PUB_HEX);
    wg_key_to_base64(&pub, b64);
    assert_string_equal(b64, ALICE_PUB_B64);
    wg_key_to_base64(&priv, b64);
    assert_string_equal(b64, ALICE_PRIV_B64);

    /* Clamping does not change the public key (X25519 clamps itself). */
    wg_key_clamp(&priv);
    assert_int_equal(wg_key_public(&priv, &pub), 0);
    wg_key_to_hex(&pub, hex);
    assert_string_equal(hex, ALICE_PUB_HEX);

    assert_int_equal(wg_key_from_base64(BOB_PRIV_B64, &priv), 0);
    assert_int_equal(wg_key_public(&priv, &pub), 0);
    assert_int_equal(wg_key_from_base64(BOB_PUB_B64, &want), 0);
    assert_true(wg_key_equal(&pub, &want));
    assert_false(wg_key_is_zero(&pub));
}

static void test_generate(void **state)
{
    (void)state;
    struct wg_key a, b, pa, pb;
    assert_int_equal(wg_key_generate(&a), 0);
    assert_int_equal(wg_key_generate(&b), 0);
    assert_false(wg_key_equal(&a, &b));
    /* Clamped as wg genkey does. */
    assert_int_equal(a.b[0] & 7, 0);
    assert_int_equal(a.b[31] & 0x80, 0);
    assert_int_equal(a.b[31] & 0x40, 0x40);
    assert_int_equal(wg_key_public(&a, &pa), 0);
    assert_int_equal(wg_key_public(&b, &pb), 0);
    assert_false(wg_key_equal(&pa, &pb));
    wg_key_wipe(&a);
    assert_true(wg_key_is_zero(&a));
}

static void test_round_trips(void **state)
{
    (void)state;
    for (int i = 0; i < 200; i++) {
        struct wg_key k, back;
        char hex[WG_KEY_HEX_LEN + 1], b64[WG_KEY_B64_LEN + 1];
        assert_int_equal(wg_key_generate(&k), 0);
        if (i & 1)
            memset(k.b, i, sizeof(k.b)); /* also unclamped patterns */
        wg_key_to_base64(&k, b64);
        assert_int_equal(strlen(b64), WG_KEY_B64_LEN);
        assert_int_equal(wg_key_from_base64(b64, &back), 0);
        assert_true(wg_key_equal(&k, &back));
        wg_key_to_hex(&k, hex);
        assert_int_equal(strlen(hex), WG_KEY_HEX_LEN);
        for (size_t j = 0; j < WG_KEY_HEX_LEN; j++)
            assert_true((hex[j] >= '0' && hex[j] <= '9') || (hex[j] >= 'a' && hex[j] <= 'f'));
        memset(&back, 0, sizeof(back));
        assert_int_equal(wg_key_from_hex(hex, &back), 0);
        assert_true(wg_key_equal(&k, &back));
    }
}

static void test_bad_base64(void **state)
{
    (void)state;
    struct wg_key k;
    memset(&k, 0xaa, sizeof(k));
    const char *bad[] = {
        "",
        "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo",   /* 43: no padding */
        "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo==", /* 45 */
        "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTm==",  /* 44 but 31 bytes */
        "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmp=",  /* non-zero padding bits */
        "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066Spjqqb*mo=",  /* outside the alphabet */
        "hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo=",  /* URL-safe alphabet */
        " SDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=",  /* whitespace */
        "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=\n",
        "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr0=6SpjqqbTmo=", /* padding inside */
        ALICE_PUB_HEX,
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(wg_key_from_base64(bad[i], &k), -EINVAL);
    assert_int_equal(wg_key_from_base64(NULL, &k), -EINVAL);
    for (size_t i = 0; i < sizeof(k.b); i++)
        assert_int_equal(k.b[i], 0xaa); /* untouched on failure */
}

static void test_bad_hex(void **state)
{
    (void)state;
    struct wg_key k, want;
    assert_int_equal(wg_key_from_hex(ALICE_PUB_HEX, &want), 0);
    /* Either case is accepted on input; output is lowercase. */
    assert_int_equal(
        wg_key_from_hex("8520F0098930A754748B7DDCB43EF75A0DBF3A0D26381AF4EBA4A98EAA9B4E6A", &k), 0);
    assert_true(wg_key_equal(&k, &want));
    assert_int_equal(wg_key_from_hex("", &k), -EINVAL);
    assert_int_equal(wg_key_from_hex(ALICE_PUB_HEX "0", &k), -EINVAL);
    assert_int_equal(
        wg_key_from_hex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6", &k),
        -EINVAL);
    assert_int_equal(
        wg_key_from_hex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6g", &k),
        -EINVAL);
    assert_int_equal(wg_key_from_hex(ALICE_PUB_B64, &k), -EINVAL);
    assert_int_equal(wg_key_from_hex_n(ALICE_PUB_HEX, 63, &k), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc7748_vectors), cmocka_unit_test(test_generate),
        cmocka_unit_test(test_round_trips),     cmocka_unit_test(test_bad_base64),
        cmocka_unit_test(test_bad_hex),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
