/*
 * pg_audit.c - the audit log of actions in the PostgreSQL store (twin of sqlite_audit.c).
 */
#include "pg_int.h"

#include <errno.h>
#include <string.h>

#define AUDIT_COLUMNS                                                                              \
    "id, tenant_id, at_ms, actor_kind, actor_id, actor_name, source, method, route, object_id, "   \
    "parent_id, status, error_code, request_id"

static int audit_row(void *ctx, struct pg_stmt *st, void *elem)
{
    (void)ctx;
    struct audit_entry *e = elem;
    memset(e, 0, sizeof *e);
    pg_col_copy(st, 0, e->id, sizeof e->id);
    pg_col_copy(st, 1, e->tenant_id, sizeof e->tenant_id);
    e->at_ms = pg_column_int64(st, 2);
    const char *kind = (const char *)pg_column_text(st, 3);
    if (!kind || audit_actor_parse(kind, &e->actor_kind) < 0)
        return -EBADMSG;
    pg_col_copy(st, 4, e->actor_id, sizeof e->actor_id);
    pg_col_copy(st, 5, e->actor_name, sizeof e->actor_name);
    pg_col_copy(st, 6, e->source, sizeof e->source);
    pg_col_copy(st, 7, e->method, sizeof e->method);
    pg_col_copy(st, 8, e->route, sizeof e->route);
    pg_col_copy(st, 9, e->object_id, sizeof e->object_id);
    pg_col_copy(st, 10, e->parent_id, sizeof e->parent_id);
    e->status = pg_column_int(st, 11);
    pg_col_copy(st, 12, e->error_code, sizeof e->error_code);
    pg_col_copy(st, 13, e->request_id, sizeof e->request_id);
    return 0;
}

int pg_audit_insert(struct store *s, const struct audit_entry *e)
{
    static const char sql[] = "INSERT INTO audit_log(" AUDIT_COLUMNS ") VALUES "
                              "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
    struct pg_session *c;
    struct pg_stmt *st = pg_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    pg_bind_text(st, 1, e->id);
    pg_bind_text(st, 2, e->tenant_id);
    pg_bind_int64(st, 3, e->at_ms);
    pg_bind_text(st, 4, audit_actor_name(e->actor_kind));
    pg_bind_text(st, 5, e->actor_id);
    pg_bind_text(st, 6, e->actor_name);
    pg_bind_text(st, 7, e->source);
    pg_bind_text(st, 8, e->method);
    pg_bind_text(st, 9, e->route);
    pg_bind_text(st, 10, e->object_id);
    pg_bind_text(st, 11, e->parent_id);
    pg_bind_int(st, 12, e->status);
    pg_bind_text(st, 13, e->error_code);
    pg_bind_text(st, 14, e->request_id);
    return pg_step_done(c, st);
}

/* A filter's time bound, NULL when 0. */
static void bind_ms(struct pg_stmt *st, int i, int64_t ms)
{
    if (ms)
        pg_bind_int64(st, i, ms);
    else
        pg_bind_null(st, i);
}

/* 0 when page->after_id is one of the tenant's entries (or absent), else -EINVAL. */
static int check_cursor(struct pg_session *c, const char *tenant_id, const struct store_page *page)
{
    if (!page || !page->after_id)
        return 0;
    static const char sql[] = "SELECT 1 FROM audit_log WHERE id = ? AND tenant_id = ?";
    struct pg_stmt *st = pg_stmt(c, sql);
    if (!st)
        return -EIO;
    pg_bind_text(st, 1, page->after_id);
    pg_bind_text(st, 2, tenant_id);
    int r = pg_step_row(c, st, NULL, NULL, NULL);
    return r == -ENOENT ? -EINVAL : r;
}

int pg_audit_list(struct store *s, const char *tenant_id, const struct audit_filter *f,
                  const struct store_page *page, struct audit_entry **ret, size_t *n)
{
    static const char sql[] =
        "SELECT " AUDIT_COLUMNS " FROM audit_log WHERE tenant_id = ?1 AND (?2::text IS NULL OR "
        "(at_ms, id) < (SELECT p.at_ms, p.id FROM audit_log p WHERE p.id = ?2)) "
        "AND (?4::text IS NULL OR actor_id = ?4) "
        "AND (?5::text IS NULL OR object_id = ?5 OR parent_id = ?5) "
        "AND (?6::bigint IS NULL OR at_ms >= ?6) AND (?7::bigint IS NULL OR at_ms < ?7) "
        "AND (?8::bigint IS NULL OR status / 100 = ?8) ORDER BY at_ms DESC, id DESC LIMIT ?3";
    static const struct audit_filter none;
    if (!f)
        f = &none;
    struct pg_session *c = pg_session(s);
    if (!c)
        return -EIO;
    int r = check_cursor(c, tenant_id, page);
    if (r < 0)
        return r;
    struct pg_stmt *st = pg_stmt(c, sql);
    if (!st)
        return -EIO;
    pg_bind_text(st, 1, tenant_id);
    pg_bind_page(st, 2, page);
    pg_bind_text(st, 4, f->actor_id);
    pg_bind_text(st, 5, f->object_id);
    bind_ms(st, 6, f->since_ms);
    bind_ms(st, 7, f->until_ms);
    bind_ms(st, 8, f->result_class);
    return pg_collect(c, st, sizeof **ret, audit_row, NULL, NULL, (void **)ret, n);
}

int pg_audit_prune(struct store *s, int64_t before_ms, int limit, size_t *ret_n)
{
    static const char sql[] = "DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log "
                              "WHERE at_ms < ? ORDER BY at_ms LIMIT ?)";
    struct pg_session *c;
    struct pg_stmt *st = pg_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    pg_bind_int64(st, 1, before_ms);
    pg_bind_int(st, 2, limit);
    int r = pg_step_done(c, st);
    if (r == 0)
        *ret_n = (size_t)pg_changes(c);
    return r;
}
