/*
 * policy.h - control-plane policies (seed 001, reference/altostrat.md §2.1, §3).
 *
 * A policy says, for each of the eight RouterOS management services, whether
 * it is enabled, on which port, and from which networks it may be reached;
 * plus the trusted networks and where the management input filter goes.
 * Exactly one policy per tenant is the default; every site has one policy.
 */
#ifndef TG_DOMAIN_POLICY_H
#define TG_DOMAIN_POLICY_H

#include "error.h"
#include "rand.h" /* UUID_STR_LEN */
#include "strlist.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum policy_svc {
    SVC_WINBOX = 0,
    SVC_SSH,
    SVC_HTTP,
    SVC_HTTPS,
    SVC_TELNET,
    SVC_FTP,
    SVC_API,
    SVC_API_SSL,
    SVC_COUNT,
};

#define POLICY_NAME_MAX 20 /* characters (UTF-8 code points) */
#define POLICY_SLUG_SUFFIX 10
#define POLICY_MAX_NETWORKS 256

/* JSON key of each service ("api_ssl") and RouterOS /ip service name ("api-ssl"). */
extern const char *const policy_svc_key[SVC_COUNT];
extern const char *const policy_svc_ros_name[SVC_COUNT];
extern const int policy_svc_default_port[SVC_COUNT];

struct policy_service {
    bool enabled;
    int port;
    struct strlist networks; /* canonical CIDR strings */
};

struct policy {
    char id[UUID_STR_LEN];
    char tenant_id[UUID_STR_LEN];
    char *name; /* owned */
    char *slug; /* owned */
    bool is_default;
    bool custom_input_rules;
    struct strlist trusted_networks;
    struct policy_service svc[SVC_COUNT];
    struct strlist sites; /* site ids, filled only where the API shows them */
    int64_t created_at;
    int64_t updated_at;
};

void policy_release(struct policy *p);

/*
 * Validates a CIDR string for <param> and returns its canonical form in out.
 * A bare address is a host prefix; host bits set are refused (not silently
 * masked), so an operator never gets a wider network than they wrote.
 */
int policy_normalize_cidr(const char *s, const char *param, char *out, size_t outlen,
                          struct tg_err *err);

/* Semantic checks on a fully parsed policy: name length, ports, port conflicts, list sizes. */
int policy_validate(const struct policy *p, struct tg_err *err);

/* Number of UTF-8 code points in s, or -1 when s is not valid UTF-8. */
long utf8_length(const char *s);

/* "My New Policy" -> "my-new-policy-<10 base62>". out must hold 64 bytes. */
void policy_make_slug(const char *name, char out[64]);

/*
 * Fills p with the seed's default policy: winbox and ssh enabled from the
 * RFC 1918 networks, api enabled from the management networks, the rest
 * disabled on their default ports; trusted_networks = RFC 1918.
 * mgmt_networks is a comma-separated list of CIDRs (TIKGATE_MANAGEMENT_NETWORKS), may be
 * NULL; entries are trimmed and stored in canonical form, entries that are not CIDRs skipped.
 */
void policy_init_default(struct policy *p, const char *mgmt_networks);

#endif
