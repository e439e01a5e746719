"""`tikgated migrate-to URL`: an installation moves from SQLite to PostgreSQL.

A daemon on SQLite gets a site (sealed bootstrap token and credential password), a job, an API
key and a transient access grant (sealed password); it stops, `tikgated migrate-to` copies the
store into a private PostgreSQL server (pgserver.py), and the daemon started on that database
serves the same objects with the same secrets and keeps working. Skips (77) without PostgreSQL.
"""
import json
import os
import subprocess
import sys
import unittest

import pgserver
import tg

tg.BACKEND = 'sqlite'  # the installation before the move, whatever TIKGATE_TEST_DATABASE says
TA_CREATE = tg.seed_json_blocks()[13]
ENV = {'TIKGATE_ALLOW_PRIVATE_SOURCES': '1', 'TIKGATE_EDGE_LISTEN': '127.0.0.1',
       'TIKGATE_ENTRY_POINT': 'edge.test', 'TIKGATE_EDGE_PORTS': '23000-23999'}


def migrate(d, url):
    env = dict(os.environ, TIKGATE_DATA_DIR=d.data_dir)
    env.pop('TIKGATE_DATABASE', None)  # the installation's own: the SQLite file
    return subprocess.run([tg.TIKGATED, 'migrate-to', url], env=env, capture_output=True,
                          timeout=60)


class MigrateToPostgres(unittest.TestCase):
    def snapshot(self, d, site, job, grant, key_id):
        cp = '/v1/control-plane/%s' % site
        out = {
            'site': d.request('GET', '/v1/sites/' + site).json,
            'creds': d.request('GET', cp + '/credentials').json,
            'job': d.request('GET', '/v1/sites/%s/jobs/%s' % (site, job)).json,
            'grant': d.request('GET', cp + '/transient-access/' + grant).json,
            'keys': [k for k in d.request('GET', '/v1/api-keys').json if k['id'] == key_id],
        }
        for g in (out['grant'],):
            g.pop('time_to_expire', None)  # "N minutes from now" moves on
        return out

    def test_move_and_serve(self):
        with pgserver.PgServer() as pg:
            url = pg.create_database('moved')
            d = tg.Daemon(env=ENV)
            d.start()
            try:
                r = d.request('POST', '/v1/sites', {'name': 'moved', 'tunnel_address': '127.0.0.3'})
                self.assertEqual(r.status, 201, r)
                site = r.json['id']
                r = d.request('POST', '/v1/sites/%s/jobs' % site,
                              {'description': 'say hi', 'script': ':log info "hi"',
                               'express_execute': False})
                self.assertEqual(r.status, 201, r)
                job = r.json['id']
                r = d.request('POST', '/v1/api-keys', {'name': 'viewer', 'scopes': ['cpf:view']})
                self.assertEqual(r.status, 201, r)
                key_id, key_secret = r.json['id'], r.json['secret']
                r = d.request('POST', '/v1/control-plane/%s/transient-access' % site,
                              dict(TA_CREATE, allow_only_cidr='127.0.0.1/32',
                                   expire_after_minutes=60))
                self.assertEqual(r.status, 201, r)
                grant, grant_password = r.json['id'], r.json['password']
                before = self.snapshot(d, site, job, grant, key_id)
                self.assertEqual(before['grant']['password'], grant_password)
                self.assertIsNotNone(before['site']['bootstrap_command'])
                self.assertEqual(d.stop(), 0)

                p = migrate(d, url)
                self.assertEqual(p.returncode, 0, p.stderr.decode())
                out = json.loads(p.stdout.decode().strip().splitlines()[-1])
                self.assertGreater(out['migrated_rows'], 8)
                self.assertIn(b'counts verified', p.stderr + p.stdout)
                # A second run finds the tables full and copies nothing.
                p = migrate(d, url)
                self.assertEqual(p.returncode, 1)
                self.assertIn(b'not empty', p.stderr)

                d.extra_env['TIKGATE_DATABASE'] = url
                d.start()
                self.assertIn('opened the postgres store', d.log())
                after = self.snapshot(d, site, job, grant, key_id)
                self.assertEqual(before, after)
                # The moved key still authenticates; new rows follow the copied ones.
                r = d.request('GET', '/v1/sites/' + site, auth=key_secret)
                self.assertEqual((r.status, r.json['code']), (403, 'missing_scope'), r)  # known
                r = d.request('GET', '/v1/sites/' + site, auth='tg_sk_' + 'x' * 38)
                self.assertEqual(r.status, 401, r)
                r = d.request('POST', '/v1/sites', {'name': 'after'})
                self.assertEqual(r.status, 201, r)
                names = [s['name'] for s in d.request('GET', '/v1/sites').json]
                self.assertEqual(names[-2:], ['moved', 'after'])
                r = d.request('POST', '/v1/control-plane/%s/transient-access' % site,
                              dict(TA_CREATE, allow_only_cidr='127.0.0.1/32'))
                self.assertEqual(r.status, 201, r)
                self.assertNotEqual(r.json['port'], before['grant']['port'])
            finally:
                d.cleanup()


if __name__ == '__main__':
    if not pgserver.pg_bin():
        print('no PostgreSQL installed: skipping', file=sys.stderr)
        sys.exit(77)
    tg.main()
