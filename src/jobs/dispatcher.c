#include "dispatcher.h"

#include "alloc.h"
#include "client.h"
#include "clock.h"
#include "edges.h"
#include "grants.h"
#include "log.h"
#include "plan.h"
#include "push.h"
#include "rand.h"
#include "target.h"
#include "timefmt.h"
#include "tunnel.h"
#include "verify.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*
 * Grants the scheduler takes and tears down per transaction, on either backend: on SQLite the
 * batch holds the one write lock (reads do not wait, WAL), 1024 means a quarter of the commits
 * of the former 256; 4096 made PostgreSQL's two nodes slower (docs/benchmarks.md).
 */
#define EXPIRE_BATCH 1024

struct dispatcher {
    struct dispatcher_config cfg;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stopping;
    unsigned wakeups;
    /* Jobs one worker's batch claim took for the others, oldest first (under lock). */
    struct job queue[STORE_CLAIM_MAX];
    size_t queued;
    int idle;                        /* workers waiting for work */
    bool claiming;                   /* a worker is claiming for everyone */
    struct store_listener *listener; /* PostgreSQL: other nodes' wake-ups (NULL: none) */
    /*
     * The scheduler's grants taken over from a dead node whose teardown has not succeeded yet:
     * claimed again they are this node's own, and their "taken_over" event still names the
     * dead node (scheduler thread only).
     */
    struct store_due_grant carry[EXPIRE_BATCH];
    int expire_batch; /* EXPIRE_BATCH */
    size_t ncarry;
    unsigned long verified, drifts; /* drift checks run, repairs queued (under lock) */
    pthread_t *threads;
    int nthreads;
};

int64_t dispatcher_backoff_ms(const struct dispatcher_config *cfg, int attempt)
{
    int64_t d = cfg->backoff_base_ms;
    for (int i = 1; i < attempt && d < cfg->backoff_max_ms; i++)
        d *= 2;
    if (d > cfg->backoff_max_ms)
        d = cfg->backoff_max_ms;
    int64_t jitter = d / 5;
    return d - jitter + (int64_t)rand_range(0, (uint32_t)(2 * jitter));
}

/* Waits for a wake-up or timeout_ms (worker: counted idle); returns false when stopping. */
static bool wait_for_work(struct dispatcher *d, unsigned *seen, int timeout_ms, bool worker)
{
    /* d->cond waits on CLOCK_MONOTONIC (clock_cond_init): a wall-clock step changes nothing */
    struct timespec ts = clock_timespec_ns(clock_mono_ns() + (int64_t)timeout_ms * 1000000);
    pthread_mutex_lock(&d->lock);
    d->idle += worker;
    while (!d->stopping && d->wakeups == *seen && !(worker && d->queued))
        if (pthread_cond_timedwait(&d->cond, &d->lock, &ts) == ETIMEDOUT)
            break;
    d->idle -= worker;
    *seen = d->wakeups;
    bool go = !d->stopping;
    pthread_mutex_unlock(&d->lock);
    return go;
}

void dispatcher_wake(struct dispatcher *d)
{
    if (!d)
        return;
    pthread_mutex_lock(&d->lock);
    d->wakeups++;
    pthread_cond_broadcast(&d->cond);
    pthread_mutex_unlock(&d->lock);
}

/* Logins tried per push: the pending passwords (newest first), the current one, the last retired.
 */
#define LOGIN_TRIES 4

/*
 * The order in which connect_site tries a site's credentials (oldest first in creds):
 * two-phase rotation (issue 14) means the router has the current password, or a pending one
 * whose job ran but whose confirmation was lost (a kill), or, after an interrupted rotation,
 * the one retired last. At most LOGIN_TRIES indexes in order; returns how many.
 */
static size_t login_order(const struct credential *creds, size_t n, size_t order[LOGIN_TRIES])
{
    size_t m = 0;
    for (size_t k = n; k-- > 0 && m < 2;)
        if (creds[k].state == CREDENTIAL_PENDING)
            order[m++] = k;
    for (size_t k = n; k-- > 0;)
        if (creds[k].state == CREDENTIAL_CURRENT) {
            order[m++] = k;
            break;
        }
    for (size_t k = n; k-- > 0;)
        if (creds[k].state == CREDENTIAL_RETIRED) {
            order[m++] = k;
            break;
        }
    return m;
}

/*
 * A login worked with cred: when it is not the current one, the router has it, so it becomes
 * current (store_credential_confirm), said in the log and in the job's orchestration log.
 */
static void note_login(struct dispatcher *d, const struct site *site, const struct credential *cred,
                       const char *job_id)
{
    if (cred->state == CREDENTIAL_CURRENT)
        return;
    bool changed = false;
    if (store_credential_confirm(d->cfg.store, site->id, cred->id, &changed) < 0 || !changed)
        return;
    char msg[160];
    snprintf(msg, sizeof msg,
             "logged in with the %s API password %s: the router has it, so it is "
             "current now",
             credential_state_name(cred->state), cred->id);
    log_info("dispatcher", "site %s: %s", site->id, msg);
    if (job_id)
        store_job_event(d->cfg.store, job_id, "credential", msg);
}

/*
 * Connects and logs in to the site with the first credential of login_order that works, every
 * wait bounded by deadline (absolute monotonic ms, 0: none); the client keeps that deadline
 * for the plan. job_id (may be NULL): the job the push is for (its log names a credential
 * that changed).
 */
static int connect_site(struct dispatcher *d, const struct site *site, int64_t deadline,
                        const char *job_id, struct ros_client **ret, char *err, size_t errlen)
{
    struct policy pol;
    int r = store_policy_get(d->cfg.store, site->tenant_id, site->policy_id, 0, &pol);
    if (r < 0) {
        snprintf(err, errlen, "the site's policy could not be read");
        return r;
    }
    uint16_t port = (uint16_t)pol.svc[SVC_API].port;
    policy_release(&pol);
    struct credential *creds = NULL;
    size_t n = 0;
    r = store_credential_list(d->cfg.store, site->tenant_id, site->id, &creds, &n);
    if (r < 0) {
        snprintf(err, errlen, "the site's credentials could not be read");
        return r;
    }
    /* F1/F2: never a password to an address that is not a router's tunnel. */
    r = tunnel_target_check(site->tunnel_address, d->cfg.mgmt_networks, d->cfg.tunnel_pool, err,
                            errlen);
    if (r < 0) {
        store_credential_array_free(creds, n);
        return r;
    }
    struct ros_client_opts opts = {.connect_timeout_ms = d->cfg.connect_timeout_ms,
                                   .io_timeout_ms = d->cfg.io_timeout_ms,
                                   .deadline_ms = deadline};
    r = -EACCES;
    snprintf(err, errlen, "no credential");
    size_t order[LOGIN_TRIES];
    size_t tries = login_order(creds, n, order);
    for (size_t t = 0; t < tries; t++) {
        size_t k = order[t];
        struct ros_client *c = NULL;
        r = ros_client_connect(site->tunnel_address, port, &opts, &c);
        if (r < 0) {
            snprintf(err, errlen, "cannot reach %s:%u over the RouterOS API: %s",
                     site->tunnel_address, port, strerror(-r));
            break;
        }
        r = ros_client_login(c, creds[k].username, creds[k].password);
        if (r == 0) {
            *ret = c;
            note_login(d, site, &creds[k], job_id);
            break;
        }
        const char *why = ros_client_last_error(c);
        snprintf(err, errlen, "login as %s refused: %s", creds[k].username,
                 why ? why : strerror(-r));
        ros_client_close(c);
    }
    store_credential_array_free(creds, n);
    return r;
}

/* Sleeps ms unless the dispatcher stops first; false when stopping. */
static bool pause_ms(struct dispatcher *d, int ms)
{
    /* d->cond waits on CLOCK_MONOTONIC (clock_cond_init) */
    struct timespec ts = clock_timespec_ns(clock_mono_ns() + (int64_t)ms * 1000000);
    pthread_mutex_lock(&d->lock);
    while (!d->stopping)
        if (pthread_cond_timedwait(&d->cond, &d->lock, &ts) == ETIMEDOUT)
            break;
    bool go = !d->stopping;
    pthread_mutex_unlock(&d->lock);
    return go;
}

/* A push asked the router to reboot: done only once it is back with an uptime that started
 * after the command (the router confirms it; a dropped connection alone proves nothing). */
static int confirm_reboot(struct dispatcher *d, const struct site *site, int64_t sent_ms, char *err,
                          size_t errlen)
{
    int64_t limit = d->cfg.reboot_confirm_ms > 0 ? d->cfg.reboot_confirm_ms : 180000;
    char last[256] = "no answer";
    while (time_now_ms() - sent_ms < limit && pause_ms(d, 1000)) {
        struct ros_client *c = NULL;
        char e[256] = "";
        if (connect_site(d, site, clock_mono_ms() + d->cfg.push_deadline_ms, NULL, &c, e,
                         sizeof e) != 0) {
            snprintf(last, sizeof last, "%s", e);
            continue;
        }
        long up = 0;
        int r = job_push_uptime(c, &up, e, sizeof e);
        ros_client_close(c);
        if (r < 0) {
            snprintf(last, sizeof last, "%s", e);
            continue;
        }
        if ((int64_t)up * 1000 <= time_now_ms() - sent_ms + 2000)
            return 0;
        snprintf(last, sizeof last, "the router answers with uptime %lds: it did not reboot", up);
    }
    snprintf(err, errlen, "no reboot confirmed within %lld s (%s)", (long long)(limit / 1000),
             last);
    return -ETIMEDOUT;
}

/* ---- the re-key's edge side (JOB_WG_REKEY, push.h) ---- */

#define REKEY_WAIT_MS 30000 /* the router's new key: its first handshake with the edge */

struct rekey_ctx {
    struct dispatcher *d;
    const struct site *site;
};

static void tunnels_changed(struct dispatcher *d)
{
    if (d->cfg.tunnels_changed)
        d->cfg.tunnels_changed(d->cfg.tunnels_ctx);
}

static int rekey_begin(void *ctx, const char *next_key)
{
    struct rekey_ctx *k = ctx;
    if (!tunnel_key_valid(next_key))
        return -EINVAL;
    int r = store_vpn_rekey_begin(k->d->cfg.store, k->site->id, next_key);
    if (r == 0) {
        log_info("dispatcher", "site %s: re-key: the router made a new key; the edge adds it",
                 k->site->id);
        tunnels_changed(k->d);
    }
    return r;
}

static int rekey_wait(void *ctx, const char *next_key)
{
    struct rekey_ctx *k = ctx;
    int64_t until = clock_mono_ms() + REKEY_WAIT_MS;
    do {
        char key[TUNNEL_KEY_B64_LEN + 1] = "";
        int64_t hs = 0;
        int r = store_vpn_rekey_next_state(k->d->cfg.store, k->site->id, key, &hs);
        if (r < 0)
            return r;
        if (strcmp(key, next_key) != 0)
            return -ESTALE; /* another re-key took over */
        if (hs > 0)
            return 0;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    } while (clock_mono_ms() < until);
    return -ETIMEDOUT;
}

static int rekey_commit(void *ctx, const char *next_key)
{
    struct rekey_ctx *k = ctx;
    int r = store_vpn_rekey_commit(k->d->cfg.store, k->site->id, next_key);
    if (r == 0) {
        store_site_event(k->d->cfg.store, k->site->id, "tunnel_rekeyed", next_key);
        log_info("dispatcher", "site %s: re-key: the edge switches to the router's new key",
                 k->site->id);
        tunnels_changed(k->d);
    }
    return r;
}

static void rekey_abort(void *ctx, const char *next_key)
{
    struct rekey_ctx *k = ctx;
    store_vpn_rekey_abort(k->d->cfg.store, k->site->id, next_key);
    tunnels_changed(k->d);
}

static void rekey_rollback(void *ctx, const char *next_key)
{
    struct rekey_ctx *k = ctx;
    log_warn("dispatcher",
             "site %s: re-key: the router did not confirm its switch; the edge "
             "goes back to the previous key",
             k->site->id);
    store_vpn_rekey_rollback(k->d->cfg.store, k->site->id, k->site->tunnel.public_key, next_key);
    tunnels_changed(k->d);
}

static bool rekey_current(void *ctx, const char *key)
{
    struct rekey_ctx *k = ctx;
    return !strcmp(k->site->tunnel.public_key, key);
}

/*
 * Records a job's end (or its next try). A store that refuses it leaves the job running
 * until its lease lapses and the requeue hands it out again (the plans run twice safely);
 * the failure is logged, not dropped.
 */
static void end_job(struct dispatcher *d, const struct job *j, enum job_status status,
                    const char *message)
{
    int r = store_job_finish(d->cfg.store, j->id, status, message);
    if (r < 0)
        log_error("dispatcher", "job %s on site %s: cannot record it %s (%s): %s", j->id,
                  j->site_id, job_status_name(status), message, strerror(-r));
}

static void retry_job(struct dispatcher *d, const struct job *j, int64_t next_ms,
                      const char *message)
{
    int r = store_job_retry(d->cfg.store, j->id, next_ms, message);
    if (r < 0)
        log_error("dispatcher", "job %s on site %s: cannot schedule its next try (%s): %s", j->id,
                  j->site_id, message, strerror(-r));
}

static void run_job(struct dispatcher *d, struct job *j)
{
    char err[512] = "";
    struct site site;
    int r = store_site_get_any(d->cfg.store, j->site_id, &site);
    if (r < 0) {
        end_job(d, j, JOB_FAILED, "the site no longer exists");
        return;
    }
    struct ros_client *c = NULL;
    /* F9: the whole push has one deadline, however slowly the router trickles its replies */
    int64_t deadline = clock_mono_ms() + d->cfg.push_deadline_ms;
    if (site.tunnel_address)
        r = connect_site(d, &site, deadline, j->id, &c, err, sizeof err);
    else
        r = -EHOSTUNREACH;
    int64_t sent_ms = time_now_ms();
    if (r == 0) {
        if (j->is_script) {
            r = job_push_script(c, j->payload, err, sizeof err);
        } else {
            struct job_plan plan = {0};
            r = job_plan_parse(j->payload, &plan);
            if (r < 0)
                snprintf(err, sizeof err, "corrupt job payload");
            else {
                job_plan_for_site(&plan, &site, d->cfg.tunnel_pool);
                struct rekey_ctx rk = {.d = d, .site = &site};
                struct job_push_hooks hooks = {.ctx = &rk,
                                               .rekey_begin = rekey_begin,
                                               .rekey_wait = rekey_wait,
                                               .rekey_commit = rekey_commit,
                                               .rekey_abort = rekey_abort,
                                               .rekey_current = rekey_current,
                                               .rekey_rollback = rekey_rollback};
                r = job_push_plan(c, &plan, &hooks, err, sizeof err);
            }
            job_plan_release(&plan);
        }
        ros_client_close(c);
    }
    if (r == -ETIMEDOUT && clock_mono_ms() >= deadline)
        snprintf(err, sizeof err, "the push did not finish within %d ms (router too slow)",
                 d->cfg.push_deadline_ms);
    if (r == JOB_PUSH_REBOOTING) {
        /* never retried: a second push would reboot the router again */
        log_info("dispatcher", "job %s on site %s: the router reboots; waiting for it", j->id,
                 j->site_id);
        if (confirm_reboot(d, &site, sent_ms, err, sizeof err) == 0)
            end_job(d, j, JOB_COMPLETED, "The router rebooted and came back (express push)");
        else
            end_job(d, j, JOB_FAILED, err);
    } else if (r == 0) {
        end_job(d, j, JOB_COMPLETED, "Completed by express push over the RouterOS API");
        /* two-phase rotation: the password this job set (if any) is the router's now */
        store_credential_confirm_job(d->cfg.store, j->id, NULL);
        log_info("dispatcher", "job %s (%s) on site %s completed by push", j->id,
                 job_kind_name(j->kind), j->site_id);
    } else if (j->attempts + 1 >= d->cfg.max_attempts) {
        end_job(d, j, JOB_FAILED, err);
        log_warn("dispatcher", "job %s on site %s failed after %d attempts: %s", j->id, j->site_id,
                 j->attempts + 1, err);
    } else {
        int64_t delay = dispatcher_backoff_ms(&d->cfg, j->attempts + 1);
        char msg[640];
        snprintf(msg, sizeof msg, "attempt %d failed (%s); next try in %lld ms", j->attempts + 1,
                 err, (long long)delay);
        retry_job(d, j, time_now_ms() + delay, msg);
    }
    site_release(&site);
}

/*
 * The next job for a worker: one another worker claimed for it, else a batch claim for this
 * worker and the idle ones (one transaction for all of them). 0 with *ret, -ENOENT when
 * nothing is due, -EAGAIN while another worker is claiming.
 */
static int next_job(struct dispatcher *d, struct job *ret)
{
    pthread_mutex_lock(&d->lock);
    if (d->queued) {
        *ret = d->queue[0];
        d->queued--;
        memmove(&d->queue[0], &d->queue[1], d->queued * sizeof d->queue[0]);
        pthread_mutex_unlock(&d->lock);
        return 0;
    }
    if (d->claiming) {
        pthread_mutex_unlock(&d->lock);
        return -EAGAIN;
    }
    d->claiming = true;
    int want = 1 + d->idle;
    pthread_mutex_unlock(&d->lock);
    if (want > STORE_CLAIM_MAX)
        want = STORE_CLAIM_MAX;
    struct store_push_claim cl = {.owner = d->cfg.node_name,
                                  .now_ms = time_now_ms(),
                                  .lease_until_ms = time_now_ms() + d->cfg.lease_ms,
                                  .tenant_max = d->cfg.tenant_workers,
                                  .limit = want};
    struct job *jobs = NULL;
    size_t n = 0;
    int r = store_job_claim_push_batch(d->cfg.store, &cl, &jobs, &n);
    if (cl.ret_unsealable) /* the store failed those jobs with the reason */
        log_warn("dispatcher",
                 "%d claimed job(s) failed: the payload cannot be unsealed "
                 "(wrong master key or corrupted data)",
                 cl.ret_unsealable);
    pthread_mutex_lock(&d->lock);
    d->claiming = false;
    if (r == 0) {
        *ret = jobs[0];
        for (size_t i = 1; i < n; i++)
            d->queue[d->queued++] = jobs[i];
        if (n > 1) {
            d->wakeups++;
            pthread_cond_broadcast(&d->cond);
        }
    }
    pthread_mutex_unlock(&d->lock);
    free(jobs); /* the jobs themselves moved to *ret and the queue */
    return r == 0 ? 0 : -ENOENT;
}

/*
 * The drift check of one due site (verify.h), when this worker has nothing to push: at most
 * one claim per second per worker. Returns true when a site was checked.
 */
static bool verify_one(struct dispatcher *d, int64_t *next_try_ms)
{
    if (d->cfg.verify_interval_s <= 0 || clock_mono_ms() < *next_try_ms)
        return false;
    *next_try_ms = clock_mono_ms() + 1000;
    char id[UUID_STR_LEN];
    if (store_site_claim_verify(d->cfg.store, d->cfg.node_name, time_now(),
                                d->cfg.verify_interval_s, id) < 0)
        return false;
    struct site site;
    if (store_site_get_any(d->cfg.store, id, &site) < 0)
        return false;
    char err[512] = "";
    struct ros_client *c = NULL;
    int64_t deadline = clock_mono_ms() + d->cfg.push_deadline_ms;
    int r = connect_site(d, &site, deadline, NULL, &c, err, sizeof err);
    struct jobs_verify_result res = {0};
    if (r == 0) {
        r = jobs_site_verify(d->cfg.store, c, &site, d->cfg.mgmt_networks, &res, err, sizeof err);
        ros_client_close(c);
    }
    if (r < 0)
        log_warn("dispatcher", "site %s: drift check failed: %s", site.id, err);
    else if (res.stale || res.missing || res.policy || res.filter) {
        log_warn("dispatcher",
                 "site %s: drift: %d left-over grant(s), %d missing, %d service(s) and %d "
                 "management filter rule(s) off the policy; repair jobs queued",
                 site.id, res.stale, res.missing, res.policy, res.filter);
        dispatcher_wake(d);
    }
    pthread_mutex_lock(&d->lock);
    d->verified++;
    d->drifts += (unsigned long)(res.stale + res.missing + res.policy + res.filter);
    pthread_mutex_unlock(&d->lock);
    site_release(&site);
    return true;
}

static void *worker_main(void *arg)
{
    int64_t next_verify_ms = 0;
    struct dispatcher *d = arg;
    unsigned seen = 0;
    while (true) {
        struct job j;
        if (next_job(d, &j) == 0) {
            run_job(d, &j);
            job_release(&j);
            pthread_mutex_lock(&d->lock);
            bool stop = d->stopping;
            pthread_mutex_unlock(&d->lock);
            if (stop)
                break;
            continue;
        }
        if (verify_one(d, &next_verify_ms))
            continue;
        if (!wait_for_work(d, &seen, 200, true))
            break;
    }
    store_thread_done(d->cfg.store);
    return NULL;
}

/* A claimed grant's lease and the silence after which a node is dead: 3 heartbeats. */
static int64_t claim_lease_ms(const struct dispatcher *d)
{
    return d->cfg.node_dead_after_ms > 0 ? d->cfg.node_dead_after_ms : 15000;
}

/*
 * The fallback of expire_grants() for a batch with a grant that cannot be read: claims a batch
 * of due grants (store_grants_claim_due, a lease written), then tears it down in one
 * transaction, or grant by grant; the bad one stays claimed. Returns how many were torn down.
 */
static int expire_claimed(struct dispatcher *d)
{
    struct store_due_grant *due = NULL;
    size_t n = 0;
    if (store_grants_claim_due(d->cfg.store, d->cfg.node_name, time_now_ms(), claim_lease_ms(d),
                               d->expire_batch, &due, &n) < 0 ||
        n == 0) {
        free(due);
        return 0;
    }
    size_t taken = 0;
    const char *from = NULL;
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; !due[i].prev_owner[0] && k < d->ncarry; k++)
            if (!strcmp(d->carry[k].id, due[i].id))
                memcpy(due[i].prev_owner, d->carry[k].prev_owner, sizeof due[i].prev_owner);
        if (due[i].prev_owner[0]) {
            taken++;
            from = from ? from : due[i].prev_owner;
        }
    }
    if (taken)
        log_warn("scheduler",
                 "%zu expired grant(s) claimed by node %s%s, which stopped heartbeating: "
                 "taken over",
                 taken, from, taken > 1 ? " (and maybe others)" : "");
    /* No hooks: the edge and the workers are told once for the whole batch, below. */
    struct jobs_grant_env env = {.store = d->cfg.store};
    int done = 0;
    int r = jobs_grant_expire_claimed(&env, d->cfg.node_name, due, n, &done);
    if (r < 0)
        log_warn("scheduler", "tearing %zu expired grant(s) down failed: %s", n, strerror(-r));
    d->ncarry = 0;
    for (size_t i = 0; (r < 0 || (size_t)done < n) && i < n; i++)
        if (due[i].prev_owner[0])
            d->carry[d->ncarry++] = due[i];
    free(due);
    if (done) {
        log_info("scheduler", "%d grant(s) expired and torn down", done);
        if (d->cfg.grants_changed)
            d->cfg.grants_changed(d->cfg.grants_ctx);
        dispatcher_wake(d);
    }
    return done;
}

/*
 * Tears a batch of due grants down in one transaction (jobs_grant_expire_due: taken with a
 * row lock, written once). Returns how many (d->expire_batch: there may be more).
 */
static int expire_grants(struct dispatcher *d)
{
    struct jobs_grant_env env = {.store = d->cfg.store};
    struct jobs_expired ex;
    /* the server's limit on an idle batch transaction: never below 10 s (a slow build of the
     * batch's jobs under a sanitizer is not a hung node) */
    int64_t idle_ms = claim_lease_ms(d) > 10000 ? claim_lease_ms(d) : 10000;
    int r =
        jobs_grant_expire_due(&env, d->cfg.node_name, time_now_ms(), idle_ms, d->expire_batch, &ex);
    if (r == -EBADMSG)
        return expire_claimed(d);
    if (r < 0) {
        log_warn("scheduler", "tearing expired grants down failed: %s", strerror(-r));
        return 0;
    }
    if (ex.taken_over)
        log_warn("scheduler",
                 "%d expired grant(s) claimed by node %s%s, which stopped heartbeating: "
                 "taken over",
                 ex.taken_over, ex.from, ex.taken_over > 1 ? " (and maybe others)" : "");
    if (ex.done) {
        log_info("scheduler", "%d grant(s) expired and torn down", ex.done);
        if (d->cfg.grants_changed)
            d->cfg.grants_changed(d->cfg.grants_ctx);
        dispatcher_wake(d);
    }
    return ex.done;
}

/*
 * How long the scheduler may sleep: until the earliest live grant expires, at most poll_ms (a
 * grant created or moved earlier meanwhile is found within that; 100 ms, or 1 s when other
 * nodes' changes wake the scheduler), at least 1 ms. After a round that took nothing, a grant
 * already due is another node's (its batch under way, or its claim's lease): the scheduler
 * sleeps until the next grant that is not due yet, so that it takes that one on time while
 * the other node is busy, and does not spin on the held one.
 */
static int scheduler_sleep_ms(struct dispatcher *d, int claimed)
{
    int poll_ms = d->listener ? 1000 : 100;
    int64_t now = time_now_ms();
    int64_t next = store_grants_next_expiry(d->cfg.store, claimed ? 0 : now);
    if (!next)
        return poll_ms;
    int64_t wait = next - now;
    return wait < 1 ? 1 : wait > poll_ms ? poll_ms : (int)wait;
}

/*
 * Moves the sites of edges dead for longer than edge_move_after_ms (at most 64 per sweep; the
 * compare-and-set in jobs_site_move keeps two schedulers from moving one site twice).
 */
static void sweep_edges(struct dispatcher *d)
{
    if (d->cfg.edge_move_after_ms <= 0 || d->cfg.node_dead_after_ms <= 0)
        return;
    struct jobs_edge_env env = {.store = d->cfg.store,
                                .dead_after_ms = d->cfg.node_dead_after_ms,
                                .mgmt_networks = d->cfg.mgmt_networks,
                                .changed = d->cfg.grants_changed,
                                .changed_ctx = d->cfg.grants_ctx};
    int moved = 0;
    if (jobs_edges_sweep(&env, d->cfg.edge_move_after_ms, 64, &moved) == 0 && moved) {
        log_info("scheduler", "%d site(s) moved off dead edge(s)", moved);
        if (d->cfg.tunnels_changed)
            d->cfg.tunnels_changed(d->cfg.tunnels_ctx);
        dispatcher_wake(d);
    }
}

/*
 * Whether a live grant's expiry has passed: one read, so that the scheduler, woken by every
 * job queued and grant created, opens the write transaction of expire_grants() only when
 * there is something to take (it did on every wake-up: ~7 % of tikgated's CPU, and a write
 * between every two creates, under bench/write.sh). A failed read says no: the next round
 * asks again.
 */
static bool grants_due(struct dispatcher *d)
{
    int64_t next = store_grants_next_expiry(d->cfg.store, 0);
    return next != 0 && next <= time_now_ms();
}

static void *scheduler_main(void *arg)
{
    struct dispatcher *d = arg;
    unsigned seen = 0;
    int64_t next_sweep = 0, next_sample = 0;
    int claimed;
    do {
        claimed = 0;
        while (grants_due(d) && (claimed = expire_grants(d)) == d->expire_batch)
            ; /* a backlog (after a restart): keep going, one transaction per batch */
        if (time_now_ms() < next_sweep)
            continue;
        next_sweep = time_now_ms() + 500;
        int n = 0;
        if (store_jobs_requeue_expired(d->cfg.store, time_now_ms(), &n) == 0 && n) {
            log_info("scheduler", "re-queued %d job(s) whose lease expired", n);
            dispatcher_wake(d);
        }
        int64_t cutoff = time_now() - 10 * (int64_t)d->cfg.poll_interval_s;
        if (store_sites_mark_offline(d->cfg.store, cutoff, &n) == 0 && n)
            log_info("scheduler", "%d site(s) went offline (10 missed heartbeats)", n);
        sweep_edges(d);
        /* the fleet view's 5-minute samples: written once per boundary by any scheduler */
        if (time_now_ms() >= next_sample &&
            store_fleet_sample(d->cfg.store, time_now_ms(), &n) == 0)
            next_sample = time_now_ms() + 10000;
    } while (wait_for_work(d, &seen, scheduler_sleep_ms(d, claimed), false));
    store_thread_done(d->cfg.store);
    return NULL;
}

/*
 * Other nodes' NOTIFYs (PostgreSQL): wake the workers and the scheduler, tell the edge and the
 * VPN role (a site moved here: its peer before the router switches, jobs/edges.h).
 */
static void *listener_main(void *arg)
{
    struct dispatcher *d = arg;
    while (true) {
        pthread_mutex_lock(&d->lock);
        bool stop = d->stopping;
        pthread_mutex_unlock(&d->lock);
        if (stop)
            break;
        unsigned mask = 0;
        if (store_listen_wait(d->cfg.store, d->listener, 250, &mask) < 0 || !mask)
            continue;
        dispatcher_wake(d);
        if ((mask & STORE_WAKE_GRANTS) && d->cfg.grants_changed)
            d->cfg.grants_changed(d->cfg.grants_ctx);
        if ((mask & STORE_WAKE_TUNNELS) && d->cfg.tunnels_changed)
            d->cfg.tunnels_changed(d->cfg.tunnels_ctx);
    }
    return NULL;
}

void dispatcher_beat(struct dispatcher *d)
{
    if (!d)
        return;
    int n = 0;
    if (d->cfg.run_scheduler)
        store_leases_renew(d->cfg.store, d->cfg.node_name, claim_lease_ms(d), &n);
    if (store_jobs_take_over(d->cfg.store, d->cfg.node_name, claim_lease_ms(d), &n) == 0 && n) {
        log_warn("dispatcher", "took over %d running job(s) of dead node(s): back in the queue", n);
        dispatcher_wake(d);
    }
}

int dispatcher_start(const struct dispatcher_config *cfg, struct dispatcher **ret)
{
    struct dispatcher *d = xcalloc(1, sizeof *d);
    d->cfg = *cfg;
    if (d->cfg.workers < 1)
        d->cfg.workers = 1;
    if (d->cfg.push_deadline_ms <= 0)
        d->cfg.push_deadline_ms = 60000;
    /* F9: one tenant never holds every worker (with a single worker there is nothing to share) */
    int share = d->cfg.workers > 1 ? d->cfg.workers - 1 : 1;
    if (d->cfg.tenant_workers <= 0 || d->cfg.tenant_workers > share)
        d->cfg.tenant_workers = share;
    pthread_mutex_init(&d->lock, NULL);
    clock_cond_init(&d->cond);
    if (!d->cfg.node_name)
        d->cfg.node_name = "localhost";
    /* PostgreSQL: other nodes' changes wake us (SQLite: -ENOTSUP, polling alone) */
    if (store_listen_open(cfg->store, &d->listener) < 0)
        d->listener = NULL;
    d->expire_batch = EXPIRE_BATCH;
    int n = (cfg->run_dispatcher ? d->cfg.workers : 0) + (cfg->run_scheduler ? 1 : 0) +
            (d->listener ? 1 : 0);
    d->threads = xcalloc((size_t)n + 1, sizeof *d->threads);
    if (cfg->run_dispatcher) {
        int requeued = 0;
        if (store_jobs_requeue_push(cfg->store, d->cfg.node_name, &requeued) == 0 && requeued)
            log_info("dispatcher", "re-queued %d job(s) that were being pushed at shutdown",
                     requeued);
    }
    for (int i = 0; i < n; i++) {
        bool listen = d->listener && i == n - 1;
        bool sched = cfg->run_scheduler && i == n - 1 - (d->listener ? 1 : 0);
        void *(*fn)(void *) = listen ? listener_main : sched ? scheduler_main : worker_main;
        if (pthread_create(&d->threads[i], NULL, fn, d) != 0) {
            d->nthreads = i;
            dispatcher_stop(d);
            return -EAGAIN;
        }
        d->nthreads = i + 1;
    }
    *ret = d;
    return 0;
}

void dispatcher_metrics(struct dispatcher *d, struct buf *out)
{
    if (!d)
        return;
    pthread_mutex_lock(&d->lock);
    unsigned long checks = d->verified, repairs = d->drifts;
    pthread_mutex_unlock(&d->lock);
    buf_printf(out,
               "# HELP tikgate_drift_checks_total Routers checked against the store.\n"
               "# TYPE tikgate_drift_checks_total counter\n"
               "tikgate_drift_checks_total %lu\n"
               "# HELP tikgate_drift_repairs_total Differences found (a repair job each).\n"
               "# TYPE tikgate_drift_repairs_total counter\n"
               "tikgate_drift_repairs_total %lu\n",
               checks, repairs);
}

void dispatcher_stop(struct dispatcher *d)
{
    if (!d)
        return;
    pthread_mutex_lock(&d->lock);
    d->stopping = true;
    pthread_cond_broadcast(&d->cond);
    pthread_mutex_unlock(&d->lock);
    for (int i = 0; i < d->nthreads; i++)
        pthread_join(d->threads[i], NULL);
    /* Claimed for a worker that stopped first: still running under this node's name, they go
     * back to the queue at its next start (or when other nodes find it dead). */
    for (size_t i = 0; i < d->queued; i++)
        job_release(&d->queue[i]);
    store_listen_close(d->cfg.store, d->listener);
    pthread_cond_destroy(&d->cond);
    pthread_mutex_destroy(&d->lock);
    free(d->threads);
    free(d);
}
