/*
 * state_json.c - the state file: the whole configuration as JSON (docs/internals/sim.md).
 *
 * jansson builds the document and encodes every key and value (escaping, UTF-8); this file
 * only lays it out: one menu per member of the top-level object and one item per line, so
 * that `tikgate-sim --state` is readable as it is:
 *
 *   {
 *     "/user": [
 *       {".id": "*1", "name": "admin", ...}
 *     ],
 *     "/ip/firewall/filter": [],
 *     ...
 *     "/system/identity": {"name": "MikroTik"}
 *   }
 *
 * Values are bytes (from the API and from scripts) and need not be UTF-8; JSON strings must
 * be. Each byte of an invalid sequence is written as U+FFFD, so the file is always valid JSON.
 * The file is written to a temporary name and renamed over the old one (mode 0600: it holds
 * the passwords).
 *
 * jansson is tikgated's api module's library; the simulator is a program of its own and uses
 * it for this file only.
 */
#include "alloc.h"
#include "sim.h"
#include "utf8.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STATE_FILE_CAP ((size_t)64 << 20)

/* A JSON string of s (borrowed); bytes of invalid UTF-8 become U+FFFD. NULL only on OOM. */
static json_t *string_of(const char *s)
{
    json_t *j = json_string(s);
    if (j)
        return j;
    char *fixed = utf8_sanitize(s);
    j = json_string(fixed);
    free(fixed);
    return j;
}

/* Sets key (a static name) to a string of value; -ENOMEM. */
static int set_string(json_t *obj, const char *key, const char *value)
{
    json_t *v = string_of(value);
    return v && json_object_set_new(obj, key, v) == 0 ? 0 : -ENOMEM;
}

/* The whole configuration as a document; owned (json_decref), NULL on OOM. */
static json_t *state_doc(const struct sim_state *st)
{
    json_t *doc = json_object();
    if (!doc)
        return NULL;
    for (int m = 0; m < SIM_M_COUNT; m++) {
        const struct sim_menu *mm = &st->menus[m];
        json_t *items = json_array();
        char key[128];
        snprintf(key, sizeof key, "/%s", mm->def->path);
        if (!items || json_object_set_new(doc, key, items) != 0)
            goto out_free;
        for (size_t i = 0; i < mm->n; i++) {
            const struct sim_item *it = &mm->items[i];
            json_t *item = json_object();
            if (!item || json_array_append_new(items, item) != 0)
                goto out_free;
            char id[16];
            snprintf(id, sizeof id, "*%X", it->id);
            if (set_string(item, ".id", id) != 0)
                goto out_free;
            for (size_t f = 0; f < mm->def->nfields; f++)
                if (it->val[f] && !(mm->def->fields[f].flags & SIM_F_RUNTIME) &&
                    set_string(item, mm->def->fields[f].name, it->val[f]) != 0)
                    goto out_free;
        }
    }
    json_t *identity = json_object();
    if (!identity || json_object_set_new(doc, "/system/identity", identity) != 0 ||
        set_string(identity, "name", st->identity ? st->identity : "") != 0)
        goto out_free;
    return doc;

out_free:
    json_decref(doc);
    return NULL;
}

static int append_cb(const char *data, size_t n, void *ctx)
{
    return buf_append(ctx, data, n) == 0 ? 0 : -1;
}

/* Appends the one-line encoding of j (JSON_ENCODE_ANY: bare strings too). */
static int dump(const json_t *j, struct buf *out)
{
    return json_dump_callback(j, append_cb, out, JSON_ENCODE_ANY) == 0 ? 0 : -E2BIG;
}

/* Lays doc out as in the header comment. */
static int layout(const json_t *doc, struct buf *out)
{
    int r = buf_append_str(out, "{\n");
    const char *key;
    json_t *val;
    size_t k = 0;
    json_object_foreach((json_t *)doc, key, val)
    {
        json_t *jkey = json_string(key);
        if (!jkey)
            return -ENOMEM;
        if (!r)
            r = buf_append_str(out, k++ ? ",\n  " : "  ");
        if (!r)
            r = dump(jkey, out);
        json_decref(jkey);
        if (!r)
            r = buf_append_str(out, ": ");
        if (!r && json_is_array(val) && json_array_size(val) > 0) {
            size_t i;
            json_t *item;
            r = buf_append_str(out, "[");
            json_array_foreach(val, i, item)
            {
                if (!r)
                    r = buf_append_str(out, i ? ",\n    " : "\n    ");
                if (!r)
                    r = dump(item, out);
            }
            if (!r)
                r = buf_append_str(out, "\n  ]");
        } else if (!r) {
            r = dump(val, out);
        }
        if (r)
            return r;
    }
    return r ? r : buf_append_str(out, "\n}\n");
}

int sim_state_json(const struct sim_state *st, struct buf *out)
{
    json_t *doc = state_doc(st);
    if (!doc)
        return -ENOMEM;
    int r = layout(doc, out);
    json_decref(doc);
    return r;
}

int sim_state_write_file(const struct sim_state *st, const char *path)
{
    struct buf b;
    buf_init(&b, STATE_FILE_CAP);
    int r = sim_state_json(st, &b);
    if (r < 0)
        goto out_release;
    char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        r = -errno;
        goto out_free_tmp;
    }
    size_t off = 0;
    while (off < b.len) {
        ssize_t w = write(fd, b.data + off, b.len - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            r = -errno;
            break;
        }
        off += (size_t)w;
    }
    if (close(fd) != 0 && r == 0)
        r = -errno;
    if (r == 0 && rename(tmp, path) != 0)
        r = -errno;
    if (r != 0)
        unlink(tmp);
out_free_tmp:
    free(tmp);
out_release:
    buf_release(&b);
    return r;
}
