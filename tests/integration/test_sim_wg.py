"""tikgate-sim with a real WireGuard tunnel (issue 9 §6), in the namespaces of netns.py.

The edge namespace runs `tikgate-wg serve` (src/wg) on 100.64.0.1/10, UDP 51820, and a small HTTP
server that stands in for the adopt call (it records the router's public key). The router
namespace, behind the masquerading NAT with outbound reach only, runs tikgate-sim with
`--wireguard --listen-address 0.0.0.0`; its bootstrap command does what tikgate's bootstrap
does: `/interface wireguard add` (the sim makes its own key), reads its public key back with
`[/interface wireguard get [find name="tg-mgmt"] public-key]`, POSTs it to the edge with /tool
fetch, adds the edge as its peer (endpoint, keepalive 25 s) and its /32 with network= the
edge's address. The test enrols that key on the edge, and then:

- the handshake happens through the NAT; a RouterOS API client in the edge namespace
  (rosapi.py) logs in to the sim on its tunnel address and sees public-key, running=true, a
  recent last-handshake, rx/tx > 0, the edge's endpoint as current-endpoint-*;
- peers added, changed and removed over the API (through the tunnel itself) reach the
  wireguard-go device (checked with wg(8)), RouterOS's refusals come back as traps, and the
  edge's session survives them;
- a stopped wireguard-go makes `running` false and the tunnel stall; killed, the sim restarts
  it and re-applies everything, and the tunnel comes back by itself.

Everything (processes, namespaces, UAPI sockets) is removed by netns.Topology on every exit path.
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest

import netns
import test_wg_tunnel as wgt

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
SIM = os.environ.get('TIKGATE_SIM') or os.path.join(ROOT, 'build', 'src', 'sim', 'tikgate-sim')
HERE = os.path.dirname(os.path.abspath(__file__))
EDGE_TUN = '100.64.0.1'
SIM_TUN = '100.64.0.2'
WG_PORT = 51820
ENROL_PORT = 8080
API = 8728
PW = 'tunnel-secret'

ENROL_SERVER = r'''
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = min(int(self.headers.get('Content-Length') or 0), 4096)
        body = self.rfile.read(n).decode(errors='replace').strip()
        self.send_response(200)
        self.send_header('Content-Length', '2')
        self.end_headers()
        self.wfile.write(b'ok')
        print('enrol ' + body, flush=True)
    def log_message(self, *a):
        pass
s = http.server.HTTPServer((sys.argv[1], int(sys.argv[2])), H)
print('listening', flush=True)
s.serve_forever()
'''

# Runs API commands (a JSON list of word lists) in one session; prints one result per command.
ROS_CLIENT = r'''
import json, sys
sys.path.insert(0, sys.argv[1])
import rosapi
host, port, pw, timeout = sys.argv[2], int(sys.argv[3]), sys.argv[4], float(sys.argv[6])
c = rosapi.Client(host, port, timeout=timeout)
c.login('admin', pw)
out = []
for words in json.loads(sys.argv[5]):
    try:
        out.append({'rows': c.run(*words)})
    except rosapi.TrapError as e:
        out.append({'trap': str(e)})
c.close()
print(json.dumps(out))
'''


def duration_secs(s):
    """RouterOS duration ('1m12s', '2h3m', '45s') in seconds."""
    units = {'w': 604800, 'd': 86400, 'h': 3600, 'm': 60, 's': 1}
    total, num = 0, ''
    for ch in s:
        if ch.isdigit():
            num += ch
        else:
            total += int(num) * units[ch]
            num = ''
    assert num == '', s
    return total


class SimWireGuard(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        reason = netns.skip_reason()
        if reason:
            raise unittest.SkipTest(reason)
        for prog in ('wireguard-go', 'wg', 'nft'):
            if not netns.shutil.which(prog):
                raise AssertionError('%s is missing: run scripts/setup.sh --test' % prog)
        cls.topo = netns.Topology().up()
        cls.tmp = tempfile.TemporaryDirectory(prefix='tg-simwg-')
        try:
            cls._setup()
        except BaseException:
            cls.topo.close()
            sys.stderr.write(cls.sim_log())
            cls.tmp.cleanup()
            raise

    @classmethod
    def _setup(cls):
        t = cls.topo
        edge_key = os.path.join(cls.tmp.name, 'edge.key')
        with open(edge_key, 'w') as f:
            f.write(netns.sh(wgt.TOOL, 'genkey'))
        os.chmod(edge_key, 0o600)
        cls.edge_if = t.wg_name('e')
        cls.tool = wgt.Tool(t, '--if', cls.edge_if, '--address', EDGE_TUN + '/10', '--port',
                            str(WG_PORT), '--key-file', edge_key)
        cls.edge_pub = cls.tool.info['public_key']

        cls.enrol = t.popen('edge', sys.executable, '-c', ENROL_SERVER, netns.EDGE_PUB,
                            str(ENROL_PORT), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        if b'listening' not in cls.enrol.stdout.readline():
            raise RuntimeError('the enrol server did not start')

        # The sim's interface *1 becomes Linux interface <prefix>w1; its socket goes at close.
        cls.prefix = t.wg_name('s')
        cls.sim_if = t.wg_name('sw1')
        bootstrap = (
            '/interface wireguard add name=tg-mgmt listen-port=13231 comment="tikgate:mgmt"; '
            ':local pub [/interface wireguard get [find name="tg-mgmt"] public-key]; '
            '/tool fetch url="http://%s:%d/enrol" http-method=post http-data=$pub output=none; '
            '/interface wireguard peers add interface=tg-mgmt public-key="%s" '
            'endpoint-address=%s endpoint-port=%d allowed-address=%s/32 '
            'persistent-keepalive=25s comment="tikgate:mgmt:edge"; '
            '/ip address add address=%s/32 network=%s interface=tg-mgmt comment="tikgate:mgmt"'
            % (netns.EDGE_PUB, ENROL_PORT, cls.edge_pub, netns.EDGE_PUB, WG_PORT, EDGE_TUN,
               SIM_TUN, EDGE_TUN))
        cls.log_path = os.path.join(cls.tmp.name, 'sim.log')
        cls.log_file = open(cls.log_path, 'wb')
        cls.sim = t.popen('rtr', SIM, '--address', netns.RTR_WAN, '--listen-address', '0.0.0.0',
                          '--wireguard', '--wg-prefix', cls.prefix, '--admin-password', PW,
                          '--state-file', os.path.join(cls.tmp.name, 'state.json'),
                          '--bootstrap-command', bootstrap, '--log-level', 'info',
                          stdout=cls.log_file, stderr=subprocess.STDOUT)
        line = cls._readline_bounded(cls.enrol.stdout, 20)
        if not line.startswith('enrol '):
            raise RuntimeError('the sim did not enrol its key: %r' % line)
        cls.sim_pub = line.split()[1]
        # The edge learns the router's key (the adopt call) and adds it as a peer.
        cls.tool.ok('peer %s %s/32' % (cls.sim_pub, SIM_TUN))

    @staticmethod
    def _readline_bounded(stream, timeout):
        import select
        r, _, _ = select.select([stream], [], [], timeout)
        return stream.readline().decode(errors='replace').strip() if r else ''

    @classmethod
    def tearDownClass(cls):
        cls.topo.close()
        cls.log_file.close()
        cls.tmp.cleanup()

    @classmethod
    def sim_log(cls):
        try:
            with open(cls.log_path, 'rb') as f:
                return f.read().decode(errors='replace')
        except (OSError, AttributeError):
            return ''

    def ros(self, role, host, *cmds, timeout=5):
        """Runs API commands as admin from a namespace; one {'rows'|'trap'} per command."""
        r = subprocess.run(['ip', 'netns', 'exec', self.topo.ns[role], sys.executable, '-c',
                            ROS_CLIENT, HERE, host, str(API), PW, json.dumps(list(cmds)),
                            str(timeout)], capture_output=True, timeout=timeout * 4 + 10)
        if r.returncode != 0:
            raise RuntimeError('API client in %s to %s failed: %s' %
                               (role, host, r.stderr.decode(errors='replace').strip()[-300:]))
        return json.loads(r.stdout)

    def rows(self, role, host, *words):
        res = self.ros(role, host, list(words))[0]
        self.assertNotIn('trap', res, res)
        return res['rows']

    def wait_tunnel_api(self, timeout=30):
        return netns.wait_until(lambda: self.rows('edge', SIM_TUN, '/system/identity/print'),
                                timeout, 0.3, 'the API on the tunnel address')

    def sim_wg_pid(self):
        """wireguard-go children of the sim (the sim is the popen'd process: ip netns exec
        execs it)."""
        pids = []
        for d in os.listdir('/proc'):
            if not d.isdigit():
                continue
            try:
                with open('/proc/%s/stat' % d) as f:
                    st = f.read()
            except OSError:
                continue
            comm = st[st.index('(') + 1:st.rindex(')')]
            ppid = int(st[st.rindex(')') + 2:].split()[1])
            if ppid == self.sim.pid and comm.startswith('wireguard-go'):
                pids.append(int(d))
        return pids[0] if len(pids) == 1 else None

    def wg_show(self, what):
        return self.topo.run('rtr', 'wg', 'show', self.sim_if, what)

    def test_1_handshake_and_print(self):
        """Handshake through the NAT; print over the tunnel shows what RouterOS shows."""
        netns.wait_until(
            lambda: float(self.tool.show()[1].get(self.sim_pub, {}).get('last_handshake', 0)) > 0,
            20, 0.1, 'a handshake from the sim')
        self.wait_tunnel_api()
        res = self.ros('edge', SIM_TUN, ['/interface/wireguard/print'],
                       ['/interface/wireguard/peers/print'],
                       ['/interface/wireguard/print', '=.proplist=name,public-key,running',
                        '?running=true'],
                       ['/ip/address/print', '?interface=tg-mgmt'])
        [itf] = res[0]['rows']
        self.assertEqual(itf['name'], 'tg-mgmt')
        self.assertEqual(itf['public-key'], self.sim_pub)
        self.assertEqual(itf['running'], 'true')
        self.assertEqual(itf['mtu'], '1420')
        self.assertEqual(itf['listen-port'], '13231')
        self.assertEqual(itf['comment'], 'tikgate:mgmt')
        self.assertEqual(len(itf['private-key']), 44)  # admin (group full) has `sensitive`
        [peer] = res[1]['rows']
        self.assertEqual(peer['public-key'], self.edge_pub)
        self.assertEqual(peer['interface'], 'tg-mgmt')
        self.assertEqual(peer['allowed-address'], EDGE_TUN + '/32')
        self.assertEqual(peer['persistent-keepalive'], '25s')
        self.assertEqual(peer['current-endpoint-address'], netns.EDGE_PUB)
        self.assertEqual(peer['current-endpoint-port'], str(WG_PORT))
        self.assertLess(duration_secs(peer['last-handshake']), 60, peer)
        self.assertGreater(int(peer['rx']), 0)
        self.assertGreater(int(peer['tx']), 0)
        self.assertEqual(res[2]['rows'], [{'name': 'tg-mgmt', 'public-key': self.sim_pub,
                                           'running': 'true'}])
        [addr] = res[3]['rows']
        self.assertEqual((addr['address'], addr['network']), (SIM_TUN + '/32', EDGE_TUN))
        # The Linux side: the point-to-point address and the MTU on the sim's own device.
        out = self.topo.ip('rtr', '-o', 'addr', 'show', 'dev', self.sim_if)
        self.assertIn('%s peer %s/32' % (SIM_TUN, EDGE_TUN), out)
        self.assertIn('mtu 1420', self.topo.ip('rtr', '-o', 'link', 'show', 'dev', self.sim_if))
        # The edge reached the sim from its tunnel address, and the edge's counters agree.
        self.assertIn('logged in from %s via api' % EDGE_TUN, self.sim_log())
        edge_view = self.tool.show()[1][self.sim_pub]
        self.assertTrue(edge_view['endpoint'].startswith(netns.NAT_OUT + ':'), edge_view)
        self.assertGreater(int(edge_view['rx']), 0)

    def test_2_changes_over_the_api(self):
        """add/set/remove over the tunnel reach wireguard-go; refusals are traps."""
        self.wait_tunnel_api()
        other = netns.sh('wg', 'genkey').strip()
        other_pub = netns.sh('wg', 'pubkey', input=(other + '\n').encode()).strip()
        res = self.ros('edge', SIM_TUN,
                       ['/interface/wireguard/peers/add', '=interface=tg-mgmt',
                        '=public-key=' + other_pub, '=allowed-address=10.99.0.0/24',
                        '=comment=second'],
                       ['/interface/wireguard/peers/add', '=interface=tg-mgmt',
                        '=public-key=' + netns.sh('wg', 'genkey').strip()[:-2] + 'x=',
                        '=allowed-address=10.98.0.0/24'],
                       ['/interface/wireguard/peers/add', '=interface=tg-mgmt',
                        '=public-key=' + self.edge_pub, '=allowed-address=10.97.0.0/24'],
                       ['/interface/wireguard/peers/add', '=interface=tg-mgmt',
                        '=public-key=' + netns.sh('wg', 'pubkey', input=netns.sh(
                            'wg', 'genkey').encode()).strip(), '=allowed-address=10.99.0.128/25'],
                       ['/interface/wireguard/peers/add', '=interface=nope',
                        '=public-key=' + other_pub, '=allowed-address=10.96.0.0/24'],
                       ['/interface/wireguard/peers/set', '=numbers=peer1',
                        '=persistent-keepalive=20s'])
        self.assertEqual(res[0], {'rows': []})
        self.assertIn('invalid public-key', res[1]['trap'])
        self.assertIn('already exists', res[2]['trap'])
        self.assertIn('overlaps', res[3]['trap'])
        self.assertIn('input does not match any value of interface', res[4]['trap'])
        self.assertEqual(res[5], {'rows': []})
        netns.wait_until(lambda: other_pub in self.wg_show('allowed-ips'), 10, 0.1,
                         'the new peer in wireguard-go')
        self.assertIn('10.99.0.0/24', self.wg_show('allowed-ips'))
        ka = self.wg_show('persistent-keepalive')
        self.assertIn('%s\t20' % self.edge_pub, ka)
        hs_before = self.wg_show('latest-handshakes')
        # Removing the other peer leaves the edge's session as it was.
        rows = self.rows('edge', SIM_TUN, '/interface/wireguard/peers/print',
                         '?comment=second', '=.proplist=.id,name,rx')
        self.assertEqual(rows[0]['rx'], '0')
        self.assertEqual(self.ros('edge', SIM_TUN, ['/interface/wireguard/peers/remove',
                                                    '=.id=' + rows[0]['.id']],
                                  ['/interface/wireguard/peers/set', '=numbers=peer1',
                                   '=persistent-keepalive=25s'])[0], {'rows': []})
        netns.wait_until(lambda: other_pub not in self.wg_show('peers'), 10, 0.1,
                         'the peer removed from wireguard-go')
        edge_line = [ln for ln in hs_before.splitlines() if ln.startswith(self.edge_pub)]
        self.assertIn(edge_line[0], self.wg_show('latest-handshakes'))
        self.assertIn('%s\t25' % self.edge_pub, self.wg_show('persistent-keepalive'))
        # A second address on the interface appears on the link, and goes with remove.
        res = self.ros('edge', SIM_TUN, ['/ip/address/add', '=address=100.64.0.9/32',
                                         '=network=100.64.0.1', '=interface=tg-mgmt',
                                         '=comment=extra'])
        self.assertEqual(res[0], {'rows': []})
        link_addrs = lambda: self.topo.ip('rtr', '-o', 'addr', 'show', 'dev', self.sim_if)
        netns.wait_until(lambda: '100.64.0.9 peer 100.64.0.1/32' in link_addrs(), 10, 0.1,
                         'the second address on the link')
        [row] = self.rows('edge', SIM_TUN, '/ip/address/print', '?comment=extra')
        self.rows('edge', SIM_TUN, '/ip/address/remove', '=.id=' + row['.id'])
        netns.wait_until(lambda: '100.64.0.9' not in link_addrs(), 10, 0.1,
                         'the second address removed')
        self.assertIn('%s peer %s/32' % (SIM_TUN, EDGE_TUN), link_addrs())
        self.wait_tunnel_api(10)

    def test_3_wireguard_go_dies(self):
        """Stopped: running=false, the tunnel stalls. Killed: restarted, tunnel back."""
        self.wait_tunnel_api()
        pid = netns.wait_until(self.sim_wg_pid, 5, 0.1, "the sim's wireguard-go")
        os.kill(pid, signal.SIGSTOP)
        try:
            [itf] = self.rows('rtr', netns.RTR_WAN, '/interface/wireguard/print')
            self.assertEqual(itf['running'], 'false')
            with self.assertRaises(RuntimeError):
                self.ros('edge', SIM_TUN, ['/system/identity/print'], timeout=2)
        finally:
            os.kill(pid, signal.SIGKILL)
        t0 = time.time()
        new = netns.wait_until(lambda: (lambda p: p if p and p != pid else None)(
            self.sim_wg_pid()), 10, 0.1, 'a new wireguard-go')
        self.assertNotEqual(new, pid)
        self.wait_tunnel_api(30)
        sys.stderr.write('tunnel back %.1f s after the kill\n' % (time.time() - t0))
        [itf] = self.rows('edge', SIM_TUN, '/interface/wireguard/print')
        self.assertEqual(itf['running'], 'true')
        self.assertEqual(itf['public-key'], self.sim_pub)  # the same key after the restart
        [peer] = self.rows('edge', SIM_TUN, '/interface/wireguard/peers/print')
        self.assertLess(duration_secs(peer['last-handshake']), 30, peer)
        self.assertIn('restarted', self.sim_log())
        self.assertIn('%s peer %s/32' % (SIM_TUN, EDGE_TUN),
                      self.topo.ip('rtr', '-o', 'addr', 'show', 'dev', self.sim_if))
        # disabled=yes stops the interface (running=false), enabled it comes back by itself.
        self.rows('rtr', netns.RTR_WAN, '/interface/wireguard/set', '=numbers=tg-mgmt',
                  '=disabled=yes')
        netns.wait_until(lambda: self.sim_wg_pid() is None, 10, 0.1, 'wireguard-go stopped')
        [itf] = self.rows('rtr', netns.RTR_WAN, '/interface/wireguard/print')
        self.assertEqual((itf['running'], itf['disabled']), ('false', 'true'))
        self.rows('rtr', netns.RTR_WAN, '/interface/wireguard/set', '=numbers=tg-mgmt',
                  '=disabled=no')
        self.wait_tunnel_api(30)
        [itf] = self.rows('edge', SIM_TUN, '/interface/wireguard/print', '=.proplist=running')
        self.assertEqual(itf, {'running': 'true'})

    def test_4_sigterm(self):
        """SIGTERM: the sim stops its wireguard-go, removes the interface and exits 0."""
        pid = netns.wait_until(self.sim_wg_pid, 5, 0.1, "the sim's wireguard-go")
        self.sim.send_signal(signal.SIGTERM)
        self.assertEqual(self.sim.wait(10), 0)
        self.assertFalse(os.path.exists('/proc/%d' % pid) and
                         'zombie' not in open('/proc/%d/status' % pid).read().lower())
        netns.wait_until(lambda: not os.path.exists(
            os.path.join(netns.UAPI_DIR, self.sim_if + '.sock')), 5, 0.1, 'the UAPI socket gone')
        self.assertNotIn(self.sim_if, self.topo.ip('rtr', '-o', 'link', 'show'))
        log = self.sim_log()
        for bad in ('AddressSanitizer', 'LeakSanitizer', 'runtime error:'):
            self.assertNotIn(bad, log)


if __name__ == '__main__':
    netns.main()
