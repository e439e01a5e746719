-- 0025: a managed site's move waits for its new edge (issue 11, docs/vpn.md "Moving a managed
-- site"). edge_wait_until_ms: set by the move, the new edge has not configured the router as
-- its WireGuard peer yet; the router's pulled jobs (the move's re-pointing script among them)
-- are held back until that edge clears it (store_site_edge_peer_ready) or until this deadline
-- (epoch ms) passes, so an edge that never confirms delays the site, never blocks it. NULL: not
-- waiting.
ALTER TABLE sites ADD COLUMN edge_wait_until_ms INTEGER;
