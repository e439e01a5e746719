#include "bootstrap.h"

#include "alloc.h"
#include "log.h"
#include "rand.h"
#include "timefmt.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * Writes secret to DATA_DIR/name, mode 0600 also when the file existed with another mode; a
 * symbolic link there is refused (O_NOFOLLOW: it would write the secret where it points).
 */
static void save_secret_file(const char *data_dir, const char *name, const char *secret)
{
    char *path = xasprintf("%s/%s", data_dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        log_warn("bootstrap", "could not create %s: %s", path, strerror(errno));
    } else {
        if (fchmod(fd, 0600) < 0 || write(fd, secret, strlen(secret)) < 0 || write(fd, "\n", 1) < 0)
            log_warn("bootstrap", "could not write %s", path);
        close(fd);
    }
    free(path);
}

/* Gives path mode `mode` when group or others have access (not following a link). */
static void restrict_mode(const char *path, mode_t mode)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return; /* absent (first start), or a link: left alone */
    struct stat sb;
    if (fstat(fd, &sb) == 0 && (sb.st_mode & 077)) {
        log_warn("bootstrap", "%s was mode %04o (group/other access): now %04o", path,
                 (unsigned)(sb.st_mode & 07777), (unsigned)mode);
        if (fchmod(fd, mode) < 0)
            log_warn("bootstrap", "cannot chmod %s: %s", path, strerror(errno));
    }
    close(fd);
}

int bootstrap_secure_data_dir(const struct config *cfg)
{
    if (mkdir(cfg->data_dir, 0700) < 0 && errno != EEXIST)
        return -errno;
    restrict_mode(cfg->data_dir, 0700);
    static const char *const files[] = {"master.key", "admin.key", "admin.password",
                                        "tikgated.log"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char *path = xasprintf("%s/%s", cfg->data_dir, files[i]);
        restrict_mode(path, 0600);
        free(path);
    }
    if (cfg->database && !strncmp(cfg->database, "sqlite:", 7)) {
        static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
        for (size_t i = 0; i < sizeof suffix / sizeof suffix[0]; i++) {
            char *path = xasprintf("%s%s", cfg->database + 7, suffix[i]);
            restrict_mode(path, 0600);
            free(path);
        }
    }
    return 0;
}

/* Inserts an admin key with the given secret for tenant_id. */
static int insert_admin_key(struct store *st, const char *tenant_id, const char *secret)
{
    struct api_key k;
    memset(&k, 0, sizeof k);
    uuid_v7(k.id);
    snprintf(k.tenant_id, sizeof k.tenant_id, "%s", tenant_id);
    k.name = xstrdup("admin (bootstrap)");
    snprintf(k.prefix, sizeof k.prefix, "%.*s", APIKEY_DISPLAY_PREFIX_LEN, secret);
    api_key_hash(secret, k.hash);
    k.scopes = SCOPE_ADMIN;
    k.created_at = time_now();
    int r = store_api_key_insert(st, &k);
    api_key_release(&k);
    return r;
}

static bool key_file_exists(const char *data_dir)
{
    char *path = xasprintf("%s/admin.key", data_dir);
    bool yes = access(path, F_OK) == 0;
    free(path);
    return yes;
}

/*
 * With no portal user yet, creates the first admin of the first tenant:
 * TIKGATE_ADMIN_EMAIL / TIKGATE_ADMIN_PASSWORD, or a random password kept in
 * DATA_DIR/admin.password (mode 0600) and printed.
 */
static int ensure_admin_user(struct store *st, const struct config *cfg)
{
    int n = 0;
    int r = store_user_count(st, &n);
    if (r < 0 || n > 0)
        return r;
    struct user u;
    memset(&u, 0, sizeof u);
    r = store_tenant_first(st, u.tenant_id);
    if (r < 0)
        return r;
    struct tg_err err;
    if (user_check_email(cfg->admin_email, &err) < 0) {
        log_error("bootstrap", "TIKGATE_ADMIN_EMAIL: %s", err.message);
        return -EINVAL;
    }
    char generated[21];
    const char *password = cfg->admin_password;
    if (!password) {
        rand_base62(generated, 20);
        password = generated;
        save_secret_file(cfg->data_dir, "admin.password", generated);
    } else if (user_check_password(password, &err) < 0) {
        log_error("bootstrap", "TIKGATE_ADMIN_PASSWORD: %s", err.message);
        return -EINVAL;
    }
    uuid_v7(u.id);
    snprintf(u.email, sizeof u.email, "%s", cfg->admin_email);
    u.role = ROLE_ADMIN;
    u.created_at = u.updated_at = time_now();
    r = user_hash_password(password, u.password_hash);
    if (r == 0)
        r = store_user_insert(st, &u);
    if (r == 0)
        log_info("bootstrap", "created the portal admin %s", u.email);
    sodium_memzero(generated, sizeof generated);
    return r;
}

/*
 * Issue 11 item 5: every node of a store must hold the same master key (it seals the secrets
 * and derives the session key). The first node to serve records its check value; a node
 * whose key gives another one refuses to start (-EKEYREJECTED) before it writes anything.
 */
static int check_master_key(struct store *st, const struct config *cfg)
{
    char mac[65], stored[65];
    store_mac_hex(st, "tikgate master key check v1", mac);
    int r = store_master_key_check(st, mac, stored);
    if (r < 0)
        return r;
    if (strcmp(mac, stored) != 0) {
        log_error("bootstrap",
                  "%s/master.key is not the key of this database (another node recorded a "
                  "different one): copy the installation's master.key to every node "
                  "(docs/deployment.md)",
                  cfg->data_dir);
        return -EKEYREJECTED;
    }
    return 0;
}

int bootstrap_run(struct store *st, const struct config *cfg)
{
    int n = 0;
    int r = check_master_key(st, cfg);
    if (r < 0)
        return r;
    r = store_tenant_count(st, &n);
    if (r < 0)
        return r;
    char *shown = NULL;
    if (n == 0) {
        char tenant[UUID_STR_LEN];
        r = store_tenant_create(st, "default", cfg->management_networks, tenant);
        if (r < 0)
            return r;
        char secret[APIKEY_SECRET_LEN + 1];
        const char *use = cfg->bootstrap_token;
        if (use && strlen(use) < 16) {
            log_error("bootstrap", "TIKGATE_BOOTSTRAP_TOKEN must have at least 16 characters");
            return -EINVAL;
        }
        if (!use) {
            api_key_generate_secret(secret);
            use = secret;
            save_secret_file(cfg->data_dir, "admin.key", secret);
        }
        r = insert_admin_key(st, tenant, use);
        if (r < 0)
            return r;
        log_info("bootstrap", "created tenant %s with an admin API key", tenant);
        /* Shown this once (security-review F11): later starts only say where it is. */
        if (use == secret)
            shown = xstrdup(use);
    }
    r = ensure_admin_user(st, cfg);
    if (r < 0)
        return r;
    printf("tikgated: API at %s (OpenAPI: %s/openapi.yaml)\n", cfg->public_url, cfg->public_url);
    printf("tikgated: portal at %s/ - sign in as %s with %s\n", cfg->public_url, cfg->admin_email,
           cfg->admin_password ? "TIKGATE_ADMIN_PASSWORD"
                               : "the password in DATA_DIR/admin.password");
    if (shown)
        printf("tikgated: admin API key (shown once, kept in DATA_DIR/admin.key): %s\n", shown);
    else if (cfg->bootstrap_token)
        printf("tikgated: admin API key: the value of TIKGATE_BOOTSTRAP_TOKEN\n");
    else if (key_file_exists(cfg->data_dir))
        printf("tikgated: admin API key: in DATA_DIR/admin.key\n");
    printf("tikgated: try: curl -H 'Authorization: Bearer <key>' %s/v1/control-plane/policies\n",
           cfg->public_url);
    fflush(stdout);
    if (shown) {
        sodium_memzero(shown, strlen(shown));
        free(shown);
    }
    return 0;
}

int bootstrap_tenant_create(struct store *st, const struct config *cfg, const char *name)
{
    char tenant[UUID_STR_LEN];
    int r = store_tenant_create(st, name, cfg->management_networks, tenant);
    if (r < 0)
        return r;
    char secret[APIKEY_SECRET_LEN + 1];
    api_key_generate_secret(secret);
    r = insert_admin_key(st, tenant, secret);
    if (r < 0)
        return r;
    printf("{\"tenant_id\":\"%s\",\"api_key\":\"%s\"}\n", tenant, secret);
    return 0;
}
