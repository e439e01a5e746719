-- 0015: webhooks (issue 12 item 3, docs/webhooks.md). A hook subscribes a tenant's URL to
-- events (a bit mask of enum webhook_event). An event is written in the transaction of the
-- change that causes it (the outbox), with one delivery per subscribed hook; the sender
-- claims due deliveries under a lease, and every attempt is kept in the delivery log.
CREATE TABLE webhooks (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    url           TEXT NOT NULL,
    events        INTEGER NOT NULL,            -- bits of enum webhook_event
    enabled       INTEGER NOT NULL DEFAULT 1,
    secret_sealed TEXT NOT NULL,               -- the signing secret, sealed by the master key
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX webhooks_tenant ON webhooks(tenant_id);
-- Not tied to the object (a site and its jobs may be gone by the time it is sent).
CREATE TABLE webhook_events (
    id            TEXT PRIMARY KEY,            -- the event id receivers dedupe by
    tenant_id     TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    type          TEXT NOT NULL,               -- webhook_event_name()
    object_id     TEXT NOT NULL,               -- the job, grant or site
    site_id       TEXT,
    detail        TEXT,                        -- a job's message
    created_at_ms INTEGER NOT NULL
);
CREATE TABLE webhook_deliveries (
    id             INTEGER PRIMARY KEY,
    hook_id        TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event_id       TEXT NOT NULL REFERENCES webhook_events(id) ON DELETE CASCADE,
    state          TEXT NOT NULL DEFAULT 'pending', -- webhook_delivery_state_name()
    attempts       INTEGER NOT NULL DEFAULT 0,
    next_at_ms     INTEGER NOT NULL,
    lease_owner    TEXT,
    lease_token    TEXT,                   -- the rows of one claim (an owner claims often)
    lease_until_ms INTEGER,
    UNIQUE (hook_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_at_ms) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_event ON webhook_deliveries(event_id);
CREATE TABLE webhook_attempts (
    id           INTEGER PRIMARY KEY,
    delivery_id  INTEGER NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    hook_id      TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    attempt      INTEGER NOT NULL,
    at_ms        INTEGER NOT NULL,
    status_code  INTEGER NOT NULL DEFAULT 0,   -- 0: no HTTP answer
    error        TEXT,
    duration_ms  INTEGER NOT NULL DEFAULT 0,
    next_at_ms   INTEGER                       -- the retry, NULL when none follows
);
CREATE INDEX webhook_attempts_hook ON webhook_attempts(hook_id, id);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts(delivery_id);
