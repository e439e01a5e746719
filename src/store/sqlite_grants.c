/*
 * sqlite_grants.c - transient access and forwards in the SQLite store.
 */
#include "alloc.h"
#include "rand.h"
#include "sqlite_int.h"
#include "timefmt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * A transient password that cannot be unsealed fails the read with -EBADMSG
 * (never an empty password); nothing is left in g to release then.
 */
static int read_grant(struct store *s, sqlite3_stmt *st, struct grant *g)
{
    const char *sealed = (const char *)sqlite3_column_text(st, 6);
    char *pw = sealed ? store_open_text(s, sealed) : NULL;
    if (sealed && !pw)
        return -EBADMSG;
    memset(g, 0, sizeof *g);
    col_copy(st, 0, g->id, sizeof g->id);
    col_copy(st, 1, g->site_id, sizeof g->site_id);
    const char *kind = (const char *)sqlite3_column_text(st, 2);
    g->kind = kind && !strcmp(kind, "forward") ? GRANT_FORWARD : GRANT_ACCESS;
    g->entry_point = col_strdup(st, 3);
    g->port = sqlite3_column_int(st, 4);
    col_copy(st, 5, g->username, sizeof g->username);
    if (pw) {
        snprintf(g->password, sizeof g->password, "%s", pw);
        sodium_memzero(pw, strlen(pw));
        free(pw);
    }
    col_copy(st, 7, g->access_type, sizeof g->access_type);
    g->full_access = sqlite3_column_int(st, 8) != 0;
    g->allow_rfc1918 = sqlite3_column_int(st, 9) != 0;
    col_copy(st, 10, g->dst_address, sizeof g->dst_address);
    g->dst_port = sqlite3_column_int(st, 11);
    g->masquerade = sqlite3_column_int(st, 12) != 0;
    col_copy(st, 13, g->allow_only_cidr, sizeof g->allow_only_cidr);
    g->rate_limit = (uint64_t)sqlite3_column_int64(st, 14);
    g->created_at = col_time(st, 15);
    g->expires_at_ms = sqlite3_column_int64(st, 16);
    g->revoked_early = sqlite3_column_int(st, 17) != 0;
    g->torn_down_at = col_time(st, 18);
    g->config_committed_at = col_time(st, 19);
    g->config_removed_from_site = sqlite3_column_int(st, 20) != 0;
    g->config_removed_from_mpac = sqlite3_column_int(st, 21) != 0;
    col_copy(st, 22, g->setup_job_id, sizeof g->setup_job_id);
    col_copy(st, 23, g->teardown_job_id, sizeof g->teardown_job_id);
    g->created_by = col_strdup(st, 24);
    g->authorized_at_ms = col_time(st, 25);
    return 0;
}

int sqlite_grant_insert(struct store *s, struct grant *g, int port_lo, int port_hi)
{
    struct store_conn *c = store_conn(s);
    if (!c)
        return -EIO;
    static const char sql[] =
        "INSERT INTO grants(id, site_id, kind, entry_point, port, username, password_sealed, "
        "access_type, full_access, allow_rfc1918, dst_address, dst_port, masquerade, "
        "allow_only_cidr, rate_limit, created_at, expires_at_ms, created_by) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
    char *sealed = g->kind == GRANT_ACCESS ? store_seal_text(s, g->password) : NULL;
    int r = store_begin(c);
    if (r < 0) {
        free(sealed);
        return r;
    }
    r = -EADDRNOTAVAIL;
    /* Random probing: with the range mostly free this ends at the first try. */
    for (int attempt = 0; attempt < 128; attempt++) {
        int port = (int)rand_range((uint32_t)port_lo, (uint32_t)port_hi);
        sqlite3_stmt *st = store_stmt(c, sql);
        if (!st) {
            r = -EIO;
            break;
        }
        bind_text(st, 1, g->id);
        bind_text(st, 2, g->site_id);
        bind_text(st, 3, grant_kind_name(g->kind));
        bind_text(st, 4, g->entry_point);
        sqlite3_bind_int(st, 5, port);
        bind_text(st, 6, g->kind == GRANT_ACCESS ? g->username : NULL);
        bind_text(st, 7, sealed);
        bind_text(st, 8, g->kind == GRANT_ACCESS ? g->access_type : NULL);
        sqlite3_bind_int(st, 9, g->full_access);
        sqlite3_bind_int(st, 10, g->allow_rfc1918);
        bind_text(st, 11, g->kind == GRANT_FORWARD ? g->dst_address : NULL);
        if (g->kind == GRANT_FORWARD)
            sqlite3_bind_int(st, 12, g->dst_port);
        sqlite3_bind_int(st, 13, g->masquerade);
        bind_text(st, 14, g->allow_only_cidr);
        sqlite3_bind_int64(st, 15, (sqlite3_int64)g->rate_limit);
        sqlite3_bind_int64(st, 16, g->created_at);
        sqlite3_bind_int64(st, 17, g->expires_at_ms);
        bind_text(st, 18, g->created_by);
        r = store_step_done(c, st);
        if (r == 0) {
            g->port = port;
            break;
        }
        if (r != -EEXIST)
            break;
        r = -EADDRNOTAVAIL;
    }
    free(sealed);
    if (r == 0)
        r = sqlite_webhook_emit(c, WEBHOOK_GRANT_CREATED, g->id, g->site_id, NULL);
    return store_end(c, r);
}

static int grant_row(void *ctx, sqlite3_stmt *st, void *elem)
{
    struct grant *g = elem;
    int r = read_grant(ctx, st, g);
    if (r == 0 && sqlite3_column_count(st) > 26) {
        g->target_address = col_strdup(st, 26);
        g->target_port = sqlite3_column_int(st, 27);
    }
    return r;
}

static void grant_release_elem(void *elem)
{
    struct grant *g = elem;
    grant_release(g);
}

static int list_query(struct store *s, const char *sql, void (*bind)(sqlite3_stmt *, const void *),
                      const void *arg, struct grant **ret, size_t *n)
{
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    bind(st, arg);
    return store_collect(c, st, sizeof **ret, grant_row, s, grant_release_elem, (void **)ret, n);
}

struct list_args {
    const char *tenant, *site, *kind;
    int active;
    int64_t now_ms;
    const char *entry_point;
    const struct store_page *page;
};

static void bind_list(sqlite3_stmt *st, const void *p)
{
    const struct list_args *a = p;
    bind_text(st, 1, a->site);
    bind_text(st, 2, a->tenant);
    bind_text(st, 3, a->kind);
    sqlite3_bind_int(st, 4, a->active);
    sqlite3_bind_int64(st, 5, a->now_ms);
    store_bind_page(st, 6, a->page);
}

int sqlite_grant_list(struct store *s, const char *tenant_id, const char *site_id,
                      enum grant_kind kind, bool active_only, const struct store_page *page,
                      struct grant **ret, size_t *n)
{
    struct store_conn *c = store_conn(s);
    if (!c)
        return -EIO;
    int r = store_site_owned(c, tenant_id, site_id);
    if (r == 0)
        r = store_page_check(c, STORE_LIST_GRANTS, page, site_id, grant_kind_name(kind));
    if (r < 0)
        return r;
    static const char sql[] =
        "SELECT " GRANT_COLUMNS " FROM grants g JOIN sites s ON s.id = g.site_id "
        "WHERE g.site_id = ?1 AND s.tenant_id = ?2 AND g.kind = ?3 AND (?4 = 0 OR "
        "(g.torn_down_at IS NULL AND g.expires_at_ms > ?5)) AND (?6 IS NULL OR "
        "g.rowid < (SELECT p.rowid FROM grants p WHERE p.id = ?6)) ORDER BY g.rowid DESC LIMIT ?7";
    struct list_args a = {.tenant = tenant_id,
                          .site = site_id,
                          .kind = grant_kind_name(kind),
                          .active = active_only,
                          .now_ms = time_now_ms(),
                          .page = page};
    return list_query(s, sql, bind_list, &a, ret, n);
}

int sqlite_grant_get(struct store *s, const char *tenant_id, const char *site_id,
                     enum grant_kind kind, const char *id, struct grant *ret)
{
    static const char sql[] = "SELECT " GRANT_COLUMNS " FROM grants g JOIN sites s ON "
                              "s.id = g.site_id WHERE g.id = ? AND g.site_id = ? AND "
                              "s.tenant_id = ? AND g.kind = ?";
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    bind_text(st, 1, id);
    bind_text(st, 2, site_id);
    bind_text(st, 3, tenant_id);
    bind_text(st, 4, grant_kind_name(kind));
    return store_step_row(c, st, grant_row, s, ret);
}

int sqlite_grant_get_any(struct store *s, const char *id, struct grant *ret)
{
    static const char sql[] = "SELECT " GRANT_COLUMNS " FROM grants g WHERE g.id = ?";
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    bind_text(st, 1, id);
    return store_step_row(c, st, grant_row, s, ret);
}

static int update_one(struct store *s, const char *sql, const char *id, int64_t a, const char *text)
{
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, a);
    bind_text(st, 2, text);
    bind_text(st, 3, id);
    int r = store_step_done(c, st);
    if (r < 0)
        return r;
    return sqlite3_changes(c->db) ? 0 : -EBUSY;
}

int sqlite_grant_update(struct store *s, const char *id, int64_t expires_at_ms,
                        const uint64_t *rate)
{
    static const char sql[] =
        "UPDATE grants SET expires_at_ms = CASE WHEN ?1 > 0 THEN ?1 ELSE expires_at_ms END, "
        "rate_limit = coalesce(?2, rate_limit) WHERE id = ?3 AND torn_down_at IS NULL "
        "AND expires_at_ms > ?4"; /* an expired grant waiting for teardown stays expired */
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, expires_at_ms);
    if (rate)
        sqlite3_bind_int64(st, 2, (sqlite3_int64)*rate);
    bind_text(st, 3, id);
    sqlite3_bind_int64(st, 4, time_now_ms());
    int r = store_step_done(c, st);
    if (r < 0)
        return r;
    return sqlite3_changes(c->db) ? 0 : -EBUSY;
}

int sqlite_grant_set_setup_job(struct store *s, const char *id, const char *job_id)
{
    static const char sql[] = "UPDATE grants SET setup_job_id = ?2 WHERE id = ?3 AND ?1 = ?1";
    return update_one(s, sql, id, 0, job_id);
}

int sqlite_grant_teardown(struct store *s, const char *id, bool revoked, const char *job_id)
{
    static const char revoke[] =
        "UPDATE grants SET torn_down_at = ?1 / 1000, revoked_early = 1, "
        "expires_at_ms = min(expires_at_ms, ?1), config_removed_from_mpac = 1, "
        "teardown_job_id = ?2 WHERE id = ?3 AND torn_down_at IS NULL";
    static const char expire[] =
        "UPDATE grants SET torn_down_at = ?1 / 1000, config_removed_from_mpac = 1, "
        "teardown_job_id = ?2 WHERE id = ?3 AND torn_down_at IS NULL";
    struct store_conn *c = store_conn(s);
    if (!c)
        return -EIO;
    int r = store_begin(c);
    if (r < 0)
        return r;
    r = update_one(s, revoked ? revoke : expire, id, time_now_ms(), job_id);
    if (r == 0)
        r = sqlite_webhook_emit(c, revoked ? WEBHOOK_GRANT_REVOKED : WEBHOOK_GRANT_EXPIRED, id,
                                NULL, NULL);
    return store_end(c, r);
}

int64_t sqlite_grants_next_expiry(struct store *s, int64_t after_ms)
{
    static const char sql[] = "SELECT min(expires_at_ms) FROM grants WHERE torn_down_at IS NULL "
                              "AND expires_at_ms > ?";
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return 0;
    sqlite3_bind_int64(st, 1, after_ms);
    int64_t t = sqlite3_step(st) == SQLITE_ROW ? col_time(st, 0) : 0;
    sqlite3_reset(st);
    return t;
}

int sqlite_grants_due(struct store *s, int64_t now_ms, int limit, struct strlist *ret)
{
    static const char sql[] = "SELECT id FROM grants WHERE torn_down_at IS NULL AND "
                              "expires_at_ms <= ? ORDER BY expires_at_ms LIMIT ?";
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, now_ms);
    sqlite3_bind_int(st, 2, limit);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        strlist_add(ret, (const char *)sqlite3_column_text(st, 0));
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : store_map_rc(c, rc);
}

static void bind_site_only(sqlite3_stmt *st, const void *p)
{
    const struct list_args *a = p;
    bind_text(st, 1, a->site);
}

static void bind_live(sqlite3_stmt *st, const void *p)
{
    const struct list_args *a = p;
    bind_text(st, 1, a->entry_point);
    sqlite3_bind_int64(st, 2, a->now_ms);
}

int sqlite_grants_live(struct store *s, const char *entry_point, int64_t now_ms, struct grant **ret,
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

void store_grant_array_free(struct grant *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        grant_release(&a[i]);
    free(a);
}

void store_taken_grant_array_free(struct store_taken_grant *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        grant_release(&a[i].g);
    free(a);
}

/*
 * Connection records are written one row per statement, INSERT ... VALUES: SQLite then needs
 * no statement journal (it opens one for a statement that may write several rows and abort
 * half way, as INSERT ... SELECT may), which was a fifth of the edge role's CPU under
 * 10 000 connections/s (docs/benchmarks.md, issue 13). Whether the grant is still there (a
 * record of a grant deleted meanwhile is dropped, not an error) is asked first, with whether
 * it has had an accepted connection, in one statement.
 */
static const char grant_conn_state_sql[] =
    "SELECT EXISTS (SELECT 1 FROM grants WHERE id = ?1) + 2 * EXISTS (SELECT 1 FROM "
    "grant_connections WHERE grant_id = ?1 AND outcome NOT IN ('refused', 'limited'))";
#define GRANT_CONN_GRANT_EXISTS 1
#define GRANT_CONN_HAD_ACCEPTED 2

/*
 * Inserts gc as one row of grant_id (conn_ref 0: none; no outcome: "open", a START), in the
 * caller's transaction or one of its own. authorizes: the grant's first accepted
 * record emits grant.authorized. A grant that is gone takes no record. 0 or -errno.
 */
static int record_insert(struct store *s, const char *grant_id, const struct grant_connection *gc,
                         bool authorizes)
{
    static const char sql[] =
        "INSERT INTO grant_connections(grant_id, source, started_ms, outcome, conn_ref, ended_ms, "
        "bytes_in, bytes_out) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
    int r, state = 0;
    struct store_conn *c;
    sqlite3_stmt *st = store_begin_stmt(s, grant_conn_state_sql, &c, &r);
    if (!st)
        return r;
    bind_text(st, 1, grant_id);
    r = store_step_row(c, st, store_read_int, NULL, &state);
    if (r < 0 || !(state & GRANT_CONN_GRANT_EXISTS))
        goto out_end_tx; /* (the grant is gone: r is 0, nothing to record) */
    if (!(st = store_stmt(c, sql))) {
        r = -EIO;
        goto out_end_tx;
    }
    bind_text(st, 1, grant_id);
    bind_text(st, 2, gc->source);
    sqlite3_bind_int64(st, 3, gc->started_ms);
    bind_text(st, 4, gc->outcome[0] ? gc->outcome : "open");
    if (gc->conn_ref)
        sqlite3_bind_int64(st, 5, (sqlite3_int64)gc->conn_ref);
    else
        sqlite3_bind_null(st, 5);
    bind_time(st, 6, gc->ended_ms);
    sqlite3_bind_int64(st, 7, (sqlite3_int64)gc->bytes_in);
    sqlite3_bind_int64(st, 8, (sqlite3_int64)gc->bytes_out);
    r = store_step_done(c, st);
    if (r == 0 && authorizes && !(state & GRANT_CONN_HAD_ACCEPTED))
        r = sqlite_webhook_emit(c, WEBHOOK_GRANT_AUTHORIZED, grant_id, NULL, NULL);
out_end_tx:
    return store_end(c, r);
}

int sqlite_grant_conn_open(struct store *s, const char *grant_id, const struct grant_connection *gc)
{
    /* the first accepted connection authorizes the grant (webhook grant.authorized) */
    return record_insert(s, grant_id, gc, true);
}

int sqlite_grant_conn_insert(struct store *s, const char *grant_id,
                             const struct grant_connection *gc)
{
    static const char close_sql[] =
        "UPDATE grant_connections SET ended_ms = ?1, bytes_in = ?2, bytes_out = ?3, outcome = ?4 "
        "WHERE grant_id = ?5 AND conn_ref = ?6 AND ended_ms IS NULL";
    struct store_conn *c;
    if (gc->conn_ref) {
        sqlite3_stmt *u = store_prepare(s, close_sql, &c);
        if (!u)
            return -EIO;
        bind_time(u, 1, gc->ended_ms);
        sqlite3_bind_int64(u, 2, (sqlite3_int64)gc->bytes_in);
        sqlite3_bind_int64(u, 3, (sqlite3_int64)gc->bytes_out);
        bind_text(u, 4, gc->outcome);
        bind_text(u, 5, grant_id);
        sqlite3_bind_int64(u, 6, (sqlite3_int64)gc->conn_ref);
        if (store_step_changed(c, u) == 0)
            return 0;
    }
    struct grant_connection whole = *gc;
    whole.conn_ref = 0; /* its START was not recorded: the whole connection, as a new row */
    return record_insert(s, grant_id, &whole, false);
}

/* Adds c to the newest refused record of grant_id with c's outcome: 0, -ENOENT (none), -EIO. */
static int refused_fold(struct store *s, const char *grant_id, const struct grant_connection *gc)
{
    static const char sql[] =
        "UPDATE grant_connections SET count = count + ?1, ended_ms = max(ended_ms, ?2), "
        "source = CASE WHEN source = ?3 THEN source ELSE '*' END WHERE id = (SELECT max(id) "
        "FROM grant_connections WHERE grant_id = ?4 AND outcome IN ('refused', 'limited') AND "
        "outcome = ?5)";
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)gc->count);
    sqlite3_bind_int64(st, 2, gc->ended_ms);
    bind_text(st, 3, gc->source);
    bind_text(st, 4, grant_id);
    bind_text(st, 5, gc->outcome);
    return store_step_changed(c, st);
}

int sqlite_grant_conn_refused(struct store *s, const char *grant_id,
                              const struct grant_connection *gc, unsigned max_records)
{
    static const char count_sql[] = "SELECT count(*) FROM grant_connections WHERE grant_id = ? "
                                    "AND outcome IN ('refused', 'limited')";
    static const char sql[] =
        "INSERT INTO grant_connections(grant_id, source, started_ms, ended_ms, outcome, count) "
        "SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE EXISTS (SELECT 1 FROM grants WHERE id = ?1)";
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, count_sql, &c);
    if (!st)
        return -EIO;
    bind_text(st, 1, grant_id);
    int have = 0;
    int r = store_step_row(c, st, store_read_int, NULL, &have);
    if (r < 0)
        return r;
    if ((unsigned)have >= max_records && (r = refused_fold(s, grant_id, gc)) != -ENOENT)
        return r;
    st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    bind_text(st, 1, grant_id);
    bind_text(st, 2, gc->source);
    sqlite3_bind_int64(st, 3, gc->started_ms);
    sqlite3_bind_int64(st, 4, gc->ended_ms);
    bind_text(st, 5, gc->outcome);
    sqlite3_bind_int64(st, 6, (sqlite3_int64)(gc->count ? gc->count : 1));
    return store_step_done(c, st);
}

int sqlite_grant_conn_prune(struct store *s, int64_t before_ms, int *ret_n)
{
    static const char sql[] = "DELETE FROM grant_connections WHERE outcome IN ('refused', "
                              "'limited') AND ended_ms < ?";
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, before_ms);
    int r = store_step_done(c, st);
    if (r == 0 && ret_n)
        *ret_n = sqlite3_changes(c->db);
    return r;
}

static int conn_row(void *ctx, sqlite3_stmt *st, void *elem)
{
    (void)ctx;
    struct grant_connection *x = elem;
    col_copy(st, 0, x->source, sizeof x->source);
    x->started_ms = sqlite3_column_int64(st, 1);
    x->ended_ms = col_time(st, 2);
    x->bytes_in = (uint64_t)sqlite3_column_int64(st, 3);
    x->bytes_out = (uint64_t)sqlite3_column_int64(st, 4);
    col_copy(st, 5, x->outcome, sizeof x->outcome);
    x->id = sqlite3_column_int64(st, 6);
    x->count = (uint64_t)sqlite3_column_int64(st, 7);
    return 0;
}

int sqlite_grant_conn_list(struct store *s, const char *grant_id, int64_t after_id, int limit,
                           struct grant_connection **ret, size_t *n)
{
    static const char sql[] =
        "SELECT source, started_ms, ended_ms, bytes_in, bytes_out, outcome, id, count "
        "FROM grant_connections WHERE grant_id = ? AND id > ? ORDER BY id LIMIT ?";
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    bind_text(st, 1, grant_id);
    sqlite3_bind_int64(st, 2, after_id);
    sqlite3_bind_int(st, 3, limit);
    return store_collect(c, st, sizeof **ret, conn_row, NULL, NULL, (void **)ret, n);
}

int sqlite_site_grants(struct store *s, const char *site_id, struct grant **ret, size_t *n)
{
    static const char sql[] = "SELECT " GRANT_COLUMNS_NO_AUTH " FROM grants g WHERE "
                              "g.site_id = ?1 AND g.config_removed_from_site = 0 ORDER BY g.rowid";
    struct list_args a = {.site = site_id};
    return list_query(s, sql, bind_site_only, &a, ret, n);
}

/* ["a","b"]: ids (UUIDs: nothing to escape) as a JSON array for json_each(). Owned. */
static char *json_ids(const struct strlist *ids)
{
    size_t cap = 3;
    for (size_t i = 0; i < ids->n; i++)
        cap += strlen(ids->items[i]) + 3;
    char *out = xmalloc(cap);
    size_t len = 0;
    out[len++] = '[';
    for (size_t i = 0; i < ids->n; i++)
        len += (size_t)snprintf(out + len, cap - len, "%s\"%s\"", i ? "," : "", ids->items[i]);
    out[len++] = ']';
    out[len] = '\0';
    return out;
}

/*
 * SQLite: one writer (BEGIN IMMEDIATE), so the candidates read first are exactly the rows the
 * UPDATE (the same condition) claims; SQLite's database clock is the process clock.
 */
int sqlite_grants_claim_due(struct store *s, const char *owner, int64_t now_ms, int64_t lease_ms,
                            int limit, struct store_due_grant **ret, size_t *n)
{
#define DUE                                                                                        \
    " FROM grants WHERE torn_down_at IS NULL AND expires_at_ms <= ?2 AND "                         \
    "(teardown_owner IS NULL OR teardown_owner = ?1 OR teardown_lease_until_ms < ?3) "             \
    "ORDER BY expires_at_ms LIMIT ?5"
    /* ?4 is bound but unused in sel (SQLite counts parameters up to the highest number) */
    static const char sel[] = "SELECT id, coalesce(teardown_owner, '')" DUE;
    static const char upd[] = "UPDATE grants SET teardown_owner = ?1, "
                              "teardown_lease_until_ms = ?3 + ?4 WHERE id IN (SELECT id" DUE ")";
#undef DUE
    struct store_conn *c;
    int r;
    sqlite3_stmt *st = store_begin_stmt(s, sel, &c, &r);
    if (!st)
        return r;
    int64_t now = time_now_ms();
    struct store_due_grant *due = NULL;
    size_t nd = 0, cap = 0;
    for (int pass = 0; pass < 2 && r == 0; pass++) {
        if (pass == 1 && !(st = store_stmt(c, upd))) {
            r = -EIO;
            break;
        }
        bind_text(st, 1, owner);
        sqlite3_bind_int64(st, 2, now_ms);
        sqlite3_bind_int64(st, 3, now);
        sqlite3_bind_int64(st, 4, lease_ms);
        sqlite3_bind_int(st, 5, limit);
        if (pass == 1) {
            r = store_step_done(c, st);
            break;
        }
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            if (nd == cap)
                due = xrealloc(due, (cap = cap ? cap * 2 : 16) * sizeof *due);
            memset(&due[nd], 0, sizeof due[nd]);
            col_copy(st, 0, due[nd].id, sizeof due[nd].id);
            col_copy(st, 1, due[nd].prev_owner, sizeof due[nd].prev_owner);
            if (!strcmp(due[nd].prev_owner, owner))
                due[nd].prev_owner[0] = '\0';
            nd++;
        }
        sqlite3_reset(st);
        r = rc == SQLITE_DONE ? 0 : store_map_rc(c, rc);
    }
    r = store_end(c, r);
    if (r < 0) {
        free(due);
        return r;
    }
    *ret = due;
    *n = nd;
    return 0;
}

/* A row of take_due: the grant (columns 0-25) and coalesce(teardown_owner, '') (26). */
static int taken_row(void *ctx, sqlite3_stmt *st, void *elem)
{
    struct store_taken_grant *t = elem;
    int r = read_grant(ctx, st, &t->g);
    if (r == 0)
        col_copy(st, 26, t->prev_owner, sizeof t->prev_owner);
    return r;
}

static void taken_release_elem(void *elem)
{
    struct store_taken_grant *t = elem;
    grant_release(&t->g);
}

/* SQLite: the caller's BEGIN IMMEDIATE makes this read the writer's; the due condition is
 * sqlite_grants_claim_due's (through grants_due, the live grants by expiry). */
int sqlite_grants_take_due(struct store *s, const char *owner, int64_t now_ms, int64_t lease_ms,
                           int limit, struct store_taken_grant **ret, size_t *n)
{
    (void)lease_ms; /* one process writes: a hung one holds the write lock anyway */
    static const char sql[] =
        "SELECT " GRANT_COLUMNS_NO_AUTH ", coalesce(g.teardown_owner, '') FROM grants g WHERE "
        "g.torn_down_at IS NULL AND g.expires_at_ms <= ?2 AND (g.teardown_owner IS NULL OR "
        "g.teardown_owner = ?1 OR g.teardown_lease_until_ms < ?3) ORDER BY g.expires_at_ms "
        "LIMIT ?4";
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    bind_text(st, 1, owner);
    sqlite3_bind_int64(st, 2, now_ms);
    sqlite3_bind_int64(st, 3, time_now_ms());
    sqlite3_bind_int(st, 4, limit);
    int r = store_collect(c, st, sizeof **ret, taken_row, s, taken_release_elem, (void **)ret, n);
    for (size_t i = 0; r == 0 && i < *n; i++)
        if (!strcmp((*ret)[i].prev_owner, owner))
            (*ret)[i].prev_owner[0] = '\0';
    return r;
}

int sqlite_grants_lock_claimed(struct store *s, const char *owner, const struct strlist *ids,
                               struct grant **ret, size_t *n)
{
    static const char sql[] = "SELECT " GRANT_COLUMNS_NO_AUTH " FROM grants g WHERE g.id IN "
                              "(SELECT value FROM json_each(?1)) AND g.torn_down_at IS NULL AND "
                              "g.teardown_owner = ?2 ORDER BY g.id";
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    sqlite3_bind_text(st, 1, json_ids(ids), -1, free);
    bind_text(st, 2, owner);
    return store_collect(c, st, sizeof **ret, grant_row, s, grant_release_elem, (void **)ret, n);
}

/* SQLite: the single writer makes a loop of cached statements as good as one statement. */
int sqlite_grants_expire_many(struct store *s, const char *owner, const struct strlist *ids,
                              const struct strlist *job_ids)
{
    static const char sql[] =
        "UPDATE grants SET torn_down_at = ?1 / 1000, config_removed_from_mpac = 1, "
        "teardown_job_id = ?2, teardown_owner = coalesce(?4, teardown_owner) WHERE id = ?3 AND "
        "torn_down_at IS NULL";
    if (ids->n != job_ids->n)
        return -EINVAL;
    if (!ids->n)
        return 0;
    int r;
    struct store_conn *c;
    sqlite3_stmt *st = store_begin_stmt(s, sql, &c, &r);
    if (!st)
        return r;
    int64_t now = time_now_ms();
    for (size_t i = 0; r == 0 && i < ids->n; i++) {
        sqlite3_bind_int64(st, 1, now);
        bind_text(st, 2, job_ids->items[i]);
        bind_text(st, 3, ids->items[i]);
        bind_text(st, 4, owner);
        r = store_step_done(c, st);
        if (r == 0 && !sqlite3_changes(c->db))
            r = -EBUSY;
    }
    if (r == 0)
        r = sqlite_webhook_emit_grants(c, WEBHOOK_GRANT_EXPIRED, ids);
    return store_end(c, r);
}

int sqlite_leases_renew(struct store *s, const char *owner, int64_t lease_ms, int *ret_n)
{
    static const char sql[] = "UPDATE grants SET teardown_lease_until_ms = ?1 + ?2 WHERE "
                              "teardown_owner = ?3 AND torn_down_at IS NULL";
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, time_now_ms());
    sqlite3_bind_int64(st, 2, lease_ms);
    bind_text(st, 3, owner);
    int r = store_step_done(c, st);
    if (r == 0 && ret_n)
        *ret_n = sqlite3_changes(c->db);
    return r;
}
