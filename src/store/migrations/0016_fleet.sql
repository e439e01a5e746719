-- 0016: the history behind the portal's fleet view (issue 12 item 4, docs/internals/store.md).
-- site_uptime: the seconds a site was up in each hour (hour: Unix seconds of its start), from
-- heartbeats: the time between two heartbeats counts as up when the site was still online at
-- the second one (the scheduler marks it offline after 10 missed polls). Kept 8 days.
CREATE TABLE site_uptime (
    site_id TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    hour    INTEGER NOT NULL,
    up_s    INTEGER NOT NULL CHECK (up_s BETWEEN 0 AND 3600),
    PRIMARY KEY (site_id, hour)
);
CREATE INDEX site_uptime_hour ON site_uptime(hour);
-- fleet_samples: one row per tenant every 5 minutes (at_ms: the sample's 5-minute boundary),
-- written once by whichever scheduler gets there first: the grants live at that time and the
-- relayed connections the edge accepted in the 5 minutes before it. Kept 8 days.
CREATE TABLE fleet_samples (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    at_ms       INTEGER NOT NULL,
    live_grants INTEGER NOT NULL,
    connections INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, at_ms)
);
CREATE INDEX fleet_samples_at ON fleet_samples(at_ms);
-- counting a tenant's connections of an interval
CREATE INDEX grant_connections_started ON grant_connections(started_ms);
