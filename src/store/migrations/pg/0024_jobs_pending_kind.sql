-- 0024: the pending jobs of a site by kind, for a supersession's three statements
-- (migrations/0024_jobs_pending_kind.sql).
CREATE INDEX jobs_pending_kind ON jobs(site_id, kind) WHERE status = 'pending';
