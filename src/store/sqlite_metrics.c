/*
 * sqlite_metrics.c - the counts behind /metrics (all tenants together) in the SQLite store.
 */
#include "sqlite_int.h"
#include "timefmt.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>

/* Runs a "SELECT key, count(*) ... GROUP BY key" and adds each count to out[index(key)]. */
static int count_by(struct store_conn *c, const char *sql, int64_t arg,
                    int (*index)(const char *key), long *out)
{
    sqlite3_stmt *st = store_stmt(c, sql);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, arg);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *key = (const char *)sqlite3_column_text(st, 0);
        int i = key ? index(key) : -1;
        if (i >= 0)
            out[i] += sqlite3_column_int64(st, 1);
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : store_map_rc(c, rc);
}

static int site_index(const char *k)
{
    enum site_status st;
    return site_status_parse(k, &st) == 0 ? (int)st : -1;
}

static int job_index(const char *k)
{
    enum job_status st;
    return job_status_parse(k, &st) == 0 ? (int)st : -1;
}

static int grant_index(const char *k)
{
    return !strcmp(k, "access") ? GRANT_ACCESS : !strcmp(k, "forward") ? GRANT_FORWARD : -1;
}

static int single(const char *k)
{
    (void)k;
    return 0;
}

int sqlite_metrics_get(struct store *s, struct store_metrics *ret)
{
    struct store_conn *c = store_conn(s);
    if (!c)
        return -EIO;
    static const char sites[] = "SELECT status, count(*) FROM sites WHERE ?1 = ?1 GROUP BY status";
    static const char jobs[] = "SELECT status, count(*) FROM jobs WHERE ?1 = ?1 GROUP BY status";
    static const char grants[] =
        "SELECT kind, count(*) FROM grants WHERE torn_down_at IS NULL AND expires_at_ms > ?1 "
        "GROUP BY kind";
    static const char tenants[] = "SELECT 'x', count(*) FROM tenants WHERE ?1 = ?1";
    static const char users[] = "SELECT 'x', count(*) FROM users WHERE ?1 = ?1";
    memset(ret, 0, sizeof *ret);
    int r = count_by(c, sites, 0, site_index, ret->sites);
    if (r == 0)
        r = count_by(c, jobs, 0, job_index, ret->jobs);
    if (r == 0)
        r = count_by(c, grants, time_now_ms(), grant_index, ret->grants_live);
    if (r == 0)
        r = count_by(c, tenants, 0, single, &ret->tenants);
    if (r == 0)
        r = count_by(c, users, 0, single, &ret->users);
    struct sqlite_store *o = sqlite_store_of(s);
    ret->has_writer = true;
    ret->writer_holds = atomic_load(&o->writer_holds);
    ret->writer_held_us = atomic_load(&o->writer_held_us);
    ret->writer_commits = atomic_load(&o->writer_commits);
    return r;
}
