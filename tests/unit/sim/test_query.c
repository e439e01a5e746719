/* Unit tests for src/sim/query.c: the API query stack of print. */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include "helpers.h"

#include <errno.h>
#include <string.h>

static struct sim_state st;

static int setup(void **unused)
{
    (void)unused;
    h_state(&st);
    char err[SIM_ERR_LEN];
    unsigned id;
    /* users: admin (*1, no comment), bob (*2, read, comment), carol (*3, write) */
    struct sim_kv b[] = {{"name", "bob"}, {"group", "read"}, {"comment", "tikgate:tmp:1"}};
    struct sim_kv c[] = {{"name", "carol"}, {"group", "write"}};
    if (sim_state_add(&st, SIM_M_USER, b, 3, &id, err) ||
        sim_state_add(&st, SIM_M_USER, c, 2, &id, err))
        return -1;
    return 0;
}

static int teardown(void **unused)
{
    (void)unused;
    sim_state_release(&st);
    return 0;
}

/* Names of the users matching the query words (NULL-terminated), space separated. */
static const char *matching(const char *w1, ...)
{
    static char out[256];
    struct ros_sentence s;
    ros_sentence_init(&s);
    ros_sentence_add_str(&s, "/user/print");
    va_list ap;
    va_start(ap, w1);
    for (const char *w = w1; w; w = va_arg(ap, const char *))
        ros_sentence_add_str(&s, w);
    va_end(ap);
    out[0] = '\0';
    const struct sim_menu *m = &st.menus[SIM_M_USER];
    for (size_t i = 0; i < m->n; i++) {
        bool ok;
        char err[SIM_ERR_LEN];
        if (sim_query_match(m, &m->items[i], &s, &ok, err) != 0) {
            strcpy(out, "ERR");
            break;
        }
        if (ok) {
            if (out[0])
                strcat(out, " ");
            strcat(out, m->items[i].val[0]);
        }
    }
    ros_sentence_release(&s);
    return out;
}

static void test_simple(void **unused)
{
    (void)unused;
    assert_string_equal(matching("=.proplist=name", NULL), "admin bob carol");
    assert_string_equal(matching("?name=bob", NULL), "bob");
    assert_string_equal(matching("?=name=bob", NULL), "bob");
    assert_string_equal(matching("?name=nobody", NULL), "");
    assert_string_equal(matching("?comment", NULL), "bob");
    assert_string_equal(matching("?-comment", NULL), "admin carol");
    assert_string_equal(matching("?<name=bob", NULL), "admin");
    assert_string_equal(matching("?>name=bob", NULL), "carol");
    assert_string_equal(matching("?>comment=", NULL), "bob");
    assert_string_equal(matching("?.id=*2", NULL), "bob");
    assert_string_equal(matching("?>.id=*1", NULL), "bob carol");
    /* the password is not visible to queries */
    assert_string_equal(matching("?password", NULL), "");
    /* two plain queries: AND */
    assert_string_equal(matching("?group=read", "?name=bob", NULL), "bob");
    assert_string_equal(matching("?group=read", "?name=carol", NULL), "");
}

static void test_stack(void **unused)
{
    (void)unused;
    assert_string_equal(matching("?name=bob", "?name=carol", "?#|", NULL), "bob carol");
    assert_string_equal(matching("?name=bob", "?name=carol", "?#|!", NULL), "admin");
    assert_string_equal(matching("?name=bob", "?#!", NULL), "admin carol");
    assert_string_equal(matching("?group=read", "?comment", "?#&", NULL), "bob");
    /* "." duplicates the top; "0" copies entry 0 (the top) */
    assert_string_equal(matching("?name=bob", "?#.|", NULL), "bob");
    assert_string_equal(matching("?name=bob", "?#0|", NULL), "bob");
    /* N at the end replaces the stack with entry N (from the top):
     * [name=admin, name=bob] -> "1" keeps name=admin */
    assert_string_equal(matching("?name=admin", "?name=bob", "?#1", NULL), "admin");
    assert_string_equal(matching("?name=admin", "?name=bob", "?#0", NULL), "bob");
    /* "." after an index is a separator: push entry 1, then entry 1 again, or */
    assert_string_equal(matching("?name=admin", "?name=bob", "?#1.2|", NULL), "");
    /* reading below the explicit stack gives true */
    assert_string_equal(matching("?#&&!!", NULL), "admin bob carol");
    assert_string_equal(matching("?#x", NULL), "ERR");
    assert_string_equal(matching("?", NULL), "ERR");
}

static void test_overflow(void **unused)
{
    (void)unused;
    struct ros_sentence s;
    ros_sentence_init(&s);
    ros_sentence_add_str(&s, "/user/print");
    char ops[600];
    memset(ops, '.', sizeof ops - 1);
    ops[sizeof ops - 1] = '\0';
    ros_sentence_addf(&s, "?#%s", ops);
    bool ok;
    char err[SIM_ERR_LEN];
    const struct sim_menu *m = &st.menus[SIM_M_USER];
    assert_int_equal(sim_query_match(m, &m->items[0], &s, &ok, err), -EINVAL);
    ros_sentence_release(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple),
        cmocka_unit_test(test_stack),
        cmocka_unit_test(test_overflow),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
