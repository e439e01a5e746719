/*
 * h_keys.c - /v1/api-keys: create (secret shown once), list, revoke.
 */
#include "alloc.h"
#include "api_int.h"
#include "rand.h"
#include "store.h"
#include "timefmt.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

void h_keys_list(struct api_call *call)
{
    struct store_page page;
    if (!api_page(call, &page))
        return;
    struct api_key *a = NULL;
    size_t n = 0;
    int r = store_api_key_list(call->api->store, call->who.tenant_id, &page, &a, &n);
    if (r < 0) {
        api_fail_list(call, r, "API key");
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, api_key_to_json(&a[i], NULL));
    store_api_key_array_free(a, n);
    api_send_json(call, 200, arr);
}

void h_keys_create(struct api_call *call)
{
    struct tg_err err;
    const char *name = NULL;
    struct strlist scopes = {0};
    struct api_key k;
    memset(&k, 0, sizeof k);
    int r = body_string(call->body, "name", "name", &name, &err);
    if (r > 0)
        r = tg_err_invalid(&err, "parameter_missing", "name", "The 'name' parameter is required.");
    if (r == 0 && (strlen(name) < 1 || strlen(name) > 64))
        r = tg_err_invalid(&err, "parameter_invalid", "name", "The name must have 1 to 64 bytes.");
    if (r == 0) {
        r = body_string_array(call->body, "scopes", "scopes", 64, &scopes, &err);
        if (r > 0 || (r == 0 && scopes.n == 0))
            r = tg_err_invalid(&err, "parameter_missing", "scopes",
                               "'scopes' must list at least one scope.");
    }
    if (r == 0)
        r = scope_parse_list(&scopes, &k.scopes, &err);
    if (r < 0) {
        api_send_error(call, &err);
        goto out;
    }
    char secret[APIKEY_SECRET_LEN + 1];
    api_key_generate_secret(secret);
    uuid_v7(k.id);
    snprintf(k.tenant_id, sizeof k.tenant_id, "%s", call->who.tenant_id);
    k.name = xstrdup(name);
    memcpy(k.prefix, secret, APIKEY_DISPLAY_PREFIX_LEN);
    k.prefix[APIKEY_DISPLAY_PREFIX_LEN] = '\0';
    api_key_hash(secret, k.hash);
    k.created_at = time_now();
    r = store_api_key_insert(call->api->store, &k);
    if (r < 0)
        api_fail_store(call, r, "API key");
    else
        api_send_json(call, 201, api_key_to_json(&k, secret));
    sodium_memzero(secret, sizeof secret);
out:
    api_key_release(&k);
    strlist_release(&scopes);
}

void h_keys_revoke(struct api_call *call)
{
    const char *id = api_param(call, 0);
    if (!api_check_id(call, id, "API key"))
        return;
    int r = store_api_key_revoke(call->api->store, call->who.tenant_id, id);
    /* After the revocation is committed: no request of this node authenticates with it now
     * (a lookup in flight does not put its older answer back). */
    api_key_cache_clear();
    if (r < 0) {
        api_fail_store(call, r, "API key");
        return;
    }
    api_send_no_content(call);
}
