"""The device-facing routes and the orchestration log, driven with plain HTTP (no router).

A router's side is played by the test: it fetches the bootstrap script, posts facts to
/adopt, polls with its device token and reports busy/done/fail on the signed URLs.
"""
import re
import time
import urllib.parse

import tg

FACTS = 'identity=edge-7;model=CHR;serial-number=X1;version=7.15;tunnel-address=127.0.0.250/32'


class Device(tg.DaemonTest):
    daemon_env = {'TIKGATE_POLL_INTERVAL': '1', 'TIKGATE_JOB_MAX_ATTEMPTS': '2',
                  'TIKGATE_JOB_BACKOFF_MS': '50'}

    def new_site(self, name='dev'):
        s = self.d.request('POST', '/v1/sites', {'name': name}).json
        token = re.search(r'/bootstrap/(\w+)"', s['bootstrap_command']).group(1)
        return s['id'], token

    def adopt(self, token, facts=FACTS):
        r = self.d.request('POST', '/adopt/' + token, raw=facts.encode(), auth=None,
                           content_type='text/plain')
        self.assertEqual(r.status, 200, r)
        return r.raw.decode(), re.search(r'Bearer (\w+)', r.raw.decode()).group(1)

    def poll(self, device_token):
        r = self.d.request('POST', '/poll', raw=b'heartbeat', auth=device_token,
                           content_type='text/plain')
        self.assertEqual(r.status, 200, r)
        return r.raw.decode()

    def urls(self, script):
        return {m.group(1): m.group(0).replace('\\?', '?') for m in
                re.finditer(r'http://[^"]*status=(busy|done|fail)&signature=[0-9a-f]+', script)}

    def get(self, url):
        u = urllib.parse.urlsplit(url)
        return self.d.request('GET', u.path + '?' + u.query, auth=None)

    def test_bootstrap_adopt_poll_done(self):
        site, token = self.new_site()
        r = self.d.request('GET', '/bootstrap/' + token, auth=None)
        self.assertEqual(r.status, 200)
        self.assertIn('/adopt/' + token, r.raw.decode())
        self.assertIn('http-data=$facts', r.raw.decode())
        script, device = self.adopt(token)
        self.assertIn('/system scheduler add name="tikgate-poll" interval=1s', script)
        self.assertIn('/user add name=tikgate-api group=full', script)
        self.assertIn('/ip service set api port=8728', script)
        s = self.d.request('GET', '/v1/sites/' + site).json
        self.assertEqual((s['status'], s['identity'], s['model'], s['serial_number'],
                          s['software_version'], s['tunnel_address']),
                         ('online', 'edge-7', 'CHR', 'X1', '7.15', '127.0.0.250'))
        self.assertIsNone(s['bootstrap_command'])
        self.assertRegex(s['last_seen_at'], tg.RFC3339)

        self.assertEqual(self.poll(device).strip(), '# tikgate: nothing to do')
        r = self.d.request('POST', '/v1/sites/%s/jobs' % site,
                           {'description': 'say hi', 'script': ':log info "hi"',
                            'express_execute': False})
        self.assertEqual(r.status, 201, r)
        job = r.json['id']
        script = self.poll(device)
        self.assertIn(':log info "hi"', script)
        u = self.urls(script)
        self.assertEqual(set(u), {'busy', 'done', 'fail'})
        # A forged signature changes nothing.
        forged = re.sub(r'signature=[0-9a-f]+', 'signature=' + '0' * 64, u['done'])
        r = self.get(forged)
        self.assertError(r, 403, 'permission_error', 'invalid_signature')
        r = self.get(u['done'].replace('status=done', 'status=fail'))
        self.assertError(r, 403, 'permission_error', 'invalid_signature')
        j = self.d.request('GET', '/v1/sites/%s/jobs/%s' % (site, job)).json
        self.assertEqual(j['status'], 'running')
        self.assertEqual(self.get(u['busy']).status, 200)
        self.assertEqual(self.get(u['done']).status, 200)
        j = self.d.request('GET', '/v1/sites/%s/jobs/%s' % (site, job)).json
        self.assertEqual(j['status'], 'completed')
        kinds = [e['kind'] for e in j['events']]
        self.assertEqual(kinds, ['created', 'downloaded', 'busy', 'completed'])
        self.assertError(self.get(u['fail']), 409, 'conflict_error', 'job_finished')
        # The MikroCloud alias lists the same log.
        r = self.d.request('GET', '/api/routers/%s/jobs' % site)
        self.assertEqual([x['id'] for x in r.json][0], job)

    def test_bootstrap_token_is_single_use_and_can_be_reissued(self):
        site, token = self.new_site('single-use')
        self.adopt(token)
        r = self.d.request('GET', '/bootstrap/' + token, auth=None)
        self.assertError(r, 404, 'not_found_error')
        r = self.d.request('POST', '/adopt/' + token, raw=FACTS.encode(), auth=None,
                           content_type='text/plain')
        self.assertError(r, 404, 'not_found_error')
        # A reset router is onboarded again with a new token; the old one stays dead.
        r = self.d.request('POST', '/v1/sites/%s/bootstrap' % site)
        self.assertEqual(r.status, 200, r)
        new = re.search(r'/bootstrap/(\w+)"', r.json['bootstrap_command']).group(1)
        self.assertNotEqual(new, token)
        self.assertError(self.d.request('GET', '/bootstrap/' + token, auth=None), 404,
                         'not_found_error')
        script, device = self.adopt(new)
        # Re-arming an adopted site rotated the API password (security-review F4): the adopt
        # answer installs the new one, and the rotation job queued with it sets the same.
        creds = self.d.request('GET', '/v1/control-plane/%s/credentials' % site).json
        self.assertEqual(len(creds), 2)
        self.assertIn('password=%s' % creds[-1]['password'], script)
        # The rotation job is express: a push attempt (no router answers at 127.0.0.250) may
        # hold it when the first poll comes, and it is pending again after that attempt.
        deadline, polled = time.time() + 5, ''
        while '(api_user)' not in polled and time.time() < deadline:
            polled = self.poll(device)
            if '(api_user)' not in polled:
                time.sleep(0.1)
        self.assertIn('(api_user)', polled)

    def test_idempotency_key_queues_one_job(self):
        site, _ = self.new_site('idem')
        body = {'description': 'once', 'script': ':log info "x"', 'express_execute': False,
                'idempotency_key': 'abc-123'}
        r1 = self.d.request('POST', '/v1/sites/%s/jobs' % site, body)
        r2 = self.d.request('POST', '/v1/sites/%s/jobs' % site, body)
        self.assertEqual((r1.status, r2.status), (201, 200))
        self.assertEqual(r1.json['id'], r2.json['id'])
        self.assertEqual(len(self.d.request('GET', '/v1/sites/%s/jobs' % site).json), 1)

    def test_failure_reported_by_router(self):
        site, token = self.new_site('fails')
        _, device = self.adopt(token)
        r = self.d.request('POST', '/api/asynchronous/' + site,
                           {'description': 'bad', 'script': '/nonsense', 'express_execute': False})
        self.assertEqual(r.status, 202, r)
        self.assertEqual(r.json['status'], 'success')
        job = r.json['data']['request_id']
        u = self.urls(self.poll(device))
        self.get(u['busy'])
        self.get(u['fail'])
        j = self.d.request('GET', '/v1/sites/%s/jobs/%s' % (site, job)).json
        self.assertEqual(j['status'], 'failed')
        self.assertEqual(j['events'][-1]['kind'], 'failed')

    def test_cancel(self):
        site, token = self.new_site('cancel')
        _, device = self.adopt(token)
        mk = lambda d: self.d.request('POST', '/v1/sites/%s/jobs' % site,
                                      {'description': d, 'script': ':log info "x"',
                                       'express_execute': False}).json['id']
        a, b = mk('first'), mk('second')
        self.poll(device)  # takes the first: it is now running
        r = self.d.request('DELETE', '/v1/sites/%s/jobs/%s' % (site, a))
        self.assertError(r, 409, 'invalid_request_error', 'job_already_started')
        r = self.d.request('DELETE', '/v1/sites/%s/jobs/%s' % (site, b))
        self.assertEqual(r.status, 204)
        j = self.d.request('GET', '/v1/sites/%s/jobs/%s' % (site, b)).json
        self.assertEqual(j['status'], 'deleted')
        self.assertRegex(j['deleted_at'], tg.RFC3339)

    def test_text_plain_job_form(self):
        site, _ = self.new_site('plain')
        r = self.d.request('POST', '/v1/sites/%s/jobs' % site, raw=b':log info "plain"',
                           content_type='text/plain',
                           headers={'X-Description': 'from headers', 'X-Express-Execute': 'false',
                                    'X-Idempotency-Key': 'k-1'})
        self.assertEqual(r.status, 201, r)
        self.assertEqual((r.json['description'], r.json['script'], r.json['express_execute'],
                          r.json['idempotency_key']),
                         ('from headers', ':log info "plain"', False, 'k-1'))

    def test_push_to_unreachable_router_retries_then_fails(self):
        site, token = self.new_site('unreachable')
        script, device = self.adopt(token)   # tunnel 127.0.0.250: nothing listens there
        # Until the router confirms it ran the adoption script (its last line), no push.
        r = self.d.request('POST', '/v1/control-plane/%s/action' % site,
                           {'action': 'site.recreate_management_filter'})
        early = r.json['job']['id']
        time.sleep(0.5)
        j = self.d.request('GET', '/v1/sites/%s/jobs/%s' % (site, early)).json
        self.assertEqual((j['status'], j['attempts']), ('pending', 0), j)
        self.assertIn('http-data="adopted"', script.replace('\\', ''))
        r = self.d.request('POST', '/poll', raw=b'adopted', auth=device, content_type='text/plain')
        self.assertEqual(r.status, 200, r)
        self.assertNotIn('tikgate job', r.raw.decode())   # the confirmation hands out no job
        r = self.d.request('POST', '/v1/control-plane/%s/action' % site,
                           {'action': 'site.recreate_management_filter'})
        self.assertEqual(r.status, 202, r)
        job = r.json['job']['id']
        deadline = time.time() + 10
        while time.time() < deadline:
            j = self.d.request('GET', '/v1/sites/%s/jobs/%s' % (site, job)).json
            if j['status'] == 'failed':
                break
            time.sleep(0.1)
        self.assertEqual(j['status'], 'failed', j)
        self.assertIn('127.0.0.250', j['last_error'])
        kinds = [e['kind'] for e in j['events']]
        self.assertIn('retry_scheduled', kinds)
        self.assertEqual(kinds[-1], 'failed')

    def test_offline_after_missed_heartbeats(self):
        site, token = self.new_site('goes-offline')
        _, device = self.adopt(token)
        self.assertEqual(self.d.request('GET', '/v1/sites/' + site).json['status'], 'online')
        deadline = time.time() + 15
        status = None
        while time.time() < deadline:
            status = self.d.request('GET', '/v1/sites/' + site).json['status']
            if status == 'offline':
                break
            time.sleep(0.25)
        self.assertEqual(status, 'offline')
        self.poll(device)
        self.assertEqual(self.d.request('GET', '/v1/sites/' + site).json['status'], 'online')

    def test_bad_device_input(self):
        site, token = self.new_site('bad')
        for facts in (b'', b'no-equals-sign', b'=value', b'UPPER=x', b'a=b\x01c',
                      b'tunnel-address=not-an-ip'):
            with self.subTest(facts=facts):
                r = self.d.request('POST', '/adopt/' + token, raw=facts, auth=None,
                                   content_type='text/plain')
                self.assertError(r, 400, 'invalid_request_error')
        r = self.d.request('POST', '/adopt/' + token, raw=b'a=' + b'x' * 9000, auth=None,
                           content_type='text/plain')
        self.assertError(r, 413, 'invalid_request_error')
        self.assertEqual(self.d.request('GET', '/v1/sites/' + site).json['status'],
                         'pending_onboarding')
        r = self.d.request('POST', '/adopt/' + 'A' * 32, raw=FACTS.encode(), auth=None,
                           content_type='text/plain')
        self.assertError(r, 404, 'not_found_error')
        r = self.d.request('POST', '/poll', raw=b'x', auth='B' * 32, content_type='text/plain')
        self.assertError(r, 401, 'authentication_error', 'invalid_device_token')
        r = self.d.request('POST', '/poll', raw=b'x', auth=tg.ADMIN_KEY,
                           content_type='text/plain')
        self.assertError(r, 401, 'authentication_error')
        r = self.d.request('POST', '/v1/sites/%s/jobs' % site,
                           {'description': 'long', 'script': 'x' * 2001})
        self.assertError(r, 400, 'invalid_request_error', 'script_too_long', 'script')
        r = self.d.request('POST', '/v1/sites/%s/jobs' % site,
                           {'description': 'd' * 101, 'script': 'x'})
        self.assertError(r, 400, 'invalid_request_error', 'description_too_long')
        r = self.d.request('POST', '/v1/control-plane/%s/action' % site, {'action': 'site.fly'})
        self.assertError(r, 400, 'invalid_request_error', 'unknown_action', 'action')
        self.assertEqual(self.d.request('GET', '/v1/sites/%s/jobs' % site).json, [])


if __name__ == '__main__':
    tg.main()
