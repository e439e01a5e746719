/*
 * sqlite_policies.c - policies and their services in the SQLite store.
 */
#include "alloc.h"
#include "sqlite_int.h"
#include "timefmt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int write_services(struct store_conn *c, const struct policy *p)
{
    static const char del[] = "DELETE FROM policy_services WHERE policy_id = ?";
    static const char ins[] = "INSERT INTO policy_services(policy_id, service, enabled, port, "
                              "networks) VALUES (?, ?, ?, ?, ?)";
    sqlite3_stmt *st = store_stmt(c, del);
    if (!st)
        return -EIO;
    bind_text(st, 1, p->id);
    int r = store_step_done(c, st);
    if (r < 0)
        return r;
    for (int i = 0; i < SVC_COUNT; i++) {
        st = store_stmt(c, ins);
        if (!st)
            return -EIO;
        char *nets = strlist_join(&p->svc[i].networks, ',');
        bind_text(st, 1, p->id);
        sqlite3_bind_int(st, 2, i);
        sqlite3_bind_int(st, 3, p->svc[i].enabled);
        sqlite3_bind_int(st, 4, p->svc[i].port);
        bind_text(st, 5, nets);
        r = store_step_done(c, st);
        free(nets);
        if (r < 0)
            return r;
    }
    return 0;
}

int store_policy_insert_conn(struct store_conn *c, const struct policy *p)
{
    static const char sql[] =
        "INSERT INTO policies(id, tenant_id, name, slug, is_default, custom_input_rules, "
        "trusted_networks, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
    sqlite3_stmt *st = store_stmt(c, sql);
    if (!st)
        return -EIO;
    char *trusted = strlist_join(&p->trusted_networks, ',');
    bind_text(st, 1, p->id);
    bind_text(st, 2, p->tenant_id);
    bind_text(st, 3, p->name);
    bind_text(st, 4, p->slug);
    sqlite3_bind_int(st, 5, p->is_default);
    sqlite3_bind_int(st, 6, p->custom_input_rules);
    bind_text(st, 7, trusted);
    sqlite3_bind_int64(st, 8, p->created_at);
    sqlite3_bind_int64(st, 9, p->updated_at);
    int r = store_step_done(c, st);
    free(trusted);
    if (r < 0)
        return r;
    return write_services(c, p);
}

int sqlite_policy_insert(struct store *s, const struct policy *p)
{
    struct store_conn *c = store_conn(s);
    if (!c)
        return -EIO;
    int r = store_begin(c);
    if (r < 0)
        return r;
    return store_end(c, store_policy_insert_conn(c, p));
}

#define POLICY_COLUMNS                                                                             \
    "id, tenant_id, name, slug, is_default, custom_input_rules, trusted_networks, created_at, "    \
    "updated_at"

static int policy_row(void *ctx, sqlite3_stmt *st, void *elem)
{
    (void)ctx;
    struct policy *p = elem;
    memset(p, 0, sizeof *p);
    col_copy(st, 0, p->id, sizeof p->id);
    col_copy(st, 1, p->tenant_id, sizeof p->tenant_id);
    p->name = col_strdup(st, 2);
    p->slug = col_strdup(st, 3);
    p->is_default = sqlite3_column_int(st, 4) != 0;
    p->custom_input_rules = sqlite3_column_int(st, 5) != 0;
    strlist_split(&p->trusted_networks, (const char *)sqlite3_column_text(st, 6), ',');
    p->created_at = col_time(st, 7);
    p->updated_at = col_time(st, 8);
    return 0;
}

static int read_services(struct store_conn *c, struct policy *p)
{
    static const char sql[] =
        "SELECT service, enabled, port, networks FROM policy_services WHERE policy_id = ?";
    sqlite3_stmt *st = store_stmt(c, sql);
    if (!st)
        return -EIO;
    bind_text(st, 1, p->id);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int i = sqlite3_column_int(st, 0);
        if (i < 0 || i >= SVC_COUNT)
            continue;
        p->svc[i].enabled = sqlite3_column_int(st, 1) != 0;
        p->svc[i].port = sqlite3_column_int(st, 2);
        strlist_split(&p->svc[i].networks, (const char *)sqlite3_column_text(st, 3), ',');
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : store_map_rc(c, rc);
}

static int read_site_ids(struct store_conn *c, struct policy *p)
{
    static const char sql[] = "SELECT id FROM sites WHERE policy_id = ? ORDER BY created_at, rowid";
    sqlite3_stmt *st = store_stmt(c, sql);
    if (!st)
        return -EIO;
    bind_text(st, 1, p->id);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        strlist_add(&p->sites, (const char *)sqlite3_column_text(st, 0));
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : store_map_rc(c, rc);
}

/*
 * One read transaction around the SELECTs of a policy read. In WAL mode every
 * autocommit statement opens and closes its own read transaction, and each of
 * those takes and drops a lock on the -shm file with fcntl(): on the
 * GET-policy hot path that syscall pair per statement was the largest single
 * cost (perf, bench/api.sh). One deferred BEGIN ... COMMIT pays it once and
 * gives the row, its services and its sites one snapshot. The statements are
 * cached like every other (store_stmt keys on the address of the string).
 * read_begin() returns false, and read_end() then does nothing, when a
 * transaction is already open on this connection.
 */
static const char sql_read_begin[] = "BEGIN DEFERRED";
static const char sql_read_end[] = "COMMIT";

static bool read_begin(struct store_conn *c)
{
    if (!sqlite3_get_autocommit(c->db))
        return false;
    sqlite3_stmt *st = store_stmt(c, sql_read_begin);
    return st && store_step_done(c, st) == 0;
}

static void read_end(struct store_conn *c, bool began)
{
    if (!began)
        return;
    sqlite3_stmt *st = store_stmt(c, sql_read_end);
    if (!st || store_step_done(c, st) < 0)
        store_rollback(c);
}

static int get_policy_conn(struct store_conn *c, const char *tenant_id, const char *id,
                           int with_sites, struct policy *ret)
{
    static const char sql[] =
        "SELECT " POLICY_COLUMNS " FROM policies WHERE id = ? AND tenant_id = ?";
    static const char sql_default[] =
        "SELECT " POLICY_COLUMNS " FROM policies WHERE tenant_id = ? AND is_default = 1";
    bool began = read_begin(c);
    sqlite3_stmt *st = store_stmt(c, id ? sql : sql_default);
    if (!st) {
        read_end(c, began);
        return -EIO;
    }
    if (id) {
        bind_text(st, 1, id);
        bind_text(st, 2, tenant_id);
    } else {
        bind_text(st, 1, tenant_id);
    }
    int r = store_step_row(c, st, policy_row, NULL, ret);
    if (r < 0) {
        read_end(c, began);
        return r;
    }
    r = read_services(c, ret);
    if (r == 0 && with_sites)
        r = read_site_ids(c, ret);
    read_end(c, began);
    if (r < 0)
        policy_release(ret);
    return r;
}

int sqlite_policy_get(struct store *s, const char *tenant_id, const char *id, int with_sites,
                      struct policy *ret)
{
    struct store_conn *c = store_conn(s);
    if (!c)
        return -EIO;
    return get_policy_conn(c, tenant_id, id, with_sites, ret);
}

int sqlite_policy_get_default(struct store *s, const char *tenant_id, struct policy *ret)
{
    struct store_conn *c = store_conn(s);
    if (!c)
        return -EIO;
    return get_policy_conn(c, tenant_id, NULL, 0, ret);
}

static void policy_release_elem(void *elem)
{
    policy_release(elem);
}

int sqlite_policy_list(struct store *s, const char *tenant_id, const struct store_page *page,
                       struct policy **ret, size_t *n)
{
    static const char sql[] =
        "SELECT " POLICY_COLUMNS " FROM policies WHERE tenant_id = ?1 AND (?2 IS NULL OR "
        "(created_at, rowid) > (SELECT p.created_at, p.rowid FROM policies p WHERE p.id = ?2)) "
        "ORDER BY created_at, rowid LIMIT ?3";
    struct store_conn *c = store_conn(s);
    if (!c)
        return -EIO;
    /* One snapshot and one read transaction for the page and its services (101 statements
     * for a page of 100: in autocommit each took and dropped the WAL read lock, issue 13). */
    bool began = read_begin(c);
    int r;
    sqlite3_stmt *st = store_tenant_page_stmt(s, sql, STORE_LIST_POLICIES, tenant_id, page, &c, &r);
    if (!st) {
        read_end(c, began);
        return r;
    }
    struct policy *a = NULL;
    size_t cnt = 0;
    r = store_collect(c, st, sizeof *a, policy_row, NULL, policy_release_elem, (void **)&a, &cnt);
    for (size_t i = 0; r == 0 && i < cnt; i++)
        r = read_services(c, &a[i]);
    read_end(c, began);
    if (r < 0) {
        store_policy_array_free(a, cnt);
        return r;
    }
    *ret = a;
    *n = cnt;
    return 0;
}

int sqlite_policy_update(struct store *s, const struct policy *p)
{
    struct store_conn *c;
    static const char sql[] =
        "UPDATE policies SET name = ?, custom_input_rules = ?, trusted_networks = ?, "
        "updated_at = ? WHERE id = ? AND tenant_id = ?";
    int r;
    sqlite3_stmt *st = store_begin_stmt(s, sql, &c, &r);
    if (!st)
        return r;
    char *trusted = strlist_join(&p->trusted_networks, ',');
    bind_text(st, 1, p->name);
    sqlite3_bind_int(st, 2, p->custom_input_rules);
    bind_text(st, 3, trusted);
    sqlite3_bind_int64(st, 4, p->updated_at);
    bind_text(st, 5, p->id);
    bind_text(st, 6, p->tenant_id);
    r = store_step_done(c, st);
    free(trusted);
    if (r < 0)
        goto out_end_tx;
    if (sqlite3_changes(c->db) == 0) {
        r = -ENOENT;
        goto out_end_tx;
    }
    r = write_services(c, p);
out_end_tx:
    return store_end(c, r);
}

int sqlite_policy_delete(struct store *s, const char *tenant_id, const char *id)
{
    struct store_conn *c;
    static const char q[] = "SELECT is_default FROM policies WHERE id = ? AND tenant_id = ?";
    static const char move[] =
        "UPDATE sites SET policy_id = (SELECT id FROM policies WHERE tenant_id = ?1 AND "
        "is_default = 1), updated_at = ?3 WHERE policy_id = ?2 AND tenant_id = ?1";
    static const char del[] = "DELETE FROM policies WHERE id = ? AND tenant_id = ?";
    int r;
    sqlite3_stmt *st = store_begin_stmt(s, q, &c, &r);
    if (!st)
        return r;
    bind_text(st, 1, id);
    bind_text(st, 2, tenant_id);
    int is_default;
    r = store_step_row(c, st, store_read_int, NULL, &is_default);
    if (r < 0)
        goto out_end_tx;
    if (is_default) {
        r = -EPERM;
        goto out_end_tx;
    }
    st = store_stmt(c, move);
    if (!st) {
        r = -EIO;
        goto out_end_tx;
    }
    bind_text(st, 1, tenant_id);
    bind_text(st, 2, id);
    sqlite3_bind_int64(st, 3, time_now());
    r = store_step_done(c, st);
    if (r < 0)
        goto out_end_tx;
    st = store_stmt(c, del);
    if (!st) {
        r = -EIO;
        goto out_end_tx;
    }
    bind_text(st, 1, id);
    bind_text(st, 2, tenant_id);
    r = store_step_done(c, st);
out_end_tx:
    return store_end(c, r);
}

int sqlite_policy_attach_sites(struct store *s, const char *tenant_id, const char *policy_id,
                               const struct strlist *site_ids, size_t *ret_bad)
{
    struct store_conn *c;
    static const char pol[] = "SELECT 1 FROM policies WHERE id = ? AND tenant_id = ?";
    static const char upd[] = "UPDATE sites SET policy_id = ?, updated_at = ? "
                              "WHERE id = ? AND tenant_id = ?";
    int r;
    sqlite3_stmt *st = store_begin_stmt(s, pol, &c, &r);
    if (!st)
        return r;
    bind_text(st, 1, policy_id);
    bind_text(st, 2, tenant_id);
    r = store_step_row(c, st, NULL, NULL, NULL);
    if (r < 0) {
        *ret_bad = (size_t)-1; /* the policy itself */
        goto out_end_tx;
    }
    int64_t now = time_now();
    for (size_t i = 0; i < site_ids->n; i++) {
        st = store_stmt(c, upd);
        if (!st) {
            r = -EIO;
            goto out_end_tx;
        }
        bind_text(st, 1, policy_id);
        sqlite3_bind_int64(st, 2, now);
        bind_text(st, 3, site_ids->items[i]);
        bind_text(st, 4, tenant_id);
        r = store_step_done(c, st);
        if (r < 0)
            goto out_end_tx;
        if (sqlite3_changes(c->db) == 0) {
            *ret_bad = i;
            r = -ENOENT;
            goto out_end_tx;
        }
    }
out_end_tx:
    return store_end(c, r);
}

int sqlite_policy_adopted_sites(struct store *s, const char *policy_id, struct strlist *ret)
{
    static const char sql[] = "SELECT id FROM sites WHERE policy_id = ? AND adopted_at IS NOT "
                              "NULL ORDER BY created_at, rowid";
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    bind_text(st, 1, policy_id);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        strlist_add(ret, (const char *)sqlite3_column_text(st, 0));
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : store_map_rc(c, rc);
}

void store_policy_array_free(struct policy *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        policy_release(&a[i]);
    free(a);
}

int sqlite_policies_version(struct store *s, int64_t *ret)
{
    static const char sql[] = "SELECT version FROM change_versions WHERE kind = 'policies'";
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    return store_step_row(c, st, store_read_int64, NULL, ret);
}
