/* test_idhash.c - the intrusive id hash: find, insert, remove, growth, walks. */
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

#include "idhash.h"

struct item {
    char id[40];
    struct idhash_node hn;
};

#define ITEM(n) ((struct item *)(void *)((char *)(n)-offsetof(struct item, hn)))

static struct item *items(size_t n)
{
    struct item *it = calloc(n, sizeof *it);
    for (size_t i = 0; i < n; i++) {
        /* UUIDv7-like: a long shared prefix, as the grant ids have */
        snprintf(it[i].id, sizeof it[i].id, "0190f3a2-7c4e-7000-8000-%012zx", i);
        it[i].hn.id = it[i].id;
    }
    return it;
}

static void test_fnv1a(void **state)
{
    (void)state;
    /* FNV-1a steps from the edge's offset basis 1469598103934665603 (see idhash.h) */
    assert_true(idhash_str("") == (size_t)0x14650fb0739d0383ULL);
    assert_true(idhash_str("a") == (size_t)0x44bd8ad473cd9906ULL);
    assert_true(idhash_str("foobar") == (size_t)0x88fad7c0a8ff07f2ULL);
}

static void test_insert_find_remove(void **state)
{
    (void)state;
    struct idhash h;
    idhash_init(&h, 0);
    assert_int_equal(h.nbuckets, 8);
    struct item *it = items(3);
    assert_null(idhash_find(&h, it[0].id));
    for (int i = 0; i < 3; i++)
        idhash_insert(&h, &it[i].hn);
    assert_int_equal(h.n, 3);
    for (int i = 0; i < 3; i++)
        assert_ptr_equal(idhash_find(&h, it[i].id), &it[i].hn);
    assert_null(idhash_find(&h, "nope"));
    idhash_remove(&h, &it[1].hn);
    assert_int_equal(h.n, 2);
    assert_null(idhash_find(&h, it[1].id));
    assert_ptr_equal(idhash_find(&h, it[2].id), &it[2].hn);
    idhash_remove(&h, &it[1].hn); /* not linked any more: nothing */
    assert_int_equal(h.n, 2);
    struct item zeroed = {.id = "z"};
    zeroed.hn.id = zeroed.id;
    idhash_remove(&h, &zeroed.hn); /* never linked: nothing */
    assert_int_equal(h.n, 2);
    idhash_release(&h);
    free(it);
}

static void test_init_rounds_up(void **state)
{
    (void)state;
    struct idhash h;
    idhash_init(&h, 100);
    assert_int_equal(h.nbuckets, 128);
    idhash_release(&h);
    idhash_init(&h, 64);
    assert_int_equal(h.nbuckets, 64);
    idhash_release(&h);
}

/* 20 000 ids (the size of a grant port range): growth keeps every id findable. */
static void test_growth(void **state)
{
    (void)state;
    enum { N = 20000 };
    struct idhash h;
    idhash_init(&h, 8);
    struct item *it = items(N);
    for (size_t i = 0; i < N; i++) {
        idhash_insert(&h, &it[i].hn);
        assert_true(h.n <= h.nbuckets);
    }
    assert_int_equal(h.n, N);
    assert_int_equal(h.nbuckets, 32768);
    for (size_t i = 0; i < N; i++)
        assert_ptr_equal(idhash_find(&h, it[i].id), &it[i].hn);
    for (size_t i = 0; i < N; i += 2)
        idhash_remove(&h, &it[i].hn);
    for (size_t i = 0; i < N; i++)
        assert_true((idhash_find(&h, it[i].id) != NULL) == (i % 2 == 1));
    idhash_release(&h);
    free(it);
}

static void test_walk_and_scan(void **state)
{
    (void)state;
    enum { N = 300 };
    struct idhash h;
    idhash_init(&h, 8);
    assert_null(idhash_next(&h, NULL));
    size_t pos = 0;
    assert_null(idhash_scan(&h, &pos));
    struct item *it = items(N);
    for (size_t i = 0; i < N; i++)
        idhash_insert(&h, &it[i].hn);

    /* a walk visits each node once */
    bool seen[N] = {false};
    size_t count = 0;
    for (struct idhash_node *n = idhash_next(&h, NULL); n; n = idhash_next(&h, n)) {
        size_t i = (size_t)(ITEM(n) - it);
        assert_false(seen[i]);
        seen[i] = true;
        count++;
    }
    assert_int_equal(count, N);

    /* a draining scan removes everything */
    pos = 0;
    count = 0;
    struct idhash_node *n;
    while ((n = idhash_scan(&h, &pos))) {
        idhash_remove(&h, n);
        count++;
    }
    assert_int_equal(count, N);
    assert_int_equal(h.n, 0);
    assert_null(idhash_next(&h, NULL));
    idhash_release(&h);
    free(it);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fnv1a),          cmocka_unit_test(test_insert_find_remove),
        cmocka_unit_test(test_init_rounds_up), cmocka_unit_test(test_growth),
        cmocka_unit_test(test_walk_and_scan),
    };
    return cmocka_run_group_tests_name("common_idhash", tests, NULL, NULL);
}
