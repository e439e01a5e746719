#include "site.h"

#include "policy.h"
#include "rand.h"
#include "timefmt.h"

#include <arpa/inet.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const status_names[SITE_STATUS_COUNT] = {"pending_onboarding", "online",
                                                            "offline", "deleting"};

const char *site_status_name(enum site_status s)
{
    if ((unsigned)s >= SITE_STATUS_COUNT)
        return "unknown";
    return status_names[s];
}

int site_status_parse(const char *s, enum site_status *ret)
{
    for (size_t i = 0; i < SITE_STATUS_COUNT; i++) {
        if (strcmp(s, status_names[i]) == 0) {
            *ret = (enum site_status)i;
            return 0;
        }
    }
    return -EINVAL;
}

void site_release(struct site *s)
{
    if (!s)
        return;
    free(s->name);
    free(s->tunnel_address);
    free(s->identity);
    free(s->model);
    free(s->serial_number);
    free(s->software_version);
    s->name = s->tunnel_address = s->identity = s->model = NULL;
    s->serial_number = s->software_version = NULL;
}

int site_validate_name(const char *name, struct tg_err *err)
{
    long len = utf8_length(name);
    if (len < 0)
        return tg_err_invalid(err, "parameter_invalid", "name", "The name is not valid UTF-8.");
    if (len < 1)
        return tg_err_invalid(err, "parameter_invalid", "name", "The name must not be empty.");
    if (len > SITE_NAME_MAX)
        return tg_err_invalid(err, "name_too_long", "name",
                              "The name may have at most %d characters.", SITE_NAME_MAX);
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return tg_err_invalid(err, "parameter_invalid", "name",
                                  "The name must not contain control characters.");
    return 0;
}

int site_normalize_address(const char *s, const char *param, char *out, size_t outlen,
                           struct tg_err *err)
{
    unsigned char a[16];
    int fam = AF_INET;
    if (inet_pton(AF_INET, s, a) != 1) {
        fam = AF_INET6;
        if (inet_pton(AF_INET6, s, a) != 1)
            return tg_err_invalid(err, "invalid_address", param,
                                  "'%s' is not a valid IPv4 or IPv6 address.", s);
    }
    char tmp[INET6_ADDRSTRLEN];
    inet_ntop(fam, a, tmp, sizeof tmp);
    snprintf(out, outlen, "%s", tmp);
    return 0;
}

void site_note_release(struct site_note *n)
{
    if (!n)
        return;
    free(n->content);
    free(n->updated_by);
    n->content = n->updated_by = NULL;
}

static const char *const credential_state_names[] = {"current", "pending", "retired"};

const char *credential_state_name(enum credential_state s)
{
    if ((unsigned)s >= sizeof credential_state_names / sizeof credential_state_names[0])
        return "unknown";
    return credential_state_names[s];
}

int credential_state_parse(const char *s, enum credential_state *ret)
{
    for (size_t i = 0; i < sizeof credential_state_names / sizeof credential_state_names[0]; i++) {
        if (strcmp(s, credential_state_names[i]) == 0) {
            *ret = (enum credential_state)i;
            return 0;
        }
    }
    return -EINVAL;
}

void credential_release(struct credential *c)
{
    if (!c)
        return;
    sodium_memzero(c->password, sizeof c->password);
    free(c->ip_address);
    c->ip_address = NULL;
}

void credential_generate(struct credential *c, const char *site_id)
{
    memset(c, 0, sizeof *c);
    uuid_v7(c->id);
    snprintf(c->site_id, sizeof c->site_id, "%s", site_id);
    snprintf(c->username, sizeof c->username, "%s", CREDENTIAL_USERNAME);
    rand_base62(c->password, CREDENTIAL_PASSWORD_LEN);
    c->created_at = time_now();
}

bool site_ros_version_at_least(const char *version, unsigned major, unsigned minor)
{
    unsigned ma = 0, mi = 0;
    if (!version || sscanf(version, "%u.%u", &ma, &mi) != 2)
        return false;
    return ma > major || (ma == major && mi >= minor);
}

int64_t site_bootstrap_expires_at(const struct site *s, int64_t ttl_s)
{
    if (!s->bootstrap_issued_at)
        return 0;
    return s->bootstrap_issued_at + (ttl_s > 0 ? ttl_s : SITE_BOOTSTRAP_TTL_DEFAULT);
}

bool site_bootstrap_expired(const struct site *s, int64_t now, int64_t ttl_s)
{
    int64_t until = site_bootstrap_expires_at(s, ttl_s);
    return until && now >= until;
}
