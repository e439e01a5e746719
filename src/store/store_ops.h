/*
 * store_ops.h - the backend table behind store.h (docs/internals/store.md, "Decision: a
 * struct store_ops vtable"). Internal to src/store: store.c dispatches every public function
 * through s->ops; each backend (sqlite_*.c, pg_*.c) fills one table.
 *
 * The part between the GENERATED markers is written by scripts/dev/store_vtable.py from
 * store.h: do not edit it by hand, run the script after changing a store.h signature.
 */
#ifndef TG_STORE_OPS_H
#define TG_STORE_OPS_H

#include "secrets.h"
#include "store.h"

/* The common head of every backend's store: the backend's struct embeds it first. */
struct store {
    const struct store_ops *ops;
    struct store_secrets secrets; /* loaded by store_open for every backend */
    int schema_version;           /* set by the backend's open */
};

/* Whether n has a name and every string of it fits its field (store_node_register). */
bool store_node_valid(const struct store_node *n);

/*
 * The fleet view's shared rules (fleet.c). An interval of up time [from, to) (Unix seconds)
 * split into its hours within the retention: store_uptime_first() then store_uptime_next()
 * while up_s > 0 (at most 193 hours; an interval ending before the retention has none).
 */
struct store_uptime_span {
    int64_t hour, up_s; /* the hour's start and the seconds of the interval in it */
    int64_t from, to;
};
void store_uptime_first(struct store_uptime_span *sp, int64_t from, int64_t to);
void store_uptime_next(struct store_uptime_span *sp);
/* Adds count sites of that status, tunnel mode and tunnel status (stored names) to c. */
void store_fleet_count_site(struct store_fleet_counts *c, const char *status, const char *mode,
                            const char *tunnel, long long count);
/* Adds count jobs of that status (stored name) to c. */
void store_fleet_count_job(struct store_fleet_counts *c, const char *status, long long count);

/*
 * The job queue's order (issue 14, docs/API.md "Priorities"), SQL shared by both backends.
 * STORE_SQL_HEAD: the rowid of site s's head, its next job: the oldest pending job of its
 * highest class (one seek in the index jobs_queue, migration 0018). STORE_SQL_PENDING_SITES:
 * the recursive CTE ps(site_id) of the sites with pending jobs, one index seek each (a skip
 * scan: neither engine has a loose index scan of its own), so a claim costs a seek per waiting
 * site, not one per pending job nor per site of the fleet. STORE_SQL_TURN: the order across
 * sites: urgent heads first, then the site served least recently (sites.queue_claimed_ms,
 * never served first), then the oldest head; a site's backlog does not keep it in front.
 */
#define STORE_SQL_HEAD                                                                             \
    "(SELECT e.rowid FROM jobs e WHERE e.site_id = s.id AND e.status = 'pending' ORDER BY "        \
    "e.queue_class DESC, e.rowid LIMIT 1)"
#define STORE_SQL_PENDING_SITES                                                                    \
    "ps(site_id) AS (SELECT (SELECT min(site_id) FROM jobs WHERE status = 'pending') UNION ALL "   \
    "SELECT (SELECT min(q.site_id) FROM jobs q WHERE q.status = 'pending' AND q.site_id > "        \
    "ps.site_id) FROM ps WHERE ps.site_id IS NOT NULL)"
#define STORE_SQL_TURN                                                                             \
    "j.queue_class DESC, s.queue_claimed_ms IS NOT NULL, s.queue_claimed_ms, j.rowid"

/*
 * The three statements of a supersession (store_jobs_supersede, store_job_supersede) of the
 * pending jobs matching where (?3 the newer job, ?4 the time): their events, the pending
 * credentials they would have set, the jobs.
 */
#define STORE_SQL_SUPERSEDE(where)                                                                 \
    {                                                                                              \
        "INSERT INTO job_events(job_id, at_ms, kind, message) SELECT id, ?4, 'superseded', "       \
        "'superseded by job ' || ?3 FROM jobs WHERE " where,                                       \
            "UPDATE api_credentials SET state = 'retired', deleted_at = ?4 WHERE state = "         \
            "'pending' AND job_id IN (SELECT id FROM jobs WHERE " where ")",                       \
            "UPDATE jobs SET status = 'superseded', last_error = 'superseded by job ' || ?3 "      \
            "WHERE " where,                                                                        \
    }

/*
 * A grant row's columns (both backends: grants g), with the sealed password as given and
 * column 25, authorized_at, as given. GRANT_COLUMNS for the API: authorized_at is the start of
 * the first accepted connection; GRANT_COLUMNS_NO_AUTH for the edge's hot paths (no scan of
 * the connection records); GRANT_COLUMNS_RELAY for store_grants_live, without the password
 * either (nothing to unseal per grant on every reconcile).
 */
#define GRANT_COLUMNS_WITH(password, authorized_at)                                                \
    "g.id, g.site_id, g.kind, g.entry_point, g.port, g.username, " password ", "                   \
    "g.access_type, g.full_access, g.allow_rfc1918, g.dst_address, g.dst_port, g.masquerade, "     \
    "g.allow_only_cidr, g.rate_limit, g.created_at, g.expires_at_ms, g.revoked_early, "            \
    "g.torn_down_at, g.config_committed_at, g.config_removed_from_site, "                          \
    "g.config_removed_from_mpac, g.setup_job_id, g.teardown_job_id, g.created_by, " authorized_at
#define GRANT_COLUMNS                                                                              \
    GRANT_COLUMNS_WITH("g.password_sealed", "(SELECT min(c.started_ms) FROM grant_connections c "  \
                                            "WHERE c.grant_id = g.id AND c.outcome NOT IN "        \
                                            "('refused', 'limited'))")
#define GRANT_COLUMNS_NO_AUTH GRANT_COLUMNS_WITH("g.password_sealed", "NULL")
#define GRANT_COLUMNS_RELAY GRANT_COLUMNS_WITH("NULL", "NULL")

/* A job row's columns (both backends: jobs j JOIN sites s), the payload as given: j.payload, or in
 * a list only a script's (a list shows a script, not a plan, and a plan is the largest value of the
 * table: reading it meant its overflow pages for every policy job of the page). */
#define JOB_COLUMNS JOB_COLUMNS_WITH("j.payload")
#define JOB_COLUMNS_LISTED JOB_COLUMNS_WITH("CASE WHEN j.is_script <> 0 THEN j.payload END")
#define JOB_COLUMNS_WITH(payload)                                                                  \
    "j.id, j.site_id, s.tenant_id, j.token, j.kind, j.description, " payload ", j.is_script, "     \
    "j.express_execute, j.needs_acknowledgement, j.status, j.attempts, j.next_attempt_ms, "        \
    "j.created_at, j.started_at, j.completed_at, j.failed_at, j.deleted_at, j.last_error, "        \
    "j.created_by, j.idempotency_key, j.queue_class"

/* A job a batch push claim may take (store_job_claim_push_batch), oldest first. */
struct store_claim_candidate {
    char id[UUID_STR_LEN];
    char tenant_id[UUID_STR_LEN];
    int running; /* the tenant's pushes running on the claiming node */
};
/*
 * Which candidates the claim takes: up to limit, oldest first, none that would give a tenant
 * tenant_max (> 0) running pushes on the node. Sets picked[0..n); returns how many.
 */
size_t store_claim_pick(const struct store_claim_candidate *cand, size_t n, int tenant_max,
                        int limit, bool *picked);

/* The keyset-paged lists (sqlite_paging.c, pg_paging.c). */
enum store_list {
    STORE_LIST_SITES = 0, /* scope: tenant id */
    STORE_LIST_JOBS,      /* scope: site id */
    STORE_LIST_GRANTS,    /* scope: site id, scope2: grant kind name */
    STORE_LIST_USERS,     /* scope: tenant id */
    STORE_LIST_API_KEYS,  /* scope: tenant id */
    STORE_LIST_POLICIES,  /* scope: tenant id */
};

struct store_ops {
    const char *name; /* "sqlite", "postgres" */
    /*
     * Opens the database at target (SQLite: the file path; PostgreSQL: the whole URL) and
     * applies the migrations; allocates the backend's struct and returns its head. Logs why it
     * failed (error). 0 or -errno.
     */
    int (*open)(const char *target, struct store **ret);
    /* Closes every connection and frees what open allocated (not the secrets). */
    void (*close)(struct store *s);
    /* GENERATED BEGIN (scripts/dev/store_vtable.py) */
    void (*thread_done)(struct store *s);
    bool (*reachable)(struct store *s);
    bool (*connection_lost)(struct store *s);
    int (*tx_begin)(struct store *s);
    int (*tx_commit)(struct store *s);
    void (*tx_rollback)(struct store *s);
    int (*tx_end)(struct store *s, int r);
    int (*tenant_count)(struct store *s, int *ret);
    int (*tenant_first)(struct store *s, char ret_id[UUID_STR_LEN]);
    int (*tenant_create)(struct store *s, const char *name, const char *mgmt_networks,
                         char ret_id[UUID_STR_LEN]);
    int (*api_key_insert)(struct store *s, const struct api_key *k);
    int (*api_key_authenticate)(struct store *s, const uint8_t hash[APIKEY_HASH_LEN],
                                struct api_key *ret);
    int (*api_key_list)(struct store *s, const char *tenant_id, const struct store_page *page,
                        struct api_key **ret, size_t *n);
    int (*api_key_revoke)(struct store *s, const char *tenant_id, const char *id);
    int (*policy_list)(struct store *s, const char *tenant_id, const struct store_page *page,
                       struct policy **ret, size_t *n);
    int (*policy_get)(struct store *s, const char *tenant_id, const char *id, int with_sites,
                      struct policy *ret);
    int (*policy_get_default)(struct store *s, const char *tenant_id, struct policy *ret);
    int (*policy_insert)(struct store *s, const struct policy *p);
    int (*policy_update)(struct store *s, const struct policy *p);
    int (*policy_delete)(struct store *s, const char *tenant_id, const char *id);
    int (*policy_attach_sites)(struct store *s, const char *tenant_id, const char *policy_id,
                               const struct strlist *site_ids, size_t *ret_bad);
    int (*policies_version)(struct store *s, int64_t *ret);
    int (*site_insert)(struct store *s, const struct site *site, const struct credential *cred);
    int (*site_list)(struct store *s, const char *tenant_id, const struct store_page *page,
                     struct site **ret, size_t *n);
    int (*site_get)(struct store *s, const char *tenant_id, const char *id, struct site *ret);
    int (*site_update)(struct store *s, const struct site *site);
    int (*site_delete)(struct store *s, const char *tenant_id, const char *id);
    int (*site_note_get)(struct store *s, const char *tenant_id, const char *site_id,
                         struct site_note *ret);
    int (*site_note_put)(struct store *s, const char *tenant_id, const char *site_id,
                         const char *content, const char *updated_by, struct site_note *ret);
    int (*credential_list)(struct store *s, const char *tenant_id, const char *site_id,
                           struct credential **ret, size_t *n);
    int (*credential_rotate)(struct store *s, const char *tenant_id, const struct credential *cred,
                             struct credential *ret);
    int (*credential_set_job)(struct store *s, const char *cred_id, const char *job_id);
    int (*credential_confirm)(struct store *s, const char *site_id, const char *cred_id,
                              bool *ret_changed);
    int (*credential_confirm_job)(struct store *s, const char *job_id, bool *ret_changed);
    int (*site_claim_verify)(struct store *s, const char *node, int64_t now_s, int64_t interval_s,
                             char ret_id[UUID_STR_LEN]);
    int (*site_by_bootstrap_token)(struct store *s, const char *token, struct site *ret);
    int (*site_by_device_token)(struct store *s, const char *token, struct site *ret);
    int (*site_adopt)(struct store *s, const char *site_id, const struct store_adoption *a);
    int (*site_new_bootstrap)(struct store *s, const char *tenant_id, const char *site_id,
                              const char *token);
    int (*site_set_deleting)(struct store *s, const char *tenant_id, const char *site_id);
    int (*site_heartbeat)(struct store *s, const char *site_id, int64_t now);
    int (*sites_mark_offline)(struct store *s, int64_t cutoff, int *ret_n);
    int (*site_get_any)(struct store *s, const char *site_id, struct site *ret);
    int (*policy_adopted_sites)(struct store *s, const char *policy_id, struct strlist *ret);
    int (*job_insert)(struct store *s, const struct job *j);
    int (*job_insert_many)(struct store *s, const struct job *jobs, size_t n);
    int (*job_by_idempotency)(struct store *s, const char *site_id, const char *key,
                              char ret_id[UUID_STR_LEN]);
    int (*site_grants)(struct store *s, const char *site_id, struct grant **ret, size_t *n);
    int (*job_list)(struct store *s, const char *tenant_id, const char *site_id,
                    const struct store_page *page, struct job **ret, size_t *n);
    int (*job_get)(struct store *s, const char *tenant_id, const char *site_id, const char *job_id,
                   struct job *ret);
    int (*job_get_any)(struct store *s, const char *job_id, struct job *ret);
    int (*job_cancel)(struct store *s, const char *tenant_id, const char *site_id,
                      const char *job_id);
    int (*jobs_supersede)(struct store *s, const char *site_id, enum job_kind kind,
                          const char *by_job_id, int *ret_n);
    int (*job_supersede)(struct store *s, const char *job_id, enum job_kind kind,
                         const char *by_job_id, int *ret_n);
    int (*jobs_pending_count)(struct store *s, const char *site_id, long *ret);
    int (*job_event)(struct store *s, const char *job_id, const char *kind, const char *message);
    int (*job_claim_pull)(struct store *s, const char *site_id, int64_t now_ms, int64_t lease_ms,
                          struct job *ret);
    int (*job_claim_push)(struct store *s, int64_t now_ms, int64_t lease_ms, int tenant_max,
                          struct job *ret);
    int (*job_claim_push_batch)(struct store *s, struct store_push_claim *c, struct job **ret,
                                size_t *n);
    int (*jobs_take_over)(struct store *s, const char *taker, int64_t dead_after_ms, int *ret_n);
    int (*job_finish)(struct store *s, const char *job_id, enum job_status status,
                      const char *message);
    int (*job_retry)(struct store *s, const char *job_id, int64_t next_ms, const char *message);
    int (*job_router_update)(struct store *s, const char *job_id, enum job_router_status status);
    int (*jobs_requeue_expired)(struct store *s, int64_t now_ms, int *ret_n);
    int (*job_pull_refused)(struct store *s, const char *site_id);
    int (*jobs_requeue_push)(struct store *s, const char *owner, int *ret_n);
    int (*grant_insert)(struct store *s, struct grant *g, int port_lo, int port_hi);
    int (*grant_list)(struct store *s, const char *tenant_id, const char *site_id,
                      enum grant_kind kind, bool active_only, const struct store_page *page,
                      struct grant **ret, size_t *n);
    int (*grant_get)(struct store *s, const char *tenant_id, const char *site_id,
                     enum grant_kind kind, const char *id, struct grant *ret);
    int (*grant_get_any)(struct store *s, const char *id, struct grant *ret);
    int (*grant_update)(struct store *s, const char *id, int64_t expires_at_ms,
                        const uint64_t *rate);
    int (*grant_set_setup_job)(struct store *s, const char *id, const char *job_id);
    int (*grant_teardown)(struct store *s, const char *id, bool revoked, const char *job_id);
    int64_t (*grants_next_expiry)(struct store *s, int64_t after_ms);
    int (*grants_due)(struct store *s, int64_t now_ms, int limit, struct strlist *ret);
    int (*grants_claim_due)(struct store *s, const char *owner, int64_t now_ms, int64_t lease_ms,
                            int limit, struct store_due_grant **ret, size_t *n);
    int (*grants_take_due)(struct store *s, const char *owner, int64_t now_ms, int64_t lease_ms,
                           int limit, struct store_taken_grant **ret, size_t *n);
    int (*grants_lock_claimed)(struct store *s, const char *owner, const struct strlist *ids,
                               struct grant **ret, size_t *n);
    int (*grants_expire_many)(struct store *s, const char *owner, const struct strlist *ids,
                              const struct strlist *job_ids);
    int (*leases_renew)(struct store *s, const char *owner, int64_t lease_ms, int *ret_n);
    int (*grants_live)(struct store *s, const char *entry_point, int64_t now_ms, struct grant **ret,
                       size_t *n);
    /* c->ended_ms 0: an open record; else the whole connection (store_grant_conn_whole) */
    int (*grant_conn_open)(struct store *s, const char *grant_id, const struct grant_connection *c);
    int (*grant_conn_insert)(struct store *s, const char *grant_id,
                             const struct grant_connection *c);
    int (*grant_conn_refused)(struct store *s, const char *grant_id,
                              const struct grant_connection *c, unsigned max_records);
    int (*grant_conn_prune)(struct store *s, int64_t before_ms, int *ret_n);
    int (*grant_conn_list)(struct store *s, const char *grant_id, int64_t after_id, int limit,
                           struct grant_connection **ret, size_t *n);
    int (*user_insert)(struct store *s, const struct user *u);
    int (*users_by_email)(struct store *s, const char *email, struct user **ret, size_t *n);
    int (*user_get)(struct store *s, const char *tenant_id, const char *id, struct user *ret);
    int (*user_list)(struct store *s, const char *tenant_id, const struct store_page *page,
                     struct user **ret, size_t *n);
    int (*user_update)(struct store *s, const struct user *u);
    int (*user_delete)(struct store *s, const char *tenant_id, const char *id);
    int (*user_touch_login)(struct store *s, const char *id);
    int (*user_count)(struct store *s, int *ret);
    int (*session_insert)(struct store *s, const char *jti, const char *user_id,
                          int64_t expires_at);
    int (*session_check)(struct store *s, const char *jti, int64_t now);
    int (*session_revoke)(struct store *s, const char *jti);
    int (*session_revoke_user)(struct store *s, const char *user_id);
    int (*login_failure_add)(struct store *s, const char *key, int64_t now, int64_t window_s);
    int (*login_failures_get)(struct store *s, const char *key, int64_t now, int64_t window_s,
                              int *ret_failures, int64_t *ret_window_start);
    int (*login_failures_clear)(struct store *s, const char *key);
    int (*master_key_check)(struct store *s, const char *mac, char ret_stored[65]);
    int (*vpn_edge_ensure)(struct store *s, const char *entry_point,
                           const struct store_vpn_edge *fresh, struct store_vpn_edge *ret);
    int (*vpn_edge_public)(struct store *s, const char *entry_point,
                           char ret[TUNNEL_KEY_B64_LEN + 1]);
    int (*vpn_peers)(struct store *s, const char *edge_node, struct store_vpn_peer **ret,
                     size_t *n);
    int (*vpn_rekey_begin)(struct store *s, const char *site_id, const char *next_key);
    int (*vpn_rekey_next_seen)(struct store *s, const char *site_id, const char *next_key,
                               int64_t handshake_at);
    int (*vpn_rekey_next_state)(struct store *s, const char *site_id,
                                char ret_key[TUNNEL_KEY_B64_LEN + 1], int64_t *ret_hs);
    int (*vpn_rekey_commit)(struct store *s, const char *site_id, const char *next_key);
    int (*vpn_rekey_abort)(struct store *s, const char *site_id, const char *next_key);
    int (*vpn_rekey_rollback)(struct store *s, const char *site_id, const char *old_key,
                              const char *next_key);
    int (*vpn_peer_observed)(struct store *s, const char *site_id, const char *endpoint,
                             int64_t last_handshake_at, uint64_t rx, uint64_t tx,
                             enum tunnel_status status);
    int (*site_tunnel_assign)(struct store *s, const char *site_id, const char *public_key,
                              uint32_t first, uint32_t last, char ret_address[16]);
    int (*site_tunnel_mode)(struct store *s, const char *tenant_id, const char *site_id,
                            enum tunnel_mode mode);
    int (*site_by_tunnel_peer)(struct store *s, const char *addr, struct site *ret);
    int (*site_event)(struct store *s, const char *site_id, const char *kind, const char *message);
    int (*site_events_list)(struct store *s, const char *tenant_id, const char *site_id, int limit,
                            struct site_event **ret, size_t *n);
    int (*tunnel_address_taken)(struct store *s, const char *site_id, const char *other_tenant_of,
                                const char *addr, bool *ret_taken);
    int (*site_set_edge)(struct store *s, const char *site_id, const char *expected_edge,
                         const char *edge_node);
    int (*site_edge_prev)(struct store *s, const char *site_id, const char *prev_edge,
                          int64_t wait_until_ms);
    int (*site_edge_peer_ready)(struct store *s, const char *site_id, const char *edge_node);
    int (*site_edge_settled)(struct store *s, const char *site_id, const char *edge_node);
    int (*edge_site_count)(struct store *s, const char *edge_node, long *ret);
    int (*edge_sites)(struct store *s, const char *edge_node, int limit, struct strlist *ret);
    int (*edge_adopt_orphans)(struct store *s, const char *edge_node, int *ret_n);
    int (*grant_rebind)(struct store *s, const struct store_grant_rebind *b, int *ret_port);
    int (*node_register)(struct store *s, const struct store_node *n);
    int (*node_heartbeat)(struct store *s, const char *name, int64_t *ret_now_ms);
    int (*node_list)(struct store *s, int64_t dead_after_ms, struct store_node **ret, size_t *n);
    int (*node_get)(struct store *s, const char *name, int64_t dead_after_ms,
                    struct store_node *ret);
    int (*audit_insert)(struct store *s, const struct audit_entry *e);
    int (*audit_list)(struct store *s, const char *tenant_id, const struct audit_filter *f,
                      const struct store_page *page, struct audit_entry **ret, size_t *n);
    int (*audit_prune)(struct store *s, int64_t before_ms, int limit, size_t *ret_n);
    int (*listen_open)(struct store *s, struct store_listener **ret);
    int (*listen_wait)(struct store *s, struct store_listener *l, int timeout_ms,
                       unsigned *ret_mask);
    void (*listen_close)(struct store *s, struct store_listener *l);
    int (*webhook_insert)(struct store *s, const struct webhook *h);
    int (*webhook_list)(struct store *s, const char *tenant_id, struct webhook **ret, size_t *n);
    int (*webhook_get)(struct store *s, const char *tenant_id, const char *id, struct webhook *ret);
    int (*webhook_update)(struct store *s, const struct webhook *h);
    int (*webhook_delete)(struct store *s, const char *tenant_id, const char *id);
    int (*webhook_claim)(struct store *s, const char *owner, int64_t now_ms, int64_t lease_ms,
                         int limit, struct store_webhook_delivery **ret, size_t *n);
    int (*webhook_leases_release)(struct store *s, const char *owner);
    int (*webhook_prune)(struct store *s, int64_t before_ms, int *ret_n);
    int (*webhook_attempt_record)(struct store *s, const char *owner,
                                  const struct store_webhook_attempt *a);
    int (*webhook_attempts)(struct store *s, const char *tenant_id, const char *hook_id, int limit,
                            struct store_webhook_attempt **ret, size_t *n);
    int (*metrics_get)(struct store *s, struct store_metrics *ret);
    int (*fleet_counts)(struct store *s, const char *tenant_id, int64_t now_ms,
                        struct store_fleet_counts *ret);
    int (*fleet_sample)(struct store *s, int64_t now_ms, int *ret_written);
    int (*fleet_history)(struct store *s, const char *tenant_id, int64_t since_ms, int max,
                         struct store_fleet_point **ret, size_t *n);
    int (*fleet_now)(struct store *s, const char *tenant_id, int64_t since_ms, int64_t now_ms,
                     struct store_fleet_point *ret);
    int (*site_uptime)(struct store *s, const char *tenant_id, const char *site_id,
                       int64_t created_from, int64_t created_to, int64_t since_s,
                       struct store_uptime_day **ret, size_t *n);
// clang-format off
#define STORE_OPS_NAMES(X) \
    X(thread_done) \
    X(reachable) \
    X(connection_lost) \
    X(tx_begin) \
    X(tx_commit) \
    X(tx_rollback) \
    X(tx_end) \
    X(tenant_count) \
    X(tenant_first) \
    X(tenant_create) \
    X(api_key_insert) \
    X(api_key_authenticate) \
    X(api_key_list) \
    X(api_key_revoke) \
    X(policy_list) \
    X(policy_get) \
    X(policy_get_default) \
    X(policy_insert) \
    X(policy_update) \
    X(policy_delete) \
    X(policy_attach_sites) \
    X(policies_version) \
    X(site_insert) \
    X(site_list) \
    X(site_get) \
    X(site_update) \
    X(site_delete) \
    X(site_note_get) \
    X(site_note_put) \
    X(credential_list) \
    X(credential_rotate) \
    X(credential_set_job) \
    X(credential_confirm) \
    X(credential_confirm_job) \
    X(site_claim_verify) \
    X(site_by_bootstrap_token) \
    X(site_by_device_token) \
    X(site_adopt) \
    X(site_new_bootstrap) \
    X(site_set_deleting) \
    X(site_heartbeat) \
    X(sites_mark_offline) \
    X(site_get_any) \
    X(policy_adopted_sites) \
    X(job_insert) \
    X(job_insert_many) \
    X(job_by_idempotency) \
    X(site_grants) \
    X(job_list) \
    X(job_get) \
    X(job_get_any) \
    X(job_cancel) \
    X(jobs_supersede) \
    X(job_supersede) \
    X(jobs_pending_count) \
    X(job_event) \
    X(job_claim_pull) \
    X(job_claim_push) \
    X(job_claim_push_batch) \
    X(jobs_take_over) \
    X(job_finish) \
    X(job_retry) \
    X(job_router_update) \
    X(jobs_requeue_expired) \
    X(job_pull_refused) \
    X(jobs_requeue_push) \
    X(grant_insert) \
    X(grant_list) \
    X(grant_get) \
    X(grant_get_any) \
    X(grant_update) \
    X(grant_set_setup_job) \
    X(grant_teardown) \
    X(grants_next_expiry) \
    X(grants_due) \
    X(grants_claim_due) \
    X(grants_take_due) \
    X(grants_lock_claimed) \
    X(grants_expire_many) \
    X(leases_renew) \
    X(grants_live) \
    X(grant_conn_open) \
    X(grant_conn_insert) \
    X(grant_conn_refused) \
    X(grant_conn_prune) \
    X(grant_conn_list) \
    X(user_insert) \
    X(users_by_email) \
    X(user_get) \
    X(user_list) \
    X(user_update) \
    X(user_delete) \
    X(user_touch_login) \
    X(user_count) \
    X(session_insert) \
    X(session_check) \
    X(session_revoke) \
    X(session_revoke_user) \
    X(login_failure_add) \
    X(login_failures_get) \
    X(login_failures_clear) \
    X(master_key_check) \
    X(vpn_edge_ensure) \
    X(vpn_edge_public) \
    X(vpn_peers) \
    X(vpn_rekey_begin) \
    X(vpn_rekey_next_seen) \
    X(vpn_rekey_next_state) \
    X(vpn_rekey_commit) \
    X(vpn_rekey_abort) \
    X(vpn_rekey_rollback) \
    X(vpn_peer_observed) \
    X(site_tunnel_assign) \
    X(site_tunnel_mode) \
    X(site_by_tunnel_peer) \
    X(site_event) \
    X(site_events_list) \
    X(tunnel_address_taken) \
    X(site_set_edge) \
    X(site_edge_prev) \
    X(site_edge_peer_ready) \
    X(site_edge_settled) \
    X(edge_site_count) \
    X(edge_sites) \
    X(edge_adopt_orphans) \
    X(grant_rebind) \
    X(node_register) \
    X(node_heartbeat) \
    X(node_list) \
    X(node_get) \
    X(audit_insert) \
    X(audit_list) \
    X(audit_prune) \
    X(listen_open) \
    X(listen_wait) \
    X(listen_close) \
    X(webhook_insert) \
    X(webhook_list) \
    X(webhook_get) \
    X(webhook_update) \
    X(webhook_delete) \
    X(webhook_claim) \
    X(webhook_leases_release) \
    X(webhook_prune) \
    X(webhook_attempt_record) \
    X(webhook_attempts) \
    X(metrics_get) \
    X(fleet_counts) \
    X(fleet_sample) \
    X(fleet_history) \
    X(fleet_now) \
    X(site_uptime)
    // clang-format on
    /* GENERATED END */
};

extern const struct store_ops store_sqlite_ops;
#ifdef TG_HAVE_POSTGRES
extern const struct store_ops store_pg_ops;
/* The storage errors the PostgreSQL backend counted (store_error_counts adds them). */
void pg_error_counts(unsigned long *ret_full, unsigned long *ret_busy, unsigned long *ret_io);
#endif

#endif
