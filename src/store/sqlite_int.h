/*
 * sqlite_int.h - internals shared by the SQLite backend's files. Not a public header.
 */
#ifndef TG_STORE_SQLITE_INT_H
#define TG_STORE_SQLITE_INT_H

#include "log.h"
#include "rand.h" /* UUID_STR_LEN */
#include "secrets.h"
#include "store.h"
#include "store_ops.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>

/* First size of a connection's statement cache: above the ~100 statements of the store. */
#define STMT_CACHE_INITIAL 256

struct stmt_slot {
    const char *sql; /* identity: the address of a static string; NULL = free */
    sqlite3_stmt *stmt;
};

/* One thread's connection. During a write transaction db, cache, cache_cap, cache_used and
 * prepares are the writer's, borrowed (sqlite_writer.c). */
struct store_conn {
    sqlite3 *db;
    /*
     * Prepared statements by the address of their SQL: open addressing,
     * doubled before it is half full, never evicting. A statement is prepared
     * once per connection and lives as long as the connection.
     */
    struct stmt_slot *cache;
    size_t cache_cap; /* a power of two */
    size_t cache_used;
    unsigned long prepares;  /* statements prepared on this connection so far */
    int tx_depth;            /* nested store_begin() calls; BEGIN/COMMIT only at the outermost */
    bool tx_failed;          /* an inner level rolled back: the outermost commit must roll back */
    int tx_err;              /* the first inner failure (-errno), reported by that commit */
    struct store_conn *next; /* in store->conns, for cleanup */
    struct sqlite_store *owner;
    bool holds_write; /* this connection holds owner->write_mu */
};

/* The SQLite backend's store: the common head first (store_ops.h). */
struct sqlite_store {
    struct store base;
    char *path;
    pthread_key_t conn_key;
    pthread_mutex_t conns_lock;
    struct store_conn *conns;
    /*
     * The process's writers queue here before they take SQLite's write lock (BEGIN IMMEDIATE,
     * or an autocommit statement that writes), so that they wait for each other on a mutex
     * and go on the moment the lock is free, instead of in SQLite's busy handler, which
     * sleeps 1, 2, 5 ... 100 ms between attempts and lets a newcomer overtake a waiter: under
     * a mixed load that convoy held HTTP workers for up to ~1.5 s (docs/benchmarks.md, issue
     * 13). The busy timeout still applies against other processes (the CLI, a backup).
     * A writer waits for the mutex at most STORE_WRITER_WAIT_MS (then -EAGAIN).
     */
    pthread_mutex_t write_mu;
    /*
     * The process's one write connection and its group commit (sqlite_writer.c), under
     * write_mu: the writer (in conns; NULL until the first write), whether it has a group's
     * BEGIN IMMEDIATE open, how many transactions were released into it and since when, the
     * members waiting for its COMMIT. writers_waiting: threads waiting for write_mu.
     * group_mu and group_cond: a waiting member's wake-up.
     */
    struct store_conn *writer;
    bool group_open;
    int group_members;
    int64_t group_opened_ms;
    struct group_waiter *group_waiters;
    _Atomic int writers_waiting;
    /*
     * What the writer did (GET /metrics, docs/operations.md): holds of write_mu, the time
     * they held it (held_since_us: when the current hold began, under write_mu), COMMITs.
     */
    _Atomic unsigned long long writer_holds, writer_held_us, writer_commits;
    int64_t held_since_us;
    pthread_mutex_t group_mu;
    pthread_cond_t group_cond;
    /*
     * Another process held SQLite's write lock through a whole busy timeout: until this
     * monotonic time writers try the lock without waiting (-EAGAIN, storage_busy, at once
     * while it is held) instead of each waiting a busy timeout on write_mu in turn, each
     * holding an HTTP worker (issue 14 item 4: reads on those workers waited too).
     */
    _Atomic int64_t busy_until_ms;
    /* The WAL checkpointer (sqlite_checkpoint.c): its thread, and stop under ckpt_mu. */
    pthread_t ckpt_thread;
    pthread_mutex_t ckpt_mu;
    pthread_cond_t ckpt_cond;
    bool ckpt_stop, ckpt_running, ckpt_wanted;
};

/* How often the checkpointer copies the WAL back into the database (sqlite_checkpoint.c). */
#define STORE_CHECKPOINT_MS 1000
/* A log longer than this (frames of 4 KB: 16 MB) after a checkpoint is started over, with the
 * writer paused at most about STORE_WAL_RESTART_WAIT_MS for the readers. */
#define STORE_WAL_RESTART_FRAMES 4096
#define STORE_WAL_RESTART_WAIT_MS 200
/* Starts s's checkpointer thread (0 or -errno, logged); stop joins it (no-op if not started). */
int sqlite_checkpointer_start(struct sqlite_store *s);
void sqlite_checkpointer_stop(struct sqlite_store *s);
/* Wakes the checkpointer now (the writer's log passed STORE_WAL_RESTART_FRAMES); any thread. */
void sqlite_checkpointer_want(struct sqlite_store *s);

/* Bounds of a write's wait (issue 14 item 4; docs/internals/store.md "Waiting for the lock"). */
#define STORE_BUSY_TIMEOUT_MS 50   /* another process's lock: SQLite's busy handler, per try */
#define STORE_WRITER_WAIT_MS 2000  /* this process's writers: queued on write_mu */
#define STORE_BUSY_FAILFAST_MS 100 /* after a busy timeout: writers do not wait this long */

/* The backend's own view of a store opened by sqlite_open. */
static inline struct sqlite_store *sqlite_store_of(struct store *s)
{
    return (struct sqlite_store *)s;
}

/* Opens a connection to s's file with the store's pragmas, listed in s->conns (freed by
 * sqlite_close); a failure is logged at lvl. sqlite_conn.c. */
struct store_conn *sqlite_conn_open(struct sqlite_store *s, enum log_level lvl);
/* Runs sql on db: 0 or the -errno of sqlite_fail. */
int sqlite_exec(sqlite3 *db, const char *sql);
/* The -errno of a failed SQLite result code rc, counted and logged (sqlite_conn.c). */
int sqlite_fail(int rc, const char *msg);

/*
 * The writer and its group commit (sqlite_writer.c). init/destroy: write_mu and the group's
 * mutex and condition. begin: the outermost store_begin of c's thread: takes write_mu (0, or
 * -EAGAIN after STORE_WRITER_WAIT_MS), borrows the writer's handle into c, opens the group's
 * transaction if none is, and c's savepoint. end: the outermost commit (r == 0) or rollback
 * (r < 0): releases or rolls back c's savepoint, then commits the group or hands it on; gives
 * the handle back and write_mu up; returns the transaction's result (the group COMMIT's for a
 * member that was released into it). lock/unlock_autocommit: write_mu around an autocommit
 * statement that writes on c's own connection (an open group is committed first); unlock
 * returns r.
 */
void sqlite_writer_init(struct sqlite_store *s);
void sqlite_writer_destroy(struct sqlite_store *s);
int sqlite_writer_begin(struct store_conn *c);
int sqlite_writer_end(struct store_conn *c, int r);
int sqlite_writer_lock_autocommit(struct store_conn *c);
/* write_mu taken (0 or -EAGAIN) with no group open, for the checkpointer's restart; resume
 * lets it go. */
int sqlite_writer_pause(struct sqlite_store *s);
void sqlite_writer_resume(struct sqlite_store *s);
int sqlite_writer_unlock_autocommit(struct store_conn *c, int r);

/* store_ops.open/close of this backend (sqlite_conn.c): path is the database file. */
int sqlite_open(const char *path, struct store **ret);
void sqlite_close(struct store *s);
/* Adds [from, to) (Unix seconds) to the site's up time by hour, on c (sqlite_fleet.c). */
int sqlite_uptime_add(struct store_conn *c, const char *site_id, int64_t from, int64_t to);
/* GENERATED BEGIN (scripts/dev/store_vtable.py) */
void sqlite_thread_done(struct store *s);
bool sqlite_reachable(struct store *s);
bool sqlite_connection_lost(struct store *s);
int sqlite_tx_begin(struct store *s);
int sqlite_tx_commit(struct store *s);
void sqlite_tx_rollback(struct store *s);
int sqlite_tx_end(struct store *s, int r);
int sqlite_tenant_count(struct store *s, int *ret);
int sqlite_tenant_first(struct store *s, char ret_id[UUID_STR_LEN]);
int sqlite_tenant_create(struct store *s, const char *name, const char *mgmt_networks,
                         char ret_id[UUID_STR_LEN]);
int sqlite_api_key_insert(struct store *s, const struct api_key *k);
int sqlite_api_key_authenticate(struct store *s, const uint8_t hash[APIKEY_HASH_LEN],
                                struct api_key *ret);
int sqlite_api_key_list(struct store *s, const char *tenant_id, const struct store_page *page,
                        struct api_key **ret, size_t *n);
int sqlite_api_key_revoke(struct store *s, const char *tenant_id, const char *id);
int sqlite_policy_list(struct store *s, const char *tenant_id, const struct store_page *page,
                       struct policy **ret, size_t *n);
int sqlite_policy_get(struct store *s, const char *tenant_id, const char *id, int with_sites,
                      struct policy *ret);
int sqlite_policy_get_default(struct store *s, const char *tenant_id, struct policy *ret);
int sqlite_policy_insert(struct store *s, const struct policy *p);
int sqlite_policy_update(struct store *s, const struct policy *p);
int sqlite_policy_delete(struct store *s, const char *tenant_id, const char *id);
int sqlite_policy_attach_sites(struct store *s, const char *tenant_id, const char *policy_id,
                               const struct strlist *site_ids, size_t *ret_bad);
int sqlite_policies_version(struct store *s, int64_t *ret);
int sqlite_site_insert(struct store *s, const struct site *site, const struct credential *cred);
int sqlite_site_list(struct store *s, const char *tenant_id, const struct store_page *page,
                     struct site **ret, size_t *n);
int sqlite_site_get(struct store *s, const char *tenant_id, const char *id, struct site *ret);
int sqlite_site_update(struct store *s, const struct site *site);
int sqlite_site_delete(struct store *s, const char *tenant_id, const char *id);
int sqlite_site_note_get(struct store *s, const char *tenant_id, const char *site_id,
                         struct site_note *ret);
int sqlite_site_note_put(struct store *s, const char *tenant_id, const char *site_id,
                         const char *content, const char *updated_by, struct site_note *ret);
int sqlite_credential_list(struct store *s, const char *tenant_id, const char *site_id,
                           struct credential **ret, size_t *n);
int sqlite_credential_rotate(struct store *s, const char *tenant_id, const struct credential *cred,
                             struct credential *ret);
int sqlite_credential_set_job(struct store *s, const char *cred_id, const char *job_id);
int sqlite_credential_confirm(struct store *s, const char *site_id, const char *cred_id,
                              bool *ret_changed);
int sqlite_credential_confirm_job(struct store *s, const char *job_id, bool *ret_changed);
int sqlite_site_claim_verify(struct store *s, const char *node, int64_t now_s, int64_t interval_s,
                             char ret_id[UUID_STR_LEN]);
int sqlite_site_by_bootstrap_token(struct store *s, const char *token, struct site *ret);
int sqlite_site_by_device_token(struct store *s, const char *token, struct site *ret);
int sqlite_site_adopt(struct store *s, const char *site_id, const struct store_adoption *a);
int sqlite_site_new_bootstrap(struct store *s, const char *tenant_id, const char *site_id,
                              const char *token);
int sqlite_site_set_deleting(struct store *s, const char *tenant_id, const char *site_id);
int sqlite_site_heartbeat(struct store *s, const char *site_id, int64_t now);
int sqlite_sites_mark_offline(struct store *s, int64_t cutoff, int *ret_n);
int sqlite_site_get_any(struct store *s, const char *site_id, struct site *ret);
int sqlite_policy_adopted_sites(struct store *s, const char *policy_id, struct strlist *ret);
int sqlite_job_insert(struct store *s, const struct job *j);
int sqlite_job_insert_many(struct store *s, const struct job *jobs, size_t n);
int sqlite_job_by_idempotency(struct store *s, const char *site_id, const char *key,
                              char ret_id[UUID_STR_LEN]);
int sqlite_site_grants(struct store *s, const char *site_id, struct grant **ret, size_t *n);
int sqlite_job_list(struct store *s, const char *tenant_id, const char *site_id,
                    const struct store_page *page, struct job **ret, size_t *n);
int sqlite_job_get(struct store *s, const char *tenant_id, const char *site_id, const char *job_id,
                   struct job *ret);
int sqlite_job_get_any(struct store *s, const char *job_id, struct job *ret);
int sqlite_job_cancel(struct store *s, const char *tenant_id, const char *site_id,
                      const char *job_id);
int sqlite_jobs_supersede(struct store *s, const char *site_id, enum job_kind kind,
                          const char *by_job_id, int *ret_n);
int sqlite_job_supersede(struct store *s, const char *job_id, enum job_kind kind,
                         const char *by_job_id, int *ret_n);
int sqlite_jobs_pending_count(struct store *s, const char *site_id, long *ret);
int sqlite_job_event(struct store *s, const char *job_id, const char *kind, const char *message);
int sqlite_job_claim_pull(struct store *s, const char *site_id, int64_t now_ms, int64_t lease_ms,
                          struct job *ret);
int sqlite_job_claim_push(struct store *s, int64_t now_ms, int64_t lease_ms, int tenant_max,
                          struct job *ret);
int sqlite_job_claim_push_batch(struct store *s, struct store_push_claim *c, struct job **ret,
                                size_t *n);
int sqlite_jobs_take_over(struct store *s, const char *taker, int64_t dead_after_ms, int *ret_n);
int sqlite_job_finish(struct store *s, const char *job_id, enum job_status status,
                      const char *message);
int sqlite_job_retry(struct store *s, const char *job_id, int64_t next_ms, const char *message);
int sqlite_job_router_update(struct store *s, const char *job_id, enum job_router_status status);
int sqlite_jobs_requeue_expired(struct store *s, int64_t now_ms, int *ret_n);
int sqlite_job_pull_refused(struct store *s, const char *site_id);
int sqlite_jobs_requeue_push(struct store *s, const char *owner, int *ret_n);
int sqlite_grant_insert(struct store *s, struct grant *g, int port_lo, int port_hi);
int sqlite_grant_list(struct store *s, const char *tenant_id, const char *site_id,
                      enum grant_kind kind, bool active_only, const struct store_page *page,
                      struct grant **ret, size_t *n);
int sqlite_grant_get(struct store *s, const char *tenant_id, const char *site_id,
                     enum grant_kind kind, const char *id, struct grant *ret);
int sqlite_grant_get_any(struct store *s, const char *id, struct grant *ret);
int sqlite_grant_update(struct store *s, const char *id, int64_t expires_at_ms,
                        const uint64_t *rate);
int sqlite_grant_set_setup_job(struct store *s, const char *id, const char *job_id);
int sqlite_grant_teardown(struct store *s, const char *id, bool revoked, const char *job_id);
int64_t sqlite_grants_next_expiry(struct store *s, int64_t after_ms);
int sqlite_grants_due(struct store *s, int64_t now_ms, int limit, struct strlist *ret);
int sqlite_grants_claim_due(struct store *s, const char *owner, int64_t now_ms, int64_t lease_ms,
                            int limit, struct store_due_grant **ret, size_t *n);
int sqlite_grants_take_due(struct store *s, const char *owner, int64_t now_ms, int64_t lease_ms,
                           int limit, struct store_taken_grant **ret, size_t *n);
int sqlite_grants_lock_claimed(struct store *s, const char *owner, const struct strlist *ids,
                               struct grant **ret, size_t *n);
int sqlite_grants_expire_many(struct store *s, const char *owner, const struct strlist *ids,
                              const struct strlist *job_ids);
int sqlite_leases_renew(struct store *s, const char *owner, int64_t lease_ms, int *ret_n);
int sqlite_grants_live(struct store *s, const char *entry_point, int64_t now_ms, struct grant **ret,
                       size_t *n);
int sqlite_grant_conn_open(struct store *s, const char *grant_id, const struct grant_connection *c);
int sqlite_grant_conn_insert(struct store *s, const char *grant_id,
                             const struct grant_connection *c);
int sqlite_grant_conn_refused(struct store *s, const char *grant_id,
                              const struct grant_connection *c, unsigned max_records);
int sqlite_grant_conn_prune(struct store *s, int64_t before_ms, int *ret_n);
int sqlite_grant_conn_list(struct store *s, const char *grant_id, int64_t after_id, int limit,
                           struct grant_connection **ret, size_t *n);
int sqlite_user_insert(struct store *s, const struct user *u);
int sqlite_users_by_email(struct store *s, const char *email, struct user **ret, size_t *n);
int sqlite_user_get(struct store *s, const char *tenant_id, const char *id, struct user *ret);
int sqlite_user_list(struct store *s, const char *tenant_id, const struct store_page *page,
                     struct user **ret, size_t *n);
int sqlite_user_update(struct store *s, const struct user *u);
int sqlite_user_delete(struct store *s, const char *tenant_id, const char *id);
int sqlite_user_touch_login(struct store *s, const char *id);
int sqlite_user_count(struct store *s, int *ret);
int sqlite_session_insert(struct store *s, const char *jti, const char *user_id,
                          int64_t expires_at);
int sqlite_session_check(struct store *s, const char *jti, int64_t now);
int sqlite_session_revoke(struct store *s, const char *jti);
int sqlite_session_revoke_user(struct store *s, const char *user_id);
int sqlite_login_failure_add(struct store *s, const char *key, int64_t now, int64_t window_s);
int sqlite_login_failures_get(struct store *s, const char *key, int64_t now, int64_t window_s,
                              int *ret_failures, int64_t *ret_window_start);
int sqlite_login_failures_clear(struct store *s, const char *key);
int sqlite_master_key_check(struct store *s, const char *mac, char ret_stored[65]);
int sqlite_vpn_edge_ensure(struct store *s, const char *entry_point,
                           const struct store_vpn_edge *fresh, struct store_vpn_edge *ret);
int sqlite_vpn_edge_public(struct store *s, const char *entry_point,
                           char ret[TUNNEL_KEY_B64_LEN + 1]);
int sqlite_vpn_peers(struct store *s, const char *edge_node, struct store_vpn_peer **ret,
                     size_t *n);
int sqlite_vpn_rekey_begin(struct store *s, const char *site_id, const char *next_key);
int sqlite_vpn_rekey_next_seen(struct store *s, const char *site_id, const char *next_key,
                               int64_t handshake_at);
int sqlite_vpn_rekey_next_state(struct store *s, const char *site_id,
                                char ret_key[TUNNEL_KEY_B64_LEN + 1], int64_t *ret_hs);
int sqlite_vpn_rekey_commit(struct store *s, const char *site_id, const char *next_key);
int sqlite_vpn_rekey_abort(struct store *s, const char *site_id, const char *next_key);
int sqlite_vpn_rekey_rollback(struct store *s, const char *site_id, const char *old_key,
                              const char *next_key);
int sqlite_vpn_peer_observed(struct store *s, const char *site_id, const char *endpoint,
                             int64_t last_handshake_at, uint64_t rx, uint64_t tx,
                             enum tunnel_status status);
int sqlite_site_tunnel_assign(struct store *s, const char *site_id, const char *public_key,
                              uint32_t first, uint32_t last, char ret_address[16]);
int sqlite_site_tunnel_mode(struct store *s, const char *tenant_id, const char *site_id,
                            enum tunnel_mode mode);
int sqlite_site_by_tunnel_peer(struct store *s, const char *addr, struct site *ret);
int sqlite_site_event(struct store *s, const char *site_id, const char *kind, const char *message);
int sqlite_site_events_list(struct store *s, const char *tenant_id, const char *site_id, int limit,
                            struct site_event **ret, size_t *n);
int sqlite_tunnel_address_taken(struct store *s, const char *site_id, const char *other_tenant_of,
                                const char *addr, bool *ret_taken);
int sqlite_site_set_edge(struct store *s, const char *site_id, const char *expected_edge,
                         const char *edge_node);
int sqlite_site_edge_prev(struct store *s, const char *site_id, const char *prev_edge,
                          int64_t wait_until_ms);
int sqlite_site_edge_peer_ready(struct store *s, const char *site_id, const char *edge_node);
int sqlite_site_edge_settled(struct store *s, const char *site_id, const char *edge_node);
int sqlite_edge_site_count(struct store *s, const char *edge_node, long *ret);
int sqlite_edge_sites(struct store *s, const char *edge_node, int limit, struct strlist *ret);
int sqlite_edge_adopt_orphans(struct store *s, const char *edge_node, int *ret_n);
int sqlite_grant_rebind(struct store *s, const struct store_grant_rebind *b, int *ret_port);
int sqlite_node_register(struct store *s, const struct store_node *n);
int sqlite_node_heartbeat(struct store *s, const char *name, int64_t *ret_now_ms);
int sqlite_node_list(struct store *s, int64_t dead_after_ms, struct store_node **ret, size_t *n);
int sqlite_node_get(struct store *s, const char *name, int64_t dead_after_ms,
                    struct store_node *ret);
int sqlite_audit_insert(struct store *s, const struct audit_entry *e);
int sqlite_audit_list(struct store *s, const char *tenant_id, const struct audit_filter *f,
                      const struct store_page *page, struct audit_entry **ret, size_t *n);
int sqlite_audit_prune(struct store *s, int64_t before_ms, int limit, size_t *ret_n);
int sqlite_listen_open(struct store *s, struct store_listener **ret);
int sqlite_listen_wait(struct store *s, struct store_listener *l, int timeout_ms,
                       unsigned *ret_mask);
void sqlite_listen_close(struct store *s, struct store_listener *l);
int sqlite_webhook_insert(struct store *s, const struct webhook *h);
int sqlite_webhook_list(struct store *s, const char *tenant_id, struct webhook **ret, size_t *n);
int sqlite_webhook_get(struct store *s, const char *tenant_id, const char *id, struct webhook *ret);
int sqlite_webhook_update(struct store *s, const struct webhook *h);
int sqlite_webhook_delete(struct store *s, const char *tenant_id, const char *id);
int sqlite_webhook_claim(struct store *s, const char *owner, int64_t now_ms, int64_t lease_ms,
                         int limit, struct store_webhook_delivery **ret, size_t *n);
int sqlite_webhook_leases_release(struct store *s, const char *owner);
int sqlite_webhook_prune(struct store *s, int64_t before_ms, int *ret_n);
int sqlite_webhook_attempt_record(struct store *s, const char *owner,
                                  const struct store_webhook_attempt *a);
int sqlite_webhook_attempts(struct store *s, const char *tenant_id, const char *hook_id, int limit,
                            struct store_webhook_attempt **ret, size_t *n);
int sqlite_metrics_get(struct store *s, struct store_metrics *ret);
int sqlite_fleet_counts(struct store *s, const char *tenant_id, int64_t now_ms,
                        struct store_fleet_counts *ret);
int sqlite_fleet_sample(struct store *s, int64_t now_ms, int *ret_written);
int sqlite_fleet_history(struct store *s, const char *tenant_id, int64_t since_ms, int max,
                         struct store_fleet_point **ret, size_t *n);
int sqlite_fleet_now(struct store *s, const char *tenant_id, int64_t since_ms, int64_t now_ms,
                     struct store_fleet_point *ret);
int sqlite_site_uptime(struct store *s, const char *tenant_id, const char *site_id,
                       int64_t created_from, int64_t created_to, int64_t since_s,
                       struct store_uptime_day **ret, size_t *n);
/* GENERATED END */

/* Columns read by store_site_row(); the bootstrap token only while it is unused. */
#define SITE_COLUMNS                                                                               \
    "id, tenant_id, name, policy_id, tunnel_address, status, last_seen_at, identity, model, "      \
    "serial_number, software_version, "                                                            \
    "CASE WHEN bootstrap_used_at IS NULL THEN bootstrap_token_sealed END, created_at, "            \
    "updated_at, adopted_at, tunnel_mode, tunnel_status, wg_public_key, tunnel_endpoint, "         \
    "tunnel_handshake_at, tunnel_rx, tunnel_tx, bootstrap_issued_at, edge_node, region"

/* A store_collect/store_step_row reader of SITE_COLUMNS into a struct site; ctx: the store. */
int store_site_row(void *ctx, sqlite3_stmt *st, void *elem);
/* Inserts p and its services on c, joining the caller's transaction (sqlite_policies.c). */
int store_policy_insert_conn(struct store_conn *c, const struct policy *p);

/*
 * The webhook outbox (sqlite_hooks.c), inside the caller's transaction on c: event e about
 * object_id (a job, a grant or a site) of site_id's tenant (NULL: the job's or grant's site),
 * detail may be NULL, with one delivery per enabled hook of the tenant subscribed to e.
 * Nothing is written when no hook subscribes or the site is gone. 0 or -errno.
 */
int sqlite_webhook_emit(struct store_conn *c, enum webhook_event e, const char *object_id,
                        const char *site_id, const char *detail);
/* sqlite_webhook_emit(c, e, id, NULL, NULL) for each grant of ids, in one statement per table
 * (e is a grant event). */
int sqlite_webhook_emit_grants(struct store_conn *c, enum webhook_event e,
                               const struct strlist *ids);

/* The calling thread's connection, opened on first use; NULL on failure. */
struct store_conn *store_conn(struct store *s);
/*
 * A prepared statement for sql, cached per connection by the address of sql
 * (pass string literals or static arrays only). Reset and unbound: ready to
 * bind. NULL on a prepare error.
 */
sqlite3_stmt *store_stmt(struct store_conn *c, const char *sql);
/*
 * How many statements the calling thread's connection and the writer (its transactions run
 * there) have prepared: with caches that never evict, each distinct SQL once per connection.
 * For tests. Not from inside a transaction (it takes write_mu).
 */
unsigned long store_stmt_prepares(struct store *s);
/*
 * The prologue of a store function: the calling thread's connection and the
 * cached statement for sql (as store_stmt()). NULL when either could not be
 * had (the caller returns -EIO); *ret_c is set only on success.
 */
sqlite3_stmt *store_prepare(struct store *s, const char *sql, struct store_conn **ret_c);
/*
 * BEGIN IMMEDIATE / COMMIT / ROLLBACK, nestable: only the outermost level
 * talks to SQLite, so a handler can wrap several store calls (each with its
 * own begin/commit) in one transaction. A rollback at any level makes the
 * outermost commit roll back and return -EIO. 0 or -EIO.
 */
int store_begin(struct store_conn *c);
int store_commit(struct store_conn *c);
void store_rollback(struct store_conn *c);
/*
 * The calling thread's connection (*ret_c), BEGIN IMMEDIATE (joining an open
 * transaction) and prepare sql: the transactional twin of store_prepare().
 * Returns the statement with *ret_err = 0, or NULL with *ret_err set (-EIO
 * without a connection) and the transaction level already rolled back.
 */
sqlite3_stmt *store_begin_stmt(struct store *s, const char *sql, struct store_conn **ret_c,
                               int *ret_err);
/*
 * Ends a level begun with store_begin(): commits when r == 0, else rolls back.
 * Returns r, or the commit's error (the commit rolls back itself on failure).
 */
int store_end(struct store_conn *c, int r);
/* Runs a statement that returns no rows (after binding). 0, -EEXIST on constraint, -EIO. */
int store_step_done(struct store_conn *c, sqlite3_stmt *st);
/* sqlite result code to -errno. */
int store_map_rc(struct store_conn *c, int rc);

/*
 * Steps st (already bound) to its end, appending one element of elem_size per
 * row to a growing array: read_row fills a zeroed element and returns 0, or
 * returns -errno leaving nothing in it to release (a secret that cannot be
 * unsealed: -EBADMSG). On an error of read_row or of the database the
 * elements read so far are released (release_row may be NULL) and freed.
 * Resets st. 0 with *ret (owned, NULL when empty) and *n, or -errno.
 */
int store_collect(struct store_conn *c, sqlite3_stmt *st, size_t elem_size,
                  int (*read_row)(void *ctx, sqlite3_stmt *st, void *elem), void *ctx,
                  void (*release_row)(void *elem), void **ret, size_t *n);
/*
 * Steps st (already bound) for one row, the single-row twin of store_collect:
 * read_row (NULL for an existence check) fills out from the row, with the
 * same contract as there. Resets st. 0, -ENOENT when there is no row,
 * read_row's error, or a database error.
 */
int store_step_row(struct store_conn *c, sqlite3_stmt *st,
                   int (*read_row)(void *ctx, sqlite3_stmt *st, void *out), void *ctx, void *out);
/* Readers for store_step_row of column 0: an int (out: int *), an int64_t (out: int64_t *), an
 * id (out: char[UUID_STR_LEN]). */
int store_read_int(void *ctx, sqlite3_stmt *st, void *out);
int store_read_int64(void *ctx, sqlite3_stmt *st, void *out);
int store_read_id(void *ctx, sqlite3_stmt *st, void *out);
/* 0 when site_id is a site of tenant_id, -ENOENT when not, or a database error. */
int store_site_owned(struct store_conn *c, const char *tenant_id, const char *site_id);
/* Steps a statement that must change one row: 0, -ENOENT when none changed, or an error. */
int store_step_changed(struct store_conn *c, sqlite3_stmt *st);

/* The keyset-paged lists (paging.c; enum store_list is in store_ops.h). */
/*
 * 0 when page is NULL or has no after_id, or when after_id names an item of
 * list within scope (and scope2); -EINVAL when it names none; -EIO. Call it
 * before preparing the list's statement (it prepares one of its own).
 */
int store_page_check(struct store_conn *c, enum store_list list, const struct store_page *page,
                     const char *scope, const char *scope2);
/*
 * Binds a page to ?i (after_id, NULL from the start) and ?i+1 (LIMIT; -1 =
 * no limit without a page). The list's SQL reads "(?i IS NULL OR <key> >
 * (SELECT <key> ... WHERE id = ?i)) ... LIMIT ?i+1".
 */
void store_bind_page(sqlite3_stmt *st, int i, const struct store_page *page);
/*
 * The prologue of a tenant's paged list: checks the page's cursor (store_page_check with the
 * tenant as scope), prepares sql and binds the tenant to ?1 and the page to ?2/?3. Returns the
 * statement with *ret_c set, or NULL with *ret_err (-EINVAL for a foreign cursor, -EIO).
 */
sqlite3_stmt *store_tenant_page_stmt(struct store *s, const char *sql, enum store_list list,
                                     const char *tenant_id, const struct store_page *page,
                                     struct store_conn **ret_c, int *ret_err);

/* Column helpers: owned copy of a text column or NULL. */
char *col_strdup(sqlite3_stmt *st, int i);
void col_copy(sqlite3_stmt *st, int i, char *out, size_t outlen);
/* Binds text, or NULL when s is NULL. */
void bind_text(sqlite3_stmt *st, int i, const char *s);
void bind_time(sqlite3_stmt *st, int i, int64_t t); /* 0 -> NULL */
int64_t col_time(sqlite3_stmt *st, int i);          /* NULL -> 0 */

#endif
