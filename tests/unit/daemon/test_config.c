/*
 * test_config.c - tikgated's configuration: defaults, the file, the environment and flags,
 * each overriding the one before (DESIGN.md §8), and the checks of each kind of value.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
/* clang-format off: cmocka.h needs the headers above */
#include <cmocka.h>
/* clang-format on */

#include "config.h"

extern char **environ;

static char tmpdir[256];
static char file[300];

/* No TIKGATE_* variable of the test's own environment may leak in. */
static void clear_env(void)
{
    for (;;) {
        char name[128] = "";
        for (char **e = environ; *e; e++) {
            if (strncmp(*e, "TIKGATE_", 8) == 0) {
                size_t n = strcspn(*e, "=");
                snprintf(name, sizeof name, "%.*s", (int)n, *e);
                break;
            }
        }
        if (!name[0])
            return;
        unsetenv(name);
    }
}

static int setup(void **state)
{
    (void)state;
    clear_env();
    const char *t = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/tg-config-XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(tmpdir))
        return -1;
    snprintf(file, sizeof file, "%s/tikgated.conf", tmpdir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    clear_env();
    unlink(file);
    rmdir(tmpdir);
    return 0;
}

static void write_file(const char *text)
{
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* config_load() over argv (NULL-terminated, argv[0] added); returns its result. */
static int load(struct config *cfg, const char *const *args)
{
    char *argv[32] = {(char *)"tikgated"};
    int argc = 1;
    for (; args && args[argc - 1]; argc++)
        argv[argc] = (char *)args[argc - 1];
    char **pos = NULL;
    int npos = -1;
    return config_load(cfg, argc, argv, &pos, &npos);
}

static void test_defaults(void **state)
{
    (void)state;
    struct config c;
    assert_int_equal(load(&c, NULL), 0);
    assert_string_equal(c.listen, "127.0.0.1:8080");
    assert_string_equal(c.data_dir, "./var");
    assert_string_equal(c.database, "sqlite:./var/tikgate.db");
    assert_string_equal(c.public_url, "http://127.0.0.1:8080");
    assert_string_equal(c.roles, "api,scheduler,dispatcher,edge");
    assert_int_equal(c.roles_mask, CONFIG_ROLE_API | CONFIG_ROLE_SCHEDULER |
                                       CONFIG_ROLE_DISPATCHER | CONFIG_ROLE_EDGE);
    assert_int_equal(c.edge_ports.lo, 40000);
    assert_int_equal(c.edge_ports.hi, 59999);
    assert_false(c.allow_private_sources);
    assert_int_equal(c.http_threads, 8);
    assert_int_equal(c.http_write_threads, 16);
    assert_int_equal(c.max_body, 1048576);
    assert_int_equal(c.http_public_max_body, 16384);
    assert_int_equal(c.http_max_connections, 16384);
    assert_int_equal(c.http_per_ip_connections, 64);
    assert_int_equal(c.http_request_timeout_ms, 30000);
    assert_int_equal(c.poll_interval, 30);
    assert_int_equal(c.job_max_attempts, 5);
    assert_int_equal(c.job_backoff_ms, 1000);
    assert_int_equal(c.job_backoff_max_ms, 60000);
    assert_int_equal(c.job_lease_ms, 120000);
    assert_int_equal(c.dispatch_workers, 4);
    assert_int_equal(c.ros_connect_timeout_ms, 2000);
    assert_int_equal(c.ros_io_timeout_ms, 10000);
    /* F8/F9 limits */
    assert_int_equal(c.push_deadline_ms, 60000);
    assert_int_equal(c.dispatch_tenant_workers, 0); /* unset: dispatch_workers - 1 */
    assert_int_equal(c.edge_threads, 0);
    assert_int_equal(c.edge_conns_per_grant, 256);
    assert_int_equal(c.edge_conns_per_source, 64);
    assert_int_equal(c.edge_idle_timeout, 3600);
    assert_int_equal(c.edge_refused_interval, 10);
    assert_int_equal(c.edge_refused_records, 1000);
    assert_int_equal(c.edge_refused_retention, 30);
    assert_int_equal(c.fd_reserve, 1024);
    assert_null(c.bootstrap_token);
    assert_null(c.config_file);
    config_release(&c);
}

/* flags > environment > file > defaults, key by key. */
static void test_precedence(void **state)
{
    (void)state;
    write_file("# a comment\n"
               "listen = 127.0.0.1:1001\n"
               "poll_interval = 11\n"
               "job_backoff_ms = 111   # trailing comment\n"
               "TIKGATE_ENTRY_POINT = \"file.example\"\n");
    setenv("TIKGATE_LISTEN", "127.0.0.1:2002", 1);
    setenv("TIKGATE_POLL_INTERVAL", "22", 1);
    setenv("TIKGATE_ROS_IO_TIMEOUT_MS", "2222", 1);
    const char *args[] = {"--config", file, "--listen=127.0.0.1:3003", "--ros-io-timeout-ms",
                          "3333",     NULL};
    struct config c;
    assert_int_equal(load(&c, args), 0);
    assert_string_equal(c.config_file, file);
    assert_string_equal(c.listen, "127.0.0.1:3003");    /* flag over env over file */
    assert_int_equal(c.poll_interval, 22);              /* env over file */
    assert_int_equal(c.job_backoff_ms, 111);            /* file over default */
    assert_string_equal(c.entry_point, "file.example"); /* env name in the file, quotes */
    assert_int_equal(c.ros_io_timeout_ms, 3333);        /* flag over env */
    assert_int_equal(c.ros_connect_timeout_ms, 2000);   /* default */
    /* derived defaults follow the winning value */
    assert_string_equal(c.public_url, "http://127.0.0.1:3003");
    config_release(&c);
}

/* TIKGATE_CONFIG names the file; --config wins over it. */
static void test_config_file_sources(void **state)
{
    (void)state;
    write_file("http_threads = 7\n");
    setenv("TIKGATE_CONFIG", file, 1);
    struct config c;
    assert_int_equal(load(&c, NULL), 0);
    assert_int_equal(c.http_threads, 7);
    config_release(&c);

    char other[400];
    snprintf(other, sizeof other, "%s.other", file);
    FILE *f = fopen(other, "w");
    assert_non_null(f);
    fputs("http_threads = 9\n", f);
    fclose(f);
    const char *args[] = {"--config=", NULL};
    char flag[420];
    snprintf(flag, sizeof flag, "--config=%s", other);
    args[0] = flag;
    assert_int_equal(load(&c, args), 0);
    assert_int_equal(c.http_threads, 9);
    config_release(&c);
    unlink(other);

    setenv("TIKGATE_CONFIG", "/nonexistent/tikgated.conf", 1);
    assert_int_equal(load(&c, NULL), -EINVAL);
    config_release(&c);
}

static void test_file_errors(void **state)
{
    (void)state;
    struct config c;
    const char *args[] = {"--config", file, NULL};
    write_file("no_such_key = 1\n");
    assert_int_equal(load(&c, args), -EINVAL);
    config_release(&c);
    write_file("listen\n");
    assert_int_equal(load(&c, args), -EINVAL);
    config_release(&c);
    write_file("poll_interval = soon\n");
    assert_int_equal(load(&c, args), -EINVAL);
    config_release(&c);
}

static void test_flag_forms(void **state)
{
    (void)state;
    struct config c;
    const char *args[] = {"--allow-private-sources",
                          "--edge_listen",
                          "127.0.0.9",
                          "tenant-create",
                          "acme",
                          "--max-body=99",
                          NULL};
    char **pos = NULL;
    int npos = 0;
    char *argv[8] = {(char *)"tikgated"};
    for (int i = 0; args[i]; i++)
        argv[i + 1] = (char *)args[i];
    assert_int_equal(config_load(&c, 7, argv, &pos, &npos), 0);
    assert_true(c.allow_private_sources);
    assert_string_equal(c.edge_listen, "127.0.0.9");
    assert_int_equal(c.max_body, 99);
    assert_int_equal(npos, 2);
    assert_string_equal(pos[0], "tenant-create");
    assert_string_equal(pos[1], "acme");
    config_release(&c);

    setenv("TIKGATE_ALLOW_PRIVATE_SOURCES", "yes", 1);
    const char *off[] = {"--allow-private-sources=false", NULL};
    assert_int_equal(load(&c, off), 0);
    assert_false(c.allow_private_sources);
    config_release(&c);
    assert_int_equal(load(&c, NULL), 0);
    assert_true(c.allow_private_sources);
    config_release(&c);

    const char *unknown[] = {"--no-such-option=1", NULL};
    assert_int_equal(load(&c, unknown), -EINVAL);
    config_release(&c);
    const char *novalue[] = {"--listen", NULL};
    assert_int_equal(load(&c, novalue), -EINVAL);
    config_release(&c);
    const char *help[] = {"--help", NULL};
    assert_int_equal(load(&c, help), -EINVAL);
    config_release(&c);
}

/* One value through the environment: 0 or -EINVAL. */
static int env_value(const char *name, const char *value, struct config *c)
{
    setenv(name, value, 1);
    int r = load(c, NULL);
    unsetenv(name);
    return r;
}

static void test_number_ranges(void **state)
{
    (void)state;
    struct config c;
    /* K_UINT: 1..86400 */
    assert_int_equal(env_value("TIKGATE_POLL_INTERVAL", "86400", &c), 0);
    assert_int_equal(c.poll_interval, 86400);
    config_release(&c);
    static const char *const bad_uint[] = {"86401", "0", "-1", "", "1x", "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad_uint / sizeof bad_uint[0]; i++) {
        if (env_value("TIKGATE_POLL_INTERVAL", bad_uint[i], &c) != -EINVAL)
            fail_msg("poll_interval '%s' should be refused", bad_uint[i]);
        config_release(&c);
    }
    /* K_MS: 1..3 600 000 (one hour) */
    assert_int_equal(env_value("TIKGATE_JOB_LEASE_MS", "3600000", &c), 0);
    assert_int_equal(c.job_lease_ms, 3600000);
    config_release(&c);
    assert_int_equal(env_value("TIKGATE_JOB_BACKOFF_MAX_MS", "1", &c), 0);
    assert_int_equal(c.job_backoff_max_ms, 1);
    config_release(&c);
    static const char *const ms_keys[] = {
        "TIKGATE_JOB_BACKOFF_MS",    "TIKGATE_JOB_BACKOFF_MAX_MS",
        "TIKGATE_JOB_LEASE_MS",      "TIKGATE_ROS_CONNECT_TIMEOUT_MS",
        "TIKGATE_ROS_IO_TIMEOUT_MS", "TIKGATE_HTTP_REQUEST_TIMEOUT_MS",
        "TIKGATE_PUSH_DEADLINE_MS"};
    for (size_t i = 0; i < sizeof ms_keys / sizeof ms_keys[0]; i++) {
        assert_int_equal(env_value(ms_keys[i], "3600001", &c), -EINVAL);
        config_release(&c);
        assert_int_equal(env_value(ms_keys[i], "0", &c), -EINVAL);
        config_release(&c);
    }
    /* K_SIZE: no upper cap below SIZE_MAX */
    assert_int_equal(env_value("TIKGATE_MAX_BODY", "4294967296", &c), 0);
    assert_true(c.max_body == (size_t)4294967296ULL);
    config_release(&c);
    /* K_BOOL */
    assert_int_equal(env_value("TIKGATE_ALLOW_PRIVATE_SOURCES", "maybe", &c), -EINVAL);
    config_release(&c);
}

static void test_port_range(void **state)
{
    (void)state;
    struct config c;
    assert_int_equal(env_value("TIKGATE_EDGE_PORTS", "1-65535", &c), 0);
    assert_int_equal(c.edge_ports.lo, 1);
    assert_int_equal(c.edge_ports.hi, 65535);
    config_release(&c);
    assert_int_equal(env_value("TIKGATE_EDGE_PORTS", "21000-21000", &c), 0);
    assert_int_equal(c.edge_ports.lo, 21000);
    assert_int_equal(c.edge_ports.hi, 21000);
    config_release(&c);
    static const char *const bad[] = {"0-10",     "10-5", "10",     "10-", "-10",
                                      "10-70000", "a-b",  "10-20x", "",    "10 20"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (env_value("TIKGATE_EDGE_PORTS", bad[i], &c) != -EINVAL)
            fail_msg("edge_ports '%s' should be refused", bad[i]);
        config_release(&c);
    }
}

/* K_CIDRS: an IPv4-mapped IPv6 prefix is refused (security-review F15). */
static void test_cidrs_refuse_v4mapped(void **state)
{
    (void)state;
    struct config c;
    assert_int_equal(env_value("TIKGATE_MANAGEMENT_NETWORKS", "10.0.0.0/8, fd00::/8", &c), 0);
    assert_string_equal(c.management_networks, "10.0.0.0/8,fd00::/8");
    config_release(&c);
    static const char *const bad[] = {"::ffff:10.0.0.0/104", "10.0.0.0/8,::ffff:0:0/96",
                                      "::ffff:100.64.0.1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (env_value("TIKGATE_MANAGEMENT_NETWORKS", bad[i], &c) != -EINVAL)
            fail_msg("'%s' should be refused", bad[i]);
        config_release(&c);
    }
}

static void test_roles(void **state)
{
    (void)state;
    static const struct {
        const char *roles;
        unsigned mask;
    } cases[] = {
        {"api", CONFIG_ROLE_API},
        {"edge,api", CONFIG_ROLE_API | CONFIG_ROLE_EDGE},
        {"scheduler,dispatcher", CONFIG_ROLE_SCHEDULER | CONFIG_ROLE_DISPATCHER},
        {"api,,edge,", CONFIG_ROLE_API | CONFIG_ROLE_EDGE},
        {"apis,edge", CONFIG_ROLE_EDGE}, /* whole names only; unknown ones count for nothing */
        {"xapi", 0},
        {" api", 0},
        {"", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct config c;
        assert_int_equal(env_value("TIKGATE_ROLES", cases[i].roles, &c), 0);
        if (c.roles_mask != cases[i].mask)
            fail_msg("roles '%s': mask %#x, expected %#x", cases[i].roles, c.roles_mask,
                     cases[i].mask);
        assert_string_equal(c.roles, cases[i].roles);
        config_release(&c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_precedence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_file_sources, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flag_forms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_number_ranges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_port_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cidrs_refuse_v4mapped, setup, teardown),
    };
    return cmocka_run_group_tests_name("daemon_config", tests, NULL, NULL);
}
