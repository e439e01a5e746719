/*
 * devices.c - onboarding state of sites: bootstrap and device tokens, facts,
 * heartbeats and the offline sweep; the job-URL MAC.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "store_int.h"
#include "timefmt.h"


static int site_by(struct store *s, const char *sql, const void *blob, size_t blen,
                   const char *text, struct site *ret)
{
    struct store_conn *c = store_conn(s);
    sqlite3_stmt *st = c ? store_stmt(c, sql) : NULL;
    if (!st)
        return -EIO;
    if (blob)
        sqlite3_bind_blob(st, 1, blob, (int)blen, SQLITE_TRANSIENT);
    else
        bind_text(st, 1, text);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        store_read_site(s, st, ret);
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return 0;
    return rc == SQLITE_DONE ? -ENOENT : store_map_rc(c, rc);
}

int store_site_by_bootstrap_token(struct store *s, const char *token, struct site *ret)
{
    static const char sql[] = "SELECT " SITE_COLUMNS " FROM sites WHERE bootstrap_token_hash = ? "
                              "AND bootstrap_used_at IS NULL";
    uint8_t h[APIKEY_HASH_LEN];
    api_key_hash(token, h);
    return site_by(s, sql, h, sizeof h, NULL, ret);
}

int store_site_by_device_token(struct store *s, const char *token, struct site *ret)
{
    static const char sql[] = "SELECT " SITE_COLUMNS " FROM sites WHERE device_token_hash = ?";
    uint8_t h[APIKEY_HASH_LEN];
    api_key_hash(token, h);
    return site_by(s, sql, h, sizeof h, NULL, ret);
}

int store_site_get_any(struct store *s, const char *site_id, struct site *ret)
{
    static const char sql[] = "SELECT " SITE_COLUMNS " FROM sites WHERE id = ?";
    return site_by(s, sql, NULL, 0, site_id, ret);
}

int store_site_adopt(struct store *s, const char *site_id, const char *facts, const char *identity,
                     const char *model, const char *serial, const char *version,
                     const char *tunnel_address, const char *device_token)
{
    struct store_conn *c = store_conn(s);
    static const char sql[] =
        "UPDATE sites SET facts = ?1, identity = ?2, model = ?3, serial_number = ?4, "
        "software_version = ?5, tunnel_address = coalesce(?6, tunnel_address), "
        "device_token_hash = ?7, status = 'online', last_seen_at = ?8, adopted_at = ?8, "
        "bootstrap_used_at = ?8, updated_at = ?8 WHERE id = ?9 AND bootstrap_used_at IS NULL";
    sqlite3_stmt *st = c ? store_stmt(c, sql) : NULL;
    if (!st)
        return -EIO;
    uint8_t h[APIKEY_HASH_LEN];
    api_key_hash(device_token, h);
    bind_text(st, 1, facts);
    bind_text(st, 2, identity);
    bind_text(st, 3, model);
    bind_text(st, 4, serial);
    bind_text(st, 5, version);
    bind_text(st, 6, tunnel_address);
    sqlite3_bind_blob(st, 7, h, sizeof h, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 8, time_now());
    bind_text(st, 9, site_id);
    int r = store_step_done(c, st);
    if (r < 0)
        return r;
    return sqlite3_changes(c->db) ? 0 : -ENOENT;
}

int store_site_new_bootstrap(struct store *s, const char *tenant_id, const char *site_id,
                             const char *token)
{
    struct store_conn *c = store_conn(s);
    static const char sql[] =
        "UPDATE sites SET bootstrap_token_sealed = ?1, bootstrap_token_hash = ?2, "
        "bootstrap_used_at = NULL, updated_at = ?3 WHERE id = ?4 AND tenant_id = ?5 "
        "AND status != 'deleting'";
    sqlite3_stmt *st = c ? store_stmt(c, sql) : NULL;
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

int store_site_set_deleting(struct store *s, const char *tenant_id, const char *site_id)
{
    struct store_conn *c = store_conn(s);
    static const char sql[] = "UPDATE sites SET status = 'deleting', updated_at = ? "
                              "WHERE id = ? AND tenant_id = ?";
    sqlite3_stmt *st = c ? store_stmt(c, sql) : NULL;
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, time_now());
    bind_text(st, 2, site_id);
    bind_text(st, 3, tenant_id);
    return store_step_changed(c, st);
}

int store_site_heartbeat(struct store *s, const char *site_id, int64_t now)
{
    struct store_conn *c = store_conn(s);
    static const char q[] = "SELECT status FROM sites WHERE id = ?";
    static const char sql[] = "UPDATE sites SET last_seen_at = ?, status = CASE status WHEN "
                              "'deleting' THEN 'deleting' ELSE 'online' END WHERE id = ?";
    sqlite3_stmt *st = c ? store_stmt(c, q) : NULL;
    if (!st)
        return -EIO;
    bind_text(st, 1, site_id);
    int rc = sqlite3_step(st);
    int was_offline = rc == SQLITE_ROW &&
                      !strcmp((const char *)sqlite3_column_text(st, 0), "offline");
    sqlite3_reset(st);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE ? -ENOENT : store_map_rc(c, rc);
    st = store_stmt(c, sql);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, now);
    bind_text(st, 2, site_id);
    int r = store_step_done(c, st);
    return r < 0 ? r : was_offline;
}

int store_sites_mark_offline(struct store *s, int64_t cutoff, int *ret_n)
{
    struct store_conn *c = store_conn(s);
    static const char sql[] = "UPDATE sites SET status = 'offline' WHERE status = 'online' "
                              "AND last_seen_at < ?";
    sqlite3_stmt *st = c ? store_stmt(c, sql) : NULL;
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, cutoff);
    int r = store_step_done(c, st);
    if (r == 0)
        *ret_n = sqlite3_changes(c->db);
    return r;
}

int store_policy_adopted_sites(struct store *s, const char *policy_id, struct strlist *ret)
{
    struct store_conn *c = store_conn(s);
    static const char sql[] = "SELECT id FROM sites WHERE policy_id = ? AND adopted_at IS NOT "
                              "NULL ORDER BY created_at, rowid";
    sqlite3_stmt *st = c ? store_stmt(c, sql) : NULL;
    if (!st)
        return -EIO;
    bind_text(st, 1, policy_id);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        strlist_add(ret, (const char *)sqlite3_column_text(st, 0));
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : store_map_rc(c, rc);
}

static void mac_key(struct store *s, unsigned char key[crypto_auth_hmacsha256_KEYBYTES])
{
    static const unsigned char label[] = "tikgate job url signing key v1";
    crypto_generichash(key, crypto_auth_hmacsha256_KEYBYTES, label, sizeof label - 1,
                       s->master_key, sizeof s->master_key);
}

void store_mac_hex(struct store *s, const char *msg, char out[65])
{
    unsigned char key[crypto_auth_hmacsha256_KEYBYTES];
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    mac_key(s, key);
    crypto_auth_hmacsha256(mac, (const unsigned char *)msg, strlen(msg), key);
    sodium_bin2hex(out, 65, mac, sizeof mac);
    sodium_memzero(key, sizeof key);
}

bool store_mac_verify(struct store *s, const char *msg, const char *hex)
{
    char want[65];
    store_mac_hex(s, msg, want);
    if (!hex || strlen(hex) != 64)
        return false;
    return sodium_memcmp(want, hex, 64) == 0;
}

/* Runs a "SELECT key, count(*) ... GROUP BY key" and adds each count to out[index(key)]. */
static int count_by(struct store_conn *c, const char *sql, int64_t arg,
                    int (*index)(const char *key), long *out)
{
    sqlite3_stmt *st = store_stmt(c, sql);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, arg);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *key = (const char *)sqlite3_column_text(st, 0);
        int i = key ? index(key) : -1;
        if (i >= 0)
            out[i] += sqlite3_column_int64(st, 1);
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : store_map_rc(c, rc);
}

static int site_index(const char *k)
{
    enum site_status st;
    return site_status_parse(k, &st) == 0 ? (int)st : -1;
}

static int job_index(const char *k)
{
    enum job_status st;
    return job_status_parse(k, &st) == 0 ? (int)st : -1;
}

static int grant_index(const char *k)
{
    return !strcmp(k, "access") ? GRANT_ACCESS : !strcmp(k, "forward") ? GRANT_FORWARD : -1;
}

static int single(const char *k)
{
    (void)k;
    return 0;
}

int store_metrics_get(struct store *s, struct store_metrics *ret)
{
    struct store_conn *c = store_conn(s);
    if (!c)
        return -EIO;
    static const char sites[] = "SELECT status, count(*) FROM sites WHERE ?1 = ?1 GROUP BY status";
    static const char jobs[] = "SELECT status, count(*) FROM jobs WHERE ?1 = ?1 GROUP BY status";
    static const char grants[] =
        "SELECT kind, count(*) FROM grants WHERE torn_down_at IS NULL AND expires_at_ms > ?1 "
        "GROUP BY kind";
    static const char tenants[] = "SELECT 'x', count(*) FROM tenants WHERE ?1 = ?1";
    static const char users[] = "SELECT 'x', count(*) FROM users WHERE ?1 = ?1";
    memset(ret, 0, sizeof *ret);
    int r = count_by(c, sites, 0, site_index, ret->sites);
    if (r == 0)
        r = count_by(c, jobs, 0, job_index, ret->jobs);
    if (r == 0)
        r = count_by(c, grants, time_now_ms(), grant_index, ret->grants_live);
    if (r == 0)
        r = count_by(c, tenants, 0, single, &ret->tenants);
    if (r == 0)
        r = count_by(c, users, 0, single, &ret->users);
    return r;
}
