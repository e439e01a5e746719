-- PostgreSQL twin of migrations/0010_nodes.sql (same numbers, same meaning).
-- 0010: many nodes, no leader (DESIGN.md §11, docs/internals/store.md "Nodes and leases").
-- The node registry: every tikgated registers under TIKGATE_NODE_NAME at start and heartbeats;
-- a node whose heartbeat is older than three heartbeats is dead. Times on the database clock
-- (PostgreSQL: now()).
CREATE TABLE nodes (
    name            text PRIMARY KEY,
    roles           text NOT NULL DEFAULT '',   -- normalised TIKGATE_ROLES
    region          text NOT NULL DEFAULT '',
    entry_point     text NOT NULL DEFAULT '',   -- '' without the edge role
    wg_endpoint     text NOT NULL DEFAULT '',   -- host:port routers dial, '' without a VPN
    tunnel_pool     text NOT NULL DEFAULT '',   -- its IPv4 prefix, '' without a VPN
    port_lo         bigint NOT NULL DEFAULT 0, -- edge port range, 0 without the edge role
    port_hi         bigint NOT NULL DEFAULT 0,
    started_at_ms   bigint NOT NULL,
    heartbeat_at_ms bigint NOT NULL
);
-- Claims carry a lease owner: the node that pushes a job, the node that tears a due grant
-- down. The owner's heartbeat renews them; a dead owner's claims are taken over.
ALTER TABLE jobs ADD COLUMN lease_owner text;
CREATE INDEX jobs_lease_owner ON jobs(lease_owner) WHERE lease_owner IS NOT NULL;
ALTER TABLE grants ADD COLUMN teardown_owner text;
ALTER TABLE grants ADD COLUMN teardown_lease_until_ms bigint;
CREATE INDEX grants_teardown_owner ON grants(teardown_owner)
    WHERE teardown_owner IS NOT NULL AND torn_down_at IS NULL;
