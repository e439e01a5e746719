/*
 * sqlite_nodes.c - the node registry (migration 0010, DESIGN.md §11) in the SQLite store.
 *
 * "The database clock" of the registry is the process clock here: a SQLite file has one
 * machine, whose processes share that clock.
 */
#include "sqlite_int.h"
#include "timefmt.h"

#include <errno.h>
#include <string.h>

#define NODE_COLUMNS                                                                               \
    "name, roles, region, entry_point, wg_endpoint, tunnel_pool, port_lo, port_hi, "               \
    "started_at_ms, heartbeat_at_ms, heartbeat_at_ms >= ?1 - ?2"

int sqlite_node_register(struct store *s, const struct store_node *n)
{
    static const char sql[] =
        "INSERT INTO nodes(name, roles, region, entry_point, wg_endpoint, tunnel_pool, port_lo, "
        "port_hi, started_at_ms, heartbeat_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9) "
        "ON CONFLICT(name) DO UPDATE SET roles = excluded.roles, region = excluded.region, "
        "entry_point = excluded.entry_point, wg_endpoint = excluded.wg_endpoint, "
        "tunnel_pool = excluded.tunnel_pool, port_lo = excluded.port_lo, "
        "port_hi = excluded.port_hi, started_at_ms = excluded.started_at_ms, "
        "heartbeat_at_ms = excluded.heartbeat_at_ms";
    if (!store_node_valid(n))
        return -EINVAL;
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    bind_text(st, 1, n->name);
    bind_text(st, 2, n->roles);
    bind_text(st, 3, n->region);
    bind_text(st, 4, n->entry_point);
    bind_text(st, 5, n->wg_endpoint);
    bind_text(st, 6, n->tunnel_pool);
    sqlite3_bind_int(st, 7, n->port_lo);
    sqlite3_bind_int(st, 8, n->port_hi);
    sqlite3_bind_int64(st, 9, time_now_ms());
    return store_step_done(c, st);
}

int sqlite_node_heartbeat(struct store *s, const char *name, int64_t *ret_now_ms)
{
    static const char sql[] = "UPDATE nodes SET heartbeat_at_ms = ?1 WHERE name = ?2";
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    int64_t now = time_now_ms();
    sqlite3_bind_int64(st, 1, now);
    bind_text(st, 2, name);
    int r = store_step_changed(c, st);
    if (r == 0 && ret_now_ms)
        *ret_now_ms = now;
    return r;
}

static int read_node(void *ctx, sqlite3_stmt *st, void *out)
{
    (void)ctx;
    struct store_node *n = out;
    memset(n, 0, sizeof *n);
    col_copy(st, 0, n->name, sizeof n->name);
    col_copy(st, 1, n->roles, sizeof n->roles);
    col_copy(st, 2, n->region, sizeof n->region);
    col_copy(st, 3, n->entry_point, sizeof n->entry_point);
    col_copy(st, 4, n->wg_endpoint, sizeof n->wg_endpoint);
    col_copy(st, 5, n->tunnel_pool, sizeof n->tunnel_pool);
    n->port_lo = sqlite3_column_int(st, 6);
    n->port_hi = sqlite3_column_int(st, 7);
    n->started_at_ms = sqlite3_column_int64(st, 8);
    n->heartbeat_at_ms = sqlite3_column_int64(st, 9);
    n->alive = sqlite3_column_int(st, 10) != 0;
    return 0;
}

int sqlite_node_list(struct store *s, int64_t dead_after_ms, struct store_node **ret, size_t *n)
{
    static const char sql[] = "SELECT " NODE_COLUMNS " FROM nodes ORDER BY name";
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, time_now_ms());
    sqlite3_bind_int64(st, 2, dead_after_ms);
    return store_collect(c, st, sizeof **ret, read_node, NULL, NULL, (void **)ret, n);
}

int sqlite_node_get(struct store *s, const char *name, int64_t dead_after_ms,
                    struct store_node *ret)
{
    static const char sql[] = "SELECT " NODE_COLUMNS " FROM nodes WHERE name = ?3";
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, time_now_ms());
    sqlite3_bind_int64(st, 2, dead_after_ms);
    bind_text(st, 3, name);
    return store_step_row(c, st, read_node, NULL, ret);
}
