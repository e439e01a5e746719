/*
 * test_dispatcher.c - the dispatcher's retry delay, and the order in which an express push
 * tries a site's credentials (newest first, at most three), against a fake RouterOS API on
 * 127.0.0.1 that accepts one password only. The store is a fresh SQLite one
 * (tests/unit/store/helpers.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
/* clang-format off: cmocka.h needs the headers above */
#include <cmocka.h>
/* clang-format on */

#include "clock.h"
#include "dispatcher.h"
#include "helpers.h"
#include "login.h"
#include "wire.h"

/* ---- dispatcher_backoff_ms ---- */

static void test_backoff_doubles_and_caps(void **state)
{
    (void)state;
    struct dispatcher_config cfg = {.backoff_base_ms = 1000, .backoff_max_ms = 60000};
    static const struct {
        int attempt;
        int64_t nominal;
    } rows[] = {{1, 1000},  {2, 2000},  {3, 4000},  {4, 8000},    {5, 16000},
                {6, 32000}, {7, 60000}, {8, 60000}, {1000, 60000}};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        int64_t lo = rows[i].nominal - rows[i].nominal / 5,
                hi = rows[i].nominal + rows[i].nominal / 5;
        bool below = false, above = false;
        for (int k = 0; k < 400; k++) {
            int64_t d = dispatcher_backoff_ms(&cfg, rows[i].attempt);
            if (d < lo || d > hi)
                fail_msg("attempt %d: %lld ms outside [%lld, %lld]", rows[i].attempt, (long long)d,
                         (long long)lo, (long long)hi);
            below |= d < rows[i].nominal - rows[i].nominal / 10;
            above |= d > rows[i].nominal + rows[i].nominal / 10;
        }
        /* the jitter spreads to both sides (probability of failing: 2 * 0.75^400) */
        assert_true(below && above);
    }
}

static void test_backoff_edges(void **state)
{
    (void)state;
    /* attempt 0 (never passed by the dispatcher) is the base delay, like attempt 1 */
    struct dispatcher_config cfg = {.backoff_base_ms = 100, .backoff_max_ms = 1000};
    for (int k = 0; k < 100; k++) {
        int64_t d = dispatcher_backoff_ms(&cfg, 0);
        assert_true(d >= 80 && d <= 120);
    }
    /* below 5 ms there is no room for jitter */
    cfg.backoff_base_ms = 4;
    for (int k = 0; k < 100; k++)
        assert_int_equal(dispatcher_backoff_ms(&cfg, 1), 4);
    /* a base above the cap is capped */
    cfg.backoff_base_ms = 5000;
    for (int k = 0; k < 100; k++) {
        int64_t d = dispatcher_backoff_ms(&cfg, 1);
        assert_true(d >= 800 && d <= 1200);
    }
}

/* ---- credential fallback, against a fake RouterOS API ---- */

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x))                                                                                  \
            abort(); /* cmocka's asserts belong to the test thread */                              \
    } while (0)

struct fake {
    int listen_fd;
    uint16_t port;
    char accept_password[CREDENTIAL_PASSWORD_LEN + 1]; /* the one password /login accepts */
    pthread_t thread;
    pthread_mutex_t mu;
    char tried[8][CREDENTIAL_PASSWORD_LEN + 1]; /* passwords of the /login attempts, in order */
    int ntried;
};

static void reply(int fd, const char *tag, const char *const *words, size_t n)
{
    struct ros_sentence s = {0};
    for (size_t i = 0; i < n; i++)
        ros_sentence_add_str(&s, words[i]);
    if (tag)
        ros_sentence_addf(&s, ".tag=%s", tag);
    struct buf b;
    buf_init(&b, 1 << 16);
    CHECK(ros_sentence_encode(&b, &s) == 0);
    CHECK(send(fd, b.data, b.len, MSG_NOSIGNAL) == (ssize_t)b.len);
    buf_release(&b);
    ros_sentence_release(&s);
}

#define REPLY(fd, tag, ...)                                                                        \
    do {                                                                                           \
        const char *w_[] = {__VA_ARGS__};                                                          \
        reply(fd, tag, w_, sizeof(w_) / sizeof(w_[0]));                                            \
    } while (0)

/* One API session: /login (plain) checked against accept_password, anything else is done. */
static void session(struct fake *f, int fd)
{
    struct ros_decoder d;
    ros_decoder_init(&d, NULL);
    struct ros_sentence s = {0};
    char chunk[4096];
    for (;;) {
        int r = ros_decoder_next(&d, &s);
        if (r < 0)
            break;
        if (r == 0) {
            ssize_t n = recv(fd, chunk, sizeof chunk, 0);
            if (n <= 0)
                break;
            ros_decoder_feed(&d, chunk, (size_t)n);
            continue;
        }
        const char *tag = ros_sentence_tag(&s);
        if (strcmp(ros_sentence_command(&s), "/login") != 0) {
            REPLY(fd, tag, "!done");
            continue;
        }
        struct ros_login_request req;
        CHECK(ros_login_request_parse(&s, &req) == 0 && req.kind == ROS_LOGIN_PLAIN);
        pthread_mutex_lock(&f->mu);
        if (f->ntried < 8)
            snprintf(f->tried[f->ntried++], sizeof f->tried[0], "%s", req.password);
        pthread_mutex_unlock(&f->mu);
        if (ros_login_verify(&req, f->accept_password, NULL) == 0) {
            REPLY(fd, tag, "!done");
        } else {
            REPLY(fd, tag, "!trap", "=message=invalid user name or password (6)");
            REPLY(fd, tag, "!done");
        }
    }
    ros_sentence_release(&s);
    ros_decoder_release(&d);
}

static void *serve(void *arg)
{
    struct fake *f = arg;
    for (;;) {
        int fd = accept(f->listen_fd, NULL, NULL);
        if (fd < 0)
            return NULL; /* shut down by fake_stop() */
        session(f, fd);
        close(fd);
    }
}

static void fake_start(struct fake *f, const char *accept_password)
{
    memset(f, 0, sizeof *f);
    snprintf(f->accept_password, sizeof f->accept_password, "%s", accept_password);
    pthread_mutex_init(&f->mu, NULL);
    f->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(f->listen_fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(f->listen_fd, (struct sockaddr *)&a, len), 0);
    assert_int_equal(listen(f->listen_fd, 8), 0);
    assert_int_equal(getsockname(f->listen_fd, (struct sockaddr *)&a, &len), 0);
    f->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&f->thread, NULL, serve, f), 0);
}

static void fake_stop(struct fake *f)
{
    shutdown(f->listen_fd, SHUT_RDWR); /* wakes accept() */
    pthread_join(f->thread, NULL);
    close(f->listen_fd);
    pthread_mutex_destroy(&f->mu);
}

static void run_until_done(struct fx *f, int max_attempts, const char *job_id, struct job *ret);

/*
 * A site on 127.0.0.1 with four credentials (one from the site's creation, three
 * rotations): ret_creds[0] oldest .. [3] newest.
 */
/*
 * A site whose credentials are, oldest first: retired, current, pending, pending (two-phase
 * rotation: two rotations whose jobs have not been confirmed yet).
 */
static void site_with_four_credentials(struct fx *f, char ret_site[UUID_STR_LEN],
                                       struct credential ret_creds[4])
{
    fx_site(f, NULL, "127.0.0.1", true, ret_site, &ret_creds[0]);
    for (int i = 1; i < 4; i++) {
        struct credential c, stored;
        credential_generate(&c, ret_site);
        c.state = i == 1 ? CREDENTIAL_CURRENT : CREDENTIAL_PENDING;
        assert_int_equal(store_credential_rotate(f->s, f->tenant, &c, &stored), 0);
        ret_creds[i] = c;
        credential_release(&stored);
    }
}

/* The states of the site's four credentials, oldest first, as "c r p p" letters. */
static void states(struct fx *f, const char *site, char out[8])
{
    struct credential *all = NULL;
    size_t n = 0;
    assert_int_equal(store_credential_list(f->s, f->tenant, site, &all, &n), 0);
    assert_int_equal(n, 4);
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = credential_state_name(all[i].state)[0];
        out[2 * i + 1] = i + 1 < n ? ' ' : '\0';
    }
    store_credential_array_free(all, n);
}

/* The API port of the tenant's default policy (the site's) becomes port. */
static void set_api_port(struct fx *f, uint16_t port)
{
    struct policy p;
    assert_int_equal(store_policy_get_default(f->s, f->tenant, &p), 0);
    p.svc[SVC_API].port = port;
    assert_int_equal(store_policy_update(f->s, &p), 0);
    policy_release(&p);
}

/*
 * Site with four credentials, a fake router that accepts only creds[accepted]'s password,
 * one express job with an empty plan, a dispatcher run until the job is completed or
 * failed (max_attempts 1). Returns the job and the fake (its tried[] in login order).
 */
static void run_until_done(struct fx *f, int max_attempts, const char *job_id, struct job *ret);

static void push_once(struct fx *f, int accepted, struct fake *fk, struct credential creds[4],
                      struct job *ret, char ret_states[8])
{
    char site[UUID_STR_LEN], job[UUID_STR_LEN];
    site_with_four_credentials(f, site, creds);
    fake_start(fk, accepted < 0 ? "no password of the store" : creds[accepted].password);
    set_api_port(f, fk->port);
    fx_job(f, site, true, false, "", NULL, job);
    run_until_done(f, 1, job, ret);
    fake_stop(fk);
    states(f, site, ret_states);
}

/* Runs a dispatcher (one worker) until job_id is completed or failed; returns the job. */
static void run_until_done(struct fx *f, int max_attempts, const char *job_id, struct job *ret)
{
    struct dispatcher_config dc = {
        .store = f->s,
        .workers = 1,
        .max_attempts = max_attempts,
        .backoff_base_ms = 10,
        .backoff_max_ms = 10,
        .connect_timeout_ms = 2000,
        .io_timeout_ms = 2000,
        .lease_ms = 60000,
        .poll_interval_s = 30,
        .run_dispatcher = true,
    };
    struct dispatcher *d = NULL;
    assert_int_equal(dispatcher_start(&dc, &d), 0);
    dispatcher_wake(d);
    int64_t deadline = clock_mono_ms() + 10000;
    for (;;) {
        assert_int_equal(store_job_get_any(f->s, job_id, ret), 0);
        if (ret->status == JOB_COMPLETED || ret->status == JOB_FAILED)
            break;
        job_release(ret);
        assert_true(clock_mono_ms() < deadline);
        struct timespec ts = {0, 5 * 1000000};
        nanosleep(&ts, NULL);
    }
    dispatcher_stop(d);
}

/* The newest pending password works (its job ran, its confirmation was lost): one login, and
 * it is current now; the older pending one and the old current one are retired. */
static void test_newest_pending_first_and_confirmed(void **state)
{
    struct fx *f = *state;
    struct fake fk;
    struct credential creds[4];
    struct job j;
    char st[8];
    push_once(f, 3, &fk, creds, &j, st);
    assert_int_equal(j.status, JOB_COMPLETED);
    assert_int_equal(fk.ntried, 1);
    assert_string_equal(fk.tried[0], creds[3].password);
    assert_string_equal(st, "r r r c");
    job_release(&j);
    struct job full;
    assert_int_equal(store_job_get(f->s, f->tenant, j.site_id, j.id, &full), 0);
    bool said = false;
    for (size_t i = 0; i < full.nevents; i++)
        said |= !strcmp(full.events[i].kind, "credential") &&
                strstr(full.events[i].message, creds[3].id) != NULL;
    assert_true(said);
    job_release(&full);
}

/* The router still has the current password: both pending ones are tried first, nothing
 * changes (their jobs will confirm them). */
static void test_current_after_pending(void **state)
{
    struct fx *f = *state;
    struct fake fk;
    struct credential creds[4];
    struct job j;
    char st[8];
    push_once(f, 1, &fk, creds, &j, st);
    assert_int_equal(j.status, JOB_COMPLETED);
    assert_int_equal(fk.ntried, 3);
    assert_string_equal(fk.tried[0], creds[3].password);
    assert_string_equal(fk.tried[1], creds[2].password);
    assert_string_equal(fk.tried[2], creds[1].password);
    assert_string_equal(st, "r c p p");
    job_release(&j);
}

/* An interrupted rotation left the router on the password retired last: it is current again,
 * the pending ones (newer) stay pending. */
static void test_last_retired_is_tried_and_converges(void **state)
{
    struct fx *f = *state;
    struct fake fk;
    struct credential creds[4];
    struct job j;
    char st[8];
    push_once(f, 0, &fk, creds, &j, st);
    assert_int_equal(j.status, JOB_COMPLETED);
    assert_int_equal(fk.ntried, 4);
    assert_string_equal(fk.tried[3], creds[0].password);
    assert_string_equal(st, "c r p p");
    job_release(&j);
}

/* No password of the store works: four logins, then the job fails with the router's reason. */
static void test_at_most_four_logins(void **state)
{
    struct fx *f = *state;
    struct fake fk;
    struct credential creds[4];
    struct job j;
    char st[8];
    push_once(f, -1, &fk, creds, &j, st);
    assert_int_equal(j.status, JOB_FAILED);
    assert_int_equal(fk.ntried, 4);
    assert_non_null(j.last_error);
    assert_non_null(strstr(j.last_error, "refused"));
    assert_non_null(strstr(j.last_error, "invalid user name or password"));
    assert_string_equal(st, "r c p p");
    job_release(&j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_backoff_doubles_and_caps, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_backoff_edges, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_newest_pending_first_and_confirmed, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_current_after_pending, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_last_retired_is_tried_and_converges, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_at_most_four_logins, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests_name("jobs_dispatcher", tests, NULL, NULL);
}
