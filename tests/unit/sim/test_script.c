/* Unit tests for the script interpreter (src/sim/script_exec.c, through sim_script_run): every
 * construct of docs/internals/script-subset.md, failures (with their line), on-error, imports,
 * fetch (mocked) and robustness. The parser alone: test_script_parse.c. */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include "helpers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a mock web server ------------------------------------------------- */

struct route {
    const char *url;
    long status;
    const char *body;
};

struct web {
    const struct route *routes;
    char calls[32][512]; /* "GET url" / "POST url data=... hdr=..." */
    size_t ncalls;
};

static int mock_fetch(void *ctx, const struct sim_fetch_req *req, struct buf *body, long *status,
                      char err[SIM_ERR_LEN])
{
    struct web *web = ctx;
    if (web->ncalls < 32)
        snprintf(web->calls[web->ncalls++], 512, "%s %s%s%s%s%s", req->post ? "POST" : "GET",
                 req->url, req->data ? " data=" : "", req->data ? req->data : "",
                 req->headers ? " hdr=" : "", req->headers ? req->headers : "");
    for (const struct route *r = web->routes; r && r->url; r++)
        if (strcmp(r->url, req->url) == 0) {
            *status = r->status;
            buf_append_str(body, r->body);
            return 0;
        }
    snprintf(err, SIM_ERR_LEN, "connection refused");
    return -111;
}

struct logs {
    char lines[16][256];
    size_t n;
};

static void mock_log(void *ctx, const char *level, const char *text)
{
    struct logs *l = ctx;
    if (l->n < 16)
        snprintf(l->lines[l->n++], 256, "%s:%s", level, text);
}

static struct sim_state st;
static struct sim_files files;
static struct web web;
static struct logs logs;
static struct sim_script_host host;
static struct sim_script_report rep;

static int setup(void **unused)
{
    (void)unused;
    h_state(&st);
    memset(&files, 0, sizeof files);
    memset(&web, 0, sizeof web);
    memset(&logs, 0, sizeof logs);
    host = (struct sim_script_host){.st = &st,
                                    .files = &files,
                                    .fetch = mock_fetch,
                                    .fetch_ctx = &web,
                                    .log = mock_log,
                                    .log_ctx = &logs};
    return 0;
}

static int teardown(void **unused)
{
    (void)unused;
    sim_files_release(&files);
    sim_state_release(&st);
    return 0;
}

static enum sim_script_result run(const char *text)
{
    enum sim_script_result r = sim_script_run(&host, "test", text, strlen(text), &rep);
    if (getenv("SIM_TEST_VERBOSE"))
        fprintf(stderr, "run -> %d line %u: %s\n", r, rep.line, rep.err);
    return r;
}

static const char *get(enum sim_menu_id m, const char *ref, const char *f)
{
    size_t idx;
    if (sim_resolve(&st, m, ref, &idx) != 0)
        return NULL;
    return sim_item_get(&st.menus[m], &st.menus[m].items[idx], f);
}

/* ---- tests ------------------------------------------------------------- */

static void test_structured(void **unused)
{
    (void)unused;
    assert_int_equal(
        run("# a comment\n"
            "/user group add name=\"tg-ro\" policy=winbox,read comment=\"tikgate:grp:1\"\n"
            "  /user add name=\"tg-api\" group=\"full\" password=\"p\\\"w\\\\\" "
            "address=\"127.0.0.1/32\" comment=\"tikgate:api:1\"\n"
            "/user set [find name=\"tg-api\"] password=\"new\"\n"
            "/ip service set winbox port=18291 address=\"10.0.0.0/8,192.168.0.0/16\" "
            "disabled=no\n"
            "/ip service set [find name=\"telnet\"] disabled=yes\n"
            "/system identity set name=\"r-1\"\n"
            "/system scheduler add name=\"tikgate-poll\" interval=30s "
            "on-event=\"/tool fetch url=\\\"http://x/poll\\\"\" start-time=startup\n"
            "/ip/firewall/nat add chain=dstnat action=dst-nat protocol=tcp "
            "dst-port=40022 to-addresses=192.168.88.10 to-ports=22 "
            "comment=\"tikgate:fwd:2\"\n"),
        SIM_SCRIPT_OK);
    assert_int_equal(rep.commands, 8);
    assert_string_equal(get(SIM_M_GROUP, "tg-ro", "policy"), "winbox,read");
    assert_string_equal(get(SIM_M_USER, "tg-api", "password"), "new");
    assert_string_equal(get(SIM_M_USER, "tg-api", "address"), "127.0.0.1/32");
    assert_string_equal(get(SIM_M_SERVICE, "winbox", "port"), "18291");
    assert_string_equal(get(SIM_M_SERVICE, "winbox", "disabled"), "false");
    assert_string_equal(get(SIM_M_SERVICE, "telnet", "disabled"), "true");
    assert_string_equal(st.identity, "r-1");
    assert_string_equal(get(SIM_M_SCHED, "tikgate-poll", "on-event"),
                        "/tool fetch url=\"http://x/poll\"");
    assert_string_equal(get(SIM_M_NAT, "*1", "to-ports"), "22");
    /* remove what a job is about to add; no match is a no-op; [find] matches all */
    assert_int_equal(run("/user remove [find comment=\"tikgate:api:1\"]\n"
                         "/user remove [find comment=\"tikgate:none\"]\n"
                         "/user set [find comment=\"nothing\"] disabled=yes\n"
                         "/ip firewall nat remove [find]\n"
                         "/ip firewall filter remove [find]\n"),
                     SIM_SCRIPT_OK);
    assert_null(get(SIM_M_USER, "tg-api", "name"));
    assert_int_equal(st.menus[SIM_M_NAT].n, 0);
    assert_int_equal(st.menus[SIM_M_USER].n, 1);
}

static void test_place_before(void **unused)
{
    (void)unused;
    /* place-before=0 on an empty list fails (as on RouterOS): the on-error fallback appends */
    assert_int_equal(run(":do { /ip firewall filter add chain=input action=accept "
                         "comment=\"m\" place-before=0 } on-error={ /ip firewall filter add "
                         "chain=input action=accept comment=\"m\" }\n"
                         "/ip firewall filter add chain=input action=drop comment=\"last\"\n"
                         "/ip firewall filter add chain=input action=accept comment=\"first\" "
                         "place-before=0\n"),
                     SIM_SCRIPT_OK);
    assert_int_equal(rep.caught, 1);
    const struct sim_menu *m = &st.menus[SIM_M_FILTER];
    assert_int_equal(m->n, 3);
    assert_string_equal(sim_item_get(m, &m->items[0], "comment"), "first");
    assert_string_equal(sim_item_get(m, &m->items[1], "comment"), "m");
    assert_string_equal(sim_item_get(m, &m->items[2], "comment"), "last");
}

static void test_local_and_expressions(void **unused)
{
    (void)unused;
    assert_int_equal(
        run(":local id [/system identity get name]\n"
            ":local ver [/system resource get version]\n"
            ":local board [/system resource get board-name]\n"
            ":local serial [/system routerboard get serial-number]\n"
            ":local model [/system routerboard get model]\n"
            ":local addr [/ip address get [find interface=\"tikgate-mgmt\"] address]\n"
            ":local facts (\"identity=\" . $id . \";version=\" . $ver . \";serial=\" . "
            "$serial . \";addr=\" . $addr)\n"
            ":log info $facts\n"
            ":log warning \"id is $id, cost \\$5?\"\n"
            ":local nested ((\"a\" . \"b\") . ($model))\n"
            ":log debug $nested\n"),
        SIM_SCRIPT_OK);
    assert_int_equal(logs.n, 3);
    assert_string_equal(logs.lines[0],
                        "info:identity=MikroTik;version=7.16;serial=SIM123;addr=127.0.0.2/32");
    assert_string_equal(logs.lines[1], "warning:id is MikroTik, cost $5?");
    assert_string_equal(logs.lines[2], "debug:abRB5009UG+S+");
}

static void test_failures(void **unused)
{
    (void)unused;
    /* what only the running router can refuse: fails at that line, on-error can catch it */
    static const struct {
        const char *script;
        unsigned line;
        const char *msg;
    } cases[] = {
        {"/user add name=\"x\" group=\"nope\"\n", 1, "group"},
        {"/ip service set nosuch port=1\n", 1, "no such item"},
        {"/ip service set winbox port=99999\n", 1, "range"},
        {"/import file-name=\"missing.rsc\"\n", 1, "no such file"},
        {"/tool fetch url=\"http://x/\" check-certificate=maybe\n", 1, "check-certificate"},
        {"/certificate import file-name=\"missing.pem\"\n", 1, "no such file"},
        {"/certificate add name=x\n", 1, "can not add"},
        {"/file remove \"missing.rsc\"\n", 1, "no such item"},
        {"/tool fetch url=\"http://x/404\" output=none\n", 1, "connection refused"},
        {"/system identity set name=\"\"\n", 1, "identity"},
        {"/user set password=\"x\"\n", 1, "which item"},
        {"/user add name=\"a\" name=\"b\" group=full\n", 1, "duplicate"},
        {"\n\n:error \"boom\"\n", 3, "boom"},
        {"/ip firewall filter add chain=input src-address=2001:db8::/32\n", 1, "IPv4"},
        {"/ip firewall nat add chain=dstnat action=dst-nat to-addresses=2001:db8::1\n", 1, "IPv4"},
        {"/ipv6 firewall filter add chain=input src-address=10.0.0.0/8\n", 1, "IPv6"},
        {"/ip firewall nat add chain=dstnat in-interface=nosuch\n", 1, "in-interface"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        enum sim_script_result r = run(cases[i].script);
        if (r != SIM_SCRIPT_FAILED || rep.line != cases[i].line || !strstr(rep.err, cases[i].msg)) {
            fprintf(stderr, "case %zu: %s -> r=%d line=%u err=%s\n", i, cases[i].script, r,
                    rep.line, rep.err);
            fail();
        }
    }
    /* what RouterOS refuses before running anything: a syntax error, with its line */
    static const struct {
        const char *script;
        unsigned line;
        const char *msg;
    } syntax[] = {
        {"/interface bridge print\n", 1, "bad command name"},
        {"/user add name=\"x\" group=full colour=red\n", 1, "colour"},
        {":log info $nope\n", 1, "undefined variable"},
        {":log shout \"x\"\n", 1, ":log"},
        {"/ip service add name=\"x\"\n", 1, "bad command name add"},
        {"/user add name=x~y group=full\n", 1, "expected end of command"},
        {":do { /user print } while=(1)\n", 1, ":do"},
        {":log info (\"a\" + \"b\")\n", 1, "syntax error"},
        {":log info \"bad \\q escape\"\n", 1, "escape"},
        {"/system reboot now\n", 1, "expected end of command"},
        {"/user frobnicate\n", 1, "bad command name frobnicate"},
        {"/system identity set name=x\n/ip firewall filter add chain=input bogus=1\n", 2, "bogus"},
        {":local a \"x\"\n:set b \"y\"\n", 2, "undefined variable b"},
        {"/user remove [find colour=red]\n", 1, "colour"},
        {":log info \"what\\?\"\n", 1, "\\?"},
        {":if (1 = 1) do={ /nonsense }\n", 1, "bad command name"},
        {"/interface wireguard print\n", 0, ""}, /* exists from 7.8: checked below */
    };
    for (size_t i = 0; i + 1 < sizeof syntax / sizeof syntax[0]; i++) {
        enum sim_script_result r = run(syntax[i].script);
        if (r != SIM_SCRIPT_SYNTAX || rep.line != syntax[i].line ||
            !strstr(rep.err, syntax[i].msg) || rep.commands != 0) {
            fprintf(stderr, "syntax case %zu: %s -> r=%d line=%u err=%s\n", i, syntax[i].script, r,
                    rep.line, rep.err);
            fail();
        }
    }
    /* the state did not change */
    assert_int_equal(st.menus[SIM_M_USER].n, 1);
    assert_string_equal(st.identity, "MikroTik");
    /* syntax errors: nothing runs at all */
    assert_int_equal(run("/system identity set name=\"changed\"\n/user add name=\"x\n"),
                     SIM_SCRIPT_SYNTAX);
    assert_string_equal(st.identity, "MikroTik");
    assert_int_equal(run(":do { /system identity set name=\"x\"\n"), SIM_SCRIPT_SYNTAX);
    assert_int_equal(run("}\n"), SIM_SCRIPT_SYNTAX);
    assert_int_equal(run("/user add name=(\"a\"\n"), SIM_SCRIPT_SYNTAX);
    assert_string_equal(st.identity, "MikroTik");
    /* a typo anywhere runs nothing, not even the on-error around it (fidelity §2 #9) */
    assert_int_equal(run(":do {\n/system identity set name=\"a\"\n/ip firewall filter ad "
                         "chain=input\n} on-error={\n/system identity set name=\"b\"\n}\n"),
                     SIM_SCRIPT_SYNTAX);
    assert_int_equal(rep.line, 3);
    assert_string_equal(st.identity, "MikroTik");
    /* a run-time failure stops the script at that line */
    assert_int_equal(run("/system identity set name=\"a\"\n/user add name=x group=nope\n"
                         "/system identity set name=\"b\"\n"),
                     SIM_SCRIPT_FAILED);
    assert_int_equal(rep.line, 2);
    assert_string_equal(st.identity, "a");
}

static void test_on_error(void **unused)
{
    (void)unused;
    /* multi-line, nested, variable scope */
    assert_int_equal(run(":local outer \"o\"\n"
                         ":do {\n"
                         "  :local inner \"i\"\n"
                         "  /system identity set name=($outer . $inner)\n"
                         "  :do {\n"
                         "    :error \"nonsense\"\n"
                         "    /system identity set name=\"never\"\n"
                         "  } on-error={\n"
                         "    :log error \"inner caught\"\n"
                         "  }\n"
                         "  /ip service set nosuch port=1\n"
                         "  /system identity set name=\"never2\"\n"
                         "} on-error={\n"
                         "  :log error (\"outer caught \" . $outer)\n"
                         "}\n"
                         ":log info \"after\"\n"),
                     SIM_SCRIPT_OK);
    assert_string_equal(st.identity, "oi");
    assert_int_equal(rep.caught, 2);
    assert_int_equal(logs.n, 3);
    assert_string_equal(logs.lines[0], "error:inner caught");
    assert_string_equal(logs.lines[1], "error:outer caught o");
    assert_string_equal(logs.lines[2], "info:after");
    /* :local of a block is gone after it: using it is a syntax error */
    assert_int_equal(run(":do { :local x \"1\" } on-error={ }\n:log info $x\n"), SIM_SCRIPT_SYNTAX);
    assert_int_equal(rep.line, 2);
    /* one-line form; failure inside on-error propagates */
    assert_int_equal(run(":do { :error \"bad\" } on-error={ :error \"worse\" }\n"),
                     SIM_SCRIPT_FAILED);
    assert_non_null(strstr(rep.err, "worse"));
    /* :do without on-error propagates */
    assert_int_equal(run(":do {\n:error \"bad\"\n}\n"), SIM_SCRIPT_FAILED);
    assert_int_equal(rep.line, 2);
    /* on one line with ';' */
    assert_int_equal(run(":do { /system identity set name=\"s1\"; :error \"x\" } on-error={ "
                         "/system identity set name=\"s2\" }"),
                     SIM_SCRIPT_OK);
    assert_string_equal(st.identity, "s2");
}

static const struct route job_routes[] = {
    {"http://cp/job/1/update?status=busy&signature=s", 200, ""},
    {"http://cp/job/1/update?status=done&signature=s", 200, ""},
    {"http://cp/job/1/update?status=fail&signature=s", 200, ""},
    {"http://cp/bootstrap/tok", 200,
     ":local id [/system identity get name]\n"
     ":local facts (\"identity=\" . $id . \";version=\" . [/system resource get version])\n"
     "/tool fetch url=\"http://cp/adopt/tok\" http-method=post http-data=$facts "
     "http-header-field=\"Content-Type: text/plain\" dst-path=\"tikgate-adopt.rsc\"\n"
     "/import file-name=\"tikgate-adopt.rsc\"\n"},
    {"http://cp/adopt/tok", 200,
     "/system scheduler remove [find name=\"tikgate-poll\"]\n"
     "/system scheduler add name=\"tikgate-poll\" interval=30s on-event=\"/tool fetch "
     "url=\\\"http://cp/poll\\\" http-method=post dst-path=\\\"tikgate-poll.rsc\\\"; /import "
     "file-name=\\\"tikgate-poll.rsc\\\"\"\n"
     "/user add name=\"tikgate\" group=\"full\" password=\"sec\" comment=\"tikgate:api:s\"\n"},
    {"http://cp/missing", 404, "not found"},
    {"http://cp/self", 200, "/import file-name=\"self.rsc\"\n"},
    {NULL, 0, NULL},
};

static void test_fetch_import_job(void **unused)
{
    (void)unused;
    web.routes = job_routes;
    /* the bootstrap one-liner */
    assert_int_equal(
        run("/tool fetch url=\"http://cp/bootstrap/tok\" dst-path=\"tikgate-boot.rsc\"; "
            "/import file-name=\"tikgate-boot.rsc\""),
        SIM_SCRIPT_OK);
    assert_int_equal(web.ncalls, 2);
    assert_string_equal(web.calls[1],
                        "POST http://cp/adopt/tok data=identity=MikroTik;version=7.16 "
                        "hdr=Content-Type: text/plain");
    assert_non_null(get(SIM_M_SCHED, "tikgate-poll", "on-event"));
    assert_string_equal(get(SIM_M_USER, "tikgate", "password"), "sec");
    /* the scheduler's on-event is itself a script */
    const char *ev = get(SIM_M_SCHED, "tikgate-poll", "on-event");
    assert_non_null(strstr(ev, "/import file-name=\"tikgate-poll.rsc\""));
    /* a job wrapper: busy, payload, done */
    const char *job =
        ":do {\n"
        "/tool fetch url=\"http://cp/job/1/update?status=busy&signature=s\" output=none\n"
        "/ip service set ssh port=2222\n"
        "/tool fetch url=\"http://cp/job/1/update?status=done&signature=s\" output=none\n"
        "} on-error={\n"
        "/tool fetch url=\"http://cp/job/1/update?status=fail&signature=s\" output=none\n"
        "}\n";
    web.ncalls = 0;
    assert_int_equal(run(job), SIM_SCRIPT_OK);
    assert_int_equal(web.ncalls, 2);
    assert_non_null(strstr(web.calls[0], "status=busy"));
    assert_non_null(strstr(web.calls[1], "status=done"));
    assert_string_equal(get(SIM_M_SERVICE, "ssh", "port"), "2222");
    /* a bad payload line reports fail */
    web.ncalls = 0;
    const char *bad =
        ":do {\n"
        "/tool fetch url=\"http://cp/job/1/update?status=busy&signature=s\" output=none\n"
        "/user add name=\"x\" group=\"nope\"\n"
        "/tool fetch url=\"http://cp/job/1/update?status=done&signature=s\" output=none\n"
        "} on-error={\n"
        "/tool fetch url=\"http://cp/job/1/update?status=fail&signature=s\" output=none\n"
        "}\n";
    assert_int_equal(run(bad), SIM_SCRIPT_OK);
    assert_int_equal(web.ncalls, 2);
    assert_non_null(strstr(web.calls[1], "status=fail"));
    assert_int_equal(rep.caught, 1);
    /* non-2xx is a failure; output defaults to a file named after the URL */
    assert_int_equal(run("/tool fetch url=\"http://cp/missing\""), SIM_SCRIPT_FAILED);
    assert_non_null(strstr(rep.err, "404"));
    assert_int_equal(run("/tool fetch url=\"http://cp/bootstrap/tok\"\n"), SIM_SCRIPT_OK);
    assert_non_null(sim_files_get(&files, "tok"));
    /* an import that fails reports the inner line; recursion is bounded */
    static const char f1[] = "/system identity set name=\"in\"\n:error \"oops\"\n";
    assert_int_equal(sim_files_put(&files, "f.rsc", f1, sizeof f1 - 1), 0);
    assert_int_equal(run("\n/import file-name=\"f.rsc\"\n"), SIM_SCRIPT_FAILED);
    assert_int_equal(rep.line, 2);
    assert_non_null(strstr(rep.err, "f.rsc: line 2"));
    assert_string_equal(st.identity, "in");
    /* an imported file with a syntax error runs none of its lines; from 7.16 an on-error
     * around the /import catches it */
    static const char f2[] = "/system identity set name=\"in2\"\n/oops\n";
    assert_int_equal(sim_files_put(&files, "f2.rsc", f2, sizeof f2 - 1), 0);
    assert_int_equal(run(":do { /import file-name=\"f2.rsc\" } on-error={ :log info \"caught\" }"),
                     SIM_SCRIPT_OK);
    assert_string_equal(st.identity, "in");
    assert_int_equal(rep.caught, 1);
    assert_int_equal(run("/tool fetch url=\"http://cp/self\" dst-path=\"self.rsc\"\n"
                         "/import file-name=\"self.rsc\"\n"),
                     SIM_SCRIPT_FAILED);
    assert_non_null(strstr(rep.err, "too deep"));
}

static void test_reboot(void **unused)
{
    (void)unused;
    st.reboot_pending = false;
    assert_int_equal(run("/system identity set name=\"before\"\n/system reboot\n"
                         "/system identity set name=\"after\"\n"),
                     SIM_SCRIPT_REBOOT);
    assert_true(st.reboot_pending);
    assert_string_equal(st.identity, "before");
    st.reboot_pending = false;
}

static bool stop_now(void *ctx)
{
    (void)ctx;
    return true;
}

static void test_stop_and_garbage(void **unused)
{
    (void)unused;
    host.should_stop = stop_now;
    assert_int_equal(run("/system identity set name=\"x\"\n"), SIM_SCRIPT_STOPPED);
    host.should_stop = NULL;
    /* random bytes and random token soup never crash */
    static const char *const pieces[] = {"/user",       " add",        " set",   " remove",
                                         " [find",      " name=",      "\"x\"",  "]",
                                         "{",           "}",           "(",      ")",
                                         ":do",         " on-error=",  ":local", " $a",
                                         " . ",         "\n",          ";",      "#",
                                         "\\",          "\"",          "=",      "/import",
                                         " file-name=", "/tool fetch", " url=",  "/system reboot",
                                         ":log info",   "\x01",        "\xff"};
    srand(42);
    char text[512];
    for (int round = 0; round < 3000; round++) {
        size_t len = 0;
        int n = rand() % 24;
        for (int k = 0; k < n; k++) {
            const char *p = pieces[rand() % (int)(sizeof pieces / sizeof pieces[0])];
            size_t pl = strlen(p);
            if (len + pl >= sizeof text)
                break;
            memcpy(text + len, p, pl);
            len += pl;
        }
        if (round % 3 == 0)
            for (size_t k = 0; k < len; k++)
                text[k] = (char)(rand() % 256);
        sim_script_run(&host, "fuzz", text, len, &rep);
    }
    st.reboot_pending = false;
}

/* A NUL byte is neither part of a word nor of a value: found by fuzz/sim_script. */
static void test_nul_bytes(void **unused)
{
    (void)unused;
    static const char cmd[] = "/user\0x add name=\"n\" group=full\n";
    assert_int_equal(sim_script_run(&host, "nul", cmd, sizeof cmd - 1, &rep), SIM_SCRIPT_SYNTAX);
    assert_int_equal(rep.line, 1);
    assert_null(get(SIM_M_USER, "n", "name"));
    static const char val[] = "/system identity set name=\"a\0b\"\n";
    assert_int_equal(sim_script_run(&host, "nul", val, sizeof val - 1, &rep), SIM_SCRIPT_FAILED);
    assert_non_null(strstr(rep.err, "NUL"));
    assert_string_equal(st.identity, "MikroTik");
}

/* Scheduler scripts run with their policy= (fidelity §3): a reboot without it is refused. */
static void test_policies(void **unused)
{
    (void)unused;
    host.policy = "read,write,policy,test,password,sensitive"; /* tikgate's old poll policy */
    st.reboot_pending = false;
    assert_int_equal(run(":do { /system reboot } on-error={ :log error \"refused\" }"),
                     SIM_SCRIPT_OK);
    assert_false(st.reboot_pending);
    assert_int_equal(rep.caught, 1);
    assert_string_equal(logs.lines[logs.n - 1], "error:refused");
    assert_int_equal(run("/system reboot"), SIM_SCRIPT_FAILED);
    assert_non_null(strstr(rep.err, "not enough permissions (9)"));
    host.policy = "read,write,test";
    assert_int_equal(run("/user add name=x group=full"), SIM_SCRIPT_FAILED);
    assert_non_null(strstr(rep.err, "policy"));
    host.policy = "read";
    assert_int_equal(run("/system identity set name=\"no\""), SIM_SCRIPT_FAILED);
    assert_string_equal(st.identity, "MikroTik");
    host.policy = "reboot,read,write,policy,test,password,sensitive";
    assert_int_equal(run("/system reboot"), SIM_SCRIPT_REBOOT);
    assert_true(st.reboot_pending);
    st.reboot_pending = false;
    host.policy = NULL;
}

/* Version and board decide what parses (fidelity #2, #9). */
static void test_version_and_board(void **unused)
{
    (void)unused;
    sim_state_release(&st);
    h_state_opts(&st, "7.15", "CHR", false);
    /* no /system routerboard on CHR: the whole script is refused */
    assert_int_equal(run("/system identity set name=\"a\"\n"
                         ":local m [/system routerboard get model]\n"),
                     SIM_SCRIPT_SYNTAX);
    assert_string_equal(st.identity, "MikroTik");
    /* read through :parse inside :do, it is a run-time error on-error catches */
    assert_int_equal(run(":local model [/system resource get board-name]\n"
                         ":do {\n"
                         ":local f [:parse \":return [/system routerboard get model]\"]\n"
                         ":set model [$f]\n"
                         "} on-error={ :log info \"no routerboard\" }\n"
                         ":log info $model\n"),
                     SIM_SCRIPT_OK);
    assert_string_equal(logs.lines[logs.n - 1], "info:CHR");
    assert_int_equal(rep.caught, 1);
    /* before 7.16 an on-error around /import does not catch the file's syntax error */
    static const char f2[] = "/system identity set name=\"in2\"\n/oops\n";
    assert_int_equal(sim_files_put(&files, "f2.rsc", f2, sizeof f2 - 1), 0);
    assert_int_equal(run(":do { /import file-name=\"f2.rsc\" } on-error={ :log info \"caught\" }"),
                     SIM_SCRIPT_FAILED);
    assert_string_equal(st.identity, "MikroTik");
    assert_int_equal(rep.caught, 0);
    /* no wireguard before 7.8 */
    sim_state_release(&st);
    h_state_opts(&st, "7.7", NULL, false);
    assert_int_equal(run("/interface wireguard add name=wg1"), SIM_SCRIPT_SYNTAX);
    assert_int_equal(run(":local m [/system routerboard get model]\n:log info $m\n"),
                     SIM_SCRIPT_OK);
    assert_string_equal(logs.lines[logs.n - 1], "info:RB5009UG+S+");
    sim_state_release(&st);
    h_state_opts(&st, "7.8", NULL, false);
    assert_int_equal(run("/interface wireguard add name=wg1 listen-port=13232"), SIM_SCRIPT_OK);
    assert_non_null(get(SIM_M_INTERFACE, "wg1", "type"));
    /* RouterOS 6 has no /a/b paths */
    sim_state_release(&st);
    h_state_opts(&st, "6.49", NULL, false);
    assert_int_equal(run("/ip/service set ssh port=22"), SIM_SCRIPT_SYNTAX);
    assert_int_equal(run("/ip service set ssh port=22"), SIM_SCRIPT_OK);
}

/* The defconf firewall: [find dynamic=no] and place-before the first static rule (#5, #6). */
static void test_defconf_placement(void **unused)
{
    (void)unused;
    sim_state_release(&st);
    h_state_opts(&st, "7.16", NULL, true);
    const struct sim_menu *m = &st.menus[SIM_M_FILTER];
    size_t n0 = m->n;
    /* place-before=0 names the dynamic dummy rule: refused; [find] takes it and fails */
    assert_int_equal(run("/ip firewall filter add chain=input comment=\"x\" place-before=0"),
                     SIM_SCRIPT_FAILED);
    assert_non_null(strstr(rep.err, "builtin"));
    assert_int_equal(run("/ip firewall filter remove [find]"), SIM_SCRIPT_FAILED);
    assert_non_null(strstr(rep.err, "dynamic"));
    assert_int_equal(run("/ip firewall filter add chain=input comment=\"top\" "
                         "place-before=[:pick [/ip firewall filter find dynamic=no] 0]\n"
                         ":log info [:len [/ip firewall filter find dynamic=no]]\n"),
                     SIM_SCRIPT_OK);
    assert_string_equal(sim_item_get(m, &m->items[1], "comment"), "top");
    assert_true(sim_item_dynamic(m, &m->items[0]));
    assert_int_equal(run("/ip firewall filter remove [find dynamic=no]"), SIM_SCRIPT_OK);
    assert_int_equal(m->n, 1);
    assert_true(n0 > 1);
}

/* check-for-updates, then install only a new version (#10). */
static void test_package_update(void **unused)
{
    (void)unused;
    assert_int_equal(run("/system package update install"), SIM_SCRIPT_FAILED);
    free(st.latest_version);
    st.latest_version = strdup("7.17");
    st.reboot_pending = false;
    assert_int_equal(run("/system package update check-for-updates once\n:delay 3s\n"
                         ":local s [/system package update get status]\n"
                         ":if ($s = \"New version is available\") do={\n"
                         "/system package update install\n"
                         "} else={ :error \"no\" }\n"),
                     SIM_SCRIPT_REBOOT);
    assert_string_equal(st.opt.version, "7.17");
    assert_true(st.reboot_pending);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_structured, setup, teardown),
        cmocka_unit_test_setup_teardown(test_place_before, setup, teardown),
        cmocka_unit_test_setup_teardown(test_local_and_expressions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_on_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fetch_import_job, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reboot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_and_garbage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nul_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_policies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_version_and_board, setup, teardown),
        cmocka_unit_test_setup_teardown(test_defconf_placement, setup, teardown),
        cmocka_unit_test_setup_teardown(test_package_update, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
