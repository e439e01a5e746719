/*
 * cli_core.h - the pure parts of the tikgate CLI: exit codes, durations, tables,
 * site-name resolution. No I/O beyond writing to a caller's FILE, so the unit tests
 * (tests/unit/cli) drive them directly.
 */
#ifndef TG_CLI_CORE_H
#define TG_CLI_CORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Exit codes of tikgate (docs/cli.md "Exit codes", tikgate(1)). */
enum cli_exit {
    CLI_OK = 0,
    CLI_FAIL = 1,        /* local failure, unexpected answer */
    CLI_USAGE = 2,       /* bad command line */
    CLI_AUTH = 3,        /* authentication_error (401), or not signed in */
    CLI_PERMISSION = 4,  /* permission_error (403) */
    CLI_NOT_FOUND = 5,   /* not_found_error (404), a SITE name that matches nothing */
    CLI_CONFLICT = 6,    /* conflict_error (409), a SITE name that matches several sites */
    CLI_INVALID = 7,     /* invalid_request_error (400, 405, 409, 413, 415, 422) */
    CLI_RATE_LIMIT = 8,  /* rate_limit_error (429) */
    CLI_SERVER = 9,      /* api_error (5xx) or a non-JSON error answer */
    CLI_UNREACHABLE = 10 /* the server could not be reached */
};

/*
 * The exit code for an API error: by the error's `type` when it is one of docs/errors.md's,
 * else by the HTTP status. type may be NULL.
 */
int cli_exit_for_error(const char *type, long status);

/*
 * Parses a duration: a number followed by s, m, h or d, several of them concatenated
 * ("1h30m"), or a bare number of minutes ("90"). Returns 0 and the seconds in
 * *ret_seconds, or -EINVAL (empty, unknown unit, zero, overflow).
 */
int cli_parse_duration(const char *s, long *ret_seconds);

/* Whole minutes for a duration in seconds, rounded up (what expire_after_minutes takes). */
long cli_minutes_ceil(long seconds);

enum cli_cell {
    CELL_TEXT,    /* scalar: string as is, null "-", bool yes/no, numbers */
    CELL_SERVICE, /* a policy service {enabled, port}: the port, or "off" */
    CELL_LIST,    /* an array of scalars joined with "," */
    CELL_SET      /* "yes" when the value is neither null nor false, else "no" */
};

struct cli_col {
    const char *header;
    const char *path; /* member name; "a.b" for a member of an object member */
    enum cli_cell kind;
};

/* The value at path ("a.b") of obj, borrowed, or NULL. */
json_t *cli_json_path(json_t *obj, const char *path);

/* One cell's text. Returns owned: free(). */
char *cli_cell_text(json_t *row, const struct cli_col *col);

/*
 * Writes rows (a JSON array of objects, borrowed) as a table: a header line, then one
 * line per row, columns two spaces apart and padded to their widest cell (UTF-8 aware).
 */
void cli_table_render(FILE *out, const struct cli_col *cols, size_t ncols, json_t *rows);

/* Writes obj as "key: value" lines, nested objects as "outer.inner", in member order. */
void cli_object_render(FILE *out, json_t *obj);

/* True if s has the shape of a UUID (8-4-4-4-12 hex digits). */
bool cli_is_uuid(const char *s);

/*
 * Finds the object that arg names in items (a JSON array of objects with "id" and "name",
 * borrowed: sites, policies): an id matches its object; otherwise the objects whose name
 * equals arg. Returns 0 and the id (borrowed from items) in *ret_id; -ENOENT when nothing
 * matches; -EEXIST when several have that name. On failure msg gets a sentence for the user
 * naming the noun ("site") and, when ambiguous, the candidates' ids.
 */
int cli_resolve_name(json_t *items, const char *arg, const char *noun, const char **ret_id,
                     char *msg, size_t msglen);

#endif
