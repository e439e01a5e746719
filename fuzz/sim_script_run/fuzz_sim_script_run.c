/*
 * fuzz_sim_script_run.c - the sim's script interpreter (src/sim/script_exec.c, through
 * sim_script_run) on arbitrary text, against a fresh simulated router per input. The scripts a
 * router runs are fetched over HTTP; this is what happens to them after the parser.
 *
 * Host: /tool fetch answers 200 with the request's http-data as the body (or the URL when
 * there is none), 404 for a URL ending in "/404", and a connection error for one ending in
 * "/down", so that a script can write a file and /import it. A budget of statements (through
 * should_stop) keeps each input fast.
 *
 * Oracles (abort on failure):
 *  1. sim_script_run says SYNTAX exactly when script_parse or script_check (what RouterOS
 *     refuses before running anything) refuses the text, with their line and message
 *     line and message, and then nothing ran;
 *  2. OK leaves no error behind; FAILED has an error and a line; STOPPED only when the budget
 *     ran out; REBOOT only with the reboot flag set;
 *  3. whatever ran, the state keeps its rules: at most SIM_MAX_ITEMS items a menu, ids unique
 *     and below next_id, unique fields unique, required fields present, booleans "true" or
 *     "false", every user's group exists, the eight services are still there by name, and the
 *     identity is not empty.
 */
#include "log.h"
#include "script_int.h"
#include "sim.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_sim_script_run: %s failed (line %d)\n", #cond, __LINE__);        \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define BUDGET 2000 /* statements per input */

struct budget {
    unsigned polls;
    bool spent;
};

static bool over_budget(void *ctx)
{
    struct budget *b = ctx;
    if (++b->polls > BUDGET)
        b->spent = true;
    return b->spent;
}

static bool ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), t = strlen(tail);
    return n >= t && strcmp(s + n - t, tail) == 0;
}

static int mock_fetch(void *ctx, const struct sim_fetch_req *req, struct buf *body, long *status,
                      char err[SIM_ERR_LEN])
{
    (void)ctx;
    if (ends_with(req->url, "/down")) {
        snprintf(err, SIM_ERR_LEN, "connection refused");
        return -ECONNREFUSED;
    }
    *status = ends_with(req->url, "/404") ? 404 : 200;
    (void)buf_append_str(body, req->data ? req->data : req->url); /* capped: may stop short */
    return 0;
}

static void check_state(const struct sim_state *st)
{
    static const char *const services[] = {"telnet",  "ftp", "www",    "ssh",
                                           "www-ssl", "api", "winbox", "api-ssl"};
    CHECK(st->identity && st->identity[0]);
    for (int m = 0; m < SIM_M_COUNT; m++) {
        const struct sim_menu *mm = &st->menus[m];
        const struct sim_menu_def *d = mm->def;
        CHECK(mm->n <= SIM_MAX_ITEMS && mm->n <= mm->alloc);
        for (size_t i = 0; i < mm->n; i++) {
            const struct sim_item *it = &mm->items[i];
            CHECK(it->id < mm->next_id);
            for (size_t j = 0; j < i; j++)
                CHECK(mm->items[j].id != it->id);
            for (size_t f = 0; f < d->nfields; f++) {
                const struct sim_field *fd = &d->fields[f];
                const char *v = it->val[f];
                if (fd->flags & SIM_F_REQUIRED)
                    CHECK(v != NULL);
                if (v && (fd->flags & SIM_F_BOOL))
                    CHECK(strcmp(v, "true") == 0 || strcmp(v, "false") == 0);
                if (v && (fd->flags & SIM_F_UNIQUE))
                    for (size_t j = 0; j < i; j++)
                        CHECK(!mm->items[j].val[f] || strcmp(mm->items[j].val[f], v) != 0);
            }
        }
    }
    const struct sim_menu *users = &st->menus[SIM_M_USER];
    for (size_t i = 0; i < users->n; i++) {
        const char *g = sim_item_get(users, &users->items[i], "group");
        size_t idx;
        CHECK(g && sim_resolve(st, SIM_M_GROUP, g, &idx) == 0);
    }
    CHECK(st->menus[SIM_M_SERVICE].n == 8);
    for (size_t k = 0; k < 8; k++) {
        size_t idx;
        CHECK(sim_resolve(st, SIM_M_SERVICE, services[k], &idx) == 0);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    log_set_level((enum log_level)(LOG_ERROR + 1)); /* every command logs; keep quiet */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (16u << 10))
        return 0;
    const char *text = (const char *)data;
    struct sim_options o;
    memset(&o, 0, sizeof o);
    strcpy(o.address, "127.0.0.2");
    strcpy(o.version, "7.16");
    strcpy(o.serial, "FUZZ1");
    struct sim_state st;
    memset(&st, 0, sizeof st);
    sim_state_init(&st, &o, "pw");
    uint64_t gen0 = st.gen;
    struct sim_files files;
    memset(&files, 0, sizeof files);
    struct budget budget = {0, false};
    struct sim_script_host host = {.st = &st,
                                   .files = &files,
                                   .fetch = mock_fetch,
                                   .should_stop = over_budget,
                                   .stop_ctx = &budget};

    struct script_prog p;
    struct script_syntax_err perr;
    int pr = script_parse(text, size, &p, &perr);
    bool checked = false; /* the refusal came from the checker, not the parser */
    if (pr == 0) {
        sim_state_lock(&st);
        struct sim_options opt = st.opt;
        sim_state_unlock(&st);
        pr = script_check(&p, &opt, &perr);
        checked = pr != 0;
        script_prog_release(&p);
    }

    struct sim_script_report rep;
    enum sim_script_result res = sim_script_run(&host, "fuzz", text, size, &rep);
    switch (res) {
    case SIM_SCRIPT_SYNTAX: {
        CHECK(pr != 0);
        CHECK(rep.line == perr.line);
        char want[SIM_ERR_LEN];
        if (checked)
            snprintf(want, sizeof want, "%.230s", perr.msg);
        else
            snprintf(want, sizeof want, "syntax error: %.200s", perr.msg);
        CHECK(strcmp(rep.err, want) == 0);
        CHECK(rep.commands == 0 && st.gen == gen0 && budget.polls == 0);
        break;
    }
    case SIM_SCRIPT_OK: CHECK(pr == 0 && rep.err[0] == '\0' && !budget.spent); break;
    case SIM_SCRIPT_FAILED: CHECK(pr == 0 && rep.err[0] != '\0' && rep.line >= 1); break;
    case SIM_SCRIPT_STOPPED: CHECK(pr == 0 && budget.spent); break;
    case SIM_SCRIPT_REBOOT: CHECK(pr == 0 && st.reboot_pending); break;
    default: CHECK(!"unknown result");
    }
    CHECK(rep.commands <= budget.polls);
    check_state(&st);

    sim_files_release(&files);
    sim_state_release(&st);
    return 0;
}
