/* Unit tests for src/sim/certs.c and the script forms the bootstrap's CA check uses:
 * /certificate import, [find where name~ fingerprint!=], [:len [find]], :if, :error,
 * /file remove, and check-certificate handed to fetch with the trust store. */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include "helpers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GOOD                                                                                       \
    "-----BEGIN CERTIFICATE-----\n"                                                                \
    "MIIBiTCCAS+gAwIBAgIUIkixhA71YmT03XpR5F2uzKUe/gMwCgYIKoZIzj0EAwIw\n"                           \
    "GjEYMBYGA1UEAwwPdGlrZ2F0ZS10ZXN0LWNhMB4XDTI2MTIwMTExNDAzMVoXDTM2\n"                           \
    "MTEyODExNDAzMVowGjEYMBYGA1UEAwwPdGlrZ2F0ZS10ZXN0LWNhMFkwEwYHKoZI\n"                           \
    "zj0CAQYIKoZIzj0DAQcDQgAEnwZFChYko1VZDYLWqwfdJ5mbT+VWUtV0aCUBCrdy\n"                           \
    "O6zBVyr3pVk2eyuNKCRRRdKeczwLIENmrVsUYbSjbzXwqqNTMFEwHQYDVR0OBBYE\n"                           \
    "FNtfVKU1bG0kH0wqhpU5TAJ8E7pbMB8GA1UdIwQYMBaAFNtfVKU1bG0kH0wqhpU5\n"                           \
    "TAJ8E7pbMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIgafGamj+8\n"                           \
    "AlIMeYKih4iZZMmRm93TRWbSkaNdHEGR7MkCIQCz4c36lGr4RYieagewr88l4ug/\n"                           \
    "3OgoTFc6Jnf3f/JHtA==\n"                                                                       \
    "-----END CERTIFICATE-----\n"
#define GOOD_FP "aa3055297c7568c62f66c182746941640cbec1c93f0a9388f0af05c01bf3b346"
#define EVIL                                                                                       \
    "-----BEGIN CERTIFICATE-----\n"                                                                \
    "MIIBeTCCAR+gAwIBAgIUKUYbF2OxRBtV7UBZRp2WttCXVacwCgYIKoZIzj0EAwIw\n"                           \
    "EjEQMA4GA1UEAwwHZXZpbC1jYTAeFw0yNjEyMDExMTQ5MjdaFw0zNjExMjgxMTQ5\n"                           \
    "MjdaMBIxEDAOBgNVBAMMB2V2aWwtY2EwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNC\n"                           \
    "AARx6Dfi+Q5tAMGMhE1gmbxXigmjwPfJKHQKL8iRReRuk8cHg37xry2cq0gEjzUP\n"                           \
    "l+PoN7I5sUZezUXrvvhSwlQNo1MwUTAdBgNVHQ4EFgQUKpKOvb+9R+4x3afjqW+f\n"                           \
    "yLRNE4gwHwYDVR0jBBgwFoAUKpKOvb+9R+4x3afjqW+fyLRNE4gwDwYDVR0TAQH/\n"                           \
    "BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiEA/cOHO2nTj2hOpTgavsGoayBP9Ek2\n"                           \
    "GaIN4PbwR9gmwBQCIAp4BupPKMZLTOgpBwCsJImHcphDmme2H3w1NMWpFODP\n"                               \
    "-----END CERTIFICATE-----\n"
#define EVIL_FP "4285aa4f078e211b74091161e8902e99208eeac181ababc9386746c26962f407"

/* The CA steps of tikgate's bootstrap command (api/device_script.c), then a checked fetch. */
#define CA_STEPS                                                                                   \
    "/tool fetch url=\"https://tg/ca.pem\" check-certificate=no dst-path=tikgate-ca.pem; "         \
    "/certificate import file-name=tikgate-ca.pem passphrase=\"\"; "                               \
    "/file remove [find name=tikgate-ca.pem]; "                                                    \
    "/certificate remove [find where name~\"^tikgate-ca.pem_\" fingerprint!=\"" GOOD_FP "\"]; "    \
    ":if ([:len [/certificate find fingerprint=\"" GOOD_FP "\"]] = 0) do={:error \"tikgate: "      \
    "mismatch\"}; "                                                                                \
    "/certificate set [find fingerprint=\"" GOOD_FP "\"] trusted=yes; "                            \
    "/tool fetch url=\"https://tg/bootstrap/T\" check-certificate=yes dst-path=b.rsc; "            \
    "/import file-name=b.rsc; /file remove [find name=b.rsc]"

static struct sim_state st;
static struct sim_files files;
static struct sim_script_host host;
static struct sim_script_report rep;
static const char *ca_body; /* what GET https://tg/ca.pem answers */
static char last_trust[8192];
static bool last_check;
static unsigned fetches;

static int mock_fetch(void *ctx, const struct sim_fetch_req *req, struct buf *body, long *status,
                      char err[SIM_ERR_LEN])
{
    (void)ctx, (void)err;
    fetches++;
    last_check = req->check_cert;
    snprintf(last_trust, sizeof last_trust, "%s", req->trust_pem ? req->trust_pem : "");
    *status = 200;
    if (strcmp(req->url, "https://tg/ca.pem") == 0)
        buf_append_str(body, ca_body);
    else
        buf_append_str(body, ":log info \"bootstrapped\"\n");
    return 0;
}

static int setup(void **unused)
{
    (void)unused;
    h_state(&st);
    memset(&files, 0, sizeof files);
    host = (struct sim_script_host){.st = &st, .files = &files, .fetch = mock_fetch};
    ca_body = GOOD;
    last_trust[0] = '\0';
    last_check = false;
    fetches = 0;
    return 0;
}

static int teardown(void **unused)
{
    (void)unused;
    sim_files_release(&files);
    sim_state_release(&st);
    return 0;
}

static enum sim_script_result run(const char *text)
{
    return sim_script_run(&host, "test", text, strlen(text), &rep);
}

static const struct sim_item *cert(const char *name)
{
    size_t idx;
    if (sim_resolve(&st, SIM_M_CERT, name, &idx) != 0)
        return NULL;
    return &st.menus[SIM_M_CERT].items[idx];
}

static const char *prop(const struct sim_item *it, const char *name)
{
    return sim_item_get(&st.menus[SIM_M_CERT], it, name);
}

static void test_import_and_fingerprint(void **state)
{
    (void)state;
    assert_int_equal(sim_files_put(&files, "ca.pem", GOOD EVIL, strlen(GOOD EVIL)), 0);
    assert_int_equal(run("/certificate import file-name=ca.pem passphrase=\"\"\n"), SIM_SCRIPT_OK);
    assert_int_equal(st.menus[SIM_M_CERT].n, 2);
    assert_string_equal(prop(cert("ca.pem_0"), "fingerprint"), GOOD_FP);
    assert_string_equal(prop(cert("ca.pem_1"), "fingerprint"), EVIL_FP);
    assert_string_equal(prop(cert("ca.pem_0"), "trusted"), "true");
    /* importing again adds nothing (same fingerprints) */
    assert_int_equal(run("/certificate import file-name=ca.pem\n"), SIM_SCRIPT_OK);
    assert_int_equal(st.menus[SIM_M_CERT].n, 2);
    /* the get form scripts use */
    assert_int_equal(run(":local f [/certificate get [find name=\"ca.pem_0\"] fingerprint]\n"
                         ":if ($f != \"" GOOD_FP "\") do={ :error \"wrong\" }\n"),
                     SIM_SCRIPT_OK);
    /* the API prints the fingerprint, never the PEM */
    struct sim_session sess = {.service = "api", .logged_in = true};
    snprintf(sess.user, sizeof sess.user, "admin");
    struct ros_sentence in;
    h_sentence(&in, "/certificate/print", NULL);
    struct buf out;
    buf_init(&out, 1 << 20);
    sim_api_handle(&st, &sess, &in, &out);
    struct ros_sentence replies[4];
    size_t n = h_decode(&out, replies, 4);
    assert_int_equal(n, 3);
    bool seen_fp = false;
    for (size_t w = 0; w < replies[0].nwords; w++) {
        assert_null(strstr(replies[0].words[w].data, "BEGIN CERTIFICATE"));
        seen_fp = seen_fp || strcmp(replies[0].words[w].data, "=fingerprint=" GOOD_FP) == 0;
    }
    assert_true(seen_fp);
    h_release(replies, n);
    h_release(&in, 1);
    buf_release(&out);
    /* nothing to import */
    assert_int_equal(sim_files_put(&files, "x.pem", "hello", 5), 0);
    assert_int_equal(run("/certificate import file-name=x.pem\n"), SIM_SCRIPT_FAILED);
    assert_non_null(strstr(rep.err, "no valid PEM certificate"));
}

static void test_ca_steps_good(void **state)
{
    (void)state;
    assert_int_equal(run(CA_STEPS), SIM_SCRIPT_OK);
    assert_int_equal(fetches, 2);
    assert_true(last_check);
    assert_non_null(strstr(last_trust, "MIIBiTCCAS+gAwIBAgIU")); /* the imported CA is trusted */
    assert_string_equal(prop(cert("tikgate-ca.pem_0"), "fingerprint"), GOOD_FP);
    assert_int_equal(files.n, 0); /* the CA file and the script are gone */
}

static void test_ca_steps_mismatch(void **state)
{
    (void)state;
    ca_body = EVIL;
    assert_int_equal(run(CA_STEPS), SIM_SCRIPT_FAILED);
    assert_non_null(strstr(rep.err, "tikgate: mismatch"));
    assert_int_equal(fetches, 1);                /* the bootstrap was never fetched */
    assert_int_equal(st.menus[SIM_M_CERT].n, 0); /* and the wrong CA was removed */
}

static void test_ca_steps_extra_certificate(void **state)
{
    (void)state;
    ca_body = EVIL GOOD; /* the right CA plus one of the attacker's */
    assert_int_equal(run(CA_STEPS), SIM_SCRIPT_OK);
    assert_int_equal(st.menus[SIM_M_CERT].n, 1);
    assert_string_equal(prop(&st.menus[SIM_M_CERT].items[0], "fingerprint"), GOOD_FP);
    assert_null(strstr(last_trust, "MIIBeTCCAR+gAwIBAgIUKUYb")); /* never trusted */
}

static void test_fetch_check_flag(void **state)
{
    (void)state;
    st.builtin_ca_pem = strdup(GOOD);
    assert_int_equal(run("/tool fetch url=\"https://tg/x\" check-certificate=yes-without-crl "
                         "output=none\n"),
                     SIM_SCRIPT_OK);
    assert_true(last_check);
    assert_non_null(strstr(last_trust, "MIIBiTCCAS+gAwIBAgIU")); /* --ca-file */
    assert_int_equal(run("/tool fetch url=\"https://tg/x\" check-certificate=no output=none\n"),
                     SIM_SCRIPT_OK);
    assert_false(last_check);
    assert_string_equal(last_trust, "");
    assert_int_equal(run("/tool fetch url=\"https://tg/x\" output=none\n"), SIM_SCRIPT_OK);
    assert_false(last_check); /* RouterOS's default: no check */
}

static void test_file_remove(void **state)
{
    (void)state;
    sim_files_put(&files, "a.rsc", "x", 1);
    sim_files_put(&files, "b.rsc", "y", 1);
    assert_int_equal(run("/file remove [find name=\"nope.rsc\"]\n"), SIM_SCRIPT_OK);
    assert_int_equal(files.n, 2);
    assert_int_equal(run("/file remove a.rsc\n"), SIM_SCRIPT_OK);
    assert_int_equal(files.n, 1);
    assert_null(sim_files_get(&files, "a.rsc"));
    assert_int_equal(run("/file remove a.rsc\n"), SIM_SCRIPT_FAILED);
    assert_int_equal(run("/file remove [find]\n"), SIM_SCRIPT_OK);
    assert_int_equal(files.n, 0);
}

static void test_if_else_and_scope(void **state)
{
    (void)state;
    assert_int_equal(run(":local a \"x\"\n"
                         ":if ($a = \"y\") do={ :error \"then\" } else={ :local b 1; "
                         ":if ([:len $a] != 1) do={ :error \"len\" } }\n"
                         ":if ([:len [/user find name=\"admin\"]] = 1) do={ /system identity set "
                         "name=\"seen\" }\n"),
                     SIM_SCRIPT_OK);
    assert_string_equal(st.identity, "seen");
    /* an :error inside :do is caught by on-error like any failure */
    assert_int_equal(run(":do { :error \"boom\" } on-error={ /system identity set name=\"c\" }\n"),
                     SIM_SCRIPT_OK);
    assert_string_equal(st.identity, "c");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_import_and_fingerprint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ca_steps_good, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ca_steps_mismatch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ca_steps_extra_certificate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fetch_check_flag, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_remove, setup, teardown),
        cmocka_unit_test_setup_teardown(test_if_else_and_scope, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
