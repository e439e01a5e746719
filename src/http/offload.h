/*
 * offload.h - a fixed pool of threads for the requests that may wait (internal to src/http).
 *
 * MHD's thread pool gives each connection to one thread for its whole life, and that thread
 * serves its connections one after the other. A request that changes something waits for the
 * store's one writer (store/sqlite_writer.c): run on MHD's thread, it held every other
 * connection of that thread, reads included (bench/mixed.sh: reads p50 23 ms, p99 300 ms, while
 * the reads' own handlers took 0.14 / 5 ms; docs/benchmarks.md). server.c suspends such a
 * request's connection and hands the handler to this pool; MHD's threads go on with the others.
 *
 * The queue is bounded: http_offload_reserve() says no when it is full or the pool stops, and
 * the caller then runs the work itself (the old behaviour, as back-pressure). A place is
 * reserved before the connection is suspended and filled after, so that a worker can never
 * resume a connection that is not suspended yet.
 */
#ifndef TG_HTTP_OFFLOAD_H
#define TG_HTTP_OFFLOAD_H

#include <stdbool.h>

struct http_offload;

/* Starts threads workers (>= 1) over a queue of at most queue_cap items. 0 or -errno. */
int http_offload_start(unsigned threads, unsigned queue_cap, struct http_offload **ret);

/* Takes a place in the queue for one item; false when the queue is full or the pool stops. */
bool http_offload_reserve(struct http_offload *o);

/* Queues fn(arg) for a worker in the place reserve() took (never fails, even while stopping). */
void http_offload_submit(struct http_offload *o, void (*fn)(void *arg), void *arg);

/* Refuses new reservations (reserve() says no from now on), lets the workers finish everything
 * queued or reserved and joins them. o stays valid for reserve() until http_offload_free(). */
void http_offload_drain(struct http_offload *o);

/* Frees a drained pool (NULL: nothing). */
void http_offload_free(struct http_offload *o);

#endif
