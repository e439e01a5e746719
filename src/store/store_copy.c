/*
 * store_copy.c - moves an installation from SQLite to PostgreSQL (store_copy in store.h):
 * every row of every table, the sealed secrets as they are (the master key stays the same),
 * then the row counts of both sides compared. The only file that sees both backends.
 *
 * Tables are copied in the order of their foreign keys (TABLES below); a SQLite table that is
 * not in the list, or a column one side has and the other lacks, stops the copy before any row
 * is written, so a new migration cannot be forgotten silently. SQLite's implicit rowid goes
 * to PostgreSQL's explicit rowid column (the lists' order), and the identity sequences are
 * moved past the copied values. Values are parameters (text; BLOB as binary bytea); the
 * table and column names come from TABLES and the catalogs, quoted.
 */
#include "alloc.h"
#include "log.h"
#include "pg_int.h"
#include "sqlite_int.h"
#include "utf8.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parents before children. */
static const char *const TABLES[] = {
    "tenants",
    "api_keys",
    "policies",
    "policy_services",
    "sites",
    "api_credentials",
    "jobs",
    "job_events",
    "grants",
    "grant_connections",
    "users",
    "sessions",
    "vpn_edges",
    "site_events",
    "nodes",
    "site_uptime",
    "fleet_samples",
    "audit_log",
    "webhooks",
    "webhook_events",
    "webhook_deliveries",
    "webhook_attempts",
    "login_failures",
    "master_key_check",
    NULL,
};

#define MAX_COLUMNS 64

struct columns {
    char *name[MAX_COLUMNS];
    int n;
};

static void columns_free(struct columns *c)
{
    for (int i = 0; i < c->n; i++)
        free(c->name[i]);
    c->n = 0;
}

static int pg_columns(PGconn *pg, const char *table, struct columns *ret)
{
    const char *params[1] = {table};
    PGresult *res = PQexecParams(pg,
                                 "SELECT column_name FROM information_schema.columns WHERE "
                                 "table_schema = current_schema() AND table_name = $1 "
                                 "ORDER BY ordinal_position",
                                 1, NULL, params, NULL, NULL, 0);
    int r = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0 ? 0 : -EIO;
    for (int i = 0; r == 0 && i < PQntuples(res) && i < MAX_COLUMNS; i++)
        ret->name[ret->n++] = xstrdup(PQgetvalue(res, i, 0));
    if (r < 0)
        log_error("store", "copy: PostgreSQL has no table %s", table);
    PQclear(res);
    return r;
}

static bool sqlite_has_column(sqlite3 *db, const char *table, const char *column)
{
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT 1 FROM pragma_table_info('%s') WHERE name = ?", table);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return false;
    sqlite3_bind_text(st, 1, column, -1, SQLITE_TRANSIENT);
    bool found = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return found;
}

static long sqlite_count(sqlite3 *db, const char *table)
{
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM \"%s\"", table);
    sqlite3_stmt *st;
    long n = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        n = (long)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

static long pg_count(PGconn *pg, const char *table)
{
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM \"%s\"", table);
    PGresult *res = PQexec(pg, sql);
    long n = PQresultStatus(res) == PGRES_TUPLES_OK ? strtol(PQgetvalue(res, 0, 0), NULL, 10) : -1;
    PQclear(res);
    return n;
}

/* Tables each side's migrations fill and its triggers keep: known, never copied (the copy's
 * inserts move the target's change versions on). */
static const char *const DERIVED[] = {"change_versions", NULL};

/* Every SQLite table is one of TABLES or DERIVED. */
static int check_tables(sqlite3 *db)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT "
                           "LIKE 'sqlite_%'",
                           -1, &st, NULL) != SQLITE_OK)
        return -EIO;
    int r = 0;
    while (r == 0 && sqlite3_step(st) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        bool known = false;
        for (int i = 0; TABLES[i] && !known; i++)
            known = !strcmp(TABLES[i], name);
        for (int i = 0; DERIVED[i] && !known; i++)
            known = !strcmp(DERIVED[i], name);
        if (!known) {
            log_error("store", "copy: table %s is not in store_copy.c's list", name);
            r = -EPROTO;
        }
    }
    sqlite3_finalize(st);
    return r;
}

/* The SELECT of the SQLite side and the INSERT of the PostgreSQL side for cols. */
static int build_sql(sqlite3 *db, const char *table, const struct columns *cols, char *sel,
                     size_t sel_len, char *ins, size_t ins_len)
{
    size_t so = (size_t)snprintf(sel, sel_len, "SELECT ");
    size_t io = (size_t)snprintf(ins, ins_len, "INSERT INTO \"%s\"(", table);
    for (int i = 0; i < cols->n; i++) {
        const char *name = cols->name[i];
        bool has = sqlite_has_column(db, table, name);
        if (!has && strcmp(name, "rowid") != 0) {
            log_error("store", "copy: SQLite's %s has no column %s", table, name);
            return -EPROTO;
        }
        so += (size_t)snprintf(sel + so, sel_len - so, "%s\"%s\"", i ? ", " : "", name);
        io += (size_t)snprintf(ins + io, ins_len - io, "%s\"%s\"", i ? ", " : "", name);
        if (so >= sel_len || io >= ins_len)
            return -E2BIG;
    }
    so += (size_t)snprintf(sel + so, sel_len - so, " FROM \"%s\" ORDER BY rowid", table);
    io += (size_t)snprintf(ins + io, ins_len - io, ") VALUES (");
    for (int i = 0; i < cols->n; i++)
        io += (size_t)snprintf(ins + io, ins_len - io, "%s$%d", i ? ", " : "", i + 1);
    io += (size_t)snprintf(ins + io, ins_len - io, ")");
    return so < sel_len && io < ins_len ? 0 : -E2BIG;
}

/* Inserts the current row of st as one row of the PostgreSQL table (ins, n parameters). */
static int copy_row(PGconn *pg, const char *ins, sqlite3_stmt *st, int n)
{
    const char *vals[MAX_COLUMNS];
    char *owned[MAX_COLUMNS] = {0};
    int lens[MAX_COLUMNS], fmts[MAX_COLUMNS];
    for (int i = 0; i < n; i++) {
        int type = sqlite3_column_type(st, i);
        fmts[i] = type == SQLITE_BLOB;
        vals[i] = type == SQLITE_NULL   ? NULL
                  : type == SQLITE_BLOB ? sqlite3_column_blob(st, i)
                                        : (const char *)sqlite3_column_text(st, i);
        lens[i] = sqlite3_column_bytes(st, i);
        /* Text that is not UTF-8 (router facts): U+FFFD per bad byte, as pg_bind_text. */
        if (type == SQLITE_TEXT && !utf8_valid(vals[i]))
            vals[i] = owned[i] = utf8_sanitize(vals[i]);
    }
    PGresult *res = PQexecParams(pg, ins, n, NULL, vals, lens, fmts, 0);
    for (int i = 0; i < n; i++)
        free(owned[i]);
    int r = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : -EIO;
    if (r < 0)
        log_error("store", "copy: %s", PQresultErrorMessage(res));
    PQclear(res);
    return r;
}

/* Moves the identity sequences of table past the copied values. */
static int bump_sequences(PGconn *pg, const char *table, const struct columns *cols)
{
    for (int i = 0; i < cols->n; i++) {
        const char *col = cols->name[i];
        if (strcmp(col, "rowid") != 0 && strcmp(col, "id") != 0)
            continue;
        char sql[320];
        snprintf(sql, sizeof sql, "SELECT pg_get_serial_sequence('\"%s\"', '%s')", table, col);
        PGresult *res = PQexec(pg, sql);
        bool ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
        if (ok && !PQgetisnull(res, 0, 0)) { /* an identity column */
            char *seq = xstrdup(PQgetvalue(res, 0, 0));
            PQclear(res);
            snprintf(sql, sizeof sql,
                     "SELECT setval('%s', coalesce((SELECT max(\"%s\") FROM \"%s\"), 0) + 1, "
                     "false)",
                     seq, col, table);
            free(seq);
            res = PQexec(pg, sql);
            ok = PQresultStatus(res) == PGRES_TUPLES_OK;
        }
        if (!ok)
            log_error("store", "copy: %s", PQresultErrorMessage(res));
        PQclear(res);
        if (!ok)
            return -EIO;
    }
    return 0;
}

static int copy_table(sqlite3 *db, PGconn *pg, const char *table, long *ret_rows)
{
    struct columns cols = {.n = 0};
    int r = pg_columns(pg, table, &cols);
    char sel[4096], ins[4096];
    if (r == 0)
        r = build_sql(db, table, &cols, sel, sizeof sel, ins, sizeof ins);
    if (r == 0 && pg_count(pg, table) != 0) {
        log_error("store", "copy: PostgreSQL's %s is not empty", table);
        r = -EEXIST;
    }
    sqlite3_stmt *st = NULL;
    if (r == 0 && sqlite3_prepare_v2(db, sel, -1, &st, NULL) != SQLITE_OK) {
        log_error("store", "copy: %s", sqlite3_errmsg(db));
        r = -EIO;
    }
    long rows = 0;
    int rc = SQLITE_DONE;
    while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        r = copy_row(pg, ins, st, cols.n);
        rows += r == 0;
    }
    if (r == 0 && rc != SQLITE_DONE)
        r = -EIO;
    sqlite3_finalize(st);
    if (r == 0)
        r = bump_sequences(pg, table, &cols);
    long from = r == 0 ? sqlite_count(db, table) : -1, to = r == 0 ? pg_count(pg, table) : -1;
    if (r == 0 && (from != rows || to != rows)) {
        log_error("store", "copy: %s has %ld rows in SQLite, %ld copied, %ld in PostgreSQL", table,
                  from, rows, to);
        r = -EIO;
    }
    if (r == 0)
        log_info("store", "copied %s: %ld rows, counts verified", table, rows);
    columns_free(&cols);
    *ret_rows += rows;
    return r;
}

static int pg_exec(PGconn *pg, const char *sql)
{
    PGresult *res = PQexec(pg, sql);
    int r = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : -EIO;
    PQclear(res);
    return r;
}

int store_copy(struct store *from, struct store *to, long *ret_rows)
{
    if (from->ops != &store_sqlite_ops || to->ops != &store_pg_ops)
        return -EINVAL;
    if (from->schema_version != to->schema_version) {
        log_error("store", "copy: schema %d (SQLite) and %d (PostgreSQL) differ",
                  from->schema_version, to->schema_version);
        return -EPROTO;
    }
    struct store_conn *sc = store_conn(from);
    struct pg_session *pc = pg_session(to);
    if (!sc || !pc)
        return -EIO;
    int r = check_tables(sc->db);
    if (r < 0)
        return r;
    /* One snapshot of SQLite, one transaction in PostgreSQL: all or nothing. */
    if (sqlite3_exec(sc->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return -EIO;
    r = pg_exec(pc->conn, "BEGIN ISOLATION LEVEL SERIALIZABLE");
    long rows = 0;
    for (int i = 0; r == 0 && TABLES[i]; i++)
        r = copy_table(sc->db, pc->conn, TABLES[i], &rows);
    if (r == 0)
        r = pg_exec(pc->conn, "COMMIT");
    else
        pg_exec(pc->conn, "ROLLBACK");
    sqlite3_exec(sc->db, "COMMIT", NULL, NULL, NULL);
    /* Statistics for the planner now, not at autovacuum's next round: on a bulk load's empty
     * statistics the scheduler's batches read every live grant (docs/benchmarks.md). */
    if (r == 0 && pg_exec(pc->conn, "ANALYZE") < 0)
        log_warn("store", "copy: ANALYZE failed (autovacuum will gather the statistics)");
    if (r == 0)
        *ret_rows = rows;
    return r;
}
