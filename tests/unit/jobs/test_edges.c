/*
 * test_edges.c - picking a site's edge (alive, with the edge role, a VPN when needed, the
 * region first, then the fewest sites), binding it once, and moving a site with its grants.
 */
/* cmocka.h needs setjmp.h, stdarg.h and stddef.h first: keep this order. */
/* clang-format off */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "alloc.h"
#include "edges.h"
#include "helpers.h"
#include "timefmt.h"
/* clang-format on */

static void node(struct fx *f, const char *name, const char *roles, const char *region,
                 const char *ep, bool vpn)
{
    struct store_node n;
    memset(&n, 0, sizeof n);
    snprintf(n.name, sizeof n.name, "%s", name);
    snprintf(n.roles, sizeof n.roles, "%s", roles);
    snprintf(n.region, sizeof n.region, "%s", region);
    snprintf(n.entry_point, sizeof n.entry_point, "%s", ep);
    if (vpn) {
        snprintf(n.wg_endpoint, sizeof n.wg_endpoint, "%s:51820", ep);
        snprintf(n.tunnel_pool, sizeof n.tunnel_pool, "100.64.0.0/16");
    }
    n.port_lo = 41000;
    n.port_hi = 41999;
    assert_int_equal(store_node_register(f->s, &n), 0);
}

static void test_role_and_endpoint(void **state)
{
    (void)state;
    struct store_node n;
    memset(&n, 0, sizeof n);
    snprintf(n.roles, sizeof n.roles, "api,scheduler,edge");
    assert_true(jobs_node_has_role(&n, "edge"));
    assert_true(jobs_node_has_role(&n, "api"));
    assert_false(jobs_node_has_role(&n, "sched"));
    assert_false(jobs_node_has_role(&n, "dispatcher"));
    char host[256];
    unsigned port = 0;
    assert_int_equal(jobs_edge_wg_endpoint(&n, host, &port), -EINVAL);
    snprintf(n.wg_endpoint, sizeof n.wg_endpoint, "edge.example.net:51820");
    assert_int_equal(jobs_edge_wg_endpoint(&n, host, &port), 0);
    assert_string_equal(host, "edge.example.net");
    assert_int_equal(port, 51820);
    snprintf(n.wg_endpoint, sizeof n.wg_endpoint, "[2001:db8::1]:443");
    assert_int_equal(jobs_edge_wg_endpoint(&n, host, &port), 0);
    assert_string_equal(host, "2001:db8::1");
    assert_int_equal(port, 443);
    snprintf(n.wg_endpoint, sizeof n.wg_endpoint, "edge:0");
    assert_int_equal(jobs_edge_wg_endpoint(&n, host, &port), -EINVAL);
    snprintf(n.wg_endpoint, sizeof n.wg_endpoint, ":51820");
    assert_int_equal(jobs_edge_wg_endpoint(&n, host, &port), -EINVAL);
}

static void test_pick(void **state)
{
    struct fx *f = *state;
    struct jobs_edge_env env = {.store = f->s, .dead_after_ms = 60000};
    struct store_node got;
    assert_int_equal(jobs_edge_pick(&env, NULL, false, NULL, &got), -ENOENT);
    node(f, "worker", "api,scheduler,dispatcher", "eu", "", false);
    assert_int_equal(jobs_edge_pick(&env, NULL, false, NULL, &got), -ENOENT);
    node(f, "edge-b", "edge", "us", "b.example.net", true);
    node(f, "edge-a", "api,edge", "eu", "a.example.net", false);
    /* no region: the fewest sites, then the name */
    assert_int_equal(jobs_edge_pick(&env, NULL, false, NULL, &got), 0);
    assert_string_equal(got.name, "edge-a");
    assert_string_equal(got.entry_point, "a.example.net");
    /* the region first; only edge-b has a VPN */
    assert_int_equal(jobs_edge_pick(&env, "us", false, NULL, &got), 0);
    assert_string_equal(got.name, "edge-b");
    assert_int_equal(jobs_edge_pick(&env, "eu", true, NULL, &got), 0);
    assert_string_equal(got.name, "edge-b");
    assert_int_equal(jobs_edge_pick(&env, "eu", false, "edge-a", &got), 0);
    assert_string_equal(got.name, "edge-b");
    /* load: edge-a fronts a site now, so edge-b is next */
    char site[UUID_STR_LEN];
    fx_site(f, NULL, "10.99.0.2", true, site, NULL);
    struct site s;
    assert_int_equal(store_site_get(f->s, f->tenant, site, &s), 0);
    assert_int_equal(jobs_site_edge(&env, &s, false, &got), 0);
    assert_string_equal(got.name, "edge-a");
    assert_string_equal(s.edge_node, "edge-a");
    assert_int_equal(jobs_edge_pick(&env, NULL, false, NULL, &got), 0);
    assert_string_equal(got.name, "edge-b");
    /* bound once: asked again, the same edge even though another is less loaded now */
    assert_int_equal(jobs_site_edge(&env, &s, false, &got), 0);
    assert_string_equal(got.name, "edge-a");
    site_release(&s);
    /* a dead edge is never picked, and a site bound to it says so */
    env.dead_after_ms = 1;
    struct timespec ts = {0, 20 * 1000000};
    nanosleep(&ts, NULL);
    assert_int_equal(jobs_edge_pick(&env, NULL, false, NULL, &got), -ENOENT);
    assert_int_equal(store_site_get(f->s, f->tenant, site, &s), 0);
    assert_int_equal(jobs_site_edge(&env, &s, false, &got), 0);
    assert_false(got.alive);
    site_release(&s);
}

static void test_move(void **state)
{
    struct fx *f = *state;
    struct jobs_edge_env env = {.store = f->s, .dead_after_ms = 60000};
    node(f, "edge-a", "edge", "", "a.example.net", false);
    node(f, "edge-b", "edge", "", "b.example.net", false);
    char site[UUID_STR_LEN];
    fx_site(f, NULL, "10.99.0.2", true, site, NULL);
    struct jobs_move_result res;
    /* unbound: picked */
    assert_int_equal(jobs_site_move(&env, site, NULL, NULL, "test", &res), 0);
    assert_string_equal(res.from, "");
    assert_string_equal(res.to, "edge-a");
    struct grant g;
    memset(&g, 0, sizeof g);
    uuid_v7(g.id);
    memcpy(g.site_id, site, UUID_STR_LEN);
    g.kind = GRANT_ACCESS;
    g.entry_point = xstrdup("a.example.net");
    grant_generate_credential(g.username);
    grant_generate_credential(g.password);
    snprintf(g.access_type, sizeof g.access_type, "winbox");
    snprintf(g.allow_only_cidr, sizeof g.allow_only_cidr, "8.8.8.8/32");
    g.created_at = time_now();
    g.expires_at_ms = time_now_ms() + 600000;
    g.created_by = xstrdup("test");
    assert_int_equal(store_grant_insert(f->s, &g, 41000, 41999), 0);
    assert_int_equal(jobs_site_move(&env, site, "edge-a", NULL, "test", &res), -EALREADY);
    assert_int_equal(jobs_site_move(&env, site, "edge-z", NULL, "test", &res), -EHOSTDOWN);
    assert_int_equal(jobs_site_move(&env, site, NULL, "edge-b", "test", &res), -ESTALE);
    assert_int_equal(jobs_site_move(&env, site, NULL, "edge-a", "test", &res), 0);
    assert_string_equal(res.from, "edge-a");
    assert_string_equal(res.to, "edge-b");
    assert_int_equal(res.rebound, 1);
    struct grant got;
    assert_int_equal(store_grant_get_any(f->s, g.id, &got), 0);
    assert_string_equal(got.entry_point, "b.example.net");
    assert_int_equal(got.port, g.port);
    grant_release(&got);
    struct site_event *ev = NULL;
    size_t n = 0;
    assert_int_equal(store_site_events_list(f->s, f->tenant, site, 10, &ev, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(ev[0].kind, "moved");
    assert_non_null(strstr(ev[0].message, "from edge-a to edge-b by test"));
    free(ev);
    grant_release(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_role_and_endpoint),
        cmocka_unit_test_setup_teardown(test_pick, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_move, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
