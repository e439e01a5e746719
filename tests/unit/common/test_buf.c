/* test_buf.c - struct buf: hard cap, printf, consume, steal. */
/* cmocka.h needs these headers first */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include "buf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void test_init_empty(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 16);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 16);
    buf_release(&b);
    buf_release(&b); /* twice is fine */
}

static void test_append_nul_terminated(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 64);
    assert_int_equal(buf_append(&b, "abc", 3), 0);
    assert_int_equal(buf_append_str(&b, "def"), 0);
    assert_int_equal(b.len, 6);
    assert_string_equal(b.data, "abcdef");
    assert_int_equal(buf_append(&b, "", 0), 0);
    assert_int_equal(b.len, 6);
    /* binary data with an embedded NUL */
    assert_int_equal(buf_append(&b, "x\0y", 3), 0);
    assert_int_equal(b.len, 9);
    assert_memory_equal(b.data + 6, "x\0y", 3);
    assert_int_equal(b.data[9], '\0');
    buf_release(&b);
}

static void test_cap_exact_then_e2big_unchanged(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 8);
    assert_int_equal(buf_append_str(&b, "12345"), 0);
    assert_int_equal(buf_append_str(&b, "678"), 0); /* exactly at the cap */
    assert_int_equal(b.len, 8);
    assert_string_equal(b.data, "12345678");
    assert_true(b.alloc <= 9);
    assert_int_equal(buf_append_str(&b, "9"), -E2BIG);
    assert_int_equal(b.len, 8);
    assert_string_equal(b.data, "12345678");
    assert_int_equal(buf_append(&b, "", 0), 0); /* zero bytes still fit */
    buf_release(&b);
}

static void test_cap_single_oversized_append(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 4);
    assert_int_equal(buf_append_str(&b, "ab"), 0);
    assert_int_equal(buf_append_str(&b, "cde"), -E2BIG);
    assert_int_equal(b.len, 2);
    assert_string_equal(b.data, "ab");
    /* a size that would overflow len + n */
    assert_int_equal(buf_append(&b, "x", SIZE_MAX), -E2BIG);
    assert_int_equal(b.len, 2);
    buf_release(&b);
}

static void test_cap_zero(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(buf_append(&b, "", 0), 0);
    assert_non_null(b.data);
    assert_string_equal(b.data, "");
    assert_int_equal(buf_append_str(&b, "a"), -E2BIG);
    assert_int_equal(b.len, 0);
    buf_release(&b);
}

static void test_growth_large(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 100000);
    for (int i = 0; i < 10000; i++)
        assert_int_equal(buf_append_str(&b, "0123456789"), 0);
    assert_int_equal(b.len, 100000);
    assert_int_equal(buf_append_str(&b, "x"), -E2BIG);
    for (size_t i = 0; i < b.len; i++)
        assert_int_equal(b.data[i], '0' + (int)(i % 10));
    assert_int_equal(b.data[b.len], '\0');
    buf_release(&b);
}

static void test_printf(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 32);
    assert_int_equal(buf_printf(&b, "%s=%d", "port", 8291), 0);
    assert_int_equal(buf_printf(&b, ";%c", 'x'), 0);
    assert_string_equal(b.data, "port=8291;x");
    assert_int_equal(b.len, strlen("port=8291;x"));
    assert_int_equal(buf_printf(&b, "%s", ""), 0);
    assert_int_equal(b.len, 11);
    buf_release(&b);
}

static void test_printf_over_cap_unchanged(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 10);
    assert_int_equal(buf_printf(&b, "%d", 12345), 0);
    assert_int_equal(buf_printf(&b, "%s", "abcdef"), -E2BIG);
    assert_int_equal(b.len, 5);
    assert_string_equal(b.data, "12345");
    assert_int_equal(buf_printf(&b, "%s", "abcde"), 0);
    assert_string_equal(b.data, "12345abcde");
    buf_release(&b);
}

static void test_reset_keeps_memory(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 64);
    buf_reset(&b); /* on an empty buffer */
    assert_int_equal(buf_append_str(&b, "hello"), 0);
    char *before = b.data;
    size_t alloc = b.alloc;
    buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_ptr_equal(b.data, before);
    assert_int_equal(b.alloc, alloc);
    assert_string_equal(b.data, "");
    buf_release(&b);
}

static void test_consume(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 64);
    buf_consume(&b, 0); /* empty, no data */
    assert_int_equal(buf_append_str(&b, "abcdef"), 0);
    buf_consume(&b, 0);
    assert_string_equal(b.data, "abcdef");
    buf_consume(&b, 2);
    assert_int_equal(b.len, 4);
    assert_string_equal(b.data, "cdef");
    buf_consume(&b, 4);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    assert_int_equal(buf_append_str(&b, "xy"), 0);
    buf_consume(&b, 100); /* more than len empties */
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    buf_release(&b);
}

static void test_consume_frees_cap_room(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 4);
    assert_int_equal(buf_append_str(&b, "abcd"), 0);
    assert_int_equal(buf_append_str(&b, "e"), -E2BIG);
    buf_consume(&b, 1);
    assert_int_equal(buf_append_str(&b, "e"), 0);
    assert_string_equal(b.data, "bcde");
    buf_release(&b);
}

static void test_steal(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 64);
    assert_int_equal(buf_append_str(&b, "owned"), 0);
    char *s = buf_steal(&b);
    assert_string_equal(s, "owned");
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.alloc, 0);
    assert_int_equal(b.cap, 64); /* the cap survives: the buffer is reusable */
    free(s);
    assert_int_equal(buf_append_str(&b, "again"), 0);
    assert_string_equal(b.data, "again");
    buf_release(&b);
}

static void test_steal_empty_never_null(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 8);
    char *s = buf_steal(&b);
    assert_non_null(s);
    assert_string_equal(s, "");
    free(s);
    buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_empty),
        cmocka_unit_test(test_append_nul_terminated),
        cmocka_unit_test(test_cap_exact_then_e2big_unchanged),
        cmocka_unit_test(test_cap_single_oversized_append),
        cmocka_unit_test(test_cap_zero),
        cmocka_unit_test(test_growth_large),
        cmocka_unit_test(test_printf),
        cmocka_unit_test(test_printf_over_cap_unchanged),
        cmocka_unit_test(test_reset_keeps_memory),
        cmocka_unit_test(test_consume),
        cmocka_unit_test(test_consume_frees_cap_room),
        cmocka_unit_test(test_steal),
        cmocka_unit_test(test_steal_empty_never_null),
    };
    return cmocka_run_group_tests_name("common_buf", tests, NULL, NULL);
}
