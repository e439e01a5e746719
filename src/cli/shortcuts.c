/*
 * shortcuts.c - the daily commands: `tikgate winbox|ssh|forward|log SITE`.
 *
 * winbox and ssh create a transient access for the caller's address (the API's default
 * source: the address it sees the request come from) and wait, where the login needs it,
 * until the router has the temporary user (config_committed_to_site). log reads the jobs
 * API: recent jobs' events, then with --follow polls for new jobs and events.
 */
#include "alloc.h"
#include "cli_int.h"
#include "clock.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define READY_TIMEOUT_MS 90000

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL); /* a signal ends it early: the loops check stop_requested */
}

/* Polls the grant at path until the router has it; *g is replaced by the latest answer. */
static int wait_ready(struct cli *c, const char *path, json_t **g)
{
    int64_t deadline = clock_mono_ms() + READY_TIMEOUT_MS;
    bool told = false;
    while (!json_string_value(json_object_get(*g, "config_committed_to_site"))) {
        if (clock_mono_ms() > deadline || stop_requested)
            return cli_fail(CLI_FAIL, "the router has not applied the grant yet (is the site "
                                      "online?); it stays valid: 'tikgate access list'");
        if (!told && !c->json)
            fputs("Waiting for the router to apply the grant...\n", stderr);
        told = true;
        sleep_ms(300);
        json_t *next = NULL;
        int rc = cli_api(c, "GET", path, NULL, &next);
        if (rc)
            return rc;
        json_decref(*g);
        *g = next;
    }
    return CLI_OK;
}

void cli_print_grant(struct cli *c, json_t *g)
{
    if (c->json) {
        cli_print(c, g, NULL, 0);
        return;
    }
    const char *src = cli_str(g, "allow_only_cidr");
    fprintf(stderr, "grant %s: %s:%lld", cli_str(g, "id"), cli_str(g, "entry_point"),
            (long long)json_integer_value(json_object_get(g, "port")));
    if (json_object_get(g, "username"))
        fprintf(stderr, ", user %s, password %s", cli_str(g, "username"), cli_str(g, "password"));
    fprintf(stderr, ", from %s, expires %s (%s)\n", src ? src : "-", cli_str(g, "expires_at"),
            cli_str(g, "time_to_expire"));
}

/* Creates a grant on path with body; waits for the router when wait is set. */
static int create_grant(struct cli *c, const char *path, json_t *body, bool wait, json_t **ret)
{
    json_t *g = NULL;
    int rc = cli_api(c, "POST", path, body, &g);
    if (rc)
        return rc;
    if (wait) {
        char *one = xasprintf("%s/%s", path, cli_str(g, "id"));
        rc = wait_ready(c, one, &g);
        free(one);
    }
    if (rc)
        json_decref(g);
    else
        *ret = g;
    return rc;
}

/* Runs argv (a program in PATH) and waits for it. */
static int run_program(char *const argv[])
{
    pid_t pid = fork();
    if (pid < 0)
        return cli_fail(CLI_FAIL, "fork: %s", strerror(errno));
    if (pid == 0) {
        execvp(argv[0], argv);
        fprintf(stderr, "tikgate: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return cli_fail(CLI_FAIL, "%s failed", argv[0]);
    return CLI_OK;
}

static int site_grant(struct cli *c, struct cli_args *a, const char *type, bool wait, json_t **ret)
{
    char site[UUID_STR_LEN];
    json_t *body = NULL;
    int rc = cli_site_id(c, a->pos[0], site);
    if (rc || (rc = cli_access_body(a, type, &body)))
        return rc;
    char *path = cli_res_path(&cli_res_access, site, NULL);
    rc = create_grant(c, path, body, wait, ret);
    free(path);
    json_decref(body);
    return rc;
}

CLI_CMD(cli_cmd_winbox)
{
    bool open = cli_flag(a, "open");
    json_t *g = NULL;
    int rc = site_grant(c, a, "winbox", open || cli_flag(a, "wait"), &g);
    if (rc)
        return rc;
    const char *link = cli_str(g, "onclick");
    if (!c->json)
        puts(link);
    cli_print_grant(c, g);
    if (open && strcmp(link, "-") != 0) {
        char *argv[] = {"xdg-open", (char *)link, NULL};
        fflush(stdout);
        rc = run_program(argv);
    }
    json_decref(g);
    return rc;
}

static bool in_path(const char *prog)
{
    const char *path = getenv("PATH");
    while (path && *path) {
        const char *colon = strchr(path, ':');
        size_t n = colon ? (size_t)(colon - path) : strlen(path);
        char *f = xasprintf("%.*s/%s", (int)n, path, prog);
        bool ok = access(f, X_OK) == 0;
        free(f);
        if (ok)
            return true;
        path = colon ? colon + 1 : NULL;
    }
    return false;
}

/* The ssh command line for grant g: [sshpass -e] ssh -p PORT -o HostKeyAlias=... user@host. */
static char **ssh_argv(json_t *g, const char *site, bool sshpass, char **rest, int nrest)
{
    char **argv = xcalloc((size_t)nrest + 10, sizeof *argv);
    int n = 0;
    if (sshpass) {
        argv[n++] = xstrdup("sshpass");
        argv[n++] = xstrdup("-e");
    }
    argv[n++] = xstrdup("ssh");
    argv[n++] = xstrdup("-p");
    argv[n++] = xasprintf("%lld", (long long)json_integer_value(json_object_get(g, "port")));
    /* Every grant has another edge port: remember the router's host key per site instead. */
    argv[n++] = xstrdup("-o");
    argv[n++] = xasprintf("HostKeyAlias=tikgate-%s", site);
    argv[n++] = xasprintf("%s@%s", cli_str(g, "username"), cli_str(g, "entry_point"));
    for (int i = 0; i < nrest; i++)
        argv[n++] = xstrdup(rest[i]);
    argv[n] = NULL;
    return argv;
}

static void free_argv(char **argv)
{
    for (size_t i = 0; argv && argv[i]; i++)
        free(argv[i]);
    free(argv);
}

CLI_CMD(cli_cmd_ssh)
{
    json_t *g = NULL;
    int rc = site_grant(c, a, "ssh", true, &g);
    if (rc)
        return rc;
    const char *pw = cli_str(g, "password");
    const char *site = cli_str(g, "site_id");
    bool sshpass = !cli_flag(a, "print") && in_path("sshpass");
    char **argv = ssh_argv(g, site ? site : "site", sshpass, a->rest, a->nrest);
    if (cli_flag(a, "print") || c->json) {
        if (c->json)
            cli_print(c, g, NULL, 0);
        for (size_t i = 0; !c->json && argv[i]; i++)
            printf("%s%s", i ? " " : "", argv[i]);
        if (!c->json)
            printf("\npassword: %s\n", pw ? pw : "-");
        free_argv(argv);
        json_decref(g);
        return CLI_OK;
    }
    if (sshpass)
        setenv("SSHPASS", pw ? pw : "", 1);
    else
        fprintf(stderr, "Password for %s (ssh asks for it): %s\n", cli_str(g, "username"),
                pw ? pw : "-");
    fflush(stdout);
    fflush(stderr);
    execvp(argv[0], argv);
    rc = cli_fail(CLI_FAIL, "cannot run %s: %s", argv[0], strerror(errno));
    free_argv(argv);
    json_decref(g);
    return rc;
}

CLI_CMD(cli_cmd_forward)
{
    char site[UUID_STR_LEN];
    json_t *body = NULL, *g = NULL;
    int rc = cli_site_id(c, a->pos[0], site);
    if (rc || (rc = cli_forward_body(a, a->pos[1], &body)))
        return rc;
    char *path = cli_res_path(&cli_res_forwards, site, NULL);
    rc = create_grant(c, path, body, cli_flag(a, "wait"), &g);
    free(path);
    json_decref(body);
    if (rc)
        return rc;
    if (!c->json) {
        const char *ep = cli_str(g, "entry_point");
        long long port = (long long)json_integer_value(json_object_get(g, "port"));
        printf(strchr(ep ? ep : "", ':') ? "[%s]:%lld\n" : "%s:%lld\n", ep ? ep : "-", port);
        fprintf(stderr, "forwards to %s:%lld\n", cli_str(g, "dst_address"),
                (long long)json_integer_value(json_object_get(g, "dst_port")));
    }
    cli_print_grant(c, g);
    json_decref(g);
    return CLI_OK;
}

/* ---------------------------------------------------------------- log */

struct seen_job {
    char id[40];
    size_t events;
    bool done;
};

struct log_state {
    struct cli *c;
    char site[UUID_STR_LEN];
    struct seen_job *jobs;
    size_t n;
};

static struct seen_job *seen(struct log_state *st, const char *id)
{
    for (size_t i = 0; i < st->n; i++)
        if (!strcmp(st->jobs[i].id, id))
            return &st->jobs[i];
    st->jobs = xrealloc(st->jobs, (st->n + 1) * sizeof *st->jobs);
    struct seen_job *j = &st->jobs[st->n++];
    memset(j, 0, sizeof *j);
    snprintf(j->id, sizeof j->id, "%s", id);
    return j;
}

static void print_event(struct cli *c, json_t *job, json_t *e)
{
    const char *id = cli_str(job, "id");
    if (c->json) {
        json_t *o =
            json_pack("{s:O, s:O, s:O, s:O, s:O, s:O}", "job_id", json_object_get(job, "id"),
                      "job_kind", json_object_get(job, "kind"), "description",
                      json_object_get(job, "description"), "at", json_object_get(e, "at"), "kind",
                      json_object_get(e, "kind"), "message", json_object_get(e, "message"));
        char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
        if (s)
            puts(s);
        free(s);
        json_decref(o);
    } else {
        printf("%s  %.8s  %-17s  %-17s  %s\n", cli_str(e, "at"),
               id ? id + (strlen(id) > 8 ? strlen(id) - 8 : 0) : "-", cli_str(job, "kind"),
               cli_str(e, "kind"), cli_str(e, "message"));
    }
    fflush(stdout);
}

static bool finished(const char *status)
{
    return status && (!strcmp(status, "completed") || !strcmp(status, "failed") ||
                      !strcmp(status, "deleted"));
}

/* Prints the events of job (a list item) that were not printed yet. */
static int job_events(struct log_state *st, json_t *item)
{
    const char *id = json_string_value(json_object_get(item, "id"));
    if (!id)
        return CLI_OK;
    struct seen_job *j = seen(st, id);
    if (j->done)
        return CLI_OK;
    char *path = xasprintf("/v1/sites/%s/jobs/%s", st->site, id);
    json_t *job = NULL;
    int rc = cli_api(st->c, "GET", path, NULL, &job);
    free(path);
    if (rc)
        return rc;
    json_t *events = json_object_get(job, "events");
    for (size_t i = j->events; i < json_array_size(events); i++)
        print_event(st->c, job, json_array_get(events, i));
    j->events = json_array_size(events);
    j->done = finished(cli_str(job, "status"));
    json_decref(job);
    return CLI_OK;
}

/* One pass: the newest `limit` jobs, oldest first. */
static int log_pass(struct log_state *st, long limit)
{
    char *path = xasprintf("/v1/sites/%s/jobs?limit=%ld", st->site, limit);
    json_t *list = NULL;
    int rc = cli_api(st->c, "GET", path, NULL, &list);
    free(path);
    for (size_t i = json_array_size(list); rc == CLI_OK && i > 0; i--)
        rc = job_events(st, json_array_get(list, i - 1));
    json_decref(list);
    return rc;
}

CLI_CMD(cli_cmd_log)
{
    struct log_state st = {.c = c};
    const char *jobs = cli_arg(a, "jobs"), *interval = cli_arg(a, "interval");
    long limit = jobs ? strtol(jobs, NULL, 10) : 20;
    double every = interval ? strtod(interval, NULL) : 1.0;
    if (limit < 1 || limit > 1000 || every < 0.1 || every > 3600)
        return cli_fail(CLI_USAGE, "--jobs takes 1-1000, --interval 0.1-3600 seconds");
    int rc = cli_site_id(c, a->pos[0], st.site);
    if (rc)
        return rc;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    rc = log_pass(&st, limit);
    while (rc == CLI_OK && cli_flag(a, "follow") && !stop_requested) {
        sleep_ms((long)(every * 1000));
        if (!stop_requested)
            rc = log_pass(&st, limit);
    }
    free(st.jobs);
    return rc;
}
