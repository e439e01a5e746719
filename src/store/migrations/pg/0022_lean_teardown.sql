-- PostgreSQL twin of migrations/0022_lean_teardown.sql (same numbers, same meaning).
-- 0022: a grant's teardown writes fewer index entries. grants_setup_job serves one lookup, the
-- grant whose setup job just completed (config_committed_at still NULL); a grant whose setup
-- is committed, or that never had one, leaves the index, so its teardown (a new row version:
-- torn_down_at is in the partial indexes' predicates, so never a HOT update) no longer adds an
-- entry there.
DROP INDEX grants_setup_job;
CREATE INDEX grants_setup_job ON grants(setup_job_id)
    WHERE setup_job_id IS NOT NULL AND config_committed_at IS NULL;
-- A job's payload is sealed (random bytes to a compressor): stored out of line without the
-- pglz attempt that cost every batch of removal jobs its time for nothing.
ALTER TABLE jobs ALTER COLUMN payload SET STORAGE EXTERNAL;
-- The policies version's bump now also tells: NOTIFY tikgate_changes (no payload; once per
-- transaction, however many statements: PostgreSQL folds identical notifications) wakes every
-- node's versions watcher, and a NOTICE tells the writing session itself (pg_versions.c):
-- the API's cached answers need no round trip to learn that they are still current.
CREATE OR REPLACE FUNCTION policies_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE change_versions SET version = version + 1 WHERE kind = 'policies';
    PERFORM pg_notify('tikgate_changes', '');
    RAISE NOTICE 'tikgate: policies changed';
    RETURN NULL;
END
$$;
