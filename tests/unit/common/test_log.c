/* test_log.c - the buffered log writer: order, warnings written at once, drops counted. */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char path[] = "/tmp/tg-test-log.XXXXXX";
static int saved_stderr = -1;

static int setup(void **state)
{
    (void)state;
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    fflush(stderr);
    saved_stderr = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    close(fd);
    log_set_json(0);
    log_set_level(LOG_INFO);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    dup2(saved_stderr, STDERR_FILENO);
    close(saved_stderr);
    unlink(path);
    return 0;
}

/* The file's contents so far (owned). */
static char *contents(void)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char buf[1 << 23];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static size_t count(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static void test_order_and_warn_written_at_once(void **state)
{
    (void)state;
    assert_int_equal(log_async_start(), 0);
    log_info("t", "first-line");
    log_info("t", "second-line");
    log_warn("t", "third-line");
    /* A warning is on stderr when log_warn returns, after the lines before it. */
    const char *s = contents();
    const char *a = strstr(s, "first-line"), *b = strstr(s, "second-line"),
               *c = strstr(s, "third-line");
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    assert_true(a < b && b < c);
    log_info("t", "fourth-line");
    log_async_stop(); /* drains */
    assert_non_null(strstr(contents(), "fourth-line"));
    log_info("t", "fifth-line"); /* direct again */
    assert_non_null(strstr(contents(), "fifth-line"));
}

static void test_every_line_written_or_counted(void **state)
{
    (void)state;
    unsigned long long dropped0 = log_dropped();
    char big[3000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(log_async_start(), 0);
    enum { N = 2000 }; /* 4 MB of lines (2 KiB each): more than the two 1 MiB buffers */
    for (int i = 0; i < N; i++)
        log_info("t", "bulk-line %s", big);
    log_async_stop();
    const char *s = contents();
    size_t written = count(s, "bulk-line");
    assert_int_equal(written + (log_dropped() - dropped0), N);
    if (log_dropped() > dropped0)
        assert_non_null(strstr(s, "line(s) dropped"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_and_warn_written_at_once),
        cmocka_unit_test(test_every_line_written_or_counted),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
