/*
 * pg_sites.c - sites, site notes and API credentials in the PostgreSQL store.
 */
#include "alloc.h"
#include "pg_int.h"
#include "timefmt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void read_site(struct store *s, struct pg_stmt *st, struct site *x)
{
    memset(x, 0, sizeof *x);
    pg_col_copy(st, 0, x->id, sizeof x->id);
    pg_col_copy(st, 1, x->tenant_id, sizeof x->tenant_id);
    x->name = pg_col_strdup(st, 2);
    pg_col_copy(st, 3, x->policy_id, sizeof x->policy_id);
    x->tunnel_address = pg_col_strdup(st, 4);
    const char *status = (const char *)pg_column_text(st, 5);
    if (!status || site_status_parse(status, &x->status) < 0)
        x->status = SITE_PENDING_ONBOARDING;
    x->last_seen_at = pg_col_time(st, 6);
    x->identity = pg_col_strdup(st, 7);
    x->model = pg_col_strdup(st, 8);
    x->serial_number = pg_col_strdup(st, 9);
    x->software_version = pg_col_strdup(st, 10);
    const char *sealed = (const char *)pg_column_text(st, 11);
    char *token = sealed ? store_open_text(s, sealed) : NULL;
    if (token && strlen(token) <= SITE_TOKEN_LEN)
        memcpy(x->bootstrap_token, token, strlen(token) + 1);
    free(token);
    x->created_at = pg_col_time(st, 12);
    x->updated_at = pg_col_time(st, 13);
    x->adopted_at = pg_col_time(st, 14);
    const char *mode = (const char *)pg_column_text(st, 15);
    if (!mode || tunnel_mode_parse(mode, &x->tunnel.mode) < 0)
        x->tunnel.mode = TUNNEL_MODE_EXTERNAL;
    const char *ts = (const char *)pg_column_text(st, 16);
    if (!ts || tunnel_status_parse(ts, &x->tunnel.status) < 0)
        x->tunnel.status = TUNNEL_PENDING;
    pg_col_copy(st, 17, x->tunnel.public_key, sizeof x->tunnel.public_key);
    pg_col_copy(st, 18, x->tunnel.endpoint, sizeof x->tunnel.endpoint);
    x->tunnel.last_handshake_at = pg_col_time(st, 19);
    x->tunnel.rx_bytes = (uint64_t)pg_column_int64(st, 20);
    x->tunnel.tx_bytes = (uint64_t)pg_column_int64(st, 21);
    x->bootstrap_issued_at = pg_col_time(st, 22);
    pg_col_copy(st, 23, x->edge_node, sizeof x->edge_node);
    pg_col_copy(st, 24, x->region, sizeof x->region);
}

static int insert_credential(struct store *s, struct pg_session *c, const struct credential *cred)
{
    static const char sql[] = "INSERT INTO api_credentials(id, site_id, username, password_sealed, "
                              "created_at, state) VALUES (?, ?, ?, ?, ?, ?)";
    struct pg_stmt *st = pg_stmt(c, sql);
    if (!st)
        return -EIO;
    char *sealed = store_seal_text(s, cred->password);
    pg_bind_text(st, 1, cred->id);
    pg_bind_text(st, 2, cred->site_id);
    pg_bind_text(st, 3, cred->username);
    pg_bind_text(st, 4, sealed);
    pg_bind_int64(st, 5, cred->created_at);
    pg_bind_text(st, 6, credential_state_name(cred->state));
    int r = pg_step_done(c, st);
    free(sealed);
    return r;
}

int pg_site_insert(struct store *s, const struct site *site, const struct credential *cred)
{
    struct pg_session *c;
    static const char sql[] =
        "INSERT INTO sites(id, tenant_id, name, policy_id, tunnel_address, status, "
        "bootstrap_token_sealed, bootstrap_token_hash, created_at, updated_at, tunnel_mode, "
        "bootstrap_issued_at, region) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?9, ?12 "
        "WHERE EXISTS (SELECT 1 FROM policies WHERE id = ?4 AND tenant_id = ?2)";
    int r;
    struct pg_stmt *st = pg_begin_stmt(s, sql, &c, &r);
    if (!st)
        return r;
    char *sealed = store_seal_text(s, site->bootstrap_token);
    uint8_t hash[APIKEY_HASH_LEN];
    api_key_hash(site->bootstrap_token, hash);
    pg_bind_text(st, 1, site->id);
    pg_bind_text(st, 2, site->tenant_id);
    pg_bind_text(st, 3, site->name);
    pg_bind_text(st, 4, site->policy_id);
    pg_bind_text(st, 5, site->tunnel_address);
    pg_bind_text(st, 6, site_status_name(site->status));
    pg_bind_text(st, 7, sealed);
    pg_bind_blob(st, 8, hash, sizeof hash);
    pg_bind_int64(st, 9, site->created_at);
    pg_bind_int64(st, 10, site->updated_at);
    pg_bind_text(st, 11, tunnel_mode_name(site->tunnel.mode));
    pg_bind_text(st, 12, site->region);
    r = pg_step_done(c, st);
    free(sealed);
    if (r < 0)
        goto out_end_tx;
    if (pg_changes(c) == 0) {
        r = -ENOENT; /* the policy is not this tenant's */
        goto out_end_tx;
    }
    r = insert_credential(s, c, cred);
out_end_tx:
    return pg_end(c, r);
}

int pg_site_row(void *ctx, struct pg_stmt *st, void *elem)
{
    read_site(ctx, st, elem);
    return 0;
}

static void site_release_elem(void *elem)
{
    site_release(elem);
}

int pg_site_list(struct store *s, const char *tenant_id, const struct store_page *page,
                 struct site **ret, size_t *n)
{
    static const char sql[] =
        "SELECT " PG_SITE_COLUMNS " FROM sites WHERE tenant_id = ?1 AND (?2::text IS NULL OR "
        "(created_at, rowid) > (SELECT p.created_at, p.rowid FROM sites p WHERE p.id = ?2)) "
        "ORDER BY created_at, rowid LIMIT ?3";
    struct pg_session *c;
    int r;
    struct pg_stmt *st = pg_tenant_page_stmt(s, sql, STORE_LIST_SITES, tenant_id, page, &c, &r);
    if (!st)
        return r;
    return pg_collect(c, st, sizeof **ret, pg_site_row, s, site_release_elem, (void **)ret, n);
}

int pg_site_get(struct store *s, const char *tenant_id, const char *id, struct site *ret)
{
    static const char sql[] =
        "SELECT " PG_SITE_COLUMNS " FROM sites WHERE id = ? AND tenant_id = ?";
    struct pg_session *c;
    struct pg_stmt *st = pg_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    pg_bind_text(st, 1, id);
    pg_bind_text(st, 2, tenant_id);
    return pg_step_row(c, st, pg_site_row, s, ret);
}

int pg_site_update(struct store *s, const struct site *site)
{
    static const char sql[] =
        "UPDATE sites SET name = ?1, policy_id = ?2, tunnel_address = ?3, updated_at = ?4, "
        "region = ?7 "
        "WHERE id = ?5 AND tenant_id = ?6 "
        "AND EXISTS (SELECT 1 FROM policies WHERE id = ?2 AND tenant_id = ?6)";
    struct pg_session *c;
    struct pg_stmt *st = pg_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    pg_bind_text(st, 1, site->name);
    pg_bind_text(st, 2, site->policy_id);
    pg_bind_text(st, 3, site->tunnel_address);
    pg_bind_int64(st, 4, site->updated_at);
    pg_bind_text(st, 5, site->id);
    pg_bind_text(st, 6, site->tenant_id);
    pg_bind_text(st, 7, site->region);
    return pg_step_changed(c, st);
}

int pg_site_delete(struct store *s, const char *tenant_id, const char *id)
{
    static const char sql[] = "DELETE FROM sites WHERE id = ? AND tenant_id = ?";
    struct pg_session *c;
    struct pg_stmt *st = pg_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    pg_bind_text(st, 1, id);
    pg_bind_text(st, 2, tenant_id);
    return pg_step_changed(c, st);
}

static int note_row(void *ctx, struct pg_stmt *st, void *out)
{
    (void)ctx;
    struct site_note *x = out;
    memset(x, 0, sizeof *x);
    x->content = pg_col_strdup(st, 0);
    if (!x->content)
        x->content = xstrdup("");
    x->updated_at = pg_col_time(st, 1);
    x->updated_by = pg_col_strdup(st, 2);
    return 0;
}

int pg_site_note_get(struct store *s, const char *tenant_id, const char *site_id,
                     struct site_note *ret)
{
    static const char sql[] = "SELECT note, note_updated_at, note_updated_by FROM sites "
                              "WHERE id = ? AND tenant_id = ?";
    struct pg_session *c;
    struct pg_stmt *st = pg_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    pg_bind_text(st, 1, site_id);
    pg_bind_text(st, 2, tenant_id);
    int r = pg_step_row(c, st, note_row, NULL, ret);
    if (r == 0)
        snprintf(ret->site_id, sizeof ret->site_id, "%s", site_id);
    return r;
}

int pg_site_note_put(struct store *s, const char *tenant_id, const char *site_id,
                     const char *content, const char *updated_by, struct site_note *ret)
{
    static const char sql[] = "UPDATE sites SET note = ?, note_updated_at = ?, note_updated_by = ? "
                              "WHERE id = ? AND tenant_id = ?";
    struct pg_session *c;
    struct pg_stmt *st = pg_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    pg_bind_text(st, 1, content);
    pg_bind_int64(st, 2, time_now());
    pg_bind_text(st, 3, updated_by);
    pg_bind_text(st, 4, site_id);
    pg_bind_text(st, 5, tenant_id);
    int r = pg_step_done(c, st);
    if (r < 0)
        return r;
    if (pg_changes(c) == 0)
        return -ENOENT;
    return pg_site_note_get(s, tenant_id, site_id, ret);
}

static int credential_row(void *ctx, struct pg_stmt *st, void *elem)
{
    struct store *s = ctx;
    struct credential *x = elem;
    pg_col_copy(st, 0, x->id, sizeof x->id);
    pg_col_copy(st, 1, x->site_id, sizeof x->site_id);
    pg_col_copy(st, 2, x->username, sizeof x->username);
    char *pw = store_open_text(s, (const char *)pg_column_text(st, 3));
    if (pw) {
        snprintf(x->password, sizeof x->password, "%s", pw);
        sodium_memzero(pw, strlen(pw));
        free(pw);
    }
    x->ip_address = pg_col_strdup(st, 4);
    x->api_port = pg_column_int(st, 5);
    x->created_at = pg_col_time(st, 6);
    x->deleted_at = pg_col_time(st, 7);
    const char *state = (const char *)pg_column_text(st, 8);
    if (!state || credential_state_parse(state, &x->state) < 0)
        x->state = x->deleted_at ? CREDENTIAL_RETIRED : CREDENTIAL_CURRENT;
    return 0;
}

static void credential_release_elem(void *elem)
{
    struct credential *x = elem;
    credential_release(x);
}

int pg_credential_list(struct store *s, const char *tenant_id, const char *site_id,
                       struct credential **ret, size_t *n)
{
    struct pg_session *c = pg_session(s);
    static const char sql[] =
        "SELECT c.id, c.site_id, c.username, c.password_sealed, s.tunnel_address, ps.port, "
        "c.created_at, c.deleted_at, c.state FROM api_credentials c JOIN sites s ON s.id = "
        "c.site_id "
        "LEFT JOIN policy_services ps ON ps.policy_id = s.policy_id AND ps.service = 6 "
        "WHERE c.site_id = ? AND s.tenant_id = ? ORDER BY c.created_at, c.rowid";
    if (!c)
        return -EIO;
    int r = pg_site_owned(c, tenant_id, site_id);
    if (r < 0)
        return r;
    struct pg_stmt *st = pg_stmt(c, sql);
    if (!st)
        return -EIO;
    pg_bind_text(st, 1, site_id);
    pg_bind_text(st, 2, tenant_id);
    return pg_collect(c, st, sizeof **ret, credential_row, s, credential_release_elem, (void **)ret,
                      n);
}

/*
 * pg_site_owned with the site's row locked until the transaction ends: two rotations of one
 * site queue up instead of both retiring the same credential and inserting two current ones
 * (SQLite: its single writer).
 */
static int site_lock(struct pg_session *c, const char *tenant_id, const char *site_id)
{
    static const char sql[] = "SELECT 1 FROM sites WHERE id = ? AND tenant_id = ? FOR UPDATE";
    struct pg_stmt *st = pg_stmt(c, sql);
    if (!st)
        return -EIO;
    pg_bind_text(st, 1, site_id);
    pg_bind_text(st, 2, tenant_id);
    return pg_step_row(c, st, NULL, NULL, NULL);
}

int pg_credential_rotate(struct store *s, const char *tenant_id, const struct credential *cred,
                         struct credential *ret)
{
    struct pg_session *c = pg_session(s);
    if (!c)
        return -EIO;
    static const char retire[] =
        "UPDATE api_credentials SET deleted_at = ?, state = 'retired' WHERE site_id = ? AND "
        "state != 'retired'";
    int r = pg_begin(c);
    if (r < 0)
        return r;
    r = site_lock(c, tenant_id, cred->site_id);
    if (r < 0)
        goto out_rollback;
    /* two-phase: a pending credential leaves the current one until the router has it */
    struct pg_stmt *st = cred->state == CREDENTIAL_CURRENT ? pg_stmt(c, retire) : NULL;
    if (cred->state == CREDENTIAL_CURRENT && !st) {
        r = -EIO;
        goto out_rollback;
    }
    if (st) {
        pg_bind_int64(st, 1, cred->created_at);
        pg_bind_text(st, 2, cred->site_id);
        r = pg_step_done(c, st);
        if (r < 0)
            goto out_rollback;
    }
    r = insert_credential(s, c, cred);
    if (r < 0)
        goto out_rollback;
    r = pg_commit(c);
    if (r < 0)
        goto out_rollback;
    /* Read back through the list so ip_address/api_port are filled the same way. */
    struct credential *all = NULL;
    size_t n = 0;
    r = pg_credential_list(s, tenant_id, cred->site_id, &all, &n);
    if (r < 0)
        return r;
    r = -EIO;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(all[i].id, cred->id) == 0) {
            *ret = all[i];
            all[i].ip_address = NULL;
            r = 0;
        }
    }
    store_credential_array_free(all, n);
    return r;
out_rollback:
    pg_rollback(c);
    return r;
}
