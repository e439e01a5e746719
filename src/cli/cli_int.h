/*
 * cli_int.h - internals shared by the tikgate CLI's files: the connection settings, the
 * command line of one command and the HTTP calls to the REST API.
 *
 * Every command function returns an exit code of enum cli_exit (0 = success) and has
 * written its message to stderr when it is not 0.
 */
#ifndef TG_CLI_INT_H
#define TG_CLI_INT_H

#include "cli_core.h"
#include "rand.h" /* UUID_STR_LEN */

#include <jansson.h>
#include <stdbool.h>

#define CLI_MAX_POS 8
#define CLI_MAX_OPTS 24

struct cli {
    char *url;   /* base URL without a trailing '/', owned */
    char *token; /* bearer token, owned, or NULL */
    const char *ca_file;
    bool json;     /* -o json */
    bool insecure; /* --insecure: no TLS verification */
};

struct cli_opt {
    const char *name; /* long name without "--" */
    bool has_arg;
    const char *help;
};

struct cli_cmd;

struct cli_args {
    const struct cli_cmd *cmd;
    const char *pos[CLI_MAX_POS];
    int npos;
    const char *val[CLI_MAX_OPTS]; /* by the index in cmd->opts; "" for a flag that is set */
    char **rest;                   /* the words after "--" */
    int nrest;
};

/* A resource of the API, for the generic list/get/delete commands. */
struct cli_res {
    const char *path; /* "/v1/sites", or with one %s for the site id */
    const char *noun; /* "site", for messages */
    const struct cli_col *cols;
    size_t ncols;
    bool per_site; /* the path names a site: the first positional is SITE */
    bool is_site;  /* the objects are sites: an ID may be a name */
    bool unpaged;  /* the list answers everything at once */
};

struct cli_cmd {
    const char *group; /* "sites", or NULL for a top-level command */
    const char *name;
    int (*run)(struct cli *c, struct cli_args *a);
    const char *args; /* positional synopsis, "SITE ID" */
    int min_pos, max_pos;
    const char *summary;
    const struct cli_opt *opts; /* terminated by {NULL} */
    bool no_auth;               /* runs without a token (login) */
    const struct cli_res *res;  /* for the generic commands */
};

extern const struct cli_cmd cli_commands[];
extern const size_t cli_commands_count;

/* The option's value (borrowed), or NULL when not given. name must be in cmd->opts. */
const char *cli_arg(const struct cli_args *a, const char *name);
bool cli_flag(const struct cli_args *a, const char *name);

/* Prints "tikgate: <message>" to stderr and returns code. */
int cli_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* --- http.c --- */

struct cli_resp {
    long status;
    json_t *body; /* owned, NULL when the answer is empty or not JSON */
};

/*
 * One request: method, path (with query) under c->url, body borrowed or NULL. Returns 0
 * and the answer in *ret (release ret->body), or CLI_UNREACHABLE after printing why.
 * auth: whether to send c->token.
 */
int cli_http(struct cli *c, const char *method, const char *path, json_t *body, bool auth,
             struct cli_resp *ret);

/*
 * cli_http with the API's error handling: a 4xx/5xx is printed (message, code, param) and
 * its exit code returned. On success *ret gets the answer body (owned; NULL for a 204)
 * when ret is not NULL.
 */
int cli_api(struct cli *c, const char *method, const char *path, json_t *body, json_t **ret);

/* Prints an error answer and returns its exit code. */
int cli_api_error(const struct cli_resp *r);

/* Every page of a list (limit 1000, after_id): returns the items in *ret (owned). */
int cli_api_list(struct cli *c, const char *path, json_t **ret);

/* Resolves SITE (id or name) to an id, written to id (UUID_STR_LEN bytes). */
int cli_site_id(struct cli *c, const char *arg, char id[UUID_STR_LEN]);

/* The same for any list of named objects at list_path ("/v1/control-plane/policies"). */
int cli_named_id(struct cli *c, const char *list_path, const char *noun, const char *arg,
                 char id[UUID_STR_LEN]);

/* --- session.c --- */

/* The session file's path, owned. */
char *cli_session_path(void);

/* Fills c->url and c->token from flags, TIKGATE_URL/TIKGATE_TOKEN and the session file. */
int cli_config_load(struct cli *c, const char *url_flag, const char *token_flag);

/* Writes the session file (mode 0600, its directory 0700). */
int cli_session_save(const char *url, json_t *login_answer);

/* --- output --- */

/* The string at path ("a.b") of o, or "-" when it is absent, null or not a string. */
const char *cli_str(json_t *o, const char *path);

/* Prints v as JSON (-o json) or as a table of cols (an array) / key-value lines (object). */
void cli_print(struct cli *c, json_t *v, const struct cli_col *cols, size_t ncols);

#define CLI_COLS(a) (a), (sizeof(a) / sizeof((a)[0]))

/* Command implementations: session.c, resources.c, shortcuts.c. */
#define CLI_CMD(fn) int fn(struct cli *c, struct cli_args *a)
CLI_CMD(cli_cmd_login);
CLI_CMD(cli_cmd_logout);
CLI_CMD(cli_cmd_whoami);
CLI_CMD(cli_cmd_list);
CLI_CMD(cli_cmd_get);
CLI_CMD(cli_cmd_delete);
CLI_CMD(cli_cmd_site_names);
CLI_CMD(cli_cmd_site_create);
CLI_CMD(cli_cmd_site_update);
CLI_CMD(cli_cmd_site_bootstrap);
CLI_CMD(cli_cmd_site_note);
CLI_CMD(cli_cmd_site_tunnel_events);
CLI_CMD(cli_cmd_action);
CLI_CMD(cli_cmd_policy_create);
CLI_CMD(cli_cmd_policy_update);
CLI_CMD(cli_cmd_policy_attach);
CLI_CMD(cli_cmd_credentials_rotate);
CLI_CMD(cli_cmd_access_create);
CLI_CMD(cli_cmd_grant_extend);
CLI_CMD(cli_cmd_grant_connections);
CLI_CMD(cli_cmd_forward_create);
CLI_CMD(cli_cmd_job_create);
CLI_CMD(cli_cmd_key_create);
CLI_CMD(cli_cmd_user_create);
CLI_CMD(cli_cmd_user_update);
CLI_CMD(cli_cmd_winbox);
CLI_CMD(cli_cmd_ssh);
CLI_CMD(cli_cmd_forward);
CLI_CMD(cli_cmd_log);

/* The resources of resources.c. */
extern const struct cli_res cli_res_sites, cli_res_policies, cli_res_credentials, cli_res_access,
    cli_res_forwards, cli_res_jobs, cli_res_keys, cli_res_users;

/* The API path of res for site (may be NULL) and id (may be NULL). Returns owned. */
char *cli_res_path(const struct cli_res *res, const char *site, const char *id);

/* Request bodies from the options: a transient access (type overrides --type), a forward to
 * dst ("ADDR:PORT", "[v6]:PORT"). CLI_OK and *ret owned, or an exit code after a message. */
int cli_access_body(struct cli_args *a, const char *type, json_t **ret);
int cli_forward_body(struct cli_args *a, const char *dst, json_t **ret);

/* Reads a whole file ("-" = stdin) of at most cap bytes. Returns owned, or NULL after a
 * message. */
char *cli_read_file(const char *path, size_t cap);

/* The grant or job of an API answer, printed the human way. */
void cli_print_grant(struct cli *c, json_t *g);

#endif
