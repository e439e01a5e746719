/*
 * userspace.c - the wireguard-go backend: a supervised child process serving
 * the UAPI socket, configured with uapi.c, its link set up with link.c.
 */
#include "alloc.h"
#include "clock.h"
#include "wg_backend_int.h"

#include <errno.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define STOP_GRACE_MS 2000
#define POLL_STEP_MS 5

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* 0 = something accepts on path, else -errno of connect(). */
static int socket_answers(const char *path)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    int fd, r = 0;

    if (strlen(path) >= sizeof(sun.sun_path))
        return -ENAMETOOLONG;
    memcpy(sun.sun_path, path, strlen(path) + 1);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
        r = -errno;
    close(fd);
    return r;
}

static int ensure_dir(const char *sock_path)
{
    char dir[WG_UAPI_PATH_MAX];
    const char *slash = strrchr(sock_path, '/');
    if (!slash || slash == sock_path)
        return 0;
    memcpy(dir, sock_path, (size_t)(slash - sock_path));
    dir[slash - sock_path] = '\0';
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

/* The child's environment: the parent's minus inherited-fd variables, plus ours. Owned. */
static char **child_env(const char *log_level)
{
    size_t n = 0, k = 0;
    while (environ && environ[n])
        n++;
    char **env = xcalloc(n + 3, sizeof(*env));
    for (size_t i = 0; i < n; i++) {
        const char *e = environ[i];
        if (!strncmp(e, "WG_TUN_FD=", 10) || !strncmp(e, "WG_UAPI_FD=", 11) ||
            !strncmp(e, "WG_PROCESS_FOREGROUND=", 22) || !strncmp(e, "LOG_LEVEL=", 10))
            continue;
        env[k++] = (char *)e;
    }
    env[k++] = xstrdup("WG_PROCESS_FOREGROUND=1");
    env[k++] = xasprintf("LOG_LEVEL=%s", log_level);
    env[k] = NULL;
    return env;
}

static void free_child_env(char **env)
{
    size_t n = 0;
    while (env[n])
        n++;
    /* The last two entries are ours. */
    free(env[n - 1]);
    free(env[n - 2]);
    free(env);
}

/* Runs in the child between fork and exec: async-signal-safe calls only. */
static void __attribute__((noreturn))
exec_child(const char *path, char *const argv[], char *const envp[], pid_t parent)
{
    sigset_t none;
    struct sigaction dfl;

    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    for (int s = 1; s < NSIG; s++)
        sigaction(s, &dfl, NULL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent)
        _exit(1);
    close_range(3, ~0U, 0);
    execve(path, argv, envp);
    _exit(127);
}

static void reap(struct wg_backend *b, int status)
{
    if (WIFEXITED(status))
        wg_set_error(b, "wireguard-go for %s exited with status %d", b->ifname,
                     WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        wg_set_error(b, "wireguard-go for %s was killed by signal %d", b->ifname, WTERMSIG(status));
    b->pid = 0;
}

static void us_stop(struct wg_backend *b)
{
    int status;

    if (b->pid > 0) {
        kill(b->pid, SIGTERM);
        int64_t deadline = clock_mono_ms() + STOP_GRACE_MS;
        for (;;) {
            pid_t w = waitpid(b->pid, &status, WNOHANG);
            if (w == b->pid || (w < 0 && errno == ECHILD))
                break;
            if (clock_mono_ms() >= deadline) {
                kill(b->pid, SIGKILL);
                while (waitpid(b->pid, &status, 0) < 0 && errno == EINTR)
                    ;
                break;
            }
            sleep_ms(POLL_STEP_MS);
        }
        b->pid = 0;
    }
    /* wireguard-go removes its socket on SIGTERM, not when killed: drop a stale one. */
    if (socket_answers(b->uapi.path) == -ECONNREFUSED)
        unlink(b->uapi.path);
}

static int us_alive(struct wg_backend *b)
{
    int status;

    if (b->pid <= 0)
        return 0;
    pid_t w = waitpid(b->pid, &status, WNOHANG);
    if (w == 0)
        return 1;
    if (w == b->pid)
        reap(b, status);
    else
        b->pid = 0; /* reaped elsewhere (SIGCHLD ignored?): treat as gone */
    return 0;
}

static int us_start(struct wg_backend *b)
{
    char *argv[] = {"wireguard-go", "-f", b->ifname, NULL};
    int64_t deadline = clock_mono_ms() + b->start_timeout_ms;
    char **envp;
    int status, r;

    b->error[0] = '\0';
    if ((r = ensure_dir(b->uapi.path)) < 0) {
        wg_set_error(b, "cannot create the directory of %s: %s", b->uapi.path, strerror(-r));
        return r;
    }
    r = socket_answers(b->uapi.path);
    if (r == 0) {
        wg_set_error(b, "%s is already served by another process (a wireguard-go for %s?)",
                     b->uapi.path, b->ifname);
        return -EADDRINUSE;
    }
    if (r == -ECONNREFUSED)
        unlink(b->uapi.path); /* left by a killed wireguard-go */
    /* After a crash the old TUN link can take a moment to go away. */
    while (if_nametoindex(b->ifname) != 0) {
        if (clock_mono_ms() >= deadline) {
            wg_set_error(b, "a network interface named %s already exists", b->ifname);
            return -EEXIST;
        }
        sleep_ms(POLL_STEP_MS);
    }

    envp = child_env(b->log_level);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        r = -errno;
        free_child_env(envp);
        wg_set_error(b, "fork: %s", strerror(-r));
        return r;
    }
    if (pid == 0)
        exec_child(b->wireguard_go, argv, envp, parent);
    free_child_env(envp);
    b->pid = pid;

    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid) {
            reap(b, status);
            if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
                wg_set_error(b, "cannot execute %s", b->wireguard_go);
            return -ECHILD;
        }
        if (socket_answers(b->uapi.path) == 0)
            break;
        if (clock_mono_ms() >= deadline) {
            us_stop(b);
            wg_set_error(b, "wireguard-go did not open %s within %d ms", b->uapi.path,
                         b->start_timeout_ms);
            return -ETIMEDOUT;
        }
        sleep_ms(POLL_STEP_MS);
    }
    if ((r = wg_link_setup(b->ifname, b->mtu, b->has_address ? &b->address : NULL)) < 0) {
        us_stop(b);
        wg_set_error(b, "cannot configure link %s: %s", b->ifname, strerror(-r));
        return r;
    }
    return 0;
}

static int us_get(struct wg_backend *b, struct wg_device *ret)
{
    return wg_uapi_get(&b->uapi, ret);
}

static int us_set(struct wg_backend *b, const struct wg_device *d)
{
    return wg_uapi_set(&b->uapi, d);
}

const struct wg_backend_ops wg_userspace_ops = {
    .name = "userspace",
    .start = us_start,
    .stop = us_stop,
    .alive = us_alive,
    .get = us_get,
    .set = us_set,
};
