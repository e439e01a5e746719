/*
 * node_role.h - this process in the node registry (DESIGN.md §11, REGISTRY contract).
 *
 * Every tikgated registers under TIKGATE_NODE_NAME at start-up, before any other role
 * starts, and heartbeats from one thread every heartbeat_ms on the database clock. Each beat
 * also runs the registered hooks (the dispatcher renews its claims' leases there), so a node
 * whose heartbeats stop loses its claims with them: after CONFIG_DEAD_HEARTBEATS missed beats
 * it is dead and other nodes take its claimed work over.
 */
#ifndef TG_DAEMON_NODE_ROLE_H
#define TG_DAEMON_NODE_ROLE_H

#include "store.h"

#include <stdint.h>

struct node_role;

/* Run on the heartbeat thread after each successful heartbeat (db_now_ms: its time). */
typedef void (*node_role_beat_fn)(void *ctx, int64_t db_now_ms);

/*
 * Registers self (borrowed; copied) in st and starts the heartbeat thread. 0 with *ret, or
 * -errno (logged: the daemon does not start without its registration).
 */
int node_role_start(struct store *st, const struct store_node *self, unsigned heartbeat_ms,
                    struct node_role **ret);
/*
 * Registers self again with what the roles found at start (the VPN's endpoint once it runs).
 * Same name as at start. 0 or -errno (logged).
 */
int node_role_update(struct node_role *nr, const struct store_node *self);
/* Adds a hook to every later beat (at most 4; -ENOSPC after). Accepts NULL nr (no-op). */
int node_role_on_beat(struct node_role *nr, node_role_beat_fn fn, void *ctx);
/*
 * Removes every hook, waiting for a beat running them to finish (before what they use is
 * stopped: the heartbeats go on meanwhile, so the node is not taken for dead while its roles
 * finish their work). Accepts NULL.
 */
void node_role_clear_beats(struct node_role *nr);
/* Stops the thread (a last heartbeat is not sent: a stopped node just ages). Accepts NULL. */
void node_role_stop(struct node_role *nr);

#endif
