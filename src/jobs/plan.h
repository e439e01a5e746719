/*
 * plan.h - a job's payload: an ordered list of RouterOS commands in
 * structured form (DESIGN.md §3 "Job"), and its two renderings.
 *
 * A command is (menu path, verb, optional find filter, arguments). The same
 * plan renders to a RouterOS script for the pull path (the exact subset of
 * docs/internals/script-subset.md) and to API sentences for express push.
 * Everything tikgate creates carries comment "tikgate:<kind>:<id>" and every
 * plan removes what it is about to add first, so running a plan twice leaves
 * the router as running it once.
 *
 * Pure: no I/O. All strings are owned by the plan; free with job_plan_release().
 */
#ifndef TG_JOBS_PLAN_H
#define TG_JOBS_PLAN_H

#include "buf.h"
#include "grant.h"
#include "job.h"
#include "policy.h"
#include "strlist.h"

#include <stdbool.h>
#include <stddef.h>

enum job_verb {
    JOB_ADD = 0,  /* <menu> add args */
    JOB_SET,      /* <menu> set [find k=v] args   (or set <name> for /ip service) */
    JOB_REMOVE,   /* <menu> remove [find k=v]; no filter = every item */
    JOB_ENSURE,   /* remove [find k=v] then add args (script); print+set or add (API) */
    JOB_REBOOT,   /* /system reboot */
    JOB_SCRIPT,   /* raw RouterOS script text (custom jobs): arg "source" */
    JOB_ADD_ONCE, /* add unless an item with find k=v exists (:do add on-error / print+add) */
    JOB_UPGRADE,  /* check-for-updates, then install (and reboot) only if a new version is there */
    JOB_WG_REKEY, /* make-before-break re-key of the management tunnel (push only; push.h) */
};
/* The last verb (keep it the enum's last member): range checks (the fuzz oracle) use it;
 * serialize.c asserts at build time that its name table has exactly JOB_VERB_LAST + 1 names. */
#define JOB_VERB_LAST JOB_WG_REKEY

/* place-before value meaning "before the first static rule" (dynamic rules such as the
 * fasttrack dummy rule cannot be moved or placed before): rendered as
 * [:pick [<menu> find dynamic=no] 0] in scripts, looked up with ?dynamic=false over the API. */
#define JOB_PLACE_TOP "top"
/* The in-interface of a grant's dst-nat rule in a stored plan (job_plan_for_site adapts it). */
#define JOB_MGMT_IFACE "tikgate-mgmt"
/* The policy of tikgate's read-only group tikgate-ro. */
#define JOB_RO_POLICY "local,telnet,ssh,winbox,web,api,read,test"

struct job_kv {
    char *key;
    char *value;
};

struct job_cmd {
    enum job_verb verb;
    char *menu;     /* "/ip service", "/user", ... (CLI form with spaces) */
    char *find_key; /* NULL: no filter */
    char *find_value;
    bool by_name; /* JOB_SET on /ip service: "set winbox ..." (find_value is the name) */
    struct job_kv *args;
    size_t nargs;
};

struct job_plan {
    struct job_cmd *cmds;
    size_t ncmds;
};

void job_plan_release(struct job_plan *p);
/* Appends a command; returns it for job_cmd_arg() calls. */
struct job_cmd *job_plan_add(struct job_plan *p, enum job_verb verb, const char *menu,
                             const char *find_key, const char *find_value);
void job_cmd_arg(struct job_cmd *c, const char *key, const char *value);

/* --- builders (what each job kind does on the router) --- */

struct job_site_ctx {
    const char *site_id;
    const char *mgmt_networks; /* comma-separated CIDRs: always allowed, never locked out */
};

/* /ip service for all eight services + the management input filter. */
void job_plan_policy(struct job_plan *p, const struct policy *pol, const struct job_site_ctx *s);
/* Only the management input filter (site.recreate_management_filter). */
void job_plan_mgmt_filter(struct job_plan *p, const struct policy *pol,
                          const struct job_site_ctx *s);
/* The platform's API user with the given password (ensure: works for rotation too). */
void job_plan_api_user(struct job_plan *p, const char *username, const char *password,
                       const struct job_site_ctx *s);
/*
 * A site action of reference/altostrat.md §2.5 ("site.reboot", ...). Returns
 * 0, or -EINVAL for an unknown action. needs_ack is set false for actions the
 * router cannot acknowledge (reboot).
 */
int job_plan_action(struct job_plan *p, const char *action, const struct policy *pol,
                    const char *username, const char *password, const struct job_site_ctx *s,
                    bool *ret_needs_ack);
/* The list of action names, NULL-terminated. */
extern const char *const job_actions[];
/*
 * Router-side configuration of a grant, tagged "tikgate:access:<id>" or
 * "tikgate:fwd:<id>": a temporary user (group full, or the read-only group
 * tikgate-ro, created once) whose login is restricted to mgmt_networks; or a
 * dst-nat rule on the tunnel interface from the grant's port to dst_address:
 * dst_port, plus a masquerade when g->masquerade.
 */
void job_plan_grant_setup(struct job_plan *p, const struct grant *g, const char *mgmt_networks);
/* Removes what job_plan_grant_setup added (one remove by tag; the read-only group stays). */
void job_plan_grant_teardown(struct job_plan *p, const struct grant *g);

/* Which of a grant's jobs (they differ only in their description). */
enum job_grant_step {
    JOB_GRANT_SETUP = 0,
    JOB_GRANT_REVOKE,
    JOB_GRANT_EXPIRE,
};
/* JOB_KIND_TRANSIENT_ACCESS or JOB_KIND_TRANSIENT_FORWARD. */
enum job_kind job_grant_kind(const struct grant *g);
/*
 * The orchestration log's description of a grant's job: "Transient winbox
 * access for <user>", "Transient forward to <addr>:<port>", "Revoke
 * transient access <user>", "Expire transient forward <addr>". Truncated to outlen.
 */
void job_grant_description(const struct grant *g, enum job_grant_step step, char *out,
                           size_t outlen);

/* True when the plan ends with the router rebooting (reboot, upgrade): the router confirms it
 * after the boot (h_device.c's startup scheduler; push watches the uptime restart). */
bool job_plan_reboots(const struct job_plan *p);
/*
 * Adapts a plan to the RouterOS version of the router it goes to, just before it is sent
 * (push or pull), so a job queued before an upgrade still fits the router after it:
 * on >= 7.24 /ip service's address is set as available-from (7.24 renamed it and keeps
 * the old name as an alias only for now). ros_version NULL (unknown): left as it is.
 */
void job_plan_for_version(struct job_plan *p, const char *ros_version);
/*
 * job_plan_for_version with the site's last reported version, and the management interface
 * the grants' dst-nat rules match: a plan names JOB_MGMT_IFACE (the operator's interface of
 * an external site, "tikgate-mgmt"); on a managed site it is tikgate's WireGuard interface,
 * where the edge's connections arrive, and a forward's masquerade then matches only the edge's
 * address on the tunnel (the first of tunnel_pool; fidelity #16: without it the rule also
 * masqueraded the LAN's own connections to that destination). Applied just before a plan is
 * pushed or pulled, so a site whose tunnel mode changed gets what fits it now.
 */
/* Where a router's end of the management tunnel points: its edge (borrowed strings). */
struct job_tunnel_peer {
    const char *edge_public_key; /* base64 */
    const char *endpoint_host;   /* what the router dials */
    unsigned endpoint_port;
    const char *edge_address; /* the edge's tunnel address (first of the pool) */
    const char *site_address; /* the router's /32 */
};
/*
 * The router's half of the tunnel, each part ensured by its tikgate:mgmt:* comment: the edge
 * as the interface's peer (its key and endpoint; allowed-address the edge's /32), the site's
 * /32 with network= the edge, and the input accept from the edge on top. Over the express
 * push an ensure is print+set (never a removal, which would cut the tunnel the push runs
 * through); in a pulled script it is remove+add.
 */
void job_plan_tunnel(struct job_plan *p, const struct job_tunnel_peer *t);
struct site;
void job_plan_for_site(struct job_plan *p, const struct site *s, const char *tunnel_pool);

/* --- renderers --- */

/* Appends the plan as RouterOS script lines to out. -E2BIG when out's cap is hit. */
int job_render_script(const struct job_plan *p, struct buf *out);
/* Quotes s for a RouterOS script (double quotes, escapes) onto out. */
int job_script_quote(struct buf *out, const char *s);

/* --- storage form (one line per command, tab-separated, escaped) --- */

int job_plan_serialize(const struct job_plan *p, struct buf *out);
/* Parses the storage form; -EINVAL on a malformed line. *ret must be zeroed. */
int job_plan_parse(const char *s, struct job_plan *ret);

#endif
