-- 0007: tenant isolation (security-review F4, F14).
-- Users: an e-mail address is unique within its tenant, not across tenants, so that creating a
-- user never tells one tenant which addresses another has (F14). Sign-in looks up every
-- account with the address and checks the password against each (api/h_users.c). SQLite
-- cannot drop a column's UNIQUE: the table is rebuilt. Dropping `users` would cascade to
-- `sessions`, so the sessions wait in a temporary table meanwhile.
CREATE TABLE users_new (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    email          TEXT NOT NULL COLLATE NOCASE,
    password_hash  TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'read-only')),
    disabled       INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    last_login_at  INTEGER,
    UNIQUE (tenant_id, email)
);
INSERT INTO users_new SELECT id, tenant_id, email, password_hash, role, disabled, created_at,
    updated_at, last_login_at FROM users;
CREATE TEMP TABLE sessions_keep AS SELECT id, user_id, created_at, expires_at, revoked_at
    FROM sessions;
DROP TABLE sessions;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;
CREATE INDEX users_tenant ON users(tenant_id);
CREATE INDEX users_email ON users(email);
CREATE TABLE sessions (
    id          TEXT PRIMARY KEY,          -- the JWT's jti
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);
INSERT INTO sessions SELECT id, user_id, created_at, expires_at, revoked_at FROM sessions_keep;
DROP TABLE sessions_keep;
CREATE INDEX sessions_user ON sessions(user_id);
-- Sites: when the current bootstrap token was issued; it is refused once older than
-- TIKGATE_BOOTSTRAP_TOKEN_TTL (F4). Tokens issued before this migration count from now.
ALTER TABLE sites ADD COLUMN bootstrap_issued_at INTEGER;
UPDATE sites SET bootstrap_issued_at = CAST(strftime('%s', 'now') AS INTEGER)
    WHERE bootstrap_used_at IS NULL;
