/*
 * clock.h - the process's clocks, in one place.
 *
 * Two clocks, never mixed:
 * - monotonic (CLOCK_MONOTONIC): intervals, timeouts, deadlines of waits.
 *   Unaffected by the wall clock being set; meaningless across processes.
 * - real (CLOCK_REALTIME): Unix time, for what is stored or shown
 *   (expires_at, connection start/end). It can jump.
 *
 * A thread that waits for a condition with a timeout uses a condition
 * variable made by clock_cond_init() (it waits on CLOCK_MONOTONIC) and a
 * deadline from clock_mono_*() turned into a struct timespec by
 * clock_timespec_ms()/clock_timespec_ns(), so a clock step neither stretches
 * nor shortens the wait.
 */
#ifndef TG_CLOCK_H
#define TG_CLOCK_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

/* Monotonic time in ns / us / ms since an arbitrary start (boot). Inline: the
 * edge's loop reads the clock on every iteration. */
static inline int64_t clock_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline int64_t clock_mono_us(void)
{
    return clock_mono_ns() / 1000;
}

static inline int64_t clock_mono_ms(void)
{
    return clock_mono_ns() / 1000000;
}

/* Wall-clock time in Unix milliseconds. */
static inline int64_t clock_real_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A time in ms (resp. ns) as a struct timespec, e.g. a monotonic deadline for
 * pthread_cond_timedwait() on a condition variable from clock_cond_init().
 * Negative values are clamped to 0. */
struct timespec clock_timespec_ms(int64_t ms);
struct timespec clock_timespec_ns(int64_t ns);

/* pthread_cond_init() with CLOCK_MONOTONIC as the clock of timed waits.
 * Returns 0 or -errno (of pthread_condattr_init, _setclock or pthread_cond_init). */
int clock_cond_init(pthread_cond_t *cv);

/* Waits on cv (made by clock_cond_init(), mu held) until woken or until the
 * monotonic time deadline_ms. Returns 0 when woken (possibly spuriously) or
 * -ETIMEDOUT. */
int clock_cond_wait_until_ms(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t deadline_ms);

#endif
