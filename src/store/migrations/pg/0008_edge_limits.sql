-- PostgreSQL twin of migrations/0008_edge_limits.sql (same numbers, same meaning).
-- 0008: refused connections are summed (security-review F8): one record per grant, source and
-- interval carries how many connections it stands for; the partial indexes keep counting the
-- refused records of a grant (its cap) and pruning old ones (retention) off the table's bulk.
ALTER TABLE grant_connections ADD COLUMN count bigint NOT NULL DEFAULT 1;
CREATE INDEX grant_connections_refused ON grant_connections(grant_id, id)
    WHERE outcome IN ('refused', 'limited');
CREATE INDEX grant_connections_refused_end ON grant_connections(ended_ms)
    WHERE outcome IN ('refused', 'limited');
