/* Shared helpers of the store unit tests. */
/* cmocka.h needs these headers first */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include "helpers.h"

#include "alloc.h"
#include "log.h"
#include "rand.h"
#include "timefmt.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int fx_database_url(const char *dir, char *url, size_t len)
{
    const char *pg = getenv("TG_TEST_DATABASE");
    if (!pg || !*pg) {
        snprintf(url, len, "sqlite:%s/t.db", dir);
        return 0;
    }
    /* A scratch PostgreSQL database (tests/integration/pgserver.py): emptied for every test. */
    const char *psql = getenv("TG_TEST_PSQL");
    char cmd[1200];
    snprintf(cmd, sizeof cmd,
             "'%s' -X -q -v ON_ERROR_STOP=1 '%s' -c 'DROP SCHEMA public CASCADE' "
             "-c 'CREATE SCHEMA public' >/dev/null 2>&1",
             psql && *psql ? psql : "psql", pg);
    if (system(cmd) != 0)
        return -1;
    snprintf(url, len, "%s", pg);
    return 0;
}

int fx_setup(void **state)
{
    if (getenv("TG_TEST_DEBUG"))
        log_set_level(LOG_DEBUG);
    if (tg_rand_init() < 0)
        return -1;
    struct fx *f = xcalloc(1, sizeof *f);
    const char *tmp = getenv("TMPDIR");
    snprintf(f->dir, sizeof f->dir, "%s/tg-store-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    char url[600];
    if (fx_database_url(f->dir, url, sizeof url) < 0)
        return -1;
    if (store_open(url, f->dir, &f->s) < 0 || store_tenant_create(f->s, "T", MGMT, f->tenant) < 0)
        return -1;
    struct policy p;
    if (store_policy_get_default(f->s, f->tenant, &p) < 0)
        return -1;
    memcpy(f->policy, p.id, sizeof f->policy);
    policy_release(&p);
    *state = f;
    return 0;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int fx_teardown(void **state)
{
    struct fx *f = *state;
    if (!f)
        return 0;
    store_close(f->s);
    nftw(f->dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

void fx_site(struct fx *f, const char *policy_id, const char *tunnel, bool adopted,
             char ret_id[UUID_STR_LEN], struct credential *ret_cred)
{
    struct site s;
    memset(&s, 0, sizeof s);
    uuid_v7(s.id);
    memcpy(s.tenant_id, f->tenant, UUID_STR_LEN);
    s.name = xstrdup("site");
    memcpy(s.policy_id, policy_id ? policy_id : f->policy, UUID_STR_LEN);
    s.tunnel_address = tunnel ? xstrdup(tunnel) : NULL;
    s.status = SITE_PENDING_ONBOARDING;
    rand_base62(s.bootstrap_token, SITE_TOKEN_LEN);
    s.created_at = s.updated_at = time_now();
    struct credential c;
    credential_generate(&c, s.id);
    assert_int_equal(store_site_insert(f->s, &s, &c), 0);
    if (adopted) {
        char dev[SITE_TOKEN_LEN + 1];
        rand_base62(dev, SITE_TOKEN_LEN);
        assert_int_equal(
            store_site_adopt(f->s, s.id,
                             &(struct store_adoption){"k=v", "r1", "hAP", "X1", "7.15", NULL, dev}),
            0);
        /* the router ran its adoption script (its confirmation is a heartbeat): pushable */
        assert_true(store_site_heartbeat(f->s, s.id, time_now()) >= 0);
    }
    memcpy(ret_id, s.id, UUID_STR_LEN);
    if (ret_cred)
        *ret_cred = c;
    site_release(&s);
}

/* fx_job and fx_job_of: a pending job of kind and class for site_id. */
static void insert_job(struct fx *f, const char *site_id, const struct job *proto,
                       const char *payload, const char *idem, char ret_id[UUID_STR_LEN])
{
    struct job j = *proto;
    uuid_v7(j.id);
    memcpy(j.site_id, site_id, UUID_STR_LEN);
    rand_base62(j.token, JOB_TOKEN_LEN);
    j.description = xstrdup(j.kind == JOB_KIND_POLICY ? "Apply policy" : job_kind_name(j.kind));
    j.payload = xstrdup(payload ? payload : "reboot\t/system\t-\t\t0\n");
    j.created_at = time_now();
    j.created_by = xstrdup("test");
    j.idempotency_key = idem ? xstrdup(idem) : NULL;
    assert_int_equal(store_job_insert(f->s, &j), 0);
    memcpy(ret_id, j.id, UUID_STR_LEN);
    job_release(&j);
}

void fx_job(struct fx *f, const char *site_id, bool express, bool needs_ack, const char *payload,
            const char *idem, char ret_id[UUID_STR_LEN])
{
    struct job j = {.kind = JOB_KIND_POLICY, .express = express, .needs_ack = needs_ack};
    insert_job(f, site_id, &j, payload, idem, ret_id);
}

void fx_job_of(struct fx *f, const char *site_id, enum job_kind kind, enum job_class cls,
               char ret_id[UUID_STR_LEN])
{
    struct job j = {.kind = kind, .queue_class = cls, .express = true, .needs_ack = true};
    insert_job(f, site_id, &j, NULL, NULL, ret_id);
}

static bool file_contains(const char *path, const char *needle)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return false;
    size_t cap = 1 << 16, len = 0;
    char *data = xmalloc(cap);
    size_t n;
    while ((n = fread(data + len, 1, cap - len, fp)) > 0) {
        len += n;
        if (len == cap) {
            cap *= 2;
            data = xrealloc(data, cap);
        }
    }
    fclose(fp);
    size_t nl = strlen(needle);
    bool found = false;
    for (size_t i = 0; !found && nl <= len && i <= len - nl; i++)
        found = memcmp(data + i, needle, nl) == 0;
    free(data);
    return found;
}

bool fx_files_contain(const struct fx *f, const char *needle)
{
    const char *pg = getenv("TG_TEST_DATABASE");
    if (pg && *pg) {
        /* PostgreSQL keeps no file here: look into a dump of the database instead. */
        const char *psql = getenv("TG_TEST_PSQL");
        char cmd[1200];
        snprintf(cmd, sizeof cmd, "'%.*spg_dump' '%s' >'%s/dump.sql' 2>/dev/null",
                 psql && strrchr(psql, '/') ? (int)(strrchr(psql, '/') - psql + 1) : 0,
                 psql ? psql : "", pg, f->dir);
        assert_int_equal(system(cmd), 0);
    }
    DIR *d = opendir(f->dir);
    assert_non_null(d);
    bool found = false;
    struct dirent *e;
    int files = 0;
    while (!found && (e = readdir(d))) {
        if (e->d_name[0] == '.' || !strcmp(e->d_name, "master.key"))
            continue;
        char path[600];
        snprintf(path, sizeof path, "%s/%s", f->dir, e->d_name);
        found = file_contains(path, needle);
        files++;
    }
    closedir(d);
    assert_true(files > 0);
    return found;
}
