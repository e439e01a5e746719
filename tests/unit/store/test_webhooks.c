/*
 * test_webhooks.c - webhooks in the store (migration 0015): CRUD and the per-tenant cap, the
 * outbox written with the change (a job's end, a grant's creation and teardown, a site going
 * offline), leased claims (a second owner gets nothing while the lease holds), attempts with
 * backoff and the delivery log, tenant isolation.
 */
/* cmocka.h needs these headers first */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include "alloc.h"
#include "helpers.h"
#include "timefmt.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void hook(struct fx *f, unsigned events, struct webhook *h)
{
    memset(h, 0, sizeof *h);
    uuid_v7(h->id);
    memcpy(h->tenant_id, f->tenant, UUID_STR_LEN);
    snprintf(h->url, sizeof h->url, "https://hooks.example.com/%s", h->id);
    h->events = events;
    h->enabled = true;
    h->created_at = time_now();
    snprintf(h->secret, sizeof h->secret, "whsec_0123456789abcdef0123456789abcdef");
    assert_int_equal(store_webhook_insert(f->s, h), 0);
}

static void test_crud_and_cap(void **state)
{
    struct fx *f = *state;
    struct webhook h, got;
    hook(f, 1u << WEBHOOK_JOB_FAILED, &h);
    assert_int_equal(store_webhook_get(f->s, f->tenant, h.id, &got), 0);
    assert_string_equal(got.url, h.url);
    assert_int_equal(got.events, 1u << WEBHOOK_JOB_FAILED);
    assert_true(got.enabled);
    assert_string_equal(got.secret, ""); /* never read back by the API's calls */
    got.events = WEBHOOK_EVENTS_ALL;
    got.enabled = false;
    assert_int_equal(store_webhook_update(f->s, &got), 0);
    assert_int_equal(store_webhook_get(f->s, f->tenant, h.id, &got), 0);
    assert_int_equal(got.events, WEBHOOK_EVENTS_ALL);
    assert_false(got.enabled);
    /* another tenant sees nothing */
    char other[UUID_STR_LEN];
    assert_int_equal(store_tenant_create(f->s, "other", MGMT, other), 0);
    assert_int_equal(store_webhook_get(f->s, other, h.id, &got), -ENOENT);
    assert_int_equal(store_webhook_delete(f->s, other, h.id), -ENOENT);
    memcpy(got.tenant_id, other, UUID_STR_LEN);
    assert_int_equal(store_webhook_update(f->s, &got), -ENOENT);
    /* the cap */
    for (int i = 1; i < WEBHOOK_MAX_PER_TENANT; i++) {
        struct webhook x;
        hook(f, 1, &x);
    }
    struct webhook y = h;
    uuid_v7(y.id);
    assert_int_equal(store_webhook_insert(f->s, &y), -EDQUOT);
    struct webhook *all = NULL;
    size_t n = 0;
    assert_int_equal(store_webhook_list(f->s, f->tenant, &all, &n), 0);
    assert_int_equal(n, WEBHOOK_MAX_PER_TENANT);
    assert_string_equal(all[0].id, h.id);
    store_webhook_array_free(all, n);
    assert_int_equal(store_webhook_delete(f->s, f->tenant, h.id), 0);
    assert_int_equal(store_webhook_get(f->s, f->tenant, h.id, &got), -ENOENT);
}

/* The deliveries claimable now by owner (freed), as a count; types into types (may be NULL). */
static size_t claim(struct fx *f, const char *owner, int64_t now, enum webhook_event *types,
                    struct store_webhook_delivery **keep)
{
    struct store_webhook_delivery *d = NULL;
    size_t n = 0;
    assert_int_equal(store_webhook_claim(f->s, owner, now, 60000, 16, &d, &n), 0);
    for (size_t i = 0; types && i < n; i++)
        types[i] = d[i].type;
    if (keep)
        *keep = d;
    else
        store_webhook_delivery_array_free(d, n);
    return n;
}

static void test_outbox_with_the_change(void **state)
{
    struct fx *f = *state;
    char site[UUID_STR_LEN], job[UUID_STR_LEN];
    fx_site(f, NULL, "10.99.0.2", true, site, NULL);
    /* no hook: nothing is written */
    fx_job(f, site, true, false, NULL, NULL, job);
    assert_int_equal(store_job_finish(f->s, job, JOB_COMPLETED, "ok"), 0);
    assert_int_equal(claim(f, "n1", time_now_ms(), NULL, NULL), 0);

    struct webhook h, off;
    hook(f,
         (1u << WEBHOOK_JOB_COMPLETED) | (1u << WEBHOOK_JOB_FAILED) | (1u << WEBHOOK_SITE_OFFLINE),
         &h);
    hook(f, WEBHOOK_EVENTS_ALL, &off);
    off.enabled = false;
    assert_int_equal(store_webhook_update(f->s, &off), 0);
    fx_job(f, site, true, false, NULL, NULL, job);
    assert_int_equal(store_job_finish(f->s, job, JOB_FAILED, "router said no"), 0);
    /* finishing twice changes nothing: no second event */
    assert_int_not_equal(store_job_finish(f->s, job, JOB_FAILED, "again"), 0);
    int n;
    assert_int_equal(store_sites_mark_offline(f->s, time_now() + 10, &n), 0);
    assert_int_equal(n, 1);

    struct store_webhook_delivery *d = NULL;
    size_t cnt = claim(f, "n1", time_now_ms(), NULL, &d);
    assert_int_equal(cnt, 2); /* the disabled hook gets nothing */
    assert_int_equal(d[0].type, WEBHOOK_JOB_FAILED);
    assert_string_equal(d[0].object_id, job);
    assert_string_equal(d[0].site_id, site);
    assert_string_equal(d[0].detail, "router said no");
    assert_string_equal(d[0].hook.id, h.id);
    assert_string_equal(d[0].hook.secret, "whsec_0123456789abcdef0123456789abcdef");
    assert_int_equal(d[1].type, WEBHOOK_SITE_OFFLINE);
    assert_string_not_equal(d[0].event_id, d[1].event_id);
    /* leased: neither owner gets them again while the lease holds */
    assert_int_equal(claim(f, "n2", time_now_ms(), NULL, NULL), 0);
    assert_int_equal(claim(f, "n1", time_now_ms(), NULL, NULL), 0);

    /* a failed attempt: pending again at its retry, in the log */
    struct store_webhook_attempt a;
    memset(&a, 0, sizeof a);
    a.delivery_id = d[0].id;
    memcpy(a.hook_id, h.id, UUID_STR_LEN);
    a.attempt = 1;
    a.at_ms = time_now_ms();
    a.status_code = 500;
    snprintf(a.error, sizeof a.error, "HTTP 500");
    a.duration_ms = 3;
    a.state = WEBHOOK_PENDING;
    a.next_at_ms = time_now_ms() + 3600 * 1000;
    assert_int_equal(store_webhook_attempt_record(f->s, "n2", &a), -ENOENT); /* not its lease */
    assert_int_equal(store_webhook_attempt_record(f->s, "n1", &a), 0);
    assert_int_equal(store_webhook_attempt_record(f->s, "n1", &a), -ENOENT); /* released */
    a.delivery_id = d[1].id;
    a.status_code = 204;
    a.error[0] = '\0';
    a.state = WEBHOOK_DELIVERED;
    a.next_at_ms = 0;
    assert_int_equal(store_webhook_attempt_record(f->s, "n1", &a), 0);
    /* the retry is not due yet; an hour later it is, and the delivered one never again */
    assert_int_equal(claim(f, "n2", time_now_ms(), NULL, NULL), 0);
    enum webhook_event t[4];
    assert_int_equal(claim(f, "n2", time_now_ms() + 3601 * 1000, t, NULL), 1);
    assert_int_equal(t[0], WEBHOOK_JOB_FAILED);

    struct store_webhook_attempt *log = NULL;
    size_t ln = 0;
    assert_int_equal(store_webhook_attempts(f->s, f->tenant, h.id, 10, &log, &ln), 0);
    assert_int_equal(ln, 2);
    assert_int_equal(log[0].status_code, 204); /* newest first */
    assert_int_equal(log[0].state, WEBHOOK_DELIVERED);
    assert_int_equal(log[0].next_at_ms, 0);
    assert_int_equal(log[1].status_code, 500);
    assert_string_equal(log[1].error, "HTTP 500");
    assert_int_equal(log[1].type, WEBHOOK_JOB_FAILED);
    assert_string_equal(log[1].event_id, d[0].event_id);
    assert_true(log[1].next_at_ms > 0);
    free(log);
    char other[UUID_STR_LEN];
    assert_int_equal(store_tenant_create(f->s, "other", MGMT, other), 0);
    assert_int_equal(store_webhook_attempts(f->s, other, h.id, 10, &log, &ln), -ENOENT);
    /* the delivered event is pruned once old enough; the pending one stays */
    int pruned = -1;
    assert_int_equal(store_webhook_prune(f->s, time_now_ms() - 60000, &pruned), 0);
    assert_int_equal(pruned, 0);
    assert_int_equal(store_webhook_prune(f->s, time_now_ms() + 1000, &pruned), 0);
    assert_int_equal(pruned, 1);
    assert_int_equal(store_webhook_attempts(f->s, f->tenant, h.id, 10, &log, &ln), 0);
    assert_int_equal(ln, 1); /* the delivered one's attempt went with it */
    assert_int_equal(log[0].status_code, 500);
    free(log);
    store_webhook_delivery_array_free(d, cnt);
}

static void test_grants_and_leases_released(void **state)
{
    struct fx *f = *state;
    char site[UUID_STR_LEN];
    fx_site(f, NULL, "10.99.0.3", true, site, NULL);
    struct webhook h;
    hook(f, WEBHOOK_EVENTS_ALL, &h);
    struct grant g;
    memset(&g, 0, sizeof g);
    uuid_v7(g.id);
    memcpy(g.site_id, site, UUID_STR_LEN);
    g.kind = GRANT_ACCESS;
    g.entry_point = xstrdup("edge-1");
    grant_generate_credential(g.username);
    grant_generate_credential(g.password);
    snprintf(g.access_type, sizeof g.access_type, "winbox");
    snprintf(g.allow_only_cidr, sizeof g.allow_only_cidr, "8.8.8.8/32");
    g.created_at = time_now();
    g.expires_at_ms = time_now_ms() + 3600 * 1000;
    g.created_by = xstrdup("test");
    assert_int_equal(store_grant_insert(f->s, &g, 41000, 41010), 0);
    assert_int_equal(store_grant_conn_open(f->s, g.id, 1, "8.8.8.8", time_now_ms()), 0);
    assert_int_equal(store_grant_conn_open(f->s, g.id, 2, "8.8.8.8", time_now_ms()), 0);
    assert_int_equal(store_grant_teardown(f->s, g.id, true, NULL), 0);
    enum webhook_event t[8];
    assert_int_equal(claim(f, "n1", time_now_ms(), t, NULL), 3);
    assert_int_equal(t[0], WEBHOOK_GRANT_CREATED);
    assert_int_equal(t[1], WEBHOOK_GRANT_AUTHORIZED); /* the first connection only */
    assert_int_equal(t[2], WEBHOOK_GRANT_REVOKED);
    /* a restarted n1 frees its leases: due again at once */
    assert_int_equal(claim(f, "n1", time_now_ms(), NULL, NULL), 0);
    assert_int_equal(store_webhook_leases_release(f->s, "n1"), 0);
    assert_int_equal(claim(f, "n1", time_now_ms(), NULL, NULL), 3);
    /* pruning keeps events with a pending delivery, and what is younger */
    int n = -1;
    assert_int_equal(store_webhook_prune(f->s, time_now_ms() + 1000, &n), 0);
    assert_int_equal(n, 0);
    /* deleting the hook drops its deliveries */
    assert_int_equal(store_webhook_delete(f->s, f->tenant, h.id), 0);
    assert_int_equal(store_webhook_leases_release(f->s, "n1"), 0);
    assert_int_equal(claim(f, "n1", time_now_ms(), NULL, NULL), 0);
    grant_release(&g);
}

/* The scheduler's batch (store_grants_expire_many): one grant.expired event per grant, in order. */
static void test_expired_batch(void **state)
{
    struct fx *f = *state;
    char site[UUID_STR_LEN];
    fx_site(f, NULL, "10.99.0.4", true, site, NULL);
    struct strlist gids = {0}, jids = {0};
    for (int i = 0; i < 3; i++) {
        struct grant g;
        memset(&g, 0, sizeof g);
        uuid_v7(g.id);
        memcpy(g.site_id, site, UUID_STR_LEN);
        g.kind = GRANT_FORWARD;
        g.entry_point = xstrdup("edge-1");
        snprintf(g.dst_address, sizeof g.dst_address, "192.168.88.2");
        g.dst_port = 22;
        snprintf(g.allow_only_cidr, sizeof g.allow_only_cidr, "8.8.8.8/32");
        g.created_at = time_now();
        g.expires_at_ms = time_now_ms() - 1000;
        g.created_by = xstrdup("test");
        assert_int_equal(store_grant_insert(f->s, &g, 42000, 42010), 0);
        strlist_add(&gids, g.id);
        char job[UUID_STR_LEN];
        uuid_v7(job);
        strlist_add(&jids, job);
        grant_release(&g);
    }
    /* no hook yet: nothing in the outbox */
    assert_int_equal(store_tx_begin(f->s), 0);
    struct strlist first = {0};
    strlist_add(&first, gids.items[0]);
    struct strlist first_job = {0};
    strlist_add(&first_job, jids.items[0]);
    assert_int_equal(store_grants_expire_many(f->s, "n1", &first, &first_job), 0);
    assert_int_equal(store_tx_end(f->s, 0), 0);
    struct webhook expired, sites;
    hook(f, 1u << WEBHOOK_GRANT_EXPIRED, &expired);
    hook(f, 1u << WEBHOOK_SITE_ONLINE, &sites);
    assert_int_equal(claim(f, "n1", time_now_ms(), NULL, NULL), 0);
    /* two grants at once: two events, one delivery each (the subscribed hook only) */
    struct strlist rest = {0}, rest_jobs = {0};
    for (size_t i = 1; i < 3; i++) {
        strlist_add(&rest, gids.items[i]);
        strlist_add(&rest_jobs, jids.items[i]);
    }
    assert_int_equal(store_tx_begin(f->s), 0);
    assert_int_equal(store_grants_expire_many(f->s, "n1", &rest, &rest_jobs), 0);
    assert_int_equal(store_tx_end(f->s, 0), 0);
    struct store_webhook_delivery *d = NULL;
    size_t n = 0;
    assert_int_equal(store_webhook_claim(f->s, "n1", time_now_ms(), 60000, 16, &d, &n), 0);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(d[i].type, WEBHOOK_GRANT_EXPIRED);
        assert_string_equal(d[i].object_id, rest.items[i]);
        assert_string_equal(d[i].site_id, site);
        assert_string_equal(d[i].hook.id, expired.id);
    }
    assert_string_not_equal(d[0].event_id, d[1].event_id);
    store_webhook_delivery_array_free(d, n);
    strlist_release(&gids);
    strlist_release(&jids);
    strlist_release(&first);
    strlist_release(&first_job);
    strlist_release(&rest);
    strlist_release(&rest_jobs);
}

static void test_tunnel_and_site_changes(void **state)
{
    struct fx *f = *state;
    char site[UUID_STR_LEN];
    fx_site(f, NULL, "10.99.0.4", true, site, NULL);
    struct webhook h;
    hook(f, WEBHOOK_EVENTS_ALL, &h);
    int64_t hs = time_now();
    /* a status change is an event, the same status observed again is not */
    assert_int_equal(store_vpn_peer_observed(f->s, site, "192.0.2.1:5000", hs, 1, 2, TUNNEL_UP), 0);
    assert_int_equal(store_vpn_peer_observed(f->s, site, "192.0.2.1:5000", hs, 3, 4, TUNNEL_UP), 0);
    assert_int_equal(store_vpn_peer_observed(f->s, site, "", 0, 3, 4, TUNNEL_DOWN), 0);
    /* offline, then a heartbeat: online again (once) */
    int n;
    assert_int_equal(store_sites_mark_offline(f->s, time_now() + 10, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(store_site_heartbeat(f->s, site, time_now()), 1);
    assert_int_equal(store_site_heartbeat(f->s, site, time_now()), 0);
    enum webhook_event t[8];
    assert_int_equal(claim(f, "n1", time_now_ms(), t, NULL), 4);
    assert_int_equal(t[0], WEBHOOK_TUNNEL_UP);
    assert_int_equal(t[1], WEBHOOK_TUNNEL_DOWN);
    assert_int_equal(t[2], WEBHOOK_SITE_OFFLINE);
    assert_int_equal(t[3], WEBHOOK_SITE_ONLINE);
}

#define RACE_THREADS 4
#define RACE_EVENTS 40

struct racer {
    struct store *s;
    char owner[16];
    int64_t ids[RACE_EVENTS];
    size_t n;
    int lost;
};

/* Claims and delivers until nothing is left (a node's sender, without the HTTP). */
static void *race(void *arg)
{
    struct racer *rc = arg;
    for (;;) {
        struct store_webhook_delivery *d = NULL;
        size_t n = 0;
        if (store_webhook_claim(rc->s, rc->owner, time_now_ms(), 60000, 3, &d, &n) < 0)
            break;
        for (size_t i = 0; i < n && rc->n < RACE_EVENTS; i++) {
            struct store_webhook_attempt a;
            memset(&a, 0, sizeof a);
            a.delivery_id = d[i].id;
            memcpy(a.hook_id, d[i].hook.id, UUID_STR_LEN);
            a.attempt = 1;
            a.at_ms = time_now_ms();
            a.status_code = 200;
            a.state = WEBHOOK_DELIVERED;
            rc->ids[rc->n++] = d[i].id; /* claimed: this node would send it */
            if (store_webhook_attempt_record(rc->s, rc->owner, &a) < 0)
                rc->lost++; /* its lease was taken: checked by the main thread (cmocka) */
        }
        store_webhook_delivery_array_free(d, n);
        if (n == 0)
            break;
    }
    store_thread_done(rc->s);
    return NULL;
}

/* Several senders (nodes) at once: each delivery is claimed (sent) by one of them only. */
static void test_concurrent_claims(void **state)
{
    struct fx *f = *state;
    char site[UUID_STR_LEN], job[UUID_STR_LEN];
    fx_site(f, NULL, "10.99.0.5", true, site, NULL);
    struct webhook h;
    hook(f, 1u << WEBHOOK_JOB_COMPLETED, &h);
    for (int i = 0; i < RACE_EVENTS; i++) {
        fx_job(f, site, false, false, NULL, NULL, job);
        assert_int_equal(store_job_finish(f->s, job, JOB_COMPLETED, "ok"), 0);
    }
    struct racer r[RACE_THREADS];
    pthread_t th[RACE_THREADS];
    for (int i = 0; i < RACE_THREADS; i++) {
        memset(&r[i], 0, sizeof r[i]);
        r[i].s = f->s;
        snprintf(r[i].owner, sizeof r[i].owner, "node-%d", i);
        assert_int_equal(pthread_create(&th[i], NULL, race, &r[i]), 0);
    }
    int64_t all[RACE_EVENTS * RACE_THREADS];
    size_t n = 0;
    for (int i = 0; i < RACE_THREADS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(r[i].lost, 0);
        for (size_t k = 0; k < r[i].n; k++)
            all[n++] = r[i].ids[k];
    }
    assert_int_equal(n, RACE_EVENTS);
    for (size_t i = 0; i < n; i++)
        for (size_t k = i + 1; k < n; k++)
            assert_true(all[i] != all[k]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_crud_and_cap, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_outbox_with_the_change, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_grants_and_leases_released, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_expired_batch, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_tunnel_and_site_changes, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_claims, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
