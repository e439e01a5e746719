/*
 * wg_backend.h - one WireGuard interface owned by the caller, behind a small
 * backend interface (DESIGN.md §10).
 *
 * Backends:
 *   - userspace: Debian's wireguard-go, started as a child (`wireguard-go -f
 *     <if>`, WG_PROCESS_FOREGROUND=1, LOG_LEVEL), configured over its UAPI
 *     socket, restarted by wg_backend_supervise() when it dies.
 *   - kernel: a "wireguard" link made with rtnetlink, configured over the
 *     "wireguard" generic netlink family (genl.c, kernel.c). "Alive" means
 *     the link exists; a deleted link is re-created by wg_backend_supervise().
 *     Without the module it fails with -EOPNOTSUPP.
 *   - WG_IMPL_AUTO tries the kernel first and falls back to userspace on
 *     -EOPNOTSUPP only; wg_backend_note() then says why.
 *
 * Contract (level-triggered, like the edge's listeners): the backend keeps no
 * device configuration of its own. After wg_backend_open() and whenever
 * wg_backend_supervise() reports a restart, the interface exists with its
 * link configuration (MTU, address, up) but without key, port or peers; the
 * caller then applies its whole desired state in one wg_backend_set() with
 * WG_DEVICE_REPLACE_PEERS. Peer changes in between use wg_backend_set_peer()
 * and wg_backend_remove_peer(), which never touch other peers.
 *
 * Threading: one backend is used by one thread at a time (the caller
 * serialises). The child is reaped with waitpid(pid): the process must not
 * set SIGCHLD to SIG_IGN. wireguard-go gets PR_SET_PDEATHSIG=SIGTERM, so it
 * dies with the thread that started it (start it from a long-lived thread).
 */
#ifndef TG_WG_BACKEND_H
#define TG_WG_BACKEND_H

#include "wg_link.h"
#include "wg_uapi.h"

#include <stdbool.h>
#include <sys/types.h>

enum wg_impl {
    WG_IMPL_AUTO = 0,  /* kernel when the module is there, else userspace */
    WG_IMPL_KERNEL,    /* kernel only: -EOPNOTSUPP without the module */
    WG_IMPL_USERSPACE, /* wireguard-go */
};

#define WG_START_TIMEOUT_MS 5000
#define WG_RESTART_MIN_INTERVAL_MS 1000 /* no faster restarts of a crashing wireguard-go */
#define WG_ERROR_LEN 256

/* Everything is copied by wg_backend_open(); pointers need not outlive the call. */
struct wg_backend_config {
    const char *ifname;              /* required: 1-15 characters, wg_ifname_valid() */
    enum wg_impl impl;               /* default WG_IMPL_AUTO */
    const char *wireguard_go;        /* path, or name looked up in PATH; NULL: "wireguard-go" */
    const char *uapi_dir;            /* NULL: WG_UAPI_DIR */
    const char *log_level;           /* wireguard-go LOG_LEVEL; NULL: "error" */
    unsigned mtu;                    /* 0: WG_DEFAULT_MTU (1420) */
    const struct wg_ifaddr *address; /* optional: set on the link after every (re)start */
    int start_timeout_ms;            /* 0: WG_START_TIMEOUT_MS */
};

struct wg_backend;

/*
 * Creates the interface and configures the link. On success *ret is owned by
 * the caller (wg_backend_close). Errors: -EINVAL (config), -EOPNOTSUPP
 * (kernel backend asked for), -EADDRINUSE (a live process already serves the
 * UAPI socket), -EEXIST (a link of that name exists), -ENOENT (no
 * wireguard-go), -ETIMEDOUT (it did not open its socket in time), -ECHILD (it
 * exited first), or -errno from link setup; err (WG_ERROR_LEN, may be NULL)
 * then gets a sentence for the log.
 */
int wg_backend_open(const struct wg_backend_config *cfg, struct wg_backend **ret, char *err);
/* Stops the interface (SIGTERM, then SIGKILL after 2 s) and frees b. NULL is fine. */
void wg_backend_close(struct wg_backend *b);

/*
 * Checks the interface and restarts it if its process died (at most once per
 * WG_RESTART_MIN_INTERVAL_MS: -EAGAIN until then). *ret_restarted is set to
 * true when the caller must re-apply its configuration. 0 or -errno of the
 * failed restart (call again later).
 */
int wg_backend_supervise(struct wg_backend *b, bool *ret_restarted);

int wg_backend_get(struct wg_backend *b, struct wg_device *ret);
int wg_backend_set(struct wg_backend *b, const struct wg_device *d);
int wg_backend_set_peer(struct wg_backend *b, const struct wg_peer *p);
int wg_backend_remove_peer(struct wg_backend *b, const struct wg_key *pub);

const char *wg_backend_name(const struct wg_backend *b); /* "kernel" or "userspace" */
/*
 * WG_IMPL_AUTO on the userspace backend: why the kernel's was not used (a
 * sentence for the log); "" otherwise. Borrowed, lives as long as b.
 */
const char *wg_backend_note(const struct wg_backend *b);
/* Parses "auto", "kernel" or "userspace". 0 or -EINVAL. */
int wg_impl_parse(const char *s, enum wg_impl *ret);
const char *wg_backend_ifname(const struct wg_backend *b);
/* The last error sentence ("" when none). Borrowed, valid until the next call on b. */
const char *wg_backend_error(const struct wg_backend *b);
pid_t wg_backend_pid(const struct wg_backend *b); /* wireguard-go's pid, 0 when not running */
unsigned wg_backend_restarts(const struct wg_backend *b);
/* The UAPI endpoint of the userspace backend (tests, benchmarks); NULL for others. */
const struct wg_uapi *wg_backend_uapi(const struct wg_backend *b);

#endif
