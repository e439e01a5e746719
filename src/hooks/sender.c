/*
 * sender.c - the webhook sender: one thread that claims due deliveries from the store's
 * outbox under a lease (so that one node sends each), POSTs each signed event with libcurl
 * and records the attempt, with its retry at exponential backoff, in the store (state
 * survives restarts). At-least-once: a node that dies after the receiver's answer and
 * before the record sends again when the lease has expired; receivers dedupe by event id.
 */
#include "alloc.h"
#include "clock.h"
#include "hooks.h"
#include "log.h"
#include "timefmt.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLAIM_BATCH 4
#define PRUNE_EVERY_MS (5 * 60 * 1000)
#define RESPONSE_CAP 4096 /* bytes of a receiver's answer read (and dropped) */

struct hooks_sender {
    struct hooks_sender_config cfg;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
};

static size_t discard(char *p, size_t size, size_t n, void *ctx)
{
    (void)p;
    size_t *got = ctx;
    *got += size * n;
    return *got > RESPONSE_CAP ? 0 : size * n; /* a longer answer ends the transfer */
}

/* One POST of d; fills a (status_code, error, duration_ms). */
static void post(const struct hooks_sender *h, const struct store_webhook_delivery *d,
                 struct store_webhook_attempt *a)
{
    char addr[64], host[256];
    int port;
    int r = hooks_url_resolve(d->hook.url, h->cfg.allow_private, addr, host, &port);
    if (r < 0) {
        snprintf(a->error, sizeof a->error, "%s",
                 r == -EPERM          ? "the URL resolves to a refused address (SSRF check)"
                 : r == -EHOSTUNREACH ? "the host does not resolve"
                                      : "the URL is invalid");
        return;
    }
    char *body = hooks_body(d);
    char sig[HOOKS_SIG_MAX];
    hooks_sign(d->hook.secret, time_now(), body, strlen(body), sig);
    char sig_h[HOOKS_SIG_MAX + 32], id_h[UUID_STR_LEN + 32], ev_h[64], pin[400];
    snprintf(sig_h, sizeof sig_h, HOOKS_SIGNATURE_HEADER ": %s", sig);
    snprintf(id_h, sizeof id_h, "Tikgate-Event-Id: %s", d->event_id);
    snprintf(ev_h, sizeof ev_h, "Tikgate-Event: %s", webhook_event_name(d->type));
    /* connect to the address just checked, not to a second resolution (DNS rebinding) */
    bool v6 = strchr(addr, ':') != NULL;
    snprintf(pin, sizeof pin, "%s:%d:%s%s%s", host, port, v6 ? "[" : "", addr, v6 ? "]" : "");
    struct curl_slist *hdrs = NULL;
    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    hdrs = curl_slist_append(hdrs, sig_h);
    hdrs = curl_slist_append(hdrs, id_h);
    hdrs = curl_slist_append(hdrs, ev_h);
    hdrs = curl_slist_append(hdrs, "User-Agent: tikgate-webhooks/1");
    hdrs = curl_slist_append(hdrs, "Expect:");
    struct curl_slist *resolve = curl_slist_append(NULL, pin);
    CURL *c = curl_easy_init();
    if (!c || !hdrs || !resolve) {
        snprintf(a->error, sizeof a->error, "out of memory");
        goto out_free;
    }
    size_t got = 0;
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, d->hook.url);
    curl_easy_setopt(c, CURLOPT_RESOLVE, resolve);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)h->cfg.timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)h->cfg.timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L); /* a redirect is not followed */
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &got);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    CURLcode rc = curl_easy_perform(c);
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    a->status_code = (int)code;
    if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && code > 0))
        snprintf(a->error, sizeof a->error, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
    else if (code < 200 || code > 299)
        snprintf(a->error, sizeof a->error, "HTTP %ld", code);
out_free:
    curl_easy_cleanup(c);
    curl_slist_free_all(hdrs);
    curl_slist_free_all(resolve);
    free(body);
}

/* Sends d and records the attempt with its outcome. */
static void deliver(struct hooks_sender *h, const struct store_webhook_delivery *d)
{
    struct store_webhook_attempt a;
    memset(&a, 0, sizeof a);
    a.delivery_id = d->id;
    snprintf(a.hook_id, sizeof a.hook_id, "%s", d->hook.id);
    a.attempt = d->attempts + 1;
    a.at_ms = time_now_ms();
    int64_t t0 = clock_mono_ms();
    if (d->type >= WEBHOOK_EVENT_COUNT)
        snprintf(a.error, sizeof a.error, "unknown event type");
    else
        post(h, d, &a);
    int64_t now = time_now_ms();
    a.duration_ms = clock_mono_ms() - t0;
    if (!a.error[0]) {
        a.state = WEBHOOK_DELIVERED;
    } else if (a.attempt >= h->cfg.max_attempts) {
        a.state = WEBHOOK_FAILED;
    } else {
        a.state = WEBHOOK_PENDING;
        a.next_at_ms =
            now + webhook_backoff_ms(a.attempt, h->cfg.backoff_ms, h->cfg.backoff_max_ms);
    }
    int r = store_webhook_attempt_record(h->cfg.store, h->cfg.node_name, &a);
    if (r < 0)
        log_warn("hooks", "delivery %lld of event %s: cannot record the attempt: %s",
                 (long long)d->id, d->event_id, strerror(-r));
    else if (a.state != WEBHOOK_DELIVERED)
        log_info("hooks", "event %s to hook %s: attempt %d failed (%s)%s", d->event_id, d->hook.id,
                 a.attempt, a.error, a.state == WEBHOOK_FAILED ? ", giving up" : "");
}

static bool stopping(struct hooks_sender *h)
{
    pthread_mutex_lock(&h->mu);
    bool s = h->stop;
    pthread_mutex_unlock(&h->mu);
    return s;
}

static void *run(void *arg)
{
    struct hooks_sender *h = arg;
    /* the lease: long enough for a whole batch, each attempt bounded by timeout_ms */
    int64_t lease_ms = h->cfg.timeout_ms * (CLAIM_BATCH + 1) + 5000;
    int r = store_webhook_leases_release(h->cfg.store, h->cfg.node_name);
    if (r < 0)
        log_warn("hooks", "cannot release this node's earlier leases: %s", strerror(-r));
    int64_t next_prune = 0;
    while (!stopping(h)) {
        if (clock_mono_ms() >= next_prune) { /* every few minutes: old finished events go */
            int pruned = 0;
            if (store_webhook_prune(h->cfg.store, time_now_ms() - h->cfg.retention_ms, &pruned) ==
                    0 &&
                pruned)
                log_info("hooks", "deleted %d webhook events older than the retention", pruned);
            next_prune = clock_mono_ms() + PRUNE_EVERY_MS;
        }
        struct store_webhook_delivery *ds = NULL;
        size_t n = 0;
        r = store_webhook_claim(h->cfg.store, h->cfg.node_name, time_now_ms(), lease_ms,
                                CLAIM_BATCH, &ds, &n);
        if (r < 0)
            log_warn("hooks", "cannot claim deliveries: %s", strerror(-r));
        for (size_t i = 0; i < n && !stopping(h); i++)
            deliver(h, &ds[i]);
        store_webhook_delivery_array_free(ds, n);
        if (n == CLAIM_BATCH)
            continue;
        pthread_mutex_lock(&h->mu);
        int64_t until = clock_mono_ms() + h->cfg.poll_ms;
        while (!h->stop && clock_cond_wait_until_ms(&h->cv, &h->mu, until) == 0)
            ;
        pthread_mutex_unlock(&h->mu);
    }
    store_thread_done(h->cfg.store);
    return NULL;
}

int hooks_sender_start(const struct hooks_sender_config *cfg, struct hooks_sender **ret)
{
    struct hooks_sender *h = xcalloc(1, sizeof *h);
    h->cfg = *cfg;
    pthread_mutex_init(&h->mu, NULL);
    int r = clock_cond_init(&h->cv);
    if (r < 0)
        goto out_free;
    r = -pthread_create(&h->thread, NULL, run, h);
    if (r < 0) {
        pthread_cond_destroy(&h->cv);
        goto out_free;
    }
    *ret = h;
    return 0;
out_free:
    pthread_mutex_destroy(&h->mu);
    free(h);
    return r;
}

void hooks_sender_stop(struct hooks_sender *h)
{
    if (!h)
        return;
    pthread_mutex_lock(&h->mu);
    h->stop = true;
    pthread_cond_signal(&h->cv);
    pthread_mutex_unlock(&h->mu);
    pthread_join(h->thread, NULL);
    pthread_cond_destroy(&h->cv);
    pthread_mutex_destroy(&h->mu);
    free(h);
}
