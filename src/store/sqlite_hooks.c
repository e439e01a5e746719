/*
 * sqlite_hooks.c - webhooks: the hooks, the outbox of their events and deliveries, the
 * delivery log (migration 0015, docs/webhooks.md). pg_hooks.c is its PostgreSQL twin.
 */
#include "alloc.h"
#include "sqlite_int.h"
#include "timefmt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The site of job or grant object_id (by e's family) into out: 0, -ENOENT, -EIO. */
static int object_site(struct store_conn *c, enum webhook_event e, const char *object_id,
                       char out[UUID_STR_LEN])
{
    static const char job[] = "SELECT site_id FROM jobs WHERE id = ?";
    static const char grant[] = "SELECT site_id FROM grants WHERE id = ?";
    sqlite3_stmt *st = store_stmt(c, !strcmp(webhook_event_object(e), "job") ? job : grant);
    if (!st)
        return -EIO;
    bind_text(st, 1, object_id);
    return store_step_row(c, st, store_read_id, NULL, out);
}

int sqlite_webhook_emit(struct store_conn *c, enum webhook_event e, const char *object_id,
                        const char *site_id, const char *detail)
{
    char site[UUID_STR_LEN];
    if (!site_id) {
        int r = object_site(c, e, object_id, site);
        if (r < 0)
            return r == -ENOENT ? 0 : r;
        site_id = site;
    }
    static const char event_sql[] =
        "INSERT INTO webhook_events(id, tenant_id, type, object_id, site_id, detail, "
        "created_at_ms) SELECT ?1, s.tenant_id, ?2, ?3, s.id, ?4, ?5 FROM sites s WHERE s.id = ?6 "
        "AND EXISTS (SELECT 1 FROM webhooks h WHERE h.tenant_id = s.tenant_id AND h.enabled = 1 "
        "AND (h.events & ?7) != 0)";
    static const char deliveries_sql[] =
        "INSERT INTO webhook_deliveries(hook_id, event_id, next_at_ms) SELECT h.id, e.id, "
        "e.created_at_ms FROM webhook_events e JOIN webhooks h ON h.tenant_id = e.tenant_id "
        "WHERE e.id = ?1 AND h.enabled = 1 AND (h.events & ?2) != 0";
    sqlite3_stmt *st = store_stmt(c, event_sql);
    if (!st)
        return -EIO;
    char id[UUID_STR_LEN];
    uuid_v7(id);
    bind_text(st, 1, id);
    bind_text(st, 2, webhook_event_name(e));
    bind_text(st, 3, object_id);
    bind_text(st, 4, detail);
    sqlite3_bind_int64(st, 5, time_now_ms());
    bind_text(st, 6, site_id);
    sqlite3_bind_int64(st, 7, 1ll << e);
    int r = store_step_done(c, st);
    if (r < 0 || sqlite3_changes(c->db) == 0)
        return r;
    st = store_stmt(c, deliveries_sql);
    if (!st)
        return -EIO;
    bind_text(st, 1, id);
    sqlite3_bind_int64(st, 2, 1ll << e);
    return store_step_done(c, st);
}

/* [["grant id","event id"],...]: ids with a new event id each (uuid_v7, in their order). */
static char *json_id_pairs(const struct strlist *ids)
{
    size_t cap = 3 + ids->n * (2 * UUID_STR_LEN + 8);
    for (size_t i = 0; i < ids->n; i++)
        cap += strlen(ids->items[i]);
    char *out = xmalloc(cap);
    size_t len = 0;
    out[len++] = '[';
    for (size_t i = 0; i < ids->n; i++) {
        char eid[UUID_STR_LEN];
        uuid_v7(eid);
        len += (size_t)snprintf(out + len, cap - len, "%s[\"%s\",\"%s\"]", i ? "," : "",
                                ids->items[i], eid);
    }
    out[len++] = ']';
    out[len] = '\0';
    return out;
}

int sqlite_webhook_emit_grants(struct store_conn *c, enum webhook_event e,
                               const struct strlist *ids)
{
    static const char event_sql[] =
        "INSERT INTO webhook_events(id, tenant_id, type, object_id, site_id, detail, "
        "created_at_ms) SELECT json_extract(j.value, '$[1]'), s.tenant_id, ?2, g.id, s.id, NULL, "
        "?3 FROM json_each(?1) j JOIN grants g ON g.id = json_extract(j.value, '$[0]') JOIN "
        "sites s ON s.id = g.site_id WHERE EXISTS (SELECT 1 FROM webhooks h WHERE h.tenant_id = "
        "s.tenant_id AND h.enabled = 1 AND (h.events & ?4) != 0) ORDER BY j.key";
    static const char deliveries_sql[] =
        "INSERT INTO webhook_deliveries(hook_id, event_id, next_at_ms) SELECT h.id, e.id, "
        "e.created_at_ms FROM json_each(?1) j JOIN webhook_events e ON e.id = "
        "json_extract(j.value, '$[1]') JOIN webhooks h ON h.tenant_id = e.tenant_id WHERE "
        "h.enabled = 1 AND (h.events & ?2) != 0 ORDER BY j.key";
    static const char any_sql[] =
        "SELECT 1 FROM webhooks WHERE enabled = 1 AND (events & ?1) != 0 LIMIT 1";
    if (!ids->n)
        return 0;
    /* the usual case: no hook subscribes anywhere, nothing to look up per grant */
    sqlite3_stmt *st = store_stmt(c, any_sql);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, 1ll << e);
    int r = store_step_row(c, st, NULL, NULL, NULL);
    if (r < 0)
        return r == -ENOENT ? 0 : r;
    if (!(st = store_stmt(c, event_sql)))
        return -EIO;
    char *pairs = json_id_pairs(ids);
    sqlite3_bind_text(st, 1, pairs, -1, SQLITE_TRANSIENT);
    bind_text(st, 2, webhook_event_name(e));
    sqlite3_bind_int64(st, 3, time_now_ms());
    sqlite3_bind_int64(st, 4, 1ll << e);
    r = store_step_done(c, st);
    if (r == 0 && sqlite3_changes(c->db) > 0) {
        if ((st = store_stmt(c, deliveries_sql))) {
            sqlite3_bind_text(st, 1, pairs, -1, SQLITE_TRANSIENT);
            sqlite3_bind_int64(st, 2, 1ll << e);
            r = store_step_done(c, st);
        } else {
            r = -EIO;
        }
    }
    free(pairs);
    return r;
}

int sqlite_webhook_insert(struct store *s, const struct webhook *h)
{
    static const char sql[] =
        "INSERT INTO webhooks(id, tenant_id, url, events, enabled, secret_sealed, created_at, "
        "updated_at) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7 WHERE (SELECT count(*) FROM webhooks "
        "WHERE tenant_id = ?2) < ?8";
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    char *sealed = store_seal_text(s, h->secret);
    bind_text(st, 1, h->id);
    bind_text(st, 2, h->tenant_id);
    bind_text(st, 3, h->url);
    sqlite3_bind_int64(st, 4, h->events);
    sqlite3_bind_int(st, 5, h->enabled);
    bind_text(st, 6, sealed);
    sqlite3_bind_int64(st, 7, h->created_at);
    sqlite3_bind_int(st, 8, WEBHOOK_MAX_PER_TENANT);
    int r = store_step_done(c, st);
    free(sealed);
    if (r == 0 && sqlite3_changes(c->db) == 0)
        r = -EDQUOT;
    return r;
}

#define HOOK_COLUMNS "id, tenant_id, url, events, enabled, created_at, updated_at"

static int hook_row(void *ctx, sqlite3_stmt *st, void *out)
{
    (void)ctx;
    struct webhook *h = out;
    col_copy(st, 0, h->id, sizeof h->id);
    col_copy(st, 1, h->tenant_id, sizeof h->tenant_id);
    col_copy(st, 2, h->url, sizeof h->url);
    h->events = (unsigned)sqlite3_column_int64(st, 3);
    h->enabled = sqlite3_column_int(st, 4) != 0;
    h->created_at = sqlite3_column_int64(st, 5);
    h->updated_at = sqlite3_column_int64(st, 6);
    return 0;
}

int sqlite_webhook_list(struct store *s, const char *tenant_id, struct webhook **ret, size_t *n)
{
    static const char sql[] =
        "SELECT " HOOK_COLUMNS " FROM webhooks WHERE tenant_id = ? ORDER BY created_at, id";
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    bind_text(st, 1, tenant_id);
    return store_collect(c, st, sizeof **ret, hook_row, NULL, NULL, (void **)ret, n);
}

int sqlite_webhook_get(struct store *s, const char *tenant_id, const char *id, struct webhook *ret)
{
    static const char sql[] =
        "SELECT " HOOK_COLUMNS " FROM webhooks WHERE tenant_id = ? AND id = ?";
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    bind_text(st, 1, tenant_id);
    bind_text(st, 2, id);
    memset(ret, 0, sizeof *ret);
    return store_step_row(c, st, hook_row, NULL, ret);
}

int sqlite_webhook_update(struct store *s, const struct webhook *h)
{
    static const char sql[] = "UPDATE webhooks SET url = ?1, events = ?2, enabled = ?3, "
                              "updated_at = ?4 WHERE tenant_id = ?5 AND id = ?6";
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    bind_text(st, 1, h->url);
    sqlite3_bind_int64(st, 2, h->events);
    sqlite3_bind_int(st, 3, h->enabled);
    sqlite3_bind_int64(st, 4, time_now());
    bind_text(st, 5, h->tenant_id);
    bind_text(st, 6, h->id);
    return store_step_changed(c, st);
}

int sqlite_webhook_delete(struct store *s, const char *tenant_id, const char *id)
{
    static const char sql[] = "DELETE FROM webhooks WHERE tenant_id = ? AND id = ?";
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    bind_text(st, 1, tenant_id);
    bind_text(st, 2, id);
    return store_step_changed(c, st);
}

void store_webhook_array_free(struct webhook *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        webhook_release(&a[i]);
    free(a);
}

void store_webhook_delivery_array_free(struct store_webhook_delivery *a, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        webhook_release(&a[i].hook);
        free(a[i].detail);
    }
    free(a);
}

struct claim_ctx {
    struct store *s;
    int64_t bad_id; /* a delivery whose secret did not unseal, 0 when none */
};

static int delivery_row(void *ctx, sqlite3_stmt *st, void *out)
{
    struct claim_ctx *cc = ctx;
    struct store_webhook_delivery *d = out;
    char *secret = store_open_text(cc->s, (const char *)sqlite3_column_text(st, 5));
    if (!secret || strlen(secret) >= sizeof d->hook.secret) {
        if (!cc->bad_id)
            cc->bad_id = sqlite3_column_int64(st, 0);
        free(secret);
        return -EBADMSG;
    }
    d->id = sqlite3_column_int64(st, 0);
    d->attempts = sqlite3_column_int(st, 1);
    col_copy(st, 2, d->hook.id, sizeof d->hook.id);
    col_copy(st, 3, d->hook.tenant_id, sizeof d->hook.tenant_id);
    col_copy(st, 4, d->hook.url, sizeof d->hook.url);
    snprintf(d->hook.secret, sizeof d->hook.secret, "%s", secret);
    size_t sl = strlen(secret);
    volatile char *p = secret;
    for (size_t i = 0; i < sl; i++)
        p[i] = 0;
    free(secret);
    col_copy(st, 6, d->event_id, sizeof d->event_id);
    if (webhook_event_parse((const char *)sqlite3_column_text(st, 7), &d->type) < 0)
        d->type = WEBHOOK_EVENT_COUNT;
    col_copy(st, 8, d->object_id, sizeof d->object_id);
    col_copy(st, 9, d->site_id, sizeof d->site_id);
    d->detail = col_strdup(st, 10);
    d->created_at_ms = sqlite3_column_int64(st, 11);
    return 0;
}

static void delivery_release(void *elem)
{
    struct store_webhook_delivery *d = elem;
    webhook_release(&d->hook);
    free(d->detail);
}

/* Fails delivery id (its secret is unreadable) with a line in its log; inside the claim's tx. */
static int fail_unsealable(struct store_conn *c, int64_t id, int64_t now_ms)
{
    static const char upd[] = "UPDATE webhook_deliveries SET state = 'failed', lease_owner = "
                              "NULL, lease_until_ms = NULL WHERE id = ?";
    static const char log[] =
        "INSERT INTO webhook_attempts(delivery_id, hook_id, attempt, at_ms, error) SELECT id, "
        "hook_id, attempts + 1, ?2, 'the hook''s secret cannot be unsealed (another master key?)' "
        "FROM webhook_deliveries WHERE id = ?1";
    sqlite3_stmt *st = store_stmt(c, log);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, now_ms);
    int r = store_step_done(c, st);
    if (r < 0)
        return r;
    st = store_stmt(c, upd);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, id);
    return store_step_done(c, st);
}

int sqlite_webhook_claim(struct store *s, const char *owner, int64_t now_ms, int64_t lease_ms,
                         int limit, struct store_webhook_delivery **ret, size_t *n)
{
    static const char claim[] =
        "UPDATE webhook_deliveries SET lease_owner = ?1, lease_until_ms = ?2, lease_token = ?5 "
        "WHERE id IN "
        "(SELECT d.id FROM webhook_deliveries d JOIN webhooks h ON h.id = d.hook_id WHERE "
        "d.state = 'pending' AND d.next_at_ms <= ?3 AND (d.lease_until_ms IS NULL OR "
        "d.lease_until_ms < ?3) AND h.enabled = 1 ORDER BY d.next_at_ms, d.id LIMIT ?4)";
    static const char read[] =
        "SELECT d.id, d.attempts, h.id, h.tenant_id, h.url, h.secret_sealed, e.id, e.type, "
        "e.object_id, e.site_id, e.detail, e.created_at_ms FROM webhook_deliveries d JOIN "
        "webhooks h ON h.id = d.hook_id JOIN webhook_events e ON e.id = d.event_id WHERE "
        "d.lease_token = ?1 AND d.state = 'pending' ORDER BY "
        "d.next_at_ms, d.id";
    int r;
    struct store_conn *c;
    sqlite3_stmt *st = store_begin_stmt(s, claim, &c, &r);
    if (!st)
        return r;
    int64_t until = now_ms + lease_ms;
    bind_text(st, 1, owner);
    sqlite3_bind_int64(st, 2, until);
    sqlite3_bind_int64(st, 3, now_ms);
    sqlite3_bind_int(st, 4, limit);
    char token[UUID_STR_LEN];
    uuid_v7(token);
    bind_text(st, 5, token);
    r = store_step_done(c, st);
    for (int tries = 0; r == 0 && tries < limit + 1; tries++) {
        st = store_stmt(c, read);
        if (!st) {
            r = -EIO;
            break;
        }
        bind_text(st, 1, token);
        struct claim_ctx cc = {.s = s};
        r = store_collect(c, st, sizeof **ret, delivery_row, &cc, delivery_release, (void **)ret,
                          n);
        if (r != -EBADMSG || !cc.bad_id)
            break;
        r = fail_unsealable(c, cc.bad_id, now_ms);
    }
    return store_end(c, r);
}

int sqlite_webhook_attempt_record(struct store *s, const char *owner,
                                  const struct store_webhook_attempt *a)
{
    static const char upd[] =
        "UPDATE webhook_deliveries SET state = ?1, attempts = attempts + 1, next_at_ms = "
        "CASE WHEN ?2 > 0 THEN ?2 ELSE next_at_ms END, lease_owner = NULL, lease_until_ms = "
        "NULL WHERE id = ?3 AND lease_owner = ?4 AND state = 'pending'";
    static const char log[] =
        "INSERT INTO webhook_attempts(delivery_id, hook_id, attempt, at_ms, status_code, error, "
        "duration_ms, next_at_ms) SELECT id, hook_id, ?2, ?3, ?4, ?5, ?6, ?7 FROM "
        "webhook_deliveries WHERE id = ?1";
    static const char prune[] =
        "DELETE FROM webhook_attempts WHERE hook_id = ?1 AND id <= (SELECT id FROM "
        "webhook_attempts WHERE hook_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)";
    int r;
    struct store_conn *c;
    sqlite3_stmt *st = store_begin_stmt(s, upd, &c, &r);
    if (!st)
        return r;
    bind_text(st, 1, webhook_delivery_state_name(a->state));
    sqlite3_bind_int64(st, 2, a->next_at_ms);
    sqlite3_bind_int64(st, 3, a->delivery_id);
    bind_text(st, 4, owner);
    r = store_step_changed(c, st);
    if (r < 0)
        goto out_end_tx;
    st = store_stmt(c, log);
    if (!st) {
        r = -EIO;
        goto out_end_tx;
    }
    sqlite3_bind_int64(st, 1, a->delivery_id);
    sqlite3_bind_int(st, 2, a->attempt);
    sqlite3_bind_int64(st, 3, a->at_ms);
    sqlite3_bind_int(st, 4, a->status_code);
    bind_text(st, 5, a->error[0] ? a->error : NULL);
    sqlite3_bind_int64(st, 6, a->duration_ms);
    bind_time(st, 7, a->next_at_ms);
    r = store_step_done(c, st);
    if (r < 0)
        goto out_end_tx;
    st = store_stmt(c, prune);
    if (!st) {
        r = -EIO;
        goto out_end_tx;
    }
    bind_text(st, 1, a->hook_id);
    sqlite3_bind_int(st, 2, WEBHOOK_ATTEMPTS_KEPT);
    r = store_step_done(c, st);
out_end_tx:
    return store_end(c, r);
}

static int attempt_row(void *ctx, sqlite3_stmt *st, void *out)
{
    (void)ctx;
    struct store_webhook_attempt *a = out;
    a->delivery_id = sqlite3_column_int64(st, 0);
    col_copy(st, 1, a->hook_id, sizeof a->hook_id);
    a->attempt = sqlite3_column_int(st, 2);
    a->at_ms = sqlite3_column_int64(st, 3);
    a->status_code = sqlite3_column_int(st, 4);
    col_copy(st, 5, a->error, sizeof a->error);
    a->duration_ms = sqlite3_column_int64(st, 6);
    a->next_at_ms = col_time(st, 7);
    if (webhook_delivery_state_parse((const char *)sqlite3_column_text(st, 8), &a->state) < 0)
        return -EIO;
    col_copy(st, 9, a->event_id, sizeof a->event_id);
    if (webhook_event_parse((const char *)sqlite3_column_text(st, 10), &a->type) < 0)
        return -EIO;
    return 0;
}

int sqlite_webhook_attempts(struct store *s, const char *tenant_id, const char *hook_id, int limit,
                            struct store_webhook_attempt **ret, size_t *n)
{
    static const char hook[] = "SELECT 1 FROM webhooks WHERE tenant_id = ? AND id = ?";
    static const char sql[] =
        "SELECT a.delivery_id, a.hook_id, a.attempt, a.at_ms, a.status_code, a.error, "
        "a.duration_ms, a.next_at_ms, d.state, d.event_id, e.type FROM webhook_attempts a JOIN "
        "webhook_deliveries d ON d.id = a.delivery_id JOIN webhook_events e ON e.id = d.event_id "
        "WHERE a.hook_id = ? ORDER BY a.id DESC LIMIT ?";
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, hook, &c);
    if (!st)
        return -EIO;
    bind_text(st, 1, tenant_id);
    bind_text(st, 2, hook_id);
    int r = store_step_row(c, st, NULL, NULL, NULL);
    if (r < 0)
        return r;
    st = store_stmt(c, sql);
    if (!st)
        return -EIO;
    bind_text(st, 1, hook_id);
    sqlite3_bind_int(st, 2, limit);
    return store_collect(c, st, sizeof **ret, attempt_row, NULL, NULL, (void **)ret, n);
}

int sqlite_webhook_leases_release(struct store *s, const char *owner)
{
    static const char sql[] = "UPDATE webhook_deliveries SET lease_owner = NULL, lease_until_ms "
                              "= NULL WHERE lease_owner = ? AND state = 'pending'";
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    bind_text(st, 1, owner);
    return store_step_done(c, st);
}

int sqlite_webhook_prune(struct store *s, int64_t before_ms, int *ret_n)
{
    static const char sql[] =
        "DELETE FROM webhook_events WHERE created_at_ms < ? AND NOT EXISTS (SELECT 1 FROM "
        "webhook_deliveries d WHERE d.event_id = webhook_events.id AND d.state = 'pending')";
    struct store_conn *c;
    sqlite3_stmt *st = store_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, before_ms);
    int r = store_step_done(c, st);
    if (r == 0)
        *ret_n = (int)sqlite3_changes(c->db);
    return r;
}
