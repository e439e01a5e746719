/*
 * dispatcher.h - the dispatcher and scheduler roles (DESIGN.md §1, §3).
 *
 * The dispatcher's workers claim due express jobs from the store and push
 * them over the RouterOS API to the site's tunnel address with the site's API
 * credentials (the current one first, then earlier ones: a rotation job logs
 * in with the password it is replacing). Failures are retried with capped
 * exponential backoff and jitter; after max_attempts the job fails with the
 * router's message. Jobs that are not express, or whose site has no tunnel
 * address, wait for the router's next poll.
 *
 * The scheduler thread tears down grants whose expiry passed (also those
 * that expired while tikgated was down), re-queues running jobs whose lease
 * expired and marks sites offline after ten missed heartbeats. It sleeps until
 * the earliest expiry (at most 100 ms, 1 s when other nodes' changes wake it).
 *
 * No leader (DESIGN.md §11): any number of nodes run these roles on one store.
 * Workers claim jobs in batches (one claim for the node's idle workers) under
 * the node's name; the scheduler takes due grants in batches of 1024 and tears
 * each batch down in the transaction that took it (store_grants_take_due: the
 * row lock is the lease, each grant is written once, a crash rolls back); a
 * batch with a grant that cannot be read falls back to a written claim with a
 * lease (store_grants_claim_due) and a teardown grant by grant.
 * dispatcher_beat(), run on every heartbeat of the node, renews those leases
 * and hands the running pushes of dead nodes back to the queue. On PostgreSQL
 * a LISTEN thread wakes the workers and the scheduler when another node queues
 * a job or changes a grant; polling stays the fallback.
 *
 * Both only talk to the store; they are woken early by dispatcher_wake() when
 * the API queues a job. All functions are thread-safe.
 */
#ifndef TG_JOBS_DISPATCHER_H
#define TG_JOBS_DISPATCHER_H

#include "buf.h"
#include "store.h"

#include <stdbool.h>
#include <stdint.h>

struct dispatcher_config {
    struct store *store;
    int workers;               /* push workers (>= 1) */
    int max_attempts;          /* push attempts before a job fails */
    int backoff_base_ms;       /* first retry delay; doubles per attempt */
    int backoff_max_ms;        /* cap of the retry delay */
    int connect_timeout_ms;    /* RouterOS API connect timeout */
    int io_timeout_ms;         /* RouterOS API reply timeout */
    int push_deadline_ms;      /* whole push (connect + login + plan) bound (0: 60 000) */
    int tenant_workers;        /* most workers one tenant's pushes may hold (0: workers - 1) */
    int64_t lease_ms;          /* how long a running job may stay running before re-queueing */
    int64_t reboot_confirm_ms; /* how long a pushed reboot may take to come back (0: 180 s) */
    int poll_interval_s;       /* the routers' poll interval: offline after 10 missed */
    bool run_dispatcher;       /* role "dispatcher" */
    bool run_scheduler;        /* role "scheduler" */
    /*
     * The connect-time re-check of a site's address (target.h): TIKGATE_MANAGEMENT_NETWORKS and
     * TIKGATE_TUNNEL_POOL. NULL mgmt_networks: no re-check (unit tests).
     */
    const char *mgmt_networks;
    const char *tunnel_pool;
    /* Called by the scheduler after it tore grants down (the edge reconciles). May be NULL. */
    void (*grants_changed)(void *ctx);
    void *grants_ctx;
    /* Called when a re-key changed a site's tunnel keys (the VPN role reconciles). May be NULL. */
    void (*tunnels_changed)(void *ctx);
    void *tunnels_ctx;
    /*
     * The scheduler moves the sites of an edge dead for longer than edge_move_after_ms (0:
     * never) to another edge (jobs/edges.h); a node is dead after node_dead_after_ms without
     * a heartbeat; a claimed grant's lease is as long (renewed by dispatcher_beat), and a
     * dead node's running pushes are taken over.
     */
    int64_t node_dead_after_ms;
    int64_t edge_move_after_ms;
    /*
     * This node (TIKGATE_NODE_NAME), the owner of its claims (jobs' lease_owner, grants'
     * teardown_owner): a managed site's drift check runs only on its edge. An
     * idle worker checks one due site at most every second; a site is checked once per
     * verify_interval_s (TIKGATE_VERIFY_INTERVAL; 0: never).
     */
    const char *node_name;
    int64_t verify_interval_s;
};

struct dispatcher;

int dispatcher_start(const struct dispatcher_config *cfg, struct dispatcher **ret);
/* Wakes the workers now (a job was queued). Accepts NULL. */
void dispatcher_wake(struct dispatcher *d);
/*
 * The node's heartbeat (node_role's hook): renews the leases of this node's claimed grants and
 * takes the running pushes of dead nodes over. Called from the heartbeat thread. Accepts NULL.
 */
void dispatcher_beat(struct dispatcher *d);
/* Appends tikgate_drift_checks_total and tikgate_drift_repairs_total (Prometheus text).
 * Accepts NULL (nothing). */
void dispatcher_metrics(struct dispatcher *d, struct buf *out);
/* Stops and joins every thread; in-flight pushes finish first. Accepts NULL. */
void dispatcher_stop(struct dispatcher *d);
/* Delay before retry number attempt (1-based): base * 2^(attempt-1), capped, +-20% jitter. */
int64_t dispatcher_backoff_ms(const struct dispatcher_config *cfg, int attempt);

#endif
