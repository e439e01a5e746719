#!/usr/bin/env python3
"""Storage faults are named, change nothing, and heal without a restart (issue 14, item 5).

- A full disk: tikgated runs with its data directory on a 4 MiB tmpfs mounted in a private
  mount namespace of its own (`unshare --mount`: the machine's mounts are untouched, and the
  mount goes away with the process). The test fills that filesystem through
  /proc/<pid>/root, then writes answer 507 `storage_full` (never 500), reads and /healthz keep
  answering, the metric counts it, and once the filler is removed writes work again.
- A held write lock: another process holds `BEGIN IMMEDIATE` on the SQLite file; a write
  answers 503 `storage_busy` with Retry-After after the busy timeout, a read still answers,
  and writes work again when the lock is released.

Needs root for the mount namespace; skips (77) where `unshare --mount` is not possible.
"""
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tg  # noqa: E402

TMPFS_SIZE = '4m'


def can_unshare_mount():
    if os.geteuid() != 0 or not shutil.which('unshare'):
        return False
    return subprocess.run(['unshare', '--mount', 'true'], capture_output=True).returncode == 0


class FullDisk(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix='tg-full-')
        cls.data = os.path.join(cls.tmp.name, 'data')
        os.mkdir(cls.data, 0o700)
        wrapper = ['unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c',
                   'mount -t tmpfs -o size=%s,mode=0700 tmpfs "$0" && exec "$@"' % TMPFS_SIZE,
                   cls.data]
        # the log lives outside the tmpfs (tg opens it before the mount hides the directory)
        cls.d = tg.Daemon(data_dir=cls.data, wrapper=wrapper).start()
        cls.root = '/proc/%d/root%s' % (cls.d.proc.pid, cls.data)

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()
        cls.tmp.cleanup()

    def fill(self):
        """Writes a file into the daemon's tmpfs until the filesystem is full."""
        path = os.path.join(self.root, 'filler')
        chunk = b'\0' * 65536
        with open(path, 'wb') as f:
            try:
                while True:
                    f.write(chunk)
                    f.flush()
            except OSError:
                pass
        # the last partial block too
        try:
            with open(path, 'ab') as f:
                while True:
                    f.write(b'\0')
                    f.flush()
        except OSError:
            pass
        return path

    def test_full_disk_is_named_and_heals(self):
        self.assertTrue(os.path.isdir(self.root), self.root)
        r = self.d.request('POST', '/v1/sites', {'name': 'before'})
        self.assertEqual(r.status, 201, r)
        before = r.json['id']
        filler = self.fill()
        created, full = 0, None
        # WAL space already allocated may take a few writes: keep writing until one fails
        for i in range(300):
            r = self.d.request('POST', '/v1/sites', {'name': 'full-%d' % i})
            if r.status == 201:
                created += 1
                continue
            full = r
            break
        self.assertIsNotNone(full, 'no write failed on a full disk')
        self.assertError(full, 507, 'api_error', 'storage_full')
        self.assertIn('full', full.json['message'])
        # a write of another kind (an update of an existing site) fails the same way
        pol = self.d.request('GET', '/v1/control-plane/policies').json[0]
        r = self.d.request('PATCH', '/v1/sites/' + before, {'name': 'renamed'})
        self.assertError(r, 507, 'api_error', 'storage_full')
        self.assertEqual(self.d.request('GET', '/v1/sites/' + before).json['name'], 'before')
        # reads and health keep working
        self.assertEqual(self.d.request('GET', '/healthz', auth=None).status, 200)
        sites = self.d.request('GET', '/v1/sites')
        self.assertEqual(sites.status, 200, sites)
        names = {s['name'] for s in sites.json}
        self.assertNotIn('full-%d' % created, names)  # the refused write changed nothing
        self.assertEqual(len([n for n in names if n.startswith('full-')]), created)
        self.assertEqual(self.d.request('GET', '/v1/control-plane/policies/' + pol['id']).status,
                         200)
        m = self.d.request('GET', '/metrics')
        self.assertEqual(m.status, 200, m)
        line = [x for x in m.raw.decode().splitlines()
                if x.startswith('tikgate_storage_errors_total{kind="full"}')]
        self.assertTrue(line and int(line[0].split()[-1]) >= 1, line)
        self.assertIn('storage error', self.d.log())
        # space returns: writes work again, no restart
        os.unlink(filler)
        r = self.d.request('POST', '/v1/sites', {'name': 'after'})
        self.assertEqual(r.status, 201, r)
        self.assertIsNone(self.d.proc.poll())

    assertError = tg.DaemonTest.assertError


class HeldWriteLock(tg.DaemonTest):
    def test_write_lock_held_elsewhere(self):
        self.assertEqual(self.d.request('POST', '/v1/sites', {'name': 'a'}).status, 201)
        db = sqlite3.connect(os.path.join(self.d.data_dir, 'tikgate.db'), timeout=1,
                             isolation_level=None)
        db.execute('BEGIN IMMEDIATE')
        try:
            got = {}

            def write():
                got['w'] = self.d.request('POST', '/v1/sites', {'name': 'b'})
            t = threading.Thread(target=write)
            t.start()
            # a read while the writer waits for the lock
            r = self.d.request('GET', '/v1/sites')
            self.assertEqual(r.status, 200, r)
            self.assertEqual(self.d.request('GET', '/healthz', auth=None).status, 200)
            t.join(30)
            w = got['w']
            self.assertError(w, 503, 'api_error', 'storage_busy')
            self.assertEqual(w.headers.get('Retry-After'), '1', w.headers)
            # its audit entry is logged rather than written into the locked store (test_audit)
            self.assertIn('request %s: POST /v1/sites ' % w.headers['X-Request-Id'], self.d.log())
        finally:
            db.execute('ROLLBACK')
            db.close()
        self.assertEqual(self.d.request('POST', '/v1/sites', {'name': 'b'}).status, 201)
        names = [s['name'] for s in self.d.request('GET', '/v1/sites').json]
        self.assertEqual(sorted(names), ['a', 'b'])


if __name__ == '__main__':
    if not can_unshare_mount():
        print('skip: needs root and unshare --mount for the full-disk case')
        del FullDisk
    unittest.main(verbosity=2)
