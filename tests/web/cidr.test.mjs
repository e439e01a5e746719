// Unit tests of web/assets/cidr.js, the portal's early check of addresses and networks.
// The server (src/common/cidr.c) stays the judge; these cases pin what the portal catches
// before a round trip and, as important, what it lets through for the server to explain.
// Run: node --test tests/web/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cidrProblem, splitNetworks } from '../../web/assets/cidr.js';

const ok = (s) => assert.equal(cidrProblem(s), null, `expected ${JSON.stringify(s)} to pass`);
const bad = (s, re) => {
  const p = cidrProblem(s);
  assert.equal(typeof p, 'string', `expected ${JSON.stringify(s)} to be refused`);
  if (re) assert.match(p, re, `message for ${JSON.stringify(s)}`);
};

test('IPv4 addresses and networks pass', () => {
  for (const s of ['192.0.2.0/24', '10.0.0.0/8', '0.0.0.0/0', '255.255.255.255/32', '127.0.0.1',
    '192.168.88.1', '100.64.0.0/10', ' 198.51.100.0/24 ', '\t10.0.0.0/8\n']) ok(s);
});

test('host bits set are left to the server, which names the network meant', () => {
  // The browser test relies on this: 10.0.0.1/8 gets the server's error at its field.
  for (const s of ['10.0.0.1/8', '192.168.1.77/24', '2001:db8::1/32']) ok(s);
});

test('malformed IPv4 addresses are refused', () => {
  for (const s of ['10.0.0.300/8', '256.0.0.0', '1.2.3', '1.2.3.4.5', '1..2.3', '1.2.3.', '.1.2.3',
    'a.b.c.d', '1.2.3.-4', '1.2.3.4 5', '1.2.3.0x1', '１.2.3.4', '1.2.3.4e0', '+1.2.3.4']) {
    bad(s, /is not an IPv4 or IPv6 address/);
  }
});

test('leading zeros are refused, as the server does (010 reads as octal 8 elsewhere)', () => {
  for (const s of ['010.0.0.1', '1.2.3.04', '01.2.3.4/32', '00.0.0.0']) bad(s, /is not an IPv4 or IPv6 address/);
  bad('10.0.0.0/08', /prefix length/);
  bad('::/00', /prefix length/);
  ok('0.0.0.0/0');
});

test('prefix lengths must be 0..32 for IPv4 and 0..128 for IPv6', () => {
  bad('127.0.0.1/33', /must be 0 to 32 \(got '33'\)/);
  bad('10.0.0.0/', /must be 0 to 32 \(got ''\)/);
  bad('10.0.0.0/-1', /must be 0 to 32/);
  bad('10.0.0.0/8a', /must be 0 to 32/);
  bad('10.0.0.0/1000', /must be 0 to 32/);
  bad('10.0.0.0/ 8', /must be 0 to 32/);
  bad('2001:db8::/129', /must be 0 to 128 \(got '129'\)/);
  ok('2001:db8::/128');
  ok('::/0');
  ok('10.0.0.0/32');
});

test('more than one slash is refused', () => {
  bad('10.0.0.0/8/8', /more than one '\/'/);
  bad('10.0.0.0//8', /more than one '\/'/);
});

test('empty input asks for a value', () => {
  for (const s of ['', '   ', '\n']) bad(s, /^Enter an address or network/);
  bad('/24', /'' is not an IPv4 or IPv6 address/);
});

test('IPv6 addresses and networks pass', () => {
  for (const s of ['::1', '::', '::/0', '2001:db8::/32', '2001:DB8:0:0:0:0:0:1', 'fe80::1/64',
    '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7::', '::1:2:3:4:5:6:7', '::ffff:192.0.2.1', '::ffff:192.0.2.0/120',
    '1:2:3:4:5:6:1.2.3.4', '2001:0db8:0000:0000:0000:0000:0000:0001/128']) ok(s);
});

test('malformed IPv6 addresses are refused', () => {
  // The same verdicts as inet_pton(AF_INET6), which the server uses.
  for (const s of ['1:2:3:4:5:6:7:8:9', '1::2::3', '12345::', ':::', ':1::', '1::2:', '::1:',
    '1:2:3:4:5:6:7:1.2.3.4', '::ffff:1.2.3', '::ffff:256.1.1.1', '::ffff:010.1.1.1', 'g::1',
    'fe80::1%eth0', '[::1]', '::1]/x[', '1.2.3.4::', '::0x1', '2001:db8:: 1']) {
    bad(s, /is not an IPv4 or IPv6 address/);
  }
});

test('messages quote the input so the user sees what was read', () => {
  assert.equal(cidrProblem('10.0.0.300/8'), "'10.0.0.300' is not an IPv4 or IPv6 address.");
  assert.equal(cidrProblem('1/2/3'), "'1/2/3' has more than one '/'.");
});

test('splitNetworks splits on lines, commas and spaces and drops empties', () => {
  assert.deepEqual(splitNetworks('10.0.0.0/8\n192.168.0.0/16'), ['10.0.0.0/8', '192.168.0.0/16']);
  assert.deepEqual(splitNetworks(' 10.0.0.0/8, 10.1.0.0/16\r\n\n\t::1 '), ['10.0.0.0/8', '10.1.0.0/16', '::1']);
  assert.deepEqual(splitNetworks(''), []);
  assert.deepEqual(splitNetworks(' ,\n '), []);
});
