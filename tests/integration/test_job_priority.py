"""Issue 14 item 1: jobs that matter go first (docs/API.md "Priorities", queue classes).

A simulated router (127.0.0.62) is adopted and given a temporary user (grant g1). Then it
stops answering (SIGSTOP) and 200 custom scripts queue up on its site; meanwhile a second
grant is created and revoked before its setup could run, g1 expires and the API password is
rotated. When the router answers again, the orchestration log (the jobs' events) shows the
urgent jobs claimed before every script queued before them but not yet started: g1's teardown
and the rotation complete while (nearly) all scripts are still waiting, g1's user is gone from
the router, the revoked grant's setup ended superseded by its teardown (so its user never
reached the router), and the scripts then ran in the order they were queued.
"""
import simharness
import tg
from simharness import iso_in, wait_for

SCRIPTS = 200
ENV = {'TIKGATE_SITE_QUEUE_MAX': str(SCRIPTS + 50), 'TIKGATE_POLL_INTERVAL': '1',
       'TIKGATE_JOB_BACKOFF_MS': '100', 'TIKGATE_JOB_BACKOFF_MAX_MS': '500',
       'TIKGATE_JOB_MAX_ATTEMPTS': '1000', 'TIKGATE_PUSH_DEADLINE_MS': '1500',
       'TIKGATE_ROS_IO_TIMEOUT_MS': '1000', 'TIKGATE_VERIFY_INTERVAL': '0',
       'TIKGATE_ALLOW_PRIVATE_SOURCES': '1', 'TIKGATE_EDGE_LISTEN': '127.0.0.1',
       'TIKGATE_ENTRY_POINT': '127.0.0.1', 'TIKGATE_EDGE_PORTS': '26100-26199'}
CLAIMS = ('pushing', 'downloaded')


class JobPriority(tg.DaemonTest):
    daemon_env = ENV

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.site, cls.sim = simharness.adopted(cls.d, 'busy-site', '127.0.0.62', poll_interval=0.5)
        cls.base = '/v1/control-plane/%s' % cls.site

    @classmethod
    def tearDownClass(cls):
        cls.sim.cleanup()
        super().tearDownClass()

    def grant(self, gid):
        return self.d.request('GET', '%s/transient-access/%s' % (self.base, gid)).json

    def open_jobs(self):
        return self.d.db_query("SELECT count(*) FROM jobs WHERE site_id = ? AND status IN "
                               "('pending', 'running')", (self.site,))[0][0]

    def log(self):
        """{job id: (kind, priority, rowid, first claim ms, completed ms, created ms)}."""
        rows = self.d.db_query(
            "SELECT j.id, j.kind, j.queue_class, j.rowid, e.kind, e.at_ms FROM jobs j JOIN "
            "job_events e ON e.job_id = j.id WHERE j.site_id = ? ORDER BY e.id", (self.site,))
        out = {}
        for jid, kind, cls, rowid, ev, at in rows:
            j = out.setdefault(jid, {'kind': kind, 'urgent': cls == 1, 'rowid': rowid,
                                     'claimed': None, 'completed': None, 'created': None})
            if ev in CLAIMS and j['claimed'] is None:
                j['claimed'] = at
            if ev == 'completed':
                j['completed'] = at
            if ev == 'created':
                j['created'] = at
        return out

    def test_urgent_jobs_overtake_a_backlog_of_scripts(self):
        self.assertTrue(wait_for(lambda: self.open_jobs() == 0, 30))
        r = self.d.request('POST', self.base + '/transient-access',
                           {'type': 'winbox', 'expire_after_minutes': 30,
                            'allow_only_cidr': '127.0.0.1/32'})
        self.assertEqual(r.status, 201, r)
        g1 = r.json
        self.assertTrue(wait_for(lambda: self.grant(g1['id'])['config_committed_to_site'], 15))
        self.assertTrue(any(u['name'] == g1['username'] for u in self.sim.menu('/user')))

        self.sim.pause()  # the router stops answering: everything queues up
        try:
            scripts = []
            for i in range(SCRIPTS):
                r = self.d.request('POST', '/v1/sites/%s/jobs' % self.site,
                                   {'description': 'backlog %d' % i,
                                    'script': ':log info "backlog %d"' % i})
                self.assertEqual(r.status, 201, r)
                scripts.append(r.json['id'])
            self.assertEqual(r.json['priority'], 'normal')
            # a grant created and revoked before its setup could run
            r = self.d.request('POST', self.base + '/transient-access',
                               {'type': 'winbox', 'expire_after_minutes': 30,
                                'allow_only_cidr': '127.0.0.1/32'})
            self.assertEqual(r.status, 201, r)
            g2 = r.json
            r = self.d.request('DELETE', '%s/transient-access/%s' % (self.base, g2['id']))
            self.assertEqual(r.status, 204, r)
            # g1 expires (the scheduler queues its teardown), then a rotation
            r = self.d.request('PATCH', '%s/transient-access/%s' % (self.base, g1['id']),
                               {'expires_at': iso_in(1)})
            self.assertEqual(r.status, 200, r)
            self.assertTrue(wait_for(lambda: self.d.db_query(
                "SELECT teardown_job_id FROM grants WHERE id = ?", (g1['id'],))[0][0], 15))
            r = self.d.request('POST', '/v1/control-plane/%s/credentials' % self.site)
            self.assertEqual(r.status, 201, r)
        finally:
            self.sim.resume()
        self.assertTrue(wait_for(lambda: self.open_jobs() == 0, 240),
                        '%d jobs still open' % self.open_jobs())

        jobs = self.log()
        (t1,) = self.d.db_query("SELECT teardown_job_id FROM grants WHERE id = ?", (g1['id'],))[0]
        (s2, t2) = self.d.db_query("SELECT setup_job_id, teardown_job_id FROM grants WHERE "
                                   "id = ?", (g2['id'],))[0]
        rot = max((jid for jid, j in jobs.items() if j['kind'] == 'api_user'),
                  key=lambda jid: jobs[jid]['rowid'])  # the rotation (the newest)
        for jid in (t1, t2, rot):
            self.assertTrue(jobs[jid]['urgent'], jobs[jid])
            self.assertIsNotNone(jobs[jid]['completed'], jobs[jid])
        # the revoked grant's setup never ran: superseded by its teardown
        (st, err) = self.d.db_query("SELECT status, last_error FROM jobs WHERE id = ?", (s2,))[0]
        self.assertEqual(st, 'superseded')
        self.assertEqual(err, 'superseded by job ' + t2)
        self.assertIsNone(jobs[s2]['claimed'])
        # no script was claimed after an urgent job was queued and before it completed
        for u in (t1, t2, rot):
            for sid in scripts:
                s = jobs[sid]
                if s['claimed'] >= jobs[u]['created']:
                    self.assertGreaterEqual(s['claimed'], jobs[u]['completed'], (sid, u))
        # so nearly every script was still waiting when g1's user went from the router
        waiting = [sid for sid in scripts if jobs[sid]['claimed'] >= jobs[t1]['completed']]
        self.assertGreaterEqual(len(waiting), SCRIPTS - 2)
        users = [u['name'] for u in self.sim.menu('/user')]
        self.assertNotIn(g1['username'], users)
        self.assertNotIn(g2['username'], users)
        self.assertTrue(self.grant(g1['id'])['config_removed_from_site'])
        # and the scripts kept their order among themselves
        claimed = sorted(scripts, key=lambda sid: (jobs[sid]['claimed'], jobs[sid]['rowid']))
        self.assertEqual(claimed, scripts)
        for sid in scripts:
            self.assertIsNotNone(jobs[sid]['completed'], sid)


if __name__ == '__main__':
    import unittest
    unittest.main()
