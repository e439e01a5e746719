/*
 * audit.h - the audit log of actions (issue 12 item 2, docs/API.md "Audit log").
 *
 * One entry per mutating API request and per sign-in attempt, written by the API's dispatcher
 * after the handler ran (src/api/audit.c): who, from where, which route on which objects, and
 * the result. Entries are tenant-scoped and never changed; old ones are pruned after
 * TIKGATE_AUDIT_RETENTION days.
 */
#ifndef TG_DOMAIN_AUDIT_H
#define TG_DOMAIN_AUDIT_H

#include "rand.h" /* UUID_STR_LEN */

#include <stdint.h>

enum audit_actor {
    AUDIT_ACTOR_API_KEY = 0, /* actor_id: the API key's id, actor_name its name */
    AUDIT_ACTOR_USER,        /* actor_id: the portal user's id, actor_name the e-mail */
};

#define AUDIT_NAME_MAX 260   /* struct principal.name */
#define AUDIT_ROUTE_MAX 128  /* a route pattern of the table */
#define AUDIT_OBJECT_MAX 128 /* a path parameter (HTTP_MAX_PARAMS' 127 bytes) */
#define AUDIT_CODE_MAX 64    /* an error code of docs/errors.md */

struct audit_entry {
    char id[UUID_STR_LEN]; /* UUIDv7 */
    char tenant_id[UUID_STR_LEN];
    int64_t at_ms; /* Unix milliseconds */
    enum audit_actor actor_kind;
    char actor_id[UUID_STR_LEN]; /* "" for a failed sign-in of an unknown account */
    char actor_name[AUDIT_NAME_MAX];
    char source[64]; /* numeric client address */
    char method[8];
    char route[AUDIT_ROUTE_MAX];      /* the matched pattern, "/v1/sites/{id}" */
    char object_id[AUDIT_OBJECT_MAX]; /* the object acted on (last path id, or the created id) */
    char parent_id[AUDIT_OBJECT_MAX]; /* the one it belongs to (a grant's site), else "" */
    int status;                       /* HTTP status of the answer */
    char error_code[AUDIT_CODE_MAX];  /* the error's code, "" on success */
    char request_id[UUID_STR_LEN];    /* the X-Request-Id of the answer */
};

/* Filters of a listing; NULL / 0 = no filter. */
struct audit_filter {
    const char *actor_id;  /* entries of this key or user */
    const char *object_id; /* entries whose object_id or parent_id is this */
    int64_t since_ms;      /* at_ms >= since_ms */
    int64_t until_ms;      /* at_ms < until_ms */
    int result_class;      /* 2, 3, 4 or 5: status / 100 */
};

const char *audit_actor_name(enum audit_actor a);
/* 0 or -EINVAL. */
int audit_actor_parse(const char *s, enum audit_actor *ret);

#endif
