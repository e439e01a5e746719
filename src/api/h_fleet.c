/*
 * h_fleet.c - the fleet view (issue 12 item 4, docs/API.md "Fleet"): the tenant's counts now,
 * the 5-minute history of live grants and relayed connections, and each site's up time by day
 * from its heartbeats (migration 0016). Read-only, tenant-scoped, site:view.
 */
#include "alloc.h"
#include "api_int.h"
#include "timefmt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define DAY 86400
#define HISTORY_HOURS_MAX (STORE_FLEET_KEEP_S / 3600) /* 192: the retention */
#define UPTIME_DAYS_MAX 8

/*
 * Reads the integer query parameter name (lo..hi, def when absent) into *ret. false after
 * answering 400 parameter_invalid with that param.
 */
static bool query_int(struct api_call *call, const char *name, int def, int lo, int hi, int *ret)
{
    const char *q = http_request_query(call->req, name);
    if (!q) {
        *ret = def;
        return true;
    }
    char *end = NULL;
    errno = 0;
    long long v = strtoll(q, &end, 10);
    if (!*q || *end || errno || v < lo || v > hi) {
        api_fail(call, TG_ERR_INVALID_REQUEST, 400, "parameter_invalid", name,
                 "%s must be a whole number between %d and %d.", name, lo, hi);
        return false;
    }
    *ret = (int)v;
    return true;
}

void h_fleet_summary(struct api_call *call)
{
    int64_t now_ms = time_now_ms();
    struct store_fleet_counts c;
    int r = store_fleet_counts(call->api->store, call->who.tenant_id, now_ms, &c);
    if (r < 0) {
        api_fail_store(call, r, "fleet");
        return;
    }
    json_t *sites = json_object();
    long total = 0;
    for (int i = 0; i < SITE_STATUS_COUNT; i++) {
        json_object_set_new(sites, site_status_name((enum site_status)i), json_integer(c.sites[i]));
        total += c.sites[i];
    }
    json_object_set_new(sites, "total", json_integer(total));
    json_t *jobs = json_object();
    for (int i = 0; i < JOB_STATUS_COUNT; i++)
        json_object_set_new(jobs, job_status_name((enum job_status)i), json_integer(c.jobs[i]));
    json_t *o = json_object();
    json_object_set_new(o, "sites", sites);
    json_object_set_new(o, "tunnels_down", json_integer(c.tunnels_down));
    json_object_set_new(o, "jobs", jobs);
    json_object_set_new(o, "grants_live", json_integer(c.grants_live));
    json_object_set_new(o, "at", json_time_or_null(now_ms / 1000));
    api_send_json(call, 200, o);
}

static json_t *point_to_json(const struct store_fleet_point *p)
{
    json_t *o = json_object();
    json_object_set_new(o, "at", json_time_or_null(p->at_ms / 1000));
    json_object_set_new(o, "live_grants", json_integer(p->live_grants));
    json_object_set_new(o, "connections", json_integer(p->connections));
    return o;
}

void h_fleet_history(struct api_call *call)
{
    int hours;
    if (!query_int(call, "hours", 24, 1, HISTORY_HOURS_MAX, &hours))
        return;
    int64_t now_ms = time_now_ms();
    int max = hours * (int)(3600000 / STORE_FLEET_STEP_MS) + 1;
    struct store_fleet_point *pts = NULL, live = {0};
    size_t n = 0;
    int r = store_fleet_history(call->api->store, call->who.tenant_id,
                                now_ms - (int64_t)hours * 3600000, max, &pts, &n);
    if (r == 0)
        r = store_fleet_now(call->api->store, call->who.tenant_id,
                            now_ms - now_ms % STORE_FLEET_STEP_MS, now_ms, &live);
    if (r < 0) {
        free(pts);
        api_fail_store(call, r, "fleet");
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, point_to_json(&pts[i]));
    json_array_append_new(arr, point_to_json(&live));
    free(pts);
    json_t *o = json_object();
    json_object_set_new(o, "hours", json_integer(hours));
    json_object_set_new(o, "step_seconds", json_integer(STORE_FLEET_STEP_MS / 1000));
    json_object_set_new(o, "points", arr);
    api_send_json(call, 200, o);
}

/* The window of ?days=: UTC days, the last one today's (so far). */
struct window {
    int days;
    int64_t since, now; /* Unix seconds: the first day's midnight, now */
};

static bool read_window(struct api_call *call, struct window *w)
{
    if (!query_int(call, "days", 7, 1, UPTIME_DAYS_MAX, &w->days))
        return false;
    w->now = time_now();
    w->since = w->now - w->now % DAY - (int64_t)(w->days - 1) * DAY;
    return true;
}

static json_t *ratio(long up, int64_t span)
{
    if (span <= 0)
        return json_null();
    double f = (double)up / (double)span;
    return json_real(f > 1.0 ? 1.0 : f);
}

/*
 * One site's up time by day: the rows of store_site_uptime for it (up: the first of them,
 * nup of them). A day's span is the part of it after the adoption and before now; null
 * fractions where the span is empty (not adopted yet, or the future).
 */
static json_t *uptime_to_json(const struct window *w, const struct site *s,
                              const struct store_uptime_day *up, size_t nup)
{
    json_t *days = json_array();
    long up_total = 0;
    int64_t span_total = 0;
    for (int d = 0; d < w->days; d++) {
        int64_t lo = w->since + (int64_t)d * DAY, hi = lo + DAY;
        int64_t from = s->adopted_at > lo ? s->adopted_at : lo;
        int64_t to = w->now < hi ? w->now : hi;
        int64_t span = s->adopted_at && to > from ? to - from : 0;
        long secs = 0;
        for (size_t i = 0; i < nup; i++)
            if (up[i].day == d)
                secs = up[i].up_s < span ? up[i].up_s : (long)span;
        json_t *o = json_object();
        json_object_set_new(o, "date", json_time_or_null(lo));
        json_object_set_new(o, "up_seconds", json_integer(secs));
        json_object_set_new(o, "span_seconds", json_integer(span));
        json_object_set_new(o, "uptime", ratio(secs, span));
        json_array_append_new(days, o);
        up_total += secs;
        span_total += span;
    }
    json_t *o = json_object();
    json_object_set_new(o, "site_id", json_string(s->id));
    json_object_set_new(o, "name", json_text(s->name));
    json_object_set_new(o, "status", json_string(site_status_name(s->status)));
    json_object_set_new(o, "up_seconds", json_integer(up_total));
    json_object_set_new(o, "span_seconds", json_integer(span_total));
    json_object_set_new(o, "uptime", ratio(up_total, span_total));
    json_object_set_new(o, "days", days);
    return o;
}

void h_site_uptime(struct api_call *call)
{
    const char *id = api_param(call, 0);
    struct window w;
    if (!api_check_id(call, id, "site") || !read_window(call, &w))
        return;
    struct site s;
    int r = store_site_get(call->api->store, call->who.tenant_id, id, &s);
    if (r < 0) {
        api_fail_store(call, r, "site");
        return;
    }
    struct store_uptime_day *up = NULL;
    size_t n = 0;
    r = store_site_uptime(call->api->store, call->who.tenant_id, s.id, 0, INT64_MAX, w.since, &up,
                          &n);
    if (r < 0)
        api_fail_store(call, r, "site");
    else
        api_send_json(call, 200, uptime_to_json(&w, &s, up, n));
    free(up);
    site_release(&s);
}

/* The first of the rows (sorted by site id, as the store returns them) of site id: a binary search.
 */
static size_t rows_of(const struct store_uptime_day *up, size_t n, const char *id)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(up[mid].site_id, id) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

void h_fleet_uptime(struct api_call *call)
{
    struct store_page page;
    struct window w;
    if (!api_page(call, &page) || !read_window(call, &w))
        return;
    struct site *a = NULL;
    size_t n = 0;
    int r = store_site_list(call->api->store, call->who.tenant_id, &page, &a, &n);
    if (r < 0) {
        api_fail_list(call, r, "site");
        return;
    }
    struct store_uptime_day *up = NULL;
    size_t nup = 0;
    /* the page's sites are in creation order: their rows are those created in its range */
    if (n)
        r = store_site_uptime(call->api->store, call->who.tenant_id, NULL, a[0].created_at,
                              a[n - 1].created_at, w.since, &up, &nup);
    if (r < 0) {
        api_fail_store(call, r, "site");
    } else {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++) {
            size_t first = rows_of(up, nup, a[i].id), cnt = 0;
            while (first + cnt < nup && !strcmp(up[first + cnt].site_id, a[i].id))
                cnt++;
            json_array_append_new(arr, uptime_to_json(&w, &a[i], up + first, cnt));
        }
        api_send_json(call, 200, arr);
    }
    free(up);
    store_site_array_free(a, n);
}
