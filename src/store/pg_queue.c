/*
 * pg_queue.c - the job queue's rules beyond one job (issue 14): supersession of waiting
 * policy pushes and rotations, the pending counts behind the queue limits, and the drift
 * check's claim of a site (store.h) in the PostgreSQL store.
 */
#include "pg_int.h"
#include "timefmt.h"

#include <errno.h>
#include <string.h>

/* The pending jobs a newer one of the same kind replaces (?1 site, ?2 kind, ?3 the newer). */
#define SUPERSEDED                                                                                 \
    "site_id = ?1 AND kind = ?2 AND status = 'pending' AND id != ?3 AND rowid < "                  \
    "(SELECT rowid FROM jobs WHERE id = ?3)"

/*
 * Runs the three statements of a supersession (the events, the pending credentials the jobs
 * would have set, the jobs), ?1 = key, ?2 = kind, ?3 = the newer job, in one transaction.
 */
static int supersede(struct store *s, const char *const sql[3], const char *key, enum job_kind kind,
                     const char *by_job_id, int *ret_n)
{
    struct pg_session *c = pg_session(s);
    if (!c)
        return -EIO;
    int r = pg_begin(c);
    int n = 0;
    for (size_t i = 0; r == 0 && i < 3; i++) {
        struct pg_stmt *st = pg_stmt(c, sql[i]);
        if (!st) {
            r = -EIO;
            break;
        }
        pg_bind_text(st, 1, key);
        pg_bind_text(st, 2, job_kind_name(kind));
        pg_bind_text(st, 3, by_job_id);
        if (i == 0)
            pg_bind_int64(st, 4, time_now_ms());
        if (i == 1)
            pg_bind_int64(st, 4, time_now());
        r = pg_step_done(c, st);
        if (r == 0 && i == 2)
            n = (int)pg_changes(c);
    }
    r = pg_end(c, r);
    if (r == 0 && ret_n)
        *ret_n = n;
    return r;
}

int pg_jobs_supersede(struct store *s, const char *site_id, enum job_kind kind,
                      const char *by_job_id, int *ret_n)
{
    static const char *const sql[] = STORE_SQL_SUPERSEDE(SUPERSEDED);
    return supersede(s, sql, site_id, kind, by_job_id, ret_n);
}

/* The one pending job ?1 of kind ?2 (a grant's setup its teardown replaces). */
#define SUPERSEDED_ONE "id = ?1 AND kind = ?2 AND status = 'pending' AND id != ?3"

int pg_job_supersede(struct store *s, const char *job_id, enum job_kind kind, const char *by_job_id,
                     int *ret_n)
{
    static const char *const sql[] = STORE_SQL_SUPERSEDE(SUPERSEDED_ONE);
    return supersede(s, sql, job_id, kind, by_job_id, ret_n);
}

int pg_jobs_pending_count(struct store *s, const char *site_id, long *ret)
{
    static const char sql[] = "SELECT count(*) FROM jobs WHERE status = 'pending' AND "
                              "(?1::text IS NULL OR site_id = ?1)";
    struct pg_session *c;
    struct pg_stmt *st = pg_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    pg_bind_text(st, 1, site_id);
    int n = 0;
    int r = pg_step_row(c, st, pg_read_int, NULL, &n);
    if (r == 0)
        *ret = n;
    return r;
}

int pg_site_claim_verify(struct store *s, const char *node, int64_t now_s, int64_t interval_s,
                         char ret_id[UUID_STR_LEN])
{
    static const char sql[] =
        "UPDATE sites SET verified_at = ?1 WHERE id = (SELECT s.id FROM sites s WHERE "
        "s.configured_at IS NOT NULL AND s.status = 'online' AND s.tunnel_address IS NOT NULL AND "
        "(s.verified_at IS NULL OR s.verified_at <= ?1::bigint - ?2::bigint) AND (s.tunnel_mode != "
        "'managed' "
        "OR ((s.edge_node IS NULL OR s.edge_node = ?3) AND s.tunnel_status = 'up')) AND NOT "
        "EXISTS (SELECT 1 FROM jobs j WHERE j.site_id = s.id AND j.status IN ('pending', "
        "'running')) ORDER BY s.verified_at NULLS FIRST, s.rowid LIMIT 1 FOR UPDATE SKIP "
        "LOCKED) RETURNING id";
    struct pg_session *c;
    struct pg_stmt *st = pg_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    pg_bind_int64(st, 1, now_s);
    pg_bind_int64(st, 2, interval_s);
    pg_bind_text(st, 3, node);
    return pg_step_row(c, st, pg_read_id, NULL, ret_id);
}
