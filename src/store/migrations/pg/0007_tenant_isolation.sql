-- PostgreSQL twin of migrations/0007_tenant_isolation.sql (same numbers, same meaning;
-- docs/internals/store.md).
-- Users: an e-mail address is unique within its tenant, not across tenants (F14). PostgreSQL
-- drops the index instead of rebuilding the table; lower(email) stands for COLLATE NOCASE.
DROP INDEX users_email;
CREATE UNIQUE INDEX users_tenant_email ON users(tenant_id, lower(email));
CREATE INDEX users_email ON users(lower(email));
-- Sites: when the current bootstrap token was issued (F4). Tokens issued before this migration
-- count from now.
ALTER TABLE sites ADD COLUMN bootstrap_issued_at bigint;
UPDATE sites SET bootstrap_issued_at = extract(epoch FROM now())::bigint
    WHERE bootstrap_used_at IS NULL;
