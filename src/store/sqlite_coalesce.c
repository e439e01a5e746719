/*
 * sqlite_coalesce.c - older pending jobs made pointless by a newer one (issue 13: the job
 * backlog under a stream of policy updates stays bounded), in the SQLite store.
 */
#include "sqlite_int.h"
#include "timefmt.h"

#include <errno.h>
#include <string.h>

#define OLDER_PENDING                                                                              \
    "WHERE site_id = ?3 AND kind = ?4 AND status = 'pending' AND rowid < "                         \
    "(SELECT rowid FROM jobs WHERE id = ?5 AND site_id = ?3)"

int sqlite_job_supersede(struct store *s, const char *site_id, enum job_kind kind,
                         const char *by_job_id, const char *message)
{
    static const char ev[] = "INSERT INTO job_events(job_id, at_ms, kind, message) "
                             "SELECT id, ?1, 'deleted', ?2 FROM jobs " OLDER_PENDING;
    static const char upd[] =
        "UPDATE jobs SET status = 'deleted', deleted_at = ?1, last_error = ?2 " OLDER_PENDING;
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
        /* ?1: the event's time in ms, then deleted_at in seconds */
        sqlite3_bind_int64(st, 1, pass == 0 ? time_now_ms() : time_now());
        bind_text(st, 2, message);
        bind_text(st, 3, site_id);
        bind_text(st, 4, job_kind_name(kind));
        bind_text(st, 5, by_job_id);
        r = store_step_done(c, st);
    }
    int n = r == 0 ? sqlite3_changes(c->db) : 0;
    r = store_end(c, r);
    return r < 0 ? r : n;
}
