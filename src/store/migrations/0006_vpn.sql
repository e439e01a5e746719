-- 0006: the Management VPN (DESIGN.md §10): each edge's WireGuard keypair, per site the tunnel
-- mode, the router's public key, the assigned /32 (unique), and what the edge last saw of it.
CREATE TABLE vpn_edges (
    entry_point        TEXT PRIMARY KEY,
    private_key_sealed TEXT NOT NULL,
    public_key         TEXT NOT NULL,
    created_at         INTEGER NOT NULL
);
-- 'external': an operator-managed tunnel (the address was typed or reported); 'managed': the
-- platform's WireGuard tunnel, tunnel_address assigned from TIKGATE_TUNNEL_POOL.
ALTER TABLE sites ADD COLUMN tunnel_mode TEXT NOT NULL DEFAULT 'external';
ALTER TABLE sites ADD COLUMN wg_public_key TEXT;
ALTER TABLE sites ADD COLUMN tunnel_ip INTEGER; -- the managed /32 as a number (allocation)
ALTER TABLE sites ADD COLUMN tunnel_endpoint TEXT;
ALTER TABLE sites ADD COLUMN tunnel_handshake_at INTEGER;
ALTER TABLE sites ADD COLUMN tunnel_rx INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sites ADD COLUMN tunnel_tx INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sites ADD COLUMN tunnel_status TEXT NOT NULL DEFAULT 'pending';
CREATE UNIQUE INDEX sites_tunnel_ip ON sites(tunnel_ip) WHERE tunnel_ip IS NOT NULL;
CREATE UNIQUE INDEX sites_wg_public_key ON sites(wg_public_key) WHERE wg_public_key IS NOT NULL;
-- Tunnel up/down transitions (the site's orchestration log, beside its jobs' events).
CREATE TABLE site_events (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    site_id TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    at_ms   INTEGER NOT NULL,
    kind    TEXT NOT NULL,
    message TEXT NOT NULL DEFAULT ''
);
CREATE INDEX site_events_site ON site_events(site_id, id);
