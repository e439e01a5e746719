/* test_nodes.c - the node registry (migration 0010): register, heartbeat, list, alive/dead. */
/* cmocka.h needs these headers first */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include "helpers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void node(struct store_node *n, const char *name, const char *roles, const char *ep)
{
    memset(n, 0, sizeof *n);
    snprintf(n->name, sizeof n->name, "%s", name);
    snprintf(n->roles, sizeof n->roles, "%s", roles);
    snprintf(n->region, sizeof n->region, "eu-west");
    snprintf(n->entry_point, sizeof n->entry_point, "%s", ep);
    if (ep[0]) {
        snprintf(n->wg_endpoint, sizeof n->wg_endpoint, "%s:51820", ep);
        snprintf(n->tunnel_pool, sizeof n->tunnel_pool, "100.64.0.0/16");
        n->port_lo = 40000;
        n->port_hi = 40999;
    }
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static void test_register_and_get(void **state)
{
    struct fx *f = *state;
    struct store_node n, got;
    assert_int_equal(store_node_get(f->s, "edge-1", 60000, &got), -ENOENT);
    node(&n, "edge-1", "api,edge", "edge1.example.net");
    assert_int_equal(store_node_register(f->s, &n), 0);
    assert_int_equal(store_node_get(f->s, "edge-1", 60000, &got), 0);
    assert_string_equal(got.name, "edge-1");
    assert_string_equal(got.roles, "api,edge");
    assert_string_equal(got.region, "eu-west");
    assert_string_equal(got.entry_point, "edge1.example.net");
    assert_string_equal(got.wg_endpoint, "edge1.example.net:51820");
    assert_string_equal(got.tunnel_pool, "100.64.0.0/16");
    assert_int_equal(got.port_lo, 40000);
    assert_int_equal(got.port_hi, 40999);
    assert_true(got.started_at_ms > 0);
    assert_true(got.heartbeat_at_ms == got.started_at_ms);
    assert_true(got.alive);

    /* A restart under the same name replaces what the node says of itself, no second row. */
    int64_t first_start = got.started_at_ms;
    sleep_ms(5);
    node(&n, "edge-1", "scheduler", "");
    assert_int_equal(store_node_register(f->s, &n), 0);
    assert_int_equal(store_node_get(f->s, "edge-1", 60000, &got), 0);
    assert_string_equal(got.roles, "scheduler");
    assert_string_equal(got.entry_point, "");
    assert_string_equal(got.wg_endpoint, "");
    assert_int_equal(got.port_lo, 0);
    assert_true(got.started_at_ms > first_start);
    struct store_node *all = NULL;
    size_t cnt = 0;
    assert_int_equal(store_node_list(f->s, 60000, &all, &cnt), 0);
    assert_int_equal(cnt, 1);
    free(all);
}

static void test_invalid(void **state)
{
    struct fx *f = *state;
    struct store_node n;
    node(&n, "", "api", "");
    assert_int_equal(store_node_register(f->s, &n), -EINVAL);
    node(&n, "x", "api", "");
    memset(n.region, 'r', sizeof n.region); /* not terminated */
    assert_int_equal(store_node_register(f->s, &n), -EINVAL);
    assert_int_equal(store_node_heartbeat(f->s, "nobody", NULL), -ENOENT);
}

static void test_heartbeat_and_death(void **state)
{
    struct fx *f = *state;
    struct store_node a, b, got;
    node(&a, "node-b", "dispatcher", "");
    node(&b, "node-a", "api,scheduler,dispatcher,edge", "a.example.net");
    assert_int_equal(store_node_register(f->s, &a), 0);
    assert_int_equal(store_node_register(f->s, &b), 0);
    assert_int_equal(store_node_get(f->s, "node-b", 60000, &got), 0);
    int64_t registered = got.heartbeat_at_ms;

    sleep_ms(400);
    /* node-b stays silent; node-a beats: its heartbeat moves on to the database's now. */
    int64_t now = 0;
    assert_int_equal(store_node_heartbeat(f->s, "node-a", &now), 0);
    assert_true(now >= registered + 300);
    assert_int_equal(store_node_get(f->s, "node-a", 60000, &got), 0);
    assert_true(got.heartbeat_at_ms == now);
    assert_true(got.heartbeat_at_ms > got.started_at_ms);

    /* Dead after 200 ms of silence: node-b is, node-a (just beaten) is not. Sorted by name. */
    struct store_node *all = NULL;
    size_t cnt = 0;
    assert_int_equal(store_node_list(f->s, 200, &all, &cnt), 0);
    assert_int_equal(cnt, 2);
    assert_string_equal(all[0].name, "node-a");
    assert_true(all[0].alive);
    assert_string_equal(all[1].name, "node-b");
    assert_false(all[1].alive);
    assert_string_equal(all[1].roles, "dispatcher");
    free(all);
    /* With a longer allowance both are alive. */
    assert_int_equal(store_node_list(f->s, 60000, &all, &cnt), 0);
    assert_int_equal(cnt, 2);
    assert_true(all[0].alive && all[1].alive);
    free(all);
    assert_int_equal(store_node_get(f->s, "node-b", 200, &got), 0);
    assert_false(got.alive);
    /* Its heartbeat brings it back. */
    assert_int_equal(store_node_heartbeat(f->s, "node-b", NULL), 0);
    assert_int_equal(store_node_get(f->s, "node-b", 200, &got), 0);
    assert_true(got.alive);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_register_and_get, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_invalid, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_heartbeat_and_death, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
