/*
 * sqlite_credentials.c - two-phase rotation of the platform's API password (store.h
 * "API credentials", migration 0017) in the SQLite store.
 */
#include "sqlite_int.h"
#include "timefmt.h"

#include <errno.h>
#include <string.h>

int sqlite_credential_set_job(struct store *s, const char *cred_id, const char *job_id)
{
    static const char sql[] = "UPDATE api_credentials SET job_id = ?1 WHERE id = ?2";
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    bind_text(st, 1, job_id);
    bind_text(st, 2, cred_id);
    return store_step_changed(c, st);
}

/* Confirms cred_id of site_id on c, inside the caller's transaction (store.h). */
static int confirm(struct store_conn *c, const char *site_id, const char *cred_id,
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
    sqlite3_stmt *st = store_stmt(c, get);
    if (!st)
        return -EIO;
    bind_text(st, 1, cred_id);
    bind_text(st, 2, site_id);
    int was_current = 0;
    int r = store_step_row(c, st, store_read_int, NULL, &was_current);
    if (r < 0)
        return r;
    if (!(st = store_stmt(c, retire)))
        return -EIO;
    bind_text(st, 1, site_id);
    bind_text(st, 2, cred_id);
    sqlite3_bind_int64(st, 3, time_now());
    if ((r = store_step_done(c, st)) < 0)
        return r;
    if (!(st = store_stmt(c, promote)))
        return -EIO;
    bind_text(st, 1, cred_id);
    if ((r = store_step_done(c, st)) < 0)
        return r;
    if (ret_changed)
        *ret_changed = !was_current;
    return 0;
}

int sqlite_credential_confirm(struct store *s, const char *site_id, const char *cred_id,
                              bool *ret_changed)
{
    struct store_conn *c = store_conn(s);
    if (!c)
        return -EIO;
    int r = store_begin(c);
    if (r < 0)
        return r;
    r = confirm(c, site_id, cred_id, ret_changed);
    return store_end(c, r);
}

int sqlite_credential_confirm_job(struct store *s, const char *job_id, bool *ret_changed)
{
    static const char sql[] = "SELECT id, site_id FROM api_credentials WHERE job_id = ?1 "
                              "ORDER BY created_at DESC, rowid DESC LIMIT 1";
    struct store_conn *c = store_conn(s);
    if (!c)
        return -EIO;
    /* Every pushed job ends here and few set a password: a read first (the credential row is
     * written before its job can run), so the others take no write lock (issue 13). */
    if (c->tx_depth == 0) {
        sqlite3_stmt *q = store_stmt(c, sql);
        if (!q)
            return -EIO;
        bind_text(q, 1, job_id);
        int qr = store_step_row(c, q, NULL, NULL, NULL); /* 0: a row, -ENOENT: none */
        if (qr < 0)
            return qr;
    }
    int r = store_begin(c);
    if (r < 0)
        return r;
    sqlite3_stmt *st = store_stmt(c, sql);
    if (!st) {
        r = -EIO;
        goto out_end;
    }
    bind_text(st, 1, job_id);
    char id[UUID_STR_LEN] = "", site[UUID_STR_LEN] = "";
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        col_copy(st, 0, id, sizeof id);
        col_copy(st, 1, site, sizeof site);
    }
    sqlite3_reset(st);
    r = rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : store_map_rc(c, rc);
    if (r == 0)
        r = confirm(c, site, id, ret_changed);
out_end:
    return store_end(c, r);
}
