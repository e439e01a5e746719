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
        api_fail(call, TG_ERR_NOT_FOUND, 404, "resource_missing", NULL,
                 "This server was started without %s.", path ? path : "that document");
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

void h_openapi(struct api_call *call)
{
    send_file(call, call->api->cfg.openapi_path, "application/yaml");
}

void h_errors_doc(struct api_call *call)
{
    send_file(call, call->api->cfg.errors_doc_path, "text/markdown; charset=utf-8");
}
