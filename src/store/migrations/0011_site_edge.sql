-- 0011: a site belongs to an edge (issue 11, DESIGN.md §11, docs/internals/store.md): the node
-- (nodes.name) that terminates its tunnel and fronts its grants, chosen at adoption by region
-- then load; NULL until then. region: where the operator wants it served ('' = anywhere).
ALTER TABLE sites ADD COLUMN edge_node TEXT;
ALTER TABLE sites ADD COLUMN region TEXT NOT NULL DEFAULT '';
CREATE INDEX sites_edge_node ON sites(edge_node) WHERE edge_node IS NOT NULL;
