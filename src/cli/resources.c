/*
 * resources.c - the commands over the API's resources: sites, policies, credentials,
 * transient access and forwards, jobs, API keys and users. list/get/delete are generic
 * over struct cli_res; create and update build the request bodies from the options.
 */
#include "alloc.h"
#include "cli_int.h"
#include "netaddr.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const struct cli_col site_cols[] = {
    {"ID", "id", CELL_TEXT},
    {"NAME", "name", CELL_TEXT},
    {"STATUS", "status", CELL_TEXT},
    {"TUNNEL", "tunnel.status", CELL_TEXT},
    {"ADDRESS", "tunnel_address", CELL_TEXT},
    {"VERSION", "software_version", CELL_TEXT},
    {"LAST SEEN", "last_seen_at", CELL_TEXT},
};
static const struct cli_col policy_cols[] = {
    {"ID", "id", CELL_TEXT},
    {"NAME", "name", CELL_TEXT},
    {"DEFAULT", "default", CELL_TEXT},
    {"WINBOX", "winbox", CELL_SERVICE},
    {"SSH", "ssh", CELL_SERVICE},
    {"API", "api", CELL_SERVICE},
    {"API-SSL", "api_ssl", CELL_SERVICE},
    {"HTTP", "http", CELL_SERVICE},
    {"HTTPS", "https", CELL_SERVICE},
    {"TELNET", "telnet", CELL_SERVICE},
    {"FTP", "ftp", CELL_SERVICE},
    {"TRUSTED", "trusted_networks", CELL_LIST},
};
static const struct cli_col credential_cols[] = {
    {"ID", "id", CELL_TEXT},
    {"USERNAME", "username", CELL_TEXT},
    {"PASSWORD", "password", CELL_TEXT},
    {"ADDRESS", "ip_address", CELL_TEXT},
    {"PORT", "api_port", CELL_TEXT},
    {"CREATED", "created_at", CELL_TEXT},
    {"DELETED", "deleted_at", CELL_TEXT},
};
static const struct cli_col access_cols[] = {
    {"ID", "id", CELL_TEXT},
    {"TYPE", "type", CELL_TEXT},
    {"ENTRY", "entry_point", CELL_TEXT},
    {"PORT", "port", CELL_TEXT},
    {"USERNAME", "username", CELL_TEXT},
    {"SOURCE", "allow_only_cidr", CELL_TEXT},
    {"READY", "config_committed_to_site", CELL_SET},
    {"EXPIRES", "time_to_expire", CELL_TEXT},
};
static const struct cli_col forward_cols[] = {
    {"ID", "id", CELL_TEXT},
    {"ENTRY", "entry_point", CELL_TEXT},
    {"PORT", "port", CELL_TEXT},
    {"DESTINATION", "dst_address", CELL_TEXT},
    {"DST PORT", "dst_port", CELL_TEXT},
    {"SOURCE", "allow_only_cidr", CELL_TEXT},
    {"READY", "config_committed_to_site", CELL_SET},
    {"EXPIRES", "time_to_expire", CELL_TEXT},
};
static const struct cli_col job_cols[] = {
    {"ID", "id", CELL_TEXT},
    {"KIND", "kind", CELL_TEXT},
    {"STATUS", "status", CELL_TEXT},
    {"DESCRIPTION", "description", CELL_TEXT},
    {"ATTEMPTS", "attempts", CELL_TEXT},
    {"CREATED", "created_at", CELL_TEXT},
};
static const struct cli_col key_cols[] = {
    {"ID", "id", CELL_TEXT},
    {"NAME", "name", CELL_TEXT},
    {"PREFIX", "prefix", CELL_TEXT},
    {"SCOPES", "scopes", CELL_LIST},
    {"CREATED", "created_at", CELL_TEXT},
    {"LAST USED", "last_used_at", CELL_TEXT},
    {"REVOKED", "revoked_at", CELL_TEXT},
};
static const struct cli_col user_cols[] = {
    {"ID", "id", CELL_TEXT},
    {"EMAIL", "email", CELL_TEXT},
    {"ROLE", "role", CELL_TEXT},
    {"DISABLED", "disabled", CELL_TEXT},
    {"CREATED", "created_at", CELL_TEXT},
    {"LAST LOGIN", "last_login_at", CELL_TEXT},
};
static const struct cli_col connection_cols[] = {
    {"ID", "id", CELL_TEXT},
    {"SOURCE", "source", CELL_TEXT},
    {"STARTED", "started_at", CELL_TEXT},
    {"ENDED", "ended_at", CELL_TEXT},
    {"IN", "bytes_in", CELL_TEXT},
    {"OUT", "bytes_out", CELL_TEXT},
    {"OUTCOME", "outcome", CELL_TEXT},
};
static const struct cli_col event_cols[] = {
    {"AT", "at", CELL_TEXT}, {"KIND", "kind", CELL_TEXT}, {"MESSAGE", "message", CELL_TEXT}};

#define COLS(a) .cols = (a), .ncols = sizeof(a) / sizeof((a)[0])

const struct cli_res cli_res_sites = {"/v1/sites", "site", COLS(site_cols), .is_site = true};
const struct cli_res cli_res_policies = {"/v1/control-plane/policies", "policy", COLS(policy_cols)};
const struct cli_res cli_res_credentials = {"/v1/control-plane/%s/credentials", "credential",
                                            COLS(credential_cols), .per_site = true,
                                            .unpaged = true};
const struct cli_res cli_res_access = {"/v1/control-plane/%s/transient-access", "transient access",
                                       COLS(access_cols), .per_site = true};
const struct cli_res cli_res_forwards = {"/v1/control-plane/%s/transient-forward", "forward",
                                         COLS(forward_cols), .per_site = true};
const struct cli_res cli_res_jobs = {"/v1/sites/%s/jobs", "job", COLS(job_cols), .per_site = true};
const struct cli_res cli_res_keys = {"/v1/api-keys", "API key", COLS(key_cols)};
const struct cli_res cli_res_users = {"/v1/users", "user", COLS(user_cols)};

char *cli_res_path(const struct cli_res *res, const char *site, const char *id)
{
    const char *hole = res->per_site ? strstr(res->path, "%s") : NULL;
    char *base = hole ? xasprintf("%.*s%s%s", (int)(hole - res->path), res->path, site, hole + 2)
                      : xstrdup(res->path);
    if (!id)
        return base;
    char *p = xasprintf("%s/%s", base, id);
    free(base);
    return p;
}

/*
 * The site (when the resource has one) and the object id of the command's positionals;
 * names of sites and policies are resolved. id is left empty when there is no ID argument.
 */
static int target(struct cli *c, struct cli_args *a, char site[UUID_STR_LEN], char id[UUID_STR_LEN])
{
    const struct cli_res *res = a->cmd->res;
    int at = 0, rc;
    site[0] = id[0] = '\0';
    if (res->per_site && (rc = cli_site_id(c, a->pos[at++], site)))
        return rc;
    if (at >= a->npos)
        return CLI_OK;
    const char *arg = a->pos[at];
    if (res->is_site)
        return cli_site_id(c, arg, id);
    if (res == &cli_res_policies)
        return cli_named_id(c, res->path, res->noun, arg, id);
    /* The API's ids are UUIDs and it answers 404 for anything else: so does tikgate, without
     * putting the word into a URL. */
    if (!cli_is_uuid(arg))
        return cli_fail(CLI_NOT_FOUND, "No %s has the id '%s' (ids are UUIDs).", res->noun, arg);
    snprintf(id, UUID_STR_LEN, "%s", arg);
    return CLI_OK;
}

CLI_CMD(cli_cmd_list)
{
    const struct cli_res *res = a->cmd->res;
    char site[UUID_STR_LEN], id[UUID_STR_LEN];
    int rc = target(c, a, site, id);
    if (rc)
        return rc;
    char *path = cli_res_path(res, site, NULL);
    if (cli_flag(a, "active")) {
        char *p = xasprintf("%s?active=true", path);
        free(path);
        path = p;
    }
    json_t *items = NULL;
    rc = res->unpaged ? cli_api(c, "GET", path, NULL, &items) : cli_api_list(c, path, &items);
    free(path);
    if (rc)
        return rc;
    cli_print(c, items, res->cols, res->ncols);
    json_decref(items);
    return CLI_OK;
}

/* An object as key-value lines, a job's events as a table after it. */
static void print_detail(struct cli *c, json_t *o)
{
    if (c->json) {
        cli_print(c, o, NULL, 0);
        return;
    }
    json_t *copy = json_copy(o);
    json_t *events = json_incref(json_object_get(o, "events"));
    if (events)
        json_object_del(copy, "events");
    cli_object_render(stdout, copy);
    if (json_is_array(events)) {
        puts("\nevents:");
        cli_table_render(stdout, event_cols, sizeof event_cols / sizeof event_cols[0], events);
    }
    json_decref(events);
    json_decref(copy);
}

/* Sends method path with body (borrowed) and prints the answer. */
static int send_print(struct cli *c, const char *method, const char *path, json_t *body)
{
    json_t *o = NULL;
    int rc = cli_api(c, method, path, body, &o);
    if (rc)
        return rc;
    print_detail(c, o);
    json_decref(o);
    return CLI_OK;
}

CLI_CMD(cli_cmd_get)
{
    char site[UUID_STR_LEN], id[UUID_STR_LEN];
    int rc = target(c, a, site, id);
    if (rc)
        return rc;
    char *path = cli_res_path(a->cmd->res, site, id);
    rc = send_print(c, "GET", path, NULL);
    free(path);
    return rc;
}

CLI_CMD(cli_cmd_delete)
{
    char site[UUID_STR_LEN], id[UUID_STR_LEN];
    int rc = target(c, a, site, id);
    if (rc)
        return rc;
    char *path = cli_res_path(a->cmd->res, site, id);
    rc = cli_api(c, "DELETE", path, NULL, NULL);
    free(path);
    if (rc == CLI_OK && c->json) {
        json_t *o = json_pack("{s:s, s:b}", "id", id, "deleted", 1);
        cli_print(c, o, NULL, 0);
        json_decref(o);
    } else if (rc == CLI_OK)
        fprintf(stderr, "%s %s: %s.\n", a->cmd->res->noun, id,
                !strcmp(a->cmd->name, "delete")
                    ? "deleted"
                    : (!strcmp(a->cmd->name, "cancel") ? "cancelled" : "revoked"));
    return rc;
}

char *cli_read_file(const char *path, size_t cap)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!f) {
        cli_fail(CLI_FAIL, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    size_t len = 0, n;
    char *data = xmalloc(cap + 1);
    while (len < cap && (n = fread(data + len, 1, cap - len, f)) > 0)
        len += n;
    bool too_big = len == cap && fgetc(f) != EOF;
    if (f != stdin)
        fclose(f);
    if (too_big) {
        free(data);
        cli_fail(CLI_USAGE, "%s is larger than %zu bytes", path, cap);
        return NULL;
    }
    data[len] = '\0';
    return data;
}

/* ---------------------------------------------------------------- sites */

static int site_body(struct cli *c, struct cli_args *a, json_t *body)
{
    const char *name = cli_arg(a, "name"), *policy = cli_arg(a, "policy");
    const char *ta = cli_arg(a, "tunnel-address");
    if (name)
        json_object_set_new(body, "name", json_string(name));
    if (policy) {
        char pid[UUID_STR_LEN];
        int rc = cli_named_id(c, cli_res_policies.path, "policy", policy, pid);
        if (rc)
            return rc;
        json_object_set_new(body, "policy_id", json_string(pid));
    }
    if (ta)
        json_object_set_new(body, "tunnel_address",
                            strcmp(ta, "none") ? json_string(ta) : json_null());
    return CLI_OK;
}

CLI_CMD(cli_cmd_site_names)
{
    (void)a;
    json_t *sites = NULL;
    int rc = cli_api_list(c, "/v1/sites", &sites);
    if (rc)
        return rc;
    size_t i;
    json_t *s;
    json_array_foreach(sites, i, s) puts(cli_str(s, "name"));
    json_decref(sites);
    return CLI_OK;
}

CLI_CMD(cli_cmd_site_create)
{
    json_t *body = json_object();
    if (a->npos)
        json_object_set_new(body, "name", json_string(a->pos[0]));
    int rc = site_body(c, a, body);
    if (rc == CLI_OK && !json_object_get(body, "name"))
        rc = cli_fail(CLI_USAGE, "sites create needs a NAME");
    if (rc == CLI_OK)
        rc = send_print(c, "POST", "/v1/sites", body);
    json_decref(body);
    return rc;
}

CLI_CMD(cli_cmd_site_update)
{
    char unused[UUID_STR_LEN], site[UUID_STR_LEN];
    int rc = target(c, a, unused, site);
    if (rc)
        return rc;
    json_t *body = json_object();
    rc = site_body(c, a, body);
    if (rc == CLI_OK && json_object_size(body) == 0)
        rc = cli_fail(CLI_USAGE, "nothing to change: give --name, --policy or --tunnel-address");
    char *path = xasprintf("/v1/sites/%s", site);
    if (rc == CLI_OK)
        rc = send_print(c, "PATCH", path, body);
    free(path);
    json_decref(body);
    return rc;
}

CLI_CMD(cli_cmd_site_bootstrap)
{
    char site[UUID_STR_LEN], id[UUID_STR_LEN];
    int rc = target(c, a, site, id);
    if (rc)
        return rc;
    char *path = xasprintf("/v1/sites/%s/bootstrap", id);
    json_t *o = NULL;
    rc = cli_api(c, "POST", path, NULL, &o);
    free(path);
    if (rc)
        return rc;
    if (c->json)
        cli_print(c, o, NULL, 0);
    else
        puts(cli_str(o, "bootstrap_command"));
    json_decref(o);
    return CLI_OK;
}

CLI_CMD(cli_cmd_site_note)
{
    char site[UUID_STR_LEN], id[UUID_STR_LEN];
    int rc = target(c, a, site, id);
    if (rc)
        return rc;
    char *path = xasprintf("/v1/sites/%s/note", id);
    json_t *body = NULL, *o = NULL;
    if (cli_arg(a, "set")) {
        char *text = cli_read_file(cli_arg(a, "set"), 1u << 20);
        if (!text) {
            free(path);
            return CLI_FAIL;
        }
        body = json_pack("{s:s}", "content", text);
        free(text);
        if (!body) {
            free(path);
            return cli_fail(CLI_USAGE, "the note is not UTF-8 text");
        }
    }
    rc = cli_api(c, body ? "PUT" : "GET", path, body, &o);
    free(path);
    json_decref(body);
    if (rc)
        return rc;
    if (c->json)
        cli_print(c, o, NULL, 0);
    else
        fputs(cli_str(o, "content"), stdout);
    json_decref(o);
    return CLI_OK;
}

CLI_CMD(cli_cmd_site_tunnel_events)
{
    char site[UUID_STR_LEN], id[UUID_STR_LEN];
    int rc = target(c, a, site, id);
    if (rc)
        return rc;
    char *path = xasprintf("/v1/sites/%s/tunnel/events", id);
    json_t *o = NULL;
    rc = cli_api(c, "GET", path, NULL, &o);
    free(path);
    if (rc)
        return rc;
    cli_print(c, o, CLI_COLS(event_cols));
    json_decref(o);
    return CLI_OK;
}

CLI_CMD(cli_cmd_action)
{
    char site[UUID_STR_LEN];
    int rc = cli_site_id(c, a->pos[0], site);
    if (rc)
        return rc;
    char *path = xasprintf("/v1/control-plane/%s/action", site);
    json_t *body = json_pack("{s:s}", "action", a->pos[1]), *o = NULL;
    rc = cli_api(c, "POST", path, body, &o);
    free(path);
    json_decref(body);
    if (rc)
        return rc;
    if (c->json)
        cli_print(c, o, NULL, 0);
    else
        printf("%s: job %s (%s)\n", cli_str(o, "message"), cli_str(o, "job.id"),
               cli_str(o, "job.status"));
    json_decref(o);
    return CLI_OK;
}

/* ---------------------------------------------------------------- credentials */

CLI_CMD(cli_cmd_credentials_rotate)
{
    char site[UUID_STR_LEN], id[UUID_STR_LEN];
    int rc = target(c, a, site, id);
    if (rc)
        return rc;
    char *path = cli_res_path(a->cmd->res, site, NULL);
    rc = send_print(c, "POST", path, NULL);
    free(path);
    return rc;
}

/* ---------------------------------------------------------------- grants */

/* --rate-limit's bytes per second into body's rate_limit_bps; CLI_USAGE after a message. */
static int parse_rate(const char *rate, json_t *body)
{
    char *end;
    errno = 0;
    long long v = strtoll(rate, &end, 10);
    if (!*rate || *end || v < 0 || errno)
        return cli_fail(CLI_USAGE, "--rate-limit takes bytes per second, not '%s'", rate);
    json_object_set_new(body, "rate_limit_bps", json_integer(v));
    return CLI_OK;
}

/* --for into expire_after_minutes; --rate-limit into rate_limit_bps. */
static int grant_common(struct cli_args *a, json_t *body)
{
    const char *dur = cli_arg(a, "for"), *rate = cli_arg(a, "rate-limit");
    long secs;
    if (dur && cli_parse_duration(dur, &secs) < 0)
        return cli_fail(CLI_USAGE, "--for takes a duration such as 30m, 2h or 1h30m, not '%s'",
                        dur);
    if (dur)
        json_object_set_new(body, "expire_after_minutes", json_integer(cli_minutes_ceil(secs)));
    if (rate && parse_rate(rate, body))
        return CLI_USAGE;
    if (cli_arg(a, "from"))
        json_object_set_new(body, "allow_only_cidr", json_string(cli_arg(a, "from")));
    return CLI_OK;
}

/* The body of a transient access create from the options; type overrides --type. */
int cli_access_body(struct cli_args *a, const char *type, json_t **ret)
{
    json_t *body = json_object();
    int rc = grant_common(a, body);
    if (rc) {
        json_decref(body);
        return rc;
    }
    const char *t = type ? type : cli_arg(a, "type");
    if (t)
        json_object_set_new(body, "type", json_string(t));
    if (cli_flag(a, "full"))
        json_object_set_new(body, "full_access", json_true());
    if (cli_flag(a, "rfc1918"))
        json_object_set_new(body, "allow_rfc1918", json_true());
    *ret = body;
    return CLI_OK;
}

CLI_CMD(cli_cmd_access_create)
{
    char site[UUID_STR_LEN], id[UUID_STR_LEN];
    json_t *body = NULL;
    int rc = target(c, a, site, id);
    if (rc || (rc = cli_access_body(a, NULL, &body)))
        return rc;
    char *path = cli_res_path(a->cmd->res, site, NULL);
    rc = send_print(c, "POST", path, body);
    free(path);
    json_decref(body);
    return rc;
}

/* ADDR:PORT or [ADDR]:PORT into dst_address and dst_port. */
int cli_forward_body(struct cli_args *a, const char *dst, json_t **ret)
{
    char addr[64];
    unsigned port;
    if (netaddr_split_hostport(dst, addr, sizeof addr, &port) < 0 || port == 0)
        return cli_fail(CLI_USAGE, "'%s' is not ADDR:PORT (e.g. 192.168.88.10:80)", dst);
    json_t *body = json_pack("{s:s, s:i}", "dst_address", addr, "dst_port", (int)port);
    int rc = grant_common(a, body);
    if (rc) {
        json_decref(body);
        return rc;
    }
    if (cli_flag(a, "masquerade"))
        json_object_set_new(body, "masquerade", json_true());
    *ret = body;
    return CLI_OK;
}

CLI_CMD(cli_cmd_forward_create)
{
    char site[UUID_STR_LEN], id[UUID_STR_LEN];
    json_t *body = NULL;
    int rc = cli_site_id(c, a->pos[0], site);
    if (rc || (rc = cli_forward_body(a, a->pos[1], &body)))
        return rc;
    (void)id;
    char *path = cli_res_path(a->cmd->res, site, NULL);
    rc = send_print(c, "POST", path, body);
    free(path);
    json_decref(body);
    return rc;
}

CLI_CMD(cli_cmd_grant_extend)
{
    char site[UUID_STR_LEN], id[UUID_STR_LEN];
    int rc = target(c, a, site, id);
    if (rc)
        return rc;
    json_t *body = json_object();
    const char *dur = cli_arg(a, "for"), *rate = cli_arg(a, "rate-limit");
    long secs = 0;
    if (dur && cli_parse_duration(dur, &secs) < 0)
        rc = cli_fail(CLI_USAGE, "--for takes a duration such as 30m or 2h, not '%s'", dur);
    if (!dur && !rate)
        rc = cli_fail(CLI_USAGE, "give --for (new expiry from now) or --rate-limit");
    if (rc == CLI_OK && dur) {
        time_t at = time(NULL) + secs;
        struct tm tm;
        char when[40];
        gmtime_r(&at, &tm);
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S+00:00", &tm);
        json_object_set_new(body, "expires_at", json_string(when));
    }
    if (rc == CLI_OK && rate)
        rc = parse_rate(rate, body);
    char *path = cli_res_path(a->cmd->res, site, id);
    if (rc == CLI_OK)
        rc = send_print(c, "PATCH", path, body);
    free(path);
    json_decref(body);
    return rc;
}

CLI_CMD(cli_cmd_grant_connections)
{
    char site[UUID_STR_LEN], id[UUID_STR_LEN];
    int rc = target(c, a, site, id);
    if (rc)
        return rc;
    char *base = cli_res_path(a->cmd->res, site, id);
    char *path = xasprintf("%s/connections", base);
    free(base);
    json_t *items = NULL;
    rc = cli_api_list(c, path, &items);
    free(path);
    if (rc)
        return rc;
    cli_print(c, items, CLI_COLS(connection_cols));
    json_decref(items);
    return CLI_OK;
}

/* ---------------------------------------------------------------- jobs */

CLI_CMD(cli_cmd_job_create)
{
    char site[UUID_STR_LEN], id[UUID_STR_LEN];
    int rc = target(c, a, site, id);
    if (rc)
        return rc;
    const char *desc = cli_arg(a, "description"), *script = cli_arg(a, "script");
    const char *file = cli_arg(a, "script-file");
    if (!desc || (!script == !file))
        return cli_fail(CLI_USAGE, "jobs create needs --description and one of --script or "
                                   "--script-file");
    char *text = file ? cli_read_file(file, 64u << 10) : xstrdup(script);
    if (!text)
        return CLI_FAIL;
    json_t *body =
        json_pack("{s:s, s:s, s:b, s:b}", "description", desc, "script", text, "express_execute",
                  !cli_flag(a, "no-express"), "needs_acknowledgement", !cli_flag(a, "no-ack"));
    free(text);
    if (!body)
        return cli_fail(CLI_USAGE, "the description and script must be UTF-8 text");
    if (cli_arg(a, "idempotency-key"))
        json_object_set_new(body, "idempotency_key", json_string(cli_arg(a, "idempotency-key")));
    char *path = cli_res_path(a->cmd->res, site, NULL);
    rc = send_print(c, "POST", path, body);
    free(path);
    json_decref(body);
    return rc;
}

/* ---------------------------------------------------------------- keys and users */

/* "a,b,c" into a JSON array of strings (empty items skipped). */
static json_t *split_list(const char *s)
{
    json_t *arr = json_array();
    while (s && *s) {
        const char *comma = strchr(s, ',');
        size_t n = comma ? (size_t)(comma - s) : strlen(s);
        if (n)
            json_array_append_new(arr, json_stringn(s, n));
        s = comma ? comma + 1 : NULL;
    }
    return arr;
}

CLI_CMD(cli_cmd_key_create)
{
    const char *name = cli_arg(a, "name"), *scopes = cli_arg(a, "scopes");
    if (!name || !scopes)
        return cli_fail(CLI_USAGE, "keys create needs --name and --scopes");
    json_t *body = json_pack("{s:s, s:o}", "name", name, "scopes", split_list(scopes));
    int rc = send_print(c, "POST", "/v1/api-keys", body);
    json_decref(body);
    return rc;
}

static char *stdin_password(void)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, stdin);
    if (n < 0) {
        free(line);
        return NULL;
    }
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    return line;
}

/* role, password (--password-stdin), disabled: the members users create/update share. */
static int user_body(struct cli_args *a, json_t *body)
{
    if (cli_arg(a, "role"))
        json_object_set_new(body, "role", json_string(cli_arg(a, "role")));
    if (cli_flag(a, "disable") && cli_flag(a, "enable"))
        return cli_fail(CLI_USAGE, "--disable and --enable exclude each other");
    if (cli_flag(a, "disable") || cli_flag(a, "enable"))
        json_object_set_new(body, "disabled", json_boolean(cli_flag(a, "disable")));
    if (cli_flag(a, "password-stdin")) {
        char *pw = stdin_password();
        if (!pw)
            return cli_fail(CLI_USAGE, "no password on stdin");
        json_object_set_new(body, "password", json_string(pw));
        memset(pw, 0, strlen(pw));
        free(pw);
    }
    return CLI_OK;
}

CLI_CMD(cli_cmd_user_create)
{
    if (!cli_arg(a, "email") || !cli_arg(a, "role"))
        return cli_fail(CLI_USAGE, "users create needs --email and --role");
    json_t *body = json_pack("{s:s}", "email", cli_arg(a, "email"));
    int rc = user_body(a, body);
    if (rc == CLI_OK)
        rc = send_print(c, "POST", "/v1/users", body);
    json_decref(body);
    return rc;
}

CLI_CMD(cli_cmd_user_update)
{
    char site[UUID_STR_LEN], id[UUID_STR_LEN];
    int rc = target(c, a, site, id);
    if (rc)
        return rc;
    json_t *body = json_object();
    rc = user_body(a, body);
    if (rc == CLI_OK && json_object_size(body) == 0)
        rc = cli_fail(CLI_USAGE, "nothing to change: give --role, --disable, --enable or "
                                 "--password-stdin");
    char *path = xasprintf("/v1/users/%s", id);
    if (rc == CLI_OK)
        rc = send_print(c, "PATCH", path, body);
    free(path);
    json_decref(body);
    return rc;
}
