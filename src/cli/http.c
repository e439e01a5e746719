/*
 * http.c - the tikgate CLI's HTTP client (libcurl) and the API's conventions on top of
 * it: bearer token, JSON bodies, the error shape of docs/errors.md, paged lists.
 */
#include "alloc.h"
#include "buf.h"
#include "cli_int.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ANSWER_CAP (64u << 20)

int cli_fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("tikgate: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return code;
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct buf *b = ud;
    size_t n = size * nmemb;
    return buf_append(b, ptr, n) == 0 ? n : 0;
}

static struct curl_slist *request_headers(struct cli *c, bool auth, bool has_body)
{
    struct curl_slist *h = curl_slist_append(NULL, "Accept: application/json");
    if (has_body)
        h = curl_slist_append(h, "Content-Type: application/json");
    if (auth && c->token) {
        char *line = xasprintf("Authorization: Bearer %s", c->token);
        h = curl_slist_append(h, line);
        free(line);
    }
    /* No "Expect: 100-continue" round trip on larger bodies. */
    return curl_slist_append(h, "Expect:");
}

int cli_http(struct cli *c, const char *method, const char *path, json_t *body, bool auth,
             struct cli_resp *ret)
{
    memset(ret, 0, sizeof *ret);
    CURL *h = curl_easy_init();
    if (!h)
        return cli_fail(CLI_FAIL, "cannot initialise libcurl");
    char *url = xasprintf("%s%s", c->url, path);
    char *data = body ? json_dumps(body, JSON_COMPACT) : NULL;
    struct curl_slist *hdrs = request_headers(c, auth, data != NULL);
    struct buf answer;
    buf_init(&answer, ANSWER_CAP);
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &answer);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 120L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "tikgate-cli/" TG_CLI_VERSION);
    if (data)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, data);
    if (c->ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
    if (c->insecure) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    CURLcode rc = curl_easy_perform(h);
    int out = CLI_OK;
    if (rc != CURLE_OK) {
        out = cli_fail(CLI_UNREACHABLE, "cannot reach %s: %s", c->url,
                       errbuf[0] ? errbuf : curl_easy_strerror(rc));
    } else {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &ret->status);
        if (answer.len)
            ret->body = json_loadb(answer.data, answer.len, 0, NULL);
    }
    buf_release(&answer);
    curl_slist_free_all(hdrs);
    if (data) {
        memset(data, 0, strlen(data)); /* may hold a password */
        free(data);
    }
    free(url);
    curl_easy_cleanup(h);
    return out;
}

int cli_api_error(const struct cli_resp *r)
{
    json_t *b = r->body;
    const char *type = json_string_value(json_object_get(b, "type"));
    const char *code = json_string_value(json_object_get(b, "code"));
    const char *msg = json_string_value(json_object_get(b, "message"));
    const char *param = json_string_value(json_object_get(b, "param"));
    int exit_code = cli_exit_for_error(type, r->status);
    if (exit_code == CLI_AUTH && r->status == 401 && code && !strcmp(code, "invalid_token"))
        fputs("tikgate: the token was refused: sign in again ('tikgate login') or check "
              "TIKGATE_TOKEN\n",
              stderr);
    if (!msg)
        return cli_fail(exit_code, "the server answered HTTP %ld", r->status);
    if (param)
        return cli_fail(exit_code, "%s (%s, %s)", msg, code ? code : "error", param);
    return cli_fail(exit_code, "%s (%s)", msg, code ? code : "error");
}

int cli_api(struct cli *c, const char *method, const char *path, json_t *body, json_t **ret)
{
    struct cli_resp r;
    int rc = cli_http(c, method, path, body, true, &r);
    if (rc)
        return rc;
    if (r.status >= 400) {
        rc = cli_api_error(&r);
        json_decref(r.body);
        return rc;
    }
    if (r.status != 204 && !r.body) {
        return cli_fail(CLI_FAIL, "the server answered HTTP %ld without a JSON body", r.status);
    }
    if (ret)
        *ret = r.body;
    else
        json_decref(r.body);
    return CLI_OK;
}

int cli_api_list(struct cli *c, const char *path, json_t **ret)
{
    json_t *all = json_array();
    char after[80] = "";
    const char *sep = strchr(path, '?') ? "&" : "?";
    for (;;) {
        char *page_path =
            xasprintf("%s%slimit=1000%s%s", path, sep, after[0] ? "&after_id=" : "", after);
        json_t *page = NULL;
        int rc = cli_api(c, "GET", page_path, NULL, &page);
        free(page_path);
        if (rc) {
            json_decref(all);
            return rc;
        }
        if (!json_is_array(page)) {
            json_decref(page);
            json_decref(all);
            return cli_fail(CLI_FAIL, "the server did not answer a list");
        }
        size_t n = json_array_size(page);
        json_array_extend(all, page);
        json_t *last = json_array_get(page, n ? n - 1 : 0);
        json_t *id = json_object_get(last, "id");
        if (json_is_string(id))
            snprintf(after, sizeof after, "%s", json_string_value(id));
        else if (json_is_integer(id))
            snprintf(after, sizeof after, "%lld", (long long)json_integer_value(id));
        json_decref(page);
        if (n < 1000)
            break;
    }
    *ret = all;
    return CLI_OK;
}

int cli_named_id(struct cli *c, const char *list_path, const char *noun, const char *arg,
                 char id[UUID_STR_LEN])
{
    /* An id goes to the API as is: one request fewer, and the API answers the 404. */
    if (cli_is_uuid(arg)) {
        snprintf(id, UUID_STR_LEN, "%s", arg);
        return CLI_OK;
    }
    json_t *items = NULL;
    int rc = cli_api_list(c, list_path, &items);
    if (rc)
        return rc;
    const char *found = NULL;
    char msg[512];
    int r = cli_resolve_name(items, arg, noun, &found, msg, sizeof msg);
    if (r == 0)
        snprintf(id, UUID_STR_LEN, "%s", found);
    json_decref(items);
    if (r == -EEXIST)
        return cli_fail(CLI_CONFLICT, "%s", msg);
    if (r < 0)
        return cli_fail(CLI_NOT_FOUND, "%s", msg);
    return CLI_OK;
}

int cli_site_id(struct cli *c, const char *arg, char id[UUID_STR_LEN])
{
    return cli_named_id(c, "/v1/sites", "site", arg, id);
}
