/*
 * site.h - a managed router's record (DESIGN.md §3 "Site") and its API credential.
 */
#ifndef TG_DOMAIN_SITE_H
#define TG_DOMAIN_SITE_H

#include "error.h"
#include "rand.h" /* UUID_STR_LEN */
#include "tunnel.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SITE_NAME_MAX 64
#define SITE_NOTE_MAX 65536 /* bytes of Markdown */
#define SITE_TOKEN_LEN 32   /* base62 characters of bootstrap and device tokens */
#define SITE_NODE_MAX 64    /* bytes of a node name (TIKGATE_NODE_NAME) with its NUL */
#define SITE_REGION_MAX 64  /* bytes of a region name with its NUL */
#define CREDENTIAL_PASSWORD_LEN 32
#define CREDENTIAL_USERNAME "tikgate-api"

enum site_status {
    SITE_PENDING_ONBOARDING = 0,
    SITE_ONLINE,
    SITE_OFFLINE,
    SITE_DELETING,
    SITE_STATUS_COUNT, /* not a status: the number of them */
};

const char *site_status_name(enum site_status s);
/* -EINVAL for an unknown name. */
int site_status_parse(const char *s, enum site_status *ret);

/*
 * True when a RouterOS version string as the router reports it ("7.15.3",
 * "7.24beta2", "7.8 (stable)") is at least major.minor. NULL or unparsable: false
 * (callers pick the behaviour that also works on the oldest supported version).
 */
bool site_ros_version_at_least(const char *version, unsigned major, unsigned minor);

struct site {
    char id[UUID_STR_LEN];
    char tenant_id[UUID_STR_LEN];
    char *name; /* owned */
    char policy_id[UUID_STR_LEN];
    char *tunnel_address; /* owned, NULL when unknown */
    enum site_status status;
    int64_t last_seen_at; /* 0 = never */
    char *identity;       /* owned, NULL until adoption; same for the three below */
    char *model;
    char *serial_number;
    char *software_version;
    char bootstrap_token[SITE_TOKEN_LEN + 1]; /* "" once used (adopted) */
    int64_t adopted_at;                       /* 0 = never adopted */
    int64_t bootstrap_issued_at;              /* when bootstrap_token was issued (0: unknown) */
    int64_t created_at;
    int64_t updated_at;
    struct site_tunnel tunnel;     /* mode, router key and health (tunnel.h) */
    char edge_node[SITE_NODE_MAX]; /* the edge node fronting it (DESIGN.md §11), "" = none yet */
    char region[SITE_REGION_MAX];  /* where it should be served, "" = anywhere */
};

void site_release(struct site *s);
/* Seconds a bootstrap token is valid when the configuration says 0. */
#define SITE_BOOTSTRAP_TTL_DEFAULT 86400
/*
 * Whether s's unused bootstrap token is past its lifetime at now: issued more than ttl_s
 * seconds ago (ttl_s 0: SITE_BOOTSTRAP_TTL_DEFAULT; security-review F4).
 */
bool site_bootstrap_expired(const struct site *s, int64_t now, int64_t ttl_s);
/* When s's bootstrap token stops being valid (0 when it has none or its issue time is unknown). */
int64_t site_bootstrap_expires_at(const struct site *s, int64_t ttl_s);
/* Validates a site name (1..SITE_NAME_MAX characters, no control characters). */
int site_validate_name(const char *name, struct tg_err *err);
/* Validates an IPv4/IPv6 address (no prefix) for the tunnel; writes the canonical form. */
int site_normalize_address(const char *s, const char *param, char *out, size_t outlen,
                           struct tg_err *err);

struct site_note {
    char site_id[UUID_STR_LEN];
    char *content;      /* owned, "" when never set */
    int64_t updated_at; /* 0 = never */
    char *updated_by;   /* owned, NULL when never set */
};

void site_note_release(struct site_note *n);

/*
 * Two-phase rotation (issue 14): a new API password is pending until the router has it (the
 * job that sets it completed, or a login with it worked), then current; the ones before it
 * are retired (deleted_at set). A site never has two current credentials.
 */
enum credential_state {
    CREDENTIAL_CURRENT = 0,
    CREDENTIAL_PENDING,
    CREDENTIAL_RETIRED,
};
const char *credential_state_name(enum credential_state s);
int credential_state_parse(const char *s, enum credential_state *ret);

struct credential {
    char id[UUID_STR_LEN];
    char site_id[UUID_STR_LEN];
    char username[32];
    char password[CREDENTIAL_PASSWORD_LEN + 1];
    char *ip_address; /* owned, NULL when the site has no tunnel address */
    int api_port;
    int64_t created_at;
    int64_t deleted_at; /* 0 = not retired */
    enum credential_state state;
};

/* Frees ip_address and wipes the password. Accepts NULL. */
void credential_release(struct credential *c);
/* A fresh credential for a site: random 32-character alphanumeric password. */
void credential_generate(struct credential *c, const char *site_id);

#endif
