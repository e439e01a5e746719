#include "webhook.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

static const char *const event_names[] = {
    "job.completed", "job.failed",  "grant.created", "grant.authorized", "grant.expired",
    "grant.revoked", "site.online", "site.offline",  "tunnel.up",        "tunnel.down"};
static const char *const state_names[] = {"pending", "delivered", "failed"};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

_Static_assert(N_OF(event_names) == WEBHOOK_EVENT_COUNT, "one name per event");

const char *webhook_event_name(enum webhook_event e)
{
    return (unsigned)e < N_OF(event_names) ? event_names[e] : "unknown";
}

int webhook_event_parse(const char *s, enum webhook_event *ret)
{
    for (size_t i = 0; s && i < N_OF(event_names); i++)
        if (!strcmp(s, event_names[i])) {
            *ret = (enum webhook_event)i;
            return 0;
        }
    return -EINVAL;
}

const char *webhook_delivery_state_name(enum webhook_delivery_state st)
{
    return (unsigned)st < N_OF(state_names) ? state_names[st] : "unknown";
}

int webhook_delivery_state_parse(const char *s, enum webhook_delivery_state *ret)
{
    for (size_t i = 0; s && i < N_OF(state_names); i++)
        if (!strcmp(s, state_names[i])) {
            *ret = (enum webhook_delivery_state)i;
            return 0;
        }
    return -EINVAL;
}

const char *webhook_event_object(enum webhook_event e)
{
    switch (e) {
    case WEBHOOK_JOB_COMPLETED:
    case WEBHOOK_JOB_FAILED: return "job";
    case WEBHOOK_GRANT_CREATED:
    case WEBHOOK_GRANT_AUTHORIZED:
    case WEBHOOK_GRANT_EXPIRED:
    case WEBHOOK_GRANT_REVOKED: return "grant";
    default: return "site";
    }
}

int webhook_url_check(const char *url)
{
    size_t n = url ? strlen(url) : 0;
    if (n == 0 || n > WEBHOOK_URL_MAX)
        return -EINVAL;
    size_t skip;
    if (!strncasecmp(url, "https://", 8))
        skip = 8;
    else if (!strncasecmp(url, "http://", 7))
        skip = 7;
    else
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)url[i] <= ' ' || url[i] == 0x7f)
            return -EINVAL;
    const char *host = url + skip;
    size_t hl = strcspn(host, "/?#");
    if (hl == 0 || memchr(host, '@', hl) || host[0] == ':')
        return -EINVAL;
    return 0;
}

int64_t webhook_backoff_ms(int attempt, int64_t base_ms, int64_t max_ms)
{
    int64_t d = base_ms;
    for (int i = 1; i < attempt && d < max_ms; i++)
        d *= 2;
    return d < max_ms ? d : max_ms;
}

void webhook_release(struct webhook *h)
{
    if (!h)
        return;
    volatile char *p = h->secret;
    for (size_t i = 0; i < sizeof h->secret; i++)
        p[i] = 0;
}
