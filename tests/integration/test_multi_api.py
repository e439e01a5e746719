"""Issue 11 item 5: API nodes are stateless. Two tikgated API nodes on one PostgreSQL database
with the same master key (copied, as docs/deployment.md says):

- a session signed in through node A works on node B, and signing out through B ends it on A;
- an API key created through A authenticates on B;
- failed sign-ins spread over A and B hit the limit (5 per e-mail, 5 per address) as on one
  node: the shared counters of migration 0012;
- a third node started with another master key refuses to start.

Suite pg only (SQLite is one node). Bounded: a few seconds.
"""
import http.client
import json
import os
import shutil
import sys
import tempfile
import unittest

import tg
from simharness import wait_for

ADMIN = {'email': 'admin@tikgate.local', 'password': 'correct horse battery staple'}


def login(d, email, password, source='127.0.0.1'):
    conn = http.client.HTTPConnection('127.0.0.1', d.port, timeout=30, source_address=(source, 0))
    conn.request('POST', '/v1/auth/login', body=json.dumps({'email': email, 'password': password}),
                 headers={'Content-Type': 'application/json'})
    r = conn.getresponse()
    out = tg.Response(r.status, dict(r.getheaders()), r.read())
    conn.close()
    return out


class TwoApiNodes(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if tg.BACKEND != 'postgres':
            raise unittest.SkipTest('needs TIKGATE_TEST_DATABASE=postgres (one database, two nodes)')
        cls.a = tg.Daemon(env={'TIKGATE_ADMIN_PASSWORD': ADMIN['password'],
                               'TIKGATE_ROLES': 'api,scheduler,dispatcher', 'TIKGATE_VPN': 'off'})
        cls.addClassCleanup(cls.a.cleanup)
        cls.a.start()
        url = tg.database_url(cls.a.data_dir)
        cls.b_dir = tempfile.mkdtemp(prefix='tg-it-b-')
        cls.addClassCleanup(shutil.rmtree, cls.b_dir, True)
        shutil.copy2(os.path.join(cls.a.data_dir, 'master.key'),
                     os.path.join(cls.b_dir, 'master.key'))
        os.chmod(os.path.join(cls.b_dir, 'master.key'), 0o600)
        cls.b = tg.Daemon(data_dir=cls.b_dir, env={'TIKGATE_DATABASE': url,
                                                   'TIKGATE_ROLES': 'api'})
        cls.addClassCleanup(cls.b.cleanup)
        cls.b.start()

    def assert_error(self, r, status, code):
        self.assertEqual(r.status, status, r)
        self.assertEqual(r.json['code'], code, r)
        self.assertEqual(r.json['doc_url'], '/docs/errors#' + code)

    def test_session_and_key_work_on_the_other_node(self):
        r = login(self.a, ADMIN['email'], ADMIN['password'])
        self.assertEqual(r.status, 200, r)
        token = r.json['token']
        me = self.b.request('GET', '/v1/auth/me', auth=token)
        self.assertEqual(me.status, 200, me)
        self.assertEqual(me.json['name'], ADMIN['email'])
        self.assertEqual(self.a.request('GET', '/v1/auth/me', auth=token).status, 200)
        # Objects made through one node are the other's too.
        site = self.a.request('POST', '/v1/sites', {'name': 'made-on-a'}, auth=token)
        self.assertEqual(site.status, 201, site)
        got = self.b.request('GET', '/v1/sites/' + site.json['id'], auth=token)
        self.assertEqual((got.status, got.json['name']), (200, 'made-on-a'))
        # Signed out through B: A refuses the token at once.
        self.assertEqual(self.b.request('POST', '/v1/auth/logout', auth=token).status, 204)
        self.assert_error(self.a.request('GET', '/v1/auth/me', auth=token), 401, 'invalid_token')
        # An API key created through A authenticates on B; revoked through B, A refuses it
        # (within API_KEY_CACHE_MS, 1 s: A looked it up just before).
        k = self.a.request('POST', '/v1/api-keys', {'name': 'ci', 'scopes': ['site:view']})
        self.assertEqual(k.status, 201, k)
        secret = k.json['secret']
        self.assertEqual(self.b.request('GET', '/v1/sites', auth=secret).status, 200)
        self.assertEqual(self.a.request('GET', '/v1/sites', auth=secret).status, 200)
        self.assertEqual(self.b.request('DELETE', '/v1/api-keys/' + k.json['id']).status, 204)
        self.assert_error(self.b.request('GET', '/v1/sites', auth=secret), 401, 'invalid_token')
        refused = wait_for(lambda: self.a.request('GET', '/v1/sites', auth=secret).status == 401,
                           5)
        self.assertTrue(refused, 'node A still accepts a key revoked through B')

    def test_a_policy_changed_through_one_node_shows_on_the_other(self):
        # Policy GETs are answered from each node's cache while its versions watcher
        # (store/pg_versions.c) says nothing changed: a write through A shows on A at once,
        # on B when A's NOTIFY reached B's watcher (normally milliseconds, at most 2 s).
        P = '/v1/control-plane/policies'
        pol = self.a.request('GET', P + '?limit=100').json[0]
        path = P + '/' + pol['id']
        for d in (self.a, self.b, self.a, self.b):  # the second GET of each is a cache hit
            self.assertEqual(d.request('GET', path).json['name'], pol['name'])

        def renamed_on_a(name):
            body = tg.policy_body(pol)
            body['name'] = name
            self.assertEqual(self.a.request('PUT', path, body).status, 200)
            self.assertEqual(self.a.request('GET', path).json['name'], name)
            self.assertTrue(wait_for(lambda: self.b.request('GET', path).json['name'] == name,
                                     3), 'node B still answers the old policy')

        renamed_on_a('renamed-on-a')
        # The watchers' connections cut: until they are back, reads ask the database.
        watchers = ("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE "
                    "application_name = 'tikgated-versions'")
        self.assertEqual(self.a.db_query(watchers)[0][0], 2)
        renamed_on_a('renamed-again')
        back = ("SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                "'tikgated-versions'")
        self.assertTrue(wait_for(lambda: self.a.db_query(back)[0][0] == 2, 5))
        renamed_on_a('renamed-after')

    def test_failed_sign_ins_over_both_nodes_hit_one_limit(self):
        nodes = [self.a, self.b]
        # Per e-mail: five failures from five addresses, alternating nodes...
        for i in range(5):
            r = login(nodes[i % 2], 'victim@example.org', 'wrong-password-%d' % i,
                      '127.0.40.%d' % (i + 1))
            self.assert_error(r, 401, 'invalid_credentials')
        # ...and the sixth is refused on either node, the right password included.
        for d in nodes:
            r = login(d, 'victim@example.org', 'wrong-password-x', '127.0.40.9')
            self.assert_error(r, 429, 'too_many_attempts')
            self.assertGreater(int(r.headers['Retry-After']), 0)
        # Per address: five e-mails from one address over both nodes lock the address.
        for i in range(5):
            r = login(nodes[(i + 1) % 2], 'guess-%d@example.org' % i, 'wrong-password-x',
                      '127.0.41.1')
            self.assert_error(r, 401, 'invalid_credentials')
        for d in nodes:
            self.assert_error(login(d, 'guess-9@example.org', 'x' * 12, '127.0.41.1'), 429,
                              'too_many_attempts')
        # Others are unaffected, on both nodes.
        for d in nodes:
            self.assertEqual(login(d, ADMIN['email'], ADMIN['password'], '127.0.42.1').status,
                             200)


    def test_a_node_with_another_master_key_refuses_to_start(self):
        c = tg.Daemon(env={'TIKGATE_DATABASE': tg.database_url(self.a.data_dir),
                           'TIKGATE_ROLES': 'api'})  # a fresh data dir: a new master.key
        self.addCleanup(c.cleanup)
        with self.assertRaises(RuntimeError) as e:
            c.start()
        self.assertIn('master.key is not the key of this database', str(e.exception))
        self.assertEqual(self.b.request('GET', '/healthz', auth=None).status, 200)


if __name__ == '__main__':
    sys.path.insert(0, os.path.dirname(__file__))
    unittest.main()
