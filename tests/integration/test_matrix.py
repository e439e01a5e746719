"""The main flows against the strict simulator, over a matrix of routers (issue 10).

Each combination is one tikgate-sim on its own loopback address, adopted by the same tikgated
through its bootstrap command, then driven through: adoption (facts), a policy apply with the
management filter on top and an IPv6 trusted network, API credential rotation, read-only
transient access (over a pre-existing, full-rights group named tikgate-ro), a transient
forward, every site action (reboot and upgrade confirmed by the router), a custom script that
fails over push, and IPv6 forward destinations refused by the API.

The matrix is RouterOS 7.8, 7.16, 7.19 and 7.24 (the newest in tikoci/restraml's dumps) x
default configuration on/off x RouterBOARD/CHR. Not all 16: a pairwise covering set of 8, in
which every pair of values of any two dimensions occurs at least once:

    7.8  defconf off RB      7.8  defconf on  CHR
    7.16 defconf off CHR     7.16 defconf on  RB
    7.19 defconf off RB      7.19 defconf on  CHR
    7.24 defconf off CHR     7.24 defconf on  RB

The eight routers run at once against one daemon (pushes are parallel), which keeps the whole
matrix near a minute. A second daemon without a dispatcher (every job pulled) checks the pull
path on 7.15 and 7.19: a pulled reboot and upgrade run with the poll scheduler's policy and are
completed only when the router reports back after the boot, and a pulled job with a typo fails
with the reason (at once from 7.16, after three downloads before).

Each check names the routeros-fidelity.md §2 defect whose fix it guards.
"""
import copy
import threading
import time
import unittest

import rosapi
import simharness
import tg
from simharness import wait_for

MATRIX = [
    ('7.8', False, 'RB5009UG+S+'), ('7.8', True, 'CHR'),
    ('7.16', False, 'CHR'), ('7.16', True, 'RB5009UG+S+'),
    ('7.19', False, 'RB5009UG+S+'), ('7.19', True, 'CHR'),
    ('7.24', False, 'CHR'), ('7.24', True, 'RB5009UG+S+'),
]
ENV = {'TIKGATE_POLL_INTERVAL': '1', 'TIKGATE_JOB_MAX_ATTEMPTS': '2',
       'TIKGATE_JOB_BACKOFF_MS': '100', 'TIKGATE_ALLOW_PRIVATE_SOURCES': '1',
       'TIKGATE_MANAGEMENT_NETWORKS': '127.0.0.0/8, fd00:7e57::/64'}
P = '/v1/control-plane/policies'
FWD_DST = '127.0.0.250'
ADMIN_PW = 'matrix-admin'


def sim_args(version, defconf, board, latest=None):
    a = ['--ros-version', version, '--board', board]
    if defconf:
        a.append('--defconf')
    if latest:
        a += ['--latest-version', latest]
    return a


class Router:
    def __init__(self, d, idx, version, defconf, board):
        self.version, self.defconf, self.board = version, defconf, board
        self.name = 'm%d-%s-%s-%s' % (idx, version, 'dc' if defconf else 'bare', board)
        site = d.request('POST', '/v1/sites', {'name': self.name}).json
        self.site = site['id']
        # one router of each board finds a new version: site.upgrade installs it
        latest = '7.25' if idx in (3, 6) else None
        self.sim = simharness.Sim('127.0.%d.%d' % (40 + idx, 2), admin_password=ADMIN_PW,
                                  bootstrap_command=site['bootstrap_command'],
                                  extra=sim_args(version, defconf, board, latest)).start()
        self.latest = latest

    def api(self):
        c = rosapi.Client(self.sim.address, 8728)
        c.login('admin', ADMIN_PW)
        return c


class Matrix(tg.DaemonTest):
    daemon_env = ENV

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.t0 = time.time()
        pol = cls.d.request('GET', P).json[0]
        body = {k: copy.deepcopy(pol[k]) for k in ('name', 'winbox', 'ssh', 'http', 'https',
                                                    'telnet', 'ftp', 'api', 'api_ssl',
                                                    'trusted_networks', 'custom_input_rules')}
        body['custom_input_rules'] = False  # the management filter goes on top
        body['trusted_networks'] = ['10.9.0.0/16', '2001:db8:9::/48']
        r = cls.d.request('PUT', P + '/' + pol['id'], body)
        assert r.status == 200, r
        cls.routers = [Router(cls.d, i, *m) for i, m in enumerate(MATRIX)]

    @classmethod
    def tearDownClass(cls):
        for r in cls.routers:
            r.sim.cleanup()
        super().tearDownClass()
        print('matrix: %.1f s' % (time.time() - cls.t0))

    def each(self, fn):
        """Runs fn(router) for every router in parallel; fails with every router's error."""
        errors = {}

        def run(r):
            try:
                fn(r)
            except Exception as e:  # noqa: BLE001 - reported below with the router's log
                errors[r.name] = '%s: %s\n%s' % (type(e).__name__, e, r.sim.log()[-2500:])
        threads = [threading.Thread(target=run, args=(r,)) for r in self.routers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            self.fail('\n\n'.join('%s: %s' % kv for kv in sorted(errors.items())))

    def site(self, r):
        return self.d.request('GET', '/v1/sites/' + r.site).json

    def wait_job(self, r, job_id, timeout=20):
        def done():
            j = self.d.request('GET', '/v1/sites/%s/jobs/%s' % (r.site, job_id)).json
            return j if j['status'] in ('completed', 'failed') else None
        j = wait_for(done, timeout, 0.1)
        if not j:
            raise AssertionError('job %s did not finish: %s' % (job_id, self.d.request(
                'GET', '/v1/sites/%s/jobs/%s' % (r.site, job_id)).json))
        return j

    def adopted(self, r):
        s = wait_for(lambda: self.site(r)['status'] == 'online' and self.site(r), 20, 0.1)
        if not s:
            raise AssertionError('not adopted: %s' % self.site(r))
        # the adoption script runs after /adopt answered: wait for its last step (the IPv6
        # block of the management filter comes after the IPv4 one)
        if not simharness.adoption_script_done(r.sim, 20):
            raise AssertionError('adoption script did not finish')
        return s

    def action(self, r, action):
        res = self.d.request('POST', '/v1/control-plane/%s/action' % r.site, {'action': action})
        assert res.status == 202, res
        return self.wait_job(r, res.json['job']['id'], 40)

    def test_1_adoption(self):
        def check(r):
            s = self.adopted(r)
            # #2: CHR and x86 have no /system routerboard; the board name is the model there
            assert s['model'] == r.board, s
            assert s['tunnel_address'] == r.sim.address, s
            assert s['software_version'] == r.version, s
            # #2: the serial number exists only with /system routerboard
            assert bool(s['serial_number']) == (r.board != 'CHR'), s
        self.each(check)

    def test_2_policy_filter_on_top(self):
        def check(r):
            self.adopted(r)
            rules = r.sim.menu('/ip/firewall/filter')
            static = [f for f in rules if f.get('dynamic') != 'true']
            # #6: on top = before the first static rule; the dynamic dummy rule stays first
            if r.defconf:
                assert rules[0].get('dynamic') == 'true', rules[:2]
            assert static[0].get('comment', '').startswith('tikgate:mgmt-filter'), static[:3]
            # #8: the IPv6 trusted network and management network are /ipv6 rules
            v4 = [f.get('src-address') for f in rules if f.get('action') == 'accept' and
                  f.get('comment', '').startswith('tikgate:mgmt-filter')]
            v6 = [f.get('src-address') for f in r.sim.menu('/ipv6/firewall/filter')
                  if f.get('comment', '').startswith('tikgate:mgmt-filter')]
            assert '10.9.0.0/16' in v4 and not any(':' in (x or '') for x in v4), v4
            assert set(v6) == {'2001:db8:9::/48', 'fd00:7e57::/64'}, v6
            # #13: TIKGATE_MANAGEMENT_NETWORKS had a space: sent without it
            api = {x['name']: x for x in r.sim.menu('/ip/service')}['api']
            assert '127.0.0.0/8,fd00:7e57::/64' in api['address'], api
        self.each(check)

    def test_3_policy_change_by_push(self):
        for r in self.routers:
            self.adopted(r)
        pol = self.d.request('GET', P).json[0]
        body = {k: copy.deepcopy(pol[k]) for k in ('name', 'winbox', 'ssh', 'http', 'https',
                                                    'telnet', 'ftp', 'api', 'api_ssl',
                                                    'trusted_networks', 'custom_input_rules')}
        body['winbox']['port'] = 8299
        self.assertEqual(self.d.request('PUT', P + '/' + pol['id'], body).status, 200)

        def check(r):
            # #1: on 7.19+ a print ?name=api also returns tikgate's own connection entry
            ok = wait_for(lambda: [j for j in self.d.request(
                'GET', '/v1/sites/%s/jobs' % r.site).json if j['kind'] == 'policy' and
                j['status'] in ('completed', 'failed')], 20, 0.2)
            assert ok, 'no policy job finished'
            jobs = [j for j in self.d.request('GET', '/v1/sites/%s/jobs' % r.site).json
                    if j['kind'] == 'policy']
            assert jobs[0]['status'] == 'completed', jobs[0]
            svc = {x['name']: x for x in r.sim.menu('/ip/service')}
            assert svc['winbox']['port'] == '8299', svc['winbox']
            # #14: 7.24 renamed address to available-from; the pull (adoption) and the push
            # both use the new name there
            assert 'deprecated parameter address' not in r.sim.log(), r.version
        self.each(check)

    def test_4_rotation(self):
        def check(r):
            self.adopted(r)
            path = '/v1/control-plane/%s/credentials' % r.site
            new = self.d.request('POST', path).json['password']
            job = [j for j in self.d.request('GET', '/v1/sites/%s/jobs' % r.site).json
                   if j['kind'] == 'api_user'][0]
            assert self.wait_job(r, job['id'])['status'] == 'completed'
            assert rosapi.can_login(r.sim.address, 8728, 'tikgate-api', new)
        self.each(check)

    def test_5_transient_access_and_forward(self):
        def check(r):
            self.adopted(r)
            # #15: a group called tikgate-ro that was already there, with every right
            c = r.api()
            try:
                if not c.run('/user/group/print', '?name=tikgate-ro'):
                    c.run('/user/group/add', '=name=tikgate-ro', '=policy=' + FULL)
            finally:
                c.close()
            base = '/v1/control-plane/%s' % r.site
            a = self.d.request('POST', base + '/transient-access',
                               {'type': 'winbox', 'full_access': False,
                                'allow_only_cidr': '127.0.0.1/32'}).json
            ok = wait_for(lambda: self.d.request('GET', '%s/transient-access/%s' % (
                base, a['id'])).json.get('config_committed_to_site'), 20, 0.2)
            assert ok, 'access not committed'
            grp = {g['name']: g for g in r.sim.menu('/user/group')}['tikgate-ro']
            assert set(grp['policy'].split(',')) == set(
                'local,telnet,ssh,winbox,web,api,read,test'.split(',')), grp
            f = self.d.request('POST', base + '/transient-forward',
                               {'dst_address': FWD_DST, 'dst_port': 8080,
                                'allow_only_cidr': '127.0.0.1/32', 'masquerade': True})
            assert f.status == 201, f
            ok = wait_for(lambda: self.d.request('GET', '%s/transient-forward/%s' % (
                base, f.json['id'])).json.get('config_committed_to_site'), 20, 0.2)
            assert ok, 'forward not committed'
            nat = [n for n in r.sim.menu('/ip/firewall/nat')
                   if n.get('comment') == 'tikgate:fwd:' + f.json['id']]
            assert nat and nat[0]['in-interface'] == 'tikgate-mgmt', nat
            # #8: an IPv6 destination never reaches a router: 400 from the API
            bad = self.d.request('POST', base + '/transient-forward',
                                 {'dst_address': 'fd00::10', 'dst_port': 22,
                                  'allow_only_cidr': '127.0.0.1/32'})
            assert bad.status == 400 and bad.json['code'] == 'ipv6_destination', bad
        self.each(check)

    def test_6_site_actions(self):
        def check(r):
            self.adopted(r)
            for action in ('site.recreate_management_filter', 'site.resend_api_user',
                           'site.recreate_tunnel'):
                j = self.action(r, action)
                assert j['status'] == 'completed', (action, j)
            # #5: clear_firewall takes static rules only (the dummy rule cannot go)
            j = self.action(r, 'site.clear_firewall')
            assert j['status'] == 'completed', j
            rules = r.sim.menu('/ip/firewall/filter')
            assert not any(f.get('comment', '').startswith('defconf') for f in rules), rules
            assert rules[0].get('dynamic') == ('true' if r.defconf else 'false'), rules[:1]
            # #4: a reboot is completed only once the router is back (uptime restarted)
            j = self.action(r, 'site.reboot')
            assert j['status'] == 'completed', j
            # pushed (the uptime restarted) or pulled (the startup scheduler reported done)
            msg = j['events'][-1]['message']
            assert 'rebooted' in msg or ('reported success' in msg and 'startup: running '
                                         'scheduler tikgate-ack' in r.sim.log()), j['events']
            # #10: check-for-updates first; install (a reboot) only with a new version
            j = self.action(r, 'site.upgrade')
            assert j['status'] == 'completed', j
            want = r.latest or r.version
            c = r.api()
            try:
                got = c.run('/system/resource/print')[0]['version']
            finally:
                c.close()
            assert got == want, (got, want)
        self.each(check)

    def test_7_custom_script_errors_fail(self):
        def check(r):
            self.adopted(r)
            # #12: a script error over push is a failure, whatever /execute answers
            res = self.d.request('POST', '/v1/sites/%s/jobs' % r.site,
                                 {'description': 'fails', 'script':
                                  '/system identity set name="x"\n:error "stop here"'})
            assert res.status == 201, res
            j = self.wait_job(r, res.json['id'], 30)
            assert j['status'] == 'failed', j
            res = self.d.request('POST', '/v1/sites/%s/jobs' % r.site,
                                 {'description': 'ok', 'script': ':log info "fine"'})
            assert self.wait_job(r, res.json['id'], 30)['status'] == 'completed'
        self.each(check)


FULL = ('local,telnet,ssh,ftp,reboot,read,write,policy,test,winbox,password,web,sniff,'
        'sensitive,api,romon')


class PullOnly(tg.DaemonTest):
    """No dispatcher: every job goes through the router's poll (the scheduler's policy)."""
    daemon_env = dict(ENV, TIKGATE_ROLES='api,scheduler', TIKGATE_PULL_LEASE='2')

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.routers = []
        for idx, (version, board) in enumerate((('7.15', 'CHR'), ('7.19', 'RB5009UG+S+'))):
            site = cls.d.request('POST', '/v1/sites', {'name': 'pull-' + version}).json
            sim = simharness.Sim('127.0.%d.2' % (60 + idx), admin_password=ADMIN_PW,
                                 bootstrap_command=site['bootstrap_command'], poll_interval=0.3,
                                 extra=sim_args(version, True, board, '7.25')).start()
            cls.routers.append((site['id'], version, sim))

    @classmethod
    def tearDownClass(cls):
        for _, _, sim in cls.routers:
            sim.cleanup()
        super().tearDownClass()

    def wait_job(self, site, job_id, timeout=30):
        def done():
            j = self.d.request('GET', '/v1/sites/%s/jobs/%s' % (site, job_id)).json
            return j if j['status'] in ('completed', 'failed') else None
        return wait_for(done, timeout, 0.1)

    def test_pulled_reboot_upgrade_and_typo(self):
        for site, version, sim in self.routers:
            with self.subTest(version=version):
                self.assertTrue(wait_for(lambda: any(
                    x['name'] == 'tikgate-poll' for x in sim.menu('/system/scheduler')), 20),
                    sim.log()[-2000:])
                sched = {x['name']: x for x in sim.menu('/system/scheduler')}['tikgate-poll']
                self.assertIn('reboot', sched['policy'].split(','))  # #4
                # #4: the pulled reboot runs with the scheduler's policy and is completed only
                # by the router's report after the boot
                r = self.d.request('POST', '/v1/control-plane/%s/action' % site,
                                   {'action': 'site.reboot'})
                j = self.wait_job(site, r.json['job']['id'])
                self.assertTrue(j and j['status'] == 'completed', (j, sim.log()[-3000:]))
                self.assertIn('busy', [e['kind'] for e in j['events']])
                self.assertIn('startup: running scheduler tikgate-ack', sim.log())
                # (its report of "done" completes the job, its last command removes it)
                self.assertTrue(wait_for(lambda: 'tikgate-ack' not in [
                    x['name'] for x in sim.menu('/system/scheduler')], 10), sim.log()[-2000:])
                # #10: the pulled upgrade installs the version check-for-updates found
                r = self.d.request('POST', '/v1/control-plane/%s/action' % site,
                                   {'action': 'site.upgrade'})
                j = self.wait_job(site, r.json['job']['id'])
                self.assertTrue(j and j['status'] == 'completed', (j, sim.log()[-3000:]))
                self.assertIn('installing RouterOS 7.25', sim.log())
                # #9: a job RouterOS cannot parse fails with the reason, and the next runs
                r = self.d.request('POST', '/v1/sites/%s/jobs' % site,
                                   {'description': 'typo', 'express_execute': False,
                                    'script': '/ip firewall filter ad chain=input'})
                nxt = self.d.request('POST', '/v1/sites/%s/jobs' % site,
                                     {'description': 'after', 'express_execute': False,
                                      'script': '/system identity set name="after-typo"'})
                j = self.wait_job(site, r.json['id'], 40)
                self.assertTrue(j and j['status'] == 'failed', j)
                self.assertIn('refused the script before', j['last_error'] or
                              j['events'][-1]['message'])
                j = self.wait_job(site, nxt.json['id'], 20)
                self.assertTrue(j and j['status'] == 'completed', j)


if __name__ == '__main__':
    unittest.main(verbosity=2)
