#!/usr/bin/env node
/*
 * Integration test: the unmodified npm client node-routeros 1.6.9 against a
 * real tikgate-sim on a random loopback address (127.x.y.z) with free ports.
 * Also checks the winbox port's API login (issue 4) and the dst-nat relay
 * with and without masquerade. Bounded: the whole run is killed after 90 s.
 *
 * env: TIKGATE_SIM (the binary), NODE_PATH (…/node_modules).
 */
'use strict';

const assert = require('assert');
const net = require('net');
const { spawn } = require('child_process');
const { RouterOSAPI } = require('node-routeros');

const SIM = process.env.TIKGATE_SIM;
if (!SIM) {
  console.error('TIKGATE_SIM is not set');
  process.exit(2);
}

const watchdog = setTimeout(() => {
  console.error('FAIL: timed out');
  if (sim) sim.kill('SIGKILL');
  process.exit(1);
}, 90000);

const rnd = (lo, hi) => lo + Math.floor(Math.random() * (hi - lo + 1));
const octets = [rnd(100, 250), rnd(1, 250), rnd(2, 200)];
const ADDR = `127.${octets[0]}.${octets[1]}.${octets[2]}`;
const LAN = `127.${octets[0]}.${octets[1]}.${octets[2] + 1}`; // the "LAN" behind the router
const LAN_SRC = `127.${octets[0]}.${octets[1]}.${octets[2] + 2}`; // --lan-address (masquerade)

let sim = null;
let simLog = '';

function freePort(host) {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function waitFor(pred, ms, what) {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (pred()) return resolve();
      if (Date.now() - t0 > ms) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 20);
    };
    tick();
  });
}

async function api(port, user, password) {
  const c = new RouterOSAPI({ host: ADDR, user, password, port, timeout: 5 });
  c.on('error', () => {}); // a dropped connection after login must not crash the test
  await c.connect();
  return c;
}

async function loginFails(port, user, password) {
  const c = new RouterOSAPI({ host: ADDR, user, password, port, timeout: 5 });
  c.on('error', () => {});
  try {
    await c.connect();
  } catch (e) {
    return e.errno || e.message;
  }
  await c.close();
  return 'logged in';
}

function connectTcp(host, port) {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

function roundTrip(sock, text) {
  return new Promise((resolve, reject) => {
    let got = '';
    const onData = (d) => {
      got += d.toString();
      if (got.length >= text.length) {
        sock.removeListener('data', onData);
        resolve(got);
      }
    };
    sock.on('data', onData);
    sock.once('error', reject);
    sock.write(text);
  });
}

async function main() {
  const apiPort = await freePort(ADDR);
  let winboxPort = await freePort(ADDR);
  while (winboxPort === apiPort) winboxPort = await freePort(ADDR);
  const natPort = await freePort(ADDR);
  const echoPort = await freePort(LAN);

  sim = spawn(SIM, [
    '--address', ADDR, '--lan-address', LAN_SRC, '--admin-password', 's3cret',
    '--service', `api=${apiPort}`, '--service', `winbox=${winboxPort}`,
    '--service', 'telnet=off', '--service', 'ftp=off', '--service', 'www=off',
    '--service', 'ssh=off', '--service', 'www-ssl=off', '--service', 'api-ssl=off',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  sim.stderr.on('data', (d) => { simLog += d.toString(); });
  let exited = null;
  sim.on('exit', (code, sig) => { exited = { code, sig }; });
  await waitFor(() => /service winbox: listening/.test(simLog) && /service api: listening/.test(simLog),
    5000, 'the sim to listen');

  // 1. identity, add (ret), print with a query, remove
  const c = await api(apiPort, 'admin', 's3cret');
  const ident = await c.write('/system/identity/print');
  assert.deepStrictEqual(ident, [{ name: 'MikroTik' }]);
  const added = await c.write('/user/add', ['=name=nodetest', '=group=read', '=password=pw1',
    '=comment=tikgate:test:1']);
  assert.strictEqual(added.length, 1);
  assert.match(added[0].ret, /^\*[0-9A-F]+$/);
  const id = added[0].ret;
  const rows = await c.write('/user/print', ['?name=nodetest']);
  assert.strictEqual(rows.length, 1);
  assert.strictEqual(rows[0]['.id'], id);
  assert.strictEqual(rows[0].group, 'read');
  assert.strictEqual(rows[0].password, undefined);
  const onlyName = await c.write('/user/print', ['=.proplist=name', '?comment=tikgate:test:1']);
  assert.deepStrictEqual(onlyName, [{ name: 'nodetest' }]);
  // the read-only user cannot change anything
  const ro = await api(apiPort, 'nodetest', 'pw1');
  await assert.rejects(ro.write('/user/add', ['=name=x', '=group=full']),
    /not enough permissions \(9\)/);
  assert.strictEqual((await ro.write('/system/identity/print'))[0].name, 'MikroTik');
  await ro.close();
  await c.write('/user/remove', [`=.id=${id}`]);
  assert.deepStrictEqual(await c.write('/user/print', ['?name=nodetest']), []); // bare !done
  await assert.rejects(c.write('/user/remove', [`=.id=${id}`]), /no such item/);
  await assert.rejects(c.write('/user/add', ['=name=y', '=group=full', '=colour=red']),
    /unknown parameter colour/);
  console.log('ok - identity, add/ret, print with query and proplist, remove, traps');

  // 2. wrong password, unknown user
  assert.strictEqual(await loginFails(apiPort, 'admin', 'wrong'), 'CANTLOGIN');
  assert.strictEqual(await loginFails(apiPort, 'ghost', 's3cret'), 'CANTLOGIN');
  console.log('ok - wrong password and unknown user: CANTLOGIN');

  // 3. a user whose address list excludes 127.0.0.1 cannot log in; allowed once it includes it
  await c.write('/user/add', ['=name=fenced', '=group=full', '=password=pw2',
    '=address=10.0.0.0/8']);
  assert.strictEqual(await loginFails(apiPort, 'fenced', 'pw2'), 'CANTLOGIN');
  await c.write('/user/set', ['=numbers=fenced', '=address=10.0.0.0/8,127.0.0.1/32']);
  assert.strictEqual(await loginFails(apiPort, 'fenced', 'pw2'), 'logged in');
  console.log('ok - user address list');

  // 4. the winbox port accepts the API login (issue 4); the service address list applies
  const wb = await api(winboxPort, 'fenced', 'pw2');
  assert.strictEqual((await wb.write('/system/identity/print'))[0].name, 'MikroTik');
  await wb.close();
  await c.write('/ip/service/set', ['=numbers=winbox', '=address=192.0.2.0/24']);
  assert.strictEqual(await loginFails(winboxPort, 'admin', 's3cret'), 'CANTLOGIN');
  await c.write('/ip/service/set', ['=numbers=winbox', '=address=', '=disabled=yes']);
  await waitFor(() => /service winbox: stopped listening/.test(simLog), 3000, 'winbox to close');
  assert.match(String(await loginFails(winboxPort, 'admin', 's3cret')), /ECONNREFUSED|-111|CANTLOGIN/); // node-routeros reports errno -111
  // the existing API session survived the service change
  assert.strictEqual((await c.write('/ip/service/print', ['?name=winbox']))[0].disabled, 'true');
  console.log('ok - winbox port speaks the API; service address list and disable');

  // 5. dst-nat relays TCP to the LAN address; masquerade changes the source; removal cuts
  const peers = [];
  const echo = net.createServer((s) => {
    peers.push(s.remoteAddress);
    s.on('data', (d) => s.write(d));
    s.on('error', () => {});
  });
  await new Promise((r) => echo.listen(echoPort, LAN, r));
  const nat = await c.write('/ip/firewall/nat/add', ['=chain=dstnat', '=action=dst-nat',
    '=protocol=tcp', `=dst-port=${natPort}`, `=to-addresses=${LAN}`, `=to-ports=${echoPort}`,
    '=comment=tikgate:fwd:t']);
  await waitFor(() => new RegExp(`listening on ${ADDR.replace(/\./g, '\\.')}:${natPort}`).test(simLog),
    3000, 'the dst-nat listener');
  const s1 = await connectTcp(ADDR, natPort);
  assert.strictEqual(await roundTrip(s1, 'hello through the router'), 'hello through the router');
  assert.strictEqual(peers[0], ADDR);
  s1.destroy();
  await c.write('/ip/firewall/nat/add', ['=chain=srcnat', '=action=masquerade',
    '=comment=tikgate:fwd:t']);
  const s2 = await connectTcp(ADDR, natPort);
  assert.strictEqual(await roundTrip(s2, 'masq'), 'masq');
  assert.strictEqual(peers[1], LAN_SRC);
  const closed = new Promise((r) => s2.once('close', r));
  await c.write('/ip/firewall/nat/remove', [`=.id=${nat[0].ret}`]);
  await Promise.race([closed, new Promise((_, rej) => setTimeout(() => rej(new Error('not cut')), 3000))]);
  await assert.rejects(connectTcp(ADDR, natPort), /ECONNREFUSED/);
  echo.close();
  console.log('ok - dst-nat relay, masquerade source, removal cuts and closes');

  // 6. /system/reboot drops the connection but keeps the state
  c.write('/system/reboot').catch(() => {});
  await waitFor(() => /reboot: dropping every connection/.test(simLog), 3000, 'the reboot');
  const c2 = await api(apiPort, 'admin', 's3cret');
  assert.strictEqual((await c2.write('/user/print', ['?name=fenced'])).length, 1);
  await c2.close();
  console.log('ok - reboot keeps the state');

  // 7. SIGTERM stops it cleanly
  sim.kill('SIGTERM');
  await waitFor(() => exited !== null, 5000, 'the sim to exit');
  assert.deepStrictEqual(exited, { code: 0, sig: null });
  console.log('ok - SIGTERM: clean exit');
}

main().then(() => {
  clearTimeout(watchdog);
  process.exit(0);
}).catch((e) => {
  console.error('FAIL:', e && e.stack ? e.stack : e);
  console.error('--- sim log ---\n' + simLog);
  if (sim) sim.kill('SIGKILL');
  process.exit(1);
});
