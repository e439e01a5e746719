/*
 * test_edges.c - sites bound to an edge node (compare-and-set, load, orphans, the VPN's peers
 * of one edge) and live grants following their site to another edge (kept port, a new one
 * only where allowed, never a port two live grants share).
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

#include <cmocka.h>

#include "alloc.h"
#include "helpers.h"
#include "strlist.h"
#include "timefmt.h"
#include "tunnel.h"
/* clang-format on */

#define KEY_A "mrgYbg/VijsHzQnIf1xqVsqMqfYanVEnnA1ugIHnpBY="
#define KEY_B "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="

static void test_set_edge_is_compare_and_set(void **state)
{
    struct fx *f = *state;
    char a[UUID_STR_LEN], b[UUID_STR_LEN];
    fx_site(f, NULL, "10.99.0.2", true, a, NULL);
    fx_site(f, NULL, "10.99.0.3", true, b, NULL);
    assert_int_equal(store_site_set_edge(f->s, a, NULL, "edge-1"), 0);
    /* a second node that also saw it unbound loses */
    assert_int_equal(store_site_set_edge(f->s, a, NULL, "edge-2"), -ESTALE);
    assert_int_equal(store_site_set_edge(f->s, a, "edge-2", "edge-1"), -ESTALE);
    assert_int_equal(
        store_site_set_edge(f->s, "00000000-0000-7000-8000-000000000000", NULL, "edge-1"), -ENOENT);
    struct site s;
    assert_int_equal(store_site_get(f->s, f->tenant, a, &s), 0);
    assert_string_equal(s.edge_node, "edge-1");
    site_release(&s);
    assert_int_equal(store_site_get(f->s, f->tenant, b, &s), 0);
    assert_string_equal(s.edge_node, "");
    site_release(&s);

    long n = -1;
    assert_int_equal(store_edge_site_count(f->s, "edge-1", &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(store_site_set_edge(f->s, b, NULL, "edge-1"), 0);
    assert_int_equal(store_site_set_edge(f->s, a, "edge-1", "edge-2"), 0);
    assert_int_equal(store_edge_site_count(f->s, "edge-1", &n), 0);
    assert_int_equal(n, 1);
    struct strlist ids = {0};
    assert_int_equal(store_edge_sites(f->s, "edge-2", 10, &ids), 0);
    assert_int_equal(ids.n, 1);
    assert_string_equal(ids.items[0], a);
    strlist_release(&ids);
    assert_int_equal(store_edge_sites(f->s, "edge-9", 10, &ids), 0);
    assert_int_equal(ids.n, 0);
    strlist_release(&ids);
}

static void test_orphans_and_peers_of_one_edge(void **state)
{
    struct fx *f = *state;
    uint32_t first, last;
    assert_int_equal(tunnel_pool_parse("100.64.0.0/29", &first, &last), 0);
    char a[UUID_STR_LEN], b[UUID_STR_LEN], x[UUID_STR_LEN], addr[16];
    fx_site(f, NULL, NULL, false, a, NULL);
    fx_site(f, NULL, NULL, false, b, NULL);
    fx_site(f, NULL, "10.99.0.7", true, x, NULL); /* external: never an orphan of the VPN */
    assert_int_equal(store_site_tunnel_assign(f->s, a, KEY_A, first + 1, last, addr), 0);
    assert_int_equal(store_site_tunnel_assign(f->s, b, KEY_B, first + 1, last, addr), 0);
    assert_int_equal(store_site_set_edge(f->s, b, NULL, "edge-2"), 0);
    int n = -1;
    assert_int_equal(store_edge_adopt_orphans(f->s, "edge-1", &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(store_edge_adopt_orphans(f->s, "edge-1", &n), 0);
    assert_int_equal(n, 0);

    struct store_vpn_peer *peers = NULL;
    size_t np = 0;
    assert_int_equal(store_vpn_peers(f->s, "edge-1", &peers, &np), 0);
    assert_int_equal(np, 1);
    assert_string_equal(peers[0].site_id, a);
    free(peers);
    assert_int_equal(store_vpn_peers(f->s, "edge-2", &peers, &np), 0);
    assert_int_equal(np, 1);
    assert_string_equal(peers[0].site_id, b);
    free(peers);
    assert_int_equal(store_vpn_peers(f->s, NULL, &peers, &np), 0);
    assert_int_equal(np, 2);
    free(peers);
    struct site s;
    assert_int_equal(store_site_get(f->s, f->tenant, x, &s), 0);
    assert_string_equal(s.edge_node, "");
    site_release(&s);

    /* a move make-before-break: a goes to edge-2, edge-1 keeps it as peer until settled */
    assert_int_equal(store_site_set_edge(f->s, a, "edge-1", "edge-2"), 0);
    assert_int_equal(store_site_edge_prev(f->s, a, "edge-1", 5000), 0);
    assert_int_equal(store_vpn_peers(f->s, "edge-1", &peers, &np), 0);
    assert_int_equal(np, 1);
    assert_true(peers[0].handover);
    assert_false(peers[0].settling);
    assert_false(peers[0].waiting); /* edge-1 is not the one it waits for */
    free(peers);
    assert_int_equal(store_vpn_peers(f->s, "edge-2", &peers, &np), 0);
    assert_int_equal(np, 2);
    for (size_t i = 0; i < np; i++) {
        assert_false(peers[i].handover);
        assert_int_equal(peers[i].settling, strcmp(peers[i].site_id, a) == 0);
        assert_int_equal(peers[i].waiting, strcmp(peers[i].site_id, a) == 0);
    }
    free(peers);
    /* its pulled jobs wait for edge-2's peer, until the deadline (5000 ms here) at most */
    char job_id[UUID_STR_LEN];
    fx_job(f, a, false, true, "/log info re-point", NULL, job_id);
    struct job j;
    assert_int_equal(store_job_claim_pull(f->s, a, 4999, 60000, &j), -ENOENT);
    assert_int_equal(store_site_edge_peer_ready(f->s, a, "edge-1"), -ENOENT); /* not its edge */
    assert_int_equal(store_site_edge_peer_ready(f->s, a, "edge-2"), 0);
    assert_int_equal(store_site_edge_peer_ready(f->s, a, "edge-2"), -ENOENT); /* done already */
    assert_int_equal(store_vpn_peers(f->s, "edge-2", &peers, &np), 0);
    for (size_t i = 0; i < np; i++)
        assert_false(peers[i].waiting);
    free(peers);
    assert_int_equal(store_job_claim_pull(f->s, a, 4999, 60000, &j), 0);
    assert_string_equal(j.id, job_id);
    job_release(&j);
    assert_int_equal(store_site_edge_settled(f->s, a, "edge-1"), -ENOENT); /* not its edge */
    assert_int_equal(store_site_edge_settled(f->s, a, "edge-2"), 0);
    assert_int_equal(store_site_edge_settled(f->s, a, "edge-2"), -ENOENT); /* done already */
    assert_int_equal(store_vpn_peers(f->s, "edge-1", &peers, &np), 0);
    assert_int_equal(np, 0);
    free(peers);
}

static void make_grant(struct grant *g, const char *site, enum grant_kind kind, const char *entry)
{
    memset(g, 0, sizeof *g);
    uuid_v7(g->id);
    memcpy(g->site_id, site, UUID_STR_LEN);
    g->kind = kind;
    g->entry_point = xstrdup(entry);
    if (kind == GRANT_ACCESS) {
        grant_generate_credential(g->username);
        grant_generate_credential(g->password);
        snprintf(g->access_type, sizeof g->access_type, "winbox");
    } else {
        snprintf(g->dst_address, sizeof g->dst_address, "192.168.88.10");
        g->dst_port = 80;
    }
    snprintf(g->allow_only_cidr, sizeof g->allow_only_cidr, "8.8.8.8/32");
    g->created_at = time_now();
    g->expires_at_ms = time_now_ms() + 3600000;
    g->created_by = xstrdup("test");
}

static void test_rebind(void **state)
{
    struct fx *f = *state;
    char site[UUID_STR_LEN];
    fx_site(f, NULL, "10.99.0.2", true, site, NULL);
    struct grant a, b, c;
    make_grant(&a, site, GRANT_ACCESS, "edge-1.example");
    make_grant(&b, site, GRANT_FORWARD, "edge-2.example");
    make_grant(&c, site, GRANT_FORWARD, "edge-1.example");
    assert_int_equal(store_grant_insert(f->s, &a, 41000, 41000), 0);
    assert_int_equal(store_grant_insert(f->s, &b, 41000, 41000), 0);
    assert_int_equal(store_grant_insert(f->s, &c, 41001, 41001), 0);

    /* the forward keeps its port or does not move */
    struct store_grant_rebind rb = {.grant_id = c.id,
                                    .entry_point = "edge-2.example",
                                    .port_lo = 41000,
                                    .port_hi = 41005,
                                    .any_port = false};
    int port = 0;
    assert_int_equal(store_grant_rebind(f->s, &rb, &port), 0);
    assert_int_equal(port, 41001);
    /* a's port is b's on edge-2: a forward could not follow, an access grant gets a new one */
    rb.grant_id = a.id;
    assert_int_equal(store_grant_rebind(f->s, &rb, &port), -EADDRINUSE);
    rb.any_port = true;
    assert_int_equal(store_grant_rebind(f->s, &rb, &port), 0);
    assert_true(port >= 41002 && port <= 41005);
    struct grant got;
    assert_int_equal(store_grant_get_any(f->s, a.id, &got), 0);
    assert_string_equal(got.entry_point, "edge-2.example");
    assert_int_equal(got.port, port);
    grant_release(&got);
    /* a full range: nothing changes */
    rb.grant_id = b.id;
    rb.entry_point = "edge-1.example";
    rb.port_lo = rb.port_hi = 41000; /* free on edge-1 now: b keeps 41000 */
    assert_int_equal(store_grant_rebind(f->s, &rb, &port), 0);
    rb.grant_id = c.id;
    rb.entry_point = "edge-1.example";
    assert_int_equal(store_grant_rebind(f->s, &rb, &port), 0); /* 41001 is free there again */
    rb.grant_id = a.id;
    rb.port_lo = rb.port_hi = 41000; /* taken by b there, and a's 4100x is not in use: keeps */
    assert_int_equal(store_grant_rebind(f->s, &rb, &port), 0);
    assert_true(port >= 41002);
    assert_int_equal(store_grant_teardown(f->s, a.id, true, NULL), 0);
    assert_int_equal(store_grant_rebind(f->s, &rb, &port), -EBUSY);
    rb.grant_id = "00000000-0000-7000-8000-000000000000";
    assert_int_equal(store_grant_rebind(f->s, &rb, &port), -ENOENT);
    grant_release(&a);
    grant_release(&b);
    grant_release(&c);
}

static void test_rebind_full_range(void **state)
{
    struct fx *f = *state;
    char site[UUID_STR_LEN];
    fx_site(f, NULL, "10.99.0.2", true, site, NULL);
    struct grant a, b;
    make_grant(&a, site, GRANT_ACCESS, "edge-1.example");
    make_grant(&b, site, GRANT_ACCESS, "edge-2.example");
    assert_int_equal(store_grant_insert(f->s, &a, 41000, 41000), 0);
    assert_int_equal(store_grant_insert(f->s, &b, 41000, 41000), 0);
    struct store_grant_rebind rb = {.grant_id = a.id,
                                    .entry_point = "edge-2.example",
                                    .port_lo = 41000,
                                    .port_hi = 41000,
                                    .any_port = true};
    int port = 0;
    assert_int_equal(store_grant_rebind(f->s, &rb, &port), -EADDRNOTAVAIL);
    struct grant got;
    assert_int_equal(store_grant_get_any(f->s, a.id, &got), 0);
    assert_string_equal(got.entry_point, "edge-1.example");
    grant_release(&got);
    grant_release(&a);
    grant_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_set_edge_is_compare_and_set, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_orphans_and_peers_of_one_edge, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_rebind, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_rebind_full_range, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
