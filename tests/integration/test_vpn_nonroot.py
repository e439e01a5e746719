"""docs/vpn.md "Running an edge without root": tikgated as an unprivileged user with only
CAP_NET_ADMIN, as ambient capability (what systemd's AmbientCapabilities= gives), runs the
management VPN: it creates its WireGuard interface with the wireguard-go it starts, which runs
as that user too and inherits the capability. Without the capability it refuses to start
(TIKGATE_VPN=wireguard) and names what is missing.

In the edge namespace of netns.py. The user is nobody (65534). What the service user needs
besides the capability is set up inside the private mount namespace of `ip netns exec` (nothing
changes on the machine itself): /var/run/wireguard (wireguard-go's UAPI sockets, systemd's
RuntimeDirectory=wireguard) is a tmpfs owned by the user, and /dev/net/tun (0600 root here) is
replaced by a node of the same device the user may open (systemd: DeviceAllow=, or a group).
setpriv(1) switches the user and sets the capability sets.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import netns

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
TIKGATED = os.environ.get('TIKGATED') or os.path.join(ROOT, 'build', 'src', 'daemon', 'tikgated')
USER = 65534
PORT = 8080

# Runs inside `ip netns exec`, as root, in its private mount namespace; execs tikgated as USER.
WRAP = r'''
set -eu
mount -t tmpfs -o mode=0755,uid={uid},gid={uid} tikgate-uapi /var/run/wireguard
mknod -m 0600 /var/run/wireguard/.tun c 10 200
chown {uid}:{uid} /var/run/wireguard/.tun
mount --bind /var/run/wireguard/.tun /dev/net/tun
exec setpriv --reuid={uid} --regid={uid} --clear-groups {caps} -- "$@"
'''
WITH_CAP = '--inh-caps=+net_admin --ambient-caps=+net_admin --bounding-set=-all,+net_admin'
WITHOUT_CAP = '--inh-caps=-all --bounding-set=-all'


class VpnWithoutRoot(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        reason = netns.skip_reason()
        if reason:
            raise unittest.SkipTest(reason)
        for prog in ('wireguard-go', 'setpriv', 'curl'):
            if not shutil.which(prog):
                raise AssertionError('%s is missing: run scripts/setup.sh --test' % prog)
        cls.topo = netns.Topology().up()

    @classmethod
    def tearDownClass(cls):
        cls.topo.close()

    def start(self, caps, tmp, ifname):
        data = os.path.join(tmp, 'data')
        os.makedirs(data)
        os.chown(data, USER, USER)
        os.chmod(tmp, 0o755)
        env = {'TIKGATE_DATA_DIR': data, 'TIKGATE_LISTEN': '127.0.0.1:%d' % PORT,
               'TIKGATE_VPN': 'wireguard', 'TIKGATE_WG_INTERFACE': ifname,
               'TIKGATE_ENTRY_POINT': netns.EDGE_PUB, 'TIKGATE_EDGE_LISTEN': netns.EDGE_PUB,
               'TIKGATE_EDGE_PORTS': '42000-42099', 'TIKGATE_ROLES': 'api,edge',
               'TIKGATE_SHARE_DIR': ROOT, 'PATH': os.environ.get('PATH', '/usr/bin:/bin')}
        log_path = os.path.join(tmp, 'tikgated.log')
        log = open(log_path, 'wb')
        p = self.topo.popen('edge', 'sh', '-c', WRAP.format(uid=USER, caps=caps), 'wrap',
                            TIKGATED, env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        return p, log_path

    def read(self, path):
        with open(path, 'rb') as f:
            return f.read().decode(errors='replace')

    def test_1_ambient_cap_net_admin_is_enough(self):
        with tempfile.TemporaryDirectory(prefix='tg-nonroot-') as tmp:
            ifname = self.topo.wg_name('n')
            p, log = self.start(WITH_CAP, tmp, ifname)
            try:
                netns.wait_until(lambda: self.topo.run(
                    'edge', 'curl', '-s', '-o', '/dev/null', '-w', '%{http_code}',
                    'http://127.0.0.1:%d/healthz' % PORT, check=False).strip() == '200',
                    30, 0.2, 'tikgated to answer (log: %s)' % log)
                self.assertIsNone(p.poll(), self.read(log)[-3000:])
                # info lines reach the file from a buffer (common/log.c): wait for it
                netns.wait_until(lambda: 'up: 100.64.0.1/10' in self.read(log), 10, 0.1,
                                 'the interface line in the log')
                out = self.topo.run('edge', 'ip', '-o', 'addr', 'show', 'dev', ifname)
                self.assertIn('100.64.0.1/10', out)
                # tikgated and its wireguard-go: the user, CAP_NET_ADMIN (bit 12) and nothing else
                for pid in [p.pid] + self.children(p.pid):
                    st = self.status(pid)
                    self.assertEqual(st['Uid'].split()[:2], [str(USER)] * 2, (pid, st))
                    self.assertEqual(int(st['CapEff'], 16), 1 << 12, (pid, st))
                wg = [c for c in self.children(p.pid) if b'wireguard-go' in self.cmdline(c)]
                self.assertEqual(len(wg), 1, self.read(log)[-3000:])
            finally:
                self.topo.stop(p)

    def test_2_without_the_capability_it_refuses_and_says_why(self):
        with tempfile.TemporaryDirectory(prefix='tg-nonroot-') as tmp:
            p, log = self.start(WITHOUT_CAP, tmp, self.topo.wg_name('m'))
            try:
                rc = p.wait(timeout=30)
            finally:
                self.topo.stop(p)
            self.assertNotEqual(rc, 0)
            self.assertIn('CAP_NET_ADMIN is missing', self.read(log))

    @staticmethod
    def children(pid):
        out = []
        for d in os.listdir('/proc'):
            if not d.isdigit():
                continue
            try:
                with open('/proc/%s/stat' % d) as f:
                    st = f.read()
            except OSError:
                continue
            if int(st[st.rindex(')') + 2:].split()[1]) == pid:
                out.append(int(d))
        return out

    @staticmethod
    def status(pid):
        with open('/proc/%d/status' % pid) as f:
            return dict(ln.rstrip('\n').split(':\t', 1) for ln in f if ':\t' in ln)

    @staticmethod
    def cmdline(pid):
        with open('/proc/%d/cmdline' % pid, 'rb') as f:
            return f.read()


if __name__ == '__main__':
    netns.main()
