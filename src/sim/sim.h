/*
 * sim.h - tikgate-sim, the simulated MikroTik router (DESIGN.md §7, docs/internals/sim.md).
 *
 * Layers, each testable alone:
 *   state.c   RouterOS-shaped configuration (menus, items, validation)
 *   state_json.c  the state file (jansson)
 *   query.c   the API's "?" query stack for print
 *   api.c     one RouterOS API sentence in -> encoded replies out (login rules, commands)
 *   script_parse.c, script_exec.c
 *             the RouterOS script subset of docs/internals/script-subset.md: a pure
 *             parser (script_int.h, the program's structure) and the interpreter
 *   files.c   the file store /tool fetch writes, /import reads and /file remove deletes
 *   certs.c   /certificate import and the trust store of check-certificate=yes
 *   fetch.c   /tool fetch with libcurl
 *   server.c  epoll loop: service listeners, API sessions, dst-nat relays
 *   pull.c    bootstrap command and the tikgate-poll scheduler, in their own thread
 *   wireguard.c  /interface wireguard (+ peers) and /ip address network=; with --wireguard
 *             real wireguard-go interfaces behind them (src/wg)
 *
 * Locking: struct sim_state has one mutex. api.c runs with it held (the server
 * takes it around each sentence); script_exec.c takes it around each command, never
 * across a fetch. All sim_state_* mutators require the lock.
 */
#ifndef TG_SIM_H
#define TG_SIM_H

#include "buf.h"
#include "wire.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define SIM_ERR_LEN 256
#define SIM_MAX_FIELDS 24
#define SIM_MAX_ITEMS 4096        /* per menu */
#define SIM_MAX_VALUE 4096        /* bytes of one property value */
#define SIM_MAX_SCRIPT (1u << 20) /* bytes of a script / fetched file */

enum sim_menu_id {
    SIM_M_USER = 0,
    SIM_M_GROUP,
    SIM_M_SERVICE,
    SIM_M_NAT,
    SIM_M_FILTER,
    SIM_M_SCHED,
    SIM_M_ADDRESS,
    SIM_M_WG,        /* /interface wireguard (wireguard.c; RouterOS >= 7.8 here) */
    SIM_M_WG_PEER,   /* /interface wireguard peers (wireguard.c; likewise) */
    SIM_M_CERT,      /* /certificate: items come from /certificate import (certs.c) */
    SIM_M_INTERFACE, /* /interface: the router's interfaces (no add: they come with the router) */
    SIM_M_FILTER6,   /* /ipv6 firewall filter */
    SIM_M_ADDRLIST,  /* /ip firewall address-list */
    SIM_M_ROUTE,     /* /ip route */
    SIM_M_COUNT,
};

enum sim_field_flags {
    SIM_F_REQUIRED = 1 << 0,   /* must be given on add */
    SIM_F_BOOL = 1 << 1,       /* yes/no/true/false, stored as "true"/"false" */
    SIM_F_UNIQUE = 1 << 2,     /* no two items share the value */
    SIM_F_READONLY = 1 << 3,   /* cannot be set (ip service name) */
    SIM_F_SECRET = 1 << 4,     /* never printed over the API (password) */
    SIM_F_PORT = 1 << 5,       /* 1..65535 */
    SIM_F_NETLIST = 1 << 6,    /* comma list of IP prefixes, may be empty */
    SIM_F_DURATION = 1 << 7,   /* RouterOS time interval */
    SIM_F_POLICY = 1 << 8,     /* group policy list */
    SIM_F_GROUP = 1 << 9,      /* an existing /user/group name */
    SIM_F_ENUM = 1 << 10,      /* one of enum_values (comma list) */
    SIM_F_CIDR = 1 << 11,      /* one address with prefix (ip address) */
    SIM_F_SENSITIVE = 1 << 12, /* printed only to users with the sensitive policy (private-key) */
    SIM_F_RUNTIME = 1 << 13,   /* status the router computes (running, rx): not in the state file */
    SIM_F_IP4 = 1 << 14,       /* IPv4 only: address, prefix or range, "!" allowed (/ip menus) */
    SIM_F_IP6 = 1 << 15,       /* IPv6 only: address or prefix, "!" allowed (/ipv6 menus) */
    SIM_F_IFACE = 1 << 16,     /* the name of an existing /interface item ("!" allowed) */
};

struct sim_field {
    const char *name;
    unsigned flags;
    const char *def;         /* default on add, NULL = absent */
    const char *enum_values; /* SIM_F_ENUM: ",a,b,c," */
};

enum sim_menu_flags {
    SIM_MENU_FIXED = 1,     /* items cannot be added or removed (ip service) */
    SIM_MENU_ORDERED = 2,   /* add accepts place-before (firewall) */
    SIM_MENU_NO_ADD = 4,    /* add is refused; a command makes the items (/certificate import) */
    SIM_MENU_NO_REMOVE = 8, /* items cannot be removed (/interface: they come with the router) */
};

struct sim_state;
struct sim_item;

struct sim_menu_def {
    const char *path;   /* API form without the leading '/': "ip/firewall/nat" */
    const char *script; /* script form: "/ip firewall nat" */
    unsigned flags;
    const struct sim_field *fields;
    size_t nfields;
    int name_field; /* index of the field that names an item (numbers=<name>), -1 if none */
    /* Optional menu rules beyond the field flags, run on add (old NULL) and set after the
     * fields passed their checks, lock held. vals: the new values (owned, NULL = unchanged);
     * it may fill or replace entries (defaults, derived values). 0, or -errno with err set
     * (the caller then frees vals and nothing changes). */
    int (*validate)(const struct sim_state *st, const struct sim_item *old,
                    char *vals[SIM_MAX_FIELDS], char err[SIM_ERR_LEN]);
};

struct sim_item {
    unsigned id;               /* printed as "*%X" */
    char *val[SIM_MAX_FIELDS]; /* aligned with the menu's fields; NULL = absent */
};

struct sim_menu {
    const struct sim_menu_def *def;
    struct sim_item *items; /* in print order */
    size_t n, alloc;
    unsigned next_id;
};

struct sim_options {
    char address[64];              /* the sim's own address (bind address, /ip address) */
    char lan_address[64];          /* source address of masqueraded relays ("" = none) */
    unsigned port_offset;          /* added to service / dst-nat ports below 1024 */
    bool ros_empty;                /* answer zero rows with !empty (RouterOS >= 7.18) */
    char version[32];              /* /system resource version, e.g. "7.16" */
    unsigned ver_major, ver_minor; /* parsed from version (sim_options_set_version) */
    char serial[32];               /* /system routerboard serial-number */
    char listen_address[64]; /* bind address of the listeners ("" = address; "0.0.0.0" = all) */
    char board[64];          /* board-name: a RouterBOARD model, "CHR" or "x86" ("" = default RB) */
    bool no_routerboard;     /* CHR / x86: there is no /system routerboard */
    bool defconf;            /* start from the default configuration (fasttrack, input chain) */
    char mgmt_iface[32];     /* name of the management interface ("" = tikgate-mgmt) */
    bool no_mgmt_iface;      /* no management interface at all (the address sits on ether1) */
    char external_service[16]; /* a service another program serves on this address and its
                                * port (an OpenSSH server a test runs as the router's ssh):
                                * configured as usual, never listened on ("" = none) */
    unsigned command_delay_ms; /* a slow router: every script command takes this long first
                                * (a test's window on a half-run script; 0 = none) */
};

/* Sets version, ver_major/minor and ros_empty from "7.19", "7.19.2", "6.49.10". -EINVAL when
 * it does not start with major.minor. */
int sim_options_set_version(struct sim_options *o, const char *v);
/* Sets board and no_routerboard ("CHR" and "x86" have no /system routerboard). */
void sim_options_set_board(struct sim_options *o, const char *board);
/* True when the router's version is at least major.minor. */
bool sim_version_at_least(const struct sim_options *o, unsigned major, unsigned minor);

/* A live TCP connection to a service (RouterOS >= 7.19 lists them in /ip service as dynamic
 * entries sharing the service's name). Maintained by the server under the state lock. */
#define SIM_MAX_CONNS 256
#define SIM_CONN_ID_BASE 0x100000u
struct sim_conn {
    unsigned id; /* printed as "*%X", SIM_CONN_ID_BASE + n, never reused */
    char service[16];
    char local[80], remote[80]; /* "addr:port" */
};

/* One name=value argument, borrowed. */
struct sim_kv {
    const char *key;
    const char *val;
};

struct sim_file {
    char *name;
    char *data;
    size_t len;
};

#define SIM_MAX_FILES 64

struct sim_files {
    struct sim_file v[SIM_MAX_FILES];
    size_t n;
};

struct sim_state {
    pthread_mutex_t mu;
    struct sim_menu menus[SIM_M_COUNT];
    struct sim_files files; /* /file: what /tool fetch wrote (the pull thread's store) */
    struct sim_conn conns[SIM_MAX_CONNS];
    size_t nconns;
    unsigned next_conn_id;
    double boot_time;     /* CLOCK_MONOTONIC seconds of the last (simulated) boot: uptime */
    unsigned boots;       /* reboots so far */
    char *pkg_status;     /* /system package update status after check-for-updates (owned) */
    char *latest_version; /* what check-for-updates finds ("" = up to date; default) */
    char *identity;
    struct sim_options opt;
    uint64_t gen;        /* bumped on every change */
    char *state_file;    /* written after every change when set */
    bool reboot_pending; /* set by /system reboot (API or script); the server consumes it */
    void (*on_change)(void *ctx); /* called (lock held) after every change */
    void *on_change_ctx;
    struct sim_wg *wg; /* real WireGuard interfaces (--wireguard), NULL = none; owned by main */
    /* PEM certificates fetch trusts besides /certificate (--ca-file, a stand-in for the
     * router's built-in trust anchors); owned, freed by sim_state_release. NULL: none. */
    char *builtin_ca_pem;
};

extern const struct sim_menu_def sim_menu_defs[SIM_M_COUNT];

/* ---- state.c ---------------------------------------------------------- */

/* Initial state: admin user (admin_password borrowed, may be NULL = ""),
 * groups read/write/full, the 8 services, identity "MikroTik",
 * /ip address <opt->address>/32 on tikgate-mgmt. */
void sim_state_init(struct sim_state *st, const struct sim_options *opt,
                    const char *admin_password);
void sim_state_release(struct sim_state *st);
void sim_state_lock(struct sim_state *st);
void sim_state_unlock(struct sim_state *st);

/* Menu by API path ("user/group", leading '/' allowed) or script path
 * ("/user group"); -1 if unknown. */
int sim_menu_by_path(const char *path);
/* True when the menu exists on this router (/interface wireguard: RouterOS >= 7.8 here). */
bool sim_menu_available(const struct sim_options *o, enum sim_menu_id m);
/* True when the item is dynamic (made by the router: dynamic=true). */
bool sim_item_dynamic(const struct sim_menu *m, const struct sim_item *it);
/* Field index in a menu, -1 if unknown. */
int sim_field_index(const struct sim_menu_def *d, const char *name);
/* The value of field name on it (NULL when absent or unknown). Borrowed. */
const char *sim_item_get(const struct sim_menu *m, const struct sim_item *it, const char *name);

/* Resolves one reference: "*1A" (an id) or a name (menus with a name field).
 * 0 and *ret_idx, or -ENOENT. */
int sim_resolve(const struct sim_state *st, enum sim_menu_id m, const char *ref, size_t *ret_idx);
/* Index of the item with that id, or -ENOENT. */
int sim_index_of(const struct sim_state *st, enum sim_menu_id m, unsigned id, size_t *ret_idx);

/*
 * Mutators. kv are borrowed; on failure nothing changed and err holds the
 * RouterOS-style message. add: -EINVAL bad/unknown/missing value, -EEXIST
 * duplicate, -EPERM fixed menu, -ENOSPC too many items; place-before (ordered
 * menus) takes an id or a 0-based position that must exist. *ret_id may be NULL.
 */
int sim_state_add(struct sim_state *st, enum sim_menu_id m, const struct sim_kv *kv, size_t n,
                  unsigned *ret_id, char err[SIM_ERR_LEN]);
/* sim_state_add for the commands that make the items of a SIM_MENU_NO_ADD menu. */
int sim_state_add_made(struct sim_state *st, enum sim_menu_id m, const struct sim_kv *kv, size_t n,
                       unsigned *ret_id, char err[SIM_ERR_LEN]);
int sim_state_set(struct sim_state *st, enum sim_menu_id m, unsigned id, const struct sim_kv *kv,
                  size_t n, char err[SIM_ERR_LEN]);
int sim_state_remove(struct sim_state *st, enum sim_menu_id m, unsigned id, char err[SIM_ERR_LEN]);
int sim_state_set_identity(struct sim_state *st, const char *name, char err[SIM_ERR_LEN]);

/* After a successful change: bumps gen, writes the state file, calls on_change. */
void sim_state_changed(struct sim_state *st);

/* board-name / routerboard model ("RB5009UG+S+" unless --board). */
const char *sim_board_name(const struct sim_options *o);
/* RouterOS time value of secs: "1w2d03:04:05", "00:00:07". */
void sim_format_duration(double secs, char *out, size_t n);
/* /system package update check-for-updates: sets pkg_status ("New version is available" when
 * latest_version is set and differs from the version, else "System is already up to date"). */
void sim_package_check(struct sim_state *st);
/* install: only after a check found a new version (0: version becomes latest_version and a
 * reboot is pending), else -EINVAL with err. */
int sim_package_install(struct sim_state *st, char err[SIM_ERR_LEN]);

/* True when the user's group policy grants policy (e.g. "write", "reboot"). */
bool sim_user_has_policy(const struct sim_state *st, const char *user, const char *policy);

/* Login rules (RouterOS): user exists and is enabled, password (or MD5
 * response to challenge) right, service enabled, peer inside the service's
 * and the user's address lists. 0 or -EACCES with the reason in why. */
struct ros_login_request;
int sim_login_check(const struct sim_state *st, const char *service, const struct sockaddr *peer,
                    const struct ros_login_request *req, const char *challenge,
                    char why[SIM_ERR_LEN]);

/* True when addr lies in the comma list of prefixes (empty list or 0.0.0.0/0 = anyone). */
bool sim_netlist_allows(const char *list, const struct sockaddr *peer);
/*
 * True when a connection that arrived at local (its getsockname address) matches a firewall
 * rule's in-interface ("X", or "!X"): the interface is the one whose /ip address holds local.
 * An address the sim holds on no interface matches no "X" (and every "!X"). Takes the lock.
 */
bool sim_in_interface_matches(struct sim_state *st, const struct sockaddr *local,
                              const char *in_iface);
/* Parses a RouterOS duration ("30s", "1m30s", "00:01:00", "1d2h", "500ms", "45").
 * 0 and *ret seconds, or -EINVAL. */
int sim_duration_parse(const char *s, double *ret);

/* ---- state_json.c ----------------------------------------------------- */

/* Appends the whole configuration as JSON, one item per line (always valid JSON: bytes that
 * are not UTF-8 are written as U+FFFD). 0, -ENOMEM, or -E2BIG when out's cap is hit. */
int sim_state_json(const struct sim_state *st, struct buf *out);
/* Writes that JSON to path atomically (temp file + rename, mode 0600). 0 or -errno. */
int sim_state_write_file(const struct sim_state *st, const char *path);

/* ---- query.c ---------------------------------------------------------- */

#define SIM_QUERY_STACK_MAX 256

/* Evaluates the query words of s (in order) on item it. 0 and *ret, or
 * -EINVAL (malformed word / stack op) with err set. No query words -> true. */
int sim_query_match(const struct sim_menu *m, const struct sim_item *it,
                    const struct ros_sentence *s, bool *ret, char err[SIM_ERR_LEN]);

/* ---- api.c ------------------------------------------------------------ */

#define SIM_MAX_CMDS_BEFORE_LOGIN 16

struct sim_session {
    const char *service; /* service the connection arrived on (static string) */
    struct sockaddr_storage peer;
    bool logged_in;
    char user[128];
    bool have_challenge;
    char challenge[64];
    unsigned before_login;
    char *exec_script;   /* SIM_API_EXECUTE: the /execute script (owned), run by the server */
    bool exec_as_string; /* ... with =as-string= */
    char *exec_tag;      /* ... the request's .tag (owned, NULL = none) */
};

enum sim_api_action {
    SIM_API_CONTINUE = 0,
    SIM_API_CLOSE,   /* flush the replies, then close (/quit, too many commands before login) */
    SIM_API_REBOOT,  /* close every session now, keep the state (/system/reboot) */
    SIM_API_EXECUTE, /* run sess->exec_script without the lock: sim_api_execute() */
};

/* Handles one sentence (lock held). Appends encoded replies to out.
 * Never fails on bad input: a bad command gets !trap. */
enum sim_api_action sim_api_handle(struct sim_state *st, struct sim_session *sess,
                                   const struct ros_sentence *in, struct buf *out);
/* Runs the script SIM_API_EXECUTE left in sess (lock NOT held; takes it per command) with the
 * session user's policies and appends the reply: `!done =ret=<output>` with as-string (the
 * script's :put lines), else `!done =ret=<job id>`; a script that does not parse, or fails
 * outside any on-error, gets `!trap` (category 3 / 4) with RouterOS-style text. Frees the script.
 * Returns SIM_API_REBOOT when the script ran /system reboot, else SIM_API_CONTINUE. */
enum sim_api_action sim_api_execute(struct sim_state *st, struct sim_session *sess,
                                    struct buf *out);
/* Frees what a session owns (a pending /execute). */
void sim_session_release(struct sim_session *sess);

/* ---- live connections (state.c; lock held) ----------------------------- */

/* Registers a connection; 0 and *ret_id, or -ENOSPC. */
int sim_conn_add(struct sim_state *st, const char *service, const struct sockaddr *local,
                 const struct sockaddr *remote, unsigned *ret_id);
void sim_conn_remove(struct sim_state *st, unsigned id);
/* Seconds since the last simulated boot. */
double sim_uptime(const struct sim_state *st);
/* A simulated reboot happened (uptime restarts). Lock held. */
void sim_state_booted(struct sim_state *st);

/* ---- script_exec.c, files.c ------------------------------------------- */

struct sim_fetch_req {
    const char *url;
    bool post;
    const char *data;      /* NULL: none */
    const char *headers;   /* "Name: value,Name2: value2" or NULL */
    bool check_cert;       /* check-certificate=yes|yes-without-crl: verify chain and host */
    const char *trust_pem; /* the certificates trusted for check_cert (PEM), NULL = none */
};

void sim_files_release(struct sim_files *f);
/* Stores (replaces) a file: takes nothing, copies. -ENOSPC when full. */
int sim_files_put(struct sim_files *f, const char *name, const char *data, size_t len);
const struct sim_file *sim_files_get(const struct sim_files *f, const char *name);
/* Removes a file (/file remove); -ENOENT when there is none of that name. */
int sim_files_remove(struct sim_files *f, const char *name);

struct sim_script_host {
    struct sim_state *st;
    struct sim_files *files;
    /* Performs one HTTP request; the body is appended to body (capped). Returns
     * 0 and *status, or -errno with err set. */
    int (*fetch)(void *ctx, const struct sim_fetch_req *req, struct buf *body, long *status,
                 char err[SIM_ERR_LEN]);
    void *fetch_ctx;
    /* Optional: called for every :log line. */
    void (*log)(void *ctx, const char *level, const char *text);
    void *log_ctx;
    /* Optional: polled between commands; true stops the script. */
    bool (*should_stop)(void *ctx);
    void *stop_ctx;
    /* The policies the script runs with (comma list as in /system scheduler policy=); NULL:
     * every policy (the console of a full user: the bootstrap command). */
    const char *policy;
    /* Optional: collects :put output (capped by the buffer); NULL drops it. */
    struct buf *put_out;
};

enum sim_script_result {
    SIM_SCRIPT_OK = 0,
    SIM_SCRIPT_FAILED = -1, /* a command failed outside any on-error (err, line set) */
    SIM_SCRIPT_SYNTAX = -2, /* the script could not be parsed: nothing ran */
    SIM_SCRIPT_REBOOT = 1,  /* /system reboot ran: the script stopped there */
    SIM_SCRIPT_STOPPED = 2, /* should_stop said so */
};

struct sim_script_report {
    unsigned line; /* line of the failure (1-based, in the innermost script) */
    char err[SIM_ERR_LEN];
    unsigned commands; /* commands executed */
    unsigned caught;   /* failures caught by on-error */
};

/* Runs script text (borrowed, len bytes) in a fresh variable scope. name is
 * used in logs. Never crashes on any input. */
enum sim_script_result sim_script_run(const struct sim_script_host *h, const char *name,
                                      const char *text, size_t len, struct sim_script_report *rep);

/* ---- fetch.c ---------------------------------------------------------- */

/* libcurl implementation of sim_script_host.fetch (ctx: a `volatile bool *`
 * stop flag or NULL). http/https only, 5 s connect, 30 s total, body capped
 * at SIM_MAX_SCRIPT. */
int sim_fetch_curl(void *ctx, const struct sim_fetch_req *req, struct buf *body, long *status,
                   char err[SIM_ERR_LEN]);

/* ---- certs.c ---------------------------------------------------------- */

/*
 * /certificate import (lock held): every CERTIFICATE block of data[0..len)
 * becomes an item named "<file_name>_<n>" (n from 0, the next free one) with
 * its SHA-256 fingerprint (64 lower-case hex digits, as RouterOS prints it)
 * and trusted=yes; a certificate already present (same fingerprint) is
 * skipped. 0 and *ret_imported, or -EINVAL (no or malformed certificate) /
 * -ENOSPC with err set; nothing is added on failure.
 */
int sim_cert_import(struct sim_state *st, const char *file_name, const char *data, size_t len,
                    unsigned *ret_imported, char err[SIM_ERR_LEN]);
/* Appends the PEM of builtin_ca_pem and of every trusted /certificate item (lock held). */
void sim_cert_trust_pem(const struct sim_state *st, struct buf *out);

/* ---- server.c / pull.c ------------------------------------------------ */

struct sim_server;
/* Creates the loop (listeners are opened by the first reconcile). */
struct sim_server *sim_server_new(struct sim_state *st);
/* Runs until sim_server_stop() (async-signal-safe). 0 or -errno. */
int sim_server_run(struct sim_server *srv);
void sim_server_stop(struct sim_server *srv);
/* Wakes the loop to reconcile listeners with the state (any thread). */
void sim_server_wake(struct sim_server *srv);
void sim_server_free(struct sim_server *srv);

struct sim_pull;
/* Starts the pull thread: bootstrap (may be NULL) once, then the tikgate-poll
 * scheduler every interval (poll_interval > 0 overrides the entry's interval). */
struct sim_pull *sim_pull_start(struct sim_state *st, const char *bootstrap, double poll_interval,
                                void (*wake)(void *), void *wake_ctx);
void sim_pull_stop(struct sim_pull *p);

/* ---- wireguard.c ------------------------------------------------------ */

/*
 * Menus (always there): /interface wireguard (name, listen-port, mtu, private-key generated
 * when absent, comment, disabled; read-only public-key, running) and /interface wireguard
 * peers (interface, public-key, endpoint-address, endpoint-port, allowed-address,
 * persistent-keepalive, name from RouterOS 7.15, comment, disabled; read-only
 * current-endpoint-address/-port, last-handshake, rx, tx), plus /ip address network=.
 * Their field tables and validate callbacks are used by state.c's menu table.
 */
#define SIM_WG_NFIELDS 8
#define SIM_WG_PEER_NFIELDS 14
#define SIM_ADDRESS_NFIELDS 5
extern const struct sim_field sim_wg_fields[SIM_WG_NFIELDS];
extern const struct sim_field sim_wg_peer_fields[SIM_WG_PEER_NFIELDS];
extern const struct sim_field sim_address_fields[SIM_ADDRESS_NFIELDS];
int sim_wg_validate(const struct sim_state *st, const struct sim_item *old,
                    char *vals[SIM_MAX_FIELDS], char err[SIM_ERR_LEN]);
int sim_wg_peer_validate(const struct sim_state *st, const struct sim_item *old,
                         char *vals[SIM_MAX_FIELDS], char err[SIM_ERR_LEN]);
int sim_address_validate(const struct sim_state *st, const struct sim_item *old,
                         char *vals[SIM_MAX_FIELDS], char err[SIM_ERR_LEN]);

/* RouterOS form of a duration in whole seconds: "0s", "25s", "1m12s", "2h3m", "1d4h". */
void sim_duration_format(uint64_t secs, char out[32]);

/* Devices (--wireguard). Everything borrowed is copied. */
struct sim_wg_config {
    const char *ifname_prefix; /* Linux name of interface *N: prefix + "w" + hex N (<= 15) */
    const char *wireguard_go;  /* NULL: "wireguard-go" in PATH */
    const char *uapi_dir;      /* NULL: /var/run/wireguard */
    const char *log_level;     /* wireguard-go LOG_LEVEL; NULL: "error" */
};

struct sim_wg;
/* An empty set of devices; owned by the caller (sim_wg_free). NULL only for a bad prefix. */
struct sim_wg *sim_wg_new(const struct sim_wg_config *cfg);
/* Stops every wireguard-go (SIGTERM, then SIGKILL) and frees wg. NULL is fine. */
void sim_wg_free(struct sim_wg *wg);
/*
 * Level-triggered: makes the devices follow the enabled interfaces, peers and /ip addresses
 * of st (state lock NOT held; taken briefly for a snapshot), restarting a wireguard-go that
 * died (and re-applying everything to it). Does nothing unless changed or a second passed
 * since the last run. Called from the server loop, a long-lived thread (wireguard-go gets
 * PR_SET_PDEATHSIG from it). No-op when st->wg is NULL.
 */
void sim_wg_tick(struct sim_state *st, bool changed);
/*
 * Fills the read-only runtime fields of menu m's items (running; current-endpoint-*,
 * last-handshake, rx, tx) from one UAPI get=1 per device involved (bounded by a short
 * timeout). need: comma list of the properties the caller will read (a .proplist, a [get]'s
 * property), NULL = all; nothing is dumped when it names no runtime field. Lock held. Only
 * for SIM_M_WG and SIM_M_WG_PEER with st->wg set; else no-op.
 */
void sim_wg_refresh(struct sim_state *st, enum sim_menu_id m, const char *need);

#endif
