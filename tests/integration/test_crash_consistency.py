"""Issue 14 item 6: a bounded workload with random SIGKILLs of tikgated, then invariants.

Two simulated routers (external tunnels on 127.0.0.51/.52) are adopted; a seeded random
workload of transient access and forwards (some expiring during the run), PATCHes, revokes,
policy updates, credential rotations and custom jobs runs against the API while tikgated is
SIGKILLed and restarted on the same data every few operations (CRASH_KILLS, default 6;
bench/crash.sh runs more). Requests that got an answer are "acknowledged"; the others (cut by
a kill) may or may not have happened. When the queue has drained:

- every acknowledged create is there, every acknowledged revoke is revoked;
- no two live grants share an entry point and port;
- every grant that is not live is gone from the edge (its port refuses) and from the router
  (no user or NAT rule tagged with its id), and every live one is on the router exactly once;
- each router's API password is its site's current credential (a login works, the old ones
  do not);
- no job is left pending or running;
- the store's integrity check is clean (SQLite).
"""
import os
import random
import signal
import time

import netutil
import rosapi
import simharness
import tg
from simharness import wait_for

KILLS = int(os.environ.get('CRASH_KILLS', '6'))
OPS_PER_KILL = int(os.environ.get('CRASH_OPS_PER_KILL', '8'))
SEED = int(os.environ.get('CRASH_SEED', '1234'))
ENV = {'TIKGATE_POLL_INTERVAL': '1', 'TIKGATE_JOB_BACKOFF_MS': '100',
       'TIKGATE_JOB_BACKOFF_MAX_MS': '1000', 'TIKGATE_JOB_LEASE_MS': '3000',
       'TIKGATE_HEARTBEAT_MS': '300', 'TIKGATE_ALLOW_PRIVATE_SOURCES': '1',
       'TIKGATE_EDGE_LISTEN': '127.0.0.1', 'TIKGATE_ENTRY_POINT': '127.0.0.1',
       'TIKGATE_EDGE_PORTS': '25000-25999'}


class CrashConsistency(tg.DaemonTest):
    daemon_env = ENV

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sims, cls.sites = [], []
        for i, addr in enumerate(('127.0.0.51', '127.0.0.52')):
            site = cls.d.request('POST', '/v1/sites', {'name': 'crash-%d' % i}).json
            sim = simharness.Sim(addr, bootstrap_command=site['bootstrap_command']).start()
            cls.sims.append(sim)
            cls.sites.append(site['id'])
        for sid, sim in zip(cls.sites, cls.sims):
            if not wait_for(lambda: cls.d.request('GET', '/v1/sites/' + sid).json['status']
                            == 'online', 20):
                raise RuntimeError('a simulator did not adopt:\n' + sim.log())

    @classmethod
    def tearDownClass(cls):
        for sim in cls.sims:
            sim.cleanup()
        super().tearDownClass()

    def call(self, method, path, body=None):
        """The response, or None when tikgated was not there to answer (killed)."""
        try:
            return self.d.request(method, path, body)
        except (OSError, Exception):
            return None

    def one_op(self, rnd, state):
        sid = rnd.choice(self.sites)
        base = '/v1/control-plane/%s' % sid
        op = rnd.choice(['access', 'access', 'forward', 'patch', 'revoke', 'rotate', 'job',
                         'policy'])
        if op == 'access':
            r = self.call('POST', base + '/transient-access',
                          {'type': rnd.choice(['winbox', 'ssh']), 'expire_after_minutes': 10,
                           'allow_only_cidr': '127.0.0.1/32'})
            if r and r.status == 201:
                state['grants'][r.json['id']] = ('transient-access', sid)
        elif op == 'forward':
            r = self.call('POST', base + '/transient-forward',
                          {'expire_after_minutes': 10, 'dst_address': '127.0.0.58',
                           'dst_port': rnd.randint(1000, 60000), 'allow_only_cidr':
                           '127.0.0.1/32'})
            if r and r.status == 201:
                state['grants'][r.json['id']] = ('transient-forward', sid)
        elif op == 'patch' and state['grants']:
            gid = rnd.choice(sorted(state['grants']))
            kind, gsite = state['grants'][gid]
            when = time.strftime('%Y-%m-%dT%H:%M:%S+00:00', time.gmtime(time.time() + 2))
            r = self.call('PATCH', '/v1/control-plane/%s/%s/%s' % (gsite, kind, gid),
                          {'expires_at': when})
            if r and r.status == 200:
                state['expiring'].add(gid)
        elif op == 'revoke' and state['grants']:
            gid = rnd.choice(sorted(state['grants']))
            kind, gsite = state['grants'][gid]
            r = self.call('DELETE', '/v1/control-plane/%s/%s/%s' % (gsite, kind, gid))
            if r and r.status == 204:
                state['revoked'].add(gid)
        elif op == 'rotate':
            r = self.call('POST', base + '/credentials')
            if r and r.status == 201:
                state['passwords'].setdefault(sid, []).append(r.json['password'])
        elif op == 'job':
            r = self.call('POST', '/v1/sites/%s/jobs' % sid,
                          {'description': 'crash', 'script': ':log info crash'})
            if r and r.status == 201:
                state['jobs'].add((sid, r.json['id']))
        elif op == 'policy':
            pol = self.call('GET', '/v1/control-plane/policies')
            if pol and pol.status == 200:
                p = pol.json[0]
                body = {k: p[k] for k in ('name', 'winbox', 'ssh', 'http', 'https', 'telnet',
                                          'ftp', 'api', 'api_ssl', 'trusted_networks',
                                          'custom_input_rules')}
                body['telnet']['enabled'] = not body['telnet']['enabled']
                self.call('PUT', '/v1/control-plane/policies/' + p['id'], body)

    def open_jobs(self):
        n = 0
        for sid in self.sites:
            r = self.call('GET', '/v1/sites/%s/jobs?limit=100&state=all' % sid)
            if not r or r.status != 200:
                return -1
            n += sum(1 for j in r.json if j['status'] in ('pending', 'running'))
        return n

    def open_job_details(self):
        rows = []
        for sid in self.sites:
            r = self.call('GET', '/v1/sites/%s/jobs?limit=100' % sid)
            for j in (r.json if r and r.status == 200 else []):
                if j['status'] in ('pending', 'running'):
                    rows.append('%s %s %s attempts=%s err=%s' % (j['id'], j['kind'], j['status'],
                                                                  j['attempts'], j['last_error']))
        return '\n'.join(rows)

    def test_invariants_after_kills(self):
        rnd = random.Random(SEED)
        state = {'grants': {}, 'expiring': set(), 'revoked': set(), 'passwords': {},
                 'jobs': set()}
        for k in range(KILLS):
            for _ in range(OPS_PER_KILL):
                self.one_op(rnd, state)
            time.sleep(rnd.random() * 0.3)
            self.d.stop(sig=signal.SIGKILL)
            self.d.start()
        print('\n%d kills: %d grants acknowledged (%d revoked, %d set to expire), %d jobs, '
              '%d rotations' % (KILLS, len(state['grants']), len(state['revoked']),
                                len(state['expiring']), len(state['jobs']),
                                sum(len(v) for v in state['passwords'].values())), flush=True)
        time.sleep(3)  # the grants PATCHed to expire are due
        drained = wait_for(lambda: self.open_jobs() == 0, 120, 0.5)
        self.assertTrue(drained, 'jobs still open: %d\n%s\n%s' % (
            self.open_jobs(), self.open_job_details(), self.d.log()[-3000:]))
        # acknowledged creates are there; acknowledged revokes revoked
        live = {}
        for gid, (kind, sid) in state['grants'].items():
            r = self.d.request('GET', '/v1/control-plane/%s/%s/%s' % (sid, kind, gid))
            self.assertEqual(r.status, 200, (gid, r))
            g = r.json
            if gid in state['revoked']:
                # revoked before its expiry, or (PATCHed to expire first) after it: torn down
                self.assertTrue(g['expired'], g)
                if gid not in state['expiring']:
                    self.assertTrue(g['revoked_early'], g)
            if gid in state['expiring']:
                self.assertTrue(g['expired'], g)
            if not g['expired']:
                live[gid] = g
        places = [(g['entry_point'], g['port']) for g in live.values()]
        self.assertEqual(len(places), len(set(places)), 'two live grants share a port')
        # edge and routers match the store
        tags = {}
        for sim in self.sims:
            for u in sim.menu('/user'):
                if (u.get('comment') or '').startswith('tikgate:access:'):
                    tags.setdefault(u['comment'].split(':')[2], []).append(sim.address)
            for n in sim.menu('/ip/firewall/nat'):
                c = n.get('comment') or ''
                if c.startswith('tikgate:fwd:') and n.get('action') == 'dst-nat':
                    tags.setdefault(c.split(':')[2], []).append(sim.address)
        for gid, (kind, sid) in state['grants'].items():
            if gid in live:
                self.assertEqual(len(tags.get(gid, [])), 1, (gid, tags.get(gid)))
                self.assertTrue(netutil.port_open(live[gid]['port']), gid)
            else:
                self.assertNotIn(gid, tags, 'a grant that is not live is still on a router')
        for gid in state['revoked'] | state['expiring']:
            r = self.d.request('GET', '/v1/control-plane/%s/%s/%s' %
                               (state['grants'][gid][1], state['grants'][gid][0], gid)).json
            if (r['entry_point'], r['port']) not in places:  # a port may go to a newer grant
                self.assertFalse(netutil.port_open(r['port']), gid)
        # the routers' API password is the current credential, and only it
        for sid, sim in zip(self.sites, self.sims):
            creds = self.d.request('GET', '/v1/control-plane/%s/credentials' % sid).json
            current = [c for c in creds if c['status'] == 'current']
            self.assertEqual(len(current), 1, creds)
            self.assertTrue(rosapi.can_login(sim.address, 8728, 'tikgate-api',
                                             current[0]['password']), (sid, creds))
            for c in creds:
                if c['id'] != current[0]['id'] and c['status'] == 'retired':
                    self.assertFalse(rosapi.can_login(sim.address, 8728, 'tikgate-api',
                                                      c['password']))
        # acknowledged jobs finished
        for sid, jid in state['jobs']:
            j = self.d.request('GET', '/v1/sites/%s/jobs/%s' % (sid, jid)).json
            self.assertIn(j['status'], ('completed', 'failed'), j)
        if tg.BACKEND == 'sqlite':
            self.assertEqual(self.d.db_query('PRAGMA integrity_check'), [('ok',)])


if __name__ == '__main__':
    tg.main()
