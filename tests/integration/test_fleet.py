"""The fleet view's routes (issue 12 item 4, docs/API.md "Fleet"): the tenant's counts after
adoption, a grant and a router going silent; the 5-minute history with its live point; each
site's up time by day from its heartbeats (a silence that made the site offline is no up time);
the bounds of ?hours= and ?days=, tenant scoping and the site:view scope.

The router's side is played with plain HTTP (adopt, then polls with the device token), so the
heartbeats are the test's own and their gaps known."""
import re
import time

import tg
from simharness import wait_for

FACTS = 'identity=r;model=CHR;serial-number=X1;version=7.15;tunnel-address=127.0.0.%d/32'
NONE = '00000000-0000-7000-8000-000000000000'


class Fleet(tg.DaemonTest):
    daemon_env = {'TIKGATE_POLL_INTERVAL': '1', 'TIKGATE_ALLOW_PRIVATE_SOURCES': '1',
                  'TIKGATE_EDGE_LISTEN': '127.0.0.1', 'TIKGATE_EDGE_PORTS': '23000-23999'}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sites = {}
        for i, name in enumerate(('alpha', 'beta', 'gamma')):
            s = cls.d.request('POST', '/v1/sites', {'name': name}).json
            token = re.search(r'/bootstrap/(\w+)"', s['bootstrap_command']).group(1)
            cls.sites[name] = (s['id'], token, 200 + i)

    def get(self, path, **kw):
        r = self.d.request('GET', path, **kw)
        self.assertEqual(r.status, 200, r)
        return r.json

    def adopt(self, name):
        _, token, host = self.sites[name]
        r = self.d.request('POST', '/adopt/' + token, raw=(FACTS % host).encode(), auth=None,
                           content_type='text/plain')
        self.assertEqual(r.status, 200, r)
        return re.search(r'Bearer (\w+)', r.raw.decode()).group(1)

    def poll(self, device):
        r = self.d.request('POST', '/poll', raw=b'heartbeat', auth=device,
                           content_type='text/plain')
        self.assertEqual(r.status, 200, r)

    def status(self, name):
        return self.get('/v1/sites/' + self.sites[name][0])['status']

    def test_1_counts_history_and_uptime(self):
        s = self.get('/v1/fleet/summary')
        self.assertEqual(s['sites'], {'total': 3, 'pending_onboarding': 3, 'online': 0,
                                      'offline': 0, 'deleting': 0})
        self.assertEqual((s['tunnels_down'], s['grants_live']), (0, 0))
        self.assertRegex(s['at'], tg.RFC3339)

        # alpha polls steadily; beta adopts and goes silent until it is offline
        t0 = time.time()
        alpha, beta = self.adopt('alpha'), self.adopt('beta')
        s = self.get('/v1/fleet/summary')
        self.assertEqual((s['sites']['online'], s['sites']['pending_onboarding']), (2, 1))
        jobs = sum(1 for n in ('alpha', 'beta', 'gamma') for j in
                   self.get('/v1/sites/%s/jobs' % self.sites[n][0]) if j['status'] == 'pending')
        self.assertEqual(s['jobs']['pending'], jobs)

        def offline():
            self.poll(alpha)
            return self.status('beta') == 'offline'
        self.assertTrue(wait_for(offline, 25, 0.5), 'beta did not go offline')
        self.poll(alpha)
        silence = time.time() - t0
        s = self.get('/v1/fleet/summary')
        self.assertEqual((s['sites']['online'], s['sites']['offline']), (1, 1))
        self.poll(beta)  # back: the silence before is no up time
        self.assertEqual(self.status('beta'), 'online')

        a = self.get('/v1/sites/%s/uptime' % self.sites['alpha'][0])
        b = self.get('/v1/sites/%s/uptime?days=3' % self.sites['beta'][0])
        self.assertEqual((len(a['days']), len(b['days'])), (7, 3))
        self.assertEqual(a['site_id'], self.sites['alpha'][0])
        self.assertEqual(a['name'], 'alpha')
        for day in a['days'][:-1]:  # adopted today: the days before have no span
            self.assertEqual((day['up_seconds'], day['span_seconds'], day['uptime']),
                             (0, 0, None))
        today = a['days'][-1]
        self.assertRegex(today['date'], r'T00:00:00\+00:00$')
        # alpha polled every half second since its adoption: up all along (whole seconds)
        self.assertGreaterEqual(today['up_seconds'], int(silence) - 2)
        self.assertLessEqual(today['up_seconds'], today['span_seconds'])
        self.assertGreater(a['uptime'], 0.8)
        self.assertLessEqual(a['uptime'], 1.0)
        # beta: one heartbeat after the adoption, across its offline time: nothing up
        self.assertEqual(b['up_seconds'], 0)
        self.assertGreaterEqual(b['span_seconds'], 10)
        self.assertEqual(b['uptime'], 0.0)
        self.poll(beta)
        time.sleep(1.2)
        self.poll(beta)
        b = self.get('/v1/sites/%s/uptime?days=1' % self.sites['beta'][0])
        self.assertGreaterEqual(b['up_seconds'], 1)
        self.assertLess(b['up_seconds'], 10)

        # the whole fleet's up time, paged like the sites list
        u = self.get('/v1/fleet/uptime')
        self.assertEqual([x['name'] for x in u], ['alpha', 'beta', 'gamma'])
        gamma = u[2]
        self.assertEqual((gamma['status'], gamma['uptime'], gamma['span_seconds']),
                         ('pending_onboarding', None, 0))
        self.assertEqual(u[0]['up_seconds'], self.get(
            '/v1/sites/%s/uptime' % self.sites['alpha'][0])['up_seconds'])
        first = self.get('/v1/fleet/uptime?limit=1')
        rest = self.get('/v1/fleet/uptime?limit=5&after_id=' + first[0]['site_id'])
        self.assertEqual([x['name'] for x in first + rest], ['alpha', 'beta', 'gamma'])

        # a grant: live in the counts and in the history's last point (now)
        r = self.d.request('POST', '/v1/control-plane/%s/transient-access' % self.sites['gamma'][0],
                           {'allow_only_cidr': '127.0.0.1/32'})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(self.get('/v1/fleet/summary')['grants_live'], 1)
        h = self.get('/v1/fleet/history')
        self.assertEqual((h['hours'], h['step_seconds']), (24, 300))
        # the scheduler's sample of this 5-minute boundary (or the previous) and now
        self.assertGreaterEqual(len(h['points']), 2)
        self.assertLessEqual(len(h['points']), 24 * 12 + 1)
        self.assertEqual(h['points'][-1]['live_grants'], 1)
        self.assertEqual(h['points'][-1]['connections'], 0)
        ats = [p['at'] for p in h['points']]
        self.assertEqual(ats, sorted(ats))
        for p in h['points']:
            self.assertRegex(p['at'], r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d')
        self.assertEqual(len(self.get('/v1/fleet/history?hours=1')['points']) <= 13, True)

    def test_2_bounds(self):
        for q in ('hours=0', 'hours=193', 'hours=x', 'hours=', 'hours=24.5'):
            with self.subTest(q=q):
                r = self.d.request('GET', '/v1/fleet/history?' + q)
                self.assertError(r, 400, 'invalid_request_error', 'parameter_invalid', 'hours')
        self.assertEqual(self.get('/v1/fleet/history?hours=192')['hours'], 192)
        site = self.sites['alpha'][0]
        for path in ('/v1/sites/%s/uptime' % site, '/v1/fleet/uptime'):
            for q in ('days=0', 'days=9', 'days=-1', 'days=7d'):
                with self.subTest(path=path, q=q):
                    r = self.d.request('GET', path + '?' + q)
                    self.assertError(r, 400, 'invalid_request_error', 'parameter_invalid', 'days')
        self.assertEqual(len(self.get('/v1/sites/%s/uptime?days=8' % site)['days']), 8)
        r = self.d.request('GET', '/v1/sites/%s/uptime' % NONE)
        self.assertError(r, 404, 'not_found_error')
        r = self.d.request('GET', '/v1/sites/not-a-uuid/uptime')
        self.assertError(r, 404, 'not_found_error')
        r = self.d.request('GET', '/v1/fleet/uptime?limit=1001')
        self.assertError(r, 400, 'invalid_request_error', 'parameter_invalid', 'limit')

    def test_3_tenants_and_scopes(self):
        _, key = self.d.tenant_create('other')
        s = self.get('/v1/fleet/summary', auth=key)
        self.assertEqual(s['sites']['total'], 0)
        self.assertEqual(s['grants_live'], 0)
        self.assertEqual(self.get('/v1/fleet/uptime', auth=key), [])
        self.assertEqual(self.get('/v1/fleet/history', auth=key)['points'][-1]['live_grants'], 0)
        r = self.d.request('GET', '/v1/sites/%s/uptime' % self.sites['alpha'][0], auth=key)
        self.assertError(r, 404, 'not_found_error')
        view = self.d.request('POST', '/v1/api-keys', {'name': 'v', 'scopes': ['site:view']})
        jobs = self.d.request('POST', '/v1/api-keys', {'name': 'j', 'scopes': ['job:view']})
        self.assertEqual((view.status, jobs.status), (201, 201))
        self.assertEqual(self.get('/v1/fleet/summary', auth=view.json['secret'])['sites']['total'],
                         3)
        for path in ('/v1/fleet/summary', '/v1/fleet/history', '/v1/fleet/uptime',
                     '/v1/sites/%s/uptime' % self.sites['alpha'][0]):
            with self.subTest(path=path):
                r = self.d.request('GET', path, auth=jobs.json['secret'])
                self.assertError(r, 403, 'permission_error')


if __name__ == '__main__':
    tg.main()
