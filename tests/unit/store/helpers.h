/* Shared helpers of the store unit tests: a fresh SQLite store in a temporary directory. */
#ifndef TG_TEST_STORE_HELPERS_H
#define TG_TEST_STORE_HELPERS_H

#include "rand.h" /* UUID_STR_LEN */
#include "store.h"

#include <stdbool.h>

#define MGMT "100.64.0.0/10"

struct fx {
    char dir[256]; /* temporary data dir, removed by fx_teardown */
    struct store *s;
    char tenant[UUID_STR_LEN]; /* created by fx_setup, with its default policy */
    char policy[UUID_STR_LEN]; /* the tenant's default policy */
};

/* cmocka setup/teardown: *state is a struct fx. */
/*
 * The database URL of a fresh store for dir: sqlite:DIR/t.db, or with TG_TEST_DATABASE set (a
 * PostgreSQL URL, tests/integration/pgserver.py) that database, emptied first. 0 or -1.
 */
int fx_database_url(const char *dir, char *url, size_t len);
/* One call of (nearly) every store function (round.c); round k keeps names unique. */
void fx_store_round(struct fx *f, int k);
int fx_setup(void **state);
int fx_teardown(void **state);

/*
 * Inserts a site of f's tenant on policy_id (NULL: the default) with a fresh credential.
 * tunnel may be NULL. adopted: also run store_site_adopt (status online, adopted_at set) and a
 * heartbeat (configured: jobs are claimable).
 * ret_cred (may be NULL) receives the credential.
 */
void fx_site(struct fx *f, const char *policy_id, const char *tunnel, bool adopted,
             char ret_id[UUID_STR_LEN], struct credential *ret_cred);

/* Inserts a pending job for site_id; payload may be NULL. ret_id receives its id. */
void fx_job(struct fx *f, const char *site_id, bool express, bool needs_ack, const char *payload,
            const char *idem, char ret_id[UUID_STR_LEN]);

/* Inserts a pending express, acknowledged job of kind and queue class for site_id. */
void fx_job_of(struct fx *f, const char *site_id, enum job_kind kind, enum job_class cls,
               char ret_id[UUID_STR_LEN]);

/* True when any file of the data dir other than master.key contains needle. */
bool fx_files_contain(const struct fx *f, const char *needle);

#endif
