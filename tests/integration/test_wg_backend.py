"""TIKGATE_WG_BACKEND (docs/vpn.md "Kernel or wireguard-go"): which WireGuard tikgated uses, and
what it says about it. Test machines have no wireguard kernel module (and cannot load one), so
what runs here is the selection around it:

- auto (the default): tikgated tries the kernel's WireGuard, which answers "not supported", falls
  back to wireguard-go, logs both facts, and the interface is up with a wireguard-go child;
- kernel: tikgated refuses to start, naming the missing module, even with TIKGATE_VPN=auto
  (the operator asked for the kernel's: running without the VPN would hide that);
- userspace: wireguard-go without trying the kernel.

The kernel path itself is checked at the message level (tests/unit/wg/test_genl.c). On a machine
with the module, auto must pick the kernel: the test then checks that instead, and `kernel`
starts.

In the edge namespace of netns.py (created and removed by the test, on every exit path).
"""
import os
import shutil
import subprocess
import tempfile
import unittest

import netns

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
TIKGATED = os.environ.get('TIKGATED') or os.path.join(ROOT, 'build', 'src', 'daemon', 'tikgated')
PORT = 8080


class WgBackend(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        reason = netns.skip_reason()
        if reason:
            raise unittest.SkipTest(reason)
        for prog in ('wireguard-go', 'curl'):
            if not shutil.which(prog):
                raise AssertionError('%s is missing: run scripts/setup.sh --test' % prog)
        cls.topo = netns.Topology().up()
        # Whether this kernel makes a "wireguard" link (the module, loaded or loadable): ip(8)
        # asks as tikgated does, in the edge namespace, and the link is removed at once.
        probe = cls.topo.wg_name('p')
        cls.topo.run('edge', 'ip', 'link', 'add', probe, 'type', 'wireguard', check=False)
        cls.kernel = probe in cls.topo.run('edge', 'ip', '-o', 'link', check=False)
        if cls.kernel:
            cls.topo.run('edge', 'ip', 'link', 'del', probe, check=False)

    @classmethod
    def tearDownClass(cls):
        cls.topo.close()

    def start(self, tmp, ifname, backend, vpn='wireguard'):
        env = {'TIKGATE_DATA_DIR': os.path.join(tmp, 'data'),
               'TIKGATE_LISTEN': '127.0.0.1:%d' % PORT,
               'TIKGATE_VPN': vpn, 'TIKGATE_WG_INTERFACE': ifname,
               'TIKGATE_ENTRY_POINT': netns.EDGE_PUB, 'TIKGATE_EDGE_LISTEN': netns.EDGE_PUB,
               'TIKGATE_EDGE_PORTS': '42000-42099', 'TIKGATE_ROLES': 'api,edge',
               'TIKGATE_SHARE_DIR': ROOT, 'PATH': os.environ.get('PATH', '/usr/bin:/bin')}
        if backend is not None:
            env['TIKGATE_WG_BACKEND'] = backend
        os.makedirs(env['TIKGATE_DATA_DIR'])
        log_path = os.path.join(tmp, 'tikgated.log')
        with open(log_path, 'wb') as log:
            p = self.topo.popen('edge', TIKGATED, env=env, stdout=log, stderr=subprocess.STDOUT)
        return p, log_path

    @staticmethod
    def read(path):
        with open(path, 'rb') as f:
            return f.read().decode(errors='replace')

    def wait_healthy(self, p, log):
        netns.wait_until(lambda: p.poll() is not None or self.topo.run(
            'edge', 'curl', '-s', '-o', '/dev/null', '-w', '%{http_code}',
            'http://127.0.0.1:%d/healthz' % PORT, check=False).strip() == '200',
            30, 0.2, 'tikgated to answer (log: %s)' % log)
        self.assertIsNone(p.poll(), self.read(log)[-3000:])

    def wireguard_go_children(self, pid):
        out = []
        for d in os.listdir('/proc'):
            if not d.isdigit():
                continue
            try:
                with open('/proc/%s/stat' % d) as f:
                    st = f.read()
                with open('/proc/%s/cmdline' % d, 'rb') as f:
                    cmd = f.read()
            except OSError:
                continue
            if int(st[st.rindex(')') + 2:].split()[1]) == pid and b'wireguard-go' in cmd:
                out.append(int(d))
        return out

    def check_running(self, backend, expect_kernel):
        with tempfile.TemporaryDirectory(prefix='tg-wgbackend-') as tmp:
            ifname = self.topo.wg_name(backend[0] if backend else 'd')
            p, log = self.start(tmp, ifname, backend)
            try:
                self.wait_healthy(p, log)
                # info lines reach the file from a buffer (common/log.c): wait for the VPN's
                text = netns.wait_until(
                    lambda: (lambda t: t if ('backend kernel' in t or
                                             'backend userspace' in t) else None)(self.read(log)),
                    10, 0.1, 'the VPN backend line in the log')
                link = self.topo.run('edge', 'ip', '-d', 'link', 'show', 'dev', ifname)
                self.assertIn('100.64.0.1/10',
                              self.topo.run('edge', 'ip', '-o', 'addr', 'show', 'dev', ifname))
                if expect_kernel:
                    self.assertIn('backend kernel', text)
                    self.assertIn('wireguard', link)  # link kind
                    self.assertEqual(self.wireguard_go_children(p.pid), [])
                else:
                    self.assertIn('backend userspace (wireguard-go pid', text)
                    self.assertEqual(len(self.wireguard_go_children(p.pid)), 1, text[-3000:])
                return text
            finally:
                self.topo.stop(p)

    def test_1_auto_falls_back_to_wireguard_go_and_says_why(self):
        text = self.check_running(None, self.kernel)
        if not self.kernel:
            self.assertIn('kernel WireGuard not used (TIKGATE_WG_BACKEND=auto)', text)
            self.assertIn('the kernel has no WireGuard', text)
            self.assertIn('falling back to wireguard-go', text)

    def test_2_kernel_without_the_module_refuses_to_start(self):
        if self.kernel:
            self.check_running('kernel', True)
            return
        for vpn in ('wireguard', 'auto'):
            with tempfile.TemporaryDirectory(prefix='tg-wgbackend-') as tmp:
                ifname = self.topo.wg_name('k')
                p, log = self.start(tmp, ifname, 'kernel', vpn=vpn)
                try:
                    rc = p.wait(timeout=30)
                finally:
                    self.topo.stop(p)
                text = self.read(log)
                self.assertNotEqual(rc, 0, text)
                self.assertIn('TIKGATE_WG_BACKEND=kernel but the kernel WireGuard cannot be used',
                              text)
                self.assertIn('modprobe wireguard', text)
                self.assertNotIn(ifname, self.topo.run('edge', 'ip', '-o', 'link'))

    def test_3_userspace_does_not_try_the_kernel(self):
        text = self.check_running('userspace', False)
        self.assertNotIn('kernel WireGuard not used', text)


if __name__ == '__main__':
    netns.main()
