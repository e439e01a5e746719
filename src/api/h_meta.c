/*
 * h_meta.c - /healthz, /openapi.yaml and /docs/errors.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"

void h_healthz(struct api_call *call)
{
    json_t *o = json_object();
    json_object_set_new(o, "status", json_string("ok"));
    json_object_set_new(o, "schema_version",
                        json_integer(store_schema_version(call->api->store)));
    api_send_json(call, 200, o);
}

/* Serves a file from disk with the given content type (read per request: small, rarely hit). */
static void send_file(struct api_call *call, const char *path, const char *content_type)
{
    FILE *f = path ? fopen(path, "rb") : NULL;
    if (!f) {
        api_fail(call, TG_ERR_NOT_FOUND, 404, "resource_missing", NULL, "No such document.");
        return;
    }
    buf_reset(&call->res->body);
    char chunk[8192];
    size_t n;
    int r = 0;
    while (r == 0 && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        r = buf_append(&call->res->body, chunk, n);
    fclose(f);
    if (r < 0) {
        api_fail(call, TG_ERR_API, 500, "internal_server_error", NULL, "Document too large.");
        return;
    }
    call->res->status = 200;
    call->res->content_type = content_type;
}

void h_portal_index(struct api_call *call)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/index.html", call->api->cfg.web_dir);
    send_file(call, path, "text/html; charset=utf-8");
}

/* Files of the portal: one path segment, no dot-files, known types only. */
void h_portal_asset(struct api_call *call)
{
    const char *file = api_param(call, 0);
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".js", "text/javascript; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
        {".svg", "image/svg+xml"},                  {".png", "image/png"},
        {".html", "text/html; charset=utf-8"},      {".json", "application/json"},
        {".ico", "image/x-icon"},
    };
    const char *type = NULL;
    const char *dot = strrchr(file, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (!strcmp(dot, types[i].ext))
            type = types[i].type;
    if (!type || file[0] == '.' || strchr(file, '/') || strstr(file, ".."))
        return api_fail(call, TG_ERR_NOT_FOUND, 404, "route_not_found", NULL, "No such file.");
    char path[4096];
    snprintf(path, sizeof path, "%s/assets/%s", call->api->cfg.web_dir, file);
    send_file(call, path, type);
}

void h_openapi(struct api_call *call)
{
    send_file(call, call->api->cfg.openapi_path, "application/yaml");
}

void h_errors_doc(struct api_call *call)
{
    send_file(call, call->api->cfg.errors_doc_path, "text/markdown; charset=utf-8");
}
