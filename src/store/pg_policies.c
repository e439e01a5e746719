/*
 * pg_policies.c - policies and their services in the PostgreSQL store.
 */
#include "alloc.h"
#include "pg_int.h"
#include "timefmt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int write_services(struct pg_session *c, const struct policy *p)
{
    static const char del[] = "DELETE FROM policy_services WHERE policy_id = ?";
    static const char ins[] = "INSERT INTO policy_services(policy_id, service, enabled, port, "
                              "networks) VALUES (?, ?, ?, ?, ?)";
    struct pg_stmt *st = pg_stmt(c, del);
    if (!st)
        return -EIO;
    pg_bind_text(st, 1, p->id);
    int r = pg_step_done(c, st);
    if (r < 0)
        return r;
    for (int i = 0; i < SVC_COUNT; i++) {
        st = pg_stmt(c, ins);
        if (!st)
            return -EIO;
        char *nets = strlist_join(&p->svc[i].networks, ',');
        pg_bind_text(st, 1, p->id);
        pg_bind_int(st, 2, i);
        pg_bind_int(st, 3, p->svc[i].enabled);
        pg_bind_int(st, 4, p->svc[i].port);
        pg_bind_text(st, 5, nets);
        r = pg_step_done(c, st);
        free(nets);
        if (r < 0)
            return r;
    }
    return 0;
}

int pg_policy_insert_conn(struct pg_session *c, const struct policy *p)
{
    static const char sql[] =
        "INSERT INTO policies(id, tenant_id, name, slug, is_default, custom_input_rules, "
        "trusted_networks, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
    struct pg_stmt *st = pg_stmt(c, sql);
    if (!st)
        return -EIO;
    char *trusted = strlist_join(&p->trusted_networks, ',');
    pg_bind_text(st, 1, p->id);
    pg_bind_text(st, 2, p->tenant_id);
    pg_bind_text(st, 3, p->name);
    pg_bind_text(st, 4, p->slug);
    pg_bind_int(st, 5, p->is_default);
    pg_bind_int(st, 6, p->custom_input_rules);
    pg_bind_text(st, 7, trusted);
    pg_bind_int64(st, 8, p->created_at);
    pg_bind_int64(st, 9, p->updated_at);
    int r = pg_step_done(c, st);
    free(trusted);
    if (r < 0)
        return r;
    return write_services(c, p);
}

int pg_policy_insert(struct store *s, const struct policy *p)
{
    struct pg_session *c = pg_session(s);
    if (!c)
        return -EIO;
    int r = pg_begin(c);
    if (r < 0)
        return r;
    return pg_end(c, pg_policy_insert_conn(c, p));
}

#define POLICY_COLUMNS                                                                             \
    "id, tenant_id, name, slug, is_default, custom_input_rules, trusted_networks, created_at, "    \
    "updated_at"

static int policy_row(void *ctx, struct pg_stmt *st, void *elem)
{
    (void)ctx;
    struct policy *p = elem;
    memset(p, 0, sizeof *p);
    pg_col_copy(st, 0, p->id, sizeof p->id);
    pg_col_copy(st, 1, p->tenant_id, sizeof p->tenant_id);
    p->name = pg_col_strdup(st, 2);
    p->slug = pg_col_strdup(st, 3);
    p->is_default = pg_column_int(st, 4) != 0;
    p->custom_input_rules = pg_column_int(st, 5) != 0;
    strlist_split(&p->trusted_networks, (const char *)pg_column_text(st, 6), ',');
    p->created_at = pg_col_time(st, 7);
    p->updated_at = pg_col_time(st, 8);
    return 0;
}

static int read_services(struct pg_session *c, struct policy *p)
{
    static const char sql[] =
        "SELECT service, enabled, port, networks FROM policy_services WHERE policy_id = ?";
    struct pg_stmt *st = pg_stmt(c, sql);
    if (!st)
        return -EIO;
    pg_bind_text(st, 1, p->id);
    int rc;
    while ((rc = pg_step(st)) == PG_ROW) {
        int i = pg_column_int(st, 0);
        if (i < 0 || i >= SVC_COUNT)
            continue;
        p->svc[i].enabled = pg_column_int(st, 1) != 0;
        p->svc[i].port = pg_column_int(st, 2);
        strlist_split(&p->svc[i].networks, (const char *)pg_column_text(st, 3), ',');
    }
    pg_reset(st);
    return rc == PG_DONE ? 0 : pg_map_rc(c, rc);
}

static int read_site_ids(struct pg_session *c, struct policy *p)
{
    static const char sql[] = "SELECT id FROM sites WHERE policy_id = ? ORDER BY created_at, rowid";
    struct pg_stmt *st = pg_stmt(c, sql);
    if (!st)
        return -EIO;
    pg_bind_text(st, 1, p->id);
    int rc;
    while ((rc = pg_step(st)) == PG_ROW)
        strlist_add(&p->sites, (const char *)pg_column_text(st, 0));
    pg_reset(st);
    return rc == PG_DONE ? 0 : pg_map_rc(c, rc);
}

/*
 * A policy with its services in one statement (a row per service, the policy's columns on
 * each): one round trip, and one statement is one snapshot, so no read transaction (BEGIN,
 * COMMIT) is needed. The hot read of the API (GET policy) on PostgreSQL, issue 11.
 */
static int get_policy_joined(struct pg_session *c, const char *tenant_id, const char *id,
                             struct policy *ret)
{
    static const char sql[] =
        "SELECT p.id, p.tenant_id, p.name, p.slug, p.is_default, p.custom_input_rules, "
        "p.trusted_networks, p.created_at, p.updated_at, s.service, s.enabled, s.port, "
        "s.networks FROM policies p LEFT JOIN policy_services s ON s.policy_id = p.id "
        "WHERE p.id = ?1 AND p.tenant_id = ?2";
    struct pg_stmt *st = pg_stmt(c, sql);
    if (!st)
        return -EIO;
    pg_bind_text(st, 1, id);
    pg_bind_text(st, 2, tenant_id);
    int rc, rows = 0;
    while ((rc = pg_step(st)) == PG_ROW) {
        if (rows++ == 0)
            policy_row(NULL, st, ret);
        if (!pg_column_text(st, 9))
            continue; /* a policy without services (LEFT JOIN) */
        int i = pg_column_int(st, 9);
        if (i < 0 || i >= SVC_COUNT)
            continue;
        ret->svc[i].enabled = pg_column_int(st, 10) != 0;
        ret->svc[i].port = pg_column_int(st, 11);
        strlist_split(&ret->svc[i].networks, (const char *)pg_column_text(st, 12), ',');
    }
    pg_reset(st);
    int r = rc == PG_DONE ? (rows ? 0 : -ENOENT) : pg_map_rc(c, rc);
    if (r < 0 && rows)
        policy_release(ret);
    return r;
}

static int get_policy_conn(struct pg_session *c, const char *tenant_id, const char *id,
                           int with_sites, struct policy *ret)
{
    if (id && !with_sites)
        return get_policy_joined(c, tenant_id, id, ret);
    static const char sql[] =
        "SELECT " POLICY_COLUMNS " FROM policies WHERE id = ? AND tenant_id = ?";
    static const char sql_default[] =
        "SELECT " POLICY_COLUMNS " FROM policies WHERE tenant_id = ? AND is_default = 1";
    bool began = pg_read_begin(c);
    struct pg_stmt *st = pg_stmt(c, id ? sql : sql_default);
    if (!st) {
        pg_read_end(c, began);
        return -EIO;
    }
    if (id) {
        pg_bind_text(st, 1, id);
        pg_bind_text(st, 2, tenant_id);
    } else {
        pg_bind_text(st, 1, tenant_id);
    }
    int r = pg_step_row(c, st, policy_row, NULL, ret);
    if (r < 0) {
        pg_read_end(c, began);
        return r;
    }
    r = read_services(c, ret);
    if (r == 0 && with_sites)
        r = read_site_ids(c, ret);
    pg_read_end(c, began);
    if (r < 0)
        policy_release(ret);
    return r;
}

int pg_policy_get(struct store *s, const char *tenant_id, const char *id, int with_sites,
                  struct policy *ret)
{
    struct pg_session *c = pg_session(s);
    if (!c)
        return -EIO;
    return get_policy_conn(c, tenant_id, id, with_sites, ret);
}

int pg_policy_get_default(struct store *s, const char *tenant_id, struct policy *ret)
{
    struct pg_session *c = pg_session(s);
    if (!c)
        return -EIO;
    return get_policy_conn(c, tenant_id, NULL, 0, ret);
}

static void policy_release_elem(void *elem)
{
    policy_release(elem);
}

int pg_policy_list(struct store *s, const char *tenant_id, const struct store_page *page,
                   struct policy **ret, size_t *n)
{
    static const char sql[] =
        "SELECT " POLICY_COLUMNS " FROM policies WHERE tenant_id = ?1 AND (?2::text IS NULL OR "
        "(created_at, rowid) > (SELECT p.created_at, p.rowid FROM policies p WHERE p.id = ?2)) "
        "ORDER BY created_at, rowid LIMIT ?3";
    struct pg_session *c;
    int r;
    struct pg_stmt *st = pg_tenant_page_stmt(s, sql, STORE_LIST_POLICIES, tenant_id, page, &c, &r);
    if (!st)
        return r;
    struct policy *a = NULL;
    size_t cnt = 0;
    r = pg_collect(c, st, sizeof *a, policy_row, NULL, policy_release_elem, (void **)&a, &cnt);
    for (size_t i = 0; r == 0 && i < cnt; i++)
        r = read_services(c, &a[i]);
    if (r < 0) {
        store_policy_array_free(a, cnt);
        return r;
    }
    *ret = a;
    *n = cnt;
    return 0;
}

int pg_policy_update(struct store *s, const struct policy *p)
{
    struct pg_session *c;
    static const char sql[] =
        "UPDATE policies SET name = ?, custom_input_rules = ?, trusted_networks = ?, "
        "updated_at = ? WHERE id = ? AND tenant_id = ?";
    int r;
    struct pg_stmt *st = pg_begin_stmt(s, sql, &c, &r);
    if (!st)
        return r;
    char *trusted = strlist_join(&p->trusted_networks, ',');
    pg_bind_text(st, 1, p->name);
    pg_bind_int(st, 2, p->custom_input_rules);
    pg_bind_text(st, 3, trusted);
    pg_bind_int64(st, 4, p->updated_at);
    pg_bind_text(st, 5, p->id);
    pg_bind_text(st, 6, p->tenant_id);
    r = pg_step_done(c, st);
    free(trusted);
    if (r < 0)
        goto out_end_tx;
    if (pg_changes(c) == 0) {
        r = -ENOENT;
        goto out_end_tx;
    }
    r = write_services(c, p);
out_end_tx:
    return pg_end(c, r);
}

int pg_policy_delete(struct store *s, const char *tenant_id, const char *id)
{
    struct pg_session *c;
    static const char q[] =
        "SELECT is_default FROM policies WHERE id = ? AND tenant_id = ? FOR UPDATE";
    static const char move[] =
        "UPDATE sites SET policy_id = (SELECT id FROM policies WHERE tenant_id = ?1 AND "
        "is_default = 1), updated_at = ?3 WHERE policy_id = ?2 AND tenant_id = ?1";
    static const char del[] = "DELETE FROM policies WHERE id = ? AND tenant_id = ?";
    int r;
    struct pg_stmt *st = pg_begin_stmt(s, q, &c, &r);
    if (!st)
        return r;
    pg_bind_text(st, 1, id);
    pg_bind_text(st, 2, tenant_id);
    int is_default;
    r = pg_step_row(c, st, pg_read_int, NULL, &is_default);
    if (r < 0)
        goto out_end_tx;
    if (is_default) {
        r = -EPERM;
        goto out_end_tx;
    }
    st = pg_stmt(c, move);
    if (!st) {
        r = -EIO;
        goto out_end_tx;
    }
    pg_bind_text(st, 1, tenant_id);
    pg_bind_text(st, 2, id);
    pg_bind_int64(st, 3, time_now());
    r = pg_step_done(c, st);
    if (r < 0)
        goto out_end_tx;
    st = pg_stmt(c, del);
    if (!st) {
        r = -EIO;
        goto out_end_tx;
    }
    pg_bind_text(st, 1, id);
    pg_bind_text(st, 2, tenant_id);
    r = pg_step_done(c, st);
out_end_tx:
    return pg_end(c, r);
}

int pg_policy_attach_sites(struct store *s, const char *tenant_id, const char *policy_id,
                           const struct strlist *site_ids, size_t *ret_bad)
{
    struct pg_session *c;
    static const char pol[] = "SELECT 1 FROM policies WHERE id = ? AND tenant_id = ? FOR SHARE";
    static const char upd[] = "UPDATE sites SET policy_id = ?, updated_at = ? "
                              "WHERE id = ? AND tenant_id = ?";
    int r;
    struct pg_stmt *st = pg_begin_stmt(s, pol, &c, &r);
    if (!st)
        return r;
    pg_bind_text(st, 1, policy_id);
    pg_bind_text(st, 2, tenant_id);
    r = pg_step_row(c, st, NULL, NULL, NULL);
    if (r < 0) {
        *ret_bad = (size_t)-1; /* the policy itself */
        goto out_end_tx;
    }
    int64_t now = time_now();
    for (size_t i = 0; i < site_ids->n; i++) {
        st = pg_stmt(c, upd);
        if (!st) {
            r = -EIO;
            goto out_end_tx;
        }
        pg_bind_text(st, 1, policy_id);
        pg_bind_int64(st, 2, now);
        pg_bind_text(st, 3, site_ids->items[i]);
        pg_bind_text(st, 4, tenant_id);
        r = pg_step_done(c, st);
        if (r < 0)
            goto out_end_tx;
        if (pg_changes(c) == 0) {
            *ret_bad = i;
            r = -ENOENT;
            goto out_end_tx;
        }
    }
out_end_tx:
    return pg_end(c, r);
}

int pg_policy_adopted_sites(struct store *s, const char *policy_id, struct strlist *ret)
{
    static const char sql[] = "SELECT id FROM sites WHERE policy_id = ? AND adopted_at IS NOT "
                              "NULL ORDER BY created_at, rowid";
    struct pg_session *c;
    struct pg_stmt *st = pg_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    pg_bind_text(st, 1, policy_id);
    int rc;
    while ((rc = pg_step(st)) == PG_ROW)
        strlist_add(ret, (const char *)pg_column_text(st, 0));
    pg_reset(st);
    return rc == PG_DONE ? 0 : pg_map_rc(c, rc);
}

/* From the versions watcher when it is current (pg_versions.c), else from the database. */
int pg_policies_version(struct store *s, int64_t *ret)
{
    static const char sql[] = PG_POLICIES_VERSION_SQL;
    if (pg_versions_policies(pg_store_of(s), ret) == 0)
        return 0;
    struct pg_session *c;
    struct pg_stmt *st = pg_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    return pg_step_row(c, st, pg_read_int64, NULL, ret);
}
