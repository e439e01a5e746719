#include "edge_role.h"

#include "alloc.h"
#include "cidr.h"
#include "clock.h"
#include "edge.h"
#include "idhash.h"
#include "log.h"
#include "strlist.h"
#include "target.h"
#include "timefmt.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct record {
    bool open;          /* a START (accepted) rather than an END */
    bool with_start;    /* an END written by its START's row (pair_records) */
    struct record *end; /* a START: its END in the same batch, written as one row */
    char ref[24];       /* conn_ref in hex: the key of hn while pair_records() runs */
    struct idhash_node hn;
    char grant_id[EDGE_ID_MAX + 1];
    struct grant_connection conn;
    struct record *next;
};

/*
 * Refused/limited connections of one grant, outcome and source in the current interval
 * (key "grant outcome source"), or, keyed "grant outcome" without a source (counter), the
 * number of sources already summed apart for that grant and outcome (AGG_SOURCES at most).
 */
struct refusal {
    struct idhash_node hn;
    char key[EDGE_ID_MAX + 16 + EDGE_ADDR_STR_LEN];
    char grant_id[EDGE_ID_MAX + 1];
    struct grant_connection conn; /* source, outcome, first/last time, count */
    unsigned nsources;            /* (the per-grant entry) */
    bool counter;                 /* the per-grant entry: not written */
    struct refusal *next;         /* every entry of the interval */
};

#define AGG_SOURCES 16 /* sources summed apart per grant, outcome and interval; then "*" */
#define AGG_MAX 16384  /* entries per interval (all grants); beyond, counted as lost */
#define PRUNE_EVERY_MS 60000

struct edge_role {
    struct edge_role_config cfg;
    struct edge *edge;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stopping;
    bool woken;             /* grants changed: reconcile */
    bool records_pending;   /* connection records to write */
    struct record *records; /* queued by the relay thread, newest first */
    size_t nrecords;
    struct strlist refused; /* grants whose target failed the re-check (role thread only) */
    /* refused/limited connections of the interval (under lock) */
    struct idhash agg;
    struct refusal *agg_list;
    int64_t agg_since;        /* monotonic ms of the interval's first refusal, 0 = none */
    uint64_t agg_lost;        /* refusals beyond AGG_MAX (logged at the flush) */
    uint64_t records_dropped; /* records not queued: the queue was full (under lock) */
    uint64_t records_dropped_total;
    /* The store's reachability, as the role thread last saw it (role thread only). */
    int64_t store_down_since;     /* monotonic ms of the first failed read, 0 = reachable */
    uint64_t unconfirmed_at_hold; /* edge_stats.unconfirmed when the hold began */
    _Atomic bool store_down;      /* for the metrics */
};

/*
 * The queue of connection records (while the store is unreachable it is the buffer): a START
 * is queued while fewer than MAX_QUEUED_RECORDS records wait, an END until twice that (its
 * START may have been written or dropped: an END alone writes the whole record, so the START
 * is what goes first). Beyond, records are dropped, counted and logged at the next flush.
 */
#define MAX_QUEUED_RECORDS 100000

/* The entry of key, created (empty, count 0) when missing and room is left; under lock. */
static struct refusal *agg_get(struct edge_role *er, const char *key, const char *grant_id,
                               bool counter)
{
    struct idhash_node *n = idhash_find(&er->agg, key);
    if (n)
        return (struct refusal *)(void *)((char *)n - offsetof(struct refusal, hn));
    if (er->agg.n >= AGG_MAX)
        return NULL;
    struct refusal *a = xcalloc(1, sizeof *a);
    snprintf(a->key, sizeof a->key, "%s", key);
    snprintf(a->grant_id, sizeof a->grant_id, "%s", grant_id);
    a->counter = counter;
    a->hn.id = a->key;
    idhash_insert(&er->agg, &a->hn);
    a->next = er->agg_list;
    er->agg_list = a;
    return a;
}

/*
 * Relay thread: sums a refused or limited connection into its interval's entry (the
 * address without the port; "*" once AGG_SOURCES sources of that grant are summed apart).
 */
static void agg_refusal(struct edge_role *er, const struct edge_event *ev)
{
    const char *outcome = ev->reason == EDGE_END_LIMITED ? "limited" : "refused";
    char src[EDGE_ADDR_STR_LEN];
    snprintf(src, sizeof src, "%s", ev->src_str ? ev->src_str : "?");
    char *colon = strrchr(src, ':'); /* "1.2.3.4:port", "[v6]:port" */
    if (colon && colon != src)
        *colon = '\0';
    char key[sizeof((struct refusal *)0)->key];
    pthread_mutex_lock(&er->lock);
    snprintf(key, sizeof key, "%s %s", ev->grant_id, outcome);
    struct refusal *per_grant = agg_get(er, key, ev->grant_id, true);
    snprintf(key, sizeof key, "%s %s %s", ev->grant_id, outcome, src);
    struct refusal *a =
        idhash_find(&er->agg, key) || !per_grant || per_grant->nsources < AGG_SOURCES
            ? agg_get(er, key, ev->grant_id, false)
            : NULL;
    if (!a && per_grant) { /* too many sources: the rest under "*" */
        snprintf(key, sizeof key, "%s %s *", ev->grant_id, outcome);
        snprintf(src, sizeof src, "*");
        a = agg_get(er, key, ev->grant_id, false);
    }
    if (a) {
        if (a->conn.count == 0) {
            if (per_grant)
                per_grant->nsources++;
            snprintf(a->conn.source, sizeof a->conn.source, "%s", src);
            snprintf(a->conn.outcome, sizeof a->conn.outcome, "%s", outcome);
            a->conn.started_ms = ev->start_ms;
        }
        a->conn.ended_ms = ev->end_ms;
        a->conn.count++;
        if (!er->agg_since)
            er->agg_since = clock_mono_ms();
    } else {
        er->agg_lost++;
    }
    pthread_mutex_unlock(&er->lock);
}

/* Relay thread: must not block. Records are queued for the role's thread. */
static void on_event(void *userdata, const struct edge_event *ev)
{
    struct edge_role *er = userdata;
    if (ev->type == EDGE_EV_GRANT_EXPIRED) {
        edge_role_wake(er);
        return;
    }
    if (ev->type != EDGE_EV_CONN_END && ev->type != EDGE_EV_CONN_START)
        return;
    if (ev->type == EDGE_EV_CONN_END && ev->reason == EDGE_END_UNCONFIRMED)
        return; /* counted by the relay (tikgate_edge_unconfirmed_total), logged at the end */
    if (ev->type == EDGE_EV_CONN_END &&
        (ev->reason == EDGE_END_REFUSED || ev->reason == EDGE_END_LIMITED)) {
        agg_refusal(er, ev); /* F8: summed, written once per interval */
        return;
    }
    struct record *r = xcalloc(1, sizeof *r);
    r->open = ev->type == EDGE_EV_CONN_START;
    r->conn.conn_ref = ev->conn_id;
    snprintf(r->grant_id, sizeof r->grant_id, "%s", ev->grant_id);
    snprintf(r->conn.source, sizeof r->conn.source, "%s", ev->src_str ? ev->src_str : "?");
    r->conn.started_ms = ev->start_ms;
    r->conn.ended_ms = ev->end_ms;
    r->conn.bytes_in = ev->bytes_c2t;
    r->conn.bytes_out = ev->bytes_t2c;
    const char *outcome = edge_end_reason_str(ev->reason);
    snprintf(r->conn.outcome, sizeof r->conn.outcome, "%s", outcome);
    pthread_mutex_lock(&er->lock);
    if (er->nrecords < (r->open ? MAX_QUEUED_RECORDS : 2 * MAX_QUEUED_RECORDS)) {
        r->next = er->records;
        er->records = r;
        er->nrecords++;
        r = NULL;
    } else {
        er->records_dropped++;
        er->records_dropped_total++;
    }
    if (!er->records_pending) { /* one wake-up per batch, not per connection */
        er->records_pending = true;
        pthread_cond_signal(&er->cond);
    }
    pthread_mutex_unlock(&er->lock);
    free(r); /* dropped: the queue is full (the store is far behind) */
}

/*
 * Pairs, in a batch ordered oldest first, each END with the START of the same connection when
 * both are there: the START then writes the whole connection as one row (an insert instead of
 * an insert and an update: most relayed connections open and end within one 20 ms batch, and
 * two row writes per connection cost the role thread as much CPU as a quarter of the relay's).
 */
static void pair_records(struct record *ordered, size_t n)
{
    struct idhash starts; /* the batch's STARTs by conn_ref */
    idhash_init(&starts, n);
    for (struct record *r = ordered; r; r = r->next) {
        r->end = NULL;
        r->with_start = false;
        if (!r->conn.conn_ref)
            continue;
        snprintf(r->ref, sizeof r->ref, "%llx", (unsigned long long)r->conn.conn_ref);
        struct idhash_node *hn = idhash_find(&starts, r->ref);
        struct record *start =
            hn ? (struct record *)(void *)((char *)hn - offsetof(struct record, hn)) : NULL;
        if (r->open && !start) { /* conn_refs are unique: a second START stays unpaired */
            r->hn.id = r->ref;
            idhash_insert(&starts, &r->hn);
        } else if (!r->open && start && !start->end && !strcmp(start->grant_id, r->grant_id)) {
            start->end = r;
            r->with_start = true;
        }
    }
    idhash_release(&starts);
}

/* Writes one connection record (none for an END paired with its START): 0 or -errno. */
static int write_record(struct edge_role *er, const struct record *rec)
{
    if (rec->open && rec->end)
        return store_grant_conn_whole(er->cfg.store, rec->grant_id, &rec->end->conn);
    if (rec->open)
        return store_grant_conn_open(er->cfg.store, rec->grant_id, rec->conn.conn_ref,
                                     rec->conn.source, rec->conn.started_ms);
    if (rec->with_start)
        return 0;
    return store_grant_conn_insert(er->cfg.store, rec->grant_id, &rec->conn);
}

/* The store failed with r and is not reachable: from now on the grace period runs. */
static void store_lost(struct edge_role *er, int r)
{
    if (er->store_down_since)
        return;
    er->store_down_since = clock_mono_ms();
    atomic_store(&er->store_down, true);
    log_warn("edge",
             "the store is unreachable (%s): deadlines are kept, connection records queued; "
             "new connections are refused after %lld ms without it",
             strerror(-r), (long long)er->cfg.store_grace_ms);
}

/*
 * Puts back ordered (oldest first), the records of a write that failed because the store
 * went away, behind the ones queued since (they are older).
 */
static void requeue_records(struct edge_role *er, struct record *ordered)
{
    struct record *newest_first = NULL;
    size_t n = 0;
    while (ordered) {
        struct record *next = ordered->next;
        ordered->next = newest_first;
        newest_first = ordered;
        ordered = next;
        n++;
    }
    pthread_mutex_lock(&er->lock);
    struct record **tail = &er->records;
    while (*tail)
        tail = &(*tail)->next;
    *tail = newest_first;
    er->nrecords += n;
    pthread_mutex_unlock(&er->lock);
}

/*
 * Writes the queued connection records, oldest first, in one transaction. When that
 * transaction fails because the store is unreachable, they are put back (written when it
 * returns); when it fails otherwise (one bad record dooms it), each record is written again
 * on its own, so one failure costs one record, and every record that could not be written is
 * logged with the store's reason: connection records are the audit trail. Nothing is written
 * while the store is known to be unreachable.
 */
static void flush_records(struct edge_role *er)
{
    if (er->store_down_since)
        return;
    pthread_mutex_lock(&er->lock);
    struct record *list = er->records;
    uint64_t dropped = er->records_dropped;
    er->records = NULL;
    er->nrecords = 0;
    er->records_dropped = 0;
    pthread_mutex_unlock(&er->lock);
    if (dropped)
        log_error("edge",
                  "%llu connection record(s) lost: the queue was full (%d records) while the "
                  "store was unreachable",
                  (unsigned long long)dropped, MAX_QUEUED_RECORDS);
    /* Reverse to write oldest first. */
    struct record *ordered = NULL;
    size_t n_ordered = 0;
    while (list) {
        struct record *n = list->next;
        list->next = ordered;
        ordered = list;
        list = n;
        n_ordered++;
    }
    if (!ordered)
        return;
    pair_records(ordered, n_ordered);
    int r = store_tx_begin(er->cfg.store);
    if (r == 0) {
        for (struct record *rec = ordered; r == 0 && rec; rec = rec->next)
            r = write_record(er, rec);
        r = store_tx_end(er->cfg.store, r);
    }
    if (r < 0 && (store_connection_lost(er->cfg.store) || !store_reachable(er->cfg.store))) {
        requeue_records(er, ordered);
        store_lost(er, r);
        return;
    }
    bool retry = r < 0;
    if (retry)
        log_warn("edge", "connection records: the batch failed (%s); writing them one by one",
                 strerror(-r));
    while (ordered) {
        struct record *n = ordered->next;
        if (retry && (r = write_record(er, ordered)) < 0)
            log_error("edge", "connection record of grant %s lost: %s", ordered->grant_id,
                      strerror(-r));
        free(ordered);
        ordered = n;
    }
}

/*
 * Writes the interval's summed refusals (one record per grant, outcome and source, capped per
 * grant by the store) in one transaction; each failure is logged: they are the audit trail.
 */
static void flush_refusals(struct edge_role *er)
{
    pthread_mutex_lock(&er->lock);
    struct refusal *list = er->agg_list;
    uint64_t lost = er->agg_lost;
    er->agg_list = NULL;
    er->agg_since = 0;
    er->agg_lost = 0;
    idhash_release(&er->agg);
    idhash_init(&er->agg, 64);
    pthread_mutex_unlock(&er->lock);
    if (lost)
        log_warn("edge",
                 "%llu refused connection(s) not recorded: more than %d grant/source "
                 "pairs in one interval",
                 (unsigned long long)lost, AGG_MAX);
    if (!list)
        return;
    unsigned cap = er->cfg.refused.records_per_grant;
    int r = store_tx_begin(er->cfg.store);
    for (struct refusal *a = list; r == 0 && a; a = a->next)
        if (!a->counter && a->conn.count)
            r = store_grant_conn_refused(er->cfg.store, a->grant_id, &a->conn, cap);
    r = store_tx_end(er->cfg.store, r);
    bool retry = r < 0;
    while (list) {
        struct refusal *n = list->next;
        if (retry && !list->counter && list->conn.count &&
            (r = store_grant_conn_refused(er->cfg.store, list->grant_id, &list->conn, cap)) < 0)
            log_error("edge", "%llu refused connection(s) of grant %s not recorded: %s",
                      (unsigned long long)list->conn.count, list->grant_id, strerror(-r));
        free(list);
        list = n;
    }
}

void edge_role_diff(const char *const *live, size_t nlive, const char *const *open, size_t nopen,
                    size_t *ret_match, bool *ret_close)
{
    struct idhash by_id;
    struct idhash_node *nodes = nopen ? xcalloc(nopen, sizeof(*nodes)) : NULL;
    idhash_init(&by_id, nopen);
    for (size_t k = 0; k < nopen; k++) {
        nodes[k].id = open[k];
        idhash_insert(&by_id, &nodes[k]);
        ret_close[k] = true;
    }
    for (size_t i = 0; i < nlive; i++) {
        struct idhash_node *n = idhash_find(&by_id, live[i]);
        ret_match[i] = n ? (size_t)(n - nodes) : SIZE_MAX;
        if (n)
            ret_close[n - nodes] = false;
    }
    idhash_release(&by_id);
    free(nodes);
}

/* The relay's allow-list of g: allow_only_cidr, plus the RFC 1918 networks when asked. */
static size_t grant_allow(const struct grant *g, struct cidr allow[EDGE_ALLOW_MAX])
{
    size_t n = 0;
    if (cidr_parse(g->allow_only_cidr, CIDR_MASK_HOST_BITS, &allow[n]) == 0)
        n++;
    if (g->allow_rfc1918)
        for (size_t i = 0; i < CIDR_RFC1918_COUNT && n < EDGE_ALLOW_MAX; i++)
            allow[n++] = cidr_rfc1918[i];
    return n;
}

/*
 * Level-triggered: opens the live grants of our entry point that the relay does
 * not have, updates those whose deadline or rate limit changed, closes what is
 * open but no longer live. Errors are logged; the next round retries. Returns the
 * store's -errno when the live grants could not be read (nothing changed), else 0.
 */
static int reconcile(struct edge_role *er)
{
    struct grant *live = NULL;
    size_t nlive = 0;
    int lr = store_grants_live(er->cfg.store, er->cfg.entry_point, time_now_ms(), &live, &nlive);
    if (lr < 0)
        return lr;
    struct edge_grant_info *open = NULL;
    size_t nopen = 0;
    if (edge_grant_list(er->edge, &open, &nopen) < 0) {
        store_grant_array_free(live, nlive);
        return 0;
    }
    const char **live_ids = xcalloc(nlive + 1, sizeof(*live_ids));
    const char **open_ids = xcalloc(nopen + 1, sizeof(*open_ids));
    size_t *match = xcalloc(nlive + 1, sizeof(*match));
    bool *to_close = xcalloc(nopen + 1, sizeof(*to_close));
    for (size_t i = 0; i < nlive; i++)
        live_ids[i] = live[i].id;
    for (size_t k = 0; k < nopen; k++)
        open_ids[k] = open[k].id;
    edge_role_diff(live_ids, nlive, open_ids, nopen, match, to_close);
    struct strlist refused_now = {0};

    for (size_t i = 0; i < nlive; i++) {
        const struct grant *g = &live[i];
        const struct edge_grant_info *have = match[i] != SIZE_MAX ? &open[match[i]] : NULL;
        if (have && have->deadline_ms == g->expires_at_ms && have->rate_limit == g->rate_limit)
            continue;
        char why[320];
        if (g->target_address && tunnel_target_check(g->target_address, er->cfg.mgmt_networks,
                                                     er->cfg.tunnel_pool, why, sizeof why) < 0) {
            strlist_add(&refused_now, g->id);
            if (!strlist_contains(&er->refused, g->id)) {
                log_warn("edge", "grant %s not opened: %s", g->id, why);
                struct grant_connection rec = {.started_ms = time_now_ms(),
                                               .ended_ms = time_now_ms()};
                snprintf(rec.source, sizeof rec.source, "%s", "-");
                snprintf(rec.outcome, sizeof rec.outcome, "%s", "target_refused");
                store_grant_conn_insert(er->cfg.store, g->id, &rec);
            }
            continue;
        }
        struct cidr allow[EDGE_ALLOW_MAX];
        struct edge_grant eg = {
            .id = g->id,
            .listen_addr = er->cfg.listen_addr,
            .listen_port = (uint16_t)g->port,
            .target_addr = g->target_address,
            .target_port = (uint16_t)g->target_port,
            .allow = allow,
            .n_allow = grant_allow(g, allow),
            .deadline_ms = g->expires_at_ms,
            .rate_limit = g->rate_limit,
        };
        int r = edge_grant_open(er->edge, &eg);
        if (r < 0 && r != -ETIMEDOUT)
            log_warn("edge", "cannot open grant %s on %s:%d: %s", g->id, er->cfg.listen_addr,
                     g->port, strerror(-r));
        else if (r == 0 && !have)
            log_info("edge", "grant %s listening on %s:%d -> %s:%d", g->id, er->cfg.listen_addr,
                     g->port, g->target_address, g->target_port);
    }
    for (size_t k = 0; k < nopen; k++)
        if (to_close[k] && edge_grant_close(er->edge, open[k].id) == 0)
            log_info("edge", "grant %s closed", open[k].id);
    strlist_release(&er->refused);
    er->refused = refused_now;
    free(to_close);
    free(match);
    free(open_ids);
    free(live_ids);
    free(open);
    store_grant_array_free(live, nlive);
    return 0;
}

/*
 * Issue 11 item 4, after each reconcile (r: its result). The relay keeps every deadline it
 * has whatever the store does; what the edge cannot do without the store is see a revoke or
 * record a connection. So once the store has been unreachable for store_grace_ms the relay
 * holds (new connections refused, counted), and the first reconcile that reads the grants
 * again (revokes made meanwhile applied by it) lets it accept again.
 */
static void store_watch(struct edge_role *er, int r)
{
    int64_t now = clock_mono_ms();
    struct edge_stats st = {0};
    if (r == 0) {
        if (!er->store_down_since)
            return;
        bool held = edge_stats_get(er->edge, &st) == 0 && st.held;
        if (held)
            edge_set_hold(er->edge, false);
        log_info("edge",
                 "the store is reachable again after %lld ms: grants reconciled%s, %llu "
                 "connection(s) refused meanwhile, queued records written",
                 (long long)(now - er->store_down_since), held ? ", accepting again" : "",
                 (unsigned long long)(held ? st.unconfirmed - er->unconfirmed_at_hold : 0));
        er->store_down_since = 0;
        atomic_store(&er->store_down, false);
        return;
    }
    store_lost(er, r);
    if (now - er->store_down_since < er->cfg.store_grace_ms || edge_stats_get(er->edge, &st) < 0 ||
        st.held)
        return;
    er->unconfirmed_at_hold = st.unconfirmed;
    edge_set_hold(er->edge, true);
    log_warn("edge",
             "the store has been unreachable for %lld ms: refusing new connections to the %u "
             "grant(s) it cannot confirm (live connections and deadlines stay)",
             (long long)(now - er->store_down_since), st.grants);
}

/*
 * A change reconciles at once when the last reconcile is this old, else when it is: a burst of
 * grant changes (each a full read of the live grants) is one reconcile per gap, not one per
 * change (16 % of tikgated's CPU under bench/mixed.sh, ~75 grant changes a second), while a
 * lone revoke still closes its listener at once.
 */
#define RECONCILE_GAP_MS 20

/*
 * Reconcile when told (grants changed), at most every RECONCILE_GAP_MS, and every 250 ms as a
 * safety net; write connection records at most every 20 ms, in one transaction: under connection
 * churn a wake-up per connection (each a store query, an edge_grant_list round trip through the
 * relay thread and a one-row transaction) costs more CPU than the relay itself.
 */
/* Summed refusals and retention: writes the interval when it is over, prunes every minute. */
static void refusal_upkeep(struct edge_role *er, int64_t *next_prune)
{
    pthread_mutex_lock(&er->lock);
    int64_t since = er->agg_since;
    pthread_mutex_unlock(&er->lock);
    int64_t now = clock_mono_ms();
    if (er->store_down_since)
        return; /* summed on (AGG_MAX bounds them), written when the store is back */
    if (since && now >= since + er->cfg.refused.interval_ms)
        flush_refusals(er);
    if (now < *next_prune)
        return;
    *next_prune = now + PRUNE_EVERY_MS;
    int n = 0;
    if (store_grant_conn_prune(er->cfg.store, time_now_ms() - er->cfg.refused.retention_ms, &n) ==
            0 &&
        n)
        log_info("edge", "%d refused-connection record(s) older than %lld days deleted", n,
                 (long long)(er->cfg.refused.retention_ms / 86400000));
}

static void *role_main(void *arg)
{
    struct edge_role *er = arg;
    bool do_reconcile = true;
    int64_t last_reconcile = 0, next_prune = 0;
    for (;;) {
        if (do_reconcile) {
            store_watch(er, reconcile(er));
            last_reconcile = clock_mono_ms();
        }
        flush_records(er);
        refusal_upkeep(er, &next_prune);
        int64_t last_flush = clock_mono_ms();
        pthread_mutex_lock(&er->lock);
        for (;;) {
            int64_t now = clock_mono_ms();
            int64_t agg_due = er->agg_since ? er->agg_since + er->cfg.refused.interval_ms : 0;
            if (er->stopping || now >= last_reconcile + 250 ||
                (er->woken && now >= last_reconcile + RECONCILE_GAP_MS))
                break;
            if (er->records_pending && now >= last_flush + 20)
                break;
            if (agg_due && now >= agg_due)
                break;
            int64_t until = last_reconcile + (er->woken ? RECONCILE_GAP_MS : 250);
            if (er->records_pending && last_flush + 20 < until)
                until = last_flush + 20;
            if (agg_due && agg_due < until)
                until = agg_due;
            clock_cond_wait_until_ms(&er->cond, &er->lock, until); /* monotonic cond */
        }
        int64_t now = clock_mono_ms();
        do_reconcile =
            (er->woken && now >= last_reconcile + RECONCILE_GAP_MS) || now >= last_reconcile + 250;
        if (do_reconcile)
            er->woken = false; /* else kept: the change waits out the gap */
        er->records_pending = false;
        bool stop = er->stopping;
        pthread_mutex_unlock(&er->lock);
        if (stop)
            break;
    }
    flush_records(er);
    flush_refusals(er);
    store_thread_done(er->cfg.store);
    return NULL;
}

/*
 * Grant ports inside the kernel's ephemeral range can be taken by any outgoing
 * connection of this host (bind then fails with EADDRINUSE). Warn, once, with
 * the fix: reserve the range (net.ipv4.ip_local_reserved_ports).
 */
static void check_ephemeral_overlap(int lo, int hi)
{
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    int elo = 0, ehi = 0;
    if (!f)
        return;
    if (fscanf(f, "%d %d", &elo, &ehi) != 2)
        elo = ehi = 0;
    fclose(f);
    char reserved[4096] = "";
    f = fopen("/proc/sys/net/ipv4/ip_local_reserved_ports", "r");
    if (f) {
        if (!fgets(reserved, sizeof reserved, f))
            reserved[0] = '\0';
        fclose(f);
    }
    if (lo <= ehi && hi >= elo && !reserved[0] && elo)
        log_warn("edge",
                 "grant ports %d-%d overlap the ephemeral range %d-%d: outgoing "
                 "connections may take them; run sysctl -w "
                 "net.ipv4.ip_local_reserved_ports=%d-%d",
                 lo, hi, elo, ehi, lo, hi);
}

/* The relay loops: as configured, else one per online CPU; at most EDGE_THREADS_MAX. */
static unsigned edge_threads(unsigned asked)
{
    long n = asked ? (long)asked : sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        n = 1;
    if (n > EDGE_THREADS_MAX) {
        if (asked)
            log_warn("edge", "TIKGATE_EDGE_THREADS=%u: %d relay threads at most", asked,
                     EDGE_THREADS_MAX);
        n = EDGE_THREADS_MAX;
    }
    return (unsigned)n;
}

int edge_role_start(const struct edge_role_config *cfg, struct edge_role **ret)
{
    check_ephemeral_overlap(cfg->port_lo, cfg->port_hi);
    struct edge_role *er = xcalloc(1, sizeof *er);
    er->cfg = *cfg;
    if (er->cfg.refused.interval_ms <= 0)
        er->cfg.refused.interval_ms = 10000;
    if (!er->cfg.refused.records_per_grant)
        er->cfg.refused.records_per_grant = 1000;
    if (er->cfg.refused.retention_ms <= 0)
        er->cfg.refused.retention_ms = 30LL * 86400 * 1000;
    if (er->cfg.store_grace_ms <= 0)
        er->cfg.store_grace_ms = 30000;
    idhash_init(&er->agg, 64);
    pthread_mutex_init(&er->lock, NULL);
    clock_cond_init(&er->cond);
    struct edge_config ec = {.on_event = on_event,
                             .userdata = er,
                             .max_conns = cfg->limits.max_conns,
                             .conns_per_grant = cfg->limits.conns_per_grant,
                             .conns_per_source = cfg->limits.conns_per_source,
                             .idle_timeout_ms = cfg->limits.idle_timeout_ms,
                             .threads = edge_threads(cfg->limits.threads)};
    int r = edge_new(&ec, &er->edge);
    if (r < 0)
        goto out_free;
    if (pthread_create(&er->thread, NULL, role_main, er) != 0) {
        r = -EAGAIN;
        edge_free(er->edge);
        goto out_free;
    }
    *ret = er;
    return 0;
out_free:
    idhash_release(&er->agg);
    pthread_cond_destroy(&er->cond);
    pthread_mutex_destroy(&er->lock);
    free(er);
    return r;
}

void edge_role_wake(struct edge_role *er)
{
    if (!er)
        return;
    pthread_mutex_lock(&er->lock);
    er->woken = true;
    pthread_cond_signal(&er->cond);
    pthread_mutex_unlock(&er->lock);
}

void edge_role_stop(struct edge_role *er)
{
    if (!er)
        return;
    pthread_mutex_lock(&er->lock);
    er->stopping = true;
    pthread_cond_signal(&er->cond);
    pthread_mutex_unlock(&er->lock);
    pthread_join(er->thread, NULL);
    edge_free(er->edge); /* cuts what is left; SHUTDOWN records are dropped with the role */
    strlist_release(&er->refused);
    while (er->agg_list) { /* (refused during edge_free: after the last flush) */
        struct refusal *n = er->agg_list->next;
        free(er->agg_list);
        er->agg_list = n;
    }
    idhash_release(&er->agg);
    struct record *r = er->records;
    while (r) {
        struct record *n = r->next;
        free(r);
        r = n;
    }
    pthread_cond_destroy(&er->cond);
    pthread_mutex_destroy(&er->lock);
    free(er);
}

void edge_role_metrics(struct edge_role *er, struct buf *out)
{
    struct edge_stats st;
    if (!er || edge_stats_get(er->edge, &st) < 0)
        return;
    buf_printf(out,
               "# TYPE tikgate_edge_grants gauge\ntikgate_edge_grants %u\n"
               "# TYPE tikgate_edge_connections gauge\ntikgate_edge_connections %u\n"
               "# TYPE tikgate_edge_accepted_total counter\ntikgate_edge_accepted_total %llu\n"
               "# TYPE tikgate_edge_refused_total counter\ntikgate_edge_refused_total %llu\n"
               "# TYPE tikgate_edge_unreachable_total counter\n"
               "tikgate_edge_unreachable_total %llu\n"
               "# TYPE tikgate_edge_limited_total counter\ntikgate_edge_limited_total %llu\n"
               "# TYPE tikgate_edge_idle_cut_total counter\ntikgate_edge_idle_cut_total %llu\n",
               st.grants, st.live_conns, (unsigned long long)st.accepted,
               (unsigned long long)st.refused, (unsigned long long)st.unreachable,
               (unsigned long long)st.limited, (unsigned long long)st.idle_cut);
    buf_printf(out,
               "# TYPE tikgate_edge_relay_threads gauge\ntikgate_edge_relay_threads %u\n"
               "# TYPE tikgate_edge_thread_connections gauge\n",
               st.loops);
    for (unsigned i = 0; i < st.loops && i < EDGE_THREADS_MAX; i++)
        buf_printf(out, "tikgate_edge_thread_connections{thread=\"%u\"} %u\n", i, st.loop_conns[i]);
    pthread_mutex_lock(&er->lock);
    size_t queued = er->nrecords;
    uint64_t dropped = er->records_dropped_total;
    pthread_mutex_unlock(&er->lock);
    buf_printf(out,
               "# TYPE tikgate_edge_store_reachable gauge\ntikgate_edge_store_reachable %d\n"
               "# TYPE tikgate_edge_held gauge\ntikgate_edge_held %d\n"
               "# TYPE tikgate_edge_unconfirmed_total counter\n"
               "tikgate_edge_unconfirmed_total %llu\n"
               "# TYPE tikgate_edge_records_queued gauge\ntikgate_edge_records_queued %zu\n"
               "# TYPE tikgate_edge_records_dropped_total counter\n"
               "tikgate_edge_records_dropped_total %llu\n",
               atomic_load(&er->store_down) ? 0 : 1, st.held ? 1 : 0,
               (unsigned long long)st.unconfirmed, queued, (unsigned long long)dropped);
}
