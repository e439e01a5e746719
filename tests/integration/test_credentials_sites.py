"""Seed 001 "API credentials", sites and site notes, against a real tikgated."""
import re
import os

import tg

BLOCKS = tg.seed_json_blocks()
CRED_OBJECT, CRED_LIST, ROTATE_RESP = BLOCKS[8:11]


class Credentials(tg.DaemonTest):
    def test_history_and_rotation(self):
        r = self.d.request('POST', '/v1/sites', {'name': 'r1', 'tunnel_address': '127.0.0.9'})
        self.assertEqual(r.status, 201, r)
        site = r.json['id']
        path = '/v1/control-plane/%s/credentials' % site
        r = self.d.request('GET', path)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(len(r.json), 1, 'a site is created with its first credential')
        first = r.json[0]
        for key in CRED_LIST[0]:
            self.assertIn(key, first)
        self.assertIsNone(first['deleted_at'])
        self.assertEqual(first['site_id'], site)
        self.assertEqual(first['ip_address'], '127.0.0.9')
        self.assertEqual(first['api_port'], 8728)

        r = self.d.request('POST', path)
        self.assertEqual(r.status, 201, r)
        new = r.json
        for key in ROTATE_RESP:
            self.assertIn(key, new)
        self.assertRegex(new['password'], r'^[0-9A-Za-z]{32}$')
        self.assertNotEqual(new['password'], first['password'])
        self.assertEqual(new['username'], 'tikgate-api')
        self.assertIsNone(new['deleted_at'])

        r = self.d.request('GET', '/control-plane/%s/credentials' % site)  # alias
        self.assertEqual(r.status, 200)
        self.assertEqual([c['id'] for c in r.json], [first['id'], new['id']])
        self.assertRegex(r.json[0]['deleted_at'], tg.RFC3339)
        self.assertIsNone(r.json[1]['deleted_at'])
        self.assertEqual(r.json[0]['password'], first['password'])

    def test_passwords_are_encrypted_at_rest(self):
        site = self.d.request('POST', '/v1/sites', {'name': 'enc'}).json['id']
        pw = self.d.request('GET', '/v1/control-plane/%s/credentials' % site).json[0]['password']
        dump = '\n'.join(self.d.db_dump())
        self.assertIn(site, dump)
        self.assertNotIn(pw, dump)
        self.assertNotIn(tg.ADMIN_KEY, dump)
        key = os.path.join(self.d.data_dir, 'master.key')
        self.assertEqual(os.stat(key).st_mode & 0o777, 0o600)

    def test_unknown_site(self):
        r = self.d.request('GET', '/v1/control-plane/%s/credentials' %
                           '01234567-89ab-7def-8123-456789abcdef')
        self.assertError(r, 404, 'not_found_error', 'resource_missing')
        r = self.d.request('POST', '/v1/control-plane/not-a-uuid/credentials')
        self.assertError(r, 404, 'not_found_error')


class Sites(tg.DaemonTest):
    def test_crud_and_bootstrap_command(self):
        r = self.d.request('POST', '/v1/sites', {'name': 'Branch 7'})
        self.assertEqual(r.status, 201, r)
        s = r.json
        self.assertEqual(s['status'], 'pending_onboarding')
        self.assertRegex(s['id'], tg.UUID)
        default = self.d.request('GET', '/v1/control-plane/policies').json[0]['id']
        self.assertEqual(s['policy_id'], default)
        self.assertRegex(s['bootstrap_command'],
                         r'^/tool fetch url="http://127\.0\.0\.1:\d+/bootstrap/[0-9A-Za-z]{32}"')
        self.assertIsNone(s['last_seen_at'])
        self.assertEqual(self.d.request('GET', '/sites/' + s['id']).json, s)  # alias

        r = self.d.request('PATCH', '/v1/sites/' + s['id'],
                           {'name': 'Branch 8', 'tunnel_address': '100.64.0.7'})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json['name'], 'Branch 8')
        self.assertEqual(r.json['tunnel_address'], '100.64.0.7')
        r = self.d.request('PATCH', '/v1/sites/' + s['id'], {'tunnel_address': None})
        self.assertIsNone(r.json['tunnel_address'])

        listed = self.d.request('GET', '/v1/sites').json
        self.assertIn(s['id'], [x['id'] for x in listed])
        self.assertEqual(self.d.request('DELETE', '/v1/sites/' + s['id']).status, 204)
        self.assertEqual(self.d.request('GET', '/v1/sites/' + s['id']).status, 404)

    def test_note(self):
        site = self.d.request('POST', '/v1/sites', {'name': 'noted'}).json['id']
        r = self.d.request('GET', '/v1/sites/%s/note' % site)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json['content'], '')
        self.assertIsNone(r.json['updated_at'])
        md = '# Rack 4\n\n* uplink: **ether1**\n'
        r = self.d.request('PUT', '/v1/sites/%s/note' % site, {'content': md})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json['content'], md)
        self.assertEqual(r.json['updated_by'], 'admin (bootstrap)')
        self.assertRegex(r.json['updated_at'], tg.RFC3339)
        self.assertEqual(self.d.request('GET', '/v1/sites/%s/note' % site).json['content'], md)
        r = self.d.request('PUT', '/v1/sites/%s/note' % site, {'content': 'x' * 65537})
        self.assertError(r, 400, 'invalid_request_error', 'content_too_long', 'content')
        self.assertEqual(self.d.request('GET', '/v1/sites/%s/note' % site).json['content'], md)
        r = self.d.request('PUT', '/v1/sites/%s/note' % site, {'content': 'y' * 65536})
        self.assertEqual(r.status, 200)


if __name__ == '__main__':
    tg.main()
