/*
 * hooks.h - webhook delivery (docs/webhooks.md): signatures, the SSRF check of a hook's URL,
 * the JSON body of an event and the sender thread that drains the store's outbox.
 */
#ifndef TG_HOOKS_H
#define TG_HOOKS_H

#include "store.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#define HOOKS_SIGNATURE_HEADER "Tikgate-Signature"
#define HOOKS_SIG_MAX 96    /* "t=<unix>,v1=<64 hex>" + NUL */
#define HOOKS_SECRET_LEN 38 /* "whsec_" + 32 hex */

/* curl_global_init, once in main() before any thread starts. 0 or -EIO. */
int hooks_global_init(void);
/* A new random secret "whsec_<32 hex>" into out. */
void hooks_secret_generate(char out[HOOKS_SECRET_LEN + 1]);
/*
 * The header value "t=<ts>,v1=<hex>": HMAC-SHA256 under secret of "<ts>.<body>" (body of
 * body_len bytes), Stripe's scheme.
 */
void hooks_sign(const char *secret, int64_t ts, const char *body, size_t body_len,
                char out[HOOKS_SIG_MAX]);
/*
 * True when a hook may not be sent to an address: loopback, RFC 1918, CGNAT (100.64/10),
 * link-local, ULA (fc00::/7), multicast, unspecified, broadcast and reserved ranges (an
 * IPv4-mapped IPv6 address by its IPv4 form). sa: sockaddr_in or sockaddr_in6.
 */
bool hooks_addr_refused(const struct sockaddr *sa);
/*
 * Checks url (webhook_url_check) and resolves its host: 0 when every address is allowed
 * (any address when allow_private), with the first one in ret_addr (numeric, for
 * CURLOPT_RESOLVE; may be NULL) and the port in *ret_port; -EINVAL for a malformed URL,
 * -EHOSTUNREACH when the host does not resolve, -EPERM when an address is refused.
 */
int hooks_url_resolve(const char *url, bool allow_private, char ret_addr[64], char ret_host[256],
                      int *ret_port);
/* The JSON body of d's event (docs/webhooks.md). Returns owned: free(). */
char *hooks_body(const struct store_webhook_delivery *d);

struct hooks_sender_config {
    struct store *store;
    const char *node_name;  /* the lease owner (borrowed for the sender's life) */
    bool allow_private;     /* TIKGATE_WEBHOOK_ALLOW_PRIVATE */
    int max_attempts;       /* attempts before a delivery fails */
    int64_t backoff_ms;     /* first retry delay, doubled per failure */
    int64_t backoff_max_ms; /* cap of the delay */
    int64_t timeout_ms;     /* one attempt, connect to last byte */
    int64_t poll_ms;        /* how often the outbox is read */
    int64_t retention_ms;   /* finished events are deleted this long after they happened */
};
struct hooks_sender;
/* Starts the sender thread. 0 with *ret (stop it with hooks_sender_stop), or -errno. */
int hooks_sender_start(const struct hooks_sender_config *cfg, struct hooks_sender **ret);
/* Stops it after the attempt in flight (at most timeout_ms) and frees it. NULL is a no-op. */
void hooks_sender_stop(struct hooks_sender *h);

#endif
