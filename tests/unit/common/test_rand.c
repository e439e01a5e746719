/* test_rand.c - base62 strings, UUIDv7 and UUID syntax, bounded integers. */
/* cmocka.h needs these headers first */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include "rand.h"
#include "timefmt.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int setup(void **state)
{
    (void)state;
    return tg_rand_init();
}

static bool is_base62(char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z');
}

static void test_base62_alphabet_and_length(void **state)
{
    (void)state;
    bool seen[256] = {false};
    char out[65];
    for (int round = 0; round < 200; round++) {
        memset(out, 'X', sizeof out);
        rand_base62(out, 64);
        assert_int_equal(strlen(out), 64);
        for (int i = 0; i < 64; i++) {
            assert_true(is_base62(out[i]));
            seen[(unsigned char)out[i]] = true;
        }
    }
    /* 12800 draws: every one of the 62 characters shows up */
    int distinct = 0;
    for (int i = 0; i < 256; i++)
        distinct += seen[i];
    assert_int_equal(distinct, 62);
}

static void test_base62_lengths(void **state)
{
    (void)state;
    char out[12];
    memset(out, 'X', sizeof out);
    rand_base62(out, 0);
    assert_string_equal(out, "");
    memset(out, 'X', sizeof out);
    rand_base62(out, 10);
    assert_int_equal(strlen(out), 10);
    assert_int_equal(out[11], 'X'); /* nothing written past n + 1 */
}

static void test_base62_differs(void **state)
{
    (void)state;
    char a[33], b[33];
    rand_base62(a, 32);
    rand_base62(b, 32);
    assert_string_not_equal(a, b);
}

static void test_uuid_v7_format(void **state)
{
    (void)state;
    for (int round = 0; round < 100; round++) {
        char u[UUID_STR_LEN];
        uuid_v7(u);
        assert_int_equal(strlen(u), 36);
        assert_true(uuid_is_valid(u));
        for (int i = 0; i < 36; i++) {
            if (i == 8 || i == 13 || i == 18 || i == 23)
                assert_int_equal(u[i], '-');
            else
                assert_true(isdigit((unsigned char)u[i]) || (u[i] >= 'a' && u[i] <= 'f'));
        }
        assert_int_equal(u[14], '7');           /* version 7 */
        assert_non_null(strchr("89ab", u[19])); /* variant 10xx */
    }
}

static uint64_t uuid_ms(const char *u)
{
    char hex[13];
    memcpy(hex, u, 8);
    memcpy(hex + 8, u + 9, 4);
    hex[12] = '\0';
    return strtoull(hex, NULL, 16);
}

static void test_uuid_v7_timestamp(void **state)
{
    (void)state;
    int64_t before = time_now_ms();
    char u[UUID_STR_LEN];
    uuid_v7(u);
    int64_t after = time_now_ms();
    uint64_t ms = uuid_ms(u);
    assert_true(ms >= (uint64_t)before);
    assert_true(ms <= (uint64_t)after);
}

static void test_uuid_v7_time_ordered(void **state)
{
    (void)state;
    char prev[UUID_STR_LEN], cur[UUID_STR_LEN];
    uuid_v7(prev);
    for (int i = 0; i < 5; i++) {
        struct timespec ts = {0, 2 * 1000 * 1000};
        nanosleep(&ts, NULL);
        uuid_v7(cur);
        if (strcmp(prev, cur) >= 0)
            fail_msg("%s should sort before %s", prev, cur);
        memcpy(prev, cur, sizeof prev);
    }
}

static void test_uuid_v7_unique(void **state)
{
    (void)state;
    enum { N = 1000 };
    static char ids[N][UUID_STR_LEN];
    for (int i = 0; i < N; i++)
        uuid_v7(ids[i]);
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++)
            assert_string_not_equal(ids[i], ids[j]);
}

static void test_uuid_is_valid(void **state)
{
    (void)state;
    assert_true(uuid_is_valid("018bac1e-c6a0-79f7-ba86-2627de3e0196"));
    assert_true(uuid_is_valid("9a8fe55d-b11c-4d0f-b4f2-6c6e7801da65")); /* v4 from the seed */
    assert_true(uuid_is_valid("018BAC1E-C6A0-79F7-BA86-2627DE3E0196"));
    assert_true(uuid_is_valid("00000000-0000-0000-0000-000000000000"));
    assert_false(uuid_is_valid(NULL));
    assert_false(uuid_is_valid(""));
    assert_false(uuid_is_valid("not-a-uuid"));
    assert_false(uuid_is_valid("018bac1e-c6a0-79f7-ba86-2627de3e019"));   /* short */
    assert_false(uuid_is_valid("018bac1e-c6a0-79f7-ba86-2627de3e01966")); /* long */
    assert_false(uuid_is_valid("018bac1ec6a0-79f7-ba86-2627de3e01966"));  /* dash moved */
    assert_false(uuid_is_valid("018bac1e-c6a0-79f7-ba86_2627de3e0196"));
    assert_false(uuid_is_valid("018bac1g-c6a0-79f7-ba86-2627de3e0196"));
    assert_false(uuid_is_valid("{18bac1e-c6a0-79f7-ba86-2627de3e019}"));
    assert_false(uuid_is_valid("018bac1e-c6a0-79f7-ba86-2627de3e019 "));
    assert_false(uuid_is_valid("018bac1ec6a079f7ba862627de3e0196"));
    assert_false(uuid_is_valid("../../etc/passwd-0000-0000-00000000"));
}

static void test_rand_range(void **state)
{
    (void)state;
    bool seen[6] = {false};
    for (int i = 0; i < 1000; i++) {
        uint32_t v = rand_range(10, 15);
        assert_true(v >= 10 && v <= 15);
        seen[v - 10] = true;
    }
    for (int i = 0; i < 6; i++)
        assert_true(seen[i]);
    assert_int_equal(rand_range(7, 7), 7);
    assert_int_equal(rand_range(9, 3), 9); /* hi <= lo gives lo */
    uint32_t v = rand_range(0, UINT32_MAX - 1);
    assert_true(v <= UINT32_MAX - 1);
}

/* The full 32-bit range: hi - lo + 1 wraps to 0, which must not collapse to lo. */
static void test_rand_range_full(void **state)
{
    (void)state;
    int nonzero = 0, high = 0;
    for (int i = 0; i < 64; i++) {
        uint32_t v = rand_range(0, UINT32_MAX);
        nonzero += v != 0;
        high += v >= 0x80000000u;
    }
    assert_true(nonzero > 60);
    assert_true(high > 0 && high < 64);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base62_alphabet_and_length),
        cmocka_unit_test(test_base62_lengths),
        cmocka_unit_test(test_base62_differs),
        cmocka_unit_test(test_uuid_v7_format),
        cmocka_unit_test(test_uuid_v7_timestamp),
        cmocka_unit_test(test_uuid_v7_time_ordered),
        cmocka_unit_test(test_uuid_v7_unique),
        cmocka_unit_test(test_uuid_is_valid),
        cmocka_unit_test(test_rand_range),
        cmocka_unit_test(test_rand_range_full),
    };
    return cmocka_run_group_tests_name("common_rand", tests, setup, NULL);
}
