-- 0022: a grant's teardown writes fewer index entries. grants_setup_job serves one lookup, the
-- grant whose setup job just completed (config_committed_at still NULL); a grant whose setup
-- is committed, or that never had one, leaves the index, so its teardown (a new row version)
-- no longer adds an entry there (bench/claims.sh drain, docs/benchmarks.md).
DROP INDEX grants_setup_job;
CREATE INDEX grants_setup_job ON grants(setup_job_id)
    WHERE setup_job_id IS NOT NULL AND config_committed_at IS NULL;
-- (The PostgreSQL twin also makes the policies version's trigger NOTIFY the other nodes: one
-- SQLite file has one process, which reads its version without a round trip anyway.)
