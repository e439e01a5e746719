/*
 * store_ops.h - the backend table behind store.h (docs/internals/store.md, "Decision: a
 * struct store_ops vtable"). Internal to src/store: store.c dispatches every public function
 * through s->ops; each backend (sqlite_*.c, pg_*.c) fills one table.
 *
 * The part between the GENERATED markers is written by scripts/dev/store_vtable.py from
 * store.h: do not edit it by hand, run the script after changing a store.h signature.
 */
#ifndef TG_STORE_OPS_H
#define TG_STORE_OPS_H

#include "secrets.h"
#include "store.h"

/* The common head of every backend's store: the backend's struct embeds it first. */
struct store {
    const struct store_ops *ops;
    struct store_secrets secrets; /* loaded by store_open for every backend */
    int schema_version;           /* set by the backend's open */
};

struct store_ops {
    const char *name; /* "sqlite", "postgres" */
    /*
     * Opens the database at target (SQLite: the file path; PostgreSQL: the whole URL) and
     * applies the migrations; allocates the backend's struct and returns its head. Logs why it
     * failed (error). 0 or -errno.
     */
    int (*open)(const char *target, struct store **ret);
    /* Closes every connection and frees what open allocated (not the secrets). */
    void (*close)(struct store *s);
    /* GENERATED BEGIN (scripts/dev/store_vtable.py) */
    /* GENERATED END */
};

extern const struct store_ops store_sqlite_ops;
#ifdef TG_HAVE_POSTGRES
extern const struct store_ops store_pg_ops;
#endif

#endif
