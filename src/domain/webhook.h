/*
 * webhook.h - the rules of webhooks (docs/webhooks.md): the events a hook subscribes to, as
 * bits of a mask the store keeps, and the caps of a hook. Pure functions, no I/O.
 */
#ifndef TG_DOMAIN_WEBHOOK_H
#define TG_DOMAIN_WEBHOOK_H

#include "rand.h" /* UUID_STR_LEN */

#include <stdbool.h>
#include <stdint.h>

#define WEBHOOK_URL_MAX 2048      /* bytes of a hook's URL */
#define WEBHOOK_MAX_PER_TENANT 20 /* hooks of one tenant */
#define WEBHOOK_SECRET_MIN 16     /* bytes of an operator-given secret */
#define WEBHOOK_SECRET_MAX 128
#define WEBHOOK_ATTEMPTS_KEPT 100 /* attempts kept per hook in the delivery log */

/* The events, in the order of their bits (1u << event). */
enum webhook_event {
    WEBHOOK_JOB_COMPLETED = 0, /* "job.completed" */
    WEBHOOK_JOB_FAILED,        /* "job.failed" */
    WEBHOOK_GRANT_CREATED,     /* "grant.created" */
    WEBHOOK_GRANT_AUTHORIZED,  /* "grant.authorized": its first relayed connection */
    WEBHOOK_GRANT_EXPIRED,     /* "grant.expired" */
    WEBHOOK_GRANT_REVOKED,     /* "grant.revoked" */
    WEBHOOK_SITE_ONLINE,       /* "site.online" */
    WEBHOOK_SITE_OFFLINE,      /* "site.offline" */
    WEBHOOK_TUNNEL_UP,         /* "tunnel.up" */
    WEBHOOK_TUNNEL_DOWN,       /* "tunnel.down" */
    WEBHOOK_EVENT_COUNT
};

#define WEBHOOK_EVENTS_ALL ((1u << WEBHOOK_EVENT_COUNT) - 1)

/* The state of one delivery (an event to one hook). */
enum webhook_delivery_state {
    WEBHOOK_PENDING = 0, /* "pending": to be sent (again) at next_at */
    WEBHOOK_DELIVERED,   /* "delivered": a 2xx answer */
    WEBHOOK_FAILED,      /* "failed": every attempt failed, or the hook was gone */
};

/* A hook as the store keeps it (a value; secret is set only where it is needed). */
struct webhook {
    char id[UUID_STR_LEN];
    char tenant_id[UUID_STR_LEN];
    char url[WEBHOOK_URL_MAX + 1];
    unsigned events; /* bits of enum webhook_event */
    bool enabled;
    int64_t created_at, updated_at;      /* Unix seconds */
    char secret[WEBHOOK_SECRET_MAX + 1]; /* "" unless read for signing or just created */
};

const char *webhook_event_name(enum webhook_event e);            /* "unknown" outside the enum */
int webhook_event_parse(const char *s, enum webhook_event *ret); /* 0 or -EINVAL */
const char *webhook_delivery_state_name(enum webhook_delivery_state s);
int webhook_delivery_state_parse(const char *s, enum webhook_delivery_state *ret);
/*
 * The family of an event, which names the object of its payload: "job", "grant" or "site"
 * (site and tunnel events are about a site).
 */
const char *webhook_event_object(enum webhook_event e);
/*
 * Checks a hook's URL without resolving it: http:// or https://, a host, at most
 * WEBHOOK_URL_MAX bytes, no user info, no spaces or control characters. 0 or -EINVAL.
 */
int webhook_url_check(const char *url);
/*
 * The delay before attempt number attempt + 1 (attempt >= 1 failed so far): base_ms doubled
 * per failed attempt, capped at max_ms.
 */
int64_t webhook_backoff_ms(int attempt, int64_t base_ms, int64_t max_ms);
/* Wipes h's secret. */
void webhook_release(struct webhook *h);

#endif
