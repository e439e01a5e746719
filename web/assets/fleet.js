// fleet.js - the dashboard's pure functions (no DOM): the sites filter, up-time text and the
// series the charts draw. Unit-tested in tests/web/fleet.test.mjs.

/**
 * The sites the list shows: status is 'all', a site status, or 'tunnel_down' (managed sites
 * whose tunnel is down); q matches the name (case-insensitive, every word).
 */
export function filterSites(sites, status, q) {
  const words = String(q || '').toLowerCase().split(/\s+/).filter(Boolean);
  return sites.filter((s) => {
    if (status === 'tunnel_down') {
      if (!s.tunnel || s.tunnel.mode !== 'managed' || s.tunnel.status !== 'down') return false;
    } else if (status && status !== 'all' && s.status !== status) {
      return false;
    }
    const name = String(s.name || '').toLowerCase();
    return words.every((w) => name.includes(w));
  });
}

/** "99.5 %" from a SiteUptime (GET /v1/fleet/uptime), "—" without a span (not adopted yet). */
export function uptimeText(u) {
  if (!u || u.uptime === null || u.uptime === undefined) return '—';
  const pct = u.uptime * 100;
  return `${pct >= 99.95 || pct === 0 ? pct.toFixed(0) : pct.toFixed(1)} %`;
}

/**
 * The activity chart's data from /v1/fleet/history points: [x (Unix seconds), live grants,
 * connections], plus the peaks for the caption.
 */
export function historySeries(points) {
  const x = [], grants = [], conns = [];
  for (const p of points || []) {
    x.push(Math.round(Date.parse(p.at) / 1000));
    grants.push(p.live_grants);
    conns.push(p.connections);
  }
  return { data: [x, grants, conns], peakGrants: Math.max(0, ...grants), peakConnections: Math.max(0, ...conns) };
}

/** The up-time bars: sites with a span, lowest first (then by name), at most max: {names, values %}. */
export function uptimeBars(uptimes, max) {
  const have = uptimes.filter((u) => u && u.uptime !== null && u.uptime !== undefined)
    .sort((a, b) => a.uptime - b.uptime || String(a.name).localeCompare(String(b.name)))
    .slice(0, max);
  return { names: have.map((u) => u.name), values: have.map((u) => Math.round(u.uptime * 1000) / 10) };
}
