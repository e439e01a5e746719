/*
 * sqlite_users.c - portal users and sessions in the SQLite store.
 */
#include "alloc.h"
#include "sqlite_int.h"
#include "timefmt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define USER_COLUMNS                                                                               \
    "id, tenant_id, email, password_hash, role, disabled, created_at, updated_at, last_login_at"

static int user_row(void *ctx, sqlite3_stmt *st, void *elem)
{
    (void)ctx;
    struct user *u = elem;
    memset(u, 0, sizeof *u);
    col_copy(st, 0, u->id, sizeof u->id);
    col_copy(st, 1, u->tenant_id, sizeof u->tenant_id);
    col_copy(st, 2, u->email, sizeof u->email);
    col_copy(st, 3, u->password_hash, sizeof u->password_hash);
    const char *role = (const char *)sqlite3_column_text(st, 4);
    if (!role || user_role_parse(role, &u->role) < 0)
        u->role = ROLE_READ_ONLY;
    u->disabled = sqlite3_column_int(st, 5) != 0;
    u->created_at = col_time(st, 6);
    u->updated_at = col_time(st, 7);
    u->last_login_at = col_time(st, 8);
    return 0;
}

int sqlite_user_insert(struct store *s, const struct user *u)
{
    static const char sql[] = "INSERT INTO users(" USER_COLUMNS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, "
                              "NULL)";
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    bind_text(st, 1, u->id);
    bind_text(st, 2, u->tenant_id);
    bind_text(st, 3, u->email);
    bind_text(st, 4, u->password_hash);
    bind_text(st, 5, user_role_name(u->role));
    sqlite3_bind_int(st, 6, u->disabled);
    sqlite3_bind_int64(st, 7, u->created_at);
    sqlite3_bind_int64(st, 8, u->updated_at);
    return store_step_done(c, st);
}

static int one_user(struct store *s, const char *sql, const char *a, const char *b,
                    struct user *ret)
{
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    bind_text(st, 1, a);
    if (b)
        bind_text(st, 2, b);
    return store_step_row(c, st, user_row, NULL, ret);
}

int sqlite_users_by_email(struct store *s, const char *email, struct user **ret, size_t *n)
{
    static const char sql[] = "SELECT " USER_COLUMNS " FROM users WHERE email = ? "
                              "ORDER BY created_at, id LIMIT " STORE_USERS_PER_EMAIL_S;
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    bind_text(st, 1, email);
    return store_collect(c, st, sizeof **ret, user_row, NULL, NULL, (void **)ret, n);
}

int sqlite_user_get(struct store *s, const char *tenant_id, const char *id, struct user *ret)
{
    static const char any[] = "SELECT " USER_COLUMNS " FROM users WHERE id = ?";
    static const char mine[] = "SELECT " USER_COLUMNS " FROM users WHERE id = ? AND tenant_id = ?";
    return one_user(s, tenant_id ? mine : any, id, tenant_id, ret);
}

int sqlite_user_list(struct store *s, const char *tenant_id, const struct store_page *page,
                     struct user **ret, size_t *n)
{
    static const char sql[] =
        "SELECT " USER_COLUMNS " FROM users WHERE tenant_id = ?1 AND (?2 IS NULL OR "
        "(created_at, email) > (SELECT p.created_at, p.email FROM users p WHERE p.id = ?2)) "
        "ORDER BY created_at, email LIMIT ?3";
    struct store_conn *c;
    int r;
    sqlite3_stmt *st = store_tenant_page_stmt(s, sql, STORE_LIST_USERS, tenant_id, page, &c, &r);
    if (!st)
        return r;
    return store_collect(c, st, sizeof **ret, user_row, NULL, NULL, (void **)ret, n);
}

int sqlite_user_update(struct store *s, const struct user *u)
{
    static const char sql[] = "UPDATE users SET role = ?, disabled = ?, password_hash = ?, "
                              "updated_at = ? WHERE id = ? AND tenant_id = ?";
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    bind_text(st, 1, user_role_name(u->role));
    sqlite3_bind_int(st, 2, u->disabled);
    bind_text(st, 3, u->password_hash);
    sqlite3_bind_int64(st, 4, time_now());
    bind_text(st, 5, u->id);
    bind_text(st, 6, u->tenant_id);
    return store_step_changed(c, st);
}

int sqlite_user_delete(struct store *s, const char *tenant_id, const char *id)
{
    static const char sql[] = "DELETE FROM users WHERE id = ? AND tenant_id = ?";
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    bind_text(st, 1, id);
    bind_text(st, 2, tenant_id);
    return store_step_changed(c, st);
}

int sqlite_user_touch_login(struct store *s, const char *id)
{
    static const char sql[] = "UPDATE users SET last_login_at = ? WHERE id = ?";
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, time_now());
    bind_text(st, 2, id);
    return store_step_done(c, st);
}

int sqlite_user_count(struct store *s, int *ret)
{
    static const char sql[] = "SELECT count(*) FROM users";
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    return store_step_row(c, st, store_read_int, NULL, ret);
}

int sqlite_session_insert(struct store *s, const char *jti, const char *user_id, int64_t expires_at)
{
    static const char sql[] =
        "INSERT INTO sessions(id, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)";
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    bind_text(st, 1, jti);
    bind_text(st, 2, user_id);
    sqlite3_bind_int64(st, 3, time_now());
    sqlite3_bind_int64(st, 4, expires_at);
    return store_step_done(c, st);
}

int sqlite_session_check(struct store *s, const char *jti, int64_t now)
{
    static const char sql[] = "SELECT 1 FROM sessions s JOIN users u ON u.id = s.user_id "
                              "WHERE s.id = ? AND s.revoked_at IS NULL AND s.expires_at > ? "
                              "AND u.disabled = 0";
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    bind_text(st, 1, jti);
    sqlite3_bind_int64(st, 2, now);
    return store_step_row(c, st, NULL, NULL, NULL);
}

int sqlite_session_revoke(struct store *s, const char *jti)
{
    static const char sql[] = "UPDATE sessions SET revoked_at = ? WHERE id = ? AND "
                              "revoked_at IS NULL";
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, time_now());
    bind_text(st, 2, jti);
    return store_step_done(c, st);
}

int sqlite_session_revoke_user(struct store *s, const char *user_id)
{
    static const char sql[] = "UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND "
                              "revoked_at IS NULL";
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, time_now());
    bind_text(st, 2, user_id);
    return store_step_done(c, st);
}

/* --- the failed-sign-in limiter (0012) --- */

int sqlite_login_failure_add(struct store *s, const char *key, int64_t now, int64_t window_s)
{
    static const char prune[] = "DELETE FROM login_failures WHERE window_start <= ?";
    static const char sql[] =
        "INSERT INTO login_failures(key, failures, window_start) VALUES (?1, 1, ?2) "
        "ON CONFLICT(key) DO UPDATE SET "
        "failures = CASE WHEN login_failures.window_start > ?3 "
        "THEN login_failures.failures + 1 ELSE 1 END, "
        "window_start = CASE WHEN login_failures.window_start > ?3 "
        "THEN login_failures.window_start ELSE ?2 END";
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, prune, &c);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, now - window_s);
    int r = store_step_done(c, st);
    if (r < 0)
        return r;
    st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    bind_text(st, 1, key);
    sqlite3_bind_int64(st, 2, now);
    sqlite3_bind_int64(st, 3, now - window_s);
    return store_step_done(c, st);
}

struct failures_row {
    int failures;
    int64_t window_start;
};

static int failures_row(void *ctx, sqlite3_stmt *st, void *out)
{
    (void)ctx;
    struct failures_row *f = out;
    f->failures = sqlite3_column_int(st, 0);
    f->window_start = sqlite3_column_int64(st, 1);
    return 0;
}

int sqlite_login_failures_get(struct store *s, const char *key, int64_t now, int64_t window_s,
                              int *ret_failures, int64_t *ret_window_start)
{
    static const char sql[] =
        "SELECT failures, window_start FROM login_failures WHERE key = ? AND window_start > ?";
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    bind_text(st, 1, key);
    sqlite3_bind_int64(st, 2, now - window_s);
    struct failures_row f;
    int r = store_step_row(c, st, failures_row, NULL, &f);
    if (r < 0)
        return r;
    *ret_failures = f.failures;
    *ret_window_start = f.window_start;
    return 0;
}

int sqlite_login_failures_clear(struct store *s, const char *key)
{
    static const char sql[] = "DELETE FROM login_failures WHERE key = ?";
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    bind_text(st, 1, key);
    return store_step_done(c, st);
}

/* --- the master key's check value (0012) --- */

static int read_mac(void *ctx, sqlite3_stmt *st, void *out)
{
    (void)ctx;
    const unsigned char *t = sqlite3_column_text(st, 0);
    snprintf(out, 65, "%s", t ? (const char *)t : "");
    return 0;
}

int sqlite_master_key_check(struct store *s, const char *mac, char ret_stored[65])
{
    static const char ins[] =
        "INSERT INTO master_key_check(id, mac) VALUES (1, ?) ON CONFLICT(id) DO NOTHING";
    static const char sel[] = "SELECT mac FROM master_key_check WHERE id = 1";
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, ins, &c);
    if (!st)
        return -EIO;
    bind_text(st, 1, mac);
    int r = store_step_done(c, st);
    if (r < 0)
        return r;
    st = store_prepare(s, sel, &c);
    if (!st)
        return -EIO;
    return store_step_row(c, st, read_mac, NULL, ret_stored);
}
