/*
 * test_grant.c - grant sources, destinations, durations and credentials, and every rule of
 * grant_validate() with the error it answers (domain/grant.c).
 */
/* cmocka.h needs these headers first */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include "grant.h"
#include "rand.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct grant_source_rules strict = {.allow_private = false};
static const struct grant_source_rules lab = {.allow_private = true};

static int setup(void **state)
{
    (void)state;
    return tg_rand_init();
}

static void src_ok(const char *in, const struct grant_source_rules *rules, const char *want)
{
    char out[64] = "untouched";
    struct tg_err err;
    memset(&err, 0, sizeof err);
    int r = grant_check_source(in, "allow_only_cidr", rules, out, sizeof out, &err);
    if (r != 0)
        fail_msg("%s refused: %s (%s)", in, err.code, err.message);
    assert_string_equal(out, want);
}

static void src_err(const char *in, const struct grant_source_rules *rules, const char *code)
{
    char out[64] = "untouched";
    struct tg_err err;
    memset(&err, 0, sizeof err);
    assert_int_equal(grant_check_source(in, "allow_only_cidr", rules, out, sizeof out, &err),
                     -EINVAL);
    assert_string_equal(err.code, code);
    assert_string_equal(err.param, "allow_only_cidr");
    assert_int_equal(err.type, TG_ERR_INVALID_REQUEST);
    assert_int_equal(err.status, 400);
    assert_true(err.message[0] != '\0');
    assert_string_equal(out, "untouched"); /* out is written only on success */
}

static void test_source_prefix_bounds_v4(void **state)
{
    (void)state;
    src_ok("8.8.8.0/24", &strict, "8.8.8.0/24");
    src_ok("8.8.8.8/32", &strict, "8.8.8.8/32");
    src_ok("8.8.8.8", &strict, "8.8.8.8/32"); /* a bare address is a host */
    src_ok("8.8.8.128/25", &strict, "8.8.8.128/25");
    src_err("8.8.8.0/23", &strict, "source_too_wide");
    src_err("8.0.0.0/8", &strict, "source_too_wide");
    src_err("0.0.0.0/0", &strict, "source_too_wide");
    /* IPv4 spelled as IPv6 (F15): refused with or without private sources */
    src_err("::ffff:8.8.8.8", &strict, "invalid_cidr");
    src_err("::ffff:8.8.8.0/120", &strict, "invalid_cidr");
    src_err("::ffff:0.0.0.0/96", &strict, "invalid_cidr");
    src_err("::ffff:127.0.0.1", &lab, "invalid_cidr");
    src_err("::ffff:10.0.0.0/104", &lab, "invalid_cidr");
    /* Wide is wide even when private sources are allowed. */
    src_err("10.0.0.0/8", &lab, "source_too_wide");
    src_err("192.168.0.0/23", &lab, "source_too_wide");
}

static void test_source_prefix_bounds_v6(void **state)
{
    (void)state;
    src_ok("2a00:1450:4001::/48", &strict, "2a00:1450:4001::/48");
    src_ok("2a00:1450:4001:800::200e/128", &strict, "2a00:1450:4001:800::200e/128");
    src_ok("2a00:1450:4001:800::200e", &strict, "2a00:1450:4001:800::200e/128");
    src_err("2a00:1450:4000::/47", &strict, "source_too_wide");
    src_err("::/0", &strict, "source_too_wide");
}

static void test_source_host_bits(void **state)
{
    (void)state;
    src_err("8.8.8.8/24", &strict, "invalid_cidr");
    src_err("2a00:1450:4001::1/48", &strict, "invalid_cidr");
    src_err("192.168.1.1/24", &lab, "invalid_cidr");
}

static void test_source_garbage(void **state)
{
    (void)state;
    src_err("", &strict, "invalid_cidr");
    src_err("not an address", &strict, "invalid_cidr");
    src_err("8.8.8.8/33", &strict, "invalid_cidr");
    src_err("8.8.8/24", &strict, "invalid_cidr");
    src_err("256.1.1.1", &strict, "invalid_cidr");
    src_err("8.8.8.8/", &strict, "invalid_cidr");
    src_err("2a00::/129", &strict, "invalid_cidr");
}

static void test_source_public_only(void **state)
{
    (void)state;
    src_err("10.1.2.0/24", &strict, "source_not_public");
    src_err("192.168.1.10", &strict, "source_not_public");
    src_err("172.16.5.0/24", &strict, "source_not_public");
    src_err("127.0.0.1", &strict, "source_not_public");
    src_err("::1", &strict, "source_not_public");
    src_err("fd00::/48", &strict, "source_not_public");
    src_err("169.254.1.0/24", &strict, "source_not_public");
    src_err("100.64.0.0/24", &strict, "source_not_public"); /* CGN */
    src_err("224.0.0.1", &strict, "source_not_public");
}

static void test_source_allow_private(void **state)
{
    (void)state;
    src_ok("10.1.2.0/24", &lab, "10.1.2.0/24");
    src_ok("192.168.1.10", &lab, "192.168.1.10/32");
    src_ok("127.0.0.1", &lab, "127.0.0.1/32");
    src_ok("::1", &lab, "::1/128");
    src_ok("fd00:1:2::/48", &lab, "fd00:1:2::/48");
    src_ok("8.8.8.0/24", &lab, "8.8.8.0/24");
    /* Still never link-local or multicast. */
    src_err("169.254.1.0/24", &lab, "source_not_public");
    src_err("224.0.0.1", &lab, "source_not_public");
    src_err("ff02::1", &lab, "source_not_public");
}

static void test_source_canonical(void **state)
{
    (void)state;
    src_ok("2A00:1450:4001:0:0:0:0:0/48", &strict, "2a00:1450:4001::/48");
    src_ok("2a00:1450:4001:0800:0000:0000:0000:200E", &strict, "2a00:1450:4001:800::200e/128");
}

static void test_source_param_and_truncation(void **state)
{
    (void)state;
    struct tg_err err;
    memset(&err, 0, sizeof err);
    char out[64];
    assert_int_equal(grant_check_source("10.0.0.0/8", "allow.0", &strict, out, sizeof out, &err),
                     -EINVAL);
    assert_string_equal(err.param, "allow.0");
    /* A small out buffer is truncated, never overrun. */
    char small[5];
    memset(&err, 0, sizeof err);
    assert_int_equal(grant_check_source("8.8.8.8", "p", &strict, small, sizeof small, &err), 0);
    assert_string_equal(small, "8.8.");
}

static void dst_ok(const char *in, const struct grant_source_rules *rules, const char *want)
{
    char out[64] = "untouched";
    struct tg_err err;
    memset(&err, 0, sizeof err);
    int r = grant_check_destination(in, rules, out, sizeof out, &err);
    if (r != 0)
        fail_msg("%s refused: %s (%s)", in, err.code, err.message);
    assert_string_equal(out, want);
}

static void dst_err(const char *in, const struct grant_source_rules *rules, const char *code)
{
    char out[64] = "untouched";
    struct tg_err err;
    memset(&err, 0, sizeof err);
    assert_int_equal(grant_check_destination(in, rules, out, sizeof out, &err), -EINVAL);
    assert_string_equal(err.code, code);
    assert_string_equal(err.param, "dst_address");
    assert_int_equal(err.status, 400);
    assert_string_equal(out, "untouched");
}

static void test_destination_accepted(void **state)
{
    (void)state;
    dst_ok("192.168.88.10", &strict, "192.168.88.10");
    dst_ok("10.0.0.1", &strict, "10.0.0.1");
    dst_ok("172.31.255.254", &strict, "172.31.255.254");
    dst_ok("8.8.8.8", &strict, "8.8.8.8");
    dst_ok("100.64.1.1", &strict, "100.64.1.1"); /* reserved (CGN) */
    dst_ok("192.0.2.5", &strict, "192.0.2.5");   /* reserved (documentation) */
    /* IPv6: refused with its own code (the dst-nat is IPv4 only, routeros-fidelity.md #8) */
    dst_err("fd00::10", &strict, "ipv6_destination");
    dst_err("2A00:1450:4001:0800::200E", &strict, "ipv6_destination");
}

static void test_destination_loopback(void **state)
{
    (void)state;
    dst_err("127.0.0.1", &strict, "invalid_destination");
    dst_err("::1", &strict, "ipv6_destination");
    dst_ok("127.0.0.1", &lab, "127.0.0.1");
    dst_err("::1", &lab, "ipv6_destination");
}

static void test_destination_refused(void **state)
{
    (void)state;
    for (int i = 0; i < 2; i++) {
        const struct grant_source_rules *r = i ? &lab : &strict;
        dst_err("169.254.10.10", r, "invalid_destination");
        dst_err("fe80::1", r, "ipv6_destination");
        dst_err("224.0.0.251", r, "invalid_destination");
        dst_err("239.1.2.3", r, "invalid_destination");
        dst_err("ff02::1", r, "ipv6_destination");
        dst_err("0.0.0.0", r, "invalid_destination");
        dst_err("0.1.2.3", r, "invalid_destination");
        dst_err("255.255.255.255", r, "invalid_destination");
    }
}

static void test_destination_not_an_address(void **state)
{
    (void)state;
    dst_err("192.168.88.0/24", &strict, "invalid_address");
    dst_err("192.168.88.10/32", &strict, "invalid_address");
    dst_err("fd00::/64", &strict, "invalid_address");
    dst_err("fd00::1/128", &strict, "invalid_address");
    dst_err("", &strict, "invalid_address");
    dst_err("router.lan", &strict, "invalid_address");
    dst_err("192.168.88", &strict, "invalid_address");
    dst_err("192.168.88.256", &strict, "invalid_address");
    dst_err(" 192.168.88.10", &strict, "invalid_address");
}

static void test_minutes(void **state)
{
    (void)state;
    struct tg_err err;
    memset(&err, 0, sizeof err);
    assert_int_equal(grant_check_minutes(10, &err), 0);
    assert_int_equal(grant_check_minutes(120, &err), 0);
    assert_int_equal(grant_check_minutes(1440, &err), 0);
    assert_int_equal(grant_check_minutes(9, &err), -EINVAL);
    assert_string_equal(err.code, "parameter_out_of_range");
    assert_string_equal(err.param, "expire_after_minutes");
    assert_non_null(strstr(err.message, "(got 9)"));
    memset(&err, 0, sizeof err);
    assert_int_equal(grant_check_minutes(1441, &err), -EINVAL);
    assert_string_equal(err.code, "parameter_out_of_range");
    assert_int_equal(grant_check_minutes(0, &err), -EINVAL);
    assert_int_equal(grant_check_minutes(-10, &err), -EINVAL);
    assert_int_equal(grant_check_minutes(9223372036854775807LL, &err), -EINVAL);
}

static void test_credential(void **state)
{
    (void)state;
    char a[GRANT_CRED_LEN + 1], b[GRANT_CRED_LEN + 1];
    memset(a, '#', sizeof a);
    grant_generate_credential(a);
    grant_generate_credential(b);
    assert_int_equal(strlen(a), 24);
    assert_int_equal(strlen(b), 24);
    for (int i = 0; i < 24; i++) {
        assert_true(isalnum((unsigned char)a[i]));
        assert_true(isalnum((unsigned char)b[i]));
    }
    assert_string_not_equal(a, b);
}

static void test_kind_name_and_release(void **state)
{
    (void)state;
    assert_string_equal(grant_kind_name(GRANT_ACCESS), "access");
    assert_string_equal(grant_kind_name(GRANT_FORWARD), "forward");
    struct grant g;
    memset(&g, 0, sizeof g);
    grant_release(&g);
    grant_release(NULL);
}

/* The password is wiped where the grant is released, not by every caller. */
static void test_release_wipes_password(void **state)
{
    (void)state;
    struct grant g;
    memset(&g, 0, sizeof g);
    grant_generate_credential(g.username);
    grant_generate_credential(g.password);
    g.entry_point = strdup("edge.test");
    grant_release(&g);
    assert_null(g.entry_point);
    for (size_t i = 0; i < sizeof g.password; i++)
        assert_int_equal(g.password[i], 0);
    assert_int_equal(strlen(g.username), GRANT_CRED_LEN); /* the user name is no secret */
}

/* ---- grant_validate ---- */

#define NOW_MS 1700000000000LL /* 2023-11-14T22:13:20Z */

static struct grant_request access_req(void)
{
    return (struct grant_request){.kind = GRANT_ACCESS, .source = "198.51.100.7"};
}

static struct grant_request forward_req(void)
{
    return (struct grant_request){.kind = GRANT_FORWARD,
                                  .source = "198.51.100.0/24",
                                  .source_param = "allow_from",
                                  .dst_address = "192.168.88.43",
                                  .has_dst_port = true,
                                  .dst_port = 22};
}

/* Asserts req is refused with code and param, as a 400, and out left as it was. */
static void v_err(const struct grant_request *req, const struct grant_source_rules *rules,
                  const char *code, const char *param, const char *message)
{
    struct grant out;
    memset(&out, 0x5a, sizeof out);
    struct grant before = out;
    struct tg_err err;
    memset(&err, 0, sizeof err);
    assert_int_equal(grant_validate(req, rules, NOW_MS, &out, &err), -EINVAL);
    assert_string_equal(err.code, code);
    assert_string_equal(err.param, param);
    assert_int_equal(err.type, TG_ERR_INVALID_REQUEST);
    assert_int_equal(err.status, 400);
    if (message)
        assert_string_equal(err.message, message);
    else
        assert_true(err.message[0] != '\0');
    assert_memory_equal(&out, &before, sizeof out); /* written only on success */
}

static void v_ok(const struct grant_request *req, const struct grant_source_rules *rules,
                 struct grant *out)
{
    memset(out, 0, sizeof *out);
    struct tg_err err;
    memset(&err, 0, sizeof err);
    if (grant_validate(req, rules, NOW_MS, out, &err) != 0)
        fail_msg("refused: %s %s (%s)", err.code, err.param, err.message);
}

static void test_validate_access_defaults(void **state)
{
    (void)state;
    struct grant_request req = access_req();
    struct grant g;
    v_ok(&req, &strict, &g);
    assert_string_equal(g.access_type, "winbox");
    assert_false(g.full_access);
    assert_false(g.allow_rfc1918);
    assert_string_equal(g.allow_only_cidr, "198.51.100.7/32");
    assert_int_equal(g.expires_at_ms, NOW_MS + GRANT_MINUTES_DEFAULT * 60000LL);
    assert_int_equal(g.rate_limit, 0);
    assert_int_equal(g.dst_port, 0);
    assert_string_equal(g.dst_address, "");

    req.access_type = "ssh";
    req.full_access = true;
    req.allow_rfc1918 = true;
    req.has_minutes = true;
    req.minutes = GRANT_MINUTES_MIN;
    req.has_rate_limit = true;
    req.rate_limit_bps = GRANT_RATE_LIMIT_MIN;
    v_ok(&req, &strict, &g);
    assert_string_equal(g.access_type, "ssh");
    assert_true(g.full_access);
    assert_true(g.allow_rfc1918);
    assert_int_equal(g.expires_at_ms, NOW_MS + 10 * 60000LL);
    assert_int_equal(g.rate_limit, GRANT_RATE_LIMIT_MIN);
}

static void test_validate_access_type(void **state)
{
    (void)state;
    struct grant_request req = access_req();
    static const char *const bad[] = {"telnet", "WINBOX", "", "winbox "};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        req.access_type = bad[i];
        v_err(&req, &strict, "parameter_invalid", "type", "type must be winbox or ssh.");
    }
    /* The type is checked first: a bad type hides a bad duration. */
    req.access_type = "telnet";
    req.has_minutes = true;
    req.minutes = 5;
    v_err(&req, &strict, "parameter_invalid", "type", NULL);
    /* A forward has no type. */
    struct grant_request fwd = forward_req();
    fwd.access_type = "telnet";
    struct grant g;
    v_ok(&fwd, &strict, &g);
}

static void test_validate_minutes(void **state)
{
    (void)state;
    struct grant_request req = access_req();
    req.has_minutes = true;
    struct grant g;
    req.minutes = GRANT_MINUTES_MAX;
    v_ok(&req, &strict, &g);
    assert_int_equal(g.expires_at_ms, NOW_MS + 1440 * 60000LL);
    req.minutes = GRANT_MINUTES_MIN - 1;
    v_err(&req, &strict, "parameter_out_of_range", "expire_after_minutes",
          "expire_after_minutes must be between 10 and 1440 (got 9).");
    req.minutes = GRANT_MINUTES_MAX + 1;
    v_err(&req, &strict, "parameter_out_of_range", "expire_after_minutes",
          "expire_after_minutes must be between 10 and 1440 (got 1441).");
    req.minutes = -5;
    v_err(&req, &strict, "parameter_out_of_range", "expire_after_minutes", NULL);
    struct grant_request fwd = forward_req();
    fwd.has_minutes = true;
    fwd.minutes = 0;
    v_err(&fwd, &strict, "parameter_out_of_range", "expire_after_minutes", NULL);
}

static void test_validate_rate_limit(void **state)
{
    (void)state;
    struct grant_request req = access_req();
    req.has_rate_limit = true;
    struct grant g;
    req.rate_limit_bps = 0; /* off */
    v_ok(&req, &strict, &g);
    assert_int_equal(g.rate_limit, 0);
    req.rate_limit_bps = (long long)GRANT_RATE_LIMIT_MAX;
    v_ok(&req, &strict, &g);
    assert_int_equal(g.rate_limit, GRANT_RATE_LIMIT_MAX);
    const char *msg = "rate_limit_bps must be 0 (off) or between 1024 and 10737418240.";
    req.rate_limit_bps = 10;
    v_err(&req, &strict, "parameter_out_of_range", "rate_limit_bps", msg);
    req.rate_limit_bps = GRANT_RATE_LIMIT_MIN - 1;
    v_err(&req, &strict, "parameter_out_of_range", "rate_limit_bps", msg);
    req.rate_limit_bps = (long long)GRANT_RATE_LIMIT_MAX + 1;
    v_err(&req, &strict, "parameter_out_of_range", "rate_limit_bps", msg);
    req.rate_limit_bps = -1;
    v_err(&req, &strict, "parameter_out_of_range", "rate_limit_bps", msg);
}

static void test_validate_source(void **state)
{
    (void)state;
    struct grant_request req = access_req();
    req.source = "10.0.0.5";
    v_err(&req, &strict, "source_not_public", "allow_only_cidr", NULL);
    struct grant g;
    v_ok(&req, &lab, &g);
    assert_string_equal(g.allow_only_cidr, "10.0.0.5/32");
    req.source = "8.8.8.0/23";
    v_err(&req, &lab, "source_too_wide", "allow_only_cidr", NULL);
    req.source = "8.8.8.1/24";
    v_err(&req, &strict, "invalid_cidr", "allow_only_cidr", NULL);
    /* The member the source came from is the one named. */
    struct grant_request fwd = forward_req();
    fwd.source = "not an address";
    v_err(&fwd, &strict, "invalid_cidr", "allow_from", NULL);
    fwd.source_param = NULL;
    v_err(&fwd, &strict, "invalid_cidr", "allow_only_cidr", NULL);
    fwd.source = NULL;
    v_err(&fwd, &strict, "parameter_missing", "allow_only_cidr", NULL);
    /* Order: minutes and rate limit before the source. */
    req.source = "10.0.0.5";
    req.has_minutes = true;
    req.minutes = 1;
    v_err(&req, &strict, "parameter_out_of_range", "expire_after_minutes", NULL);
    req.minutes = 60;
    req.has_rate_limit = true;
    req.rate_limit_bps = 1;
    v_err(&req, &strict, "parameter_out_of_range", "rate_limit_bps", NULL);
}

static void test_validate_forward(void **state)
{
    (void)state;
    struct grant_request req = forward_req();
    struct grant g;
    req.masquerade = true;
    v_ok(&req, &strict, &g);
    assert_string_equal(g.dst_address, "192.168.88.43");
    assert_int_equal(g.dst_port, 22);
    assert_true(g.masquerade);
    assert_string_equal(g.allow_only_cidr, "198.51.100.0/24");
    assert_string_equal(g.access_type, ""); /* access members untouched */
    req.dst_port = 65535;
    v_ok(&req, &strict, &g);
    req.dst_port = 1;
    v_ok(&req, &strict, &g);
    req.dst_address = "2001:db8:0:0::1";
    v_err(&req, &strict, "ipv6_destination", "dst_address", NULL);

    req = forward_req();
    req.dst_address = NULL;
    v_err(&req, &strict, "parameter_missing", "dst_address",
          "The 'dst_address' parameter is required.");
    req = forward_req();
    req.has_dst_port = false;
    v_err(&req, &strict, "parameter_missing", "dst_port", "The 'dst_port' parameter is required.");
    req.has_dst_port = true;
    req.dst_port = 0;
    v_err(&req, &strict, "port_out_of_range", "dst_port",
          "dst_port must be between 1 and 65535 (got 0).");
    req.dst_port = 65536;
    v_err(&req, &strict, "port_out_of_range", "dst_port",
          "dst_port must be between 1 and 65535 (got 65536).");
    req.dst_port = -22;
    v_err(&req, &strict, "port_out_of_range", "dst_port", NULL);
    req = forward_req();
    req.dst_address = "192.168.88.0/24";
    v_err(&req, &strict, "invalid_address", "dst_address", NULL);
    req.dst_address = "127.0.0.1";
    v_err(&req, &strict, "invalid_destination", "dst_address", NULL);
    v_ok(&req, &lab, &g);
    req.dst_address = "169.254.1.1";
    v_err(&req, &lab, "invalid_destination", "dst_address", NULL);
    /* Order: the destination before the duration. */
    req.has_minutes = true;
    req.minutes = 1;
    v_err(&req, &lab, "invalid_destination", "dst_address", NULL);
}

static struct grant_request patch_req(void)
{
    return (struct grant_request){.kind = GRANT_ACCESS, .patch = true};
}

static void test_validate_patch(void **state)
{
    (void)state;
    int64_t now = NOW_MS / 1000;
    struct grant_request req = patch_req();
    struct grant g;
    v_err(&req, &strict, "parameter_missing", "expires_at",
          "Send 'expires_at' (RFC 3339) and/or 'rate_limit_bps'.");
    req.has_expires_at = true;
    req.expires_at = now + 3600;
    v_ok(&req, &strict, &g);
    assert_int_equal(g.expires_at_ms, (now + 3600) * 1000);
    assert_int_equal(g.rate_limit, 0);
    /* The bound is the creation bound: GRANT_MINUTES_MAX minutes (24 h) from now. */
    req.expires_at = now + GRANT_MINUTES_MAX * 60;
    v_ok(&req, &strict, &g);
    req.expires_at = now + 24 * 3600 + 1;
    v_err(&req, &strict, "parameter_out_of_range", "expires_at",
          "expires_at may be at most 24 hours from now.");
    req.expires_at = now;
    v_err(&req, &strict, "parameter_out_of_range", "expires_at",
          "expires_at must be in the future.");
    req.expires_at = now - 60;
    v_err(&req, &strict, "parameter_out_of_range", "expires_at", NULL);
    req.expires_at = now + 1;
    v_ok(&req, &strict, &g);

    /* Only the rate limit: expires_at_ms 0 means "keep". */
    req = patch_req();
    req.has_rate_limit = true;
    req.rate_limit_bps = 0;
    memset(&g, 0, sizeof g);
    g.expires_at_ms = 123;
    struct tg_err err;
    assert_int_equal(grant_validate(&req, &strict, NOW_MS, &g, &err), 0);
    assert_int_equal(g.expires_at_ms, 0);
    assert_int_equal(g.rate_limit, 0);
    req.rate_limit_bps = 65536;
    v_ok(&req, &strict, &g);
    assert_int_equal(g.rate_limit, 65536);
    req.rate_limit_bps = 10;
    v_err(&req, &strict, "parameter_out_of_range", "rate_limit_bps", NULL);
    /* The rate limit is checked before the expiry. */
    req.has_expires_at = true;
    req.expires_at = now - 60;
    v_err(&req, &strict, "parameter_out_of_range", "rate_limit_bps", NULL);
    /* A PATCH ignores the creation members (they are not sent then). */
    req = patch_req();
    req.kind = GRANT_FORWARD;
    req.has_expires_at = true;
    req.expires_at = now + 60;
    req.access_type = "telnet";
    v_ok(&req, &strict, &g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_source_prefix_bounds_v4),
        cmocka_unit_test(test_source_prefix_bounds_v6),
        cmocka_unit_test(test_source_host_bits),
        cmocka_unit_test(test_source_garbage),
        cmocka_unit_test(test_source_public_only),
        cmocka_unit_test(test_source_allow_private),
        cmocka_unit_test(test_source_canonical),
        cmocka_unit_test(test_source_param_and_truncation),
        cmocka_unit_test(test_destination_accepted),
        cmocka_unit_test(test_destination_loopback),
        cmocka_unit_test(test_destination_refused),
        cmocka_unit_test(test_destination_not_an_address),
        cmocka_unit_test(test_minutes),
        cmocka_unit_test(test_credential),
        cmocka_unit_test(test_kind_name_and_release),
        cmocka_unit_test(test_release_wipes_password),
        cmocka_unit_test(test_validate_access_defaults),
        cmocka_unit_test(test_validate_access_type),
        cmocka_unit_test(test_validate_minutes),
        cmocka_unit_test(test_validate_rate_limit),
        cmocka_unit_test(test_validate_source),
        cmocka_unit_test(test_validate_forward),
        cmocka_unit_test(test_validate_patch),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
