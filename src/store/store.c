/*
 * store.c - the backend-independent part of the store: the database URL picks a backend
 * (docs/internals/store.md), the master key is loaded for every backend, and each public
 * function of store.h is one line through the backend's table.
 */
#include "log.h"
#include "store_ops.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

/* The backend for url and the target its open takes (SQLite: the path). NULL: unknown scheme. */
static const struct store_ops *backend_for(const char *url, const char **ret_target)
{
    if (strncmp(url, "sqlite:", 7) == 0) {
        *ret_target = url + 7;
        return &store_sqlite_ops;
    }
    if (strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0) {
        *ret_target = url;
#ifdef TG_HAVE_POSTGRES
        return &store_pg_ops;
#else
        return NULL;
#endif
    }
    return NULL;
}

int store_open(const char *url, const char *data_dir, struct store **ret)
{
    const char *target = NULL;
    const struct store_ops *ops = backend_for(url, &target);
    if (!ops)
        return target ? -ENOTSUP : -EINVAL;
    if (mkdir(data_dir, 0700) < 0 && errno != EEXIST)
        return -errno;
    struct store_secrets secrets;
    int r = store_secrets_load(&secrets, data_dir);
    if (r < 0)
        return r;
    struct store *s = NULL;
    r = ops->open(target, &s);
    if (r < 0) {
        store_secrets_wipe(&secrets);
        return r;
    }
    s->ops = ops;
    s->secrets = secrets;
    store_secrets_wipe(&secrets);
    *ret = s;
    return 0;
}

void store_close(struct store *s)
{
    if (!s)
        return;
    store_secrets_wipe(&s->secrets);
    s->ops->close(s);
}

int store_schema_version(struct store *s)
{
    return s->schema_version;
}

const struct store_secrets *store_secrets(struct store *s)
{
    return &s->secrets;
}

/* GENERATED BEGIN (scripts/dev/store_vtable.py) */
/* GENERATED END */
