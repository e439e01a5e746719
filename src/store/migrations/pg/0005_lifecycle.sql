-- PostgreSQL twin of migrations/0005_lifecycle.sql (same numbers, same meaning; docs/internals/store.md).
-- 0005: single-use bootstrap tokens, connection records opened at accept, idempotent jobs.
ALTER TABLE sites ADD COLUMN bootstrap_used_at bigint;
UPDATE sites SET bootstrap_used_at = adopted_at WHERE adopted_at IS NOT NULL;
ALTER TABLE grant_connections ADD COLUMN conn_ref bigint;
CREATE INDEX grant_connections_ref ON grant_connections(grant_id, conn_ref);
CREATE UNIQUE INDEX jobs_idempotency ON jobs(site_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
