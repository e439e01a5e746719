/* test_utf8.c - UTF-8 validation and U+FFFD sanitising (security-review F15). */
/* cmocka.h needs these headers first */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include "utf8.h"

#include <stdlib.h>

static void test_valid(void **state)
{
    (void)state;
    assert_true(utf8_valid(""));
    assert_true(utf8_valid("router-1"));
    assert_true(utf8_valid("K\xc3\xb6ln \xe2\x82\xac \xf0\x9f\x98\x80"));
    assert_false(utf8_valid("\xff\xfe"));
    assert_false(utf8_valid("\xc0\xaf"));         /* overlong '/' */
    assert_false(utf8_valid("\xed\xa0\x80"));     /* surrogate */
    assert_false(utf8_valid("\xf4\x90\x80\x80")); /* beyond U+10FFFF */
    assert_false(utf8_valid("ab\xc3"));           /* cut sequence */
}

static void test_sanitize(void **state)
{
    (void)state;
    char *s = utf8_sanitize("id\xff\xfe-\xc3\xb6");
    assert_string_equal(s, "id\xef\xbf\xbd\xef\xbf\xbd-\xc3\xb6");
    assert_true(utf8_valid(s));
    free(s);
    s = utf8_sanitize("ab\xc3");
    assert_string_equal(s, "ab\xef\xbf\xbd");
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_sanitize),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
