/* link.c - rtnetlink requests for the WireGuard interface; kernel probe; preflight. */
#include "clock.h"
#include "wg_link.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h> /* IFF_UP, IFNAMSIZ, if_nametoindex (no <linux/if.h>: they clash) */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define NL_REQ_MAX 512
#define NL_REPLY_MAX 8192

struct nlreq {
    struct nlmsghdr *h;
    size_t cap;
};

static void *nl_tail(struct nlreq *q)
{
    return (char *)q->h + NLMSG_ALIGN(q->h->nlmsg_len);
}

static int nl_attr(struct nlreq *q, unsigned short type, const void *data, size_t len)
{
    size_t need = RTA_LENGTH(len);
    if (NLMSG_ALIGN(q->h->nlmsg_len) + RTA_ALIGN(need) > q->cap)
        return -E2BIG;
    struct rtattr *a = nl_tail(q);
    a->rta_type = type;
    a->rta_len = (unsigned short)need;
    if (len)
        memcpy(RTA_DATA(a), data, len);
    q->h->nlmsg_len = (uint32_t)(NLMSG_ALIGN(q->h->nlmsg_len) + RTA_ALIGN(need));
    return 0;
}

static struct rtattr *nl_nest_start(struct nlreq *q, unsigned short type)
{
    struct rtattr *a = nl_tail(q);
    return nl_attr(q, type, NULL, 0) < 0 ? NULL : a;
}

static void nl_nest_end(struct nlreq *q, struct rtattr *a)
{
    a->rta_len = (unsigned short)((char *)nl_tail(q) - (char *)a);
}

/*
 * Sends one request with NLM_F_ACK and waits for its NLMSG_ERROR: returns the
 * kernel's answer (0 or -errno), -ETIMEDOUT, or -EPROTO for a malformed reply.
 */
static int nl_talk(struct nlmsghdr *h)
{
    static uint32_t seq_counter;
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    char reply[NL_REPLY_MAX] __attribute__((aligned(NLMSG_ALIGNTO)));
    int64_t deadline = clock_mono_ms() + WG_NETLINK_TIMEOUT_MS;
    int fd, r;

    h->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
    h->nlmsg_seq = __atomic_add_fetch(&seq_counter, 1, __ATOMIC_RELAXED) ^ (uint32_t)time(NULL);
    fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
    if (fd < 0)
        return -errno;
    if (sendto(fd, h, h->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0) {
        r = -errno;
        goto out_close_fd;
    }
    for (;;) {
        int64_t left = deadline - clock_mono_ms();
        if (left <= 0) {
            r = -ETIMEDOUT;
            goto out_close_fd;
        }
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int n = poll(&pfd, 1, (int)left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = -errno;
            goto out_close_fd;
        }
        if (n == 0)
            continue;
        struct sockaddr_nl from = {0};
        socklen_t flen = sizeof(from);
        ssize_t len =
            recvfrom(fd, reply, sizeof(reply), MSG_TRUNC, (struct sockaddr *)&from, &flen);
        if (len < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (len < 0) {
            r = -errno;
            goto out_close_fd;
        }
        if ((size_t)len > sizeof(reply) || from.nl_pid != 0) {
            r = -EPROTO;
            goto out_close_fd;
        }
        size_t rem = (size_t)len;
        for (struct nlmsghdr *m = (struct nlmsghdr *)reply; NLMSG_OK(m, rem);
             m = NLMSG_NEXT(m, rem)) {
            if (m->nlmsg_seq != h->nlmsg_seq)
                continue;
            if (m->nlmsg_type != NLMSG_ERROR)
                continue;
            if (m->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr))) {
                r = -EPROTO;
                goto out_close_fd;
            }
            const struct nlmsgerr *e = NLMSG_DATA(m);
            r = e->error <= 0 ? e->error : -EPROTO;
            goto out_close_fd;
        }
    }
out_close_fd:
    close(fd);
    return r;
}

static int ifindex_of(const char *ifname, int *ret)
{
    if (!ifname || strlen(ifname) >= IFNAMSIZ)
        return -EINVAL;
    unsigned idx = if_nametoindex(ifname);
    if (idx == 0)
        return -ENODEV;
    *ret = (int)idx;
    return 0;
}

int wg_link_up(const char *ifname, unsigned mtu)
{
    char buf[NL_REQ_MAX] __attribute__((aligned(NLMSG_ALIGNTO))) = {0};
    struct nlreq q = {.h = (struct nlmsghdr *)buf, .cap = sizeof(buf)};
    int idx, r;

    if ((r = ifindex_of(ifname, &idx)) < 0)
        return r;
    q.h->nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
    q.h->nlmsg_type = RTM_NEWLINK;
    struct ifinfomsg *ifi = NLMSG_DATA(q.h);
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = idx;
    ifi->ifi_flags = IFF_UP;
    ifi->ifi_change = IFF_UP;
    if (mtu) {
        uint32_t m = mtu;
        if ((r = nl_attr(&q, IFLA_MTU, &m, sizeof(m))) < 0)
            return r;
    }
    return nl_talk(q.h);
}

/* RTM_NEWADDR (create or replace) or RTM_DELADDR of a on ifname. */
static int address_request(const char *ifname, const struct wg_ifaddr *a, uint16_t type)
{
    char buf[NL_REQ_MAX] __attribute__((aligned(NLMSG_ALIGNTO))) = {0};
    struct nlreq q = {.h = (struct nlmsghdr *)buf, .cap = sizeof(buf)};
    size_t alen = a->family == AF_INET ? 4 : 16;
    int idx, r;

    if (a->family != AF_INET && a->family != AF_INET6)
        return -EINVAL;
    if ((r = ifindex_of(ifname, &idx)) < 0)
        return r;
    q.h->nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg));
    q.h->nlmsg_type = type;
    q.h->nlmsg_flags = type == RTM_NEWADDR ? NLM_F_CREATE | NLM_F_REPLACE : 0;
    struct ifaddrmsg *ifa = NLMSG_DATA(q.h);
    ifa->ifa_family = (unsigned char)a->family;
    ifa->ifa_prefixlen = a->prefix;
    ifa->ifa_scope = RT_SCOPE_UNIVERSE;
    ifa->ifa_index = (unsigned)idx;
    if ((r = nl_attr(&q, IFA_LOCAL, a->local, alen)) < 0 ||
        (r = nl_attr(&q, IFA_ADDRESS, a->has_peer ? a->peer : a->local, alen)) < 0)
        return r;
    return nl_talk(q.h);
}

int wg_link_add_address(const char *ifname, const struct wg_ifaddr *a)
{
    return address_request(ifname, a, RTM_NEWADDR);
}

int wg_link_del_address(const char *ifname, const struct wg_ifaddr *a)
{
    return address_request(ifname, a, RTM_DELADDR);
}

int wg_link_setup(const char *ifname, unsigned mtu, const struct wg_ifaddr *a)
{
    int r = wg_link_up(ifname, mtu ? mtu : WG_DEFAULT_MTU);
    if (r == 0 && a)
        r = wg_link_add_address(ifname, a);
    return r;
}

int wg_link_delete(const char *ifname)
{
    char buf[NL_REQ_MAX] __attribute__((aligned(NLMSG_ALIGNTO))) = {0};
    struct nlreq q = {.h = (struct nlmsghdr *)buf, .cap = sizeof(buf)};
    int idx, r;

    if ((r = ifindex_of(ifname, &idx)) < 0)
        return r;
    q.h->nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
    q.h->nlmsg_type = RTM_DELLINK;
    struct ifinfomsg *ifi = NLMSG_DATA(q.h);
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = idx;
    return nl_talk(q.h);
}

int wg_link_create_wireguard(const char *ifname)
{
    char buf[NL_REQ_MAX] __attribute__((aligned(NLMSG_ALIGNTO))) = {0};
    struct nlreq q = {.h = (struct nlmsghdr *)buf, .cap = sizeof(buf)};
    struct rtattr *info;
    int r;

    if (!ifname || !ifname[0] || strlen(ifname) >= IFNAMSIZ)
        return -EINVAL;
    q.h->nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
    q.h->nlmsg_type = RTM_NEWLINK;
    q.h->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
    ((struct ifinfomsg *)NLMSG_DATA(q.h))->ifi_family = AF_UNSPEC;
    if ((r = nl_attr(&q, IFLA_IFNAME, ifname, strlen(ifname) + 1)) < 0)
        return r;
    if (!(info = nl_nest_start(&q, IFLA_LINKINFO)))
        return -E2BIG;
    if ((r = nl_attr(&q, IFLA_INFO_KIND, "wireguard", sizeof("wireguard"))) < 0)
        return r;
    nl_nest_end(&q, info);
    return nl_talk(q.h);
}

int wg_kernel_probe(void)
{
    char buf[NL_REQ_MAX] __attribute__((aligned(NLMSG_ALIGNTO))) = {0};
    struct nlreq q = {.h = (struct nlmsghdr *)buf, .cap = sizeof(buf)};
    char name[IFNAMSIZ];
    uint32_t bad_mtu = UINT32_MAX;
    struct rtattr *info;
    int r;

    snprintf(name, sizeof(name), "tgprobe%u", (unsigned)getpid() % 100000000u);
    q.h->nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
    q.h->nlmsg_type = RTM_NEWLINK;
    q.h->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
    ((struct ifinfomsg *)NLMSG_DATA(q.h))->ifi_family = AF_UNSPEC;
    if ((r = nl_attr(&q, IFLA_IFNAME, name, strlen(name) + 1)) < 0 ||
        (r = nl_attr(&q, IFLA_MTU, &bad_mtu, sizeof(bad_mtu))) < 0)
        return r;
    if (!(info = nl_nest_start(&q, IFLA_LINKINFO)))
        return -E2BIG;
    if ((r = nl_attr(&q, IFLA_INFO_KIND, "wireguard", sizeof("wireguard"))) < 0)
        return r;
    nl_nest_end(&q, info);
    r = nl_talk(q.h);
    if (r == 0) {
        wg_link_delete(name); /* the MTU was accepted after all: undo */
        return 1;
    }
    if (r == -EINVAL || r == -ERANGE)
        return 1; /* the wireguard kind exists; only the MTU was refused */
    if (r == -EOPNOTSUPP)
        return 0;
    return r;
}

bool wg_have_cap_net_admin(void)
{
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
    memset(data, 0, sizeof(data));
    if (syscall(SYS_capget, &hdr, data) != 0)
        return false;
    return (data[CAP_TO_INDEX(CAP_NET_ADMIN)].effective & CAP_TO_MASK(CAP_NET_ADMIN)) != 0;
}

int wg_find_program(const char *name, char *out, size_t out_len)
{
    if (!name)
        name = "wireguard-go";
    if (strchr(name, '/')) {
        if (strlen(name) >= out_len)
            return -ENAMETOOLONG;
        if (access(name, X_OK) != 0)
            return -ENOENT;
        memcpy(out, name, strlen(name) + 1);
        return 0;
    }
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    while (*path) {
        const char *colon = strchr(path, ':');
        size_t dlen = colon ? (size_t)(colon - path) : strlen(path);
        int n = snprintf(out, out_len, "%.*s/%s", (int)dlen, dlen ? path : ".", name);
        if (n > 0 && (size_t)n < out_len && access(out, X_OK) == 0)
            return 0;
        path += dlen + (colon ? 1 : 0);
    }
    out[0] = '\0';
    return -ENOENT;
}

int wg_preflight_userspace(const char *wireguard_go, char *msg, size_t msg_len)
{
    char path[4096];
    int fd;

    if (msg_len)
        msg[0] = '\0';
    if (!wg_have_cap_net_admin()) {
        snprintf(msg, msg_len,
                 "CAP_NET_ADMIN is missing: run as root or grant the capability "
                 "(systemd: AmbientCapabilities=CAP_NET_ADMIN)");
        return -EPERM;
    }
    fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        snprintf(msg, msg_len,
                 "/dev/net/tun cannot be opened (%s): load the tun module, or give the "
                 "container the device",
                 strerror(e));
        return -ENODEV;
    }
    close(fd);
    if (wg_find_program(wireguard_go, path, sizeof(path)) < 0) {
        snprintf(msg, msg_len, "%s not found (Debian: apt-get install wireguard-go)",
                 wireguard_go ? wireguard_go : "wireguard-go");
        return -ENOENT;
    }
    return 0;
}

int wg_ifaddr_parse(const char *addr, const char *peer, struct wg_ifaddr *ret)
{
    struct wg_ifaddr a;
    char host[64];
    const char *slash;
    char *end;

    memset(&a, 0, sizeof(a));
    if (!addr || !(slash = strchr(addr, '/')) || (size_t)(slash - addr) >= sizeof(host))
        return -EINVAL;
    memcpy(host, addr, (size_t)(slash - addr));
    host[slash - addr] = '\0';
    if (inet_pton(AF_INET, host, a.local) == 1)
        a.family = AF_INET;
    else if (inet_pton(AF_INET6, host, a.local) == 1)
        a.family = AF_INET6;
    else
        return -EINVAL;
    if (slash[1] < '0' || slash[1] > '9')
        return -EINVAL;
    errno = 0;
    long p = strtol(slash + 1, &end, 10);
    if (errno || *end || p < 0 || p > (a.family == AF_INET ? 32 : 128))
        return -EINVAL;
    a.prefix = (uint8_t)p;
    if (peer) {
        if (inet_pton(a.family, peer, a.peer) != 1)
            return -EINVAL;
        a.has_peer = true;
    }
    *ret = a;
    return 0;
}
