/*
 * pg_credentials.c - two-phase rotation of the platform's API password (store.h
 * "API credentials", migration 0017) in the PostgreSQL store.
 */
#include "pg_int.h"
#include "timefmt.h"

#include <errno.h>
#include <string.h>

int pg_credential_set_job(struct store *s, const char *cred_id, const char *job_id)
{
    static const char sql[] = "UPDATE api_credentials SET job_id = ?1 WHERE id = ?2";
    struct pg_session *c;
    struct pg_stmt *st = pg_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    pg_bind_text(st, 1, job_id);
    pg_bind_text(st, 2, cred_id);
    return pg_step_changed(c, st);
}

/* Confirms cred_id of site_id on c, inside the caller's transaction (store.h). */
static int confirm(struct pg_session *c, const char *site_id, const char *cred_id,
                   bool *ret_changed)
{
    static const char get[] = "SELECT state = 'current' FROM api_credentials WHERE id = ?1 AND "
                              "site_id = ?2";
    /* every other current one, and pending ones older than it (created_at, rowid) */
    static const char retire[] =
        "UPDATE api_credentials SET state = 'retired', deleted_at = coalesce(deleted_at, ?3) "
        "WHERE site_id = ?1 AND id != ?2 AND (state = 'current' OR (state = 'pending' AND "
        "(created_at, rowid) < (SELECT created_at, rowid FROM api_credentials WHERE id = ?2)))";
    static const char promote[] =
        "UPDATE api_credentials SET state = 'current', deleted_at = NULL WHERE id = ?1";
    /* the site's row locked first: two confirmations of one site queue up (never two current) */
    static const char lock[] = "SELECT 1 FROM sites WHERE id = ?1 FOR UPDATE";
    struct pg_stmt *st = pg_stmt(c, lock);
    if (!st)
        return -EIO;
    pg_bind_text(st, 1, site_id);
    int r = pg_step_row(c, st, NULL, NULL, NULL);
    if (r < 0)
        return r;
    if (!(st = pg_stmt(c, get)))
        return -EIO;
    pg_bind_text(st, 1, cred_id);
    pg_bind_text(st, 2, site_id);
    int was_current = 0;
    r = pg_step_row(c, st, pg_read_int, NULL, &was_current);
    if (r < 0)
        return r;
    if (!(st = pg_stmt(c, retire)))
        return -EIO;
    pg_bind_text(st, 1, site_id);
    pg_bind_text(st, 2, cred_id);
    pg_bind_int64(st, 3, time_now());
    if ((r = pg_step_done(c, st)) < 0)
        return r;
    if (!(st = pg_stmt(c, promote)))
        return -EIO;
    pg_bind_text(st, 1, cred_id);
    if ((r = pg_step_done(c, st)) < 0)
        return r;
    if (ret_changed)
        *ret_changed = !was_current;
    return 0;
}

int pg_credential_confirm(struct store *s, const char *site_id, const char *cred_id,
                          bool *ret_changed)
{
    struct pg_session *c = pg_session(s);
    if (!c)
        return -EIO;
    int r = pg_begin(c);
    if (r < 0)
        return r;
    r = confirm(c, site_id, cred_id, ret_changed);
    return pg_end(c, r);
}

int pg_credential_confirm_job(struct store *s, const char *job_id, bool *ret_changed)
{
    static const char sql[] = "SELECT id, site_id FROM api_credentials WHERE job_id = ?1 "
                              "ORDER BY created_at DESC, rowid DESC LIMIT 1";
    struct pg_session *c = pg_session(s);
    if (!c)
        return -EIO;
    /* Every pushed job ends here and few set a password: a read first (as on SQLite), so the
     * others cost one round trip, not BEGIN, SELECT and ROLLBACK. */
    if (c->tx_depth == 0) {
        struct pg_stmt *q = pg_stmt(c, sql);
        if (!q)
            return -EIO;
        pg_bind_text(q, 1, job_id);
        int qr = pg_step_row(c, q, NULL, NULL, NULL); /* 0: a row, -ENOENT: none */
        if (qr < 0)
            return qr;
    }
    int r = pg_begin(c);
    if (r < 0)
        return r;
    struct pg_stmt *st = pg_stmt(c, sql);
    if (!st) {
        r = -EIO;
        goto out_end;
    }
    pg_bind_text(st, 1, job_id);
    char id[UUID_STR_LEN] = "", site[UUID_STR_LEN] = "";
    int rc = pg_step(st);
    if (rc == PG_ROW) {
        pg_col_copy(st, 0, id, sizeof id);
        pg_col_copy(st, 1, site, sizeof site);
    }
    pg_reset(st);
    r = rc == PG_ROW ? 0 : rc == PG_DONE ? -ENOENT : pg_map_rc(c, rc);
    if (r == 0)
        r = confirm(c, site, id, ret_changed);
out_end:
    return pg_end(c, r);
}
