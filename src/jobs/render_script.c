/*
 * render_script.c - a plan as RouterOS script text (docs/internals/script-subset.md).
 *
 * What RouterOS refuses before running a script is never emitted: no \? escape (removed in
 * v7.1rc2: a plain ? is safe inside quotes), no item numbers (place-before names the first
 * static rule by its id, found at run time), no [find] that would take dynamic rules.
 */
#include "plan.h"

#include <errno.h>
#include <string.h>

int job_script_quote(struct buf *out, const char *s)
{
    int r = buf_append(out, "\"", 1);
    for (; r == 0 && *s; s++) {
        switch (*s) {
        case '"': r = buf_append_str(out, "\\\""); break;
        case '\\': r = buf_append_str(out, "\\\\"); break;
        case '$': r = buf_append_str(out, "\\$"); break;
        case '\n': r = buf_append_str(out, "\\n"); break;
        case '\r': r = buf_append_str(out, "\\r"); break;
        case '\t': r = buf_append_str(out, "\\t"); break;
        default: r = buf_append(out, s, 1); break;
        }
    }
    return r ? r : buf_append(out, "\"", 1);
}

/* Bare words are safe for plain tokens; everything else is quoted. */
static bool is_bare(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return false;
    }
    return true;
}

static int value(struct buf *out, const char *v)
{
    return is_bare(v) ? buf_append_str(out, v) : job_script_quote(out, v);
}

static int find_filter(struct buf *out, const struct job_cmd *c)
{
    if (!c->find_key)
        return buf_append_str(out, " [find]");
    int r = buf_printf(out, " [find %s=", c->find_key);
    if (!r)
        r = strcmp(c->find_key, "dynamic") ? job_script_quote(out, c->find_value)
                                           : buf_append_str(out, c->find_value);
    return r ? r : buf_append_str(out, "]");
}

/* place-before=top: the id of the menu's first static rule, found when the line runs. */
static int place_value(struct buf *out, const struct job_cmd *c, const char *v)
{
    if (strcmp(v, JOB_PLACE_TOP))
        return value(out, v);
    return buf_printf(out, "[:pick [%s find dynamic=no] 0]", c->menu);
}

static int args(struct buf *out, const struct job_cmd *c)
{
    int r = 0;
    for (size_t i = 0; r == 0 && i < c->nargs; i++) {
        r = buf_printf(out, " %s=", c->args[i].key);
        if (!r && !strcmp(c->args[i].key, "place-before"))
            r = place_value(out, c, c->args[i].value);
        else if (!r)
            r = value(out, c->args[i].value);
    }
    return r;
}

static bool has_place_before(const struct job_cmd *c)
{
    for (size_t i = 0; i < c->nargs; i++)
        if (!strcmp(c->args[i].key, "place-before"))
            return true;
    return false;
}

/* The arguments without place-before (for the fallback on an empty list). */
static int args_without_place(struct buf *out, const struct job_cmd *c)
{
    int r = 0;
    for (size_t i = 0; r == 0 && i < c->nargs; i++) {
        if (!strcmp(c->args[i].key, "place-before"))
            continue;
        r = buf_printf(out, " %s=", c->args[i].key);
        if (!r)
            r = value(out, c->args[i].value);
    }
    return r;
}

static int render_cmd(const struct job_cmd *c, struct buf *out)
{
    int r = 0;
    switch (c->verb) {
    case JOB_ADD:
        if (has_place_before(c)) {
            /* no static rule yet: place-before= is empty and refused, then a plain add is the
             * top (after the dynamic rules, which always stay first) */
            r = buf_printf(out, ":do { %s add", c->menu);
            if (!r)
                r = args(out, c);
            if (!r)
                r = buf_printf(out, " } on-error={ %s add", c->menu);
            if (!r)
                r = args_without_place(out, c);
            if (!r)
                r = buf_append_str(out, " }");
            break;
        }
        r = buf_printf(out, "%s add", c->menu);
        if (!r)
            r = args(out, c);
        break;
    case JOB_SET:
        r = buf_printf(out, "%s set", c->menu);
        if (!r && c->by_name)
            r = buf_printf(out, " %s", c->find_value);
        else if (!r)
            r = find_filter(out, c);
        if (!r)
            r = args(out, c);
        break;
    case JOB_REMOVE:
        r = buf_printf(out, "%s remove", c->menu);
        if (!r)
            r = find_filter(out, c);
        break;
    case JOB_ENSURE:
        r = buf_printf(out, "%s remove", c->menu);
        if (!r)
            r = find_filter(out, c);
        if (!r)
            r = buf_printf(out, "\n%s add", c->menu);
        if (!r)
            r = args(out, c);
        break;
    case JOB_ADD_ONCE:
        r = buf_printf(out, ":do { %s add", c->menu);
        if (!r)
            r = args(out, c);
        if (!r)
            r = buf_append_str(out, " } on-error={ :log debug \"tikgate: already there\" }");
        break;
    case JOB_REBOOT: r = buf_append_str(out, "/system reboot"); break;
    case JOB_UPGRADE:
        /* DOC-Upgrade: check first, install (which reboots) only when there is a new version;
         * an error of the check (no DNS, no route) fails the job with the router's status. */
        r = buf_append_str(out, "/system package update check-for-updates once\n"
                                ":delay 3s\n"
                                ":local tgStatus [/system package update get status]\n"
                                ":if ($tgStatus = \"New version is available\") do={\n"
                                "/system package update install\n"
                                "} else={\n"
                                ":if ($tgStatus != \"System is already up to date\") do={ :error "
                                "(\"tikgate: check-for-updates: \" . $tgStatus) }\n"
                                "}");
        break;
    case JOB_SCRIPT:
        for (size_t i = 0; i < c->nargs; i++)
            if (!strcmp(c->args[i].key, "source"))
                r = buf_append_str(out, c->args[i].value);
        break;
    case JOB_WG_REKEY:
        /* The re-key needs the edge between its steps (the new key's handshake): a pulled
         * script keeps the current key and says so. */
        r = buf_append_str(out, ":log warning \"tikgate: the management tunnel is re-keyed "
                                "only by the express push; the key stays\"");
        break;
    }
    return r ? r : buf_append(out, "\n", 1);
}

int job_render_script(const struct job_plan *p, struct buf *out)
{
    for (size_t i = 0; i < p->ncmds; i++) {
        int r = render_cmd(&p->cmds[i], out);
        if (r < 0)
            return r;
    }
    return 0;
}
