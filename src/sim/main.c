/*
 * main.c - tikgate-sim: options, signals, and wiring of state, server and
 * pull thread. See docs/internals/sim.md.
 */
#include "alloc.h"
#include "log.h"
#include "pem.h"
#include "rand.h"
#include "sim.h"
#include "wg_link.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct sim_server *g_srv;

/* Async-signal-safe: an atomic store and a write(2) to the server's eventfd; errno is kept
 * for the interrupted code. */
static void on_signal(int sig)
{
    (void)sig;
    int saved = errno;
    if (g_srv)
        sim_server_stop(g_srv);
    errno = saved;
}

static void on_change(void *ctx)
{
    sim_server_wake(ctx);
}

static void usage(FILE *f)
{
    fputs(
        "usage: tikgate-sim [options]\n"
        "  --address ADDR          bind address and the router's own address (127.0.0.1)\n"
        "  --lan-address ADDR      source address of masqueraded dst-nat relays\n"
        "  --port-offset N         added to every service / dst-nat port below 1024 (0)\n"
        "  --service NAME=PORT|off initial port of a service, or disabled (repeatable)\n"
        "  --external-service NAME another program serves NAME (e.g. ssh: an OpenSSH server)\n"
        "                          on the sim's address and the service's port: the sim\n"
        "                          configures it as usual but never listens on it\n"
        "  --admin-password PW     password of the admin user (empty)\n"
        "  --identity NAME         initial /system identity (MikroTik)\n"
        "  --bootstrap-command S   RouterOS one-liner run once at start (';' separates)\n"
        "  --poll-interval SECS    run tikgate-poll at this interval instead of its own\n"
        "  --command-delay-ms N    a slow router: every script command waits N ms first\n"
        "  --state-file PATH       write the configuration as JSON after every change\n"
        "  --state PATH            print a state file and exit (also --print-state)\n"
        "  --ros-version V         RouterOS version (7.16): 7.18+ answers zero rows with !empty,\n"
        "                          7.19+ lists connections in /ip service, < 7.8 has no\n"
        "                          /interface wireguard, < 7.16 cannot catch an import's syntax\n"
        "                          error, 6.x refuses /a/b paths\n"
        "  --board B               RouterBOARD model (RB5009UG+S+), or CHR / x86 (no\n"
        "                          /system routerboard)\n"
        "  --defconf               start from the default configuration (fasttrack dummy rule,\n"
        "                          defconf input/forward chains, masquerade)\n"
        "  --mgmt-interface N|none name of the management interface (tikgate-mgmt), or none\n"
        "  --latest-version V      what check-for-updates finds (default: up to date)\n"
        "  --serial S              /system routerboard serial-number\n"
        "  --ca-file PATH          PEM certificates fetch trusts with check-certificate=yes\n"
        "                          besides /certificate (the router's built-in trust store)\n"
        "  --log-level L           debug, info (default), warn, error\n"
        "  --listen-address ADDR   bind address of the listeners (--address; 0.0.0.0 = all)\n"
        "  --wireguard             /interface wireguard drives real wireguard-go interfaces\n"
        "  --wg-prefix P           Linux name prefix of those interfaces (sim<pid>)\n"
        "  --wireguard-go PATH     the wireguard-go binary (wireguard-go in PATH)\n",
        f);
}

/* --ca-file: PEM certificates (at least one) into st->builtin_ca_pem. 0 or -errno, told. */
static int sim_load_ca_file(struct sim_state *st, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "tikgate-sim: --ca-file %s: %s\n", path, strerror(errno));
        return -errno;
    }
    char *text = xmalloc(PEM_MAX_TEXT + 1);
    size_t len = fread(text, 1, PEM_MAX_TEXT + 1, f);
    fclose(f);
    text[len > PEM_MAX_TEXT ? PEM_MAX_TEXT : len] = '\0';
    size_t pos = 0;
    struct pem_cert c;
    if (len > PEM_MAX_TEXT || pem_cert_next(text, len, &pos, &c) != 0) {
        fprintf(stderr, "tikgate-sim: --ca-file %s: no valid PEM certificate\n", path);
        free(text);
        return -EINVAL;
    }
    pem_cert_release(&c);
    st->builtin_ca_pem = text;
    return 0;
}

static int print_state(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "tikgate-sim: %s: %s\n", path, strerror(errno));
        return 1;
    }
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        fwrite(buf, 1, n, stdout);
    fclose(f);
    return 0;
}

/* One getopt switch over the options (the daemon's table-driven config.c is the model for
 * a rewrite once the sim's options settle). */
// NOLINTNEXTLINE(readability-function-size)
int main(int argc, char **argv)
{
    enum {
        O_ADDRESS = 256,
        O_LAN,
        O_OFFSET,
        O_SERVICE,
        O_EXTERNAL,
        O_ADMIN,
        O_IDENTITY,
        O_BOOT,
        O_POLL,
        O_CMD_DELAY,
        O_STATEFILE,
        O_STATE,
        O_VERSION,
        O_SERIAL,
        O_BOARD,
        O_DEFCONF,
        O_MGMT,
        O_LATEST,
        O_LOGLEVEL,
        O_CAFILE,
        O_LISTEN,
        O_WG,
        O_WG_PREFIX,
        O_WG_GO,
        O_HELP
    };
    static const struct option opts[] = {
        {"address", required_argument, NULL, O_ADDRESS},
        {"lan-address", required_argument, NULL, O_LAN},
        {"port-offset", required_argument, NULL, O_OFFSET},
        {"service", required_argument, NULL, O_SERVICE},
        {"external-service", required_argument, NULL, O_EXTERNAL},
        {"admin-password", required_argument, NULL, O_ADMIN},
        {"identity", required_argument, NULL, O_IDENTITY},
        {"bootstrap-command", required_argument, NULL, O_BOOT},
        {"poll-interval", required_argument, NULL, O_POLL},
        {"command-delay-ms", required_argument, NULL, O_CMD_DELAY},
        {"state-file", required_argument, NULL, O_STATEFILE},
        {"state", required_argument, NULL, O_STATE},
        {"print-state", required_argument, NULL, O_STATE},
        {"ros-version", required_argument, NULL, O_VERSION},
        {"serial", required_argument, NULL, O_SERIAL},
        {"board", required_argument, NULL, O_BOARD},
        {"defconf", no_argument, NULL, O_DEFCONF},
        {"mgmt-interface", required_argument, NULL, O_MGMT},
        {"latest-version", required_argument, NULL, O_LATEST},
        {"log-level", required_argument, NULL, O_LOGLEVEL},
        {"ca-file", required_argument, NULL, O_CAFILE},
        {"listen-address", required_argument, NULL, O_LISTEN},
        {"wireguard", no_argument, NULL, O_WG},
        {"wg-prefix", required_argument, NULL, O_WG_PREFIX},
        {"wireguard-go", required_argument, NULL, O_WG_GO},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0},
    };
    struct sim_options o;
    memset(&o, 0, sizeof o);
    snprintf(o.address, sizeof o.address, "127.0.0.1");
    sim_options_set_version(&o, "7.16");
    const char *admin_pw = "", *latest = NULL;
    const char *identity = NULL, *bootstrap = NULL, *state_file = NULL;
    const char *ca_file = NULL;
    double poll = 0;
    bool wireguard = false;
    char wg_prefix[16] = "";
    const char *wg_go = NULL;
    char *services[16];
    size_t nservices = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        char *end;
        switch (c) {
        case O_ADDRESS:
        case O_LAN:
        case O_LISTEN: {
            unsigned char tmp[16];
            if (strlen(optarg) >= sizeof o.address ||
                (inet_pton(AF_INET, optarg, tmp) != 1 && inet_pton(AF_INET6, optarg, tmp) != 1)) {
                fprintf(stderr, "tikgate-sim: bad address %s\n", optarg);
                return 2;
            }
            snprintf(c == O_ADDRESS ? o.address
                     : c == O_LAN   ? o.lan_address
                                    : o.listen_address,
                     sizeof o.address, "%s", optarg);
            break;
        }
        case O_WG: wireguard = true; break;
        case O_WG_PREFIX:
            if (!*optarg || strlen(optarg) > 10) {
                fprintf(stderr, "tikgate-sim: bad --wg-prefix %s (1-10 characters)\n", optarg);
                return 2;
            }
            snprintf(wg_prefix, sizeof wg_prefix, "%s", optarg);
            break;
        case O_WG_GO: wg_go = optarg; break;
        case O_OFFSET: {
            long v = strtol(optarg, &end, 10);
            if (*end || v < 0 || v > 64511) {
                fprintf(stderr, "tikgate-sim: bad --port-offset %s\n", optarg);
                return 2;
            }
            o.port_offset = (unsigned)v;
            break;
        }
        case O_SERVICE:
            if (nservices == 16 || !strchr(optarg, '=')) {
                fprintf(stderr, "tikgate-sim: bad --service %s (NAME=PORT or NAME=off)\n", optarg);
                return 2;
            }
            services[nservices++] = optarg;
            break;
        case O_EXTERNAL:
            if (!*optarg || strlen(optarg) >= sizeof o.external_service) {
                fprintf(stderr, "tikgate-sim: bad --external-service %s\n", optarg);
                return 2;
            }
            snprintf(o.external_service, sizeof o.external_service, "%s", optarg);
            break;
        case O_ADMIN: admin_pw = optarg; break;
        case O_IDENTITY: identity = optarg; break;
        case O_BOOT: bootstrap = optarg; break;
        case O_POLL:
            poll = strtod(optarg, &end);
            if (*end || !(poll > 0) || poll > 86400) {
                fprintf(stderr, "tikgate-sim: bad --poll-interval %s\n", optarg);
                return 2;
            }
            break;
        case O_CMD_DELAY: {
            long ms = strtol(optarg, &end, 10);
            if (*end || !*optarg || ms < 0 || ms > 10000) {
                fprintf(stderr, "tikgate-sim: bad --command-delay-ms %s (0..10000)\n", optarg);
                return 2;
            }
            o.command_delay_ms = (unsigned)ms;
            break;
        }
        case O_STATEFILE: state_file = optarg; break;
        case O_STATE: return print_state(optarg);
        case O_VERSION:
            if (sim_options_set_version(&o, optarg) != 0) {
                fprintf(stderr, "tikgate-sim: bad --ros-version %s (major.minor[.patch])\n",
                        optarg);
                return 2;
            }
            break;
        case O_BOARD:
            if (!*optarg || strlen(optarg) >= sizeof o.board) {
                fprintf(stderr, "tikgate-sim: bad --board %s\n", optarg);
                return 2;
            }
            sim_options_set_board(&o, optarg);
            break;
        case O_DEFCONF: o.defconf = true; break;
        case O_MGMT:
            if (strcmp(optarg, "none") == 0) {
                o.no_mgmt_iface = true;
            } else if (!*optarg || strlen(optarg) >= sizeof o.mgmt_iface) {
                fprintf(stderr, "tikgate-sim: bad --mgmt-interface %s\n", optarg);
                return 2;
            } else {
                snprintf(o.mgmt_iface, sizeof o.mgmt_iface, "%s", optarg);
            }
            break;
        case O_LATEST: {
            struct sim_options tmp;
            if (sim_options_set_version(&tmp, optarg) != 0) {
                fprintf(stderr, "tikgate-sim: bad --latest-version %s\n", optarg);
                return 2;
            }
            latest = optarg;
            break;
        }
        case O_SERIAL: snprintf(o.serial, sizeof o.serial, "%s", optarg); break;
        case O_CAFILE: ca_file = optarg; break;
        case O_LOGLEVEL:
            if (strcmp(optarg, "debug") == 0)
                log_set_level(LOG_DEBUG);
            else if (strcmp(optarg, "info") == 0)
                log_set_level(LOG_INFO);
            else if (strcmp(optarg, "warn") == 0)
                log_set_level(LOG_WARN);
            else if (strcmp(optarg, "error") == 0)
                log_set_level(LOG_ERROR);
            else {
                fprintf(stderr, "tikgate-sim: bad --log-level %s\n", optarg);
                return 2;
            }
            break;
        case O_HELP:
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        usage(stderr);
        return 2;
    }
    if (tg_rand_init() != 0) {
        fprintf(stderr, "tikgate-sim: libsodium init failed\n");
        return 1;
    }
    if (!o.serial[0]) {
        rand_base62(o.serial, 12);
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
        fprintf(stderr, "tikgate-sim: libcurl init failed\n");
        return 1;
    }

    struct sim_state *st = xcalloc(1, sizeof *st);
    sim_state_init(st, &o, admin_pw);
    if (latest) {
        free(st->latest_version);
        st->latest_version = xstrdup(latest);
    }
    char err[SIM_ERR_LEN];
    if (ca_file && sim_load_ca_file(st, ca_file) != 0)
        return 2;
    if (identity && sim_state_set_identity(st, identity, err) != 0) {
        fprintf(stderr, "tikgate-sim: --identity: %s\n", err);
        return 2;
    }
    for (size_t i = 0; i < nservices; i++) {
        char name[32];
        const char *eq = strchr(services[i], '=');
        snprintf(name, sizeof name, "%.*s", (int)(eq - services[i]), services[i]);
        size_t idx;
        struct sim_kv kv = {"port", eq + 1};
        if (strcmp(eq + 1, "off") == 0)
            kv = (struct sim_kv){"disabled", "yes"};
        if (sim_resolve(st, SIM_M_SERVICE, name, &idx) != 0 ||
            sim_state_set(st, SIM_M_SERVICE, st->menus[SIM_M_SERVICE].items[idx].id, &kv, 1, err) !=
                0) {
            fprintf(stderr, "tikgate-sim: --service %s: %s\n", services[i],
                    sim_resolve(st, SIM_M_SERVICE, name, &idx) ? "no such service" : err);
            return 2;
        }
    }

    if (wireguard) {
        char msg[256];
        if (wg_preflight_userspace(wg_go, msg, sizeof msg) != 0) {
            fprintf(stderr, "tikgate-sim: --wireguard: %s\n", msg);
            return 1;
        }
        if (!wg_prefix[0])
            snprintf(wg_prefix, sizeof wg_prefix, "sim%d", (int)getpid() % 10000000);
        struct sim_wg_config wc = {.ifname_prefix = wg_prefix, .wireguard_go = wg_go};
        st->wg = sim_wg_new(&wc);
        if (!st->wg) {
            fprintf(stderr, "tikgate-sim: bad --wg-prefix %s\n", wg_prefix);
            return 2;
        }
    }

    struct sim_server *srv = sim_server_new(st);
    if (!srv) {
        fprintf(stderr, "tikgate-sim: epoll: %s\n", strerror(errno));
        return 1;
    }
    g_srv = srv;
    if (state_file) {
        st->state_file = xstrdup(state_file);
        int r = sim_state_write_file(st, state_file);
        if (r < 0) {
            fprintf(stderr, "tikgate-sim: --state-file %s: %s\n", state_file, strerror(-r));
            return 1;
        }
    }
    st->on_change = on_change;
    st->on_change_ctx = srv;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    log_info("sim", "tikgate-sim %s: address %s, port offset %u, RouterOS %s%s on %s%s%s%s",
             "0.1.0", o.address, o.port_offset, o.version, o.ros_empty ? " (!empty)" : "",
             sim_board_name(&o), o.defconf ? ", default configuration" : "",
             wireguard ? ", WireGuard interfaces " : "", wireguard ? wg_prefix : "");
    struct sim_pull *pull = sim_pull_start(st, bootstrap, poll, NULL, NULL);
    if (!pull)
        log_error("sim", "cannot start the pull thread");
    int r = sim_server_run(srv);
    log_info("sim", "stopping");
    sim_pull_stop(pull);
    g_srv = NULL;
    sim_server_free(srv);
    sim_wg_free(st->wg); /* after the pull thread and the server: both may read devices */
    st->wg = NULL;
    sim_state_release(st);
    free(st);
    curl_global_cleanup();
    return r == 0 ? 0 : 1;
}
