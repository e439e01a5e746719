/*
 * grant.h - transient access and transient port forwards (seeds 000-003,
 * DESIGN.md §2-§4): a time-limited door through the edge to a router (access)
 * or to a device behind it (forward).
 */
#ifndef TG_DOMAIN_GRANT_H
#define TG_DOMAIN_GRANT_H

#include "error.h"
#include "rand.h" /* UUID_STR_LEN */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GRANT_MINUTES_MIN 10
#define GRANT_MINUTES_MAX 1440
#define GRANT_MINUTES_DEFAULT 120
#define GRANT_CRED_LEN 24
/* rate_limit_bps: bytes per second, each direction, for the whole grant; 0 = off. */
#define GRANT_RATE_LIMIT_MIN 1024          /* 1 KiB/s: below that nothing useful gets through */
#define GRANT_RATE_LIMIT_MAX (10ull << 30) /* 10 GiB/s */

enum grant_kind {
    GRANT_ACCESS = 0,
    GRANT_FORWARD,
};

struct grant {
    char id[UUID_STR_LEN];
    char site_id[UUID_STR_LEN];
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
    char setup_job_id[UUID_STR_LEN];
    char teardown_job_id[UUID_STR_LEN];
    char *created_by; /* owned */
    /*
     * Start (ms) of the first connection the edge accepted, 0 = none yet.
     * Filled by the store's grant reads for the API (get, list); 0 from
     * store_grants_live() and store_site_grants().
     */
    int64_t authorized_at_ms;
    /* filled by the store for the edge: where to relay */
    char *target_address; /* owned: the site's tunnel address */
    int target_port;
};

/* Frees the owned strings and wipes the password. Accepts NULL. */
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

/*
 * A grant as a client asked for it: the API's create or PATCH body, its
 * members already read with the right JSON types but no rule applied yet.
 * Strings are borrowed. has_* say whether a member was sent.
 */
struct grant_request {
    enum grant_kind kind;
    bool patch; /* a PATCH of a live grant: only expires_at and the rate limit */
    /* create, both kinds */
    bool has_minutes;
    long long minutes;        /* expire_after_minutes (default GRANT_MINUTES_DEFAULT) */
    const char *source;       /* the allow-list as sent, or the caller's own address */
    const char *source_param; /* the member errors name: "allow_only_cidr" or "allow_from" */
    /* create, access */
    const char *access_type; /* "winbox" or "ssh"; NULL: winbox */
    bool full_access;
    bool allow_rfc1918;
    /* create, forward */
    const char *dst_address; /* NULL: not sent */
    bool has_dst_port;
    long long dst_port;
    bool masquerade;
    /* create and PATCH */
    bool has_rate_limit;
    long long rate_limit_bps; /* 0 (or null) = off */
    /* PATCH */
    bool has_expires_at;
    int64_t expires_at; /* seconds since the epoch */
};

/*
 * Every rule of a grant request (seeds 000-003, DESIGN.md §2), in this order:
 * create access: type winbox|ssh; create forward: dst_address and dst_port
 * required, dst_port 1..65535, the destination (grant_check_destination);
 * create: expire_after_minutes GRANT_MINUTES_MIN..MAX, rate_limit_bps 0 or
 * GRANT_RATE_LIMIT_MIN..MAX, the source (grant_check_source); PATCH:
 * rate_limit_bps as above, expires_at and/or rate_limit_bps sent, expires_at
 * after now and at most GRANT_MINUTES_MAX minutes (24 h) after now.
 *
 * On success writes the canonical values into out and returns 0. Create:
 * access_type, full_access, allow_rfc1918, dst_address, dst_port,
 * masquerade, allow_only_cidr, rate_limit and expires_at_ms (now_ms +
 * minutes). PATCH: expires_at_ms (0 when not sent) and rate_limit (only
 * when sent). Nothing else of out is touched; on failure nothing at all.
 * Returns -EINVAL with err (type invalid_request_error, status 400, the
 * member in param) for the first rule broken.
 */
int grant_validate(const struct grant_request *req, const struct grant_source_rules *rules,
                   int64_t now_ms, struct grant *out, struct tg_err *err);
/* 24 random alphanumerics. */
void grant_generate_credential(char out[GRANT_CRED_LEN + 1]);

#endif
