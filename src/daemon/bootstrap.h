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
 * DATA_DIR/admin.key (mode 0600) so that later starts can show it again.
 * Prints how to reach the API and the key to stdout.
 */
int bootstrap_run(struct store *st, const struct config *cfg);
/* Creates a tenant with an admin key and prints {"tenant_id","api_key"} as JSON. */
int bootstrap_tenant_create(struct store *st, const struct config *cfg, const char *name);

#endif
