-- 0023: a site's jobs list (newest first, 100 a page) reads its page from an index in order,
-- instead of sorting every job of the site (migrations/0023_jobs_recent.sql).
CREATE INDEX jobs_site_recent ON jobs(site_id, rowid);
