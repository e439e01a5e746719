/*
 * api.c - one RouterOS API sentence in, encoded reply sentences out.
 *
 * No I/O: the server feeds decoded sentences and writes out the buffer. The
 * state lock is held by the caller. Every reply carries the request's .tag.
 * Bad input never fails the session: it gets `!trap` then `!done`, except
 * too many commands before login (`!fatal`, as RouterOS does).
 */
#include "alloc.h"
#include "log.h"
#include "login.h"
#include "sim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MSG_BAD_LOGIN "invalid user name or password (6)"
#define MSG_NO_PERM "not enough permissions (9)"
#define MAX_REFS 1024

struct out {
    struct buf *b;
    const char *tag;
    struct ros_sentence s;
};

static void emit(struct out *o)
{
    if (o->tag)
        ros_sentence_addf(&o->s, ".tag=%s", o->tag);
    if (ros_sentence_encode(o->b, &o->s) != 0)
        log_warn("sim.api", "reply dropped: output buffer full");
    ros_sentence_clear(&o->s);
}

static void done_ret(struct out *o, const char *ret)
{
    ros_sentence_add_str(&o->s, "!done");
    if (ret)
        ros_sentence_add_attr(&o->s, "ret", ret);
    emit(o);
}

static void trap(struct out *o, int category, const char *msg)
{
    ros_sentence_add_str(&o->s, "!trap");
    if (category >= 0)
        ros_sentence_addf(&o->s, "=category=%d", category);
    ros_sentence_add_attr(&o->s, "message", msg);
    emit(o);
    done_ret(o, NULL);
}

static void peer_str(const struct sim_session *sess, char *out, size_t n)
{
    const struct sockaddr *sa = (const struct sockaddr *)&sess->peer;
    char a[INET6_ADDRSTRLEN] = "?";
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, a, sizeof a);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, a, sizeof a);
    snprintf(out, n, "%s", a);
}

/* Splits "=name=value" into name (copied into name[], truncated) and value. */
static bool attr_split(const struct ros_word *w, char *name, size_t nlen, const char **value)
{
    if (w->len < 2 || w->data[0] != '=')
        return false;
    const char *eq = memchr(w->data + 1, '=', w->len - 1);
    size_t n = eq ? (size_t)(eq - w->data - 1) : w->len - 1;
    if (n == 0 || n >= nlen)
        return false;
    memcpy(name, w->data + 1, n);
    name[n] = '\0';
    *value = eq ? eq + 1 : "";
    return true;
}

/* Collects the =k=v words except the names in skip (",a,b,"). kv values and
 * keys point into keys[] / the sentence. Returns the count or -1 (too many / bad word). */
#define MAX_KV 64
static int collect_kv(const struct ros_sentence *in, const char *skip, struct sim_kv *kv,
                      char keys[MAX_KV][64])
{
    int n = 0;
    for (size_t i = 1; i < in->nwords; i++) {
        const struct ros_word *w = &in->words[i];
        if (ros_word_kind(w) != ROS_WORD_ATTR)
            continue;
        const char *v;
        if (n >= MAX_KV || !attr_split(w, keys[n], sizeof keys[n], &v))
            return -1;
        char pat[70];
        snprintf(pat, sizeof pat, ",%s,", keys[n]);
        if (skip && strstr(skip, pat))
            continue;
        kv[n].key = keys[n];
        kv[n].val = v;
        n++;
    }
    return n;
}

/* Resolves a comma list of ids/names into ids. 0, or -ENOENT with the bad ref in err. */
static int resolve_refs(struct sim_state *st, enum sim_menu_id m, const char *list, unsigned *ids,
                        size_t *nids, char err[SIM_ERR_LEN])
{
    *nids = 0;
    if (!list || !*list) {
        snprintf(err, SIM_ERR_LEN, "missing value(s) of argument(s) numbers");
        return -EINVAL;
    }
    char *copy = xstrdup(list), *save = NULL;
    int r = 0;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        size_t idx;
        unsigned cid = 0;
        if (m == SIM_M_SERVICE && sim_version_at_least(&st->opt, 7, 19) && t[0] == '*' &&
            sscanf(t + 1, "%x", &cid) == 1 && cid >= SIM_CONN_ID_BASE) {
            /* a connection entry (terraform-provider-routeros#769) */
            snprintf(err, SIM_ERR_LEN, "failure: this is configured elsewhere");
            r = -EPERM;
            break;
        }
        if (*nids >= MAX_REFS || sim_resolve(st, m, t, &idx) != 0) {
            snprintf(err, SIM_ERR_LEN, "no such item");
            r = -ENOENT;
            break;
        }
        ids[(*nids)++] = st->menus[m].items[idx].id;
    }
    free(copy);
    if (r == 0 && *nids == 0) {
        snprintf(err, SIM_ERR_LEN, "no such item");
        r = -ENOENT;
    }
    return r;
}

static bool in_proplist(const char *proplist, const char *name)
{
    if (!proplist)
        return true;
    size_t n = strlen(name);
    for (const char *p = proplist; *p;) {
        const char *c = strchr(p, ',');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        if (len == n && memcmp(p, name, n) == 0)
            return true;
        if (!c)
            break;
        p = c + 1;
    }
    return false;
}

static void do_print(struct sim_state *st, enum sim_menu_id m, const struct ros_sentence *in,
                     struct out *o, bool sensitive)
{
    const struct sim_menu *mm = &st->menus[m];
    const char *proplist = NULL;
    bool count_only = false;
    for (size_t i = 1; i < in->nwords; i++) {
        char name[64];
        const char *v;
        if (ros_word_kind(&in->words[i]) != ROS_WORD_ATTR)
            continue;
        if (!attr_split(&in->words[i], name, sizeof name, &v)) {
            trap(o, 1, "invalid argument");
            return;
        }
        if (strcmp(name, ".proplist") == 0)
            proplist = v;
        else if (strcmp(name, "count-only") == 0)
            count_only = true;
        else if (strcmp(name, "detail") && strcmp(name, "terse") &&
                 strcmp(name, "without-paging") && strcmp(name, "brief") &&
                 strcmp(name, "show-ids")) {
            char msg[SIM_ERR_LEN];
            snprintf(msg, sizeof msg, "unknown parameter %s", name);
            trap(o, 1, msg);
            return;
        }
    }
    /* running, rx, tx ... of real WireGuard interfaces (queries may read any property) */
    sim_wg_refresh(st, m, ros_sentence_query(in, 0) ? NULL : proplist);
    size_t rows = 0;
    /* RouterOS >= 7.19 lists every live connection to a service as a dynamic entry that shares
     * the service's name: virtual items after the static ones */
    size_t nvirt = m == SIM_M_SERVICE && sim_version_at_least(&st->opt, 7, 19) ? st->nconns : 0;
    for (size_t i = 0; i < mm->n + nvirt; i++) {
        struct sim_item virt;
        const struct sim_item *it = i < mm->n ? &mm->items[i] : &virt;
        if (i >= mm->n) {
            const struct sim_conn *cn = &st->conns[i - mm->n];
            size_t si;
            memset(&virt, 0, sizeof virt);
            virt.id = cn->id;
            if (sim_resolve(st, SIM_M_SERVICE, cn->service, &si) != 0)
                continue;
            virt.val[0] = (char *)cn->service;
            virt.val[1] = mm->items[si].val[1];
            virt.val[3] = "false";
            virt.val[4] = "true";
            virt.val[5] = "true";
            virt.val[6] = (char *)cn->local;
            virt.val[7] = (char *)cn->remote;
        }
        bool match;
        char err[SIM_ERR_LEN];
        if (sim_query_match(mm, it, in, &match, err) != 0) {
            trap(o, 1, err);
            return;
        }
        if (!match)
            continue;
        rows++;
        if (count_only)
            continue;
        ros_sentence_add_str(&o->s, "!re");
        if (in_proplist(proplist, ".id"))
            ros_sentence_addf(&o->s, "=.id=*%X", it->id);
        for (size_t f = 0; f < mm->def->nfields; f++) {
            const struct sim_field *fd = &mm->def->fields[f];
            if (!it->val[f] || (fd->flags & SIM_F_SECRET) || !in_proplist(proplist, fd->name) ||
                ((fd->flags & SIM_F_SENSITIVE) && !sensitive))
                continue;
            ros_sentence_add_attr(&o->s, fd->name, it->val[f]);
        }
        emit(o);
    }
    if (count_only) {
        char n[32];
        snprintf(n, sizeof n, "%zu", rows);
        done_ret(o, n);
        return;
    }
    if (rows == 0 && st->opt.ros_empty) {
        ros_sentence_add_str(&o->s, "!empty");
        emit(o);
    }
    done_ret(o, NULL);
}

static void do_single_row(struct sim_state *st, const char *const *kv, size_t n,
                          const struct ros_sentence *in, struct out *o)
{
    const char *proplist = ros_sentence_get(in, ".proplist");
    (void)st;
    ros_sentence_add_str(&o->s, "!re");
    for (size_t i = 0; i + 1 < n; i += 2)
        if (in_proplist(proplist, kv[i]))
            ros_sentence_add_attr(&o->s, kv[i], kv[i + 1]);
    emit(o);
    done_ret(o, NULL);
}

static void changed(struct sim_state *st, const struct sim_session *sess, const char *cmd,
                    const char *what)
{
    char peer[INET6_ADDRSTRLEN];
    peer_str(sess, peer, sizeof peer);
    log_info("sim.api", "%s@%s via %s: %s %s", sess->user, peer, sess->service, cmd, what);
    sim_state_changed(st);
}

static void do_menu(struct sim_state *st, struct sim_session *sess, enum sim_menu_id m,
                    const char *verb, const char *cmd, const struct ros_sentence *in, struct out *o)
{
    if (strcmp(verb, "print") == 0 || strcmp(verb, "getall") == 0) {
        do_print(st, m, in, o, sim_user_has_policy(st, sess->user, "sensitive"));
        return;
    }
    bool add = strcmp(verb, "add") == 0, set = strcmp(verb, "set") == 0,
         rm = strcmp(verb, "remove") == 0;
    if (!add && !set && !rm) {
        trap(o, 0, "no such command");
        return;
    }
    if (!sim_user_has_policy(st, sess->user, "write") ||
        ((m == SIM_M_USER || m == SIM_M_GROUP) && !sim_user_has_policy(st, sess->user, "policy"))) {
        trap(o, -1, MSG_NO_PERM);
        return;
    }
    struct sim_kv kv[MAX_KV];
    char keys[MAX_KV][64];
    char err[SIM_ERR_LEN];
    int n = collect_kv(in, ",.id,numbers,.proplist,", kv, keys);
    if (n < 0) {
        trap(o, 1, "invalid argument");
        return;
    }
    if (add) {
        unsigned id;
        if (sim_state_add(st, m, kv, (size_t)n, &id, err) != 0) {
            trap(o, 1, err);
            return;
        }
        char ret[16];
        snprintf(ret, sizeof ret, "*%X", id);
        changed(st, sess, cmd, ret);
        done_ret(o, ret);
        return;
    }
    const char *refs = ros_sentence_get(in, ".id");
    if (!refs)
        refs = ros_sentence_get(in, "numbers");
    unsigned *ids = xcalloc(MAX_REFS, sizeof *ids);
    size_t nids;
    if (resolve_refs(st, m, refs, ids, &nids, err) != 0) {
        trap(o, 1, err);
        goto out;
    }
    if (rm && n > 0) {
        snprintf(err, sizeof err, "unknown parameter %s", kv[0].key);
        trap(o, 1, err);
        goto out;
    }
    size_t done = 0;
    for (size_t i = 0; i < nids; i++) {
        int r = rm ? sim_state_remove(st, m, ids[i], err)
                   : sim_state_set(st, m, ids[i], kv, (size_t)n, err);
        if (r == -ENOENT) /* listed twice and already removed */
            continue;
        if (r != 0) {
            if (done)
                changed(st, sess, cmd, "(partly)");
            trap(o, 1, err);
            goto out;
        }
        done++;
    }
    if (done)
        changed(st, sess, cmd, refs);
    done_ret(o, NULL);
out:
    free(ids);
}

static enum sim_api_action do_login(struct sim_state *st, struct sim_session *sess,
                                    const struct ros_sentence *in, struct out *o)
{
    struct ros_login_request req;
    char peer[INET6_ADDRSTRLEN];
    peer_str(sess, peer, sizeof peer);
    if (ros_login_request_parse(in, &req) != 0) {
        log_info("sim.api", "login from %s via %s refused: malformed /login", peer, sess->service);
        trap(o, -1, MSG_BAD_LOGIN);
        return SIM_API_CONTINUE;
    }
    if (req.kind == ROS_LOGIN_CHALLENGE) {
        if (ros_login_challenge_new(sess->challenge) != 0) {
            trap(o, 4, "failure: no random challenge");
            return SIM_API_CONTINUE;
        }
        sess->have_challenge = true;
        done_ret(o, sess->challenge);
        return SIM_API_CONTINUE;
    }
    char why[SIM_ERR_LEN];
    if (sim_login_check(st, sess->service, (const struct sockaddr *)&sess->peer, &req,
                        sess->have_challenge ? sess->challenge : NULL, why) != 0) {
        log_info("sim.api", "login of %s from %s via %s refused: %s", req.name, peer, sess->service,
                 why);
        sess->have_challenge = false;
        trap(o, -1, MSG_BAD_LOGIN);
        return SIM_API_CONTINUE;
    }
    sess->logged_in = true;
    sess->have_challenge = false;
    snprintf(sess->user, sizeof sess->user, "%s", req.name);
    log_info("sim.api", "user %s logged in from %s via %s%s", req.name, peer, sess->service,
             req.kind == ROS_LOGIN_MD5_RESPONSE ? " (challenge)" : "");
    done_ret(o, NULL);
    return SIM_API_CONTINUE;
}

/* /system/package/update/<verb>: print, check-for-updates, install (reboots). */
static enum sim_api_action do_package_update(struct sim_state *st, struct sim_session *sess,
                                             const char *cmd, const struct ros_sentence *in,
                                             struct out *o)
{
    const char *verb = cmd + 23;
    char err[SIM_ERR_LEN];
    if (strcmp(verb, "print") == 0 || strcmp(verb, "getall") == 0) {
        const char *kv[] = {"channel",
                            "stable",
                            "installed-version",
                            st->opt.version,
                            "latest-version",
                            st->latest_version[0] ? st->latest_version : st->opt.version,
                            "status",
                            st->pkg_status ? st->pkg_status : ""};
        do_single_row(st, kv, 8, in, o);
    } else if (strcmp(verb, "check-for-updates") == 0) {
        if (!sim_user_has_policy(st, sess->user, "write")) {
            trap(o, -1, MSG_NO_PERM);
            return SIM_API_CONTINUE;
        }
        sim_package_check(st);
        const char *kv[] = {"status", st->pkg_status};
        do_single_row(st, kv, 2, in, o);
    } else if (strcmp(verb, "install") == 0) {
        if (!sim_user_has_policy(st, sess->user, "reboot")) {
            trap(o, -1, MSG_NO_PERM);
            return SIM_API_CONTINUE;
        }
        if (sim_package_install(st, err) != 0) {
            trap(o, 4, err);
            return SIM_API_CONTINUE;
        }
        log_info("sim.api", "user %s: /system/package/update/install (reboot)", sess->user);
        return SIM_API_REBOOT;
    } else {
        trap(o, 0, "no such command");
    }
    return SIM_API_CONTINUE;
}

/* /file/print: the sim's files (name, type, size). */
static void do_file_print(struct sim_state *st, const struct ros_sentence *in, struct out *o)
{
    const char *proplist = ros_sentence_get(in, ".proplist");
    for (size_t i = 0; i < st->files.n; i++) {
        ros_sentence_add_str(&o->s, "!re");
        if (in_proplist(proplist, ".id"))
            ros_sentence_addf(&o->s, "=.id=*%zX", i + 1);
        if (in_proplist(proplist, "name"))
            ros_sentence_add_attr(&o->s, "name", st->files.v[i].name);
        if (in_proplist(proplist, "type"))
            ros_sentence_add_attr(&o->s, "type", "script");
        if (in_proplist(proplist, "size"))
            ros_sentence_addf(&o->s, "=size=%zu", st->files.v[i].len);
        emit(o);
    }
    if (st->files.n == 0 && st->opt.ros_empty) {
        ros_sentence_add_str(&o->s, "!empty");
        emit(o);
    }
    done_ret(o, NULL);
}

/* /file/remove =.id= or =numbers=: one file by id or name. */
static void do_file_remove(struct sim_state *st, struct sim_session *sess, const char *cmd,
                           const struct ros_sentence *in, struct out *o)
{
    const char *ref = ros_sentence_get(in, ".id");
    if (!ref)
        ref = ros_sentence_get(in, "numbers");
    if (!sim_user_has_policy(st, sess->user, "write")) {
        trap(o, -1, MSG_NO_PERM);
        return;
    }
    if (!ref || sim_files_remove(&st->files, ref) != 0) {
        trap(o, 1, "no such item");
        return;
    }
    changed(st, sess, cmd, ref);
    done_ret(o, NULL);
}

enum sim_api_action sim_api_handle(struct sim_state *st, struct sim_session *sess,
                                   const struct ros_sentence *in, struct buf *outbuf)
{
    struct out o = {.b = outbuf, .tag = ros_sentence_tag(in)};
    ros_sentence_init(&o.s);
    enum sim_api_action act = SIM_API_CONTINUE;
    const char *cmd = ros_sentence_command(in);

    if (!cmd || cmd[0] != '/') {
        trap(&o, 0, "no such command");
        goto out;
    }
    if (strcmp(cmd, "/login") == 0) {
        act = do_login(st, sess, in, &o);
        goto out;
    }
    if (strcmp(cmd, "/quit") == 0) {
        ros_sentence_add_str(&o.s, "!fatal");
        ros_sentence_add_str(&o.s, "session terminated on request");
        emit(&o);
        act = SIM_API_CLOSE;
        goto out;
    }
    if (!sess->logged_in) {
        if (++sess->before_login > SIM_MAX_CMDS_BEFORE_LOGIN) {
            ros_sentence_add_str(&o.s, "!fatal");
            ros_sentence_add_str(&o.s, "not logged in");
            emit(&o);
            act = SIM_API_CLOSE;
            goto out;
        }
        trap(&o, -1, "not logged in");
        goto out;
    }
    if (strcmp(cmd, "/cancel") == 0) {
        done_ret(&o, NULL); /* nothing here runs long enough to be cancelled */
        goto out;
    }
    if (strcmp(cmd, "/system/reboot") == 0) {
        if (!sim_user_has_policy(st, sess->user, "reboot")) {
            trap(&o, -1, MSG_NO_PERM);
            goto out;
        }
        log_info("sim.api", "user %s: /system/reboot (connections dropped, state kept)",
                 sess->user);
        st->reboot_pending = true;
        act = SIM_API_REBOOT;
        goto out;
    }
    if (strcmp(cmd, "/system/identity/print") == 0 || strcmp(cmd, "/system/identity/getall") == 0) {
        const char *kv[] = {"name", st->identity};
        do_single_row(st, kv, 2, in, &o);
        goto out;
    }
    if (strcmp(cmd, "/system/identity/set") == 0) {
        if (!sim_user_has_policy(st, sess->user, "write")) {
            trap(&o, -1, MSG_NO_PERM);
            goto out;
        }
        struct sim_kv kv[MAX_KV];
        char keys[MAX_KV][64], err[SIM_ERR_LEN];
        int n = collect_kv(in, NULL, kv, keys);
        if (n != 1 || strcmp(kv[0].key, "name") != 0) {
            trap(&o, 1, n == 0 ? "missing value(s) of argument(s) name" : "unknown parameter");
            goto out;
        }
        if (sim_state_set_identity(st, kv[0].val, err) != 0) {
            trap(&o, 1, err);
            goto out;
        }
        changed(st, sess, cmd, kv[0].val);
        done_ret(&o, NULL);
        goto out;
    }
    if (strcmp(cmd, "/system/resource/print") == 0 || strcmp(cmd, "/system/resource/getall") == 0) {
        char uptime[32];
        sim_format_duration(sim_uptime(st), uptime, sizeof uptime);
        const char *kv[] = {"version",
                            st->opt.version,
                            "board-name",
                            sim_board_name(&st->opt),
                            "architecture-name",
                            st->opt.no_routerboard ? "x86_64" : "arm64",
                            "platform",
                            "MikroTik",
                            "uptime",
                            uptime};
        do_single_row(st, kv, 10, in, &o);
        goto out;
    }
    if (strcmp(cmd, "/system/routerboard/print") == 0 && !st->opt.no_routerboard) {
        const char *kv[] = {"routerboard",   "true",        "model", sim_board_name(&st->opt),
                            "serial-number", st->opt.serial};
        do_single_row(st, kv, 6, in, &o);
        goto out;
    }
    if (strcmp(cmd, "/system/package/print") == 0 || strcmp(cmd, "/system/package/getall") == 0) {
        const char *kv[] = {".id",           "*1",       "name", "routeros", "version",
                            st->opt.version, "disabled", "false"};
        do_single_row(st, kv, 8, in, &o);
        goto out;
    }
    if (strncmp(cmd, "/system/package/update/", 23) == 0) {
        act = do_package_update(st, sess, cmd, in, &o);
        goto out;
    }
    if (strcmp(cmd, "/file/print") == 0 || strcmp(cmd, "/file/getall") == 0) {
        do_file_print(st, in, &o);
        goto out;
    }
    if (strcmp(cmd, "/file/remove") == 0) {
        do_file_remove(st, sess, cmd, in, &o);
        goto out;
    }
    if (strcmp(cmd, "/execute") == 0) {
        const char *script = ros_sentence_get(in, "script");
        if (!script) {
            trap(&o, 1,
                 ros_sentence_get(in, "file") ? "failure: /execute file= is not simulated"
                                              : "missing value(s) of argument(s) script");
            goto out;
        }
        free(sess->exec_script);
        free(sess->exec_tag);
        sess->exec_script = xstrdup(script);
        sess->exec_as_string = ros_sentence_get(in, "as-string") != NULL;
        sess->exec_tag = o.tag ? xstrdup(o.tag) : NULL;
        act = SIM_API_EXECUTE;
        goto out;
    }
    /* /<menu>/<verb> */
    const char *slash = strrchr(cmd, '/');
    char menu[128];
    size_t mlen = (size_t)(slash - cmd);
    if (mlen == 0 || mlen >= sizeof menu) {
        trap(&o, 0, "no such command prefix");
        goto out;
    }
    memcpy(menu, cmd, mlen);
    menu[mlen] = '\0';
    int m = sim_menu_by_path(menu);
    if (m < 0 || !sim_menu_available(&st->opt, (enum sim_menu_id)m)) {
        trap(&o, 0, "no such command prefix");
        goto out;
    }
    do_menu(st, sess, (enum sim_menu_id)m, slash + 1, cmd, in, &o);
out:
    ros_sentence_release(&o.s);
    return act;
}

void sim_session_release(struct sim_session *sess)
{
    free(sess->exec_script);
    free(sess->exec_tag);
    sess->exec_script = sess->exec_tag = NULL;
}

/* The policy list of a user's group (owned copy, "" when none). Lock held. */
static char *user_policy(const struct sim_state *st, const char *user)
{
    size_t u, g;
    if (sim_resolve(st, SIM_M_USER, user, &u) != 0)
        return xstrdup("");
    const char *group = st->menus[SIM_M_USER].items[u].val[2];
    if (sim_resolve(st, SIM_M_GROUP, group, &g) != 0)
        return xstrdup("");
    const char *pol = st->menus[SIM_M_GROUP].items[g].val[1];
    return xstrdup(pol ? pol : "");
}

enum sim_api_action sim_api_execute(struct sim_state *st, struct sim_session *sess,
                                    struct buf *outbuf)
{
    struct out o = {.b = outbuf, .tag = sess->exec_tag};
    ros_sentence_init(&o.s);
    sim_state_lock(st);
    char *policy = user_policy(st, sess->user);
    sim_state_unlock(st);
    struct buf put;
    buf_init(&put, 64 * 1024); /* as-string: "can not be larger than 64kB" */
    struct sim_script_host h = {
        .st = st,
        .files = &st->files,
        .fetch = sim_fetch_curl,
        .policy = policy,
        .put_out = &put,
    };
    struct sim_script_report rep;
    const char *text = sess->exec_script ? sess->exec_script : "";
    enum sim_script_result r = sim_script_run(&h, "/execute", text, strlen(text), &rep);
    enum sim_api_action act = SIM_API_CONTINUE;
    char msg[SIM_ERR_LEN + 64];
    switch (r) {
    case SIM_SCRIPT_SYNTAX:
        snprintf(msg, sizeof msg, "%s (line %u)", rep.err, rep.line);
        trap(&o, 3, msg);
        break;
    case SIM_SCRIPT_FAILED:
        /* What RouterOS answers for a run-time error inside /execute is not documented; the
         * sim answers the pessimistic way a client must handle: the error ends the script and
         * the reply is still !done, with the output so far (tikgate's push checks a marker). */
        log_info("sim.api", "user %s: /execute failed at line %u: %s", sess->user, rep.line,
                 rep.err);
        if (sess->exec_as_string) {
            ros_sentence_add_str(&o.s, "!done");
            ros_sentence_add_attr(&o.s, "ret", put.data ? put.data : "");
            emit(&o);
        } else {
            done_ret(&o, "*1");
        }
        break;
    case SIM_SCRIPT_REBOOT: act = SIM_API_REBOOT; break;
    default:
        if (sess->exec_as_string) {
            ros_sentence_add_str(&o.s, "!done");
            ros_sentence_add_attr(&o.s, "ret", put.data ? put.data : "");
            emit(&o);
        } else {
            done_ret(&o, "*1");
        }
        break;
    }
    log_info("sim.api", "user %s: /execute%s: %u command(s)", sess->user,
             sess->exec_as_string ? " as-string" : "", rep.commands);
    buf_release(&put);
    free(policy);
    ros_sentence_release(&o.s);
    sim_session_release(sess);
    return act;
}
