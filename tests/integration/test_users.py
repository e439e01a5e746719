"""Portal users and sessions: sign-in, roles mapped to scopes, logout, strict JWT checks,
failed-login rate limit."""
import base64
import hashlib
import hmac
import json
import time

import tg

ADMIN = {'email': 'admin@tikgate.local', 'password': 'correct-horse-battery'}


def b64(d):
    return base64.urlsafe_b64encode(d).rstrip(b'=').decode()


def unb64(s):
    return base64.urlsafe_b64decode(s + '=' * (-len(s) % 4))


class Users(tg.DaemonTest):
    daemon_env = {'TIKGATE_ADMIN_PASSWORD': ADMIN['password']}

    def login(self, email, password, expect=200):
        r = self.d.request('POST', '/v1/auth/login', {'email': email, 'password': password},
                           auth=None)
        self.assertEqual(r.status, expect, r)
        return r.json

    def test_sign_in_me_logout(self):
        s = self.login(**ADMIN)
        self.assertEqual(s['token_type'], 'Bearer')
        self.assertEqual(s['user']['role'], 'admin')
        self.assertIn('admin', s['scopes'])
        tok = s['token']
        header = json.loads(unb64(tok.split('.')[0]))
        self.assertEqual(header['alg'], 'HS256')
        me = self.d.request('GET', '/v1/auth/me', auth=tok)
        self.assertEqual(me.status, 200)
        self.assertEqual((me.json['kind'], me.json['user']['email']), ('session', ADMIN['email']))
        self.assertEqual(self.d.request('GET', '/v1/control-plane/policies', auth=tok).status, 200)
        self.assertEqual(self.d.request('POST', '/v1/auth/logout', auth=tok).status, 204)
        r = self.d.request('GET', '/v1/auth/me', auth=tok)
        self.assertError(r, 401, 'authentication_error', 'invalid_token')

    def test_roles(self):
        admin = self.login(**ADMIN)['token']
        r = self.d.request('POST', '/v1/users', {'email': 'op@example.org', 'role': 'operator',
                                                 'password': 'operator-pass-1'}, auth=admin)
        self.assertEqual(r.status, 201, r)
        r = self.d.request('POST', '/v1/users', {'email': 'ro@example.org', 'role': 'read-only'},
                           auth=admin)
        self.assertEqual(r.status, 201, r)
        invited = r.json['password']      # an invitation: the one-time password, shown once
        self.assertRegex(invited, r'^[0-9A-Za-z]{24}$')
        listed = self.d.request('GET', '/v1/users', auth=admin).json
        self.assertEqual(sorted(u['email'] for u in listed),
                         ['admin@tikgate.local', 'op@example.org', 'ro@example.org'])
        self.assertNotIn('password', listed[1])
        r = self.d.request('POST', '/v1/users', {'email': 'RO@example.org', 'role': 'operator'},
                           auth=admin)
        self.assertError(r, 409, 'conflict_error', 'email_taken')

        op = self.login('op@example.org', 'operator-pass-1')['token']
        ro = self.login('ro@example.org', invited)['token']
        site = self.d.request('POST', '/v1/sites', {'name': 'by operator'}, auth=op)
        self.assertEqual(site.status, 201, site)
        self.assertEqual(site.json['name'], 'by operator')
        self.assertError(self.d.request('GET', '/v1/users', auth=op), 403, 'permission_error')
        self.assertEqual(self.d.request('GET', '/v1/sites', auth=ro).status, 200)
        r = self.d.request('POST', '/v1/sites', {'name': 'nope'}, auth=ro)
        self.assertError(r, 403, 'permission_error', 'missing_scope')
        sid = site.json['id']
        r = self.d.request('POST', '/v1/control-plane/%s/credentials' % sid, auth=ro)
        self.assertError(r, 403, 'permission_error')
        r = self.d.request('POST', '/v1/control-plane/%s/transient-access' % sid, {}, auth=ro)
        self.assertError(r, 403, 'permission_error')
        # The note records the user's e-mail as its author.
        r = self.d.request('PUT', '/v1/sites/%s/note' % sid, {'content': 'x'}, auth=op)
        self.assertEqual(r.json['updated_by'], 'op@example.org')
        # Disabling a user ends its sessions.
        uid = [u['id'] for u in listed if u['email'] == 'op@example.org'][0]
        r = self.d.request('PATCH', '/v1/users/' + uid, {'disabled': True}, auth=admin)
        self.assertEqual(r.status, 200, r)
        self.assertError(self.d.request('GET', '/v1/sites', auth=op), 401, 'authentication_error')
        self.login('op@example.org', 'operator-pass-1', expect=401)
        me = [u for u in listed if u['email'] == ADMIN['email']][0]
        r = self.d.request('PATCH', '/v1/users/' + me['id'], {'role': 'operator'}, auth=admin)
        self.assertError(r, 409, 'conflict_error', 'cannot_demote_self')

    def test_forged_tokens_are_refused(self):
        tok = self.login(**ADMIN)['token']
        h, p, sig = tok.split('.')
        claims = json.loads(unb64(p))
        cases = {
            'alg none': b64(json.dumps({'alg': 'none', 'typ': 'JWT'}).encode()) + '.' + p + '.',
            'tampered claims': h + '.' + b64(json.dumps(dict(claims, sub='x' * 36)).encode()) +
            '.' + sig,
            'bad signature': h + '.' + p + '.' + b64(b'\x00' * 32),
            'other key': self._sign({'alg': 'HS256', 'typ': 'JWT'}, claims, b'k' * 32),
            'expired': self._sign({'alg': 'HS256', 'typ': 'JWT'}, dict(claims, exp=1), b'k' * 32),
            'HS512': self._sign({'alg': 'HS512', 'typ': 'JWT'}, claims, b'k' * 32, 'sha512'),
        }
        for name, forged in cases.items():
            with self.subTest(name):
                r = self.d.request('GET', '/v1/auth/me', auth=forged)
                self.assertError(r, 401, 'authentication_error', 'invalid_token')

    @staticmethod
    def _sign(header, claims, key, algo='sha256'):
        msg = b64(json.dumps(header).encode()) + '.' + b64(json.dumps(claims).encode())
        mac = hmac.new(key, msg.encode(), getattr(hashlib, algo)).digest()
        return msg + '.' + b64(mac)

    def test_bad_user_input(self):
        admin = self.login(**ADMIN)['token']
        for body, param in (({'email': 'no-at-sign', 'role': 'admin'}, 'email'),
                            ({'email': 'a@b.io', 'role': 'king'}, 'role'),
                            ({'email': 'a@b.io', 'role': 'admin', 'password': 'short'},
                             'password'),
                            ({'role': 'admin'}, 'email')):
            with self.subTest(body=body):
                r = self.d.request('POST', '/v1/users', body, auth=admin)
                self.assertError(r, 400, 'invalid_request_error', param=param)

    def test_portal_is_served(self):
        r = self.d.request('GET', '/', auth=None)
        self.assertEqual(r.status, 200)
        self.assertIn(b'<html', r.raw.lower())
        self.assertTrue(r.headers['Content-Type'].startswith('text/html'))
        self.assertEqual(self.d.request('GET', '/assets/..%2fmaster.key', auth=None).status, 404)
        self.assertEqual(self.d.request('GET', '/assets/nothing.js', auth=None).status, 404)


class LoginRateLimit(tg.DaemonTest):
    """Its own daemon: the per-address count would lock the other tests out (all 127.0.0.1)."""

    def test_failed_logins_are_rate_limited(self):
        for _ in range(5):
            r = self.d.request('POST', '/v1/auth/login', {'email': 'nobody@example.org',
                                                          'password': 'wrong-password-x'},
                               auth=None)
            self.assertError(r, 401, 'authentication_error', 'invalid_credentials')
        r = self.d.request('POST', '/v1/auth/login', {'email': 'nobody@example.org',
                                                      'password': 'wrong-password-x'}, auth=None)
        self.assertError(r, 429, 'rate_limit_error', 'too_many_attempts')
        self.assertGreater(int(r.headers['Retry-After']), 0)


if __name__ == '__main__':
    tg.main()
