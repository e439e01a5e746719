// Unit tests of web/assets/context.js (the portal's shared state) and of the module layout:
// pages take their state from context.js, never from app.js, so each imports alone.
// Run: node --test tests/web/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { session, onLeave, every, leavePage, setPageTitle } from '../../web/assets/context.js';

const ASSETS = fileURLToPath(new URL('../../web/assets/', import.meta.url));

// ---- session ----

test('session.can and isAdmin follow the scopes of /v1/auth/me', () => {
  try {
    session.me = null;
    assert.equal(session.can('site:view'), false);
    assert.equal(session.isAdmin, false);
    session.me = { kind: 'user' };
    assert.equal(session.can('site:view'), false);
    session.me = { scopes: ['site:view', 'job:view'] };
    assert.equal(session.can('site:view'), true);
    assert.equal(session.can('site:create'), false);
    assert.equal(session.isAdmin, false);
    session.me = { scopes: ['admin'] };
    assert.equal(session.can('site:create'), true);
    assert.equal(session.can('anything:at-all'), true);
    assert.equal(session.isAdmin, true);
  } finally {
    session.me = null;
  }
});

// ---- page lifetime ----

test('leavePage runs every onLeave callback once, even after one throws', () => {
  const ran = [];
  onLeave(() => ran.push('a'));
  onLeave(() => { ran.push('b'); throw new Error('page gone'); });
  onLeave(() => ran.push('c'));
  leavePage();
  assert.deepEqual(ran, ['a', 'b', 'c']);
  leavePage();
  assert.deepEqual(ran, ['a', 'b', 'c']);
});

test('every() polls until the page is left', () => {
  // A stand-in clock: context.js looks setInterval/clearInterval up when every() runs.
  const saved = [globalThis.setInterval, globalThis.clearInterval];
  const timers = new Map();
  let next = 1;
  globalThis.setInterval = (fn, ms) => { timers.set(next, { fn, ms }); return next++; };
  globalThis.clearInterval = (id) => { timers.delete(id); };
  try {
    let n = 0;
    const id = every(1000, () => { n++; });
    assert.equal(timers.get(id).ms, 1000);
    for (let i = 0; i < 3; i++) for (const t of timers.values()) t.fn();
    assert.equal(n, 3);
    leavePage();
    assert.equal(timers.size, 0);
  } finally {
    [globalThis.setInterval, globalThis.clearInterval] = saved;
  }
});

test('setPageTitle writes "<title> · tikgate", or just tikgate', () => {
  const saved = globalThis.document;
  globalThis.document = { title: '' };
  try {
    setPageTitle('Sites');
    assert.equal(document.title, 'Sites · tikgate');
    setPageTitle('');
    assert.equal(document.title, 'tikgate');
  } finally {
    globalThis.document = saved;
  }
});

// ---- module layout ----

function importsOf(file) {
  const src = readFileSync(ASSETS + file, 'utf8');
  return [...src.matchAll(/^\s*import\s[^;]*?from\s+'([^']+)'|^\s*import\s+'([^']+)'|\bimport\(\s*'([^']+)'/gm)]
    .map((m) => m[1] || m[2] || m[3]);
}

const MODULES = readdirSync(ASSETS).filter((f) => f.endsWith('.js'));
const PAGES = MODULES.filter((f) => f.startsWith('page-'));

test('no module imports app.js; only app.js imports pages; context.js imports nothing', () => {
  assert.ok(PAGES.length >= 4, `pages found: ${PAGES}`);
  for (const f of MODULES) {
    const deps = importsOf(f);
    assert.ok(!deps.includes('./app.js'), `${f} imports app.js`);
    if (f !== 'app.js') {
      const pages = deps.filter((d) => /^\.\/page-/.test(d));
      assert.deepEqual(pages, [], `${f} imports a page`);
    }
  }
  assert.deepEqual(importsOf('context.js'), []);
});

// A page module evaluated alone (no DOM, no app.js) must load and export only its pages.
const PAGE_EXPORTS = {
  'page-sites.js': ['sitesPage'],
  'page-site.js': ['sitePage'],
  'page-policies.js': ['policiesPage', 'policyPage'],
  'page-admin.js': ['apiKeysPage', 'usersPage'],
  'page-fleet.js': ['dashboardPage'],
};

for (const f of PAGES) {
  test(`${f} imports alone and exports only its pages`, async () => {
    assert.equal(typeof globalThis.document, 'undefined', 'no DOM in this test');
    const mod = await import(new URL(f, `file://${ASSETS}`).href);
    assert.deepEqual(Object.keys(mod).sort(), PAGE_EXPORTS[f] || ['(unknown page: add it here)']);
    for (const name of Object.keys(mod)) assert.equal(typeof mod[name], 'function');
  });
}
