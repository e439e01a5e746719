"""Seed 001 "Policies": every sample request replayed against a real tikgated.

Differences from the seed that are decisions (docs/decisions.md):
- timestamps are RFC 3339 ("2023-11-08T18:23:11+00:00"), not "08 Nov 2023 18:23:11";
- the seed's PUT and attach responses show 154.66.115.255/32 merged into the winbox and ssh
  networks; tikgate stores the operator's list verbatim and adds the management address only
  when it renders router configuration;
- ids are UUIDv7 and slugs end in 10 fresh base62 characters, so they are matched by shape.
"""
import copy
import json
import re
import sys

import tg
from simharness import wait_for

SERVICES = ('winbox', 'ssh', 'http', 'https', 'telnet', 'ftp', 'api', 'api_ssl')
BLOCKS = tg.seed_json_blocks()
SEED_POLICY_OBJECT, SEED_LIST, CREATE_BODY, CREATE_RESP, PUT_BODY, PUT_RESP, ATTACH_BODY, \
    ATTACH_RESP = BLOCKS[:8]
P = '/v1/control-plane/policies'


def seed_networks_for_put(resp, svc):
    """The seed's PUT/attach sample merges the platform address into winbox/ssh; we do not."""
    nets = resp[svc]['networks']
    if svc in ('winbox', 'ssh'):
        nets = [n for n in nets if n != '154.66.115.255/32']
    return nets


class PolicySeedReplay(tg.DaemonTest):
    def assertPolicyMatchesSeed(self, got, seed, put_like=False):
        for key in seed:
            self.assertIn(key, got, 'field %s missing' % key)
        self.assertRegex(got['id'], tg.UUID)
        self.assertEqual(got['name'], seed['name'])
        base = re.sub(r'-[0-9A-Za-z]{10}$', '', seed['slug'])
        self.assertRegex(got['slug'], '^' + re.escape(base) + '-[0-9A-Za-z]{10}$')
        for svc in SERVICES:
            self.assertEqual(got[svc]['enabled'], seed[svc]['enabled'], svc)
            self.assertEqual(got[svc]['port'], seed[svc]['port'], svc)
            want = seed_networks_for_put(seed, svc) if put_like else seed[svc]['networks']
            self.assertEqual(got[svc]['networks'], want, svc)
        self.assertEqual(got['default'], seed['default'])
        self.assertRegex(got['created_at'], tg.RFC3339)
        self.assertRegex(got['updated_at'], tg.RFC3339)

    def test_1_default_policy_matches_seed_object(self):
        r = self.d.request('GET', P)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(len(r.json), 1)
        default = r.json[0]
        self.assertTrue(default['default'])
        self.assertEqual(default['name'], SEED_POLICY_OBJECT['name'])
        self.assertRegex(default['slug'], r'^default-policy-[0-9A-Za-z]{10}$')
        for svc in SERVICES:
            self.assertEqual(default[svc]['enabled'], SEED_POLICY_OBJECT[svc]['enabled'], svc)
            self.assertEqual(default[svc]['port'], SEED_POLICY_OBJECT[svc]['port'], svc)
        for svc in ('winbox', 'ssh'):
            self.assertEqual(default[svc]['networks'], SEED_POLICY_OBJECT[svc]['networks'])
        # The api service is reachable from the management networks (the seed's platform /32).
        self.assertEqual(default['api']['networks'], ['127.0.0.0/8'])

    def test_2_create_update_attach_delete(self):
        r = self.d.request('POST', P, CREATE_BODY)
        self.assertEqual(r.status, 201, r)
        created = r.json
        self.assertPolicyMatchesSeed(created, CREATE_RESP)
        pid = created['id']

        r = self.d.request('GET', P)
        self.assertEqual(r.status, 200)
        self.assertEqual([p['id'] for p in r.json][-1], pid)
        self.assertEqual(sorted(r.json[0].keys()), sorted(created.keys()))
        for key in SEED_LIST[1]:
            self.assertIn(key, r.json[-1])

        r = self.d.request('GET', P + '/' + pid)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json['sites'], [])

        r = self.d.request('PUT', P + '/' + pid, PUT_BODY)
        self.assertEqual(r.status, 200, r)
        self.assertPolicyMatchesSeed(r.json, PUT_RESP, put_like=True)
        self.assertEqual(r.json['slug'], created['slug'], 'the slug is stable across updates')
        self.assertEqual(r.json['created_at'], created['created_at'])

        s1 = self.d.request('POST', '/v1/sites', {'name': 'site one'}).json['id']
        s2 = self.d.request('POST', '/v1/sites', {'name': 'site two'}).json['id']
        body = copy.deepcopy(ATTACH_BODY)
        body['sites'] = [s1, s2]
        r = self.d.request('POST', P + '/' + pid + '/sites', body)
        self.assertEqual(r.status, 200, r)
        self.assertPolicyMatchesSeed(r.json, dict(ATTACH_RESP, winbox=PUT_RESP['winbox']),
                                     put_like=True)
        self.assertEqual(r.json['sites'], [s1, s2])
        for s in (s1, s2):
            self.assertEqual(self.d.request('GET', '/v1/sites/' + s).json['policy_id'], pid)

        # The seed's curl example uses PUT on the attach endpoint: it is served too.
        r = self.d.request('PUT', P + '/' + pid + '/sites', {'sites': [s1]})
        self.assertEqual(r.status, 200, r)

        # Deleting the policy moves its sites to the default policy.
        default_id = self.d.request('GET', P).json[0]['id']
        r = self.d.request('DELETE', P + '/' + pid)
        self.assertEqual(r.status, 204, r)
        self.assertEqual(r.raw, b'')
        self.assertEqual(self.d.request('GET', P + '/' + pid).status, 404)
        for s in (s1, s2):
            self.assertEqual(self.d.request('GET', '/v1/sites/' + s).json['policy_id'],
                             default_id)
        r = self.d.request('GET', P + '/' + default_id)
        self.assertIn(s1, r.json['sites'])

    def test_3_default_policy_cannot_be_deleted(self):
        default_id = self.d.request('GET', P).json[0]['id']
        r = self.d.request('DELETE', P + '/' + default_id)
        self.assertError(r, 409, 'conflict_error', 'default_policy_protected')
        self.assertEqual(self.d.request('GET', P + '/' + default_id).status, 200)

    def test_4_aliases_serve_the_same_objects(self):
        r1 = self.d.request('GET', P)
        r2 = self.d.request('GET', '/control-plane/policies')
        self.assertEqual(r2.status, 200)
        self.assertEqual(r1.json, r2.json)
        pid = r1.json[0]['id']
        self.assertEqual(self.d.request('GET', '/control-plane/policies/' + pid).json['id'], pid)

    def test_5_slugs_are_unique(self):
        body = dict(CREATE_BODY, name='Same Name')
        slugs = {self.d.request('POST', P, body).json['slug'] for _ in range(5)}
        self.assertEqual(len(slugs), 5)

    def test_6_host_bits_and_bare_addresses(self):
        body = copy.deepcopy(CREATE_BODY)
        body['winbox']['networks'] = ['203.0.113.7', '2001:db8::/32', '10.0.0.0/8']
        r = self.d.request('POST', P, body)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json['winbox']['networks'],
                         ['203.0.113.7/32', '2001:db8::/32', '10.0.0.0/8'])
        body['winbox']['networks'] = ['10.0.0.1/8']
        r = self.d.request('POST', P, body)
        self.assertError(r, 400, 'invalid_request_error', 'invalid_cidr', 'winbox.networks[0]')
        self.assertIn('10.0.0.0/8', r.json['message'])


    def test_7_cached_answers_follow_every_write(self):
        # GETs of the list and of one policy are kept under the store's change version
        # (api/rcache.c): each write through the daemon shows in the very next GET of both.
        # One made behind the daemon's back (as another node would) shows in the next GET on
        # SQLite; on PostgreSQL once its notification reached the versions watcher
        # (store/pg_versions.c: normally a millisecond, at most 2 s): waited for, bounded.
        pid = self.d.request('POST', P, dict(CREATE_BODY, name='cached')).json['id']

        def seen():
            one = self.d.request('GET', P + '/' + pid)
            page = self.d.request('GET', P + '?limit=100')
            self.assertEqual((one.status, page.status), (200, 200))
            listed = [p for p in page.json if p['id'] == pid]
            self.assertEqual(len(listed), 1)
            return one.json, listed[0]

        for _ in range(3):  # repeated: the second and third are answered from the cache
            one, listed = seen()
            self.assertEqual((one['name'], listed['name']), ('cached', 'cached'))
        body = copy.deepcopy(CREATE_BODY)
        body['name'] = 'renamed'
        body['ssh']['port'] = 2201
        self.assertEqual(self.d.request('PUT', P + '/' + pid, body).status, 200)
        one, listed = seen()
        self.assertEqual((one['name'], listed['name']), ('renamed', 'renamed'))
        self.assertEqual((one['ssh']['port'], listed['ssh']['port']), (2201, 2201))
        def behind_its_back(sql, params, field, value):
            """sql run on the store directly; then both GETs show field == value."""
            self.d.db_execute(sql, params)
            shown = lambda: tuple(field(x) for x in seen()) == (value, value)
            self.assertTrue(shown() if tg.BACKEND == 'sqlite' else wait_for(shown, 3, 0.01),
                            (sql, seen()))

        behind_its_back('UPDATE policies SET name = ? WHERE id = ?', ('behind-its-back', pid),
                        lambda p: p['name'], 'behind-its-back')
        behind_its_back('UPDATE policy_services SET port = ? WHERE policy_id = ? AND '
                        'service = 1', (2202, pid), lambda p: p['ssh']['port'], 2202)
        # a site attached: the policy's "sites" (the object only)
        site = self.d.request('POST', '/v1/sites', {'name': 'cache-site'}).json['id']
        r = self.d.request('PUT', P + '/' + pid + '/sites', {'sites': [site]})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(seen()[0]['sites'], [site])
        self.assertEqual(self.d.request('DELETE', '/v1/sites/' + site).status, 204)
        self.assertEqual(seen()[0]['sites'], [])
        self.assertEqual(self.d.request('DELETE', P + '/' + pid).status, 204)
        self.assertEqual(self.d.request('GET', P + '/' + pid).status, 404)
        self.assertNotIn(pid, [p['id'] for p in self.d.request('GET', P + '?limit=100').json])

    def test_8_large_cached_answer_is_sent_whole(self):
        # A list answer of 16 kB or more is kept in a sealed memfd and a hit is sent from it
        # (api/rcache.c, http_response_file): the same bytes as the answer built, with the
        # right Content-Length, again and again on one keep-alive connection.
        made = [self.d.request('POST', P, dict(CREATE_BODY, name='big-%02d' % i)).json['id']
                for i in range(30)]
        first = self.d.request('GET', P + '?limit=100')
        self.assertEqual(first.status, 200)
        self.assertGreater(len(first.raw), 16 << 10, 'the list must be large enough')
        conn = self.d.connection()
        try:
            for _ in range(4):
                conn.request('GET', P + '?limit=100',
                             headers={'Authorization': 'Bearer ' + tg.ADMIN_KEY})
                r = conn.getresponse()
                body = r.read()
                self.assertEqual(r.status, 200)
                self.assertEqual(int(r.getheader('Content-Length')), len(body))
                self.assertEqual(body, first.raw)
                self.assertEqual(r.getheader('Content-Type'), 'application/json')
            conn.request('GET', P + '/' + made[0],  # the connection still serves others
                         headers={'Authorization': 'Bearer ' + tg.ADMIN_KEY})
            r = conn.getresponse()
            self.assertEqual((r.status, json.loads(r.read())['id']), (200, made[0]))
        finally:
            conn.close()
        ids = {p['id'] for p in json.loads(first.raw)}
        self.assertTrue(set(made) <= ids)
        for pid in made[:3]:
            self.assertEqual(self.d.request('DELETE', P + '/' + pid).status, 204)
        after = self.d.request('GET', P + '?limit=100').json
        self.assertEqual(len(after), len(ids) - 3)


if __name__ == '__main__':
    tg.main()
