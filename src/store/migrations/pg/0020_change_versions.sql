-- PostgreSQL twin of migrations/0020_change_versions.sql (same numbers, same meaning).
-- 0020: change versions, the key of the API's response cache (issue 13, api/rcache.c): one
-- number per kind of answer that grows with every write to what the answer is made of, from
-- any node. 'policies': a policy, its services, and which sites use it. One bump per
-- statement (FOR EACH STATEMENT); the row lock it takes orders policy writes, which are rare.
CREATE TABLE change_versions (
    kind     text PRIMARY KEY,
    version  bigint NOT NULL DEFAULT 0
);
INSERT INTO change_versions (kind, version) VALUES ('policies', 0);
CREATE FUNCTION policies_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE change_versions SET version = version + 1 WHERE kind = 'policies';
    RETURN NULL;
END
$$;
CREATE TRIGGER policies_changed AFTER INSERT OR UPDATE OR DELETE ON policies
    FOR EACH STATEMENT EXECUTE FUNCTION policies_changed();
CREATE TRIGGER policy_services_changed AFTER INSERT OR UPDATE OR DELETE ON policy_services
    FOR EACH STATEMENT EXECUTE FUNCTION policies_changed();
CREATE TRIGGER policy_sites_changed AFTER INSERT OR DELETE OR UPDATE OF policy_id ON sites
    FOR EACH STATEMENT EXECUTE FUNCTION policies_changed();
