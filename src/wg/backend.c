/* backend.c - the backend-independent half of struct wg_backend: config, supervision, dispatch. */
#include "alloc.h"
#include "clock.h"
#include "wg_backend_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void wg_set_error(struct wg_backend *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->error, sizeof(b->error), fmt, ap);
    va_end(ap);
}

static void copy_error(char *err, const char *msg)
{
    if (err)
        snprintf(err, WG_ERROR_LEN, "%s", msg);
}

static int check_config(const struct wg_backend_config *cfg, char *err)
{
    if (!cfg || !wg_ifname_valid(cfg->ifname)) {
        copy_error(err, "invalid WireGuard interface name (1-15 characters of A-Z a-z 0-9 _ . -)");
        return -EINVAL;
    }
    if (cfg->impl != WG_IMPL_AUTO && cfg->impl != WG_IMPL_KERNEL &&
        cfg->impl != WG_IMPL_USERSPACE) {
        copy_error(err, "unknown WireGuard implementation");
        return -EINVAL;
    }
    if (cfg->log_level && strlen(cfg->log_level) >= sizeof(((struct wg_backend *)0)->log_level)) {
        copy_error(err, "wireguard-go log level too long");
        return -EINVAL;
    }
    return 0;
}

/* The kernel backend, for WG_IMPL_KERNEL and the first try of WG_IMPL_AUTO. */
static int open_kernel(struct wg_backend *b)
{
    b->ops = &wg_kernel_ops;
    b->last_start_ms = clock_mono_ms();
    return b->ops->start(b);
}

static int open_userspace(struct wg_backend *b, const struct wg_backend_config *cfg, char *err)
{
    int r;

    b->ops = &wg_userspace_ops;
    if ((r = wg_uapi_init(&b->uapi, cfg->uapi_dir, b->ifname)) < 0) {
        copy_error(err, "UAPI socket path too long");
        return r;
    }
    if ((r = wg_find_program(cfg->wireguard_go, b->wireguard_go, sizeof(b->wireguard_go))) < 0) {
        if (err)
            snprintf(err, WG_ERROR_LEN, "%s not found (Debian: apt-get install wireguard-go)",
                     cfg->wireguard_go ? cfg->wireguard_go : "wireguard-go");
        return r;
    }
    b->last_start_ms = clock_mono_ms();
    if ((r = b->ops->start(b)) < 0)
        copy_error(err, b->error);
    return r;
}

int wg_backend_open(const struct wg_backend_config *cfg, struct wg_backend **ret, char *err)
{
    struct wg_backend *b;
    int r;

    copy_error(err, "");
    if ((r = check_config(cfg, err)) < 0)
        return r;
    b = xcalloc(1, sizeof(*b));
    memcpy(b->ifname, cfg->ifname, strlen(cfg->ifname) + 1);
    snprintf(b->log_level, sizeof(b->log_level), "%s", cfg->log_level ? cfg->log_level : "error");
    b->mtu = cfg->mtu ? cfg->mtu : WG_DEFAULT_MTU;
    if (cfg->address) {
        b->address = *cfg->address;
        b->has_address = true;
    }
    b->start_timeout_ms = cfg->start_timeout_ms > 0 ? cfg->start_timeout_ms : WG_START_TIMEOUT_MS;
    if (cfg->impl != WG_IMPL_USERSPACE) {
        r = open_kernel(b);
        if (r == 0)
            goto out_ok;
        if (cfg->impl == WG_IMPL_KERNEL || r != -EOPNOTSUPP) {
            copy_error(err, b->error);
            goto out_free;
        }
        snprintf(b->note, sizeof(b->note), "%s", b->error);
        b->error[0] = '\0';
    }
    if ((r = open_userspace(b, cfg, err)) < 0)
        goto out_free;
out_ok:
    *ret = b;
    return 0;
out_free:
    free(b);
    return r;
}

void wg_backend_close(struct wg_backend *b)
{
    if (!b)
        return;
    b->ops->stop(b);
    free(b);
}

int wg_backend_supervise(struct wg_backend *b, bool *ret_restarted)
{
    int r;

    *ret_restarted = false;
    if (b->ops->alive(b))
        return 0;
    if (clock_mono_ms() - b->last_start_ms < WG_RESTART_MIN_INTERVAL_MS)
        return -EAGAIN;
    b->last_start_ms = clock_mono_ms();
    if ((r = b->ops->start(b)) < 0)
        return r;
    b->restarts++;
    *ret_restarted = true;
    return 0;
}

int wg_backend_get(struct wg_backend *b, struct wg_device *ret)
{
    return b->ops->get(b, ret);
}

int wg_backend_set(struct wg_backend *b, const struct wg_device *d)
{
    return b->ops->set(b, d);
}

int wg_backend_set_peer(struct wg_backend *b, const struct wg_peer *p)
{
    struct wg_peer one = *p;
    struct wg_device d = {.peers = &one, .n_peers = 1, .alloc_peers = 1};

    one.flags = (p->flags & (WG_PEER_UPDATE_ONLY | WG_PEER_HAS_PRESHARED_KEY)) |
                WG_PEER_REPLACE_ALLOWED_IPS | WG_PEER_HAS_KEEPALIVE;
    return b->ops->set(b, &d); /* d borrows p's arrays */
}

int wg_backend_remove_peer(struct wg_backend *b, const struct wg_key *pub)
{
    struct wg_peer one;
    struct wg_device d = {.peers = &one, .n_peers = 1, .alloc_peers = 1};

    memset(&one, 0, sizeof(one));
    one.public_key = *pub;
    one.flags = WG_PEER_REMOVE;
    return b->ops->set(b, &d);
}

const char *wg_backend_name(const struct wg_backend *b)
{
    return b->ops->name;
}

const char *wg_backend_note(const struct wg_backend *b)
{
    return b->note;
}

int wg_impl_parse(const char *s, enum wg_impl *ret)
{
    static const char *const names[] = {
        [WG_IMPL_AUTO] = "auto", [WG_IMPL_KERNEL] = "kernel", [WG_IMPL_USERSPACE] = "userspace"};
    for (size_t i = 0; s && i < sizeof(names) / sizeof(names[0]); i++)
        if (!strcmp(s, names[i])) {
            *ret = (enum wg_impl)i;
            return 0;
        }
    return -EINVAL;
}

const char *wg_backend_ifname(const struct wg_backend *b)
{
    return b->ifname;
}

const char *wg_backend_error(const struct wg_backend *b)
{
    return b->error;
}

pid_t wg_backend_pid(const struct wg_backend *b)
{
    return b->pid;
}

unsigned wg_backend_restarts(const struct wg_backend *b)
{
    return b->restarts;
}

const struct wg_uapi *wg_backend_uapi(const struct wg_backend *b)
{
    return b->ops == &wg_userspace_ops ? &b->uapi : NULL;
}
