/*
 * server.c - the simulator's epoll loop: one listener per enabled service
 * (all speak the RouterOS API), the API sessions, and the dst-nat relays.
 *
 * Reconcile: after every state change (eventfd wake-up) and once a second,
 * the loop compares the listeners with /ip/service and /ip/firewall/nat:
 * a service whose port changed or that got disabled is closed (and rebound
 * on its new port); existing sessions stay, as on RouterOS. A dst-nat rule
 * that went away (or changed) closes its listener and cuts its connections.
 * A failed bind is logged and retried on the next reconcile.
 *
 * Objects closed while handling a batch of events are freed after the batch
 * (a later event of the same batch may still point at them).
 */
#include "alloc.h"
#include "cidr.h"
#include "log.h"
#include "netaddr.h"
#include "sim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define NSERVICES 8
#define MAX_SESSIONS 1024
#define MAX_RELAYS 4096
#define RELAY_BUF (64u * 1024u)
#define SESSION_OUT_CAP (16u << 20)

enum kind { K_WAKE = 1, K_SVC, K_SESSION, K_NAT, K_END };

struct handle {
    enum kind kind;
};

struct svc {
    struct handle h;
    int fd;
    unsigned port; /* bound port, 0 = closed */
    char name[16];
};

struct session {
    struct handle h;
    int fd;
    bool dead, closing;
    struct ros_decoder dec;
    struct buf out;
    struct sim_session s;
    unsigned conn_id; /* in the state's connection list (0: not registered) */
    struct session *next, *prev;
    struct session *grave;
};

struct relay;
struct end {
    struct handle h;
    int fd;
    struct relay *r;
    char *buf; /* bytes read from this end, to be written to the other */
    size_t len;
    bool rd_eof, wr_shut, connecting;
    uint32_t events;
};

struct natl {
    struct handle h;
    int fd;
    unsigned rule_id;
    unsigned port; /* listening port (after offset) */
    char to_addr[64];
    unsigned to_port;
    char src[128];     /* src-address of the rule ("" = any) */
    char in_iface[64]; /* in-interface of the rule ("" = any) */
    bool masq;
    bool keep; /* reconcile mark */
    struct relay *conns;
    struct natl *next;
};

struct relay {
    struct end a, b; /* a = client, b = target */
    struct natl *nl;
    bool dead;
    struct relay *next, *prev;
    struct relay *grave;
};

struct sim_server {
    struct sim_state *st;
    int ep;
    struct handle wake_h;
    int wake_fd;
    atomic_int stop; /* set by sim_server_stop() from a signal handler on any thread */
    struct svc svc[NSERVICES];
    struct session *sessions;
    size_t nsessions;
    struct natl *nats;
    size_t nrelays;
    struct session *grave_s;
    struct relay *grave_r;
    struct natl *grave_n;
    uint64_t seen_gen;
};

static int listen_on(const char *addr, unsigned port)
{
    struct sockaddr_storage ss;
    socklen_t len;
    if (netaddr_parse(addr, (uint16_t)port, &ss, &len) != 0)
        return -EINVAL;
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 128) != 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    return fd;
}

/* Where the listeners bind: --listen-address, else the sim's own address. */
static const char *listen_addr(const struct sim_state *st)
{
    return st->opt.listen_address[0] ? st->opt.listen_address : st->opt.address;
}

static unsigned eff_port(const struct sim_server *srv, unsigned port)
{
    return port < 1024 ? port + srv->st->opt.port_offset : port;
}

static void ep_add(struct sim_server *srv, int fd, uint32_t ev, struct handle *h)
{
    struct epoll_event e = {.events = ev, .data.ptr = h};
    if (epoll_ctl(srv->ep, EPOLL_CTL_ADD, fd, &e) != 0)
        log_warn("sim", "epoll add failed: %s", strerror(errno));
}

static void ep_mod(struct sim_server *srv, int fd, uint32_t ev, struct handle *h)
{
    struct epoll_event e = {.events = ev, .data.ptr = h};
    epoll_ctl(srv->ep, EPOLL_CTL_MOD, fd, &e);
}

/* ---- sessions --------------------------------------------------------- */

static void session_close(struct sim_server *srv, struct session *s, const char *why)
{
    if (s->dead)
        return;
    s->dead = true;
    char a[INET6_ADDRSTRLEN] = "?";
    const struct sockaddr *sa = (const struct sockaddr *)&s->s.peer;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, a, sizeof a);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, a, sizeof a);
    log_info("sim.api", "session from %s via %s closed (%s)", a, s->s.service, why);
    sim_state_lock(srv->st);
    sim_conn_remove(srv->st, s->conn_id);
    sim_state_unlock(srv->st);
    sim_session_release(&s->s);
    close(s->fd);
    if (s->prev)
        s->prev->next = s->next;
    else
        srv->sessions = s->next;
    if (s->next)
        s->next->prev = s->prev;
    srv->nsessions--;
    s->grave = srv->grave_s;
    srv->grave_s = s;
}

static void session_flush(struct sim_server *srv, struct session *s)
{
    while (s->out.len > 0) {
        ssize_t w = send(s->fd, s->out.data, s->out.len, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            session_close(srv, s, "write error");
            return;
        }
        buf_consume(&s->out, (size_t)w);
    }
    if (s->out.len == 0 && s->closing) {
        session_close(srv, s, "closed by command");
        return;
    }
    ep_mod(srv, s->fd, s->out.len ? (EPOLLIN | EPOLLOUT) : EPOLLIN, &s->h);
}

static void drop_all(struct sim_server *srv);

static void session_read(struct sim_server *srv, struct session *s)
{
    char chunk[ROS_DECODER_CHUNK];
    bool reboot = false;
    for (int rounds = 0; rounds < 16 && !s->dead && !s->closing; rounds++) {
        ssize_t n = recv(s->fd, chunk, sizeof chunk, 0);
        if (n == 0) {
            session_close(srv, s, "peer closed");
            return;
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                session_close(srv, s, "read error");
            break;
        }
        if (ros_decoder_feed(&s->dec, chunk, (size_t)n) != 0) {
            session_close(srv, s, "input over the size caps");
            return;
        }
        struct ros_sentence in;
        ros_sentence_init(&in);
        int r = 0;
        while (!s->closing && !reboot && (r = ros_decoder_next(&s->dec, &in)) == 1) {
            sim_state_lock(srv->st);
            enum sim_api_action act = sim_api_handle(srv->st, &s->s, &in, &s->out);
            sim_state_unlock(srv->st);
            if (act == SIM_API_EXECUTE) /* runs the script unlocked (it locks per command) */
                act = sim_api_execute(srv->st, &s->s, &s->out);
            if (act == SIM_API_CLOSE)
                s->closing = true;
            else if (act == SIM_API_REBOOT)
                reboot = true;
        }
        ros_sentence_release(&in);
        if (!s->closing && !reboot && r < 0) {
            session_close(srv, s, r == -E2BIG ? "word or sentence over the caps" : "bad encoding");
            return;
        }
        if (reboot)
            break;
        if ((size_t)n < sizeof chunk)
            break;
    }
    if (reboot) {
        drop_all(srv);
        return;
    }
    if (!s->dead)
        session_flush(srv, s);
}

static void svc_accept(struct sim_server *srv, struct svc *v)
{
    for (int k = 0; k < 64; k++) {
        struct sockaddr_storage peer;
        socklen_t plen = sizeof peer;
        int fd = accept4(v->fd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        if (srv->nsessions >= MAX_SESSIONS) {
            log_warn("sim.api", "too many sessions; connection on %s refused", v->name);
            close(fd);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct session *s = xcalloc(1, sizeof *s);
        s->h.kind = K_SESSION;
        s->fd = fd;
        ros_decoder_init(&s->dec, NULL);
        buf_init(&s->out, SESSION_OUT_CAP);
        s->s.service = v->name; /* svc names live as long as the server */
        memcpy(&s->s.peer, &peer, plen);
        struct sockaddr_storage local;
        socklen_t llen = sizeof local;
        if (getsockname(fd, (struct sockaddr *)&local, &llen) != 0)
            memset(&local, 0, sizeof local);
        sim_state_lock(srv->st);
        if (sim_conn_add(srv->st, v->name, (struct sockaddr *)&local, (struct sockaddr *)&peer,
                         &s->conn_id) != 0)
            s->conn_id = 0;
        sim_state_unlock(srv->st);
        s->next = srv->sessions;
        if (s->next)
            s->next->prev = s;
        srv->sessions = s;
        srv->nsessions++;
        ep_add(srv, fd, EPOLLIN, &s->h);
        log_debug("sim.api", "connection on %s", v->name);
    }
}

/* ---- relays ----------------------------------------------------------- */

static void relay_close(struct sim_server *srv, struct relay *r, const char *why)
{
    if (r->dead)
        return;
    r->dead = true;
    log_info("sim.nat", "relay on port %u to %s:%u closed (%s)", r->nl->port, r->nl->to_addr,
             r->nl->to_port, why);
    close(r->a.fd);
    if (r->b.fd >= 0)
        close(r->b.fd);
    if (r->prev)
        r->prev->next = r->next;
    else
        r->nl->conns = r->next;
    if (r->next)
        r->next->prev = r->prev;
    srv->nrelays--;
    r->grave = srv->grave_r;
    srv->grave_r = r;
}

static void end_update(struct sim_server *srv, struct end *x, struct end *peer)
{
    uint32_t ev = 0;
    if (x->connecting)
        ev = EPOLLOUT;
    else {
        if (!x->rd_eof && x->len < RELAY_BUF)
            ev |= EPOLLIN;
        if (peer->len > 0)
            ev |= EPOLLOUT;
    }
    if (ev != x->events) {
        ep_mod(srv, x->fd, ev, &x->h);
        x->events = ev;
    }
}

/* Writes from's buffer to to. false when the relay died. */
static bool relay_flush(struct sim_server *srv, struct relay *r, struct end *from, struct end *to)
{
    if (to->connecting)
        return true;
    while (from->len > 0) {
        ssize_t w = send(to->fd, from->buf, from->len, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            relay_close(srv, r, "write error");
            return false;
        }
        memmove(from->buf, from->buf + w, from->len - (size_t)w);
        from->len -= (size_t)w;
    }
    if (from->len == 0 && from->rd_eof && !to->wr_shut) {
        shutdown(to->fd, SHUT_WR);
        to->wr_shut = true;
    }
    if (r->a.wr_shut && r->b.wr_shut) {
        relay_close(srv, r, "both sides closed");
        return false;
    }
    return true;
}

static void end_event(struct sim_server *srv, struct end *x, uint32_t events)
{
    struct relay *r = x->r;
    if (r->dead)
        return;
    struct end *peer = x == &r->a ? &r->b : &r->a;
    if (x->connecting) {
        int err = 0;
        socklen_t el = sizeof err;
        getsockopt(x->fd, SOL_SOCKET, SO_ERROR, &err, &el);
        if (err) {
            log_info("sim.nat", "connect to %s:%u failed: %s", r->nl->to_addr, r->nl->to_port,
                     strerror(err));
            relay_close(srv, r, "target unreachable");
            return;
        }
        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
            return;
        x->connecting = false;
    }
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        while (!x->rd_eof && x->len < RELAY_BUF) {
            ssize_t n = recv(x->fd, x->buf + x->len, RELAY_BUF - x->len, 0);
            if (n > 0) {
                x->len += (size_t)n;
                continue;
            }
            if (n == 0) {
                x->rd_eof = true;
                break;
            }
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                relay_close(srv, r, "reset");
                return;
            }
            break;
        }
    }
    if (!relay_flush(srv, r, x, peer))
        return;
    if (!relay_flush(srv, r, peer, x))
        return;
    end_update(srv, x, peer);
    end_update(srv, peer, x);
}

static void nat_accept(struct sim_server *srv, struct natl *nl)
{
    for (int k = 0; k < 64; k++) {
        struct sockaddr_storage peer;
        socklen_t plen = sizeof peer;
        int fd = accept4(nl->fd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        if (nl->src[0] && !sim_netlist_allows(nl->src, (struct sockaddr *)&peer)) {
            log_info("sim.nat", "port %u: source outside src-address %s, dropped", nl->port,
                     nl->src);
            close(fd);
            continue;
        }
        /* in-interface: RouterOS dst-nats only what arrives on that interface; anything else
         * reaches the router's own port, where nothing listens */
        struct sockaddr_storage local;
        socklen_t llen = sizeof local;
        if (nl->in_iface[0] &&
            (getsockname(fd, (struct sockaddr *)&local, &llen) != 0 ||
             !sim_in_interface_matches(srv->st, (struct sockaddr *)&local, nl->in_iface))) {
            log_info("sim.nat",
                     "port %u: arrived on another interface than in-interface=%s, "
                     "not dst-natted",
                     nl->port, nl->in_iface);
            close(fd);
            continue;
        }
        if (srv->nrelays >= MAX_RELAYS) {
            close(fd);
            continue;
        }
        struct sockaddr_storage to, from;
        socklen_t tolen, fromlen;
        const char *src_addr = nl->masq && srv->st->opt.lan_address[0] ? srv->st->opt.lan_address
                                                                       : srv->st->opt.address;
        if (netaddr_parse(nl->to_addr, (uint16_t)nl->to_port, &to, &tolen) != 0) {
            close(fd);
            continue;
        }
        int out = socket(to.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (out < 0) {
            close(fd);
            continue;
        }
        if (netaddr_parse(src_addr, 0, &from, &fromlen) == 0 && from.ss_family == to.ss_family &&
            bind(out, (struct sockaddr *)&from, fromlen) != 0)
            log_warn("sim.nat", "bind to %s before connect failed: %s", src_addr, strerror(errno));
        int cr = connect(out, (struct sockaddr *)&to, tolen);
        if (cr != 0 && errno != EINPROGRESS) {
            log_info("sim.nat", "connect to %s:%u failed: %s", nl->to_addr, nl->to_port,
                     strerror(errno));
            close(out);
            close(fd);
            continue;
        }
        struct relay *r = xcalloc(1, sizeof *r);
        r->nl = nl;
        r->a = (struct end){.h = {K_END}, .fd = fd, .r = r, .buf = xmalloc(RELAY_BUF)};
        r->b = (struct end){
            .h = {K_END}, .fd = out, .r = r, .buf = xmalloc(RELAY_BUF), .connecting = cr != 0};
        r->next = nl->conns;
        if (r->next)
            r->next->prev = r;
        nl->conns = r;
        srv->nrelays++;
        r->a.events = EPOLLIN;
        r->b.events = r->b.connecting ? EPOLLOUT : EPOLLIN;
        ep_add(srv, fd, r->a.events, &r->a.h);
        ep_add(srv, out, r->b.events, &r->b.h);
        log_info("sim.nat", "port %u: relaying to %s:%u from %s%s", nl->port, nl->to_addr,
                 nl->to_port, src_addr, nl->masq ? " (masquerade)" : "");
    }
}

static void natl_close(struct sim_server *srv, struct natl *nl, const char *why)
{
    while (nl->conns)
        relay_close(srv, nl->conns, why);
    close(nl->fd);
    log_info("sim.nat", "dst-nat listener port %u (rule *%X) closed: %s", nl->port, nl->rule_id,
             why);
    nl->next = srv->grave_n;
    srv->grave_n = nl;
}

/* ---- reconcile -------------------------------------------------------- */

struct want_nat {
    unsigned rule_id, port, to_port;
    char to_addr[64], src[128], in_iface[64];
    bool masq;
};

static bool parse_port(const char *s, unsigned *ret)
{
    if (!s || !*s)
        return false;
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || v < 1 || v > 65535)
        return false;
    *ret = (unsigned)v;
    return true;
}

static bool eq(const char *a, const char *b)
{
    return a && strcmp(a, b) == 0;
}

static void drop_all(struct sim_server *srv)
{
    while (srv->sessions)
        session_close(srv, srv->sessions, "reboot");
    for (struct natl *nl = srv->nats; nl; nl = nl->next)
        while (nl->conns)
            relay_close(srv, nl->conns, "reboot");
}

// NOLINTNEXTLINE(readability-function-size): services then NAT, to split into two passes
static void reconcile(struct sim_server *srv)
{
    struct sim_state *st = srv->st;
    unsigned want[NSERVICES] = {0};
    char names[NSERVICES][16] = {{0}};
    struct want_nat *wn = NULL;
    size_t nwn = 0;
    bool reboot;

    sim_state_lock(st);
    reboot = st->reboot_pending;
    st->reboot_pending = false;
    if (reboot)
        sim_state_booted(st); /* uptime restarts; the pull thread runs the startup entries */
    const struct sim_menu *sm = &st->menus[SIM_M_SERVICE];
    for (size_t i = 0; i < sm->n && i < NSERVICES; i++) {
        snprintf(names[i], sizeof names[i], "%s", sim_item_get(sm, &sm->items[i], "name"));
        unsigned port;
        if (!eq(sim_item_get(sm, &sm->items[i], "disabled"), "true") &&
            !(st->opt.external_service[0] && eq(names[i], st->opt.external_service)) &&
            parse_port(sim_item_get(sm, &sm->items[i], "port"), &port))
            want[i] = eff_port(srv, port);
    }
    const struct sim_menu *nm = &st->menus[SIM_M_NAT];
    bool masq_any = false;
    for (size_t i = 0; i < nm->n; i++) {
        const struct sim_item *it = &nm->items[i];
        if (!eq(sim_item_get(nm, it, "disabled"), "true") &&
            eq(sim_item_get(nm, it, "chain"), "srcnat") &&
            eq(sim_item_get(nm, it, "action"), "masquerade"))
            masq_any = true;
    }
    wn = xcalloc(nm->n ? nm->n : 1, sizeof *wn);
    for (size_t i = 0; i < nm->n; i++) {
        const struct sim_item *it = &nm->items[i];
        unsigned dport, tport;
        const char *to = sim_item_get(nm, it, "to-addresses");
        struct sockaddr_storage tmp;
        socklen_t tl;
        if (eq(sim_item_get(nm, it, "disabled"), "true") ||
            !eq(sim_item_get(nm, it, "chain"), "dstnat") ||
            !eq(sim_item_get(nm, it, "action"), "dst-nat") ||
            !eq(sim_item_get(nm, it, "protocol"), "tcp") ||
            !parse_port(sim_item_get(nm, it, "dst-port"), &dport) || !to ||
            netaddr_parse(to, 1, &tmp, &tl) != 0)
            continue;
        if (!parse_port(sim_item_get(nm, it, "to-ports"), &tport))
            tport = dport;
        struct want_nat *w = &wn[nwn++];
        w->rule_id = it->id;
        w->port = eff_port(srv, dport);
        w->to_port = tport;
        snprintf(w->to_addr, sizeof w->to_addr, "%s", to);
        const char *src = sim_item_get(nm, it, "src-address");
        snprintf(w->src, sizeof w->src, "%s", src && src[0] != '!' ? src : "");
        const char *inif = sim_item_get(nm, it, "in-interface");
        snprintf(w->in_iface, sizeof w->in_iface, "%s", inif ? inif : "");
        w->masq = masq_any;
    }
    sim_state_unlock(st);

    if (reboot) {
        log_info("sim", "reboot: dropping every connection, rebinding services (state kept)");
        drop_all(srv);
        for (int i = 0; i < NSERVICES; i++)
            if (srv->svc[i].port) {
                close(srv->svc[i].fd);
                srv->svc[i].port = 0;
            }
    }

    for (int i = 0; i < NSERVICES; i++) {
        struct svc *v = &srv->svc[i];
        if (names[i][0])
            memcpy(v->name, names[i], sizeof v->name);
        if (v->port == want[i])
            continue;
        if (v->port) {
            close(v->fd);
            log_info("sim", "service %s: stopped listening on %s:%u", v->name, listen_addr(st),
                     v->port);
            v->port = 0;
        }
        if (!want[i])
            continue;
        if (want[i] > 65535) {
            log_error("sim", "service %s: port %u out of range (check --port-offset)", v->name,
                      want[i]);
            continue;
        }
        int fd = listen_on(listen_addr(st), want[i]);
        if (fd < 0) {
            log_warn("sim", "service %s: cannot listen on %s:%u: %s (retrying)", v->name,
                     listen_addr(st), want[i], strerror(-fd));
            continue;
        }
        v->fd = fd;
        v->port = want[i];
        ep_add(srv, fd, EPOLLIN, &v->h);
        log_info("sim", "service %s: listening on %s:%u", v->name, listen_addr(st), v->port);
    }

    for (struct natl *nl = srv->nats; nl; nl = nl->next)
        nl->keep = false;
    for (size_t k = 0; k < nwn; k++) {
        struct want_nat *w = &wn[k];
        struct natl *hit = NULL;
        for (struct natl *nl = srv->nats; nl; nl = nl->next)
            if (nl->rule_id == w->rule_id && nl->port == w->port && nl->to_port == w->to_port &&
                strcmp(nl->to_addr, w->to_addr) == 0 && strcmp(nl->src, w->src) == 0 &&
                strcmp(nl->in_iface, w->in_iface) == 0)
                hit = nl;
        if (hit) {
            hit->keep = true;
            hit->masq = w->masq;
        }
    }
    /* close what is no longer wanted (or changed) */
    struct natl **pp = &srv->nats;
    while (*pp) {
        struct natl *nl = *pp;
        if (!nl->keep) {
            *pp = nl->next;
            natl_close(srv, nl, "rule removed, disabled or changed");
        } else {
            pp = &nl->next;
        }
    }
    for (size_t k = 0; k < nwn; k++) {
        struct want_nat *w = &wn[k];
        bool have = false;
        for (struct natl *nl = srv->nats; nl; nl = nl->next)
            have = have || nl->rule_id == w->rule_id;
        if (have)
            continue;
        if (w->port > 65535)
            continue;
        int fd = listen_on(listen_addr(st), w->port);
        if (fd < 0) {
            log_warn("sim.nat", "dst-nat rule *%X: cannot listen on %s:%u: %s (retrying)",
                     w->rule_id, listen_addr(st), w->port, strerror(-fd));
            continue;
        }
        struct natl *nl = xcalloc(1, sizeof *nl);
        nl->h.kind = K_NAT;
        nl->fd = fd;
        nl->rule_id = w->rule_id;
        nl->port = w->port;
        nl->to_port = w->to_port;
        nl->masq = w->masq;
        snprintf(nl->to_addr, sizeof nl->to_addr, "%s", w->to_addr);
        snprintf(nl->src, sizeof nl->src, "%s", w->src);
        snprintf(nl->in_iface, sizeof nl->in_iface, "%s", w->in_iface);
        nl->next = srv->nats;
        srv->nats = nl;
        ep_add(srv, fd, EPOLLIN, &nl->h);
        log_info("sim.nat", "dst-nat rule *%X: listening on %s:%u -> %s:%u", w->rule_id,
                 listen_addr(st), w->port, w->to_addr, w->to_port);
    }
    free(wn);
}

static void bury(struct sim_server *srv)
{
    while (srv->grave_s) {
        struct session *s = srv->grave_s;
        srv->grave_s = s->grave;
        ros_decoder_release(&s->dec);
        buf_release(&s->out);
        free(s);
    }
    while (srv->grave_r) {
        struct relay *r = srv->grave_r;
        srv->grave_r = r->grave;
        free(r->a.buf);
        free(r->b.buf);
        free(r);
    }
    while (srv->grave_n) {
        struct natl *nl = srv->grave_n;
        srv->grave_n = nl->next;
        free(nl);
    }
}

/* ---- public ----------------------------------------------------------- */

struct sim_server *sim_server_new(struct sim_state *st)
{
    struct sim_server *srv = xcalloc(1, sizeof *srv);
    srv->st = st;
    srv->ep = epoll_create1(EPOLL_CLOEXEC);
    srv->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (srv->ep < 0 || srv->wake_fd < 0) {
        if (srv->ep >= 0)
            close(srv->ep);
        if (srv->wake_fd >= 0)
            close(srv->wake_fd);
        free(srv);
        return NULL;
    }
    srv->wake_h.kind = K_WAKE;
    ep_add(srv, srv->wake_fd, EPOLLIN, &srv->wake_h);
    for (int i = 0; i < NSERVICES; i++)
        srv->svc[i].h.kind = K_SVC;
    return srv;
}

void sim_server_wake(struct sim_server *srv)
{
    uint64_t one = 1;
    ssize_t w = write(srv->wake_fd, &one, sizeof one);
    (void)w;
}

void sim_server_stop(struct sim_server *srv)
{
    atomic_store(&srv->stop, 1);
    sim_server_wake(srv);
}

int sim_server_run(struct sim_server *srv)
{
    reconcile(srv);
    struct epoll_event evs[64];
    while (!atomic_load(&srv->stop)) {
        int n = epoll_wait(srv->ep, evs, 64, 1000);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        bool wake = n == 0; /* periodic: retry failed binds */
        for (int i = 0; i < n; i++) {
            struct handle *h = evs[i].data.ptr;
            switch (h->kind) {
            case K_WAKE: {
                uint64_t v;
                ssize_t r = read(srv->wake_fd, &v, sizeof v);
                (void)r;
                wake = true;
                break;
            }
            case K_SVC: {
                struct svc *v = (struct svc *)h;
                if (v->port)
                    svc_accept(srv, v);
                break;
            }
            case K_SESSION: {
                struct session *s = (struct session *)h;
                if (s->dead)
                    break;
                if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
                    session_read(srv, s);
                else if (evs[i].events & EPOLLOUT)
                    session_flush(srv, s);
                break;
            }
            case K_NAT: {
                struct natl *nl = (struct natl *)h;
                bool alive = false;
                for (struct natl *x = srv->nats; x; x = x->next)
                    alive = alive || x == nl;
                if (alive)
                    nat_accept(srv, nl);
                break;
            }
            case K_END: end_event(srv, (struct end *)h, evs[i].events); break;
            }
        }
        /* an API command may have changed the configuration */
        sim_state_lock(srv->st);
        bool changed = srv->st->gen != srv->seen_gen || srv->st->reboot_pending;
        srv->seen_gen = srv->st->gen;
        sim_state_unlock(srv->st);
        if (wake || changed)
            reconcile(srv);
        sim_wg_tick(srv->st, changed); /* real WireGuard interfaces follow the state */
        bury(srv);
    }
    return 0;
}

void sim_server_free(struct sim_server *srv)
{
    if (!srv)
        return;
    while (srv->sessions)
        session_close(srv, srv->sessions, "shutdown");
    while (srv->nats) {
        struct natl *nl = srv->nats;
        srv->nats = nl->next;
        natl_close(srv, nl, "shutdown");
    }
    for (int i = 0; i < NSERVICES; i++)
        if (srv->svc[i].port)
            close(srv->svc[i].fd);
    bury(srv);
    close(srv->wake_fd);
    close(srv->ep);
    free(srv);
}
