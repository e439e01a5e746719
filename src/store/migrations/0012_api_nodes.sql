-- 0012: the failed-sign-in limiter shared by every API node of a store (issue 11 item 5,
-- docs/decisions.md): failures per key (a MAC of "e:<e-mail>" or "a:<address>", never the
-- address itself) in a window opened by the first failure. Rows whose window closed are
-- deleted by the next failure anywhere. (0010 and 0011 are the node registry's and the
-- site-to-edge assignment's.)
CREATE TABLE login_failures (
    key           TEXT PRIMARY KEY,
    failures      INTEGER NOT NULL,
    window_start  INTEGER NOT NULL
);
CREATE INDEX login_failures_window ON login_failures(window_start);

-- The master key's check value (a MAC of a fixed text under it), written by the first node
-- that serves: a node started with another master.key refuses to start instead of sealing
-- secrets and signing sessions the others cannot read (docs/deployment.md).
CREATE TABLE master_key_check (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    mac  TEXT NOT NULL
);
