"""Integration-test harness: runs the real tikgated as a process on loopback.

Each Daemon gets a temporary data directory and a free port on 127.0.0.1,
is started with a known bootstrap API key, and is stopped (SIGTERM, then
SIGKILL after a bound) when the test ends. Only the standard library is used.

TIKGATE_TEST_DATABASE=postgres runs the daemons on PostgreSQL (DESIGN.md §11; meson test
--suite pg): one private server per test process (pgserver.py), one fresh database per data
directory, passed as TIKGATE_DATABASE (db_env()). Unset or "sqlite": the default SQLite file.
"""
import http.client
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
TIKGATED = os.environ.get('TIKGATED') or os.path.join(ROOT, 'build', 'src', 'daemon', 'tikgated')
# The seeds live in ../shared/seeds beside the checkout; a copy in tests/fixtures/seeds keeps
# the suite runnable without it.
_SEEDS = os.path.join(ROOT, '..', 'shared', 'seeds')
if not os.path.isdir(_SEEDS):
    _SEEDS = os.path.join(ROOT, 'tests', 'fixtures', 'seeds')
SEED_001 = os.path.join(_SEEDS, '001_ed0ea2bedcd8aaa6.txt')
ADMIN_KEY = 'tg_sk_integrationTestAdminKey0123456789abcd'
RFC3339 = re.compile(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$')
# A sanitizer report in a process's log (ASan/UBSan/LSan/TSan builds).
SANITIZER_REPORT = r'(ERROR: (Address|Leak)Sanitizer|WARNING: ThreadSanitizer|runtime error:).*'
# The fields of a policy object that its PUT takes (seed 001).
POLICY_FIELDS = ('name', 'winbox', 'ssh', 'http', 'https', 'telnet', 'ftp', 'api', 'api_ssl',
                 'trusted_networks', 'custom_input_rules')


def policy_body(pol):
    """A PUT body for policy object pol: its writable fields (change them, then PUT)."""
    return {k: pol[k] for k in POLICY_FIELDS}


UUID = re.compile(r'^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$')


BACKEND = os.environ.get('TIKGATE_TEST_DATABASE') or 'sqlite'
_pg = None
_pg_dbs = {}


def database_url(data_dir):
    """The TIKGATE_DATABASE for data_dir: None for the SQLite default, else its PG database."""
    global _pg
    if BACKEND == 'sqlite':
        return None
    if BACKEND != 'postgres':
        raise ValueError('TIKGATE_TEST_DATABASE must be sqlite or postgres, not %r' % BACKEND)
    key = os.path.realpath(data_dir)
    if key not in _pg_dbs:
        if _pg is None:
            import pgserver
            _pg = pgserver.PgServer().start()
        _pg_dbs[key] = _pg.create_database('tg_%d' % (len(_pg_dbs) + 1))
    return _pg_dbs[key]


def db_env(data_dir):
    """TIKGATE_DATA_DIR=data_dir and, on PostgreSQL, its TIKGATE_DATABASE."""
    env = {'TIKGATE_DATA_DIR': data_dir}
    url = database_url(data_dir)
    if url:
        env['TIKGATE_DATABASE'] = url
    return env


def free_port(host='127.0.0.1'):
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.raw = body
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None

    def __repr__(self):
        return 'Response(%d, %r)' % (self.status, self.raw[:300])


class Daemon:
    """A tikgated process. Use as a context manager or call start()/stop().

    tls=(cert, key, ca): serve HTTPS from the PEM files cert and key, and have request()
    verify the server against the PEM CA file ca (host name 127.0.0.1).
    """

    def __init__(self, data_dir=None, env=None, args=None, tls=None, wrapper=None):
        self._tmp = None
        self.wrapper = wrapper or []  # a command prefix (e.g. unshare ... --): runs tikgated
        if data_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix='tg-it-')
            data_dir = self._tmp.name
        self.data_dir = data_dir
        self.port = free_port()
        self.extra_env = env or {}
        self.args = args or []
        self.proc = None
        self.log_path = os.path.join(data_dir, 'tikgated.log')
        self.tls = tls
        self.scheme = 'https' if tls else 'http'
        if tls:
            self.extra_env = dict(self.extra_env)
            self.extra_env.setdefault('TIKGATE_TLS_CERT', tls[0])
            self.extra_env.setdefault('TIKGATE_TLS_KEY', tls[1])

    def ssl_context(self, cafile=None):
        """A client context trusting cafile (default: the CA given with tls)."""
        ctx = ssl.create_default_context(cafile=cafile or self.tls[2])
        return ctx

    def connection(self, timeout=10):
        if self.tls:
            return http.client.HTTPSConnection('127.0.0.1', self.port, timeout=timeout,
                                               context=self.ssl_context())
        return http.client.HTTPConnection('127.0.0.1', self.port, timeout=timeout)

    def start(self, timeout=10):
        env = dict(os.environ)
        env.update(db_env(self.data_dir))
        env.update({
            'TIKGATE_LISTEN': '127.0.0.1:%d' % self.port,
            'TIKGATE_BOOTSTRAP_TOKEN': ADMIN_KEY,
            'TIKGATE_MANAGEMENT_NETWORKS': '127.0.0.0/8',
            # Loopback tests never create a WireGuard interface (it would be the machine's own);
            # tests/integration/test_vpn_e2e.py runs the VPN in namespaces it creates.
            'TIKGATE_VPN': 'off',
            # Two relay loops whatever the machine's CPUs (the default is one per CPU): every
            # test of the edge runs against the multi-loop relay (SO_REUSEPORT listeners),
            # unless the environment asks for another count.
            'TIKGATE_EDGE_THREADS': os.environ.get('TIKGATE_EDGE_THREADS', '2'),
        })
        env.update(self.extra_env)
        env = {k: v for k, v in env.items() if v is not None}  # None: unset (e.g. no token)
        self._log = open(self.log_path, 'ab')
        self.proc = subprocess.Popen(self.wrapper + [TIKGATED] + self.args, env=env,
                                     stdout=self._log,
                                     stderr=subprocess.STDOUT)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError('tikgated exited with %d:\n%s' % (self.proc.returncode,
                                                                     self.log()))
            try:
                if self.request('GET', '/healthz', auth=None).status == 200:
                    return self
            except (OSError, http.client.HTTPException):
                pass
            time.sleep(0.05)
        raise RuntimeError('tikgated did not answer /healthz:\n' + self.log())

    def stop(self, sig=signal.SIGTERM, timeout=10):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode if self.proc else None
        if self.proc:
            self._log.close()
        self.proc = None
        # Under a sanitizer build (ASan/UBSan/LSan) any report fails the test.
        report = re.search(SANITIZER_REPORT, self._read_log())
        if report:
            raise AssertionError('sanitizer report in tikgated log:\n' + self._read_log()[-6000:])
        return rc

    def cleanup(self):
        self.stop()
        if self._tmp:
            self._tmp.cleanup()

    def _read_log(self):
        try:
            with open(self.log_path, 'rb') as f:
                return f.read().decode(errors='replace')
        except OSError:
            return ''

    _log_marks = 0

    def log(self):
        """The log so far. A running tikgated buffers info lines (a writer thread drains them,
        src/common/log.c): first one more request's access line is awaited (bounded), which is
        written after every line logged before it."""
        if self.proc and self.proc.poll() is None:
            Daemon._log_marks += 1
            mark = '/v1/.log-flush-%d-%d' % (os.getpid(), Daemon._log_marks)
            try:
                self.request('GET', mark, auth=None)
            except (OSError, http.client.HTTPException):
                return self._read_log()  # no HTTP (no api role, or stopping): as it is
            deadline = time.time() + 10
            while mark not in self._read_log() and time.time() < deadline:
                time.sleep(0.01)
        return self._read_log()

    def request(self, method, path, body=None, auth=ADMIN_KEY, headers=None, raw=None,
                content_type='application/json'):
        conn = self.connection()
        h = dict(headers or {})
        if auth:
            h['Authorization'] = 'Bearer ' + auth
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
        if data is not None and content_type:
            h['Content-Type'] = content_type
        conn.request(method, path, body=data, headers=h)
        r = conn.getresponse()
        out = Response(r.status, dict(r.getheaders()), r.read())
        conn.close()
        return out

    def db_dump(self, skip_table=None):
        """The store's rows as SQL text lines (sqlite3 iterdump / pg_dump --inserts), without
        the rows of skip_table (a table name or a tuple of them)."""
        skip = (skip_table,) if isinstance(skip_table, str) else tuple(skip_table or ())
        url = database_url(self.data_dir)
        if not url:
            import sqlite3
            db = sqlite3.connect(os.path.join(self.data_dir, 'tikgate.db'))
            rows = list(db.iterdump())
            db.close()
            markers = tuple('INSERT INTO "%s"' % t for t in skip)
        else:
            out = subprocess.run([os.path.join(_pg.bin, 'pg_dump'), '--data-only', '--inserts',
                                  url], check=True, capture_output=True, timeout=60).stdout
            # Rows and sequences only: pg_dump's \restrict lines carry a random key per run.
            rows = [r for r in out.decode().splitlines()
                    if r.startswith(('INSERT INTO ', 'SELECT pg_catalog.setval'))]
            markers = tuple('INSERT INTO public.%s ' % t for t in skip)
        return [r for r in rows if not (markers and r.startswith(markers))]

    def db_execute(self, sql, params=()):
        """Runs one statement (? placeholders) on the store behind the daemon's back (tests
        that recreate a state older code left): sqlite3, or psql with its variables."""
        url = database_url(self.data_dir)
        if not url:
            import sqlite3
            db = sqlite3.connect(os.path.join(self.data_dir, 'tikgate.db'), timeout=10)
            with db:
                db.execute(sql, params)
            db.close()
            return
        parts = sql.split('?')
        assert len(parts) == len(params) + 1, sql
        text = parts[0] + ''.join(":'p%d'%s" % (i, p) for i, p in enumerate(parts[1:]))
        args = [_pg.psql_path(), '-X', '-q', '-v', 'ON_ERROR_STOP=1']
        for i, v in enumerate(params):
            args += ['-v', 'p%d=%s' % (i, v)]
        subprocess.run(args + [url], input=(text + ';\n').encode(), check=True, timeout=60,
                       stdout=subprocess.DEVNULL)

    def db_query(self, sql, params=()):
        """The rows of one query (? placeholders) on the store, as tuples; on PostgreSQL
        (psql's unaligned output) integers come back as int like sqlite3's."""
        url = database_url(self.data_dir)
        if not url:
            import sqlite3
            db = sqlite3.connect(os.path.join(self.data_dir, 'tikgate.db'), timeout=10)
            rows = db.execute(sql, params).fetchall()
            db.close()
            return rows
        parts = sql.split('?')
        assert len(parts) == len(params) + 1, sql
        text = parts[0] + ''.join(":'p%d'%s" % (i, p) for i, p in enumerate(parts[1:]))
        args = [_pg.psql_path(), '-X', '-q', '-A', '-t', '-F', '\x1f', '-v', 'ON_ERROR_STOP=1']
        for i, v in enumerate(params):
            args += ['-v', 'p%d=%s' % (i, v)]
        out = subprocess.run(args + [url], input=(text + ';\n').encode(), check=True,
                             timeout=60, capture_output=True).stdout.decode()
        conv = lambda v: int(v) if v.lstrip('-').isdigit() else (None if v == '' else v)
        return [tuple(conv(v) for v in line.split('\x1f')) for line in out.splitlines()]

    def tenant_create(self, name):
        """A second tenant via `tikgated tenant-create`; returns (tenant_id, api_key)."""
        env = dict(os.environ)
        env.update(db_env(self.data_dir))
        out = subprocess.run([TIKGATED, 'tenant-create', name], env=env, check=True,
                             capture_output=True, timeout=30).stdout
        v = json.loads(out.decode().strip().splitlines()[-1])
        return v['tenant_id'], v['api_key']


class DaemonTest(unittest.TestCase):
    """Starts one daemon per test class."""
    daemon_env = None

    @classmethod
    def setUpClass(cls):
        cls.d = Daemon(env=cls.daemon_env)
        # A subclass's setUpClass that fails after this one (a port in use) skips
        # tearDownClass: the class cleanup still stops the daemon (cleanup is idempotent).
        cls.addClassCleanup(cls.d.cleanup)
        cls.d.start()

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()

    def assertError(self, r, status, type_, code=None, param=None):
        self.assertEqual(r.status, status, r)
        self.assertIsInstance(r.json, dict, r)
        self.assertEqual(r.json.get('type'), type_, r)
        for k in ('type', 'code', 'message', 'doc_url'):
            self.assertIn(k, r.json, r)
        if code:
            self.assertEqual(r.json['code'], code, r)
        if param:
            self.assertEqual(r.json.get('param'), param, r)
        self.assertEqual(r.json['doc_url'], '/docs/errors#' + r.json['code'])


def seed_json_blocks(path=SEED_001):
    """Every JSON value embedded in a seed page, in order (curl -d bodies and responses)."""
    text = open(path, encoding='utf-8').read()
    blocks, dec, i = [], json.JSONDecoder(), 0
    while i < len(text):
        if text[i] in '[{':
            try:
                v, end = dec.raw_decode(text, i)
                if isinstance(v, (dict, list)) and v:
                    blocks.append(v)
                    i = end
                    continue
            except ValueError:
                pass
        i += 1
    return blocks


def main():
    unittest.main(verbosity=2)
