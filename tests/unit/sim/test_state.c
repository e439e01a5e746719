/* Unit tests for src/sim/state.c: menus, validation, add/set/remove, place-before,
 * login rules (each condition), durations; and the JSON state file (state_json.c). */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include "helpers.h"
#include "login.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *get(struct sim_state *st, enum sim_menu_id m, const char *ref, const char *f)
{
    size_t idx;
    if (sim_resolve(st, m, ref, &idx) != 0)
        return NULL;
    return sim_item_get(&st->menus[m], &st->menus[m].items[idx], f);
}

static void test_initial(void **unused)
{
    (void)unused;
    struct sim_state st;
    h_state(&st);
    assert_string_equal(get(&st, SIM_M_USER, "admin", "group"), "full");
    assert_string_equal(get(&st, SIM_M_USER, "*1", "name"), "admin");
    assert_int_equal(st.menus[SIM_M_GROUP].n, 3);
    assert_int_equal(st.menus[SIM_M_SERVICE].n, 8);
    assert_string_equal(get(&st, SIM_M_SERVICE, "ssh", "port"), "22");
    assert_string_equal(get(&st, SIM_M_SERVICE, "winbox", "port"), "8291");
    assert_string_equal(get(&st, SIM_M_SERVICE, "api-ssl", "port"), "8729");
    assert_string_equal(get(&st, SIM_M_SERVICE, "www-ssl", "port"), "443");
    assert_string_equal(st.identity, "MikroTik");
    assert_string_equal(
        sim_item_get(&st.menus[SIM_M_ADDRESS], &st.menus[SIM_M_ADDRESS].items[0], "address"),
        "127.0.0.2/32");
    assert_string_equal(
        sim_item_get(&st.menus[SIM_M_ADDRESS], &st.menus[SIM_M_ADDRESS].items[0], "interface"),
        "tikgate-mgmt");
    assert_int_equal(sim_menu_by_path("/ip firewall nat"), SIM_M_NAT);
    assert_int_equal(sim_menu_by_path("/ip/firewall/filter"), SIM_M_FILTER);
    assert_int_equal(sim_menu_by_path("user/group"), SIM_M_GROUP);
    assert_int_equal(sim_menu_by_path("/interface"), SIM_M_INTERFACE);
    assert_int_equal(sim_menu_by_path("/interface/bridge"), -1);
    sim_state_release(&st);
}

static void test_add_validation(void **unused)
{
    (void)unused;
    struct sim_state st;
    h_state(&st);
    char err[SIM_ERR_LEN];
    unsigned id;
    struct sim_kv ok[] = {{"name", "bob"}, {"group", "read"}, {"disabled", "yes"}};
    assert_int_equal(sim_state_add(&st, SIM_M_USER, ok, 3, &id, err), 0);
    assert_int_equal(id, 2);
    assert_string_equal(get(&st, SIM_M_USER, "bob", "disabled"), "true");
    assert_int_equal(sim_state_add(&st, SIM_M_USER, ok, 3, &id, err), -EINVAL); /* duplicate */
    assert_non_null(strstr(err, "already"));
    struct sim_kv missing[] = {{"name", "carol"}};
    assert_int_equal(sim_state_add(&st, SIM_M_USER, missing, 1, &id, err), -EINVAL);
    assert_non_null(strstr(err, "group"));
    struct sim_kv unknown[] = {{"name", "carol"}, {"group", "read"}, {"colour", "red"}};
    assert_int_equal(sim_state_add(&st, SIM_M_USER, unknown, 3, &id, err), -EINVAL);
    assert_non_null(strstr(err, "colour"));
    struct sim_kv badgroup[] = {{"name", "carol"}, {"group", "nope"}};
    assert_int_equal(sim_state_add(&st, SIM_M_USER, badgroup, 2, &id, err), -EINVAL);
    struct sim_kv badbool[] = {{"name", "carol"}, {"group", "read"}, {"disabled", "maybe"}};
    assert_int_equal(sim_state_add(&st, SIM_M_USER, badbool, 3, &id, err), -EINVAL);
    struct sim_kv badnet[] = {{"name", "carol"}, {"group", "read"}, {"address", "10.0.0.0/33"}};
    assert_int_equal(sim_state_add(&st, SIM_M_USER, badnet, 3, &id, err), -EINVAL);
    struct sim_kv badpol[] = {{"name", "g1"}, {"policy", "read,fly"}};
    assert_int_equal(sim_state_add(&st, SIM_M_GROUP, badpol, 2, &id, err), -EINVAL);
    struct sim_kv pol[] = {{"name", "g1"}, {"policy", "winbox,read,!write"}};
    assert_int_equal(sim_state_add(&st, SIM_M_GROUP, pol, 2, &id, err), 0);
    struct sim_kv svc[] = {{"name", "x"}};
    assert_int_equal(sim_state_add(&st, SIM_M_SERVICE, svc, 1, &id, err), -EPERM);
    struct sim_kv badact[] = {{"chain", "dstnat"}, {"action", "teleport"}};
    assert_int_equal(sim_state_add(&st, SIM_M_NAT, badact, 2, &id, err), -EINVAL);
    struct sim_kv badiv[] = {{"name", "s"}, {"interval", "soon"}};
    assert_int_equal(sim_state_add(&st, SIM_M_SCHED, badiv, 2, &id, err), -EINVAL);
    /* nothing half-added */
    assert_int_equal(st.menus[SIM_M_USER].n, 2);
    assert_int_equal(st.menus[SIM_M_NAT].n, 0);
    sim_state_release(&st);
}

static void test_set_remove(void **unused)
{
    (void)unused;
    struct sim_state st;
    h_state(&st);
    char err[SIM_ERR_LEN];
    size_t idx;
    assert_int_equal(sim_resolve(&st, SIM_M_SERVICE, "winbox", &idx), 0);
    unsigned wid = st.menus[SIM_M_SERVICE].items[idx].id;
    struct sim_kv p[] = {{"port", "18291"}, {"address", "10.0.0.0/8,192.168.0.0/16"}};
    assert_int_equal(sim_state_set(&st, SIM_M_SERVICE, wid, p, 2, err), 0);
    assert_string_equal(get(&st, SIM_M_SERVICE, "winbox", "port"), "18291");
    struct sim_kv bad[] = {{"port", "70000"}};
    assert_int_equal(sim_state_set(&st, SIM_M_SERVICE, wid, bad, 1, err), -EINVAL);
    struct sim_kv ro[] = {{"name", "wb"}};
    assert_int_equal(sim_state_set(&st, SIM_M_SERVICE, wid, ro, 1, err), -EINVAL);
    assert_int_equal(sim_state_remove(&st, SIM_M_SERVICE, wid, err), -EPERM);
    assert_int_equal(sim_state_set(&st, SIM_M_SERVICE, 999, p, 1, err), -ENOENT);
    /* groups: default ones stay, used ones stay */
    assert_int_equal(sim_state_remove(&st, SIM_M_GROUP, 1, err), -EPERM);
    unsigned gid, uid;
    struct sim_kv g[] = {{"name", "ro"}, {"policy", "read"}};
    assert_int_equal(sim_state_add(&st, SIM_M_GROUP, g, 2, &gid, err), 0);
    struct sim_kv u[] = {{"name", "t"}, {"group", "ro"}};
    assert_int_equal(sim_state_add(&st, SIM_M_USER, u, 2, &uid, err), 0);
    assert_int_equal(sim_state_remove(&st, SIM_M_GROUP, gid, err), -EBUSY);
    /* renaming the group follows into users */
    struct sim_kv rn[] = {{"name", "ro2"}};
    assert_int_equal(sim_state_set(&st, SIM_M_GROUP, gid, rn, 1, err), 0);
    assert_string_equal(get(&st, SIM_M_USER, "t", "group"), "ro2");
    assert_int_equal(sim_state_remove(&st, SIM_M_USER, uid, err), 0);
    assert_int_equal(sim_state_remove(&st, SIM_M_GROUP, gid, err), 0);
    assert_int_equal(sim_state_remove(&st, SIM_M_USER, uid, err), -ENOENT);
    /* ids are never reused */
    assert_int_equal(sim_state_add(&st, SIM_M_USER,
                                   (struct sim_kv[]){{"name", "z"}, {"group", "read"}}, 2, &uid,
                                   err),
                     0);
    assert_int_equal(uid, 3);
    assert_int_equal(sim_state_set_identity(&st, "", err), -EINVAL);
    assert_int_equal(sim_state_set_identity(&st, "r1", err), 0);
    assert_string_equal(st.identity, "r1");
    assert_true(sim_user_has_policy(&st, "admin", "write"));
    assert_false(sim_user_has_policy(&st, "z", "write"));
    assert_true(sim_user_has_policy(&st, "z", "read"));
    assert_false(sim_user_has_policy(&st, "ghost", "read"));
    sim_state_release(&st);
}

static void test_place_before(void **unused)
{
    (void)unused;
    struct sim_state st;
    h_state(&st);
    char err[SIM_ERR_LEN];
    unsigned id;
    /* RouterOS: place-before=0 on an empty list fails */
    struct sim_kv top[] = {{"chain", "input"}, {"comment", "top"}, {"place-before", "0"}};
    assert_int_equal(sim_state_add(&st, SIM_M_FILTER, top, 3, &id, err), -EINVAL);
    struct sim_kv a[] = {{"chain", "input"}, {"comment", "a"}};
    struct sim_kv b[] = {{"chain", "input"}, {"comment", "b"}};
    assert_int_equal(sim_state_add(&st, SIM_M_FILTER, a, 2, &id, err), 0);
    assert_int_equal(sim_state_add(&st, SIM_M_FILTER, b, 2, &id, err), 0);
    assert_int_equal(sim_state_add(&st, SIM_M_FILTER, top, 3, &id, err), 0);
    const struct sim_menu *m = &st.menus[SIM_M_FILTER];
    assert_string_equal(sim_item_get(m, &m->items[0], "comment"), "top");
    assert_string_equal(sim_item_get(m, &m->items[0], "action"), "accept");
    struct sim_kv mid[] = {{"chain", "input"}, {"comment", "mid"}, {"place-before", "*2"}};
    assert_int_equal(sim_state_add(&st, SIM_M_FILTER, mid, 3, &id, err), 0);
    assert_string_equal(sim_item_get(m, &m->items[2], "comment"), "mid");
    assert_string_equal(sim_item_get(m, &m->items[3], "comment"), "b");
    struct sim_kv far[] = {{"chain", "input"}, {"place-before", "9"}};
    assert_int_equal(sim_state_add(&st, SIM_M_FILTER, far, 2, &id, err), -EINVAL);
    /* not an ordered menu: place-before is an unknown parameter */
    struct sim_kv u[] = {{"name", "q"}, {"group", "read"}, {"place-before", "0"}};
    assert_int_equal(sim_state_add(&st, SIM_M_USER, u, 3, &id, err), -EINVAL);
    sim_state_release(&st);
}

static void test_duration(void **unused)
{
    (void)unused;
    double d;
    assert_int_equal(sim_duration_parse("30s", &d), 0);
    assert_true(d == 30);
    assert_int_equal(sim_duration_parse("1m30s", &d), 0);
    assert_true(d == 90);
    assert_int_equal(sim_duration_parse("00:01:00", &d), 0);
    assert_true(d == 60);
    assert_int_equal(sim_duration_parse("1d00:00:01", &d), 0);
    assert_true(d == 86401);
    assert_int_equal(sim_duration_parse("500ms", &d), 0);
    assert_true(d > 0.49 && d < 0.51);
    assert_int_equal(sim_duration_parse("45", &d), 0);
    assert_true(d == 45);
    assert_int_equal(sim_duration_parse("1h", &d), 0);
    assert_true(d == 3600);
    assert_int_equal(sim_duration_parse("", &d), -EINVAL);
    assert_int_equal(sim_duration_parse("x", &d), -EINVAL);
    assert_int_equal(sim_duration_parse("5y", &d), -EINVAL);
    assert_int_equal(sim_duration_parse("-5s", &d), -EINVAL);
    assert_int_equal(sim_duration_parse("00:99:00", &d), -EINVAL);
}

static int check(struct sim_state *st, const char *svc, const char *peer, const char *user,
                 const char *pw)
{
    struct ros_login_request req = {.kind = ROS_LOGIN_PLAIN, .name = user, .password = pw};
    struct sockaddr_storage ss = h_addr(peer);
    char why[SIM_ERR_LEN];
    return sim_login_check(st, svc, (struct sockaddr *)&ss, &req, NULL, why);
}

static void svc_set(struct sim_state *st, const char *svc, const char *k, const char *v)
{
    size_t idx;
    char err[SIM_ERR_LEN];
    assert_int_equal(sim_resolve(st, SIM_M_SERVICE, svc, &idx), 0);
    struct sim_kv kv = {k, v};
    assert_int_equal(
        sim_state_set(st, SIM_M_SERVICE, st->menus[SIM_M_SERVICE].items[idx].id, &kv, 1, err), 0);
}

static void test_login_rules(void **unused)
{
    (void)unused;
    struct sim_state st;
    h_state(&st);
    char err[SIM_ERR_LEN];
    unsigned id;
    assert_int_equal(check(&st, "api", "127.0.0.1", "admin", "pw"), 0);
    /* user exists */
    assert_int_equal(check(&st, "api", "127.0.0.1", "nobody", "pw"), -EACCES);
    /* password right */
    assert_int_equal(check(&st, "api", "127.0.0.1", "admin", "PW"), -EACCES);
    assert_int_equal(check(&st, "api", "127.0.0.1", "admin", ""), -EACCES);
    /* winbox / ssh ports speak the API too */
    assert_int_equal(check(&st, "winbox", "127.0.0.1", "admin", "pw"), 0);
    assert_int_equal(check(&st, "ssh", "127.0.0.1", "admin", "pw"), 0);
    /* service enabled */
    svc_set(&st, "ssh", "disabled", "yes");
    assert_int_equal(check(&st, "ssh", "127.0.0.1", "admin", "pw"), -EACCES);
    /* source in the service's address list */
    svc_set(&st, "winbox", "address", "10.0.0.0/8,127.0.0.5/32");
    assert_int_equal(check(&st, "winbox", "127.0.0.1", "admin", "pw"), -EACCES);
    assert_int_equal(check(&st, "winbox", "127.0.0.5", "admin", "pw"), 0);
    svc_set(&st, "winbox", "address", "0.0.0.0/0");
    assert_int_equal(check(&st, "winbox", "127.0.0.1", "admin", "pw"), 0);
    /* source in the user's address list; user enabled */
    struct sim_kv u[] = {
        {"name", "t"}, {"group", "read"}, {"password", "s3"}, {"address", "127.0.0.7/32"}};
    assert_int_equal(sim_state_add(&st, SIM_M_USER, u, 4, &id, err), 0);
    assert_int_equal(check(&st, "api", "127.0.0.1", "t", "s3"), -EACCES);
    assert_int_equal(check(&st, "api", "127.0.0.7", "t", "s3"), 0);
    struct sim_kv dis = {"disabled", "yes"};
    assert_int_equal(sim_state_set(&st, SIM_M_USER, id, &dis, 1, err), 0);
    assert_int_equal(check(&st, "api", "127.0.0.7", "t", "s3"), -EACCES);
    /* legacy MD5: needs the challenge this session issued */
    char resp[ROS_LOGIN_RESPONSE_LEN + 1];
    const char *chal = "aabbccddeeff00112233445566778899";
    assert_int_equal(ros_login_md5_response("pw", chal, resp), 0);
    struct ros_login_request md5 = {
        .kind = ROS_LOGIN_MD5_RESPONSE, .name = "admin", .response = resp};
    struct sockaddr_storage ss = h_addr("127.0.0.1");
    char why[SIM_ERR_LEN];
    assert_int_equal(sim_login_check(&st, "api", (struct sockaddr *)&ss, &md5, chal, why), 0);
    assert_int_equal(sim_login_check(&st, "api", (struct sockaddr *)&ss, &md5, NULL, why), -EACCES);
    assert_int_equal(sim_login_check(&st, "api", (struct sockaddr *)&ss, &md5,
                                     "00112233445566778899aabbccddeeff", why),
                     -EACCES);
    sim_state_release(&st);
}

static void test_json(void **unused)
{
    (void)unused;
    struct sim_state st;
    h_state(&st);
    char err[SIM_ERR_LEN];
    unsigned id;
    struct sim_kv n[] = {{"chain", "dstnat"}, {"comment", "q\"b\\s\n\x01 \xc5\x82"}};
    assert_int_equal(sim_state_add(&st, SIM_M_NAT, n, 2, &id, err), 0);
    char dir[] = "/tmp/tg-sim-test-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/state.json", dir);
    assert_int_equal(sim_state_write_file(&st, path), 0);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char buf[16384];
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    buf[len] = '\0';
    fclose(f);
    assert_non_null(strstr(buf, "\"comment\": \"q\\\"b\\\\s\\n\\u0001 \xc5\x82\""));
    assert_non_null(strstr(buf, "\"/system/identity\": {\"name\": \"MikroTik\"}"));
    assert_non_null(strstr(buf, "\"/ip/firewall/filter\": [],"));
    assert_non_null(strstr(buf, "{\".id\": \"*1\", \"name\": \"admin\""));
    unlink(path);
    rmdir(dir);
    assert_int_equal(sim_state_write_file(&st, "/nonexistent-dir/x.json"), -ENOENT);
    sim_state_release(&st);
}

/* Values are bytes: what is not UTF-8 becomes U+FFFD, so the file is always valid JSON. */
static void test_json_not_utf8(void **unused)
{
    (void)unused;
    struct sim_state st;
    h_state(&st);
    char err[SIM_ERR_LEN];
    const char *bytes = "a\xff\xc0\xaf|\xed\xa0\x80|\xc5|\xf4\x90\x80\x80|\xc5\x82\x7f";
    struct sim_kv n[] = {{"chain", "dstnat"}, {"comment", bytes}};
    assert_int_equal(sim_state_add(&st, SIM_M_NAT, n, 2, NULL, err), 0);
    assert_int_equal(sim_state_set_identity(&st, "r\x80", err), 0);
    struct buf b;
    buf_init(&b, 1 << 20);
    assert_int_equal(sim_state_json(&st, &b), 0);
    json_error_t jerr;
    json_t *doc = json_loadb(b.data, b.len, JSON_REJECT_DUPLICATES, &jerr);
    assert_non_null(doc);
    const char *c = json_string_value(
        json_object_get(json_array_get(json_object_get(doc, "/ip/firewall/nat"), 0), "comment"));
    assert_non_null(c);
    /* overlong, surrogate, truncated and above U+10FFFF: one U+FFFD per byte; valid UTF-8 and
     * DEL are kept */
    assert_string_equal(c, "a\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|"
                           "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd|"
                           "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|\xc5\x82\x7f");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(doc, "/system/identity"), "name")),
        "r\xef\xbf\xbd");
    json_decref(doc);
    /* a buffer too small for the file: -E2BIG, not a truncated file */
    struct buf small;
    buf_init(&small, 64);
    assert_int_equal(sim_state_json(&st, &small), -E2BIG);
    buf_release(&small);
    buf_release(&b);
    sim_state_release(&st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_initial),    cmocka_unit_test(test_add_validation),
        cmocka_unit_test(test_set_remove), cmocka_unit_test(test_place_before),
        cmocka_unit_test(test_duration),   cmocka_unit_test(test_login_rules),
        cmocka_unit_test(test_json),       cmocka_unit_test(test_json_not_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
