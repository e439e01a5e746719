/*
 * bootstrap.h - first start: the first tenant and its admin API key; tenant creation.
 */
#ifndef TG_DAEMON_BOOTSTRAP_H
#define TG_DAEMON_BOOTSTRAP_H

#include "config.h"
#include "store.h"

/*
 * On an empty store creates tenant "default" (with its default policy) and an
 * admin API key: TIKGATE_BOOTSTRAP_TOKEN when set, else a random one saved to
 * DATA_DIR/admin.key (mode 0600). Prints how to reach the API to stdout, and a
 * generated key only then, when it is created: later starts name the file. First checks
 * that the master key is the installation's (-EKEYREJECTED when another node recorded a
 * different one).
 */
int bootstrap_run(struct store *st, const struct config *cfg);
/*
 * Before the store opens (security-review F12): creates DATA_DIR 0700, or makes an existing
 * one 0700 when group or others have access (with a warning), and likewise makes the
 * secret files, the SQLite database with its -wal/-shm/-journal and tikgated.log 0600.
 * Symbolic links are not followed. Returns 0 or -errno of mkdir.
 */
int bootstrap_secure_data_dir(const struct config *cfg);
/* Creates a tenant with an admin key and prints {"tenant_id","api_key"} as JSON. */
int bootstrap_tenant_create(struct store *st, const struct config *cfg, const char *name);

#endif
