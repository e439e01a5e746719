"""Issue 4 end to end: transient access and forwards through tikgate's edge to a
simulated router, with node-routeros as the user's client.

Addresses: the edge listens on 127.0.0.1, the router (tikgate-sim) is 127.0.0.7, the LAN
device behind it is an echo server on 127.0.0.8, masqueraded relays come from 127.0.0.9.
"""
import datetime
import json
import os
import subprocess
import time

import netutil
import simharness
import tg
from simharness import wait_for

ROOT = tg.ROOT
NODE_PATH = os.path.join(ROOT, 'node_modules')
ROS_CMD = os.path.join(os.path.dirname(__file__), 'ros_cmd.js')
ENV = {'TIKGATE_POLL_INTERVAL': '1', 'TIKGATE_ALLOW_PRIVATE_SOURCES': '1',
       'TIKGATE_EDGE_LISTEN': '127.0.0.1', 'TIKGATE_ENTRY_POINT': '127.0.0.1',
       'TIKGATE_EDGE_PORTS': '23000-23999', 'TIKGATE_JOB_BACKOFF_MS': '100'}


def ros(host, port, user, password, *words):
    out = subprocess.run(['node', ROS_CMD, host, str(port), user, password] + list(words),
                         capture_output=True, timeout=30, env=dict(os.environ,
                                                                   NODE_PATH=NODE_PATH))
    line = out.stdout.decode().strip().splitlines()
    return json.loads(line[-1]) if line else {'ok': False, 'error': out.stderr.decode()}


def iso_in(seconds):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds)
    return t.strftime('%Y-%m-%dT%H:%M:%S+00:00')


class TransientEndToEnd(tg.DaemonTest):
    daemon_env = ENV

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # ssh on 2222 (as many operators do): the simulator runs as any user, no port offset.
        pol = cls.d.request('GET', '/v1/control-plane/policies').json[0]
        body = tg.policy_body(pol)
        body['ssh']['port'] = 2222
        cls.d.request('PUT', '/v1/control-plane/policies/' + pol['id'], body)
        site = cls.d.request('POST', '/v1/sites', {'name': 'edge-e2e'}).json
        cls.site = site['id']
        cls.base = '/v1/control-plane/%s' % cls.site
        cls.sim = simharness.Sim('127.0.0.7', bootstrap_command=site['bootstrap_command'],
                                 lan_address='127.0.0.9').start()
        cls.lan = netutil.EchoServer('127.0.0.8', 0)
        ok = wait_for(lambda: any(u['name'] == 'tikgate-api' for u in cls.sim.menu('/user')), 10)
        if not ok:
            raise RuntimeError('the simulator did not adopt:\n' + cls.sim.log())

    @classmethod
    def tearDownClass(cls):
        cls.lan.close()
        cls.sim.cleanup()
        super().tearDownClass()

    def grant(self, kind, gid):
        return self.d.request('GET', '%s/%s/%s' % (self.base, kind, gid)).json

    def wait_committed(self, kind, gid):
        g = wait_for(lambda: (lambda x: x if x['config_committed_to_site'] else None)(
            self.grant(kind, gid)), 10)
        self.assertTrue(g, 'the router-side job did not complete:\n' + self.sim.log()[-2000:])
        return g

    def test_access_login_through_the_edge_then_revoke(self):
        r = self.d.request('POST', self.base + '/transient-access',
                           {'expire_after_minutes': 30, 'type': 'winbox', 'full_access': True,
                            'allow_only_cidr': '127.0.0.1/32'})
        self.assertEqual(r.status, 201, r)
        a = r.json
        self.wait_committed('transient-access', a['id'])
        res = wait_for(lambda: (lambda x: x if x['ok'] else None)(
            ros(a['entry_point'], a['port'], a['username'], a['password'],
                '/system/identity/print')), 10)
        self.assertTrue(res, 'login through the edge failed')
        self.assertEqual(res['rows'][0]['name'], 'MikroTik')
        users = {u['name']: u for u in self.sim.menu('/user')}
        self.assertEqual(users[a['username']]['group'], 'full')
        # From an address outside allow_only_cidr the edge refuses the connection.
        bad = netutil.connect(a['port'], source='127.0.0.2')
        try:
            got = netutil.roundtrip(bad, b'\x06/login\x00')
        except (ConnectionResetError, BrokenPipeError):
            got = b''
        bad.close()
        self.assertEqual(got, b'')
        # A live connection, then revoke: cut within a second, login fails, user removed.
        live = netutil.connect(a['port'])
        time.sleep(0.2)
        t0 = time.time()
        self.assertEqual(self.d.request('DELETE', '%s/transient-access/%s' %
                                        (self.base, a['id'])).status, 204)
        self.assertIsNotNone(netutil.wait_closed(live, 2))
        self.assertLess(time.time() - t0, 1.0)
        live.close()
        res = ros(a['entry_point'], a['port'], a['username'], a['password'],
                  '/system/identity/print')
        self.assertFalse(res['ok'])
        gone = wait_for(lambda: a['username'] not in [u['name'] for u in self.sim.menu('/user')],
                        10)
        self.assertTrue(gone, 'the temporary user is still on the router')
        g = wait_for(lambda: (lambda x: x if x['config_removed_from_site'] else None)(
            self.grant('transient-access', a['id'])), 10)
        self.assertTrue(g)
        self.assertTrue(g['config_committed_to_site'])
        self.assertTrue(g['config_removed_from_site'])
        self.assertTrue(g['config_removed_from_mpac'])
        self.assertTrue(g['revoked_early'] and g['expired'])

    def test_read_only_access_cannot_add_users(self):
        r = self.d.request('POST', self.base + '/transient-access',
                           {'expire_after_minutes': 30, 'type': 'winbox', 'full_access': False,
                            'allow_only_cidr': '127.0.0.1/32'})
        a = r.json
        self.wait_committed('transient-access', a['id'])
        users = {u['name']: u for u in self.sim.menu('/user')}
        self.assertEqual(users[a['username']]['group'], 'tikgate-ro')
        res = wait_for(lambda: (lambda x: x if x['ok'] else None)(
            ros('127.0.0.1', a['port'], a['username'], a['password'], '/system/identity/print')),
            10)
        self.assertTrue(res, '\n'.join(l for l in self.d.log().splitlines()
                                       if 'edge' in l or 'warn' in l)[-3000:] +
                        self.sim.log()[-3000:])
        res = ros('127.0.0.1', a['port'], a['username'], a['password'], '/user/add',
                  '=name=intruder', '=group=full', '=password=x')
        self.assertFalse(res['ok'], res)
        self.assertNotIn('intruder', [u['name'] for u in self.sim.menu('/user')])

    def test_ssh_access_relays_to_the_ssh_port(self):
        r = self.d.request('POST', self.base + '/transient-access',
                           {'type': 'ssh', 'full_access': True,
                            'allow_only_cidr': '127.0.0.1/32'})
        a = r.json
        self.wait_committed('transient-access', a['id'])
        # The simulator's ssh port speaks the RouterOS API as a stand-in.
        res = wait_for(lambda: (lambda x: x if x['ok'] else None)(
            ros('127.0.0.1', a['port'], a['username'], a['password'], '/system/identity/print')),
            10)
        self.assertTrue(res, self.sim.log()[-1500:])
        self.assertEqual(a['onclick'], 'ssh://%s@127.0.0.1:%d' % (a['username'], a['port']))

    def test_forward_bytes_then_patch_expiry(self):
        for masquerade in (False, True):
            with self.subTest(masquerade=masquerade):
                r = self.d.request('POST', self.base + '/transient-forward',
                                   {'expire_after_minutes': 10, 'dst_address': '127.0.0.8',
                                    'dst_port': self.lan.port, 'allow_only_cidr': '127.0.0.1/32',
                                    'masquerade': masquerade})
                self.assertEqual(r.status, 201, r)
                f = r.json
                self.wait_committed('transient-forward', f['id'])
                nat = [n for n in self.sim.menu('/ip/firewall/nat')
                       if n.get('comment') == 'tikgate:fwd:' + f['id']]
                self.assertEqual(len(nat), 2 if masquerade else 1, nat)
                s = wait_for(lambda: self._try_roundtrip(f['port']), 10)
                self.assertTrue(s, 'no bytes came back through the forward')
                payload = os.urandom(256 * 1024)
                self.assertEqual(netutil.roundtrip(s, payload), payload)
                when = iso_in(2)
                r = self.d.request('PATCH', '%s/transient-forward/%s' % (self.base, f['id']),
                                   {'expires_at': when})
                self.assertEqual(r.status, 200, r)
                deadline = datetime.datetime.fromisoformat(when).timestamp()
                self.assertIsNotNone(netutil.wait_closed(s, 5))
                s.close()
                self.assertLess(abs(time.time() - deadline), 1.0)
                self.assertFalse(netutil.port_open(f['port']))
                gone = wait_for(lambda: not [n for n in self.sim.menu('/ip/firewall/nat')
                                             if n.get('comment') == 'tikgate:fwd:' + f['id']], 10)
                self.assertTrue(gone, 'the dst-nat rule is still on the router')
                path = '%s/transient-forward/%s/connections' % (self.base, f['id'])
                conns = wait_for(lambda: (lambda cs: cs if any(
                    c['bytes_in'] >= len(payload) for c in cs) else None)(
                        self.d.request('GET', path).json), 3)
                self.assertTrue(conns, self.d.request('GET', path).json)

    @staticmethod
    def _try_roundtrip(port):
        try:
            s = netutil.connect(port, timeout=2)
            if netutil.roundtrip(s, b'ping') == b'ping':
                return s
            s.close()
        except OSError:
            pass
        return None


if __name__ == '__main__':
    tg.main()
