#!/usr/bin/env python3
"""bench/expiry.py - issue 4b: expiry precision of the scheduler with 100 000 active grants.

Run through bench/expiry.sh. The edge cannot hold 100 000 listeners under this machine's
open-files limit (and one entry point has at most 65 535 ports), so the grants are measured where
the scheduler sees them, in the store:

1. tikgated (TIKGATE_ROLES=api,scheduler: no edge, no dispatcher) creates the tenant and a site
   through the API, then is stopped.
2. GRANTS rows are inserted into its SQLite file with python's sqlite3 (schema of
   src/store/migrations/0003_grants.sql): half transient access (password_sealed is random hex:
   only the teardown path reads grants, and it does not need the password), half forwards, spread
   over ENTRY_POINTS entry points so (entry_point, port) stays unique among live grants;
   expires_at_ms uniform over now+LEAD .. now+LEAD+SPREAD seconds.
3. tikgated is started again (same roles) and its scheduler tears the grants down as they expire.
   Meanwhile a probe measures `GET /v1/sites/{id}` latency every 100 ms (the API must not stall).
4. Once every grant is torn down (or the deadline passes) tikgated is stopped and, for each grant,
   lateness = at_ms of the 'created' event of its teardown job (grants.teardown_job_id) -
   expires_at_ms. Prints p50, p99, max lateness and how many were torn down.
Standard library only; stops everything it started.
"""
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import benchhttp  # bench/, beside this script
from benchstats import pct  # noqa: E402 (bench/, beside this script)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
BUILD = os.environ.get('BUILD') or os.path.join(ROOT, 'build-bench')
TIKGATED = os.path.join(BUILD, 'src', 'daemon', 'tikgated')
GRANTS = int(os.environ.get('GRANTS', '100000'))
LEAD = float(os.environ.get('LEAD', '15'))        # first expiry, seconds after the insert
SPREAD = float(os.environ.get('SPREAD', '60'))    # expiries uniform over this many seconds
GRACE = float(os.environ.get('GRACE', '60'))      # wait at most this long after the last one
ENTRY_POINTS = int(os.environ.get('ENTRY_POINTS', '4'))
KEY = 'tg_sk_benchExpiry0123456789abcdefghijklm'


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class Daemon:
    def __init__(self, data_dir):
        self.data_dir = data_dir
        self.port = free_port()
        self.proc = None

    def start(self):
        env = dict(os.environ)
        env.update({'TIKGATE_DATA_DIR': self.data_dir, 'TIKGATE_LISTEN': '127.0.0.1:%d' % self.port,
                    'TIKGATE_BOOTSTRAP_TOKEN': KEY, 'TIKGATE_MANAGEMENT_NETWORKS': '127.0.0.0/8',
                    'TIKGATE_ROLES': 'api,scheduler', 'TIKGATE_LOG_LEVEL': 'warn'})
        log = open(os.path.join(self.data_dir, 'tikgated.log'), 'ab')
        self.proc = subprocess.Popen([TIKGATED], env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError('tikgated exited with %d' % self.proc.returncode)
            try:
                if self.request('GET', '/healthz')[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError('tikgated did not start')

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def request(self, method, path, body=None, timeout=10):
        return benchhttp.request(self.port, KEY, method, path, body, timeout)


def main():
    if not os.access(TIKGATED, os.X_OK):
        sys.exit('missing %s' % TIKGATED)
    t_begin = time.time()
    tmp = tempfile.TemporaryDirectory(prefix='tg-bench-expiry-')
    d = Daemon(tmp.name)
    try:
        print('tikgated expiry benchmark: %d CPUs, kernel %s, load average before: %s' %
              (os.cpu_count(), os.uname().release, ' '.join(open('/proc/loadavg').read().split()[:3])))
        d.start()
        st, site = d.request('POST', '/v1/sites', {'name': 'bench-expiry'})
        assert st == 201, (st, site)
        d.stop()

        db = os.path.join(tmp.name, 'tikgate.db')
        con = sqlite3.connect(db)
        now_ms = int(time.time() * 1000)
        per_ep = (GRANTS + ENTRY_POINTS - 1) // ENTRY_POINTS
        assert per_ep <= 64000, 'raise ENTRY_POINTS'
        rows = []
        for i in range(GRANTS):
            ep, port = 'bench-ep-%d.example' % (i % ENTRY_POINTS), 1024 + i // ENTRY_POINTS
            exp = now_ms + int((LEAD + random.random() * SPREAD) * 1000)
            gid = str(uuid.uuid4())
            if i % 2 == 0:
                rows.append((gid, site['id'], 'access', ep, port, 'u%023d' % i,
                             os.urandom(40).hex(), 'winbox', None, None, '203.0.113.7/32',
                             now_ms // 1000, exp))
            else:
                rows.append((gid, site['id'], 'forward', ep, port, None, None, None,
                             '192.168.88.%d' % (2 + i % 250), 22, '203.0.113.0/24',
                             now_ms // 1000, exp))
        t0 = time.time()
        with con:
            con.executemany(
                'INSERT INTO grants(id, site_id, kind, entry_point, port, username, '
                'password_sealed, access_type, dst_address, dst_port, allow_only_cidr, '
                'created_at, expires_at_ms, created_by) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,\'bench\')',
                rows)
        con.close()
        del rows
        print('%d grants inserted in %.1f s (%d entry points); expiries uniform over now+%g s .. '
              'now+%g s' % (GRANTS, time.time() - t0, ENTRY_POINTS, LEAD, LEAD + SPREAD))

        d.start()
        started = time.time() * 1000 - now_ms
        print('tikgated restarted %.1f s after the insert (roles api,scheduler)' % (started / 1000))

        # Probe: API latency while the scheduler works.
        probe_ms, probe_err, stop_probe = [], [0], threading.Event()

        def probe():
            while not stop_probe.is_set():
                t = time.perf_counter()
                try:
                    ok = d.request('GET', '/v1/sites/' + site['id'], timeout=10)[0] == 200
                    if ok:
                        probe_ms.append((time.perf_counter() - t) * 1000)
                    else:
                        probe_err[0] += 1
                except OSError:
                    probe_err[0] += 1
                stop_probe.wait(0.1)
        th = threading.Thread(target=probe, daemon=True)
        th.start()

        ro = sqlite3.connect('file:%s?mode=ro' % db, uri=True, timeout=10)
        last_exp = now_ms + int((LEAD + SPREAD) * 1000)
        deadline_ms = last_exp + int(GRACE * 1000)
        live = GRANTS
        next_print = 0
        while time.time() * 1000 < deadline_ms:
            try:
                live = ro.execute('SELECT count(*) FROM grants WHERE torn_down_at IS NULL').fetchone()[0]
            except sqlite3.OperationalError:
                pass
            if live == 0:
                break
            if time.time() >= next_print:
                due = ro.execute('SELECT count(*) FROM grants WHERE torn_down_at IS NULL AND '
                                 'expires_at_ms <= ?', (int(time.time() * 1000),)).fetchone()[0]
                print('    t=%5.1f s  live %6d  overdue %6d' %
                      ((time.time() * 1000 - now_ms) / 1000, live, due))
                next_print = time.time() + 10
            time.sleep(0.5)
        ro.close()
        stop_probe.set()
        th.join(15)
        cpu = None
        try:
            with open('/proc/%d/stat' % d.proc.pid) as f:
                fields = f.read().rsplit(')', 1)[1].split()
            cpu = (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')
        except (OSError, IndexError, ValueError):
            pass
        d.stop()

        con = sqlite3.connect(db)
        res = con.execute(
            "SELECT g.expires_at_ms, (SELECT min(e.at_ms) FROM job_events e WHERE "
            "e.job_id = g.teardown_job_id AND e.kind = 'created') FROM grants g").fetchall()
        con.close()
        late = sorted(c - e for e, c in res if c is not None)
        torn = len(late)
        print()
        print('lateness of teardown (teardown job created - expires_at), %d of %d grants torn '
              'down:' % (torn, GRANTS))
        if late:
            print('    p50 %7.0f ms   p90 %7.0f ms   p99 %7.0f ms   max %7.0f ms   min %5.0f ms' %
                  (pct(late, 50), pct(late, 90), pct(late, 99), late[-1], late[0]))
            over = sum(1 for x in late if x > 1000)
            print('    later than 1 s: %d (%.1f %%); early (< 0): %d' %
                  (over, 100.0 * over / torn, sum(1 for x in late if x < 0)))
            # Lateness over time: by 10 s buckets of expires_at.
            buckets = {}
            for e, c in res:
                if c is not None:
                    buckets.setdefault(int((e - now_ms) / 10000), []).append(c - e)
            for b in sorted(buckets):
                v = sorted(buckets[b])
                print('    expiring at +%3d..%3d s: %6d grants, p50 %6.0f  p99 %6.0f  max %6.0f ms'
                      % (b * 10, b * 10 + 10, len(v), pct(v, 50), pct(v, 99), v[-1]))
            span = (max(c for _, c in res if c is not None) -
                    min(c for _, c in res if c is not None)) / 1000.0
            print('    teardown rate: %d grants in %.1f s = %.0f/s (needed: %.0f/s); tikgated CPU '
                  'time %s s' % (torn, span, torn / span if span else 0, GRANTS / SPREAD,
                                 '%.1f' % cpu if cpu is not None else '?'))
        probe_ms.sort()
        print('API GET /v1/sites/{id} during the run: %d requests, p50 %.1f ms, p99 %.1f ms, '
              'max %.1f ms, %d errors' % (len(probe_ms), pct(probe_ms, 50), pct(probe_ms, 99),
                                          probe_ms[-1] if probe_ms else float('nan'),
                                          probe_err[0]))
        ok = late and torn == GRANTS and pct(late, 99) <= 1000
        print('target p99 <= 1 s with every grant torn down: %s' % ('met' if ok else 'NOT met'))
        print('load average after: %s; elapsed %.0f s' %
              (' '.join(open('/proc/loadavg').read().split()[:3]), time.time() - t_begin))
    finally:
        d.stop()
        tmp.cleanup()


if __name__ == '__main__':
    main()
