#!/usr/bin/env python3
"""bench/claims.py - issue 11: claims without a leader. Run through bench/claims.sh.

1. Claims: bench/claim_bench on a private PostgreSQL, CLAIM_SITES sites with one due express
   job each, claimed by two nodes: "batch" (one claimer per node, a batch for its 4 workers,
   as tikgated) against "single" (4 workers per node, one job per transaction: the claim before
   issue 11) in the same run.
2. Expiry with two schedulers: two tikgated (TIKGATE_ROLES=api,scheduler and scheduler) on one
   PostgreSQL database; N forwards inserted with psql, expires_at uniform over now+LEAD ..
   now+LEAD+DUR s; lateness = the teardown job's 'created' event - expires_at. Torn down twice
   = teardown jobs that no grant names (must be 0; grants of a batch share jobs).
3. Drain: DRAIN grants already expired when tikgated starts, on SQLite (one node) and on
   PostgreSQL (two nodes started together); drain time = the last teardown job's creation -
   the start of the processes (and first to last teardown). Meanwhile GET /v1/sites/{id} every
   20 ms on an API node: p50/p99/max. Targets: drain <= 5 s, API p99 <= 20 ms.
Standard library only (plus tests/integration/pgserver.py); stops everything it started.
"""
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from benchstats import pct  # noqa: E402 (bench/, beside this script)

import benchhttp  # noqa: E402 (bench/, beside this script)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
BUILD = os.environ.get('BUILD') or os.path.join(ROOT, 'build-bench')
TIKGATED = os.path.join(BUILD, 'src', 'daemon', 'tikgated')
CLAIM_BENCH = os.path.join(BUILD, 'bench', 'claim_bench')
N = int(os.environ.get('N', '100000'))
DUR = float(os.environ.get('DUR', '60'))
LEAD = float(os.environ.get('LEAD', '20'))  # > the insert's time (10 s for 100 000 here)
GRACE = float(os.environ.get('GRACE', '30'))
DRAIN = int(os.environ.get('DRAIN', '100000'))
CLAIM_SITES = int(os.environ.get('CLAIM_SITES', '2000'))
PARTS = os.environ.get('PARTS', 'claims,expiry,drain').split(',')
ENTRY_POINTS = 4
KEY = 'tg_sk_benchClaims0123456789abcdefghijklmn'
sys.path.insert(0, os.path.join(ROOT, 'tests', 'integration'))
import pgserver  # noqa: E402


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class Daemon:
    def __init__(self, data_dir, name, roles, database=None):
        self.data_dir, self.name, self.roles, self.database = data_dir, name, roles, database
        self.port = free_port()
        self.proc = None

    def spawn(self):
        env = dict(os.environ)
        env.update({'TIKGATE_DATA_DIR': self.data_dir, 'TIKGATE_LISTEN': '127.0.0.1:%d' % self.port,
                    'TIKGATE_BOOTSTRAP_TOKEN': KEY, 'TIKGATE_MANAGEMENT_NETWORKS': '127.0.0.0/8',
                    'TIKGATE_ROLES': self.roles,
                    'TIKGATE_LOG_LEVEL': os.environ.get('BENCH_LOG_LEVEL', 'warn'),
                    'TIKGATE_NODE_NAME': self.name, 'TIKGATE_VPN': 'off'})
        if self.database:
            env['TIKGATE_DATABASE'] = self.database
        log = open(os.path.join(self.data_dir, 'tikgated-%s.log' % self.name), 'ab')
        self.proc = subprocess.Popen([TIKGATED], env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        return self

    def wait(self):
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError('tikgated %s exited with %d' % (self.name, self.proc.returncode))
            if 'api' not in self.roles.split(','):
                time.sleep(0.5)
                return self
            try:
                if self.request('GET', '/healthz')[0] == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError('tikgated %s did not start' % self.name)

    def start(self):
        return self.spawn().wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def request(self, method, path, body=None, timeout=10):
        return benchhttp.request(self.port, KEY, method, path, body, timeout)


class Probe:
    """GET /v1/sites/{id} every 20 ms on d until stopped: latencies in ms."""

    def __init__(self, d, site):
        self.ms, self.errors, self.stop_ev = [], 0, threading.Event()
        self.t = threading.Thread(target=self.run, args=(d, site), daemon=True)
        self.t.start()

    def run(self, d, site):
        while not self.stop_ev.is_set():
            t = time.perf_counter()
            try:
                if d.request('GET', '/v1/sites/' + site)[0] == 200:
                    self.ms.append((time.perf_counter() - t) * 1000)
                else:
                    self.errors += 1
            except OSError:
                self.errors += 1
            self.stop_ev.wait(0.02)

    def stop(self):
        self.stop_ev.set()
        self.t.join(15)
        v = sorted(self.ms)
        return 'API GET /v1/sites/{id}: %d requests, p50 %.1f ms, p99 %.1f ms, max %.1f ms, ' \
               '%d errors' % (len(v), pct(v, 50), pct(v, 99), v[-1] if v else float('nan'),
                             self.errors), pct(v, 99)


class Pg:
    def __init__(self):
        self.srv = pgserver.PgServer().start()

    def db(self, name):
        self.srv.create_database(name)
        if os.environ.get('PGLOG'):  # slow statements into the server's log (shown at the end)
            self.sql(name, 'ALTER DATABASE %s SET log_min_duration_statement = %s' %
                     (name, os.environ['PGLOG']))
        return name, self.srv.url(name)

    def sql(self, db, text):
        out = subprocess.run(self.srv.psql_args(db) + ['-A', '-t', '-F', ',', '-c', text],
                             check=True, capture_output=True, timeout=600).stdout.decode()
        return [line.split(',') for line in out.splitlines() if line]


def grants_sql(site, now_ms, count, lo_ms, spread_ms):
    """INSERT of count forwards on site, expires_at uniform over now+lo .. now+lo+spread."""
    return ("INSERT INTO grants(id, site_id, kind, entry_point, port, dst_address, dst_port, "
            "allow_only_cidr, created_at, expires_at_ms, created_by) SELECT "
            "gen_random_uuid()::text, '%s', 'forward', 'bench-ep-' || (i %% %d), "
            "1024 + i / %d, '192.168.88.2', 22, '203.0.113.0/24', %d, "
            "%d + %d + floor(random() * %d)::bigint, 'bench' FROM generate_series(0, %d) AS i"
            % (site, ENTRY_POINTS, ENTRY_POINTS, now_ms // 1000, now_ms, lo_ms,
               max(1, spread_ms), count - 1))


RESULT_SQL = ("SELECT g.expires_at_ms, (SELECT min(e.at_ms) FROM job_events e WHERE e.job_id = "
              "g.teardown_job_id AND e.kind = 'created'), coalesce(g.teardown_owner, '') "
              "FROM grants g WHERE g.site_id = '%s'")


def two_nodes(pg, tmp, dbname, url, prefix):
    """Two nodes on url sharing one master key: a (api,scheduler) and b (scheduler)."""
    da, db_ = os.path.join(tmp, prefix + '-a'), os.path.join(tmp, prefix + '-b')
    os.makedirs(da, 0o700)
    os.makedirs(db_, 0o700)
    a = Daemon(da, prefix + '-a', 'api,scheduler', url)
    b = Daemon(db_, prefix + '-b', 'scheduler', url)
    return a, b


def site_of(d):
    st, site = d.request('POST', '/v1/sites', {'name': 'bench-claims'})
    assert st == 201, (st, site)
    return site['id']


def claims(pg, tmp):
    print('1. push-job claims, two nodes on PostgreSQL, %d sites with one due job each:' %
          CLAIM_SITES)
    for mode in ('batch', 'single'):
        name, url = pg.db('claims_' + mode)
        d = os.path.join(tmp, 'claims-' + mode)
        os.makedirs(d, 0o700)
        out = subprocess.run([CLAIM_BENCH, url, d, str(CLAIM_SITES), '2', '4', mode],
                             capture_output=True, timeout=600)
        line = out.stdout.decode().strip().splitlines()
        r = json.loads(line[-1]) if line else {}
        print('    %-6s %s: %s claims/s (%s jobs in %s s, %s claim transactions, %s errors)' %
              (mode, 'one claimer per node, batches of 4' if mode == 'batch' else
               '4 workers per node, one job per transaction', r.get('claims_per_s'),
               r.get('jobs'), r.get('seconds'), r.get('claim_calls'), r.get('errors')))


def expiry(pg, tmp):
    print('2. expiry lateness, %d grants over %g s, two scheduler nodes on PostgreSQL:' % (N, DUR))
    name, url = pg.db('expiry')
    a, b = two_nodes(pg, tmp, name, url, 'exp')
    try:
        a.start()
        shutil.copy(os.path.join(a.data_dir, 'master.key'), b.data_dir)
        b.start()
        site = site_of(a)
        now_ms = int(time.time() * 1000)
        t0 = time.time()
        pg.sql(name, grants_sql(site, now_ms, N, int(LEAD * 1000), int(DUR * 1000)))
        print('    %d grants inserted in %.1f s; expiries over now+%g .. now+%g s' %
              (N, time.time() - t0, LEAD, LEAD + DUR))
        probe = Probe(a, site)
        deadline = now_ms / 1000 + LEAD + DUR + GRACE
        while time.time() < deadline:
            if pg.sql(name, "SELECT EXISTS (SELECT 1 FROM grants WHERE torn_down_at IS NULL)")[0][0] \
                    == 'f':
                break
            time.sleep(2)
        api, _ = probe.stop()
        rows = pg.sql(name, RESULT_SQL % site)
        # a grant's removal shares its job with up to 63 others of the batch: a grant torn down
        # twice shows as a job that no grant names (its grant's teardown_job_id is the other)
        jobs = int(pg.sql(name, "SELECT count(*) FROM jobs j WHERE j.site_id = '%s' AND NOT "
                                "EXISTS (SELECT 1 FROM grants g WHERE g.teardown_job_id = j.id)"
                          % site)[0][0])
    finally:
        a.stop()
        b.stop()
    late = sorted(int(c) - int(e) for e, c, _ in rows if c)
    by = {}
    for _, c, o in rows:
        if c:
            by[o] = by.get(o, 0) + 1
    print('    torn down %d of %d; lateness p50 %.0f ms, p99 %.0f ms, max %.0f ms; torn down '
          'twice: %d; by node: %s' % (len(late), N, pct(late, 50), pct(late, 99),
                                      late[-1] if late else float('nan'), jobs, by))
    print('    ' + api)


def drain_wait(count_live, start, timeout):
    """Polls (cheaply: the drain time comes from the rows' timestamps, not from here)."""
    while time.time() < start + timeout:
        if count_live() == 0:
            return True
        time.sleep(0.5)
    return False


def drain_sqlite(tmp):
    d = Daemon(os.path.join(tmp, 'drain-sqlite'), 'drain-sqlite', 'api,scheduler')
    os.makedirs(d.data_dir, 0o700)
    try:
        d.start()
        site = site_of(d)
        d.stop()
        db = os.path.join(d.data_dir, 'tikgate.db')
        con = sqlite3.connect(db)
        now_ms = int(time.time() * 1000)
        rows = [(str(uuid.uuid4()), site, 'forward', 'bench-ep-%d' % (i % ENTRY_POINTS),
                 1024 + i // ENTRY_POINTS, '192.168.88.2', 22, '203.0.113.0/24', now_ms // 1000,
                 now_ms - 1000 - i % 5000) for i in range(DRAIN)]
        with con:
            con.executemany('INSERT INTO grants(id, site_id, kind, entry_point, port, dst_address, '
                            'dst_port, allow_only_cidr, created_at, expires_at_ms, created_by) '
                            "VALUES (?,?,?,?,?,?,?,?,?,?,'bench')", rows)
        con.close()
        start = time.time()
        d.start()
        probe = Probe(d, site)
        ro = sqlite3.connect('file:%s?mode=ro' % db, uri=True, timeout=10)

        def live():
            try:
                return ro.execute('SELECT EXISTS (SELECT 1 FROM grants WHERE torn_down_at IS '
                                  'NULL)').fetchone()[0]
            except sqlite3.OperationalError:
                return -1
        drain_wait(live, start, 120)
        api, p99 = probe.stop()
        res = ro.execute("SELECT min(e.at_ms), max(e.at_ms), count(*) FROM grants g JOIN "
                         "job_events e ON e.job_id = g.teardown_job_id AND e.kind = 'created'")\
            .fetchone()
        ro.close()
    finally:
        d.stop()
    report('SQLite, one node', start, res, api)


def drain_pg(pg, tmp):
    name, url = pg.db('drain')
    a, b = two_nodes(pg, tmp, name, url, 'drain')
    try:
        a.start()
        shutil.copy(os.path.join(a.data_dir, 'master.key'), b.data_dir)
        site = site_of(a)
        a.stop()
        now_ms = int(time.time() * 1000)
        pg.sql(name, grants_sql(site, now_ms, DRAIN, -6000, 5000))
        # the statistics an installation has: its grants came through the API over time and
        # autovacuum analysed them; a bulk load that starts the nodes at once would leave the
        # planner on an empty table's (tikgate migrate runs ANALYZE for the same reason)
        pg.sql(name, 'ANALYZE grants')
        start = time.time()
        a.spawn()
        b.spawn()
        a.wait()
        b.wait()
        probe = Probe(a, site)
        drain_wait(lambda: pg.sql(name, 'SELECT EXISTS (SELECT 1 FROM grants WHERE torn_down_at '
                                        'IS NULL)')[0][0] == 't', start, 120)
        api, p99 = probe.stop()
        r = pg.sql(name, "SELECT min(e.at_ms), max(e.at_ms), count(*) FROM grants g JOIN "
                         "job_events e ON e.job_id = g.teardown_job_id AND e.kind = 'created'")[0]
        res = tuple(int(x) if x else None for x in r)
    finally:
        a.stop()
        b.stop()
    report('PostgreSQL, two nodes', start, res, api)


def report(what, start, res, api):
    first, last, n = res
    if not n:
        print('    %s: nothing torn down' % what)
        return
    print('    %s: %d of %d torn down; drain %.2f s from the start of tikgated (first to last '
          'teardown %.2f s)' % (what, n, DRAIN, last / 1000 - start, (last - first) / 1000))
    print('        ' + api)


def main():
    for exe in (TIKGATED, CLAIM_BENCH):
        if not os.access(exe, os.X_OK):
            sys.exit('missing %s' % exe)
    t_begin = time.time()
    print('tikgate claims benchmark: %d CPUs, kernel %s, load average before: %s' %
          (os.cpu_count(), os.uname().release, ' '.join(open('/proc/loadavg').read().split()[:3])))
    tmp = tempfile.mkdtemp(prefix='tg-bench-claims-')
    pg = Pg()
    try:
        if 'claims' in PARTS:
            claims(pg, tmp)
        if 'expiry' in PARTS:
            expiry(pg, tmp)
        if 'drain' in PARTS:
            print('3. drain of %d grants already expired at start:' % DRAIN)
            drain_sqlite(tmp)
            drain_pg(pg, tmp)
    finally:
        if os.environ.get('PGLOG'):
            print(pg.srv.server_log())
        pg.srv.stop()
        if not os.environ.get('KEEP'):
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print('kept ' + tmp)
    print('load average after: %s; elapsed %.0f s' %
          (' '.join(open('/proc/loadavg').read().split()[:3]), time.time() - t_begin))


if __name__ == '__main__':
    main()
