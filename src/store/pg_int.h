/*
 * pg_int.h - internals shared by the PostgreSQL backend's files. Not a public header.
 *
 * The backend mirrors the SQLite one (sqlite_int.h) so that pg_<entity>.c reads like
 * sqlite_<entity>.c: one connection per thread (the pool: a thread's connection is opened on
 * its first store call and released by store_thread_done), statements prepared once per
 * connection under a generated name and cached by the address of their static SQL, SQL
 * written with ?N placeholders (rewritten to $N when preparing), and a small cursor over a
 * PGresult with the calls of sqlite3_stmt (bind, step, column, reset).
 *
 * Values go to the server as text (bytea: binary), parameter types are inferred by the
 * server from the statement (add a cast where it cannot: `?2::text IS NULL`). Results are
 * read as text; pg_column_int/int64 also read booleans ('t'/'f') as 1/0.
 */
#ifndef TG_STORE_PG_INT_H
#define TG_STORE_PG_INT_H

#include "rand.h" /* UUID_STR_LEN */
#include "secrets.h"
#include "store.h"
#include "store_ops.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define PG_STMT_CACHE_INITIAL 256
#define PG_MAX_PARAMS 24

/* pg_step() results besides -errno (the values of SQLITE_ROW / SQLITE_DONE, for familiarity). */
/* The database clock in ms (now(): the transaction's start), as SQL: the node registry, leases. */
#define PG_DB_NOW_MS "(extract(epoch FROM now()) * 1000)::bigint"

#define PG_ROW 100
#define PG_DONE 101

struct pg_session;

/* A prepared statement of one connection and its current execution. */
struct pg_stmt {
    const char *sql; /* identity: the address of a static string */
    char name[16];   /* the server-side name, "tg<n>" */
    int nparams;     /* highest $N of the rewritten SQL */
    char *vals[PG_MAX_PARAMS];
    int lens[PG_MAX_PARAMS];
    int fmts[PG_MAX_PARAMS];
    struct pg_session *c;
    PGresult *res; /* NULL until the first pg_step after a reset */
    int row, nrows;
    unsigned char *blob; /* column blob_col decoded (pg_column_blob), freed at reset */
    size_t blob_len;
    int blob_col;
};

struct pg_slot {
    const char *sql; /* NULL = free */
    struct pg_stmt *stmt;
};

/* One thread's connection. */
struct pg_session {
    PGconn *conn;
    struct pg_slot *cache;
    size_t cache_cap, cache_used;
    unsigned long prepares;
    long changes;    /* rows changed by the last statement (PQcmdTuples) */
    int tx_depth;    /* nested pg_begin() calls: BEGIN/COMMIT only at the outermost */
    bool tx_failed;  /* an inner level rolled back: the outermost commit rolls back */
    int tx_err;      /* the first inner storage failure (-errno), reported by that commit */
    bool lost;       /* the last statement failed because the connection dropped */
    int64_t used_ms; /* monotonic time of the last pg_session() outside a transaction */
    unsigned notify; /* enum store_wake bits to NOTIFY at the outermost commit */
    bool changed;    /* a statement bumped a change version (the trigger's NOTICE) */
    struct pg_store *store;
    struct pg_session *next;
};

/* The PostgreSQL backend's store: the common head first (store_ops.h). */
struct pg_store {
    struct store base;
    char *url;
    pthread_key_t conn_key;
    pthread_mutex_t conns_lock;
    struct pg_session *conns;
    pthread_mutex_t versions_lock; /* starting the watcher */
    struct pg_versions *_Atomic versions;
    bool versions_failed; /* under versions_lock */
};

/*
 * The NOTICE the change-version trigger raises in the writing session (migration 0022): the
 * session learns that its statement changed what cached answers are made of.
 */
#define PG_CHANGED_NOTICE "tikgate: policies changed"
/* The policies version (migration 0020): pg_policies_version and the versions watcher. */
#define PG_POLICIES_VERSION_SQL "SELECT version FROM change_versions WHERE kind = 'policies'"

/*
 * The change versions without a round trip (pg_versions.c). pg_versions_policies: 0 with the
 * policies version as of every write this process committed and every other node's write
 * whose notification arrived, or -EAGAIN: read it from the database. pg_versions_wrote: a
 * session of s committed a write that bumped a version. pg_versions_stop: at pg_close.
 */
int pg_versions_policies(struct pg_store *s, int64_t *ret);
void pg_versions_wrote(struct pg_store *s);
void pg_versions_stop(struct pg_store *s);

static inline struct pg_store *pg_store_of(struct store *s)
{
    return (struct pg_store *)s;
}

/* A new connection to url with the bounds of a server that does not answer (pg_conn.c). */
PGconn *pg_connect_db(const char *url);
/*
 * A new connection to url, named app_name, LISTENing on channel (an identifier, no quoting),
 * or NULL (logged at debug): the wake-up listener's and the versions watcher's (pg_conn.c).
 */
PGconn *pg_listen_connect(const char *url, const char *app_name, const char *channel);
/* store_ops.open/close of this backend (pg_conn.c): url is the libpq connection URL. */
int pg_open(const char *url, struct store **ret);
void pg_close(struct store *s);
/* Adds [from, to) (Unix seconds) to the site's up time by hour, on c (pg_fleet.c). */
int pg_uptime_add(struct pg_session *c, const char *site_id, int64_t from, int64_t to);
/* GENERATED BEGIN (scripts/dev/store_vtable.py) */
void pg_thread_done(struct store *s);
bool pg_reachable(struct store *s);
bool pg_connection_lost(struct store *s);
int pg_tx_begin(struct store *s);
int pg_tx_commit(struct store *s);
void pg_tx_rollback(struct store *s);
int pg_tx_end(struct store *s, int r);
int pg_tenant_count(struct store *s, int *ret);
int pg_tenant_first(struct store *s, char ret_id[UUID_STR_LEN]);
int pg_tenant_create(struct store *s, const char *name, const char *mgmt_networks,
                     char ret_id[UUID_STR_LEN]);
int pg_api_key_insert(struct store *s, const struct api_key *k);
int pg_api_key_authenticate(struct store *s, const uint8_t hash[APIKEY_HASH_LEN],
                            struct api_key *ret);
int pg_api_key_list(struct store *s, const char *tenant_id, const struct store_page *page,
                    struct api_key **ret, size_t *n);
int pg_api_key_revoke(struct store *s, const char *tenant_id, const char *id);
int pg_policy_list(struct store *s, const char *tenant_id, const struct store_page *page,
                   struct policy **ret, size_t *n);
int pg_policy_get(struct store *s, const char *tenant_id, const char *id, int with_sites,
                  struct policy *ret);
int pg_policy_get_default(struct store *s, const char *tenant_id, struct policy *ret);
int pg_policy_insert(struct store *s, const struct policy *p);
int pg_policy_update(struct store *s, const struct policy *p);
int pg_policy_delete(struct store *s, const char *tenant_id, const char *id);
int pg_policy_attach_sites(struct store *s, const char *tenant_id, const char *policy_id,
                           const struct strlist *site_ids, size_t *ret_bad);
int pg_policies_version(struct store *s, int64_t *ret);
int pg_site_insert(struct store *s, const struct site *site, const struct credential *cred);
int pg_site_list(struct store *s, const char *tenant_id, const struct store_page *page,
                 struct site **ret, size_t *n);
int pg_site_get(struct store *s, const char *tenant_id, const char *id, struct site *ret);
int pg_site_update(struct store *s, const struct site *site);
int pg_site_delete(struct store *s, const char *tenant_id, const char *id);
int pg_site_note_get(struct store *s, const char *tenant_id, const char *site_id,
                     struct site_note *ret);
int pg_site_note_put(struct store *s, const char *tenant_id, const char *site_id,
                     const char *content, const char *updated_by, struct site_note *ret);
int pg_credential_list(struct store *s, const char *tenant_id, const char *site_id,
                       struct credential **ret, size_t *n);
int pg_credential_rotate(struct store *s, const char *tenant_id, const struct credential *cred,
                         struct credential *ret);
int pg_credential_set_job(struct store *s, const char *cred_id, const char *job_id);
int pg_credential_confirm(struct store *s, const char *site_id, const char *cred_id,
                          bool *ret_changed);
int pg_credential_confirm_job(struct store *s, const char *job_id, bool *ret_changed);
int pg_site_claim_verify(struct store *s, const char *node, int64_t now_s, int64_t interval_s,
                         char ret_id[UUID_STR_LEN]);
int pg_site_by_bootstrap_token(struct store *s, const char *token, struct site *ret);
int pg_site_by_device_token(struct store *s, const char *token, struct site *ret);
int pg_site_adopt(struct store *s, const char *site_id, const struct store_adoption *a);
int pg_site_new_bootstrap(struct store *s, const char *tenant_id, const char *site_id,
                          const char *token);
int pg_site_set_deleting(struct store *s, const char *tenant_id, const char *site_id);
int pg_site_heartbeat(struct store *s, const char *site_id, int64_t now);
int pg_sites_mark_offline(struct store *s, int64_t cutoff, int *ret_n);
int pg_site_get_any(struct store *s, const char *site_id, struct site *ret);
int pg_policy_adopted_sites(struct store *s, const char *policy_id, struct strlist *ret);
int pg_job_insert(struct store *s, const struct job *j);
int pg_job_insert_many(struct store *s, const struct job *jobs, size_t n);
int pg_job_by_idempotency(struct store *s, const char *site_id, const char *key,
                          char ret_id[UUID_STR_LEN]);
int pg_site_grants(struct store *s, const char *site_id, struct grant **ret, size_t *n);
int pg_job_list(struct store *s, const char *tenant_id, const char *site_id,
                const struct store_page *page, struct job **ret, size_t *n);
int pg_job_get(struct store *s, const char *tenant_id, const char *site_id, const char *job_id,
               struct job *ret);
int pg_job_get_any(struct store *s, const char *job_id, struct job *ret);
int pg_job_cancel(struct store *s, const char *tenant_id, const char *site_id, const char *job_id);
int pg_jobs_supersede(struct store *s, const char *site_id, enum job_kind kind,
                      const char *by_job_id, int *ret_n);
int pg_job_supersede(struct store *s, const char *job_id, enum job_kind kind, const char *by_job_id,
                     int *ret_n);
int pg_jobs_pending_count(struct store *s, const char *site_id, long *ret);
int pg_job_event(struct store *s, const char *job_id, const char *kind, const char *message);
int pg_job_claim_pull(struct store *s, const char *site_id, int64_t now_ms, int64_t lease_ms,
                      struct job *ret);
int pg_job_claim_push(struct store *s, int64_t now_ms, int64_t lease_ms, int tenant_max,
                      struct job *ret);
int pg_job_claim_push_batch(struct store *s, struct store_push_claim *c, struct job **ret,
                            size_t *n);
int pg_jobs_take_over(struct store *s, const char *taker, int64_t dead_after_ms, int *ret_n);
int pg_job_finish(struct store *s, const char *job_id, enum job_status status, const char *message);
int pg_job_retry(struct store *s, const char *job_id, int64_t next_ms, const char *message);
int pg_job_router_update(struct store *s, const char *job_id, enum job_router_status status);
int pg_jobs_requeue_expired(struct store *s, int64_t now_ms, int *ret_n);
int pg_job_pull_refused(struct store *s, const char *site_id);
int pg_jobs_requeue_push(struct store *s, const char *owner, int *ret_n);
int pg_grant_insert(struct store *s, struct grant *g, int port_lo, int port_hi);
int pg_grant_list(struct store *s, const char *tenant_id, const char *site_id, enum grant_kind kind,
                  bool active_only, const struct store_page *page, struct grant **ret, size_t *n);
int pg_grant_get(struct store *s, const char *tenant_id, const char *site_id, enum grant_kind kind,
                 const char *id, struct grant *ret);
int pg_grant_get_any(struct store *s, const char *id, struct grant *ret);
int pg_grant_update(struct store *s, const char *id, int64_t expires_at_ms, const uint64_t *rate);
int pg_grant_set_setup_job(struct store *s, const char *id, const char *job_id);
int pg_grant_teardown(struct store *s, const char *id, bool revoked, const char *job_id);
int64_t pg_grants_next_expiry(struct store *s, int64_t after_ms);
int pg_grants_due(struct store *s, int64_t now_ms, int limit, struct strlist *ret);
int pg_grants_claim_due(struct store *s, const char *owner, int64_t now_ms, int64_t lease_ms,
                        int limit, struct store_due_grant **ret, size_t *n);
int pg_grants_take_due(struct store *s, const char *owner, int64_t now_ms, int64_t lease_ms,
                       int limit, struct store_taken_grant **ret, size_t *n);
int pg_grants_lock_claimed(struct store *s, const char *owner, const struct strlist *ids,
                           struct grant **ret, size_t *n);
int pg_grants_expire_many(struct store *s, const char *owner, const struct strlist *ids,
                          const struct strlist *job_ids);
int pg_leases_renew(struct store *s, const char *owner, int64_t lease_ms, int *ret_n);
int pg_grants_live(struct store *s, const char *entry_point, int64_t now_ms, struct grant **ret,
                   size_t *n);
int pg_grant_conn_open(struct store *s, const char *grant_id, const struct grant_connection *c);
int pg_grant_conn_insert(struct store *s, const char *grant_id, const struct grant_connection *c);
int pg_grant_conn_refused(struct store *s, const char *grant_id, const struct grant_connection *c,
                          unsigned max_records);
int pg_grant_conn_prune(struct store *s, int64_t before_ms, int *ret_n);
int pg_grant_conn_list(struct store *s, const char *grant_id, int64_t after_id, int limit,
                       struct grant_connection **ret, size_t *n);
int pg_user_insert(struct store *s, const struct user *u);
int pg_users_by_email(struct store *s, const char *email, struct user **ret, size_t *n);
int pg_user_get(struct store *s, const char *tenant_id, const char *id, struct user *ret);
int pg_user_list(struct store *s, const char *tenant_id, const struct store_page *page,
                 struct user **ret, size_t *n);
int pg_user_update(struct store *s, const struct user *u);
int pg_user_delete(struct store *s, const char *tenant_id, const char *id);
int pg_user_touch_login(struct store *s, const char *id);
int pg_user_count(struct store *s, int *ret);
int pg_session_insert(struct store *s, const char *jti, const char *user_id, int64_t expires_at);
int pg_session_check(struct store *s, const char *jti, int64_t now);
int pg_session_revoke(struct store *s, const char *jti);
int pg_session_revoke_user(struct store *s, const char *user_id);
int pg_login_failure_add(struct store *s, const char *key, int64_t now, int64_t window_s);
int pg_login_failures_get(struct store *s, const char *key, int64_t now, int64_t window_s,
                          int *ret_failures, int64_t *ret_window_start);
int pg_login_failures_clear(struct store *s, const char *key);
int pg_master_key_check(struct store *s, const char *mac, char ret_stored[65]);
int pg_vpn_edge_ensure(struct store *s, const char *entry_point, const struct store_vpn_edge *fresh,
                       struct store_vpn_edge *ret);
int pg_vpn_edge_public(struct store *s, const char *entry_point, char ret[TUNNEL_KEY_B64_LEN + 1]);
int pg_vpn_peers(struct store *s, const char *edge_node, struct store_vpn_peer **ret, size_t *n);
int pg_vpn_rekey_begin(struct store *s, const char *site_id, const char *next_key);
int pg_vpn_rekey_next_seen(struct store *s, const char *site_id, const char *next_key,
                           int64_t handshake_at);
int pg_vpn_rekey_next_state(struct store *s, const char *site_id,
                            char ret_key[TUNNEL_KEY_B64_LEN + 1], int64_t *ret_hs);
int pg_vpn_rekey_commit(struct store *s, const char *site_id, const char *next_key);
int pg_vpn_rekey_abort(struct store *s, const char *site_id, const char *next_key);
int pg_vpn_rekey_rollback(struct store *s, const char *site_id, const char *old_key,
                          const char *next_key);
int pg_vpn_peer_observed(struct store *s, const char *site_id, const char *endpoint,
                         int64_t last_handshake_at, uint64_t rx, uint64_t tx,
                         enum tunnel_status status);
int pg_site_tunnel_assign(struct store *s, const char *site_id, const char *public_key,
                          uint32_t first, uint32_t last, char ret_address[16]);
int pg_site_tunnel_mode(struct store *s, const char *tenant_id, const char *site_id,
                        enum tunnel_mode mode);
int pg_site_by_tunnel_peer(struct store *s, const char *addr, struct site *ret);
int pg_site_event(struct store *s, const char *site_id, const char *kind, const char *message);
int pg_site_events_list(struct store *s, const char *tenant_id, const char *site_id, int limit,
                        struct site_event **ret, size_t *n);
int pg_tunnel_address_taken(struct store *s, const char *site_id, const char *other_tenant_of,
                            const char *addr, bool *ret_taken);
int pg_site_set_edge(struct store *s, const char *site_id, const char *expected_edge,
                     const char *edge_node);
int pg_site_edge_prev(struct store *s, const char *site_id, const char *prev_edge,
                      int64_t wait_until_ms);
int pg_site_edge_peer_ready(struct store *s, const char *site_id, const char *edge_node);
int pg_site_edge_settled(struct store *s, const char *site_id, const char *edge_node);
int pg_edge_site_count(struct store *s, const char *edge_node, long *ret);
int pg_edge_sites(struct store *s, const char *edge_node, int limit, struct strlist *ret);
int pg_edge_adopt_orphans(struct store *s, const char *edge_node, int *ret_n);
int pg_grant_rebind(struct store *s, const struct store_grant_rebind *b, int *ret_port);
int pg_node_register(struct store *s, const struct store_node *n);
int pg_node_heartbeat(struct store *s, const char *name, int64_t *ret_now_ms);
int pg_node_list(struct store *s, int64_t dead_after_ms, struct store_node **ret, size_t *n);
int pg_node_get(struct store *s, const char *name, int64_t dead_after_ms, struct store_node *ret);
int pg_audit_insert(struct store *s, const struct audit_entry *e);
int pg_audit_list(struct store *s, const char *tenant_id, const struct audit_filter *f,
                  const struct store_page *page, struct audit_entry **ret, size_t *n);
int pg_audit_prune(struct store *s, int64_t before_ms, int limit, size_t *ret_n);
int pg_listen_open(struct store *s, struct store_listener **ret);
int pg_listen_wait(struct store *s, struct store_listener *l, int timeout_ms, unsigned *ret_mask);
void pg_listen_close(struct store *s, struct store_listener *l);
int pg_webhook_insert(struct store *s, const struct webhook *h);
int pg_webhook_list(struct store *s, const char *tenant_id, struct webhook **ret, size_t *n);
int pg_webhook_get(struct store *s, const char *tenant_id, const char *id, struct webhook *ret);
int pg_webhook_update(struct store *s, const struct webhook *h);
int pg_webhook_delete(struct store *s, const char *tenant_id, const char *id);
int pg_webhook_claim(struct store *s, const char *owner, int64_t now_ms, int64_t lease_ms,
                     int limit, struct store_webhook_delivery **ret, size_t *n);
int pg_webhook_leases_release(struct store *s, const char *owner);
int pg_webhook_prune(struct store *s, int64_t before_ms, int *ret_n);
int pg_webhook_attempt_record(struct store *s, const char *owner,
                              const struct store_webhook_attempt *a);
int pg_webhook_attempts(struct store *s, const char *tenant_id, const char *hook_id, int limit,
                        struct store_webhook_attempt **ret, size_t *n);
int pg_metrics_get(struct store *s, struct store_metrics *ret);
int pg_fleet_counts(struct store *s, const char *tenant_id, int64_t now_ms,
                    struct store_fleet_counts *ret);
int pg_fleet_sample(struct store *s, int64_t now_ms, int *ret_written);
int pg_fleet_history(struct store *s, const char *tenant_id, int64_t since_ms, int max,
                     struct store_fleet_point **ret, size_t *n);
int pg_fleet_now(struct store *s, const char *tenant_id, int64_t since_ms, int64_t now_ms,
                 struct store_fleet_point *ret);
int pg_site_uptime(struct store *s, const char *tenant_id, const char *site_id,
                   int64_t created_from, int64_t created_to, int64_t since_s,
                   struct store_uptime_day **ret, size_t *n);
/* GENERATED END */

/* Columns read by pg_site_row() (the SQLite backend's SITE_COLUMNS). */
#define PG_SITE_COLUMNS                                                                            \
    "id, tenant_id, name, policy_id, tunnel_address, status, last_seen_at, identity, model, "      \
    "serial_number, software_version, "                                                            \
    "CASE WHEN bootstrap_used_at IS NULL THEN bootstrap_token_sealed END, created_at, "            \
    "updated_at, adopted_at, tunnel_mode, tunnel_status, wg_public_key, tunnel_endpoint, "         \
    "tunnel_handshake_at, tunnel_rx, tunnel_tx, bootstrap_issued_at, edge_node, region"

int pg_site_row(void *ctx, struct pg_stmt *st, void *elem);
/* The webhook outbox (pg_hooks.c): the contract of sqlite_webhook_emit in sqlite_int.h. */
int pg_webhook_emit(struct pg_session *c, enum webhook_event e, const char *object_id,
                    const char *site_id, const char *detail);
int pg_webhook_emit_grants(struct pg_session *c, enum webhook_event e, const struct strlist *ids);
int pg_policy_insert_conn(struct pg_session *c, const struct policy *p);

/* The connection and statement helpers: the contracts of their twins in sqlite_int.h. */
struct pg_session *pg_session(struct store *s);
struct pg_stmt *pg_stmt(struct pg_session *c, const char *sql);
unsigned long pg_stmt_prepares(struct store *s);
struct pg_stmt *pg_prepare(struct store *s, const char *sql, struct pg_session **ret_c);
/* BEGIN (READ COMMITTED) / COMMIT / ROLLBACK, nestable as store_begin. 0 or -EIO. */
int pg_begin(struct pg_session *c);
int pg_commit(struct pg_session *c);
void pg_rollback(struct pg_session *c);
/*
 * One snapshot for the statements of a read that must agree (a policy with its services and
 * sites, a job with its events): REPEATABLE READ READ ONLY, which never fails with a
 * serialization error. pg_read_begin() returns false, and pg_read_end() then does nothing, when
 * a transaction is already open on this connection (the caller's then applies).
 */
bool pg_read_begin(struct pg_session *c);
void pg_read_end(struct pg_session *c, bool began);
struct pg_stmt *pg_begin_stmt(struct store *s, const char *sql, struct pg_session **ret_c,
                              int *ret_err);
int pg_end(struct pg_session *c, int r);
/*
 * Wakes other nodes (enum store_wake bits): inside a transaction one NOTIFY per channel just
 * before its outermost COMMIT (none on rollback), outside one at once. Best effort.
 */
void pg_notify(struct pg_session *c, unsigned mask);
int pg_step_done(struct pg_session *c, struct pg_stmt *st);
int pg_step_changed(struct pg_session *c, struct pg_stmt *st);
/* A pg_step() result to 0 / -errno (PG_ROW and PG_DONE are 0). */
int pg_map_rc(struct pg_session *c, int rc);
int pg_collect(struct pg_session *c, struct pg_stmt *st, size_t elem_size,
               int (*read_row)(void *ctx, struct pg_stmt *st, void *elem), void *ctx,
               void (*release_row)(void *elem), void **ret, size_t *n);
int pg_step_row(struct pg_session *c, struct pg_stmt *st,
                int (*read_row)(void *ctx, struct pg_stmt *st, void *out), void *ctx, void *out);
int pg_read_int(void *ctx, struct pg_stmt *st, void *out);
int pg_read_int64(void *ctx, struct pg_stmt *st, void *out); /* out: int64_t * */
int pg_read_id(void *ctx, struct pg_stmt *st, void *out);
int pg_site_owned(struct pg_session *c, const char *tenant_id, const char *site_id);
/*
 * Array literals for "= ANY(?N::text[])" and "unnest(?N::text[], ...)" (bound as text):
 * items[i] quoted (NULL: a NULL element); ids; integers. Owned.
 */
char *pg_text_array(const char *const *items, size_t n);
char *pg_id_array(const struct strlist *ids);
char *pg_int_array(const int64_t *v, size_t n);

/* Paging (pg_paging.c), as store_page_check / store_bind_page / store_tenant_page_stmt. */
int pg_page_check(struct pg_session *c, enum store_list list, const struct store_page *page,
                  const char *scope, const char *scope2);
void pg_bind_page(struct pg_stmt *st, int i, const struct store_page *page);
struct pg_stmt *pg_tenant_page_stmt(struct store *s, const char *sql, enum store_list list,
                                    const char *tenant_id, const struct store_page *page,
                                    struct pg_session **ret_c, int *ret_err);

/*
 * The cursor: executes on the first step after a reset (PQexecPrepared with the bound
 * values), then returns PG_ROW per row and PG_DONE; -EEXIST for a constraint violation
 * (class 23), -EAGAIN for a serialization failure or deadlock (40001, 40P01), else -EIO.
 */
int pg_step(struct pg_stmt *st);
/* Drops the result (the bindings stay, as sqlite3_reset). */
void pg_reset(struct pg_stmt *st);
void pg_clear_bindings(struct pg_stmt *st);
void pg_bind_text(struct pg_stmt *st, int i, const char *s); /* NULL binds NULL */
void pg_bind_int64(struct pg_stmt *st, int i, int64_t v);
void pg_bind_int(struct pg_stmt *st, int i, int v);
void pg_bind_null(struct pg_stmt *st, int i);
void pg_bind_blob(struct pg_stmt *st, int i, const void *p, int n);
void pg_bind_time(struct pg_stmt *st, int i, int64_t t);        /* 0 -> NULL */
const unsigned char *pg_column_text(struct pg_stmt *st, int i); /* NULL for NULL */
int64_t pg_column_int64(struct pg_stmt *st, int i);
int pg_column_int(struct pg_stmt *st, int i);
bool pg_column_isnull(struct pg_stmt *st, int i);
const void *pg_column_blob(struct pg_stmt *st, int i);
int pg_column_bytes(struct pg_stmt *st, int i); /* a bytea column's decoded length */
int pg_column_count(struct pg_stmt *st);
long pg_changes(struct pg_session *c);
char *pg_col_strdup(struct pg_stmt *st, int i);
void pg_col_copy(struct pg_stmt *st, int i, char *out, size_t outlen);
int64_t pg_col_time(struct pg_stmt *st, int i); /* NULL -> 0 */

#endif
