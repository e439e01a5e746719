-- 0001: tenants, API keys, policies, sites, notes and API credentials.
CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE api_keys (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    prefix        TEXT NOT NULL,
    hash          BLOB NOT NULL UNIQUE,
    scopes        INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER,
    revoked_at    INTEGER
);
CREATE INDEX api_keys_tenant ON api_keys(tenant_id);

CREATE TABLE policies (
    id                  TEXT PRIMARY KEY,
    tenant_id           TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name                TEXT NOT NULL,
    slug                TEXT NOT NULL UNIQUE,
    is_default          INTEGER NOT NULL DEFAULT 0,
    custom_input_rules  INTEGER NOT NULL DEFAULT 0,
    trusted_networks    TEXT NOT NULL DEFAULT '',
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
);
CREATE INDEX policies_tenant ON policies(tenant_id);
CREATE UNIQUE INDEX policies_one_default ON policies(tenant_id) WHERE is_default = 1;

-- One row per policy and service (0 = winbox ... 7 = api_ssl, domain/policy.h order).
CREATE TABLE policy_services (
    policy_id  TEXT NOT NULL REFERENCES policies(id) ON DELETE CASCADE,
    service    INTEGER NOT NULL CHECK (service BETWEEN 0 AND 7),
    enabled    INTEGER NOT NULL,
    port       INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
    networks   TEXT NOT NULL DEFAULT '',  -- comma-separated canonical CIDRs
    PRIMARY KEY (policy_id, service)
);

CREATE TABLE sites (
    id                    TEXT PRIMARY KEY,
    tenant_id             TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name                  TEXT NOT NULL,
    policy_id             TEXT NOT NULL REFERENCES policies(id),
    tunnel_address        TEXT,
    status                TEXT NOT NULL DEFAULT 'pending_onboarding',
    last_seen_at          INTEGER,
    identity              TEXT,
    model                 TEXT,
    serial_number         TEXT,
    software_version      TEXT,
    bootstrap_token_sealed TEXT NOT NULL,
    bootstrap_token_hash  BLOB NOT NULL UNIQUE,
    note                  TEXT NOT NULL DEFAULT '',
    note_updated_at       INTEGER,
    note_updated_by       TEXT,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL
);
CREATE INDEX sites_tenant ON sites(tenant_id);
CREATE INDEX sites_policy ON sites(policy_id);

CREATE TABLE api_credentials (
    id               TEXT PRIMARY KEY,
    site_id          TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    username         TEXT NOT NULL,
    password_sealed  TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    deleted_at       INTEGER
);
CREATE INDEX api_credentials_site ON api_credentials(site_id, created_at);
