"""Network-namespace topology of issue 9 for integration tests (root, /dev/net/tun, `ip netns`).

    edge ns            nat ns                            rtr ns                    lan ns
    e0 198.51.100.1 -- n0 198.51.100.2 | n1 192.0.2.1/25 -- r0 192.0.2.2/25 | r1 203.0.113.1 -- l0 203.0.113.2
                       masquerade out of n0;             default via 192.0.2.1     default via 203.0.113.1
                       n0 -> n1.. only for established   forwards r1 <-> r0
                                        | n2 192.0.2.129/25 -- r0 192.0.2.130/25  (rtr2 ns, Topology(routers=2))

Each further router (routers=N) gets its own namespace rtr2, rtr3... behind the same NAT (each in a
/27 of 192.0.2.128/25), so several sites share the NAT's public address as real ones do; only the
first router has a LAN.

edges=2 adds a second edge (issue 11: another region's entry point) on another public network:

    edge2 ns  e0 198.18.0.1/24 -- n9 198.18.0.2/24 (nat ns)

The routers reach it through the NAT like the first edge; the two edges reach each other through
the NAT too (routed, not masqueraded: an edge sees the other's own address).

The router namespace has only outbound connectivity: the edge cannot open anything towards it
(the edge has no route to 192.0.2.0/24 and the NAT drops new connections from n0), exactly like a
MikroTik behind a carrier NAT. Tunnel addresses (100.64.0.0/10) live on WireGuard interfaces the
tests create inside these namespaces.

Names are unique per run (prefix tg<pid>): namespaces `<prefix>-edge` etc., WireGuard interface
names from wg_name() (their UAPI sockets in /var/run/wireguard/ are not namespaced). Nothing is
created in the machine's own namespace. close() removes every process, namespace and socket the
topology created; it runs from the context manager, atexit, and on SIGTERM/SIGINT/SIGHUP.

    with netns.Topology() as t:
        t.run('edge', 'ip', 'addr')
        p = t.popen('rtr', 'wireguard-go', '-f', t.wg_name('r'))
"""
import atexit
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import unittest

EDGE_PUB = '198.51.100.1'
NAT_OUT = '198.51.100.2'
NAT_IN = '192.0.2.1'
RTR_WAN = '192.0.2.2'
RTR_LAN = '203.0.113.1'
EDGE2_PUB = '198.18.0.1'
NAT_OUT2 = '198.18.0.2'
LAN_HOST = '203.0.113.2'
UAPI_DIR = '/var/run/wireguard'

_live = []
_lock = threading.Lock()
_handlers_installed = False


def skip_reason():
    """Why namespace tests cannot run here, or None. Only these three are reasons to skip."""
    if os.geteuid() != 0:
        return 'not root: network namespaces need CAP_SYS_ADMIN and CAP_NET_ADMIN'
    try:
        fd = os.open('/dev/net/tun', os.O_RDWR)
        os.close(fd)
    except OSError as e:
        return '/dev/net/tun is not usable (%s)' % e.strerror
    if not shutil.which('ip'):
        return 'no ip(8) (iproute2)'
    r = subprocess.run(['ip', 'netns', 'list'], capture_output=True, timeout=10)
    if r.returncode != 0:
        return '`ip netns` does not work: %s' % r.stderr.decode(errors='replace').strip()
    return None


def _cleanup_all(*_):
    with _lock:
        live = list(_live)
    for t in live:
        t.close()


def _on_signal(sig, frame):
    _cleanup_all()
    signal.signal(sig, signal.SIG_DFL)
    os.kill(os.getpid(), sig)


def _install_handlers():
    global _handlers_installed
    if _handlers_installed:
        return
    _handlers_installed = True
    atexit.register(_cleanup_all)
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        if signal.getsignal(s) in (signal.SIG_DFL, signal.default_int_handler, None):
            signal.signal(s, _on_signal)


def sh(*cmd, check=True, timeout=30, input=None):
    """Runs a command (in the current namespace), returns stdout as text; raises on failure."""
    r = subprocess.run(list(cmd), capture_output=True, timeout=timeout, input=input)
    if check and r.returncode != 0:
        raise RuntimeError('%s failed (%d): %s' % (' '.join(cmd), r.returncode,
                                                   r.stderr.decode(errors='replace').strip()))
    return r.stdout.decode(errors='replace')


def router_wan(i):
    """(router address, NAT address) of router i (1 = the 'rtr' namespace)."""
    if i == 1:
        return RTR_WAN, NAT_IN
    base = 128 + 32 * (i - 2)
    return '192.0.2.%d' % (base + 2), '192.0.2.%d' % (base + 1)


class Topology:
    def __init__(self, prefix=None, routers=1, edges=1):
        assert 1 <= routers <= 5 and edges in (1, 2)
        self.prefix = prefix or 'tg%d' % os.getpid()
        self.routers = ['rtr'] + ['rtr%d' % i for i in range(2, routers + 1)]
        self.edges = edges
        self.roles = ['edge', 'nat'] + self.routers + ['lan'] + (['edge2'] if edges == 2 else [])
        self.ns = {role: '%s-%s' % (self.prefix, role) for role in self.roles}
        self.procs = []
        self.wg_names = []
        self.created = []
        self.closed = False

    # ---- life cycle ----

    def __enter__(self):
        return self.up()

    def __exit__(self, *exc):
        self.close()
        return False

    def up(self):
        _install_handlers()
        with _lock:
            _live.append(self)
        try:
            self._build()
        except BaseException:
            self.close()
            raise
        return self

    def _build(self):
        for role in self.roles:
            sh('ip', 'netns', 'add', self.ns[role])
            self.created.append(self.ns[role])
            self.ip(role, 'link', 'set', 'lo', 'up')
        # veth pairs are created directly inside the namespaces (never in the root one).
        self.ip('edge', 'link', 'add', 'e0', 'type', 'veth', 'peer', 'name', 'n0',
                'netns', self.ns['nat'])
        self.ip('rtr', 'link', 'add', 'r1', 'type', 'veth', 'peer', 'name', 'l0',
                'netns', self.ns['lan'])
        addrs = [('edge', 'e0', EDGE_PUB + '/24'), ('nat', 'n0', NAT_OUT + '/24'),
                 ('rtr', 'r1', RTR_LAN + '/24'), ('lan', 'l0', LAN_HOST + '/24')]
        for i, role in enumerate(self.routers, 1):
            wan, gw = router_wan(i)
            plen = '/25' if i == 1 else '/27'
            self.ip('nat', 'link', 'add', 'n%d' % i, 'type', 'veth', 'peer', 'name', 'r0',
                    'netns', self.ns[role])
            addrs += [('nat', 'n%d' % i, gw + plen), (role, 'r0', wan + plen)]
        if self.edges == 2:
            self.ip('edge2', 'link', 'add', 'e0', 'type', 'veth', 'peer', 'name', 'n9',
                    'netns', self.ns['nat'])
            addrs += [('edge2', 'e0', EDGE2_PUB + '/24'), ('nat', 'n9', NAT_OUT2 + '/24')]
        for role, dev, addr in addrs:
            self.ip(role, 'addr', 'add', addr, 'dev', dev)
            self.ip(role, 'link', 'set', dev, 'up')
        for i, role in enumerate(self.routers, 1):
            self.ip(role, 'route', 'add', 'default', 'via', router_wan(i)[1])
        self.ip('lan', 'route', 'add', 'default', 'via', RTR_LAN)
        for role in ['nat'] + self.routers:
            self.run(role, 'sysctl', '-qw', 'net.ipv4.ip_forward=1')
        if self.edges == 2:
            # the edges reach each other through the NAT; routers only go out
            self.ip('edge', 'route', 'add', EDGE2_PUB + '/32', 'via', NAT_OUT)
            self.ip('edge2', 'route', 'add', EDGE_PUB + '/32', 'via', NAT_OUT2)
        wan = '{ "n0", "n9" }' if self.edges == 2 else '"n0"'
        rules = ('table ip tgnat {\n'
                 ' chain post { type nat hook postrouting priority srcnat;'
                 ' iifname != %s oifname %s masquerade; }\n'
                 ' chain forward_filter { type filter hook forward priority filter; policy drop;\n'
                 '  iifname != %s oifname %s accept;\n'
                 '  iifname %s oifname %s accept;\n'
                 '  iifname %s ct state established,related accept; }\n'
                 '}\n') % (wan, wan, wan, wan, wan, wan, wan)
        self.run('nat', 'nft', '-f', '-', input=rules.encode())

    def close(self):
        """Idempotent: processes, then namespaces (with whatever still runs in them), then sockets."""
        if self.closed:
            return
        self.closed = True
        for p in reversed(self.procs):
            _stop(p)
        for ns in reversed(self.created):
            try:
                pids = sh('ip', 'netns', 'pids', ns, check=False, timeout=10).split()
            except Exception:
                pids = []
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (OSError, ValueError):
                    pass
            for _ in range(50):
                r = subprocess.run(['ip', 'netns', 'del', ns], capture_output=True, timeout=10)
                if r.returncode == 0 or not os.path.exists('/run/netns/' + ns):
                    break
                time.sleep(0.1)
        for name in self.wg_names:
            try:
                os.unlink(os.path.join(UAPI_DIR, name + '.sock'))
            except OSError:
                pass
        with _lock:
            if self in _live:
                _live.remove(self)

    # ---- helpers ----

    def wg_name(self, tag):
        """A WireGuard interface name unique to this run ('e' -> tg1234e); its socket is removed
        at close."""
        name = self.prefix + tag
        assert len(name) <= 15, name
        self.wg_names.append(name)
        return name

    def ip(self, role, *args):
        return sh('ip', '-n', self.ns[role], *args)

    def run(self, role, *cmd, check=True, timeout=30, input=None):
        return sh('ip', 'netns', 'exec', self.ns[role], *cmd, check=check, timeout=timeout,
                  input=input)

    def popen(self, role, *cmd, env=None, **kw):
        """Starts cmd inside the namespace in its own process group; stopped at close()."""
        e = dict(os.environ)
        e.update(env or {})
        p = subprocess.Popen(['ip', 'netns', 'exec', self.ns[role]] + list(cmd), env=e,
                             start_new_session=True, **kw)
        self.procs.append(p)
        return p

    def stop(self, p):
        _stop(p)


def _stop(p, grace=3):
    if p.poll() is None:
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except OSError:
            pass
        try:
            p.wait(grace)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except OSError:
                pass
            p.wait(5)
    for f in (p.stdin, p.stdout, p.stderr):
        if f:
            try:
                f.close()
            except OSError:
                pass


def wait_until(fn, timeout, interval=0.1, what='condition'):
    """Calls fn until it returns something true; returns it, or raises AssertionError."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = fn()
            if last:
                return last
        except Exception as e:  # keep polling; report the last error
            last = e
        time.sleep(interval)
    raise AssertionError('timed out after %.0f s waiting for %s (last: %r)' % (timeout, what, last))


# A byte-exact TCP echo server and client, run with `python3 -c` inside a namespace.
ECHO_SERVER = r'''
import socket, sys, threading
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(16)
print('listening', flush=True)
def echo(c):
    with c:
        while True:
            d = c.recv(65536)
            if not d: break
            c.sendall(d)
while True:
    c, _ = s.accept()
    threading.Thread(target=echo, args=(c,), daemon=True).start()
'''

ECHO_CLIENT = r'''
import hashlib, os, socket, sys, threading
host, port, n, timeout = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
data = os.urandom(n)
s = socket.create_connection((host, port), timeout=timeout)
threading.Thread(target=lambda: (s.sendall(data), s.shutdown(socket.SHUT_WR)), daemon=True).start()
got = bytearray()
while True:
    d = s.recv(65536)
    if not d: break
    got += d
print('echo %s %d' % ('ok' if bytes(got) == data else 'mismatch', len(got)))
'''


def start_echo_server(topo, role, host, port):
    p = topo.popen(role, sys.executable, '-c', ECHO_SERVER, host, str(port),
                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    line = p.stdout.readline()
    if b'listening' not in line:
        raise RuntimeError('echo server on %s:%d did not start' % (host, port))
    return p


def echo(topo, role, host, port, nbytes=65536, timeout=5):
    """True when nbytes of random data come back byte-exact over TCP from role to host:port."""
    r = subprocess.run(['ip', 'netns', 'exec', topo.ns[role], sys.executable, '-c', ECHO_CLIENT,
                        host, str(port), str(nbytes), str(timeout)],
                       capture_output=True, timeout=timeout * 3 + 10)
    return r.returncode == 0 and r.stdout.decode().strip() == 'echo ok %d' % nbytes


def main():
    """unittest.main, but exits 77 (meson's SKIP) when every test was skipped."""
    prog = unittest.main(verbosity=2, exit=False)
    res = prog.result
    # A class skipped in setUpClass counts one skip and no test run.
    if res.skipped and res.wasSuccessful() and len(res.skipped) >= res.testsRun:
        sys.stderr.write('skipped: %s\n' % res.skipped[0][1])
        sys.exit(77)
    sys.exit(0 if res.wasSuccessful() else 1)
