/*
 * sqlite_edges.c - which edge node fronts a site, and grants following their site to another
 * edge (DESIGN.md §11, store.h "sites and their edges"), in the SQLite store.
 */
#include "rand.h"
#include "sqlite_int.h"

#include <errno.h>
#include <string.h>

int sqlite_site_set_edge(struct store *s, const char *site_id, const char *expected_edge,
                         const char *edge_node)
{
    /* `IS`: NULL expected matches an unbound site only */
    static const char sql[] = "UPDATE sites SET edge_node = ?1 WHERE id = ?2 AND edge_node IS ?3";
    static const char exists[] = "SELECT 1 FROM sites WHERE id = ?";
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    bind_text(st, 1, edge_node);
    bind_text(st, 2, site_id);
    bind_text(st, 3, expected_edge);
    int r = store_step_changed(c, st);
    if (r != -ENOENT)
        return r;
    st = store_prepare(s, exists, &c);
    if (!st)
        return -EIO;
    bind_text(st, 1, site_id);
    r = store_step_row(c, st, NULL, NULL, NULL);
    return r == 0 ? -ESTALE : r;
}

int sqlite_site_edge_prev(struct store *s, const char *site_id, const char *prev_edge,
                          int64_t wait_until_ms)
{
    static const char sql[] =
        "UPDATE sites SET edge_prev = ?1, edge_wait_until_ms = nullif(?3, 0) WHERE id = ?2";
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    bind_text(st, 1, prev_edge);
    bind_text(st, 2, site_id);
    sqlite3_bind_int64(st, 3, wait_until_ms);
    return store_step_changed(c, st);
}

/* Runs sql, an UPDATE of sites with ?1 = site_id and ?2 = edge_node. 0, -ENOENT (no row). */
static int site_edge_update(struct store *s, const char *sql, const char *site_id,
                            const char *edge_node)
{
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    bind_text(st, 1, site_id);
    bind_text(st, 2, edge_node);
    return store_step_changed(c, st);
}

int sqlite_site_edge_peer_ready(struct store *s, const char *site_id, const char *edge_node)
{
    return site_edge_update(s,
                            "UPDATE sites SET edge_wait_until_ms = NULL WHERE id = ?1 AND "
                            "edge_node = ?2 AND edge_wait_until_ms IS NOT NULL",
                            site_id, edge_node);
}

int sqlite_site_edge_settled(struct store *s, const char *site_id, const char *edge_node)
{
    return site_edge_update(s,
                            "UPDATE sites SET edge_prev = NULL WHERE id = ?1 AND edge_node = ?2 "
                            "AND edge_prev IS NOT NULL",
                            site_id, edge_node);
}

int sqlite_edge_site_count(struct store *s, const char *edge_node, long *ret)
{
    static const char sql[] =
        "SELECT count(*) FROM sites WHERE edge_node = ? AND status != 'deleting'";
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    bind_text(st, 1, edge_node);
    int n = 0;
    int r = store_step_row(c, st, store_read_int, NULL, &n);
    if (r == 0)
        *ret = n;
    return r;
}

int sqlite_edge_sites(struct store *s, const char *edge_node, int limit, struct strlist *ret)
{
    static const char sql[] = "SELECT id FROM sites WHERE edge_node = ? AND status != 'deleting' "
                              "ORDER BY created_at, rowid LIMIT ?";
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    bind_text(st, 1, edge_node);
    sqlite3_bind_int(st, 2, limit);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        strlist_add(ret, (const char *)sqlite3_column_text(st, 0));
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : store_map_rc(c, rc);
}

int sqlite_edge_adopt_orphans(struct store *s, const char *edge_node, int *ret_n)
{
    static const char sql[] = "UPDATE sites SET edge_node = ? WHERE edge_node IS NULL AND "
                              "tunnel_mode = 'managed' AND status != 'deleting'";
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    bind_text(st, 1, edge_node);
    int r = store_step_done(c, st);
    if (r == 0 && ret_n)
        *ret_n = sqlite3_changes(c->db);
    return r;
}

/* Moves the live grant to (entry_point, port) unless another live grant has that place. */
static int rebind_to(struct store_conn *c, const struct store_grant_rebind *b, int port)
{
    static const char sql[] =
        "UPDATE grants SET entry_point = ?1, port = ?2 WHERE id = ?3 AND torn_down_at IS NULL "
        "AND NOT EXISTS (SELECT 1 FROM grants o WHERE o.entry_point = ?1 AND o.port = ?2 AND "
        "o.torn_down_at IS NULL AND o.id != ?3)";
    sqlite3_stmt *st = store_stmt(c, sql);
    if (!st)
        return -EIO;
    bind_text(st, 1, b->entry_point);
    sqlite3_bind_int(st, 2, port);
    bind_text(st, 3, b->grant_id);
    int r = store_step_done(c, st);
    if (r < 0)
        return r == -EEXIST ? -EADDRINUSE : r;
    return sqlite3_changes(c->db) ? 0 : -EADDRINUSE;
}

int sqlite_grant_rebind(struct store *s, const struct store_grant_rebind *b, int *ret_port)
{
    static const char sql[] = "SELECT port, torn_down_at IS NOT NULL FROM grants WHERE id = ?";
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    bind_text(st, 1, b->grant_id);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(st);
        return rc == SQLITE_DONE ? -ENOENT : store_map_rc(c, rc);
    }
    int port = sqlite3_column_int(st, 0);
    bool gone = sqlite3_column_int(st, 1) != 0;
    sqlite3_reset(st);
    if (gone)
        return -EBUSY;
    int r = rebind_to(c, b, port);
    if (r != -EADDRINUSE || !b->any_port)
        goto out;
    r = -EADDRNOTAVAIL;
    for (int attempt = 0; attempt < 128 && r == -EADDRNOTAVAIL; attempt++) {
        port = (int)rand_range((uint32_t)b->port_lo, (uint32_t)b->port_hi);
        r = rebind_to(c, b, port);
        if (r == -EADDRINUSE)
            r = -EADDRNOTAVAIL;
    }
out:
    if (r == 0)
        *ret_port = port;
    return r;
}
