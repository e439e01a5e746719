/* test_timefmt.c - RFC 3339 formatting/parsing and the relative phrases. */
/* cmocka.h needs these headers first */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include "timefmt.h"

#include <errno.h>
#include <string.h>

static int64_t parse_ok(const char *s)
{
    int64_t t = -1;
    int r = time_parse_rfc3339(s, &t);
    if (r != 0)
        fail_msg("'%s' should parse, got %d", s, r);
    return t;
}

static void test_now(void **state)
{
    (void)state;
    int64_t s = time_now(), ms = time_now_ms();
    assert_true(s > 1700000000); /* after Nov 2023 */
    assert_true(ms / 1000 >= s && ms / 1000 <= s + 2);
}

static void test_format(void **state)
{
    (void)state;
    char out[RFC3339_LEN];
    time_format_rfc3339(0, out);
    assert_string_equal(out, "1970-01-01T00:00:00+00:00");
    time_format_rfc3339(1719030809, out);
    assert_string_equal(out, "2024-06-22T04:33:29+00:00");
    assert_int_equal(strlen(out), RFC3339_LEN - 1);
    time_format_rfc3339(1699400459, out); /* the seed's "07 Nov 2023 23:40:59" */
    assert_string_equal(out, "2023-11-07T23:40:59+00:00");
    time_format_rfc3339(951782400, out); /* leap day 2000 */
    assert_string_equal(out, "2000-02-29T00:00:00+00:00");
    time_format_rfc3339(253402300799, out);
    assert_string_equal(out, "9999-12-31T23:59:59+00:00");
}

static void test_round_trip(void **state)
{
    (void)state;
    static const int64_t ts[] = {0,          1,          59,         86399,      951782400,
                                 1699400459, 1719030809, 2147483647, 2147483648, 4102444800};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) {
        char out[RFC3339_LEN];
        time_format_rfc3339(ts[i], out);
        assert_int_equal(parse_ok(out), ts[i]);
    }
}

static void test_parse_zulu_and_offsets(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("2024-06-22T04:33:29Z"), 1719030809);
    assert_int_equal(parse_ok("2024-06-22T04:33:29z"), 1719030809);
    assert_int_equal(parse_ok("2024-06-22t04:33:29+00:00"), 1719030809);
    assert_int_equal(parse_ok("2024-06-22 04:33:29+00:00"), 1719030809);
    assert_int_equal(parse_ok("2024-06-22T04:33:29-00:00"), 1719030809);
    /* local time + offset: 06:33:29 at +02:00 is 04:33:29 UTC */
    assert_int_equal(parse_ok("2024-06-22T06:33:29+02:00"), 1719030809);
    assert_int_equal(parse_ok("2024-06-21T23:03:29-05:30"), 1719030809);
    assert_int_equal(parse_ok("2024-06-22T10:18:29+05:45"), 1719030809);
    assert_int_equal(parse_ok("2024-06-22T04:33:29+23:59") + (23 * 60 + 59) * 60, 1719030809);
}

static void test_parse_fractions(void **state)
{
    (void)state;
    /* the seed's other format */
    assert_int_equal(parse_ok("2023-11-08T08:49:32.000000Z"), 1699433372);
    assert_int_equal(parse_ok("2024-06-22T04:33:29.9Z"), 1719030809); /* truncated */
    assert_int_equal(parse_ok("2024-06-22T04:33:29.123+00:00"), 1719030809);
    assert_int_equal(parse_ok("2024-06-22T04:33:29.123456789-01:00"), 1719030809 + 3600);
}

static void test_parse_valid_calendar(void **state)
{
    (void)state;
    parse_ok("2024-02-29T00:00:00Z"); /* leap year */
    parse_ok("2000-02-29T00:00:00Z"); /* divisible by 400 */
    parse_ok("2024-04-30T23:59:59Z");
    parse_ok("2024-12-31T23:59:59Z");
    parse_ok("1970-01-01T00:00:00Z");
}

static void test_parse_invalid(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "2024-02-30T00:00:00Z", /* Feb 30 */
        "2023-02-29T00:00:00Z", /* not a leap year */
        "1900-02-29T00:00:00Z", /* not a leap year either */
        "2024-04-31T00:00:00Z", /* April has 30 days */
        "2024-06-31T00:00:00Z",
        "2024-13-01T00:00:00Z",
        "2024-00-10T00:00:00Z",
        "2024-06-00T00:00:00Z",
        "2024-06-32T00:00:00Z",
        "2024-06-22T24:00:00Z",
        "2024-06-22T23:60:00Z",
        "2024-06-22T23:59:61Z",
        "2024-06-22T04:33:29",      /* no offset */
        "2024-06-22T04:33:29+0200", /* offset without colon */
        "2024-06-22T04:33:29+02",
        "2024-06-22T04:33:29+24:00",
        "2024-06-22T04:33:29+02:60",
        "2024-06-22T04:33:29.Z", /* dot without digits */
        "2024-06-22T04:33:29Zjunk",
        "2024-06-22T04:33:29+00:00 ",
        "2024-6-22T04:33:29Z",
        "2024/06/22T04:33:29Z",
        "2024-06-22X04:33:29Z",
        "24-06-22T04:33:29Z",
        "07 Nov 2023 23:40:59", /* the seed's display format is not RFC 3339 */
        "",
        "Z",
        "2024-06-22",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t t = 42;
        int r = time_parse_rfc3339(bad[i], &t);
        if (r != -EINVAL)
            fail_msg("'%s': expected -EINVAL, got %d", bad[i], r);
        assert_int_equal(t, 42); /* out-param untouched */
    }
    int64_t t;
    assert_int_equal(time_parse_rfc3339(NULL, &t), -EINVAL);
}

static const char *phrase(int64_t diff)
{
    static char out[64];
    int64_t now = 1719030809;
    time_phrase_relative(now + diff, now, out, sizeof out);
    return out;
}

static void test_relative_phrases(void **state)
{
    (void)state;
    assert_string_equal(phrase(59 * 60 + 59), "59 minutes from now");
    assert_string_equal(phrase(59 * 60), "59 minutes from now");
    assert_string_equal(phrase(2 * 3600), "2 hours from now");
    assert_string_equal(phrase(2 * 3600 + 1800), "2 hours from now");
    assert_string_equal(phrase(3600), "1 hour from now");
    assert_string_equal(phrase(-3 * 60), "3 minutes ago");
    assert_string_equal(phrase(-3 * 60 - 59), "3 minutes ago");
    assert_string_equal(phrase(60), "1 minute from now");
    assert_string_equal(phrase(-60), "1 minute ago");
    assert_string_equal(phrase(1), "1 second from now");
    assert_string_equal(phrase(-1), "1 second ago");
    assert_string_equal(phrase(30), "30 seconds from now");
    assert_string_equal(phrase(0), "0 seconds ago"); /* the moment it ends counts as past */
    assert_string_equal(phrase(86400), "1 day from now");
    assert_string_equal(phrase(3 * 86400 + 5), "3 days from now");
    assert_string_equal(phrase(-2 * 86400), "2 days ago");
    assert_string_equal(phrase(-(2 * 3600)), "2 hours ago");
}

static void test_relative_truncates(void **state)
{
    (void)state;
    char out[8];
    memset(out, 'X', sizeof out);
    time_phrase_relative(7200, 0, out, sizeof out);
    assert_string_equal(out, "2 hours");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_now),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_parse_zulu_and_offsets),
        cmocka_unit_test(test_parse_fractions),
        cmocka_unit_test(test_parse_valid_calendar),
        cmocka_unit_test(test_parse_invalid),
        cmocka_unit_test(test_relative_phrases),
        cmocka_unit_test(test_relative_truncates),
    };
    return cmocka_run_group_tests_name("common_timefmt", tests, NULL, NULL);
}
