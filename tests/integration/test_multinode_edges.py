"""Issue 11 item 3 on PostgreSQL: sites belong to an edge, and move when it dies.

Two nodes share one PostgreSQL database and one master key, each with every role and its own
edge: edge-a listens and is reached on 127.0.0.21 (ports 24010-24019), edge-b on 127.0.0.22
(24000-24009). Two simulated routers with external tunnels
(127.0.0.31 and .32) adopt through different API nodes and get different edges (the least
loaded). Grants come from their site's edge whichever API node made them; objects made on one
node are read and changed on the other. Then edge-a is SIGKILLed: its site moves to edge-b
(TIKGATE_EDGE_MOVE_AFTER=1) with its grant re-bound on the same port, the move is in the
orchestration log, bytes flow through edge-b, and the other site's live connection through
edge-b never notices. With moving off, a dead edge's site answers 503 edge_unavailable for a
new grant until an admin moves it (POST /v1/sites/{id}/move).
"""
import os
import shutil
import signal
import tempfile
import time
import unittest

import netutil
import simharness
import tg
from simharness import wait_for

HEARTBEAT_MS = 300


def node_env(name, ip, ports, move_after, url):
    return {'TIKGATE_NODE_NAME': name, 'TIKGATE_HEARTBEAT_MS': str(HEARTBEAT_MS),
            'TIKGATE_EDGE_MOVE_AFTER': str(move_after), 'TIKGATE_DATABASE': url,
            'TIKGATE_EDGE_LISTEN': ip, 'TIKGATE_ENTRY_POINT': ip,
            'TIKGATE_EDGE_PORTS': ports, 'TIKGATE_ALLOW_PRIVATE_SOURCES': '1',
            'TIKGATE_POLL_INTERVAL': '1', 'TIKGATE_JOB_BACKOFF_MS': '100'}


class TwoEdges(unittest.TestCase):
    move_after = 1

    @classmethod
    def setUpClass(cls):
        if tg.BACKEND != 'postgres':
            raise unittest.SkipTest('a multi-node test: run with TIKGATE_TEST_DATABASE=postgres')
        cls.tmp = tempfile.mkdtemp(prefix='tg-multi-')
        dir_a, dir_b = os.path.join(cls.tmp, 'a'), os.path.join(cls.tmp, 'b')
        os.mkdir(dir_a)
        os.mkdir(dir_b)
        url = tg.database_url(dir_a)
        cls.sims, cls.echo, cls.socks = [], None, []
        # disjoint port ranges: a moved grant keeps its port (were they shared, a forward whose
        # port the other edge also uses could not follow its site and is revoked, by design)
        cls.a = tg.Daemon(dir_a, env=node_env('edge-a', '127.0.0.21', '24010-24019',
                                              cls.move_after, url))
        cls.b = tg.Daemon(dir_b, env=node_env('edge-b', '127.0.0.22', '24000-24009',
                                              cls.move_after, url))
        try:
            cls.a.start()
            # one installation: the same master key on every node (docs/deployment.md)
            shutil.copy(os.path.join(dir_a, 'master.key'), os.path.join(dir_b, 'master.key'))
            cls.b.start()
            cls.echo = netutil.EchoServer('127.0.0.38', 0)
            cls.site1 = cls.adopt(cls.a, 'branch-1', '127.0.0.31')
            cls.site2 = cls.adopt(cls.b, 'branch-2', '127.0.0.32')
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def adopt(cls, node, name, address):
        site, sim = simharness.adopted(node, name, address, lan_address=address)
        cls.sims.append(sim)
        return site

    @classmethod
    def tearDownClass(cls):
        for s in cls.socks:
            s.close()
        for sim in cls.sims:
            sim.cleanup()
        if cls.echo:
            cls.echo.close()
        for d in (cls.a, cls.b):
            d.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def forward(self, node, site):
        r = node.request('POST', '/v1/control-plane/%s/transient-forward' % site,
                         {'expire_after_minutes': 30, 'dst_address': '127.0.0.38',
                          'dst_port': self.echo.port, 'allow_only_cidr': '127.0.0.1/32',
                          'masquerade': True})
        self.assertEqual(r.status, 201, r)
        return r.json

    def get_forward(self, node, site, fid):
        return node.request('GET', '/v1/control-plane/%s/transient-forward/%s' % (site, fid)).json

    def connected(self, f):
        """A socket that echoes through the forward f (once the router has its rule)."""
        def attempt():
            try:
                s = netutil.connect(f['port'], host=f['entry_point'])
                if netutil.roundtrip(s, b'ping') == b'ping':
                    return s
                s.close()
            except OSError:
                pass
            return None
        s = wait_for(attempt, 15)
        self.assertTrue(s, 'no bytes through %s:%d' % (f['entry_point'], f['port']))
        self.socks.append(s)
        return s

    def site(self, node, sid):
        return node.request('GET', '/v1/sites/' + sid).json


class SitesFollowTheirEdge(TwoEdges):
    def test_1_each_site_has_its_edge_and_its_grants_come_from_there(self):
        s1, s2 = self.site(self.b, self.site1), self.site(self.a, self.site2)
        self.assertEqual({s1['edge'], s2['edge']}, {'edge-a', 'edge-b'})
        self.assertEqual(s1['edge'], 'edge-a')  # fewest sites, then the name
        nodes = {n['name']: n for n in self.a.request('GET', '/v1/nodes').json}
        self.assertEqual(set(nodes), {'edge-a', 'edge-b'})
        self.assertTrue(all(n['status'] == 'alive' for n in nodes.values()), nodes)
        # made through the other API node, from the site's edge
        f1 = self.forward(self.b, self.site1)
        f2 = self.forward(self.a, self.site2)
        self.assertEqual(f1['entry_point'], '127.0.0.21')
        self.assertEqual(f2['entry_point'], '127.0.0.22')
        # read and changed through the other node
        r = self.a.request('PATCH', '/v1/control-plane/%s/transient-forward/%s' %
                           (self.site1, f1['id']), {'rate_limit_bps': 0})
        self.assertIn(r.status, (200,), r)
        self.assertEqual(self.get_forward(self.b, self.site1, f1['id'])['id'], f1['id'])
        self.connected(f1)
        self.__class__.f1, self.__class__.f2 = f1, f2
        self.__class__.live2 = self.connected(f2)
        # each edge's grants get its own port range
        self.assertTrue(24010 <= f1['port'] <= 24019, f1)
        self.assertTrue(24000 <= f2['port'] <= 24009, f2)

    def test_2_an_admin_moves_a_site_and_its_grant_follows(self):
        r = self.a.request('POST', '/v1/sites/%s/move' % self.site1, {'edge': 'edge-a'})
        self.assertEqual(r.status, 409, r)
        self.assertEqual(r.json['code'], 'site_on_edge')
        r = self.a.request('POST', '/v1/sites/%s/move' % self.site1, {'edge': 'nowhere'})
        self.assertEqual(r.status, 409, r)
        self.assertEqual(r.json['code'], 'edge_unavailable')
        r = self.a.request('POST', '/v1/sites/%s/move' % self.site1, {'edge': 7})
        self.assertEqual(r.status, 400, r)
        r = self.b.request('POST', '/v1/sites/%s/move' % self.site1, {'edge': 'edge-b'})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json, {'from': 'edge-a', 'to': 'edge-b', 'grants_rebound': 1,
                                  'grants_revoked': 0})
        f = self.get_forward(self.a, self.site1, self.f1['id'])
        self.assertEqual((f['entry_point'], f['port']), ('127.0.0.22', self.f1['port']))
        self.connected(f)
        self.assertTrue(wait_for(lambda: not netutil.port_open(self.f1['port'],
                                                               host='127.0.0.21'), 5))
        r = self.b.request('POST', '/v1/sites/%s/move' % self.site1)  # picked: the other one
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json['to'], 'edge-a')
        f = self.get_forward(self.a, self.site1, self.f1['id'])
        self.assertEqual(f['entry_point'], '127.0.0.21')
        self.connected(f)
        events = self.a.request('GET', '/v1/sites/%s/tunnel/events' % self.site1).json
        moved = [e['message'] for e in events if e['kind'] == 'moved']
        self.assertEqual(len(moved), 2, events)

    def test_3_a_dead_edge_s_sites_move_and_the_other_edge_carries_on(self):
        self.a.stop(sig=signal.SIGKILL)
        t0 = time.time()
        ok = wait_for(lambda: self.site(self.b, self.site1)['edge'] == 'edge-b', 15)
        self.assertTrue(ok, self.b.log()[-3000:])
        took = time.time() - t0
        # dead after 3 heartbeats (0.9 s) + TIKGATE_EDGE_MOVE_AFTER (1 s) + a sweep
        self.assertLess(took, 10)
        f = self.get_forward(self.b, self.site1, self.f1['id'])
        self.assertEqual((f['entry_point'], f['port']), ('127.0.0.22', self.f1['port']))
        self.connected(f)
        # edge-b's own site never noticed: the connection made before the kill still echoes
        self.assertEqual(netutil.roundtrip(self.live2, b'still here'), b'still here')
        events = self.b.request('GET', '/v1/sites/%s/tunnel/events' % self.site1).json
        self.assertIn('from edge-a to edge-b by auto', [e['message'] for e in events][0])
        nodes = {n['name']: n for n in self.b.request('GET', '/v1/nodes').json}
        self.assertEqual(nodes['edge-a']['status'], 'dead')


class MovingOff(TwoEdges):
    move_after = 0

    def test_a_dead_edge_fails_visibly_until_an_admin_moves_its_site(self):
        f1 = self.forward(self.b, self.site1)
        self.assertEqual(f1['entry_point'], '127.0.0.21')
        self.a.stop(sig=signal.SIGKILL)
        dead = wait_for(lambda: self.b.request(
            'POST', '/v1/control-plane/%s/transient-forward' % self.site1,
            {'expire_after_minutes': 30, 'dst_address': '127.0.0.38', 'dst_port': 80,
             'allow_only_cidr': '127.0.0.1/32'}).status == 503, 10)
        self.assertTrue(dead)
        r = self.b.request('POST', '/v1/control-plane/%s/transient-forward' % self.site1,
                           {'expire_after_minutes': 30, 'dst_address': '127.0.0.38',
                            'dst_port': 80, 'allow_only_cidr': '127.0.0.1/32'})
        self.assertEqual(r.status, 503, r)
        self.assertEqual(r.json['code'], 'edge_unavailable')
        self.assertEqual(r.json['type'], 'api_error')
        time.sleep(1.5)  # no automatic move
        self.assertEqual(self.site(self.b, self.site1)['edge'], 'edge-a')
        r = self.b.request('POST', '/v1/sites/%s/move' % self.site1, {'edge': 'edge-a'})
        self.assertEqual(r.status, 409, r)
        r = self.b.request('POST', '/v1/sites/%s/move' % self.site1)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json['to'], 'edge-b')
        self.connected(self.get_forward(self.b, self.site1, f1['id']))


if __name__ == '__main__':
    unittest.main()
