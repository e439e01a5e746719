/*
 * api.h - the REST API: routing table, authentication and handlers.
 *
 * api_handle() is the http_handler_fn the daemon gives to the HTTP server. It
 * runs on the server's worker threads; everything it touches is either
 * per-request or thread-safe (the store hands each thread its own connection).
 * Only this module includes jansson.h.
 */
#ifndef TG_API_H
#define TG_API_H

#include <stddef.h>

#include "http.h"
#include "store.h"

struct api_config {
    const char *public_url;       /* base URL routers and operators reach us at */
    const char *mgmt_networks;    /* TIKGATE_MANAGEMENT_NETWORKS, comma-separated CIDRs */
    const char *openapi_path;     /* file served at /openapi.yaml */
    const char *errors_doc_path;  /* file served at /docs/errors */
    size_t max_body;
    int poll_interval_s;          /* routers' heartbeat interval (the scheduler they install) */
    /* Called after jobs were queued (wakes the dispatcher). May be NULL. */
    void (*jobs_queued)(void *ctx);
    void *jobs_ctx;
};

struct api {
    struct store *store;
    struct api_config cfg;
};

/* ctx is a struct api *. */
void api_handle(void *ctx, const struct http_request *req, struct http_response *res);

#endif
