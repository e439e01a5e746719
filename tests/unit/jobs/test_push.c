/*
 * Unit tests for src/jobs/push.c: job_push_plan() against a small recording
 * RouterOS API server on a socketpair. The server keeps items per menu (.id,
 * key=value pairs), answers print with ?key=value queries, add (=ret=*N),
 * set/remove by .id lists, /execute and /system/reboot (closes the
 * connection), and traps on menus whose path contains "trapme". Every
 * sentence it receives is recorded without its .tag, so a test asserts the
 * exact sentences a plan turns into.
 */
/* cmocka.h needs these headers first */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include "plan.h"
#include "push.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x))                                                                                  \
            abort();                                                                               \
    } while (0)

#define MAX_ITEMS 16
#define NEXT_PUB "mrgYbg/VijsHzQnIf1xqVsqMqfYanVEnnA1ugIHnpBY="
#define MAX_PROPS 8
#define MAX_LOG 32

struct item {
    char menu[64];
    char id[16];
    char keys[MAX_PROPS][32];
    char values[MAX_PROPS][64];
    size_t nprops;
};

struct router {
    int fd;
    pthread_t thread;
    struct item items[MAX_ITEMS];
    size_t nitems;
    unsigned next_id;
    char log[MAX_LOG][256]; /* received sentences, words joined by ' ', .tag dropped */
    size_t nlog;
};

static void send_words(struct router *rt, const char *tag, const char *const *words, size_t n)
{
    struct ros_sentence s = {0};
    for (size_t i = 0; i < n; i++)
        CHECK(ros_sentence_add_str(&s, words[i]) == 0);
    if (tag)
        CHECK(ros_sentence_addf(&s, ".tag=%s", tag) == 0);
    struct buf b;
    buf_init(&b, 1 << 16);
    CHECK(ros_sentence_encode(&b, &s) == 0);
    CHECK(send(rt->fd, b.data, b.len, MSG_NOSIGNAL) == (ssize_t)b.len);
    buf_release(&b);
    ros_sentence_release(&s);
}

#define SEND(rt, tag, ...)                                                                         \
    do {                                                                                           \
        const char *w_[] = {__VA_ARGS__};                                                          \
        send_words(rt, tag, w_, sizeof w_ / sizeof w_[0]);                                         \
    } while (0)

static const char *item_get(const struct item *it, const char *key)
{
    for (size_t i = 0; i < it->nprops; i++)
        if (!strcmp(it->keys[i], key))
            return it->values[i];
    return NULL;
}

static void item_set(struct item *it, const char *key, const char *value)
{
    for (size_t i = 0; i < it->nprops; i++)
        if (!strcmp(it->keys[i], key)) {
            snprintf(it->values[i], sizeof it->values[i], "%s", value);
            return;
        }
    CHECK(it->nprops < MAX_PROPS);
    snprintf(it->keys[it->nprops], sizeof it->keys[0], "%s", key);
    snprintf(it->values[it->nprops], sizeof it->values[0], "%s", value);
    it->nprops++;
}

static struct item *find_id(struct router *rt, const char *menu, const char *id)
{
    for (size_t i = 0; i < rt->nitems; i++)
        if (!strcmp(rt->items[i].menu, menu) && !strcmp(rt->items[i].id, id))
            return &rt->items[i];
    return NULL;
}

static void record(struct router *rt, const struct ros_sentence *s)
{
    CHECK(rt->nlog < MAX_LOG);
    char *line = rt->log[rt->nlog++];
    size_t o = 0;
    line[0] = '\0';
    for (size_t i = 0; i < s->nwords; i++) {
        if (!strncmp(s->words[i].data, ".tag=", 5))
            continue;
        o += (size_t)snprintf(line + o, 256 - o, "%s%s", o ? " " : "", s->words[i].data);
        CHECK(o < 256);
    }
}

/* "/ip/service/print" -> menu "/ip/service", verb "print". */
static void split_cmd(const char *cmd, char *menu, size_t menulen, const char **verb)
{
    const char *slash = strrchr(cmd, '/');
    size_t n = (size_t)(slash - cmd);
    CHECK(n < menulen);
    memcpy(menu, cmd, n);
    menu[n] = '\0';
    *verb = slash + 1;
}

/* Applies "=key=value" words (except .id) to it. */
static void apply_attrs(struct item *it, const struct ros_sentence *s)
{
    for (size_t i = 1; i < s->nwords; i++) {
        const char *w = s->words[i].data;
        if (w[0] != '=' || !strncmp(w, "=.id=", 5))
            continue;
        const char *eq = strchr(w + 1, '=');
        CHECK(eq);
        char key[32];
        snprintf(key, sizeof key, "%.*s", (int)(eq - w - 1), w + 1);
        item_set(it, key, eq + 1);
    }
}

static void handle(struct router *rt, const struct ros_sentence *s)
{
    const char *tag = ros_sentence_tag(s);
    const char *cmd = ros_sentence_command(s);
    char menu[64];
    const char *verb;
    record(rt, s);
    if (!strcmp(cmd, "/execute")) {
        /* a script that fails midway ends with !done and the output so far (the pessimistic
         * reading of RouterOS: tikgate must not take it for success) */
        const char *src = ros_sentence_get(s, "script");
        if (src && strstr(src, ":error")) {
            SEND(rt, tag, "!done", "=ret=");
        } else {
            char ret[128];
            snprintf(ret, sizeof ret, "=ret=hello\n%s\n", JOB_SCRIPT_OK_MARK);
            SEND(rt, tag, "!done", ret);
        }
        return;
    }
    split_cmd(cmd, menu, sizeof menu, &verb);
    if (strstr(menu, "trapme")) {
        SEND(rt, tag, "!trap", "=message=failure: refused for the test");
        SEND(rt, tag, "!done");
        return;
    }
    if (!strcmp(verb, "print")) {
        const char *qk = NULL, *qv = NULL;
        char qbuf[96];
        for (size_t i = 1; i < s->nwords; i++)
            if (s->words[i].data[0] == '?') {
                snprintf(qbuf, sizeof qbuf, "%s", s->words[i].data + 1);
                char *eq = strchr(qbuf, '=');
                CHECK(eq);
                *eq = '\0';
                qk = qbuf;
                qv = eq + 1;
            }
        for (size_t i = 0; i < rt->nitems; i++) {
            struct item *it = &rt->items[i];
            if (strcmp(it->menu, menu))
                continue;
            const char *v = qk ? item_get(it, qk) : NULL;
            if (qk && !v && !strcmp(qk, "dynamic"))
                v = "false";
            if (qk && (!v || strcmp(v, qv)))
                continue;
            char idw[32], extra[96] = "";
            snprintf(idw, sizeof idw, "=.id=%s", it->id);
            /* one more property when the proplist names it (print of public-key) */
            const char *pl = ros_sentence_get(s, ".proplist");
            if (pl && strcmp(pl, ".id") && item_get(it, pl))
                snprintf(extra, sizeof extra, "=%s=%s", pl, item_get(it, pl));
            if (extra[0])
                SEND(rt, tag, "!re", idw, extra);
            else
                SEND(rt, tag, "!re", idw);
        }
        SEND(rt, tag, "!done");
    } else if (!strcmp(verb, "add")) {
        CHECK(rt->nitems < MAX_ITEMS);
        struct item *it = &rt->items[rt->nitems++];
        memset(it, 0, sizeof *it);
        snprintf(it->menu, sizeof it->menu, "%s", menu);
        snprintf(it->id, sizeof it->id, "*%X", ++rt->next_id);
        apply_attrs(it, s);
        if (!strcmp(menu, "/interface/wireguard") && !item_get(it, "public-key"))
            item_set(it, "public-key", NEXT_PUB); /* the router makes its key */
        char ret[32];
        snprintf(ret, sizeof ret, "=ret=%s", it->id);
        SEND(rt, tag, "!done", ret);
    } else if (!strcmp(verb, "set") || !strcmp(verb, "remove")) {
        const char *ids = ros_sentence_get(s, ".id");
        char list[128];
        snprintf(list, sizeof list, "%s", ids ? ids : "");
        for (char *save = NULL, *id = strtok_r(list, ",", &save); id;
             id = strtok_r(NULL, ",", &save)) {
            struct item *it = find_id(rt, menu, id);
            if (!it) {
                SEND(rt, tag, "!trap", "=message=no such item");
                SEND(rt, tag, "!done");
                return;
            }
            if (verb[0] == 's') {
                apply_attrs(it, s);
            } else {
                size_t k = (size_t)(it - rt->items);
                memmove(it, it + 1, (rt->nitems - k - 1) * sizeof *it);
                rt->nitems--;
            }
        }
        SEND(rt, tag, "!done");
    } else {
        SEND(rt, tag, "!trap", "=message=no such command");
        SEND(rt, tag, "!done");
    }
}

static void *serve(void *arg)
{
    struct router *rt = arg;
    struct ros_decoder d;
    ros_decoder_init(&d, NULL);
    struct ros_sentence s = {0};
    char chunk[4096];
    for (;;) {
        int r = ros_decoder_next(&d, &s);
        if (r < 0)
            break;
        if (r == 0) {
            ssize_t n = recv(rt->fd, chunk, sizeof chunk, 0);
            if (n <= 0)
                break;
            CHECK(ros_decoder_feed(&d, chunk, (size_t)n) == 0);
            continue;
        }
        if (!strcmp(ros_sentence_command(&s), "/system/reboot")) {
            record(rt, &s);
            break; /* the router goes down without answering */
        }
        handle(rt, &s);
    }
    ros_sentence_release(&s);
    ros_decoder_release(&d);
    close(rt->fd);
    return NULL;
}

/* Adds a pre-existing item to the router's state. */
static void seed(struct router *rt, const char *menu, const char *key, const char *value)
{
    struct item *it = &rt->items[rt->nitems++];
    memset(it, 0, sizeof *it);
    snprintf(it->menu, sizeof it->menu, "%s", menu);
    snprintf(it->id, sizeof it->id, "*%X", ++rt->next_id);
    item_set(it, key, value);
}

static int push_with(struct router *rt, const struct job_plan *plan, const struct job_push_hooks *h,
                     char *err, size_t errlen);

/* Runs plan against rt (started here, joined before returning). Returns job_push_plan's r. */
static int push(struct router *rt, const struct job_plan *plan, char *err, size_t errlen)
{
    return push_with(rt, plan, NULL, err, errlen);
}

static int push_with(struct router *rt, const struct job_plan *plan, const struct job_push_hooks *h,
                     char *err, size_t errlen)
{
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    rt->fd = sv[1];
    CHECK(pthread_create(&rt->thread, NULL, serve, rt) == 0);
    struct ros_client_opts o = {.connect_timeout_ms = 2000, .io_timeout_ms = 5000};
    struct ros_client *c = NULL;
    CHECK(ros_client_from_fd(sv[0], &o, &c) == 0);
    err[0] = '\0';
    int r = job_push_plan(c, plan, h, err, errlen);
    ros_client_close(c);
    pthread_join(rt->thread, NULL);
    return r;
}

static void assert_log(const struct router *rt, const char *const *want, size_t n)
{
    for (size_t i = 0; i < n && i < rt->nlog; i++)
        assert_string_equal(rt->log[i], want[i]);
    assert_int_equal(rt->nlog, n);
}

#define ASSERT_LOG(rt, ...)                                                                        \
    do {                                                                                           \
        const char *const want_[] = {__VA_ARGS__};                                                 \
        assert_log(rt, want_, sizeof want_ / sizeof want_[0]);                                     \
    } while (0)

static void test_ensure_sets_existing_item(void **state)
{
    (void)state;
    struct router rt = {0};
    seed(&rt, "/user", "comment", "tikgate:api-user");
    struct job_plan p = {0};
    struct job_cmd *c = job_plan_add(&p, JOB_ENSURE, "/user", "comment", "tikgate:api-user");
    job_cmd_arg(c, "name", "tikgate-api");
    job_cmd_arg(c, "password", "s3cret");
    char err[256];
    assert_int_equal(push(&rt, &p, err, sizeof err), 0);
    ASSERT_LOG(&rt, "/user/print =.proplist=.id ?comment=tikgate:api-user",
               "/user/set =.id=*1 =name=tikgate-api =password=s3cret");
    assert_string_equal(item_get(&rt.items[0], "password"), "s3cret");
    job_plan_release(&p);
}

static void test_ensure_adds_missing_item(void **state)
{
    (void)state;
    struct router rt = {0};
    struct job_plan p = {0};
    struct job_cmd *c = job_plan_add(&p, JOB_ENSURE, "/user", "comment", "tikgate:api-user");
    job_cmd_arg(c, "name", "tikgate-api");
    char err[256];
    assert_int_equal(push(&rt, &p, err, sizeof err), 0);
    ASSERT_LOG(&rt, "/user/print =.proplist=.id ?comment=tikgate:api-user",
               "/user/add =name=tikgate-api");
    assert_int_equal(rt.nitems, 1);
    job_plan_release(&p);
}

static void test_remove_joins_every_match(void **state)
{
    (void)state;
    struct router rt = {0};
    seed(&rt, "/ip/firewall/nat", "comment", "tikgate:forward:a");
    seed(&rt, "/ip/firewall/nat", "comment", "other");
    seed(&rt, "/ip/firewall/nat", "comment", "tikgate:forward:a");
    struct job_plan p = {0};
    job_plan_add(&p, JOB_REMOVE, "/ip firewall nat", "comment", "tikgate:forward:a");
    /* nothing matches: no remove sentence at all */
    job_plan_add(&p, JOB_REMOVE, "/ip firewall nat", "comment", "tikgate:forward:none");
    char err[256];
    assert_int_equal(push(&rt, &p, err, sizeof err), 0);
    ASSERT_LOG(&rt, "/ip/firewall/nat/print =.proplist=.id ?comment=tikgate:forward:a",
               "/ip/firewall/nat/remove =.id=*1,*3",
               "/ip/firewall/nat/print =.proplist=.id ?comment=tikgate:forward:none");
    assert_int_equal(rt.nitems, 1);
    assert_string_equal(item_get(&rt.items[0], "comment"), "other");
    job_plan_release(&p);
}

static void test_place_before_resolves_first_id(void **state)
{
    (void)state;
    struct router rt = {0};
    /* the fasttrack dummy rule (dynamic) comes first on a default v7 router: never before it */
    seed(&rt, "/ip/firewall/filter", "dynamic", "true");
    seed(&rt, "/ip/firewall/filter", "comment", "defconf");
    seed(&rt, "/ip/firewall/filter", "comment", "defconf2");
    struct job_plan p = {0};
    struct job_cmd *c = job_plan_add(&p, JOB_ADD, "/ip firewall filter", NULL, NULL);
    job_cmd_arg(c, "chain", "input");
    job_cmd_arg(c, "place-before", JOB_PLACE_TOP);
    job_cmd_arg(c, "comment", "tikgate:mgmt");
    char err[256];
    assert_int_equal(push(&rt, &p, err, sizeof err), 0);
    ASSERT_LOG(&rt, "/ip/firewall/filter/print =.proplist=.id ?dynamic=false",
               "/ip/firewall/filter/add =chain=input =place-before=*2 =comment=tikgate:mgmt");
    job_plan_release(&p);
}

static void test_place_before_on_empty_menu_is_dropped(void **state)
{
    (void)state;
    struct router rt = {0};
    struct job_plan p = {0};
    struct job_cmd *c = job_plan_add(&p, JOB_ADD, "/ip firewall filter", NULL, NULL);
    job_cmd_arg(c, "chain", "input");
    job_cmd_arg(c, "place-before", JOB_PLACE_TOP);
    char err[256];
    assert_int_equal(push(&rt, &p, err, sizeof err), 0);
    ASSERT_LOG(&rt, "/ip/firewall/filter/print =.proplist=.id ?dynamic=false",
               "/ip/firewall/filter/add =chain=input");
    job_plan_release(&p);
}

static void test_add_once(void **state)
{
    (void)state;
    struct router rt = {0};
    seed(&rt, "/user/group", "name", "tikgate-ro");
    struct job_plan p = {0};
    struct job_cmd *c = job_plan_add(&p, JOB_ADD_ONCE, "/user group", "name", "tikgate-ro");
    job_cmd_arg(c, "name", "tikgate-ro");
    c = job_plan_add(&p, JOB_ADD_ONCE, "/user group", "name", "tikgate-x");
    job_cmd_arg(c, "name", "tikgate-x");
    char err[256];
    assert_int_equal(push(&rt, &p, err, sizeof err), 0);
    ASSERT_LOG(&rt, "/user/group/print =.proplist=.id ?name=tikgate-ro",
               "/user/group/print =.proplist=.id ?name=tikgate-x",
               "/user/group/add =name=tikgate-x");
    assert_int_equal(rt.nitems, 2);
    job_plan_release(&p);
}

static void test_trap_stops_the_plan_with_the_message(void **state)
{
    (void)state;
    struct router rt = {0};
    struct job_plan p = {0};
    struct job_cmd *c = job_plan_add(&p, JOB_ADD, "/trapme", NULL, NULL);
    job_cmd_arg(c, "name", "x");
    c = job_plan_add(&p, JOB_ADD, "/user", NULL, NULL);
    job_cmd_arg(c, "name", "never");
    char err[256];
    assert_int_equal(push(&rt, &p, err, sizeof err), -EREMOTEIO);
    assert_string_equal(err, "/trapme/add: failure: refused for the test");
    ASSERT_LOG(&rt, "/trapme/add =name=x");
    assert_int_equal(rt.nitems, 0);
    job_plan_release(&p);
}

static void test_set_without_match_changes_nothing(void **state)
{
    (void)state;
    struct router rt = {0};
    struct job_plan p = {0};
    struct job_cmd *c = job_plan_add(&p, JOB_SET, "/ip service", "name", "telnet");
    job_cmd_arg(c, "disabled", "yes");
    char err[256];
    assert_int_equal(push(&rt, &p, err, sizeof err), 0);
    ASSERT_LOG(&rt, "/ip/service/print =.proplist=.id ?name=telnet");
    job_plan_release(&p);
}

static void test_reboot_that_drops_the_connection_succeeds(void **state)
{
    (void)state;
    struct router rt = {0};
    struct job_plan p = {0};
    job_plan_add(&p, JOB_REBOOT, "/system", NULL, NULL);
    char err[256];
    /* rebooting, not done: the dispatcher waits for the router to come back */
    assert_int_equal(push(&rt, &p, err, sizeof err), JOB_PUSH_REBOOTING);
    ASSERT_LOG(&rt, "/system/reboot");
    job_plan_release(&p);
}

static void test_script_goes_to_execute(void **state)
{
    (void)state;
    struct router rt = {0};
    struct job_plan p = {0};
    struct job_cmd *c = job_plan_add(&p, JOB_SCRIPT, "", NULL, NULL);
    job_cmd_arg(c, "source", ":log info hello");
    char err[256];
    assert_int_equal(push(&rt, &p, err, sizeof err), 0);
    ASSERT_LOG(&rt,
               "/execute =script=:log info hello\n:put \"" JOB_SCRIPT_OK_MARK "\" =as-string=");
    job_plan_release(&p);
}

/* A script that stops midway is a failure even when the router answers !done. */
static void test_script_error_is_a_failure(void **state)
{
    (void)state;
    struct router rt = {0};
    struct job_plan p = {0};
    struct job_cmd *c = job_plan_add(&p, JOB_SCRIPT, "", NULL, NULL);
    job_cmd_arg(c, "source", ":error \"boom\"");
    char err[256];
    assert_int_equal(push(&rt, &p, err, sizeof err), -EREMOTEIO);
    assert_non_null(strstr(err, "stopped before its end"));
    job_plan_release(&p);
}

/* /ip service is set by name: 7.19's connection entries share the name (fidelity #1). */
static void test_service_set_by_name(void **state)
{
    (void)state;
    struct router rt = {0};
    struct job_plan p = {0};
    struct job_cmd *c = job_plan_add(&p, JOB_SET, "/ip service", "name", "api");
    c->by_name = true;
    job_cmd_arg(c, "port", "8728");
    char err[256];
    push(&rt, &p, err, sizeof err);
    ASSERT_LOG(&rt, "/ip/service/set =numbers=api =port=8728");
    job_plan_release(&p);
}

/* The edge's side of a re-key, recorded: "begin K", "wait K", "commit K", ... */
struct edge_calls {
    char log[8][64];
    size_t n;
    int wait_result;
};

static void edge_log(void *ctx, const char *what, const char *key)
{
    struct edge_calls *e = ctx;
    CHECK(e->n < 8);
    snprintf(e->log[e->n++], sizeof e->log[0], "%s %.8s", what, key);
}
static int e_begin(void *ctx, const char *k)
{
    edge_log(ctx, "begin", k);
    return 0;
}
static int e_wait(void *ctx, const char *k)
{
    edge_log(ctx, "wait", k);
    return ((struct edge_calls *)ctx)->wait_result;
}
static int e_commit(void *ctx, const char *k)
{
    edge_log(ctx, "commit", k);
    return 0;
}
static void e_abort(void *ctx, const char *k)
{
    edge_log(ctx, "abort", k);
}
static void e_rollback(void *ctx, const char *k)
{
    edge_log(ctx, "rollback", k);
}
static bool e_current(void *ctx, const char *k)
{
    (void)ctx;
    (void)k;
    return false;
}

static void rekey_plan(struct job_plan *p)
{
    struct job_cmd *c = job_plan_add(p, JOB_WG_REKEY, "/interface wireguard", NULL, NULL);
    job_cmd_arg(c, "public-key", "EDGEPUB");
    job_cmd_arg(c, "endpoint-address", "198.51.100.1");
    job_cmd_arg(c, "endpoint-port", "51820");
    job_cmd_arg(c, "allowed-address", "100.64.0.1/32");
    job_cmd_arg(c, "persistent-keepalive", "25s");
    job_cmd_arg(c, "src-address", "100.64.0.1");
}

/* A router as the bootstrap leaves it: the interface, its edge peer, the /32, the accept. */
static void rekey_router(struct router *rt)
{
    seed(rt, "/interface/wireguard", "comment", "tikgate:mgmt");
    item_set(&rt->items[0], "name", "tikgate-wg");
    item_set(&rt->items[0], "public-key", "OLDKEY");
    seed(rt, "/interface/wireguard/peers", "comment", "tikgate:mgmt:edge");
    seed(rt, "/ip/address", "comment", "tikgate:mgmt:address");
    item_set(&rt->items[2], "interface", "tikgate-wg");
}

static void test_rekey_make_before_break(void **state)
{
    (void)state;
    struct router rt = {0};
    rekey_router(&rt);
    struct job_plan p = {0};
    rekey_plan(&p);
    struct edge_calls e = {0};
    struct job_push_hooks h = {&e, e_begin, e_wait, e_commit, e_abort, e_current, e_rollback};
    char err[256];
    assert_int_equal(push_with(&rt, &p, &h, err, sizeof err), 0);
    /* the edge: the new key added, its handshake awaited, then the switch; nothing else */
    assert_int_equal(e.n, 3);
    assert_string_equal(e.log[0], "begin mrgYbg/V");
    assert_string_equal(e.log[1], "wait mrgYbg/V");
    assert_string_equal(e.log[2], "commit mrgYbg/V");
    /* the router: the new interface, peer and accept before the commit; the /32's move right
     * after it (its .id looked up before); then the old interface goes, the new one is renamed */
    const char *const want[] = {
        "/interface/wireguard/add =name=tikgate-wg-next =comment=tikgate:mgmt:next",
        "/interface/wireguard/peers/add =interface=tikgate-wg-next =public-key=EDGEPUB "
        "=endpoint-address=198.51.100.1 =endpoint-port=51820 =allowed-address=100.64.0.1/32 "
        "=persistent-keepalive=25s =comment=tikgate:mgmt:edge-next",
        "/ip/address/print =.proplist=.id ?comment=tikgate:mgmt:address",
        "/ip/address/set =.id=*3 =interface=tikgate-wg-next",
        "/interface/wireguard/peers/remove =.id=*2",
        "/interface/wireguard/remove =.id=*1",
        "/interface/wireguard/set =.id=*4 =name=tikgate-wg =comment=tikgate:mgmt",
        "/interface/wireguard/peers/set =.id=*5 =comment=tikgate:mgmt:edge",
    };
    size_t k = 0;
    for (size_t i = 0; i < rt.nlog && k < sizeof want / sizeof want[0]; i++)
        if (!strcmp(rt.log[i], want[k]))
            k++;
    assert_int_equal(k, sizeof want / sizeof want[0]); /* all of them, in this order */
    /* what is left: one interface with the new key and the old name, its peer, the /32 on it */
    assert_int_equal(rt.nitems, 3);
    const struct item *wg = find_id(&rt, "/interface/wireguard", "*4");
    const struct item *addr = find_id(&rt, "/ip/address", "*3");
    const struct item *peer = find_id(&rt, "/interface/wireguard/peers", "*5");
    assert_non_null(wg);
    assert_non_null(addr);
    assert_non_null(peer);
    assert_string_equal(item_get(wg, "public-key"), NEXT_PUB);
    assert_string_equal(item_get(wg, "name"), "tikgate-wg");
    /* (on RouterOS, and in tikgate-sim, the address's interface follows the rename) */
    assert_string_equal(item_get(addr, "interface"), "tikgate-wg-next");
    assert_string_equal(item_get(peer, "comment"), "tikgate:mgmt:edge");
    job_plan_release(&p);
}

/* No handshake with the new key: the router's second interface goes, the old key stays. */
static void test_rekey_without_handshake_keeps_the_old_key(void **state)
{
    (void)state;
    struct router rt = {0};
    rekey_router(&rt);
    struct job_plan p = {0};
    rekey_plan(&p);
    struct edge_calls e = {.wait_result = -ETIMEDOUT};
    struct job_push_hooks h = {&e, e_begin, e_wait, e_commit, e_abort, e_current, e_rollback};
    char err[256];
    assert_int_equal(push_with(&rt, &p, &h, err, sizeof err), -ETIMEDOUT);
    assert_non_null(strstr(err, "did not complete a handshake"));
    assert_int_equal(e.n, 3);
    assert_string_equal(e.log[2], "abort mrgYbg/V");
    assert_int_equal(rt.nitems, 3); /* as before: the old interface, its peer, the /32 */
    assert_string_equal(item_get(find_id(&rt, "/interface/wireguard", "*1"), "public-key"),
                        "OLDKEY");
    assert_string_equal(item_get(find_id(&rt, "/ip/address", "*3"), "interface"), "tikgate-wg");
    /* without the edge's hooks there is no re-key at all */
    memset(&rt, 0, sizeof rt);
    assert_int_equal(push(&rt, &p, err, sizeof err), -ENOTSUP);
    job_plan_release(&p);
}

static void test_parse_uptime(void **state)
{
    (void)state;
    long v = -1;
    assert_int_equal(job_parse_uptime("00:00:07", &v), 0);
    assert_int_equal(v, 7);
    assert_int_equal(job_parse_uptime("1w2d03:04:05", &v), 0);
    assert_int_equal(v, 604800 + 2 * 86400 + 3 * 3600 + 4 * 60 + 5);
    assert_int_equal(job_parse_uptime("3m25s", &v), 0);
    assert_int_equal(v, 205);
    assert_int_equal(job_parse_uptime("", &v), -EINVAL);
    assert_int_equal(job_parse_uptime("12:x", &v), -EINVAL);
    assert_int_equal(job_parse_uptime("1:2", &v), -EINVAL);
}

static void test_menu_api_path(void **state)
{
    (void)state;
    char out[64];
    job_menu_api_path("/ip firewall filter", out, sizeof out);
    assert_string_equal(out, "/ip/firewall/filter");
    job_menu_api_path("/ip firewall filter", out, 8);
    assert_string_equal(out, "/ip/fir");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ensure_sets_existing_item),
        cmocka_unit_test(test_ensure_adds_missing_item),
        cmocka_unit_test(test_remove_joins_every_match),
        cmocka_unit_test(test_place_before_resolves_first_id),
        cmocka_unit_test(test_place_before_on_empty_menu_is_dropped),
        cmocka_unit_test(test_add_once),
        cmocka_unit_test(test_trap_stops_the_plan_with_the_message),
        cmocka_unit_test(test_set_without_match_changes_nothing),
        cmocka_unit_test(test_reboot_that_drops_the_connection_succeeds),
        cmocka_unit_test(test_script_goes_to_execute),
        cmocka_unit_test(test_script_error_is_a_failure),
        cmocka_unit_test(test_service_set_by_name),
        cmocka_unit_test(test_rekey_make_before_break),
        cmocka_unit_test(test_rekey_without_handshake_keeps_the_old_key),
        cmocka_unit_test(test_parse_uptime),
        cmocka_unit_test(test_menu_api_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
