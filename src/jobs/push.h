/*
 * push.h - running a job over the RouterOS API (express push).
 */
#ifndef TG_JOBS_PUSH_H
#define TG_JOBS_PUSH_H

#include "client.h"
#include "plan.h"

#include <stddef.h>

/* job_push_plan: the router is rebooting as the plan asked (reboot, or an upgrade found a new
 * version); the caller confirms it by the uptime once the router is back (job_push_uptime). */
#define JOB_PUSH_REBOOTING 1
/* What job_push_script appends as the script's last line (:put) and looks for in the output. */
#define JOB_SCRIPT_OK_MARK "tikgate-script-ok"

/*
 * Runs every command of p on an authenticated client, in order. Each
 * structured command becomes API sentences: set/remove/ensure with a filter
 * first print the matching .ids (print with a ?key=value query and
 * .proplist=.id; dynamic=no is ?dynamic=false), then act on them; /ip service is
 * set by name (=numbers=); place-before=top becomes the .id of the menu's first
 * static rule (none: a plain add). Returns 0, JOB_PUSH_REBOOTING (a reboot or an
 * upgrade's install dropped the connection, as asked; nothing after it ran), or a
 * negative errno with a human message in err (the router's !trap message when it
 * refused a command).
 */
int job_push_plan(struct ros_client *c, const struct job_plan *p, char *err, size_t errlen);
/* Runs a raw script with /execute =script= =as-string= (custom jobs): 0 only when the output
 * ends with the JOB_SCRIPT_OK_MARK line appended to the script, else -EREMOTEIO (the script
 * stopped early) or the router's trap. */
int job_push_script(struct ros_client *c, const char *source, char *err, size_t errlen);
/* The router's uptime in seconds (/system/resource/print). 0 or -errno with err. */
int job_push_uptime(struct ros_client *c, long *ret, char *err, size_t errlen);
/* RouterOS time value to seconds: "1w2d03:04:05", "00:00:07", "3m25s". 0 or -EINVAL. */
int job_parse_uptime(const char *s, long *ret);
/* "/ip firewall filter" -> "/ip/firewall/filter" into out. */
void job_menu_api_path(const char *menu, char *out, size_t outlen);

#endif
