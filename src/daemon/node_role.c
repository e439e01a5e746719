/*
 * node_role.c - registration and the heartbeat thread (node_role.h).
 */
#include "node_role.h"

#include "alloc.h"
#include "clock.h"
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define MAX_HOOKS 4

struct node_role {
    struct store *store;
    struct store_node self;
    unsigned heartbeat_ms;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_mutex_t hooks_lock; /* held while the hooks run, and to change them */
    bool stopping;
    struct {
        node_role_beat_fn fn;
        void *ctx;
    } hooks[MAX_HOOKS];
    int nhooks;
    pthread_t thread;
};

/* One beat: the heartbeat, then the hooks (outside the lock: they talk to the store). */
static void beat(struct node_role *nr, bool *failing)
{
    int64_t now = 0;
    int r = store_node_heartbeat(nr->store, nr->self.name, &now);
    if (r == -ENOENT) /* removed behind our back: register again */
        r = store_node_register(nr->store, &nr->self);
    if (r < 0) {
        if (!*failing)
            log_warn("node", "node %s: heartbeat failed: %s", nr->self.name, strerror(-r));
        *failing = true;
        return;
    }
    if (*failing)
        log_info("node", "node %s: heartbeats again", nr->self.name);
    *failing = false;
    pthread_mutex_lock(&nr->hooks_lock);
    for (int i = 0; i < nr->nhooks; i++)
        nr->hooks[i].fn(nr->hooks[i].ctx, now);
    pthread_mutex_unlock(&nr->hooks_lock);
}

static void *heartbeat_main(void *arg)
{
    struct node_role *nr = arg;
    bool failing = false;
    pthread_mutex_lock(&nr->lock);
    while (!nr->stopping) {
        struct timespec ts =
            clock_timespec_ns(clock_mono_ns() + (int64_t)nr->heartbeat_ms * 1000000);
        while (!nr->stopping && pthread_cond_timedwait(&nr->cond, &nr->lock, &ts) != ETIMEDOUT)
            ;
        if (nr->stopping)
            break;
        pthread_mutex_unlock(&nr->lock);
        beat(nr, &failing);
        pthread_mutex_lock(&nr->lock);
    }
    pthread_mutex_unlock(&nr->lock);
    store_thread_done(nr->store);
    return NULL;
}

int node_role_start(struct store *st, const struct store_node *self, unsigned heartbeat_ms,
                    struct node_role **ret)
{
    int r = store_node_register(st, self);
    if (r < 0) {
        log_error("node", "cannot register node %s: %s", self->name, strerror(-r));
        return r;
    }
    struct node_role *nr = xcalloc(1, sizeof *nr);
    nr->store = st;
    nr->self = *self;
    nr->heartbeat_ms = heartbeat_ms;
    pthread_mutex_init(&nr->lock, NULL);
    pthread_mutex_init(&nr->hooks_lock, NULL);
    clock_cond_init(&nr->cond);
    if (pthread_create(&nr->thread, NULL, heartbeat_main, nr) != 0) {
        pthread_cond_destroy(&nr->cond);
        pthread_mutex_destroy(&nr->hooks_lock);
        pthread_mutex_destroy(&nr->lock);
        free(nr);
        log_error("node", "cannot start the heartbeat thread");
        return -EAGAIN;
    }
    log_info("node", "registered as node %s (roles %s%s%s), heartbeat every %u ms", self->name,
             self->roles, self->region[0] ? ", region " : "", self->region, heartbeat_ms);
    *ret = nr;
    return 0;
}

int node_role_update(struct node_role *nr, const struct store_node *self)
{
    int r = store_node_register(nr->store, self);
    if (r < 0) {
        log_error("node", "cannot update node %s: %s", self->name, strerror(-r));
        return r;
    }
    pthread_mutex_lock(&nr->lock);
    nr->self = *self;
    pthread_mutex_unlock(&nr->lock);
    return 0;
}

int node_role_on_beat(struct node_role *nr, node_role_beat_fn fn, void *ctx)
{
    if (!nr)
        return 0;
    pthread_mutex_lock(&nr->hooks_lock);
    int r = -ENOSPC;
    if (nr->nhooks < MAX_HOOKS) {
        nr->hooks[nr->nhooks].fn = fn;
        nr->hooks[nr->nhooks].ctx = ctx;
        nr->nhooks++;
        r = 0;
    }
    pthread_mutex_unlock(&nr->hooks_lock);
    return r;
}

void node_role_clear_beats(struct node_role *nr)
{
    if (!nr)
        return;
    pthread_mutex_lock(&nr->hooks_lock);
    nr->nhooks = 0;
    pthread_mutex_unlock(&nr->hooks_lock);
}

void node_role_stop(struct node_role *nr)
{
    if (!nr)
        return;
    pthread_mutex_lock(&nr->lock);
    nr->stopping = true;
    pthread_cond_broadcast(&nr->cond);
    pthread_mutex_unlock(&nr->lock);
    pthread_join(nr->thread, NULL);
    pthread_cond_destroy(&nr->cond);
    pthread_mutex_destroy(&nr->hooks_lock);
    pthread_mutex_destroy(&nr->lock);
    free(nr);
}
