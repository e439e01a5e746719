"""Issue 10 (items 4 and 5): the review's attacks of F4, F6, F10 and F14 replayed against a real
tikgated, each now refused in the documented error shape (docs/errors.md); and the seed 000/001
list semantics (a plain list is the current grants, ?state=all the history)."""
import http.client
import json
import re
import time

import tg

FACTS = 'identity=edge-9;model=CHR;serial-number=S9;version=7.15;tunnel-address=127.0.0.251/32'
ADMIN = {'email': 'admin@tikgate.local', 'password': 'correct-horse-battery'}


class Base(tg.DaemonTest):
    def key(self, *scopes, auth=tg.ADMIN_KEY):
        r = self.d.request('POST', '/v1/api-keys', {'name': 'k-' + '-'.join(scopes),
                                                    'scopes': list(scopes)}, auth=auth)
        self.assertEqual(r.status, 201, r)
        return r.json['secret']

    def login(self, email, password, source='127.0.0.1'):
        conn = http.client.HTTPConnection('127.0.0.1', self.d.port, timeout=30,
                                          source_address=(source, 0))
        conn.request('POST', '/v1/auth/login', body=json.dumps({'email': email,
                                                                'password': password}),
                     headers={'Content-Type': 'application/json'})
        r = conn.getresponse()
        out = tg.Response(r.status, dict(r.getheaders()), r.read())
        conn.close()
        return out

    def token_of(self, site_json):
        return re.search(r'/bootstrap/(\w+)"', site_json['bootstrap_command']).group(1)

    def adopt(self, token, facts=FACTS):
        return self.d.request('POST', '/adopt/' + token, raw=facts.encode(), auth=None,
                              content_type='text/plain')

    def poll(self, device_token):
        return self.d.request('POST', '/poll', raw=b'heartbeat', auth=device_token,
                              content_type='text/plain')


class F4Bootstrap(Base):
    daemon_env = {'TIKGATE_POLL_INTERVAL': '1'}

    def adopted_site(self, name):
        s = self.d.request('POST', '/v1/sites', {'name': name}).json
        r = self.adopt(self.token_of(s))
        self.assertEqual(r.status, 200, r)
        device = re.search(r'Bearer (\w+)', r.raw.decode()).group(1)
        return s['id'], device

    def test_site_update_alone_cannot_rearm_an_adopted_site(self):
        site, device = self.adopted_site('f4-rearm')
        updater = self.key('site:view', 'site:update')
        r = self.d.request('POST', '/v1/sites/%s/bootstrap' % site, auth=updater)
        self.assertError(r, 403, 'permission_error', 'missing_scope')
        self.assertIn('credentials:rotate', r.json['message'])
        s = self.d.request('GET', '/v1/sites/' + site).json
        self.assertEqual(s['status'], 'online')
        self.assertIsNone(s['bootstrap_command'])
        self.assertEqual(self.poll(device).status, 200)

    def test_rearm_rotates_password_and_keeps_device_token_until_adoption(self):
        site, device = self.adopted_site('f4-rotate')
        creds = '/v1/control-plane/%s/credentials' % site
        before = self.d.request('GET', creds).json[-1]['password']
        rotator = self.key('site:view', 'site:update', 'credentials:rotate')
        r = self.d.request('POST', '/v1/sites/%s/bootstrap' % site, auth=rotator)
        self.assertEqual(r.status, 200, r)
        token = self.token_of(r.json)
        after = self.d.request('GET', creds).json
        self.assertEqual(len(after), 2)
        self.assertNotEqual(after[-1]['password'], before, 'the API password is rotated')
        # A site:update key without credentials:rotate does not see the re-armed token.
        viewer = self.key('site:view', 'site:update')
        self.assertIsNone(self.d.request('GET', '/v1/sites/' + site, auth=viewer)
                          .json['bootstrap_command'])
        # The router keeps polling with its device token until the new adoption.
        self.assertEqual(self.poll(device).status, 200)
        # The review's hijack moved the site to the attacker's address: refused, nothing
        # adopted, the token stays usable and the device token keeps working.
        r = self.adopt(token, FACTS.replace('127.0.0.251', '127.0.0.66'))
        self.assertError(r, 409, 'conflict_error', 'tunnel_address_changed', 'tunnel-address')
        self.assertEqual(self.d.request('GET', '/v1/sites/' + site).json['tunnel_address'],
                         '127.0.0.251')
        self.assertEqual(self.poll(device).status, 200)
        r = self.adopt(token)
        self.assertEqual(r.status, 200, r)
        # The adoption hands out the new password, never the one in use before the re-arm.
        self.assertIn('password=%s' % after[-1]['password'], r.raw.decode())
        self.assertNotIn(before, r.raw.decode())
        self.assertError(self.poll(device), 401, 'authentication_error', 'invalid_device_token')

    def test_bootstrap_command_only_for_onboarders_while_pending(self):
        s = self.d.request('POST', '/v1/sites', {'name': 'f4-view'}).json
        self.assertIsNotNone(s['bootstrap_command'])
        viewer = self.key('site:view', 'cpf:view', 'job:view', 'transient:view')
        for path in ('/v1/sites/' + s['id'], '/v1/sites'):
            r = self.d.request('GET', path, auth=viewer)
            self.assertEqual(r.status, 200, r)
            for site in r.json if isinstance(r.json, list) else [r.json]:
                self.assertIsNone(site['bootstrap_command'], path)
        updater = self.key('site:view', 'site:update')
        self.assertIsNotNone(self.d.request('GET', '/v1/sites/' + s['id'], auth=updater)
                             .json['bootstrap_command'])
        self.adopt(self.token_of(s))
        self.assertIsNone(self.d.request('GET', '/v1/sites/' + s['id']).json['bootstrap_command'])


class F4TokenLifetime(Base):
    daemon_env = {'TIKGATE_BOOTSTRAP_TOKEN_TTL': '2'}

    def test_expired_token_is_refused_clearly(self):
        s = self.d.request('POST', '/v1/sites', {'name': 'f4-ttl'}).json
        token = self.token_of(s)
        self.assertRegex(s['bootstrap_expires_at'], tg.RFC3339)
        time.sleep(2.5)
        r = self.d.request('GET', '/bootstrap/' + token, auth=None)
        self.assertError(r, 410, 'not_found_error', 'bootstrap_token_expired')
        r = self.adopt(token)
        self.assertError(r, 410, 'not_found_error', 'bootstrap_token_expired')
        got = self.d.request('GET', '/v1/sites/' + s['id']).json
        self.assertIsNone(got['bootstrap_command'])
        self.assertEqual(got['status'], 'pending_onboarding')
        # A new token works again (a pending site: site:update suffices, nothing to rotate).
        r = self.d.request('POST', '/v1/sites/%s/bootstrap' % s['id'],
                           auth=self.key('site:view', 'site:update'))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.adopt(self.token_of(r.json)).status, 200)


class F6ReadOnlySecrets(Base):
    daemon_env = {'TIKGATE_ADMIN_PASSWORD': ADMIN['password'],
                  'TIKGATE_ALLOW_PRIVATE_SOURCES': '1', 'TIKGATE_EDGE_LISTEN': '127.0.0.1',
                  'TIKGATE_ENTRY_POINT': 'edge.test', 'TIKGATE_EDGE_PORTS': '23000-23999'}

    def test_read_only_user_sees_no_passwords(self):
        site = self.d.request('POST', '/v1/sites', {'name': 'f6', 'tunnel_address':
                                                    '127.0.0.4'}).json['id']
        base = '/v1/control-plane/%s' % site
        g = self.d.request('POST', base + '/transient-access',
                           {'type': 'winbox', 'full_access': True,
                            'allow_only_cidr': '127.0.0.1/32', 'expire_after_minutes': 60})
        self.assertEqual(g.status, 201, g)
        self.assertIn('password', g.json)
        r = self.d.request('POST', '/v1/users', {'email': 'ro@example.org', 'role': 'read-only',
                                                 'password': 'read-only-pass-1'})
        self.assertEqual(r.status, 201, r)
        r = self.login('ro@example.org', 'read-only-pass-1')
        self.assertEqual(r.status, 200, r)
        ro = r.json['token']
        # The review's reproduction: credentials and grants read by the read-only role.
        r = self.d.request('GET', base + '/credentials', auth=ro)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json[0]['username'], 'tikgate-api')
        self.assertNotIn('password', r.json[0])
        for path in (base + '/transient-access', base + '/transient-access/' + g.json['id']):
            r = self.d.request('GET', path, auth=ro)
            self.assertEqual(r.status, 200, r)
            for a in r.json if isinstance(r.json, list) else [r.json]:
                self.assertNotIn('password', a, path)
                self.assertNotIn(g.json['password'], a['onclick'])
        # Holders of credentials:rotate / transient:create (the admin here) still see them.
        self.assertIn('password', self.d.request('GET', base + '/credentials').json[0])
        self.assertEqual(self.d.request('GET', base + '/transient-access').json[0]['password'],
                         g.json['password'])
        viewer = self.key('credentials:view', 'transient:view')
        self.assertNotIn('password', self.d.request('GET', base + '/credentials',
                                                    auth=viewer).json[0])


class F10LoginLimiter(Base):
    daemon_env = {'TIKGATE_ADMIN_PASSWORD': ADMIN['password']}

    def test_lock_survives_failures_from_other_addresses(self):
        for i in range(5):
            r = self.login('victim@example.org', 'wrong-password-%d' % i, '127.0.10.1')
            self.assertError(r, 401, 'authentication_error', 'invalid_credentials')
        r = self.login('victim@example.org', 'wrong-password-x', '127.0.10.2')
        self.assertError(r, 429, 'rate_limit_error', 'too_many_attempts')
        # Filler failures from many other addresses (the review cycled the table this way)
        # never free the victim's slot: it is in an open window. (The full 8192-address
        # attack runs in tests/unit/api/test_session.c, without Argon2.)
        for i in range(40):
            src = '127.0.%d.%d' % (20 + i // 200, 1 + i % 200)
            r = self.login('filler-%d@example.org' % i, 'wrong-password-x', src)
            self.assertEqual(r.status, 401, r)
        r = self.login('victim@example.org', 'wrong-password-x', '127.0.30.1')
        self.assertError(r, 429, 'rate_limit_error', 'too_many_attempts')
        self.assertGreater(int(r.headers['Retry-After']), 0)
        # Other users are unaffected.
        self.assertEqual(self.login(ADMIN['email'], ADMIN['password'], '127.0.31.1').status, 200)


class F10FullTable(Base):
    """The review's attack at a small scale: a 16-entry table (TIKGATE_LOGIN_SLOTS) that eight
    failing sign-ins from eight addresses would have cycled, evicting the victim's lock."""
    daemon_env = {'TIKGATE_ADMIN_PASSWORD': ADMIN['password'], 'TIKGATE_LOGIN_SLOTS': '16'}

    def test_full_table_refuses_new_keys_and_keeps_the_lock(self):
        # A known user signs in first: its e-mail and address hold a slot from now on.
        self.assertEqual(self.login(ADMIN['email'], ADMIN['password'], '127.0.50.1').status, 200)
        for i in range(5):
            r = self.login('victim@example.org', 'wrong-password-%d' % i, '127.0.10.1')
            self.assertError(r, 401, 'authentication_error', 'invalid_credentials')
        self.assertError(self.login('victim@example.org', 'x' * 12, '127.0.10.9'), 429,
                         'rate_limit_error', 'too_many_attempts')
        statuses = []
        for i in range(12):
            r = self.login('filler-%d@example.org' % i, 'wrong-password-x', '127.0.60.%d' % (i + 1))
            statuses.append(r.status)
            if r.status == 429:
                self.assertError(r, 429, 'rate_limit_error', 'too_many_attempts')
                self.assertGreater(int(r.headers['Retry-After']), 0)
        # 4 slots are taken (admin, victim: e-mail and address each): 6 fillers fit, then
        # every new key waits instead of evicting an open window.
        self.assertEqual(statuses, [401] * 6 + [429] * 6)
        r = self.login('victim@example.org', 'wrong-password-x', '127.0.10.9')
        self.assertError(r, 429, 'rate_limit_error', 'too_many_attempts')
        # Keys the table knows keep working.
        self.assertEqual(self.login(ADMIN['email'], ADMIN['password'], '127.0.50.1').status, 200)


class F14CrossTenant(Base):
    daemon_env = {'TIKGATE_ADMIN_PASSWORD': ADMIN['password']}

    def test_metrics_is_the_platform_operators(self):
        _, b_key = self.d.tenant_create('tenant-b')
        r = self.d.request('GET', '/metrics', auth=b_key)
        self.assertError(r, 403, 'permission_error', 'platform_operator_required')
        self.assertNotIn(b'tikgate_tenants', r.raw)
        self.assertEqual(self.d.request('GET', '/metrics').status, 200)
        # The node registry shows the installation's machines: the same rule.
        r = self.d.request('GET', '/v1/nodes', auth=b_key)
        self.assertError(r, 403, 'permission_error', 'platform_operator_required')
        self.assertEqual(self.d.request('GET', '/v1/nodes').status, 200)

    def test_user_existence_is_not_visible_across_tenants(self):
        _, c_key = self.d.tenant_create('tenant-c')
        r = self.d.request('POST', '/v1/users', {'email': 'shared@c.example', 'role': 'admin',
                                                 'password': 'tenant-c-pass-1'}, auth=c_key)
        self.assertEqual(r.status, 201, r)
        # Tenant A (the platform's) asks for the same address: no 409 telling it exists.
        r = self.d.request('POST', '/v1/users', {'email': 'Shared@C.example', 'role': 'read-only',
                                                 'password': 'tenant-a-pass-1'})
        self.assertEqual(r.status, 201, r)
        a_user = r.json['id']
        # Within one tenant an address is still unique.
        r = self.d.request('POST', '/v1/users', {'email': 'shared@c.example', 'role': 'admin'})
        self.assertError(r, 409, 'conflict_error', 'email_taken', 'email')
        # Each account signs in with its own password, to its own tenant.
        r = self.login('shared@c.example', 'tenant-c-pass-1', '127.0.40.1')
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json['user']['role'], 'admin')
        self.assertNotEqual(r.json['user']['id'], a_user)
        r = self.login('shared@c.example', 'tenant-a-pass-1', '127.0.40.2')
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json['user']['id'], a_user)
        r = self.login('shared@c.example', 'neither-of-them', '127.0.40.3')
        self.assertError(r, 401, 'authentication_error', 'invalid_credentials')


class ListSemantics(Base):
    daemon_env = {'TIKGATE_ALLOW_PRIVATE_SOURCES': '1', 'TIKGATE_EDGE_LISTEN': '127.0.0.1',
                  'TIKGATE_ENTRY_POINT': 'edge.test', 'TIKGATE_EDGE_PORTS': '24000-24999'}

    def test_forward_list_is_current_history_one_parameter_away(self):
        site = self.d.request('POST', '/v1/sites', {'name': 'lists', 'tunnel_address':
                                                    '127.0.0.5'}).json['id']
        ids = []
        for i in range(4):
            r = self.d.request('POST', '/v1/control-plane/%s/transient-forward' % site,
                               {'dst_address': '192.168.88.%d' % (20 + i), 'dst_port': 22,
                                'allow_only_cidr': '127.0.0.1/32', 'expire_after_minutes': 60})
            self.assertEqual(r.status, 201, r)
            ids.append(r.json['id'])
        revoked = ids[2]
        r = self.d.request('DELETE', '/v1/control-plane/%s/transient-forward/%s' % (site, revoked))
        self.assertIn(r.status, (200, 204), r)
        newest_first = list(reversed(ids))
        for path in ('/v1/control-plane/%s/transient-forward', '/control-plane/%s/transient-forward',
                     '/api/routers/%s/transient-forwarding'):
            cur = [g['id'] for g in self.d.request('GET', path % site).json]
            self.assertEqual(cur, [x for x in newest_first if x != revoked], path)
            every = [g['id'] for g in self.d.request('GET', (path % site) + '?state=all').json]
            self.assertEqual(every, newest_first, path)
        # Paging walks the current list; the revoked grant still works as a cursor.
        path = '/v1/control-plane/%s/transient-forward' % site
        page = self.d.request('GET', path + '?limit=1&after_id=' + revoked).json
        self.assertEqual([g['id'] for g in page], [ids[1]])
        page = self.d.request('GET', path + '?state=all&limit=2&after_id=' + ids[3]).json
        self.assertEqual([g['id'] for g in page], [ids[2], ids[1]])
        r = self.d.request('GET', path + '?state=expired')
        self.assertError(r, 400, 'invalid_request_error', 'parameter_invalid', 'state')


if __name__ == '__main__':
    tg.main()
