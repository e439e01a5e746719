/*
 * sqlite_audit.c - the audit log of actions in the SQLite store (domain/audit.h).
 */
#include "sqlite_int.h"

#include <errno.h>
#include <string.h>

#define AUDIT_COLUMNS                                                                              \
    "id, tenant_id, at_ms, actor_kind, actor_id, actor_name, source, method, route, object_id, "   \
    "parent_id, status, error_code, request_id"

static int audit_row(void *ctx, sqlite3_stmt *st, void *elem)
{
    (void)ctx;
    struct audit_entry *e = elem;
    memset(e, 0, sizeof *e);
    col_copy(st, 0, e->id, sizeof e->id);
    col_copy(st, 1, e->tenant_id, sizeof e->tenant_id);
    e->at_ms = sqlite3_column_int64(st, 2);
    const char *kind = (const char *)sqlite3_column_text(st, 3);
    if (!kind || audit_actor_parse(kind, &e->actor_kind) < 0)
        return -EBADMSG;
    col_copy(st, 4, e->actor_id, sizeof e->actor_id);
    col_copy(st, 5, e->actor_name, sizeof e->actor_name);
    col_copy(st, 6, e->source, sizeof e->source);
    col_copy(st, 7, e->method, sizeof e->method);
    col_copy(st, 8, e->route, sizeof e->route);
    col_copy(st, 9, e->object_id, sizeof e->object_id);
    col_copy(st, 10, e->parent_id, sizeof e->parent_id);
    e->status = sqlite3_column_int(st, 11);
    col_copy(st, 12, e->error_code, sizeof e->error_code);
    col_copy(st, 13, e->request_id, sizeof e->request_id);
    return 0;
}

int sqlite_audit_insert(struct store *s, const struct audit_entry *e)
{
    static const char sql[] = "INSERT INTO audit_log(" AUDIT_COLUMNS ") VALUES "
                              "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
    /* a transaction, not an autocommit INSERT: it joins the writer's group commit
     * (sqlite_writer.c) with the action it follows, where an autocommit write ends it */
    struct store_conn *c;
    int r;
    sqlite3_stmt *st = store_begin_stmt(s, sql, &c, &r);
    if (!st)
        return r;
    bind_text(st, 1, e->id);
    bind_text(st, 2, e->tenant_id);
    sqlite3_bind_int64(st, 3, e->at_ms);
    bind_text(st, 4, audit_actor_name(e->actor_kind));
    bind_text(st, 5, e->actor_id);
    bind_text(st, 6, e->actor_name);
    bind_text(st, 7, e->source);
    bind_text(st, 8, e->method);
    bind_text(st, 9, e->route);
    bind_text(st, 10, e->object_id);
    bind_text(st, 11, e->parent_id);
    sqlite3_bind_int(st, 12, e->status);
    bind_text(st, 13, e->error_code);
    bind_text(st, 14, e->request_id);
    return store_end(c, store_step_done(c, st));
}

/* A filter's time bound, NULL when 0. */
static void bind_ms(sqlite3_stmt *st, int i, int64_t ms)
{
    if (ms)
        sqlite3_bind_int64(st, i, ms);
    else
        sqlite3_bind_null(st, i);
}

/* 0 when page->after_id is one of the tenant's entries (or absent), else -EINVAL. */
static int check_cursor(struct store_conn *c, const char *tenant_id, const struct store_page *page)
{
    if (!page || !page->after_id)
        return 0;
    static const char sql[] = "SELECT 1 FROM audit_log WHERE id = ? AND tenant_id = ?";
    sqlite3_stmt *st = store_stmt(c, sql);
    if (!st)
        return -EIO;
    bind_text(st, 1, page->after_id);
    bind_text(st, 2, tenant_id);
    int r = store_step_row(c, st, NULL, NULL, NULL);
    return r == -ENOENT ? -EINVAL : r;
}

int sqlite_audit_list(struct store *s, const char *tenant_id, const struct audit_filter *f,
                      const struct store_page *page, struct audit_entry **ret, size_t *n)
{
    static const char sql[] =
        "SELECT " AUDIT_COLUMNS " FROM audit_log WHERE tenant_id = ?1 AND (?2 IS NULL OR "
        "(at_ms, id) < (SELECT p.at_ms, p.id FROM audit_log p WHERE p.id = ?2)) "
        "AND (?4 IS NULL OR actor_id = ?4) AND (?5 IS NULL OR object_id = ?5 OR parent_id = ?5) "
        "AND (?6 IS NULL OR at_ms >= ?6) AND (?7 IS NULL OR at_ms < ?7) "
        "AND (?8 IS NULL OR status / 100 = ?8) ORDER BY at_ms DESC, id DESC LIMIT ?3";
    static const struct audit_filter none;
    if (!f)
        f = &none;
    struct store_conn *c = store_conn(s);
    if (!c)
        return -EIO;
    int r = check_cursor(c, tenant_id, page);
    if (r < 0)
        return r;
    sqlite3_stmt *st = store_stmt(c, sql);
    if (!st)
        return -EIO;
    bind_text(st, 1, tenant_id);
    store_bind_page(st, 2, page);
    bind_text(st, 4, f->actor_id);
    bind_text(st, 5, f->object_id);
    bind_ms(st, 6, f->since_ms);
    bind_ms(st, 7, f->until_ms);
    bind_ms(st, 8, f->result_class);
    return store_collect(c, st, sizeof **ret, audit_row, NULL, NULL, (void **)ret, n);
}

int sqlite_audit_prune(struct store *s, int64_t before_ms, int limit, size_t *ret_n)
{
    static const char sql[] = "DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log "
                              "WHERE at_ms < ? ORDER BY at_ms LIMIT ?)";
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, before_ms);
    sqlite3_bind_int(st, 2, limit);
    int r = store_step_done(c, st);
    if (r == 0)
        *ret_n = (size_t)sqlite3_changes(c->db);
    return r;
}
