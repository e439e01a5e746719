/*
 * grant.h - transient access and transient port forwards (seeds 000-003,
 * DESIGN.md §2-§4): a time-limited door through the edge to a router (access)
 * or to a device behind it (forward).
 */
#ifndef TG_DOMAIN_GRANT_H
#define TG_DOMAIN_GRANT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define GRANT_MINUTES_MIN 10
#define GRANT_MINUTES_MAX 1440
#define GRANT_MINUTES_DEFAULT 120
#define GRANT_CRED_LEN 24

enum grant_kind {
    GRANT_ACCESS = 0,
    GRANT_FORWARD,
};

struct grant {
    char id[37];
    char site_id[37];
    enum grant_kind kind;
    char *entry_point; /* owned */
    int port;
    /* access */
    char username[GRANT_CRED_LEN + 1];
    char password[GRANT_CRED_LEN + 1];
    char access_type[8]; /* "winbox" or "ssh" */
    bool full_access;
    bool allow_rfc1918;
    /* forward */
    char dst_address[48];
    int dst_port;
    bool masquerade;
    char allow_only_cidr[52];
    uint64_t rate_limit; /* bytes/s, 0 = off */
    int64_t created_at;
    int64_t expires_at_ms;
    bool revoked_early;
    int64_t torn_down_at;        /* 0 = live */
    int64_t config_committed_at; /* 0 = not yet */
    bool config_removed_from_site;
    bool config_removed_from_mpac;
    char setup_job_id[37];
    char teardown_job_id[37];
    char *created_by; /* owned */
    /* filled by the store for the edge: where to relay */
    char *target_address; /* owned: the site's tunnel address */
    int target_port;
};

void grant_release(struct grant *g);
const char *grant_kind_name(enum grant_kind k);

struct grant_source_rules {
    bool allow_private; /* labs/tests: private and loopback sources and destinations accepted */
};

/*
 * Validates and canonicalises an allow-list CIDR (a bare address is a host).
 * Publicly routed, between /24 and /32 (IPv6: /48 to /128), unless private
 * sources are allowed. param names the field for the error.
 */
int grant_check_source(const char *s, const char *param, const struct grant_source_rules *rules,
                       char *out, size_t outlen, struct tg_err *err);
/*
 * Validates a forward destination: private (RFC 1918) or publicly routed;
 * loopback, link-local, multicast, 0.0.0.0/8 and broadcast are refused (loopback
 * is accepted when private sources are allowed: labs run on one machine).
 */
int grant_check_destination(const char *s, const struct grant_source_rules *rules, char *out,
                            size_t outlen, struct tg_err *err);
int grant_check_minutes(long long minutes, struct tg_err *err);
/* 24 random alphanumerics. */
void grant_generate_credential(char out[GRANT_CRED_LEN + 1]);

#endif
