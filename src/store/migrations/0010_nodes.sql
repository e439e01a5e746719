-- 0010: many nodes, no leader (DESIGN.md §11, docs/internals/store.md "Nodes and leases").
-- The node registry: every tikgated registers under TIKGATE_NODE_NAME at start and heartbeats;
-- a node whose heartbeat is older than three heartbeats is dead. Times on the database clock
-- (SQLite: the process clock of the one machine).
CREATE TABLE nodes (
    name            TEXT PRIMARY KEY,
    roles           TEXT NOT NULL DEFAULT '',   -- normalised TIKGATE_ROLES
    region          TEXT NOT NULL DEFAULT '',
    entry_point     TEXT NOT NULL DEFAULT '',   -- '' without the edge role
    wg_endpoint     TEXT NOT NULL DEFAULT '',   -- host:port routers dial, '' without a VPN
    tunnel_pool     TEXT NOT NULL DEFAULT '',   -- its IPv4 prefix, '' without a VPN
    port_lo         INTEGER NOT NULL DEFAULT 0, -- edge port range, 0 without the edge role
    port_hi         INTEGER NOT NULL DEFAULT 0,
    started_at_ms   INTEGER NOT NULL,
    heartbeat_at_ms INTEGER NOT NULL
);
-- Claims carry a lease owner: the node that pushes a job, the node that tears a due grant
-- down. The owner's heartbeat renews them; a dead owner's claims are taken over.
ALTER TABLE jobs ADD COLUMN lease_owner TEXT;
CREATE INDEX jobs_lease_owner ON jobs(lease_owner) WHERE lease_owner IS NOT NULL;
ALTER TABLE grants ADD COLUMN teardown_owner TEXT;
ALTER TABLE grants ADD COLUMN teardown_lease_until_ms INTEGER;
CREATE INDEX grants_teardown_owner ON grants(teardown_owner)
    WHERE teardown_owner IS NOT NULL AND torn_down_at IS NULL;
