/*
 * pg_nodes.c - the node registry (migration 0010, DESIGN.md §11) in the PostgreSQL store.
 *
 * The registry's clock is the database's (PG_DB_NOW_MS, now(), the transaction's start), so
 * nodes on machines whose clocks differ agree on who is alive.
 */
#include "pg_int.h"

#include <errno.h>
#include <string.h>

#define NODE_COLUMNS                                                                               \
    "name, roles, region, entry_point, wg_endpoint, tunnel_pool, port_lo, port_hi, "               \
    "started_at_ms, heartbeat_at_ms, heartbeat_at_ms >= " PG_DB_NOW_MS " - ?1::bigint"

int pg_node_register(struct store *s, const struct store_node *n)
{
    static const char sql[] =
        "INSERT INTO nodes(name, roles, region, entry_point, wg_endpoint, tunnel_pool, port_lo, "
        "port_hi, started_at_ms, heartbeat_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
        "?8, " PG_DB_NOW_MS ", " PG_DB_NOW_MS ") "
        "ON CONFLICT(name) DO UPDATE SET roles = excluded.roles, region = excluded.region, "
        "entry_point = excluded.entry_point, wg_endpoint = excluded.wg_endpoint, "
        "tunnel_pool = excluded.tunnel_pool, port_lo = excluded.port_lo, "
        "port_hi = excluded.port_hi, started_at_ms = excluded.started_at_ms, "
        "heartbeat_at_ms = excluded.heartbeat_at_ms";
    if (!store_node_valid(n))
        return -EINVAL;
    struct pg_session *c;
    struct pg_stmt *st = pg_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    pg_bind_text(st, 1, n->name);
    pg_bind_text(st, 2, n->roles);
    pg_bind_text(st, 3, n->region);
    pg_bind_text(st, 4, n->entry_point);
    pg_bind_text(st, 5, n->wg_endpoint);
    pg_bind_text(st, 6, n->tunnel_pool);
    pg_bind_int(st, 7, n->port_lo);
    pg_bind_int(st, 8, n->port_hi);
    return pg_step_done(c, st);
}

static int read_ms(void *ctx, struct pg_stmt *st, void *out)
{
    (void)ctx;
    *(int64_t *)out = pg_column_int64(st, 0);
    return 0;
}

int pg_node_heartbeat(struct store *s, const char *name, int64_t *ret_now_ms)
{
    static const char sql[] = "UPDATE nodes SET heartbeat_at_ms = " PG_DB_NOW_MS
                              " WHERE name = ?1 RETURNING heartbeat_at_ms";
    struct pg_session *c;
    struct pg_stmt *st = pg_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    pg_bind_text(st, 1, name);
    int64_t now = 0;
    int r = pg_step_row(c, st, read_ms, NULL, &now);
    if (r == 0 && ret_now_ms)
        *ret_now_ms = now;
    return r;
}

static int read_node(void *ctx, struct pg_stmt *st, void *out)
{
    (void)ctx;
    struct store_node *n = out;
    memset(n, 0, sizeof *n);
    pg_col_copy(st, 0, n->name, sizeof n->name);
    pg_col_copy(st, 1, n->roles, sizeof n->roles);
    pg_col_copy(st, 2, n->region, sizeof n->region);
    pg_col_copy(st, 3, n->entry_point, sizeof n->entry_point);
    pg_col_copy(st, 4, n->wg_endpoint, sizeof n->wg_endpoint);
    pg_col_copy(st, 5, n->tunnel_pool, sizeof n->tunnel_pool);
    n->port_lo = pg_column_int(st, 6);
    n->port_hi = pg_column_int(st, 7);
    n->started_at_ms = pg_column_int64(st, 8);
    n->heartbeat_at_ms = pg_column_int64(st, 9);
    n->alive = pg_column_int(st, 10) != 0;
    return 0;
}

int pg_node_list(struct store *s, int64_t dead_after_ms, struct store_node **ret, size_t *n)
{
    static const char sql[] = "SELECT " NODE_COLUMNS " FROM nodes ORDER BY name";
    struct pg_session *c;
    struct pg_stmt *st = pg_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    pg_bind_int64(st, 1, dead_after_ms);
    return pg_collect(c, st, sizeof **ret, read_node, NULL, NULL, (void **)ret, n);
}

int pg_node_get(struct store *s, const char *name, int64_t dead_after_ms, struct store_node *ret)
{
    static const char sql[] = "SELECT " NODE_COLUMNS " FROM nodes WHERE name = ?2";
    struct pg_session *c;
    struct pg_stmt *st = pg_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    pg_bind_int64(st, 1, dead_after_ms);
    pg_bind_text(st, 2, name);
    return pg_step_row(c, st, read_node, NULL, ret);
}
