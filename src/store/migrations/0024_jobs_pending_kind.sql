-- 0024: a newer policy push or rotation supersedes its site's waiting ones of the same kind
-- (sqlite_queue.c, WHERE site_id = ? AND kind = ? AND status = 'pending'). jobs_site is
-- (site_id, status): the three statements of a supersession visited every pending job of the
-- site and read its row for the kind, two thirds of a policy PUT's time with 100 scripts
-- waiting per site (bench/mixed.sh, docs/benchmarks.md). Only pending jobs are in this index.
CREATE INDEX jobs_pending_kind ON jobs(site_id, kind) WHERE status = 'pending';
