/* test_heap.c - the intrusive min-heap: order, indices, removal, update, against a model. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
/* clang-format off: cmocka.h needs the headers above */
#include <cmocka.h>
/* clang-format on */

#include "heap.h"

struct item {
    int tag;
    struct heap_node hn;
};

#define ITEM(n) ((struct item *)(void *)((char *)(n)-offsetof(struct item, hn)))

/* Every node's index is its slot, and no child is smaller than its parent. */
static void check_invariants(const struct heap *h)
{
    for (size_t i = 0; i < h->len; i++) {
        assert_int_equal(h->a[i]->idx, i);
        if (i > 0)
            assert_true(h->a[(i - 1) / 2]->key <= h->a[i]->key);
    }
}

static void test_empty(void **state)
{
    (void)state;
    struct heap h = HEAP_INIT;
    assert_null(heap_top(&h));
    struct heap_node n;
    heap_node_init(&n);
    assert_false(heap_node_queued(&n));
    heap_remove(&h, &n); /* not queued: nothing */
    heap_release(&h);
    heap_release(&h);
}

static void test_pops_in_order(void **state)
{
    (void)state;
    static const int64_t keys[] = {50, 10, 40, 10, 30, 20, 60, 0, -5, 25};
    enum { N = sizeof keys / sizeof keys[0] };
    struct item it[N];
    struct heap h = HEAP_INIT;
    for (int i = 0; i < N; i++) {
        it[i].tag = i;
        heap_node_init(&it[i].hn);
        it[i].hn.key = keys[i];
        heap_push(&h, &it[i].hn);
        assert_true(heap_node_queued(&it[i].hn));
        check_invariants(&h);
    }
    int64_t prev = INT64_MIN;
    for (int i = 0; i < N; i++) {
        struct heap_node *top = heap_top(&h);
        assert_non_null(top);
        assert_true(top->key >= prev);
        assert_int_equal(top->key, keys[ITEM(top)->tag]);
        prev = top->key;
        heap_remove(&h, top);
        assert_false(heap_node_queued(top));
        check_invariants(&h);
    }
    assert_null(heap_top(&h));
    heap_release(&h);
}

static void test_update_and_remove_middle(void **state)
{
    (void)state;
    struct item it[8];
    struct heap h = HEAP_INIT;
    for (int i = 0; i < 8; i++) {
        heap_node_init(&it[i].hn);
        it[i].tag = i;
        it[i].hn.key = (i + 1) * 10; /* 10 .. 80 */
        heap_push(&h, &it[i].hn);
    }
    heap_update(&h, &it[7].hn, 5); /* 80 -> 5: becomes the top */
    check_invariants(&h);
    assert_ptr_equal(heap_top(&h), &it[7].hn);
    heap_update(&h, &it[7].hn, 100); /* and back down to the bottom */
    check_invariants(&h);
    assert_ptr_equal(heap_top(&h), &it[0].hn);
    heap_update(&h, &it[0].hn, 45); /* top moves down */
    check_invariants(&h);
    assert_ptr_equal(heap_top(&h), &it[1].hn);
    heap_remove(&h, &it[3].hn); /* from the middle */
    heap_remove(&h, &it[3].hn); /* twice: nothing */
    check_invariants(&h);
    assert_int_equal(h.len, 7);
    static const int order[] = {1, 2, 0, 4, 5, 6, 7};
    for (size_t i = 0; i < 7; i++) {
        struct heap_node *top = heap_top(&h);
        assert_int_equal(ITEM(top)->tag, order[i]);
        heap_remove(&h, top);
    }
    heap_release(&h);
}

/* Random pushes, removals and updates against a brute-force model. */
static void test_random_against_model(void **state)
{
    (void)state;
    enum { N = 500 };
    struct item *it = calloc(N, sizeof *it);
    bool in[N] = {false};
    struct heap h = HEAP_INIT;
    srand(12345);
    for (int i = 0; i < N; i++) {
        it[i].tag = i;
        heap_node_init(&it[i].hn);
    }
    for (int step = 0; step < 20000; step++) {
        int i = rand() % N;
        int op = rand() % 4;
        if (!in[i]) {
            it[i].hn.key = rand() % 1000;
            heap_push(&h, &it[i].hn);
            in[i] = true;
        } else if (op == 0) {
            heap_remove(&h, &it[i].hn);
            in[i] = false;
        } else if (op == 1) {
            heap_update(&h, &it[i].hn, rand() % 1000);
        } else if (op == 2 && h.len) {
            struct heap_node *top = heap_top(&h);
            int64_t min = INT64_MAX;
            for (int k = 0; k < N; k++)
                if (in[k] && it[k].hn.key < min)
                    min = it[k].hn.key;
            assert_int_equal(top->key, min);
            heap_remove(&h, top);
            in[ITEM(top)->tag] = false;
        }
        if (step % 97 == 0)
            check_invariants(&h);
        size_t count = 0;
        for (int k = 0; k < N; k++)
            count += in[k];
        assert_int_equal(count, h.len);
    }
    check_invariants(&h);
    heap_release(&h);
    free(it);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_pops_in_order),
        cmocka_unit_test(test_update_and_remove_middle),
        cmocka_unit_test(test_random_against_model),
    };
    return cmocka_run_group_tests_name("common_heap", tests, NULL, NULL);
}
