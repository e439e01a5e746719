"""Issue 14 item 2: rotation of the platform's API password is two-phase and converges.

A simulated router (127.0.0.41) is adopted; then the API password is rotated twelve times,
tikgated being SIGKILLed right after every third rotation (its push in flight or not started)
and restarted on the same data. A new password is `pending` until the router has it and only
then `current`; the dispatcher tries pending passwords first and makes the one that logs in
current (saying so in the job's log). When the queue has drained: exactly one credential is
current, the router accepts exactly that password, and every older one is dead on the router.
"""
import signal
import time

import rosapi
import simharness
import tg
from simharness import wait_for

ENV = {'TIKGATE_POLL_INTERVAL': '1', 'TIKGATE_JOB_BACKOFF_MS': '100',
       'TIKGATE_JOB_LEASE_MS': '3000', 'TIKGATE_HEARTBEAT_MS': '300'}
ROUNDS = 12


class TwoPhaseRotation(tg.DaemonTest):
    daemon_env = ENV

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.site, cls.sim = simharness.adopted(cls.d, 'rotating', '127.0.0.41')

    @classmethod
    def tearDownClass(cls):
        cls.sim.cleanup()
        super().tearDownClass()

    def creds(self):
        r = self.d.request('GET', '/v1/control-plane/%s/credentials' % self.site)
        self.assertEqual(r.status, 200, r)
        return r.json

    def api_user_jobs_open(self):
        r = self.d.request('GET', '/v1/sites/%s/jobs?limit=100' % self.site)
        if r.status != 200:
            return True
        return any(j['status'] in ('pending', 'running') for j in r.json)

    def test_1_rotations_with_kills_converge_to_one_password(self):
        first = self.creds()
        self.assertEqual([c['status'] for c in first], ['current'])
        passwords = [first[0]['password']]
        r = self.d.request('POST', '/v1/control-plane/%s/credentials' % self.site)
        self.assertEqual(r.status, 201, r)
        passwords.append(r.json['password'])
        # pending until the router has it: the old one is still current meanwhile
        states = {c['id']: c['status'] for c in self.creds()}
        self.assertIn(states[r.json['id']], ('pending', 'current'))
        self.assertTrue(wait_for(lambda: {c['id']: c['status'] for c in self.creds()}
                                 [r.json['id']] == 'current', 15), self.creds())
        self.assertTrue(rosapi.can_login(self.sim.address, 8728, 'tikgate-api', passwords[-1]))
        self.assertFalse(rosapi.can_login(self.sim.address, 8728, 'tikgate-api', passwords[0]))
        for i in range(ROUNDS):
            r = self.d.request('POST', '/v1/control-plane/%s/credentials' % self.site)
            self.assertEqual(r.status, 201, r)
            passwords.append(r.json['password'])
            if i % 3 == 1:
                time.sleep(0.01 * i)  # the push not yet started, or on its way
                self.d.stop(sig=signal.SIGKILL)
                self.d.start()
        self.assertTrue(wait_for(lambda: not self.api_user_jobs_open(), 90),
                        self.d.request('GET', '/v1/sites/%s/jobs' % self.site).json)
        creds = self.creds()
        current = [c for c in creds if c['status'] == 'current']
        self.assertEqual(len(current), 1, creds)
        self.assertEqual(current[0]['password'], passwords[-1])  # the jobs ran in order
        self.assertIsNone(current[0]['deleted_at'])
        self.assertTrue(rosapi.can_login(self.sim.address, 8728, 'tikgate-api',
                                         current[0]['password']))
        for pw in passwords[:-1]:
            self.assertFalse(rosapi.can_login(self.sim.address, 8728, 'tikgate-api', pw))
        for c in creds:
            if c['status'] == 'retired':
                self.assertIsNotNone(c['deleted_at'])
        # and the platform still reaches the router: a job by express push completes
        r = self.d.request('POST', '/v1/sites/%s/jobs' % self.site,
                           {'description': 'after the rotations', 'script': ':log info ok'})
        self.assertEqual(r.status, 201, r)
        jid = r.json['id']
        self.assertTrue(wait_for(lambda: self.d.request(
            'GET', '/v1/sites/%s/jobs/%s' % (self.site, jid)).json['status'] == 'completed', 30))

    def test_2_newer_rotations_and_policy_pushes_supersede_waiting_ones(self):
        self.assertTrue(wait_for(lambda: not self.api_user_jobs_open(), 60))
        self.sim.pause()  # the router stops answering: pushes wait, the rest queues up
        try:
            ids = []
            for _ in range(3):
                r = self.d.request('POST', '/v1/control-plane/%s/credentials' % self.site)
                self.assertEqual(r.status, 201, r)
                ids.append(r.json['id'])
            pol = self.d.request('GET', '/v1/control-plane/policies').json[0]
            body = {k: pol[k] for k in ('name', 'winbox', 'ssh', 'http', 'https', 'telnet',
                                        'ftp', 'api', 'api_ssl', 'trusted_networks',
                                        'custom_input_rules')}
            for port in (2301, 2302, 2303):
                body['telnet']['port'] = port
                r = self.d.request('PUT', '/v1/control-plane/policies/' + pol['id'], body)
                self.assertEqual(r.status, 200, r)
            jobs = self.d.request('GET', '/v1/sites/%s/jobs?limit=100' % self.site).json
        finally:
            self.sim.resume()
        mine = [j for j in jobs if j['kind'] in ('api_user', 'policy')][:6]
        superseded = [j for j in mine if j['status'] == 'superseded']
        # of each kind, every waiting one but the newest (one may already be running)
        self.assertGreaterEqual(len(superseded), 2, mine)
        for kind in ('api_user', 'policy'):
            newest = [j for j in mine if j['kind'] == kind][0]
            self.assertNotEqual(newest['status'], 'superseded', newest)
        j = self.d.request('GET', '/v1/sites/%s/jobs/%s' % (self.site, superseded[0]['id'])).json
        self.assertIn('superseded', [e['kind'] for e in j['events']], j)
        self.assertTrue(any('superseded by job' in e['message'] for e in j['events']), j)
        self.assertTrue(wait_for(lambda: not self.api_user_jobs_open(), 60))
        creds = self.creds()
        current = [c for c in creds if c['status'] == 'current']
        self.assertEqual([c['id'] for c in current], [ids[-1]], creds)
        self.assertTrue(rosapi.can_login(self.sim.address, 8728, 'tikgate-api',
                                         current[0]['password']))
        svc = {s['name']: s for s in self.sim.menu('/ip/service')}
        self.assertEqual(str(svc['telnet']['port']), '2303')


class QueueLimits(tg.DaemonTest):
    """Operator jobs are capped per site (429 site_queue_full); the platform's own are not."""
    daemon_env = dict(ENV, TIKGATE_SITE_QUEUE_MAX='3', TIKGATE_ROLES='api')

    def test_site_queue_limit(self):
        site = self.d.request('POST', '/v1/sites', {'name': 'queued'}).json['id']
        for i in range(3):
            r = self.d.request('POST', '/v1/sites/%s/jobs' % site,
                               {'description': 'j%d' % i, 'script': ':log info x'})
            self.assertEqual(r.status, 201, r)
        r = self.d.request('POST', '/v1/sites/%s/jobs' % site,
                           {'description': 'one too many', 'script': ':log info x'})
        self.assertError(r, 429, 'rate_limit_error', 'site_queue_full')
        self.assertEqual(r.headers.get('Retry-After'), '5')
        jobs = self.d.request('GET', '/v1/sites/%s/jobs' % site).json
        self.assertEqual(len(jobs), 3)  # nothing was queued
        # another site is not affected
        other = self.d.request('POST', '/v1/sites', {'name': 'other'}).json['id']
        r = self.d.request('POST', '/v1/sites/%s/jobs' % other,
                           {'description': 'fine', 'script': ':log info x'})
        self.assertEqual(r.status, 201, r)


if __name__ == '__main__':
    tg.main()
