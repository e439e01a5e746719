/* test_offload.c - the request pool of src/http/offload.h: order, the cap, draining. */
/* cmocka.h needs these headers first */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include "offload.h"

#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

static atomic_int ran;

static void count(void *arg)
{
    (void)arg;
    atomic_fetch_add(&ran, 1);
}

/* A gate a work item waits at until the test opens it. */
struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool open, entered;
};

static void wait_at_gate(void *arg)
{
    struct gate *g = arg;
    pthread_mutex_lock(&g->mu);
    g->entered = true;
    pthread_cond_broadcast(&g->cv);
    while (!g->open)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
    atomic_fetch_add(&ran, 1);
}

static void gate_init(struct gate *g)
{
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    g->open = g->entered = false;
}

static void gate_wait_entered(struct gate *g)
{
    pthread_mutex_lock(&g->mu);
    while (!g->entered)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}

static void gate_open(struct gate *g)
{
    pthread_mutex_lock(&g->mu);
    g->open = true;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

static void test_every_item_runs_before_drain_returns(void **state)
{
    (void)state;
    atomic_store(&ran, 0);
    struct http_offload *o;
    assert_int_equal(http_offload_start(4, 64, &o), 0);
    int queued = 0;
    for (int i = 0; i < 1000; i++) {
        if (!http_offload_reserve(o)) {
            usleep(100); /* full: the caller would run it itself; here, wait */
            i--;
            continue;
        }
        http_offload_submit(o, count, NULL);
        queued++;
    }
    http_offload_drain(o);
    assert_int_equal(atomic_load(&ran), queued);
    assert_false(http_offload_reserve(o)); /* drained: no more */
    http_offload_free(o);
}

static void test_reserve_says_no_when_full(void **state)
{
    (void)state;
    atomic_store(&ran, 0);
    struct gate g;
    gate_init(&g);
    struct http_offload *o;
    assert_int_equal(http_offload_start(1, 2, &o), 0);
    assert_true(http_offload_reserve(o));
    http_offload_submit(o, wait_at_gate, &g);
    gate_wait_entered(&g); /* the one worker holds it: the queue is empty again */
    assert_true(http_offload_reserve(o));
    http_offload_submit(o, count, NULL);
    assert_true(http_offload_reserve(o)); /* a reservation counts as a place */
    assert_false(http_offload_reserve(o));
    http_offload_submit(o, count, NULL);
    assert_false(http_offload_reserve(o));
    gate_open(&g);
    http_offload_drain(o);
    assert_int_equal(atomic_load(&ran), 3);
    http_offload_free(o);
}

struct drainer {
    struct http_offload *o;
    atomic_bool done;
};

static void *drain_main(void *arg)
{
    struct drainer *d = arg;
    http_offload_drain(d->o);
    atomic_store(&d->done, true);
    return NULL;
}

static void test_drain_waits_for_a_reservation(void **state)
{
    (void)state;
    atomic_store(&ran, 0);
    struct drainer d = {0};
    assert_int_equal(http_offload_start(3, 8, &d.o), 0);
    assert_true(http_offload_reserve(d.o)); /* (a connection being suspended) */
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, drain_main, &d), 0);
    usleep(50 * 1000);
    assert_false(atomic_load(&d.done));      /* the reserved item is still to come */
    assert_false(http_offload_reserve(d.o)); /* but nothing new */
    http_offload_submit(d.o, count, NULL);
    pthread_join(t, NULL); /* every worker ends, not only the one that ran it */
    assert_true(atomic_load(&d.done));
    assert_int_equal(atomic_load(&ran), 1);
    http_offload_free(d.o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_item_runs_before_drain_returns),
        cmocka_unit_test(test_reserve_says_no_when_full),
        cmocka_unit_test(test_drain_waits_for_a_reservation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
