/*
 * pg_edges.c - which edge node fronts a site, and grants following their site to another
 * edge (DESIGN.md §11, store.h "sites and their edges"), in the PostgreSQL store.
 */
#include "pg_int.h"
#include "rand.h"

#include <errno.h>
#include <string.h>

int pg_site_set_edge(struct store *s, const char *site_id, const char *expected_edge,
                     const char *edge_node)
{
    /* IS NOT DISTINCT FROM: NULL expected matches an unbound site only */
    static const char sql[] =
        "UPDATE sites SET edge_node = ?1 WHERE id = ?2 AND edge_node IS NOT DISTINCT FROM ?3::text";
    static const char exists[] = "SELECT 1 FROM sites WHERE id = ?";
    struct pg_session *c;
    struct pg_stmt *st = pg_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    pg_bind_text(st, 1, edge_node);
    pg_bind_text(st, 2, site_id);
    pg_bind_text(st, 3, expected_edge);
    int r = pg_step_changed(c, st);
    if (r != -ENOENT)
        return r;
    st = pg_prepare(s, exists, &c);
    if (!st)
        return -EIO;
    pg_bind_text(st, 1, site_id);
    r = pg_step_row(c, st, NULL, NULL, NULL);
    return r == 0 ? -ESTALE : r;
}

int pg_site_edge_prev(struct store *s, const char *site_id, const char *prev_edge,
                      int64_t wait_until_ms)
{
    static const char sql[] =
        "UPDATE sites SET edge_prev = ?1, edge_wait_until_ms = nullif(?3::bigint, 0) WHERE id = ?2";
    struct pg_session *c;
    struct pg_stmt *st = pg_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    pg_bind_text(st, 1, prev_edge);
    pg_bind_text(st, 2, site_id);
    pg_bind_int64(st, 3, wait_until_ms);
    int r = pg_step_changed(c, st);
    if (r == 0 && wait_until_ms)
        pg_notify(c, STORE_WAKE_TUNNELS); /* the new edge's VPN role adds the peer now */
    return r;
}

/* Runs sql, an UPDATE of sites with ?1 = site_id and ?2 = edge_node. 0, -ENOENT (no row). */
static int site_edge_update(struct store *s, const char *sql, const char *site_id,
                            const char *edge_node)
{
    struct pg_session *c;
    struct pg_stmt *st = pg_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    pg_bind_text(st, 1, site_id);
    pg_bind_text(st, 2, edge_node);
    return pg_step_changed(c, st);
}

int pg_site_edge_peer_ready(struct store *s, const char *site_id, const char *edge_node)
{
    return site_edge_update(s,
                            "UPDATE sites SET edge_wait_until_ms = NULL WHERE id = ?1 AND "
                            "edge_node = ?2 AND edge_wait_until_ms IS NOT NULL",
                            site_id, edge_node);
}

int pg_site_edge_settled(struct store *s, const char *site_id, const char *edge_node)
{
    return site_edge_update(s,
                            "UPDATE sites SET edge_prev = NULL WHERE id = ?1 AND edge_node = ?2 "
                            "AND edge_prev IS NOT NULL",
                            site_id, edge_node);
}

int pg_edge_site_count(struct store *s, const char *edge_node, long *ret)
{
    static const char sql[] =
        "SELECT count(*) FROM sites WHERE edge_node = ? AND status != 'deleting'";
    struct pg_session *c;
    struct pg_stmt *st = pg_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    pg_bind_text(st, 1, edge_node);
    int n = 0;
    int r = pg_step_row(c, st, pg_read_int, NULL, &n);
    if (r == 0)
        *ret = n;
    return r;
}

int pg_edge_sites(struct store *s, const char *edge_node, int limit, struct strlist *ret)
{
    static const char sql[] = "SELECT id FROM sites WHERE edge_node = ? AND status != 'deleting' "
                              "ORDER BY created_at, rowid LIMIT ?";
    struct pg_session *c;
    struct pg_stmt *st = pg_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    pg_bind_text(st, 1, edge_node);
    pg_bind_int(st, 2, limit);
    int rc;
    while ((rc = pg_step(st)) == PG_ROW)
        strlist_add(ret, (const char *)pg_column_text(st, 0));
    pg_reset(st);
    return rc == PG_DONE ? 0 : pg_map_rc(c, rc);
}

int pg_edge_adopt_orphans(struct store *s, const char *edge_node, int *ret_n)
{
    static const char sql[] = "UPDATE sites SET edge_node = ? WHERE edge_node IS NULL AND "
                              "tunnel_mode = 'managed' AND status != 'deleting'";
    struct pg_session *c;
    struct pg_stmt *st = pg_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    pg_bind_text(st, 1, edge_node);
    int r = pg_step_done(c, st);
    if (r == 0 && ret_n)
        *ret_n = pg_changes(c);
    return r;
}

/* Moves the live grant to (entry_point, port) unless another live grant has that place. */
static int rebind_to(struct pg_session *c, const struct store_grant_rebind *b, int port)
{
    static const char sql[] =
        "UPDATE grants SET entry_point = ?1, port = ?2 WHERE id = ?3 AND torn_down_at IS NULL "
        "AND NOT EXISTS (SELECT 1 FROM grants o WHERE o.entry_point = ?1 AND o.port = ?2 AND "
        "o.torn_down_at IS NULL AND o.id != ?3)";
    struct pg_stmt *st = pg_stmt(c, sql);
    if (!st)
        return -EIO;
    pg_bind_text(st, 1, b->entry_point);
    pg_bind_int(st, 2, port);
    pg_bind_text(st, 3, b->grant_id);
    int r = pg_step_done(c, st);
    if (r < 0)
        return r == -EEXIST ? -EADDRINUSE : r;
    return pg_changes(c) ? 0 : -EADDRINUSE;
}

int pg_grant_rebind(struct store *s, const struct store_grant_rebind *b, int *ret_port)
{
    static const char sql[] = "SELECT port, torn_down_at IS NOT NULL FROM grants WHERE id = ?";
    struct pg_session *c;
    struct pg_stmt *st = pg_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    pg_bind_text(st, 1, b->grant_id);
    int rc = pg_step(st);
    if (rc != PG_ROW) {
        pg_reset(st);
        return rc == PG_DONE ? -ENOENT : pg_map_rc(c, rc);
    }
    int port = pg_column_int(st, 0);
    bool gone = pg_column_int(st, 1) != 0;
    pg_reset(st);
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
