"""Transient access and transient forwards through the API and the edge, without a router.

The site's tunnel address is 127.0.0.3, where an echo server stands in for the router's
winbox port, so bytes through entry_point:port prove the relay; the router-side jobs are
covered by the simulator tests.
"""
import datetime
import os
import re
import time

import netutil
import tg

BLOCKS = tg.seed_json_blocks()
TA_OBJECT, TA_LIST, TA_CREATE, TA_RESP = BLOCKS[11], BLOCKS[12], BLOCKS[13], BLOCKS[14]
FWD_CREATE = {'expire_after_minutes': 120, 'dst_port': 22, 'dst_address': '192.168.88.43',
              'allow_from': '198.51.100.0/24'}
FWD_FIELDS = ['id', 'port', 'revoked_early', 'allow_only_cidr', 'authorized_at', 'expires_at',
              'expired', 'entry_point', 'dst_address', 'dst_port', 'time_to_expire']
PHRASE = r'^\d+ (second|minute|hour)s? from now$'


def iso_in(seconds):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds)
    return t.strftime('%Y-%m-%dT%H:%M:%S+00:00')


class Grants(tg.DaemonTest):
    # refused connections are summed per source over TIKGATE_EDGE_REFUSED_INTERVAL (10 s by
    # default): 1 s here, so their record is there within the test's wait
    daemon_env = {'TIKGATE_ALLOW_PRIVATE_SOURCES': '1', 'TIKGATE_EDGE_LISTEN': '127.0.0.1',
                  'TIKGATE_ENTRY_POINT': 'edge.test', 'TIKGATE_EDGE_PORTS': '21000-21999',
                  'TIKGATE_EDGE_REFUSED_INTERVAL': '1'}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.echo = netutil.EchoServer('127.0.0.3', 8291)
        r = cls.d.request('POST', '/v1/sites', {'name': 'grants', 'tunnel_address': '127.0.0.3'})
        cls.site = r.json['id']
        cls.base = '/v1/control-plane/%s' % cls.site

    @classmethod
    def tearDownClass(cls):
        cls.echo.close()
        super().tearDownClass()

    def create_access(self, **kw):
        body = dict(TA_CREATE, allow_only_cidr='127.0.0.1/32', expire_after_minutes=60)
        body.update(kw)
        r = self.d.request('POST', self.base + '/transient-access', body)
        self.assertEqual(r.status, 201, r)
        return r.json

    def wait_listening(self, port, timeout=3):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if netutil.port_open(port):
                return
            time.sleep(0.05)
        self.fail('edge port %d never opened' % port)

    def test_seed_001_transient_access_replay(self):
        r = self.d.request('POST', self.base + '/transient-access', TA_CREATE)
        self.assertEqual(r.status, 201, r)
        a = r.json
        for key in TA_RESP:
            self.assertIn(key, a, key)
        self.assertRegex(a['username'], r'^[0-9A-Za-z]{24}$')
        self.assertRegex(a['password'], r'^[0-9A-Za-z]{24}$')
        self.assertTrue(21000 <= a['port'] <= 21999)
        for key in ('type', 'full_access', 'allow_rfc1918', 'config_removed_from_site',
                    'config_removed_from_mpac', 'revoked_early', 'expired'):
            self.assertEqual(a[key], TA_RESP[key], key)
        self.assertIsNone(a['config_committed_to_site'])
        self.assertIsNone(a['authorized_at'])
        self.assertEqual(a['entry_point'], 'edge.test')
        # The default source is the caller's own address.
        self.assertEqual((a['allow_only_cidr'], a['allow_only_ip']), ('127.0.0.1/32', '127.0.0.1'))
        self.assertRegex(a['time_to_expire'], r'^(59 minutes|1 hour) from now$')
        self.assertRegex(a['expires_at'], tg.RFC3339)
        self.assertEqual(a['onclick'], 'winbox://edge.test:%d?username=%s&password=%s' %
                         (a['port'], a['username'], a['password']))
        self.assertEqual(a['created_by'], 'admin (bootstrap)')
        # The alias (gen 2) lists it, newest first, with the seed's list fields.
        r = self.d.request('GET', '/control-plane/%s/transient-accesses' % self.site)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json[0]['id'], a['id'])
        for key in TA_LIST[0]:
            self.assertIn(key, r.json[0])
        r = self.d.request('DELETE', '/control-plane/%s/transient-accesses/%s' %
                           (self.site, a['id']))
        self.assertEqual(r.status, 204)

    def test_relay_allow_list_and_revoke(self):
        a = self.create_access()
        self.wait_listening(a['port'])
        s = netutil.connect(a['port'])
        self.assertEqual(netutil.roundtrip(s, b'hello winbox'), b'hello winbox')
        # authorized_at is set while the first connection is still open (records are written
        # in batches every 20 ms).
        deadline = time.time() + 2
        while time.time() < deadline:
            g = self.d.request('GET', '%s/transient-access/%s' % (self.base, a['id'])).json
            if g['authorized_at']:
                break
            time.sleep(0.02)
        self.assertRegex(g['authorized_at'] or '', tg.RFC3339)
        # A source outside allow_only_cidr (127.0.0.2) is refused: no byte comes back.
        bad = netutil.connect(a['port'], source='127.0.0.2')
        try:
            got = netutil.roundtrip(bad, b'let me in')
        except (ConnectionResetError, BrokenPipeError):
            got = b''
        self.assertEqual(got, b'')
        bad.close()
        # Revoke cuts the live connection within a second and closes the port.
        t0 = time.time()
        r = self.d.request('DELETE', '%s/transient-access/%s' % (self.base, a['id']))
        self.assertEqual(r.status, 204)
        cut = netutil.wait_closed(s, 2)
        s.close()
        self.assertIsNotNone(cut, 'the live connection was not cut')
        self.assertLess(time.time() - t0, 1.0)
        self.assertFalse(netutil.port_open(a['port']))
        g = self.d.request('GET', '%s/transient-access/%s' % (self.base, a['id'])).json
        self.assertTrue(g['revoked_early'])
        self.assertTrue(g['expired'])
        self.assertTrue(g['config_removed_from_mpac'])
        self.assertRegex(g['authorized_at'], tg.RFC3339)
        # Connection records reach the store in batches (every 20 ms): wait for the ends.
        deadline = time.time() + 3
        while True:
            conns = self.d.request('GET', '%s/transient-access/%s/connections' %
                                   (self.base, a['id'])).json
            outcomes = sorted(c['outcome'] for c in conns)
            if ('refused' in outcomes and 'open' not in outcomes) or time.time() > deadline:
                break
            time.sleep(0.05)
        self.assertIn('refused', outcomes)
        # one summed record for the refused source: its address (no port) and a count
        refused = [c for c in conns if c['outcome'] == 'refused']
        self.assertEqual([(c['source'], c['count']) for c in refused], [('127.0.0.2', 1)])
        self.assertTrue(all(c['count'] == 1 for c in conns), conns)
        # (wait_listening's probe left an empty connection record too)
        ok = [c for c in conns if c['source'].startswith('127.0.0.1:') and c['bytes_in']]
        self.assertEqual(len(ok), 1, conns)
        self.assertEqual((ok[0]['bytes_in'], ok[0]['bytes_out']), (12, 12))
        self.assertEqual(ok[0]['outcome'], 'grant_closed')
        # The revoke queued a teardown job in the orchestration log.
        jobs = self.d.request('GET', '/v1/sites/%s/jobs' % self.site).json
        self.assertTrue(any(j['description'].startswith('Revoke transient access') for j in jobs))
        # A second revoke is harmless.
        self.assertEqual(self.d.request('DELETE', '%s/transient-access/%s' %
                                        (self.base, a['id'])).status, 204)

    def test_patch_expiry_cuts_at_the_new_time(self):
        a = self.create_access()
        self.wait_listening(a['port'])
        s = netutil.connect(a['port'])
        self.assertEqual(netutil.roundtrip(s, b'x'), b'x')
        when = iso_in(3)
        r = self.d.request('PATCH', '%s/transient-access/%s' % (self.base, a['id']),
                           {'expires_at': when})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json['expires_at'], when)
        deadline = datetime.datetime.fromisoformat(when).timestamp()
        cut = netutil.wait_closed(s, 6)
        s.close()
        self.assertIsNotNone(cut)
        self.assertLess(abs(time.time() - deadline), 1.0, 'cut at the new expiry time')
        self.assertFalse(netutil.port_open(a['port']))
        time.sleep(0.5)
        g = self.d.request('GET', '%s/transient-access/%s' % (self.base, a['id'])).json
        self.assertTrue(g['expired'])
        self.assertFalse(g['revoked_early'])
        r = self.d.request('PATCH', '%s/transient-access/%s' % (self.base, a['id']),
                           {'expires_at': iso_in(60)})
        self.assertError(r, 409, 'conflict_error', 'grant_not_active')

    def test_rate_limit(self):
        a = self.create_access(rate_limit_bps=32768)
        self.assertEqual(a['rate_limit_bps'], 32768)
        self.wait_listening(a['port'])
        s = netutil.connect(a['port'], timeout=20)
        payload = os.urandom(96 * 1024)
        t0 = time.time()
        self.assertEqual(netutil.roundtrip(s, payload), payload)
        slow = time.time() - t0
        # 96 KiB at 32 KiB/s each way: about 3 s (the first burst may pass at once).
        self.assertGreater(slow, 1.5)
        r = self.d.request('PATCH', '%s/transient-access/%s' % (self.base, a['id']),
                           {'rate_limit_bps': 0})
        self.assertEqual(r.status, 200, r)
        self.assertIsNone(r.json['rate_limit_bps'])
        time.sleep(0.5)
        t0 = time.time()
        self.assertEqual(netutil.roundtrip(s, payload), payload)
        self.assertLess(time.time() - t0, 1.0)
        s.close()
        r = self.d.request('PATCH', '%s/transient-access/%s' % (self.base, a['id']),
                           {'rate_limit_bps': 10})
        self.assertError(r, 400, 'invalid_request_error', 'parameter_out_of_range',
                         'rate_limit_bps')

    def test_grants_that_expire_while_down_are_torn_down_at_start(self):
        a = self.create_access()
        when = iso_in(2)
        self.assertEqual(self.d.request('PATCH', '%s/transient-access/%s' % (self.base, a['id']),
                                        {'expires_at': when}).status, 200)
        self.d.stop()
        time.sleep(3)
        self.d.start()
        deadline = time.time() + 2
        g = None
        while time.time() < deadline:
            g = self.d.request('GET', '%s/transient-access/%s' % (self.base, a['id'])).json
            if g['config_removed_from_mpac']:
                break
            time.sleep(0.05)
        self.assertTrue(g['config_removed_from_mpac'] and g['expired'], g)
        self.assertFalse(g['revoked_early'])
        self.assertFalse(netutil.port_open(a['port']))
        jobs = self.d.request('GET', '/v1/sites/%s/jobs' % self.site).json
        self.assertTrue(any(j['description'] == 'Expire transient access ' + a['username']
                            for j in jobs))

    def test_active_filter(self):
        """Seeds 000/001: a plain list is the current grants; ?state=all adds the history."""
        a = self.create_access()
        b = self.create_access()
        self.d.request('DELETE', '%s/transient-access/%s' % (self.base, b['id']))
        for q in ('', '?state=active', '?active=true'):
            active = [x['id'] for x in self.d.request(
                'GET', self.base + '/transient-access' + q).json]
            self.assertIn(a['id'], active, q)
            self.assertNotIn(b['id'], active, q)
        every = [x['id'] for x in self.d.request(
            'GET', self.base + '/transient-access?state=all').json]
        self.assertIn(a['id'], every)
        self.assertIn(b['id'], every)
        r = self.d.request('GET', self.base + '/transient-access?state=history')
        self.assertError(r, 400, 'invalid_request_error', 'parameter_invalid', 'state')

    def test_seed_000_002_forward_replay(self):
        for path in ('/api/routers/%s/transient-forwarding' % self.site,
                     self.base + '/transient-forward'):
            r = self.d.request('POST', path, FWD_CREATE)
            self.assertEqual(r.status, 201, r)
            f = r.json
            for key in FWD_FIELDS:
                self.assertIn(key, f, key)
            self.assertEqual((f['allow_only_cidr'], f['dst_address'], f['dst_port']),
                             ('198.51.100.0/24', '192.168.88.43', 22))
            self.assertEqual((f['revoked_early'], f['expired'], f['authorized_at']),
                             (False, False, None))
            self.assertRegex(f['time_to_expire'], r'^(2 hours|1 hour) from now$')
            self.assertRegex(f['expires_at'], tg.RFC3339)
            got = self.d.request('GET', path + '/' + f['id'])
            self.assertEqual(got.status, 200)
            self.assertEqual(got.json['id'], f['id'])
            listed = self.d.request('GET', path).json
            self.assertIn(f['id'], [x['id'] for x in listed])
            self.assertEqual(self.d.request('DELETE', path + '/' + f['id']).status, 204)
            self.assertTrue(self.d.request('GET', path + '/' + f['id']).json['revoked_early'])

    def test_bad_input_creates_nothing(self):
        def count():
            return sum(1 for r in self.d.db_dump() if r.startswith(('INSERT INTO "grants"',
                                                                     'INSERT INTO public.grants ')))

        before = count()
        ta = self.base + '/transient-access'
        fw = self.base + '/transient-forward'
        cases = [
            (ta, {'expire_after_minutes': 9}, 'expire_after_minutes'),
            (ta, {'expire_after_minutes': 1441}, 'expire_after_minutes'),
            (ta, {'expire_after_minutes': '60'}, 'expire_after_minutes'),
            (ta, {'type': 'telnet'}, 'type'),
            (ta, {'full_access': 'yes'}, 'full_access'),
            (ta, {'allow_only_cidr': '0.0.0.0/0'}, 'allow_only_cidr'),
            (ta, {'allow_only_cidr': '10.0.0.0/8'}, 'allow_only_cidr'),
            (ta, {'allow_only_cidr': 'nonsense'}, 'allow_only_cidr'),
            (fw, dict(FWD_CREATE, dst_port=0), 'dst_port'),
            (fw, dict(FWD_CREATE, dst_port=65536), 'dst_port'),
            (fw, dict(FWD_CREATE, dst_address='169.254.1.1'), 'dst_address'),
            (fw, dict(FWD_CREATE, dst_address='224.0.0.1'), 'dst_address'),
            (fw, dict(FWD_CREATE, dst_address='0.1.2.3'), 'dst_address'),
            (fw, dict(FWD_CREATE, dst_address='255.255.255.255'), 'dst_address'),
            (fw, dict(FWD_CREATE, dst_address='10.0.0.0/24'), 'dst_address'),
            (fw, dict(FWD_CREATE, allow_from='198.51.0.0/16'), 'allow_from'),
            (fw, dict(FWD_CREATE, expire_after_minutes=5), 'expire_after_minutes'),
            (fw, {'dst_port': 22}, 'dst_address'),
            (fw, {'dst_address': '192.168.1.1'}, 'dst_port'),
        ]
        for path, body, param in cases:
            with self.subTest(body=body):
                r = self.d.request('POST', path, body)
                self.assertError(r, 400, 'invalid_request_error', param=param)
        self.assertEqual(count(), before, 'a refused request created a grant')
        ghost = '01234567-89ab-7def-8123-456789abcdef'
        r = self.d.request('POST', '/v1/control-plane/%s/transient-access' % ghost, TA_CREATE)
        self.assertError(r, 404, 'not_found_error')
        _, other = self.d.tenant_create('grant-other')
        theirs = self.d.request('POST', '/v1/sites', {'name': 't'}, auth=other).json['id']
        r = self.d.request('POST', '/v1/control-plane/%s/transient-access' % theirs, TA_CREATE)
        self.assertError(r, 404, 'not_found_error')
        r = self.d.request('POST', '/v1/control-plane/%s/transient-forward' % theirs, FWD_CREATE)
        self.assertError(r, 404, 'not_found_error')
        self.assertEqual(count(), before)
        a = self.create_access()
        for when, code in ((iso_in(-10), 'parameter_out_of_range'),
                           (iso_in(25 * 3600), 'parameter_out_of_range'),
                           ('tomorrow', 'parameter_invalid')):
            r = self.d.request('PATCH', '%s/transient-access/%s' % (self.base, a['id']),
                               {'expires_at': when})
            self.assertError(r, 400, 'invalid_request_error', code, 'expires_at')


class GrantsStrictSources(tg.DaemonTest):
    """Without lab mode: loopback destinations and private sources are refused."""
    daemon_env = {'TIKGATE_EDGE_LISTEN': '127.0.0.1', 'TIKGATE_EDGE_PORTS': '22000-22999'}

    def test_loopback_refused(self):
        site = self.d.request('POST', '/v1/sites', {'name': 'strict'}).json['id']
        fw = '/v1/control-plane/%s/transient-forward' % site
        r = self.d.request('POST', fw, dict(FWD_CREATE, dst_address='127.0.0.1'))
        self.assertError(r, 400, 'invalid_request_error', 'invalid_destination', 'dst_address')
        r = self.d.request('POST', fw, dict(FWD_CREATE, allow_from='192.168.1.0/24'))
        self.assertError(r, 400, 'invalid_request_error', 'source_not_public', 'allow_from')
        # The default source (the caller, 127.0.0.1) is not public either.
        r = self.d.request('POST', '/v1/control-plane/%s/transient-access' % site, TA_CREATE)
        self.assertError(r, 400, 'invalid_request_error', param='allow_only_cidr')
        r = self.d.request('POST', fw, FWD_CREATE)
        self.assertEqual(r.status, 201, r)




class EdgeAbuse(tg.DaemonTest):
    """Security-review F8: refused connections cost summed records, not one row each; live
    connections are capped per source and per grant; the daemon raised its open files limit."""
    daemon_env = {'TIKGATE_ALLOW_PRIVATE_SOURCES': '1', 'TIKGATE_EDGE_LISTEN': '127.0.0.1',
                  'TIKGATE_ENTRY_POINT': 'edge.test', 'TIKGATE_EDGE_PORTS': '22000-22999',
                  'TIKGATE_EDGE_REFUSED_INTERVAL': '1', 'TIKGATE_EDGE_REFUSED_RECORDS': '3',
                  'TIKGATE_EDGE_CONNS_PER_SOURCE': '2', 'TIKGATE_EDGE_CONNS_PER_GRANT': '3'}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.echo = netutil.EchoServer('127.0.0.3', 8291)
        r = cls.d.request('POST', '/v1/sites', {'name': 'abuse', 'tunnel_address': '127.0.0.3'})
        cls.base = '/v1/control-plane/%s' % r.json['id']

    @classmethod
    def tearDownClass(cls):
        cls.echo.close()
        super().tearDownClass()

    def access(self, cidr):
        body = dict(TA_CREATE, allow_only_cidr=cidr, expire_after_minutes=60)
        r = self.d.request('POST', self.base + '/transient-access', body)
        self.assertEqual(r.status, 201, r)
        deadline = time.time() + 3
        while not netutil.port_open(r.json['port']):
            self.assertLess(time.time(), deadline, 'edge port never opened')
            time.sleep(0.05)
        return r.json

    def records(self, grant, want):
        """The grant's connection records once want(records) holds (5 s at most)."""
        deadline = time.time() + 5
        while True:
            conns = self.d.request('GET', '%s/transient-access/%s/connections?limit=100' %
                                   (self.base, grant['id'])).json
            if want(conns) or time.time() > deadline:
                return conns
            time.sleep(0.1)

    def test_flood_of_refused_connections_is_summed(self):
        g = self.access('127.0.0.1/32')  # (port_open's probe from 127.0.0.1 is allowed)
        n = 0
        for i in range(300):  # 300 refused connections from 6 sources
            s = netutil.connect(g['port'], source='127.0.0.%d' % (10 + i % 6))
            s.close()
            n += 1

        def summed(c):
            return sum(x['count'] for x in c if x['outcome'] == 'refused') >= n
        conns = self.records(g, summed)
        refused = [c for c in conns if c['outcome'] == 'refused']
        self.assertEqual(sum(c['count'] for c in refused), n, conns)
        # at most TIKGATE_EDGE_REFUSED_RECORDS (3) records, the rest added to the newest
        self.assertLessEqual(len(refused), 3, refused)
        self.assertTrue(all(c['bytes_in'] == 0 and c['ended_ms'] >= c['started_ms']
                            for c in refused))
        rows = self.d.db_query("SELECT count(*), sum(count) FROM grant_connections WHERE "
                               "grant_id = ? AND outcome = 'refused'", (g['id'],))[0]
        self.assertEqual(rows, (len(refused), n))
        m = self.d.request('GET', '/metrics').raw.decode()
        self.assertRegex(m, r'tikgate_edge_refused_total %d\b' % n)

    def test_live_connections_are_capped(self):
        # .16-.31 only: access()'s port probe from 127.0.0.1 is refused, so it never holds one
        # of the grant's live places while the edge is still tearing it down (seen under TSan)
        g = self.access('127.0.0.16/28')
        a = netutil.connect(g['port'], source='127.0.0.21')
        b = netutil.connect(g['port'], source='127.0.0.21')
        for s in (a, b):
            self.assertEqual(netutil.roundtrip(s, b'in'), b'in')
        # a third from the same source is closed at once (TIKGATE_EDGE_CONNS_PER_SOURCE=2)
        c = netutil.connect(g['port'], source='127.0.0.21')
        self.assertIsNotNone(netutil.wait_closed(c, 2))
        c.close()
        d = netutil.connect(g['port'], source='127.0.0.22')
        self.assertEqual(netutil.roundtrip(d, b'third'), b'third')
        # the grant's fourth (TIKGATE_EDGE_CONNS_PER_GRANT=3), from a fresh source
        e = netutil.connect(g['port'], source='127.0.0.23')
        self.assertIsNotNone(netutil.wait_closed(e, 2))
        e.close()
        conns = self.records(g, lambda c: sum(x['count'] for x in c
                                              if x['outcome'] == 'limited') >= 2)
        limited = sorted((c['source'], c['count']) for c in conns if c['outcome'] == 'limited')
        self.assertEqual(limited, [('127.0.0.21', 1), ('127.0.0.23', 1)], conns)
        for s in (a, b, d):
            s.close()

    def test_open_files_limit_raised(self):
        with open('/proc/%d/limits' % self.d.proc.pid) as f:
            limits = f.read()
        line = [ln for ln in limits.splitlines() if ln.startswith('Max open files')][0].split()
        self.assertEqual(line[3], line[4], line)  # soft raised to the hard limit
        self.assertRegex(self.d.log(), r'open files limit \d+ \(\d+ kept for HTTP and the rest\): the edge relays at most \d+')

if __name__ == '__main__':
    tg.main()
