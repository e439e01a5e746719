-- 0014: the audit log of actions (issue 12 item 2, docs/API.md "Audit log"). One row per
-- mutating API request and per sign-in attempt, written after the handler ran; never updated,
-- deleted only by the retention prune (TIKGATE_AUDIT_RETENTION days). No foreign keys: an entry
-- outlives the key, user or object it names.
CREATE TABLE audit_log (
    id          TEXT PRIMARY KEY,          -- UUIDv7
    tenant_id   TEXT NOT NULL,
    at_ms       INTEGER NOT NULL,
    actor_kind  TEXT NOT NULL,             -- audit_actor_name(): 'api_key' | 'user'
    actor_id    TEXT NOT NULL DEFAULT '',
    actor_name  TEXT NOT NULL DEFAULT '',
    source      TEXT NOT NULL DEFAULT '',
    method      TEXT NOT NULL,
    route       TEXT NOT NULL,
    object_id   TEXT NOT NULL DEFAULT '',
    parent_id   TEXT NOT NULL DEFAULT '',
    status      INTEGER NOT NULL,
    error_code  TEXT NOT NULL DEFAULT '',
    request_id  TEXT NOT NULL DEFAULT ''
);
-- The listing (newest first, keyset on (at_ms, id)) and its filters; the prune scans at_ms.
CREATE INDEX audit_log_tenant_at ON audit_log(tenant_id, at_ms, id);
CREATE INDEX audit_log_at ON audit_log(at_ms);
CREATE INDEX audit_log_object ON audit_log(tenant_id, object_id) WHERE object_id <> '';
CREATE INDEX audit_log_parent ON audit_log(tenant_id, parent_id) WHERE parent_id <> '';
