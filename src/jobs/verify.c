/*
 * verify.c - the drift check (verify.h).
 */
#include "verify.h"

#include "alloc.h"
#include "enqueue.h"
#include "plan.h"
#include "strlist.h"
#include "timefmt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Grants this close to their expiry, or younger than this, are left to their own jobs. */
#define VERIFY_MARGIN_MS 10000
#define ACCESS_TAG "tikgate:access:"
#define FWD_TAG "tikgate:fwd:"

/* Runs one print (words, NULL-terminated) into *ret; a trap or I/O error fails with err. */
static int print(struct ros_client *c, const char *const *words, struct ros_reply *ret, char *err,
                 size_t errlen)
{
    size_t n = 0;
    while (words[n])
        n++;
    int r = ros_client_run(c, words, n, ret);
    if (r == 0 && ret->trap_message)
        r = -EPROTO;
    if (r < 0) {
        snprintf(err, errlen, "%s: %s", words[0],
                 ret->trap_message ? ret->trap_message : strerror(-r));
        ros_reply_release(ret);
    }
    return r;
}

/* Adds the grant ids of reply rows whose comment starts with prefix (dst-nat rules only when
 * nat; a masquerade of a forward carries the same tag). */
static void tagged_ids(const struct ros_reply *rep, const char *prefix, bool nat,
                       struct strlist *out)
{
    size_t pl = strlen(prefix);
    for (size_t i = 0; i < rep->nrows; i++) {
        const char *comment = ros_sentence_get(&rep->rows[i], "comment");
        if (!comment || strncmp(comment, prefix, pl) != 0 || strlen(comment + pl) >= UUID_STR_LEN)
            continue;
        const char *action = ros_sentence_get(&rep->rows[i], "action");
        if (nat && (!action || strcmp(action, "dst-nat") != 0))
            continue;
        strlist_add(out, comment + pl);
    }
}

static bool listed(const struct strlist *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->items[i], s))
            return true;
    return false;
}

/* Queues plan for site as an express, acknowledged job of kind (inside no transaction). */
static int queue(struct store *st, const struct site *site, enum job_kind kind, const char *desc,
                 const struct job_plan *plan)
{
    struct job_spec spec = {.site_id = site->id,
                            .kind = kind,
                            .description = desc,
                            .plan = plan,
                            .express = true,
                            .needs_ack = true,
                            .urgent = true,
                            .created_by = "drift check"};
    int r = jobs_enqueue(st, &spec, NULL);
    return r < 0 ? r : 0;
}

/* A tagged user or rule of grant id, which is not live: its removal job. */
static int repair_stale(struct store *st, const struct site *site, const char *id, bool access)
{
    struct job_plan plan = {0};
    struct grant g;
    char desc[128];
    int r = store_grant_get_any(st, id, &g);
    if (r == 0 && !strcmp(g.site_id, site->id)) {
        job_plan_grant_teardown(&plan, &g);
        snprintf(desc, sizeof desc, "Drift: remove the left-over %s of grant %s",
                 access ? "user" : "dst-nat rule", id);
        r = queue(st, site, job_grant_kind(&g), desc, &plan);
        grant_release(&g);
    } else {
        if (r == 0)
            grant_release(&g);
        char *tag = xasprintf("%s%s", access ? ACCESS_TAG : FWD_TAG, id);
        job_plan_add(&plan, JOB_REMOVE, access ? "/user" : "/ip firewall nat", "comment", tag);
        free(tag);
        snprintf(desc, sizeof desc, "Drift: remove the %s of unknown grant %s",
                 access ? "user" : "dst-nat rule", id);
        r = queue(st, site, access ? JOB_KIND_TRANSIENT_ACCESS : JOB_KIND_TRANSIENT_FORWARD, desc,
                  &plan);
    }
    job_plan_release(&plan);
    return r;
}

/* Tagged grants on the router (users, dst-nat rules) against the site's live grants. */
static int check_grants(struct store *st, struct ros_client *c, const struct site *site,
                        const char *mgmt, struct jobs_verify_result *res, char *err, size_t errlen)
{
    static const char *const users_cmd[] = {"/user/print", "=.proplist=comment", NULL};
    static const char *const nat_cmd[] = {"/ip/firewall/nat/print", "=.proplist=comment,action",
                                          NULL};
    struct ros_reply users, nat;
    int r = print(c, users_cmd, &users, err, errlen);
    if (r < 0)
        return r;
    r = print(c, nat_cmd, &nat, err, errlen);
    if (r < 0) {
        ros_reply_release(&users);
        return r;
    }
    struct strlist on_access = {0}, on_fwd = {0};
    tagged_ids(&users, ACCESS_TAG, false, &on_access);
    tagged_ids(&nat, FWD_TAG, true, &on_fwd);
    ros_reply_release(&users);
    ros_reply_release(&nat);
    struct grant *gs = NULL;
    size_t n = 0;
    r = store_site_grants(st, site->id, &gs, &n);
    int64_t now = time_now_ms();
    struct strlist live = {0};
    for (size_t i = 0; r == 0 && i < n; i++) {
        if (gs[i].torn_down_at)
            continue;
        strlist_add(&live, gs[i].id);
        bool steady = gs[i].expires_at_ms > now + VERIFY_MARGIN_MS &&
                      gs[i].created_at * 1000 < now - VERIFY_MARGIN_MS;
        if (!steady)
            continue;
        const struct strlist *on = gs[i].kind == GRANT_ACCESS ? &on_access : &on_fwd;
        if (listed(on, gs[i].id))
            continue;
        struct job_plan plan = {0};
        char desc[128];
        job_plan_grant_setup(&plan, &gs[i], mgmt);
        snprintf(desc, sizeof desc, "Drift: set up grant %s again (missing on the router)",
                 gs[i].id);
        r = queue(st, site, job_grant_kind(&gs[i]), desc, &plan);
        job_plan_release(&plan);
        res->missing++;
    }
    for (int pass = 0; pass < 2 && r == 0; pass++) {
        const struct strlist *on = pass == 0 ? &on_access : &on_fwd;
        for (size_t i = 0; r == 0 && i < on->n; i++) {
            if (listed(&live, on->items[i]) || (i > 0 && !strcmp(on->items[i], on->items[i - 1])))
                continue;
            r = repair_stale(st, site, on->items[i], pass == 0);
            res->stale++;
        }
    }
    store_grant_array_free(gs, n);
    strlist_release(&live);
    strlist_release(&on_access);
    strlist_release(&on_fwd);
    if (r < 0)
        snprintf(err, errlen, "queueing a repair failed: %s", strerror(-r));
    return r;
}

/* True when two comma-separated address lists hold the same entries, in any order. */
static bool same_addresses(const char *a, const char *b)
{
    struct strlist x = {0}, y = {0};
    strlist_split(&x, a ? a : "", ',');
    strlist_split(&y, b ? b : "", ',');
    bool same = x.n == y.n;
    for (size_t i = 0; same && i < x.n; i++)
        same = strlist_contains(&y, x.items[i]);
    strlist_release(&x);
    strlist_release(&y);
    return same;
}

/*
 * The address list the policy job would give service name (job_plan_policy, the very plan a
 * repair sends: the policy's networks with the management networks), NULL if none.
 */
static const char *planned_addresses(const struct job_plan *plan, const char *name)
{
    for (size_t i = 0; i < plan->ncmds; i++) {
        const struct job_cmd *c = &plan->cmds[i];
        if (!c->by_name || strcmp(c->menu, "/ip service") != 0 || strcmp(c->find_value, name))
            continue;
        for (size_t k = 0; k < c->nargs; k++)
            if (!strcmp(c->args[k].key, "address"))
                return c->args[k].value;
    }
    return NULL;
}

#define FILTER_FIELDS 5
static const char *const filter_fields[FILTER_FIELDS] = {"chain", "action", "protocol", "dst-port",
                                                         "src-address"};

/* One rule as "chain|action|protocol|dst-port|src-address" (get: the field's value or NULL). */
static char *rule_key(const char *(*get)(const void *rule, const char *key), const void *rule)
{
    char *k = xstrdup("");
    for (int i = 0; i < FILTER_FIELDS; i++) {
        const char *v = get(rule, filter_fields[i]);
        char *n = xasprintf("%s%s%s", k, i ? "|" : "", v ? v : "");
        free(k);
        k = n;
    }
    return k;
}

static const char *cmd_get(const void *rule, const char *key)
{
    const struct job_cmd *c = rule;
    for (size_t k = 0; k < c->nargs; k++)
        if (!strcmp(c->args[k].key, key))
            return c->args[k].value;
    return NULL;
}

static const char *row_get(const void *rule, const char *key)
{
    return ros_sentence_get(rule, key);
}

/*
 * The management filter of one family on the router (print words: its print, tag: the
 * site's mgmt-filter comment) against the rules plan would add there (menu): the number of
 * rules that are missing, extra or disabled (0: the same rules, in any order).
 */
static int filter_differs(struct ros_client *c, const char *print_cmd, const char *menu,
                          const struct job_plan *plan, const char *tag, int *ret, char *err,
                          size_t errlen)
{
    const char *const cmd[] = {print_cmd,
                               "=.proplist=chain,action,protocol,dst-port,src-address,"
                               "disabled,comment",
                               NULL};
    struct strlist want = {0};
    for (size_t i = 0; i < plan->ncmds; i++)
        if (plan->cmds[i].verb == JOB_ADD && !strcmp(plan->cmds[i].menu, menu)) {
            char *k = rule_key(cmd_get, &plan->cmds[i]);
            strlist_add(&want, k);
            free(k);
        }
    struct ros_reply rep;
    int r = print(c, cmd, &rep, err, errlen);
    if (r < 0) {
        /* a router without IPv6 (no /ipv6 menu) is fine while the policy has no IPv6 rule */
        bool none = want.n == 0;
        strlist_release(&want);
        *ret = 0;
        return none ? 0 : r;
    }
    int differ = 0;
    size_t matched = 0;
    for (size_t k = 0; k < rep.nrows; k++) {
        const char *comment = ros_sentence_get(&rep.rows[k], "comment");
        if (!comment || strcmp(comment, tag) != 0)
            continue;
        const char *dis = ros_sentence_get(&rep.rows[k], "disabled");
        bool disabled = dis && (!strcmp(dis, "true") || !strcmp(dis, "yes"));
        char *key = rule_key(row_get, &rep.rows[k]);
        if (!strlist_contains(&want, key)) {
            differ++; /* a rule the policy does not have */
        } else {
            matched++;
            if (disabled)
                differ++; /* the policy's rule, switched off */
        }
        free(key);
    }
    if (matched < want.n)
        differ += (int)(want.n - matched); /* the policy's rules not on the router */
    strlist_release(&want);
    ros_reply_release(&rep);
    *ret = differ;
    return 0;
}

/*
 * /ip service against the site's policy: one policy job when a port, a state or the address
 * list (RouterOS 7.24+: available-from) of a service differs, or when the management filter
 * (IPv4 and IPv6) is not the rules the policy job adds.
 */
static int check_policy(struct store *st, struct ros_client *c, const struct site *site,
                        const char *mgmt, struct jobs_verify_result *res, char *err, size_t errlen)
{
    bool from = site_ros_version_at_least(site->software_version, 7, 24);
    const char *addr_key = from ? "available-from" : "address";
    const char *const cmd[] = {"/ip/service/print",
                               from ? "=.proplist=name,port,disabled,available-from"
                                    : "=.proplist=name,port,disabled,address",
                               NULL};
    struct policy pol;
    int r = store_policy_get(st, site->tenant_id, site->policy_id, 0, &pol);
    if (r < 0) {
        snprintf(err, errlen, "the site's policy could not be read");
        return r;
    }
    struct ros_reply rep;
    r = print(c, cmd, &rep, err, errlen);
    if (r < 0)
        goto out_policy;
    struct job_plan plan = {0};
    job_plan_policy(&plan, &pol,
                    &(struct job_site_ctx){.site_id = site->id, .mgmt_networks = mgmt});
    int differ = 0;
    for (int i = 0; i < SVC_COUNT; i++) {
        const struct policy_service *svc = &pol.svc[i];
        bool want_disabled = !(svc->enabled || i == SVC_API);
        bool found = false;
        for (size_t k = 0; k < rep.nrows && !found; k++) {
            const char *name = ros_sentence_get(&rep.rows[k], "name");
            if (!name || strcmp(name, policy_svc_ros_name[i]) != 0)
                continue;
            found = true;
            const char *port = ros_sentence_get(&rep.rows[k], "port");
            const char *dis = ros_sentence_get(&rep.rows[k], "disabled");
            bool disabled = dis && (!strcmp(dis, "true") || !strcmp(dis, "yes"));
            if (!port || atoi(port) != svc->port || disabled != want_disabled ||
                !same_addresses(ros_sentence_get(&rep.rows[k], addr_key),
                                planned_addresses(&plan, policy_svc_ros_name[i])))
                differ++;
        }
    }
    ros_reply_release(&rep);
    char *tag = xasprintf("tikgate:mgmt-filter:%s", site->id);
    int v4 = 0, v6 = 0;
    r = filter_differs(c, "/ip/firewall/filter/print", "/ip firewall filter", &plan, tag, &v4, err,
                       errlen);
    if (r == 0)
        r = filter_differs(c, "/ipv6/firewall/filter/print", "/ipv6 firewall filter", &plan, tag,
                           &v6, err, errlen);
    free(tag);
    job_plan_release(&plan);
    if (r < 0)
        goto out_policy;
    if (differ || v4 || v6) {
        struct strlist one = {0};
        strlist_add(&one, site->id);
        r = jobs_enqueue_policy(st, &pol, &one, mgmt, "drift check");
        strlist_release(&one);
        res->policy = differ;
        res->filter = v4 + v6;
        if (r < 0)
            snprintf(err, errlen, "queueing the policy job failed: %s", strerror(-r));
    }
out_policy:
    policy_release(&pol);
    return r;
}

int jobs_site_verify(struct store *st, struct ros_client *c, const struct site *site,
                     const char *mgmt_networks, struct jobs_verify_result *ret, char *err,
                     size_t errlen)
{
    struct jobs_verify_result res = {0};
    int r = check_grants(st, c, site, mgmt_networks, &res, err, errlen);
    if (r == 0)
        r = check_policy(st, c, site, mgmt_networks, &res, err, errlen);
    if (r < 0)
        return r;
    if (res.stale || res.missing || res.policy || res.filter) {
        char msg[192];
        snprintf(msg, sizeof msg,
                 "%d left-over grant(s) removed, %d missing grant(s) set up again, %d service(s) "
                 "and %d filter rule(s) off the policy",
                 res.stale, res.missing, res.policy, res.filter);
        store_site_event(st, site->id, "drift", msg);
    }
    *ret = res;
    return 0;
}
