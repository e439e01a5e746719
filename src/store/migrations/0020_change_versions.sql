-- 0020: change versions, the key of the API's response cache (issue 13, api/rcache.c).
-- One number per kind of answer that grows with every write to what the answer is made of,
-- whoever writes (any API node, the scheduler, a migration): an answer cached under version V
-- is served again only while the store still says V. 'policies': a policy, its services, and
-- which sites use it (a policy's "sites"; not the sites' other columns, heartbeats included).
CREATE TABLE change_versions (
    kind     TEXT PRIMARY KEY,
    version  INTEGER NOT NULL DEFAULT 0
);
INSERT INTO change_versions (kind, version) VALUES ('policies', 0);
CREATE TRIGGER policies_changed_insert AFTER INSERT ON policies BEGIN
    UPDATE change_versions SET version = version + 1 WHERE kind = 'policies';
END;
CREATE TRIGGER policies_changed_update AFTER UPDATE ON policies BEGIN
    UPDATE change_versions SET version = version + 1 WHERE kind = 'policies';
END;
CREATE TRIGGER policies_changed_delete AFTER DELETE ON policies BEGIN
    UPDATE change_versions SET version = version + 1 WHERE kind = 'policies';
END;
CREATE TRIGGER policy_services_changed_insert AFTER INSERT ON policy_services BEGIN
    UPDATE change_versions SET version = version + 1 WHERE kind = 'policies';
END;
CREATE TRIGGER policy_services_changed_update AFTER UPDATE ON policy_services BEGIN
    UPDATE change_versions SET version = version + 1 WHERE kind = 'policies';
END;
CREATE TRIGGER policy_services_changed_delete AFTER DELETE ON policy_services BEGIN
    UPDATE change_versions SET version = version + 1 WHERE kind = 'policies';
END;
CREATE TRIGGER policy_sites_changed_insert AFTER INSERT ON sites BEGIN
    UPDATE change_versions SET version = version + 1 WHERE kind = 'policies';
END;
CREATE TRIGGER policy_sites_changed_update AFTER UPDATE OF policy_id ON sites BEGIN
    UPDATE change_versions SET version = version + 1 WHERE kind = 'policies';
END;
CREATE TRIGGER policy_sites_changed_delete AFTER DELETE ON sites BEGIN
    UPDATE change_versions SET version = version + 1 WHERE kind = 'policies';
END;
