/* The backend tables (store_ops.h): no entry of either is NULL. */
/* cmocka.h needs these headers first */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include "store_ops.h"

#include <errno.h>

static void check_table(const struct store_ops *ops)
{
    assert_non_null(ops->name);
    assert_non_null(ops->open);
    assert_non_null(ops->close);
#define CHECK(member) assert_non_null(ops->member);
    STORE_OPS_NAMES(CHECK)
#undef CHECK
}

static void test_sqlite_table_complete(void **state)
{
    (void)state;
    check_table(&store_sqlite_ops);
}

static void test_pg_table_complete(void **state)
{
    (void)state;
#ifdef TG_HAVE_POSTGRES
    check_table(&store_pg_ops);
#else
    skip();
#endif
}

static void test_unknown_scheme(void **state)
{
    (void)state;
    struct store *s = NULL;
    assert_int_equal(store_open("mysql://localhost/tg", "/nonexistent", &s), -EINVAL);
    assert_null(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sqlite_table_complete),
        cmocka_unit_test(test_pg_table_complete),
        cmocka_unit_test(test_unknown_scheme),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
