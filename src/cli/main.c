/*
 * main.c - tikgate, the command-line client of tikgated's REST API (DESIGN.md §1,
 * docs/cli.md): the command table, the command line, help and output.
 */
#include "alloc.h"
#include "cli_int.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct cli_opt no_opts[] = {{NULL, false, NULL}};
static const struct cli_opt login_opts[] = {
    {"email", true, "the portal user's e-mail address (else asked)"},
    {"password-stdin", false, "read the password from the first line of stdin"},
    {NULL, false, NULL}};
static const struct cli_opt site_opts[] = {
    {"name", true, "the site's name (1-64 characters)"},
    {"policy", true, "policy id or name (default: the tenant's default policy)"},
    {"tunnel-address", true, "an external tunnel's address ('none' clears it; admin)"},
    {NULL, false, NULL}};
static const struct cli_opt note_opts[] = {
    {"set", true, "replace the note with this file's content ('-' for stdin)"},
    {NULL, false, NULL}};
static const struct cli_opt policy_opts[] = {
    {"name", true, "the policy's name (1-20 characters)"},
    {"file", true, "a JSON body (the API's Policy) to start from ('-' for stdin)"},
    {"enable", true, "services to enable, comma-separated (winbox,ssh,...)"},
    {"disable", true, "services to disable, comma-separated"},
    {"port", true, "SERVICE=PORT[,SERVICE=PORT...]"},
    {"networks", true, "SERVICE=CIDR[+CIDR...]: a service's allowed networks"},
    {"trusted-networks", true, "CIDR[,CIDR...] ('' for none)"},
    {"custom-input-rules", true, "true or false"},
    {"sites", true, "sites to attach at creation, ids or names, comma-separated"},
    {NULL, false, NULL}};
static const struct cli_opt active_opts[] = {
    {"active", false, "only grants not yet expired or revoked"}, {NULL, false, NULL}};
static const struct cli_opt access_opts[] = {
    {"type", true, "winbox (default) or ssh"},
    {"for", true, "how long: 30m, 2h, 1h30m (10m-24h; default 2h)"},
    {"full", false, "full access (default: read-only)"},
    {"from", true, "source CIDR allowed to connect (default: your address)"},
    {"rfc1918", false, "also admit sources in the RFC 1918 ranges"},
    {"rate-limit", true, "bytes per second each way (1024 or more)"},
    {NULL, false, NULL}};
static const struct cli_opt forward_opts[] = {
    {"for", true, "how long: 30m, 2h (10m-24h; default 2h)"},
    {"from", true, "source CIDR allowed to connect (default: your address)"},
    {"masquerade", false, "source-NAT the relayed connections to the router"},
    {"rate-limit", true, "bytes per second each way (1024 or more)"},
    {NULL, false, NULL}};
static const struct cli_opt forward_short_opts[] = {
    {"for", true, "how long: 30m, 2h (10m-24h; default 2h)"},
    {"from", true, "source CIDR allowed to connect (default: your address)"},
    {"masquerade", false, "source-NAT the relayed connections to the router"},
    {"rate-limit", true, "bytes per second each way (1024 or more)"},
    {"wait", false, "wait until the router has the forwarding rule"},
    {NULL, false, NULL}};
static const struct cli_opt extend_opts[] = {
    {"for", true, "new expiry: this long from now (30m, 2h)"},
    {"rate-limit", true, "bytes per second each way (0 = off)"},
    {NULL, false, NULL}};
static const struct cli_opt job_opts[] = {
    {"description", true, "what the script does (1-100 characters)"},
    {"script", true, "the RouterOS script"},
    {"script-file", true, "read the script from this file ('-' for stdin)"},
    {"no-express", false, "wait for the router's next poll instead of pushing"},
    {"no-ack", false, "the job needs no acknowledgement from the router"},
    {"idempotency-key", true, "the same key again answers the first job"},
    {NULL, false, NULL}};
static const struct cli_opt key_opts[] = {
    {"name", true, "the key's name (1-64 characters)"},
    {"scopes", true, "comma-separated scopes (e.g. site:view,transient:create; admin)"},
    {NULL, false, NULL}};
static const struct cli_opt user_opts[] = {
    {"email", true, "the user's e-mail address"},
    {"role", true, "admin, operator or read-only"},
    {"password-stdin", false, "read the password from stdin (else one is generated)"},
    {"disable", false, "disable the user (signs them out)"},
    {"enable", false, "enable the user"},
    {NULL, false, NULL}};
static const struct cli_opt winbox_opts[] = {
    {"for", true, "how long: 30m, 2h (default 2h)"},
    {"full", false, "full access (default: read-only)"},
    {"from", true, "source CIDR (default: your address as the server sees it)"},
    {"open", false, "open the link with xdg-open (waits until the router has the user)"},
    {"wait", false, "wait until the router has the temporary user"},
    {NULL, false, NULL}};
static const struct cli_opt ssh_opts[] = {
    {"for", true, "how long: 30m, 2h (default 2h)"},
    {"full", false, "full access (default: read-only)"},
    {"from", true, "source CIDR (default: your address as the server sees it)"},
    {"print", false, "print the ssh command instead of running it"},
    {NULL, false, NULL}};
static const struct cli_opt log_opts[] = {
    {"follow", false, "keep printing events as they happen (Ctrl-C stops)"},
    {"jobs", true, "how many recent jobs to show (default 20)"},
    {"interval", true, "seconds between polls with --follow (default 1)"},
    {NULL, false, NULL}};

const struct cli_cmd cli_commands[] = {
    {NULL, "login", cli_cmd_login, "", 0, 0, "sign in with portal credentials", login_opts, true,
     NULL},
    {NULL, "logout", cli_cmd_logout, "", 0, 0, "sign out and remove the session file", no_opts,
     true, NULL},
    {NULL, "whoami", cli_cmd_whoami, "", 0, 0, "the server, tenant, user and scopes in use",
     no_opts, false, NULL},
    {NULL, "winbox", cli_cmd_winbox, "SITE", 1, 1,
     "grant WinBox access for your address and print the winbox:// link", winbox_opts, false, NULL},
    {NULL, "ssh", cli_cmd_ssh, "SITE [-- SSH-ARGS]", 1, 1,
     "grant SSH access and run ssh to the router through the edge", ssh_opts, false, NULL},
    {NULL, "forward", cli_cmd_forward, "SITE ADDR:PORT", 2, 2,
     "forward an edge port to a LAN device behind the router; prints entry_point:port",
     forward_short_opts, false, NULL},
    {NULL, "log", cli_cmd_log, "SITE", 1, 1, "the site's orchestration log (jobs and events)",
     log_opts, false, NULL},
    {NULL, "action", cli_cmd_action, "SITE ACTION", 2, 2,
     "queue site.reboot, site.clear_firewall, site.recreate_management_filter, "
     "site.resend_api_user, site.recreate_tunnel or site.upgrade",
     no_opts, false, NULL},

    {"sites", "list", cli_cmd_list, "", 0, 0, "list sites", no_opts, false, &cli_res_sites},
    {"sites", "names", cli_cmd_site_names, "", 0, 0,
     "the sites' names, one a line (for scripts and shell completion)", no_opts, false,
     &cli_res_sites},
    {"sites", "get", cli_cmd_get, "SITE", 1, 1, "show a site", no_opts, false, &cli_res_sites},
    {"sites", "create", cli_cmd_site_create, "NAME", 0, 1,
     "create a site; prints its bootstrap command", site_opts, false, &cli_res_sites},
    {"sites", "update", cli_cmd_site_update, "SITE", 1, 1, "rename, move to a policy", site_opts,
     false, &cli_res_sites},
    {"sites", "delete", cli_cmd_delete, "SITE", 1, 1, "delete a site (cleans the router up)",
     no_opts, false, &cli_res_sites},
    {"sites", "bootstrap", cli_cmd_site_bootstrap, "SITE", 1, 1,
     "issue a new single-use bootstrap command", no_opts, false, &cli_res_sites},
    {"sites", "note", cli_cmd_site_note, "SITE", 1, 1, "show (or --set) the site's note", note_opts,
     false, &cli_res_sites},
    {"sites", "tunnel-events", cli_cmd_site_tunnel_events, "SITE", 1, 1,
     "the management tunnel's up/down events", no_opts, false, &cli_res_sites},

    {"policies", "list", cli_cmd_list, "", 0, 0, "list policies", no_opts, false,
     &cli_res_policies},
    {"policies", "get", cli_cmd_get, "POLICY", 1, 1, "show a policy and its sites", no_opts, false,
     &cli_res_policies},
    {"policies", "create", cli_cmd_policy_create, "NAME", 0, 1,
     "create a policy (services start as the default policy's)", policy_opts, false,
     &cli_res_policies},
    {"policies", "update", cli_cmd_policy_update, "POLICY", 1, 1,
     "change a policy (read, modify, PUT)", policy_opts, false, &cli_res_policies},
    {"policies", "delete", cli_cmd_delete, "POLICY", 1, 1,
     "delete a policy (its sites move to the default)", no_opts, false, &cli_res_policies},
    {"policies", "attach", cli_cmd_policy_attach, "POLICY SITE...", 2, CLI_MAX_POS,
     "move sites onto a policy", no_opts, false, &cli_res_policies},

    {"credentials", "list", cli_cmd_list, "SITE", 1, 1,
     "the site's API credentials, the current one last", no_opts, false, &cli_res_credentials},
    {"credentials", "rotate", cli_cmd_credentials_rotate, "SITE", 1, 1,
     "rotate the site's API password", no_opts, false, &cli_res_credentials},

    {"access", "list", cli_cmd_list, "SITE", 1, 1, "transient access grants, newest first",
     active_opts, false, &cli_res_access},
    {"access", "get", cli_cmd_get, "SITE ID", 2, 2, "show a grant", no_opts, false,
     &cli_res_access},
    {"access", "create", cli_cmd_access_create, "SITE", 1, 1, "grant WinBox or SSH access",
     access_opts, false, &cli_res_access},
    {"access", "extend", cli_cmd_grant_extend, "SITE ID", 2, 2,
     "move the expiry (--for) or change the rate limit", extend_opts, false, &cli_res_access},
    {"access", "revoke", cli_cmd_delete, "SITE ID", 2, 2, "revoke now (cuts connections)", no_opts,
     false, &cli_res_access},
    {"access", "connections", cli_cmd_grant_connections, "SITE ID", 2, 2,
     "the connections the edge relayed", no_opts, false, &cli_res_access},

    {"forwards", "list", cli_cmd_list, "SITE", 1, 1, "transient forwards, newest first",
     active_opts, false, &cli_res_forwards},
    {"forwards", "get", cli_cmd_get, "SITE ID", 2, 2, "show a forward", no_opts, false,
     &cli_res_forwards},
    {"forwards", "create", cli_cmd_forward_create, "SITE ADDR:PORT", 2, 2,
     "forward an edge port to ADDR:PORT behind the router", forward_opts, false, &cli_res_forwards},
    {"forwards", "extend", cli_cmd_grant_extend, "SITE ID", 2, 2,
     "move the expiry (--for) or change the rate limit", extend_opts, false, &cli_res_forwards},
    {"forwards", "revoke", cli_cmd_delete, "SITE ID", 2, 2, "revoke now (cuts connections)",
     no_opts, false, &cli_res_forwards},
    {"forwards", "connections", cli_cmd_grant_connections, "SITE ID", 2, 2,
     "the connections the edge relayed", no_opts, false, &cli_res_forwards},

    {"jobs", "list", cli_cmd_list, "SITE", 1, 1, "the site's jobs, newest first", no_opts, false,
     &cli_res_jobs},
    {"jobs", "get", cli_cmd_get, "SITE JOB", 2, 2, "show a job and its events", no_opts, false,
     &cli_res_jobs},
    {"jobs", "create", cli_cmd_job_create, "SITE", 1, 1, "queue a custom script", job_opts, false,
     &cli_res_jobs},
    {"jobs", "cancel", cli_cmd_delete, "SITE JOB", 2, 2, "cancel a pending job", no_opts, false,
     &cli_res_jobs},

    {"keys", "list", cli_cmd_list, "", 0, 0, "API keys (revoked included)", no_opts, false,
     &cli_res_keys},
    {"keys", "create", cli_cmd_key_create, "", 0, 0, "create an API key; prints its secret once",
     key_opts, false, &cli_res_keys},
    {"keys", "revoke", cli_cmd_delete, "ID", 1, 1, "revoke an API key", no_opts, false,
     &cli_res_keys},

    {"users", "list", cli_cmd_list, "", 0, 0, "portal users", no_opts, false, &cli_res_users},
    {"users", "create", cli_cmd_user_create, "", 0, 0, "invite a user", user_opts, false,
     &cli_res_users},
    {"users", "update", cli_cmd_user_update, "ID", 1, 1,
     "change a user's role, password, or disable", user_opts, false, &cli_res_users},
    {"users", "delete", cli_cmd_delete, "ID", 1, 1, "delete a user", no_opts, false,
     &cli_res_users},
};
const size_t cli_commands_count = sizeof cli_commands / sizeof cli_commands[0];

static const struct {
    const char *alias, *group;
} group_alias[] = {
    {"site", "sites"},
    {"policy", "policies"},
    {"credential", "credentials"},
    {"creds", "credentials"},
    {"transient-access", "access"},
    {"forwards", "forwards"},
    {"transient-forward", "forwards"},
    {"job", "jobs"},
    {"key", "keys"},
    {"api-keys", "keys"},
    {"user", "users"},
};

static const char exit_codes_help[] =
    "Exit codes:\n"
    "  0  success\n"
    "  1  other failure (local file, unexpected answer)\n"
    "  2  usage error (unknown command or option, bad argument)\n"
    "  3  authentication_error (401: not signed in, invalid or expired token)\n"
    "  4  permission_error (403: missing_scope)\n"
    "  5  not_found_error (404), or a SITE name that matches no site\n"
    "  6  conflict_error (409), or a SITE name that several sites have\n"
    "  7  invalid_request_error (400, 405, 413, 415, 422; 409 job_already_started)\n"
    "  8  rate_limit_error (429)\n"
    "  9  api_error (5xx) or an answer that is not the API's error shape\n"
    " 10  the server could not be reached\n";

static const char global_help[] =
    "Global options (anywhere before --):\n"
    "  -o, --output FORMAT  table (default) or json\n"
    "  --url URL            the server (else TIKGATE_URL, the session, http://127.0.0.1:8080)\n"
    "  --token TOKEN        API key or session token (else TIKGATE_TOKEN, the session)\n"
    "  --insecure           do not verify the server's TLS certificate\n"
    "  -h, --help           help; 'tikgate COMMAND --help' for one command\n"
    "  --version            the version\n"
    "Environment: TIKGATE_URL, TIKGATE_TOKEN, TIKGATE_CA_FILE (PEM CA for https),\n"
    "  TIKGATE_PASSWORD (login), XDG_CONFIG_HOME (session file: "
    "$XDG_CONFIG_HOME/tikgate/session).\n";

static const char *canonical_group(const char *w)
{
    for (size_t i = 0; i < sizeof group_alias / sizeof group_alias[0]; i++)
        if (!strcmp(w, group_alias[i].alias))
            return group_alias[i].group;
    for (size_t i = 0; i < cli_commands_count; i++)
        if (cli_commands[i].group && !strcmp(w, cli_commands[i].group))
            return cli_commands[i].group;
    return NULL;
}

static const struct cli_cmd *find_cmd(const char *group, const char *name)
{
    for (size_t i = 0; name && i < cli_commands_count; i++) {
        const struct cli_cmd *c = &cli_commands[i];
        if ((group ? c->group && !strcmp(group, c->group) : !c->group) && !strcmp(name, c->name))
            return c;
    }
    return NULL;
}

static void cmd_title(const struct cli_cmd *c, char *out, size_t n)
{
    snprintf(out, n, "%s%s%s%s%s", c->group ? c->group : "", c->group ? " " : "", c->name,
             c->args[0] ? " " : "", c->args);
}

static void print_commands(FILE *out, const char *group)
{
    for (size_t i = 0; i < cli_commands_count; i++) {
        const struct cli_cmd *c = &cli_commands[i];
        if (group && (!c->group || strcmp(group, c->group) != 0))
            continue;
        char title[96];
        cmd_title(c, title, sizeof title);
        fprintf(out, "  %-36s %s\n", title, c->summary);
    }
}

static void usage_all(FILE *out)
{
    fputs("usage: tikgate [OPTIONS] COMMAND [ARGS]\n"
          "The command-line client of tikgated's REST API (docs/cli.md, tikgate(1)).\n\n"
          "Commands:\n",
          out);
    print_commands(out, NULL);
    fprintf(out, "\n%s\n%s", global_help, exit_codes_help);
}

static void usage_cmd(FILE *out, const struct cli_cmd *c)
{
    char title[96];
    cmd_title(c, title, sizeof title);
    fprintf(out, "usage: tikgate %s [OPTIONS]\n%s.\n", title, c->summary);
    if (c->opts[0].name) {
        fputs("\nOptions:\n", out);
        for (const struct cli_opt *o = c->opts; o->name; o++) {
            char spec[48];
            snprintf(spec, sizeof spec, "--%s%s", o->name, o->has_arg ? " VALUE" : "");
            fprintf(out, "  %-28s %s\n", spec, o->help);
        }
    }
    fprintf(out, "\n%s\n%s", global_help, exit_codes_help);
}

const char *cli_arg(const struct cli_args *a, const char *name)
{
    for (int i = 0; a->cmd->opts[i].name; i++)
        if (!strcmp(a->cmd->opts[i].name, name))
            return a->val[i];
    return NULL;
}

bool cli_flag(const struct cli_args *a, const char *name)
{
    return cli_arg(a, name) != NULL;
}

const char *cli_str(json_t *o, const char *path)
{
    const char *v = json_string_value(cli_json_path(o, path));
    return v ? v : "-";
}

void cli_print(struct cli *c, json_t *v, const struct cli_col *cols, size_t ncols)
{
    if (c->json || (json_is_array(v) && !cols)) {
        char *s = json_dumps(v, JSON_INDENT(2) | JSON_ENCODE_ANY);
        if (s)
            puts(s);
        free(s);
    } else if (json_is_array(v)) {
        cli_table_render(stdout, cols, ncols, v);
    } else if (json_is_object(v)) {
        cli_object_render(stdout, v);
    }
}

struct globals {
    const char *output, *url, *token;
    bool help, insecure, version;
};

/* A global option at argv[*i]: 1 (consumed, *i advanced past its value), 0 not one, <0 bad. */
static int global_opt(int argc, char **argv, int *i, struct globals *g)
{
    const char *w = argv[*i];
    static const char *const with_arg[] = {"-o", "--output", "--url", "--token"};
    const char **slot[] = {&g->output, &g->output, &g->url, &g->token};
    for (size_t k = 0; k < 4; k++) {
        size_t n = strlen(with_arg[k]);
        bool attached = k == 0 && w[n]; /* -ojson */
        if (strncmp(w, with_arg[k], n) != 0 || (w[n] && w[n] != '=' && !attached))
            continue;
        if (w[n]) {
            *slot[k] = w + n + (w[n] == '=');
        } else if (*i + 1 < argc) {
            *slot[k] = argv[++*i];
        } else {
            cli_fail(CLI_USAGE, "%s needs a value", w);
            return -1;
        }
        return 1;
    }
    if (!strcmp(w, "-h") || !strcmp(w, "--help"))
        g->help = true;
    else if (!strcmp(w, "--insecure"))
        g->insecure = true;
    else if (!strcmp(w, "--version"))
        g->version = true;
    else
        return 0;
    return 1;
}

/* A command option at argv[*i] into a->val. 0, or CLI_USAGE after a message. */
static int command_opt(int argc, char **argv, int *i, struct cli_args *a)
{
    const char *w = argv[*i] + 2;
    const char *eq = strchr(w, '=');
    size_t n = eq ? (size_t)(eq - w) : strlen(w);
    for (int k = 0; argv[*i][1] == '-' && a->cmd->opts[k].name; k++) {
        const struct cli_opt *o = &a->cmd->opts[k];
        if (strlen(o->name) != n || strncmp(o->name, w, n) != 0)
            continue;
        if (!o->has_arg && eq)
            return cli_fail(CLI_USAGE, "--%s takes no value", o->name);
        if (!o->has_arg)
            a->val[k] = "";
        else if (eq)
            a->val[k] = eq + 1;
        else if (*i + 1 < argc)
            a->val[k] = argv[++*i];
        else
            return cli_fail(CLI_USAGE, "--%s needs a value", o->name);
        return 0;
    }
    return cli_fail(CLI_USAGE, "unknown option '%s' (see 'tikgate %s%s%s --help')", argv[*i],
                    a->cmd->group ? a->cmd->group : "", a->cmd->group ? " " : "", a->cmd->name);
}

/* Finds the command: the first one or two words that are not options. */
static int find_command(int argc, char **argv, struct globals *g, const struct cli_cmd **ret,
                        int word_at[2])
{
    const char *words[2] = {NULL, NULL};
    int nw = 0;
    for (int i = 1; i < argc && nw < 2 && strcmp(argv[i], "--") != 0; i++) {
        int r = global_opt(argc, argv, &i, g);
        if (r < 0)
            return CLI_USAGE;
        if (r == 0 && argv[i][0] != '-') {
            word_at[nw] = i;
            words[nw++] = argv[i];
            if (nw == 1 && !canonical_group(words[0]))
                break;
        }
    }
    if (!words[0] && g->version)
        return -1;
    if (!words[0] || (!strcmp(words[0], "help") && !words[1])) {
        usage_all(words[0] || g->help ? stdout : stderr);
        return words[0] || g->help ? -1 : CLI_USAGE;
    }
    const char *group = canonical_group(words[0]);
    *ret = group ? find_cmd(group, words[1]) : find_cmd(NULL, words[0]);
    if (!group)
        word_at[1] = 0;
    if (!*ret && group && (!words[1] || g->help)) {
        fprintf(g->help ? stdout : stderr, "usage: tikgate %s COMMAND\n\nCommands:\n", group);
        print_commands(g->help ? stdout : stderr, group);
        return g->help ? -1 : CLI_USAGE;
    }
    if (!*ret) {
        return cli_fail(CLI_USAGE, "unknown command '%s%s%s' (see 'tikgate --help')", words[0],
                        group ? " " : "", group ? words[1] : "");
    }
    return CLI_OK;
}

static int parse(int argc, char **argv, struct globals *g, struct cli_args *a)
{
    int word_at[2] = {0, 0};
    int rc = find_command(argc, argv, g, &a->cmd, word_at);
    if (rc)
        return rc;
    for (int i = 1; i < argc; i++) {
        if (i == word_at[0] || i == word_at[1])
            continue;
        if (!strcmp(argv[i], "--")) {
            a->rest = argv + i + 1;
            a->nrest = argc - i - 1;
            break;
        }
        int r = global_opt(argc, argv, &i, g);
        if (r < 0)
            return CLI_USAGE;
        if (r > 0)
            continue;
        if (argv[i][0] == '-' && argv[i][1]) {
            if ((rc = command_opt(argc, argv, &i, a)))
                return rc;
        } else if (a->npos < CLI_MAX_POS) {
            a->pos[a->npos++] = argv[i];
        } else {
            return cli_fail(CLI_USAGE, "too many arguments");
        }
    }
    if (g->help) {
        usage_cmd(stdout, a->cmd);
        return -1;
    }
    if (a->npos < a->cmd->min_pos || a->npos > a->cmd->max_pos) {
        usage_cmd(stderr, a->cmd);
        return CLI_USAGE;
    }
    if (a->nrest && strcmp(a->cmd->name, "ssh") != 0)
        return cli_fail(CLI_USAGE, "only 'tikgate ssh' takes arguments after --");
    return CLI_OK;
}

int main(int argc, char **argv)
{
    struct globals g = {0};
    struct cli_args a;
    memset(&a, 0, sizeof a);
    if (argc > 2 && !strcmp(argv[1], "help")) {
        /* "tikgate help sites list" = "tikgate sites list --help" */
        g.help = true;
        argv++;
        argc--;
    }
    int rc = parse(argc, argv, &g, &a);
    if (g.version && rc != CLI_USAGE) {
        puts("tikgate " TG_CLI_VERSION);
        return CLI_OK;
    }
    if (rc)
        return rc < 0 ? CLI_OK : rc;
    struct cli c = {0};
    if (g.output && strcmp(g.output, "json") != 0 && strcmp(g.output, "table") != 0)
        return cli_fail(CLI_USAGE, "-o takes table or json, not '%s'", g.output);
    c.json = g.output && !strcmp(g.output, "json");
    c.insecure = g.insecure;
    cli_config_load(&c, g.url, g.token);
    if (!c.token && !a.cmd->no_auth) {
        free(c.url);
        return cli_fail(CLI_AUTH, "not signed in: run 'tikgate login' or set TIKGATE_TOKEN");
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = a.cmd->run(&c, &a);
    curl_global_cleanup();
    free(c.url);
    if (c.token) {
        memset(c.token, 0, strlen(c.token));
        free(c.token);
    }
    return rc;
}
