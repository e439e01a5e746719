"""Issue 11 item 4: PostgreSQL stopped for 10 s under one node running every role.

One tikgated (api, scheduler, dispatcher, edge) on a private PostgreSQL cluster (pgserver.py),
a simulated router (127.0.0.7) with an echo server behind it (127.0.0.8), two transient
forwards with a live relayed connection each: A (30 minutes) and B (its deadline falls in the
outage). The cluster is stopped (fast shutdown) for 10 s:

- B's connection is cut at its deadline and its listener closed: the edge keeps its deadlines;
- A's live connection keeps relaying; after TIKGATE_EDGE_STORE_GRACE (3 s here) a new
  connection to A is refused (the edge cannot see a revoke or record it);
- the API answers 503 storage_unavailable in the error shape, /healthz says degraded.

Then the cluster starts again and, without a restart: the API answers, /healthz is ok, A accepts
new connections, B's teardown is in the orchestration log and its router-side rule removed, the
connection record of B's cut (queued during the outage) is written, a new grant works.

EdgePartition: only the edge loses the database (its role may not log in for a while) while an
API node keeps it; a revoke made meanwhile is applied when the edge is back.
Bounded: about 40 s in all. Suite pg only (it needs the cluster to stop).
"""
import datetime
import os
import shutil
import sys
import tempfile
import time
import unittest

import netutil
import pgserver
import simharness
import tg
from simharness import wait_for

OUTAGE_S = 10
GRACE_S = 3
ENV = {'TIKGATE_POLL_INTERVAL': '1', 'TIKGATE_ALLOW_PRIVATE_SOURCES': '1',
       'TIKGATE_EDGE_LISTEN': '127.0.0.1', 'TIKGATE_ENTRY_POINT': '127.0.0.1',
       'TIKGATE_EDGE_PORTS': '24000-24999', 'TIKGATE_JOB_BACKOFF_MS': '100',
       'TIKGATE_JOB_BACKOFF_MAX_MS': '1000', 'TIKGATE_EDGE_STORE_GRACE': str(GRACE_S)}


def iso(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime(
        '%Y-%m-%dT%H:%M:%S+00:00')


def refused_at_once(port):
    """True when a new connection to port is accepted and closed without relaying a byte."""
    try:
        s = netutil.connect(port)
    except OSError:
        return True
    try:
        return netutil.roundtrip(s, b'ping') != b'ping'
    except OSError:
        return True
    finally:
        s.close()


class PgOutage(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if tg.BACKEND != 'postgres' or not pgserver.pg_bin():
            raise unittest.SkipTest('needs TIKGATE_TEST_DATABASE=postgres and PostgreSQL')
        cls.pg = pgserver.PgServer().start()
        cls.addClassCleanup(cls.pg.stop)
        tg._pg = cls.pg  # tg.Daemon creates its database on this cluster
        cls.d = tg.Daemon(env=ENV)
        cls.addClassCleanup(cls.d.cleanup)
        cls.d.start()
        site = cls.d.request('POST', '/v1/sites', {'name': 'outage'}).json
        cls.site = site['id']
        cls.base = '/v1/control-plane/%s' % cls.site
        cls.sim = simharness.Sim('127.0.0.7', bootstrap_command=site['bootstrap_command'],
                                 lan_address='127.0.0.9').start()
        cls.addClassCleanup(cls.sim.cleanup)
        cls.lan = netutil.EchoServer('127.0.0.8', 0)
        cls.addClassCleanup(cls.lan.close)
        if not wait_for(lambda: any(u['name'] == 'tikgate-api' for u in cls.sim.menu('/user')),
                        15):
            raise RuntimeError('the simulator did not adopt:\n' + cls.sim.log())

    def forward(self, minutes=30):
        r = self.d.request('POST', self.base + '/transient-forward',
                           {'expire_after_minutes': minutes, 'dst_address': '127.0.0.8',
                            'dst_port': self.lan.port, 'allow_only_cidr': '127.0.0.1/32'})
        self.assertEqual(r.status, 201, r)
        f = r.json
        ok = wait_for(lambda: self.d.request('GET', '%s/transient-forward/%s' % (
            self.base, f['id'])).json['config_committed_to_site'], 15)
        self.assertTrue(ok, 'the dst-nat job did not complete:\n' + self.sim.log()[-2000:])
        return f

    def live_connection(self, port):
        def attempt():
            try:
                s = netutil.connect(port)
                if netutil.roundtrip(s, b'hello') == b'hello':
                    return s
                s.close()
            except OSError:
                pass
            return None
        s = wait_for(attempt, 10)
        self.assertTrue(s, 'no bytes came back through the forward on port %d' % port)
        return s

    def nat_rules(self, fid):
        return [n for n in self.sim.menu('/ip/firewall/nat')
                if n.get('comment') == 'tikgate:fwd:' + fid]

    def test_edge_keeps_deadlines_api_answers_503_and_all_resumes(self):
        a, b = self.forward(), self.forward()
        sa, sb = self.live_connection(a['port']), self.live_connection(b['port'])
        deadline_b = int(time.time()) + 8  # inside the outage
        r = self.d.request('PATCH', '%s/transient-forward/%s' % (self.base, b['id']),
                           {'expires_at': iso(deadline_b)})
        self.assertEqual(r.status, 200, r)
        # The edge learns the new deadline at its next reconcile (woken by the PATCH, else
        # every 250 ms): let it happen before the store goes, or it could not know it.
        time.sleep(1.5)

        self.pg.stop_server()
        stopped = time.time()
        try:
            # The API: 503 storage_unavailable in the error shape, a Retry-After; /healthz
            # degraded (200: the process serves).
            r = self.d.request('GET', '/v1/sites')
            self.assertEqual(r.status, 503, r)
            for k in ('type', 'code', 'message', 'doc_url'):
                self.assertIn(k, r.json, r)
            self.assertEqual(r.json['code'], 'storage_unavailable', r)
            self.assertEqual(r.json['doc_url'], '/docs/errors#storage_unavailable')
            self.assertIn('Retry-After', r.headers)
            r = self.d.request('POST', self.base + '/transient-forward',
                               {'expire_after_minutes': 5, 'dst_address': '127.0.0.8',
                                'dst_port': self.lan.port})
            self.assertEqual(r.status, 503, r)
            h = self.d.request('GET', '/healthz', auth=None)
            self.assertEqual(h.status, 200, h)
            self.assertEqual(h.json['status'], 'degraded', h)
            # A's live connection keeps relaying.
            self.assertEqual(netutil.roundtrip(sa, b'during'), b'during')
            # B is cut at its deadline by the edge alone, and its listener closed.
            closed = netutil.wait_closed(sb, deadline_b - time.time() + 3)
            self.assertIsNotNone(closed, 'B was not cut at its deadline during the outage:\n' +
                                 self.d.log()[-4000:])
            self.assertGreaterEqual(time.time(), deadline_b - 0.5)
            self.assertFalse(netutil.port_open(b['port']))
            # After the grace period a new connection to A is refused; A's live one stays.
            wait = stopped + GRACE_S + 1 - time.time()
            if wait > 0:
                time.sleep(wait)
            self.assertTrue(refused_at_once(a['port']),
                            'a new connection was relayed past the grace period:\n' +
                            self.d.log()[-4000:])
            self.assertEqual(netutil.roundtrip(sa, b'still'), b'still')
            self.assertLess(time.time() - stopped, OUTAGE_S, 'the checks outlasted the outage')
            time.sleep(max(0.0, stopped + OUTAGE_S - time.time()))
        finally:
            self.pg.start_server()

        # Everything resumes without a restart.
        back = wait_for(lambda: self.d.request('GET', '/v1/sites').status == 200, 20)
        self.assertTrue(back, 'the API did not recover:\n' + self.d.log()[-3000:])
        self.assertEqual(self.d.request('GET', '/healthz', auth=None).json['status'], 'ok')
        s2 = self.live_connection(a['port'])  # A accepts again
        s2.close()
        self.assertEqual(netutil.roundtrip(sa, b'after'), b'after')
        sa.close()
        sb.close()
        # B's teardown: in the orchestration log once, its dst-nat rule removed from the router.
        gone = wait_for(lambda: not self.nat_rules(b['id']), 20)
        self.assertTrue(gone, 'B\'s dst-nat rule is still on the router')
        jobs = self.d.request('GET', '/v1/sites/%s/jobs' % self.site).json
        expire = [j for j in jobs if j['description'].startswith('Expire transient forward')]
        self.assertEqual(len(expire), 1, jobs)
        g = self.d.request('GET', '%s/transient-forward/%s' % (self.base, b['id'])).json
        self.assertTrue(g['expired'] and not g['revoked_early'], g)
        self.assertTrue(self.nat_rules(a['id']), 'A was torn down')
        # The record of B's cut, queued while the store was away, is written.
        path = '%s/transient-forward/%s/connections' % (self.base, b['id'])
        recs = wait_for(lambda: [c for c in self.d.request('GET', path).json
                                 if c['outcome'] == 'grant_expired'], 5)
        self.assertTrue(recs, self.d.request('GET', path).json)
        # A new grant works end to end.
        c = self.forward()
        sc = self.live_connection(c['port'])
        sc.close()
        log = self.d.log()
        self.assertIn('refusing new connections', log)
        self.assertIn('the store is reachable again', log)


class EdgePartition(unittest.TestCase):
    """The edge alone loses the database (a partition), while an API node keeps it.

    Node A (api, scheduler, dispatcher) and edge node E (edge, api for /healthz) share one
    database; E connects as its own role, tg_edge. E is cut off by making that role NOLOGIN and
    ending its sessions. A grant R is revoked through A meanwhile: E cannot see it, so R's
    listener stays until E is back; after the grace period E refuses new connections to its
    grants (K's live connection goes on). When tg_edge may log in again, E reconciles: R's
    listener is closed (the revoke applied), the record of R's connection queued meanwhile is
    written, K accepts again.
    """

    @classmethod
    def setUpClass(cls):
        if tg.BACKEND != 'postgres' or not pgserver.pg_bin():
            raise unittest.SkipTest('needs TIKGATE_TEST_DATABASE=postgres and PostgreSQL')
        cls.pg = pgserver.PgServer().start()
        cls.addClassCleanup(cls.pg.stop)
        tg._pg = cls.pg
        common = {'TIKGATE_POLL_INTERVAL': '1', 'TIKGATE_ALLOW_PRIVATE_SOURCES': '1',
                  'TIKGATE_JOB_BACKOFF_MS': '100'}
        cls.a = tg.Daemon(env=dict(common, TIKGATE_NODE_NAME='api-1',
                                   TIKGATE_ROLES='api,scheduler,dispatcher'))
        cls.addClassCleanup(cls.a.cleanup)
        cls.a.start()
        url = tg.database_url(cls.a.data_dir)
        cls.psql(cls, 'CREATE ROLE tg_edge LOGIN IN ROLE tikgate')
        cls.e_dir = tempfile.mkdtemp(prefix='tg-it-edge-')
        cls.addClassCleanup(shutil.rmtree, cls.e_dir, True)
        shutil.copy(os.path.join(cls.a.data_dir, 'master.key'), cls.e_dir)
        cls.e = tg.Daemon(data_dir=cls.e_dir, env=dict(
            common, TIKGATE_DATABASE=url.replace('tikgate@', 'tg_edge@'),
            TIKGATE_NODE_NAME='edge-1', TIKGATE_ROLES='edge,api', TIKGATE_EDGE_LISTEN='127.0.0.1',
            TIKGATE_ENTRY_POINT='127.0.0.1', TIKGATE_EDGE_PORTS='24000-24999',
            TIKGATE_EDGE_STORE_GRACE=str(GRACE_S)))
        cls.addClassCleanup(cls.e.cleanup)
        cls.e.start()
        site = cls.a.request('POST', '/v1/sites', {'name': 'partition'}).json
        cls.site = site['id']
        cls.base = '/v1/control-plane/%s' % cls.site
        cls.sim = simharness.Sim('127.0.0.7', bootstrap_command=site['bootstrap_command'],
                                 lan_address='127.0.0.9').start()
        cls.addClassCleanup(cls.sim.cleanup)
        cls.lan = netutil.EchoServer('127.0.0.8', 0)
        cls.addClassCleanup(cls.lan.close)
        if not wait_for(lambda: any(u['name'] == 'tikgate-api' for u in cls.sim.menu('/user')),
                        15):
            raise RuntimeError('the simulator did not adopt:\n' + cls.sim.log())

    def psql(self, sql):
        import subprocess
        db = tg.database_url(self.a.data_dir).split('@/')[1].split('?')[0]
        subprocess.run(self.pg.psql_args(db) + ['-c', sql], check=True, timeout=30,
                       stdout=subprocess.DEVNULL)

    def edge_sessions(self):
        import subprocess
        db = tg.database_url(self.a.data_dir).split('@/')[1].split('?')[0]
        out = subprocess.run(self.pg.psql_args(db) + ['-At', '-c', "SELECT count(*) FROM "
                             "pg_stat_activity WHERE usename = 'tg_edge'"], check=True,
                             timeout=30, stdout=subprocess.PIPE)
        return int(out.stdout.decode().strip() or 0)

    def forward(self):
        r = self.a.request('POST', self.base + '/transient-forward',
                           {'expire_after_minutes': 30, 'dst_address': '127.0.0.8',
                            'dst_port': self.lan.port, 'allow_only_cidr': '127.0.0.1/32'})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json['entry_point'], '127.0.0.1')
        ok = wait_for(lambda: self.a.request('GET', '%s/transient-forward/%s' % (
            self.base, r.json['id'])).json['config_committed_to_site'], 15)
        self.assertTrue(ok, 'the dst-nat job did not complete:\n' + self.sim.log()[-2000:])
        return r.json

    live_connection = PgOutage.live_connection

    def test_a_revoke_made_while_the_edge_was_cut_off_is_applied_when_it_is_back(self):
        r, k = self.forward(), self.forward()
        sr, sk = self.live_connection(r['port']), self.live_connection(k['port'])
        self.psql('ALTER ROLE tg_edge NOLOGIN')
        self.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                  "WHERE usename = 'tg_edge'")
        cut = time.time()
        # the sessions are gone before the revoke (termination is asynchronous)
        self.assertTrue(wait_for(lambda: self.edge_sessions() == 0, 5))
        try:
            self.assertEqual(self.a.request('DELETE', '%s/transient-forward/%s' % (
                self.base, r['id'])).status, 204)
            self.assertEqual(self.e.request('GET', '/healthz', auth=None).json['status'],
                             'degraded')
            # E cannot see the revoke: R's listener stays (what the grace period bounds). (Its
            # live connection ends anyway when the router's dst-nat rule goes: the router side.)
            self.assertTrue(netutil.port_open(r['port']), 'E saw the revoke without the store')
            time.sleep(max(0.0, cut + GRACE_S + 1 - time.time()))
            self.assertTrue(refused_at_once(k['port']),
                            'a new connection was relayed past the grace period:\n' +
                            self.e.log()[-4000:])
            self.assertEqual(netutil.roundtrip(sk, b'kept'), b'kept')
        finally:
            self.psql('ALTER ROLE tg_edge LOGIN')
        # Back: the revoke is applied (R's listener closed, R cut), K accepts again.
        self.assertTrue(wait_for(lambda: not netutil.port_open(r['port']), 10),
                        'R still listens after the edge came back:\n' + self.e.log()[-4000:])
        self.assertIsNotNone(netutil.wait_closed(sr, 5))
        sr.close()
        s2 = self.live_connection(k['port'])
        s2.close()
        self.assertEqual(netutil.roundtrip(sk, b'after'), b'after')
        sk.close()
        # The end of R's connection, queued while E was cut off, is written.
        path = '%s/transient-forward/%s/connections' % (self.base, r['id'])
        recs = wait_for(lambda: [c for c in self.a.request('GET', path).json
                                 if c['outcome'] not in ('open', 'refused', 'limited')], 5)
        self.assertTrue(recs, self.a.request('GET', path).json)
        self.assertEqual(self.e.request('GET', '/healthz', auth=None).json['status'], 'ok')
        self.assertIn('the store is reachable again', self.e.log())


if __name__ == '__main__':
    sys.path.insert(0, os.path.dirname(__file__))
    unittest.main()
