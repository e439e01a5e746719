/*
 * sqlite_jobs.c - jobs and their events (the orchestration log) in the SQLite store.
 *
 * Claiming is a single UPDATE ... WHERE id = (SELECT ...) inside BEGIN
 * IMMEDIATE, so two workers (or a poll and a push) never take the same job,
 * and a site never has two running jobs: jobs of one site run in order.
 */
#include "alloc.h"
#include "sqlite_int.h"
#include "timefmt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The reason logged when a claimed job's payload cannot be unsealed. */
#define UNSEALABLE "payload cannot be unsealed: wrong master key or corrupted data"

/*
 * Payloads can hold secrets (router passwords): they are sealed at rest like
 * them. A payload that cannot be unsealed fails the read with -EBADMSG (it is
 * never delivered as an empty plan); nothing is left in j to release then.
 * with_plan false (the API's job lists): a plan's payload is not unsealed (NULL; lists show a
 * job's script only), a script's is.
 */
static int read_job_as(struct store *s, sqlite3_stmt *st, struct job *j, bool with_plan)
{
    const char *sealed = (const char *)sqlite3_column_text(st, 6);
    bool wanted = with_plan || sqlite3_column_int(st, 7) != 0;
    char *payload = sealed && wanted ? store_open_text(s, sealed) : NULL;
    if (!payload && wanted)
        return -EBADMSG;
    memset(j, 0, sizeof *j);
    col_copy(st, 0, j->id, sizeof j->id);
    col_copy(st, 1, j->site_id, sizeof j->site_id);
    col_copy(st, 2, j->tenant_id, sizeof j->tenant_id);
    col_copy(st, 3, j->token, sizeof j->token);
    if (job_kind_parse((const char *)sqlite3_column_text(st, 4), &j->kind) < 0)
        j->kind = JOB_KIND_COUNT;
    j->description = col_strdup(st, 5);
    j->payload = payload;
    j->is_script = sqlite3_column_int(st, 7) != 0;
    j->express = sqlite3_column_int(st, 8) != 0;
    j->needs_ack = sqlite3_column_int(st, 9) != 0;
    const char *status = (const char *)sqlite3_column_text(st, 10);
    if (!status || job_status_parse(status, &j->status) < 0)
        j->status = JOB_PENDING;
    j->attempts = sqlite3_column_int(st, 11);
    j->next_attempt_ms = sqlite3_column_int64(st, 12);
    j->created_at = col_time(st, 13);
    j->started_at = col_time(st, 14);
    j->completed_at = col_time(st, 15);
    j->failed_at = col_time(st, 16);
    j->deleted_at = col_time(st, 17);
    j->last_error = col_strdup(st, 18);
    j->created_by = col_strdup(st, 19);
    j->idempotency_key = col_strdup(st, 20);
    j->queue_class = sqlite3_column_int(st, 21) > 0 ? JOB_CLASS_URGENT : JOB_CLASS_NORMAL;
    return 0;
}

static int read_job(struct store *s, sqlite3_stmt *st, struct job *j)
{
    return read_job_as(s, st, j, true);
}

static int add_event(struct store_conn *c, const char *job_id, const char *kind, const char *msg)
{
    static const char sql[] =
        "INSERT INTO job_events(job_id, at_ms, kind, message) VALUES (?, ?, ?, ?)";
    sqlite3_stmt *st = store_stmt(c, sql);
    if (!st)
        return -EIO;
    bind_text(st, 1, job_id);
    sqlite3_bind_int64(st, 2, time_now_ms());
    bind_text(st, 3, kind);
    bind_text(st, 4, msg ? msg : "");
    return store_step_done(c, st);
}

int sqlite_job_event(struct store *s, const char *job_id, const char *kind, const char *message)
{
    struct store_conn *c = store_conn(s);
    return c ? add_event(c, job_id, kind, message) : -EIO;
}

int sqlite_job_insert_many(struct store *s, const struct job *jobs, size_t n)
{
    struct store_conn *c = store_conn(s);
    if (!c)
        return -EIO;
    int r = store_begin(c);
    if (r < 0)
        return r;
    for (size_t i = 0; r == 0 && i < n; i++)
        r = sqlite_job_insert(s, &jobs[i]);
    return store_end(c, r);
}

int sqlite_job_insert(struct store *s, const struct job *j)
{
    struct store_conn *c;
    static const char sql[] =
        "INSERT INTO jobs(id, site_id, token, kind, description, payload, is_script, "
        "express_execute, needs_acknowledgement, status, next_attempt_ms, created_at, "
        "created_by, idempotency_key, queue_class) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', "
        "?, "
        "?, ?, ?, ?)";
    int r;
    sqlite3_stmt *st = store_begin_stmt(s, sql, &c, &r);
    if (!st)
        return r;
    bind_text(st, 1, j->id);
    bind_text(st, 2, j->site_id);
    bind_text(st, 3, j->token);
    bind_text(st, 4, job_kind_name(j->kind));
    bind_text(st, 5, j->description);
    char *sealed = store_seal_text(s, j->payload);
    bind_text(st, 6, sealed);
    free(sealed);
    sqlite3_bind_int(st, 7, j->is_script);
    sqlite3_bind_int(st, 8, j->express);
    sqlite3_bind_int(st, 9, j->needs_ack);
    sqlite3_bind_int64(st, 10, j->next_attempt_ms);
    sqlite3_bind_int64(st, 11, j->created_at);
    bind_text(st, 12, j->created_by);
    bind_text(st, 13, j->idempotency_key);
    sqlite3_bind_int(st, 14, j->queue_class);
    r = store_step_done(c, st);
    if (r < 0)
        goto out_end_tx;
    r = add_event(c, j->id, "created", j->description);
    if (r == 0 && j->express)
        r = add_event(c, j->id, "express_requested", "Express execution requested");
out_end_tx:
    return store_end(c, r);
}

static int job_row(void *ctx, sqlite3_stmt *st, void *elem)
{
    return read_job(ctx, st, elem);
}

/* A row of the API's job list: no plan unsealed (read_job_as). */
static int job_row_listed(void *ctx, sqlite3_stmt *st, void *elem)
{
    return read_job_as(ctx, st, elem, false);
}

/* The status and needs_acknowledgement of a job row, for the checks before a write. */
struct job_state {
    enum job_status status;
    bool needs_ack;
};

static int state_row(void *ctx, sqlite3_stmt *st, void *out)
{
    (void)ctx;
    struct job_state *x = out;
    const char *status = (const char *)sqlite3_column_text(st, 0);
    if (!status || job_status_parse(status, &x->status) < 0)
        x->status = JOB_PENDING; /* as read_job */
    x->needs_ack = sqlite3_column_count(st) > 1 && sqlite3_column_int(st, 1) != 0;
    return 0;
}

static void job_release_elem(void *elem)
{
    job_release(elem);
}

int sqlite_job_by_idempotency(struct store *s, const char *site_id, const char *key,
                              char ret_id[UUID_STR_LEN])
{
    static const char sql[] = "SELECT id FROM jobs WHERE site_id = ? AND idempotency_key = ?";
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    bind_text(st, 1, site_id);
    bind_text(st, 2, key);
    return store_step_row(c, st, store_read_id, NULL, ret_id);
}

int sqlite_job_list(struct store *s, const char *tenant_id, const char *site_id,
                    const struct store_page *page, struct job **ret, size_t *n)
{
    struct store_conn *c = store_conn(s);
    /* the site first (CROSS JOIN: one row, by its key), then its jobs from jobs_site_recent
     * in rowid order: the page is read in order, nothing sorted (migration 0023) */
    static const char sql[] =
        "SELECT " JOB_COLUMNS_LISTED " FROM sites s CROSS JOIN jobs j "
        "WHERE s.id = ?1 AND s.tenant_id = ?2 AND j.site_id = ?1 AND "
        "(?3 IS NULL OR j.rowid < (SELECT p.rowid FROM jobs p WHERE p.id = ?3)) "
        "ORDER BY j.rowid DESC LIMIT ?4";
    if (!c)
        return -EIO;
    int r = store_site_owned(c, tenant_id, site_id);
    if (r == 0)
        r = store_page_check(c, STORE_LIST_JOBS, page, site_id, NULL);
    if (r < 0)
        return r;
    sqlite3_stmt *st = store_stmt(c, sql);
    if (!st)
        return -EIO;
    bind_text(st, 1, site_id);
    bind_text(st, 2, tenant_id);
    store_bind_page(st, 3, page);
    return store_collect(c, st, sizeof **ret, job_row_listed, s, job_release_elem, (void **)ret, n);
}

static int read_events(struct store_conn *c, struct job *j)
{
    static const char sql[] =
        "SELECT at_ms, kind, message FROM job_events WHERE job_id = ? ORDER BY id";
    sqlite3_stmt *st = store_stmt(c, sql);
    if (!st)
        return -EIO;
    bind_text(st, 1, j->id);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        j->events = xrealloc(j->events, (j->nevents + 1) * sizeof *j->events);
        struct job_event *e = &j->events[j->nevents++];
        e->at_ms = sqlite3_column_int64(st, 0);
        e->kind = col_strdup(st, 1);
        e->message = col_strdup(st, 2);
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : store_map_rc(c, rc);
}

int sqlite_job_get(struct store *s, const char *tenant_id, const char *site_id, const char *job_id,
                   struct job *ret)
{
    static const char sql[] = "SELECT " JOB_COLUMNS " FROM jobs j JOIN sites s ON s.id = j.site_id "
                              "WHERE j.id = ? AND j.site_id = ? AND s.tenant_id = ?";
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    bind_text(st, 1, job_id);
    bind_text(st, 2, site_id);
    bind_text(st, 3, tenant_id);
    int r = store_step_row(c, st, job_row, s, ret);
    if (r < 0)
        return r;
    r = read_events(c, ret);
    if (r < 0)
        job_release(ret);
    return r;
}

int sqlite_job_get_any(struct store *s, const char *job_id, struct job *ret)
{
    static const char sql[] =
        "SELECT " JOB_COLUMNS " FROM jobs j JOIN sites s ON s.id = j.site_id WHERE j.id = ?";
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    bind_text(st, 1, job_id);
    return store_step_row(c, st, job_row, s, ret);
}

/* Runs an UPDATE on one job and adds an event, in one transaction; -ENOENT if no row changed. */
static int update_with_event(struct store *s, const char *sql, const char *job_id, int64_t a,
                             const char *text, const char *kind, const char *msg)
{
    struct store_conn *c;
    int r;
    sqlite3_stmt *st = store_begin_stmt(s, sql, &c, &r);
    if (!st)
        return r;
    sqlite3_bind_int64(st, 1, a);
    bind_text(st, 2, text);
    bind_text(st, 3, job_id);
    r = store_step_done(c, st);
    if (r < 0)
        goto out_end_tx;
    if (sqlite3_changes(c->db) == 0) {
        r = -ENOENT;
        goto out_end_tx;
    }
    r = add_event(c, job_id, kind, msg);
out_end_tx:
    return store_end(c, r);
}

/* The check and the write in one transaction: the job cannot move in between. */
int sqlite_job_cancel(struct store *s, const char *tenant_id, const char *site_id,
                      const char *job_id)
{
    static const char q[] = "SELECT j.status FROM jobs j JOIN sites s ON s.id = j.site_id "
                            "WHERE j.id = ? AND j.site_id = ? AND s.tenant_id = ?";
    static const char sql[] = "UPDATE jobs SET status = 'deleted', deleted_at = ?1, "
                              "last_error = ?2 WHERE id = ?3 AND status = 'pending'";
    struct store_conn *c;
    int r;
    sqlite3_stmt *st = store_begin_stmt(s, q, &c, &r);
    if (!st)
        return r;
    bind_text(st, 1, job_id);
    bind_text(st, 2, site_id);
    bind_text(st, 3, tenant_id);
    struct job_state cur;
    r = store_step_row(c, st, state_row, NULL, &cur);
    if (r == 0 && cur.status != JOB_PENDING)
        r = -EBUSY;
    if (r == 0) {
        r = update_with_event(s, sql, job_id, time_now(), NULL, "deleted", "Job deleted");
        if (r == -ENOENT)
            r = -EBUSY;
    }
    return store_end(c, r);
}

/*
 * The site of job_id was served now: the batch claim's turn among sites whose heads are of one
 * class (sites.queue_claimed_ms, migration 0018).
 */
static int mark_served(struct store_conn *c, const char *job_id)
{
    static const char sql[] = "UPDATE sites SET queue_claimed_ms = ?1 WHERE id = (SELECT site_id "
                              "FROM jobs WHERE id = ?2)";
    sqlite3_stmt *st = store_stmt(c, sql);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, time_now_ms());
    bind_text(st, 2, job_id);
    return store_step_done(c, st);
}

/*
 * The common part of claiming: runs the bound claim UPDATE ... RETURNING id
 * inside the transaction begun by the caller, reads the job, logs the event
 * and ends the transaction. -ENOENT when nothing was claimed. A job whose
 * payload cannot be unsealed is not handed out: it ends failed, with the
 * reason in its log, in the same transaction, and -EBADMSG is returned (the
 * caller logs it and claims again: the next job is another one).
 */
static int finish_claim(struct store *s, struct store_conn *c, sqlite3_stmt *st, const char *event,
                        const char *message, struct job *ret)
{
    char id[UUID_STR_LEN];
    int r = store_step_row(c, st, store_read_id, NULL, id);
    if (r == 0)
        r = mark_served(c, id);
    if (r < 0)
        return store_end(c, r);
    r = sqlite_job_get_any(s, id, ret);
    if (r == -EBADMSG) {
        r = store_end(c, sqlite_job_finish(s, id, JOB_FAILED, UNSEALABLE));
        return r < 0 ? r : -EBADMSG;
    }
    if (r < 0)
        return store_end(c, r);
    r = store_end(c, add_event(c, id, event, message));
    if (r < 0)
        job_release(ret);
    return r;
}

int sqlite_job_claim_pull(struct store *s, const char *site_id, int64_t now_ms, int64_t lease_ms,
                          struct job *ret)
{
    struct store_conn *c;
    static const char sql[] =
        "UPDATE jobs SET status = 'running', via = 'pull', lease_until_ms = ?1, "
        "started_at = coalesce(started_at, ?2) WHERE id = (SELECT id FROM jobs "
        "WHERE site_id = ?3 AND status = 'pending' ORDER BY queue_class DESC, rowid LIMIT 1) "
        "AND NOT EXISTS (SELECT 1 FROM jobs WHERE site_id = ?3 AND status = 'running') "
        "AND NOT EXISTS (SELECT 1 FROM sites WHERE id = ?3 AND edge_wait_until_ms > ?4) "
        "RETURNING id";
    int r;
    sqlite3_stmt *st = store_begin_stmt(s, sql, &c, &r);
    if (!st)
        return r;
    sqlite3_bind_int64(st, 1, lease_ms);
    sqlite3_bind_int64(st, 2, now_ms / 1000);
    bind_text(st, 3, site_id);
    sqlite3_bind_int64(st, 4, now_ms);
    return finish_claim(s, c, st, "downloaded", "Script downloaded by the router", ret);
}

/*
 * The head of each site (its next job: the oldest pending one of its highest class, docs/API.md
 * "Jobs"), when it is express and due, the site reachable and not already running a job. Driven
 * from the sites (one jobs_site index seek each), not from the pending jobs: with a backlog, the
 * former form tested every pending job against three subqueries inside the write lock, ~15 ms a
 * claim at 2 000 pending jobs, and the dispatcher claims after every job (issue 13, mixed
 * load: 70 % of the write lock's time).
 */
int sqlite_job_claim_push(struct store *s, int64_t now_ms, int64_t lease_ms, int tenant_max,
                          struct job *ret)
{
    struct store_conn *c;
    static const char sql[] =
        "UPDATE jobs SET status = 'running', via = 'push', lease_until_ms = ?1, "
        "started_at = coalesce(started_at, ?2) WHERE id = (SELECT j.id FROM sites s "
        "JOIN jobs j ON j.rowid = " STORE_SQL_HEAD " "
        "WHERE j.express_execute = 1 AND j.next_attempt_ms <= ?3 "
        "AND s.tunnel_address IS NOT NULL AND s.configured_at IS NOT NULL "
        "AND (s.tunnel_mode != 'managed' OR s.tunnel_status = 'up') "
        "AND NOT EXISTS (SELECT 1 FROM jobs r WHERE r.site_id = s.id AND "
        "r.status = 'running') "
        "AND (?4 <= 0 OR (SELECT count(*) FROM jobs p JOIN sites ps ON ps.id = p.site_id "
        "WHERE p.status = 'running' AND p.via = 'push' AND ps.tenant_id = s.tenant_id) < ?4) "
        "ORDER BY " STORE_SQL_TURN " LIMIT 1) RETURNING id";
    int r;
    sqlite3_stmt *st = store_begin_stmt(s, sql, &c, &r);
    if (!st)
        return r;
    sqlite3_bind_int64(st, 1, lease_ms);
    sqlite3_bind_int64(st, 2, now_ms / 1000);
    sqlite3_bind_int64(st, 3, now_ms);
    sqlite3_bind_int(st, 4, tenant_max);
    return finish_claim(s, c, st, "pushing", "Express push over the RouterOS API started", ret);
}

int sqlite_job_finish(struct store *s, const char *job_id, enum job_status status,
                      const char *message)
{
    static const char done[] =
        "UPDATE jobs SET status = 'completed', completed_at = ?1, via = NULL, "
        "lease_until_ms = NULL, lease_owner = NULL, last_error = ?2 WHERE id = ?3 AND status IN "
        "('running', "
        "'pending')";
    static const char fail[] = "UPDATE jobs SET status = 'failed', failed_at = ?1, via = NULL, "
                               "lease_until_ms = NULL, lease_owner = NULL, "
                               "last_error = ?2 WHERE id = ?3 AND status IN ('running', 'pending')";
    /* A grant's router-side flags follow its jobs: they say what really happened. */
    static const char committed[] = "UPDATE grants SET config_committed_at = ? WHERE setup_job_id "
                                    "= ? AND config_committed_at IS NULL";
    static const char removed[] =
        "UPDATE grants SET config_removed_from_site = 1 WHERE teardown_job_id = ? AND ? > 0";
    /* A site's cleanup job done: the site (and with it its log) goes. */
    static const char drop_site[] =
        "DELETE FROM sites WHERE id = (SELECT site_id FROM jobs WHERE id = ?1 AND "
        "kind = ?2) AND status = 'deleting'";
    bool ok = status == JOB_COMPLETED;
    struct store_conn *c = store_conn(s);
    if (!c)
        return -EIO;
    int r = store_begin(c);
    if (r < 0)
        return r;
    r = update_with_event(s, ok ? done : fail, job_id, time_now(), ok ? NULL : message,
                          ok ? "completed" : "failed", message);
    if (r == 0) /* the outbox, in this transaction (docs/webhooks.md) */
        r = sqlite_webhook_emit(c, ok ? WEBHOOK_JOB_COMPLETED : WEBHOOK_JOB_FAILED, job_id, NULL,
                                message);
    if (r < 0 || !ok)
        goto out_end_tx;
    sqlite3_stmt *st = store_stmt(c, drop_site);
    if (!st) {
        r = -EIO;
        goto out_end_tx;
    }
    bind_text(st, 1, job_id);
    bind_text(st, 2, job_kind_name(JOB_KIND_SITE_DELETE));
    r = store_step_done(c, st);
    if (r < 0)
        goto out_end_tx;
    st = store_stmt(c, committed);
    if (!st) {
        r = -EIO;
        goto out_end_tx;
    }
    sqlite3_bind_int64(st, 1, time_now());
    bind_text(st, 2, job_id);
    r = store_step_done(c, st);
    if (r < 0)
        goto out_end_tx;
    st = store_stmt(c, removed);
    if (!st) {
        r = -EIO;
        goto out_end_tx;
    }
    bind_text(st, 1, job_id);
    sqlite3_bind_int(st, 2, 1);
    r = store_step_done(c, st);
out_end_tx:
    return store_end(c, r);
}

int sqlite_job_retry(struct store *s, const char *job_id, int64_t next_ms, const char *message)
{
    static const char sql[] =
        "UPDATE jobs SET status = 'pending', via = NULL, lease_until_ms = NULL, lease_owner = "
        "NULL, "
        "attempts = attempts + 1, next_attempt_ms = ?1, last_error = ?2 WHERE id = ?3 "
        "AND status = 'running'";
    return update_with_event(s, sql, job_id, next_ms, message, "retry_scheduled", message);
}

/* The check and the write in one transaction: a final job stays final. */
int sqlite_job_router_update(struct store *s, const char *job_id, enum job_router_status status)
{
    static const char q[] = "SELECT status, needs_acknowledgement FROM jobs WHERE id = ?";
    /* A pulled job the router started is never handed out again (it may be rebooting the
     * router): its lease becomes the window for its end report (STORE_PULL_REPORT_MS). */
    static const char busy[] =
        "UPDATE jobs SET status = 'running', started_at = coalesce(started_at, ?1), "
        "lease_until_ms = CASE WHEN via = 'pull' THEN ?1 * 1000 + 1800000 "
        "ELSE lease_until_ms END, "
        "last_error = ?2 WHERE id = ?3 AND status IN ('pending', 'running')";
    struct store_conn *c;
    int r;
    sqlite3_stmt *st = store_begin_stmt(s, q, &c, &r);
    if (!st)
        return r;
    bind_text(st, 1, job_id);
    struct job_state cur;
    r = store_step_row(c, st, state_row, NULL, &cur);
    if (r < 0)
        goto out_end_tx;
    if (cur.status == JOB_COMPLETED || cur.status == JOB_FAILED || cur.status == JOB_DELETED ||
        cur.status == JOB_SUPERSEDED) {
        r = -EBUSY;
        goto out_end_tx;
    }
    if (status == JOB_ROUTER_BUSY) {
        r = update_with_event(s, busy, job_id, time_now(), NULL, "busy",
                              "The router started the job");
        if (r == -ENOENT)
            r = -EBUSY;
        if (r == 0 && !cur.needs_ack)
            r = sqlite_job_finish(s, job_id, JOB_COMPLETED,
                                  "Completed on delivery (no acknowledgement needed)");
    } else if (status == JOB_ROUTER_DONE) {
        r = sqlite_job_finish(s, job_id, JOB_COMPLETED, "The router reported success");
    } else if (status == JOB_ROUTER_FAIL) {
        r = sqlite_job_finish(s, job_id, JOB_FAILED, "The router reported a failure");
    } else {
        r = -EINVAL;
    }
out_end_tx:
    return store_end(c, r);
}

/*
 * Logs "requeued" (msg) on the running jobs sql moves back, then runs sql: by lease when
 * now_ms > 0 (sql binds ?1 = now_ms), else owner's pushes (sql binds ?1 = owner).
 */
static int requeue(struct store *s, const char *sql, int64_t now_ms, const char *owner,
                   const char *msg, int *ret_n)
{
    struct store_conn *c;
    static const char ev[] = "INSERT INTO job_events(job_id, at_ms, kind, message) "
                             "SELECT id, ?1, 'requeued', ?2 FROM jobs WHERE status = 'running' "
                             "AND (?3 = 0 OR lease_until_ms < ?1) AND (?3 = 1 OR (via = 'push' "
                             "AND (lease_owner IS NULL OR lease_owner = ?4)))";
    int r;
    sqlite3_stmt *st = store_begin_stmt(s, ev, &c, &r);
    if (!st)
        return r;
    int by_lease = now_ms > 0;
    sqlite3_bind_int64(st, 1, by_lease ? now_ms : time_now_ms());
    bind_text(st, 2, msg);
    sqlite3_bind_int(st, 3, by_lease);
    bind_text(st, 4, owner);
    r = store_step_done(c, st);
    if (r < 0)
        goto out_end_tx;
    st = store_stmt(c, sql);
    if (!st) {
        r = -EIO;
        goto out_end_tx;
    }
    if (by_lease)
        sqlite3_bind_int64(st, 1, now_ms);
    else
        bind_text(st, 1, owner);
    r = store_step_done(c, st);
    if (r < 0)
        goto out_end_tx;
    *ret_n = sqlite3_changes(c->db);
out_end_tx:
    return store_end(c, r);
}

/* Pulled jobs whose lease expired and that go no further: the router started them and never
 * reported their end, or downloaded them STORE_PULL_MAX_DOWNLOADS times without a word (RouterOS
 * refuses a whole script with a syntax error before running any of it, its on-error
 * included). Failed with that reason, so they no longer block the site's queue. */
static int fail_stuck_pulls(struct store *s, int64_t now_ms)
{
#define STARTED "EXISTS (SELECT 1 FROM job_events e WHERE e.job_id = jobs.id AND e.kind = 'busy')"
#define STUCK                                                                                      \
    "status = 'running' AND via = 'pull' AND lease_until_ms < ?1 AND (" STARTED                    \
    " OR attempts + 1 >= ?4)"
    static const char ev[] = "INSERT INTO job_events(job_id, at_ms, kind, message) "
                             "SELECT id, ?1, 'failed', CASE WHEN " STARTED " THEN ?2 ELSE ?3 END "
                             "FROM jobs WHERE " STUCK;
    static const char upd[] = "UPDATE jobs SET status = 'failed', failed_at = ?1 / 1000, "
                              "via = NULL, lease_until_ms = NULL, lease_owner = NULL, "
                              "last_error = CASE WHEN " STARTED " THEN ?2 ELSE ?3 END WHERE " STUCK;
#undef STUCK
#undef STARTED
    static const char started[] = "The router started the job but never reported its end";
    static const char refused[] =
        "The router downloaded the job " STORE_PULL_MAX_DOWNLOADS_STR " times without reporting "
        "anything: RouterOS most likely refused the script before running it (a syntax error: "
        "a command or argument this RouterOS version does not have, or a typo in a custom "
        "script)";
    struct store_conn *c;
    int r;
    sqlite3_stmt *st = store_begin_stmt(s, ev, &c, &r);
    if (!st)
        return r;
    for (int pass = 0; pass < 2 && r == 0; pass++) {
        if (pass == 1 && !(st = store_stmt(c, upd))) {
            r = -EIO;
            break;
        }
        sqlite3_bind_int64(st, 1, now_ms);
        bind_text(st, 2, started);
        bind_text(st, 3, refused);
        sqlite3_bind_int(st, 4, STORE_PULL_MAX_DOWNLOADS);
        r = store_step_done(c, st);
    }
    return store_end(c, r);
}

int sqlite_jobs_requeue_expired(struct store *s, int64_t now_ms, int *ret_n)
{
    static const char sql[] = "UPDATE jobs SET status = 'pending', via = NULL, "
                              "attempts = attempts + (via = 'pull'), "
                              "lease_until_ms = NULL, lease_owner = NULL WHERE status = 'running' "
                              "AND lease_until_ms < ?1";
    int r = fail_stuck_pulls(s, now_ms);
    if (r < 0)
        return r;
    return requeue(s, sql, now_ms, NULL, "Lease expired: the job goes back to the queue", ret_n);
}

int sqlite_jobs_requeue_push(struct store *s, const char *owner, int *ret_n)
{
    static const char sql[] =
        "UPDATE jobs SET status = 'pending', via = NULL, lease_until_ms = NULL, "
        "lease_owner = NULL WHERE status = 'running' AND via = 'push' AND "
        "(lease_owner IS NULL OR lease_owner = ?1)";
    return requeue(s, sql, 0, owner, "Restarted while pushing: the job goes back to the queue",
                   ret_n);
}

int sqlite_jobs_take_over(struct store *s, const char *taker, int64_t dead_after_ms, int *ret_n)
{
#define DEAD "SELECT name FROM nodes WHERE name != ?2 AND heartbeat_at_ms < ?1 - ?3"
    static const char ev[] =
        "INSERT INTO job_events(job_id, at_ms, kind, message) SELECT id, ?1, 'requeued', "
        "'Node ' || lease_owner || ' stopped heartbeating (dead): node ' || ?2 || "
        "' took its claim over; the job goes back to the queue' FROM jobs WHERE status = "
        "'running' AND via = 'push' AND lease_owner IN (" DEAD ")";
    static const char upd[] = "UPDATE jobs SET status = 'pending', via = NULL, "
                              "lease_until_ms = NULL, lease_owner = NULL WHERE status = 'running' "
                              "AND via = 'push' AND lease_owner IN (" DEAD ")";
#undef DEAD
    struct store_conn *c;
    int r;
    sqlite3_stmt *st = store_begin_stmt(s, ev, &c, &r);
    if (!st)
        return r;
    /* SQLite's "database clock" is the process clock of its one machine. */
    int64_t now = time_now_ms();
    for (int pass = 0; pass < 2 && r == 0; pass++) {
        if (pass == 1 && !(st = store_stmt(c, upd))) {
            r = -EIO;
            break;
        }
        sqlite3_bind_int64(st, 1, now);
        bind_text(st, 2, taker);
        sqlite3_bind_int64(st, 3, dead_after_ms);
        r = store_step_done(c, st);
    }
    if (r == 0)
        *ret_n = sqlite3_changes(c->db);
    return store_end(c, r);
}

/* The picked candidates become running under c's owner, each with its "pushing" event. */
static int claim_picked(struct store_conn *c, const struct store_push_claim *cl,
                        const struct store_claim_candidate *cand, const bool *picked, size_t n)
{
    static const char upd[] =
        "UPDATE jobs SET status = 'running', via = 'push', lease_owner = ?1, "
        "lease_until_ms = ?2, started_at = coalesce(started_at, ?3) WHERE id = ?4 AND "
        "status = 'pending'";
    for (size_t i = 0; i < n; i++) {
        if (!picked[i])
            continue;
        sqlite3_stmt *st = store_stmt(c, upd);
        if (!st)
            return -EIO;
        bind_text(st, 1, cl->owner);
        sqlite3_bind_int64(st, 2, cl->lease_until_ms);
        sqlite3_bind_int64(st, 3, cl->now_ms / 1000);
        bind_text(st, 4, cand[i].id);
        int r = store_step_changed(c, st);
        if (r == 0)
            r = mark_served(c, cand[i].id);
        if (r == 0)
            r = add_event(c, cand[i].id, "pushing", "Express push over the RouterOS API started");
        if (r < 0)
            return r;
    }
    return 0;
}

/* The claimed jobs read back; unsealable ones fail (counted) instead. */
static int read_claimed(struct store *s, struct store_push_claim *cl,
                        const struct store_claim_candidate *cand, const bool *picked, size_t n,
                        struct job **ret, size_t *ret_n)
{
    struct job *jobs = xcalloc(n, sizeof *jobs);
    size_t got = 0;
    int r = 0;
    for (size_t i = 0; i < n && r == 0; i++) {
        if (!picked[i])
            continue;
        r = sqlite_job_get_any(s, cand[i].id, &jobs[got]);
        if (r == 0) {
            got++;
        } else if (r == -EBADMSG) {
            cl->ret_unsealable++;
            r = sqlite_job_finish(s, cand[i].id, JOB_FAILED, UNSEALABLE);
        }
    }
    if (r < 0 || got == 0) {
        store_job_array_free(jobs, got);
        jobs = NULL;
        got = 0;
    }
    *ret = jobs;
    *ret_n = got;
    return r;
}

int sqlite_job_claim_push_batch(struct store *s, struct store_push_claim *cl, struct job **ret,
                                size_t *n)
{
#define RUNNING                                                                                    \
    "(SELECT count(*) FROM jobs p JOIN sites ps ON ps.id = p.site_id WHERE p.status = "            \
    "'running' AND p.via = 'push' AND p.lease_owner = ?2 AND ps.tenant_id = s.tenant_id)"
    static const char sql[] =
        "WITH RECURSIVE " STORE_SQL_PENDING_SITES
        " SELECT j.id, s.tenant_id, CASE WHEN ?3 > 0 THEN " RUNNING
        " ELSE 0 END FROM ps JOIN sites s ON s.id = ps.site_id JOIN jobs j ON j.rowid "
        "= " STORE_SQL_HEAD
        " WHERE j.status = 'pending' AND j.express_execute = 1 AND j.next_attempt_ms <= ?1 "
        "AND s.tunnel_address IS NOT NULL AND s.configured_at IS NOT NULL "
        "AND (s.tunnel_mode != 'managed' OR (s.tunnel_status = 'up' AND "
        "(s.edge_node IS NULL OR s.edge_node = ?2))) "
        "AND NOT EXISTS (SELECT 1 FROM jobs r WHERE r.site_id = s.id AND "
        "r.status = 'running') "
        "AND (?3 <= 0 OR " RUNNING " < ?3) ORDER BY " STORE_SQL_TURN " LIMIT ?4";
#undef RUNNING
    if (cl->limit < 1 || cl->limit > STORE_CLAIM_MAX || !cl->owner)
        return -EINVAL;
    cl->ret_unsealable = 0;
    struct store_conn *c;
    int r;
    sqlite3_stmt *st = store_begin_stmt(s, sql, &c, &r);
    if (!st)
        return r;
    /* More candidates than limit: the tenant share may pass over some of them. */
    enum { SPARE = 4 };
    struct store_claim_candidate cand[STORE_CLAIM_MAX * SPARE];
    bool picked[STORE_CLAIM_MAX * SPARE];
    size_t nc = 0;
    sqlite3_bind_int64(st, 1, cl->now_ms);
    bind_text(st, 2, cl->owner);
    sqlite3_bind_int(st, 3, cl->tenant_max);
    sqlite3_bind_int(st, 4, cl->limit * SPARE);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && nc < sizeof cand / sizeof cand[0]) {
        col_copy(st, 0, cand[nc].id, sizeof cand[nc].id);
        col_copy(st, 1, cand[nc].tenant_id, sizeof cand[nc].tenant_id);
        cand[nc].running = sqlite3_column_int(st, 2);
        nc++;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return store_end(c, store_map_rc(c, rc));
    if (store_claim_pick(cand, nc, cl->tenant_max, cl->limit, picked) == 0)
        return store_end(c, -ENOENT);
    struct job *jobs = NULL;
    size_t got = 0;
    r = claim_picked(c, cl, cand, picked, nc);
    if (r == 0)
        r = read_claimed(s, cl, cand, picked, nc, &jobs, &got);
    r = store_end(c, r); /* unsealable jobs failed: kept even when nothing else was claimed */
    if (r < 0 || got == 0) {
        store_job_array_free(jobs, got);
        return r < 0 ? r : -ENOENT;
    }
    *ret = jobs;
    *n = got;
    return 0;
}

void store_job_array_free(struct job *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        job_release(&a[i]);
    free(a);
}

int sqlite_job_pull_refused(struct store *s, const char *site_id)
{
    static const char q[] = "SELECT id FROM jobs WHERE site_id = ? AND status = 'running' AND "
                            "via = 'pull' AND NOT EXISTS (SELECT 1 FROM job_events e WHERE "
                            "e.job_id = jobs.id AND e.kind = 'busy') ORDER BY rowid LIMIT 1";
    static const char msg[] =
        "The router could not run the job: RouterOS refused the script before running any of "
        "it (a syntax error: a command or argument this RouterOS version does not have, or a "
        "typo in a custom script)";
    struct store_conn *c;
    int r;
    sqlite3_stmt *st = store_begin_stmt(s, q, &c, &r);
    if (!st)
        return r;
    bind_text(st, 1, site_id);
    char id[UUID_STR_LEN];
    r = store_step_row(c, st, store_read_id, NULL, id);
    if (r == 0)
        r = sqlite_job_finish(s, id, JOB_FAILED, msg);
    return store_end(c, r);
}
