-- 0005: single-use bootstrap tokens, connection records opened at accept, idempotent jobs.
ALTER TABLE sites ADD COLUMN bootstrap_used_at INTEGER;
UPDATE sites SET bootstrap_used_at = adopted_at WHERE adopted_at IS NOT NULL;
ALTER TABLE grant_connections ADD COLUMN conn_ref INTEGER;
CREATE INDEX grant_connections_ref ON grant_connections(grant_id, conn_ref);
CREATE UNIQUE INDEX jobs_idempotency ON jobs(site_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
