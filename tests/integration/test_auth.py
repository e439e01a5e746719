"""Authentication, scopes, API keys and tenant isolation."""
import tg

P = '/v1/control-plane/policies'


class Auth(tg.DaemonTest):
    def test_missing_and_wrong_tokens(self):
        r = self.d.request('GET', P, auth=None)
        self.assertError(r, 401, 'authentication_error', 'authentication_required')
        self.assertEqual(r.headers.get('WWW-Authenticate'), 'Bearer')
        r = self.d.request('GET', P, auth='tg_sk_wrong')
        self.assertError(r, 401, 'authentication_error', 'invalid_token')
        r = self.d.request('GET', P, headers={'Authorization': 'Basic Zm9vOmJhcg=='}, auth=None)
        self.assertError(r, 401, 'authentication_error')
        r = self.d.request('GET', P, auth='x' * 300)
        self.assertError(r, 401, 'authentication_error')

    def test_api_keys_scopes_and_revocation(self):
        r = self.d.request('POST', '/v1/api-keys', {'name': 'viewer', 'scopes': ['cpf:view']})
        self.assertEqual(r.status, 201, r)
        key = r.json
        self.assertRegex(key['secret'], r'^tg_sk_[0-9A-Za-z]{40}$')
        self.assertEqual(key['prefix'], key['secret'][:12])
        self.assertEqual(key['scopes'], ['cpf:view'])
        secret = key['secret']

        listed = self.d.request('GET', '/v1/api-keys').json
        mine = [k for k in listed if k['id'] == key['id']][0]
        self.assertNotIn('secret', mine)

        self.assertEqual(self.d.request('GET', P, auth=secret).status, 200)
        r = self.d.request('POST', P, {'name': 'x'}, auth=secret)
        self.assertError(r, 403, 'permission_error', 'missing_scope')
        self.assertIn('cpf:create', r.json['message'])
        r = self.d.request('GET', '/v1/api-keys', auth=secret)
        self.assertError(r, 403, 'permission_error')
        r = self.d.request('GET', '/v1/sites', auth=secret)
        self.assertError(r, 403, 'permission_error')

        self.assertEqual(self.d.request('DELETE', '/v1/api-keys/' + key['id']).status, 204)
        r = self.d.request('GET', P, auth=secret)
        self.assertError(r, 401, 'authentication_error', 'invalid_token')
        self.assertEqual(self.d.request('DELETE', '/v1/api-keys/' + key['id']).status, 204)
        revoked = [k for k in self.d.request('GET', '/v1/api-keys').json if k['id'] == key['id']]
        self.assertRegex(revoked[0]['revoked_at'], tg.RFC3339)

    def test_bad_key_requests(self):
        r = self.d.request('POST', '/v1/api-keys', {'name': 'x', 'scopes': ['cpf:fly']})
        self.assertError(r, 400, 'invalid_request_error', 'unknown_scope', 'scopes')
        r = self.d.request('POST', '/v1/api-keys', {'name': 'x', 'scopes': []})
        self.assertError(r, 400, 'invalid_request_error', 'parameter_missing', 'scopes')
        r = self.d.request('POST', '/v1/api-keys', {'scopes': ['admin']})
        self.assertError(r, 400, 'invalid_request_error', 'parameter_missing', 'name')

    def test_other_tenant_objects_are_404(self):
        _, other_key = self.d.tenant_create('other')
        other_policy = self.d.request('GET', P, auth=other_key).json
        self.assertEqual(len(other_policy), 1, 'a new tenant gets its own default policy')
        other_pid = other_policy[0]['id']
        other_site = self.d.request('POST', '/v1/sites', {'name': 'theirs'},
                                    auth=other_key).json['id']
        mine = self.d.request('GET', P).json
        self.assertNotIn(other_pid, [p['id'] for p in mine])

        self.assertError(self.d.request('GET', P + '/' + other_pid), 404, 'not_found_error')
        self.assertError(self.d.request('DELETE', P + '/' + other_pid), 404, 'not_found_error')
        self.assertError(self.d.request('GET', '/v1/sites/' + other_site), 404, 'not_found_error')
        self.assertError(self.d.request('GET', '/v1/control-plane/%s/credentials' % other_site),
                         404, 'not_found_error')
        self.assertError(self.d.request('POST', '/v1/control-plane/%s/credentials' % other_site),
                         404, 'not_found_error')
        my_pid = mine[0]['id']
        r = self.d.request('POST', P + '/' + my_pid + '/sites', {'sites': [other_site]})
        self.assertError(r, 404, 'not_found_error', param='sites[0]')
        # Their site did not move.
        r = self.d.request('GET', '/v1/sites/' + other_site, auth=other_key)
        self.assertEqual(r.json['policy_id'], other_pid)
        r = self.d.request('POST', '/v1/sites', {'name': 'x', 'policy_id': other_pid})
        self.assertError(r, 400, 'invalid_request_error', 'unknown_policy', 'policy_id')


if __name__ == '__main__':
    tg.main()
