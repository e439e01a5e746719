"""Issue 12 item 1: the tikgate CLI, run as a real binary against a real tikgated and a
simulated router (tikgate-sim) on loopback.

Addresses: the API and the edge on 127.0.0.1, the router 127.0.0.37, the LAN device behind it
(an echo server) 127.0.0.38, masqueraded relays from 127.0.0.39.
"""
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import unittest

import netutil
import rosapi
import simharness
import test_tls
import tg
from simharness import wait_for

TIKGATE = os.environ.get('TIKGATE_CLI') or os.path.join(tg.ROOT, 'build', 'src', 'cli', 'tikgate')
ENV = {'TIKGATE_POLL_INTERVAL': '1', 'TIKGATE_ALLOW_PRIVATE_SOURCES': '1',
       'TIKGATE_EDGE_LISTEN': '127.0.0.1', 'TIKGATE_ENTRY_POINT': '127.0.0.1',
       'TIKGATE_EDGE_PORTS': '25300-25399', 'TIKGATE_JOB_BACKOFF_MS': '100'}
SANITIZER = re.compile(r'ERROR: (Address|Leak)Sanitizer|WARNING: ThreadSanitizer|runtime error:')


class Run:
    def __init__(self, p):
        self.rc = p.returncode
        self.out = p.stdout.decode(errors='replace')
        self.err = p.stderr.decode(errors='replace')

    def json(self):
        return json.loads(self.out)

    def __repr__(self):
        return 'rc=%d\nstdout:\n%s\nstderr:\n%s' % (self.rc, self.out[-3000:], self.err[-3000:])


class CliTest(tg.DaemonTest):
    daemon_env = ENV

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.home = tempfile.TemporaryDirectory(prefix='tg-cli-')
        cls.url = 'http://127.0.0.1:%d' % cls.d.port
        site = cls.d.request('POST', '/v1/sites', {'name': 'router-e2e'}).json
        cls.site = site['id']
        cls.sim = simharness.Sim('127.0.0.37', bootstrap_command=site['bootstrap_command'],
                                 lan_address='127.0.0.39').start()
        cls.lan = netutil.EchoServer('127.0.0.38', 0)
        ok = wait_for(lambda: any(u['name'] == 'tikgate-api' for u in cls.sim.menu('/user')), 15)
        if not ok:
            raise RuntimeError('the simulator did not adopt:\n' + cls.sim.log())

    @classmethod
    def tearDownClass(cls):
        cls.lan.close()
        cls.sim.cleanup()
        cls.home.cleanup()
        super().tearDownClass()

    def env(self, token=tg.ADMIN_KEY, **extra):
        e = {k: v for k, v in os.environ.items() if not k.startswith('TIKGATE_')}
        e.update({'TIKGATE_URL': self.url, 'XDG_CONFIG_HOME': self.home.name,
                  'HOME': self.home.name})
        if token:
            e['TIKGATE_TOKEN'] = token
        e.update(extra)
        return e

    def cli(self, *args, token=tg.ADMIN_KEY, stdin=None, env=None, timeout=120):
        p = subprocess.run([TIKGATE] + list(args), input=stdin, capture_output=True,
                           timeout=timeout, env=env or self.env(token))
        r = Run(p)
        self.assertIsNone(SANITIZER.search(r.err), r)
        return r

    def ok(self, *args, **kw):
        r = self.cli(*args, **kw)
        self.assertEqual(r.rc, 0, r)
        return r

    def fails(self, code, pattern, *args, **kw):
        r = self.cli(*args, **kw)
        self.assertEqual(r.rc, code, r)
        self.assertRegex(r.err, pattern)
        self.assertTrue(r.err.startswith('tikgate: ') or r.err.startswith('usage:'), r)
        return r

    def committed(self, kind, gid):
        path = '/v1/control-plane/%s/%s/%s' % (self.site, kind, gid)
        return wait_for(lambda: self.d.request('GET', path).json['config_committed_to_site'], 15)

    # ------------------------------------------------------------------ usage and errors

    def test_usage_errors_and_help(self):
        self.fails(2, r"unknown command 'frobnicate'", 'frobnicate')
        self.fails(2, r"unknown command 'sites frob'", 'sites', 'frob')
        self.fails(2, r"unknown option '--bogus'", 'sites', 'list', '--bogus')
        self.fails(2, r'usage: tikgate sites get SITE', 'sites', 'get')
        self.fails(2, r'-o takes table or json', '-o', 'yaml', 'sites', 'list')
        self.fails(2, r'--for takes a duration', 'winbox', self.site, '--for', 'soon')
        r = self.cli()
        self.assertEqual(r.rc, 2, r)
        self.assertIn('usage: tikgate', r.err)
        for args in (['--help'], ['help'], ['sites', '--help'], ['winbox', '--help'],
                     ['access', 'create', '--help'], ['forward', '-h'],
                     ['help', 'policies', 'update']):
            r = self.ok(*args)
            self.assertIn('usage: tikgate', r.out, args)
        r = self.ok('--help')
        self.assertIn('Exit codes:', r.out)
        for word in ('sites list', 'policies update', 'credentials rotate', 'access create',
                     'forwards create', 'jobs cancel', 'keys create', 'users update', 'winbox',
                     'ssh SITE', 'forward SITE', 'log SITE'):
            self.assertIn(word, r.out)
        self.assertIn('--for VALUE', self.ok('winbox', '--help').out)
        self.assertRegex(self.ok('--version').out, r'^tikgate \d+\.\d+')
        self.fails(3, r'not signed in', 'sites', 'list', token=None)

    def test_api_errors_map_to_exit_codes(self):
        # invalid_request_error (400) -> 7, with the API's message, code and param.
        r = self.fails(7, r'expire_after_minutes.*\(parameter_out_of_range, '
                          r'expire_after_minutes\)', 'access', 'create', self.site, '--for', '5m')
        self.assertEqual(r.out, '')
        # not_found_error -> 5; authentication_error -> 3; permission_error -> 4.
        self.fails(5, r"No transient access has the id 'x/../y'", 'access', 'get', self.site,
                   'x/../y')
        self.assertEqual(self.ok('-ojson', 'sites', 'get', self.site).json()['id'], self.site)
        self.fails(5, r'\(resource_missing\)', 'sites', 'get',
                   '01234567-89ab-7def-8123-456789abcdef')
        r = self.fails(3, r'\(invalid_token\)', 'sites', 'list', token='tg_sk_' + 'x' * 40)
        self.assertIn("sign in again ('tikgate login')", r.err)
        key = self.d.request('POST', '/v1/api-keys',
                             {'name': 'viewer', 'scopes': ['site:view']}).json['secret']
        self.fails(4, r'\(missing_scope\)', 'policies', 'list', token=key)
        # conflict_error -> 6: the default policy cannot be deleted.
        default = self.d.request('GET', '/v1/control-plane/policies').json[0]
        self.fails(6, r'\(default_policy_protected\)', 'policies', 'delete', default['id'])
        # The server unreachable -> 10.
        env = self.env()
        env['TIKGATE_URL'] = 'http://127.0.0.1:%d' % tg.free_port()
        self.fails(10, r'cannot reach', 'sites', 'list', env=env)

    # ------------------------------------------------------------------ login

    def test_login_logout_session_file(self):
        self.d.request('POST', '/v1/users', {'email': 'ops@example.com', 'role': 'operator',
                                             'password': 'correct horse battery'})
        self.fails(3, r'Wrong e-mail address or password', 'login', '--email', 'ops@example.com',
                   '--password-stdin', stdin=b'wrong password\n', token=None)
        r = self.ok('login', '--email', 'ops@example.com', '--password-stdin',
                    stdin=b'correct horse battery\n', token=None)
        self.assertIn('Signed in', r.err)
        path = os.path.join(self.home.name, 'tikgate', 'session')
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode), 0o700)
        with open(path) as f:
            session = json.load(f)
        self.assertEqual(session['url'], self.url)
        self.assertEqual(session['email'], 'ops@example.com')
        token = session['token']
        # The session is used without TIKGATE_TOKEN.
        me = self.ok('-o', 'json', 'whoami', token=None).json()
        self.assertEqual(me['user']['email'], 'ops@example.com')
        self.assertIn('router-e2e', self.ok('sites', 'list', token=None).out)
        # Another server does not get this session's token.
        env = self.env(token=None)
        env['TIKGATE_URL'] = 'http://127.0.0.1:%d' % tg.free_port()
        self.fails(3, r'not signed in', 'sites', 'list', env=env)
        self.ok('logout', token=None)
        self.assertFalse(os.path.exists(path))
        self.assertEqual(self.d.request('GET', '/v1/auth/me', auth=token).status, 401)
        self.fails(3, r'not signed in', 'sites', 'list', token=None)

    # ------------------------------------------------------------------ resources

    def test_sites_by_name_and_id(self):
        r = self.ok('sites', 'create', 'cli-branch')
        self.assertIn('bootstrap_command: /tool fetch', r.out)
        sid = re.search(r'^id: (\S+)$', r.out, re.M).group(1)
        table = self.ok('sites', 'list').out.splitlines()
        self.assertRegex(table[0], r'^ID\s+NAME\s+STATUS\s+TUNNEL')
        self.assertTrue(any(l.startswith(sid) and 'cli-branch' in l and 'pending_onboarding' in l
                            for l in table), table)
        sites = self.ok('-o', 'json', 'sites', 'list').json()
        self.assertIn(sid, [s['id'] for s in sites])
        by_name = self.ok('sites', 'get', 'cli-branch', '-o', 'json').json()
        by_id = self.ok('sites', 'get', sid, '--output=json').json()
        self.assertEqual(by_name, by_id)
        self.assertEqual(by_name['name'], 'cli-branch')
        self.assertIn('cli-branch', self.ok('sites', 'names').out.splitlines())
        self.ok('sites', 'update', 'cli-branch', '--name', 'cli-branch-2')
        self.assertEqual(self.d.request('GET', '/v1/sites/' + sid).json['name'], 'cli-branch-2')
        # Two sites of one name: the name is refused, naming both ids.
        a = self.ok('-o', 'json', 'sites', 'create', 'twin').json()['id']
        b = self.ok('-o', 'json', 'sites', 'create', 'twin').json()['id']
        r = self.fails(6, r"Several sites are named 'twin'", 'sites', 'get', 'twin')
        self.assertIn(a, r.err)
        self.assertIn(b, r.err)
        self.fails(5, r"No site has the id or name 'nowhere'", 'winbox', 'nowhere')
        self.ok('sites', 'delete', a)
        self.assertEqual(self.ok('-o', 'json', 'sites', 'get', 'twin').json()['id'], b)
        self.assertEqual(self.d.request('GET', '/v1/sites/' + a).status, 404)
        note = self.ok('sites', 'note', 'twin', '--set', '-', stdin=b'# rack 4\n').out
        self.assertEqual(note, '# rack 4\n')
        self.assertEqual(self.ok('sites', 'note', b).out, '# rack 4\n')
        self.assertIn('/tool fetch', self.ok('sites', 'bootstrap', 'twin').out)

    def test_policy_create_update(self):
        r = self.ok('-o', 'json', 'policies', 'create', 'cli-pol', '--disable', 'telnet,ftp')
        pid = r.json()['id']
        self.ok('policies', 'update', 'cli-pol', '--port', 'ssh=2200,winbox=8295', '--networks',
                'ssh=10.0.0.0/8+192.168.0.0/16', '--enable', 'api-ssl',
                '--trusted-networks', '10.1.0.0/16')
        p = self.d.request('GET', '/v1/control-plane/policies/' + pid).json
        self.assertEqual(p['ssh']['port'], 2200)
        self.assertEqual(p['winbox']['port'], 8295)
        self.assertEqual(p['ssh']['networks'], ['10.0.0.0/8', '192.168.0.0/16'])
        self.assertTrue(p['api_ssl']['enabled'])
        self.assertEqual(p['trusted_networks'], ['10.1.0.0/16'])
        table = self.ok('policies', 'list').out
        self.assertRegex(table, r'cli-pol\s+no\s+8295\s+2200')
        self.fails(7, r'\(port_conflict, winbox.port\)|\(port_conflict, ssh.port\)', 'policies',
                   'update', pid, '--port', 'winbox=2200')
        self.fails(2, r"unknown service 'gopher'", 'policies', 'update', pid, '--enable', 'gopher')
        sid = self.ok('-o', 'json', 'sites', 'create', 'pol-site').json()['id']
        self.ok('policies', 'attach', 'cli-pol', 'pol-site')
        self.assertEqual(self.d.request('GET', '/v1/sites/' + sid).json['policy_id'], pid)
        self.assertIn(sid, self.ok('-o', 'json', 'policies', 'get', pid).json()['sites'])
        self.ok('policies', 'delete', 'cli-pol')
        self.assertEqual(self.d.request('GET', '/v1/control-plane/policies/' + pid).status, 404)

    def test_keys_users_credentials_jobs_json(self):
        k = self.ok('-o', 'json', 'keys', 'create', '--name', 'ci', '--scopes',
                    'site:view,job:view').json()
        self.assertTrue(k['secret'].startswith('tg_sk_'))
        self.assertIn(k['id'], [x['id'] for x in self.ok('-o', 'json', 'keys', 'list').json()])
        self.assertIn('site:view,job:view', self.ok('keys', 'list').out)
        self.ok('keys', 'revoke', k['id'])
        self.assertEqual(self.d.request('GET', '/v1/sites', auth=k['secret']).status, 401)
        u = self.ok('-o', 'json', 'users', 'create', '--email', 'ro@example.com', '--role',
                    'read-only').json()
        self.assertEqual(len(u['password']), 24)
        self.ok('users', 'update', u['id'], '--role', 'operator', '--disable')
        users = {x['email']: x for x in self.ok('-o', 'json', 'users', 'list').json()}
        self.assertEqual(users['ro@example.com']['role'], 'operator')
        self.assertTrue(users['ro@example.com']['disabled'])
        self.ok('users', 'delete', u['id'])
        creds = self.ok('-o', 'json', 'credentials', 'list', 'router-e2e').json()
        rot = self.ok('-o', 'json', 'credentials', 'rotate', 'router-e2e').json()
        self.assertNotEqual(rot['password'], creds[-1]['password'])
        self.assertEqual(self.ok('-o', 'json', 'credentials', 'list', self.site).json()[-1]['id'],
                         rot['id'])
        job = self.ok('-o', 'json', 'jobs', 'create', 'router-e2e', '--description', 'ident',
                      '--script', '/system identity print', '--no-express').json()
        self.assertEqual(job['description'], 'ident')
        listed = self.ok('-o', 'json', 'jobs', 'list', 'router-e2e').json()
        self.assertIn(job['id'], [j['id'] for j in listed])
        got = self.ok('jobs', 'get', 'router-e2e', job['id']).out
        self.assertIn('events:', got)
        self.assertRegex(got, r'AT\s+KIND\s+MESSAGE')
        r = self.cli('jobs', 'cancel', 'router-e2e', job['id'])
        self.assertIn(r.rc, (0, 7), r)  # 7: job_already_started when the router was quicker
        if r.rc == 7:
            self.assertIn('job_already_started', r.err)
        r = self.ok('-o', 'json', 'action', 'router-e2e', 'site.resend_api_user').json()
        self.assertEqual(r['job']['kind'], 'action')
        self.fails(7, r'\(unknown_action, action\)', 'action', 'router-e2e', 'site.explode')

    def test_every_list_and_get_as_table_and_json(self):
        base = '/v1/control-plane/%s' % self.site
        acc = self.d.request('POST', base + '/transient-access', {'type': 'ssh'}).json
        fwd = self.d.request('POST', base + '/transient-forward',
                             {'dst_address': '127.0.0.38', 'dst_port': 9}).json
        job = self.d.request('GET', '/v1/sites/%s/jobs' % self.site).json[0]
        pol = self.d.request('GET', '/v1/control-plane/policies').json[0]
        lists = [(['sites', 'list'], r'^ID\s+NAME\s+STATUS\s+TUNNEL\s+ADDRESS'),
                 (['policies', 'list'], r'^ID\s+NAME\s+DEFAULT\s+WINBOX\s+SSH\s+API'),
                 (['credentials', 'list', self.site], r'^ID\s+USERNAME\s+PASSWORD\s+ADDRESS'),
                 (['access', 'list', self.site], r'^ID\s+TYPE\s+ENTRY\s+PORT\s+USERNAME'),
                 (['forwards', 'list', self.site], r'^ID\s+ENTRY\s+PORT\s+DESTINATION'),
                 (['jobs', 'list', self.site], r'^ID\s+KIND\s+STATUS\s+DESCRIPTION'),
                 (['keys', 'list'], r'^ID\s+NAME\s+PREFIX\s+SCOPES'),
                 (['users', 'list'], r'^ID\s+EMAIL\s+ROLE'),
                 (['access', 'connections', self.site, acc['id']], r'^ID\s+SOURCE\s+STARTED'),
                 (['forwards', 'connections', self.site, fwd['id']], r'^ID\s+SOURCE'),
                 (['sites', 'tunnel-events', self.site], r'^AT\s+KIND\s+MESSAGE')]
        for args, header in lists:
            with self.subTest(args=args):
                table = self.ok(*args).out.splitlines()
                self.assertRegex(table[0], header)
                items = self.ok('-o', 'json', *args).json()
                self.assertIsInstance(items, list)
                self.assertEqual(len(table), len(items) + 1, table)
                for item, line in zip(items, table[1:]):
                    if 'id' in item:
                        self.assertTrue(line.startswith(str(item['id'])), (line, item))
        gets = [(['sites', 'get', self.site], '/v1/sites/' + self.site),
                (['policies', 'get', pol['name']], '/v1/control-plane/policies/' + pol['id']),
                (['access', 'get', self.site, acc['id']], base + '/transient-access/' + acc['id']),
                (['forwards', 'get', self.site, fwd['id']],
                 base + '/transient-forward/' + fwd['id']),
                (['jobs', 'get', self.site, job['id']],
                 '/v1/sites/%s/jobs/%s' % (self.site, job['id']))]
        volatile = ('time_to_expire', 'last_seen_at', 'updated_at', 'status', 'events',
                    'config_committed_to_site', 'tunnel', 'last_used_at', 'attempts',
                    'started_at', 'completed_at', 'failed_at')
        for args, path in gets:
            with self.subTest(args=args):
                got = self.ok('-o', 'json', *args).json()
                want = self.d.request('GET', path).json
                for k in volatile:
                    got.pop(k, None)
                    want.pop(k, None)
                self.assertEqual(got, want)
                lines = self.ok(*args).out
                self.assertRegex(lines, r'(?m)^id: %s$' % want['id'])
        self.assertIn('events:', self.ok('jobs', 'get', self.site, job['id']).out)
        self.ok('access', 'revoke', self.site, acc['id'])
        self.ok('forwards', 'revoke', self.site, fwd['id'])

    # ------------------------------------------------------------------ shortcuts

    def test_winbox_link_works_through_the_edge(self):
        r = self.ok('winbox', 'router-e2e', '--for', '30m', '--full', '--wait')
        link = r.out.strip().splitlines()[0]
        m = re.match(r'^winbox://127\.0\.0\.1:(\d+)\?username=(\w+)&password=(\w+)$', link)
        self.assertTrue(m, r)
        port, user, password = int(m.group(1)), m.group(2), m.group(3)
        self.assertIn('password ' + password, r.err)
        grants = self.ok('-o', 'json', 'access', 'list', 'router-e2e', '--active').json()
        g = [x for x in grants if x['username'] == user][0]
        self.assertEqual(g['port'], port)
        self.assertEqual(g['allow_only_cidr'], '127.0.0.1/32')  # the caller's address
        self.assertEqual(g['type'], 'winbox')
        # The printed port is the edge's: a RouterOS login through it works.
        ok = wait_for(lambda: self._login(port, user, password), 10)
        self.assertTrue(ok, 'login through the edge failed:\n' + self.sim.log()[-2000:])
        table = self.ok('access', 'list', self.site).out
        self.assertRegex(table, r'%s\s+winbox\s+127\.0\.0\.1\s+%d\s+%s' % (g['id'], port, user))
        self.ok('access', 'extend', 'router-e2e', g['id'], '--for', '2h')
        self.assertIn('hour', self.ok('-o', 'json', 'access', 'get', 'router-e2e',
                                      g['id']).json()['time_to_expire'])
        conns = self.ok('-o', 'json', 'access', 'connections', 'router-e2e', g['id']).json()
        self.assertTrue(conns, 'no connection recorded')
        self.ok('access', 'revoke', 'router-e2e', g['id'])
        self.assertTrue(wait_for(lambda: not netutil.port_open(port), 3), 'port still open')
        # --open hands the link to xdg-open (a stand-in on PATH records it).
        bindir = tempfile.mkdtemp(prefix='tg-cli-open-', dir=self.home.name)
        record = os.path.join(bindir, 'link')
        with open(os.path.join(bindir, 'xdg-open'), 'w') as f:
            f.write('#!/bin/sh\nprintf %%s "$1" > %s\n' % record)
        os.chmod(os.path.join(bindir, 'xdg-open'), 0o755)
        r = self.cli('winbox', 'router-e2e', '--open', env=self.env(PATH=bindir + ':/usr/bin:/bin'))
        self.assertEqual(r.rc, 0, r)
        with open(record) as f:
            self.assertEqual(f.read(), r.out.strip())
        self.assertTrue(r.out.startswith('winbox://127.0.0.1:'), r)
        self.assertTrue(self.d.request('GET', '/v1/control-plane/%s/transient-access/%s' % (
            self.site, g['id'])).json['revoked_early'])

    @staticmethod
    def _login(port, user, password):
        try:
            return rosapi.can_login('127.0.0.1', port, user, password)
        except OSError:
            return None

    def test_forward_prints_entry_point(self):
        r = self.ok('forward', 'router-e2e', '127.0.0.38:%d' % self.lan.port, '--for', '30m',
                    '--wait')
        m = re.match(r'^127\.0\.0\.1:(\d+)$', r.out.strip())
        self.assertTrue(m, r)
        port = int(m.group(1))
        fwd = [f for f in self.ok('-o', 'json', 'forwards', 'list', 'router-e2e').json()
               if f['port'] == port][0]
        self.assertEqual(fwd['dst_address'], '127.0.0.38')
        self.assertEqual(fwd['dst_port'], self.lan.port)
        self.assertTrue(self.committed('transient-forward', fwd['id']))
        s = wait_for(lambda: self._echo(port), 10)
        self.assertTrue(s, 'no bytes came back through the forward')
        s.close()
        self.fails(2, r'is not ADDR:PORT', 'forward', 'router-e2e', '127.0.0.38')
        self.fails(7, r'\(invalid_address, dst_address\)', 'forward', 'router-e2e',
                   '192.168.1.0/24:80')
        self.ok('forwards', 'revoke', 'router-e2e', fwd['id'])
        self.assertTrue(wait_for(lambda: not netutil.port_open(port), 3))

    @staticmethod
    def _echo(port):
        try:
            s = netutil.connect(port, timeout=2)
            if netutil.roundtrip(s, b'ping') == b'ping':
                return s
            s.close()
        except OSError:
            pass
        return None

    def test_ssh_runs_openssh_with_the_temporary_user(self):
        # A stand-in for OpenSSH on PATH records its command line and connects to the
        # destination's port, so the test sees both what tikgate ran and that it is reachable.
        bindir = tempfile.mkdtemp(prefix='tg-cli-bin-', dir=self.home.name)
        record = os.path.join(bindir, 'argv.json')
        fake = os.path.join(bindir, 'ssh')
        with open(fake, 'w') as f:
            f.write('#!%s\nimport json, os, socket, sys\n'
                    'a = sys.argv[1:]\nport = int(a[a.index("-p") + 1])\n'
                    'host = [w for w in a if "@" in w][0].split("@")[1]\n'
                    'ok = True\ntry:\n    socket.create_connection((host, port), 5).close()\n'
                    'except OSError:\n    ok = False\n'
                    'json.dump({"argv": a, "connected": ok, "sshpass": os.environ.get("SSHPASS")},'
                    ' open(%r, "w"))\n' % (sys.executable, record))
        os.chmod(fake, 0o755)
        env = self.env(PATH=bindir + ':/usr/bin:/bin')
        r = self.cli('ssh', 'router-e2e', '--for', '15m', '--', '-o', 'BatchMode=yes',
                     '/system', 'identity', 'print', env=env)
        self.assertEqual(r.rc, 0, r)
        with open(record) as f:
            got = json.load(f)
        a = got['argv']
        g = [x for x in self.d.request('GET', '/v1/control-plane/%s/transient-access' %
                                       self.site).json if x['type'] == 'ssh'][0]
        self.assertEqual(a[:2], ['-p', str(g['port'])])
        self.assertIn('HostKeyAlias=tikgate-' + self.site, a)
        self.assertIn('%s@127.0.0.1' % g['username'], a)
        self.assertEqual(a[-5:], ['-o', 'BatchMode=yes', '/system', 'identity', 'print'])
        self.assertTrue(got['connected'])
        self.assertTrue(g['config_committed_to_site'])  # tikgate waited for the router
        if shutil.which('sshpass', path=env['PATH']) is None:
            self.assertIn(g['password'], r.err)
        r = self.ok('ssh', 'router-e2e', '--print')
        self.assertRegex(r.out, r'^ssh -p \d+ -o HostKeyAlias=tikgate-\S+ \w+@127\.0\.0\.1\n'
                                r'password: \w+\n$')

    def test_log_follow_shows_events_as_they_happen(self):
        r = self.ok('log', 'router-e2e')
        self.assertRegex(r.out, r'\d{4}-\d\d-\d\dT\S+\s+\w{8}\s+\w+\s+created\s')
        p = subprocess.Popen([TIKGATE, 'log', 'router-e2e', '--follow', '--interval', '0.2',
                              '-o', 'json'], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=self.env())
        try:
            time.sleep(1)  # the first pass: the jobs so far
            job = self.d.request('POST', '/v1/sites/%s/jobs' % self.site,
                                 {'description': 'followed', 'script': ':log info followed'}).json
            seen = []
            deadline = time.time() + 20
            while time.time() < deadline:
                line = p.stdout.readline()
                if not line:
                    break
                e = json.loads(line)
                if e['job_id'] == job['id']:
                    seen.append(e['kind'])
                    if e['kind'] in ('completed', 'failed'):
                        break
            self.assertEqual(seen[0], 'created', seen)
            self.assertIn('completed', seen)
        finally:
            p.send_signal(signal.SIGTERM)
            rc = p.wait(10)
            err = p.stderr.read().decode()
            p.stdout.close()
            p.stderr.close()
        self.assertEqual(rc, 0, err)
        self.assertIsNone(SANITIZER.search(err), err)


class CliOverHttps(unittest.TestCase):
    """The CLI against an https tikgated: TIKGATE_CA_FILE, an untrusted certificate, --insecure."""

    @classmethod
    def setUpClass(cls):
        cls.pki = test_tls.Pki()
        ca = cls.pki.ca('cli-ca')
        cert, key = cls.pki.server('cli-srv', 'cli-ca')
        cls.d = tg.Daemon(env={'TIKGATE_ROLES': 'api'}, tls=(cert, key, ca)).start()
        cls.ca = ca

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()
        cls.pki.tmp.cleanup()

    def run_cli(self, *args, **env):
        e = {k: v for k, v in os.environ.items() if not k.startswith('TIKGATE_')}
        e.update({'TIKGATE_URL': 'https://127.0.0.1:%d' % self.d.port,
                  'TIKGATE_TOKEN': tg.ADMIN_KEY, 'XDG_CONFIG_HOME': self.pki.dir})
        e.update(env)
        p = subprocess.run([TIKGATE] + list(args), capture_output=True, timeout=60, env=e)
        r = Run(p)
        self.assertIsNone(SANITIZER.search(r.err), r)
        return r

    def test_ca_file_untrusted_and_insecure(self):
        r = self.run_cli('-o', 'json', 'sites', 'list', TIKGATE_CA_FILE=self.ca)
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(r.json(), [])
        r = self.run_cli('sites', 'list')
        self.assertEqual(r.rc, 10, r)
        self.assertRegex(r.err, r'^tikgate: cannot reach https://127\.0\.0\.1:\d+: .*certificate')
        r = self.run_cli('--insecure', 'sites', 'list')
        self.assertEqual(r.rc, 0, r)
        self.assertRegex(r.out, r'^ID\s+NAME')


if __name__ == '__main__':
    tg.main()
