/* wg_backend_int.h - the backend vtable and state shared by backend.c and its implementations. */
#ifndef TG_WG_BACKEND_INT_H
#define TG_WG_BACKEND_INT_H

#include "wg_backend.h"

#include <limits.h>
#include <stdint.h>

struct wg_backend_ops {
    const char *name;
    /* Creates the interface (first start and restarts) and configures its link. */
    int (*start)(struct wg_backend *b);
    /* Removes the interface; safe when it is not running. */
    void (*stop)(struct wg_backend *b);
    /* 1 = running, 0 = gone (reaped). */
    int (*alive)(struct wg_backend *b);
    int (*get)(struct wg_backend *b, struct wg_device *ret);
    int (*set)(struct wg_backend *b, const struct wg_device *d);
};

struct wg_backend {
    const struct wg_backend_ops *ops;
    char ifname[WG_IFNAME_MAX + 1];
    char wireguard_go[PATH_MAX];
    char log_level[32];
    unsigned mtu;
    bool has_address;
    struct wg_ifaddr address;
    int start_timeout_ms;
    struct wg_uapi uapi;
    pid_t pid;
    unsigned restarts;
    int64_t last_start_ms;
    uint16_t genl_family; /* kernel: the "wireguard" generic netlink family */
    char error[WG_ERROR_LEN];
    char note[WG_ERROR_LEN]; /* auto: why the kernel backend was not used */
};

extern const struct wg_backend_ops wg_userspace_ops;
extern const struct wg_backend_ops wg_kernel_ops;

void wg_set_error(struct wg_backend *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
