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
        site = cls.d.request('POST', '/v1/sites', {'name': 'rotating'}).json
        cls.site = site['id']
        cls.sim = simharness.Sim('127.0.0.41', bootstrap_command=site['bootstrap_command']).start()
        if not wait_for(lambda: cls.d.request('GET', '/v1/sites/' + cls.site).json['status']
                        == 'online', 15):
            raise RuntimeError('the simulator did not adopt:\n' + cls.sim.log())

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

    def test_rotations_with_kills_converge_to_one_password(self):
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


if __name__ == '__main__':
    tg.main()
