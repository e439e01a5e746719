// page-fleet.js - the fleet dashboard (#/dashboard): counts now, live grants and relayed
// connections over 24 h, each site's up time over 7 days (charts drawn by uPlot, loaded on
// demand from /assets/uplot.min.js), and the sites filterable by status and searchable by name.
import { api, apiList, enc } from './api.js';
import { every, onLeave, setPageTitle } from './context.js';
import { h, put, pageHead, table, statusBadge, tunnelBadge, timeEl, loading, errorBox } from './ui.js';
import { filterSites, uptimeText, historySeries, uptimeBars } from './fleet.js';

const STATUS_FILTERS = [
  ['all', 'All statuses'], ['online', 'Online'], ['offline', 'Offline'],
  ['tunnel_down', 'Tunnel down'], ['pending_onboarding', 'Pending'], ['deleting', 'Deleting'],
];
const BARS_MAX = 40; // sites in the up-time chart: the lowest first

// uPlot is one script (an IIFE defining window.uPlot) and one stylesheet, loaded once.
let uplotLoad = null;
function loadUplot() {
  if (!uplotLoad) {
    uplotLoad = new Promise((resolve, reject) => {
      if (window.uPlot) { resolve(window.uPlot); return; }
      document.head.append(h('link', { rel: 'stylesheet', href: '/assets/uplot.min.css' }));
      const s = h('script', { src: '/assets/uplot.min.js' });
      s.addEventListener('load', () => (window.uPlot ? resolve(window.uPlot) : reject(new Error('no uPlot'))));
      s.addEventListener('error', () => { uplotLoad = null; reject(new Error('uPlot could not be loaded')); });
      document.head.append(s);
    });
  }
  return uplotLoad;
}

// Every item of the paged /v1/fleet/uptime (its items carry site_id, not id).
async function allUptime() {
  const out = [];
  for (;;) {
    const after = out.length ? `&after_id=${enc(out[out.length - 1].site_id)}` : '';
    const page = await api('GET', `/v1/fleet/uptime?days=7&limit=1000${after}`);
    out.push(...page);
    if (page.length < 1000) return out;
  }
}

function stat(id, label, kind) {
  const value = h('span', { class: 'stat-value', id }, '…');
  return { el: h('div', { class: `stat stat-${kind}` }, value, h('span', { class: 'stat-label' }, label)), value };
}

function chartFigure(id, title) {
  const plot = h('div', { class: 'chart-plot', id, role: 'img', 'aria-label': title });
  const note = h('p', { class: 'muted small chart-note', id: `${id}-note` });
  return { el: h('figure', { class: 'card chart' }, h('figcaption', null, h('h2', null, title)), plot, note), plot, note };
}

export async function dashboardPage(root) {
  setPageTitle('Dashboard');
  const stats = {
    online: stat('count-online', 'sites online', 'ok'),
    offline: stat('count-offline', 'offline', 'bad'),
    tunnel: stat('count-tunnel-down', 'tunnel down', 'warn'),
    jobs: stat('count-pending-jobs', 'pending jobs', 'info'),
    grants: stat('count-live-grants', 'live grants', 'info'),
  };
  const alert = h('div', { id: 'fleet-alert' });
  const activity = chartFigure('chart-activity', 'Live grants and connections, last 24 hours');
  const uptime = chartFigure('chart-uptime', 'Uptime per site, last 7 days');
  const status = h('select', { id: 'fleet-status' }, STATUS_FILTERS.map(([v, t]) => h('option', { value: v }, t)));
  const search = h('input', { type: 'search', id: 'fleet-search', placeholder: 'Site name', autocomplete: 'off' });
  const count = h('p', { class: 'muted', role: 'status', 'aria-live': 'polite', id: 'fleet-count' });
  const list = h('div', { id: 'fleet-list' }, loading());
  root.append(pageHead('Dashboard'), alert,
    h('section', { class: 'stats', 'aria-label': 'Counts' }, Object.values(stats).map((s) => s.el)),
    h('div', { class: 'charts' }, activity.el, uptime.el),
    h('section', { class: 'card', 'aria-labelledby': 'fleet-sites-title' },
      h('h2', { id: 'fleet-sites-title' }, 'Sites'),
      h('div', { class: 'toolbar', role: 'search' },
        h('label', { for: 'fleet-status', class: 'search-label' }, 'Status'), status,
        h('label', { for: 'fleet-search', class: 'search-label' }, 'Search by name'), search, count),
      list));

  let sites = [];
  let uptimeBy = {};
  let uptimeAt = 0;
  let charts = { activity: null, uptime: null };
  onLeave(() => { Object.values(charts).forEach((c) => c && c.destroy()); charts = {}; });

  const width = (el) => Math.max(240, el.clientWidth || 600);
  // A chart is made once (when uPlot has loaded) and then only gets new data; a redraw asked
  // for while it is being made hands it the latest data.
  const latest = {};
  const making = {};
  const drawChart = (key, fig, opts, data) => {
    latest[key] = data;
    if (charts[key]) {
      charts[key].setData(data);
      fig.plot.dataset.points = String(data[0].length);
      return Promise.resolve();
    }
    if (!making[key]) {
      making[key] = loadUplot().then((U) => {
        if (!root.isConnected || charts[key] === undefined) return;
        fig.plot.textContent = '';
        charts[key] = new U({ ...opts(U), width: width(fig.plot), height: 220 }, latest[key], fig.plot);
        fig.plot.dataset.points = String(latest[key][0].length);
      }).catch((err) => {
        making[key] = null;
        fig.plot.textContent = `Charts could not be drawn: ${err.message} (run npm ci where tikgated is installed).`;
      });
    }
    return making[key];
  };
  const resize = () => {
    if (charts.activity) charts.activity.setSize({ width: width(activity.plot), height: 220 });
    if (charts.uptime) charts.uptime.setSize({ width: width(uptime.plot), height: 220 });
  };
  window.addEventListener('resize', resize);
  onLeave(() => window.removeEventListener('resize', resize));

  const drawList = () => {
    const shown = filterSites(sites, status.value, search.value);
    count.textContent = `${shown.length} of ${sites.length} site${sites.length === 1 ? '' : 's'}`;
    put(list, table('Sites', ['Name', 'Status', 'Tunnel', 'Uptime (7 days)', 'Last seen'],
      shown.map((s) => ({
        rowHeader: true,
        attrs: { 'data-site-id': s.id },
        cells: [h('a', { href: `#/sites/${s.id}`, class: 'strong-link' }, s.name), statusBadge(s.status),
          tunnelBadge(s.tunnel), uptimeText(uptimeBy[s.id]), timeEl(s.last_seen_at)],
      })), { empty: sites.length ? 'No site matches the filter.' : 'No sites yet.' }));
    const bars = uptimeBars(shown.map((s) => uptimeBy[s.id]).filter(Boolean), BARS_MAX);
    uptime.note.textContent = bars.names.length
      ? `${bars.names.length} site${bars.names.length === 1 ? '' : 's'}, lowest first; pending sites have no uptime yet.`
      : 'No adopted site in the list.';
    return drawChart('uptime', uptime, (U) => ({
      scales: { x: { time: false, range: [-0.5, Math.max(bars.names.length, 1) - 0.5] }, y: { range: [0, 100] } },
      axes: [{ values: (u, splits) => splits.map((i) => bars.names[i] || ''), splits: () => bars.names.map((_, i) => i), rotate: -30, size: 70 },
        { values: (u, splits) => splits.map((v) => `${v} %`) }],
      series: [{}, { label: 'Uptime %', fill: '#1f4e8c99', stroke: '#1f4e8c', paths: U.paths.bars({ size: [0.6, 40] }), points: { show: false } }],
      legend: { show: false },
    }), [bars.names.map((_, i) => i), bars.values]);
  };

  const load = async () => {
    try {
      // up time moves slowly and costs most (a page of 1000 sites: ~0.2 s, bench/fleet.py)
      const fresh = Date.now() - uptimeAt < 60000;
      const [summary, history, s, up] = await Promise.all([api('GET', '/v1/fleet/summary'),
        api('GET', '/v1/fleet/history?hours=24'), apiList('/v1/sites'), fresh ? null : allUptime()]);
      put(alert);
      stats.online.value.textContent = String(summary.sites.online);
      stats.offline.value.textContent = String(summary.sites.offline);
      stats.tunnel.value.textContent = String(summary.tunnels_down);
      stats.jobs.value.textContent = String(summary.jobs.pending);
      stats.grants.value.textContent = String(summary.grants_live);
      sites = s;
      if (up) {
        uptimeBy = Object.fromEntries(up.map((u) => [u.site_id, u]));
        uptimeAt = Date.now();
      }
      const series = historySeries(history.points);
      const last = history.points[history.points.length - 1];
      activity.note.textContent = `Now: ${last.live_grants} live grant${last.live_grants === 1 ? '' : 's'}; ` +
        `peak ${series.peakGrants} live grants and ${series.peakConnections} connections in 5 minutes.`;
      await Promise.all([drawChart('activity', activity, () => ({
        series: [{}, { label: 'Live grants', stroke: '#1f4e8c', width: 2 },
          { label: 'Connections / 5 min', stroke: '#136c3b', width: 2, dash: [6, 4] }],
        axes: [{}, { label: 'count' }],
        // the whole window, so a young installation's few points sit at its right end
        scales: { x: { range: (u, lo, hi) => [hi - history.hours * 3600, hi] },
          y: { range: (u, lo, hi) => [0, Math.max(4, hi)] } },
      }), series.data), drawList()]);
    } catch (err) {
      put(alert, errorBox(err, load));
    }
  };
  status.addEventListener('change', drawList);
  search.addEventListener('input', drawList);
  await load();
  every(15000, load);
}
