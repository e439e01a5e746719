#include "push.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "strlist.h"

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

/* The .ids matching key=value (all items when key is NULL) into ids. */
static int find_ids(struct ros_client *c, const char *path, const char *key, const char *value,
                    struct strlist *ids, char *err, size_t errlen)
{
    struct words w = {0};
    words_add(&w, xasprintf("%s/print", path));
    words_add(&w, xstrdup("=.proplist=.id"));
    if (key)
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
    if (wants_place_before(cmd))
        r = find_ids(c, path, NULL, NULL, &first, err, errlen);
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

static int push_set_ids(struct ros_client *c, const char *path, const char *ids,
                        const struct job_cmd *cmd, char *err, size_t errlen)
{
    struct words w = {0};
    words_add(&w, xasprintf("%s/set", path));
    words_add(&w, xasprintf("=.id=%s", ids));
    add_args(&w, cmd, NULL);
    int r = simple(c, &w, err, errlen);
    words_free(&w);
    return r;
}

static int push_cmd(struct ros_client *c, const struct job_cmd *cmd, char *err, size_t errlen)
{
    char path[128];
    job_menu_api_path(cmd->menu, path, sizeof path);
    struct strlist ids = {0};
    struct words w = {0};
    int r = 0;
    switch (cmd->verb) {
    case JOB_ADD:
        r = push_add(c, path, cmd, err, errlen);
        break;
    case JOB_ADD_ONCE:
        r = find_ids(c, path, cmd->find_key, cmd->find_value, &ids, err, errlen);
        if (r == 0 && ids.n == 0)
            r = push_add(c, path, cmd, err, errlen);
        break;
    case JOB_SET:
    case JOB_REMOVE:
    case JOB_ENSURE:
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
                r = push_set_ids(c, path, joined, cmd, err, errlen);
            }
            free(joined);
        }
        break;
    case JOB_REBOOT: {
        words_add(&w, xstrdup("/system/reboot"));
        struct ros_reply rep;
        r = ros_client_run(c, (const char *const *)w.w, w.n, &rep);
        ros_reply_release(&rep);
        if (r == -ECONNRESET || r == -ECONNABORTED || r == -ETIMEDOUT)
            r = 0; /* the router went down as asked */
        else if (r < 0)
            snprintf(err, errlen, "/system/reboot: %s", strerror(-r));
        break;
    }
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
        if (r < 0)
            return r;
    }
    return 0;
}

int job_push_script(struct ros_client *c, const char *source, char *err, size_t errlen)
{
    struct words w = {0};
    words_add(&w, xstrdup("/execute"));
    words_add(&w, xasprintf("=script=%s", source));
    words_add(&w, xstrdup("=as-string="));
    int r = simple(c, &w, err, errlen);
    words_free(&w);
    return r;
}
