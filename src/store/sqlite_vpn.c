/*
 * sqlite_vpn.c - the Management VPN's rows: edge keypairs, the managed sites'
 * router keys and /32s (allocation from the pool), what the edge observes of
 * each peer, and the sites' tunnel events.
 */
#include "sqlite_int.h"
#include "timefmt.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sqlite_vpn_edge_ensure(struct store *s, const char *entry_point,
                           const struct store_vpn_edge *fresh, struct store_vpn_edge *ret)
{
    static const char ins[] = "INSERT OR IGNORE INTO vpn_edges(entry_point, private_key_sealed, "
                              "public_key, created_at) VALUES (?, ?, ?, ?)";
    static const char sel[] =
        "SELECT private_key_sealed, public_key FROM vpn_edges WHERE entry_point = ?";
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, ins, &c);
    if (!st)
        return -EIO;
    char *sealed = store_seal_text(s, fresh->private_key);
    bind_text(st, 1, entry_point);
    bind_text(st, 2, sealed);
    bind_text(st, 3, fresh->public_key);
    sqlite3_bind_int64(st, 4, time_now());
    int r = store_step_done(c, st);
    free(sealed);
    if (r < 0)
        return r;
    st = store_stmt(c, sel);
    if (!st)
        return -EIO;
    bind_text(st, 1, entry_point);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(st);
        return rc == SQLITE_DONE ? -ENOENT : -EIO;
    }
    char *priv = store_open_text(s, (const char *)sqlite3_column_text(st, 0));
    struct store_vpn_edge out;
    col_copy(st, 1, out.public_key, sizeof out.public_key);
    sqlite3_reset(st);
    if (!priv || strlen(priv) != TUNNEL_KEY_B64_LEN) {
        if (priv)
            sodium_memzero(priv, strlen(priv));
        free(priv);
        return -EBADMSG;
    }
    memcpy(out.private_key, priv, TUNNEL_KEY_B64_LEN + 1);
    sodium_memzero(priv, strlen(priv));
    free(priv);
    *ret = out;
    sodium_memzero(&out, sizeof out);
    return 0;
}

static int read_public(void *ctx, sqlite3_stmt *st, void *out)
{
    (void)ctx;
    col_copy(st, 0, out, TUNNEL_KEY_B64_LEN + 1);
    return 0;
}

int sqlite_vpn_edge_public(struct store *s, const char *entry_point,
                           char ret[TUNNEL_KEY_B64_LEN + 1])
{
    static const char sql[] = "SELECT public_key FROM vpn_edges WHERE entry_point = ?";
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    bind_text(st, 1, entry_point);
    return store_step_row(c, st, read_public, NULL, ret);
}

static int peer_row(void *ctx, sqlite3_stmt *st, void *elem)
{
    (void)ctx;
    struct store_vpn_peer *p = elem;
    col_copy(st, 0, p->site_id, sizeof p->site_id);
    col_copy(st, 1, p->public_key, sizeof p->public_key);
    col_copy(st, 2, p->address, sizeof p->address);
    col_copy(st, 3, p->endpoint, sizeof p->endpoint);
    const char *status = (const char *)sqlite3_column_text(st, 4);
    if (!status || tunnel_status_parse(status, &p->status) < 0)
        p->status = TUNNEL_PENDING;
    p->last_handshake_at = col_time(st, 5);
    col_copy(st, 6, p->next_key, sizeof p->next_key);
    p->next_handshake_at = col_time(st, 7);
    p->handover = sqlite3_column_int(st, 8) != 0;
    p->settling = sqlite3_column_int(st, 9) != 0;
    p->waiting = sqlite3_column_int(st, 10) != 0;
    return 0;
}

int sqlite_vpn_peers(struct store *s, const char *edge_node, struct store_vpn_peer **ret, size_t *n)
{
    static const char sql[] =
        "SELECT id, wg_public_key, tunnel_address, tunnel_endpoint, tunnel_status, "
        "tunnel_handshake_at, wg_next_public_key, tunnel_next_handshake_at, "
        "coalesce(edge_prev = ?1 AND edge_node IS NOT ?1, 0), "
        "coalesce(edge_node = ?1 AND edge_prev IS NOT NULL, 0), "
        "coalesce(edge_node = ?1 AND edge_wait_until_ms IS NOT NULL, 0) FROM sites WHERE "
        "tunnel_mode = 'managed' AND wg_public_key IS NOT "
        "NULL AND tunnel_ip IS NOT NULL AND status != 'deleting' AND (?1 IS NULL OR "
        "edge_node = ?1 OR edge_prev = ?1) ORDER BY tunnel_ip";
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    bind_text(st, 1, edge_node);
    return store_collect(c, st, sizeof **ret, peer_row, NULL, NULL, (void **)ret, n);
}

int sqlite_vpn_peer_observed(struct store *s, const char *site_id, const char *endpoint,
                             int64_t last_handshake_at, uint64_t rx, uint64_t tx,
                             enum tunnel_status status)
{
    static const char sql[] =
        "UPDATE sites SET tunnel_endpoint = coalesce(nullif(?1, ''), tunnel_endpoint), "
        "tunnel_handshake_at = coalesce(?2, tunnel_handshake_at), tunnel_rx = ?3, "
        "tunnel_tx = ?4, tunnel_status = ?5 WHERE id = ?6";
    /* a change of status up <-> down is a webhook event (tunnel.up / tunnel.down) */
    static const char was_sql[] = "SELECT tunnel_status FROM sites WHERE id = ?";
    int r;
    struct store_conn *c;
    sqlite3_stmt *st = store_begin_stmt(s, was_sql, &c, &r);
    if (!st)
        return r;
    bind_text(st, 1, site_id);
    char was[16] = "";
    if (sqlite3_step(st) == SQLITE_ROW)
        col_copy(st, 0, was, sizeof was);
    sqlite3_reset(st);
    st = store_stmt(c, sql);
    if (!st) {
        r = -EIO;
        goto out_end_tx;
    }
    bind_text(st, 1, endpoint);
    bind_time(st, 2, last_handshake_at);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)rx);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)tx);
    bind_text(st, 5, tunnel_status_name(status));
    bind_text(st, 6, site_id);
    r = store_step_done(c, st);
    enum tunnel_status before;
    bool changed = tunnel_status_parse(was, &before) < 0 || before != status;
    if (r == 0 && changed && (status == TUNNEL_UP || status == TUNNEL_DOWN))
        r = sqlite_webhook_emit(c, status == TUNNEL_UP ? WEBHOOK_TUNNEL_UP : WEBHOOK_TUNNEL_DOWN,
                                site_id, site_id, NULL);
out_end_tx:
    return store_end(c, r);
}

static int read_i64(void *ctx, sqlite3_stmt *st, void *out)
{
    (void)ctx;
    *(int64_t *)out = sqlite3_column_type(st, 0) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 0);
    return 0;
}

/* An address no site has, as text or as a number: the lowest above the highest in use. */
static int pick_address(struct store_conn *c, uint32_t first, uint32_t last, uint32_t *ret)
{
    static const char top[] = "SELECT max(tunnel_ip) FROM sites WHERE tunnel_ip BETWEEN ?1 AND ?2";
    static const char gap[] =
        "SELECT t.tunnel_ip + 1 FROM sites t WHERE t.tunnel_ip BETWEEN ?1 AND ?2 - 1 AND NOT "
        "EXISTS (SELECT 1 FROM sites u WHERE u.tunnel_ip = t.tunnel_ip + 1) ORDER BY 1 LIMIT 1";
    static const char used[] = "SELECT 1 FROM sites WHERE tunnel_address = ? OR tunnel_ip = ?";
    sqlite3_stmt *st = store_stmt(c, top);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, first);
    sqlite3_bind_int64(st, 2, last);
    int64_t max = -1;
    int r = store_step_row(c, st, read_i64, NULL, &max);
    if (r < 0)
        return r;
    int64_t cand = max < 0 ? (int64_t)first : max + 1;
    for (int tries = 0; tries < 256; tries++) {
        if (cand > (int64_t)last) { /* the top is taken: the first hole from the bottom */
            st = store_stmt(c, gap);
            if (!st)
                return -EIO;
            sqlite3_bind_int64(st, 1, first);
            sqlite3_bind_int64(st, 2, last);
            cand = -1;
            r = store_step_row(c, st, read_i64, NULL, &cand);
            if (r == -ENOENT || cand < 0)
                return -EADDRNOTAVAIL;
            if (r < 0)
                return r;
        }
        char text[16];
        tunnel_ip_format((uint32_t)cand, text);
        st = store_stmt(c, used);
        if (!st)
            return -EIO;
        bind_text(st, 1, text);
        sqlite3_bind_int64(st, 2, cand);
        r = store_step_row(c, st, NULL, NULL, NULL);
        if (r == -ENOENT) {
            *ret = (uint32_t)cand;
            return 0;
        }
        if (r < 0)
            return r;
        cand++; /* an external site typed it: the next one */
    }
    return -EADDRNOTAVAIL;
}

int sqlite_site_tunnel_assign(struct store *s, const char *site_id, const char *public_key,
                              uint32_t first, uint32_t last, char ret_address[16])
{
    static const char cur[] =
        "SELECT tunnel_ip FROM sites WHERE id = ? AND tunnel_mode = 'managed'";
    static const char exists[] = "SELECT 1 FROM sites WHERE id = ?";
    static const char set[] =
        "UPDATE sites SET tunnel_mode = 'managed', wg_public_key = ?1, tunnel_ip = ?2, "
        "tunnel_address = ?3, tunnel_status = CASE WHEN wg_public_key IS ?1 THEN tunnel_status "
        "ELSE 'pending' END, tunnel_handshake_at = CASE WHEN wg_public_key IS ?1 THEN "
        "tunnel_handshake_at END, updated_at = ?4 WHERE id = ?5";
    struct store_conn *c = store_conn(s);
    if (!c)
        return -EIO;
    int r = store_begin(c);
    if (r < 0)
        return r;
    sqlite3_stmt *st = store_stmt(c, exists);
    if (!st) {
        r = -EIO;
        goto out_end_tx;
    }
    bind_text(st, 1, site_id);
    r = store_step_row(c, st, NULL, NULL, NULL);
    if (r < 0)
        goto out_end_tx;
    st = store_stmt(c, cur);
    if (!st) {
        r = -EIO;
        goto out_end_tx;
    }
    bind_text(st, 1, site_id);
    int64_t have = -1;
    r = store_step_row(c, st, read_i64, NULL, &have);
    if (r < 0 && r != -ENOENT)
        goto out_end_tx;
    uint32_t ip;
    if (have >= (int64_t)first && have <= (int64_t)last) {
        ip = (uint32_t)have;
    } else {
        r = pick_address(c, first, last, &ip);
        if (r < 0)
            goto out_end_tx;
    }
    char text[16];
    tunnel_ip_format(ip, text);
    st = store_stmt(c, set);
    if (!st) {
        r = -EIO;
        goto out_end_tx;
    }
    bind_text(st, 1, public_key);
    sqlite3_bind_int64(st, 2, ip);
    bind_text(st, 3, text);
    sqlite3_bind_int64(st, 4, time_now());
    bind_text(st, 5, site_id);
    r = store_step_done(c, st);
    if (r == 0)
        snprintf(ret_address, 16, "%s", text);
out_end_tx:
    return store_end(c, r);
}

int sqlite_site_tunnel_mode(struct store *s, const char *tenant_id, const char *site_id,
                            enum tunnel_mode mode)
{
    static const char sql[] =
        "UPDATE sites SET tunnel_mode = ?1, tunnel_ip = CASE WHEN ?1 = 'managed' THEN tunnel_ip "
        "END, updated_at = ?2 WHERE id = ?3 AND tenant_id = ?4";
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    bind_text(st, 1, tunnel_mode_name(mode));
    sqlite3_bind_int64(st, 2, time_now());
    bind_text(st, 3, site_id);
    bind_text(st, 4, tenant_id);
    return store_step_changed(c, st);
}

int sqlite_site_event(struct store *s, const char *site_id, const char *kind, const char *message)
{
    static const char sql[] =
        "INSERT INTO site_events(site_id, at_ms, kind, message) VALUES (?, ?, ?, ?)";
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    bind_text(st, 1, site_id);
    sqlite3_bind_int64(st, 2, time_now_ms());
    bind_text(st, 3, kind);
    bind_text(st, 4, message ? message : "");
    return store_step_done(c, st);
}

int sqlite_tunnel_address_taken(struct store *s, const char *site_id, const char *other_tenant_of,
                                const char *addr, bool *ret_taken)
{
    static const char sql[] = "SELECT 1 FROM sites WHERE tunnel_address = ?1 AND (?2 IS NULL OR "
                              "id != ?2) AND (?3 IS NULL OR tenant_id != ?3)";
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    bind_text(st, 1, addr);
    bind_text(st, 2, site_id);
    bind_text(st, 3, other_tenant_of);
    int r = store_step_row(c, st, NULL, NULL, NULL);
    if (r == -ENOENT) {
        *ret_taken = false;
        return 0;
    }
    if (r == 0)
        *ret_taken = true;
    return r;
}

static int event_row(void *ctx, sqlite3_stmt *st, void *elem)
{
    (void)ctx;
    struct site_event *e = elem;
    e->at_ms = sqlite3_column_int64(st, 0);
    col_copy(st, 1, e->kind, sizeof e->kind);
    col_copy(st, 2, e->message, sizeof e->message);
    return 0;
}

int sqlite_site_events_list(struct store *s, const char *tenant_id, const char *site_id, int limit,
                            struct site_event **ret, size_t *n)
{
    static const char sql[] = "SELECT at_ms, kind, message FROM site_events WHERE site_id = ? "
                              "ORDER BY id DESC LIMIT ?";
    struct store_conn *c = store_conn(s);
    if (!c)
        return -EIO;
    int r = store_site_owned(c, tenant_id, site_id);
    if (r < 0)
        return r;
    sqlite3_stmt *st = store_stmt(c, sql);
    if (!st)
        return -EIO;
    bind_text(st, 1, site_id);
    sqlite3_bind_int(st, 2, limit);
    return store_collect(c, st, sizeof **ret, event_row, NULL, NULL, (void **)ret, n);
}

int sqlite_vpn_rekey_begin(struct store *s, const char *site_id, const char *next_key)
{
    static const char sql[] =
        "UPDATE sites SET wg_next_public_key = ?1, tunnel_next_handshake_at = NULL WHERE id = ?2 "
        "AND tunnel_mode = 'managed' AND wg_public_key IS NOT ?1 AND NOT EXISTS (SELECT 1 FROM "
        "sites o WHERE o.wg_public_key = ?1)";
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    bind_text(st, 1, next_key);
    bind_text(st, 2, site_id);
    int r = store_step_changed(c, st);
    if (r != -ENOENT)
        return r;
    /* nothing changed: no such managed site, or the key is in use */
    static const char chk[] = "SELECT 1 FROM sites WHERE id = ? AND tunnel_mode = 'managed'";
    st = store_stmt(c, chk);
    if (!st)
        return -EIO;
    bind_text(st, 1, site_id);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? -EEXIST : -ENOENT;
}

int sqlite_vpn_rekey_next_seen(struct store *s, const char *site_id, const char *next_key,
                               int64_t handshake_at)
{
    static const char sql[] = "UPDATE sites SET tunnel_next_handshake_at = ?1 WHERE id = ?2 AND "
                              "wg_next_public_key = ?3 AND tunnel_next_handshake_at IS NULL";
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, handshake_at);
    bind_text(st, 2, site_id);
    bind_text(st, 3, next_key);
    return store_step_done(c, st);
}

struct next_state {
    char *key;
    int64_t hs;
};

static int read_next(void *ctx, sqlite3_stmt *st, void *out)
{
    (void)ctx;
    struct next_state *n = out;
    col_copy(st, 0, n->key, TUNNEL_KEY_B64_LEN + 1);
    n->hs = col_time(st, 1);
    return 0;
}

int sqlite_vpn_rekey_next_state(struct store *s, const char *site_id,
                                char ret_key[TUNNEL_KEY_B64_LEN + 1], int64_t *ret_hs)
{
    static const char sql[] =
        "SELECT wg_next_public_key, tunnel_next_handshake_at FROM sites WHERE id = ?";
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    bind_text(st, 1, site_id);
    struct next_state n = {.key = ret_key, .hs = 0};
    int r = store_step_row(c, st, read_next, NULL, &n);
    if (r == 0)
        *ret_hs = n.hs;
    return r;
}

int sqlite_vpn_rekey_commit(struct store *s, const char *site_id, const char *next_key)
{
    static const char sql[] =
        "UPDATE sites SET wg_public_key = wg_next_public_key, tunnel_handshake_at = "
        "tunnel_next_handshake_at, wg_next_public_key = NULL, tunnel_next_handshake_at = NULL "
        "WHERE id = ?1 AND wg_next_public_key = ?2 AND tunnel_next_handshake_at IS NOT NULL";
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    bind_text(st, 1, site_id);
    bind_text(st, 2, next_key);
    int r = store_step_changed(c, st);
    return r == -ENOENT ? -ESTALE : r;
}

int sqlite_vpn_rekey_abort(struct store *s, const char *site_id, const char *next_key)
{
    static const char sql[] =
        "UPDATE sites SET wg_next_public_key = NULL, tunnel_next_handshake_at = NULL WHERE id = "
        "?1 AND wg_next_public_key = ?2";
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    bind_text(st, 1, site_id);
    bind_text(st, 2, next_key);
    return store_step_done(c, st);
}

int sqlite_vpn_rekey_rollback(struct store *s, const char *site_id, const char *old_key,
                              const char *next_key)
{
    static const char sql[] =
        "UPDATE sites SET wg_public_key = ?2, wg_next_public_key = ?3, tunnel_next_handshake_at "
        "= coalesce(tunnel_handshake_at, 1) WHERE id = ?1 AND wg_public_key = ?3";
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    bind_text(st, 1, site_id);
    bind_text(st, 2, old_key);
    bind_text(st, 3, next_key);
    return store_step_done(c, st);
}
