"""Paged lists: every list endpoint takes ?limit= (1-1000, default 100) and ?after_id= (the id
of the last item of the previous page) and pages through the list in its own order without
gaps or repeats; bad values are 400s in the documented error shape (docs/API.md "Paging").
The connections list keeps its integer record cursor and its default of 1000."""
import tg

BLOCKS = tg.seed_json_blocks()
POLICY_BODY = BLOCKS[2]  # the seed's create body
NONE = '00000000-0000-7000-8000-000000000000'


class Paging(tg.DaemonTest):
    # 105 jobs on one site: above the default per-site queue cap (100), which is not under test
    daemon_env = {'TIKGATE_SITE_QUEUE_MAX': '0', 'TIKGATE_ALLOW_PRIVATE_SOURCES': '1', 'TIKGATE_EDGE_LISTEN': '127.0.0.1',
                  'TIKGATE_EDGE_PORTS': '23000-23999'}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        d = cls.d
        cls.site = d.request('POST', '/v1/sites', {'name': 'paging'}).json['id']
        cls.other_site = d.request('POST', '/v1/sites', {'name': 'paging 2'}).json['id']
        for i in range(5):
            r = d.request('POST', '/v1/sites/%s/jobs' % cls.site,
                          {'description': 'job %d' % i, 'script': ':log info %d' % i,
                           'express_execute': False})
            assert r.status == 201, r
        cls.other_job = d.request('POST', '/v1/sites/%s/jobs' % cls.other_site,
                                  {'description': 'x', 'script': ':log info x',
                                   'express_execute': False}).json['id']
        base = '/v1/control-plane/%s' % cls.site
        for i in range(5):
            r = d.request('POST', base + '/transient-access',
                          {'allow_only_cidr': '127.0.0.1/32', 'type': 'ssh' if i % 2 else 'winbox'})
            assert r.status == 201, r
            r = d.request('POST', base + '/transient-forward',
                          {'dst_address': '192.168.88.%d' % (10 + i), 'dst_port': 80,
                           'allow_only_cidr': '127.0.0.1/32'})
            assert r.status == 201, r
        for i in range(4):
            r = d.request('POST', '/v1/users', {'email': 'u%d@example.org' % i,
                                                'role': 'read-only'})
            assert r.status == 201, r
            r = d.request('POST', '/v1/api-keys', {'name': 'k%d' % i, 'scopes': ['site:view']})
            assert r.status == 201, r
            r = d.request('POST', '/v1/control-plane/policies', dict(POLICY_BODY, name='P%d' % i))
            assert r.status == 201, r

    # -- helpers

    def get(self, path, **query):
        q = '&'.join('%s=%s' % kv for kv in query.items())
        if q:
            path += ('&' if '?' in path else '?') + q
        return self.d.request('GET', path)

    def ids(self, path, **query):
        r = self.get(path, **query)
        self.assertEqual(r.status, 200, r)
        self.assertIsInstance(r.json, list)
        return [x['id'] for x in r.json]

    def walk(self, path, limit):
        """Every id of the list, a page of limit at a time, following after_id."""
        out, query = [], {'limit': limit}
        while True:
            page = self.ids(path, **query)
            self.assertLessEqual(len(page), limit)
            out += page
            if len(page) < limit:
                return out
            query['after_id'] = page[-1]

    def check_list(self, path, foreign_id, at_least=4):
        """The paging contract on one list; foreign_id is an id that is no item of it."""
        full = self.ids(path)
        self.assertGreaterEqual(len(full), at_least, path)
        self.assertEqual(len(set(full)), len(full))
        # Any page size walks the same list, in the same order.
        for limit in (1, 2, 3, len(full), len(full) + 1, 1000):
            self.assertEqual(self.walk(path, limit), full, (path, limit))
        # Page boundaries.
        self.assertEqual(self.ids(path, limit=2), full[:2])
        self.assertEqual(self.ids(path, limit=2, after_id=full[1]), full[2:4])
        self.assertEqual(self.ids(path, after_id=full[0]), full[1:])
        self.assertEqual(self.ids(path, limit=1, after_id=full[-2]), full[-1:])
        self.assertEqual(self.ids(path, after_id=full[-1]), [])
        # limit: 1..1000, nothing else.
        for bad in ('1001', '0', '-1', 'abc', '', '10x', '99999999999999999999'):
            self.assertError(self.get(path, limit=bad), 400, 'invalid_request_error',
                             'parameter_invalid', 'limit')
        # after_id: the id of an item of this very list.
        for bad in ('nope', NONE, foreign_id, full[0].upper(), ''):
            self.assertError(self.get(path, after_id=bad), 400, 'invalid_request_error',
                             'parameter_invalid', 'after_id')
        return full

    # -- the lists

    def test_sites(self):
        for path in ('/v1/sites', '/sites'):
            full = self.check_list(path, self.other_job, at_least=2)
            self.assertEqual(full[:2], [self.site, self.other_site])  # oldest first

    def test_sites_of_another_tenant_are_no_cursor(self):
        _, key = self.d.tenant_create('Elsewhere')
        theirs = self.d.request('POST', '/v1/sites', {'name': 'theirs'}, auth=key).json['id']
        r = self.d.request('GET', '/v1/sites?after_id=' + theirs)
        self.assertError(r, 400, 'invalid_request_error', 'parameter_invalid', 'after_id')
        r = self.d.request('GET', '/v1/sites?after_id=' + self.site, auth=key)
        self.assertError(r, 400, 'invalid_request_error', 'parameter_invalid', 'after_id')
        # Another tenant's site log stays a 404, cursor or not.
        r = self.d.request('GET', '/v1/sites/%s/jobs?after_id=%s' % (theirs, self.other_job))
        self.assertError(r, 404, 'not_found_error', 'resource_missing')

    def test_jobs(self):
        for path in ('/v1/sites/%s/jobs', '/api/routers/%s/jobs'):
            full = self.check_list(path % self.site, self.other_job, at_least=15)
        self.assertEqual(len(full), 15)  # 5 scripts, then 10 grant setups
        descriptions = [j['description'] for j in self.get('/v1/sites/%s/jobs' % self.site).json]
        self.assertEqual(descriptions[10:], ['job 4', 'job 3', 'job 2', 'job 1', 'job 0'])

    def test_transient_access(self):
        forwards = self.ids('/v1/control-plane/%s/transient-forward' % self.site)
        for path in ('/v1/control-plane/%s/transient-access',
                     '/control-plane/%s/transient-accesses'):
            full = self.check_list(path % self.site, forwards[0], at_least=5)
            self.assertEqual(len(full), 5)
        # The history (?state=all) pages too; all five are current, so it is the same list.
        every = self.check_list('/v1/control-plane/%s/transient-access?state=all' % self.site,
                                forwards[0], at_least=5)
        self.assertEqual(every, full)

    def test_transient_forward(self):
        accesses = self.ids('/v1/control-plane/%s/transient-access' % self.site)
        for path in ('/v1/control-plane/%s/transient-forward',
                     '/control-plane/%s/transient-forward',
                     '/api/routers/%s/transient-forwarding'):
            full = self.check_list(path % self.site, accesses[0], at_least=5)
            self.assertEqual(len(full), 5)
        dsts = [g['dst_address'] for g in self.get(
            '/v1/control-plane/%s/transient-forward' % self.site).json]
        self.assertEqual(dsts, ['192.168.88.%d' % i for i in (14, 13, 12, 11, 10)])  # newest first

    def test_users(self):
        self.check_list('/v1/users', self.site, at_least=4)

    def test_api_keys(self):
        full = self.check_list('/v1/api-keys', self.site, at_least=5)
        self.assertEqual(len(full), 5)  # the bootstrap key and four more

    def test_policies(self):
        for path in ('/v1/control-plane/policies', '/control-plane/policies'):
            full = self.check_list(path, self.site, at_least=5)
            self.assertEqual(len(full), 5)  # the default and four more
        self.assertTrue(self.get('/v1/control-plane/policies?limit=1').json[0]['default'])

    def test_default_limit_is_100(self):
        d = self.d
        site = d.request('POST', '/v1/sites', {'name': 'many jobs'}).json['id']
        made = []
        for i in range(105):
            r = d.request('POST', '/v1/sites/%s/jobs' % site,
                          {'description': 'j%d' % i, 'script': ':log info %d' % i,
                           'express_execute': False})
            self.assertEqual(r.status, 201, r)
            made.append(r.json['id'])
        first = self.ids('/v1/sites/%s/jobs' % site)
        self.assertEqual(len(first), 100)
        self.assertEqual(first, made[::-1][:100])
        rest = self.ids('/v1/sites/%s/jobs' % site, after_id=first[-1])
        self.assertEqual(rest, made[::-1][100:])
        self.assertEqual(len(self.ids('/v1/sites/%s/jobs' % site, limit=1000)), 105)

    def test_connections_keep_their_cursor(self):
        g = self.get('/v1/control-plane/%s/transient-access?limit=1' % self.site).json[0]
        path = '/v1/control-plane/%s/transient-access/%s/connections' % (self.site, g['id'])
        r = self.get(path, limit=1000, after_id=0)
        self.assertEqual((r.status, r.json), (200, []))
        for bad in ('1001', '0', 'x'):
            self.assertError(self.get(path, limit=bad), 400, 'invalid_request_error',
                             'parameter_invalid', 'limit')
        for bad in ('-1', 'x', '', NONE):
            self.assertError(self.get(path, after_id=bad), 400, 'invalid_request_error',
                             'parameter_invalid', 'after_id')


if __name__ == '__main__':
    tg.main()
