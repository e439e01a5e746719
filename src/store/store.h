/*
 * store.h - the only door to data (DESIGN.md §5).
 *
 * A struct store is shared by every thread of the daemon; each thread gets its
 * own database connection on first use (SQLite: one connection per thread,
 * WAL, busy timeout, foreign keys on, writes in BEGIN IMMEDIATE). Numbered
 * migrations are applied by store_open(). Secrets that must be shown again
 * (router passwords, bootstrap tokens) are sealed with the master key before
 * they reach the database and opened on the way out: callers only ever see
 * plaintext in the domain structs.
 *
 * Results: 0 on success; -ENOENT when the object does not exist *for that
 * tenant* (another tenant's object is indistinguishable from a missing one);
 * -EEXIST on a uniqueness conflict; -EPERM when a rule forbids the change;
 * -EINVAL when a list's page starts after an id that is no item of the list;
 * -EBADMSG when a job's payload or a grant's password cannot be unsealed
 * (another master key, corrupted data: never an empty value instead);
 * -EIO on a database error.
 *
 * Logging: like every library-style module the store logs only at debug level
 * (the SQL error behind an -EIO, a failed prepare); the caller decides what to
 * report. The exception is store_open(), which alone sees why opening failed:
 * it logs the migrations it applied and a master key it created (info), a key
 * file readable by others (warn), and why the database, its schema or the key
 * could not be used (error).
 *
 * Structs filled by the store are owned by the caller: release them with the
 * domain's *_release() functions. Arrays are freed with the matching
 * store_*_array_free().
 */
#ifndef TG_STORE_H
#define TG_STORE_H

#include "audit.h"
#include "auth.h"
#include "grant.h"
#include "job.h"
#include "policy.h"
#include "rand.h" /* UUID_STR_LEN */
#include "site.h"
#include "user.h"
#include "webhook.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A node's name (TIKGATE_NODE_NAME) with its NUL: the node registry, claims' lease owners. */
#define STORE_NODE_NAME_MAX 64

struct store;

/*
 * One page of a list (keyset paging): the items after the one whose id is
 * after_id, in the list's own order, at most limit (> 0). after_id NULL:
 * from the start. after_id must name an item of the same list (same tenant,
 * site and kind; filters such as active_only aside), else the list returns
 * -EINVAL. A NULL page means the whole list. Borrowed for the call.
 */
struct store_page {
    const char *after_id;
    int limit;
};

/*
 * Opens (creating if needed) the database named by url ("sqlite:PATH", or a
 * libpq URL "postgres://..." / "postgresql://...", refused with -ENOTSUP by a
 * build without the PostgreSQL backend; another scheme: -EINVAL) and the master
 * key in data_dir (created with mode 0600 on first start). Applies the
 * backend's migrations.
 */
int store_open(const char *url, const char *data_dir, struct store **ret);
void store_close(struct store *s);
/* Releases the calling thread's connection (call before a thread exits). */
void store_thread_done(struct store *s);
/*
 * Whether the calling thread reaches the database now. PostgreSQL: a round trip on its
 * connection (SELECT 1; inside a transaction only the connection's state), one the server
 * dropped being re-established first; a server that does not answer costs at most libpq's
 * connect_timeout (5 s unless the URL sets it). SQLite: always true (a file).
 * store_connection_lost: whether the calling thread's last statement failed because its
 * connection dropped or could not be opened (PostgreSQL; SQLite: false); the next call
 * reconnects. Callers ask both after a failure (-EIO) to tell "the database is gone" (503
 * storage_unavailable, the edge's grace period; /healthz degraded) from an error of the
 * request itself.
 */
bool store_reachable(struct store *s);
bool store_connection_lost(struct store *s);
/* Current schema version (number of applied migrations). */
int store_schema_version(struct store *s);

/*
 * Transactions spanning several store calls (nestable; every store function
 * that writes joins the caller's transaction). Returns 0 or -EIO; commit
 * returns -EIO (and rolls back) when any inner step rolled back.
 */
int store_tx_begin(struct store *s);
int store_tx_commit(struct store *s);
void store_tx_rollback(struct store *s);
/*
 * Ends a level begun with store_tx_begin(): commits when r == 0, else rolls
 * back. Returns r, or the commit's error (a failed commit rolls back itself),
 * so a caller ends with `return store_tx_end(s, r);`.
 */
int store_tx_end(struct store *s, int r);

/* Seals/opens a short secret with the master key (hex text). Returned strings are owned. */
char *store_seal_text(struct store *s, const char *plaintext);
char *store_open_text(struct store *s, const char *sealed);

/* --- tenants and API keys --- */
int store_tenant_count(struct store *s, int *ret);
/* The oldest tenant's id (the one bootstrap created). -ENOENT on an empty store. */
int store_tenant_first(struct store *s, char ret_id[UUID_STR_LEN]);
/* Creates a tenant and its default policy in one transaction. */
int store_tenant_create(struct store *s, const char *name, const char *mgmt_networks,
                        char ret_id[UUID_STR_LEN]);
int store_api_key_insert(struct store *s, const struct api_key *k);
/* Finds an active (not revoked) key by hash and marks it used. */
int store_api_key_authenticate(struct store *s, const uint8_t hash[APIKEY_HASH_LEN],
                               struct api_key *ret);
int store_api_key_list(struct store *s, const char *tenant_id, const struct store_page *page,
                       struct api_key **ret, size_t *n);
int store_api_key_revoke(struct store *s, const char *tenant_id, const char *id);
void store_api_key_array_free(struct api_key *a, size_t n);

/* --- policies --- */
int store_policy_list(struct store *s, const char *tenant_id, const struct store_page *page,
                      struct policy **ret, size_t *n);
/* with_sites: also fill p->sites with the ids of the sites on this policy. */
int store_policy_get(struct store *s, const char *tenant_id, const char *id, int with_sites,
                     struct policy *ret);
int store_policy_get_default(struct store *s, const char *tenant_id, struct policy *ret);
/* Inserts p (id, slug, timestamps already set). */
int store_policy_insert(struct store *s, const struct policy *p);
/* Replaces name, services, networks and flags of p->id; sets p->updated_at. -ENOENT if absent. */
int store_policy_update(struct store *s, const struct policy *p);
/* Deletes a non-default policy and moves its sites to the default (-EPERM for the default). */
int store_policy_delete(struct store *s, const char *tenant_id, const char *id);
/*
 * Moves every listed site onto the policy, in one transaction: if any id is not
 * a site of this tenant nothing changes and -ENOENT is returned with the bad
 * id's index in *ret_bad.
 */
int store_policy_attach_sites(struct store *s, const char *tenant_id, const char *policy_id,
                              const struct strlist *site_ids, size_t *ret_bad);
void store_policy_array_free(struct policy *a, size_t n);
/*
 * A number that grows with every write to a policy, its services or which sites use it, by
 * any node (triggers of migration 0020): the version under which the API caches policy
 * answers (api/rcache.c). Read it before the data it versions: an answer built after reading
 * V is at least as new as V.
 */
int store_policies_version(struct store *s, int64_t *ret);

/* --- sites --- */
/* Inserts the site and its first API credential (cred) in one transaction. */
int store_site_insert(struct store *s, const struct site *site, const struct credential *cred);
int store_site_list(struct store *s, const char *tenant_id, const struct store_page *page,
                    struct site **ret, size_t *n);
int store_site_get(struct store *s, const char *tenant_id, const char *id, struct site *ret);
/* Updates name, policy_id and tunnel_address of site->id. */
int store_site_update(struct store *s, const struct site *site);
int store_site_delete(struct store *s, const char *tenant_id, const char *id);
void store_site_array_free(struct site *a, size_t n);

int store_site_note_get(struct store *s, const char *tenant_id, const char *site_id,
                        struct site_note *ret);
int store_site_note_put(struct store *s, const char *tenant_id, const char *site_id,
                        const char *content, const char *updated_by, struct site_note *ret);

/* --- API credentials --- */
/* All rows of a site, oldest first; ip_address/api_port from the site and its policy. */
int store_credential_list(struct store *s, const char *tenant_id, const char *site_id,
                          struct credential **ret, size_t *n);
/*
 * Inserts cred in its state: CURRENT retires every other credential of the site (no router
 * to confirm it: a site not adopted yet); PENDING (two-phase rotation, issue 14) leaves them
 * until store_credential_confirm makes it current once the router has it.
 */
int store_credential_rotate(struct store *s, const char *tenant_id, const struct credential *cred,
                            struct credential *ret);
/* Records job_id as the job that puts credential cred_id on its router. 0, -ENOENT. */
int store_credential_set_job(struct store *s, const char *cred_id, const char *job_id);
/*
 * The router has credential cred_id of site_id (a login with it worked, or the job that sets
 * it completed): it becomes current and every other current one, and pending ones older than
 * it, are retired; newer pending ones stay pending. *ret_changed (may be NULL): whether it
 * was not current before. One transaction. 0, -ENOENT (no such credential of that site).
 */
int store_credential_confirm(struct store *s, const char *site_id, const char *cred_id,
                             bool *ret_changed);
/*
 * The job job_id completed: the credential it set on the router is confirmed as above, even a
 * retired one (the router has what the job set: reality wins, and the next login uses it).
 * *ret_changed as there. 0, -ENOENT (the job sets no credential).
 */
int store_credential_confirm_job(struct store *s, const char *job_id, bool *ret_changed);
void store_credential_array_free(struct credential *a, size_t n);

/*
 * The drift check (issue 14 item 3, jobs/verify.h): claims the adopted, online site that was
 * verified longest ago (never first; an adoption counts as a check: its reply configured the
 * router), not within interval_s of now_s, whose queue is empty
 * (no pending or running job) and that node can reach (a managed site: its edge node, with
 * the tunnel up). The claim sets verified_at = now_s, so no node verifies it again within
 * the interval. PostgreSQL: FOR UPDATE SKIP LOCKED. 0 with ret_id, -ENOENT when none is due.
 */
int store_site_claim_verify(struct store *s, const char *node, int64_t now_s, int64_t interval_s,
                            char ret_id[UUID_STR_LEN]);

/* --- onboarding and devices --- */

/* Finds a site by its bootstrap token (any tenant) while the token is unused. */
int store_site_by_bootstrap_token(struct store *s, const char *token, struct site *ret);
/* Finds a site by its device token (any tenant). */
int store_site_by_device_token(struct store *s, const char *token, struct site *ret);
/* What a router reports when it adopts (all borrowed; NULL fields are stored as NULL). */
struct store_adoption {
    const char *facts; /* the raw "k=v;..." text */
    const char *identity, *model, *serial, *version;
    const char *tunnel_address; /* NULL: keep the site's */
    const char *device_token;   /* stored as its hash only */
};
/* Records adoption of site_id (its bootstrap token unused): status online. 0 or -ENOENT. */
int store_site_adopt(struct store *s, const char *site_id, const struct store_adoption *a);
/* Issues a new single-use bootstrap token (re-onboarding a reset router). */
int store_site_new_bootstrap(struct store *s, const char *tenant_id, const char *site_id,
                             const char *token);
/* status = deleting (a cleanup job is on its way; the row goes when it completes). */
int store_site_set_deleting(struct store *s, const char *tenant_id, const char *site_id);
/* A heartbeat: last_seen_at = now, status online; the first after an adoption also marks the
 * site configured (configured_at, migration 0021: the router ran the whole adoption script,
 * pushes may start). Returns 1 when it came back from offline. */
int store_site_heartbeat(struct store *s, const char *site_id, int64_t now);
/* Marks online sites not seen since cutoff offline. *ret_n: how many. */
int store_sites_mark_offline(struct store *s, int64_t cutoff, int *ret_n);
/* The site (any tenant) for internal roles (dispatcher). */
int store_site_get_any(struct store *s, const char *site_id, struct site *ret);
/* The site ids of a policy that are past onboarding (they get policy jobs). */
int store_policy_adopted_sites(struct store *s, const char *policy_id, struct strlist *ret);

/* --- jobs and the orchestration log --- */

/* Inserts j (id, token, fields set by the caller) and its "created" event. */
int store_job_insert(struct store *s, const struct job *j);
/*
 * Inserts jobs[0..n) as store_job_insert does each (one statement per table on PostgreSQL:
 * the scheduler's batches). Joins the caller's transaction. 0 or -errno (nothing inserted).
 */
int store_job_insert_many(struct store *s, const struct job *jobs, size_t n);
/* The job queued earlier for site_id under idempotency_key. -ENOENT when none. */
int store_job_by_idempotency(struct store *s, const char *site_id, const char *key,
                             char ret_id[UUID_STR_LEN]);
/* Live and not-yet-cleaned grants of a site (for the site's cleanup job). */
int store_site_grants(struct store *s, const char *site_id, struct grant **ret, size_t *n);
/* Newest first. A plan's payload is not unsealed (NULL: the API shows scripts only). */
int store_job_list(struct store *s, const char *tenant_id, const char *site_id,
                   const struct store_page *page, struct job **ret, size_t *n);
/* One job with its events (oldest first). */
int store_job_get(struct store *s, const char *tenant_id, const char *site_id, const char *job_id,
                  struct job *ret);
/* Internal: a job by id only (no events). */
int store_job_get_any(struct store *s, const char *job_id, struct job *ret);
/* pending -> deleted. -EBUSY when the job is no longer pending. */
int store_job_cancel(struct store *s, const char *tenant_id, const char *site_id,
                     const char *job_id);
/*
 * Supersession (issue 14 item 1): every pending job of site_id of kind queued before by_job_id
 * (a newer policy push or API-password rotation) ends as superseded, with a "superseded by
 * job <id>" event; the pending credentials such jobs would have set are retired (never on the
 * router). Joins the caller's transaction. *ret_n (may be NULL): how many.
 */
int store_jobs_supersede(struct store *s, const char *site_id, enum job_kind kind,
                         const char *by_job_id, int *ret_n);
/*
 * The same for one job: job_id, when it is still pending and of kind, ends as superseded by
 * by_job_id (a grant's teardown replacing the grant's setup that has not run: the teardown is
 * urgent and would otherwise run first, and the setup after it would leave the user or rule on
 * the router; docs/API.md "Priorities"). Joins the caller's transaction. *ret_n (may be
 * NULL): 1, or 0 when the job was no longer pending.
 */
int store_job_supersede(struct store *s, const char *job_id, enum job_kind kind,
                        const char *by_job_id, int *ret_n);
/* Pending jobs of site_id (NULL: of every site), for the queue limits of the API. */
int store_jobs_pending_count(struct store *s, const char *site_id, long *ret);
/* Appends an event. */
int store_job_event(struct store *s, const char *job_id, const char *kind, const char *message);
/*
 * Pull: the site's head, its oldest pending job of the highest queue class
 * (urgent before normal, docs/API.md "Priorities"), becomes running (via pull, lease
 * until lease_ms) with a "downloaded" event. -ENOENT when nothing is due, a
 * job of the site is already running, or the site waits for its new edge after a move
 * (store_site_edge_prev's wait_until_ms, not yet passed at now_ms). -EBADMSG when the job's payload
 * cannot be unsealed: that job ended failed (the reason in its log) instead of being handed out,
 * and the next claim takes the next one.
 */
int store_job_claim_pull(struct store *s, const char *site_id, int64_t now_ms, int64_t lease_ms,
                         struct job *ret);
/*
 * Push: the head (as for the pull) of a site with a tunnel address and no running job,
 * when it is express and due, becomes running (via push) with an "express push" event; of
 * several such sites, in the batch claim's order (urgent heads, then the site served least
 * recently, then the oldest head). A
 * managed site's jobs wait while its tunnel is not up (no attempt is spent;
 * the router may still pull them). tenant_max > 0: a tenant with that many jobs already
 * being pushed gets none (worker shares, security-review F9: one tenant's slow routers cannot
 * hold every worker); 0: no share.
 * -ENOENT and -EBADMSG as for the pull.
 */
int store_job_claim_push(struct store *s, int64_t now_ms, int64_t lease_ms, int tenant_max,
                         struct job *ret);
/*
 * A node's batch claim of express pushes (DESIGN.md §11, no leader): the heads of up to limit
 * sites (the rules of store_job_claim_push: one running job per site, a site's urgent jobs
 * first and each class in order, sites in turn: docs/API.md "Priorities"; managed sites only
 * with their tunnel up and only by the node that is their edge: no other node has a route into
 * their tunnel, DESIGN.md §11) become running with lease_owner = owner and lease_until_ms,
 * each with its "pushing" event, in one transaction; each site's queue_claimed_ms is set.
 * tenant_max > 0: a tenant with that many of owner's pushes running gets no more (the share is per
 * node: each node's workers are shared among tenants). PostgreSQL: FOR UPDATE SKIP LOCKED, so nodes
 * claiming at once take different jobs without waiting for each other.
 */
#define STORE_CLAIM_MAX 64
struct store_push_claim {
    const char *owner;      /* the claiming node (TIKGATE_NODE_NAME) */
    int64_t now_ms;         /* due: next_attempt_ms <= now_ms */
    int64_t lease_until_ms; /* the jobs' lease (TIKGATE_JOB_LEASE_MS from now) */
    int tenant_max;         /* 0: no share */
    int limit;              /* 1..STORE_CLAIM_MAX */
    int ret_unsealable;     /* out: claimed jobs whose payload could not be unsealed (failed) */
};
/*
 * 0 with *ret (owned: store_job_array_free) and *n >= 1, -ENOENT when nothing was claimed,
 * -errno. Jobs whose payload cannot be unsealed end failed in the same transaction (the reason
 * in their log) and are counted in c->ret_unsealable instead of being returned.
 */
int store_job_claim_push_batch(struct store *s, struct store_push_claim *c, struct job **ret,
                               size_t *n);
/*
 * Takes the claims of dead nodes over: every running push whose lease_owner is a node other
 * than taker without a heartbeat for dead_after_ms (database clock) goes back to pending with
 * a "requeued" event naming the dead node and taker. Two nodes doing it at once requeue each
 * job once. *ret_n: how many.
 */
int store_jobs_take_over(struct store *s, const char *taker, int64_t dead_after_ms, int *ret_n);
/* running -> completed/failed with an event carrying message. */
int store_job_finish(struct store *s, const char *job_id, enum job_status status,
                     const char *message);
/* running -> pending again at next_ms (attempts + 1), with a "retry" event. */
int store_job_retry(struct store *s, const char *job_id, int64_t next_ms, const char *message);
/*
 * The router reported busy/done/fail for a pull job. -ENOENT, -EBUSY when already final,
 * -EINVAL for a status outside the enum.
 */
int store_job_router_update(struct store *s, const char *job_id, enum job_router_status status);
/* A pulled job downloaded this many times without any report from the router fails. */
#define STORE_PULL_MAX_DOWNLOADS 3
#define STORE_PULL_MAX_DOWNLOADS_STR "3"
/* running jobs whose lease expired go back to pending (a crash, a lost router), except pulled
 * ones that the router started (busy) and never finished, or that were downloaded
 * STORE_PULL_MAX_DOWNLOADS times without a report: those fail with the reason. *ret_n: the
 * re-queued ones. */
int store_jobs_requeue_expired(struct store *s, int64_t now_ms, int *ret_n);
/* The router said it could not run the job it pulled last (/poll "import-failed": RouterOS
 * refused the script before running it): the site's running pulled job that it never started
 * fails with that reason. 0, -ENOENT when there is none, -errno. */
int store_job_pull_refused(struct store *s, const char *site_id);
/*
 * Every running push job of owner (and those claimed without an owner, before migration 0010)
 * goes back to pending: the node's start-up after a crash. Other nodes' pushes stay.
 */
int store_jobs_requeue_push(struct store *s, const char *owner, int *ret_n);
void store_job_array_free(struct job *a, size_t n);

/* --- grants (transient access and forwards) --- */

/*
 * Inserts g with a random free port in [port_lo, port_hi] for g->entry_point
 * (unique among grants not torn down); sets g->port. -EADDRNOTAVAIL when no
 * port could be found. Joins the caller's transaction.
 */
int store_grant_insert(struct store *s, struct grant *g, int port_lo, int port_hi);
/* Newest first; active_only: not torn down and not expired. */
int store_grant_list(struct store *s, const char *tenant_id, const char *site_id,
                     enum grant_kind kind, bool active_only, const struct store_page *page,
                     struct grant **ret, size_t *n);
int store_grant_get(struct store *s, const char *tenant_id, const char *site_id,
                    enum grant_kind kind, const char *id, struct grant *ret);
int store_grant_get_any(struct store *s, const char *id, struct grant *ret);
/*
 * Changes a live grant: a new expiry (expires_at_ms > 0) and/or rate limit
 * (rate != NULL). -EBUSY when it expired or is torn down already.
 */
int store_grant_update(struct store *s, const char *id, int64_t expires_at_ms,
                       const uint64_t *rate);
int store_grant_set_setup_job(struct store *s, const char *id, const char *job_id);
/*
 * Marks a live grant torn down now (revoked_early when revoked), the edge side
 * removed, and records the teardown job. -EBUSY when already torn down.
 */
int store_grant_teardown(struct store *s, const char *id, bool revoked, const char *job_id);
/* The earliest expires_at_ms of a live grant later than after_ms, or 0 when there is none. */
int64_t store_grants_next_expiry(struct store *s, int64_t after_ms);
/* Ids of live grants whose expiry passed (at most limit). */
int store_grants_due(struct store *s, int64_t now_ms, int limit, struct strlist *ret);
/* A due grant claimed for teardown (store_grants_claim_due). */
struct store_due_grant {
    char id[UUID_STR_LEN];
    char prev_owner[STORE_NODE_NAME_MAX]; /* the node whose lease lapsed, "" for none */
};
/*
 * Claims up to limit live grants whose expiry passed (expires_at_ms <= now_ms) and that no
 * other node's lease holds, earliest first: teardown_owner = owner, lease until the database
 * clock's now + lease_ms (renewed by store_leases_renew while owner heartbeats). Grants owner
 * claimed before are claimed again (a teardown that failed). PostgreSQL: FOR UPDATE SKIP
 * LOCKED, so two schedulers claim different grants. *ret owned (free()), NULL when none.
 */
int store_grants_claim_due(struct store *s, const char *owner, int64_t now_ms, int64_t lease_ms,
                           int limit, struct store_due_grant **ret, size_t *n);
/* A due grant taken for teardown in the caller's transaction (store_grants_take_due). */
struct store_taken_grant {
    struct grant g;                       /* read with authorized_at 0 */
    char prev_owner[STORE_NODE_NAME_MAX]; /* the node whose claim lapsed, "" for none */
};
/*
 * Inside the caller's transaction, without writing anything: up to limit live grants whose
 * expiry passed (expires_at_ms <= now_ms) and that no other node's live lease holds (a claim
 * of store_grants_claim_due), earliest first, read and locked until that transaction ends
 * (PostgreSQL: FOR UPDATE SKIP LOCKED, so two schedulers take different grants and a revoke
 * waits; SQLite: the single writer). The transaction's lock is the lease: tear them down in
 * it (store_grants_expire_many with owner) and a crash or a rollback leaves them due, for any
 * node; on PostgreSQL the server also ends that transaction once it sits idle for lease_ms (a
 * node that hangs mid-batch). *ret: store_taken_grant_array_free. -EBADMSG when one's
 * password cannot be unsealed.
 */
int store_grants_take_due(struct store *s, const char *owner, int64_t now_ms, int64_t lease_ms,
                          int limit, struct store_taken_grant **ret, size_t *n);
void store_taken_grant_array_free(struct store_taken_grant *a, size_t n);
/*
 * Inside the caller's transaction: the grants of ids that are still live and claimed by owner,
 * read (authorized_at 0) and locked until that transaction ends (PostgreSQL: FOR UPDATE; a
 * revoke waits, and a node that took a lapsed claim over does not get them), in no particular
 * order. Tear those down, and only those, in the same transaction. *ret:
 * store_grant_array_free. -EBADMSG when one's password cannot be unsealed.
 */
int store_grants_lock_claimed(struct store *s, const char *owner, const struct strlist *ids,
                              struct grant **ret, size_t *n);
/*
 * Marks the expired live grants ids->items[i] torn down with teardown job job_ids->items[i]
 * (store_grant_teardown(s, id, false, job_id) for each: one grant.expired webhook event each,
 * in one statement per table). teardown_owner becomes owner unless owner is NULL. Joins the
 * caller's transaction. -EBUSY when one of them was torn down already (nothing changed then
 * only if the caller rolls back), -EINVAL when the lists differ in length.
 */
int store_grants_expire_many(struct store *s, const char *owner, const struct strlist *ids,
                             const struct strlist *job_ids);
/* Renews owner's claims of due grants: their leases end lease_ms after the database's now. */
int store_leases_renew(struct store *s, const char *owner, int64_t lease_ms, int *ret_n);
/*
 * Live grants of an entry point with their relay target (site tunnel address + port), for the
 * edge: without the access password (empty) nor authorized_at (0), which it does not use.
 */
int store_grants_live(struct store *s, const char *entry_point, int64_t now_ms, struct grant **ret,
                      size_t *n);
void store_grant_array_free(struct grant *a, size_t n);

struct grant_connection {
    int64_t id;        /* the record's id (a paging cursor) */
    uint64_t conn_ref; /* the edge's connection id, 0 = none */
    char source[64];
    int64_t started_ms, ended_ms;
    uint64_t bytes_in, bytes_out;
    char outcome[32];
    uint64_t count; /* connections the record stands for: 1, more for summed refused ones */
};
/* A connection accepted by the edge (conn_ref pairs it with its end). */
int store_grant_conn_open(struct store *s, const char *grant_id, uint64_t conn_ref,
                          const char *source, int64_t started_ms);
/*
 * A connection accepted and already ended (c->ended_ms set, c->outcome its end): one row, as
 * store_grant_conn_open() then store_grant_conn_insert() would leave it, grant.authorized
 * included, for an edge that writes both ends in one batch. 0 or -errno.
 */
int store_grant_conn_whole(struct store *s, const char *grant_id, const struct grant_connection *c);
/* Its end: completes the open record with conn_ref, or inserts one (refused sources). */
int store_grant_conn_insert(struct store *s, const char *grant_id,
                            const struct grant_connection *c);
/*
 * Refused (or limited) connections of a grant summed over an interval (security-review F8):
 * c->count connections from c->source ("*": several) between c->started_ms and c->ended_ms,
 * outcome "refused" or "limited". Inserted as one record while the grant has fewer than
 * max_records such records; from then on added to its newest record of that outcome (source
 * "*" once sources differ), so a flood costs no more rows. 0 or -errno.
 */
int store_grant_conn_refused(struct store *s, const char *grant_id,
                             const struct grant_connection *c, unsigned max_records);
/* Deletes refused/limited records that ended before before_ms; *ret_n (may be NULL): how many. */
int store_grant_conn_prune(struct store *s, int64_t before_ms, int *ret_n);
/* Records of a grant with id > after_id, oldest first, at most limit. */
int store_grant_conn_list(struct store *s, const char *grant_id, int64_t after_id, int limit,
                          struct grant_connection **ret, size_t *n);

/* --- users and sessions --- */

/* -EEXIST: the e-mail is taken in u's tenant (e-mails are unique per tenant, F14). */
int store_user_insert(struct store *s, const struct user *u);
/* Sign-in looks at most this many accounts of one e-mail address (the oldest first). */
#define STORE_USERS_PER_EMAIL 16
#define STORE_USERS_PER_EMAIL_S "16"
/*
 * Every account with this e-mail address, in any tenant, oldest first, at most
 * STORE_USERS_PER_EMAIL (sign-in). *ret owned (free()), NULL when none.
 */
int store_users_by_email(struct store *s, const char *email, struct user **ret, size_t *n);
/* By id: within tenant_id, or any tenant when tenant_id is NULL. */
int store_user_get(struct store *s, const char *tenant_id, const char *id, struct user *ret);
int store_user_list(struct store *s, const char *tenant_id, const struct store_page *page,
                    struct user **ret, size_t *n);
/* Writes role, disabled and password_hash of u->id (in u->tenant_id). */
int store_user_update(struct store *s, const struct user *u);
int store_user_delete(struct store *s, const char *tenant_id, const char *id);
int store_user_touch_login(struct store *s, const char *id);
int store_user_count(struct store *s, int *ret);
int store_session_insert(struct store *s, const char *jti, const char *user_id, int64_t expires_at);
/* 0 when the session exists, is not revoked and has not expired; -ENOENT otherwise. */
int store_session_check(struct store *s, const char *jti, int64_t now);
int store_session_revoke(struct store *s, const char *jti);
/* Revokes every session of a user (password change, disable, delete). */
int store_session_revoke_user(struct store *s, const char *user_id);

/*
 * The failed-sign-in limiter shared by every API node of a store (issue 11 item 5,
 * docs/decisions.md). key is opaque (the API passes a MAC of "e:<e-mail>" / "a:<address>");
 * times are Unix seconds of the calling node; a window is open while window_start > now -
 * window_s. store_login_failure_add counts one failure of key (atomically: a closed window
 * restarts at now with 1) and deletes the rows whose window closed. store_login_failures_get
 * sets the failures and window start of key's open window, -ENOENT when it has none.
 * store_login_failures_clear forgets key (0 also when it had no row).
 */
int store_login_failure_add(struct store *s, const char *key, int64_t now, int64_t window_s);
int store_login_failures_get(struct store *s, const char *key, int64_t now, int64_t window_s,
                             int *ret_failures, int64_t *ret_window_start);
int store_login_failures_clear(struct store *s, const char *key);

/*
 * The master key's check value (0012): stores mac as the installation's when it has none yet,
 * then copies the stored one to ret_stored (the caller compares: a node whose master key
 * differs must not serve). 0 or -errno.
 */
int store_master_key_check(struct store *s, const char *mac, char ret_stored[65]);

/* --- the Management VPN (DESIGN.md §10, docs/internals/store.md) --- */

/* An edge's WireGuard keypair, base64 (the private key is sealed at rest). */
struct store_vpn_edge {
    char private_key[TUNNEL_KEY_B64_LEN + 1];
    char public_key[TUNNEL_KEY_B64_LEN + 1];
};
/*
 * Keeps fresh as entry_point's keypair unless it has one already, then reads
 * back what is stored (so the first key ever stored wins). ret may be fresh.
 * 0, -EBADMSG (the stored private key cannot be unsealed) or -EIO.
 */
int store_vpn_edge_ensure(struct store *s, const char *entry_point,
                          const struct store_vpn_edge *fresh, struct store_vpn_edge *ret);
/* entry_point's public key. -ENOENT when it has none (the VPN never ran there). */
int store_vpn_edge_public(struct store *s, const char *entry_point,
                          char ret[TUNNEL_KEY_B64_LEN + 1]);

/* A managed site as the edge's WireGuard interface needs it. */
struct store_vpn_peer {
    char site_id[UUID_STR_LEN];
    char public_key[TUNNEL_KEY_B64_LEN + 1];
    char address[16];                   /* its /32, IPv4 */
    char endpoint[TUNNEL_ENDPOINT_MAX]; /* last seen, "" when never */
    enum tunnel_status status;
    int64_t last_handshake_at;
    char next_key[TUNNEL_KEY_B64_LEN + 1]; /* a re-key in progress: the router's new key, or "" */
    int64_t next_handshake_at;             /* its first handshake seen by the edge, 0 = none yet */
    /*
     * A move between edges, make-before-break (jobs/edges.h): handover, the site left the
     * asked-for edge, which keeps the router as its peer (and does not observe it) until
     * the new edge settles it; settling, the site came to the asked-for edge and its previous
     * edge still holds it (the first handshake here settles it: store_site_edge_settled);
     * waiting, the site came here and waits for this edge to add its peer
     * (store_site_edge_peer_ready).
     */
    bool handover, settling, waiting;
};
/*
 * Every managed site with a router key and an address (any tenant) that edge_node fronts, or
 * fronted before a move that has not settled yet (NULL: of every edge). *ret: free().
 */
int store_vpn_peers(struct store *s, const char *edge_node, struct store_vpn_peer **ret, size_t *n);
/*
 * Make-before-break re-keying (site.recreate_tunnel): the router made next_key on a second
 * interface while its current key stays the edge's peer. begin records it (and forgets an
 * earlier next key's handshake): 0, -EEXIST (another site has that key, or it is this site's
 * current one), -ENOENT (no such managed site). next_seen records the edge's first handshake
 * with it (only while it is still the site's next key). next_state reads both (*ret_hs 0: none
 * yet). commit makes next_key the site's key when it still is the next one and was seen
 * (the edge then moves the /32 to it and removes the old peer): 0, -ESTALE (not the next key
 * any more, or not seen yet). abort forgets next_key if it still is the next one.
 */
int store_vpn_rekey_begin(struct store *s, const char *site_id, const char *next_key);
int store_vpn_rekey_next_seen(struct store *s, const char *site_id, const char *next_key,
                              int64_t handshake_at);
int store_vpn_rekey_next_state(struct store *s, const char *site_id,
                               char ret_key[TUNNEL_KEY_B64_LEN + 1], int64_t *ret_hs);
int store_vpn_rekey_commit(struct store *s, const char *site_id, const char *next_key);
int store_vpn_rekey_abort(struct store *s, const char *site_id, const char *next_key);
/* Undoes a commit: old_key is the site's key again, next_key its (seen) next one. */
int store_vpn_rekey_rollback(struct store *s, const char *site_id, const char *old_key,
                             const char *next_key);
/* What the edge saw of a site's peer (endpoint NULL or "": keep the last one). */
int store_vpn_peer_observed(struct store *s, const char *site_id, const char *endpoint,
                            int64_t last_handshake_at, uint64_t rx, uint64_t tx,
                            enum tunnel_status status);
/*
 * Makes site_id's tunnel managed with the router's public_key and gives it a
 * /32 in [first, last] (host numbers, tunnel_pool_parse) unless it has one
 * (a re-key keeps the address); unique across all tenants, never an address
 * another site has. Joins the caller's transaction. 0 with ret_address, -EEXIST
 * (another site has that key), -EADDRNOTAVAIL (the pool is full), -ENOENT.
 */
int store_site_tunnel_assign(struct store *s, const char *site_id, const char *public_key,
                             uint32_t first, uint32_t last, char ret_address[16]);
/* Sets a site's tunnel mode (external keeps the address, managed clears nothing). */
int store_site_tunnel_mode(struct store *s, const char *tenant_id, const char *site_id,
                           enum tunnel_mode mode);
/*
 * The managed site whose tunnel /32 is addr (any tenant): a TCP peer with that source address
 * on the edge's node can only be that site's WireGuard peer (security-review F5). -ENOENT.
 */
int store_site_by_tunnel_peer(struct store *s, const char *addr, struct site *ret);
/* Appends an event (tunnel_up, tunnel_down, ...) to the site's orchestration log. */
int store_site_event(struct store *s, const char *site_id, const char *kind, const char *message);
struct site_event {
    int64_t at_ms;
    char kind[32];
    char message[128];
};
/* The site's newest events first, at most limit (> 0). -ENOENT for another tenant's site. */
int store_site_events_list(struct store *s, const char *tenant_id, const char *site_id, int limit,
                           struct site_event **ret, size_t *n);
/*
 * *ret_taken: whether a site other than site_id (NULL: any site) has tunnel address addr;
 * other_tenant_of (NULL: any tenant) counts only sites of tenants other than that one.
 */
int store_tunnel_address_taken(struct store *s, const char *site_id, const char *other_tenant_of,
                               const char *addr, bool *ret_taken);

/* --- sites and their edges (DESIGN.md §11, docs/internals/store.md) --- */

/*
 * Binds site_id to edge_node (NULL: unbinds) when its edge is still expected_edge (NULL: none
 * yet): the compare-and-set two nodes moving one site race on, only one wins. Joins the
 * caller's transaction. 0, -ESTALE (its edge is not expected_edge any more), -ENOENT.
 */
int store_site_set_edge(struct store *s, const char *site_id, const char *expected_edge,
                        const char *edge_node);
/*
 * A managed site moved from prev_edge (NULL: forget it): that edge keeps the router as its
 * WireGuard peer until store_site_edge_settled. wait_until_ms (epoch ms, 0: none): the site's
 * pulled jobs are held back (store_job_claim_pull) until its new edge has the router as a peer
 * (store_site_edge_peer_ready) or until then. 0, -ENOENT. Joins the caller's transaction. On
 * PostgreSQL it wakes the other nodes (their VPN roles add the peer without waiting a pass).
 */
int store_site_edge_prev(struct store *s, const char *site_id, const char *prev_edge,
                         int64_t wait_until_ms);
/*
 * edge_node, the site's edge, configured the router as its WireGuard peer: the site's pulled
 * jobs are not held back any more. 0, -ENOENT (not edge_node's site, or it was not waiting).
 */
int store_site_edge_peer_ready(struct store *s, const char *site_id, const char *edge_node);
/*
 * The site's edge edge_node saw the router's first handshake: the previous edge lets it go.
 * 0, -ENOENT (not edge_node's site, or nothing to settle).
 */
int store_site_edge_settled(struct store *s, const char *site_id, const char *edge_node);
/* How many sites (not being deleted) edge_node fronts: its load. */
int store_edge_site_count(struct store *s, const char *edge_node, long *ret);
/* The ids of the sites (not being deleted) edge_node fronts, oldest first, at most limit. */
int store_edge_sites(struct store *s, const char *edge_node, int limit, struct strlist *ret);
/*
 * Managed sites bound to no edge become edge_node's (an installation upgraded from one node:
 * its only edge terminated every tunnel). *ret_n (may be NULL): how many.
 */
int store_edge_adopt_orphans(struct store *s, const char *edge_node, int *ret_n);
/* A live grant following its site to another edge (borrowed strings). */
struct store_grant_rebind {
    const char *grant_id;
    const char *entry_point; /* the new edge's */
    int port_lo, port_hi;    /* its port range */
    bool any_port;           /* the grant's port may change (not for forwards: see below) */
};
/*
 * Re-binds a live grant to b->entry_point, keeping its port when no other live grant has it
 * there; else, with b->any_port, a free port in [port_lo, port_hi]. (A forward's port is also
 * the router's dst-nat port: it cannot change without a new rule on the router.) Joins the
 * caller's transaction. 0 with *ret_port, -EADDRINUSE (the port is taken there, !any_port),
 * -EADDRNOTAVAIL (no free port found), -EBUSY (torn down already), -ENOENT.
 */
int store_grant_rebind(struct store *s, const struct store_grant_rebind *b, int *ret_port);

/*
 * Moves an installation from SQLite to PostgreSQL (`tikgated migrate-to URL`): copies every
 * row of from (a SQLite store) into to (a PostgreSQL store, freshly migrated, every table
 * empty) in one PostgreSQL transaction, and checks that every table has as many rows on both
 * sides. Sealed secrets are copied as they are: to must use the same master key (data dir).
 * Stop the daemons first. 0 with *ret_rows (rows copied), -EINVAL (not SQLite to PostgreSQL),
 * -EEXIST (to has rows), -EPROTO (schema versions or tables differ), -ENOTSUP (built without
 * PostgreSQL), -EIO.
 */
int store_copy(struct store *from, struct store *to, long *ret_rows);

/* A key for purpose (a short label) derived from the master key. */
void store_derive_key(struct store *s, const char *purpose, unsigned char *out, size_t len);

/* --- the node registry (DESIGN.md §11, docs/internals/store.md "Nodes and leases") --- */

struct store_node {
    char name[STORE_NODE_NAME_MAX];
    char roles[64];        /* as TIKGATE_ROLES, normalised "api,scheduler,dispatcher,edge" */
    char region[64];       /* TIKGATE_REGION, "" for none */
    char entry_point[256]; /* "" when the node has no edge role */
    char wg_endpoint[256]; /* host:port routers dial, "" without a VPN */
    char tunnel_pool[64];  /* its IPv4 prefix, "" without a VPN */
    int port_lo, port_hi;  /* edge port range, 0 without the edge role */
    int64_t started_at_ms, heartbeat_at_ms; /* database clock */
    bool alive; /* heartbeat_at_ms within dead_after_ms of the database clock's now */
};
/*
 * Upserts n by name (a restarted node keeps its name) with heartbeat = started = the database
 * clock's now. Strings longer than their field are -EINVAL. 0 or -errno.
 */
int store_node_register(struct store *s, const struct store_node *n);
/* heartbeat_at = database now; *ret_now_ms (may be NULL) = that now. -ENOENT unknown. */
int store_node_heartbeat(struct store *s, const char *name, int64_t *ret_now_ms);
/* Every node, by name; alive computed against dead_after_ms (3 heartbeats). *ret: free(). */
int store_node_list(struct store *s, int64_t dead_after_ms, struct store_node **ret, size_t *n);
/* One node by name, alive as in store_node_list. -ENOENT unknown. */
int store_node_get(struct store *s, const char *name, int64_t dead_after_ms,
                   struct store_node *ret);

/* --- the audit log of actions (domain/audit.h, docs/API.md "Audit log") --- */

/* Appends e (borrowed; id, tenant_id and at_ms set). Entries are never updated. */
int store_audit_insert(struct store *s, const struct audit_entry *e);
/*
 * A tenant's entries matching f (NULL: all), newest first (at_ms, then id, descending), keyset
 * paged: page->after_id names the last entry of the previous page (-EINVAL when it is not
 * one of this tenant's). *ret owned (free()), NULL when none.
 */
int store_audit_list(struct store *s, const char *tenant_id, const struct audit_filter *f,
                     const struct store_page *page, struct audit_entry **ret, size_t *n);
/* Deletes at most limit entries (all tenants) older than before_ms, oldest first; the count
 * in *ret_n. Bounded so that a prune on the request path stays short. */
int store_audit_prune(struct store *s, int64_t before_ms, int limit, size_t *ret_n);
/*
 * --- wake-ups between nodes (DESIGN.md §11) ---
 * PostgreSQL: a transaction that queues an express job, or creates, changes or revokes a
 * grant, sends one payload-free NOTIFY (channel tikgate_wake) with its commit: at most one per
 * transaction, never one per row. Other nodes' schedulers, dispatchers and edges LISTEN on a
 * dedicated connection and wake. Polling stays the fallback: a missed notification costs
 * latency only. SQLite has none (one machine: the daemon's own in-process wake-ups).
 */
enum store_wake {
    STORE_WAKE_JOBS = 1u << 0,    /* an express job was queued */
    STORE_WAKE_GRANTS = 1u << 1,  /* a grant was created or changed */
    STORE_WAKE_TUNNELS = 1u << 2, /* a managed site came to another edge */
};
struct store_listener;
/* Opens the listening connection. 0 with *ret, -ENOTSUP (SQLite), -EIO. */
int store_listen_open(struct store *s, struct store_listener **ret);
/*
 * Waits up to timeout_ms for notifications. 0 with *ret_mask (enum store_wake bits; 0 on
 * timeout; one channel carries every kind, so a wake-up sets all of them), or -EIO when the
 * connection broke (slept for timeout_ms; the next call connects again and reports STORE_WAKE_JOBS
 * | STORE_WAKE_GRANTS, as notifications may have been lost).
 */
int store_listen_wait(struct store *s, struct store_listener *l, int timeout_ms,
                      unsigned *ret_mask);
/* Accepts NULL l. */
void store_listen_close(struct store *s, struct store_listener *l);

/* --- webhooks (sqlite_hooks.c / pg_hooks.c, docs/webhooks.md) --- */

/*
 * Inserts h (id, tenant_id, url, events, enabled, secret: sealed here, created_at) unless its
 * tenant has WEBHOOK_MAX_PER_TENANT hooks already. 0, -EDQUOT at the cap, -EIO.
 */
int store_webhook_insert(struct store *s, const struct webhook *h);
/* The tenant's hooks, oldest first, without their secrets. *ret: free with
 * store_webhook_array_free(). */
int store_webhook_list(struct store *s, const char *tenant_id, struct webhook **ret, size_t *n);
/* One hook of the tenant without its secret. -ENOENT. */
int store_webhook_get(struct store *s, const char *tenant_id, const char *id, struct webhook *ret);
/* Sets url, events and enabled of the tenant's hook h->id, updated_at = now. 0, -ENOENT. */
int store_webhook_update(struct store *s, const struct webhook *h);
/* Deletes the tenant's hook with its pending deliveries and its log. 0, -ENOENT. */
int store_webhook_delete(struct store *s, const char *tenant_id, const char *id);
void store_webhook_array_free(struct webhook *a, size_t n);

/* A delivery claimed for sending: the event and the hook (with its secret, unsealed). */
struct store_webhook_delivery {
    int64_t id;
    int attempts; /* failed so far */
    struct webhook hook;
    char event_id[UUID_STR_LEN];
    enum webhook_event type;
    char object_id[UUID_STR_LEN];
    char site_id[UUID_STR_LEN]; /* "" when none */
    char *detail;               /* NULL when none */
    int64_t created_at_ms;
};
/*
 * Claims up to limit pending deliveries due at now_ms (of enabled hooks) whose lease is free
 * or expired, for owner until now_ms + lease_ms (PostgreSQL: FOR UPDATE SKIP LOCKED, so two
 * nodes never claim the same one). *ret: free with store_webhook_delivery_array_free(). A
 * delivery whose secret cannot be unsealed is failed (-EBADMSG in its log) and skipped.
 */
int store_webhook_claim(struct store *s, const char *owner, int64_t now_ms, int64_t lease_ms,
                        int limit, struct store_webhook_delivery **ret, size_t *n);
void store_webhook_delivery_array_free(struct store_webhook_delivery *a, size_t n);
/*
 * Frees the leases held by owner: a starting node (names are unique) sends nothing yet, so
 * what an earlier process of it claimed is due again at once. 0 or -EIO.
 */
int store_webhook_leases_release(struct store *s, const char *owner);
/*
 * Deletes the events created before before_ms none of whose deliveries is pending (their
 * deliveries and attempts go with them). *ret_n: how many. 0 or -EIO.
 */
int store_webhook_prune(struct store *s, int64_t before_ms, int *ret_n);

/* One attempt of a delivery, as the delivery log keeps it. */
struct store_webhook_attempt {
    int64_t delivery_id;
    char hook_id[UUID_STR_LEN];
    int attempt;     /* 1 for the first */
    int64_t at_ms;   /* when it started */
    int status_code; /* the HTTP status, 0 without an answer */
    char error[256]; /* "" when none */
    int64_t duration_ms;
    int64_t next_at_ms;                /* the retry, 0 when none follows */
    enum webhook_delivery_state state; /* of the delivery after this attempt */
    char event_id[UUID_STR_LEN];       /* read by store_webhook_attempts */
    enum webhook_event type;           /* read by store_webhook_attempts */
};
/*
 * Records attempt a of a delivery claimed by owner: the log row (the hook keeps its last
 * WEBHOOK_ATTEMPTS_KEPT), and the delivery's state a->state (pending again at a->next_at_ms,
 * delivered or failed) with the lease released. 0, -ENOENT when owner no longer holds it.
 */
int store_webhook_attempt_record(struct store *s, const char *owner,
                                 const struct store_webhook_attempt *a);
/* The tenant's hook's last limit attempts, newest first. -ENOENT for no such hook. */
int store_webhook_attempts(struct store *s, const char *tenant_id, const char *hook_id, int limit,
                           struct store_webhook_attempt **ret, size_t *n);

/* --- metrics (all tenants together) --- */

struct store_metrics {
    long tenants;
    long sites[SITE_STATUS_COUNT]; /* by enum site_status */
    long jobs[JOB_STATUS_COUNT];   /* by enum job_status */
    long grants_live[2];           /* by enum grant_kind: not torn down, not expired */
    long users;
    /* SQLite's one writer of this process (has_writer: the backend has one; PostgreSQL has
     * not): its holds, the microseconds it was held, the COMMITs (a group is one). Counters
     * since the start. */
    bool has_writer;
    unsigned long long writer_holds, writer_held_us, writer_commits;
};
int store_metrics_get(struct store *s, struct store_metrics *ret);

/* --- the fleet view (migration 0016, issue 12 item 4, docs/internals/store.md) --- */

#define STORE_FLEET_STEP_MS 300000 /* one sample per tenant every 5 minutes */
#define STORE_FLEET_KEEP_S 691200  /* samples and uptime hours are kept 8 days */

/* A tenant's counts now. */
struct store_fleet_counts {
    long sites[SITE_STATUS_COUNT]; /* by enum site_status */
    long tunnels_down;             /* managed sites whose tunnel is down */
    long jobs[JOB_STATUS_COUNT];   /* by enum job_status */
    long grants_live;              /* not torn down, not expired at now_ms */
};
int store_fleet_counts(struct store *s, const char *tenant_id, int64_t now_ms,
                       struct store_fleet_counts *ret);
/*
 * Samples every tenant at the 5-minute boundary at or before now_ms (at_ms), unless that
 * boundary has its samples already (several schedulers: the first one writes), then prunes
 * samples and uptime hours older than STORE_FLEET_KEEP_S. A sample: the grants live at now_ms
 * and the relayed connections accepted in [at_ms - STORE_FLEET_STEP_MS, at_ms).
 * *ret_written: tenants sampled (0 when the boundary had its samples).
 */
int store_fleet_sample(struct store *s, int64_t now_ms, int *ret_written);
struct store_fleet_point {
    int64_t at_ms;
    long live_grants, connections;
};
/* The tenant's samples with at_ms >= since_ms, oldest first, at most max. *ret: free(). */
int store_fleet_history(struct store *s, const char *tenant_id, int64_t since_ms, int max,
                        struct store_fleet_point **ret, size_t *n);
/* The point of now_ms: grants live then, connections accepted in [since_ms, now_ms). */
int store_fleet_now(struct store *s, const char *tenant_id, int64_t since_ms, int64_t now_ms,
                    struct store_fleet_point *ret);
/* Seconds a site was up on one day of a window (day: 0 = the window's first). */
struct store_uptime_day {
    char site_id[UUID_STR_LEN];
    int day;
    long up_s;
};
/*
 * Up seconds by site and day since since_s (a day: 86400 s from since_s on) for the tenant's
 * sites created in [created_from, created_to] (site_id non-NULL: that site only), by site then
 * day; days without up time are absent. At most 8 rows a site (the retention). *ret: free().
 */
int store_site_uptime(struct store *s, const char *tenant_id, const char *site_id,
                      int64_t created_from, int64_t created_to, int64_t since_s,
                      struct store_uptime_day **ret, size_t *n);
/*
 * Storage errors since start (all stores of the process): a full disk or database
 * (-ENOSPC), a write lock not had within the busy timeout (-EAGAIN: retry later; -EBUSY
 * stays the domain's "already started"), other I/O (-EIO).
 * Every store function returns those -errno values for them; the API answers 507
 * storage_full and 503 storage_busy / storage_unavailable (docs/errors.md).
 */
void store_error_counts(unsigned long *ret_full, unsigned long *ret_busy, unsigned long *ret_io);

/* HMAC-SHA256 of msg under a key derived from the master key, as 64 hex characters. */
void store_mac_hex(struct store *s, const char *msg, char out[65]);
/* Constant-time check of a hex MAC produced by store_mac_hex. */
bool store_mac_verify(struct store *s, const char *msg, const char *hex);

#endif
