/*
 * files.c - the router's file store: what /tool fetch dst-path= writes and /import file-name=
 * reads and /file remove deletes (sim.h, struct sim_files). A fixed array of SIM_MAX_FILES named
 * byte strings, each owned by the store and kept NUL-terminated (scripts are run from it as text).
 */
#include "alloc.h"
#include "sim.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void sim_files_release(struct sim_files *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++) {
        free(f->v[i].name);
        free(f->v[i].data);
    }
    f->n = 0;
}

int sim_files_put(struct sim_files *f, const char *name, const char *data, size_t len)
{
    struct sim_file *slot = NULL;
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->v[i].name, name) == 0)
            slot = &f->v[i];
    if (!slot) {
        if (f->n >= SIM_MAX_FILES)
            return -ENOSPC;
        slot = &f->v[f->n++];
        slot->name = xstrdup(name);
        slot->data = NULL;
    }
    free(slot->data);
    slot->data = xmalloc(len + 1);
    memcpy(slot->data, data, len);
    slot->data[len] = '\0';
    slot->len = len;
    return 0;
}

const struct sim_file *sim_files_get(const struct sim_files *f, const char *name)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->v[i].name, name) == 0)
            return &f->v[i];
    return NULL;
}

int sim_files_remove(struct sim_files *f, const char *name)
{
    for (size_t i = 0; i < f->n; i++) {
        if (strcmp(f->v[i].name, name) != 0)
            continue;
        free(f->v[i].name);
        free(f->v[i].data);
        f->v[i] = f->v[--f->n];
        return 0;
    }
    return -ENOENT;
}
