/*
 * Unit tests of src/store/sqlite_writer.c: the one write connection and its group commit.
 * Threads are ordered with semaphores and the writer's own waiting count, so that a group of
 * two forms every time: A releases its transaction while B waits for write_mu, and A's commit
 * returns only with B's.
 */
/* cmocka.h needs these headers first */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include "clock.h"
#include "helpers.h"
#include "sqlite_int.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

struct member {
    struct fx *f;
    const char *name;
    bool fail;        /* roll back instead of committing */
    sem_t in, go;     /* "my tenant is written" / "end the transaction now" */
    int result;       /* of the commit (or the rollback's store_tx_end) */
    atomic_bool done; /* the transaction's end returned */
};

static void *member_main(void *arg)
{
    struct member *m = arg;
    char id[UUID_STR_LEN];
    int r = store_tx_begin(m->f->s);
    if (r == 0)
        r = store_tenant_create(m->f->s, m->name, MGMT, id);
    sem_post(&m->in);
    sem_wait(&m->go);
    m->result = store_tx_end(m->f->s, m->fail ? -ECANCELED : r);
    atomic_store(&m->done, true);
    store_thread_done(m->f->s);
    return NULL;
}

static void member_init(struct member *m, struct fx *f, const char *name, bool fail)
{
    m->f = f;
    m->name = name;
    m->fail = fail;
    sem_init(&m->in, 0, 0);
    sem_init(&m->go, 0, 0);
    m->result = 1;
    atomic_store(&m->done, false);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* Waits (at most 5 s) until n threads wait for the writer. */
static void wait_writers_waiting(struct fx *f, int n)
{
    struct sqlite_store *o = sqlite_store_of(f->s);
    for (int i = 0; i < 5000 && atomic_load(&o->writers_waiting) != n; i++)
        sleep_ms(1);
    assert_int_equal(atomic_load(&o->writers_waiting), n);
}

static int tenants(struct fx *f)
{
    int n = -1;
    assert_int_equal(store_tenant_count(f->s, &n), 0);
    return n;
}

/*
 * A writes and ends its transaction while B waits: A's commit waits for B's. In between, a
 * reader (this thread, its own connection) sees neither. B's end is a commit (b_fails false)
 * or a rollback; A's work is committed either way.
 */
static void run_group_of_two(struct fx *f, bool b_fails)
{
    struct member a, b;
    member_init(&a, f, "a", false);
    member_init(&b, f, "b", b_fails);
    pthread_t ta, tb;
    assert_int_equal(pthread_create(&ta, NULL, member_main, &a), 0);
    sem_wait(&a.in); /* A holds the writer */
    assert_int_equal(pthread_create(&tb, NULL, member_main, &b), 0);
    wait_writers_waiting(f, 1); /* B waits for it */
    /* A group is handed on only while younger than STORE_GROUP_MAX_MS (10 ms), counted from
     * A's begin: starting B may take longer than that under ASan on a loaded machine (CI saw
     * A commit alone), so the group's age starts now. A reads it after sem_post. */
    sqlite_store_of(f->s)->group_opened_ms = clock_mono_ms();
    sem_post(&a.go);
    sem_wait(&b.in); /* B holds the writer: A released its savepoint and waits */
    sleep_ms(50);
    assert_false(atomic_load(&a.done)); /* A's commit is B's */
    assert_int_equal(tenants(f), 1);    /* and nothing of the group is visible yet */
    sem_post(&b.go);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    assert_int_equal(a.result, 0);
    assert_int_equal(b.result, b_fails ? -ECANCELED : 0);
    assert_int_equal(tenants(f), b_fails ? 2 : 3);
}

static void test_group_commits_both(void **state)
{
    run_group_of_two(*state, false);
}

static void test_failed_member_leaves_the_group(void **state)
{
    run_group_of_two(*state, true);
}

/* Alone, a transaction commits at its end: nothing waits for anyone. */
static void test_alone_commits_at_once(void **state)
{
    struct fx *f = *state;
    char id[UUID_STR_LEN];
    assert_int_equal(store_tx_begin(f->s), 0);
    assert_int_equal(store_tenant_create(f->s, "x", MGMT, id), 0);
    assert_int_equal(store_tx_commit(f->s), 0);
    assert_int_equal(tenants(f), 2);
    assert_false(sqlite_store_of(f->s)->group_open);
}

enum { HAMMER_THREADS = 8, HAMMER_TX = 150 };

struct hammer {
    struct fx *f;
    int idx, ok, failed;
};

/* HAMMER_TX transactions, every third one rolled back. */
static void *hammer_main(void *arg)
{
    struct hammer *h = arg;
    for (int i = 0; i < HAMMER_TX; i++) {
        char name[32], id[UUID_STR_LEN];
        snprintf(name, sizeof name, "t%d-%d", h->idx, i);
        int r = store_tx_begin(h->f->s);
        assert_int_equal(r, 0);
        r = store_tenant_create(h->f->s, name, MGMT, id);
        assert_int_equal(r, 0);
        bool fail = i % 3 == 2;
        r = store_tx_end(h->f->s, fail ? -ECANCELED : 0);
        if (fail) {
            assert_int_equal(r, -ECANCELED);
            h->failed++;
        } else {
            assert_int_equal(r, 0);
            h->ok++;
        }
    }
    store_thread_done(h->f->s);
    return NULL;
}

/* Many threads at once: every committed transaction is there, no rolled-back one is. */
static void test_many_writers(void **state)
{
    struct fx *f = *state;
    struct hammer h[HAMMER_THREADS];
    pthread_t t[HAMMER_THREADS];
    for (int i = 0; i < HAMMER_THREADS; i++) {
        h[i] = (struct hammer){.f = f, .idx = i};
        assert_int_equal(pthread_create(&t[i], NULL, hammer_main, &h[i]), 0);
    }
    int ok = 0;
    for (int i = 0; i < HAMMER_THREADS; i++) {
        pthread_join(t[i], NULL);
        ok += h[i].ok;
    }
    assert_int_equal(ok, HAMMER_THREADS * (HAMMER_TX - HAMMER_TX / 3));
    assert_int_equal(tenants(f), 1 + ok);
    assert_false(sqlite_store_of(f->s)->group_open);
    /* the writer's counters (GET /metrics): a hold per transaction, fewer COMMITs than
     * holds when groups formed, never more; some time held */
    struct store_metrics m;
    assert_int_equal(store_metrics_get(f->s, &m), 0);
    assert_true(m.has_writer);
    assert_true(m.writer_holds >= (unsigned long long)HAMMER_THREADS * HAMMER_TX);
    assert_true(m.writer_commits >= 1 && m.writer_commits <= m.writer_holds);
    assert_true(m.writer_held_us > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_group_commits_both, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_failed_member_leaves_the_group, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_alone_commits_at_once, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_many_writers, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
