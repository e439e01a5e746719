/*
 * standalone_main.c - replays fuzz inputs without libFuzzer (as systemd's
 * fuzz-main.c): every argument is a file or a directory whose regular files
 * (in name order, not recursive) are passed one by one to
 * LLVMFuzzerTestOneInput. Used by `meson test --suite fuzz` over each target's
 * corpus so that regressions found by fuzzing stay fixed in ordinary builds.
 * Exit status: 0 when every input ran, 1 on a read error or no input at all
 * (a crash aborts the process, as in libFuzzer).
 */
#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

/* Reads a whole file (at most 64 MiB) into an owned buffer. */
static int read_file(const char *path, uint8_t **ret, size_t *ret_len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -errno;
    size_t alloc = 4096, len = 0;
    uint8_t *data = malloc(alloc);
    int r = 0;
    if (!data) {
        r = -ENOMEM;
        goto out_close;
    }
    for (;;) {
        if (len == alloc) {
            if (alloc >= (64u << 20)) {
                r = -EFBIG;
                goto out_free;
            }
            uint8_t *n = realloc(data, alloc * 2);
            if (!n) {
                r = -ENOMEM;
                goto out_free;
            }
            data = n;
            alloc *= 2;
        }
        size_t got = fread(data + len, 1, alloc - len, f);
        len += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        r = -EIO;
        goto out_free;
    }
    fclose(f);
    *ret = data;
    *ret_len = len;
    return 0;

out_free:
    free(data);
out_close:
    fclose(f);
    return r;
}

static int run_file(const char *path)
{
    uint8_t *data = NULL;
    size_t len = 0;
    int r = read_file(path, &data, &len);
    if (r < 0) {
        fprintf(stderr, "%s: %s\n", path, strerror(-r));
        return r;
    }
    /* Copy into an exact-size buffer so ASan catches reads past the input. */
    uint8_t *exact = malloc(len ? len : 1);
    if (!exact) {
        free(data);
        return -ENOMEM;
    }
    if (len)
        memcpy(exact, data, len);
    free(data);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every regular file of dir in name order. Returns the count or -errno. */
static int run_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -errno;
    char **names = NULL;
    size_t n = 0, alloc = 0;
    int r = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        if (n == alloc) {
            alloc = alloc ? alloc * 2 : 64;
            char **nn = realloc(names, alloc * sizeof(*names));
            if (!nn) {
                r = -ENOMEM;
                goto out_free;
            }
            names = nn;
        }
        names[n] = strdup(de->d_name);
        if (!names[n]) {
            r = -ENOMEM;
            goto out_free;
        }
        n++;
    }
    qsort(names, n, sizeof(*names), cmp_names);
    int count = 0;
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
            continue;
        r = run_file(path);
        if (r < 0)
            goto out_free;
        count++;
    }
    r = count;

out_free:
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    closedir(d);
    return r;
}

int main(int argc, char **argv)
{
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    size_t total = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) < 0) {
            fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
            return 1;
        }
        if (S_ISDIR(st.st_mode)) {
            int r = run_dir(argv[i]);
            if (r < 0) {
                fprintf(stderr, "%s: %s\n", argv[i], strerror(-r));
                return 1;
            }
            total += (size_t)r;
        } else {
            if (run_file(argv[i]) < 0)
                return 1;
            total++;
        }
    }
    printf("%zu inputs ran\n", total);
    return total ? 0 : 1;
}
