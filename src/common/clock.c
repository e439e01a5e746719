#include "clock.h"

#include <errno.h>

struct timespec clock_timespec_ns(int64_t ns)
{
    if (ns < 0)
        ns = 0;
    struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000), .tv_nsec = (long)(ns % 1000000000)};
    return ts;
}

struct timespec clock_timespec_ms(int64_t ms)
{
    if (ms < 0)
        ms = 0;
    struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000};
    return ts;
}

int clock_cond_init(pthread_cond_t *cv)
{
    pthread_condattr_t ca;
    int r = pthread_condattr_init(&ca);
    if (r != 0)
        return -r;
    r = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (r == 0)
        r = pthread_cond_init(cv, &ca);
    pthread_condattr_destroy(&ca);
    return -r;
}

int clock_cond_wait_until_ms(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t deadline_ms)
{
    struct timespec ts = clock_timespec_ms(deadline_ms);
    return pthread_cond_timedwait(cv, mu, &ts) == ETIMEDOUT ? -ETIMEDOUT : 0;
}
