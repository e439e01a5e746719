/*
 * policies.c - `tikgate policies create|update|attach`. The API's create and PUT take the
 * full policy (every service with enabled, port and networks), so both start from a whole
 * policy (the default one, the one being changed, or --file) and apply the options to it.
 */
#include "alloc.h"
#include "cli_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const services[] = {"winbox", "ssh", "http", "https",
                                       "telnet", "ftp", "api",  "api_ssl"};
#define N_SERVICES (sizeof services / sizeof services[0])

/* The members of a Policy that create and PUT take, copied from p. */
static json_t *writable(json_t *p)
{
    json_t *body = json_object();
    static const char *const keep[] = {"name", "trusted_networks", "custom_input_rules"};
    for (size_t i = 0; i < 3; i++)
        if (json_object_get(p, keep[i]))
            json_object_set(body, keep[i], json_object_get(p, keep[i]));
    for (size_t i = 0; i < N_SERVICES; i++) {
        json_t *s = json_object_get(p, services[i]);
        if (s)
            json_object_set_new(body, services[i], json_deep_copy(s));
    }
    return body;
}

/* The service object named by the first n bytes of name ("api-ssl" = "api_ssl"). */
static json_t *service(json_t *body, const char *name, size_t n)
{
    char key[16];
    if (n >= sizeof key)
        return NULL;
    for (size_t i = 0; i < n; i++)
        key[i] = name[i] == '-' ? '_' : name[i];
    key[n] = '\0';
    for (size_t i = 0; i < N_SERVICES; i++) {
        if (strcmp(key, services[i]) != 0)
            continue;
        json_t *s = json_object_get(body, key);
        if (!json_is_object(s)) {
            s = json_object();
            json_object_set_new(body, key, s);
        }
        return s;
    }
    return NULL;
}

static int unknown_service(const char *item, size_t n)
{
    return cli_fail(CLI_USAGE,
                    "unknown service '%.*s' (winbox, ssh, http, https, telnet, ftp, "
                    "api, api_ssl)",
                    (int)n, item);
}

/* --enable/--disable LIST: sets each named service's enabled. */
static int set_enabled(json_t *body, const char *list, bool on)
{
    while (list && *list) {
        const char *comma = strchr(list, ',');
        size_t n = comma ? (size_t)(comma - list) : strlen(list);
        json_t *s = service(body, list, n);
        if (!s)
            return unknown_service(list, n);
        json_object_set_new(s, "enabled", json_boolean(on));
        list = comma ? comma + 1 : NULL;
    }
    return CLI_OK;
}

/* "a+b+c" into an array of strings. */
static json_t *plus_list(const char *s, size_t n)
{
    json_t *arr = json_array();
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == '+') {
            if (i > start)
                json_array_append_new(arr, json_stringn(s + start, i - start));
            start = i + 1;
        }
    }
    return arr;
}

/* --port SVC=PORT,... (networks false) or --networks SVC=CIDR+CIDR,... (networks true). */
static int set_assignments(json_t *body, const char *list, bool networks)
{
    while (list && *list) {
        const char *comma = strchr(list, ',');
        size_t n = comma ? (size_t)(comma - list) : strlen(list);
        const char *eq = memchr(list, '=', n);
        if (!eq)
            return cli_fail(CLI_USAGE, "expected SERVICE=VALUE, not '%.*s'", (int)n, list);
        json_t *s = service(body, list, (size_t)(eq - list));
        if (!s)
            return unknown_service(list, (size_t)(eq - list));
        size_t vn = n - (size_t)(eq + 1 - list);
        if (networks) {
            json_object_set_new(s, "networks", plus_list(eq + 1, vn));
        } else {
            char num[8] = "";
            char *end;
            snprintf(num, sizeof num, "%.*s", (int)(vn < 7 ? vn : 7), eq + 1);
            long port = strtol(num, &end, 10);
            if (!vn || vn > 5 || *end)
                return cli_fail(CLI_USAGE, "'%.*s' is not a port", (int)vn, eq + 1);
            json_object_set_new(s, "port", json_integer(port));
        }
        list = comma ? comma + 1 : NULL;
    }
    return CLI_OK;
}

static json_t *comma_list(const char *s)
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

static int apply_options(struct cli_args *a, json_t *body)
{
    int rc = CLI_OK;
    const char *v;
    if ((v = cli_arg(a, "name")))
        json_object_set_new(body, "name", json_string(v));
    if (rc == CLI_OK && (v = cli_arg(a, "enable")))
        rc = set_enabled(body, v, true);
    if (rc == CLI_OK && (v = cli_arg(a, "disable")))
        rc = set_enabled(body, v, false);
    if (rc == CLI_OK && (v = cli_arg(a, "port")))
        rc = set_assignments(body, v, false);
    if (rc == CLI_OK && (v = cli_arg(a, "networks")))
        rc = set_assignments(body, v, true);
    if (rc == CLI_OK && (v = cli_arg(a, "trusted-networks")))
        json_object_set_new(body, "trusted_networks", comma_list(v));
    if (rc == CLI_OK && (v = cli_arg(a, "custom-input-rules"))) {
        if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0)
            return cli_fail(CLI_USAGE, "--custom-input-rules takes true or false");
        json_object_set_new(body, "custom_input_rules", json_boolean(!strcmp(v, "true")));
    }
    return rc;
}

/* The starting point: --file, else base (borrowed). Returns an exit code. */
static int start_body(struct cli_args *a, json_t *base, json_t **ret)
{
    const char *file = cli_arg(a, "file");
    if (!file) {
        *ret = writable(base);
        return CLI_OK;
    }
    char *text = cli_read_file(file, 1u << 20);
    if (!text)
        return CLI_FAIL;
    json_error_t err;
    json_t *v = json_loads(text, 0, &err);
    free(text);
    if (!json_is_object(v)) {
        json_decref(v);
        return cli_fail(CLI_USAGE, "%s is not a JSON object (%s)", file, err.text);
    }
    *ret = writable(v);
    json_decref(v);
    return CLI_OK;
}

/* Resolves a comma-separated list of sites into an array of ids. */
static int site_ids(struct cli *c, const char *const *args, int n, const char *list, json_t **ret)
{
    json_t *words = list ? comma_list(list) : json_array(), *ids = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(words, json_string(args[i]));
    size_t i;
    json_t *w;
    json_array_foreach(words, i, w)
    {
        char id[UUID_STR_LEN];
        int rc = cli_site_id(c, json_string_value(w), id);
        if (rc) {
            json_decref(words);
            json_decref(ids);
            return rc;
        }
        json_array_append_new(ids, json_string(id));
    }
    json_decref(words);
    *ret = ids;
    return CLI_OK;
}

static int send_policy(struct cli *c, const char *method, const char *path, json_t *body)
{
    json_t *o = NULL;
    int rc = cli_api(c, method, path, body, &o);
    if (rc)
        return rc;
    if (c->json) {
        cli_print(c, o, NULL, 0);
    } else {
        json_t *one = json_array();
        json_array_append(one, o);
        cli_print(c, one, cli_res_policies.cols, cli_res_policies.ncols);
        json_decref(one);
    }
    json_decref(o);
    return CLI_OK;
}

CLI_CMD(cli_cmd_policy_create)
{
    json_t *list = NULL, *base = NULL, *body = NULL;
    int rc = cli_api(c, "GET", "/v1/control-plane/policies?limit=1", NULL, &list);
    if (rc)
        return rc;
    base = json_array_get(list, 0); /* the default policy sorts first */
    rc = start_body(a, base, &body);
    json_decref(list);
    if (rc)
        return rc;
    if (a->npos)
        json_object_set_new(body, "name", json_string(a->pos[0]));
    rc = apply_options(a, body);
    if (rc == CLI_OK && !json_is_string(json_object_get(body, "name")))
        rc = cli_fail(CLI_USAGE, "policies create needs a NAME");
    json_t *sites = NULL;
    if (rc == CLI_OK && cli_arg(a, "sites") &&
        (rc = site_ids(c, NULL, 0, cli_arg(a, "sites"), &sites)) == CLI_OK)
        json_object_set_new(body, "sites", sites);
    if (rc == CLI_OK)
        rc = send_policy(c, "POST", "/v1/control-plane/policies", body);
    json_decref(body);
    return rc;
}

CLI_CMD(cli_cmd_policy_update)
{
    char id[UUID_STR_LEN];
    int rc = cli_named_id(c, cli_res_policies.path, "policy", a->pos[0], id);
    if (rc)
        return rc;
    char *path = xasprintf("/v1/control-plane/policies/%s", id);
    json_t *cur = NULL, *body = NULL;
    rc = cli_api(c, "GET", path, NULL, &cur);
    if (rc == CLI_OK)
        rc = start_body(a, cur, &body);
    json_decref(cur);
    if (rc == CLI_OK)
        rc = apply_options(a, body);
    if (rc == CLI_OK)
        rc = send_policy(c, "PUT", path, body);
    json_decref(body);
    free(path);
    return rc;
}

CLI_CMD(cli_cmd_policy_attach)
{
    char id[UUID_STR_LEN];
    int rc = cli_named_id(c, cli_res_policies.path, "policy", a->pos[0], id);
    json_t *ids = NULL, *o = NULL;
    if (rc || (rc = site_ids(c, a->pos + 1, a->npos - 1, NULL, &ids)))
        return rc;
    char *path = xasprintf("/v1/control-plane/policies/%s/sites", id);
    json_t *body = json_pack("{s:o}", "sites", ids);
    rc = cli_api(c, "POST", path, body, &o);
    free(path);
    json_decref(body);
    if (rc)
        return rc;
    if (c->json) {
        cli_print(c, o, NULL, 0);
    } else {
        printf("policy %s: %zu sites\n", json_string_value(json_object_get(o, "name")),
               json_array_size(json_object_get(o, "sites")));
    }
    json_decref(o);
    return CLI_OK;
}
