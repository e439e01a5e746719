"""Issue 12 item 2: the audit log of actions (docs/API.md "Audit log").

The route walk reads the real routing table (TIKGATE_ROUTE_TABLE: build/route_table, built
from tests/unit/api/route_table.c, the program the openapi lint uses) and makes one request on
every mutating route; each must leave exactly one entry with the right actor, route, object,
status and request id. A new mutating route is therefore covered (or fails here) without
touching this file, unless it is public: then it must be added to NOT_AUDITED or
PUBLIC_AUDITED, a decision to write down.
"""
import os
import subprocess
import time
import uuid

import tg

ADMIN = {'email': 'admin@tikgate.local', 'password': 'correct-horse-battery'}
ROUTE_TABLE = os.environ.get('TIKGATE_ROUTE_TABLE') or os.path.join(
    tg.ROOT, 'build', 'route_table')
READS = ('GET', 'HEAD')
POLICY = tg.seed_json_blocks()[2]  # a whole policy body (the seed's create example)
# Device routes: a router's own traffic, authenticated by a bootstrap or device token, not an
# operator's action (recorded as the site's and job's events instead).
NOT_AUDITED = {('POST', '/adopt/{token}'), ('POST', '/poll')}
PUBLIC_AUDITED = {('POST', '/v1/auth/login')}


def mutating_routes():
    out = subprocess.run([ROUTE_TABLE], check=True, capture_output=True, timeout=30)
    routes = [tuple(line.split(' ', 1)) for line in out.stdout.decode().splitlines()]
    return [r for r in routes if r[0] not in READS]


def fill(pattern, values):
    """The pattern with each {param} replaced by the next value; (path, values used)."""
    parts, used = [], []
    for seg in pattern.split('/'):
        if seg.startswith('{'):
            used.append(values[len(used)])
            seg = used[-1]
        parts.append(seg)
    return '/'.join(parts), used


class Audit(tg.DaemonTest):
    daemon_env = {'TIKGATE_ADMIN_PASSWORD': ADMIN['password'], 'TIKGATE_WEBHOOK_ALLOW_PRIVATE': '1'}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.key_id = cls.d.request('GET', '/v1/auth/me').json['api_key_id']

    def entries(self, query='', auth=tg.ADMIN_KEY):
        """Every entry the caller sees (walking the pages), newest first."""
        out, after = [], None
        while True:
            q = 'limit=1000' + ('&after_id=' + after if after else '') + query
            r = self.d.request('GET', '/v1/audit?' + q, auth=auth)
            self.assertEqual(r.status, 200, r)
            out += r.json
            if len(r.json) < 1000:
                return out
            after = r.json[-1]['id']

    def one_entry(self, before, r):
        """The one entry r left: the log grew by exactly one, with r's request id."""
        rid = r.headers.get('X-Request-Id')
        self.assertRegex(rid or '', tg.UUID)
        now = self.entries()
        self.assertEqual(len(now), len(before) + 1, (r, now[:2]))
        e = now[0]
        self.assertEqual(e['request_id'], rid)
        self.assertEqual([x['id'] for x in now[1:]], [x['id'] for x in before])
        self.assertEqual(e['status'], r.status)
        code = r.json.get('code') if r.status >= 400 and isinstance(r.json, dict) else None
        self.assertEqual(e['error_code'], code, r)
        self.assertEqual(e['source'], '127.0.0.1')
        self.assertRegex(e['at'], tg.RFC3339)
        return e, now

    def user(self, email, role='admin'):
        r = self.d.request('POST', '/v1/users', {'email': email, 'role': role,
                                                 'password': 'audit-password-1'})
        self.assertEqual(r.status, 201, r)
        return r.json['id']

    def body_for(self, method, pattern):
        """A body that makes the parameterless creations succeed; {} elsewhere."""
        n = uuid.uuid4().hex[:8]
        bodies = {
            '/v1/auth/login': dict(ADMIN),
            '/v1/users': {'email': 'walk-%s@example.org' % n, 'role': 'operator'},
            '/v1/api-keys': {'name': 'walk-' + n, 'scopes': ['site:view']},
            '/v1/sites': {'name': 'walk-' + n}, '/sites': {'name': 'walk-' + n},
            '/v1/control-plane/policies': dict(POLICY, name='walk-' + n),
            '/control-plane/policies': dict(POLICY, name='walk-' + n),
            # loopback (allowed below) and an event the walk never causes: nothing is sent
            '/v1/webhooks': {'url': 'http://127.0.0.1:9/walk-' + n, 'events': ['tunnel.up']},
        }
        return bodies.get(pattern, {}) if method == 'POST' else {}

    def test_every_mutating_route_leaves_one_entry(self):
        routes = mutating_routes()
        self.assertGreater(len(routes), 40)
        admin_user = None
        before = self.entries()
        walked = 0
        for method, pattern in routes:
            with self.subTest(route=(method, pattern)):
                ids = [str(uuid.uuid4()) for _ in range(4)]  # unknown objects: a 404 mostly
                path, used = fill(pattern, ids)
                public = (method, pattern) in PUBLIC_AUDITED
                auth = None if public else tg.ADMIN_KEY
                r = self.d.request(method, path, self.body_for(method, pattern), auth=auth)
                self.assertLess(r.status, 500, r)
                if (method, pattern) in NOT_AUDITED:
                    now = self.entries()
                    self.assertEqual(len(now), len(before), (method, pattern, now[:1]))
                    continue
                e, before = self.one_entry(before, r)
                walked += 1
                self.assertEqual((e['method'], e['route']), (method, pattern))
                if public:  # the sign-in: the account is the actor and the object
                    self.assertEqual(r.status, 200, r)
                    admin_user = r.json['user']['id']
                    self.assertEqual(e['actor'], {'kind': 'user', 'id': admin_user,
                                                  'name': ADMIN['email']})
                    self.assertEqual(e['object_id'], admin_user)
                    continue
                self.assertEqual(e['actor']['kind'], 'api_key')
                self.assertEqual(e['actor']['id'], self.key_id)
                created = (r.json.get('id') if 200 <= r.status < 300 and method == 'POST'
                           and isinstance(r.json, dict) else None)
                objects = used + ([created] if created and created not in used[-1:] else [])
                self.assertEqual(e['object_id'], objects[-1] if objects else None, r)
                self.assertEqual(e['parent_id'], objects[-2] if len(objects) > 1 else None, r)
                if not used and method == 'POST' and pattern != '/v1/auth/logout':
                    self.assertEqual(r.status, 201, r)  # the creations really ran
        self.assertIsNotNone(admin_user)
        self.assertEqual(walked, len(routes) - len(NOT_AUDITED))

    def test_successes_name_their_objects(self):
        before = self.entries()
        r = self.d.request('POST', '/v1/sites', {'name': 'audit-site'})
        self.assertEqual(r.status, 201, r)
        site = r.json['id']
        e, before = self.one_entry(before, r)
        self.assertEqual((e['object_id'], e['parent_id']), (site, None))
        r = self.d.request('PATCH', '/v1/sites/' + site, {'name': 'audit-site-2'})
        self.assertEqual(r.status, 200, r)
        e, before = self.one_entry(before, r)
        self.assertEqual((e['route'], e['object_id']), ('/v1/sites/{id}', site))
        r = self.d.request('PUT', '/v1/sites/%s/note' % site, {'text': 'hello'})
        e, before = self.one_entry(before, r)
        self.assertEqual(e['object_id'], site)
        # an alias is recorded under its own pattern, on the same object
        r = self.d.request('PATCH', '/sites/' + site, {'name': 'audit-site-3'})
        e, before = self.one_entry(before, r)
        self.assertEqual((e['route'], e['object_id']), ('/sites/{id}', site))
        r = self.d.request('POST', '/v1/api-keys', {'name': 'audit-k', 'scopes': ['site:view']})
        key = r.json['id']
        e, before = self.one_entry(before, r)
        self.assertEqual(e['object_id'], key)
        r = self.d.request('DELETE', '/v1/api-keys/' + key)
        self.assertEqual(r.status, 204, r)
        e, before = self.one_entry(before, r)
        self.assertEqual((e['method'], e['object_id'], e['error_code']), ('DELETE', key, None))
        # the object filter finds the site's entries, and only those
        mine = self.entries('&object=' + site)
        self.assertEqual(len(mine), 4)
        self.assertTrue(all(site in (x['object_id'], x['parent_id']) for x in mine))

    def test_forbidden_and_unauthenticated(self):
        viewer = self.d.request('POST', '/v1/api-keys', {'name': 'audit-viewer',
                                                         'scopes': ['site:view']}).json
        before = self.entries()
        r = self.d.request('POST', '/v1/sites', {'name': 'nope'}, auth=viewer['secret'])
        self.assertError(r, 403, 'permission_error', 'missing_scope')
        e, before = self.one_entry(before, r)
        self.assertEqual(e['actor'], {'kind': 'api_key', 'id': viewer['id'],
                                      'name': 'audit-viewer'})
        # a refusal of a route without a body (answered by the preflight too): one entry
        r = self.d.request('DELETE', '/v1/sites/' + str(uuid.uuid4()), auth=viewer['secret'])
        e, before = self.one_entry(before, r)
        self.assertEqual(e['error_code'], 'missing_scope')
        # no key, a wrong key, a route that does not exist, a read: nothing recorded
        self.d.request('POST', '/v1/sites', {'name': 'x'}, auth=None)
        self.d.request('POST', '/v1/sites', {'name': 'x'}, auth='tg_sk_wrong')
        self.d.request('POST', '/v1/nothing-here', {})
        self.d.request('GET', '/v1/sites')
        self.assertEqual(self.entries(), before)
        # the filters: by actor, by result class, by time
        self.assertEqual([x['id'] for x in self.entries('&actor=' + viewer['id'])],
                         [x['id'] for x in before[:2]])
        self.assertTrue(all(x['status'] // 100 == 4 for x in self.entries('&result=4xx')))
        self.assertEqual(self.entries('&until=2000-01-01T00:00:00Z'), [])
        self.assertEqual(len(self.entries('&since=2000-01-01T00:00:00Z')), len(before))
        for q in ('result=6xx', 'since=yesterday', 'after_id=nope'):
            r = self.d.request('GET', '/v1/audit?' + q)
            self.assertError(r, 400, 'invalid_request_error')

    def test_sign_in_and_sign_out(self):
        email = 'audit-signin@example.org'
        uid = self.user(email, role='operator')
        before = self.entries()
        r = self.d.request('POST', '/v1/auth/login', {'email': email, 'password': 'wrong-one-1'},
                           auth=None)
        self.assertError(r, 401, 'authentication_error', 'invalid_credentials')
        e, before = self.one_entry(before, r)
        self.assertEqual(e['actor'], {'kind': 'user', 'id': uid, 'name': email})
        self.assertEqual((e['route'], e['object_id']), ('/v1/auth/login', uid))
        # an address no account has: no tenant to file it under
        r = self.d.request('POST', '/v1/auth/login', {'email': 'nobody@example.org',
                                                      'password': 'wrong-one-1'}, auth=None)
        self.assertEqual(r.status, 401)
        self.assertEqual(self.entries(), before)
        r = self.d.request('POST', '/v1/auth/login', {'email': email,
                                                      'password': 'audit-password-1'}, auth=None)
        self.assertEqual(r.status, 200, r)
        token = r.json['token']
        e, before = self.one_entry(before, r)
        self.assertEqual((e['actor']['id'], e['status'], e['error_code']), (uid, 200, None))
        # a session's actions are the user's
        r = self.d.request('POST', '/v1/sites', {'name': 'by-session'}, auth=token)
        self.assertEqual(r.status, 201, r)
        e, before = self.one_entry(before, r)
        self.assertEqual(e['actor'], {'kind': 'user', 'id': uid, 'name': email})
        r = self.d.request('POST', '/v1/auth/logout', auth=token)
        self.assertEqual(r.status, 204, r)
        e, before = self.one_entry(before, r)
        self.assertEqual((e['route'], e['actor']['id']), ('/v1/auth/logout', uid))
        # an operator's session lacks admin: the audit log is not theirs to read
        r = self.d.request('POST', '/v1/auth/login', {'email': email,
                                                      'password': 'audit-password-1'}, auth=None)
        r = self.d.request('GET', '/v1/audit', auth=r.json['token'])
        self.assertError(r, 403, 'permission_error', 'missing_scope')

    def test_tenants_see_only_their_own(self):
        _, key_b = self.d.tenant_create('audit-b')
        r = self.d.request('POST', '/v1/sites', {'name': 'b-site'}, auth=key_b)
        self.assertEqual(r.status, 201, r)
        rid_b = r.headers['X-Request-Id']
        mine = self.entries(auth=key_b)
        self.assertEqual([x['request_id'] for x in mine], [rid_b])
        a = self.entries()
        self.assertNotIn(rid_b, [x['request_id'] for x in a])
        self.assertTrue(a)
        # A's entry is no cursor for B, nor a filter that leaks
        r = self.d.request('GET', '/v1/audit?after_id=' + a[0]['id'], auth=key_b)
        self.assertError(r, 400, 'invalid_request_error')
        self.assertEqual(self.entries('&actor=' + self.key_id, auth=key_b), [])

    def test_entries_cannot_be_changed(self):
        before = self.entries()
        some = before[0]['id'] if before else str(uuid.uuid4())
        for method in ('PUT', 'PATCH', 'DELETE', 'POST'):
            r = self.d.request(method, '/v1/audit', {})
            self.assertError(r, 405, 'invalid_request_error', 'method_not_allowed')
            self.assertEqual(r.headers.get('Allow'), 'GET')
            r = self.d.request(method, '/v1/audit/' + some, {})
            self.assertError(r, 404, 'not_found_error', 'route_not_found')
        self.assertEqual(self.entries(), before)

    def test_paging_and_access_log(self):
        for i in range(3):
            self.d.request('PUT', '/v1/control-plane/policies/' + str(uuid.uuid4()), {})
        every = self.entries()
        walked, after = [], None
        while True:
            q = '/v1/audit?limit=2' + ('&after_id=' + after if after else '')
            page = self.d.request('GET', q).json
            walked += page
            if len(page) < 2:
                break
            after = page[-1]['id']
        self.assertEqual([x['id'] for x in walked], [x['id'] for x in every])
        stamps = [(x['at'], x['id']) for x in every]
        self.assertEqual(stamps, sorted(stamps, reverse=True))
        # the request id is in the access log line too
        self.assertIn('rid=' + every[0]['request_id'], self.d.log())


class Retention(tg.DaemonTest):
    """TIKGATE_AUDIT_RETENTION: the first entry a process writes prunes the expired ones."""
    daemon_env = {'TIKGATE_AUDIT_RETENTION': '30'}

    def test_expired_entries_are_pruned_on_write(self):
        tenant = self.d.request('GET', '/v1/auth/me').json['tenant_id']
        day_ms = 86400 * 1000
        now_ms = int(time.time() * 1000)
        old, recent = str(uuid.uuid4()), str(uuid.uuid4())
        for id_, age in ((old, 31), (recent, 29)):
            self.d.db_execute(
                'INSERT INTO audit_log(id, tenant_id, at_ms, actor_kind, method, route, status) '
                "VALUES (?, ?, ?, 'api_key', 'POST', '/v1/sites', 201)",
                (id_, tenant, now_ms - age * day_ms))
        r = self.d.request('POST', '/v1/sites', {'name': 'retention'})
        self.assertEqual(r.status, 201, r)
        ids = [e['id'] for e in self.d.request('GET', '/v1/audit').json]
        self.assertEqual(len(ids), 2, ids)
        self.assertIn(recent, ids)
        self.assertNotIn(old, ids)
        self.assertIn('audit entries older than 30 days pruned: 1', self.d.log())


if __name__ == '__main__':
    tg.main()
