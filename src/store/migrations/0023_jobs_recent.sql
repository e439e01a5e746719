-- 0023: a site's jobs list (newest first, 100 a page) reads its page from an index in order.
-- jobs_site is (site_id, status): the list read every job of the site and sorted them, so its
-- cost grew with the site's history (27 % of tikgated's CPU under bench/mixed.sh, where a
-- jobs list is 10 % of the requests; docs/benchmarks.md). An index on site_id alone is in
-- rowid order within a site.
CREATE INDEX jobs_site_recent ON jobs(site_id);
