/* Unit tests for src/daemon/fdlimit.c: the open-files limit and the edge's share of it. */
/* cmocka.h needs these headers first */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include "fdlimit.h"

#include <sys/resource.h>

static void test_edge_conns(void **state)
{
    (void)state;
    assert_int_equal(fdlimit_edge_conns(1024, 1024), 16);   /* nothing left: the floor */
    assert_int_equal(fdlimit_edge_conns(100, 1024), 16);    /* below the reserve */
    assert_int_equal(fdlimit_edge_conns(4096, 1024), 1536); /* (4096 - 1024) / 2 */
    /* this workplace's hard limit, with the HTTP server's default cap (16384) reserved too */
    assert_int_equal(fdlimit_edge_conns(20000, 1024 + 16384), 1296);
    assert_int_equal(fdlimit_edge_conns(65536, 1024 + 16384), 16384); /* the cap */
    assert_int_equal(fdlimit_edge_conns(1048576, 1024), 16384);
}

static void test_raise(void **state)
{
    (void)state;
    struct rlimit before;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &before), 0);
    unsigned long now = fdlimit_raise();
    struct rlimit after;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &after), 0);
    assert_true(after.rlim_cur >= before.rlim_cur);
    assert_true(now == (unsigned long)after.rlim_cur || after.rlim_cur == RLIM_INFINITY);
    if (after.rlim_max != RLIM_INFINITY)
        assert_true(after.rlim_cur == after.rlim_max); /* raised to the hard limit */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edge_conns),
        cmocka_unit_test(test_raise),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
