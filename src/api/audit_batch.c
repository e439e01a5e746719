/*
 * audit_batch.c - audit entries written by a leader, many in one store transaction
 * (audit_batch.h).
 *
 * Each audited request writes its entry after its action (h_audit.c). One by one, every write
 * request took the store's writer twice, its action and its entry: under the mixed load of
 * bench/mixed.sh the entries were 1 860 of 4 555 holds of the SQLite writer in 3 s, with the
 * writer 65-80 % busy (docs/benchmarks.md, issue 13). Here a request queues its entry and
 * waits; a waiter that finds no leader in office becomes one, takes the queued entries of its
 * store (AUDIT_BATCH_MAX at most), writes them in one transaction and wakes their requests.
 * The entries that arrive meanwhile wait for the next leader, one of them. So the answer still
 * goes out only after its entry is committed (the durability rule of docs/API.md "Audit log"
 * is unchanged), and N concurrent entries cost one hold instead of N.
 *
 * A batch whose transaction fails is written again one entry at a time, so one bad entry
 * fails alone. Process-wide: one queue for every store (a leader takes only its own store's
 * entries; the others wait for a leader of theirs).
 */
#include "audit_batch.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#define AUDIT_BATCH_MAX 64

/* A queued entry: on its request's stack, from audit_batch_write's start to its return. */
struct queued {
    struct store *store;
    const struct audit_entry *entry;
    int result;
    bool done; /* under queue_mu */
    struct queued *next;
};

static pthread_mutex_t queue_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t queue_cond = PTHREAD_COND_INITIALIZER; /* a batch was written */
static struct queued *queue_head;
static bool leader_in_office;

/* Moves up to AUDIT_BATCH_MAX queued entries of store s into batch (under queue_mu). */
static size_t take_batch(struct store *s, struct queued **batch)
{
    size_t n = 0;
    for (struct queued **pp = &queue_head; *pp && n < AUDIT_BATCH_MAX;) {
        struct queued *q = *pp;
        if (q->store != s) {
            pp = &q->next;
            continue;
        }
        *pp = q->next;
        batch[n++] = q;
    }
    return n;
}

/* Writes the batch: one transaction, or each entry alone when that fails. */
static void write_batch(struct store *s, struct queued **batch, size_t n)
{
    int r = store_tx_begin(s);
    if (r == 0) {
        for (size_t i = 0; i < n && r == 0; i++)
            r = store_audit_insert(s, batch[i]->entry);
        r = store_tx_end(s, r);
    }
    for (size_t i = 0; i < n; i++)
        batch[i]->result = r == 0 || n == 1 ? r : store_audit_insert(s, batch[i]->entry);
}

int audit_batch_write(struct store *s, const struct audit_entry *e)
{
    struct queued me = {.store = s, .entry = e};
    struct queued *batch[AUDIT_BATCH_MAX];
    pthread_mutex_lock(&queue_mu);
    /* appended at the tail: a leader takes the oldest entries first */
    struct queued **tail = &queue_head;
    while (*tail)
        tail = &(*tail)->next;
    *tail = &me;
    while (!me.done) {
        if (leader_in_office) {
            pthread_cond_wait(&queue_cond, &queue_mu);
            continue;
        }
        leader_in_office = true;
        size_t n = take_batch(s, batch);
        pthread_mutex_unlock(&queue_mu);
        write_batch(s, batch, n); /* no lock of ours held across the store's writer */
        pthread_mutex_lock(&queue_mu);
        for (size_t i = 0; i < n; i++)
            batch[i]->done = true;
        leader_in_office = false;
        pthread_cond_broadcast(&queue_cond);
    }
    pthread_mutex_unlock(&queue_mu);
    return me.result;
}
