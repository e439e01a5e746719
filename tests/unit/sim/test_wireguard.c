/* Unit tests for src/sim/wireguard.c without a device: /interface wireguard, its peers and
 * /ip address network= (defaults, derived values, RouterOS's refusals), print over the API
 * (the sensitive private key, read-only fields), script access as a bootstrap uses it, and
 * the state file (no runtime fields). */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include "helpers.h"
#include "rand.h"
#include "wg_key.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* RFC 7748 §6.1: Alice's private and public key, in base64. */
#define PRIV_A "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo="
#define PUB_A "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo="
#define PUB_B "3p7bfXt9wbTTW2HC7OQ1Nz+DQ8hbeGdNrfx+FG+IK08="
#define PUB_C "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="

static struct sim_state st;
static char err[SIM_ERR_LEN];

static int setup(void **unused)
{
    (void)unused;
    h_state(&st);
    err[0] = '\0';
    return 0;
}

static int teardown(void **unused)
{
    (void)unused;
    sim_state_release(&st);
    return 0;
}

/* add with NULL-terminated key, value pairs; returns the result, *id if not NULL. */
static int add(enum sim_menu_id m, unsigned *id, ...)
{
    struct sim_kv kv[16];
    size_t n = 0;
    va_list ap;
    va_start(ap, id);
    for (const char *k; n < 16 && (k = va_arg(ap, const char *)) != NULL; n++) {
        kv[n].key = k;
        kv[n].val = va_arg(ap, const char *);
    }
    va_end(ap);
    err[0] = '\0';
    return sim_state_add(&st, m, kv, n, id, err);
}

static int set1(enum sim_menu_id m, unsigned id, const char *k, const char *v)
{
    struct sim_kv kv = {k, v};
    err[0] = '\0';
    return sim_state_set(&st, m, id, &kv, 1, err);
}

static const char *get(enum sim_menu_id m, unsigned id, const char *field)
{
    size_t idx;
    if (sim_index_of(&st, m, id, &idx) != 0)
        return NULL;
    return sim_item_get(&st.menus[m], &st.menus[m].items[idx], field);
}

static void assert_err(int r, const char *needle)
{
    assert_true(r < 0);
    if (!strstr(err, needle))
        fail_msg("error \"%s\" does not contain \"%s\"", err, needle);
}

static void test_interface_defaults(void **unused)
{
    (void)unused;
    unsigned a, b;
    assert_int_equal(add(SIM_M_WG, &a, NULL), 0);
    assert_string_equal(get(SIM_M_WG, a, "name"), "wireguard1");
    assert_string_equal(get(SIM_M_WG, a, "listen-port"), "13231");
    assert_string_equal(get(SIM_M_WG, a, "mtu"), "1420");
    assert_string_equal(get(SIM_M_WG, a, "running"), "false");
    assert_string_equal(get(SIM_M_WG, a, "disabled"), "false");
    /* the router made its own key; public-key is derived from it */
    struct wg_key priv, pub;
    assert_int_equal(wg_key_from_base64(get(SIM_M_WG, a, "private-key"), &priv), 0);
    assert_int_equal(wg_key_public(&priv, &pub), 0);
    char b64[WG_KEY_B64_LEN + 1];
    wg_key_to_base64(&pub, b64);
    assert_string_equal(get(SIM_M_WG, a, "public-key"), b64);
    /* the next one: the next free name and port, another key */
    assert_int_equal(add(SIM_M_WG, &b, "name", "tg-mgmt", NULL), 0);
    assert_string_equal(get(SIM_M_WG, b, "listen-port"), "13232");
    assert_string_not_equal(get(SIM_M_WG, a, "private-key"), get(SIM_M_WG, b, "private-key"));
    unsigned c;
    assert_int_equal(add(SIM_M_WG, &c, NULL), 0);
    assert_string_equal(get(SIM_M_WG, c, "name"), "wireguard2");
}

static void test_interface_refusals(void **unused)
{
    (void)unused;
    unsigned a;
    assert_int_equal(add(SIM_M_WG, &a, "name", "wg0", "private-key", PRIV_A, NULL), 0);
    assert_string_equal(get(SIM_M_WG, a, "public-key"), PUB_A);
    assert_err(add(SIM_M_WG, NULL, "name", "wg0", NULL), "already exists");
    assert_err(add(SIM_M_WG, NULL, "private-key", "not-a-key", NULL), "invalid private-key");
    assert_err(add(SIM_M_WG, NULL, "private-key", PUB_A "x", NULL), "invalid private-key");
    assert_err(add(SIM_M_WG, NULL, "public-key", PUB_B, NULL), "public-key can not be changed");
    assert_err(add(SIM_M_WG, NULL, "running", "yes", NULL), "running can not be changed");
    assert_err(add(SIM_M_WG, NULL, "mtu", "67", NULL), "mtu out of range");
    assert_err(add(SIM_M_WG, NULL, "mtu", "1420x", NULL), "mtu out of range");
    assert_err(add(SIM_M_WG, NULL, "listen-port", "13231", NULL), "used by another");
    assert_err(add(SIM_M_WG, NULL, "listen-port", "0", NULL), "out of range");
    assert_err(add(SIM_M_WG, NULL, "vrf", "main", NULL), "unknown parameter vrf");
    assert_int_equal(st.menus[SIM_M_WG].n, 1);
    /* set: a new private key gives a new public key; its own port is no conflict */
    assert_int_equal(set1(SIM_M_WG, a, "listen-port", "13231"), 0);
    char pk[WG_KEY_B64_LEN + 1];
    struct wg_key k;
    assert_int_equal(wg_key_generate(&k), 0);
    wg_key_to_base64(&k, pk);
    assert_int_equal(set1(SIM_M_WG, a, "private-key", pk), 0);
    assert_string_not_equal(get(SIM_M_WG, a, "public-key"), PUB_A);
    assert_err(set1(SIM_M_WG, a, "public-key", PUB_A), "can not be changed");
    assert_err(set1(SIM_M_WG, a, "private-key", ""), "invalid private-key");
    assert_string_equal(get(SIM_M_WG, a, "private-key"), pk);
}

static void test_peers(void **unused)
{
    (void)unused;
    unsigned w0, w1, p1, p2;
    assert_int_equal(add(SIM_M_WG, &w0, "name", "wg0", NULL), 0);
    assert_int_equal(add(SIM_M_WG, &w1, "name", "wg1", NULL), 0);
    assert_int_equal(add(SIM_M_WG_PEER, &p1, "interface", "wg0", "public-key", PUB_A,
                         "allowed-address", "10.0.0.5/24,192.0.2.1", "persistent-keepalive", "25",
                         "endpoint-address", "198.51.100.1", "endpoint-port", "51820", NULL),
                     0);
    assert_string_equal(get(SIM_M_WG_PEER, p1, "allowed-address"), "10.0.0.0/24,192.0.2.1/32");
    assert_string_equal(get(SIM_M_WG_PEER, p1, "persistent-keepalive"), "25s");
    assert_string_equal(get(SIM_M_WG_PEER, p1, "name"), "peer1"); /* RouterOS 7.16 */
    assert_string_equal(get(SIM_M_WG_PEER, p1, "rx"), "0");
    assert_string_equal(get(SIM_M_WG_PEER, p1, "tx"), "0");
    assert_null(get(SIM_M_WG_PEER, p1, "last-handshake")); /* none before a handshake */
    assert_null(get(SIM_M_WG_PEER, p1, "current-endpoint-address"));

    assert_err(add(SIM_M_WG_PEER, NULL, "interface", "wg0", "public-key", PUB_B, NULL),
               "missing value(s) of argument(s) allowed-address");
    assert_err(add(SIM_M_WG_PEER, NULL, "interface", "wg9", "public-key", PUB_B, "allowed-address",
                   "10.1.0.0/16", NULL),
               "input does not match any value of interface");
    assert_err(add(SIM_M_WG_PEER, NULL, "interface", "wg0", "public-key", "AAAA", "allowed-address",
                   "10.1.0.0/16", NULL),
               "invalid public-key");
    /* 44 characters, but the padding bits are not zero: not a canonical key */
    assert_err(add(SIM_M_WG_PEER, NULL, "interface", "wg0", "public-key",
                   "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmp=", "allowed-address", "10.1.0.0/16",
                   NULL),
               "invalid public-key");
    assert_err(add(SIM_M_WG_PEER, NULL, "interface", "wg0", "public-key", PUB_B, "allowed-address",
                   "10.0.0.128/25", NULL),
               "overlaps with that of peer peer1");
    assert_err(add(SIM_M_WG_PEER, NULL, "interface", "wg0", "public-key", PUB_B, "allowed-address",
                   "0.0.0.0/0", NULL),
               "overlaps");
    assert_err(add(SIM_M_WG_PEER, NULL, "interface", "wg0", "public-key", PUB_A, "allowed-address",
                   "10.9.0.0/16", NULL),
               "peer with such public-key already exists");
    assert_err(add(SIM_M_WG_PEER, NULL, "interface", "wg0", "public-key", PUB_B, "allowed-address",
                   "10.1.0.0/33", NULL),
               "invalid value for argument allowed-address");
    assert_err(add(SIM_M_WG_PEER, NULL, "interface", "wg0", "public-key", PUB_B, "allowed-address",
                   "10.1.0.0/16", "persistent-keepalive", "70000", NULL),
               "persistent-keepalive out of range");
    assert_err(add(SIM_M_WG_PEER, NULL, "interface", "wg0", "public-key", PUB_B, "allowed-address",
                   "10.1.0.0/16", "endpoint-port", "65536", NULL),
               "endpoint-port out of range");
    assert_err(add(SIM_M_WG_PEER, NULL, "interface", "wg0", "public-key", PUB_B, "allowed-address",
                   "10.1.0.0/16", "endpoint-address", "a b", NULL),
               "endpoint-address");
    assert_err(add(SIM_M_WG_PEER, NULL, "interface", "wg0", "public-key", PUB_B, "allowed-address",
                   "10.1.0.0/16", "rx", "5", NULL),
               "rx can not be changed");
    assert_err(add(SIM_M_WG_PEER, NULL, "interface", "wg0", "public-key", PUB_B, "allowed-address",
                   "10.1.0.0/16", "name", "peer1", NULL),
               "already exists");
    assert_int_equal(st.menus[SIM_M_WG_PEER].n, 1);

    /* another interface: the same key and the same addresses are fine */
    assert_int_equal(add(SIM_M_WG_PEER, &p2, "interface", "wg1", "public-key", PUB_A,
                         "allowed-address", "10.0.0.0/8", "persistent-keepalive", "1m30s",
                         "endpoint-address", "edge.example.net", NULL),
                     0);
    assert_string_equal(get(SIM_M_WG_PEER, p2, "name"), "peer2");
    assert_string_equal(get(SIM_M_WG_PEER, p2, "persistent-keepalive"), "1m30s");
    assert_string_equal(get(SIM_M_WG_PEER, p2, "endpoint-port"), "0");
    /* set: its own addresses are no overlap; moving it next to peer1 is */
    assert_int_equal(set1(SIM_M_WG_PEER, p2, "allowed-address", "10.0.0.0/8"), 0);
    assert_err(set1(SIM_M_WG_PEER, p2, "interface", "wg0"), "peer with such public-key");
    assert_int_equal(set1(SIM_M_WG_PEER, p2, "public-key", PUB_C), 0);
    assert_err(set1(SIM_M_WG_PEER, p2, "interface", "wg0"), "overlaps");
    assert_int_equal(set1(SIM_M_WG_PEER, p2, "allowed-address", "172.16.0.0/12"), 0);
    assert_int_equal(set1(SIM_M_WG_PEER, p2, "interface", "wg0"), 0);
    assert_int_equal(set1(SIM_M_WG_PEER, p2, "name", "edge"), 0);
    size_t idx;
    assert_int_equal(sim_resolve(&st, SIM_M_WG_PEER, "edge", &idx), 0); /* numbers=<name> */
    assert_int_equal(st.menus[SIM_M_WG_PEER].items[idx].id, p2);
}

static void test_peer_name_version(void **unused)
{
    (void)unused;
    snprintf(st.opt.version, sizeof st.opt.version, "7.14.3");
    unsigned p;
    assert_int_equal(add(SIM_M_WG, NULL, "name", "wg0", NULL), 0);
    assert_err(add(SIM_M_WG_PEER, NULL, "interface", "wg0", "public-key", PUB_A, "allowed-address",
                   "10.0.0.0/8", "name", "edge", NULL),
               "unknown parameter name");
    assert_int_equal(add(SIM_M_WG_PEER, &p, "interface", "wg0", "public-key", PUB_A,
                         "allowed-address", "10.0.0.0/8", NULL),
                     0);
    assert_null(get(SIM_M_WG_PEER, p, "name"));
    snprintf(st.opt.version, sizeof st.opt.version, "7.15");
    assert_int_equal(set1(SIM_M_WG_PEER, p, "name", "edge"), 0);
}

static void test_address_network(void **unused)
{
    (void)unused;
    unsigned a, b, c;
    /* the initial /32 has network = itself */
    assert_string_equal(get(SIM_M_ADDRESS, st.menus[SIM_M_ADDRESS].items[0].id, "network"),
                        "127.0.0.2");
    /* an address needs an interface that exists (/interface: a WireGuard one appears there) */
    assert_err(add(SIM_M_ADDRESS, &a, "address", "100.64.0.2/32", "interface", "tg-mgmt", NULL),
               "interface");
    assert_int_equal(add(SIM_M_WG, NULL, "name", "tg-mgmt", NULL), 0);
    assert_int_equal(add(SIM_M_ADDRESS, &a, "address", "100.64.0.2/32", "network", "100.64.0.1",
                         "interface", "tg-mgmt", NULL),
                     0);
    assert_string_equal(get(SIM_M_ADDRESS, a, "network"), "100.64.0.1");
    assert_int_equal(
        add(SIM_M_ADDRESS, &b, "address", "192.168.88.1/24", "interface", "ether1", NULL), 0);
    assert_string_equal(get(SIM_M_ADDRESS, b, "network"), "192.168.88.0");
    assert_int_equal(add(SIM_M_ADDRESS, &c, "address", "10.5.5.5", "interface", "ether1", NULL), 0);
    assert_string_equal(get(SIM_M_ADDRESS, c, "address"), "10.5.5.5/32");
    assert_string_equal(get(SIM_M_ADDRESS, c, "network"), "10.5.5.5");
    assert_err(add(SIM_M_ADDRESS, NULL, "address", "10.0.0.1/24", "network", "10.0.0.9",
                   "interface", "ether1", NULL),
               "network can be set only for /32 addresses");
    assert_int_equal(add(SIM_M_ADDRESS, NULL, "address", "10.0.0.1/24", "network", "10.0.0.0",
                         "interface", "ether1", NULL),
                     0);
    assert_err(add(SIM_M_ADDRESS, NULL, "address", "10.0.1.1/32", "network", "10.0.0.0/24",
                   "interface", "ether1", NULL),
               "invalid value for argument network");
    assert_err(set1(SIM_M_ADDRESS, b, "network", "192.168.88.7"), "only for /32");
    assert_int_equal(set1(SIM_M_ADDRESS, b, "address", "192.168.89.1/23"), 0);
    assert_string_equal(get(SIM_M_ADDRESS, b, "network"), "192.168.88.0");
    assert_int_equal(set1(SIM_M_ADDRESS, a, "network", "100.64.0.9"), 0);
    assert_string_equal(get(SIM_M_ADDRESS, a, "network"), "100.64.0.9");
}

static void test_duration_format(void **unused)
{
    (void)unused;
    static const struct {
        uint64_t s;
        const char *want;
    } cases[] = {{0, "0s"},       {25, "25s"},         {72, "1m12s"},  {3600, "1h"},
                 {4860, "1h21m"}, {90061, "1d1h1m1s"}, {604800, "1w"}, {65535, "18h12m15s"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[32];
        sim_duration_format(cases[i].s, out);
        assert_string_equal(out, cases[i].want);
        double back;
        assert_int_equal(sim_duration_parse(out, &back), 0);
        assert_true(back == (double)cases[i].s);
    }
}

/* ---- API -------------------------------------------------------------- */

static struct buf out;
static struct ros_sentence rep[64];
static size_t nrep;

static void api(struct sim_session *sess, ...)
{
    struct ros_sentence s;
    ros_sentence_init(&s);
    va_list ap;
    va_start(ap, sess);
    for (const char *w; (w = va_arg(ap, const char *)) != NULL;)
        ros_sentence_add_str(&s, w);
    va_end(ap);
    h_release(rep, nrep);
    buf_reset(&out);
    sim_api_handle(&st, sess, &s, &out);
    nrep = h_decode(&out, rep, 64);
    ros_sentence_release(&s);
}

static void api_login(struct sim_session *sess, const char *user, const char *pw)
{
    char n[64], p[64];
    memset(sess, 0, sizeof *sess);
    sess->service = "api";
    sess->peer = h_addr("127.0.0.1");
    snprintf(n, sizeof n, "=name=%s", user);
    snprintf(p, sizeof p, "=password=%s", pw);
    api(sess, "/login", n, p, NULL);
    assert_true(sess->logged_in);
}

static void test_api(void **unused)
{
    (void)unused;
    struct sim_session admin, ro;
    buf_init(&out, 1u << 20);
    nrep = 0;
    api_login(&admin, "admin", "pw");
    api(&admin, "/interface/wireguard/add", "=name=tg-mgmt", "=private-key=" PRIV_A,
        "=comment=tikgate:mgmt", NULL);
    assert_string_equal(rep[0].words[0].data, "!done");
    assert_string_equal(ros_sentence_get(&rep[0], "ret"), "*1");
    api(&admin, "/interface/wireguard/peers/add", "=interface=tg-mgmt", "=public-key=" PUB_B,
        "=endpoint-address=198.51.100.1", "=endpoint-port=51820", "=allowed-address=100.64.0.1/32",
        "=persistent-keepalive=25s", NULL);
    assert_string_equal(rep[0].words[0].data, "!done");
    api(&admin, "/interface/wireguard/peers/add", "=interface=tg-mgmt", "=public-key=" PUB_C,
        "=allowed-address=100.64.0.0/10", NULL);
    assert_string_equal(rep[0].words[0].data, "!trap");
    assert_non_null(strstr(ros_sentence_get(&rep[0], "message"), "overlaps"));
    api(&admin, "/ip/address/add", "=address=100.64.0.2/32", "=network=100.64.0.1",
        "=interface=tg-mgmt", NULL);
    assert_string_equal(rep[0].words[0].data, "!done");

    api(&admin, "/interface/wireguard/print", NULL);
    assert_int_equal(nrep, 2);
    assert_string_equal(ros_sentence_get(&rep[0], "public-key"), PUB_A);
    assert_string_equal(ros_sentence_get(&rep[0], "private-key"), PRIV_A);
    assert_string_equal(ros_sentence_get(&rep[0], "running"), "false"); /* no device */
    assert_string_equal(ros_sentence_get(&rep[0], "mtu"), "1420");
    api(&admin, "/interface/wireguard/print", "=.proplist=name,public-key", "?running=false", NULL);
    assert_int_equal(nrep, 2);
    assert_int_equal(rep[0].nwords, 3);
    api(&admin, "/interface/wireguard/peers/print", "?interface=tg-mgmt", NULL);
    assert_int_equal(nrep, 2);
    assert_string_equal(ros_sentence_get(&rep[0], "persistent-keepalive"), "25s");
    assert_string_equal(ros_sentence_get(&rep[0], "rx"), "0");
    assert_null(ros_sentence_get(&rep[0], "last-handshake"));
    api(&admin, "/interface/wireguard/peers/set", "=numbers=peer1", "=rx=1", NULL);
    assert_string_equal(rep[0].words[0].data, "!trap");
    api(&admin, "/ip/address/print", "?interface=tg-mgmt", NULL);
    assert_string_equal(ros_sentence_get(&rep[0], "network"), "100.64.0.1");

    /* a user whose group lacks `sensitive` does not see the private key */
    api(&admin, "/user/group/add", "=name=nosens", "=policy=read,write,api,test", NULL);
    api(&admin, "/user/add", "=name=ro", "=group=nosens", "=password=x", NULL);
    api_login(&ro, "ro", "x");
    api(&ro, "/interface/wireguard/print", NULL);
    assert_int_equal(nrep, 2);
    assert_null(ros_sentence_get(&rep[0], "private-key"));
    assert_string_equal(ros_sentence_get(&rep[0], "public-key"), PUB_A);

    api(&admin, "/interface/wireguard/peers/remove", "=numbers=peer1", NULL);
    assert_string_equal(rep[0].words[0].data, "!done");
    api(&admin, "/interface/wireguard/peers/print", "=count-only=", NULL);
    assert_string_equal(ros_sentence_get(&rep[0], "ret"), "0");
    h_release(rep, nrep);
    nrep = 0;
    buf_release(&out);
}

/* ---- scripts ---------------------------------------------------------- */

static char posted[256];

static int enrol_fetch(void *ctx, const struct sim_fetch_req *req, struct buf *body, long *status,
                       char e[SIM_ERR_LEN])
{
    (void)ctx;
    (void)body;
    (void)e;
    snprintf(posted, sizeof posted, "%s %s", req->url, req->data ? req->data : "");
    *status = 200;
    return 0;
}

static void test_script(void **unused)
{
    (void)unused;
    struct sim_files files;
    memset(&files, 0, sizeof files);
    struct sim_script_host host = {.st = &st, .files = &files, .fetch = enrol_fetch};
    struct sim_script_report r;
    const char *boot =
        "/interface wireguard add name=tg-mgmt listen-port=13231 comment=\"tikgate:mgmt\"\n"
        ":local pub [/interface wireguard get [find name=\"tg-mgmt\"] public-key]\n"
        "/tool fetch url=\"http://edge/enrol\" http-method=post http-data=$pub output=none\n"
        "/interface/wireguard/peers add interface=tg-mgmt public-key=\"" PUB_B "\" "
        "endpoint-address=198.51.100.1 endpoint-port=51820 allowed-address=100.64.0.1/32 "
        "persistent-keepalive=25s\n"
        "/ip address add address=100.64.0.2/32 network=100.64.0.1 interface=tg-mgmt\n"
        ":local r [/interface wireguard get tg-mgmt running]\n"
        ":local ka [/interface wireguard peers get [find interface=\"tg-mgmt\"] "
        "persistent-keepalive]\n"
        ":log info (\"running=\" . $r . \" keepalive=\" . $ka)\n"
        ":do { /interface wireguard peers add interface=tg-mgmt public-key=\"" PUB_C "\" "
        "allowed-address=100.64.0.1/32 } on-error={ :log warning \"overlap refused\" }\n";
    assert_int_equal(sim_script_run(&host, "boot", boot, strlen(boot), &r), SIM_SCRIPT_OK);
    assert_int_equal(r.caught, 1);
    unsigned id = st.menus[SIM_M_WG].items[0].id;
    char want[256];
    snprintf(want, sizeof want, "http://edge/enrol %s", get(SIM_M_WG, id, "public-key"));
    assert_string_equal(posted, want);
    assert_int_equal(st.menus[SIM_M_WG_PEER].n, 1);
    const char *fail = "/interface wireguard peers add interface=nope public-key=\"" PUB_C "\" "
                       "allowed-address=10.0.0.0/8\n";
    assert_int_equal(sim_script_run(&host, "bad", fail, strlen(fail), &r), SIM_SCRIPT_FAILED);
    assert_int_equal(r.line, 1);
    assert_non_null(strstr(r.err, "input does not match any value of interface"));
    sim_files_release(&files);
}

static void test_state_file(void **unused)
{
    (void)unused;
    assert_int_equal(add(SIM_M_WG, NULL, "name", "wg0", "private-key", PRIV_A, NULL), 0);
    assert_int_equal(add(SIM_M_WG_PEER, NULL, "interface", "wg0", "public-key", PUB_B,
                         "allowed-address", "10.0.0.0/8", NULL),
                     0);
    struct buf j;
    buf_init(&j, 1u << 20);
    assert_int_equal(sim_state_json(&st, &j), 0);
    buf_append(&j, "", 1);
    assert_non_null(strstr(j.data, "\"/interface/wireguard\": ["));
    assert_non_null(strstr(j.data, "\"public-key\": \"" PUB_A "\""));
    assert_non_null(strstr(j.data, "\"network\": \"127.0.0.2\""));
    assert_null(strstr(j.data, "\"running\""));
    assert_null(strstr(j.data, "\"rx\""));
    buf_release(&j);
    /* no device: refresh leaves the values alone */
    sim_wg_refresh(&st, SIM_M_WG, NULL);
    assert_string_equal(st.menus[SIM_M_WG].items[0].val[5], "false");
}

int main(void)
{
    if (tg_rand_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_interface_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interface_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_peers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_peer_name_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_address_network, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duration_format, setup, teardown),
        cmocka_unit_test_setup_teardown(test_api, setup, teardown),
        cmocka_unit_test_setup_teardown(test_script, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_file, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
