-- PostgreSQL twin of migrations/0009_rekey.sql (same numbers, same meaning).
-- 0009: make-before-break re-keying of a managed tunnel (site.recreate_tunnel, docs/vpn.md):
-- the router's next public key while its current one stays the edge's peer, and the first
-- handshake the edge saw with it (the edge removes the old key only after that).
ALTER TABLE sites ADD COLUMN wg_next_public_key text;
ALTER TABLE sites ADD COLUMN tunnel_next_handshake_at bigint;
CREATE UNIQUE INDEX sites_wg_next_public_key ON sites(wg_next_public_key)
    WHERE wg_next_public_key IS NOT NULL;
