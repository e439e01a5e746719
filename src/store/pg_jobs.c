/*
 * pg_jobs.c - jobs and their events (the orchestration log) in the PostgreSQL store.
 *
 * Claiming is a single UPDATE ... WHERE id = (SELECT ...) inside BEGIN
 * IMMEDIATE, so two workers (or a poll and a push) never take the same job,
 * and a site never has two running jobs: jobs of one site run in order.
 */
#include "alloc.h"
#include "pg_int.h"
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
static int read_job_as(struct store *s, struct pg_stmt *st, struct job *j, bool with_plan)
{
    const char *sealed = (const char *)pg_column_text(st, 6);
    bool wanted = with_plan || pg_column_int(st, 7) != 0;
    char *payload = sealed && wanted ? store_open_text(s, sealed) : NULL;
    if (!payload && wanted)
        return -EBADMSG;
    memset(j, 0, sizeof *j);
    pg_col_copy(st, 0, j->id, sizeof j->id);
    pg_col_copy(st, 1, j->site_id, sizeof j->site_id);
    pg_col_copy(st, 2, j->tenant_id, sizeof j->tenant_id);
    pg_col_copy(st, 3, j->token, sizeof j->token);
    if (job_kind_parse((const char *)pg_column_text(st, 4), &j->kind) < 0)
        j->kind = JOB_KIND_COUNT;
    j->description = pg_col_strdup(st, 5);
    j->payload = payload;
    j->is_script = pg_column_int(st, 7) != 0;
    j->express = pg_column_int(st, 8) != 0;
    j->needs_ack = pg_column_int(st, 9) != 0;
    const char *status = (const char *)pg_column_text(st, 10);
    if (!status || job_status_parse(status, &j->status) < 0)
        j->status = JOB_PENDING;
    j->attempts = pg_column_int(st, 11);
    j->next_attempt_ms = pg_column_int64(st, 12);
    j->created_at = pg_col_time(st, 13);
    j->started_at = pg_col_time(st, 14);
    j->completed_at = pg_col_time(st, 15);
    j->failed_at = pg_col_time(st, 16);
    j->deleted_at = pg_col_time(st, 17);
    j->last_error = pg_col_strdup(st, 18);
    j->created_by = pg_col_strdup(st, 19);
    j->idempotency_key = pg_col_strdup(st, 20);
    j->queue_class = pg_column_int(st, 21) > 0 ? JOB_CLASS_URGENT : JOB_CLASS_NORMAL;
    return 0;
}

static int read_job(struct store *s, struct pg_stmt *st, struct job *j)
{
    return read_job_as(s, st, j, true);
}

static int add_event(struct pg_session *c, const char *job_id, const char *kind, const char *msg)
{
    static const char sql[] =
        "INSERT INTO job_events(job_id, at_ms, kind, message) VALUES (?, ?, ?, ?)";
    struct pg_stmt *st = pg_stmt(c, sql);
    if (!st)
        return -EIO;
    pg_bind_text(st, 1, job_id);
    pg_bind_int64(st, 2, time_now_ms());
    pg_bind_text(st, 3, kind);
    pg_bind_text(st, 4, msg ? msg : "");
    return pg_step_done(c, st);
}

int pg_job_event(struct store *s, const char *job_id, const char *kind, const char *message)
{
    struct pg_session *c = pg_session(s);
    return c ? add_event(c, job_id, kind, message) : -EIO;
}

/* The columns of n jobs as array literals, in the order of insert_many's unnest. */
struct job_columns {
    char *text[8]; /* id, site_id, token, kind, description, payload, created_by, idempotency */
    char *ints[6]; /* is_script, express, needs_ack, next_attempt_ms, created_at, queue_class */
};

static void job_columns(struct store *s, const struct job *jobs, size_t n, struct job_columns *ret)
{
    const char **t[8];
    int64_t *v[6];
    for (int k = 0; k < 8; k++)
        t[k] = xcalloc(n ? n : 1, sizeof *t[k]);
    for (int k = 0; k < 6; k++)
        v[k] = xcalloc(n ? n : 1, sizeof *v[k]);
    char **sealed = xcalloc(n ? n : 1, sizeof *sealed);
    for (size_t i = 0; i < n; i++) {
        const struct job *j = &jobs[i];
        sealed[i] = store_seal_text(s, j->payload);
        t[0][i] = j->id;
        t[1][i] = j->site_id;
        t[2][i] = j->token;
        t[3][i] = job_kind_name(j->kind);
        t[4][i] = j->description;
        t[5][i] = sealed[i];
        t[6][i] = j->created_by;
        t[7][i] = j->idempotency_key;
        v[0][i] = j->is_script;
        v[1][i] = j->express;
        v[2][i] = j->needs_ack;
        v[3][i] = j->next_attempt_ms;
        v[4][i] = j->created_at;
        v[5][i] = j->queue_class;
    }
    for (int k = 0; k < 8; k++) {
        ret->text[k] = pg_text_array(t[k], n);
        free(t[k]);
    }
    for (int k = 0; k < 6; k++) {
        ret->ints[k] = pg_int_array(v[k], n);
        free(v[k]);
    }
    for (size_t i = 0; i < n; i++)
        free(sealed[i]);
    free(sealed);
}

static void job_columns_release(struct job_columns *jc)
{
    for (int k = 0; k < 8; k++)
        free(jc->text[k]);
    for (int k = 0; k < 6; k++)
        free(jc->ints[k]);
}

/*
 * One statement for any n: the jobs, and their "created" and (express ones) "express_requested"
 * events in that order (the events' ids follow the SELECT's ORDER BY).
 */
int pg_job_insert_many(struct store *s, const struct job *jobs, size_t n)
{
    static const char sql[] =
        "WITH ins AS (INSERT INTO jobs(id, site_id, token, kind, description, payload, "
        "is_script, express_execute, needs_acknowledgement, status, next_attempt_ms, "
        "created_at, created_by, idempotency_key, queue_class) SELECT id, site, token, kind, "
        "descr, payload, script, express, ack, 'pending', next_ms, created, cby, idem, cls FROM "
        "unnest(?1::text[], ?2::text[], ?3::text[], ?4::text[], ?5::text[], ?6::text[], "
        "?7::text[], ?8::text[], ?9::bigint[], ?10::bigint[], ?11::bigint[], ?12::bigint[], "
        "?13::bigint[], ?15::bigint[]) WITH ORDINALITY AS v(id, site, token, kind, descr, "
        "payload, cby, idem, script, express, ack, next_ms, created, cls, ord) RETURNING id, "
        "description, express_execute, rowid) "
        "INSERT INTO job_events(job_id, at_ms, kind, message) SELECT ins.id, ?14, e.kind, "
        "CASE e.n WHEN 1 THEN ins.description ELSE 'Express execution requested' END FROM ins "
        "CROSS JOIN (VALUES (1, 'created'), (2, 'express_requested')) AS e(n, kind) WHERE e.n = "
        "1 OR ins.express_execute = 1 ORDER BY ins.rowid, e.n";
    if (!n)
        return 0;
    struct job_columns jc;
    job_columns(s, jobs, n, &jc);
    struct pg_session *c;
    struct pg_stmt *st = pg_prepare(s, sql, &c);
    if (!st) {
        job_columns_release(&jc);
        return -EIO;
    }
    bool express = false;
    for (size_t i = 0; i < n; i++)
        express |= jobs[i].express;
    for (int k = 0; k < 8; k++)
        pg_bind_text(st, k + 1, jc.text[k]);
    for (int k = 0; k < 5; k++)
        pg_bind_text(st, k + 9, jc.ints[k]);
    pg_bind_int64(st, 14, time_now_ms());
    pg_bind_text(st, 15, jc.ints[5]);
    int r = pg_step_done(c, st);
    if (r == 0 && express)
        pg_notify(c, STORE_WAKE_JOBS);
    job_columns_release(&jc);
    return r;
}

int pg_job_insert(struct store *s, const struct job *j)
{
    struct pg_session *c;
    static const char sql[] =
        "INSERT INTO jobs(id, site_id, token, kind, description, payload, is_script, "
        "express_execute, needs_acknowledgement, status, next_attempt_ms, created_at, "
        "created_by, idempotency_key, queue_class) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', "
        "?, "
        "?, ?, ?, ?)";
    int r;
    struct pg_stmt *st = pg_begin_stmt(s, sql, &c, &r);
    if (!st)
        return r;
    pg_bind_text(st, 1, j->id);
    pg_bind_text(st, 2, j->site_id);
    pg_bind_text(st, 3, j->token);
    pg_bind_text(st, 4, job_kind_name(j->kind));
    pg_bind_text(st, 5, j->description);
    char *sealed = store_seal_text(s, j->payload);
    pg_bind_text(st, 6, sealed);
    free(sealed);
    pg_bind_int(st, 7, j->is_script);
    pg_bind_int(st, 8, j->express);
    pg_bind_int(st, 9, j->needs_ack);
    pg_bind_int64(st, 10, j->next_attempt_ms);
    pg_bind_int64(st, 11, j->created_at);
    pg_bind_text(st, 12, j->created_by);
    pg_bind_text(st, 13, j->idempotency_key);
    pg_bind_int(st, 14, j->queue_class);
    r = pg_step_done(c, st);
    if (r < 0)
        goto out_end_tx;
    r = add_event(c, j->id, "created", j->description);
    if (r == 0 && j->express) {
        r = add_event(c, j->id, "express_requested", "Express execution requested");
        pg_notify(c, STORE_WAKE_JOBS); /* other nodes' dispatchers, at the commit */
    }
out_end_tx:
    return pg_end(c, r);
}

static int job_row(void *ctx, struct pg_stmt *st, void *elem)
{
    return read_job(ctx, st, elem);
}

/* A row of the API's job list: no plan unsealed (read_job_as). */
static int job_row_listed(void *ctx, struct pg_stmt *st, void *elem)
{
    return read_job_as(ctx, st, elem, false);
}

/* The status and needs_acknowledgement of a job row, for the checks before a write. */
struct job_state {
    enum job_status status;
    bool needs_ack;
};

static int state_row(void *ctx, struct pg_stmt *st, void *out)
{
    (void)ctx;
    struct job_state *x = out;
    const char *status = (const char *)pg_column_text(st, 0);
    if (!status || job_status_parse(status, &x->status) < 0)
        x->status = JOB_PENDING; /* as read_job */
    x->needs_ack = pg_column_count(st) > 1 && pg_column_int(st, 1) != 0;
    return 0;
}

static void job_release_elem(void *elem)
{
    job_release(elem);
}

int pg_job_by_idempotency(struct store *s, const char *site_id, const char *key,
                          char ret_id[UUID_STR_LEN])
{
    static const char sql[] = "SELECT id FROM jobs WHERE site_id = ? AND idempotency_key = ?";
    struct pg_session *c;
    struct pg_stmt *st = pg_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    pg_bind_text(st, 1, site_id);
    pg_bind_text(st, 2, key);
    return pg_step_row(c, st, pg_read_id, NULL, ret_id);
}

int pg_job_list(struct store *s, const char *tenant_id, const char *site_id,
                const struct store_page *page, struct job **ret, size_t *n)
{
    struct pg_session *c = pg_session(s);
    static const char sql[] =
        "SELECT " JOB_COLUMNS_LISTED " FROM jobs j JOIN sites s ON s.id = j.site_id "
        "WHERE j.site_id = ?1 AND s.tenant_id = ?2 AND (?3::text IS NULL OR "
        "j.rowid < (SELECT p.rowid FROM jobs p WHERE p.id = ?3)) "
        "ORDER BY j.rowid DESC LIMIT ?4";
    if (!c)
        return -EIO;
    int r = pg_site_owned(c, tenant_id, site_id);
    if (r == 0)
        r = pg_page_check(c, STORE_LIST_JOBS, page, site_id, NULL);
    if (r < 0)
        return r;
    struct pg_stmt *st = pg_stmt(c, sql);
    if (!st)
        return -EIO;
    pg_bind_text(st, 1, site_id);
    pg_bind_text(st, 2, tenant_id);
    pg_bind_page(st, 3, page);
    return pg_collect(c, st, sizeof **ret, job_row_listed, s, job_release_elem, (void **)ret, n);
}

static int read_events(struct pg_session *c, struct job *j)
{
    static const char sql[] =
        "SELECT at_ms, kind, message FROM job_events WHERE job_id = ? ORDER BY id";
    struct pg_stmt *st = pg_stmt(c, sql);
    if (!st)
        return -EIO;
    pg_bind_text(st, 1, j->id);
    int rc;
    while ((rc = pg_step(st)) == PG_ROW) {
        j->events = xrealloc(j->events, (j->nevents + 1) * sizeof *j->events);
        struct job_event *e = &j->events[j->nevents++];
        e->at_ms = pg_column_int64(st, 0);
        e->kind = pg_col_strdup(st, 1);
        e->message = pg_col_strdup(st, 2);
    }
    pg_reset(st);
    return rc == PG_DONE ? 0 : pg_map_rc(c, rc);
}

int pg_job_get(struct store *s, const char *tenant_id, const char *site_id, const char *job_id,
               struct job *ret)
{
    static const char sql[] = "SELECT " JOB_COLUMNS " FROM jobs j JOIN sites s ON s.id = j.site_id "
                              "WHERE j.id = ? AND j.site_id = ? AND s.tenant_id = ?";
    struct pg_session *c;
    struct pg_stmt *st = pg_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    pg_bind_text(st, 1, job_id);
    pg_bind_text(st, 2, site_id);
    pg_bind_text(st, 3, tenant_id);
    bool began = pg_read_begin(c); /* the job and its events from one snapshot */
    int r = pg_step_row(c, st, job_row, s, ret);
    if (r == 0) {
        r = read_events(c, ret);
        if (r < 0)
            job_release(ret);
    }
    pg_read_end(c, began);
    return r;
}

int pg_job_get_any(struct store *s, const char *job_id, struct job *ret)
{
    static const char sql[] =
        "SELECT " JOB_COLUMNS " FROM jobs j JOIN sites s ON s.id = j.site_id WHERE j.id = ?";
    struct pg_session *c;
    struct pg_stmt *st = pg_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    pg_bind_text(st, 1, job_id);
    return pg_step_row(c, st, job_row, s, ret);
}

/* Runs an UPDATE on one job and adds an event, in one transaction; -ENOENT if no row changed. */
static int update_with_event(struct store *s, const char *sql, const char *job_id, int64_t a,
                             const char *text, const char *kind, const char *msg)
{
    struct pg_session *c;
    int r;
    struct pg_stmt *st = pg_begin_stmt(s, sql, &c, &r);
    if (!st)
        return r;
    pg_bind_int64(st, 1, a);
    pg_bind_text(st, 2, text);
    pg_bind_text(st, 3, job_id);
    r = pg_step_done(c, st);
    if (r < 0)
        goto out_end_tx;
    if (pg_changes(c) == 0) {
        r = -ENOENT;
        goto out_end_tx;
    }
    r = add_event(c, job_id, kind, msg);
out_end_tx:
    return pg_end(c, r);
}

/* The check and the write in one transaction: the job cannot move in between. */
int pg_job_cancel(struct store *s, const char *tenant_id, const char *site_id, const char *job_id)
{
    static const char q[] = "SELECT j.status FROM jobs j JOIN sites s ON s.id = j.site_id "
                            "WHERE j.id = ? AND j.site_id = ? AND s.tenant_id = ? FOR UPDATE OF j";
    static const char sql[] = "UPDATE jobs SET status = 'deleted', deleted_at = ?1, "
                              "last_error = ?2 WHERE id = ?3 AND status = 'pending'";
    struct pg_session *c;
    int r;
    struct pg_stmt *st = pg_begin_stmt(s, q, &c, &r);
    if (!st)
        return r;
    pg_bind_text(st, 1, job_id);
    pg_bind_text(st, 2, site_id);
    pg_bind_text(st, 3, tenant_id);
    struct job_state cur;
    r = pg_step_row(c, st, state_row, NULL, &cur);
    if (r == 0 && cur.status != JOB_PENDING)
        r = -EBUSY;
    if (r == 0) {
        r = update_with_event(s, sql, job_id, time_now(), NULL, "deleted", "Job deleted");
        if (r == -ENOENT)
            r = -EBUSY;
    }
    return pg_end(c, r);
}

/*
 * The site of job_id was served now: the batch claim's turn among sites whose heads are of one
 * class (sites.queue_claimed_ms, migration 0018). Not when another transaction holds the
 * site's row: the claim holds the job's row already, and a writer that locks the site and then
 * its jobs (a rotation superseding the older one) would deadlock with it. The turn is then a
 * little less fair once; a claim never waits for a site (the batch claim's "turn" likewise).
 */
static int mark_served(struct pg_session *c, const char *job_id)
{
    static const char sql[] =
        "UPDATE sites SET queue_claimed_ms = ?1 WHERE id = (SELECT s.id FROM sites s JOIN jobs j "
        "ON j.site_id = s.id WHERE j.id = ?2 FOR UPDATE OF s SKIP LOCKED)";
    struct pg_stmt *st = pg_stmt(c, sql);
    if (!st)
        return -EIO;
    pg_bind_int64(st, 1, time_now_ms());
    pg_bind_text(st, 2, job_id);
    return pg_step_done(c, st);
}

/*
 * The common part of claiming: runs the bound claim UPDATE ... RETURNING id
 * inside the transaction begun by the caller, reads the job, logs the event
 * and ends the transaction. -ENOENT when nothing was claimed. A job whose
 * payload cannot be unsealed is not handed out: it ends failed, with the
 * reason in its log, in the same transaction, and -EBADMSG is returned (the
 * caller logs it and claims again: the next job is another one).
 */
static int finish_claim(struct store *s, struct pg_session *c, struct pg_stmt *st,
                        const char *event, const char *message, struct job *ret)
{
    char id[UUID_STR_LEN];
    int r = pg_step_row(c, st, pg_read_id, NULL, id);
    if (r == -EEXIST)
        r = -ENOENT; /* jobs_one_running: another worker claimed a job of that site meanwhile */
    if (r == 0)
        r = mark_served(c, id);
    if (r < 0)
        return pg_end(c, r);
    r = pg_job_get_any(s, id, ret);
    if (r == -EBADMSG) {
        r = pg_end(c, pg_job_finish(s, id, JOB_FAILED, UNSEALABLE));
        return r < 0 ? r : -EBADMSG;
    }
    if (r < 0)
        return pg_end(c, r);
    r = pg_end(c, add_event(c, id, event, message));
    if (r < 0)
        job_release(ret);
    return r;
}

int pg_job_claim_pull(struct store *s, const char *site_id, int64_t now_ms, int64_t lease_ms,
                      struct job *ret)
{
    struct pg_session *c;
    static const char sql[] =
        "UPDATE jobs SET status = 'running', via = 'pull', lease_until_ms = ?1, "
        "started_at = coalesce(started_at, ?2) WHERE id = (SELECT id FROM jobs "
        "WHERE site_id = ?3 AND status = 'pending' ORDER BY queue_class DESC, rowid LIMIT 1 FOR "
        "UPDATE SKIP LOCKED) "
        "AND status = 'pending' AND NOT EXISTS (SELECT 1 FROM jobs WHERE site_id = ?3 AND status = "
        "'running') "
        "AND NOT EXISTS (SELECT 1 FROM sites WHERE id = ?3 AND edge_wait_until_ms > ?4::bigint) "
        "RETURNING id";
    int r;
    struct pg_stmt *st = pg_begin_stmt(s, sql, &c, &r);
    if (!st)
        return r;
    pg_bind_int64(st, 1, lease_ms);
    pg_bind_int64(st, 2, now_ms / 1000);
    pg_bind_text(st, 3, site_id);
    pg_bind_int64(st, 4, now_ms);
    return finish_claim(s, c, st, "downloaded", "Script downloaded by the router", ret);
}

int pg_job_claim_push(struct store *s, int64_t now_ms, int64_t lease_ms, int tenant_max,
                      struct job *ret)
{
    struct pg_session *c;
    static const char sql[] =
        "UPDATE jobs SET status = 'running', via = 'push', lease_until_ms = ?1, "
        "started_at = coalesce(started_at, ?2) WHERE id = (SELECT j.id FROM jobs j "
        "JOIN sites s ON s.id = j.site_id WHERE j.status = 'pending' AND j.express_execute = 1 "
        "AND j.next_attempt_ms <= ?3 AND s.tunnel_address IS NOT NULL "
        "AND s.configured_at IS NOT NULL "
        "AND (s.tunnel_mode != 'managed' OR s.tunnel_status = 'up') "
        "AND NOT EXISTS (SELECT 1 FROM jobs r WHERE r.site_id = j.site_id AND "
        "r.status = 'running') "
        "AND j.rowid = " STORE_SQL_HEAD " "
        "AND (?4::int <= 0 OR (SELECT count(*) FROM jobs p JOIN sites ps ON ps.id = p.site_id "
        "WHERE p.status = 'running' AND p.via = 'push' AND ps.tenant_id = s.tenant_id) < ?4::int) "
        "ORDER BY " STORE_SQL_TURN " LIMIT 1 FOR UPDATE OF j SKIP LOCKED) AND status = 'pending' "
        "RETURNING id";
    /*
     * The tenant share counts the tenant's running pushes: in READ COMMITTED two claims at once
     * would both count before either commits and together exceed the share. With a share the
     * push claims take turns (a transaction-level advisory lock, released at commit), and the
     * claim's statement, begun after the lock, sees every earlier claim committed.
     */
    static const char turn[] = "SELECT pg_advisory_xact_lock(7406229430474599)";
    int r;
    struct pg_stmt *st = pg_begin_stmt(s, tenant_max > 0 ? turn : sql, &c, &r);
    if (!st)
        return r;
    if (tenant_max > 0) {
        r = pg_step_done(c, st);
        st = r == 0 ? pg_stmt(c, sql) : NULL;
        if (!st)
            return pg_end(c, r < 0 ? r : -EIO);
    }
    pg_bind_int64(st, 1, lease_ms);
    pg_bind_int64(st, 2, now_ms / 1000);
    pg_bind_int64(st, 3, now_ms);
    pg_bind_int(st, 4, tenant_max);
    return finish_claim(s, c, st, "pushing", "Express push over the RouterOS API started", ret);
}

int pg_job_finish(struct store *s, const char *job_id, enum job_status status, const char *message)
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
    struct pg_session *c = pg_session(s);
    if (!c)
        return -EIO;
    int r = pg_begin(c);
    if (r < 0)
        return r;
    r = update_with_event(s, ok ? done : fail, job_id, time_now(), ok ? NULL : message,
                          ok ? "completed" : "failed", message);
    if (r == 0) /* the outbox, in this transaction (docs/webhooks.md) */
        r = pg_webhook_emit(c, ok ? WEBHOOK_JOB_COMPLETED : WEBHOOK_JOB_FAILED, job_id, NULL,
                            message);
    if (r < 0 || !ok)
        goto out_end_tx;
    struct pg_stmt *st = pg_stmt(c, drop_site);
    if (!st) {
        r = -EIO;
        goto out_end_tx;
    }
    pg_bind_text(st, 1, job_id);
    pg_bind_text(st, 2, job_kind_name(JOB_KIND_SITE_DELETE));
    r = pg_step_done(c, st);
    if (r < 0)
        goto out_end_tx;
    st = pg_stmt(c, committed);
    if (!st) {
        r = -EIO;
        goto out_end_tx;
    }
    pg_bind_int64(st, 1, time_now());
    pg_bind_text(st, 2, job_id);
    r = pg_step_done(c, st);
    if (r < 0)
        goto out_end_tx;
    st = pg_stmt(c, removed);
    if (!st) {
        r = -EIO;
        goto out_end_tx;
    }
    pg_bind_text(st, 1, job_id);
    pg_bind_int(st, 2, 1);
    r = pg_step_done(c, st);
out_end_tx:
    return pg_end(c, r);
}

int pg_job_retry(struct store *s, const char *job_id, int64_t next_ms, const char *message)
{
    static const char sql[] =
        "UPDATE jobs SET status = 'pending', via = NULL, lease_until_ms = NULL, lease_owner = "
        "NULL, "
        "attempts = attempts + 1, next_attempt_ms = ?1, last_error = ?2 WHERE id = ?3 "
        "AND status = 'running'";
    return update_with_event(s, sql, job_id, next_ms, message, "retry_scheduled", message);
}

/* The check and the write in one transaction: a final job stays final. */
int pg_job_router_update(struct store *s, const char *job_id, enum job_router_status status)
{
    static const char q[] =
        "SELECT status, needs_acknowledgement FROM jobs WHERE id = ? FOR UPDATE";
    /* A pulled job the router started is never handed out again (it may be rebooting the
     * router): its lease becomes the window for its end report (STORE_PULL_REPORT_MS). */
    static const char busy[] =
        "UPDATE jobs SET status = 'running', started_at = coalesce(started_at, ?1), "
        "lease_until_ms = CASE WHEN via = 'pull' THEN ?1::bigint * 1000 + 1800000 "
        "ELSE lease_until_ms END, "
        "last_error = ?2 WHERE id = ?3 AND status IN ('pending', 'running')";
    struct pg_session *c;
    int r;
    struct pg_stmt *st = pg_begin_stmt(s, q, &c, &r);
    if (!st)
        return r;
    pg_bind_text(st, 1, job_id);
    struct job_state cur;
    r = pg_step_row(c, st, state_row, NULL, &cur);
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
            r = pg_job_finish(s, job_id, JOB_COMPLETED,
                              "Completed on delivery (no acknowledgement needed)");
    } else if (status == JOB_ROUTER_DONE) {
        r = pg_job_finish(s, job_id, JOB_COMPLETED, "The router reported success");
    } else if (status == JOB_ROUTER_FAIL) {
        r = pg_job_finish(s, job_id, JOB_FAILED, "The router reported a failure");
    } else {
        r = -EINVAL;
    }
out_end_tx:
    return pg_end(c, r);
}

/*
 * Logs "requeued" (msg) on the running jobs sql moves back, then runs sql: by lease when
 * now_ms > 0 (sql binds ?1 = now_ms), else owner's pushes (sql binds ?1 = owner).
 */
static int requeue(struct store *s, const char *sql, int64_t now_ms, const char *owner,
                   const char *msg, int *ret_n)
{
    struct pg_session *c;
    static const char ev[] = "INSERT INTO job_events(job_id, at_ms, kind, message) "
                             "SELECT id, ?1, 'requeued', ?2 FROM jobs WHERE status = 'running' "
                             "AND (?3 = 0 OR lease_until_ms < ?1) AND (?3 = 1 OR (via = 'push' "
                             "AND (lease_owner IS NULL OR lease_owner = ?4::text)))";
    int r;
    struct pg_stmt *st = pg_begin_stmt(s, ev, &c, &r);
    if (!st)
        return r;
    int by_lease = now_ms > 0;
    pg_bind_int64(st, 1, by_lease ? now_ms : time_now_ms());
    pg_bind_text(st, 2, msg);
    pg_bind_int(st, 3, by_lease);
    pg_bind_text(st, 4, owner);
    r = pg_step_done(c, st);
    if (r < 0)
        goto out_end_tx;
    st = pg_stmt(c, sql);
    if (!st) {
        r = -EIO;
        goto out_end_tx;
    }
    if (by_lease)
        pg_bind_int64(st, 1, now_ms);
    else
        pg_bind_text(st, 1, owner);
    r = pg_step_done(c, st);
    if (r < 0)
        goto out_end_tx;
    *ret_n = pg_changes(c);
out_end_tx:
    return pg_end(c, r);
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
    static const char upd[] = "UPDATE jobs SET status = 'failed', failed_at = ?1::bigint / 1000, "
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
    struct pg_session *c;
    int r;
    struct pg_stmt *st = pg_begin_stmt(s, ev, &c, &r);
    if (!st)
        return r;
    for (int pass = 0; pass < 2 && r == 0; pass++) {
        if (pass == 1 && !(st = pg_stmt(c, upd))) {
            r = -EIO;
            break;
        }
        pg_bind_int64(st, 1, now_ms);
        pg_bind_text(st, 2, started);
        pg_bind_text(st, 3, refused);
        pg_bind_int(st, 4, STORE_PULL_MAX_DOWNLOADS);
        r = pg_step_done(c, st);
    }
    return pg_end(c, r);
}

int pg_jobs_requeue_expired(struct store *s, int64_t now_ms, int *ret_n)
{
    static const char sql[] = "UPDATE jobs SET status = 'pending', via = NULL, "
                              "attempts = attempts + (via = 'pull')::int, "
                              "lease_until_ms = NULL, lease_owner = NULL WHERE status = 'running' "
                              "AND lease_until_ms < ?1";
    int r = fail_stuck_pulls(s, now_ms);
    if (r < 0)
        return r;
    return requeue(s, sql, now_ms, NULL, "Lease expired: the job goes back to the queue", ret_n);
}

int pg_jobs_requeue_push(struct store *s, const char *owner, int *ret_n)
{
    static const char sql[] =
        "UPDATE jobs SET status = 'pending', via = NULL, lease_until_ms = NULL, "
        "lease_owner = NULL WHERE status = 'running' AND via = 'push' AND "
        "(lease_owner IS NULL OR lease_owner = ?1::text)";
    return requeue(s, sql, 0, owner, "Restarted while pushing: the job goes back to the queue",
                   ret_n);
}

/*
 * One statement: the UPDATE's FROM names the dead owner of each job it moves, and a second
 * taker at the same moment waits for the first's row locks, then finds lease_owner NULL and
 * moves (and logs) nothing again.
 */
int pg_jobs_take_over(struct store *s, const char *taker, int64_t dead_after_ms, int *ret_n)
{
    static const char sql[] =
        "WITH dead AS (SELECT name FROM nodes WHERE name != ?1 AND heartbeat_at_ms < " PG_DB_NOW_MS
        " - ?2::bigint), moved AS (UPDATE jobs j SET status = 'pending', via = NULL, "
        "lease_until_ms = NULL, lease_owner = NULL FROM dead WHERE j.lease_owner = dead.name "
        "AND j.status = 'running' AND j.via = 'push' RETURNING j.id, dead.name AS owner) "
        "INSERT INTO job_events(job_id, at_ms, kind, message) SELECT id, ?3, 'requeued', "
        "'Node ' || owner || ' stopped heartbeating (dead): node ' || ?1 || "
        "' took its claim over; the job goes back to the queue' FROM moved";
    struct pg_session *c;
    struct pg_stmt *st = pg_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    pg_bind_text(st, 1, taker);
    pg_bind_int64(st, 2, dead_after_ms);
    pg_bind_int64(st, 3, time_now_ms());
    int r = pg_step_done(c, st);
    if (r == 0)
        *ret_n = (int)pg_changes(c);
    if (r == 0 && *ret_n > 0)
        pg_notify(c, STORE_WAKE_JOBS);
    return r;
}

/*
 * One statement claims the batch: the candidates (each site's oldest due job, so at most one
 * per site) are locked FOR UPDATE SKIP LOCKED, so another node's claim at the same moment skips
 * them and they skip its candidates, neither waiting; the tenant share is applied in SQL (the
 * k-th candidate of a tenant passes while running + k <= tenant_max, oldest first, as
 * store_claim_pick); the picked ones become running with their "pushing" event and come back
 * as job rows. A site whose oldest job another claim holds is skipped as a whole (its next job
 * is not its oldest pending one). jobs_one_running catches the rest (a pull claim of the same
 * site at once): its violation aborts this claim, returned as "nothing claimed".
 */
int pg_job_claim_push_batch(struct store *s, struct store_push_claim *cl, struct job **ret,
                            size_t *n)
{
#define RUNNING                                                                                    \
    "(SELECT count(*) FROM jobs p JOIN sites ps ON ps.id = p.site_id WHERE p.status = "            \
    "'running' AND p.via = 'push' AND p.lease_owner = ?2 AND ps.tenant_id = s.tenant_id)"
    static const char sql[] =
        "WITH RECURSIVE " STORE_SQL_PENDING_SITES ", cand AS (SELECT j.id, j.rowid, j.queue_class "
        "AS cls, s.queue_claimed_ms AS served, s.tenant_id, CASE WHEN ?3::int > 0 THEN " RUNNING
        " ELSE 0 END AS running FROM ps JOIN sites s ON s.id = ps.site_id JOIN jobs j ON "
        "j.rowid = " STORE_SQL_HEAD " WHERE j.status = 'pending' AND j.express_execute = 1 "
        "AND j.next_attempt_ms <= ?1 AND s.tunnel_address IS NOT NULL AND s.configured_at IS "
        "NOT NULL AND (s.tunnel_mode != 'managed' OR (s.tunnel_status = 'up' AND "
        "(s.edge_node IS NULL OR s.edge_node = ?2))) "
        "AND NOT EXISTS (SELECT 1 FROM jobs r WHERE r.site_id = s.id AND "
        "r.status = 'running') AND (?3::int <= 0 OR " RUNNING " < ?3::int) ORDER BY " STORE_SQL_TURN
        " LIMIT ?4 FOR UPDATE OF j SKIP LOCKED), "
        /* STORE_SQL_TURN again, over cand's columns (no window function under FOR UPDATE) */
        "pick AS (SELECT id, tenant_id, ord FROM (SELECT id, tenant_id, running, row_number() "
        "OVER w AS ord, row_number() OVER (PARTITION BY tenant_id ORDER BY cls DESC, served IS "
        "NOT NULL, served, rowid) AS k FROM cand WINDOW w AS (ORDER BY cls DESC, served IS NOT "
        "NULL, served, rowid)) c WHERE ?3::int <= 0 OR running + k <= ?3::int ORDER BY ord "
        "LIMIT ?5), "
        "upd AS (UPDATE jobs j SET status = 'running', via = 'push', lease_owner = ?2, "
        "lease_until_ms = ?6, started_at = coalesce(j.started_at, ?7) FROM pick WHERE j.id = "
        "pick.id RETURNING j.id, j.site_id, pick.tenant_id, j.token, j.kind, j.description, "
        "j.payload, j.is_script, j.express_execute, j.needs_acknowledgement, j.status, "
        "j.attempts, j.next_attempt_ms, j.created_at, j.started_at, j.completed_at, j.failed_at, "
        "j.deleted_at, j.last_error, j.created_by, j.idempotency_key, j.queue_class, pick.ord), "
        "turn AS (UPDATE sites SET queue_claimed_ms = ?8 WHERE id IN (SELECT s.id FROM sites s "
        "JOIN upd ON upd.site_id = s.id FOR UPDATE OF s SKIP LOCKED)), "
        "ev AS (INSERT INTO job_events(job_id, at_ms, kind, message) SELECT id, ?8, 'pushing', "
        "'Express push over the RouterOS API started' FROM upd) "
        "SELECT id, site_id, tenant_id, token, kind, description, payload, is_script, "
        "express_execute, needs_acknowledgement, status, attempts, next_attempt_ms, created_at, "
        "started_at, completed_at, failed_at, deleted_at, last_error, created_by, "
        "idempotency_key, queue_class FROM upd ORDER BY ord";
#undef RUNNING
    /*
     * The tenant share counts the node's running pushes: the node's own claims take turns (an
     * advisory lock on its name, released at commit; the claim's statement, begun after it,
     * sees every earlier claim of the node committed), other nodes' claims do not wait.
     */
    static const char turn[] =
        "SELECT pg_advisory_xact_lock(hashtextextended(?1, 7406229430474599))";
    if (cl->limit < 1 || cl->limit > STORE_CLAIM_MAX || !cl->owner)
        return -EINVAL;
    cl->ret_unsealable = 0;
    struct pg_session *c;
    int r;
    struct pg_stmt *st = pg_begin_stmt(s, cl->tenant_max > 0 ? turn : sql, &c, &r);
    if (!st)
        return r;
    if (cl->tenant_max > 0) {
        pg_bind_text(st, 1, cl->owner);
        r = pg_step_done(c, st);
        st = r == 0 ? pg_stmt(c, sql) : NULL;
        if (!st)
            return pg_end(c, r < 0 ? r : -EIO);
    }
    enum { SPARE = 4 }; /* more candidates than limit: the share may pass over some */
    pg_bind_int64(st, 1, cl->now_ms);
    pg_bind_text(st, 2, cl->owner);
    pg_bind_int(st, 3, cl->tenant_max);
    pg_bind_int(st, 4, cl->limit * SPARE);
    pg_bind_int(st, 5, cl->limit);
    pg_bind_int64(st, 6, cl->lease_until_ms);
    pg_bind_int64(st, 7, cl->now_ms / 1000);
    pg_bind_int64(st, 8, time_now_ms());
    struct job *jobs = xcalloc((size_t)cl->limit, sizeof *jobs);
    struct strlist bad = {0};
    size_t got = 0;
    int rc;
    while ((rc = pg_step(st)) == PG_ROW && got < (size_t)cl->limit) {
        int rr = read_job(s, st, &jobs[got]);
        if (rr == 0)
            got++;
        else if (rr == -EBADMSG)
            strlist_add(&bad, (const char *)pg_column_text(st, 0));
    }
    pg_reset(st);
    r = rc == PG_ROW || rc == PG_DONE ? 0 : pg_map_rc(c, rc);
    for (size_t i = 0; r == 0 && i < bad.n; i++) {
        cl->ret_unsealable++;
        r = pg_job_finish(s, bad.items[i], JOB_FAILED, UNSEALABLE);
    }
    strlist_release(&bad);
    r = pg_end(c, r); /* unsealable jobs failed: kept even when nothing else was claimed */
    if (r < 0 || got == 0) {
        store_job_array_free(jobs, got);
        return r < 0 && r != -EEXIST ? r : -ENOENT; /* -EEXIST: jobs_one_running, see above */
    }
    *ret = jobs;
    *n = got;
    return 0;
}

int pg_job_pull_refused(struct store *s, const char *site_id)
{
    static const char q[] =
        "SELECT id FROM jobs WHERE site_id = ? AND status = 'running' AND "
        "via = 'pull' AND NOT EXISTS (SELECT 1 FROM job_events e WHERE "
        "e.job_id = jobs.id AND e.kind = 'busy') ORDER BY rowid LIMIT 1 FOR UPDATE";
    static const char msg[] =
        "The router could not run the job: RouterOS refused the script before running any of "
        "it (a syntax error: a command or argument this RouterOS version does not have, or a "
        "typo in a custom script)";
    struct pg_session *c;
    int r;
    struct pg_stmt *st = pg_begin_stmt(s, q, &c, &r);
    if (!st)
        return r;
    pg_bind_text(st, 1, site_id);
    char id[UUID_STR_LEN];
    r = pg_step_row(c, st, pg_read_id, NULL, id);
    if (r == 0)
        r = pg_job_finish(s, id, JOB_FAILED, msg);
    return pg_end(c, r);
}
