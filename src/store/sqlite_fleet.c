/*
 * sqlite_fleet.c - the fleet view's history (migration 0016) in the SQLite store: up time per
 * site and hour from heartbeats, and the 5-minute samples of live grants and connections.
 */
#include "sqlite_int.h"
#include "timefmt.h"

#include <errno.h>
#include <string.h>

int sqlite_uptime_add(struct store_conn *c, const char *site_id, int64_t from, int64_t to)
{
    static const char sql[] =
        "INSERT INTO site_uptime(site_id, hour, up_s) VALUES (?1, ?2, ?3) "
        "ON CONFLICT(site_id, hour) DO UPDATE SET up_s = min(3600, up_s + excluded.up_s)";
    struct store_uptime_span sp;
    for (store_uptime_first(&sp, from, to); sp.up_s > 0; store_uptime_next(&sp)) {
        sqlite3_stmt *st = store_stmt(c, sql);
        if (!st)
            return -EIO;
        bind_text(st, 1, site_id);
        sqlite3_bind_int64(st, 2, sp.hour);
        sqlite3_bind_int64(st, 3, sp.up_s);
        int r = store_step_done(c, st);
        if (r < 0)
            return r;
    }
    return 0;
}

/* Adds a "SELECT status, tunnel_mode, tunnel_status, count(*)" row to the counts. */
static int read_site_counts(void *ctx, sqlite3_stmt *st, void *out)
{
    (void)ctx;
    store_fleet_count_site(out, (const char *)sqlite3_column_text(st, 0),
                           (const char *)sqlite3_column_text(st, 1),
                           (const char *)sqlite3_column_text(st, 2), sqlite3_column_int64(st, 3));
    return 0;
}

static int read_job_counts(void *ctx, sqlite3_stmt *st, void *out)
{
    (void)ctx;
    store_fleet_count_job(out, (const char *)sqlite3_column_text(st, 0),
                          sqlite3_column_int64(st, 1));
    return 0;
}

/* Steps a grouped count to its end, feeding each row to read (no array). */
static int each_row(struct store_conn *c, sqlite3_stmt *st,
                    int (*read)(void *ctx, sqlite3_stmt *st, void *out), void *out)
{
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        read(NULL, st, out);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : store_map_rc(c, rc);
}

static int read_long(void *ctx, sqlite3_stmt *st, void *out)
{
    (void)ctx;
    *(long *)out = (long)sqlite3_column_int64(st, 0);
    return 0;
}

int sqlite_fleet_counts(struct store *s, const char *tenant_id, int64_t now_ms,
                        struct store_fleet_counts *ret)
{
    static const char sites[] = "SELECT status, tunnel_mode, tunnel_status, count(*) FROM sites "
                                "WHERE tenant_id = ?1 GROUP BY 1, 2, 3";
    static const char jobs[] = "SELECT j.status, count(*) FROM jobs j JOIN sites s ON "
                               "s.id = j.site_id WHERE s.tenant_id = ?1 GROUP BY 1";
    static const char grants[] =
        "SELECT count(*) FROM grants g JOIN sites s ON s.id = g.site_id WHERE s.tenant_id = ?1 "
        "AND g.torn_down_at IS NULL AND g.expires_at_ms > ?2";
    struct store_fleet_counts out = {0};
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sites, &c);
    if (!st)
        return -EIO;
    bind_text(st, 1, tenant_id);
    int r = each_row(c, st, read_site_counts, &out);
    if (r == 0 && !(st = store_stmt(c, jobs)))
        r = -EIO;
    if (r == 0) {
        bind_text(st, 1, tenant_id);
        r = each_row(c, st, read_job_counts, &out);
    }
    if (r == 0 && !(st = store_stmt(c, grants)))
        r = -EIO;
    if (r == 0) {
        bind_text(st, 1, tenant_id);
        sqlite3_bind_int64(st, 2, now_ms);
        r = store_step_row(c, st, read_long, NULL, &out.grants_live);
    }
    if (r == 0)
        *ret = out;
    return r;
}

/* Connections accepted by the edge (refused and limited records aside) of a tenant in [?2, ?3) */
#define CONNS_OF(tenant)                                                                           \
    "(SELECT count(*) FROM grant_connections c JOIN grants g ON g.id = c.grant_id JOIN sites s "   \
    "ON s.id = g.site_id WHERE s.tenant_id = " tenant " AND c.started_ms >= ?2 AND "               \
    "c.started_ms < ?3 AND c.outcome NOT IN ('refused', 'limited'))"
#define LIVE_OF(tenant)                                                                            \
    "(SELECT count(*) FROM grants g JOIN sites s ON s.id = g.site_id WHERE s.tenant_id = " tenant  \
    " AND g.torn_down_at IS NULL AND g.expires_at_ms > ?4)"

int sqlite_fleet_sample(struct store *s, int64_t now_ms, int *ret_written)
{
    static const char have[] = "SELECT count(*) FROM fleet_samples WHERE at_ms = ?1";
    static const char ins[] =
        "INSERT INTO fleet_samples(tenant_id, at_ms, live_grants, connections) SELECT t.id, ?3, "
        "" LIVE_OF("t.id") ", " CONNS_OF("t.id") " FROM tenants t WHERE ?1 = ?1 "
                                                 "ON CONFLICT(tenant_id, at_ms) DO NOTHING";
    static const char prune_samples[] = "DELETE FROM fleet_samples WHERE at_ms < ?1";
    static const char prune_uptime[] = "DELETE FROM site_uptime WHERE hour < ?1";
    int64_t at = now_ms - now_ms % STORE_FLEET_STEP_MS;
    int r = sqlite_tx_begin(s);
    if (r < 0)
        return r;
    struct store_conn *c = store_conn(s);
    sqlite3_stmt *st = c ? store_stmt(c, have) : NULL;
    int had = 0, written = 0;
    if (!st)
        return sqlite_tx_end(s, -EIO);
    sqlite3_bind_int64(st, 1, at);
    r = store_step_row(c, st, store_read_int, NULL, &had);
    if (r == 0 && !had) {
        if (!(st = store_stmt(c, ins)))
            return sqlite_tx_end(s, -EIO);
        sqlite3_bind_int64(st, 1, 0);
        sqlite3_bind_int64(st, 2, at - STORE_FLEET_STEP_MS);
        sqlite3_bind_int64(st, 3, at);
        sqlite3_bind_int64(st, 4, now_ms);
        r = store_step_done(c, st);
        written = r == 0 ? sqlite3_changes(c->db) : 0;
        const char *prune[] = {prune_samples, prune_uptime};
        int64_t before[] = {now_ms - (int64_t)STORE_FLEET_KEEP_S * 1000,
                            now_ms / 1000 - STORE_FLEET_KEEP_S};
        for (int i = 0; r == 0 && i < 2; i++) {
            if (!(st = store_stmt(c, prune[i])))
                return sqlite_tx_end(s, -EIO);
            sqlite3_bind_int64(st, 1, before[i]);
            r = store_step_done(c, st);
        }
    }
    r = sqlite_tx_end(s, r);
    if (r == 0 && ret_written)
        *ret_written = written;
    return r;
}

static int read_point(void *ctx, sqlite3_stmt *st, void *out)
{
    (void)ctx;
    struct store_fleet_point *p = out;
    p->at_ms = sqlite3_column_int64(st, 0);
    p->live_grants = (long)sqlite3_column_int64(st, 1);
    p->connections = (long)sqlite3_column_int64(st, 2);
    return 0;
}

int sqlite_fleet_history(struct store *s, const char *tenant_id, int64_t since_ms, int max,
                         struct store_fleet_point **ret, size_t *n)
{
    static const char sql[] = "SELECT at_ms, live_grants, connections FROM fleet_samples "
                              "WHERE tenant_id = ?1 AND at_ms >= ?2 ORDER BY at_ms LIMIT ?3";
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    bind_text(st, 1, tenant_id);
    sqlite3_bind_int64(st, 2, since_ms);
    sqlite3_bind_int(st, 3, max);
    return store_collect(c, st, sizeof **ret, read_point, NULL, NULL, (void **)ret, n);
}

int sqlite_fleet_now(struct store *s, const char *tenant_id, int64_t since_ms, int64_t now_ms,
                     struct store_fleet_point *ret)
{
    static const char sql[] = "SELECT ?3, " LIVE_OF("?1") ", " CONNS_OF("?1");
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    bind_text(st, 1, tenant_id);
    sqlite3_bind_int64(st, 2, since_ms);
    sqlite3_bind_int64(st, 3, now_ms);
    sqlite3_bind_int64(st, 4, now_ms);
    return store_step_row(c, st, read_point, NULL, ret);
}

static int read_day(void *ctx, sqlite3_stmt *st, void *out)
{
    (void)ctx;
    struct store_uptime_day *d = out;
    col_copy(st, 0, d->site_id, sizeof d->site_id);
    d->day = sqlite3_column_int(st, 1);
    d->up_s = (long)sqlite3_column_int64(st, 2);
    return 0;
}

int sqlite_site_uptime(struct store *s, const char *tenant_id, const char *site_id,
                       int64_t created_from, int64_t created_to, int64_t since_s,
                       struct store_uptime_day **ret, size_t *n)
{
    static const char sql[] =
        "SELECT u.site_id, (u.hour - ?2) / 86400, sum(u.up_s) FROM site_uptime u JOIN sites s "
        "ON s.id = u.site_id WHERE s.tenant_id = ?1 AND u.hour >= ?2 AND s.created_at >= ?3 AND "
        "s.created_at <= ?4 AND (?5 IS NULL OR s.id = ?5) GROUP BY 1, 2 ORDER BY 1, 2";
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    bind_text(st, 1, tenant_id);
    sqlite3_bind_int64(st, 2, since_s);
    sqlite3_bind_int64(st, 3, created_from);
    sqlite3_bind_int64(st, 4, created_to);
    bind_text(st, 5, site_id);
    return store_collect(c, st, sizeof **ret, read_day, NULL, NULL, (void **)ret, n);
}
