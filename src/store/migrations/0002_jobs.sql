-- 0002: onboarding (device tokens, facts) and the job pipeline with its orchestration log.
ALTER TABLE sites ADD COLUMN device_token_hash BLOB;
ALTER TABLE sites ADD COLUMN adopted_at INTEGER;
ALTER TABLE sites ADD COLUMN facts TEXT;
CREATE UNIQUE INDEX sites_device_token ON sites(device_token_hash);

CREATE TABLE jobs (
    id                    TEXT PRIMARY KEY,
    site_id               TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    token                 TEXT NOT NULL,
    kind                  TEXT NOT NULL,
    description           TEXT NOT NULL,
    payload               TEXT NOT NULL,
    is_script             INTEGER NOT NULL DEFAULT 0,
    express_execute       INTEGER NOT NULL DEFAULT 1,
    needs_acknowledgement INTEGER NOT NULL DEFAULT 1,
    status                TEXT NOT NULL DEFAULT 'pending',
    via                   TEXT,                -- 'pull' or 'push' while running
    attempts              INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms       INTEGER NOT NULL DEFAULT 0,
    lease_until_ms        INTEGER,
    created_at            INTEGER NOT NULL,
    started_at            INTEGER,
    completed_at          INTEGER,
    failed_at             INTEGER,
    deleted_at            INTEGER,
    last_error            TEXT,
    created_by            TEXT,
    idempotency_key       TEXT
);
CREATE INDEX jobs_site ON jobs(site_id, status);
CREATE INDEX jobs_due ON jobs(status, next_attempt_ms);

CREATE TABLE job_events (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id   TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    at_ms    INTEGER NOT NULL,
    kind     TEXT NOT NULL,
    message  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX job_events_job ON job_events(job_id, id);
