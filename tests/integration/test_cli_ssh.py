"""Issue 12 item 1: `tikgate ssh SITE -- COMMAND` runs OpenSSH's real client through the edge to
a real OpenSSH server playing the router's SSH, logs in as the grant's temporary user with its
password and runs the command; once the grant is revoked the same login stops working.

The router is a tikgate-sim on 127.0.0.41 that leaves its ssh service to another program
(--external-service ssh): an sshd the test starts on 127.0.0.41:2222 (the policy's ssh port).
A RouterOS router checks an SSH login against its own /user table; this sshd checks it against
an account file the test keeps equal to the sim's /user table (names and passwords, from the
sim's state file): a wrapper named `ssh` ahead of OpenSSH's on PATH writes it right before it
runs /usr/bin/ssh. So the login works only while the router has the user.

The sshd never sees the machine's accounts and leaves nothing behind: it runs in a mount
namespace of its own (unshare) where /etc/passwd and /etc/shadow are the test's files and /run
is a tmpfs (its privilege-separation directory). Root only (the namespace, and an sshd that
logs users in); skipped with the reason otherwise or without OpenSSH and sshpass.
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

import simharness
import test_cli
import tg
from simharness import wait_for

ROUTER = '127.0.0.41'
SSH_PORT = 2222
ENV = dict(test_cli.ENV, TIKGATE_EDGE_PORTS='25400-25409')
SSHD = '/usr/sbin/sshd'
NEEDED = (SSHD, '/usr/bin/ssh', '/usr/bin/sshpass', '/usr/bin/ssh-keygen', '/usr/bin/unshare',
          '/usr/bin/openssl')


def unavailable():
    if os.geteuid() != 0:
        return 'not root: the test sshd needs a mount namespace and to log users in'
    missing = [p for p in NEEDED if not os.access(p, os.X_OK)]
    if missing:
        return 'missing %s (scripts/setup.sh --test installs them)' % ', '.join(missing)
    return None


# The wrapper: the sim's /user table (state file) becomes the sshd's accounts, then OpenSSH.
# Lines of the machine's passwd for root and sshd (privilege separation) are kept.
WRAPPER = r'''#!%(python)s
import json, os, subprocess, sys, time
users = json.load(open(%(state)r)).get('/user', [])
day = int(time.time() // 86400)
pw, sh = [%(base_passwd)r], [%(base_shadow)r]
for i, u in enumerate(users):
    name, secret = u.get('name', ''), u.get('password', '')
    if not name.isalnum() or not secret or name == 'admin':
        continue
    h = subprocess.run(['/usr/bin/openssl', 'passwd', '-6', '-stdin'], input=secret.encode(),
                       capture_output=True, check=True).stdout.decode().strip()
    pw.append('%%s:x:%%d:65534::%(home)s:/bin/sh\n' %% (name, 61000 + i))
    sh.append('%%s:%%s:%%d:0:99999:7:::\n' %% (name, h, day))
for path, lines in ((%(passwd)r, pw), (%(shadow)r, sh)):
    with open(path, 'r+') as f:   # the same inode: it is bind-mounted in the sshd's namespace
        f.truncate(0)
        f.write(''.join(lines))
os.execv('/usr/bin/ssh', ['ssh'] + sys.argv[1:])
'''

SSHD_CONFIG = '''ListenAddress %(addr)s:%(port)d
HostKey %(dir)s/host_ed25519
PidFile none
UsePAM no
PasswordAuthentication yes
KbdInteractiveAuthentication no
PubkeyAuthentication no
PermitRootLogin no
PermitEmptyPasswords no
StrictModes no
AuthorizedKeysFile none
PrintMotd no
PrintLastLog no
UseDNS no
MaxStartups 10:30:20
LogLevel VERBOSE
'''


class Sshd:
    """OpenSSH's sshd on addr:port in a mount namespace whose /etc/passwd and /etc/shadow are
    files of tmpdir (passwd, shadow: what the wrapper writes)."""

    def __init__(self, addr, port, tmpdir):
        self.dir = tmpdir
        self.passwd = os.path.join(tmpdir, 'passwd')
        self.shadow = os.path.join(tmpdir, 'shadow')
        self.home = os.path.join(tmpdir, 'home')
        self.log_path = os.path.join(tmpdir, 'sshd.log')
        os.mkdir(self.home)
        os.chmod(self.home, 0o755)
        self.base_passwd = 'root:x:0:0:root:/root:/bin/sh\nsshd:x:%d:65534::/run/sshd:' \
                           '/usr/sbin/nologin\n' % self._sshd_uid()
        self.base_shadow = 'root:*:19000:0:99999:7:::\nsshd:*:19000:0:99999:7:::\n'
        for path, text, mode in ((self.passwd, self.base_passwd, 0o644),
                                 (self.shadow, self.base_shadow, 0o600)):
            with open(path, 'w') as f:
                f.write(text)
            os.chmod(path, mode)
        subprocess.run(['/usr/bin/ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f',
                        os.path.join(tmpdir, 'host_ed25519')], check=True, timeout=30)
        cfg = os.path.join(tmpdir, 'sshd_config')
        with open(cfg, 'w') as f:
            f.write(SSHD_CONFIG % {'addr': addr, 'port': port, 'dir': tmpdir})
        script = ('set -e; mount --bind %s /etc/passwd; mount --bind %s /etc/shadow; '
                  'mount -t tmpfs -o mode=755 tmpfs /run; mkdir -m 755 /run/sshd; '
                  # dies with this process even when it is SIGKILLed (no sshd left behind)
                  'exec /usr/bin/setpriv --pdeathsig KILL %s -D -e -f %s'
                  % (self.passwd, self.shadow, SSHD, cfg))
        self._log = open(self.log_path, 'ab')
        # a session of its own: cleanup signals the whole group (sshd forks per connection)
        self.proc = subprocess.Popen(['/usr/bin/unshare', '--mount', '--propagation', 'private',
                                      '/bin/sh', '-c', script], stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        if not wait_for(lambda: self.proc.poll() is not None or 'listening on' in self.log(), 10):
            self.cleanup()
            raise RuntimeError('sshd did not start:\n' + self.log())
        if self.proc.poll() is not None:
            raise RuntimeError('sshd exited:\n' + self.log())

    @staticmethod
    def _sshd_uid():
        import pwd
        try:
            return pwd.getpwnam('sshd').pw_uid
        except KeyError:
            return 65534

    def log(self):
        with open(self.log_path, 'rb') as f:
            return f.read().decode(errors='replace')

    def cleanup(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._log.close()


@unittest.skipIf(unavailable(), unavailable())
class SshThroughTheEdge(tg.DaemonTest):
    daemon_env = ENV

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = tempfile.TemporaryDirectory(prefix='tg-ssh-')
        cls.addClassCleanup(cls.tmp.cleanup)
        pol = cls.d.request('GET', '/v1/control-plane/policies').json[0]
        body = tg.policy_body(pol)
        body['ssh']['port'] = SSH_PORT
        r = cls.d.request('PUT', '/v1/control-plane/policies/' + pol['id'], body)
        assert r.status == 200, r
        site = cls.d.request('POST', '/v1/sites', {'name': 'ssh-router'}).json
        cls.site = site['id']
        cls.sim = simharness.Sim(ROUTER, bootstrap_command=site['bootstrap_command'],
                                 extra=['--external-service', 'ssh']).start()
        cls.addClassCleanup(cls.sim.cleanup)
        if not wait_for(lambda: cls.d.request('GET', '/v1/sites/' + cls.site)
                        .json['status'] == 'online', 15):
            raise RuntimeError('the simulator did not adopt:\n' + cls.sim.log())
        cls.sshd = Sshd(ROUTER, SSH_PORT, cls.tmp.name)
        cls.addClassCleanup(cls.sshd.cleanup)
        cls.bindir = os.path.join(cls.tmp.name, 'bin')
        os.mkdir(cls.bindir)
        wrapper = os.path.join(cls.bindir, 'ssh')
        with open(wrapper, 'w') as f:
            f.write(WRAPPER % {'python': sys.executable, 'state': cls.sim.state_file,
                               'passwd': cls.sshd.passwd, 'shadow': cls.sshd.shadow,
                               'base_passwd': cls.sshd.base_passwd,
                               'base_shadow': cls.sshd.base_shadow, 'home': cls.sshd.home})
        os.chmod(wrapper, 0o755)
        cls.home = tempfile.TemporaryDirectory(prefix='tg-ssh-home-')
        cls.addClassCleanup(cls.home.cleanup)

    def env(self):
        e = {k: v for k, v in os.environ.items() if not k.startswith('TIKGATE_')}
        e.update({'TIKGATE_URL': 'http://127.0.0.1:%d' % self.d.port,
                  'TIKGATE_TOKEN': tg.ADMIN_KEY, 'HOME': self.home.name,
                  'XDG_CONFIG_HOME': self.home.name, 'PATH': self.bindir + ':/usr/bin:/bin'})
        return e

    def run_ssh(self, argv, env=None):
        p = subprocess.run(argv, capture_output=True, timeout=60, env=env or self.env())
        return test_cli.Run(p)

    def test_ssh_logs_in_runs_the_command_and_stops_working_at_revoke(self):
        # OpenSSH options after the destination are still options (then the command).
        opts = ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null',
                '-o', 'PreferredAuthentications=password', '-o', 'ConnectTimeout=10',
                '-o', 'LogLevel=ERROR']
        r = self.run_ssh([test_cli.TIKGATE, 'ssh', 'ssh-router', '--for', '10m', '--'] + opts +
                         ['echo', 'ran-as', '$(id -un)'])
        grants = [g for g in self.d.request('GET', '/v1/control-plane/%s/transient-access' %
                                            self.site).json if g['type'] == 'ssh']
        self.assertEqual(len(grants), 1, grants)
        g = grants[0]
        self.assertEqual(r.rc, 0, '%r\nsshd:\n%s' % (r, self.sshd.log()[-3000:]))
        # The command ran on the "router" as the temporary user, through the edge's port.
        self.assertEqual(r.out.strip(), 'ran-as %s' % g['username'], r)
        self.assertIn('Accepted password for %s' % g['username'], self.sshd.log())
        self.assertTrue(g['config_committed_to_site'], g)
        conns = self.d.request('GET', '/v1/control-plane/%s/transient-access/%s/connections' %
                               (self.site, g['id']))
        self.assertEqual(conns.status, 200, conns)

        # The same login again by hand (sshpass + OpenSSH to the edge's port) works ...
        # (the wrapper first: it brings the sshd's accounts up to the router's /user table)
        again = ['/usr/bin/sshpass', '-e', self.bindir + '/ssh', '-p', str(g['port'])] + opts + \
                ['%s@%s' % (g['username'], g['entry_point']), 'echo', 'still-open']
        env = dict(self.env(), SSHPASS=g['password'])
        r = self.run_ssh(again, env=env)
        self.assertEqual((r.rc, r.out.strip()), (0, 'still-open'), r)

        # ... until the grant is revoked: the edge's port closes and the router's user goes.
        d = self.d.request('DELETE', '/v1/control-plane/%s/transient-access/%s' %
                           (self.site, g['id']))
        self.assertIn(d.status, (200, 204), d)
        self.assertTrue(wait_for(lambda: g['username'] not in
                                 [u['name'] for u in self.sim.menu('/user')], 15),
                        self.sim.log()[-2000:])
        r = self.run_ssh(again, env=env)
        self.assertNotEqual(r.rc, 0, r)
        self.assertNotIn('still-open', r.out)
        # Straight to the router's sshd (no edge): the temporary user is gone there too.
        direct = ['/usr/bin/sshpass', '-e', self.bindir + '/ssh', '-p', str(SSH_PORT)] + opts + \
                 ['%s@%s' % (g['username'], ROUTER), 'echo', 'still-open']
        r = self.run_ssh(direct, env=env)
        self.assertNotEqual(r.rc, 0, r)
        self.assertNotIn('still-open', r.out)


if __name__ == '__main__':
    unittest.main(verbosity=2)
