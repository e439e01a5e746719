/* Unit tests for src/sim/api.c: sentences in, replies out (login, menus,
 * permissions, tags, !empty, /quit, /system/reboot, bad input). */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include "helpers.h"
#include "login.h"

#include <stdio.h>
#include <string.h>

struct conv {
    struct sim_state st;
    struct sim_session sess;
    struct buf out;
    struct ros_sentence r[64];
    size_t n;
    enum sim_api_action act;
};

static void conv_init(struct conv *c, const char *service, const char *peer)
{
    memset(c, 0, sizeof *c);
    h_state(&c->st);
    c->sess.service = service;
    c->sess.peer = h_addr(peer);
    buf_init(&c->out, 1u << 20);
}

static void conv_init_opts(struct conv *c, const char *version, const char *board, bool defconf)
{
    memset(c, 0, sizeof *c);
    h_state_opts(&c->st, version, board, defconf);
    c->sess.service = "api";
    c->sess.peer = h_addr("127.0.0.1");
    buf_init(&c->out, 1u << 20);
}

static void conv_free(struct conv *c)
{
    h_release(c->r, c->n);
    buf_release(&c->out);
    sim_state_release(&c->st);
}

/* Sends one sentence (NULL-terminated words); replies land in c->r[0..n). */
static void send_words(struct conv *c, ...)
{
    struct ros_sentence s;
    ros_sentence_init(&s);
    va_list ap;
    va_start(ap, c);
    for (const char *w; (w = va_arg(ap, const char *)) != NULL;)
        ros_sentence_add_str(&s, w);
    va_end(ap);
    h_release(c->r, c->n);
    buf_reset(&c->out);
    c->act = sim_api_handle(&c->st, &c->sess, &s, &c->out);
    c->n = h_decode(&c->out, c->r, 64);
    ros_sentence_release(&s);
}

static const char *w(struct conv *c, size_t i, size_t j)
{
    return i < c->n && j < c->r[i].nwords ? c->r[i].words[j].data : "";
}

static void login(struct conv *c, const char *user, const char *pw)
{
    char n[64], p[64];
    snprintf(n, sizeof n, "=name=%s", user);
    snprintf(p, sizeof p, "=password=%s", pw);
    send_words(c, "/login", n, p, NULL);
}

static void assert_trap(struct conv *c, const char *msg)
{
    assert_int_equal(c->n, 2);
    assert_string_equal(w(c, 0, 0), "!trap");
    assert_non_null(strstr(ros_sentence_get(&c->r[0], "message"), msg));
    assert_string_equal(w(c, 1, 0), "!done");
}

static void test_login(void **unused)
{
    (void)unused;
    struct conv c;
    conv_init(&c, "api", "127.0.0.1");
    send_words(&c, "/user/print", ".tag=7", NULL);
    assert_trap(&c, "not logged in");
    assert_string_equal(ros_sentence_tag(&c.r[0]), "7");
    assert_string_equal(ros_sentence_tag(&c.r[1]), "7");
    login(&c, "admin", "wrong");
    assert_trap(&c, "invalid user name or password (6)");
    login(&c, "ghost", "pw");
    assert_trap(&c, "invalid user name or password (6)");
    send_words(&c, "/login", "=name=admin", NULL); /* malformed */
    assert_trap(&c, "invalid user name or password (6)");
    assert_false(c.sess.logged_in);
    login(&c, "admin", "pw");
    assert_int_equal(c.n, 1);
    assert_string_equal(w(&c, 0, 0), "!done");
    assert_int_equal(c.r[0].nwords, 1);
    assert_true(c.sess.logged_in);
    send_words(&c, "/system/identity/print", ".tag=a", NULL);
    assert_int_equal(c.n, 2);
    assert_string_equal(w(&c, 0, 0), "!re");
    assert_string_equal(ros_sentence_get(&c.r[0], "name"), "MikroTik");
    assert_string_equal(ros_sentence_tag(&c.r[0]), "a");
    conv_free(&c);
}

static void test_login_legacy(void **unused)
{
    (void)unused;
    struct conv c;
    conv_init(&c, "winbox", "127.0.0.1");
    send_words(&c, "/login", NULL);
    assert_int_equal(c.n, 1);
    const char *chal = ros_sentence_get(&c.r[0], "ret");
    assert_non_null(chal);
    assert_int_equal(strlen(chal), ROS_LOGIN_CHALLENGE_LEN);
    char resp[ROS_LOGIN_RESPONSE_LEN + 1], word[64];
    assert_int_equal(ros_login_md5_response("pw", chal, resp), 0);
    snprintf(word, sizeof word, "=response=%s", resp);
    send_words(&c, "/login", "=name=admin", word, NULL);
    assert_string_equal(w(&c, 0, 0), "!done");
    assert_true(c.sess.logged_in);
    conv_free(&c);
}

static void test_login_service_rules(void **unused)
{
    (void)unused;
    struct conv c;
    conv_init(&c, "ssh", "127.0.0.1");
    login(&c, "admin", "pw");
    send_words(&c, "/ip/service/set", "=numbers=ssh", "=disabled=yes", NULL);
    assert_string_equal(w(&c, 0, 0), "!done");
    /* a new session on the disabled service is refused; this one stays */
    struct sim_session s2 = {.service = "ssh", .peer = h_addr("127.0.0.1")};
    struct sim_session keep = c.sess;
    c.sess = s2;
    login(&c, "admin", "pw");
    assert_trap(&c, "(6)");
    c.sess = keep;
    send_words(&c, "/ip/service/set", "=numbers=ssh", "=disabled=no", "=address=10.0.0.0/8", NULL);
    assert_string_equal(w(&c, 0, 0), "!done");
    c.sess = s2;
    login(&c, "admin", "pw");
    assert_trap(&c, "(6)");
    c.sess.peer = h_addr("10.1.2.3");
    login(&c, "admin", "pw");
    assert_string_equal(w(&c, 0, 0), "!done");
    conv_free(&c);
}

static void test_crud(void **unused)
{
    (void)unused;
    struct conv c;
    conv_init(&c, "api", "127.0.0.1");
    login(&c, "admin", "pw");
    send_words(&c, "/user/add", "=name=bob", "=group=read", "=password=x", "=comment=t:1", ".tag=3",
               NULL);
    assert_int_equal(c.n, 1);
    assert_string_equal(w(&c, 0, 0), "!done");
    assert_string_equal(ros_sentence_get(&c.r[0], "ret"), "*2");
    assert_string_equal(ros_sentence_tag(&c.r[0]), "3");
    assert_true(c.st.gen > 0);
    send_words(&c, "/user/print", "?name=bob", NULL);
    assert_int_equal(c.n, 2);
    assert_string_equal(ros_sentence_get(&c.r[0], ".id"), "*2");
    assert_string_equal(ros_sentence_get(&c.r[0], "group"), "read");
    assert_null(ros_sentence_get(&c.r[0], "password")); /* never printed */
    send_words(&c, "/user/getall", "=.proplist=name", NULL);
    assert_int_equal(c.n, 3);
    assert_int_equal(c.r[0].nwords, 2); /* !re =name= */
    assert_null(ros_sentence_get(&c.r[0], ".id"));
    send_words(&c, "/user/print", "=count-only=", NULL);
    assert_string_equal(ros_sentence_get(&c.r[0], "ret"), "2");
    /* zero rows: bare !done (RouterOS < 7.18) */
    send_words(&c, "/user/print", "?name=nobody", NULL);
    assert_int_equal(c.n, 1);
    assert_string_equal(w(&c, 0, 0), "!done");
    c.st.opt.ros_empty = true;
    send_words(&c, "/user/print", "?name=nobody", ".tag=e", NULL);
    assert_int_equal(c.n, 2);
    assert_string_equal(w(&c, 0, 0), "!empty");
    assert_string_equal(ros_sentence_tag(&c.r[0]), "e");
    c.st.opt.ros_empty = false;
    /* set by name and by id, comma lists */
    send_words(&c, "/user/set", "=numbers=bob", "=comment=t:2", NULL);
    assert_string_equal(w(&c, 0, 0), "!done");
    send_words(&c, "/user/add", "=name=carol", "=group=read", NULL);
    send_words(&c, "/user/set", "=.id=*2,carol", "=disabled=yes", NULL);
    assert_string_equal(w(&c, 0, 0), "!done");
    send_words(&c, "/user/print", "?disabled=true", "=.proplist=name", NULL);
    assert_int_equal(c.n, 3);
    send_words(&c, "/user/set", "=.id=*2,*77", "=comment=zz", NULL);
    assert_trap(&c, "no such item");
    send_words(&c, "/user/set", "=comment=zz", NULL);
    assert_trap(&c, "numbers");
    send_words(&c, "/user/add", "=name=dave", NULL);
    assert_trap(&c, "missing value");
    send_words(&c, "/user/add", "=name=dave", "=group=read", "=bogus=1", NULL);
    assert_trap(&c, "unknown parameter bogus");
    send_words(&c, "/ip/service/add", "=name=gopher", NULL);
    assert_trap(&c, "can not add");
    send_words(&c, "/ip/service/remove", "=numbers=ssh", NULL);
    assert_trap(&c, "can not remove");
    send_words(&c, "/user/remove", "=.id=*2", NULL);
    assert_string_equal(w(&c, 0, 0), "!done");
    send_words(&c, "/user/remove", "=.id=*2", NULL);
    assert_trap(&c, "no such item");
    /* firewall with place-before over the API */
    send_words(&c, "/ip/firewall/filter/add", "=chain=input", "=comment=a", NULL);
    send_words(&c, "/ip/firewall/filter/add", "=chain=input", "=comment=b", "=place-before=*1",
               NULL);
    send_words(&c, "/ip/firewall/filter/print", "=.proplist=comment", NULL);
    assert_string_equal(ros_sentence_get(&c.r[0], "comment"), "b");
    /* identity */
    send_words(&c, "/system/identity/set", "=name=r1", NULL);
    assert_string_equal(w(&c, 0, 0), "!done");
    assert_string_equal(c.st.identity, "r1");
    send_words(&c, "/system/identity/set", "=nome=r1", NULL);
    assert_string_equal(w(&c, 0, 0), "!trap");
    send_words(&c, "/system/resource/print", NULL);
    assert_string_equal(ros_sentence_get(&c.r[0], "version"), "7.16");
    send_words(&c, "/system/routerboard/print", NULL);
    assert_string_equal(ros_sentence_get(&c.r[0], "serial-number"), "SIM123");
    conv_free(&c);
}

static void test_permissions(void **unused)
{
    (void)unused;
    struct conv c;
    conv_init(&c, "api", "127.0.0.1");
    login(&c, "admin", "pw");
    send_words(&c, "/user/group/add", "=name=ro", "=policy=api,winbox,read", NULL);
    send_words(&c, "/user/add", "=name=r", "=group=ro", "=password=r", NULL);
    c.sess.logged_in = false;
    login(&c, "r", "r");
    assert_true(c.sess.logged_in);
    send_words(&c, "/user/print", NULL);
    assert_string_equal(w(&c, 0, 0), "!re");
    send_words(&c, "/user/add", "=name=x", "=group=full", NULL);
    assert_trap(&c, "not enough permissions (9)");
    send_words(&c, "/user/set", "=numbers=admin", "=password=x", NULL);
    assert_trap(&c, "not enough permissions (9)");
    send_words(&c, "/user/remove", "=numbers=admin", NULL);
    assert_trap(&c, "not enough permissions (9)");
    send_words(&c, "/system/identity/set", "=name=x", NULL);
    assert_trap(&c, "not enough permissions (9)");
    send_words(&c, "/system/reboot", NULL);
    assert_trap(&c, "not enough permissions (9)");
    conv_free(&c);
}

static void test_session_end(void **unused)
{
    (void)unused;
    struct conv c;
    conv_init(&c, "api", "127.0.0.1");
    for (int i = 0; i < SIM_MAX_CMDS_BEFORE_LOGIN; i++) {
        send_words(&c, "/ip/service/print", NULL);
        assert_int_equal(c.act, SIM_API_CONTINUE);
    }
    send_words(&c, "/ip/service/print", NULL);
    assert_string_equal(w(&c, 0, 0), "!fatal");
    assert_int_equal(c.act, SIM_API_CLOSE);
    conv_free(&c);

    conv_init(&c, "api", "127.0.0.1");
    login(&c, "admin", "pw");
    send_words(&c, "/interface/bridge/print", NULL);
    assert_trap(&c, "no such command");
    send_words(&c, "/user/frobnicate", NULL);
    assert_trap(&c, "no such command");
    send_words(&c, "=name=x", NULL);
    assert_trap(&c, "no such command");
    send_words(&c, "/user/print", "?#z", NULL);
    assert_string_equal(w(&c, 0, 0), "!trap");
    send_words(&c, "/user/print", "=foo=bar", NULL);
    assert_string_equal(w(&c, 0, 0), "!trap");
    send_words(&c, "/cancel", NULL);
    assert_string_equal(w(&c, 0, 0), "!done");
    send_words(&c, "/system/reboot", NULL);
    assert_int_equal(c.act, SIM_API_REBOOT);
    assert_int_equal(c.n, 0);
    assert_true(c.st.reboot_pending);
    send_words(&c, "/quit", ".tag=q", NULL);
    assert_int_equal(c.act, SIM_API_CLOSE);
    assert_string_equal(w(&c, 0, 0), "!fatal");
    assert_string_equal(w(&c, 0, 1), "session terminated on request");
    conv_free(&c);
}

/* RouterOS 7.19 lists live connections in /ip service under the service's name (fidelity #1). */
static void test_719_service_connections(void **unused)
{
    (void)unused;
    struct conv c;
    conv_init_opts(&c, "7.19", NULL, false);
    login(&c, "admin", "pw");
    struct sockaddr_storage local = h_addr("127.0.0.2"), peer = h_addr("127.0.0.1");
    unsigned cid;
    assert_int_equal(
        sim_conn_add(&c.st, "api", (struct sockaddr *)&local, (struct sockaddr *)&peer, &cid), 0);
    send_words(&c, "/ip/service/print", "?name=api", NULL);
    assert_int_equal(c.n, 3); /* the static entry, the connection entry, !done */
    assert_string_equal(ros_sentence_get(&c.r[0], "dynamic"), "false");
    assert_string_equal(ros_sentence_get(&c.r[1], "dynamic"), "true");
    assert_string_equal(ros_sentence_get(&c.r[1], "name"), "api");
    assert_string_equal(ros_sentence_get(&c.r[1], "remote"), "127.0.0.1:40000");
    char ids[64];
    snprintf(ids, sizeof ids, "=.id=%s,%s", ros_sentence_get(&c.r[0], ".id"),
             ros_sentence_get(&c.r[1], ".id"));
    send_words(&c, "/ip/service/set", ids, "=port=8729", NULL);
    assert_trap(&c, "configured elsewhere");
    send_words(&c, "/ip/service/set", "=numbers=api", "=port=8730", NULL);
    assert_string_equal(w(&c, 0, 0), "!done");
    send_words(&c, "/ip/service/print", "?name=api", "?dynamic=false", NULL);
    assert_int_equal(c.n, 2);
    assert_string_equal(ros_sentence_get(&c.r[0], "port"), "8730");
    conv_free(&c);
    /* before 7.19: one entry, no dynamic property */
    conv_init_opts(&c, "7.16", NULL, false);
    login(&c, "admin", "pw");
    assert_int_equal(
        sim_conn_add(&c.st, "api", (struct sockaddr *)&local, (struct sockaddr *)&peer, &cid), 0);
    send_words(&c, "/ip/service/print", "?name=api", NULL);
    assert_int_equal(c.n, 2);
    assert_null(ros_sentence_get(&c.r[0], "dynamic"));
    conv_free(&c);
}

/* CHR and x86 have no /system routerboard (fidelity #2); wireguard from 7.8. */
static void test_board_and_version_menus(void **unused)
{
    (void)unused;
    struct conv c;
    conv_init_opts(&c, "7.24", "CHR", false);
    login(&c, "admin", "pw");
    send_words(&c, "/system/routerboard/print", NULL);
    assert_trap(&c, "no such command");
    send_words(&c, "/system/resource/print", NULL);
    assert_string_equal(ros_sentence_get(&c.r[0], "board-name"), "CHR");
    assert_string_equal(ros_sentence_get(&c.r[0], "architecture-name"), "x86_64");
    assert_non_null(ros_sentence_get(&c.r[0], "uptime"));
    send_words(&c, "/interface/wireguard/print", NULL);
    assert_string_equal(w(&c, c.n - 1, 0), "!done");
    send_words(&c, "/interface/print", "?name=tikgate-mgmt", NULL);
    assert_string_equal(ros_sentence_get(&c.r[0], "type"), "ovpn-out");
    send_words(&c, "/ip/service/set", "=numbers=api", "=available-from=10.0.0.0/8", NULL);
    assert_string_equal(w(&c, 0, 0), "!done"); /* 7.24's new name of address */
    conv_free(&c);
    conv_init_opts(&c, "7.7", NULL, false);
    login(&c, "admin", "pw");
    send_words(&c, "/interface/wireguard/print", NULL);
    assert_trap(&c, "no such command prefix");
    send_words(&c, "/system/routerboard/print", NULL);
    assert_string_equal(ros_sentence_get(&c.r[0], "model"), "RB5009UG+S+");
    conv_free(&c);
}

/* --defconf: the dynamic fasttrack dummy rule first, then the defconf chains (fidelity #5,
 * #6); IPv6 refused in the IPv4 firewall (#8). */
static void test_defconf(void **unused)
{
    (void)unused;
    struct conv c;
    conv_init_opts(&c, "7.16", NULL, true);
    login(&c, "admin", "pw");
    send_words(&c, "/ip/firewall/filter/print", NULL);
    assert_true(c.n > 10);
    assert_string_equal(ros_sentence_get(&c.r[0], "dynamic"), "true");
    assert_string_equal(ros_sentence_get(&c.r[0], "comment"),
                        "special dummy rule to show fasttrack counters");
    assert_string_equal(ros_sentence_get(&c.r[5], "comment"),
                        "defconf: drop all not coming from LAN");
    char dummy[32], first[32];
    snprintf(dummy, sizeof dummy, "=.id=%s", ros_sentence_get(&c.r[0], ".id"));
    snprintf(first, sizeof first, "=place-before=%s", ros_sentence_get(&c.r[0], ".id"));
    send_words(&c, "/ip/firewall/filter/remove", dummy, NULL);
    assert_trap(&c, "dynamic");
    send_words(&c, "/ip/firewall/filter/add", "=chain=input", first, NULL);
    assert_trap(&c, "cannot move builtin");
    send_words(&c, "/ip/firewall/filter/print", "=.proplist=.id", "?dynamic=false", NULL);
    assert_int_equal(c.n, 12); /* 11 static rules + !done */
    send_words(&c, "/ip/firewall/filter/add", "=chain=input", "=src-address=2001:db8::/32", NULL);
    assert_trap(&c, "IPv4");
    send_words(&c, "/ipv6/firewall/filter/add", "=chain=input", "=src-address=2001:db8::/32", NULL);
    assert_string_equal(w(&c, 0, 0), "!done");
    send_words(&c, "/ip/firewall/nat/add", "=chain=dstnat", "=in-interface=nosuch", NULL);
    assert_trap(&c, "in-interface");
    conv_free(&c);
}

/* /execute over the API: :put output as =ret=, a syntax error is a trap. */
static void test_execute(void **unused)
{
    (void)unused;
    struct conv c;
    conv_init_opts(&c, "7.16", NULL, false);
    login(&c, "admin", "pw");
    send_words(&c, "/execute", "=script=/system identity set name=ex\n:put \"hi\"",
               "=as-string=", ".tag=7", NULL);
    assert_int_equal(c.act, SIM_API_EXECUTE);
    buf_reset(&c.out);
    h_release(c.r, c.n);
    assert_int_equal(sim_api_execute(&c.st, &c.sess, &c.out), SIM_API_CONTINUE);
    c.n = h_decode(&c.out, c.r, 64);
    assert_string_equal(w(&c, 0, 0), "!done");
    assert_string_equal(ros_sentence_get(&c.r[0], "ret"), "hi\n");
    assert_string_equal(ros_sentence_tag(&c.r[0]), "7");
    assert_string_equal(c.st.identity, "ex");
    send_words(&c, "/execute", "=script=/nonsense here", "=as-string=", NULL);
    buf_reset(&c.out);
    h_release(c.r, c.n);
    sim_api_execute(&c.st, &c.sess, &c.out);
    c.n = h_decode(&c.out, c.r, 64);
    assert_trap(&c, "bad command name");
    conv_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_login),
        cmocka_unit_test(test_login_legacy),
        cmocka_unit_test(test_login_service_rules),
        cmocka_unit_test(test_crud),
        cmocka_unit_test(test_permissions),
        cmocka_unit_test(test_session_end),
        cmocka_unit_test(test_719_service_connections),
        cmocka_unit_test(test_board_and_version_menus),
        cmocka_unit_test(test_defconf),
        cmocka_unit_test(test_execute),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
