/*
 * fleet.c - the rules of the fleet view's history shared by both backends (migration 0016):
 * how an interval of up time is cut into hours, and how grouped counts map onto the enums.
 */
#include "store_ops.h"

#include <string.h>

#define HOUR 3600

void store_uptime_first(struct store_uptime_span *sp, int64_t from, int64_t to)
{
    /* never more than the retention: a site silent for weeks that was never marked offline */
    if (from < to - STORE_FLEET_KEEP_S - HOUR)
        from = to - STORE_FLEET_KEEP_S - HOUR;
    sp->from = from;
    sp->to = to;
    sp->hour = from - from % HOUR - HOUR;
    store_uptime_next(sp);
}

void store_uptime_next(struct store_uptime_span *sp)
{
    sp->hour += HOUR;
    int64_t lo = sp->from > sp->hour ? sp->from : sp->hour;
    int64_t hi = sp->to < sp->hour + HOUR ? sp->to : sp->hour + HOUR;
    sp->up_s = hi > lo ? hi - lo : 0;
}

void store_fleet_count_site(struct store_fleet_counts *c, const char *status, const char *mode,
                            const char *tunnel, long long count)
{
    enum site_status st;
    enum tunnel_mode m;
    enum tunnel_status t;
    if (status && site_status_parse(status, &st) == 0)
        c->sites[st] += (long)count;
    if (mode && tunnel && tunnel_mode_parse(mode, &m) == 0 && m == TUNNEL_MODE_MANAGED &&
        tunnel_status_parse(tunnel, &t) == 0 && t == TUNNEL_DOWN)
        c->tunnels_down += (long)count;
}

void store_fleet_count_job(struct store_fleet_counts *c, const char *status, long long count)
{
    enum job_status st;
    if (status && job_status_parse(status, &st) == 0)
        c->jobs[st] += (long)count;
}
