/*
 * sqlite_devices.c - onboarding state of sites: bootstrap and device tokens, facts,
 * heartbeats and the offline sweep.
 */
#include "alloc.h"
#include "sqlite_int.h"
#include "strlist.h"
#include "timefmt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int site_by(struct store *s, const char *sql, const void *blob, size_t blen,
                   const char *text, struct site *ret)
{
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    if (blob)
        sqlite3_bind_blob(st, 1, blob, (int)blen, SQLITE_TRANSIENT);
    else
        bind_text(st, 1, text);
    return store_step_row(c, st, store_site_row, s, ret);
}

int sqlite_site_by_bootstrap_token(struct store *s, const char *token, struct site *ret)
{
    static const char sql[] = "SELECT " SITE_COLUMNS " FROM sites WHERE bootstrap_token_hash = ? "
                              "AND bootstrap_used_at IS NULL";
    uint8_t h[APIKEY_HASH_LEN];
    api_key_hash(token, h);
    return site_by(s, sql, h, sizeof h, NULL, ret);
}

int sqlite_site_by_device_token(struct store *s, const char *token, struct site *ret)
{
    static const char sql[] = "SELECT " SITE_COLUMNS " FROM sites WHERE device_token_hash = ?";
    uint8_t h[APIKEY_HASH_LEN];
    api_key_hash(token, h);
    return site_by(s, sql, h, sizeof h, NULL, ret);
}

int sqlite_site_by_tunnel_peer(struct store *s, const char *addr, struct site *ret)
{
    static const char sql[] = "SELECT " SITE_COLUMNS " FROM sites WHERE tunnel_address = ? AND "
                              "tunnel_mode = 'managed' AND wg_public_key IS NOT NULL AND "
                              "tunnel_ip IS NOT NULL AND adopted_at IS NOT NULL";
    return site_by(s, sql, NULL, 0, addr, ret);
}

int sqlite_site_get_any(struct store *s, const char *site_id, struct site *ret)
{
    static const char sql[] = "SELECT " SITE_COLUMNS " FROM sites WHERE id = ?";
    return site_by(s, sql, NULL, 0, site_id, ret);
}

int sqlite_site_adopt(struct store *s, const char *site_id, const struct store_adoption *a)
{
    static const char sql[] =
        "UPDATE sites SET facts = ?1, identity = ?2, model = ?3, serial_number = ?4, "
        "software_version = ?5, tunnel_address = coalesce(?6, tunnel_address), "
        "device_token_hash = ?7, status = 'online', last_seen_at = ?8, adopted_at = ?8, "
        "configured_at = NULL, bootstrap_used_at = ?8, updated_at = ?8, verified_at = ?8 "
        "WHERE id = ?9 AND bootstrap_used_at IS NULL";
    struct store_conn *c;
    int r;
    sqlite3_stmt *st = store_begin_stmt(s, sql, &c, &r);
    if (!st)
        return r;
    uint8_t h[APIKEY_HASH_LEN];
    api_key_hash(a->device_token, h);
    bind_text(st, 1, a->facts);
    bind_text(st, 2, a->identity);
    bind_text(st, 3, a->model);
    bind_text(st, 4, a->serial);
    bind_text(st, 5, a->version);
    bind_text(st, 6, a->tunnel_address);
    sqlite3_bind_blob(st, 7, h, sizeof h, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 8, time_now());
    bind_text(st, 9, site_id);
    r = store_step_changed(c, st);
    if (r == 0) /* adopted: the site is online (webhook site.online) */
        r = sqlite_webhook_emit(c, WEBHOOK_SITE_ONLINE, site_id, site_id, NULL);
    return store_end(c, r);
}

int sqlite_site_new_bootstrap(struct store *s, const char *tenant_id, const char *site_id,
                              const char *token)
{
    static const char sql[] =
        "UPDATE sites SET bootstrap_token_sealed = ?1, bootstrap_token_hash = ?2, "
        "bootstrap_used_at = NULL, bootstrap_issued_at = ?3, updated_at = ?3 WHERE id = ?4 AND "
        "tenant_id = ?5 "
        "AND status != 'deleting'";
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    char *sealed = store_seal_text(s, token);
    uint8_t h[APIKEY_HASH_LEN];
    api_key_hash(token, h);
    bind_text(st, 1, sealed);
    sqlite3_bind_blob(st, 2, h, sizeof h, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, time_now());
    bind_text(st, 4, site_id);
    bind_text(st, 5, tenant_id);
    int r = store_step_changed(c, st);
    free(sealed);
    return r;
}

int sqlite_site_set_deleting(struct store *s, const char *tenant_id, const char *site_id)
{
    static const char sql[] = "UPDATE sites SET status = 'deleting', updated_at = ? "
                              "WHERE id = ? AND tenant_id = ?";
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, time_now());
    bind_text(st, 2, site_id);
    bind_text(st, 3, tenant_id);
    return store_step_changed(c, st);
}

/* The status a heartbeat finds and when the site was seen before it. */
struct seen_before {
    char status[24]; /* as stored */
    bool offline, online;
    bool comes_online; /* neither online nor being deleted: the heartbeat brings it online */
    int64_t last_seen_at;
};

static int seen_row(void *ctx, sqlite3_stmt *st, void *out)
{
    (void)ctx;
    struct seen_before *b = out;
    const char *status = (const char *)sqlite3_column_text(st, 0);
    snprintf(b->status, sizeof b->status, "%s", status ? status : "");
    b->offline = status && !strcmp(status, "offline");
    b->online = status && !strcmp(status, "online");
    b->comes_online = status && !b->online && strcmp(status, "deleting") != 0;
    b->last_seen_at = sqlite3_column_int64(st, 1);
    return 0;
}

/*
 * The read and the write are a compare-and-set on (status, last_seen_at): of two heartbeats at
 * once, or a heartbeat and the offline sweep, the loser reads again, so an interval of up time
 * is counted once and only while the site stayed online. One transaction with the up time and
 * the site.online webhook event (the outbox, migration 0015).
 */
int sqlite_site_heartbeat(struct store *s, const char *site_id, int64_t now)
{
    static const char q[] = "SELECT status, last_seen_at FROM sites WHERE id = ?";
    static const char sql[] =
        "UPDATE sites SET last_seen_at = ?1, configured_at = coalesce(configured_at, ?1), "
        "status = CASE status WHEN 'deleting' THEN 'deleting' ELSE 'online' END "
        "WHERE id = ?2 AND status = ?3 AND last_seen_at IS ?4";
    int r;
    struct store_conn *c;
    sqlite3_stmt *st = store_begin_stmt(s, q, &c, &r);
    if (!st)
        return r;
    struct seen_before b;
    for (int tries = 0;; tries++) {
        bind_text(st, 1, site_id);
        r = store_step_row(c, st, seen_row, NULL, &b);
        if (r < 0)
            goto out_end_tx;
        if (!(st = store_stmt(c, sql))) {
            r = -EIO;
            goto out_end_tx;
        }
        sqlite3_bind_int64(st, 1, now);
        bind_text(st, 2, site_id);
        bind_text(st, 3, b.status);
        if (b.last_seen_at)
            sqlite3_bind_int64(st, 4, b.last_seen_at);
        r = store_step_changed(c, st);
        if (r != -ENOENT || tries == 3)
            break;
        if (!(st = store_stmt(c, q))) {
            r = -EIO;
            goto out_end_tx;
        }
    }
    /* up since the last heartbeat when the site stayed online in between (0016_fleet.sql) */
    if (r == 0 && b.online && b.last_seen_at > 0 && now > b.last_seen_at)
        r = sqlite_uptime_add(c, site_id, b.last_seen_at, now);
    if (r == 0 && b.comes_online)
        r = sqlite_webhook_emit(c, WEBHOOK_SITE_ONLINE, site_id, site_id, NULL);
out_end_tx:
    r = store_end(c, r);
    return r < 0 ? r : b.offline;
}

int sqlite_sites_mark_offline(struct store *s, int64_t cutoff, int *ret_n)
{
    static const char which[] = "SELECT id FROM sites WHERE status = 'online' AND last_seen_at < ?";
    static const char sql[] = "UPDATE sites SET status = 'offline' WHERE id = ? AND "
                              "status = 'online'";
    int r;
    struct store_conn *c;
    sqlite3_stmt *st = store_begin_stmt(s, which, &c, &r);
    if (!st)
        return r;
    sqlite3_bind_int64(st, 1, cutoff);
    struct strlist ids = {0};
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        strlist_add(&ids, (const char *)sqlite3_column_text(st, 0));
    sqlite3_reset(st);
    r = rc == SQLITE_DONE ? 0 : store_map_rc(c, rc);
    int n = 0;
    for (size_t i = 0; r == 0 && i < ids.n; i++) {
        st = store_stmt(c, sql);
        if (!st) {
            r = -EIO;
            break;
        }
        bind_text(st, 1, ids.items[i]);
        r = store_step_done(c, st);
        if (r == 0 && sqlite3_changes(c->db)) {
            n++;
            r = sqlite_webhook_emit(c, WEBHOOK_SITE_OFFLINE, ids.items[i], ids.items[i], NULL);
        }
    }
    strlist_release(&ids);
    r = store_end(c, r);
    if (r == 0)
        *ret_n = n;
    return r;
}
