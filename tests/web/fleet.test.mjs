// The dashboard's pure functions (web/assets/fleet.js): the sites filter by status and name,
// the up-time text, the chart series from the history and the up-time bars.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { filterSites, uptimeText, historySeries, uptimeBars } from '../../web/assets/fleet.js';

const SITES = [
  { id: 'a', name: 'Nairobi branch', status: 'online', tunnel: { mode: 'managed', status: 'up' } },
  { id: 'b', name: 'Mombasa depot', status: 'offline', tunnel: { mode: 'managed', status: 'down' } },
  { id: 'c', name: 'nairobi HQ', status: 'online', tunnel: { mode: 'external', status: 'down' } },
  { id: 'd', name: 'Kisumu', status: 'pending_onboarding', tunnel: null },
];
const ids = (l) => l.map((s) => s.id);

test('filter by status, tunnel down and name', () => {
  assert.deepEqual(ids(filterSites(SITES, 'all', '')), ['a', 'b', 'c', 'd']);
  assert.deepEqual(ids(filterSites(SITES, 'online', '')), ['a', 'c']);
  assert.deepEqual(ids(filterSites(SITES, 'offline', '')), ['b']);
  assert.deepEqual(ids(filterSites(SITES, 'pending_onboarding', '')), ['d']);
  // an external tunnel is the operator's: never "tunnel down" here
  assert.deepEqual(ids(filterSites(SITES, 'tunnel_down', '')), ['b']);
  assert.deepEqual(ids(filterSites(SITES, 'all', 'NAIROBI')), ['a', 'c']);
  assert.deepEqual(ids(filterSites(SITES, 'all', ' nairobi  hq ')), ['c']);
  assert.deepEqual(ids(filterSites(SITES, 'offline', 'nairobi')), []);
  // the name only: a status word is no name
  assert.deepEqual(ids(filterSites(SITES, 'all', 'online')), []);
});

test('uptime text', () => {
  assert.equal(uptimeText(undefined), '—');
  assert.equal(uptimeText({ uptime: null }), '—');
  assert.equal(uptimeText({ uptime: 1 }), '100 %');
  assert.equal(uptimeText({ uptime: 0 }), '0 %');
  assert.equal(uptimeText({ uptime: 0.99551 }), '99.6 %');
  assert.equal(uptimeText({ uptime: 0.9999 }), '100 %');
});

test('history series and peaks', () => {
  const s = historySeries([
    { at: '2026-12-01T18:10:00+00:00', live_grants: 3, connections: 7 },
    { at: '2026-12-01T18:15:00+00:00', live_grants: 4, connections: 2 },
  ]);
  assert.deepEqual(s.data, [[1796148600, 1796148900], [3, 4], [7, 2]]);
  assert.equal(s.peakGrants, 4);
  assert.equal(s.peakConnections, 7);
  assert.deepEqual(historySeries([]).data, [[], [], []]);
  assert.equal(historySeries([]).peakGrants, 0);
});

test('uptime bars: lowest first, no span left out, bounded', () => {
  const b = uptimeBars([{ name: 'b', uptime: 0.5 }, { name: 'a', uptime: null }, { name: 'c', uptime: 0.999 },
    { name: 'a2', uptime: 0.5 }], 10);
  assert.deepEqual(b, { names: ['a2', 'b', 'c'], values: [50, 50, 99.9] });
  const many = Array.from({ length: 100 }, (_, i) => ({ name: `s${i}`, uptime: i / 100 }));
  assert.equal(uptimeBars(many, 40).names.length, 40);
  assert.equal(uptimeBars(many, 40).names[0], 's0');
});
