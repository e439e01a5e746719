"""Issue 11 item 3 with the Management VPN: a managed site moves to another edge.

Two tikgated nodes share one PostgreSQL database (its Unix socket is reachable from every
namespace) and one master key: edge-a in the edge namespace (198.51.100.1) and edge-b in a
second edge namespace (198.18.0.1, netns.Topology(edges=2)), each with its own wireguard-go
interface holding the edge's tunnel address 100.64.0.1 (all edges share the tunnel pool). A
tikgate-sim with --wireguard behind the NAT adopts through edge-a and gets edge-a (the least
loaded edge with a VPN); a forward reaches the LAN echo server through edge-a.

POST /v1/sites/{id}/move {"edge": "edge-b"}: the forward is re-bound to 198.18.0.1 on the same
port in the same transaction, and the router pulls the site.move job through its tunnel to
edge-a (which keeps it as peer meanwhile: make-before-break) once edge-b has configured the
router as its peer (the site's pulled jobs wait for that). The job points the router's peer
at edge-b; its first handshake there settles the move and edge-a drops the peer. Then the
tunnel is up with edge-b's key, the forward carries bytes through edge-b, the router's report
of the job reached edge-b's API through the tunnel, and a custom job reaches the router by
express push from edge-b.

Every process and namespace goes with netns.Topology and the PostgreSQL server on every exit.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

import netns
import pgserver

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
TIKGATED = os.environ.get('TIKGATED') or os.path.join(ROOT, 'build', 'src', 'daemon', 'tikgated')
SIM = os.environ.get('TIKGATE_SIM') or os.path.join(ROOT, 'build', 'src', 'sim', 'tikgate-sim')
KEY = 'tg_sk_integrationTestAdminKey0123456789abcd'
API_PORT = 8080
LAN_PORT = 7007
PW = 'router-admin-secret'


class VpnMove(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        reason = netns.skip_reason()
        if reason:
            raise unittest.SkipTest(reason)
        if not pgserver.pg_bin():
            raise AssertionError('no PostgreSQL server: run scripts/setup.sh --test')
        cls.tmp = tempfile.TemporaryDirectory(prefix='tg-vmove-')
        cls.logs_open = []
        cls.pg = pgserver.PgServer().start()
        cls.topo = netns.Topology(edges=2).up()
        try:
            cls._setup()
        except BaseException:
            sys.stderr.write(cls.logs())
            cls.topo.close()
            cls.pg.stop()
            cls.tmp.cleanup()
            raise

    @classmethod
    def node(cls, role, name, pub, wg_if, url, data_dir):
        env = {'TIKGATE_DATA_DIR': data_dir, 'TIKGATE_DATABASE': url,
               'TIKGATE_NODE_NAME': name, 'TIKGATE_HEARTBEAT_MS': '500',
               'TIKGATE_LISTEN': '0.0.0.0:%d' % API_PORT,  # also on the tunnel address (F5)
               'TIKGATE_PUBLIC_URL': 'http://%s:%d' % (pub, API_PORT),
               'TIKGATE_BOOTSTRAP_TOKEN': KEY, 'TIKGATE_VPN': 'wireguard',
               'TIKGATE_WG_INTERFACE': wg_if, 'TIKGATE_ENTRY_POINT': pub,
               'TIKGATE_EDGE_LISTEN': pub, 'TIKGATE_EDGE_PORTS': '41000-41999',
               'TIKGATE_ALLOW_PRIVATE_SOURCES': '1', 'TIKGATE_POLL_INTERVAL': '1',
               'TIKGATE_JOB_BACKOFF_MS': '200'}
        path = os.path.join(cls.tmp.name, name + '.log')
        log = open(path, 'wb')
        cls.logs_open.append((path, log))
        p = cls.topo.popen(role, TIKGATED, env=env, stdout=log, stderr=subprocess.STDOUT)
        netns.wait_until(lambda: cls.api(role, pub, 'GET', '/healthz', auth=False)[0] == 200,
                         20, 0.1, '%s to answer' % name)
        return p

    @classmethod
    def _setup(cls):
        t = cls.topo
        url = cls.pg.create_database('tg_move')
        dir_a, dir_b = os.path.join(cls.tmp.name, 'a'), os.path.join(cls.tmp.name, 'b')
        os.mkdir(dir_a)
        os.mkdir(dir_b)
        cls.wg_a, cls.wg_b = t.wg_name('e'), t.wg_name('f')
        cls.a = cls.node('edge', 'edge-a', netns.EDGE_PUB, cls.wg_a, url, dir_a)
        shutil.copy(os.path.join(dir_a, 'master.key'), os.path.join(dir_b, 'master.key'))
        cls.b = cls.node('edge2', 'edge-b', netns.EDGE2_PUB, cls.wg_b, url, dir_b)
        st, site = cls.api('edge', netns.EDGE_PUB, 'POST', '/v1/sites', {'name': 'moving'})
        assert st == 201, (st, site)
        cls.site = site
        cls.sim_state = os.path.join(cls.tmp.name, 'state.json')
        path = os.path.join(cls.tmp.name, 'sim.log')
        log = open(path, 'wb')
        cls.logs_open.append((path, log))
        prefix = t.wg_name('s')
        t.wg_name('s1')
        t.wg_name('s2')
        t.popen('rtr', SIM, '--address', netns.RTR_WAN, '--listen-address', '0.0.0.0',
                '--lan-address', netns.RTR_LAN, '--wireguard', '--wg-prefix', prefix,
                '--admin-password', PW, '--state-file', cls.sim_state, '--poll-interval', '1',
                '--defconf', '--bootstrap-command', site['bootstrap_command'],
                '--log-level', 'info', stdout=log, stderr=subprocess.STDOUT)
        netns.start_echo_server(t, 'lan', netns.LAN_HOST, LAN_PORT)

    @classmethod
    def tearDownClass(cls):
        cls.topo.close()
        cls.pg.stop()
        reports = []
        for path, log in cls.logs_open:
            log.close()
            with open(path, 'rb') as f:
                text = f.read().decode(errors='replace')
            m = re.search(r'(ERROR: (Address|Leak)Sanitizer|WARNING: ThreadSanitizer|'
                          r'runtime error:).*', text)
            if m:
                reports.append('%s:\n%s' % (os.path.basename(path),
                                            text[m.start():m.start() + 4000]))
        cls.tmp.cleanup()
        if reports:
            raise AssertionError('sanitizer report:\n' + '\n'.join(reports))

    @classmethod
    def logs(cls):
        out = []
        for path, _ in getattr(cls, 'logs_open', []):
            try:
                with open(path, 'rb') as f:
                    out.append('== %s\n%s' % (os.path.basename(path),
                                             f.read().decode(errors='replace')[-3000:]))
            except OSError:
                pass
        return '\n'.join(out)

    @classmethod
    def api(cls, role, host, method, path, body=None, auth=True):
        """(status, json) of a request from namespace role to the API on host."""
        cmd = ['curl', '-s', '-m', '10', '-X', method, '-w', '\n%{http_code}']
        if auth:
            cmd += ['-H', 'Authorization: Bearer ' + KEY]
        if body is not None:
            cmd += ['-H', 'Content-Type: application/json', '--data', json.dumps(body)]
        out = cls.topo.run(role, *cmd, 'http://%s:%d%s' % (host, API_PORT, path), check=False,
                           timeout=20)
        text, _, code = out.rpartition('\n')
        try:
            data = json.loads(text) if text.strip() else None
        except ValueError:
            data = text
        return int(code or 0), data

    def a_api(self, *args, **kw):
        return self.api('edge', netns.EDGE_PUB, *args, **kw)

    def b_api(self, *args, **kw):
        return self.api('edge2', netns.EDGE2_PUB, *args, **kw)

    def site_now(self, via=None):
        st, s = (via or self.b_api)('GET', '/v1/sites/' + self.site['id'])
        self.assertEqual(st, 200, s)
        return s

    def sim_menu(self, path):
        with open(self.sim_state) as f:
            return json.load(f).get(path, [])

    def wg_peers(self, role, ifname):
        return self.topo.run(role, 'wg', 'show', ifname, 'peers', check=False).split()

    def wait_job(self, job_id, timeout=40):
        def done():
            st, j = self.b_api('GET', '/v1/sites/%s/jobs/%s' % (self.site['id'], job_id))
            return j if st == 200 and j['status'] in ('completed', 'failed') else None
        return netns.wait_until(done, timeout, 0.3, 'job %s to finish' % job_id)

    def test_1_move_a_managed_site_make_before_break(self):
        sid = self.site['id']
        s = netns.wait_until(lambda: (lambda x: x if x['tunnel']['status'] == 'up' else None)(
            self.site_now(self.a_api)), 40, 0.5, 'the tunnel to edge-a to come up')
        self.assertEqual(s['edge'], 'edge-a')
        key_a = self.wg_peers('edge', self.wg_a)
        self.assertEqual(key_a, [s['tunnel']['public_key']])
        self.assertEqual(self.wg_peers('edge2', self.wg_b), [])  # not edge-b's site
        st, fw = self.a_api('POST', '/v1/control-plane/%s/transient-forward' % sid,
                            {'expire_after_minutes': 30, 'dst_address': netns.LAN_HOST,
                             'dst_port': LAN_PORT, 'allow_only_cidr': '198.51.100.0/24'})
        self.assertEqual(st, 201, fw)
        self.assertEqual(fw['entry_point'], netns.EDGE_PUB)
        self.assertTrue(netns.wait_until(
            lambda: netns.echo(self.topo, 'nat', netns.EDGE_PUB, fw['port'], 65536), 40, 0.5,
            'the forward through edge-a'))

        st, moved = self.a_api('POST', '/v1/sites/%s/move' % sid, {'edge': 'edge-b'})
        self.assertEqual(st, 200, moved)
        self.assertEqual(moved, {'from': 'edge-a', 'to': 'edge-b', 'grants_rebound': 1,
                                 'grants_revoked': 0})
        st, f2 = self.b_api('GET', '/v1/control-plane/%s/transient-forward/%s' % (sid, fw['id']))
        self.assertEqual((f2['entry_point'], f2['port']), (netns.EDGE2_PUB, fw['port']))
        st, jobs = self.b_api('GET', '/v1/sites/%s/jobs' % sid)
        [mj] = [j for j in jobs if j['description'].startswith('site.move')]
        j = self.wait_job(mj['id'], 60)
        self.assertEqual(j['status'], 'completed', (j, self.logs()))
        # the job was held back until edge-b had the router as its peer (else the router may
        # switch first, and WireGuard's 5 s handshake retry outlasts the script's report)
        with open(os.path.join(self.tmp.name, 'edge-b.log'), 'rb') as f:
            self.assertIn(b'moved here, its router is a peer', f.read())
        # the router's peer is edge-b now, and the tunnel is up there
        [peer] = self.sim_menu('/interface/wireguard/peers')
        self.assertEqual(peer['endpoint-address'], netns.EDGE2_PUB)
        netns.wait_until(lambda: self.wg_peers('edge2', self.wg_b) == key_a, 20, 0.3,
                         'edge-b to hold the router as its peer')
        netns.wait_until(lambda: self.wg_peers('edge', self.wg_a) == [], 20, 0.3,
                         'edge-a to let the router go once it settled on edge-b')
        s = netns.wait_until(lambda: (lambda x: x if x['tunnel']['status'] == 'up' and
                                      x['tunnel']['endpoint'] else None)(self.site_now()),
                             30, 0.5, 'the tunnel to edge-b to be up')
        self.assertEqual(s['edge'], 'edge-b')
        self.assertEqual(s['tunnel_address'], '100.64.0.2')  # the /32 stays
        # bytes through edge-b (the client in the edge namespace is routed, not NATed)
        self.assertTrue(netns.wait_until(
            lambda: netns.echo(self.topo, 'edge', netns.EDGE2_PUB, fw['port'], 65536), 30, 0.5,
            'the forward through edge-b'))
        self.assertFalse(netns.echo(self.topo, 'nat', netns.EDGE_PUB, fw['port'], 1024, 2))
        # an express push from edge-b reaches the router through its tunnel
        st, job = self.b_api('POST', '/v1/sites/%s/jobs' % sid,
                             {'description': 'after the move', 'script': ':log info moved'})
        self.assertEqual(st, 201, job)
        j = self.wait_job(job['id'], 40)
        self.assertEqual(j['status'], 'completed', j)
        self.assertIn('pushing', [e['kind'] for e in j['events']])
        st, events = self.b_api('GET', '/v1/sites/%s/tunnel/events' % sid)
        self.assertIn('moved', [e['kind'] for e in events])


if __name__ == '__main__':
    netns.main()
