-- 0017: two-phase rotation of the platform's API password (issue 14, docs/internals/store.md):
-- a new credential is 'pending' until the router has it (job_id, the job that sets it,
-- completed; or a login with it worked), then 'current', and the ones before it 'retired'
-- (deleted_at set). Rows from before: retired when deleted, else current.
ALTER TABLE api_credentials ADD COLUMN state TEXT NOT NULL DEFAULT 'current';
ALTER TABLE api_credentials ADD COLUMN job_id TEXT;
UPDATE api_credentials SET state = 'retired' WHERE deleted_at IS NOT NULL;
CREATE INDEX api_credentials_job ON api_credentials(job_id) WHERE job_id IS NOT NULL;
-- The periodic check that a router matches the store (issue 14: verify, then repair by job):
-- when the site was last claimed for it (unix seconds; NULL = never).
ALTER TABLE sites ADD COLUMN verified_at INTEGER;
