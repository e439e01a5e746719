/*
 * pg_fleet.c - the fleet view's history (migration 0016) in the PostgreSQL store: up time per
 * site and hour from heartbeats, and the 5-minute samples of live grants and connections.
 */
#include "pg_int.h"

#include <errno.h>
#include <string.h>

int pg_uptime_add(struct pg_session *c, const char *site_id, int64_t from, int64_t to)
{
    static const char sql[] = "INSERT INTO site_uptime(site_id, hour, up_s) VALUES (?1, ?2, ?3) "
                              "ON CONFLICT(site_id, hour) DO UPDATE SET up_s = least(3600, "
                              "site_uptime.up_s + excluded.up_s)";
    struct store_uptime_span sp;
    for (store_uptime_first(&sp, from, to); sp.up_s > 0; store_uptime_next(&sp)) {
        struct pg_stmt *st = pg_stmt(c, sql);
        if (!st)
            return -EIO;
        pg_bind_text(st, 1, site_id);
        pg_bind_int64(st, 2, sp.hour);
        pg_bind_int64(st, 3, sp.up_s);
        int r = pg_step_done(c, st);
        if (r < 0)
            return r;
    }
    return 0;
}

/* Adds a "SELECT status, tunnel_mode, tunnel_status, count(*)" row to the counts. */
static int read_site_counts(void *ctx, struct pg_stmt *st, void *out)
{
    (void)ctx;
    store_fleet_count_site(out, (const char *)pg_column_text(st, 0),
                           (const char *)pg_column_text(st, 1), (const char *)pg_column_text(st, 2),
                           pg_column_int64(st, 3));
    return 0;
}

static int read_job_counts(void *ctx, struct pg_stmt *st, void *out)
{
    (void)ctx;
    store_fleet_count_job(out, (const char *)pg_column_text(st, 0), pg_column_int64(st, 1));
    return 0;
}

/* Steps a grouped count to its end, feeding each row to read (no array). */
static int each_row(struct pg_session *c, struct pg_stmt *st,
                    int (*read)(void *ctx, struct pg_stmt *st, void *out), void *out)
{
    int rc;
    while ((rc = pg_step(st)) == PG_ROW)
        read(NULL, st, out);
    pg_reset(st);
    return rc == PG_DONE ? 0 : pg_map_rc(c, rc);
}

static int read_long(void *ctx, struct pg_stmt *st, void *out)
{
    (void)ctx;
    *(long *)out = (long)pg_column_int64(st, 0);
    return 0;
}

int pg_fleet_counts(struct store *s, const char *tenant_id, int64_t now_ms,
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
    struct pg_session *c;
    struct pg_stmt *st = pg_prepare(s, sites, &c);
    if (!st)
        return -EIO;
    pg_bind_text(st, 1, tenant_id);
    int r = each_row(c, st, read_site_counts, &out);
    if (r == 0 && !(st = pg_stmt(c, jobs)))
        r = -EIO;
    if (r == 0) {
        pg_bind_text(st, 1, tenant_id);
        r = each_row(c, st, read_job_counts, &out);
    }
    if (r == 0 && !(st = pg_stmt(c, grants)))
        r = -EIO;
    if (r == 0) {
        pg_bind_text(st, 1, tenant_id);
        pg_bind_int64(st, 2, now_ms);
        r = pg_step_row(c, st, read_long, NULL, &out.grants_live);
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

int pg_fleet_sample(struct store *s, int64_t now_ms, int *ret_written)
{
    static const char have[] = "SELECT count(*) FROM fleet_samples WHERE at_ms = ?1";
    static const char ins[] =
        "INSERT INTO fleet_samples(tenant_id, at_ms, live_grants, connections) SELECT t.id, "
        "?3::bigint, "
        "" LIVE_OF("t.id") ", " CONNS_OF("t.id") " FROM tenants t WHERE ?1::bigint = ?1::bigint "
                                                 "ON CONFLICT(tenant_id, at_ms) DO NOTHING";
    static const char prune_samples[] = "DELETE FROM fleet_samples WHERE at_ms < ?1";
    static const char prune_uptime[] = "DELETE FROM site_uptime WHERE hour < ?1";
    int64_t at = now_ms - now_ms % STORE_FLEET_STEP_MS;
    int r = pg_tx_begin(s);
    if (r < 0)
        return r;
    struct pg_session *c = pg_session(s);
    struct pg_stmt *st = c ? pg_stmt(c, have) : NULL;
    int had = 0, written = 0;
    if (!st)
        return pg_tx_end(s, -EIO);
    pg_bind_int64(st, 1, at);
    r = pg_step_row(c, st, pg_read_int, NULL, &had);
    if (r == 0 && !had) {
        if (!(st = pg_stmt(c, ins)))
            return pg_tx_end(s, -EIO);
        pg_bind_int64(st, 1, 0);
        pg_bind_int64(st, 2, at - STORE_FLEET_STEP_MS);
        pg_bind_int64(st, 3, at);
        pg_bind_int64(st, 4, now_ms);
        r = pg_step_done(c, st);
        written = r == 0 ? (int)pg_changes(c) : 0;
        const char *prune[] = {prune_samples, prune_uptime};
        int64_t before[] = {now_ms - (int64_t)STORE_FLEET_KEEP_S * 1000,
                            now_ms / 1000 - STORE_FLEET_KEEP_S};
        for (int i = 0; r == 0 && i < 2; i++) {
            if (!(st = pg_stmt(c, prune[i])))
                return pg_tx_end(s, -EIO);
            pg_bind_int64(st, 1, before[i]);
            r = pg_step_done(c, st);
        }
    }
    r = pg_tx_end(s, r);
    if (r == 0 && ret_written)
        *ret_written = written;
    return r;
}

static int read_point(void *ctx, struct pg_stmt *st, void *out)
{
    (void)ctx;
    struct store_fleet_point *p = out;
    p->at_ms = pg_column_int64(st, 0);
    p->live_grants = (long)pg_column_int64(st, 1);
    p->connections = (long)pg_column_int64(st, 2);
    return 0;
}

int pg_fleet_history(struct store *s, const char *tenant_id, int64_t since_ms, int max,
                     struct store_fleet_point **ret, size_t *n)
{
    static const char sql[] = "SELECT at_ms, live_grants, connections FROM fleet_samples "
                              "WHERE tenant_id = ?1 AND at_ms >= ?2 ORDER BY at_ms LIMIT ?3";
    struct pg_session *c;
    struct pg_stmt *st = pg_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    pg_bind_text(st, 1, tenant_id);
    pg_bind_int64(st, 2, since_ms);
    pg_bind_int(st, 3, max);
    return pg_collect(c, st, sizeof **ret, read_point, NULL, NULL, (void **)ret, n);
}

int pg_fleet_now(struct store *s, const char *tenant_id, int64_t since_ms, int64_t now_ms,
                 struct store_fleet_point *ret)
{
    static const char sql[] = "SELECT ?3::bigint, " LIVE_OF("?1") ", " CONNS_OF("?1");
    struct pg_session *c;
    struct pg_stmt *st = pg_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    pg_bind_text(st, 1, tenant_id);
    pg_bind_int64(st, 2, since_ms);
    pg_bind_int64(st, 3, now_ms);
    pg_bind_int64(st, 4, now_ms);
    return pg_step_row(c, st, read_point, NULL, ret);
}

static int read_day(void *ctx, struct pg_stmt *st, void *out)
{
    (void)ctx;
    struct store_uptime_day *d = out;
    pg_col_copy(st, 0, d->site_id, sizeof d->site_id);
    d->day = pg_column_int(st, 1);
    d->up_s = (long)pg_column_int64(st, 2);
    return 0;
}

int pg_site_uptime(struct store *s, const char *tenant_id, const char *site_id,
                   int64_t created_from, int64_t created_to, int64_t since_s,
                   struct store_uptime_day **ret, size_t *n)
{
    static const char sql[] =
        "SELECT u.site_id, (u.hour - ?2::bigint) / 86400, sum(u.up_s) FROM site_uptime u JOIN "
        "sites s "
        "ON s.id = u.site_id WHERE s.tenant_id = ?1 AND u.hour >= ?2 AND s.created_at >= ?3 AND "
        "s.created_at <= ?4 AND (?5::text IS NULL OR s.id = ?5::text) GROUP BY 1, 2 ORDER BY 1, 2";
    struct pg_session *c;
    struct pg_stmt *st = pg_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    pg_bind_text(st, 1, tenant_id);
    pg_bind_int64(st, 2, since_s);
    pg_bind_int64(st, 3, created_from);
    pg_bind_int64(st, 4, created_to);
    pg_bind_text(st, 5, site_id);
    return pg_collect(c, st, sizeof **ret, read_day, NULL, NULL, (void **)ret, n);
}
