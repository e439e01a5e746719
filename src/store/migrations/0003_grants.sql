-- 0003: transient access and transient port forwards (grants) and their connections.
CREATE TABLE grants (
    id                   TEXT PRIMARY KEY,
    site_id              TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    kind                 TEXT NOT NULL CHECK (kind IN ('access', 'forward')),
    entry_point          TEXT NOT NULL,
    port                 INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
    username             TEXT,
    password_sealed      TEXT,
    access_type          TEXT,
    full_access          INTEGER NOT NULL DEFAULT 0,
    allow_rfc1918        INTEGER NOT NULL DEFAULT 0,
    dst_address          TEXT,
    dst_port             INTEGER,
    masquerade           INTEGER NOT NULL DEFAULT 0,
    allow_only_cidr      TEXT NOT NULL,
    rate_limit           INTEGER NOT NULL DEFAULT 0,
    created_at           INTEGER NOT NULL,
    expires_at_ms        INTEGER NOT NULL,
    revoked_early        INTEGER NOT NULL DEFAULT 0,
    torn_down_at         INTEGER,
    config_committed_at  INTEGER,
    config_removed_from_site INTEGER NOT NULL DEFAULT 0,
    config_removed_from_mpac INTEGER NOT NULL DEFAULT 0,
    setup_job_id         TEXT,
    teardown_job_id      TEXT,
    created_by           TEXT
);
-- A port is never held by two grants that are not torn down.
CREATE UNIQUE INDEX grants_live_port ON grants(entry_point, port) WHERE torn_down_at IS NULL;
CREATE INDEX grants_site ON grants(site_id, kind);
CREATE INDEX grants_due ON grants(expires_at_ms) WHERE torn_down_at IS NULL;
CREATE INDEX grants_setup_job ON grants(setup_job_id);
CREATE INDEX grants_teardown_job ON grants(teardown_job_id);

CREATE TABLE grant_connections (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    grant_id    TEXT NOT NULL REFERENCES grants(id) ON DELETE CASCADE,
    source      TEXT NOT NULL,
    started_ms  INTEGER NOT NULL,
    ended_ms    INTEGER,
    bytes_in    INTEGER NOT NULL DEFAULT 0,   -- client -> router
    bytes_out   INTEGER NOT NULL DEFAULT 0,   -- router -> client
    outcome     TEXT NOT NULL
);
CREATE INDEX grant_connections_grant ON grant_connections(grant_id, id);
