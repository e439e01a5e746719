"""Process-level behaviour: restart keeps every object, signals, config sources, meta routes."""
import os
import signal
import tempfile
import time

import tg

P = '/v1/control-plane/policies'
CREATE_BODY = tg.seed_json_blocks()[2]


class Restart(tg.DaemonTest):
    def test_restart_keeps_everything(self):
        d = self.d
        pid = d.request('POST', P, CREATE_BODY).json['id']
        site = d.request('POST', '/v1/sites', {'name': 'keep', 'policy_id': pid}).json['id']
        d.request('PUT', '/v1/sites/%s/note' % site, {'content': 'persist me'})
        d.request('POST', '/v1/control-plane/%s/credentials' % site)
        key = d.request('POST', '/v1/api-keys', {'name': 'k', 'scopes': ['site:view']}).json
        before = {
            'policies': d.request('GET', P).json,
            'policy': d.request('GET', P + '/' + pid).json,
            'sites': d.request('GET', '/v1/sites').json,
            'note': d.request('GET', '/v1/sites/%s/note' % site).json,
            'creds': d.request('GET', '/v1/control-plane/%s/credentials' % site).json,
        }
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with self.subTest(signal=sig):
                rc = d.stop(sig)
                if sig == signal.SIGTERM:
                    self.assertEqual(rc, 0, 'clean exit on SIGTERM:\n' + d.log())
                d.start()
                after = {
                    'policies': d.request('GET', P).json,
                    'policy': d.request('GET', P + '/' + pid).json,
                    'sites': d.request('GET', '/v1/sites').json,
                    'note': d.request('GET', '/v1/sites/%s/note' % site).json,
                    'creds': d.request('GET', '/v1/control-plane/%s/credentials' % site).json,
                }
                self.assertEqual(before, after)
                self.assertEqual(d.request('GET', '/v1/sites', auth=key['secret']).status, 200)
                # The master key did not change: sealed passwords still open.
                self.assertEqual(len(after['creds']), 2)

    def test_sigint_exits_cleanly(self):
        d = tg.Daemon().start()
        try:
            self.assertEqual(d.stop(signal.SIGINT), 0)
        finally:
            d.cleanup()


class Roles(tg.DaemonTest):
    def test_a_node_without_the_api_role_serves_no_http(self):
        import socket
        import subprocess
        with tempfile.TemporaryDirectory() as tmp:
            port = tg.free_port()
            env = dict(os.environ, **tg.db_env(tmp), TIKGATE_ROLES='scheduler,dispatcher',
                       TIKGATE_LISTEN='127.0.0.1:%d' % port)
            p = subprocess.Popen([tg.TIKGATED], env=env, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE)
            try:
                time.sleep(0.5)
                self.assertIsNone(p.poll(), 'the worker node exited')
                with self.assertRaises(ConnectionRefusedError):
                    socket.create_connection(('127.0.0.1', port), timeout=1).close()
            finally:
                p.send_signal(signal.SIGTERM)
                self.assertEqual(p.wait(10), 0)
            self.assertIn(b'no API on this node', p.stderr.read())


class NodeRegistry(tg.DaemonTest):
    def nodes(self, d):
        r = d.request('GET', '/v1/nodes')
        self.assertEqual(r.status, 200, r)
        return {n['name']: n for n in r.json}

    def test_a_node_registers_heartbeats_and_dies(self):
        with tempfile.TemporaryDirectory() as tmp:
            env = {'TIKGATE_NODE_NAME': 'it-node-1', 'TIKGATE_REGION': 'eu-west',
                   'TIKGATE_HEARTBEAT_MS': '200', 'TIKGATE_ROLES': 'api,scheduler'}
            d = tg.Daemon(data_dir=tmp, env=env).start()
            try:
                n = self.nodes(d)['it-node-1']
                self.assertEqual(n['roles'], ['api', 'scheduler'])
                self.assertEqual(n['region'], 'eu-west')
                self.assertEqual(n['status'], 'alive')
                self.assertEqual(n['entry_point'], '')  # no edge role
                self.assertIsNone(n['edge_ports'])
                first = n['heartbeat_at']
                deadline = time.time() + 10
                while self.nodes(d)['it-node-1']['heartbeat_at'] == first:
                    self.assertLess(time.time(), deadline, 'no heartbeat within 10 s')
                    time.sleep(0.1)
            finally:
                self.assertEqual(d.stop(), 0)
            # Another node on the same store sees the stopped one die (3 heartbeats of silence).
            env = dict(env, TIKGATE_NODE_NAME='it-node-2', TIKGATE_ROLES='api,edge',
                       TIKGATE_EDGE_PORTS='41000-41999')
            d = tg.Daemon(data_dir=tmp, env=env).start()
            try:
                deadline = time.time() + 10
                while self.nodes(d)['it-node-1']['status'] != 'dead':
                    self.assertLess(time.time(), deadline, 'it-node-1 still alive after 10 s')
                    time.sleep(0.1)
                n = self.nodes(d)['it-node-2']
                self.assertEqual(n['status'], 'alive')
                self.assertEqual(n['roles'], ['api', 'edge'])
                self.assertEqual(n['entry_point'], 'localhost')
                self.assertEqual(n['edge_ports'], {'lo': 41000, 'hi': 41999})
                self.assertEqual(n['wg_endpoint'], '')  # TIKGATE_VPN=off
                # Read-only: nobody registers a node through the API.
                self.assertEqual(d.request('POST', '/v1/nodes', {}).status, 405)
            finally:
                d.stop()
                d.cleanup()

    def test_a_bad_node_name_is_refused(self):
        import subprocess
        with tempfile.TemporaryDirectory() as tmp:
            env = dict(os.environ, **tg.db_env(tmp), TIKGATE_NODE_NAME='bad name')
            p = subprocess.run([tg.TIKGATED], env=env, capture_output=True, timeout=10)
            self.assertEqual(p.returncode, 2)
            self.assertIn(b'node_name', p.stderr)


class MetaAndLog(tg.DaemonTest):
    def test_meta_routes(self):
        r = self.d.request('GET', '/healthz', auth=None)
        self.assertEqual((r.status, r.json['status']), (200, 'ok'))
        r = self.d.request('GET', '/openapi.yaml', auth=None)
        self.assertEqual(r.status, 200)
        self.assertTrue(r.raw.startswith(b'openapi:'), r.raw[:40])
        r = self.d.request('GET', '/docs/errors', auth=None)
        self.assertEqual(r.status, 200)
        self.assertIn(b'## port_conflict', r.raw)

    def test_metrics(self):
        self.assertError(self.d.request('GET', '/metrics', auth=None), 401,
                         'authentication_error')
        self.d.request('POST', '/v1/sites', {'name': 'metered'})
        r = self.d.request('GET', '/metrics')
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.headers['Content-Type'].startswith('text/plain; version=0.0.4'))
        text = r.raw.decode()
        self.assertRegex(text, r'tikgate_sites\{status="pending_onboarding"\} [1-9]')
        self.assertIn('tikgate_jobs{status="failed"}', text)
        self.assertIn('tikgate_grants_live{kind="access"} 0', text)
        self.assertRegex(text, r'tikgate_http_responses_total\{class="2xx"\} [1-9]')
        self.assertIn('tikgate_edge_grants 0', text)
        if tg.BACKEND == 'sqlite':  # the SQLite writer's counters (the POST above held it)
            self.assertRegex(text, r'\ntikgate_store_writer_holds_total [1-9]')
            self.assertRegex(text, r'\ntikgate_store_writer_commits_total [1-9]')
            self.assertRegex(text, r'\ntikgate_store_writer_held_seconds_total \d+\.\d+\n')
        for line in text.splitlines():  # counts, and seconds with a fraction
            self.assertRegex(line,
                             r'^(# (HELP|TYPE) .*|[a-z_]+(\{[a-z_]+="[^"]*"\})? \d+(\.\d+)?)$')

    def test_one_access_log_line_per_request(self):
        marker = '/v1/log-marker-%d' % os.getpid()
        for _ in range(3):
            self.d.request('GET', marker)
        lines = [l for l in self.d.log().splitlines() if marker in l]
        self.assertEqual(len(lines), 3, lines)
        self.assertIn('404', lines[0])


class ConfigSources(tg.DaemonTest):
    def test_flag_beats_env_beats_file(self):
        with tempfile.TemporaryDirectory() as tmp:
            cfg = os.path.join(tmp, 'tikgate.conf')
            d = tg.Daemon(data_dir=tmp)
            with open(cfg, 'w') as f:
                f.write('# test\nlisten = 127.0.0.1:1\nentry_point = "file.example"\n'
                        'TIKGATE_PUBLIC_URL = http://from-file\n')
            # env (set by the harness) beats the file's listen; the flag beats the env's URL.
            d.extra_env['TIKGATE_CONFIG'] = cfg
            d.extra_env['TIKGATE_PUBLIC_URL'] = 'http://from-env'
            d.args = ['--public-url=http://from-flag']
            d.start()
            try:
                site = d.request('POST', '/v1/sites', {'name': 'cfg'}).json
                self.assertIn('url="http://from-flag/bootstrap/', site['bootstrap_command'])
            finally:
                d.stop()
            d.args = []
            d.start()
            try:
                site = d.request('POST', '/v1/sites', {'name': 'cfg'}).json
                self.assertIn('url="http://from-env/bootstrap/', site['bootstrap_command'])
            finally:
                d.cleanup()

    def test_bad_config_is_refused(self):
        import subprocess
        with tempfile.TemporaryDirectory() as tmp:
            cfg = os.path.join(tmp, 'bad.conf')
            with open(cfg, 'w') as f:
                f.write('no_such_key = 1\n')
            p = subprocess.run([tg.TIKGATED, '--config', cfg], capture_output=True, timeout=10,
                               env=dict(os.environ, **tg.db_env(tmp)))
            self.assertNotEqual(p.returncode, 0)
            self.assertIn(b'unknown key', p.stderr)


if __name__ == '__main__':
    tg.main()
