#include "enqueue.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "rand.h"
#include "timefmt.h"

int jobs_enqueue(struct store *st, const char *site_id, const char *kind, const char *description,
                 const struct job_plan *plan, const char *script, bool express, bool needs_ack,
                 const char *created_by, const char *idempotency_key, char ret_id[37])
{
    struct job j;
    memset(&j, 0, sizeof j);
    uuid_v7(j.id);
    snprintf(j.site_id, sizeof j.site_id, "%s", site_id);
    rand_base62(j.token, JOB_TOKEN_LEN);
    j.kind = xstrdup(kind);
    j.description = xstrdup(description);
    if (plan) {
        struct buf b;
        buf_init(&b, (size_t)4 << 20);
        if (job_plan_serialize(plan, &b) < 0) {
            buf_release(&b);
            job_release(&j);
            return -E2BIG;
        }
        j.payload = buf_steal(&b);
    } else {
        j.payload = xstrdup(script);
        j.is_script = true;
    }
    j.express = express;
    j.needs_ack = needs_ack;
    j.created_at = time_now();
    j.created_by = xstrdup(created_by);
    j.idempotency_key = xstrdup(idempotency_key);
    /* A repeated idempotency key returns the job queued the first time (no second job). */
    char existing[37];
    if (idempotency_key && store_job_by_idempotency(st, site_id, idempotency_key, existing) == 0) {
        if (ret_id)
            memcpy(ret_id, existing, 37);
        job_release(&j);
        return 1;
    }
    int r = store_job_insert(st, &j);
    if (r == 0 && ret_id)
        memcpy(ret_id, j.id, 37);
    job_release(&j);
    return r;
}

static char *grant_tag(const struct grant *g)
{
    return xasprintf("tikgate:%s:%s", g->kind == GRANT_ACCESS ? "access" : "fwd", g->id);
}

void job_plan_grant_setup(struct job_plan *p, const struct grant *g, const char *mgmt_networks)
{
    char *tag = grant_tag(g);
    if (g->kind == GRANT_ACCESS) {
        const char *group = "full";
        if (!g->full_access) {
            /* The default "read" group can still reboot and read secrets: a group of our own. */
            struct job_cmd *c = job_plan_add(p, JOB_ADD_ONCE, "/user group", "name", "tikgate-ro");
            job_cmd_arg(c, "name", "tikgate-ro");
            job_cmd_arg(c, "policy", "local,telnet,ssh,winbox,web,api,read,test");
            job_cmd_arg(c, "comment", "tikgate:group:read-only");
            group = "tikgate-ro";
        }
        struct job_cmd *c = job_plan_add(p, JOB_ENSURE, "/user", "comment", tag);
        job_cmd_arg(c, "name", g->username);
        job_cmd_arg(c, "group", group);
        job_cmd_arg(c, "password", g->password);
        job_cmd_arg(c, "address", mgmt_networks);
        job_cmd_arg(c, "comment", tag);
    } else {
        char port[8], dport[8];
        snprintf(port, sizeof port, "%d", g->port);
        snprintf(dport, sizeof dport, "%d", g->dst_port);
        job_plan_add(p, JOB_REMOVE, "/ip firewall nat", "comment", tag);
        struct job_cmd *c = job_plan_add(p, JOB_ADD, "/ip firewall nat", NULL, NULL);
        job_cmd_arg(c, "chain", "dstnat");
        job_cmd_arg(c, "action", "dst-nat");
        job_cmd_arg(c, "protocol", "tcp");
        job_cmd_arg(c, "dst-port", port);
        job_cmd_arg(c, "in-interface", "tikgate-mgmt");
        job_cmd_arg(c, "to-addresses", g->dst_address);
        job_cmd_arg(c, "to-ports", dport);
        job_cmd_arg(c, "comment", tag);
        if (g->masquerade) {
            c = job_plan_add(p, JOB_ADD, "/ip firewall nat", NULL, NULL);
            job_cmd_arg(c, "chain", "srcnat");
            job_cmd_arg(c, "action", "masquerade");
            job_cmd_arg(c, "protocol", "tcp");
            job_cmd_arg(c, "dst-address", g->dst_address);
            job_cmd_arg(c, "dst-port", dport);
            job_cmd_arg(c, "comment", tag);
        }
    }
    free(tag);
}

void job_plan_grant_teardown(struct job_plan *p, const struct grant *g)
{
    char *tag = grant_tag(g);
    job_plan_add(p, JOB_REMOVE, g->kind == GRANT_ACCESS ? "/user" : "/ip firewall nat", "comment",
                 tag);
    free(tag);
}

int jobs_grant_teardown(struct store *st, const char *grant_id, bool revoked,
                        const char *created_by)
{
    struct grant g;
    int r = store_grant_get_any(st, grant_id, &g);
    if (r < 0)
        return r;
    if (g.torn_down_at) {
        grant_release(&g);
        return -EBUSY;
    }
    struct job_plan plan = {0};
    job_plan_grant_teardown(&plan, &g);
    char desc[128], job_id[37];
    snprintf(desc, sizeof desc, "%s %s %s", revoked ? "Revoke" : "Expire",
             g.kind == GRANT_ACCESS ? "transient access" : "transient forward",
             g.kind == GRANT_ACCESS ? g.username : g.dst_address);
    r = store_tx_begin(st);
    if (r == 0) {
        r = jobs_enqueue(st, g.site_id, g.kind == GRANT_ACCESS ? "transient_access" :
                                                                 "transient_forward",
                         desc, &plan, NULL, true, true, created_by, NULL, job_id);
        if (r == 0)
            r = store_grant_teardown(st, grant_id, revoked, job_id);
        if (r == 0)
            r = store_tx_commit(st);
        else
            store_tx_rollback(st);
    }
    job_plan_release(&plan);
    grant_release(&g);
    return r;
}
