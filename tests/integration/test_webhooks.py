"""Issue 12 item 3: webhooks end to end on loopback.

A receiver on 127.0.0.1 verifies every delivery's Tikgate-Signature (HMAC-SHA256 of
"<t>.<body>") and records the event ids it accepted. A simulated router adopts (site.online,
job.completed), transient access is created, revoked and expired (grant.*); each event
arrives once. Then the receiver answers 500 while new events are retried, tikgated is killed
(SIGKILL, and another time SIGTERM) in the middle of the retries and restarted: after the
receiver recovers, every event in the outbox has been accepted exactly once. Without TIKGATE_WEBHOOK_ALLOW_PRIVATE a
loopback or private URL is refused (400 webhook_url_refused).
"""
import hashlib
import hmac
import http.server
import json
import signal
import threading
import time

import simharness
import tg
from simharness import wait_for

ENV = {'TIKGATE_POLL_INTERVAL': '1', 'TIKGATE_ALLOW_PRIVATE_SOURCES': '1',
       'TIKGATE_WEBHOOK_ALLOW_PRIVATE': '1', 'TIKGATE_WEBHOOK_BACKOFF_MS': '200',
       'TIKGATE_WEBHOOK_BACKOFF_MAX_MS': '800', 'TIKGATE_WEBHOOK_MAX_ATTEMPTS': '1000',
       'TIKGATE_WEBHOOK_TIMEOUT_MS': '2000', 'TIKGATE_WEBHOOK_POLL_MS': '100',
       'TIKGATE_EDGE_LISTEN': '127.0.0.1', 'TIKGATE_EDGE_PORTS': '23000-23999'}


class Receiver(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(('127.0.0.1', 0), Handler)
        self.secret = None
        self.failing = False
        self.lock = threading.Lock()
        self.accepted = []   # (event id, type) of every delivery answered 200
        self.refused = 0     # deliveries answered 500
        self.bad = []        # signature failures
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    def url(self):
        return 'http://127.0.0.1:%d/hook' % self.server_address[1]

    def types(self):
        with self.lock:
            return [t for _, t in self.accepted]

    def close(self):
        self.shutdown()
        self.server_close()


def verify(secret, header, body):
    """The check docs/webhooks.md tells receivers to make."""
    parts = dict(p.split('=', 1) for p in header.split(','))
    mac = hmac.new(secret.encode(), parts['t'].encode() + b'.' + body, hashlib.sha256)
    return hmac.compare_digest(mac.hexdigest(), parts['v1']) and \
        abs(time.time() - int(parts['t'])) < 300


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        srv = self.server
        body = self.rfile.read(int(self.headers['Content-Length']))
        ok = verify(srv.secret, self.headers.get('Tikgate-Signature', 't=0,v1='), body)
        ev = json.loads(body)
        with srv.lock:
            if not ok:
                srv.bad.append(ev)
            if srv.failing:
                srv.refused += 1
                code = 500
            else:
                srv.accepted.append((ev['id'], ev['type']))
                code = 200
        self.send_response(code)
        self.send_header('Content-Length', '0')
        self.end_headers()


class Webhooks(tg.DaemonTest):
    daemon_env = ENV

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.rx = Receiver()
        cls.addClassCleanup(cls.rx.close)
        cls.sim = None

    @classmethod
    def tearDownClass(cls):
        if cls.sim:
            cls.sim.cleanup()
        super().tearDownClass()

    def outbox(self):
        return {row[0]: row[1] for row in self.d.db_query('SELECT id, type FROM webhook_events')}

    def test_1_crud_and_caps(self):
        r = self.d.request('POST', '/v1/webhooks', {'url': self.rx.url(), 'events': ['nope']})
        self.assertError(r, 400, 'invalid_request_error', 'parameter_invalid', 'events')
        r = self.d.request('POST', '/v1/webhooks', {'url': 'ftp://x/', 'events': ['job.failed']})
        self.assertError(r, 400, 'invalid_request_error', 'parameter_invalid', 'url')
        r = self.d.request('POST', '/v1/webhooks', {'url': 'http://x/' + 'a' * 2100,
                                                    'events': ['job.failed']})
        self.assertError(r, 400, 'invalid_request_error', 'parameter_invalid', 'url')
        r = self.d.request('POST', '/v1/webhooks', {'url': self.rx.url(), 'events': ['job.failed'],
                                                    'secret': 'short'})
        self.assertError(r, 400, 'invalid_request_error', 'parameter_invalid', 'secret')
        r = self.d.request('POST', '/v1/webhooks', {'url': self.rx.url(),
                                                    'events': ['job.failed']})
        self.assertEqual(r.status, 201, r)
        h = r.json
        self.assertRegex(h['secret'], r'^whsec_[0-9a-f]{32}$')
        g = self.d.request('GET', '/v1/webhooks/' + h['id'])
        self.assertEqual(g.status, 200, g)
        self.assertNotIn('secret', g.json)
        r = self.d.request('PATCH', '/v1/webhooks/' + h['id'],
                           {'events': ['job.completed', 'site.online'], 'enabled': False})
        self.assertEqual(r.status, 200, r)
        self.assertEqual((sorted(r.json['events']), r.json['enabled']),
                         (['job.completed', 'site.online'], False))
        self.assertEqual(self.d.request('DELETE', '/v1/webhooks/' + h['id']).status, 204)
        self.assertEqual(self.d.request('GET', '/v1/webhooks/' + h['id']).status, 404)
        # the per-tenant cap
        ids = []
        for i in range(20):
            r = self.d.request('POST', '/v1/webhooks', {'url': self.rx.url(),
                                                        'events': ['job.failed'],
                                                        'enabled': False})
            self.assertEqual(r.status, 201, r)
            ids.append(r.json['id'])
        r = self.d.request('POST', '/v1/webhooks', {'url': self.rx.url(),
                                                    'events': ['job.failed']})
        self.assertError(r, 409, 'conflict_error', 'webhook_limit')
        self.assertEqual(len(self.d.request('GET', '/v1/webhooks').json), 20)
        for i in ids:
            self.assertEqual(self.d.request('DELETE', '/v1/webhooks/' + i).status, 204)

    def test_2_events_once_then_a_restart_in_the_middle_of_retries(self):
        secret = 'a-test-secret-of-enough-bytes'
        self.rx.secret = secret
        r = self.d.request('POST', '/v1/webhooks', {
            'url': self.rx.url(), 'secret': secret,
            'events': ['job.completed', 'job.failed', 'grant.created', 'grant.revoked',
                       'grant.expired', 'site.online', 'site.offline']})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json['secret'], secret)
        hook = r.json['id']
        site = self.d.request('POST', '/v1/sites', {'name': 'hooked'}).json
        Webhooks.sim = simharness.Sim('127.0.0.2',
                                      bootstrap_command=site['bootstrap_command']).start()
        base = '/v1/control-plane/%s/transient-access' % site['id']
        self.assertTrue(wait_for(lambda: 'site.online' in self.rx.types(), 20), self.d.log())
        a = self.d.request('POST', base, {'allow_only_cidr': '127.0.0.1/32'}).json
        b = self.d.request('POST', base, {'allow_only_cidr': '127.0.0.1/32'}).json
        self.assertEqual(self.d.request('DELETE', base + '/' + a['id']).status, 204)
        self.d.db_execute('UPDATE grants SET expires_at_ms = 1 WHERE id = ?', (b['id'],))
        want = {'site.online', 'job.completed', 'grant.created', 'grant.revoked',
                'grant.expired'}
        self.assertTrue(wait_for(lambda: want <= set(self.rx.types()), 20),
                        (self.rx.types(), self.d.log()[-3000:]))
        # every event of the outbox once, nothing else, every signature good
        self.assertTrue(wait_for(lambda: len(self.rx.accepted) == len(self.outbox()) and
                                 self.rx.types().count('job.completed') >= 3, 20))
        time.sleep(0.5)
        with self.rx.lock:
            ids = [i for i, _ in self.rx.accepted]
        self.assertEqual(sorted(ids), sorted(self.outbox()))
        self.assertEqual(self.rx.types().count('grant.created'), 2)
        self.assertEqual(self.rx.bad, [])

        # The receiver fails; new events are retried; tikgated is stopped among the retries
        # (killed, then a second time by SIGTERM) and started again.
        def all_once():
            with self.rx.lock:
                got = [i for i, _ in self.rx.accepted]
            return sorted(got) == sorted(self.outbox())
        for n, sig in ((3, signal.SIGKILL), (4, signal.SIGTERM)):
            self.rx.failing = True
            refused = self.rx.refused
            c = self.d.request('POST', base, {'allow_only_cidr': '127.0.0.1/32'}).json
            self.assertEqual(self.d.request('DELETE', base + '/' + c['id']).status, 204)
            self.assertTrue(wait_for(lambda: self.rx.refused >= refused + 6, 20),
                            self.d.log()[-2000:])
            self.d.stop(sig)
            self.rx.failing = False
            self.d.start()
            self.assertTrue(wait_for(all_once, 30), (self.rx.accepted, self.outbox()))
            time.sleep(1)  # nothing comes twice afterwards
            with self.rx.lock:
                ids = [i for i, _ in self.rx.accepted]
            self.assertEqual(len(ids), len(set(ids)), self.rx.accepted)
            self.assertEqual(set(ids), set(self.outbox()))
            self.assertEqual(self.rx.types().count('grant.created'), n)
            self.assertEqual(self.rx.bad, [])

        # the delivery log: failed attempts with their status and retry, then the success
        log = self.d.request('GET', '/v1/webhooks/%s/deliveries?limit=100' % hook)
        self.assertEqual(log.status, 200, log)
        codes = {x['status_code'] for x in log.json}
        self.assertTrue({200, 500} <= codes, log.json)
        failed = [x for x in log.json if x['status_code'] == 500]
        self.assertTrue(all(x['error'] == 'HTTP 500' and x['state'] in ('pending', 'delivered')
                            for x in failed), failed)
        self.assertTrue(any(x['next_retry_at'] for x in failed), failed)
        ok = [x for x in log.json if x['status_code'] == 200]
        self.assertTrue(all(x['state'] == 'delivered' and x['next_retry_at'] is None and
                            x['duration_ms'] >= 0 for x in ok), ok)


class WebhooksSsrf(tg.DaemonTest):
    """Without TIKGATE_WEBHOOK_ALLOW_PRIVATE: loopback, private and link-local are refused."""

    def test_private_urls_refused(self):
        for url in ('http://127.0.0.1:9/x', 'http://10.1.2.3/x', 'http://192.168.1.1/',
                    'http://100.64.0.1/', 'http://169.254.169.254/latest/meta-data',
                    'http://[::1]:8080/', 'http://[fd00::1]/', 'http://0.0.0.0/',
                    'http://[::ffff:127.0.0.1]/', 'http://224.0.0.1/', 'https://localhost/'):
            r = self.d.request('POST', '/v1/webhooks', {'url': url, 'events': ['job.failed']})
            self.assertError(r, 400, 'invalid_request_error', 'webhook_url_refused', 'url')
        r = self.d.request('POST', '/v1/webhooks', {'url': 'https://93.184.215.14/hook',
                                                    'events': ['job.failed']})
        self.assertEqual(r.status, 201, r)
        r = self.d.request('PATCH', '/v1/webhooks/' + r.json['id'],
                           {'url': 'http://127.0.0.1/'})
        self.assertError(r, 400, 'invalid_request_error', 'webhook_url_refused', 'url')


if __name__ == '__main__':
    tg.main()
