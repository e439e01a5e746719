#!/usr/bin/env python3
"""bench/audit.py - what the audit log adds to a mutating request (not a test).

    python3 bench/audit.py [N]     # N sequential requests per kind (default 2000), 3 rounds

Starts tikgated (TIKGATED, default build/src/daemon/tikgated; TIKGATE_TEST_DATABASE=postgres
for PostgreSQL, as the integration tests) and times, on one keep-alive connection with the
same API key, GET /v1/auth/me (a read: not audited) against POST /v1/auth/logout (audited;
with an API key it is refused 400 not_a_session before touching the store, so the difference
is the audit entry: the answer's parse and one INSERT). Prints the median per-request time of
each and the difference. Reference (docs/API.md "Audit log"): about 0.1 ms on SQLite with a
debug build on the 2-core development machine (2026-12-01).
"""
import http.client
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'tests', 'integration'))
import tg  # noqa: E402


def run(conn, method, path, n):
    h = {'Authorization': 'Bearer ' + tg.ADMIN_KEY}
    t0 = time.perf_counter()
    for _ in range(n):
        conn.request(method, path, headers=h)
        r = conn.getresponse()
        r.read()
    return (time.perf_counter() - t0) / n * 1e6


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    d = tg.Daemon(env={'TIKGATE_LOG_LEVEL': 'warn'})
    try:
        d.start()
        conn = http.client.HTTPConnection('127.0.0.1', d.port, timeout=30)
        run(conn, 'GET', '/v1/auth/me', 200)  # warm-up
        reads, writes = [], []
        for _ in range(3):
            reads.append(run(conn, 'GET', '/v1/auth/me', n))
            writes.append(run(conn, 'POST', '/v1/auth/logout', n))
        r, w = statistics.median(reads), statistics.median(writes)
        print('backend %s, %d requests x 3 rounds' % (tg.BACKEND, n))
        print('GET /v1/auth/me (not audited):  %8.1f us/request' % r)
        print('POST /v1/auth/logout (audited): %8.1f us/request' % w)
        print('difference (audit entry):       %8.1f us/request' % (w - r))
    finally:
        d.cleanup()


if __name__ == '__main__':
    main()
