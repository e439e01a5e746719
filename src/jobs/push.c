#include "push.h"

#include "alloc.h"
#include "strlist.h"
#include "tunnel.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void job_menu_api_path(const char *menu, char *out, size_t outlen)
{
    size_t o = 0;
    for (const char *p = menu; *p && o + 1 < outlen; p++)
        out[o++] = *p == ' ' ? '/' : *p;
    out[o] = '\0';
}

/* A growable argv of owned words. */
struct words {
    char **w;
    size_t n;
};

static void words_add(struct words *w, char *owned)
{
    w->w = xrealloc(w->w, (w->n + 1) * sizeof *w->w);
    w->w[w->n++] = owned;
}

static void words_free(struct words *w)
{
    for (size_t i = 0; i < w->n; i++)
        free(w->w[i]);
    free(w->w);
    w->w = NULL;
    w->n = 0;
}

static int run(struct ros_client *c, struct words *w, struct ros_reply *rep, char *err,
               size_t errlen)
{
    int r = ros_client_run(c, (const char *const *)w->w, w->n, rep);
    if (r == -EREMOTEIO)
        snprintf(err, errlen, "%s: %s", w->w[0],
                 rep->trap_message ? rep->trap_message : "refused by the router");
    else if (r < 0)
        snprintf(err, errlen, "%s: %s", w->w[0], strerror(-r));
    return r;
}

/* The .ids matching key=value (all items when key is NULL) into ids. The API prints booleans
 * as true/false: a dynamic=no filter is the query ?dynamic=false. */
static int find_ids(struct ros_client *c, const char *path, const char *key, const char *value,
                    struct strlist *ids, char *err, size_t errlen)
{
    struct words w = {0};
    words_add(&w, xasprintf("%s/print", path));
    words_add(&w, xstrdup("=.proplist=.id"));
    if (key && !strcmp(key, "dynamic"))
        words_add(&w, xasprintf("?dynamic=%s", !strcmp(value, "yes") ? "true" : "false"));
    else if (key)
        words_add(&w, xasprintf("?%s=%s", key, value));
    struct ros_reply rep;
    int r = run(c, &w, &rep, err, errlen);
    for (size_t i = 0; r == 0 && i < rep.nrows; i++) {
        struct ros_sentence *row = &rep.rows[i];
        for (size_t k = 0; k < row->nwords; k++)
            if (!strncmp(row->words[k].data, "=.id=", 5))
                strlist_add(ids, row->words[k].data + 5);
    }
    ros_reply_release(&rep);
    words_free(&w);
    return r;
}

static void add_args(struct words *w, const struct job_cmd *cmd, const char *place_before_id)
{
    for (size_t i = 0; i < cmd->nargs; i++) {
        if (!strcmp(cmd->args[i].key, "place-before")) {
            if (place_before_id)
                words_add(w, xasprintf("=place-before=%s", place_before_id));
            continue;
        }
        words_add(w, xasprintf("=%s=%s", cmd->args[i].key, cmd->args[i].value));
    }
}

static bool wants_place_before(const struct job_cmd *cmd)
{
    for (size_t i = 0; i < cmd->nargs; i++)
        if (!strcmp(cmd->args[i].key, "place-before"))
            return true;
    return false;
}

static int simple(struct ros_client *c, struct words *w, char *err, size_t errlen)
{
    struct ros_reply rep;
    int r = run(c, w, &rep, err, errlen);
    ros_reply_release(&rep);
    return r;
}

static int push_add(struct ros_client *c, const char *path, const struct job_cmd *cmd, char *err,
                    size_t errlen)
{
    struct strlist first = {0};
    int r = 0;
    /* on top = before the first static rule: dynamic ones (the fasttrack dummy rule) cannot
     * be placed before; none at all: a plain add */
    if (wants_place_before(cmd))
        r = find_ids(c, path, "dynamic", "no", &first, err, errlen);
    struct words w = {0};
    if (r == 0) {
        words_add(&w, xasprintf("%s/add", path));
        add_args(&w, cmd, first.n ? first.items[0] : NULL);
        r = simple(c, &w, err, errlen);
    }
    words_free(&w);
    strlist_release(&first);
    return r;
}

/* set on ids (=.id=) or, by_name, on the item of that name (=numbers=<name>: with RouterOS
 * 7.19's /ip service connection entries a print ?name= also returns dynamic rows that cannot
 * be set, terraform-provider-routeros#769). */
static int push_set_ids(struct ros_client *c, const char *path, const char *ids, bool by_name,
                        const struct job_cmd *cmd, char *err, size_t errlen)
{
    struct words w = {0};
    words_add(&w, xasprintf("%s/set", path));
    words_add(&w, xasprintf(by_name ? "=numbers=%s" : "=.id=%s", ids));
    add_args(&w, cmd, NULL);
    int r = simple(c, &w, err, errlen);
    words_free(&w);
    return r;
}

static int push_upgrade(struct ros_client *c, char *err, size_t errlen);
static int push_rekey(struct ros_client *c, const struct job_cmd *cmd,
                      const struct job_push_hooks *h, char *err, size_t errlen);

static int push_cmd(struct ros_client *c, const struct job_cmd *cmd, const struct job_push_hooks *h,
                    char *err, size_t errlen)
{
    char path[128];
    job_menu_api_path(cmd->menu, path, sizeof path);
    struct strlist ids = {0};
    struct words w = {0};
    int r = 0;
    switch (cmd->verb) {
    case JOB_ADD: r = push_add(c, path, cmd, err, errlen); break;
    case JOB_ADD_ONCE:
        r = find_ids(c, path, cmd->find_key, cmd->find_value, &ids, err, errlen);
        if (r == 0 && ids.n == 0)
            r = push_add(c, path, cmd, err, errlen);
        break;
    case JOB_SET:
    case JOB_REMOVE:
    case JOB_ENSURE:
        if (cmd->verb == JOB_SET && cmd->by_name) {
            r = push_set_ids(c, path, cmd->find_value, true, cmd, err, errlen);
            break;
        }
        r = find_ids(c, path, cmd->find_key, cmd->find_value, &ids, err, errlen);
        if (r < 0)
            break;
        if (ids.n == 0) {
            if (cmd->verb == JOB_ENSURE)
                r = push_add(c, path, cmd, err, errlen);
            break;
        }
        {
            char *joined = strlist_join(&ids, ',');
            if (cmd->verb == JOB_REMOVE) {
                words_add(&w, xasprintf("%s/remove", path));
                words_add(&w, xasprintf("=.id=%s", joined));
                r = simple(c, &w, err, errlen);
            } else {
                r = push_set_ids(c, path, joined, false, cmd, err, errlen);
            }
            free(joined);
        }
        break;
    case JOB_REBOOT: {
        words_add(&w, xstrdup("/system/reboot"));
        struct ros_reply rep;
        r = ros_client_run(c, (const char *const *)w.w, w.n, &rep);
        if (r == -ECONNRESET || r == -ECONNABORTED || r == -ETIMEDOUT || r == -EPIPE || r == 0)
            r = JOB_PUSH_REBOOTING; /* going down as asked: the caller waits for it to come back */
        else if (r == -EREMOTEIO)
            snprintf(err, errlen, "/system/reboot: %s",
                     rep.trap_message ? rep.trap_message : "refused by the router");
        else
            snprintf(err, errlen, "/system/reboot: %s", strerror(-r));
        ros_reply_release(&rep);
        break;
    }
    case JOB_UPGRADE: r = push_upgrade(c, err, errlen); break;
    case JOB_WG_REKEY: r = push_rekey(c, cmd, h, err, errlen); break;
    case JOB_SCRIPT:
        for (size_t i = 0; i < cmd->nargs; i++)
            if (!strcmp(cmd->args[i].key, "source"))
                r = job_push_script(c, cmd->args[i].value, err, errlen);
        break;
    }
    words_free(&w);
    strlist_release(&ids);
    return r;
}

int job_push_plan(struct ros_client *c, const struct job_plan *p, const struct job_push_hooks *h,
                  char *err, size_t errlen)
{
    for (size_t i = 0; i < p->ncmds; i++) {
        int r = push_cmd(c, &p->cmds[i], h, err, errlen);
        if (r != 0)
            return r; /* an error, or JOB_PUSH_REBOOTING: nothing runs after a reboot */
    }
    return 0;
}

int job_push_script(struct ros_client *c, const char *source, char *err, size_t errlen)
{
    /* What RouterOS answers when a script fails inside /execute is not documented (a !trap or
     * a !done with the output so far): the script is followed by a :put of a marker, and only
     * output that ends with it is success. */
    struct words w = {0};
    words_add(&w, xstrdup("/execute"));
    words_add(&w, xasprintf("=script=%s\n:put \"%s\"", source, JOB_SCRIPT_OK_MARK));
    words_add(&w, xstrdup("=as-string="));
    struct ros_reply rep;
    int r = run(c, &w, &rep, err, errlen);
    if (r == 0) {
        const char *out = rep.ret ? rep.ret : "";
        size_t n = strlen(out), m = strlen(JOB_SCRIPT_OK_MARK);
        while (n && (out[n - 1] == '\n' || out[n - 1] == '\r'))
            n--;
        if (n < m || memcmp(out + n - m, JOB_SCRIPT_OK_MARK, m) != 0) {
            snprintf(err, errlen, "/execute: the script stopped before its end (output: %.200s)",
                     n ? out : "none");
            r = -EREMOTEIO;
        }
    }
    ros_reply_release(&rep);
    words_free(&w);
    return r;
}

/* The value of key in a single-row print, or NULL (owned). */
static char *print_one(struct ros_client *c, const char *cmd, const char *key, char *err,
                       size_t errlen)
{
    struct words w = {0};
    words_add(&w, xstrdup(cmd));
    words_add(&w, xasprintf("=.proplist=%s", key));
    struct ros_reply rep;
    char *v = NULL;
    if (run(c, &w, &rep, err, errlen) == 0 && rep.nrows > 0) {
        const char *x = ros_sentence_get(&rep.rows[0], key);
        v = x ? xstrdup(x) : NULL;
    }
    ros_reply_release(&rep);
    words_free(&w);
    return v;
}

static int push_upgrade(struct ros_client *c, char *err, size_t errlen)
{
    struct words w = {0};
    words_add(&w, xstrdup("/system/package/update/check-for-updates"));
    words_add(&w, xstrdup("=once="));
    int r = simple(c, &w, err, errlen);
    words_free(&w);
    if (r < 0)
        return r;
    char *status = print_one(c, "/system/package/update/print", "status", err, errlen);
    if (!status) {
        if (!err[0])
            snprintf(err, errlen, "/system/package/update/print: no status");
        return -EPROTO;
    }
    if (!strcmp(status, "System is already up to date")) {
        free(status);
        return 0;
    }
    if (strcmp(status, "New version is available") != 0) {
        snprintf(err, errlen, "check-for-updates: %.200s", status);
        free(status);
        return -EREMOTEIO;
    }
    free(status);
    words_add(&w, xstrdup("/system/package/update/install"));
    struct ros_reply rep;
    r = ros_client_run(c, (const char *const *)w.w, w.n, &rep);
    if (r == 0 || r == -ECONNRESET || r == -ECONNABORTED || r == -ETIMEDOUT || r == -EPIPE)
        r = JOB_PUSH_REBOOTING; /* downloads, then reboots into the new version */
    else
        snprintf(err, errlen, "/system/package/update/install: %s",
                 r == -EREMOTEIO && rep.trap_message ? rep.trap_message : strerror(-r));
    ros_reply_release(&rep);
    words_free(&w);
    return r;
}

int job_parse_uptime(const char *s, long *ret)
{
    long total = 0, v = 0;
    bool digits = false;
    int colons = 0;
    long hms[3] = {0, 0, 0};
    if (!s || !*s)
        return -EINVAL;
    for (const char *p = s; *p; p++) {
        if (*p >= '0' && *p <= '9') {
            if (v > 100000000)
                return -EINVAL;
            v = v * 10 + (*p - '0');
            digits = true;
            continue;
        }
        if (!digits)
            return -EINVAL;
        switch (*p) {
        case 'w': total += v * 604800; break;
        case 'd': total += v * 86400; break;
        case 'h': total += v * 3600; break;
        case 'm': total += v * 60; break;
        case 's': total += v; break;
        case ':':
            if (colons >= 2)
                return -EINVAL;
            hms[colons++] = v;
            break;
        default: return -EINVAL;
        }
        v = 0;
        digits = false;
    }
    if (colons == 2 && digits)
        total += hms[0] * 3600 + hms[1] * 60 + v;
    else if (colons || digits)
        return -EINVAL;
    *ret = total;
    return 0;
}

int job_push_uptime(struct ros_client *c, long *ret, char *err, size_t errlen)
{
    char *up = print_one(c, "/system/resource/print", "uptime", err, errlen);
    int r = up ? job_parse_uptime(up, ret) : -EPROTO;
    if (r < 0 && !err[0])
        snprintf(err, errlen, "/system/resource/print: no uptime");
    free(up);
    return r;
}

/* ---- JOB_WG_REKEY ------------------------------------------------------ */

static const char TAG_IF[] = TUNNEL_TAG;           /* the current interface */
static const char TAG_EDGE[] = TUNNEL_TAG ":edge"; /* its edge peer */
static const char TAG_NEXT[] = TUNNEL_TAG ":next"; /* the interface with the new key */
static const char TAG_NEXT_EDGE[] = TUNNEL_TAG ":edge-next";
static const char TAG_NEXT_INPUT[] = TUNNEL_TAG ":input-next";
static const char TAG_ADDRESS[] = TUNNEL_TAG ":address";
static const char REKEY_IF[] = JOB_REKEY_IF;

static const char *cmd_arg(const struct job_cmd *cmd, const char *key)
{
    for (size_t i = 0; i < cmd->nargs; i++)
        if (!strcmp(cmd->args[i].key, key))
            return cmd->args[i].value;
    return "";
}

/* The value of key in the first item of path whose qkey is qval, or NULL (owned). */
static char *print_where(struct ros_client *c, const char *path, const char *qkey, const char *qval,
                         const char *key, char *err, size_t errlen)
{
    struct words w = {0};
    words_add(&w, xasprintf("%s/print", path));
    words_add(&w, xasprintf("=.proplist=%s", key));
    words_add(&w, xasprintf("?%s=%s", qkey, qval));
    struct ros_reply rep;
    char *v = NULL;
    if (run(c, &w, &rep, err, errlen) == 0 && rep.nrows > 0) {
        const char *x = ros_sentence_get(&rep.rows[0], key);
        v = x ? xstrdup(x) : NULL;
    }
    ros_reply_release(&rep);
    words_free(&w);
    return v;
}

/* Removes (verb "remove") or sets (kv: NULL-terminated key, value pairs) the items of path
 * whose comment is tag; none is no error. */
static int act_where(struct ros_client *c, const char *path, const char *tag, const char *const *kv,
                     char *err, size_t errlen)
{
    struct strlist ids = {0};
    int r = find_ids(c, path, "comment", tag, &ids, err, errlen);
    if (r == 0 && ids.n) {
        char *joined = strlist_join(&ids, ',');
        struct words w = {0};
        words_add(&w, xasprintf("%s/%s", path, kv ? "set" : "remove"));
        words_add(&w, xasprintf("=.id=%s", joined));
        for (size_t i = 0; kv && kv[i]; i += 2)
            words_add(&w, xasprintf("=%s=%s", kv[i], kv[i + 1]));
        r = simple(c, &w, err, errlen);
        words_free(&w);
        free(joined);
    }
    strlist_release(&ids);
    return r;
}

/* path/add with kv (NULL-terminated pairs); top: before the first static item. */
static int add_kv(struct ros_client *c, const char *path, const char *const *kv, bool top,
                  char *err, size_t errlen)
{
    struct strlist first = {0};
    int r = top ? find_ids(c, path, "dynamic", "no", &first, err, errlen) : 0;
    struct words w = {0};
    if (r == 0) {
        words_add(&w, xasprintf("%s/add", path));
        for (size_t i = 0; kv[i]; i += 2)
            words_add(&w, xasprintf("=%s=%s", kv[i], kv[i + 1]));
        if (first.n)
            words_add(&w, xasprintf("=place-before=%s", first.items[0]));
        r = simple(c, &w, err, errlen);
    }
    words_free(&w);
    strlist_release(&first);
    return r;
}

/* Removes what an unfinished re-key added (the second interface, its peer, its accept). */
static void rekey_cleanup(struct ros_client *c)
{
    char ignored[256];
    act_where(c, "/ip/firewall/filter", TAG_NEXT_INPUT, NULL, ignored, sizeof ignored);
    act_where(c, "/interface/wireguard/peers", TAG_NEXT_EDGE, NULL, ignored, sizeof ignored);
    act_where(c, "/interface/wireguard", TAG_NEXT, NULL, ignored, sizeof ignored);
}

/* The router's second interface with its own new key, the edge as its peer, an accept. */
static char *rekey_prepare(struct ros_client *c, const struct job_cmd *cmd, char *err,
                           size_t errlen)
{
    rekey_cleanup(c); /* what an earlier attempt left */
    const char *const wg[] = {"name", REKEY_IF, "comment", TAG_NEXT, NULL};
    const char *const peer[] = {"interface",
                                REKEY_IF,
                                "public-key",
                                cmd_arg(cmd, "public-key"),
                                "endpoint-address",
                                cmd_arg(cmd, "endpoint-address"),
                                "endpoint-port",
                                cmd_arg(cmd, "endpoint-port"),
                                "allowed-address",
                                cmd_arg(cmd, "allowed-address"),
                                "persistent-keepalive",
                                cmd_arg(cmd, "persistent-keepalive"),
                                "comment",
                                TAG_NEXT_EDGE,
                                NULL};
    const char *const input[] = {"chain",        "input",       "in-interface",
                                 REKEY_IF,       "src-address", cmd_arg(cmd, "src-address"),
                                 "action",       "accept",      "comment",
                                 TAG_NEXT_INPUT, NULL};
    if (add_kv(c, "/interface/wireguard", wg, false, err, errlen) < 0 ||
        add_kv(c, "/interface/wireguard/peers", peer, false, err, errlen) < 0 ||
        add_kv(c, "/ip/firewall/filter", input, true, err, errlen) < 0)
        return NULL;
    char *key =
        print_where(c, "/interface/wireguard", "comment", TAG_NEXT, "public-key", err, errlen);
    if (!key && !err[0])
        snprintf(err, errlen, "re-key: the router shows no public-key for %s", REKEY_IF);
    return key;
}

/* The /32's address item(s) moved to the new interface: its route to the edge goes there. */
static int rekey_switch(struct ros_client *c, const char *ids, char *err, size_t errlen)
{
    struct words w = {0};
    words_add(&w, xstrdup("/ip/address/set"));
    words_add(&w, xasprintf("=.id=%s", ids));
    words_add(&w, xasprintf("=interface=%s", REKEY_IF));
    int r = simple(c, &w, err, errlen);
    words_free(&w);
    return r;
}

/* After the switch: the old interface and its peer go, the new one takes the old name. */
static int rekey_finish(struct ros_client *c, char *err, size_t errlen)
{
    const char *const rename[] = {"name", TUNNEL_ROUTER_IF, "comment", TAG_IF, NULL};
    const char *const edge[] = {"comment", TAG_EDGE, NULL};
    int r = act_where(c, "/interface/wireguard/peers", TAG_EDGE, NULL, err, errlen);
    if (r == 0)
        r = act_where(c, "/interface/wireguard", TAG_IF, NULL, err, errlen);
    if (r == 0)
        r = act_where(c, "/interface/wireguard", TAG_NEXT, rename, err, errlen);
    if (r == 0)
        r = act_where(c, "/interface/wireguard/peers", TAG_NEXT_EDGE, edge, err, errlen);
    if (r == 0)
        r = act_where(c, "/ip/firewall/filter", TAG_NEXT_INPUT, NULL, err, errlen);
    return r;
}

static int push_rekey(struct ros_client *c, const struct job_cmd *cmd,
                      const struct job_push_hooks *h, char *err, size_t errlen)
{
    if (!h || !h->rekey_begin || !h->rekey_wait || !h->rekey_commit || !h->rekey_abort ||
        !h->rekey_current || !h->rekey_rollback) {
        snprintf(err, errlen, "re-key: this node cannot reach the edge's WireGuard state");
        return -ENOTSUP;
    }
    char *key =
        print_where(c, "/interface/wireguard", "comment", TAG_NEXT, "public-key", err, errlen);
    if (key && h->rekey_current(h->ctx, key)) {
        /* committed by an earlier attempt (the router answers: its route moved too) */
        const char *const to_next[] = {"interface", REKEY_IF, NULL};
        free(key);
        int r = act_where(c, "/ip/address", TAG_ADDRESS, to_next, err, errlen);
        return r < 0 ? r : rekey_finish(c, err, errlen);
    }
    free(key);
    err[0] = '\0';
    if (!(key = rekey_prepare(c, cmd, err, errlen))) {
        rekey_cleanup(c);
        return -EPROTO;
    }
    /* The address item is looked up now: after the commit the edge sends through the new key
     * while the router still answers through the old one until the switch, so the switch is
     * one command whose reply comes back through the new interface. */
    struct strlist addr = {0};
    int r = find_ids(c, "/ip/address", "comment", TAG_ADDRESS, &addr, err, errlen);
    if (r == 0 && addr.n == 0) {
        snprintf(err, errlen, "re-key: the router has no %s:address", TUNNEL_TAG);
        r = -ENOENT;
    }
    if (r < 0) {
        strlist_release(&addr);
        rekey_cleanup(c);
        free(key);
        return r;
    }
    if ((r = h->rekey_begin(h->ctx, key)) < 0) {
        snprintf(err, errlen, "re-key: the edge cannot take the router's new key: %s",
                 r == -EEXIST ? "another site has it" : strerror(-r));
    } else if ((r = h->rekey_wait(h->ctx, key)) < 0) {
        snprintf(err, errlen,
                 "re-key: the router's new key did not complete a handshake with the edge in "
                 "time (%s); the current key stays",
                 strerror(-r));
    } else if ((r = h->rekey_commit(h->ctx, key)) < 0) {
        snprintf(err, errlen, "re-key: the edge cannot switch to the new key: %s", strerror(-r));
    }
    if (r < 0) {
        h->rekey_abort(h->ctx, key);
        rekey_cleanup(c);
        free(key);
        strlist_release(&addr);
        return r;
    }
    char *ids = strlist_join(&addr, ',');
    strlist_release(&addr);
    r = rekey_switch(c, ids, err, errlen);
    free(ids);
    if (r < 0) {
        /* the router did not confirm its switch: the edge goes back to the current key (the
         * new one stays its second peer), the next attempt starts over */
        h->rekey_rollback(h->ctx, key);
        free(key);
        return r;
    }
    free(key);
    return rekey_finish(c, err, errlen);
}
