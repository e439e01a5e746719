/* test_clock.c - the monotonic and real clocks, timespec conversion, monotonic condvars. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
/* clang-format off: cmocka.h needs the headers above */
#include <cmocka.h>
/* clang-format on */

#include "clock.h"

static void test_units_agree(void **state)
{
    (void)state;
    int64_t ns = clock_mono_ns();
    int64_t us = clock_mono_us();
    int64_t ms = clock_mono_ms();
    int64_t ns2 = clock_mono_ns();
    assert_true(ns2 >= ns);
    assert_true(us >= ns / 1000 && us <= ns2 / 1000);
    assert_true(ms >= ns / 1000000 && ms <= ns2 / 1000000);
}

static void test_mono_never_goes_back(void **state)
{
    (void)state;
    int64_t prev = clock_mono_ns();
    for (int i = 0; i < 10000; i++) {
        int64_t t = clock_mono_ns();
        assert_true(t >= prev);
        prev = t;
    }
}

static void test_real_is_unix_ms(void **state)
{
    (void)state;
    int64_t before = (int64_t)time(NULL) * 1000;
    int64_t ms = clock_real_ms();
    int64_t after = (int64_t)time(NULL) * 1000 + 1000;
    assert_true(ms >= before - 1000 && ms <= after);
    assert_true(ms > 1600000000000LL); /* after September 2020 */
}

static void test_timespec(void **state)
{
    (void)state;
    struct timespec ts = clock_timespec_ms(1234567);
    assert_int_equal(ts.tv_sec, 1234);
    assert_int_equal(ts.tv_nsec, 567000000);
    ts = clock_timespec_ns(5000000123LL);
    assert_int_equal(ts.tv_sec, 5);
    assert_int_equal(ts.tv_nsec, 123);
    ts = clock_timespec_ms(999);
    assert_int_equal(ts.tv_sec, 0);
    assert_int_equal(ts.tv_nsec, 999000000);
    ts = clock_timespec_ms(-5);
    assert_int_equal(ts.tv_sec, 0);
    assert_int_equal(ts.tv_nsec, 0);
    ts = clock_timespec_ns(-1);
    assert_int_equal(ts.tv_sec, 0);
    assert_int_equal(ts.tv_nsec, 0);
}

/* A monotonic condvar times out at the monotonic deadline, not earlier, not much later. */
static void test_cond_wait_until(void **state)
{
    (void)state;
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t cv;
    assert_int_equal(clock_cond_init(&cv), 0);
    pthread_mutex_lock(&mu);
    int64_t t0 = clock_mono_ms();
    int64_t deadline = t0 + 50;
    int r;
    while ((r = clock_cond_wait_until_ms(&cv, &mu, deadline)) == 0)
        ; /* spurious wake-ups */
    int64_t t1 = clock_mono_ms();
    pthread_mutex_unlock(&mu);
    assert_int_equal(r, -ETIMEDOUT);
    assert_true(t1 >= deadline);
    assert_true(t1 < deadline + 1000);

    /* a deadline in the past returns at once */
    pthread_mutex_lock(&mu);
    t0 = clock_mono_ms();
    assert_int_equal(clock_cond_wait_until_ms(&cv, &mu, t0 - 10), -ETIMEDOUT);
    assert_true(clock_mono_ms() - t0 < 100);
    pthread_mutex_unlock(&mu);
    pthread_cond_destroy(&cv);
}

struct waker {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int flag;
};

static void *wake_later(void *arg)
{
    struct waker *w = arg;
    struct timespec d = {0, 20 * 1000000};
    nanosleep(&d, NULL);
    pthread_mutex_lock(&w->mu);
    w->flag = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

static void test_cond_woken_before_deadline(void **state)
{
    (void)state;
    struct waker w = {.mu = PTHREAD_MUTEX_INITIALIZER};
    assert_int_equal(clock_cond_init(&w.cv), 0);
    pthread_t th;
    int64_t t0 = clock_mono_ms();
    pthread_mutex_lock(&w.mu);
    assert_int_equal(pthread_create(&th, NULL, wake_later, &w), 0);
    int r = 0;
    while (!w.flag && r == 0)
        r = clock_cond_wait_until_ms(&w.cv, &w.mu, t0 + 10000);
    pthread_mutex_unlock(&w.mu);
    pthread_join(th, NULL);
    assert_int_equal(r, 0);
    assert_int_equal(w.flag, 1);
    assert_true(clock_mono_ms() - t0 < 5000);
    pthread_cond_destroy(&w.cv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_units_agree),     cmocka_unit_test(test_mono_never_goes_back),
        cmocka_unit_test(test_real_is_unix_ms), cmocka_unit_test(test_timespec),
        cmocka_unit_test(test_cond_wait_until), cmocka_unit_test(test_cond_woken_before_deadline),
    };
    return cmocka_run_group_tests_name("common_clock", tests, NULL, NULL);
}
