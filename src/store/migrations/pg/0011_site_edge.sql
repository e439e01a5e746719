-- PostgreSQL twin of migrations/0011_site_edge.sql (same numbers, same meaning).
-- 0011: a site belongs to an edge (issue 11, DESIGN.md §11, docs/internals/store.md): the node
-- (nodes.name) that terminates its tunnel and fronts its grants, chosen at adoption by region
-- then load; NULL until then. region: where the operator wants it served ('' = anywhere).
-- edge_prev: a managed site's edge before a move, which keeps the router as its WireGuard peer
-- until the new edge sees the router's first handshake (make-before-break; NULL otherwise).
ALTER TABLE sites ADD COLUMN edge_node text;
ALTER TABLE sites ADD COLUMN region text NOT NULL DEFAULT '';
ALTER TABLE sites ADD COLUMN edge_prev text;
CREATE INDEX sites_edge_node ON sites(edge_node) WHERE edge_node IS NOT NULL;
