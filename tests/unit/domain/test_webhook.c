/* test_webhook.c - the rules of webhooks: event names, URL syntax, backoff. */
/* cmocka.h needs these headers first */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include "webhook.h"

#include <errno.h>
#include <string.h>

static void test_event_names_round_trip(void **state)
{
    (void)state;
    for (int e = 0; e < WEBHOOK_EVENT_COUNT; e++) {
        enum webhook_event got;
        const char *name = webhook_event_name((enum webhook_event)e);
        assert_int_equal(webhook_event_parse(name, &got), 0);
        assert_int_equal(got, e);
    }
    enum webhook_event got;
    assert_int_equal(webhook_event_parse("job.*", &got), -EINVAL);
    assert_int_equal(webhook_event_parse(NULL, &got), -EINVAL);
    assert_string_equal(webhook_event_name(WEBHOOK_EVENT_COUNT), "unknown");
    assert_string_equal(webhook_event_object(WEBHOOK_JOB_FAILED), "job");
    assert_string_equal(webhook_event_object(WEBHOOK_GRANT_AUTHORIZED), "grant");
    assert_string_equal(webhook_event_object(WEBHOOK_TUNNEL_DOWN), "site");
    enum webhook_delivery_state s;
    assert_int_equal(webhook_delivery_state_parse("delivered", &s), 0);
    assert_int_equal(s, WEBHOOK_DELIVERED);
    assert_int_equal(webhook_delivery_state_parse("done", &s), -EINVAL);
}

static void test_url_syntax(void **state)
{
    (void)state;
    assert_int_equal(webhook_url_check("https://hooks.example.com/x?y=1"), 0);
    assert_int_equal(webhook_url_check("HTTP://hooks.example.com"), 0);
    assert_int_equal(webhook_url_check("http://[2001:db8::1]:8443/p"), 0);
    assert_int_equal(webhook_url_check(""), -EINVAL);
    assert_int_equal(webhook_url_check(NULL), -EINVAL);
    assert_int_equal(webhook_url_check("ftp://example.com/"), -EINVAL);
    assert_int_equal(webhook_url_check("https:///path"), -EINVAL);
    assert_int_equal(webhook_url_check("https://user:pw@example.com/"), -EINVAL);
    assert_int_equal(webhook_url_check("https://example.com/a b"), -EINVAL);
    assert_int_equal(webhook_url_check("https://example.com/\n"), -EINVAL);
    assert_int_equal(webhook_url_check("https://:443/"), -EINVAL);
    char big[WEBHOOK_URL_MAX + 2];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    memcpy(big, "https://x/", 10);
    assert_int_equal(webhook_url_check(big), -EINVAL);
    big[WEBHOOK_URL_MAX] = '\0';
    assert_int_equal(webhook_url_check(big), 0);
}

static void test_backoff_doubles_up_to_the_cap(void **state)
{
    (void)state;
    assert_int_equal(webhook_backoff_ms(1, 1000, 60000), 1000);
    assert_int_equal(webhook_backoff_ms(2, 1000, 60000), 2000);
    assert_int_equal(webhook_backoff_ms(5, 1000, 60000), 16000);
    assert_int_equal(webhook_backoff_ms(7, 1000, 60000), 60000);
    assert_int_equal(webhook_backoff_ms(1000, 1000, 60000), 60000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_event_names_round_trip),
        cmocka_unit_test(test_url_syntax),
        cmocka_unit_test(test_backoff_doubles_up_to_the_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
