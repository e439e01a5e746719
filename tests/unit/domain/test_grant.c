/* test_grant.c - grant sources, destinations, durations and credentials (domain/grant.c). */
#include <ctype.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "grant.h"
#include "rand.h"

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
    dst_ok("fd00::10", &strict, "fd00::10");
    dst_ok("2A00:1450:4001:0800::200E", &strict, "2a00:1450:4001:800::200e");
}

static void test_destination_loopback(void **state)
{
    (void)state;
    dst_err("127.0.0.1", &strict, "invalid_destination");
    dst_err("::1", &strict, "invalid_destination");
    dst_ok("127.0.0.1", &lab, "127.0.0.1");
    dst_ok("::1", &lab, "::1");
}

static void test_destination_refused(void **state)
{
    (void)state;
    for (int i = 0; i < 2; i++) {
        const struct grant_source_rules *r = i ? &lab : &strict;
        dst_err("169.254.10.10", r, "invalid_destination");
        dst_err("fe80::1", r, "invalid_destination");
        dst_err("224.0.0.251", r, "invalid_destination");
        dst_err("239.1.2.3", r, "invalid_destination");
        dst_err("ff02::1", r, "invalid_destination");
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
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
