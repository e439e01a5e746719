/* test_edge_role.c - the pure part of the edge role's reconcile: which grants to open, keep, close.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* clang-format off: cmocka.h needs the headers above */
#include <cmocka.h>
/* clang-format on */

#include "clock.h"
#include "edge_role.h"

static void test_empty(void **state)
{
    (void)state;
    edge_role_diff(NULL, 0, NULL, 0, NULL, NULL);
    const char *live[] = {"a", "b"};
    size_t match[2] = {7, 7};
    edge_role_diff(live, 2, NULL, 0, match, NULL);
    assert_int_equal(match[0], SIZE_MAX);
    assert_int_equal(match[1], SIZE_MAX);
    const char *open[] = {"a"};
    bool close[1] = {false};
    edge_role_diff(NULL, 0, open, 1, NULL, close);
    assert_true(close[0]);
}

static void test_open_keep_close(void **state)
{
    (void)state;
    const char *live[] = {"g-new", "g-kept-2", "g-kept-1"};
    const char *open[] = {"g-kept-1", "g-gone", "g-kept-2"};
    size_t match[3];
    bool close[3];
    memset(close, 0, sizeof close);
    edge_role_diff(live, 3, open, 3, match, close);
    assert_int_equal(match[0], SIZE_MAX); /* to open */
    assert_int_equal(match[1], 2);        /* open[2] */
    assert_int_equal(match[2], 0);        /* open[0] */
    assert_false(close[0]);
    assert_true(close[1]); /* no longer live */
    assert_false(close[2]);
}

/* Ids are compared as whole strings: a prefix or a longer id is another grant. */
static void test_whole_ids(void **state)
{
    (void)state;
    const char *live[] = {"0190f3a2-7c4e-7000-8000-00000000000",
                          "0190f3a2-7c4e-7000-8000-0000000000001"};
    const char *open[] = {"0190f3a2-7c4e-7000-8000-000000000000"};
    size_t match[2];
    bool close[1];
    edge_role_diff(live, 2, open, 1, match, close);
    assert_int_equal(match[0], SIZE_MAX);
    assert_int_equal(match[1], SIZE_MAX);
    assert_true(close[0]);
}

/*
 * 20 000 open grants (a whole port range), UUIDv7-like ids sharing a long prefix; the
 * store drops every third one and adds 5 000 new ones. Checked against the obvious O(n*m)
 * answer on a sample (the nested strcmp loop reconcile used to run in full: ~4*10^8
 * comparisons for this case, every 250 ms).
 */
static void test_large_against_model(void **state)
{
    (void)state;
    enum { NOPEN = 20000, NNEW = 5000 };
    char(*ids)[40] = calloc(NOPEN + NNEW, sizeof *ids);
    for (size_t i = 0; i < NOPEN + NNEW; i++)
        snprintf(ids[i], sizeof ids[i], "0190f3a2-7c4e-7%03zx-8000-%012zx", i % 4096, i);
    const char **open = calloc(NOPEN, sizeof *open);
    const char **live = calloc(NOPEN + NNEW, sizeof *live);
    size_t nlive = 0;
    for (size_t i = 0; i < NOPEN; i++)
        open[i] = ids[i];
    for (size_t i = NOPEN + NNEW; i-- > 0;) /* another order than open's */
        if (i >= NOPEN || i % 3 != 0)
            live[nlive++] = ids[i];
    size_t *match = calloc(nlive, sizeof *match);
    bool *close = calloc(NOPEN, sizeof *close);
    int64_t t0 = clock_mono_us();
    edge_role_diff(live, nlive, open, NOPEN, match, close);
    print_message("      diff of %zu live x %d open ids: %.2f ms\n", nlive, NOPEN,
                  (double)(clock_mono_us() - t0) / 1000);
    for (size_t i = 0; i < nlive; i++) {
        size_t idx = (size_t)(live[i] - ids[0]) / sizeof ids[0];
        if (idx >= NOPEN)
            assert_int_equal(match[i], SIZE_MAX);
        else
            assert_int_equal(match[i], idx);
    }
    for (size_t k = 0; k < NOPEN; k++)
        assert_int_equal(close[k], k % 3 == 0);
    /* the brute-force answer agrees on a sample */
    for (size_t i = 0; i < nlive; i += 97) {
        size_t want = SIZE_MAX;
        for (size_t k = 0; k < NOPEN; k++)
            if (strcmp(live[i], open[k]) == 0)
                want = k;
        assert_int_equal(match[i], want);
    }
    free(close);
    free(match);
    free(live);
    free(open);
    free(ids);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_open_keep_close),
        cmocka_unit_test(test_whole_ids),
        cmocka_unit_test(test_large_against_model),
    };
    return cmocka_run_group_tests_name("daemon_edge_role", tests, NULL, NULL);
}
