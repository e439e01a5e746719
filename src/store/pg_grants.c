/*
 * pg_grants.c - transient access and forwards in the PostgreSQL store.
 */
#include "alloc.h"
#include "pg_int.h"
#include "rand.h"
#include "timefmt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/*
 * A transient password that cannot be unsealed fails the read with -EBADMSG
 * (never an empty password); nothing is left in g to release then.
 */
static int read_grant(struct store *s, struct pg_stmt *st, struct grant *g)
{
    const char *sealed = (const char *)pg_column_text(st, 6);
    char *pw = sealed ? store_open_text(s, sealed) : NULL;
    if (sealed && !pw)
        return -EBADMSG;
    memset(g, 0, sizeof *g);
    pg_col_copy(st, 0, g->id, sizeof g->id);
    pg_col_copy(st, 1, g->site_id, sizeof g->site_id);
    const char *kind = (const char *)pg_column_text(st, 2);
    g->kind = kind && !strcmp(kind, "forward") ? GRANT_FORWARD : GRANT_ACCESS;
    g->entry_point = pg_col_strdup(st, 3);
    g->port = pg_column_int(st, 4);
    pg_col_copy(st, 5, g->username, sizeof g->username);
    if (pw) {
        snprintf(g->password, sizeof g->password, "%s", pw);
        sodium_memzero(pw, strlen(pw));
        free(pw);
    }
    pg_col_copy(st, 7, g->access_type, sizeof g->access_type);
    g->full_access = pg_column_int(st, 8) != 0;
    g->allow_rfc1918 = pg_column_int(st, 9) != 0;
    pg_col_copy(st, 10, g->dst_address, sizeof g->dst_address);
    g->dst_port = pg_column_int(st, 11);
    g->masquerade = pg_column_int(st, 12) != 0;
    pg_col_copy(st, 13, g->allow_only_cidr, sizeof g->allow_only_cidr);
    g->rate_limit = (uint64_t)pg_column_int64(st, 14);
    g->created_at = pg_col_time(st, 15);
    g->expires_at_ms = pg_column_int64(st, 16);
    g->revoked_early = pg_column_int(st, 17) != 0;
    g->torn_down_at = pg_col_time(st, 18);
    g->config_committed_at = pg_col_time(st, 19);
    g->config_removed_from_site = pg_column_int(st, 20) != 0;
    g->config_removed_from_mpac = pg_column_int(st, 21) != 0;
    pg_col_copy(st, 22, g->setup_job_id, sizeof g->setup_job_id);
    pg_col_copy(st, 23, g->teardown_job_id, sizeof g->teardown_job_id);
    g->created_by = pg_col_strdup(st, 24);
    g->authorized_at_ms = pg_col_time(st, 25);
    return 0;
}

int pg_grant_insert(struct store *s, struct grant *g, int port_lo, int port_hi)
{
    struct pg_session *c = pg_session(s);
    if (!c)
        return -EIO;
    static const char sql[] =
        "INSERT INTO grants(id, site_id, kind, entry_point, port, username, password_sealed, "
        "access_type, full_access, allow_rfc1918, dst_address, dst_port, masquerade, "
        "allow_only_cidr, rate_limit, created_at, expires_at_ms, created_by) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        /* A taken port must not raise: in PostgreSQL a unique violation aborts the caller's
         * whole transaction. The live-port index is the only arbiter, so a duplicate id still
         * fails with -EEXIST. */
        "ON CONFLICT (entry_point, port) WHERE torn_down_at IS NULL DO NOTHING";
    char *sealed = g->kind == GRANT_ACCESS ? store_seal_text(s, g->password) : NULL;
    int r = pg_begin(c);
    if (r < 0) {
        free(sealed);
        return r;
    }
    r = -EADDRNOTAVAIL;
    /* Random probing: with the range mostly free this ends at the first try. */
    for (int attempt = 0; attempt < 128; attempt++) {
        int port = (int)rand_range((uint32_t)port_lo, (uint32_t)port_hi);
        struct pg_stmt *st = pg_stmt(c, sql);
        if (!st) {
            r = -EIO;
            break;
        }
        pg_bind_text(st, 1, g->id);
        pg_bind_text(st, 2, g->site_id);
        pg_bind_text(st, 3, grant_kind_name(g->kind));
        pg_bind_text(st, 4, g->entry_point);
        pg_bind_int(st, 5, port);
        pg_bind_text(st, 6, g->kind == GRANT_ACCESS ? g->username : NULL);
        pg_bind_text(st, 7, sealed);
        pg_bind_text(st, 8, g->kind == GRANT_ACCESS ? g->access_type : NULL);
        pg_bind_int(st, 9, g->full_access);
        pg_bind_int(st, 10, g->allow_rfc1918);
        pg_bind_text(st, 11, g->kind == GRANT_FORWARD ? g->dst_address : NULL);
        if (g->kind == GRANT_FORWARD)
            pg_bind_int(st, 12, g->dst_port);
        pg_bind_int(st, 13, g->masquerade);
        pg_bind_text(st, 14, g->allow_only_cidr);
        pg_bind_int64(st, 15, (int64_t)g->rate_limit);
        pg_bind_int64(st, 16, g->created_at);
        pg_bind_int64(st, 17, g->expires_at_ms);
        pg_bind_text(st, 18, g->created_by);
        r = pg_step_done(c, st);
        if (r == 0 && pg_changes(c) == 1) {
            g->port = port;
            pg_notify(c, STORE_WAKE_GRANTS); /* schedulers and edges of other nodes */
            break;
        }
        if (r < 0)
            break;
        r = -EADDRNOTAVAIL; /* the port is taken: the next one */
    }
    free(sealed);
    if (r == 0)
        r = pg_webhook_emit(c, WEBHOOK_GRANT_CREATED, g->id, g->site_id, NULL);
    return pg_end(c, r);
}

static int grant_row(void *ctx, struct pg_stmt *st, void *elem)
{
    struct grant *g = elem;
    int r = read_grant(ctx, st, g);
    if (r == 0 && pg_column_count(st) > 26) {
        g->target_address = pg_col_strdup(st, 26);
        g->target_port = pg_column_int(st, 27);
    }
    return r;
}

static void grant_release_elem(void *elem)
{
    struct grant *g = elem;
    grant_release(g);
}

static int list_query(struct store *s, const char *sql,
                      void (*bind)(struct pg_stmt *, const void *), const void *arg,
                      struct grant **ret, size_t *n)
{
    struct pg_session *c;
    struct pg_stmt *st = pg_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    bind(st, arg);
    return pg_collect(c, st, sizeof **ret, grant_row, s, grant_release_elem, (void **)ret, n);
}

struct list_args {
    const char *tenant, *site, *kind;
    int active;
    int64_t now_ms;
    const char *entry_point;
    const struct store_page *page;
};

static void bind_list(struct pg_stmt *st, const void *p)
{
    const struct list_args *a = p;
    pg_bind_text(st, 1, a->site);
    pg_bind_text(st, 2, a->tenant);
    pg_bind_text(st, 3, a->kind);
    pg_bind_int(st, 4, a->active);
    pg_bind_int64(st, 5, a->now_ms);
    pg_bind_page(st, 6, a->page);
}

int pg_grant_list(struct store *s, const char *tenant_id, const char *site_id, enum grant_kind kind,
                  bool active_only, const struct store_page *page, struct grant **ret, size_t *n)
{
    struct pg_session *c = pg_session(s);
    if (!c)
        return -EIO;
    int r = pg_site_owned(c, tenant_id, site_id);
    if (r == 0)
        r = pg_page_check(c, STORE_LIST_GRANTS, page, site_id, grant_kind_name(kind));
    if (r < 0)
        return r;
    static const char sql[] =
        "SELECT " GRANT_COLUMNS " FROM grants g JOIN sites s ON s.id = g.site_id "
        "WHERE g.site_id = ?1 AND s.tenant_id = ?2 AND g.kind = ?3 AND (?4 = 0 OR "
        "(g.torn_down_at IS NULL AND g.expires_at_ms > ?5)) AND (?6::text IS NULL OR "
        "g.rowid < (SELECT p.rowid FROM grants p WHERE p.id = ?6)) ORDER BY g.rowid DESC LIMIT ?7";
    struct list_args a = {.tenant = tenant_id,
                          .site = site_id,
                          .kind = grant_kind_name(kind),
                          .active = active_only,
                          .now_ms = time_now_ms(),
                          .page = page};
    return list_query(s, sql, bind_list, &a, ret, n);
}

int pg_grant_get(struct store *s, const char *tenant_id, const char *site_id, enum grant_kind kind,
                 const char *id, struct grant *ret)
{
    static const char sql[] = "SELECT " GRANT_COLUMNS " FROM grants g JOIN sites s ON "
                              "s.id = g.site_id WHERE g.id = ? AND g.site_id = ? AND "
                              "s.tenant_id = ? AND g.kind = ?";
    struct pg_session *c;
    struct pg_stmt *st = pg_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    pg_bind_text(st, 1, id);
    pg_bind_text(st, 2, site_id);
    pg_bind_text(st, 3, tenant_id);
    pg_bind_text(st, 4, grant_kind_name(kind));
    return pg_step_row(c, st, grant_row, s, ret);
}

int pg_grant_get_any(struct store *s, const char *id, struct grant *ret)
{
    static const char sql[] = "SELECT " GRANT_COLUMNS " FROM grants g WHERE g.id = ?";
    struct pg_session *c;
    struct pg_stmt *st = pg_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    pg_bind_text(st, 1, id);
    return pg_step_row(c, st, grant_row, s, ret);
}

static int update_one(struct store *s, const char *sql, const char *id, int64_t a, const char *text)
{
    struct pg_session *c;
    struct pg_stmt *st = pg_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    pg_bind_int64(st, 1, a);
    pg_bind_text(st, 2, text);
    pg_bind_text(st, 3, id);
    int r = pg_step_done(c, st);
    if (r < 0)
        return r;
    if (!pg_changes(c))
        return -EBUSY;
    pg_notify(c, STORE_WAKE_GRANTS); /* a new expiry: other nodes' schedulers and edges */
    return 0;
}

int pg_grant_update(struct store *s, const char *id, int64_t expires_at_ms, const uint64_t *rate)
{
    static const char sql[] =
        "UPDATE grants SET expires_at_ms = CASE WHEN ?1::bigint > 0 THEN ?1::bigint ELSE "
        "expires_at_ms END, "
        "rate_limit = coalesce(?2, rate_limit) WHERE id = ?3 AND torn_down_at IS NULL "
        "AND expires_at_ms > ?4"; /* an expired grant waiting for teardown stays expired */
    struct pg_session *c;
    struct pg_stmt *st = pg_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    pg_bind_int64(st, 1, expires_at_ms);
    if (rate)
        pg_bind_int64(st, 2, (int64_t)*rate);
    pg_bind_text(st, 3, id);
    pg_bind_int64(st, 4, time_now_ms());
    int r = pg_step_done(c, st);
    if (r < 0)
        return r;
    if (!pg_changes(c))
        return -EBUSY;
    pg_notify(c, STORE_WAKE_GRANTS); /* a new expiry: other nodes' schedulers and edges */
    return 0;
}

int pg_grant_set_setup_job(struct store *s, const char *id, const char *job_id)
{
    static const char sql[] =
        "UPDATE grants SET setup_job_id = ?2 WHERE id = ?3 AND ?1::bigint = ?1::bigint";
    return update_one(s, sql, id, 0, job_id);
}

int pg_grant_teardown(struct store *s, const char *id, bool revoked, const char *job_id)
{
    static const char revoke[] =
        "UPDATE grants SET torn_down_at = ?1::bigint / 1000, revoked_early = 1, "
        "expires_at_ms = LEAST(expires_at_ms, ?1::bigint), config_removed_from_mpac = 1, "
        "teardown_job_id = ?2 WHERE id = ?3 AND torn_down_at IS NULL";
    static const char expire[] =
        "UPDATE grants SET torn_down_at = ?1::bigint / 1000, config_removed_from_mpac = 1, "
        "teardown_job_id = ?2 WHERE id = ?3 AND torn_down_at IS NULL";
    struct pg_session *c = pg_session(s);
    if (!c)
        return -EIO;
    int r = pg_begin(c);
    if (r < 0)
        return r;
    r = update_one(s, revoked ? revoke : expire, id, time_now_ms(), job_id);
    if (r == 0)
        r = pg_webhook_emit(c, revoked ? WEBHOOK_GRANT_REVOKED : WEBHOOK_GRANT_EXPIRED, id, NULL,
                            NULL);
    if (r == 0 && revoked) /* other nodes' edges close its listener now, not at its expiry */
        pg_notify(c, STORE_WAKE_GRANTS);
    return pg_end(c, r);
}

int64_t pg_grants_next_expiry(struct store *s, int64_t after_ms)
{
    static const char sql[] = "SELECT min(expires_at_ms) FROM grants WHERE torn_down_at IS NULL "
                              "AND expires_at_ms > ?";
    struct pg_session *c;
    struct pg_stmt *st = pg_prepare(s, sql, &c);
    if (!st)
        return 0;
    pg_bind_int64(st, 1, after_ms);
    int64_t t = pg_step(st) == PG_ROW ? pg_col_time(st, 0) : 0;
    pg_reset(st);
    return t;
}

int pg_grants_due(struct store *s, int64_t now_ms, int limit, struct strlist *ret)
{
    static const char sql[] = "SELECT id FROM grants WHERE torn_down_at IS NULL AND "
                              "expires_at_ms <= ? ORDER BY expires_at_ms LIMIT ?";
    struct pg_session *c;
    struct pg_stmt *st = pg_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    pg_bind_int64(st, 1, now_ms);
    pg_bind_int(st, 2, limit);
    int rc;
    while ((rc = pg_step(st)) == PG_ROW)
        strlist_add(ret, (const char *)pg_column_text(st, 0));
    pg_reset(st);
    return rc == PG_DONE ? 0 : pg_map_rc(c, rc);
}

static void bind_site_only(struct pg_stmt *st, const void *p)
{
    const struct list_args *a = p;
    pg_bind_text(st, 1, a->site);
}

static void bind_live(struct pg_stmt *st, const void *p)
{
    const struct list_args *a = p;
    pg_bind_text(st, 1, a->entry_point);
    pg_bind_int64(st, 2, a->now_ms);
}

int pg_grants_live(struct store *s, const char *entry_point, int64_t now_ms, struct grant **ret,
                   size_t *n)
{
    /* Access relays to the site's winbox or ssh port (from its policy); a forward relays to
     * the same port number on the router, where the grant's dst-nat rule listens. */
    static const char sql[] =
        "SELECT " GRANT_COLUMNS_RELAY ", s.tunnel_address, "
        "CASE g.kind WHEN 'forward' THEN g.port "
        "ELSE (SELECT ps.port FROM policy_services ps WHERE ps.policy_id = s.policy_id AND "
        "ps.service = CASE g.access_type WHEN 'ssh' THEN 1 ELSE 0 END) END "
        "FROM grants g JOIN sites s ON s.id = g.site_id WHERE g.entry_point = ?1 AND "
        "g.torn_down_at IS NULL AND g.expires_at_ms > ?2 AND s.tunnel_address IS NOT NULL";
    struct list_args a = {.entry_point = entry_point, .now_ms = now_ms};
    return list_query(s, sql, bind_live, &a, ret, n);
}

int pg_grant_conn_open(struct store *s, const char *grant_id, const struct grant_connection *gc)
{
    static const char sql[] =
        "INSERT INTO grant_connections(grant_id, source, started_ms, outcome, conn_ref, ended_ms, "
        "bytes_in, bytes_out) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8 "
        "WHERE EXISTS (SELECT 1 FROM grants WHERE id = ?1)";
    /* the first accepted connection authorizes the grant (webhook grant.authorized) */
    static const char first[] = "SELECT 1 FROM grant_connections WHERE grant_id = ? AND "
                                "outcome NOT IN ('refused', 'limited') LIMIT 1";
    int r;
    struct pg_session *c;
    struct pg_stmt *st = pg_begin_stmt(s, first, &c, &r);
    if (!st)
        return r;
    pg_bind_text(st, 1, grant_id);
    r = pg_step_row(c, st, NULL, NULL, NULL);
    bool had = r == 0;
    if (r < 0 && r != -ENOENT)
        goto out_end_tx;
    st = pg_stmt(c, sql);
    if (!st) {
        r = -EIO;
        goto out_end_tx;
    }
    pg_bind_text(st, 1, grant_id);
    pg_bind_text(st, 2, gc->source);
    pg_bind_int64(st, 3, gc->started_ms);
    pg_bind_text(st, 4, gc->ended_ms ? gc->outcome : "open");
    pg_bind_int64(st, 5, (int64_t)gc->conn_ref);
    pg_bind_time(st, 6, gc->ended_ms);
    pg_bind_int64(st, 7, (int64_t)gc->bytes_in);
    pg_bind_int64(st, 8, (int64_t)gc->bytes_out);
    r = pg_step_done(c, st);
    if (r == 0 && !had && pg_changes(c))
        r = pg_webhook_emit(c, WEBHOOK_GRANT_AUTHORIZED, grant_id, NULL, NULL);
out_end_tx:
    return pg_end(c, r);
}

int pg_grant_conn_insert(struct store *s, const char *grant_id, const struct grant_connection *gc)
{
    static const char close_sql[] =
        "UPDATE grant_connections SET ended_ms = ?1, bytes_in = ?2, bytes_out = ?3, outcome = ?4 "
        "WHERE grant_id = ?5 AND conn_ref = ?6 AND ended_ms IS NULL";
    struct pg_session *c;
    if (gc->conn_ref) {
        struct pg_stmt *u = pg_prepare(s, close_sql, &c);
        if (!u)
            return -EIO;
        pg_bind_time(u, 1, gc->ended_ms);
        pg_bind_int64(u, 2, (int64_t)gc->bytes_in);
        pg_bind_int64(u, 3, (int64_t)gc->bytes_out);
        pg_bind_text(u, 4, gc->outcome);
        pg_bind_text(u, 5, grant_id);
        pg_bind_int64(u, 6, (int64_t)gc->conn_ref);
        if (pg_step_changed(c, u) == 0)
            return 0;
    }
    static const char sql[] =
        "INSERT INTO grant_connections(grant_id, source, started_ms, ended_ms, bytes_in, "
        "bytes_out, outcome) SELECT ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM grants "
        "WHERE id = ?1)";
    struct pg_stmt *st = pg_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    pg_bind_text(st, 1, grant_id);
    pg_bind_text(st, 2, gc->source);
    pg_bind_int64(st, 3, gc->started_ms);
    pg_bind_time(st, 4, gc->ended_ms);
    pg_bind_int64(st, 5, (int64_t)gc->bytes_in);
    pg_bind_int64(st, 6, (int64_t)gc->bytes_out);
    pg_bind_text(st, 7, gc->outcome);
    return pg_step_done(c, st);
}

/* Adds c to the newest refused record of grant_id with c's outcome: 0, -ENOENT (none), -EIO. */
static int refused_fold(struct store *s, const char *grant_id, const struct grant_connection *gc)
{
    static const char sql[] =
        "UPDATE grant_connections SET count = count + ?1, ended_ms = GREATEST(ended_ms, ?2), "
        "source = CASE WHEN source = ?3 THEN source ELSE '*' END WHERE id = (SELECT max(id) "
        "FROM grant_connections WHERE grant_id = ?4 AND outcome IN ('refused', 'limited') AND "
        "outcome = ?5)";
    struct pg_session *c;
    struct pg_stmt *st = pg_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    pg_bind_int64(st, 1, (int64_t)gc->count);
    pg_bind_int64(st, 2, gc->ended_ms);
    pg_bind_text(st, 3, gc->source);
    pg_bind_text(st, 4, grant_id);
    pg_bind_text(st, 5, gc->outcome);
    return pg_step_changed(c, st);
}

int pg_grant_conn_refused(struct store *s, const char *grant_id, const struct grant_connection *gc,
                          unsigned max_records)
{
    static const char count_sql[] = "SELECT count(*) FROM grant_connections WHERE grant_id = ? "
                                    "AND outcome IN ('refused', 'limited')";
    static const char sql[] =
        "INSERT INTO grant_connections(grant_id, source, started_ms, ended_ms, outcome, count) "
        "SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE EXISTS (SELECT 1 FROM grants WHERE id = ?1)";
    struct pg_session *c;
    struct pg_stmt *st = pg_prepare(s, count_sql, &c);
    if (!st)
        return -EIO;
    pg_bind_text(st, 1, grant_id);
    int have = 0;
    int r = pg_step_row(c, st, pg_read_int, NULL, &have);
    if (r < 0)
        return r;
    if ((unsigned)have >= max_records && (r = refused_fold(s, grant_id, gc)) != -ENOENT)
        return r;
    st = pg_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    pg_bind_text(st, 1, grant_id);
    pg_bind_text(st, 2, gc->source);
    pg_bind_int64(st, 3, gc->started_ms);
    pg_bind_int64(st, 4, gc->ended_ms);
    pg_bind_text(st, 5, gc->outcome);
    pg_bind_int64(st, 6, (int64_t)(gc->count ? gc->count : 1));
    return pg_step_done(c, st);
}

int pg_grant_conn_prune(struct store *s, int64_t before_ms, int *ret_n)
{
    static const char sql[] = "DELETE FROM grant_connections WHERE outcome IN ('refused', "
                              "'limited') AND ended_ms < ?";
    struct pg_session *c;
    struct pg_stmt *st = pg_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    pg_bind_int64(st, 1, before_ms);
    int r = pg_step_done(c, st);
    if (r == 0 && ret_n)
        *ret_n = (int)pg_changes(c);
    return r;
}

static int conn_row(void *ctx, struct pg_stmt *st, void *elem)
{
    (void)ctx;
    struct grant_connection *x = elem;
    pg_col_copy(st, 0, x->source, sizeof x->source);
    x->started_ms = pg_column_int64(st, 1);
    x->ended_ms = pg_col_time(st, 2);
    x->bytes_in = (uint64_t)pg_column_int64(st, 3);
    x->bytes_out = (uint64_t)pg_column_int64(st, 4);
    pg_col_copy(st, 5, x->outcome, sizeof x->outcome);
    x->id = pg_column_int64(st, 6);
    x->count = (uint64_t)pg_column_int64(st, 7);
    return 0;
}

int pg_grant_conn_list(struct store *s, const char *grant_id, int64_t after_id, int limit,
                       struct grant_connection **ret, size_t *n)
{
    static const char sql[] =
        "SELECT source, started_ms, ended_ms, bytes_in, bytes_out, outcome, id, count "
        "FROM grant_connections WHERE grant_id = ? AND id > ? ORDER BY id LIMIT ?";
    struct pg_session *c;
    struct pg_stmt *st = pg_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    pg_bind_text(st, 1, grant_id);
    pg_bind_int64(st, 2, after_id);
    pg_bind_int(st, 3, limit);
    return pg_collect(c, st, sizeof **ret, conn_row, NULL, NULL, (void **)ret, n);
}

int pg_site_grants(struct store *s, const char *site_id, struct grant **ret, size_t *n)
{
    static const char sql[] = "SELECT " GRANT_COLUMNS_NO_AUTH " FROM grants g WHERE "
                              "g.site_id = ?1 AND g.config_removed_from_site = 0 ORDER BY g.rowid";
    struct list_args a = {.site = site_id};
    return list_query(s, sql, bind_site_only, &a, ret, n);
}

/*
 * One statement, READ COMMITTED: the candidates are locked FOR UPDATE SKIP LOCKED (another
 * node's claim at the same moment skips them, and a row it committed meanwhile is re-checked
 * against its new owner and lease), the UPDATE's FROM keeps each one's previous owner. The
 * lease is on the database clock.
 */
int pg_grants_claim_due(struct store *s, const char *owner, int64_t now_ms, int64_t lease_ms,
                        int limit, struct store_due_grant **ret, size_t *n)
{
    static const char sql[] =
        "WITH due AS (SELECT id, teardown_owner AS prev FROM grants WHERE torn_down_at IS NULL "
        "AND expires_at_ms <= ?2 AND (teardown_owner IS NULL OR teardown_owner = ?1 OR "
        "teardown_lease_until_ms < " PG_DB_NOW_MS ") ORDER BY expires_at_ms LIMIT ?4 "
        "FOR UPDATE SKIP LOCKED) UPDATE grants g SET teardown_owner = ?1, "
        "teardown_lease_until_ms = " PG_DB_NOW_MS " + ?3::bigint FROM due WHERE g.id = due.id "
        "RETURNING g.id, coalesce(due.prev, '')";
    struct pg_session *c;
    struct pg_stmt *st = pg_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    pg_bind_text(st, 1, owner);
    pg_bind_int64(st, 2, now_ms);
    pg_bind_int64(st, 3, lease_ms);
    pg_bind_int(st, 4, limit);
    struct store_due_grant *due = NULL;
    size_t nd = 0, cap = 0;
    int rc;
    while ((rc = pg_step(st)) == PG_ROW) {
        if (nd == cap)
            due = xrealloc(due, (cap = cap ? cap * 2 : 16) * sizeof *due);
        memset(&due[nd], 0, sizeof due[nd]);
        pg_col_copy(st, 0, due[nd].id, sizeof due[nd].id);
        pg_col_copy(st, 1, due[nd].prev_owner, sizeof due[nd].prev_owner);
        if (!strcmp(due[nd].prev_owner, owner))
            due[nd].prev_owner[0] = '\0';
        nd++;
    }
    pg_reset(st);
    if (rc != PG_DONE) {
        free(due);
        return pg_map_rc(c, rc);
    }
    *ret = due;
    *n = nd;
    return 0;
}

/* A row of take_due: the grant (columns 0-25) and coalesce(teardown_owner, '') (26). */
static int taken_row(void *ctx, struct pg_stmt *st, void *elem)
{
    struct store_taken_grant *t = elem;
    int r = read_grant(ctx, st, &t->g);
    if (r == 0)
        pg_col_copy(st, 26, t->prev_owner, sizeof t->prev_owner);
    return r;
}

static void taken_release_elem(void *elem)
{
    struct store_taken_grant *t = elem;
    grant_release(&t->g);
}

/*
 * READ COMMITTED, in the caller's transaction: FOR UPDATE SKIP LOCKED takes only rows no
 * other transaction holds (another scheduler's batch, a revoke under way); a row another node
 * tore down and committed meanwhile is re-checked (torn_down_at) and dropped. No write: the
 * teardown (pg_grants_expire_many) is the batch's only update of each grant.
 */
int pg_grants_take_due(struct store *s, const char *owner, int64_t now_ms, int64_t lease_ms,
                       int limit, struct store_taken_grant **ret, size_t *n)
{
    /* for this transaction only: idle for the lease (a node hung mid-batch), the server ends it */
    static const char idle[] =
        "SELECT set_config('idle_in_transaction_session_timeout', ?1::bigint::text, true)";
    static const char sql[] =
        "SELECT " GRANT_COLUMNS_NO_AUTH ", coalesce(g.teardown_owner, '') FROM grants g WHERE "
        "g.torn_down_at IS NULL AND g.expires_at_ms <= ?2 AND (g.teardown_owner IS NULL OR "
        "g.teardown_owner = ?1 OR g.teardown_lease_until_ms < " PG_DB_NOW_MS ") ORDER BY "
        "g.expires_at_ms LIMIT ?3 FOR UPDATE OF g SKIP LOCKED";
    struct pg_session *c;
    struct pg_stmt *st = pg_prepare(s, idle, &c);
    if (!st)
        return -EIO;
    pg_bind_int64(st, 1, lease_ms);
    int r = pg_step_row(c, st, NULL, NULL, NULL);
    if (r < 0)
        return r;
    if (!(st = pg_stmt(c, sql)))
        return -EIO;
    pg_bind_text(st, 1, owner);
    pg_bind_int64(st, 2, now_ms);
    pg_bind_int(st, 3, limit);
    r = pg_collect(c, st, sizeof **ret, taken_row, s, taken_release_elem, (void **)ret, n);
    for (size_t i = 0; r == 0 && i < *n; i++)
        if (!strcmp((*ret)[i].prev_owner, owner))
            (*ret)[i].prev_owner[0] = '\0';
    return r;
}

int pg_grants_lock_claimed(struct store *s, const char *owner, const struct strlist *ids,
                           struct grant **ret, size_t *n)
{
    /* ORDER BY id: two transactions locking overlapping sets take the rows in one order */
    static const char sql[] = "SELECT " GRANT_COLUMNS_NO_AUTH " FROM grants g WHERE g.id = "
                              "ANY(?1::text[]) AND g.torn_down_at IS NULL AND g.teardown_owner = "
                              "?2 ORDER BY g.id FOR UPDATE";
    struct pg_session *c;
    struct pg_stmt *st = pg_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    char *arr = pg_id_array(ids);
    pg_bind_text(st, 1, arr);
    free(arr);
    pg_bind_text(st, 2, owner);
    return pg_collect(c, st, sizeof **ret, grant_row, s, grant_release_elem, (void **)ret, n);
}

int pg_grants_expire_many(struct store *s, const char *owner, const struct strlist *ids,
                          const struct strlist *job_ids)
{
    static const char sql[] =
        "UPDATE grants g SET torn_down_at = ?3::bigint / 1000, config_removed_from_mpac = 1, "
        "teardown_job_id = v.job, teardown_owner = coalesce(?4::text, g.teardown_owner) FROM "
        "unnest(?1::text[], ?2::text[]) AS v(gid, job) WHERE g.id = v.gid AND g.torn_down_at IS "
        "NULL";
    if (ids->n != job_ids->n)
        return -EINVAL;
    if (!ids->n)
        return 0;
    struct pg_session *c;
    struct pg_stmt *st = pg_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    char *a = pg_id_array(ids), *b = pg_id_array(job_ids);
    pg_bind_text(st, 1, a);
    pg_bind_text(st, 2, b);
    pg_bind_int64(st, 3, time_now_ms());
    pg_bind_text(st, 4, owner);
    free(a);
    free(b);
    int r = pg_step_done(c, st);
    if (r == 0 && pg_changes(c) != (long)ids->n)
        r = -EBUSY;
    /* the webhook outbox in the caller's (the batch's) transaction, as pg_grant_teardown */
    if (r == 0)
        r = pg_webhook_emit_grants(c, WEBHOOK_GRANT_EXPIRED, ids);
    return r;
}

int pg_leases_renew(struct store *s, const char *owner, int64_t lease_ms, int *ret_n)
{
    static const char sql[] = "UPDATE grants SET teardown_lease_until_ms = " PG_DB_NOW_MS
                              " + ?1::bigint WHERE teardown_owner = ?2 AND torn_down_at IS NULL";
    struct pg_session *c;
    struct pg_stmt *st = pg_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    pg_bind_int64(st, 1, lease_ms);
    pg_bind_text(st, 2, owner);
    int r = pg_step_done(c, st);
    if (r == 0 && ret_n)
        *ret_n = (int)pg_changes(c);
    return r;
}
