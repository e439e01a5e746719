/*
 * push.h - running a job over the RouterOS API (express push).
 */
#ifndef TG_JOBS_PUSH_H
#define TG_JOBS_PUSH_H

#include <stddef.h>

#include "client.h"
#include "plan.h"

/*
 * Runs every command of p on an authenticated client, in order. Each
 * structured command becomes API sentences: set/remove/ensure with a filter
 * first print the matching .ids (print with a ?key=value query and
 * .proplist=.id), then act on them; place-before=0 becomes the .id of the
 * menu's first item. A reboot that drops the connection counts as success.
 * Returns 0, or a negative errno with a human message in err (the router's
 * !trap message when it refused a command).
 */
int job_push_plan(struct ros_client *c, const struct job_plan *p, char *err, size_t errlen);
/* Runs a raw script with /execute =script= =as-string= (custom jobs). */
int job_push_script(struct ros_client *c, const char *source, char *err, size_t errlen);
/* "/ip firewall filter" -> "/ip/firewall/filter" into out. */
void job_menu_api_path(const char *menu, char *out, size_t outlen);

#endif
