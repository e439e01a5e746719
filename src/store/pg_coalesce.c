/*
 * pg_coalesce.c - older pending jobs made pointless by a newer one (issue 13), in the
 * PostgreSQL store; the same statements as sqlite_coalesce.c.
 */
#include "pg_int.h"
#include "timefmt.h"

#include <errno.h>
#include <string.h>

#define OLDER_PENDING                                                                              \
    "WHERE site_id = ?3 AND kind = ?4 AND status = 'pending' AND rowid < "                         \
    "(SELECT rowid FROM jobs WHERE id = ?5 AND site_id = ?3)"

int pg_job_supersede(struct store *s, const char *site_id, enum job_kind kind,
                     const char *by_job_id, const char *message)
{
    static const char ev[] = "INSERT INTO job_events(job_id, at_ms, kind, message) "
                             "SELECT id, ?1, 'deleted', ?2 FROM jobs " OLDER_PENDING;
    static const char upd[] =
        "UPDATE jobs SET status = 'deleted', deleted_at = ?1, last_error = ?2 " OLDER_PENDING;
    struct pg_session *c;
    int r;
    struct pg_stmt *st = pg_begin_stmt(s, ev, &c, &r);
    if (!st)
        return r;
    long n = 0;
    for (int pass = 0; pass < 2 && r == 0; pass++) {
        if (pass == 1 && !(st = pg_stmt(c, upd))) {
            r = -EIO;
            break;
        }
        /* ?1: the event's time in ms, then deleted_at in seconds */
        pg_bind_int64(st, 1, pass == 0 ? time_now_ms() : time_now());
        pg_bind_text(st, 2, message);
        pg_bind_text(st, 3, site_id);
        pg_bind_text(st, 4, job_kind_name(kind));
        pg_bind_text(st, 5, by_job_id);
        r = pg_step_done(c, st);
        if (r == 0 && pass == 1)
            n = pg_changes(c);
    }
    r = pg_end(c, r);
    return r < 0 ? r : (int)n;
}
