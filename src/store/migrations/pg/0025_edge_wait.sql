-- PostgreSQL twin of migrations/0025_edge_wait.sql (same numbers, same meaning).
-- 0025: a managed site's move waits for its new edge to configure the router as its WireGuard
-- peer: the site's pulled jobs are held back until then or until this deadline (epoch ms).
ALTER TABLE sites ADD COLUMN edge_wait_until_ms bigint;
