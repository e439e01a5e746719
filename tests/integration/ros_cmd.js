#!/usr/bin/env node
/*
 * Runs one RouterOS API command with the unmodified npm client node-routeros
 * and prints the outcome as one JSON line: {"ok":true,"rows":[...]} or
 * {"ok":false,"error":"...","code":"CANTLOGIN"}. Used by the Python tests to
 * log in "as a user would" through the edge.
 *
 * usage: ros_cmd.js HOST PORT USER PASSWORD COMMAND [WORD...]
 * env: NODE_PATH (…/node_modules). Bounded: gives up after 15 s.
 */
'use strict';

const { RouterOSAPI } = require('node-routeros');

const [host, port, user, password, ...words] = process.argv.slice(2);
const timer = setTimeout(() => {
  console.log(JSON.stringify({ ok: false, error: 'timed out', code: 'TIMEOUT' }));
  process.exit(0);
}, 15000);

function done(obj) {
  clearTimeout(timer);
  console.log(JSON.stringify(obj));
  process.exit(0);
}

process.on('uncaughtException', (e) => done({ ok: false, error: String(e && e.message || e),
                                              code: e && (e.errno || e.code) || 'ERROR' }));

(async () => {
  const api = new RouterOSAPI({ host, port: Number(port), user, password, timeout: 5 });
  try {
    await api.connect();
  } catch (e) {
    return done({ ok: false, error: String(e.message || e), code: e.errno || e.code || 'ERROR' });
  }
  try {
    const rows = await api.write(words[0], words.slice(1));
    await api.close();
    done({ ok: true, rows });
  } catch (e) {
    try { await api.close(); } catch (_) { /* already gone */ }
    done({ ok: false, error: String(e.message || e), code: e.errno || e.code || 'TRAP' });
  }
})();
