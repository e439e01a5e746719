/*
 * fuzz_api_json.c - a policy request body as tikgated reads it: jansson parse (with the
 * server's flags) of arbitrary bytes, then policy_from_json. Invariants: a refusal carries an
 * invalid_request_error 400 with a code; an accepted policy passes policy_validate, its
 * answer (policy_to_json) parses again as a body, and gives the same answer (the canonical
 * form is a fixed point).
 */
#include "api_int.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_api_json: %s failed\n", #cond);                                  \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (64u << 10))
        return 0; /* the server caps bodies at 1 MiB; smaller inputs fuzz faster */
    json_error_t jerr;
    json_t *body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    if (!body || !json_is_object(body)) {
        json_decref(body);
        return 0;
    }
    struct policy p;
    struct tg_err err;
    memset(&p, 0, sizeof p);
    memset(&err, 0, sizeof err);
    int r = policy_from_json(body, &p, &err);
    if (r < 0) {
        CHECK(err.type == TG_ERR_INVALID_REQUEST);
        CHECK(err.status == 400);
        CHECK(err.code[0] != '\0');
        CHECK(err.message[0] != '\0');
        policy_release(&p);
        json_decref(body);
        return 0;
    }
    CHECK(r == 0);
    CHECK(policy_validate(&p, &err) == 0);

    snprintf(p.id, sizeof p.id, "018bac1e-c6a0-79f7-ba86-2627de3e0196");
    json_t *answer = policy_to_json(&p, false);
    struct policy q;
    memset(&q, 0, sizeof q);
    CHECK(policy_from_json(answer, &q, &err) == 0);
    snprintf(q.id, sizeof q.id, "%s", p.id);
    json_t *again = policy_to_json(&q, false);
    CHECK(json_equal(answer, again));
    char *text = json_dumps(answer, JSON_COMPACT);
    CHECK(text != NULL);
    free(text);

    json_decref(again);
    json_decref(answer);
    policy_release(&q);
    policy_release(&p);
    json_decref(body);
    return 0;
}
