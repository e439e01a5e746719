-- 0017: two-phase rotation of the platform's API password (issue 14, docs/internals/store.md):
-- a new credential is 'pending' until the router has it (job_id, the job that sets it,
-- completed; or a login with it worked), then 'current', and the ones before it 'retired'
-- (deleted_at set). Rows from before: retired when deleted, else current.
ALTER TABLE api_credentials ADD COLUMN state TEXT NOT NULL DEFAULT 'current';
ALTER TABLE api_credentials ADD COLUMN job_id TEXT;
UPDATE api_credentials SET state = 'retired' WHERE deleted_at IS NOT NULL;
CREATE INDEX api_credentials_job ON api_credentials(job_id) WHERE job_id IS NOT NULL;
