#include "fdlimit.h"

#include <stdio.h>
#include <sys/resource.h>

unsigned long fdlimit_raise(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return 1024;
    if (rl.rlim_cur < rl.rlim_max) {
        struct rlimit want = {.rlim_cur = rl.rlim_max, .rlim_max = rl.rlim_max};
        /* RLIM_INFINITY is refused for NOFILE: the kernel's ceiling is fs.nr_open */
        FILE *f = want.rlim_cur == RLIM_INFINITY ? fopen("/proc/sys/fs/nr_open", "r") : NULL;
        unsigned long nr_open = 0;
        if (f) {
            if (fscanf(f, "%lu", &nr_open) == 1 && nr_open > rl.rlim_cur)
                want.rlim_cur = nr_open;
            fclose(f);
        }
        if (want.rlim_cur != RLIM_INFINITY && setrlimit(RLIMIT_NOFILE, &want) == 0)
            rl.rlim_cur = want.rlim_cur;
    }
    return rl.rlim_cur == RLIM_INFINITY ? 1048576UL : (unsigned long)rl.rlim_cur;
}

unsigned fdlimit_edge_conns(unsigned long nofile, unsigned long reserve)
{
    unsigned long left = nofile > reserve ? nofile - reserve : 0;
    unsigned long n = left / 2;
    if (n > 16384)
        n = 16384;
    if (n < 16)
        n = 16;
    return (unsigned)n;
}
