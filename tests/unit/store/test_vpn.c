/* test_vpn.c - the edge keypair (sealed), /32 allocation from the pool, peers, observations. */
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

#include "helpers.h"
#include "tunnel.h"
/* clang-format on */

#define PRIV "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk="
#define PUB "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="
#define KEY_A "mrgYbg/VijsHzQnIf1xqVsqMqfYanVEnnA1ugIHnpBY="
#define KEY_B "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

static void test_edge_keypair(void **state)
{
    struct fx *f = *state;
    struct store_vpn_edge fresh, got, other;
    char pub[TUNNEL_KEY_B64_LEN + 1];
    assert_int_equal(store_vpn_edge_public(f->s, "edge1", pub), -ENOENT);
    snprintf(fresh.private_key, sizeof fresh.private_key, "%s", PRIV);
    snprintf(fresh.public_key, sizeof fresh.public_key, "%s", PUB);
    assert_int_equal(store_vpn_edge_ensure(f->s, "edge1", &fresh, &got), 0);
    assert_string_equal(got.private_key, PRIV);
    /* A second start with a new key keeps the first one. */
    snprintf(other.private_key, sizeof other.private_key, "%s", KEY_A);
    snprintf(other.public_key, sizeof other.public_key, "%s", KEY_B);
    assert_int_equal(store_vpn_edge_ensure(f->s, "edge1", &other, &got), 0);
    assert_string_equal(got.private_key, PRIV);
    assert_string_equal(got.public_key, PUB);
    assert_int_equal(store_vpn_edge_public(f->s, "edge1", pub), 0);
    assert_string_equal(pub, PUB);
    assert_false(fx_files_contain(f, PRIV)); /* sealed at rest */
}

static void test_assign(void **state)
{
    struct fx *f = *state;
    uint32_t first, last;
    assert_int_equal(tunnel_pool_parse("100.64.0.0/29", &first, &last), 0); /* .1 - .6 */
    char a[UUID_STR_LEN], b[UUID_STR_LEN], c[UUID_STR_LEN], ext[UUID_STR_LEN], addr[16];
    fx_site(f, NULL, NULL, false, a, NULL);
    fx_site(f, NULL, NULL, false, b, NULL);
    fx_site(f, NULL, "100.64.0.3", false, ext, NULL); /* an external site typed .3 */
    fx_site(f, NULL, NULL, false, c, NULL);
    assert_int_equal(store_site_tunnel_assign(f->s, a, KEY_A, first + 1, last, addr), 0);
    assert_string_equal(addr, "100.64.0.2");
    assert_int_equal(store_site_tunnel_assign(f->s, b, KEY_A, first + 1, last, addr), -EEXIST);
    assert_int_equal(store_site_tunnel_assign(f->s, b, KEY_B, first + 1, last, addr), 0);
    assert_string_equal(addr, "100.64.0.4"); /* .3 is the external site's */
    /* A re-key keeps the address. */
    assert_int_equal(store_site_tunnel_assign(f->s, a, PUB, first + 1, last, addr), 0);
    assert_string_equal(addr, "100.64.0.2");
    struct site s;
    assert_int_equal(store_site_get(f->s, f->tenant, a, &s), 0);
    assert_int_equal(s.tunnel.mode, TUNNEL_MODE_MANAGED);
    assert_string_equal(s.tunnel.public_key, PUB);
    assert_string_equal(s.tunnel_address, "100.64.0.2");
    assert_int_equal(s.tunnel.status, TUNNEL_PENDING);
    site_release(&s);
    assert_int_equal(store_site_tunnel_assign(f->s, c, KEY_A, first + 1, last, addr), 0);
    assert_string_equal(addr, "100.64.0.5");
    char d[UUID_STR_LEN], e[UUID_STR_LEN];
    fx_site(f, NULL, NULL, false, d, NULL);
    fx_site(f, NULL, NULL, false, e, NULL);
    assert_int_equal(store_site_tunnel_assign(f->s, d, "d", first + 1, last, addr), 0);
    assert_string_equal(addr, "100.64.0.6");
    assert_int_equal(store_site_tunnel_assign(f->s, e, "e", first + 1, last, addr), -EADDRNOTAVAIL);
    /* A freed address is found again. */
    assert_int_equal(store_site_delete(f->s, f->tenant, b), 0);
    assert_int_equal(store_site_tunnel_assign(f->s, e, "e", first + 1, last, addr), 0);
    assert_string_equal(addr, "100.64.0.4");

    struct store_vpn_peer *peers = NULL;
    size_t n = 0;
    assert_int_equal(store_vpn_peers(f->s, NULL, &peers, &n), 0);
    assert_int_equal(n, 4);
    assert_string_equal(peers[0].address, "100.64.0.2");
    assert_string_equal(peers[0].public_key, PUB);
    free(peers);

    assert_int_equal(
        store_vpn_peer_observed(f->s, a, "198.51.100.2:4000", 1700000000, 10, 20, TUNNEL_UP), 0);
    assert_int_equal(store_vpn_peer_observed(f->s, a, "", 0, 11, 21, TUNNEL_DOWN), 0);
    assert_int_equal(store_site_get(f->s, f->tenant, a, &s), 0);
    assert_string_equal(s.tunnel.endpoint, "198.51.100.2:4000");
    assert_int_equal(s.tunnel.last_handshake_at, 1700000000);
    assert_int_equal(s.tunnel.rx_bytes, 11);
    assert_int_equal(s.tunnel.status, TUNNEL_DOWN);
    site_release(&s);
    assert_int_equal(store_site_event(f->s, a, "tunnel_down", "x"), 0);
    bool taken = false;
    assert_int_equal(store_tunnel_address_taken(f->s, NULL, NULL, "100.64.0.3", &taken), 0);
    assert_true(taken);
    assert_int_equal(store_tunnel_address_taken(f->s, ext, NULL, "100.64.0.3", &taken), 0);
    assert_false(taken);
    assert_int_equal(store_tunnel_address_taken(f->s, NULL, f->tenant, "100.64.0.3", &taken), 0);
    assert_false(taken); /* only this tenant has it */
}

/* A managed site's express jobs wait while its tunnel is not up, and go when it is. */
static void test_push_waits_for_the_tunnel(void **state)
{
    struct fx *f = *state;
    uint32_t first, last;
    char site[UUID_STR_LEN], job_id[UUID_STR_LEN], addr[16];
    assert_int_equal(tunnel_pool_parse("100.64.0.0/10", &first, &last), 0);
    fx_site(f, NULL, NULL, true, site, NULL);
    assert_int_equal(store_site_tunnel_assign(f->s, site, KEY_A, first + 1, last, addr), 0);
    fx_job(f, site, true, true, NULL, NULL, job_id);
    struct job j;
    assert_int_equal(store_job_claim_push(f->s, 1 << 30, 60000, 0, &j), -ENOENT); /* pending */
    assert_int_equal(store_vpn_peer_observed(f->s, site, "", 0, 0, 0, TUNNEL_DOWN), 0);
    assert_int_equal(store_job_claim_push(f->s, 1 << 30, 60000, 0, &j), -ENOENT);
    assert_int_equal(store_vpn_peer_observed(f->s, site, "192.0.2.1:5", 1, 0, 0, TUNNEL_UP), 0);
    assert_int_equal(store_job_claim_push(f->s, 1 << 30, 60000, 0, &j), 0);
    assert_string_equal(j.id, job_id);
    job_release(&j);
}

#define KEY_C "mrgYbg/VijsHzQnIf1xqVsqMqfYanVEnnA1ugIHnpBA="

/* Make-before-break: the next key beside the current one, seen, committed, rolled back. */
static void test_rekey(void **state)
{
    struct fx *f = *state;
    uint32_t first, last;
    char a[UUID_STR_LEN], b[UUID_STR_LEN], addr[16], key[TUNNEL_KEY_B64_LEN + 1];
    int64_t hs = -1;
    assert_int_equal(tunnel_pool_parse("100.64.0.0/24", &first, &last), 0);
    fx_site(f, NULL, NULL, false, a, NULL);
    fx_site(f, NULL, NULL, false, b, NULL);
    assert_int_equal(store_vpn_rekey_begin(f->s, a, KEY_C), -ENOENT); /* not managed yet */
    assert_int_equal(store_site_tunnel_assign(f->s, a, KEY_A, first + 1, last, addr), 0);
    assert_int_equal(store_site_tunnel_assign(f->s, b, KEY_B, first + 1, last, addr), 0);
    assert_int_equal(store_vpn_rekey_begin(f->s, a, KEY_B), -EEXIST); /* b's key */
    assert_int_equal(store_vpn_rekey_begin(f->s, a, KEY_A), -EEXIST); /* its own */
    assert_int_equal(store_vpn_rekey_begin(f->s, a, KEY_C), 0);
    assert_int_equal(store_vpn_rekey_next_state(f->s, a, key, &hs), 0);
    assert_string_equal(key, KEY_C);
    assert_int_equal(hs, 0);
    /* both keys are the edge's peers; only the current one has the /32 */
    struct store_vpn_peer *rows = NULL;
    size_t n = 0;
    assert_int_equal(store_vpn_peers(f->s, NULL, &rows, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(rows[0].public_key, KEY_A);
    assert_string_equal(rows[0].next_key, KEY_C);
    assert_string_equal(rows[1].next_key, "");
    free(rows);
    assert_int_equal(store_vpn_rekey_commit(f->s, a, KEY_C), -ESTALE);   /* not seen yet */
    assert_int_equal(store_vpn_rekey_next_seen(f->s, a, KEY_B, 100), 0); /* not its next key */
    assert_int_equal(store_vpn_rekey_next_state(f->s, a, key, &hs), 0);
    assert_int_equal(hs, 0);
    assert_int_equal(store_vpn_rekey_next_seen(f->s, a, KEY_C, 100), 0);
    assert_int_equal(store_vpn_rekey_commit(f->s, a, KEY_C), 0);
    struct site s;
    assert_int_equal(store_site_get_any(f->s, a, &s), 0);
    assert_string_equal(s.tunnel.public_key, KEY_C);
    assert_string_equal(s.tunnel_address, "100.64.0.2"); /* the address stays */
    site_release(&s);
    assert_int_equal(store_vpn_rekey_next_state(f->s, a, key, &hs), 0);
    assert_string_equal(key, "");
    /* rollback: the old key again, the new one its seen next key */
    assert_int_equal(store_vpn_rekey_rollback(f->s, a, KEY_A, KEY_C), 0);
    assert_int_equal(store_site_get_any(f->s, a, &s), 0);
    assert_string_equal(s.tunnel.public_key, KEY_A);
    site_release(&s);
    assert_int_equal(store_vpn_rekey_next_state(f->s, a, key, &hs), 0);
    assert_string_equal(key, KEY_C);
    assert_true(hs > 0);
    assert_int_equal(store_vpn_rekey_abort(f->s, a, KEY_C), 0);
    assert_int_equal(store_vpn_rekey_next_state(f->s, a, key, &hs), 0);
    assert_string_equal(key, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_edge_keypair, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_assign, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_push_waits_for_the_tunnel, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_rekey, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
