/*
 * bench/write_ref.c - the C reference of bench/write.sh (not a test): runs the statements
 * bench/write_ref.py --sql prints (one create = one BEGIN IMMEDIATE ... COMMIT of them) in a
 * loop for SECONDS on DB with tikgated's pragmas, and prints creates/s. Parameters of every
 * statement: ?1 new job id, ?2 new grant id, ?3 port, ?4 entry point, ?5 a random name.
 *
 *   write_ref DB SECONDS SQL...
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void must(int rc, sqlite3 *db, const char *what)
{
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
        fprintf(stderr, "write_ref: %s: %s\n", what, sqlite3_errmsg(db));
        exit(1);
    }
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: write_ref DB SECONDS SQL...\n");
        return 2;
    }
    sqlite3 *db;
    must(sqlite3_open(argv[1], &db), NULL, "open");
    must(sqlite3_exec(db,
                      "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                      "PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;",
                      NULL, NULL, NULL),
         db, "pragmas");
    int n = argc - 3;
    sqlite3_stmt *st[16], *begin, *commit;
    if (n > 16)
        return 2;
    for (int i = 0; i < n; i++)
        must(sqlite3_prepare_v2(db, argv[3 + i], -1, &st[i], NULL), db, argv[3 + i]);
    must(sqlite3_prepare_v2(db, "BEGIN IMMEDIATE", -1, &begin, NULL), db, "begin");
    must(sqlite3_prepare_v2(db, "COMMIT", -1, &commit, NULL), db, "commit");
    double end = now_s() + atof(argv[2]), t0 = now_s();
    long k = 0;
    char jid[48], gid[48], ep[32], name[32];
    while (now_s() < end) {
        snprintf(jid, sizeof jid, "ref-job-%ld-%d", k, rand());
        snprintf(gid, sizeof gid, "ref-grant-%ld-%d", k, rand());
        snprintf(ep, sizeof ep, "ref-%ld", k / 65000); /* 65 000 live ports per entry point */
        snprintf(name, sizeof name, "u%08x%08x", (unsigned)rand(), (unsigned)k);
        must(sqlite3_step(begin), db, "begin");
        sqlite3_reset(begin);
        for (int i = 0; i < n; i++) {
            sqlite3_bind_text(st[i], 1, jid, -1, SQLITE_STATIC);
            sqlite3_bind_text(st[i], 2, gid, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st[i], 3, k % 65000 + 1);
            sqlite3_bind_text(st[i], 4, ep, -1, SQLITE_STATIC);
            sqlite3_bind_text(st[i], 5, name, -1, SQLITE_STATIC);
            must(sqlite3_step(st[i]), db, argv[3 + i]);
            sqlite3_reset(st[i]);
        }
        must(sqlite3_step(commit), db, "commit");
        sqlite3_reset(commit);
        k++;
    }
    printf("%.0f\n", (double)k / (now_s() - t0));
    return 0;
}
