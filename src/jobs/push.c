#include "push.h"

#include "alloc.h"
#include "strlist.h"

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

static int push_cmd(struct ros_client *c, const struct job_cmd *cmd, char *err, size_t errlen)
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

int job_push_plan(struct ros_client *c, const struct job_plan *p, char *err, size_t errlen)
{
    for (size_t i = 0; i < p->ncmds; i++) {
        int r = push_cmd(c, &p->cmds[i], err, errlen);
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
