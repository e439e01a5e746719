"""Issue 11 item 2 (no leader) on PostgreSQL: several scheduler+dispatcher nodes on one store.

Two (or three) tikgated processes share one PostgreSQL database and master key, each with its
own TIKGATE_NODE_NAME and API port on 127.0.0.1, roles api,scheduler,dispatcher (no edge: the
nodes would share the grant ports of one entry point). The router is tikgate-sim on 127.0.0.31.

- A node SIGKILLed while it pushes a job (the router is stalled with SIGSTOP): after three
  missed heartbeats the other node requeues the job (an event naming the dead node) and
  pushes it once the router answers; the router ends with one user for the grant.
- A node SIGKILLed while it holds a claimed batch of due teardowns (its claim: teardown_owner
  and a lease it no longer renews): the other node tears every grant down once, each teardown
  job with a "taken_over" event naming the dead node; the router ends with none of the users.
- Two live schedulers with 300 grants expiring at once: one teardown job and one "created"
  event per grant.

Suite pg only (SQLite has one writer and one machine). Bounded: every wait has a deadline.
"""
import os
import shutil
import signal
import tempfile
import time
import unittest

import simharness
import tg
from simharness import wait_for

HEARTBEAT_MS = 200
ENV = {'TIKGATE_POLL_INTERVAL': '1', 'TIKGATE_ALLOW_PRIVATE_SOURCES': '1',
       'TIKGATE_ROLES': 'api,scheduler,dispatcher', 'TIKGATE_HEARTBEAT_MS': str(HEARTBEAT_MS),
       'TIKGATE_JOB_BACKOFF_MS': '100', 'TIKGATE_ENTRY_POINT': '127.0.0.1',
       'TIKGATE_EDGE_PORTS': '24000-24999',
       # a stalled router holds the push: no timeout within the test
       'TIKGATE_ROS_IO_TIMEOUT_MS': '60000', 'TIKGATE_PUSH_DEADLINE_MS': '90000'}
ROUTER = '127.0.0.31'


@unittest.skipUnless(tg.BACKEND == 'postgres', 'several nodes need PostgreSQL')
class NoLeader(unittest.TestCase):
    def setUp(self):
        self.nodes = []
        self.tmp = tempfile.TemporaryDirectory(prefix='tg-multinode-')
        self.addCleanup(self.tmp.cleanup)
        self.a = self.node('node-a')
        self.site = self.a.request('POST', '/v1/sites', {'name': 'multi'}).json
        self.sim = simharness.Sim(ROUTER, bootstrap_command=self.site['bootstrap_command'])
        self.sim.start()
        self.addCleanup(self.sim.cleanup)
        ok = wait_for(lambda: any(u['name'] == 'tikgate-api' for u in self.sim.menu('/user')), 15)
        self.assertTrue(ok, 'the simulator did not adopt:\n' + self.sim.log())
        # (pushes start once the router confirmed the end of its adoption script)
        self.assertTrue(simharness.adoption_script_done(self.sim), self.sim.log())
        self.base = '/v1/control-plane/%s' % self.site['id']

    def tearDown(self):
        for d in self.nodes:
            d.stop(signal.SIGKILL if d.proc and d.proc.poll() is None else signal.SIGTERM)
            d.cleanup()

    def node(self, name):
        """A node on the first node's database and master key."""
        data = os.path.join(self.tmp.name, name)
        os.mkdir(data, 0o700)
        env = dict(ENV, TIKGATE_NODE_NAME=name)
        if self.nodes:
            env['TIKGATE_DATABASE'] = tg.database_url(self.nodes[0].data_dir)
            shutil.copy(os.path.join(self.nodes[0].data_dir, 'master.key'), data)
        d = tg.Daemon(data_dir=data, env=env)
        self.nodes.append(d)
        return d.start(timeout=20)

    def kill(self, d):
        d.proc.send_signal(signal.SIGKILL)
        d.proc.wait(10)

    def q(self, sql, params=()):
        return self.a.db_query(sql, params)

    def grant(self):
        r = self.nodes[-1].request('POST', self.base + '/transient-access',
                                   {'expire_after_minutes': 30, 'type': 'winbox',
                                    'allow_only_cidr': '127.0.0.1/32'})
        self.assertEqual(r.status, 201, r)
        return r.json

    def events(self, job_id, kind):
        return [m for (m,) in self.q("SELECT message FROM job_events WHERE job_id = ? AND "
                                     "kind = ? ORDER BY id", (job_id, kind))]

    def test_a_killed_dispatchers_job_is_finished_by_the_other(self):
        self.sim.pause()  # the router stops answering: node-a's push hangs
        g = self.grant()
        job = self.q('SELECT setup_job_id FROM grants WHERE id = ?', (g['id'],))[0][0]
        held = wait_for(lambda: self.q("SELECT 1 FROM jobs WHERE id = ? AND status = 'running' "
                                       "AND lease_owner = 'node-a'", (job,)), 10)
        self.assertTrue(held, 'node-a did not claim the job:\n' + self.a.log()[-2000:])
        b = self.node('node-b')
        self.kill(self.a)
        # Three missed heartbeats (600 ms), then node-b's next beat takes the job over.
        taken = wait_for(lambda: self.events(job, 'requeued'), 15)
        self.assertTrue(taken, 'nobody took the job over:\n' + b.log()[-3000:])
        self.assertIn('node-a', taken[0])
        self.assertIn('node-b', taken[0])
        self.sim.resume()
        done = wait_for(lambda: self.q("SELECT 1 FROM jobs WHERE id = ? AND status = "
                                       "'completed'", (job,)), 30)
        self.assertTrue(done, 'the job did not complete:\n' + b.log()[-3000:])
        self.assertEqual(len(self.events(job, 'requeued')), 1)
        self.assertEqual(len(self.events(job, 'completed')), 1)
        users = [u for u in self.sim.menu('/user') if u['name'] == g['username']]
        self.assertEqual(len(users), 1, self.sim.menu('/user'))
        nodes = {n['name']: n['status'] for n in b.request('GET', '/v1/nodes').json}
        self.assertEqual(nodes, {'node-a': 'dead', 'node-b': 'alive'})

    def test_a_killed_schedulers_batch_is_finished_by_the_other(self):
        b = self.node('node-b')
        grants = [self.grant() for _ in range(20)]
        committed = wait_for(lambda: self.q(
            'SELECT count(*) FROM grants WHERE site_id = ? AND config_committed_at IS NOT NULL',
            (self.site['id'],))[0][0] == 20, 60)
        self.assertTrue(committed, 'the grants were not set up:\n' + self.sim.log()[-2000:])
        # node-a stops (no more heartbeats) holding a claimed batch of 20 due teardowns: what
        # its scheduler's claim leaves (store_grants_claim_due), with a lease it cannot renew.
        self.a.proc.send_signal(signal.SIGSTOP)
        self.a.db_execute(
            "UPDATE grants SET expires_at_ms = (extract(epoch FROM now()) * 1000)::bigint - 1000, "
            "teardown_owner = 'node-a', teardown_lease_until_ms = "
            "(extract(epoch FROM now()) * 1000)::bigint + ? WHERE site_id = ?",
            (3 * HEARTBEAT_MS, self.site['id']))
        self.kill(self.a)
        done = wait_for(lambda: self.q('SELECT count(*) FROM grants WHERE site_id = ? AND '
                                       'torn_down_at IS NULL', (self.site['id'],))[0][0] == 0, 20)
        self.assertTrue(done, 'the batch was not finished:\n' + b.log()[-3000:])
        rows = self.q("SELECT g.teardown_owner, g.teardown_job_id, (SELECT count(*) FROM "
                      "job_events e WHERE e.job_id = g.teardown_job_id AND e.kind = "
                      "'taken_over'), (SELECT count(*) FROM job_events e WHERE e.job_id = "
                      "g.teardown_job_id AND e.kind = 'created') FROM grants g WHERE site_id = ?",
                      (self.site['id'],))
        self.assertEqual(len(rows), 20)
        self.assertEqual({r[0] for r in rows}, {'node-b'})
        # one removal job for the batch: 20 grants of one site and kind (64 at most per job)
        self.assertEqual(len({r[1] for r in rows}), 1)
        self.assertEqual({(r[2], r[3]) for r in rows}, {(1, 1)}, b.log()[-3000:])
        msg = self.q("SELECT message FROM job_events WHERE job_id = ? AND kind = 'taken_over'",
                     (rows[0][1],))[0][0]
        self.assertIn('node-a', msg)
        expire_jobs = self.q("SELECT count(*) FROM jobs WHERE site_id = ? AND created_by = "
                             "'scheduler'", (self.site['id'],))[0][0]
        self.assertEqual(expire_jobs, 1)
        names = {g['username'] for g in grants}
        gone = wait_for(lambda: not names & {u['name'] for u in self.sim.menu('/user')}, 60)
        self.assertTrue(gone, 'temporary users left on the router:\n' + b.log()[-2000:])

    def test_two_schedulers_expire_each_grant_once(self):
        b = self.node('node-b')
        # 300 forwards on a site without a tunnel (their teardown jobs wait for a poll), due in
        # 1.5 s: both schedulers wake for them at once.
        other = self.a.request('POST', '/v1/sites', {'name': 'quiet'}).json['id']
        self.a.db_execute(
            "INSERT INTO grants(id, site_id, kind, entry_point, port, dst_address, dst_port, "
            "allow_only_cidr, created_at, expires_at_ms, created_by) SELECT "
            "gen_random_uuid()::text, ?, 'forward', 'multi.example', 30000 + i, '192.168.88.2', "
            "22, '203.0.113.0/24', extract(epoch FROM now())::bigint, "
            "(extract(epoch FROM now()) * 1000)::bigint + 1500, 'test' "
            "FROM generate_series(1, 300) AS i", (other,))
        done = wait_for(lambda: self.q('SELECT count(*) FROM grants WHERE site_id = ? AND '
                                       'torn_down_at IS NULL', (other,))[0][0] == 0, 30)
        self.assertTrue(done, b.log()[-2000:])
        rows = self.q("SELECT count(*), count(DISTINCT g.teardown_job_id), sum((SELECT count(*) "
                      "FROM job_events e WHERE e.job_id = g.teardown_job_id AND e.kind = "
                      "'created')) FROM grants g WHERE site_id = ?", (other,))
        # each grant torn down once, by one job with one "created" event; the grants of a
        # batch share jobs, 64 at most each (so at least 5 jobs), and no job is left unused
        count, distinct, created = rows[0]
        self.assertEqual((count, created), (300, 300))
        self.assertTrue(5 <= distinct < 300, rows)
        jobs = self.q("SELECT count(*) FROM jobs WHERE site_id = ?", (other,))[0][0]
        self.assertEqual(jobs, distinct)
        most = self.q("SELECT max(n) FROM (SELECT count(*) AS n FROM grants WHERE site_id = ? "
                      "GROUP BY teardown_job_id) c", (other,))[0][0]
        self.assertLessEqual(most, 64)
        owners = dict(self.q("SELECT teardown_owner, count(*) FROM grants WHERE site_id = ? "
                             "GROUP BY teardown_owner", (other,)))
        self.assertEqual(sum(owners.values()), 300)
        self.assertTrue(set(owners) <= {'node-a', 'node-b'}, owners)
        print('teardowns by node: %s' % owners)


if __name__ == '__main__':
    tg.main()
