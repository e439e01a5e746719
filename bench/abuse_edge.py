"""Driver of bench/abuse_edge.sh (standard library only): see the header there."""
import http.client
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

BUILD = os.environ['BUILD']
N = int(os.environ.get('N', '10000'))
DUR = float(os.environ.get('DUR', '10'))
KEY = 'tg_sk_benchAbuseEdge0123456789abcdefghij'
FLOOD_SRC = os.environ.get('SRC', '127.0.0.9')
EDGE_PORTS = os.environ.get('EDGE_PORTS', '26500-26599')


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Api:
    def __init__(self, port):
        self.port = port
        self.c = http.client.HTTPConnection('127.0.0.1', port, timeout=10)

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        self.c.request(method, path, body=data, headers={
            'Authorization': 'Bearer ' + KEY, 'Content-Type': 'application/json'})
        r = self.c.getresponse()
        raw = r.read()
        return r.status, json.loads(raw) if raw else None


def latency(port, path, seconds, out):
    """Back-to-back GETs for seconds; appends each latency (ms) to out."""
    api = Api(port)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t0 = time.perf_counter()
        st, _ = api.call('GET', path)
        out.append((time.perf_counter() - t0) * 1000)
        if st != 200:
            raise RuntimeError('GET %s: %d' % (path, st))


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p / 100))]


def db_bytes(data):
    return sum(os.path.getsize(os.path.join(data, f)) for f in os.listdir(data)
               if f.startswith('tikgate.db'))


def flood(port, n, seconds, stats):
    t0 = time.monotonic()
    for i in range(n):
        wait = t0 + i * seconds / n - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        s = socket.socket()
        s.bind((FLOOD_SRC, 0))
        try:
            s.connect(('127.0.0.1', port))
            stats['ok'] += 1
        except OSError:
            stats['err'] += 1
        s.close()
    stats['secs'] = time.monotonic() - t0


def main():
    tmp = tempfile.mkdtemp(prefix='tg-bench-abuse-')
    data = os.path.join(tmp, 'data')
    port = free_port()
    env = dict(os.environ, TIKGATE_DATA_DIR=data, TIKGATE_LISTEN='127.0.0.1:%d' % port,
               TIKGATE_BOOTSTRAP_TOKEN=KEY, TIKGATE_MANAGEMENT_NETWORKS='127.0.0.0/8',
               TIKGATE_ROLES='api,scheduler,edge', TIKGATE_ALLOW_PRIVATE_SOURCES='1',
               TIKGATE_EDGE_LISTEN='127.0.0.1', TIKGATE_ENTRY_POINT='127.0.0.1',
               TIKGATE_EDGE_PORTS=EDGE_PORTS, TIKGATE_LOG_LEVEL='warn', TIKGATE_VPN='off')
    log = open(os.path.join(tmp, 'tikgated.log'), 'wb')
    proc = subprocess.Popen([os.path.join(BUILD, 'src/daemon/tikgated')], env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    try:
        for _ in range(200):
            try:
                if Api(port).call('GET', '/healthz')[0] == 200:
                    break
            except OSError:
                time.sleep(0.05)
        api = Api(port)
        st, site = api.call('POST', '/v1/sites', {'name': 'abuse'})
        assert st == 201, site
        st, _ = api.call('PATCH', '/v1/sites/' + site['id'], {'tunnel_address': '127.0.0.20'})
        st, g = api.call('POST', '/v1/control-plane/%s/transient-access' % site['id'],
                         {'type': 'winbox', 'allow_only_cidr': '127.0.0.1/32',
                          'expire_after_minutes': 60})
        assert st == 201, g
        for _ in range(100):
            s = socket.socket()
            if s.connect_ex(('127.0.0.1', g['port'])) == 0:
                s.close()
                break
            s.close()
            time.sleep(0.05)
        path = '/v1/sites/' + site['id']
        time.sleep(1)
        size0 = db_bytes(data)
        before = []
        latency(port, path, DUR, before)
        during, stats = [], {'ok': 0, 'err': 0}
        t = threading.Thread(target=latency, args=(port, path, DUR, during))
        t.start()
        flood(g['port'], N, DUR, stats)
        t.join()
        time.sleep(12)  # the refused interval (10 s) is written, then the WAL settles
        db = sqlite3.connect(os.path.join(data, 'tikgate.db'), timeout=10)
        rows, total = db.execute(
            "SELECT count(*), coalesce(sum(count), 0) FROM grant_connections WHERE grant_id = ? "
            "AND outcome = 'refused'", (g['id'],)).fetchone() if has_count(db) else \
            db.execute("SELECT count(*), count(*) FROM grant_connections WHERE grant_id = ? AND "
                       "outcome = 'refused'", (g['id'],)).fetchone()
        db.close()
        growth = db_bytes(data) - size0
        print('flood: %d connections from %s in %.1f s (%d failed to connect)' %
              (stats['ok'], FLOOD_SRC, stats['secs'], stats['err']))
        print('refused records written: %d rows, counts summing to %d' % (rows, total))
        print('DB growth (tikgate.db + WAL): %d bytes' % growth)
        for name, xs in (('before', before), ('during', during)):
            print('API GET %s the flood: p50 %.2f ms, p99 %.2f ms, max %.2f ms (%d requests)' %
                  (name, pct(xs, 50), pct(xs, 99), max(xs), len(xs)))
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        subprocess.run(['rm', '-rf', tmp])


def has_count(db):
    return any(r[1] == 'count' for r in db.execute('PRAGMA table_info(grant_connections)'))


if __name__ == '__main__':
    sys.exit(main())
