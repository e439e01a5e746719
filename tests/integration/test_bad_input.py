"""Bad input: each answered 4xx in the error shape, and the store is unchanged.

The store check reads the SQLite file directly (a full dump before and after).
"""
import copy
import os

import tg

CREATE_BODY = tg.seed_json_blocks()[2]
P = '/v1/control-plane/policies'


def with_field(path, value):
    body = copy.deepcopy(CREATE_BODY)
    cur = body
    keys = path.split('.')
    for k in keys[:-1]:
        cur = cur[k]
    if value is DELETE:
        del cur[keys[-1]]
    else:
        cur[keys[-1]] = value
    return body


DELETE = object()


class BadInput(tg.DaemonTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.site = cls.d.request('POST', '/v1/sites', {'name': 'fixture'}).json['id']
        cls.policy = cls.d.request('POST', P, CREATE_BODY).json['id']

    def dump(self):
        # last_used_at moves with every authenticated request, the node's heartbeat with time,
        # the audit log records the refusal itself (test_audit.py), and the scheduler writes
        # the fleet view's sample at every 5-minute boundary (a run across 10:40:00 failed on
        # it): none of them is part of "the store" here.
        rows = self.d.db_dump(skip_table=('api_keys', 'audit_log', 'nodes', 'fleet_samples',
                                          'site_uptime'))
        self.assertTrue(rows)
        return rows

    def assertRefused(self, method, path, status, type_, code=None, param=None, **kw):
        before = self.dump()
        r = self.d.request(method, path, **kw)
        self.assertError(r, status, type_, code, param)
        self.assertEqual(before, self.dump(), 'the store changed after %s %s' % (method, path))
        return r

    def test_malformed_json(self):
        for raw in (b'{', b'{"name": }', b'[1,2]', b'"x"', b'{"name":"a","name":"b"}',
                    b'\xff\xfe', b'null'):
            with self.subTest(raw=raw):
                self.assertRefused('POST', P, 400, 'invalid_request_error', 'invalid_json',
                                   raw=raw)

    def test_wrong_types(self):
        cases = [
            ('name', 5, 'name'), ('name', None, 'name'), ('winbox', 'on', 'winbox'),
            ('winbox.enabled', 'true', 'winbox.enabled'), ('ssh.port', '22', 'ssh.port'),
            ('ssh.port', 22.5, 'ssh.port'), ('api.networks', '10.0.0.0/8', 'api.networks'),
            ('api.networks', [10], 'api.networks[0]'), ('custom_input_rules', 'yes',
                                                         'custom_input_rules'),
            ('trusted_networks', {}, 'trusted_networks'), ('ftp', DELETE, 'ftp'),
            ('ftp.port', DELETE, 'ftp.port'), ('http.enabled', DELETE, 'http.enabled'),
        ]
        for field, value, param in cases:
            with self.subTest(field=field, value=value):
                self.assertRefused('POST', P, 400, 'invalid_request_error', param=param,
                                   body=with_field(field, value))
                self.assertRefused('PUT', P + '/' + self.policy, 400, 'invalid_request_error',
                                   param=param, body=with_field(field, value))

    def test_name_length(self):
        self.assertRefused('POST', P, 400, 'invalid_request_error', 'name_too_long', 'name',
                           body=with_field('name', 'x' * 21))
        self.assertRefused('POST', P, 400, 'invalid_request_error', param='name',
                           body=with_field('name', ''))
        # 20 characters of 2-byte UTF-8 are fine; 21 are not.
        r = self.d.request('POST', P, with_field('name', 'é' * 20))
        self.assertEqual(r.status, 201, r)
        self.assertRefused('POST', P, 400, 'invalid_request_error', 'name_too_long', 'name',
                           body=with_field('name', 'é' * 21))

    def test_ports(self):
        for port in (0, 65536, -1, 100000):
            with self.subTest(port=port):
                self.assertRefused('POST', P, 400, 'invalid_request_error', 'port_out_of_range',
                                   'winbox.port', body=with_field('winbox.port', port))
        self.assertRefused('POST', P, 400, 'invalid_request_error', 'port_conflict', 'ssh.port',
                           body=with_field('ssh.port', 8291))
        self.assertRefused('PUT', P + '/' + self.policy, 400, 'invalid_request_error',
                           'port_conflict', body=with_field('api.port', 22))
        # A disabled service may share a port with an enabled one.
        r = self.d.request('POST', P, with_field('telnet.port', 22))
        self.assertEqual(r.status, 201, r)

    def test_invalid_cidrs(self):
        for bad in ('10.0.0.0/33', '300.1.1.1/32', 'foo', '', '10.0.0.0/', '::1/129',
                    '10.0.0.1/8', '1.2.3.4/08', '::ffff:10.0.0.0/104', '::ffff:0:0/96'):
            with self.subTest(cidr=bad):
                self.assertRefused('POST', P, 400, 'invalid_request_error', 'invalid_cidr',
                                   'ssh.networks[1]',
                                   body=with_field('ssh.networks', ['10.0.0.0/8', bad]))
        self.assertRefused('POST', P, 400, 'invalid_request_error', 'invalid_cidr',
                           'trusted_networks[0]', body=with_field('trusted_networks', ['x/1']))

    def test_unknown_objects(self):
        ghost = '01234567-89ab-7def-8123-456789abcdef'
        self.assertRefused('GET', P + '/' + ghost, 404, 'not_found_error')
        self.assertRefused('PUT', P + '/' + ghost, 404, 'not_found_error', body=CREATE_BODY)
        self.assertRefused('DELETE', P + '/' + ghost, 404, 'not_found_error')
        self.assertRefused('POST', P + '/' + ghost + '/sites', 404, 'not_found_error',
                           body={'sites': [self.site]})
        self.assertRefused('POST', P + '/' + self.policy + '/sites', 404, 'not_found_error',
                           param='sites[1]', body={'sites': [self.site, ghost]})
        self.assertRefused('POST', P + '/' + self.policy + '/sites', 400,
                           'invalid_request_error', 'parameter_missing', 'sites', body={})
        self.assertRefused('POST', '/v1/sites', 400, 'invalid_request_error', 'unknown_policy',
                           'policy_id', body={'name': 'x', 'policy_id': ghost})
        self.assertRefused('PATCH', '/v1/sites/' + self.site, 400, 'invalid_request_error',
                           'unknown_policy', 'policy_id', body={'policy_id': ghost})
        self.assertRefused('PATCH', '/v1/sites/' + self.site, 400, 'invalid_request_error',
                           'invalid_address', 'tunnel_address',
                           body={'tunnel_address': '10.0.0.0/8'})
        self.assertRefused('POST', '/v1/sites', 400, 'invalid_request_error', 'name_too_long',
                           'name', body={'name': 'n' * 65})

    def test_tokens(self):
        self.assertRefused('POST', P, 401, 'authentication_error', body=CREATE_BODY, auth=None)
        self.assertRefused('POST', P, 401, 'authentication_error', body=CREATE_BODY,
                           auth='tg_sk_nope')
        self.assertRefused('DELETE', '/v1/sites/' + self.site, 401, 'authentication_error',
                           auth='tg_sk_nope')

    def test_body_over_cap_and_media_type(self):
        big = b'{"name": "' + b'a' * (1024 * 1024 + 10) + b'"}'
        self.assertRefused('POST', P, 413, 'invalid_request_error', 'body_too_large', raw=big)
        self.assertRefused('POST', P, 415, 'invalid_request_error', 'unsupported_media_type',
                           body=CREATE_BODY, content_type='text/plain')
        self.assertRefused('POST', P, 400, 'invalid_request_error', 'parameter_missing')

    def test_unknown_routes_and_methods(self):
        self.assertRefused('GET', '/v1/nothing', 404, 'not_found_error', 'route_not_found')
        r = self.assertRefused('PATCH', P, 405, 'invalid_request_error', 'method_not_allowed')
        self.assertEqual(r.headers.get('Allow'), 'GET, POST')
        self.assertRefused('DELETE', '/v1/sites', 405, 'invalid_request_error')


if __name__ == '__main__':
    tg.main()
