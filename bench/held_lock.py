#!/usr/bin/env python3
"""bench/held_lock.py - reads while another process holds SQLite's write lock (issue 14 item 4;
not a test).

    python3 bench/held_lock.py [HOLD_S] [CLIENTS]     # default 10 s, 8 clients

Starts tikgated on SQLite (TIKGATED, default build/src/daemon/tikgated; log level info, the
default) with 20 sites, then runs CLIENTS keep-alive clients that loop over GET /v1/sites,
GET /v1/sites/{id}, GET /v1/control-plane/policies, GET /healthz and, one request in ten, a
write (POST a site note). Two phases of HOLD_S seconds each, in the same invocation:
  free  - nothing else touches the database (the reference);
  held  - another process holds `BEGIN IMMEDIATE` on tikgate.db for the whole phase.
Prints per phase and route class: requests, p50/p99/max latency, and the writes' statuses
(during the hold they must answer 503 storage_busy with Retry-After, never hang). Target
(issue 14): reads and /healthz p99 < 100 ms while the lock is held.
"""
import http.client
import os
import sqlite3
import statistics
import sys
import threading
import time
from benchstats import pct  # noqa: E402 (bench/, beside this script)

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'tests', 'integration'))
import tg  # noqa: E402


def client(port, sites, stop, out, idx):
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=30)
    h = {'Authorization': 'Bearer ' + tg.ADMIN_KEY, 'Content-Type': 'application/json'}
    routes = [('read', 'GET', '/v1/sites', None),
              ('read', 'GET', '/v1/sites/' + sites[idx % len(sites)], None),
              ('read', 'GET', '/v1/control-plane/policies', None),
              ('health', 'GET', '/healthz', None)]
    i = idx
    while not stop.is_set():
        i += 1
        if i % 10 == 0:
            kind, method, path = 'write', 'PUT', '/v1/sites/%s/note' % sites[i % len(sites)]
            body = ('{"content":"n%d"}' % i).encode()
        else:
            kind, method, path, body = routes[i % len(routes)]
        t0 = time.perf_counter()
        try:
            conn.request(method, path, body=body, headers=h)
            r = conn.getresponse()
            r.read()
            status = r.status
        except OSError:
            conn.close()
            conn = http.client.HTTPConnection('127.0.0.1', port, timeout=30)
            status = 0
        out.append((kind, time.perf_counter() - t0, status))
    conn.close()


def phase(d, sites, secs, clients, hold):
    stop = threading.Event()
    results = [[] for _ in range(clients)]
    db = None
    if hold:
        db = sqlite3.connect(os.path.join(d.data_dir, 'tikgate.db'), timeout=10,
                             isolation_level=None)
        db.execute('BEGIN IMMEDIATE')
    threads = [threading.Thread(target=client, args=(d.port, sites, stop, results[k], k))
               for k in range(clients)]
    for t in threads:
        t.start()
    time.sleep(secs)
    stop.set()
    for t in threads:
        t.join(60)
    if db:
        db.execute('ROLLBACK')
        db.close()
    return [x for r in results for x in r]


def report(name, rows):
    print('%s:' % name)
    print('  %-7s %7s %9s %9s %9s  statuses' % ('class', 'n', 'p50 ms', 'p99 ms', 'max ms'))
    for kind in ('read', 'health', 'write'):
        xs = [t * 1000 for k, t, _ in rows if k == kind]
        st = {}
        for k, _, s in rows:
            if k == kind:
                st[s] = st.get(s, 0) + 1
        print('  %-7s %7d %9.2f %9.2f %9.2f  %s' % (
            kind, len(xs), statistics.median(xs) if xs else float('nan'),
            pct(xs, 99), max(xs) if xs else float('nan'),
            ' '.join('%s:%d' % kv for kv in sorted(st.items()))))


def main():
    hold_s = float(sys.argv[1]) if len(sys.argv) > 1 else 10
    clients = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    d = tg.Daemon(env={'TIKGATE_LOG_LEVEL': 'info'})
    try:
        d.start()
        sites = [d.request('POST', '/v1/sites', {'name': 's%d' % i}).json['id']
                 for i in range(20)]
        print('tikgated %s, SQLite, %d clients, %.0f s per phase, load %s' % (
            tg.TIKGATED, clients, hold_s, os.getloadavg()))
        free = phase(d, sites, hold_s, clients, hold=False)
        held = phase(d, sites, hold_s, clients, hold=True)
        report('free (reference: nothing else holds the lock)', free)
        report('held (another process in BEGIN IMMEDIATE for %.0f s)' % hold_s, held)
        after = d.request('PUT', '/v1/sites/%s/note' % sites[0], {'content': 'after'})
        print('first write after the hold: %d' % after.status)
        p99_free = pct([t for k, t, _ in free if k != 'write'], 99) * 1000
        p99_held = pct([t for k, t, _ in held if k != 'write'], 99) * 1000
        print('reads+health p99: free %.2f ms, held %.2f ms (ratio %.2f; target held < 100 ms)'
              % (p99_free, p99_held, p99_held / p99_free if p99_free else float('nan')))
    finally:
        d.cleanup()


if __name__ == '__main__':
    main()
