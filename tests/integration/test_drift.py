"""Issue 14 item 3: a periodic check finds where a router drifted from the store and repairs it.

tikgated checks every adopted router once per TIKGATE_VERIFY_INTERVAL (1 s here) when its queue
is empty. Behind tikgate's back, as the router's admin, the test removes a live grant's
temporary user, adds a user tagged as a grant tikgate never made, and moves the telnet
service's port. The check queues a repair job for each (they show in the orchestration log,
created by "drift check"), a "drift" event says what was found, the metric counts it, and
the router is back to what the store says: the grant's user again, the stranger gone, telnet
where the policy has it. A router that matches the store gets no job.
"""
import re
import uuid

import rosapi
import simharness
import tg
from simharness import wait_for

ENV = {'TIKGATE_POLL_INTERVAL': '1', 'TIKGATE_JOB_BACKOFF_MS': '100',
       'TIKGATE_VERIFY_INTERVAL': '1', 'TIKGATE_ALLOW_PRIVATE_SOURCES': '1',
       'TIKGATE_EDGE_LISTEN': '127.0.0.1', 'TIKGATE_ENTRY_POINT': '127.0.0.1',
       'TIKGATE_EDGE_PORTS': '26000-26999'}
ADMIN_PW = 'drift-admin-secret'


class DriftCheck(tg.DaemonTest):
    daemon_env = ENV

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.site, cls.sim = simharness.adopted(cls.d, 'drifting', '127.0.0.61',
                                               admin_password=ADMIN_PW)

    @classmethod
    def tearDownClass(cls):
        cls.sim.cleanup()
        super().tearDownClass()

    def router(self):
        c = rosapi.Client(self.sim.address, 8728)
        c.login('admin', ADMIN_PW)
        return c

    def jobs(self):
        return self.d.request('GET', '/v1/sites/%s/jobs?limit=100' % self.site).json

    def metric(self, name):
        text = self.d.request('GET', '/metrics').raw.decode()
        m = re.search(r'^%s (\d+)$' % re.escape(name), text, re.M)
        return int(m.group(1)) if m else None

    def test_drift_is_found_and_repaired(self):
        base = '/v1/control-plane/%s' % self.site
        r = self.d.request('POST', base + '/transient-access',
                           {'type': 'winbox', 'expire_after_minutes': 30,
                            'allow_only_cidr': '127.0.0.1/32'})
        self.assertEqual(r.status, 201, r)
        g = r.json
        self.assertTrue(wait_for(lambda: self.d.request(
            'GET', base + '/transient-access/' + g['id']).json['config_committed_to_site'], 15))
        # a router that matches the store: checked, no job
        self.assertTrue(wait_for(lambda: (self.metric('tikgate_drift_checks_total') or 0) >= 2,
                                 15))
        before = len(self.jobs())
        self.assertEqual(self.metric('tikgate_drift_repairs_total'), 0)
        tag = 'tikgate:access:' + g['id']
        stranger = str(uuid.uuid4())
        c = self.router()
        try:
            [mine] = [u for u in c.run('/user/print') if u.get('comment') == tag]
            c.run('/user/remove', '=.id=' + mine['.id'])
            c.run('/user/add', '=name=intruder', '=group=full', '=password=x',
                  '=comment=tikgate:access:' + stranger)
            [telnet] = [s for s in c.run('/ip/service/print') if s['name'] == 'telnet']
            c.run('/ip/service/set', '=.id=' + telnet['.id'], '=port=2323')
        finally:
            c.close()

        def repaired():
            users = {u.get('comment'): u for u in self.sim.menu('/user')}
            svc = {s['name']: s for s in self.sim.menu('/ip/service')}
            return (tag in users and 'tikgate:access:' + stranger not in users and
                    str(svc['telnet']['port']) == '23')
        self.assertTrue(wait_for(repaired, 30), self.d.log()[-3000:])
        events = self.d.request('GET', '/v1/sites/%s/tunnel/events' % self.site).json
        drift = [e['message'] for e in events if e['kind'] == 'drift']
        self.assertTrue(drift, events)
        # the check may run between two of the changes: what the events say adds up
        found = [0, 0, 0]
        for msg in drift:
            m = re.match(r'(\d+) left-over grant\(s\) removed, (\d+) missing grant\(s\) set up '
                         r'again, (\d+) service\(s\) and 0 filter rule\(s\) off the policy$',
                         msg)
            self.assertTrue(m, msg)
            found = [a + int(b) for a, b in zip(found, m.groups())]
        self.assertEqual(found, [1, 1, 1], drift)
        new = [j for j in self.jobs()[:len(self.jobs()) - before]]
        self.assertTrue(all(j['created_by'] == 'drift check' for j in new), new)
        self.assertGreaterEqual(len(new), 3, new)
        self.assertGreaterEqual(self.metric('tikgate_drift_repairs_total'), 3)
        # the grant works again through the edge
        self.assertTrue(wait_for(lambda: rosapi.can_login('127.0.0.1', g['port'], g['username'],
                                                          g['password']), 10))

        # An address list off the policy, alone: winbox opened to the whole internet.
        only_service = ('0 left-over grant(s) removed, 0 missing grant(s) set up again, '
                        '1 service(s) and 0 filter rule(s) off the policy')
        n_drift, n_service = len(drift), drift.count(only_service)
        c = self.router()
        try:
            [winbox] = [s for s in c.run('/ip/service/print') if s['name'] == 'winbox']
            want = winbox.get('address', '')
            self.assertNotIn('0.0.0.0/0', want)
            c.run('/ip/service/set', '=.id=' + winbox['.id'], '=address=0.0.0.0/0')
        finally:
            c.close()

        def restored():
            svc = {s['name']: s for s in self.sim.menu('/ip/service')}
            return svc['winbox'].get('address', '') == want
        self.assertTrue(wait_for(restored, 30), self.d.log()[-3000:])
        events = self.d.request('GET', '/v1/sites/%s/tunnel/events' % self.site).json
        drift = [e['message'] for e in events if e['kind'] == 'drift']
        self.assertEqual(len(drift), n_drift + 1, drift)
        self.assertEqual(drift.count(only_service), n_service + 1, drift)

        # The management filter: one of its accept rules disabled, another removed.
        tag = 'tikgate:mgmt-filter:' + self.site
        # (the repair above sets the services first, then removes and adds the filter: wait
        # for its end, the job's, not the first two rules: a slow machine could read the
        # filter half added and then wait for that half forever)
        def filter_rules():
            if [j for j in self.jobs() if j['status'] in ('pending', 'running')]:
                return None
            rules = [f for f in self.sim.menu('/ip/firewall/filter') if f.get('comment') == tag]
            return rules if len(rules) >= 2 else None
        mine = wait_for(filter_rules, 15)
        self.assertTrue(mine, self.sim.menu('/ip/firewall/filter'))
        c = self.router()
        try:
            c.run('/ip/firewall/filter/set', '=.id=' + mine[0]['.id'], '=disabled=yes')
            c.run('/ip/firewall/filter/remove', '=.id=' + mine[1]['.id'])
        finally:
            c.close()

        def filter_back():
            now = [f for f in self.sim.menu('/ip/firewall/filter') if f.get('comment') == tag]
            return (len(now) == len(mine) and
                    not [f for f in now if f.get('disabled') in ('true', 'yes')])
        self.assertTrue(wait_for(filter_back, 30), self.d.log()[-3000:])
        events = self.d.request('GET', '/v1/sites/%s/tunnel/events' % self.site).json
        msgs = [e['message'] for e in events if e['kind'] == 'drift']
        self.assertTrue([m for m in msgs if re.search(
            r'0 service\(s\) and [12] filter rule\(s\) off the policy$', m)], msgs)


if __name__ == '__main__':
    tg.main()
