-- 0021: when the router confirmed that it ran the whole adoption script (its last line, or
-- the scheduler's first poll: the scheduler is added at the script's end). Until then no job
-- is pushed to the site: a push racing the script would work on a half-configured router (a
-- site cleanup that removes the management filter before the script adds it). NULL: not yet.
ALTER TABLE sites ADD COLUMN configured_at INTEGER;
UPDATE sites SET configured_at = adopted_at WHERE adopted_at IS NOT NULL;
