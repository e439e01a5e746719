/*
 * pg_tenants.c - tenants and API keys in the PostgreSQL store.
 */
#include "alloc.h"
#include "pg_int.h"
#include "rand.h"
#include "timefmt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int pg_tenant_count(struct store *s, int *ret)
{
    static const char sql[] = "SELECT count(*) FROM tenants";
    struct pg_session *c;
    struct pg_stmt *st = pg_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    return pg_step_row(c, st, pg_read_int, NULL, ret);
}

int pg_tenant_first(struct store *s, char ret_id[UUID_STR_LEN])
{
    static const char sql[] = "SELECT id FROM tenants ORDER BY created_at, rowid LIMIT 1";
    struct pg_session *c;
    struct pg_stmt *st = pg_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    return pg_step_row(c, st, pg_read_id, NULL, ret_id);
}

int pg_tenant_create(struct store *s, const char *name, const char *mgmt_networks,
                     char ret_id[UUID_STR_LEN])
{
    struct pg_session *c = pg_session(s);
    if (!c)
        return -EIO;
    char id[UUID_STR_LEN];
    uuid_v7(id);
    int64_t now = time_now();
    struct policy p;
    memset(&p, 0, sizeof p);
    policy_init_default(&p, mgmt_networks);
    uuid_v7(p.id);
    memcpy(p.tenant_id, id, sizeof id);
    p.created_at = p.updated_at = now;

    int r = pg_begin(c);
    if (r < 0)
        goto out;
    static const char sql[] = "INSERT INTO tenants(id, name, created_at) VALUES (?, ?, ?)";
    struct pg_stmt *st = pg_stmt(c, sql);
    if (!st) {
        r = -EIO;
        goto out_rollback;
    }
    pg_bind_text(st, 1, id);
    pg_bind_text(st, 2, name);
    pg_bind_int64(st, 3, now);
    r = pg_step_done(c, st);
    if (r < 0)
        goto out_rollback;
    r = pg_policy_insert_conn(c, &p);
    if (r < 0)
        goto out_rollback;
    r = pg_commit(c);
    if (r < 0)
        goto out_rollback;
    memcpy(ret_id, id, UUID_STR_LEN);
    goto out;
out_rollback:
    pg_rollback(c);
out:
    policy_release(&p);
    return r;
}

int pg_api_key_insert(struct store *s, const struct api_key *k)
{
    static const char sql[] = "INSERT INTO api_keys(id, tenant_id, name, prefix, hash, scopes, "
                              "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)";
    struct pg_session *c;
    struct pg_stmt *st = pg_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    pg_bind_text(st, 1, k->id);
    pg_bind_text(st, 2, k->tenant_id);
    pg_bind_text(st, 3, k->name);
    pg_bind_text(st, 4, k->prefix);
    pg_bind_blob(st, 5, k->hash, APIKEY_HASH_LEN);
    pg_bind_int64(st, 6, k->scopes);
    pg_bind_int64(st, 7, k->created_at);
    return pg_step_done(c, st);
}

#define KEY_COLUMNS                                                                                \
    "id, tenant_id, name, prefix, hash, scopes, created_at, last_used_at, revoked_at"

static int key_row(void *ctx, struct pg_stmt *st, void *elem)
{
    (void)ctx;
    struct api_key *k = elem;
    memset(k, 0, sizeof *k);
    pg_col_copy(st, 0, k->id, sizeof k->id);
    pg_col_copy(st, 1, k->tenant_id, sizeof k->tenant_id);
    k->name = pg_col_strdup(st, 2);
    pg_col_copy(st, 3, k->prefix, sizeof k->prefix);
    if (pg_column_bytes(st, 4) == APIKEY_HASH_LEN)
        memcpy(k->hash, pg_column_blob(st, 4), APIKEY_HASH_LEN);
    k->scopes = (uint32_t)pg_column_int64(st, 5);
    k->created_at = pg_col_time(st, 6);
    k->last_used_at = pg_col_time(st, 7);
    k->revoked_at = pg_col_time(st, 8);
    return 0;
}

int pg_api_key_authenticate(struct store *s, const uint8_t hash[APIKEY_HASH_LEN],
                            struct api_key *ret)
{
    static const char sql[] =
        "SELECT " KEY_COLUMNS " FROM api_keys WHERE hash = ? AND revoked_at IS NULL";
    struct pg_session *c;
    struct pg_stmt *st = pg_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    pg_bind_blob(st, 1, hash, APIKEY_HASH_LEN);
    int r = pg_step_row(c, st, key_row, NULL, ret);
    if (r < 0)
        return r;
    if (!api_key_hash_equal(ret->hash, hash)) {
        api_key_release(ret);
        return -ENOENT;
    }
    /* last_used_at at minute granularity: avoids a write per request on the hot path. */
    int64_t now = time_now();
    if (now - ret->last_used_at >= 60) {
        static const char upd[] = "UPDATE api_keys SET last_used_at = ? WHERE id = ?";
        struct pg_stmt *u = pg_stmt(c, upd);
        if (u) {
            pg_bind_int64(u, 1, now);
            pg_bind_text(u, 2, ret->id);
            pg_step_done(c, u);
            ret->last_used_at = now;
        }
    }
    return 0;
}

static void key_release(void *elem)
{
    api_key_release(elem);
}

int pg_api_key_list(struct store *s, const char *tenant_id, const struct store_page *page,
                    struct api_key **ret, size_t *n)
{
    static const char sql[] =
        "SELECT " KEY_COLUMNS " FROM api_keys WHERE tenant_id = ?1 AND (?2::text IS NULL OR "
        "(created_at, rowid) > (SELECT p.created_at, p.rowid FROM api_keys p WHERE p.id = ?2)) "
        "ORDER BY created_at, rowid LIMIT ?3";
    struct pg_session *c;
    int r;
    struct pg_stmt *st = pg_tenant_page_stmt(s, sql, STORE_LIST_API_KEYS, tenant_id, page, &c, &r);
    if (!st)
        return r;
    return pg_collect(c, st, sizeof **ret, key_row, NULL, key_release, (void **)ret, n);
}

int pg_api_key_revoke(struct store *s, const char *tenant_id, const char *id)
{
    /* Revoking twice is not an error: the first revocation time is kept. */
    static const char sql[] = "UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?) "
                              "WHERE id = ? AND tenant_id = ?";
    struct pg_session *c;
    struct pg_stmt *st = pg_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    pg_bind_int64(st, 1, time_now());
    pg_bind_text(st, 2, id);
    pg_bind_text(st, 3, tenant_id);
    int r = pg_step_done(c, st);
    if (r < 0)
        return r;
    return pg_changes(c) ? 0 : -ENOENT;
}
