/*
 * h_users.c - portal sign-in (/v1/auth/...) and user management (/v1/users).
 */
#include "alloc.h"
#include "api_int.h"
#include "rand.h"
#include "session.h"
#include "store.h"
#include "timefmt.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *scopes_json(uint32_t mask)
{
    struct strlist l = {0};
    scope_to_list(mask, &l);
    json_t *a = json_array();
    for (size_t i = 0; i < l.n; i++)
        json_array_append_new(a, json_string(l.items[i]));
    strlist_release(&l);
    return a;
}

/*
 * The account email and password sign in to (F14: e-mails are unique per tenant, so one
 * address may have an account in several tenants): the password is checked against every
 * account with that address, oldest first, and the first that matches and is not disabled
 * wins. Every candidate is verified (no early exit) and an unknown e-mail still costs one
 * verification, so the timing does not tell which account matched or whether one exists (it
 * does grow with the number of accounts sharing the address: docs/decisions.md). 1 with
 * *ret filled, 0 for no match, or the store's -errno (nothing was checked: not a failure).
 */
static int find_account(struct api_call *call, const char *email, const char *password,
                        struct user *ret)
{
    static const char dummy[] = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$"
                                "9sTbSlTio3Biev89thdrlKKiCaYsjjYVJxGAL3swxpQ";
    struct user *a = NULL;
    size_t n = 0;
    int r = store_users_by_email(call->api->store, email, &a, &n);
    if (r < 0 && r != -ENOENT)
        return r;
    if (r < 0)
        n = 0;
    int found = -1;
    if (n == 0)
        (void)user_verify_password(dummy, password);
    for (size_t i = 0; i < n; i++)
        if (user_verify_password(a[i].password_hash, password) && !a[i].disabled && found < 0)
            found = (int)i;
    if (found >= 0)
        *ret = a[found];
    if (a)
        sodium_memzero(a, n * sizeof *a);
    free(a);
    return found >= 0;
}

void h_auth_login(struct api_call *call)
{
    struct tg_err err;
    const char *email = NULL, *password = NULL;
    int r = body_string(call->body, "email", "email", &email, &err);
    if (r > 0)
        r = tg_err_invalid(&err, "parameter_missing", "email",
                           "The 'email' parameter is required.");
    if (r == 0 && (r = body_string(call->body, "password", "password", &password, &err)) > 0)
        r = tg_err_invalid(&err, "parameter_missing", "password",
                           "The 'password' parameter is required.");
    if (r < 0) {
        api_send_error(call, &err);
        return;
    }
    int wait = login_throttled(call->api->store, email, call->req->client_addr);
    if (wait < 0) {
        api_fail_store(call, wait, "sign-in limiter");
        return;
    }
    if (wait > 0) {
        char ra[16];
        snprintf(ra, sizeof ra, "%d", wait);
        http_response_header(call->res, "Retry-After", ra);
        api_fail(call, TG_ERR_RATE_LIMIT, 429, "too_many_attempts", NULL,
                 "Too many failed sign-ins; try again in %d seconds.", wait);
        return;
    }
    struct user u;
    r = find_account(call, email, password, &u);
    if (r < 0) {
        api_fail_store(call, r, "user");
        return;
    }
    if (r == 0) {
        login_failed(call->api->store, email, call->req->client_addr);
        api_fail(call, TG_ERR_AUTHENTICATION, 401, "invalid_credentials", NULL,
                 "Wrong e-mail address or password.");
        return;
    }
    login_succeeded(call->api->store, email, call->req->client_addr);
    int64_t exp = 0;
    char *token = session_issue(call->api->store, &u, NULL, &exp);
    if (!token) {
        api_fail_store(call, -EIO, "session");
        return;
    }
    store_user_touch_login(call->api->store, u.id);
    /* for the audit log (h_audit.c): who signed in */
    memcpy(call->who.tenant_id, u.tenant_id, sizeof call->who.tenant_id);
    memcpy(call->who.key_id, u.id, sizeof call->who.key_id);
    snprintf(call->who.name, sizeof call->who.name, "%s", u.email);
    json_t *o = json_object();
    json_object_set_new(o, "token", json_string(token));
    json_object_set_new(o, "token_type", json_string("Bearer"));
    json_object_set_new(o, "expires_at", json_time_or_null(exp));
    json_object_set_new(o, "user", user_to_json(&u));
    json_object_set_new(o, "scopes", scopes_json(user_role_scopes(u.role)));
    sodium_memzero(token, strlen(token));
    free(token);
    api_send_json(call, 200, o);
}

void h_auth_logout(struct api_call *call)
{
    if (!call->session_jti[0]) {
        api_fail(call, TG_ERR_INVALID_REQUEST, 400, "not_a_session", NULL,
                 "Only a session token can sign out; revoke API keys instead.");
        return;
    }
    int r = store_session_revoke(call->api->store, call->session_jti);
    if (r < 0) {
        api_fail_store(call, r, "session");
        return;
    }
    api_send_no_content(call);
}

void h_auth_me(struct api_call *call)
{
    json_t *o = json_object();
    json_object_set_new(o, "tenant_id", json_string(call->who.tenant_id));
    json_object_set_new(o, "name", json_string(call->who.name));
    json_object_set_new(o, "scopes", scopes_json(call->who.scopes));
    if (call->session_jti[0]) {
        struct user u;
        if (store_user_get(call->api->store, call->who.tenant_id, call->who.key_id, &u) == 0)
            json_object_set_new(o, "user", user_to_json(&u));
        json_object_set_new(o, "kind", json_string("session"));
    } else {
        json_object_set_new(o, "kind", json_string("api_key"));
        json_object_set_new(o, "api_key_id", json_string(call->who.key_id));
    }
    api_send_json(call, 200, o);
}

void h_users_list(struct api_call *call)
{
    struct store_page page;
    if (!api_page(call, &page))
        return;
    struct user *a = NULL;
    size_t n = 0;
    int r = store_user_list(call->api->store, call->who.tenant_id, &page, &a, &n);
    if (r < 0) {
        api_fail_list(call, r, "user");
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, user_to_json(&a[i]));
    free(a);
    api_send_json(call, 200, arr);
}

/* role from the body (required or optional); 1 when absent. */
static int body_role(struct api_call *call, enum user_role *ret, struct tg_err *err)
{
    const char *role = NULL;
    int r = body_string(call->body, "role", "role", &role, err);
    if (r != 0)
        return r;
    if (user_role_parse(role, ret) < 0)
        return tg_err_invalid(err, "parameter_invalid", "role",
                              "role must be admin, operator or read-only.");
    return 0;
}

void h_users_create(struct api_call *call)
{
    struct tg_err err;
    struct user u;
    memset(&u, 0, sizeof u);
    const char *email = NULL, *password = NULL;
    char generated[25] = "";
    int r = body_string(call->body, "email", "email", &email, &err);
    if (r > 0)
        r = tg_err_invalid(&err, "parameter_missing", "email",
                           "The 'email' parameter is required.");
    if (r == 0)
        r = user_check_email(email, &err);
    if (r == 0 && (r = body_role(call, &u.role, &err)) > 0)
        r = tg_err_invalid(&err, "parameter_missing", "role", "The 'role' parameter is required.");
    if (r == 0 && (r = body_string(call->body, "password", "password", &password, &err)) > 0) {
        /* An invitation: a one-time password, shown in this answer only. */
        rand_base62(generated, 24);
        password = generated;
        r = 0;
    }
    if (r == 0)
        r = user_check_password(password, &err);
    if (r < 0) {
        api_send_error(call, &err);
        return;
    }
    uuid_v7(u.id);
    snprintf(u.tenant_id, sizeof u.tenant_id, "%s", call->who.tenant_id);
    snprintf(u.email, sizeof u.email, "%s", email);
    u.created_at = u.updated_at = time_now();
    if (user_hash_password(password, u.password_hash) < 0) {
        api_fail_store(call, -EIO, "user");
        return;
    }
    r = store_user_insert(call->api->store, &u);
    if (r == -EEXIST) {
        api_fail(call, TG_ERR_CONFLICT, 409, "email_taken", "email",
                 "A user of this tenant has this e-mail address already.");
        return;
    }
    if (r < 0) {
        api_fail_store(call, r, "user");
        return;
    }
    json_t *o = user_to_json(&u);
    if (generated[0])
        json_object_set_new(o, "password", json_string(generated));
    sodium_memzero(generated, sizeof generated);
    api_send_json(call, 201, o);
}

void h_users_update(struct api_call *call)
{
    const char *id = api_param(call, 0);
    if (!api_check_id(call, id, "user"))
        return;
    struct user u;
    int r = store_user_get(call->api->store, call->who.tenant_id, id, &u);
    if (r < 0) {
        api_fail_store(call, r, "user");
        return;
    }
    struct tg_err err;
    enum user_role role = u.role;
    const char *password = NULL;
    bool disabled = u.disabled;
    if (body_role(call, &role, &err) < 0 ||
        body_bool(call->body, "disabled", "disabled", &disabled, &err) < 0 ||
        body_string(call->body, "password", "password", &password, &err) < 0 ||
        (password && user_check_password(password, &err) < 0)) {
        api_send_error(call, &err);
        return;
    }
    bool self = !strcmp(u.id, call->who.key_id);
    if (self && (role != ROLE_ADMIN || disabled)) {
        api_fail(call, TG_ERR_CONFLICT, 409, "cannot_demote_self", NULL,
                 "Admins cannot demote or disable themselves.");
        return;
    }
    u.role = role;
    u.disabled = disabled;
    if (password && user_hash_password(password, u.password_hash) < 0) {
        api_fail_store(call, -EIO, "user");
        return;
    }
    r = store_user_update(call->api->store, &u);
    if (r < 0) {
        api_fail_store(call, r, "user");
        return;
    }
    if (password || disabled)
        store_session_revoke_user(call->api->store, u.id);
    api_send_json(call, 200, user_to_json(&u));
}

void h_users_delete(struct api_call *call)
{
    const char *id = api_param(call, 0);
    if (!api_check_id(call, id, "user"))
        return;
    if (!strcmp(id, call->who.key_id)) {
        api_fail(call, TG_ERR_CONFLICT, 409, "cannot_delete_self", NULL,
                 "Admins cannot delete themselves.");
        return;
    }
    int r = store_user_delete(call->api->store, call->who.tenant_id, id);
    if (r < 0) {
        api_fail_store(call, r, "user");
        return;
    }
    api_send_no_content(call);
}
