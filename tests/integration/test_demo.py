"""Issue 12 item 5: `scripts/run.sh --demo` from a fresh clone.

The checkout is cloned into a temporary directory (`git clone --shared`, of the working tree as
`git stash create` records it, so uncommitted changes to tracked files are tried too), and the
clone's `scripts/run.sh --demo` runs against the binaries meson built (TIKGATE_BUILD_DIR):
building the clone again would take minutes on CI and test the compiler, not the demo. The
demo reads nothing else from the tree it runs in but tracked files, and it deletes and
re-creates its data dir at start, so this is what a newcomer's fresh clone does after its
build (docs/demo.md).

Checks: every site online and a transient login through the edge (RouterOS API, rosapi.py,
with the grant's credentials) within 60 s of the start; SIGINT to the demo's process group
(Ctrl-C) stops it with status 0 and leaves no process behind. Every process of the demo's
session is killed on every exit path of the test.
"""
import json
import os
import random
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

import rosapi
import tg
from simharness import wait_for

ROOT = tg.ROOT
BUILD = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(tg.TIKGATED))))
CLI = os.environ.get('TIKGATE_CLI') or os.path.join(BUILD, 'src', 'cli', 'tikgate')
SITES = 5
BUDGET = 60  # seconds from the start of run.sh to a working login through the edge


def session_pids(sid):
    """Live (non-zombie) processes whose session id is sid."""
    out = []
    for d in os.listdir('/proc'):
        if not d.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % d) as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(')') + 2:].split()
        if int(fields[3]) == sid and fields[0] != 'Z':
            out.append(int(d))
    return out


def kill_session(sid):
    for pid in session_pids(sid):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def fresh_clone(dest):
    """Clones ROOT's working tree (tracked files, uncommitted changes included) into dest."""
    def git(*args, cwd=ROOT):
        return subprocess.run(['git'] + list(args), cwd=cwd, check=True, capture_output=True,
                              timeout=60).stdout.decode().strip()
    rev = git('stash', 'create') or git('rev-parse', 'HEAD')
    git('clone', '-q', '--shared', '--no-checkout', ROOT, dest)
    git('checkout', '-q', '--detach', rev, cwd=dest)
    return dest


class Demo(unittest.TestCase):
    def setUp(self):
        tmp = tempfile.mkdtemp(prefix='tg-demo-')
        self.addCleanup(shutil.rmtree, tmp, True)
        if shutil.which('git') and os.path.exists(os.path.join(ROOT, '.git')):
            self.tree = fresh_clone(os.path.join(tmp, 'clone'))
        else:  # a tarball: the checkout itself (its var/demo is not touched: own data dir)
            self.tree = ROOT
        self.data = os.path.join(tmp, 'demo-data')
        self.port = tg.free_port()
        self.net = '127.%d.%d' % (random.randint(100, 250), random.randint(1, 250))
        lo = random.randrange(30000, 32500, 100)
        self.env = dict(os.environ, TIKGATE_BUILD_DIR=BUILD, TIKGATE_DEMO_DIR=self.data,
                        TIKGATE_LISTEN='127.0.0.1:%d' % self.port, TIKGATE_DEMO_NET=self.net,
                        TIKGATE_EDGE_PORTS='%d-%d' % (lo, lo + 99),
                        TIKGATE_DEMO_SITES=str(SITES))
        self.out_path = os.path.join(tmp, 'demo.out')
        self.proc = None

    def start(self):
        self.out = open(self.out_path, 'wb')
        self.addCleanup(self.out.close)
        self.t0 = time.time()
        self.proc = subprocess.Popen([os.path.join(self.tree, 'scripts', 'run.sh'), '--demo'],
                                     cwd=self.tree, env=self.env, stdout=self.out,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        # Registered after the clean-up of the directory, so it runs before it.
        self.addCleanup(kill_session, self.proc.pid)

    def output(self):
        with open(self.out_path, 'rb') as f:
            return f.read().decode(errors='replace')

    def diag(self, tail=1500):
        logs = ''
        for name in ['tikgated.log'] + ['demo-%d.log' % (i + 1) for i in range(SITES)]:
            try:
                with open(os.path.join(self.data, name), 'rb') as f:
                    logs += '\n--- %s\n%s' % (name, f.read().decode(errors='replace')[-(tail or 0):])
            except OSError:
                pass
        return '--- run.sh output\n' + self.output()[-3000:] + logs

    def api(self, method, path, body=None):
        with open(os.path.join(self.data, 'admin.key')) as f:
            key = f.read().strip()
        d = tg.Daemon.__new__(tg.Daemon)  # only its request(): no process of its own
        d.tls, d.port = None, self.port
        return d.request(method, path, body, auth=key)

    def test_fresh_clone_demo(self):
        self.start()
        ready = wait_for(lambda: self.proc.poll() is not None or
                         re.search(r'demo: \d+ sites online', self.output()),
                         BUDGET, 0.2)
        self.assertTrue(ready, 'no "sites online" within %d s\n%s' % (BUDGET, self.diag()))
        self.assertIsNone(self.proc.poll(), 'the demo exited\n' + self.diag())
        out = self.output()
        sites = self.api('GET', '/v1/sites').json
        self.assertEqual(len(sites), SITES, sites)
        self.assertEqual({s['status'] for s in sites}, {'online'}, sites)
        self.assertEqual(len({s['software_version'] for s in sites}), SITES, sites)  # variety
        # The printed portal login signs in.
        m = re.search(r'demo: portal +http://127\.0\.0\.1:%d/ +sign in as (\S+) / (\S+)$'
                      % self.port, out, re.M)
        self.assertTrue(m, out)
        self.assertEqual(m.group(1), 'admin@tikgate.local')
        r = self.api('POST', '/v1/auth/login', {'email': m.group(1), 'password': m.group(2)})
        self.assertEqual(r.status, 200, r)

        # The printed commands: the CLI with the exported URL and key creates the grant.
        m = re.search(r'export (TIKGATE_URL=\S+) (TIKGATE_TOKEN=\S+)', out)
        self.assertTrue(m, out)
        cli_env = dict(os.environ)
        for kv in m.groups():
            k, v = kv.split('=', 1)
            cli_env[k] = v
        m = re.search(r'^\s*(\S+/tikgate) (access create demo-1 .*-o json)$', out, re.M)
        self.assertTrue(m, out)
        self.assertTrue(os.access(m.group(1), os.X_OK), m.group(1))
        r = subprocess.run([m.group(1)] + m.group(2).split(), env=cli_env, capture_output=True,
                           timeout=30)
        self.assertEqual(r.returncode, 0, r)
        g = json.loads(r.stdout)
        self.assertEqual(g['entry_point'], '127.0.0.1')

        def login():
            try:
                c = rosapi.Client(g['entry_point'], g['port'], timeout=3)
                try:
                    c.login(g['username'], g['password'])
                    return c.run('/system/identity/print')
                finally:
                    c.close()
            except (rosapi.TrapError, OSError):
                return None
        rows = wait_for(login, max(1, BUDGET - (time.time() - self.t0)), 0.2)
        self.assertTrue(rows, 'no login through the edge within %d s\n%s' % (BUDGET, self.diag()))
        self.assertEqual(rows[0]['name'], 'demo-1')
        took = time.time() - self.t0
        self.assertLess(took, BUDGET)
        print('demo: sites online and a login through the edge after %.1f s' % took)

        # The printed RouterOS client line works as printed (rosapi.py: no node_modules in a
        # fresh clone).
        m = re.search(r'^\s*python3 (tests/integration/rosapi.py) 127\.0\.0\.1 PORT USERNAME '
                      r'PASSWORD (\S+)$', out, re.M)
        if self.tree != ROOT:
            self.assertTrue(m, out)
        if m:
            r = subprocess.run(['python3', m.group(1), g['entry_point'], str(g['port']),
                                g['username'], g['password'], m.group(2)], cwd=self.tree,
                               capture_output=True, timeout=30)
            self.assertEqual(r.returncode, 0, r)
            self.assertEqual(json.loads(r.stdout)[0]['name'], 'demo-1')

        # Ctrl-C: SIGINT to the whole process group, as a terminal sends it.
        sid = self.proc.pid
        self.assertGreaterEqual(len(session_pids(sid)), SITES + 2)  # run.sh, tikgated, sims
        os.killpg(sid, signal.SIGINT)
        try:
            rc = self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.fail('the demo did not stop within 20 s of SIGINT\n' + self.diag())
        self.assertEqual(rc, 0, self.diag())
        left = wait_for(lambda: not session_pids(sid), 5, 0.1)
        self.assertTrue(left, 'processes left: %s' % session_pids(sid))
        self.assertIn('demo: stopping', self.output())
        # Under a sanitizer build (meson test -C build-asan) any report fails the test, as
        # tg.Daemon.stop() does for the other tests.
        report = re.search(tg.SANITIZER_REPORT, self.diag(tail=None))
        self.assertIsNone(report, self.diag()[-6000:])


if __name__ == '__main__':
    tg.main()
