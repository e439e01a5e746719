/*
 * audit.c - names of the audit log's actor kinds.
 */
#include "audit.h"

#include <errno.h>
#include <string.h>

static const char *const actor_names[] = {"api_key", "user"};

const char *audit_actor_name(enum audit_actor a)
{
    return (unsigned)a < 2 ? actor_names[a] : "api_key";
}

int audit_actor_parse(const char *s, enum audit_actor *ret)
{
    for (int i = 0; i < 2; i++) {
        if (!strcmp(s, actor_names[i])) {
            *ret = (enum audit_actor)i;
            return 0;
        }
    }
    return -EINVAL;
}
