/*
 * test_jw.c - the JSON writer (respond.c jw_*) gives the bytes of jansson's compact dump of
 * the same tree: key order, escaping, null, numbers; and a job written by job_write_json().
 */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include "api_int.h"

#include <stdlib.h>
#include <string.h>

/* The compact dump of the tree (what api_send_json sends); the tree is released. */
static char *dump(json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(v);
    assert_non_null(s);
    return s;
}

static void test_escaping_and_shapes(void **state)
{
    (void)state;
    const char *tricky = "q\"b\\s/\b\f\n\r\t\x01\x1f\x7f é €";
    struct buf b;
    buf_init(&b, 1 << 16);
    struct jw w = {.b = &b};
    jw_open(&w, '{');
    jw_key(&w, "s");
    jw_string(&w, tricky);
    jw_key(&w, "n");
    jw_string(&w, NULL);
    jw_key(&w, "i");
    jw_int(&w, -1234567890123LL);
    jw_key(&w, "t");
    jw_bool(&w, true);
    jw_key(&w, "e");
    jw_open(&w, '[');
    jw_close(&w, ']');
    jw_key(&w, "o");
    jw_open(&w, '{');
    jw_close(&w, '}');
    jw_key(&w, "a");
    jw_open(&w, '[');
    jw_int(&w, 1);
    jw_open(&w, '{');
    jw_key(&w, "k\"");
    jw_bool(&w, false);
    jw_close(&w, '}');
    jw_string(&w, "");
    jw_close(&w, ']');
    jw_close(&w, '}');
    assert_false(w.err);

    json_t *o = json_object();
    json_object_set_new(o, "s", json_string(tricky));
    json_object_set_new(o, "n", json_null());
    json_object_set_new(o, "i", json_integer(-1234567890123LL));
    json_object_set_new(o, "t", json_true());
    json_object_set_new(o, "e", json_array());
    json_object_set_new(o, "o", json_object());
    json_t *a = json_array();
    json_array_append_new(a, json_integer(1));
    json_t *inner = json_object();
    json_object_set_new(inner, "k\"", json_false());
    json_array_append_new(a, inner);
    json_array_append_new(a, json_string(""));
    json_object_set_new(o, "a", a);
    char *want = dump(o);
    assert_string_equal(b.data, want);
    free(want);
    buf_release(&b);
}

static void test_bad_utf8_as_json_text(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 1024);
    struct jw w = {.b = &b};
    jw_string(&w, "ok\xff\xfe!");
    char *want = dump(json_text("ok\xff\xfe!"));
    assert_string_equal(b.data, want);
    free(want);
    buf_release(&b);
}

static void test_overflow_is_an_error(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 8);
    struct jw w = {.b = &b};
    jw_string(&w, "longer than eight bytes");
    assert_true(w.err);
    buf_release(&b);
}

static void test_job_bytes(void **state)
{
    (void)state;
    struct job_event ev[2] = {{.at_ms = 1718000000123, .kind = "created", .message = "m \"1\""},
                              {.at_ms = 1718000001005, .kind = "pushing", .message = "x\ny"}};
    struct job j = {.kind = JOB_KIND_SCRIPT,
                    .description = "d\ttab",
                    .status = JOB_RUNNING,
                    .express = true,
                    .attempts = 2,
                    .created_at = 1718000000,
                    .completed_at = 0,
                    .last_error = NULL,
                    .created_by = "key \"k\"",
                    .idempotency_key = "idem",
                    .payload = ":log info \"hi\"",
                    .is_script = true,
                    .events = ev,
                    .nevents = 2};
    strcpy(j.id, "01900000-0000-7000-8000-000000000001");
    strcpy(j.site_id, "01900000-0000-7000-8000-000000000002");
    strcpy(j.token, "tok");
    for (int with_events = 0; with_events < 2; with_events++) {
        struct buf b;
        buf_init(&b, 1 << 16);
        struct jw w = {.b = &b};
        job_write_json(&w, &j, with_events);
        assert_false(w.err);
        json_t *tree = json_loadb(b.data, b.len, 0, NULL);
        assert_non_null(tree);
        /* reparsed and dumped again by jansson: the same bytes (order, escaping) */
        char *again = dump(tree);
        assert_string_equal(b.data, again);
        free(again);
        assert_non_null(strstr(b.data, "\"script\":\":log info \\\"hi\\\"\""));
        assert_true((strstr(b.data, "\"events\":[{\"at\":\"2024-06-10T06:13:20.123+00:00\"") !=
                     NULL) == (with_events == 1));
        buf_release(&b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escaping_and_shapes),
        cmocka_unit_test(test_bad_utf8_as_json_text),
        cmocka_unit_test(test_overflow_is_an_error),
        cmocka_unit_test(test_job_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
