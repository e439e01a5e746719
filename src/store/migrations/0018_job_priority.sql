-- 0018: jobs that matter go first, sites served in turn (issue 14, docs/API.md "Priorities").
-- queue_class: enum job_class (src/domain/job.h) by number, 0 normal (scripts, site actions,
-- grant setups), 1 urgent (teardowns, API-user and policy pushes, site cleanup, drift repairs):
-- of a site's pending jobs the claims take the highest class first, then the oldest.
ALTER TABLE jobs ADD COLUMN queue_class INTEGER NOT NULL DEFAULT 0;
UPDATE jobs SET queue_class = 1 WHERE kind IN ('policy', 'api_user', 'site_delete')
    OR id IN (SELECT teardown_job_id FROM grants WHERE teardown_job_id IS NOT NULL)
    OR description LIKE 'Drift: %';
-- A setup that has not run while its grant's teardown waits: the teardown now goes first, so
-- the setup would leave the user or rule on the router after it. It is superseded instead.
INSERT INTO job_events(job_id, at_ms, kind, message)
    SELECT j.id, CAST(strftime('%s', 'now') AS INTEGER) * 1000, 'superseded',
           'superseded by job ' || g.teardown_job_id
    FROM jobs j JOIN grants g ON g.setup_job_id = j.id
    WHERE j.status = 'pending' AND g.teardown_job_id IN (SELECT id FROM jobs WHERE status = 'pending');
UPDATE jobs SET status = 'superseded', last_error = 'superseded by job ' ||
    (SELECT g.teardown_job_id FROM grants g WHERE g.setup_job_id = jobs.id)
    WHERE status = 'pending' AND id IN (SELECT g.setup_job_id FROM grants g WHERE
    g.teardown_job_id IN (SELECT id FROM jobs WHERE status = 'pending'));
-- A site's head (its next job) is one seek, and so is each step of the skip scan over the
-- sites with pending jobs (store_ops.h STORE_SQL_PENDING_SITES). status leads: the planner
-- then prefers it to jobs_due for "status = 'pending' AND site_id > ?" (the rowid, the order
-- within a class, ends every SQLite index).
CREATE INDEX jobs_queue ON jobs(status, site_id, queue_class DESC);
-- When a push of the site was last claimed (milliseconds; NULL = never): of the sites whose
-- heads are of the same class, the batch claim serves the one waiting longest first.
ALTER TABLE sites ADD COLUMN queue_claimed_ms INTEGER;
