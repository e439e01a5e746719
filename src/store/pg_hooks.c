/*
 * pg_hooks.c - the PostgreSQL twin of sqlite_hooks.c (webhooks, migration 0015). Claims
 * deliveries with FOR UPDATE SKIP LOCKED: the sender of each node takes other rows.
 */
#include "alloc.h"
#include "pg_int.h"
#include "timefmt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The site of job or grant object_id (by e's family) into out: 0, -ENOENT, -EIO. */
static int object_site(struct pg_session *c, enum webhook_event e, const char *object_id,
                       char out[UUID_STR_LEN])
{
    static const char job[] = "SELECT site_id FROM jobs WHERE id = ?";
    static const char grant[] = "SELECT site_id FROM grants WHERE id = ?";
    struct pg_stmt *st = pg_stmt(c, !strcmp(webhook_event_object(e), "job") ? job : grant);
    if (!st)
        return -EIO;
    pg_bind_text(st, 1, object_id);
    return pg_step_row(c, st, pg_read_id, NULL, out);
}

int pg_webhook_emit(struct pg_session *c, enum webhook_event e, const char *object_id,
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
        "created_at_ms) SELECT ?1::text, s.tenant_id, ?2::text, ?3::text, s.id, ?4::text, "
        "?5::bigint FROM sites s WHERE s.id = ?6 "
        "AND EXISTS (SELECT 1 FROM webhooks h WHERE h.tenant_id = s.tenant_id AND h.enabled = 1 "
        "AND (h.events & ?7::bigint) != 0)";
    static const char deliveries_sql[] =
        "INSERT INTO webhook_deliveries(hook_id, event_id, next_at_ms) SELECT h.id, e.id, "
        "e.created_at_ms FROM webhook_events e JOIN webhooks h ON h.tenant_id = e.tenant_id "
        "WHERE e.id = ?1 AND h.enabled = 1 AND (h.events & ?2::bigint) != 0";
    struct pg_stmt *st = pg_stmt(c, event_sql);
    if (!st)
        return -EIO;
    char id[UUID_STR_LEN];
    uuid_v7(id);
    pg_bind_text(st, 1, id);
    pg_bind_text(st, 2, webhook_event_name(e));
    pg_bind_text(st, 3, object_id);
    pg_bind_text(st, 4, detail);
    pg_bind_int64(st, 5, time_now_ms());
    pg_bind_text(st, 6, site_id);
    pg_bind_int64(st, 7, 1ll << e);
    int r = pg_step_done(c, st);
    if (r < 0 || pg_changes(c) == 0)
        return r;
    st = pg_stmt(c, deliveries_sql);
    if (!st)
        return -EIO;
    pg_bind_text(st, 1, id);
    pg_bind_int64(st, 2, 1ll << e);
    return pg_step_done(c, st);
}

/* One statement for all of ids (a round trip per grant was most of a 1 024-grant batch). */
int pg_webhook_emit_grants(struct pg_session *c, enum webhook_event e, const struct strlist *ids)
{
    static const char sql[] =
        "WITH v AS (SELECT gid, eid, ord FROM unnest(?1::text[], ?2::text[]) WITH ORDINALITY "
        "AS v(gid, eid, ord) WHERE EXISTS (SELECT 1 FROM webhooks WHERE enabled = 1 AND (events "
        "& ?5::bigint) != 0)), ev AS (INSERT INTO webhook_events(id, tenant_id, type, "
        "object_id, site_id, detail, created_at_ms) SELECT v.eid, s.tenant_id, ?3::text, g.id, "
        "s.id, NULL, ?4::bigint FROM v JOIN grants g ON g.id = v.gid JOIN sites s ON s.id = "
        "g.site_id WHERE EXISTS (SELECT 1 FROM webhooks h WHERE h.tenant_id = s.tenant_id AND "
        "h.enabled = 1 AND (h.events & ?5::bigint) != 0) ORDER BY v.ord RETURNING id, "
        "tenant_id, created_at_ms) INSERT INTO webhook_deliveries(hook_id, event_id, "
        "next_at_ms) SELECT h.id, ev.id, ev.created_at_ms FROM ev JOIN v ON v.eid = ev.id JOIN "
        "webhooks h ON h.tenant_id = ev.tenant_id WHERE h.enabled = 1 AND (h.events & "
        "?5::bigint) != 0 ORDER BY v.ord, h.id";
    if (!ids->n)
        return 0;
    struct pg_stmt *st = pg_stmt(c, sql);
    if (!st)
        return -EIO;
    struct strlist eids = {0};
    for (size_t i = 0; i < ids->n; i++) {
        char eid[UUID_STR_LEN];
        uuid_v7(eid);
        strlist_add(&eids, eid);
    }
    char *a = pg_id_array(ids), *b = pg_id_array(&eids);
    pg_bind_text(st, 1, a);
    pg_bind_text(st, 2, b);
    pg_bind_text(st, 3, webhook_event_name(e));
    pg_bind_int64(st, 4, time_now_ms());
    pg_bind_int64(st, 5, 1ll << e);
    free(a);
    free(b);
    strlist_release(&eids);
    return pg_step_done(c, st);
}

int pg_webhook_insert(struct store *s, const struct webhook *h)
{
    static const char sql[] =
        "INSERT INTO webhooks(id, tenant_id, url, events, enabled, secret_sealed, created_at, "
        "updated_at) SELECT ?1::text, ?2::text, ?3::text, ?4::bigint, ?5::bigint, ?6::text, "
        "?7::bigint, ?7::bigint WHERE (SELECT count(*) FROM webhooks WHERE tenant_id = ?2::text) < "
        "?8::bigint";
    struct pg_session *c;
    struct pg_stmt *st = pg_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    char *sealed = store_seal_text(s, h->secret);
    pg_bind_text(st, 1, h->id);
    pg_bind_text(st, 2, h->tenant_id);
    pg_bind_text(st, 3, h->url);
    pg_bind_int64(st, 4, h->events);
    pg_bind_int(st, 5, h->enabled);
    pg_bind_text(st, 6, sealed);
    pg_bind_int64(st, 7, h->created_at);
    pg_bind_int(st, 8, WEBHOOK_MAX_PER_TENANT);
    int r = pg_step_done(c, st);
    free(sealed);
    if (r == 0 && pg_changes(c) == 0)
        r = -EDQUOT;
    return r;
}

#define HOOK_COLUMNS "id, tenant_id, url, events, enabled, created_at, updated_at"

static int hook_row(void *ctx, struct pg_stmt *st, void *out)
{
    (void)ctx;
    struct webhook *h = out;
    pg_col_copy(st, 0, h->id, sizeof h->id);
    pg_col_copy(st, 1, h->tenant_id, sizeof h->tenant_id);
    pg_col_copy(st, 2, h->url, sizeof h->url);
    h->events = (unsigned)pg_column_int64(st, 3);
    h->enabled = pg_column_int(st, 4) != 0;
    h->created_at = pg_column_int64(st, 5);
    h->updated_at = pg_column_int64(st, 6);
    return 0;
}

int pg_webhook_list(struct store *s, const char *tenant_id, struct webhook **ret, size_t *n)
{
    static const char sql[] =
        "SELECT " HOOK_COLUMNS " FROM webhooks WHERE tenant_id = ? ORDER BY created_at, id";
    struct pg_session *c;
    struct pg_stmt *st = pg_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    pg_bind_text(st, 1, tenant_id);
    return pg_collect(c, st, sizeof **ret, hook_row, NULL, NULL, (void **)ret, n);
}

int pg_webhook_get(struct store *s, const char *tenant_id, const char *id, struct webhook *ret)
{
    static const char sql[] =
        "SELECT " HOOK_COLUMNS " FROM webhooks WHERE tenant_id = ? AND id = ?";
    struct pg_session *c;
    struct pg_stmt *st = pg_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    pg_bind_text(st, 1, tenant_id);
    pg_bind_text(st, 2, id);
    memset(ret, 0, sizeof *ret);
    return pg_step_row(c, st, hook_row, NULL, ret);
}

int pg_webhook_update(struct store *s, const struct webhook *h)
{
    static const char sql[] = "UPDATE webhooks SET url = ?1, events = ?2, enabled = ?3, "
                              "updated_at = ?4 WHERE tenant_id = ?5 AND id = ?6";
    struct pg_session *c;
    struct pg_stmt *st = pg_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    pg_bind_text(st, 1, h->url);
    pg_bind_int64(st, 2, h->events);
    pg_bind_int(st, 3, h->enabled);
    pg_bind_int64(st, 4, time_now());
    pg_bind_text(st, 5, h->tenant_id);
    pg_bind_text(st, 6, h->id);
    return pg_step_changed(c, st);
}

int pg_webhook_delete(struct store *s, const char *tenant_id, const char *id)
{
    static const char sql[] = "DELETE FROM webhooks WHERE tenant_id = ? AND id = ?";
    struct pg_session *c;
    struct pg_stmt *st = pg_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    pg_bind_text(st, 1, tenant_id);
    pg_bind_text(st, 2, id);
    return pg_step_changed(c, st);
}

struct claim_ctx {
    struct store *s;
    int64_t bad_id; /* a delivery whose secret did not unseal, 0 when none */
};

static int delivery_row(void *ctx, struct pg_stmt *st, void *out)
{
    struct claim_ctx *cc = ctx;
    struct store_webhook_delivery *d = out;
    char *secret = store_open_text(cc->s, (const char *)pg_column_text(st, 5));
    if (!secret || strlen(secret) >= sizeof d->hook.secret) {
        if (!cc->bad_id)
            cc->bad_id = pg_column_int64(st, 0);
        free(secret);
        return -EBADMSG;
    }
    d->id = pg_column_int64(st, 0);
    d->attempts = pg_column_int(st, 1);
    pg_col_copy(st, 2, d->hook.id, sizeof d->hook.id);
    pg_col_copy(st, 3, d->hook.tenant_id, sizeof d->hook.tenant_id);
    pg_col_copy(st, 4, d->hook.url, sizeof d->hook.url);
    snprintf(d->hook.secret, sizeof d->hook.secret, "%s", secret);
    size_t sl = strlen(secret);
    volatile char *p = secret;
    for (size_t i = 0; i < sl; i++)
        p[i] = 0;
    free(secret);
    pg_col_copy(st, 6, d->event_id, sizeof d->event_id);
    if (webhook_event_parse((const char *)pg_column_text(st, 7), &d->type) < 0)
        d->type = WEBHOOK_EVENT_COUNT;
    pg_col_copy(st, 8, d->object_id, sizeof d->object_id);
    pg_col_copy(st, 9, d->site_id, sizeof d->site_id);
    d->detail = pg_col_strdup(st, 10);
    d->created_at_ms = pg_column_int64(st, 11);
    return 0;
}

static void delivery_release(void *elem)
{
    struct store_webhook_delivery *d = elem;
    webhook_release(&d->hook);
    free(d->detail);
}

/* Fails delivery id (its secret is unreadable) with a line in its log; inside the claim's tx. */
static int fail_unsealable(struct pg_session *c, int64_t id, int64_t now_ms)
{
    static const char upd[] = "UPDATE webhook_deliveries SET state = 'failed', lease_owner = "
                              "NULL, lease_until_ms = NULL WHERE id = ?";
    static const char log[] =
        "INSERT INTO webhook_attempts(delivery_id, hook_id, attempt, at_ms, error) SELECT id, "
        "hook_id, attempts + 1, ?2::bigint, 'the hook''s secret cannot be unsealed (another master "
        "key?)' "
        "FROM webhook_deliveries WHERE id = ?1";
    struct pg_stmt *st = pg_stmt(c, log);
    if (!st)
        return -EIO;
    pg_bind_int64(st, 1, id);
    pg_bind_int64(st, 2, now_ms);
    int r = pg_step_done(c, st);
    if (r < 0)
        return r;
    st = pg_stmt(c, upd);
    if (!st)
        return -EIO;
    pg_bind_int64(st, 1, id);
    return pg_step_done(c, st);
}

int pg_webhook_claim(struct store *s, const char *owner, int64_t now_ms, int64_t lease_ms,
                     int limit, struct store_webhook_delivery **ret, size_t *n)
{
    static const char claim[] =
        "UPDATE webhook_deliveries SET lease_owner = ?1, lease_until_ms = ?2, lease_token = ?5 "
        "WHERE id IN "
        "(SELECT d.id FROM webhook_deliveries d JOIN webhooks h ON h.id = d.hook_id WHERE "
        "d.state = 'pending' AND d.next_at_ms <= ?3 AND (d.lease_until_ms IS NULL OR "
        "d.lease_until_ms < ?3) AND h.enabled = 1 ORDER BY d.next_at_ms, d.id LIMIT ?4 FOR UPDATE "
        "OF "
        "d SKIP LOCKED)";
    static const char read[] =
        "SELECT d.id, d.attempts, h.id, h.tenant_id, h.url, h.secret_sealed, e.id, e.type, "
        "e.object_id, e.site_id, e.detail, e.created_at_ms FROM webhook_deliveries d JOIN "
        "webhooks h ON h.id = d.hook_id JOIN webhook_events e ON e.id = d.event_id WHERE "
        "d.lease_token = ?1 AND d.state = 'pending' ORDER BY "
        "d.next_at_ms, d.id";
    int r;
    struct pg_session *c;
    struct pg_stmt *st = pg_begin_stmt(s, claim, &c, &r);
    if (!st)
        return r;
    int64_t until = now_ms + lease_ms;
    pg_bind_text(st, 1, owner);
    pg_bind_int64(st, 2, until);
    pg_bind_int64(st, 3, now_ms);
    pg_bind_int(st, 4, limit);
    char token[UUID_STR_LEN];
    uuid_v7(token);
    pg_bind_text(st, 5, token);
    r = pg_step_done(c, st);
    for (int tries = 0; r == 0 && tries < limit + 1; tries++) {
        st = pg_stmt(c, read);
        if (!st) {
            r = -EIO;
            break;
        }
        pg_bind_text(st, 1, token);
        struct claim_ctx cc = {.s = s};
        r = pg_collect(c, st, sizeof **ret, delivery_row, &cc, delivery_release, (void **)ret, n);
        if (r != -EBADMSG || !cc.bad_id)
            break;
        r = fail_unsealable(c, cc.bad_id, now_ms);
    }
    return pg_end(c, r);
}

int pg_webhook_attempt_record(struct store *s, const char *owner,
                              const struct store_webhook_attempt *a)
{
    static const char upd[] =
        "UPDATE webhook_deliveries SET state = ?1, attempts = attempts + 1, next_at_ms = "
        "CASE WHEN ?2::bigint > 0 THEN ?2::bigint ELSE next_at_ms END, lease_owner = NULL, "
        "lease_until_ms = "
        "NULL WHERE id = ?3 AND lease_owner = ?4 AND state = 'pending'";
    static const char log[] =
        "INSERT INTO webhook_attempts(delivery_id, hook_id, attempt, at_ms, status_code, error, "
        "duration_ms, next_at_ms) SELECT id, hook_id, ?2::bigint, ?3::bigint, ?4::bigint, "
        "?5::text, "
        "?6::bigint, ?7::bigint FROM "
        "webhook_deliveries WHERE id = ?1";
    static const char prune[] =
        "DELETE FROM webhook_attempts WHERE hook_id = ?1 AND id <= (SELECT id FROM "
        "webhook_attempts WHERE hook_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)";
    int r;
    struct pg_session *c;
    struct pg_stmt *st = pg_begin_stmt(s, upd, &c, &r);
    if (!st)
        return r;
    pg_bind_text(st, 1, webhook_delivery_state_name(a->state));
    pg_bind_int64(st, 2, a->next_at_ms);
    pg_bind_int64(st, 3, a->delivery_id);
    pg_bind_text(st, 4, owner);
    r = pg_step_changed(c, st);
    if (r < 0)
        goto out_end_tx;
    st = pg_stmt(c, log);
    if (!st) {
        r = -EIO;
        goto out_end_tx;
    }
    pg_bind_int64(st, 1, a->delivery_id);
    pg_bind_int(st, 2, a->attempt);
    pg_bind_int64(st, 3, a->at_ms);
    pg_bind_int(st, 4, a->status_code);
    pg_bind_text(st, 5, a->error[0] ? a->error : NULL);
    pg_bind_int64(st, 6, a->duration_ms);
    pg_bind_time(st, 7, a->next_at_ms);
    r = pg_step_done(c, st);
    if (r < 0)
        goto out_end_tx;
    st = pg_stmt(c, prune);
    if (!st) {
        r = -EIO;
        goto out_end_tx;
    }
    pg_bind_text(st, 1, a->hook_id);
    pg_bind_int(st, 2, WEBHOOK_ATTEMPTS_KEPT);
    r = pg_step_done(c, st);
out_end_tx:
    return pg_end(c, r);
}

static int attempt_row(void *ctx, struct pg_stmt *st, void *out)
{
    (void)ctx;
    struct store_webhook_attempt *a = out;
    a->delivery_id = pg_column_int64(st, 0);
    pg_col_copy(st, 1, a->hook_id, sizeof a->hook_id);
    a->attempt = pg_column_int(st, 2);
    a->at_ms = pg_column_int64(st, 3);
    a->status_code = pg_column_int(st, 4);
    pg_col_copy(st, 5, a->error, sizeof a->error);
    a->duration_ms = pg_column_int64(st, 6);
    a->next_at_ms = pg_col_time(st, 7);
    if (webhook_delivery_state_parse((const char *)pg_column_text(st, 8), &a->state) < 0)
        return -EIO;
    pg_col_copy(st, 9, a->event_id, sizeof a->event_id);
    if (webhook_event_parse((const char *)pg_column_text(st, 10), &a->type) < 0)
        return -EIO;
    return 0;
}

int pg_webhook_attempts(struct store *s, const char *tenant_id, const char *hook_id, int limit,
                        struct store_webhook_attempt **ret, size_t *n)
{
    static const char hook[] = "SELECT 1 FROM webhooks WHERE tenant_id = ? AND id = ?";
    static const char sql[] =
        "SELECT a.delivery_id, a.hook_id, a.attempt, a.at_ms, a.status_code, a.error, "
        "a.duration_ms, a.next_at_ms, d.state, d.event_id, e.type FROM webhook_attempts a JOIN "
        "webhook_deliveries d ON d.id = a.delivery_id JOIN webhook_events e ON e.id = d.event_id "
        "WHERE a.hook_id = ? ORDER BY a.id DESC LIMIT ?";
    struct pg_session *c;
    struct pg_stmt *st = pg_prepare(s, hook, &c);
    if (!st)
        return -EIO;
    pg_bind_text(st, 1, tenant_id);
    pg_bind_text(st, 2, hook_id);
    int r = pg_step_row(c, st, NULL, NULL, NULL);
    if (r < 0)
        return r;
    st = pg_stmt(c, sql);
    if (!st)
        return -EIO;
    pg_bind_text(st, 1, hook_id);
    pg_bind_int(st, 2, limit);
    return pg_collect(c, st, sizeof **ret, attempt_row, NULL, NULL, (void **)ret, n);
}

int pg_webhook_leases_release(struct store *s, const char *owner)
{
    static const char sql[] = "UPDATE webhook_deliveries SET lease_owner = NULL, lease_until_ms "
                              "= NULL WHERE lease_owner = ? AND state = 'pending'";
    struct pg_session *c;
    struct pg_stmt *st = pg_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    pg_bind_text(st, 1, owner);
    return pg_step_done(c, st);
}

int pg_webhook_prune(struct store *s, int64_t before_ms, int *ret_n)
{
    static const char sql[] =
        "DELETE FROM webhook_events WHERE created_at_ms < ? AND NOT EXISTS (SELECT 1 FROM "
        "webhook_deliveries d WHERE d.event_id = webhook_events.id AND d.state = 'pending')";
    struct pg_session *c;
    struct pg_stmt *st = pg_prepare(s, sql, &c);
    if (!st)
        return -EIO;
    pg_bind_int64(st, 1, before_ms);
    int r = pg_step_done(c, st);
    if (r == 0)
        *ret_n = (int)pg_changes(c);
    return r;
}
