#include "vpn_role.h"

#include "alloc.h"
#include "cidr.h"
#include "clock.h"
#include "idhash.h"
#include "log.h"
#include "timefmt.h"
#include "tunnel.h"
#include "wg_backend.h"
#include "wg_key.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VPN_TICK_MS 1000
#define VPN_POLL_MS 2000
#define VPN_BATCH_MIN 16      /* more changed peers than this in one round: one set=1 for all */
#define VPN_PEER_KEEPALIVE 25 /* the edge also keeps NAT mappings warm and re-handshakes first */

struct vpn_role {
    struct store *store;
    char *entry_point, *ifname, *wireguard_go, *uapi_dir;
    char *node_name; /* whose sites' tunnels this edge terminates (sites.edge_node) */
    unsigned port;
    int poll_ms;
    int64_t down_after;       /* seconds without handshake or received traffic: down */
    struct wg_ifaddr address; /* the edge's: first of the pool, with the pool's prefix */
    char address_text[16];
    struct wg_key private_key; /* wiped at stop */

    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stopping, woken;
    bool started; /* the thread finished opening the interface (start_err says how) */
    int start_err;
    char start_msg[WG_ERROR_LEN];
    enum wg_impl impl;       /* TIKGATE_WG_BACKEND */
    char backend_name[16];   /* the one in use: "kernel" or "userspace" */
    char note[WG_ERROR_LEN]; /* auto on userspace: why not the kernel's */

    /* Only the thread touches these. */
    struct wg_backend *backend;
    bool need_full_apply;
    struct wg_device have; /* the device's last get=1 (valid while have_valid) */
    bool have_valid;
    struct idhash seen;  /* struct seen by site id: when each peer's rx last grew */
    unsigned seen_round; /* observe()'s round, to drop the sites that went */

    /* Counters for /metrics (under lock). */
    unsigned peers, up, down, pending, restarts;
    unsigned long long transitions_up, transitions_down, apply_errors;
    int pid;
};

/* The desired peer of a managed site, or -EINVAL for a row the device cannot take. */
static int peer_from_row(const struct store_vpn_peer *row, struct wg_device *d)
{
    struct wg_key pub;
    struct cidr c;
    if (wg_key_from_base64(row->public_key, &pub) < 0 || cidr_parse(row->address, 0, &c) < 0)
        return -EINVAL;
    struct wg_peer *p = wg_device_add_peer(d, &pub);
    p->flags = WG_PEER_REPLACE_ALLOWED_IPS | WG_PEER_HAS_KEEPALIVE;
    wg_peer_add_allowed_ip(p, &c);
    /* The keepalive only once the router's endpoint is known (the store has it after the
     * first handshake): on a peer without one, wireguard-go would try to handshake every 25 s
     * with nowhere to send it (a log line and CPU per pending site). */
    if (row->endpoint[0] &&
        wg_endpoint_parse(row->endpoint, strlen(row->endpoint), &p->endpoint) == 0)
        p->keepalive = VPN_PEER_KEEPALIVE;
    /* A re-key in progress: the router's next key is a peer too, without allowed IPs (the /32
     * stays with the current key) and without keepalive: the router's new interface initiates
     * the handshake, and the edge only removes the old key after it (store_vpn_rekey_commit). */
    struct wg_key next;
    if (row->next_key[0] && wg_key_from_base64(row->next_key, &next) == 0 &&
        !wg_key_equal(&next, &pub)) {
        struct wg_peer *n = wg_device_add_peer(d, &next);
        n->flags = WG_PEER_REPLACE_ALLOWED_IPS | WG_PEER_HAS_KEEPALIVE;
    }
    return 0;
}

/* What the thread remembers of a site's received bytes between two observations. */
struct seen {
    struct idhash_node node;
    char site_id[UUID_STR_LEN];
    uint64_t rx;    /* the device's rx_bytes at the last observation */
    int64_t at;     /* when it last grew (Unix seconds), 0 = not since we watch */
    unsigned round; /* the last observe() round that had the site */
};

/*
 * The last time (Unix seconds) the site's peer was heard from apart from its handshake: when
 * its rx_bytes changed since the previous observation (a restarted wireguard-go counts from 0
 * again, so any change counts). 0 when not seen growing yet.
 */
static int64_t seen_update(struct vpn_role *v, const char *site_id, uint64_t rx, int64_t now)
{
    struct idhash_node *n = idhash_find(&v->seen, site_id);
    struct seen *e;
    if (n) {
        e = (struct seen *)((char *)n - offsetof(struct seen, node));
        if (rx != e->rx && rx > 0)
            e->at = now;
    } else {
        e = xcalloc(1, sizeof *e);
        snprintf(e->site_id, sizeof e->site_id, "%s", site_id);
        e->node.id = e->site_id;
        idhash_insert(&v->seen, &e->node);
    }
    e->rx = rx;
    e->round = v->seen_round;
    return e->at;
}

/* Forgets the sites the last round did not have (all of them when all is true). */
static void seen_prune(struct vpn_role *v, bool all)
{
    size_t pos = 0;
    struct idhash_node *n = idhash_scan(&v->seen, &pos);
    while (n) {
        struct idhash_node *next = n->next;
        struct seen *e = (struct seen *)((char *)n - offsetof(struct seen, node));
        if (all || e->round != v->seen_round) {
            idhash_remove(&v->seen, n);
            free(e);
        }
        if (!(n = next)) {
            pos++;
            n = idhash_scan(&v->seen, &pos);
        }
    }
}

/* Peers of a device sorted by public key, for O(log n) lookups (10 000 peers every second). */
struct peer_index {
    const struct wg_peer **v; /* owned array of borrowed pointers */
    size_t n;
};

static int cmp_peer(const void *a, const void *b)
{
    const struct wg_peer *const *x = a, *const *y = b;
    return memcmp((*x)->public_key.b, (*y)->public_key.b, WG_KEY_LEN);
}

static void index_build(struct peer_index *ix, const struct wg_device *d)
{
    ix->n = d->n_peers;
    ix->v = xcalloc(ix->n ? ix->n : 1, sizeof *ix->v);
    for (size_t i = 0; i < ix->n; i++)
        ix->v[i] = &d->peers[i];
    qsort(ix->v, ix->n, sizeof *ix->v, cmp_peer);
}

static const struct wg_peer *index_find(const struct peer_index *ix, const struct wg_key *pub)
{
    struct wg_peer key;
    key.public_key = *pub;
    const struct wg_peer *kp = &key;
    const struct wg_peer **hit = bsearch(&kp, ix->v, ix->n, sizeof *ix->v, cmp_peer);
    return hit ? *hit : NULL;
}

/* True when the device's peer already has exactly the desired allowed IP. */
static bool peer_matches(const struct wg_peer *have, const struct wg_peer *want)
{
    if (have->n_allowed_ips != want->n_allowed_ips || have->keepalive != want->keepalive)
        return false;
    for (size_t i = 0; i < want->n_allowed_ips; i++) {
        const struct cidr *a = &have->allowed_ips[i], *b = &want->allowed_ips[i];
        if (a->family != b->family || a->prefix != b->prefix || memcmp(a->addr, b->addr, 16))
            return false;
    }
    return true;
}

/*
 * Adds or updates the desired peers the device does not have as wanted, keeping the endpoint
 * the device knows. Up to VPN_BATCH_MIN of them one set=1 each (only that peer's lines); more
 * (a bulk import, tikgated's first round over a big store) in one set=1 holding only those
 * peers, without replace_peers: the others are untouched either way. Returns the errors;
 * *ret_batch: what it sent (owned: wg_device_release).
 */
static unsigned apply_changed(struct vpn_role *v, const struct wg_device *want,
                              const struct peer_index *have_ix, struct wg_device *ret_batch)
{
    struct wg_device batch;
    memset(&batch, 0, sizeof batch);
    unsigned errors = 0;
    for (size_t i = 0; i < want->n_peers; i++) {
        const struct wg_peer *w = &want->peers[i];
        const struct wg_peer *h = index_find(have_ix, &w->public_key);
        if (h && peer_matches(h, w))
            continue;
        struct wg_peer *add = wg_device_add_peer(&batch, &w->public_key);
        add->flags = w->flags;
        add->keepalive = w->keepalive;
        add->endpoint = w->endpoint;
        for (size_t k = 0; k < w->n_allowed_ips; k++)
            wg_peer_add_allowed_ip(add, &w->allowed_ips[k]);
        if (h && h->endpoint.ss_family != AF_UNSPEC)
            add->endpoint = h->endpoint; /* keep where the router is now */
    }
    int r = 0;
    int64_t t0 = clock_mono_us();
    if (batch.n_peers > VPN_BATCH_MIN) {
        if ((r = wg_backend_set(v->backend, &batch)) < 0)
            errors++;
    } else {
        for (size_t i = 0; i < batch.n_peers; i++)
            if ((r = wg_backend_set_peer(v->backend, &batch.peers[i])) < 0)
                errors++;
    }
    if (errors)
        log_warn("vpn", "cannot add %s to %s: %s", batch.n_peers > 1 ? "peers" : "a peer",
                 v->ifname, strerror(-r));
    else if (batch.n_peers)
        log_info("vpn", "%s: %zu peer(s) added or updated (%s) in %.2f ms", v->ifname,
                 batch.n_peers, batch.n_peers > VPN_BATCH_MIN ? "one set=1" : "one set=1 each",
                 (double)(clock_mono_us() - t0) / 1000.0);
    *ret_batch = batch;
    return errors;
}

/*
 * Brings the cached get=1 (v->have) up to what a round sent: the peers of batch set, the keys
 * of gone removed. A bulk (more than VPN_BATCH_MIN) just drops the cache: the next round reads
 * the device. Linear in the device per change: only for a few peers.
 */
static void cache_update(struct vpn_role *v, const struct wg_device *batch,
                         const struct wg_key *gone, size_t ngone)
{
    if (!v->have_valid)
        return;
    if (batch->n_peers + ngone > VPN_BATCH_MIN) {
        v->have_valid = false;
        return;
    }
    for (size_t i = 0; i < batch->n_peers; i++) {
        const struct wg_peer *b = &batch->peers[i];
        struct wg_peer *p = (struct wg_peer *)wg_device_find_peer(&v->have, &b->public_key);
        if (!p)
            p = wg_device_add_peer(&v->have, &b->public_key);
        p->keepalive = b->keepalive;
        if (b->endpoint.ss_family != AF_UNSPEC)
            p->endpoint = b->endpoint;
        p->n_allowed_ips = 0;
        for (size_t k = 0; k < b->n_allowed_ips; k++)
            wg_peer_add_allowed_ip(p, &b->allowed_ips[k]);
    }
    for (size_t g = 0; g < ngone; g++) {
        for (size_t i = 0; i < v->have.n_peers; i++) {
            struct wg_peer *p = &v->have.peers[i];
            if (!wg_key_equal(&p->public_key, &gone[g]))
                continue;
            free(p->allowed_ips);
            size_t last = --v->have.n_peers;
            if (i != last)
                *p = v->have.peers[last]; /* its arrays move with it */
            memset(&v->have.peers[last], 0, sizeof v->have.peers[last]);
            break;
        }
    }
}

/* Loads the managed sites into a device (keys, port, peers). rows: owned by the caller. */
static int desired_device(struct vpn_role *v, struct wg_device *d, struct store_vpn_peer **rows,
                          size_t *nrows)
{
    memset(d, 0, sizeof *d);
    int r = store_vpn_peers(v->store, v->node_name, rows, nrows);
    if (r < 0)
        return r;
    d->flags = WG_DEVICE_HAS_PRIVATE_KEY | WG_DEVICE_HAS_LISTEN_PORT | WG_DEVICE_REPLACE_PEERS;
    d->private_key = v->private_key;
    d->listen_port = (uint16_t)v->port;
    for (size_t i = 0; i < *nrows; i++)
        if (peer_from_row(&(*rows)[i], d) < 0)
            log_warn("vpn", "site %s: its tunnel key or address cannot be used; no peer",
                     (*rows)[i].site_id);
    return 0;
}

/* A re-key in progress: records the first handshake of the router's next key. */
static void next_observe(struct vpn_role *v, const struct store_vpn_peer *row,
                         const struct peer_index *have)
{
    struct wg_key next;
    if (!row->next_key[0] || row->next_handshake_at > 0 ||
        wg_key_from_base64(row->next_key, &next) < 0)
        return;
    const struct wg_peer *p = index_find(have, &next);
    if (!p || p->last_handshake_sec <= 0)
        return;
    log_info("vpn", "site %s: first handshake with the router's new key (re-key)", row->site_id);
    store_vpn_rekey_next_seen(v->store, row->site_id, row->next_key, p->last_handshake_sec);
}

/* Writes what the device reports for each managed site; logs and records transitions. */
static void observe(struct vpn_role *v, const struct store_vpn_peer *rows, size_t nrows,
                    const struct peer_index *have)
{
    unsigned up = 0, down = 0, pending = 0;
    unsigned long long to_up = 0, to_down = 0;
    int64_t now = time_now();
    v->seen_round++;
    bool tx = store_tx_begin(v->store) == 0;
    for (size_t i = 0; i < nrows; i++) {
        const struct store_vpn_peer *row = &rows[i];
        struct wg_key pub;
        /* a site that moved away: kept as peer until its new edge settles it, not observed */
        if (row->handover || wg_key_from_base64(row->public_key, &pub) < 0)
            continue;
        const struct wg_peer *p = index_find(have, &pub);
        if (row->settling && p && p->last_handshake_sec > 0 &&
            store_site_edge_settled(v->store, row->site_id, v->node_name) == 0)
            log_info("vpn",
                     "site %s: the router's tunnel came to this edge (%s); its previous "
                     "edge lets it go",
                     row->site_id, v->node_name);
        char endpoint[WG_ENDPOINT_STR_LEN] = "";
        int64_t hs = row->last_handshake_at;
        uint64_t rx = 0, txb = 0;
        int64_t heard = 0;
        if (p) {
            wg_endpoint_format(&p->endpoint, endpoint);
            if (p->last_handshake_sec > 0)
                hs = p->last_handshake_sec;
            rx = p->rx_bytes;
            txb = p->tx_bytes;
            heard = seen_update(v, row->site_id, rx, now);
        }
        enum tunnel_status st = tunnel_status_within(hs, heard, now, v->down_after);
        if (st == TUNNEL_UP)
            up++;
        else if (st == TUNNEL_DOWN)
            down++;
        else
            pending++;
        store_vpn_peer_observed(v->store, row->site_id, endpoint, hs, rx, txb, st);
        if (st == row->status)
            continue;
        if (st == TUNNEL_UP) {
            to_up++;
            log_info("vpn", "site %s: tunnel up (%s from %s)", row->site_id, row->address,
                     endpoint[0] ? endpoint : "?");
            store_site_event(v->store, row->site_id, "tunnel_up", endpoint);
        } else if (st == TUNNEL_DOWN) {
            to_down++;
            char why[64];
            snprintf(why, sizeof why, "no handshake or traffic for %lld s",
                     (long long)v->down_after);
            log_warn("vpn", "site %s: tunnel down (%s)", row->site_id, why);
            store_site_event(v->store, row->site_id, "tunnel_down", why);
        }
    }
    if (tx)
        store_tx_commit(v->store);
    seen_prune(v, false);
    pthread_mutex_lock(&v->lock);
    v->peers = (unsigned)nrows;
    v->up = up;
    v->down = down;
    v->pending = pending;
    v->transitions_up += to_up;
    v->transitions_down += to_down;
    pthread_mutex_unlock(&v->lock);
}

/*
 * A site that moved here waits (its pulled jobs held back, jobs/edges.h) until this edge has
 * its router as a peer: after a round that applied without an error, the peers it wants are
 * on the device, so each waiting site whose key it wants is released.
 */
static void confirm_waiting(struct vpn_role *v, const struct store_vpn_peer *rows, size_t nrows,
                            const struct peer_index *want_ix)
{
    for (size_t i = 0; i < nrows; i++) {
        struct wg_key pub;
        if (!rows[i].waiting || wg_key_from_base64(rows[i].public_key, &pub) < 0 ||
            !index_find(want_ix, &pub))
            continue;
        if (store_site_edge_peer_ready(v->store, rows[i].site_id, v->node_name) == 0)
            log_info("vpn", "site %s: moved here, its router is a peer of %s now", rows[i].site_id,
                     v->ifname);
    }
}

/*
 * One level-triggered round: the whole state after a (re)start, else the
 * difference between the store and the device, one peer at a time.
 */
static void reconcile(struct vpn_role *v, bool do_observe)
{
    struct wg_device want;
    struct store_vpn_peer *rows = NULL;
    size_t nrows = 0;
    unsigned long long errors = 0;
    if (desired_device(v, &want, &rows, &nrows) < 0)
        return;
    if (v->need_full_apply) {
        v->have_valid = false;
        int r = wg_backend_set(v->backend, &want);
        if (r < 0) {
            log_warn("vpn", "cannot configure %s: %s", v->ifname, strerror(-r));
            errors++;
            goto out_release;
        }
        v->need_full_apply = false;
        log_info("vpn", "%s configured: port %u, %zu peer(s)", v->ifname, v->port, want.n_peers);
    }
    /* get=1 of the whole device (60+ ms at 10 000 peers) when observing, after a bulk change or
     * an error, and during a re-key; a round woken by a store change diffs against the last
     * one (kept up to date by cache_update), so a new site's peer is one set=1 away */
    bool fresh = do_observe || !v->have_valid;
    for (size_t i = 0; i < nrows && !fresh; i++)
        fresh = rows[i].next_key[0] && !rows[i].next_handshake_at;
    if (fresh) {
        wg_device_release(&v->have);
        v->have_valid = false;
        int r = wg_backend_get(v->backend, &v->have);
        if (r < 0) {
            log_warn("vpn", "cannot read %s: %s", v->ifname, strerror(-r));
            errors++;
            goto out_release;
        }
        v->have_valid = true;
    }
    const struct wg_device *have = &v->have;
    if (!(have->flags & WG_DEVICE_HAS_PRIVATE_KEY) ||
        !wg_key_equal(&have->private_key, &v->private_key) || have->listen_port != v->port) {
        v->need_full_apply = true; /* someone reset it: everything again next round */
        goto out_release;
    }
    struct peer_index have_ix, want_ix;
    index_build(&have_ix, have);
    index_build(&want_ix, &want);
    struct wg_device batch;
    errors += apply_changed(v, &want, &have_ix, &batch);
    struct wg_key *gone = NULL;
    size_t ngone = 0;
    for (size_t k = 0; k < have->n_peers; k++) {
        if (index_find(&want_ix, &have->peers[k].public_key))
            continue;
        gone = xrealloc(gone, (ngone + 1) * sizeof *gone);
        gone[ngone++] = have->peers[k].public_key;
        int r = wg_backend_remove_peer(v->backend, &have->peers[k].public_key);
        if (r < 0) {
            errors++;
            log_warn("vpn", "cannot remove a peer from %s: %s", v->ifname, strerror(-r));
        }
    }
    if (!errors)
        confirm_waiting(v, rows, nrows, &want_ix);
    if (fresh) {
        for (size_t i = 0; i < nrows; i++) /* a re-key waits for it */
            next_observe(v, &rows[i], &have_ix);
        if (do_observe)
            observe(v, rows, nrows, &have_ix);
    }
    free(want_ix.v);
    free(have_ix.v);
    if (errors)
        v->have_valid = false; /* not sure what the device took: read it next round */
    cache_update(v, &batch, gone, ngone);
    wg_device_release(&batch);
    free(gone);
out_release:
    want.private_key = (struct wg_key){{0}};
    wg_device_release(&want);
    free(rows);
    if (errors) {
        pthread_mutex_lock(&v->lock);
        v->apply_errors += errors;
        pthread_mutex_unlock(&v->lock);
    }
}

static void *role_main(void *arg)
{
    struct vpn_role *v = arg;
    struct wg_backend_config bc = {.ifname = v->ifname,
                                   .impl = v->impl,
                                   .wireguard_go = v->wireguard_go,
                                   .uapi_dir = v->uapi_dir,
                                   .address = &v->address};
    char err[WG_ERROR_LEN];
    int r = wg_backend_open(&bc, &v->backend, err);
    pthread_mutex_lock(&v->lock);
    v->started = true;
    v->start_err = r;
    snprintf(v->start_msg, sizeof v->start_msg, "%s", err);
    v->pid = r == 0 ? (int)wg_backend_pid(v->backend) : 0;
    if (r == 0) {
        snprintf(v->backend_name, sizeof v->backend_name, "%s", wg_backend_name(v->backend));
        snprintf(v->note, sizeof v->note, "%s", wg_backend_note(v->backend));
    }
    pthread_cond_broadcast(&v->cond);
    pthread_mutex_unlock(&v->lock);
    if (r < 0)
        goto out_thread_done;
    v->need_full_apply = true;
    int64_t last_observe = 0;
    for (;;) {
        bool restarted = false;
        r = wg_backend_supervise(v->backend, &restarted);
        const char *what = strcmp(v->backend_name, "kernel") ? "wireguard-go" : "the kernel link";
        if (r < 0 && r != -EAGAIN)
            log_warn("vpn", "%s for %s went away and cannot be restarted yet: %s", what, v->ifname,
                     wg_backend_error(v->backend));
        if (restarted) {
            log_warn("vpn",
                     "%s for %s went away: restarted (pid %d; 0: kernel), re-applying every "
                     "peer",
                     what, v->ifname, (int)wg_backend_pid(v->backend));
            v->need_full_apply = true;
            v->have_valid = false;
        }
        pthread_mutex_lock(&v->lock);
        v->restarts = wg_backend_restarts(v->backend);
        v->pid = (int)wg_backend_pid(v->backend);
        pthread_mutex_unlock(&v->lock);
        if (r == 0) {
            bool do_observe = clock_mono_ms() - last_observe >= v->poll_ms;
            reconcile(v, do_observe);
            if (do_observe)
                last_observe = clock_mono_ms();
        }
        pthread_mutex_lock(&v->lock);
        int64_t until = clock_mono_ms() + VPN_TICK_MS;
        while (!v->stopping && !v->woken)
            if (clock_cond_wait_until_ms(&v->cond, &v->lock, until) != 0)
                break;
        bool stop = v->stopping;
        v->woken = false;
        pthread_mutex_unlock(&v->lock);
        if (stop)
            break;
    }
    wg_backend_close(v->backend);
    v->backend = NULL;
    wg_device_release(&v->have);
    v->have_valid = false;
out_thread_done:
    store_thread_done(v->store);
    return NULL;
}

static void role_free(struct vpn_role *v)
{
    seen_prune(v, true);
    idhash_release(&v->seen);
    wg_key_wipe(&v->private_key);
    free(v->entry_point);
    free(v->node_name);
    free(v->ifname);
    free(v->wireguard_go);
    free(v->uapi_dir);
    pthread_cond_destroy(&v->cond);
    pthread_mutex_destroy(&v->lock);
    free(v);
}

/* The edge's keypair: the stored one, or a new one stored now. */
static int load_keypair(struct vpn_role *v)
{
    struct wg_key priv, pub;
    struct store_vpn_edge fresh, got;
    int r = wg_key_generate(&priv);
    if (r < 0)
        return r;
    wg_key_public(&priv, &pub);
    wg_key_to_base64(&priv, fresh.private_key);
    wg_key_to_base64(&pub, fresh.public_key);
    wg_key_wipe(&priv);
    r = store_vpn_edge_ensure(v->store, v->entry_point, &fresh, &got);
    sodium_memzero(&fresh, sizeof fresh);
    if (r < 0)
        return r;
    r = wg_key_from_base64(got.private_key, &v->private_key);
    sodium_memzero(&got, sizeof got);
    return r;
}

/* True when one prefix of the comma-separated networks contains the whole pool. */
static bool pool_in_networks(const char *pool, const char *networks)
{
    struct cidr p;
    if (!pool || !networks || cidr_parse(pool, CIDR_MASK_HOST_BITS, &p) < 0)
        return false;
    while (*networks) {
        size_t n = strcspn(networks, ", ");
        char item[CIDR_STR_LEN + 1];
        struct cidr c;
        if (n > 0 && n < sizeof item) {
            memcpy(item, networks, n);
            item[n] = '\0';
            if (cidr_parse(item, CIDR_MASK_HOST_BITS, &c) == 0 && c.family == p.family &&
                c.prefix <= p.prefix && cidr_contains(&c, p.family, p.addr))
                return true;
        }
        networks += n;
        while (*networks == ',' || *networks == ' ')
            networks++;
    }
    return false;
}

/* auto: warn and go on without the VPN (0, *ret NULL); wireguard: an error. */
static int refuse(const struct vpn_role_config *cfg, int r, const char *why)
{
    if (!strcmp(cfg->mode, "wireguard")) {
        log_error("vpn", "TIKGATE_VPN=wireguard but the WireGuard interface cannot be made: %s",
                  why);
        return r < 0 ? r : -EIO;
    }
    log_warn("vpn", "running without the management VPN (TIKGATE_VPN=auto): %s", why);
    return 0;
}

/*
 * What the chosen backend needs, before a thread is started: kernel = the
 * module (else a refusal whatever TIKGATE_VPN says: the operator asked for
 * it); userspace = TUN and wireguard-go; auto = the kernel's, or else what
 * userspace needs. 1 = go on; else what vpn_role_start() returns (refuse():
 * 0 = on without the VPN, or -errno).
 */
static int preflight(const struct vpn_role_config *cfg, enum wg_impl impl)
{
    char msg[256];
    int k = impl == WG_IMPL_USERSPACE ? 0 : wg_kernel_probe();

    if (impl == WG_IMPL_KERNEL && k != 1) {
        log_error("vpn",
                  "TIKGATE_WG_BACKEND=kernel but the kernel WireGuard cannot be used here: %s "
                  "(load the module: modprobe wireguard; or use TIKGATE_WG_BACKEND=auto or "
                  "userspace for wireguard-go)",
                  k == 0        ? "this kernel has no wireguard module"
                  : k == -EPERM ? "no CAP_NET_ADMIN"
                                : strerror(-k));
        return k < 0 ? k : -EOPNOTSUPP;
    }
    if (k == 1)
        return 1;
    int r = wg_preflight_userspace(cfg->wireguard_go, msg, sizeof msg);
    return r < 0 ? refuse(cfg, r, msg) : 1;
}

int vpn_role_start(const struct vpn_role_config *cfg, struct vpn_role **ret)
{
    *ret = NULL;
    if (!strcmp(cfg->mode, "off")) {
        log_info("vpn", "management VPN off (TIKGATE_VPN=off)");
        return 0;
    }
    char msg[256];
    enum wg_impl impl;
    if (wg_impl_parse(cfg->backend ? cfg->backend : "auto", &impl) < 0) {
        log_error("vpn", "TIKGATE_WG_BACKEND '%s' is not auto, kernel or userspace", cfg->backend);
        return -EINVAL;
    }
    if (!pool_in_networks(cfg->pool, cfg->mgmt_networks)) {
        snprintf(msg, sizeof msg,
                 "the tunnel pool %s is not inside TIKGATE_MANAGEMENT_NETWORKS "
                 "(%s): routers would not let the edge in",
                 cfg->pool, cfg->mgmt_networks ? cfg->mgmt_networks : "");
        return refuse(cfg, -EINVAL, msg);
    }
    int r = preflight(cfg, impl);
    if (r <= 0)
        return r; /* refused, or TIKGATE_VPN=auto without the VPN */
    uint32_t first, last;
    if (tunnel_pool_parse(cfg->pool, &first, &last) < 0)
        return -EINVAL;
    struct vpn_role *v = xcalloc(1, sizeof *v);
    v->store = cfg->store;
    v->entry_point = xstrdup(cfg->entry_point);
    v->node_name = xstrdup(cfg->node_name);
    v->ifname = xstrdup(cfg->ifname);
    v->wireguard_go = cfg->wireguard_go ? xstrdup(cfg->wireguard_go) : NULL;
    v->uapi_dir = cfg->uapi_dir ? xstrdup(cfg->uapi_dir) : NULL;
    v->port = cfg->port;
    v->impl = impl;
    v->poll_ms = cfg->poll_ms > 0 ? cfg->poll_ms : VPN_POLL_MS;
    v->down_after = cfg->down_after_secs > 0 ? cfg->down_after_secs : TUNNEL_UP_SECS;
    idhash_init(&v->seen, 64);
    pthread_mutex_init(&v->lock, NULL);
    clock_cond_init(&v->cond);
    tunnel_ip_format(first, v->address_text);
    char with_prefix[24];
    snprintf(with_prefix, sizeof with_prefix, "%s%s", v->address_text, strchr(cfg->pool, '/'));
    r = wg_ifaddr_parse(with_prefix, NULL, &v->address);
    if (r < 0)
        goto out_free;
    r = load_keypair(v);
    if (r < 0) {
        snprintf(msg, sizeof msg, "the edge's WireGuard key cannot be had from the store: %s",
                 r == -EBADMSG ? "it cannot be unsealed (another master key?)" : strerror(-r));
        r = refuse(cfg, r, msg);
        goto out_free;
    }
    int orphans = 0; /* an installation from before sites had an edge: this one had them all */
    if (store_edge_adopt_orphans(v->store, v->node_name, &orphans) == 0 && orphans)
        log_info("vpn", "%d managed site(s) with no edge are this node's (%s) now", orphans,
                 v->node_name);
    if (pthread_create(&v->thread, NULL, role_main, v) != 0) {
        r = refuse(cfg, -EAGAIN, "no thread");
        goto out_free;
    }
    pthread_mutex_lock(&v->lock);
    while (!v->started)
        pthread_cond_wait(&v->cond, &v->lock);
    int start_err = v->start_err;
    int pid = v->pid; /* the role thread rewrites it (under the lock) on every round */
    pthread_mutex_unlock(&v->lock);
    if (start_err < 0) {
        pthread_join(v->thread, NULL);
        r = refuse(cfg, start_err, v->start_msg[0] ? v->start_msg : strerror(-start_err));
        goto out_free;
    }
    if (v->note[0])
        log_info("vpn",
                 "kernel WireGuard not used (TIKGATE_WG_BACKEND=auto): %s; falling back "
                 "to wireguard-go",
                 v->note);
    if (!strcmp(v->backend_name, "kernel"))
        log_info("vpn", "%s up: %s, UDP port %u, backend kernel (in-kernel WireGuard)", v->ifname,
                 with_prefix, v->port);
    else
        log_info("vpn", "%s up: %s, UDP port %u, backend userspace (wireguard-go pid %d)",
                 v->ifname, with_prefix, v->port, pid);
    *ret = v;
    return 0;
out_free:
    role_free(v);
    return r;
}

void vpn_role_wake(struct vpn_role *v)
{
    if (!v)
        return;
    pthread_mutex_lock(&v->lock);
    v->woken = true;
    pthread_cond_signal(&v->cond);
    pthread_mutex_unlock(&v->lock);
}

void vpn_role_stop(struct vpn_role *v)
{
    if (!v)
        return;
    pthread_mutex_lock(&v->lock);
    v->stopping = true;
    pthread_cond_signal(&v->cond);
    pthread_mutex_unlock(&v->lock);
    pthread_join(v->thread, NULL);
    role_free(v);
}

int vpn_role_pid(struct vpn_role *v)
{
    if (!v)
        return 0;
    pthread_mutex_lock(&v->lock);
    int pid = v->pid;
    pthread_mutex_unlock(&v->lock);
    return pid;
}

void vpn_role_metrics(struct vpn_role *v, struct buf *out)
{
    buf_append_str(out, "# HELP tikgate_vpn_enabled Whether this node runs the management VPN.\n"
                        "# TYPE tikgate_vpn_enabled gauge\n");
    buf_printf(out, "tikgate_vpn_enabled %d\n", v ? 1 : 0);
    if (!v)
        return;
    pthread_mutex_lock(&v->lock);
    buf_printf(out,
               "# HELP tikgate_vpn_tunnels Managed tunnels by status.\n"
               "# TYPE tikgate_vpn_tunnels gauge\n"
               "tikgate_vpn_tunnels{status=\"up\"} %u\n"
               "tikgate_vpn_tunnels{status=\"down\"} %u\n"
               "tikgate_vpn_tunnels{status=\"pending\"} %u\n"
               "# TYPE tikgate_vpn_peers gauge\ntikgate_vpn_peers %u\n"
               "# HELP tikgate_vpn_transitions_total Tunnel status changes.\n"
               "# TYPE tikgate_vpn_transitions_total counter\n"
               "tikgate_vpn_transitions_total{to=\"up\"} %llu\n"
               "tikgate_vpn_transitions_total{to=\"down\"} %llu\n"
               "# TYPE tikgate_vpn_backend_restarts_total counter\n"
               "tikgate_vpn_backend_restarts_total %u\n"
               "# TYPE tikgate_vpn_apply_errors_total counter\n"
               "tikgate_vpn_apply_errors_total %llu\n",
               v->up, v->down, v->pending, v->peers, v->transitions_up, v->transitions_down,
               v->restarts, v->apply_errors);
    pthread_mutex_unlock(&v->lock);
}
