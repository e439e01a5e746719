/*
 * kernel.c - the kernel WireGuard backend: the link is made with rtnetlink
 * (link.c), configured and read with the "wireguard" generic netlink family
 * (messages: genl.c), over a libmnl socket opened per exchange and bounded
 * by WG_NETLINK_TIMEOUT_MS per receive.
 *
 * Without the module the kernel refuses the link kind (EOPNOTSUPP) or has no
 * "wireguard" family (ENOENT): both come back as -EOPNOTSUPP, which
 * WG_IMPL_AUTO takes as "use wireguard-go".
 */
#include "alloc.h"
#include "wg_backend_int.h"
#include "wg_genl.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#define REQ_CAP (64u << 20) /* all SET_DEVICE messages of 65 536 peers */

/* Errors that mean "this kernel has no WireGuard". */
static bool no_module(int r)
{
    return r == -EOPNOTSUPP || r == -ENODEV || r == -ENOENT || r == -EAFNOSUPPORT ||
           r == -EPROTONOSUPPORT;
}

static int sock_open(struct mnl_socket **ret)
{
    struct timeval tv = {.tv_sec = WG_NETLINK_TIMEOUT_MS / 1000,
                         .tv_usec = (WG_NETLINK_TIMEOUT_MS % 1000) * 1000};
    struct mnl_socket *nl = mnl_socket_open2(NETLINK_GENERIC, SOCK_CLOEXEC);
    int r;

    if (!nl)
        return errno ? -errno : -ENOMEM;
    if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
        setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
        r = errno ? -errno : -EIO;
        mnl_socket_close(nl);
        return r;
    }
    *ret = nl;
    return 0;
}

/* One receive: its length, -ETIMEDOUT, or -errno. */
static ssize_t sock_recv(struct mnl_socket *nl, void *buf, size_t len)
{
    ssize_t n;
    do
        n = mnl_socket_recvfrom(nl, buf, len);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
    return n;
}

static uint32_t next_seq(void)
{
    static uint32_t counter;
    return __atomic_add_fetch(&counter, 0x10000u, __ATOMIC_RELAXED) ^ (uint32_t)time(NULL);
}

/* Sends one request and waits for its ack (libmnl's callback run): 0 or -errno. */
static int send_acked(struct mnl_socket *nl, const struct nlmsghdr *nlh, void *rbuf)
{
    unsigned portid = mnl_socket_get_portid(nl);
    if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
        return -errno;
    for (;;) {
        ssize_t n = sock_recv(nl, rbuf, WG_GENL_RECV_MAX);
        if (n < 0)
            return (int)n;
        int r = mnl_cb_run(rbuf, (size_t)n, nlh->nlmsg_seq, portid, NULL, NULL);
        if (r == MNL_CB_ERROR)
            return errno ? -errno : -EPROTO;
        if (r == MNL_CB_STOP)
            return 0;
    }
}

static int family_id(struct mnl_socket *nl, void *rbuf, uint16_t *ret)
{
    struct buf req;
    uint32_t seq = next_seq();
    int r;

    buf_init(&req, WG_GENL_MSG_MAX);
    if ((r = wg_genl_build_family_query(seq, &req)) < 0)
        goto out_release;
    if (mnl_socket_sendto(nl, req.data, req.len) < 0) {
        r = -errno;
        goto out_release;
    }
    ssize_t n = sock_recv(nl, rbuf, WG_GENL_RECV_MAX);
    r = n < 0 ? (int)n : wg_genl_parse_family(rbuf, (size_t)n, ret);
out_release:
    buf_release(&req);
    return r;
}

static int k_start(struct wg_backend *b)
{
    struct mnl_socket *nl = NULL;
    void *rbuf;
    int r;

    b->error[0] = '\0';
    r = wg_link_create_wireguard(b->ifname);
    if (r < 0) {
        if (no_module(r)) {
            wg_set_error(b, "the kernel has no WireGuard (creating a \"wireguard\" link: %s)",
                         strerror(-r));
            return -EOPNOTSUPP;
        }
        wg_set_error(b, "cannot create the WireGuard link %s: %s", b->ifname,
                     r == -EEXIST ? "a network interface of that name exists" : strerror(-r));
        return r;
    }
    rbuf = xmalloc(WG_GENL_RECV_MAX);
    if ((r = sock_open(&nl)) < 0) {
        wg_set_error(b, "cannot open a generic netlink socket: %s", strerror(-r));
        goto out_delete;
    }
    r = family_id(nl, rbuf, &b->genl_family);
    mnl_socket_close(nl);
    if (r < 0) {
        wg_set_error(b, "no \"wireguard\" generic netlink family: %s", strerror(-r));
        if (no_module(r))
            r = -EOPNOTSUPP;
        goto out_delete;
    }
    if ((r = wg_link_setup(b->ifname, b->mtu, b->has_address ? &b->address : NULL)) < 0) {
        wg_set_error(b, "cannot configure link %s: %s", b->ifname, strerror(-r));
        goto out_delete;
    }
    free(rbuf);
    return 0;
out_delete:
    free(rbuf);
    wg_link_delete(b->ifname);
    return r;
}

static void k_stop(struct wg_backend *b)
{
    wg_link_delete(b->ifname);
}

static int k_alive(struct wg_backend *b)
{
    return if_nametoindex(b->ifname) != 0;
}

static int k_get(struct wg_backend *b, struct wg_device *ret)
{
    struct wg_device d = {0};
    struct mnl_socket *nl = NULL;
    struct buf req;
    uint32_t seq = next_seq();
    void *rbuf;
    int r;

    buf_init(&req, WG_GENL_MSG_MAX);
    if ((r = wg_genl_build_get(b->genl_family, seq, b->ifname, &req)) < 0)
        goto out_release_req;
    if ((r = sock_open(&nl)) < 0)
        goto out_release_req;
    rbuf = xmalloc(WG_GENL_RECV_MAX);
    if (mnl_socket_sendto(nl, req.data, req.len) < 0) {
        r = -errno;
        goto out_close;
    }
    do {
        ssize_t n = sock_recv(nl, rbuf, WG_GENL_RECV_MAX);
        r = n < 0 ? (int)n : wg_genl_parse_get(b->genl_family, rbuf, (size_t)n, &d);
    } while (r == 0);
    if (r == 1) {
        *ret = d;
        memset(&d, 0, sizeof(d));
        r = 0;
    }
out_close:
    free(rbuf);
    mnl_socket_close(nl);
    wg_device_release(&d);
out_release_req:
    buf_release(&req);
    return r;
}

static int k_set(struct wg_backend *b, const struct wg_device *d)
{
    struct mnl_socket *nl = NULL;
    struct buf req;
    size_t count = 0;
    void *rbuf;
    int r;

    buf_init(&req, REQ_CAP);
    if ((r = wg_genl_build_set(b->genl_family, next_seq(), b->ifname, d, &req, &count)) < 0)
        goto out_release_req;
    if ((r = sock_open(&nl)) < 0)
        goto out_release_req;
    rbuf = xmalloc(WG_GENL_RECV_MAX);
    for (size_t off = 0; off < req.len;) {
        const struct nlmsghdr *nlh = (const struct nlmsghdr *)(req.data + off);
        if ((r = send_acked(nl, nlh, rbuf)) < 0)
            break;
        off += NLMSG_ALIGN(nlh->nlmsg_len);
    }
    free(rbuf);
    mnl_socket_close(nl);
out_release_req:
    /* The request holds the private key. */
    if (req.data)
        explicit_bzero(req.data, req.len);
    buf_release(&req);
    return r;
}

const struct wg_backend_ops wg_kernel_ops = {
    .name = "kernel",
    .start = k_start,
    .stop = k_stop,
    .alive = k_alive,
    .get = k_get,
    .set = k_set,
};
