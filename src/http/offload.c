/*
 * offload.c - the request pool of offload.h: a ring of work items under one mutex, and
 * workers that take them in order.
 */
#include "offload.h"

#include "alloc.h"
#include "clock.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

struct work {
    void (*fn)(void *arg);
    void *arg;
};

struct http_offload {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* work queued, or stopping */
    struct work *ring; /* under mu: cap items, n of them from head */
    unsigned cap, head, n;
    unsigned reserved; /* under mu: places taken by reserve(), not yet filled */
    bool stopping;     /* under mu */
    pthread_t *threads;
    unsigned n_threads; /* started */
};

static void *worker_main(void *arg)
{
    struct http_offload *o = arg;
    pthread_mutex_lock(&o->mu);
    for (;;) {
        while (!o->n && (!o->stopping || o->reserved))
            pthread_cond_wait(&o->cv, &o->mu);
        if (!o->n)
            break; /* stopping, and nothing queued or reserved */
        struct work w = o->ring[o->head];
        o->head = (o->head + 1) % o->cap;
        o->n--;
        pthread_mutex_unlock(&o->mu);
        w.fn(w.arg);
        pthread_mutex_lock(&o->mu);
    }
    pthread_mutex_unlock(&o->mu);
    return NULL;
}

int http_offload_start(unsigned threads, unsigned queue_cap, struct http_offload **ret)
{
    if (!threads || !queue_cap)
        return -EINVAL;
    struct http_offload *o = xcalloc(1, sizeof *o);
    int r = -pthread_mutex_init(&o->mu, NULL);
    if (r < 0)
        goto out_free;
    r = clock_cond_init(&o->cv);
    if (r < 0)
        goto out_destroy_mu;
    o->cap = queue_cap;
    o->ring = xcalloc(queue_cap, sizeof *o->ring);
    o->threads = xcalloc(threads, sizeof *o->threads);
    for (; o->n_threads < threads; o->n_threads++) {
        r = -pthread_create(&o->threads[o->n_threads], NULL, worker_main, o);
        if (r < 0)
            goto out_stop;
    }
    *ret = o;
    return 0;

out_stop:
    http_offload_drain(o); /* joins the ones that started */
    http_offload_free(o);
    return r;
out_destroy_mu:
    pthread_mutex_destroy(&o->mu);
out_free:
    free(o);
    return r;
}

bool http_offload_reserve(struct http_offload *o)
{
    pthread_mutex_lock(&o->mu);
    bool ok = !o->stopping && o->n + o->reserved < o->cap;
    if (ok)
        o->reserved++;
    pthread_mutex_unlock(&o->mu);
    return ok;
}

void http_offload_submit(struct http_offload *o, void (*fn)(void *arg), void *arg)
{
    pthread_mutex_lock(&o->mu);
    o->reserved--;
    o->ring[(o->head + o->n) % o->cap] = (struct work){fn, arg};
    o->n++;
    if (o->stopping)
        pthread_cond_broadcast(&o->cv); /* the idle workers wait for the last reservation */
    else
        pthread_cond_signal(&o->cv);
    pthread_mutex_unlock(&o->mu);
}

void http_offload_drain(struct http_offload *o)
{
    pthread_mutex_lock(&o->mu);
    o->stopping = true;
    pthread_cond_broadcast(&o->cv);
    pthread_mutex_unlock(&o->mu);
    for (unsigned i = 0; i < o->n_threads; i++)
        pthread_join(o->threads[i], NULL);
    o->n_threads = 0;
}

void http_offload_free(struct http_offload *o)
{
    if (!o)
        return;
    pthread_cond_destroy(&o->cv);
    pthread_mutex_destroy(&o->mu);
    free(o->threads);
    free(o->ring);
    free(o);
}
