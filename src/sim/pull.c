/*
 * pull.c - the router's side of the pull model: the bootstrap command once,
 * then the on-event of /system/scheduler "tikgate-poll" every interval, in
 * a thread of its own (fetches block). The first run happens one interval
 * after the entry appears (RouterOS: start-time=startup with an interval).
 * After a (simulated) reboot, every enabled entry with start-time=startup and
 * interval 0 runs once (RouterOS runs those 3 s after boot). Each entry's
 * on-event runs with the entry's policy= (a reboot without `reboot` is refused,
 * "not enough permissions"); the bootstrap command runs with every policy (it is
 * typed by an admin). Other scheduler entries are stored, not executed.
 */
#include "alloc.h"
#include "clock.h"
#include "log.h"
#include "sim.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POLL_NAME "tikgate-poll"

struct sim_pull {
    pthread_t th;
    struct sim_state *st;
    char *bootstrap;
    double interval;
    volatile bool stop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

static double now_s(void)
{
    return (double)clock_mono_ns() / 1e9;
}

static bool should_stop(void *ctx)
{
    return ((struct sim_pull *)ctx)->stop;
}

static void sleep_for(struct sim_pull *p, double secs)
{
    if (secs <= 0)
        return;
    struct timespec ts = clock_timespec_ns(clock_mono_ns() + (int64_t)(secs * 1e9));
    pthread_mutex_lock(&p->mu);
    while (!p->stop) {
        if (pthread_cond_timedwait(&p->cv, &p->mu, &ts) == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&p->mu);
}

/* What is left in /file after a script (tests check that secrets do not stay). */
static void log_files(const struct sim_files *f, const char *name)
{
    char list[512] = "";
    size_t used = 0;
    for (size_t i = 0; i < f->n && used < sizeof list; i++)
        used +=
            (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", f->v[i].name);
    log_msg(f->n ? LOG_INFO : LOG_DEBUG, "sim.pull", "after %s: /file holds %zu file(s)%s%s", name,
            f->n, f->n ? ": " : "", list);
}

static void run(struct sim_pull *p, const char *name, const char *text, const char *policy)
{
    struct sim_script_host h = {
        .st = p->st,
        .files = &p->st->files,
        .policy = policy,
        .fetch = sim_fetch_curl,
        .fetch_ctx = (void *)&p->stop,
        .should_stop = should_stop,
        .stop_ctx = p,
    };
    struct sim_script_report rep;
    sim_state_lock(p->st);
    uint64_t gen0 = p->st->gen;
    sim_state_unlock(p->st);
    enum sim_script_result r = sim_script_run(&h, name, text, strlen(text), &rep);
    sim_state_lock(p->st);
    bool changed = p->st->gen != gen0;
    sim_state_unlock(p->st);
    switch (r) {
    case SIM_SCRIPT_OK:
        log_msg(changed || rep.caught ? LOG_INFO : LOG_DEBUG, "sim.pull",
                "%s: ran %u command(s)%s%s", name, rep.commands, changed ? ", config changed" : "",
                rep.caught ? ", with errors caught by on-error" : "");
        break;
    case SIM_SCRIPT_FAILED:
        log_warn("sim.pull", "%s failed at line %u: %s", name, rep.line, rep.err);
        break;
    case SIM_SCRIPT_SYNTAX:
        log_warn("sim.pull", "%s not run: line %u: %s", name, rep.line, rep.err);
        break;
    case SIM_SCRIPT_REBOOT: log_info("sim.pull", "%s: stopped by /system reboot", name); break;
    case SIM_SCRIPT_STOPPED: log_info("sim.pull", "%s: interrupted by shutdown", name); break;
    }
    sim_state_lock(p->st);
    log_files(&p->st->files, name);
    sim_state_unlock(p->st);
}

/* After a boot: every enabled entry with start-time=startup and interval 0, in order. */
static void run_startup(struct sim_pull *p)
{
    for (size_t k = 0; !p->stop; k++) {
        char *name = NULL, *on_event = NULL, *policy = NULL;
        sim_state_lock(p->st);
        const struct sim_menu *m = &p->st->menus[SIM_M_SCHED];
        for (; k < m->n && !name; k++) {
            const struct sim_item *it = &m->items[k];
            const char *st = sim_item_get(m, it, "start-time");
            double iv = 1;
            if (strcmp(sim_item_get(m, it, "disabled"), "true") == 0 || !st ||
                strcmp(st, "startup") != 0 ||
                sim_duration_parse(sim_item_get(m, it, "interval"), &iv) != 0 || iv != 0)
                continue;
            name = xstrdup(sim_item_get(m, it, "name"));
            on_event = xstrdup(sim_item_get(m, it, "on-event"));
            policy = xstrdup(sim_item_get(m, it, "policy"));
            k--; /* the loop's k++ moves past it */
        }
        size_t n = m->n;
        sim_state_unlock(p->st);
        if (!name)
            break;
        log_info("sim.pull", "startup: running scheduler %s", name);
        run(p, name, on_event, policy);
        free(name);
        free(on_event);
        free(policy);
        if (k >= n)
            break;
    }
}

static void *thread_main(void *arg)
{
    struct sim_pull *p = arg;
    if (p->bootstrap) {
        log_info("sim.pull", "running the bootstrap command");
        run(p, "bootstrap", p->bootstrap, NULL);
    }
    bool seen = false;
    double due = 0;
    sim_state_lock(p->st);
    unsigned boots_seen = p->st->boots;
    sim_state_unlock(p->st);
    while (!p->stop) {
        char *on_event = NULL, *policy = NULL;
        double iv = 0;
        sim_state_lock(p->st);
        if (p->st->boots != boots_seen) {
            boots_seen = p->st->boots;
            seen = false; /* the poll entry starts over one interval after the boot */
            sim_state_unlock(p->st);
            sleep_for(p, 0.3);
            run_startup(p);
            continue;
        }
        size_t idx;
        if (sim_resolve(p->st, SIM_M_SCHED, POLL_NAME, &idx) == 0) {
            const struct sim_menu *m = &p->st->menus[SIM_M_SCHED];
            const struct sim_item *it = &m->items[idx];
            const char *dis = sim_item_get(m, it, "disabled");
            if (!dis || strcmp(dis, "true") != 0) {
                on_event = xstrdup(sim_item_get(m, it, "on-event"));
                policy = xstrdup(sim_item_get(m, it, "policy"));
                if (sim_duration_parse(sim_item_get(m, it, "interval"), &iv) != 0)
                    iv = 0;
            }
        }
        sim_state_unlock(p->st);
        if (p->interval > 0)
            iv = p->interval;
        if (!on_event || iv <= 0) {
            free(on_event);
            free(policy);
            seen = false;
            sleep_for(p, 0.1);
            continue;
        }
        double t = now_s();
        if (!seen) {
            seen = true;
            due = t + iv;
            log_info("sim.pull", "scheduler %s: every %.3g s", POLL_NAME, iv);
        }
        if (t >= due) {
            run(p, POLL_NAME, on_event, policy ? policy : "");
            due += iv;
            if (due < now_s())
                due = now_s() + iv;
        } else {
            sleep_for(p, due - t < 0.5 ? due - t : 0.5);
        }
        free(on_event);
        free(policy);
    }
    return NULL;
}

struct sim_pull *sim_pull_start(struct sim_state *st, const char *bootstrap, double poll_interval,
                                void (*wake)(void *), void *wake_ctx)
{
    (void)wake, (void)wake_ctx; /* state changes wake the server through st->on_change */
    struct sim_pull *p = xcalloc(1, sizeof *p);
    p->st = st;
    p->bootstrap = bootstrap ? xstrdup(bootstrap) : NULL;
    p->interval = poll_interval;
    pthread_mutex_init(&p->mu, NULL);
    clock_cond_init(&p->cv);
    if (pthread_create(&p->th, NULL, thread_main, p) != 0) {
        free(p->bootstrap);
        free(p);
        return NULL;
    }
    return p;
}

void sim_pull_stop(struct sim_pull *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->th, NULL);
    free(p->bootstrap);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
