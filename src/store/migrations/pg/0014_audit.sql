-- PostgreSQL twin of migrations/0014_audit.sql (same numbers, same meaning).
-- 0014: the audit log of actions (issue 12 item 2, docs/API.md "Audit log"). One row per
-- mutating API request and per sign-in attempt, written after the handler ran; never updated,
-- deleted only by the retention prune (TIKGATE_AUDIT_RETENTION days). No foreign keys: an entry
-- outlives the key, user or object it names.
CREATE TABLE audit_log (
    id          text PRIMARY KEY,          -- UUIDv7
    tenant_id   text NOT NULL,
    at_ms       bigint NOT NULL,
    actor_kind  text NOT NULL,             -- audit_actor_name(): 'api_key' | 'user'
    actor_id    text NOT NULL DEFAULT '',
    actor_name  text NOT NULL DEFAULT '',
    source      text NOT NULL DEFAULT '',
    method      text NOT NULL,
    route       text NOT NULL,
    object_id   text NOT NULL DEFAULT '',
    parent_id   text NOT NULL DEFAULT '',
    status      integer NOT NULL,
    error_code  text NOT NULL DEFAULT '',
    request_id  text NOT NULL DEFAULT ''
);
-- The listing (newest first, keyset on (at_ms, id)) and its filters; the prune scans at_ms.
CREATE INDEX audit_log_tenant_at ON audit_log(tenant_id, at_ms, id);
CREATE INDEX audit_log_at ON audit_log(at_ms);
CREATE INDEX audit_log_object ON audit_log(tenant_id, object_id) WHERE object_id <> '';
CREATE INDEX audit_log_parent ON audit_log(tenant_id, parent_id) WHERE parent_id <> '';
