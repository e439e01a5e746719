/*
 * push.h - running a job over the RouterOS API (express push).
 */
#ifndef TG_JOBS_PUSH_H
#define TG_JOBS_PUSH_H

#include "client.h"
#include "plan.h"

#include <stdbool.h>
#include <stddef.h>

/* job_push_plan: the router is rebooting as the plan asked (reboot, or an upgrade found a new
 * version); the caller confirms it by the uptime once the router is back (job_push_uptime). */
#define JOB_PUSH_REBOOTING 1
/* What job_push_script appends as the script's last line (:put) and looks for in the output. */
#define JOB_SCRIPT_OK_MARK "tikgate-script-ok"

/* The router-side interface and tags of a re-key (JOB_WG_REKEY). */
#define JOB_REKEY_IF "tikgate-wg-next"

/*
 * What a JOB_WG_REKEY command needs from the edge, between its steps on the router (the
 * dispatcher gives the store; docs/vpn.md "site.recreate_tunnel"). ctx is passed back.
 * begin: the router made next_key (base64) on its second interface: record it, the edge adds
 *   it as a peer beside the current key. 0, or -errno (-EEXIST: another site has that key).
 * wait: until the edge saw next_key's first handshake (bounded by the hook): 0 or -ETIMEDOUT.
 * commit: next_key becomes the site's key: the edge moves the /32 to it and removes the old
 *   peer. 0 or -errno.
 * abort: forget next_key (the current key stays).
 * current: true when key is already the site's key (a re-key committed by an earlier attempt
 *   that did not finish on the router).
 * rollback: the router did not confirm its switch after the commit: the edge takes the
 *   previous key back (next_key stays its second peer).
 */
struct job_push_hooks {
    void *ctx;
    int (*rekey_begin)(void *ctx, const char *next_key);
    int (*rekey_wait)(void *ctx, const char *next_key);
    int (*rekey_commit)(void *ctx, const char *next_key);
    void (*rekey_abort)(void *ctx, const char *next_key);
    bool (*rekey_current)(void *ctx, const char *key);
    void (*rekey_rollback)(void *ctx, const char *next_key);
};

/*
 * Runs every command of p on an authenticated client, in order. Each
 * structured command becomes API sentences: set/remove/ensure with a filter
 * first print the matching .ids (print with a ?key=value query and
 * .proplist=.id; dynamic=no is ?dynamic=false), then act on them; /ip service is
 * set by name (=numbers=); place-before=top becomes the .id of the menu's first
 * static rule (none: a plain add). Returns 0, JOB_PUSH_REBOOTING (a reboot or an
 * upgrade's install dropped the connection, as asked; nothing after it ran), or a
 * negative errno with a human message in err (the router's !trap message when it
 * refused a command). h: needed by JOB_WG_REKEY only (NULL: such a command fails with
 * -ENOTSUP).
 *
 * JOB_WG_REKEY (args: the edge peer's public-key, endpoint-address, endpoint-port,
 * allowed-address, persistent-keepalive; the edge's address as src-address) re-keys
 * make-before-break: the router adds a second interface JOB_REKEY_IF (it makes the new key)
 * with the edge as peer and an input accept for it; begin; wait for the new key's first
 * handshake while the old tunnel carries everything (on timeout: the second interface goes,
 * abort, -ETIMEDOUT); commit; the site's /32 moves to the new interface in one command (no
 * confirmation: rollback); the old interface and its peer go; the new one is renamed to
 * tikgate-wg (references follow, as in RouterOS). A run after a committed but unfinished
 * attempt goes straight to the finishing steps.
 */
int job_push_plan(struct ros_client *c, const struct job_plan *p, const struct job_push_hooks *h,
                  char *err, size_t errlen);
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
