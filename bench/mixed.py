#!/usr/bin/env python3
"""bench/mixed.py - issue 13: mixed API load with simulated routers connected (not a test).

Run through bench/mixed.sh. Starts tikgated (roles api,scheduler,dispatcher,edge, log level
$LOG_LEVEL, default info = the default configuration), SITES sites each adopted by its own
tikgate-sim (so the dispatcher pushes their jobs for real), POLICIES policies with the sites
spread over them, then CLIENTS concurrent keep-alive clients (one asyncio loop, raw HTTP/1.1)
for DUR seconds: 80 % reads (lists and objects of sites, policies, grants, jobs), 20 % writes
(transient-access create / PATCH / DELETE, policy PUT, note PUT, job POST). Each client owns
the grants it created, so PATCH and DELETE never race another client.

Prints per route and per class (read, write): count, p50/p99/max in ms, errors (status >= 400
or a broken connection); req/s; tikgated's RSS before/max/after; jobs by status before and
after (read from the SQLite file); the machine's load average before and after; the client's
own CPU share (near 100 % means the client itself adds queueing to the latencies).

Reference, same run and same client: the same mix for REF_DUR seconds against nginx answering
every request with a fixed 200 JSON body (`return 200`): the floor of this client and loopback
under the same concurrency. Standard library only; stops everything it started.
"""
import asyncio
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from benchstats import pct  # noqa: E402 (bench/, beside this script)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
BUILD = os.environ.get('BUILD') or os.path.join(ROOT, 'build-bench')
TIKGATED = os.path.join(BUILD, 'src', 'daemon', 'tikgated')
SIM = os.path.join(BUILD, 'src', 'sim', 'tikgate-sim')
NGINX = os.environ.get('NGINX') or '/usr/sbin/nginx'
CLIENTS = int(os.environ.get('CLIENTS', '100'))
DUR = float(os.environ.get('DUR', '30'))
REF_DUR = float(os.environ.get('REF_DUR', '10'))
SITES = int(os.environ.get('SITES', '20'))
POLICIES = int(os.environ.get('POLICIES', '5'))
WRITE_PCT = float(os.environ.get('WRITE_PCT', '20'))
# RATE > 0: paced (open loop) instead of as fast as each client can: together the clients start
# RATE requests/s, each on its own schedule (client i every CLIENTS/RATE s, offset by i), and a
# latency counts from the request's scheduled start, so an answer that is late delays the next
# ones and they count it (no coordinated omission, as wrk2 -R). 0: closed loop (the default).
RATE = float(os.environ.get('RATE', '0'))
LOG_LEVEL = os.environ.get('LOG_LEVEL', 'info')
EXTRA_ENV = dict(kv.split('=', 1) for kv in os.environ.get('TG_ENV', '').split() if '=' in kv)
KEY = 'tg_sk_benchMixed000000000000000000000000'
P = '/v1/control-plane/policies'
SVCS = ('winbox', 'ssh', 'http', 'https', 'telnet', 'ftp', 'api', 'api_ssl')


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def loadavg():
    return ' '.join(open('/proc/loadavg').read().split()[:3])


SLOW_MS = int(os.environ.get('SLOW_MS', '100'))


def rss_kib(pid):
    try:
        with open('/proc/%d/status' % pid) as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_s(pid):
    """User + system CPU seconds of the process so far."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            fields = f.read().rsplit(')', 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')
    except (OSError, IndexError, ValueError):
        return 0.0


class Conn:
    """One keep-alive HTTP/1.1 connection (Content-Length bodies only: what tikgated sends)."""

    def __init__(self, port, source='127.0.0.1'):
        self.port = port
        self.source = source  # clients of a real load come from many addresses (per-IP limit)
        self.r = self.w = None

    async def request(self, method, path, body=None):
        if self.w is None:
            self.r, self.w = await asyncio.open_connection('127.0.0.1', self.port,
                                                           local_addr=(self.source, 0))
        data = json.dumps(body).encode() if body is not None else b''
        head = '%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n' % (
            method, path, KEY)
        if body is not None:
            head += 'Content-Type: application/json\r\n'
        head += 'Content-Length: %d\r\n\r\n' % len(data)
        try:
            self.w.write(head.encode() + data)
            status_line = await self.r.readline()
            if not status_line:
                raise ConnectionError('closed')
            status = int(status_line.split()[1])
            length = 0
            close = False
            while True:
                line = await self.r.readline()
                if line in (b'\r\n', b'\n', b''):
                    break
                k, _, v = line.decode('latin-1').partition(':')
                k = k.strip().lower()
                if k == 'content-length':
                    length = int(v)
                elif k == 'connection' and 'close' in v.lower():
                    close = True
            raw = await self.r.readexactly(length) if length else b''
            if close:
                self.close()
            return status, raw
        except (OSError, ValueError, IndexError, asyncio.IncompleteReadError):
            self.close()
            raise ConnectionError('broken')

    def close(self):
        if self.w is not None:
            self.w.close()
        self.r = self.w = None


class World:
    """What the clients pick from: sites, policies, a few jobs per site."""

    def __init__(self):
        self.sites = []     # ids
        self.policies = {}  # id -> PUT body
        self.jobs = {}      # site id -> [job ids]


def plan(world, owned, rnd):
    """One request: (route class, method, path, body, on_answer)."""
    site = rnd.choice(world.sites)
    ta = '/v1/control-plane/%s/transient-access' % site
    if rnd.random() * 100 >= WRITE_PCT:
        x = rnd.randrange(8)
        if x == 0:
            return 'read sites list', 'GET', '/v1/sites', None, None
        if x == 1:
            return 'read site', 'GET', '/v1/sites/' + site, None, None
        if x == 2:
            return 'read policies list', 'GET', P, None, None
        if x == 3:
            return 'read policy', 'GET', P + '/' + rnd.choice(list(world.policies)), None, None
        if x == 4:
            return 'read grants list', 'GET', ta, None, None
        if x == 5:
            mine = [g for g in owned if g[0] == site]
            if mine:
                return 'read grant', 'GET', '%s/%s' % (ta, rnd.choice(mine)[1]), None, None
            return 'read grants list', 'GET', ta, None, None
        if x == 6:
            return 'read jobs list', 'GET', '/v1/sites/%s/jobs' % site, None, None
        jobs = world.jobs.get(site)
        if jobs:
            return ('read job', 'GET', '/v1/sites/%s/jobs/%s' % (site, rnd.choice(jobs)), None,
                    None)
        return 'read jobs list', 'GET', '/v1/sites/%s/jobs' % site, None, None
    x = rnd.randrange(6)
    if x == 0 or (x in (1, 2) and not owned):
        body = {'type': 'winbox', 'expire_after_minutes': 30, 'allow_only_cidr': '127.0.0.1/32'}

        def keep(status, raw, site=site):
            if status == 201:
                owned.append((site, json.loads(raw)['id']))
        return 'write grant create', 'POST', ta, body, keep
    if x == 1:
        s, g = rnd.choice(owned)
        return ('write grant patch', 'PATCH', '/v1/control-plane/%s/transient-access/%s' % (s, g),
                {'expires_at': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(
                    time.time() + rnd.randint(600, 3600)))}, None)
    if x == 2:
        s, g = owned.pop(rnd.randrange(len(owned)))
        return ('write grant delete', 'DELETE',
                '/v1/control-plane/%s/transient-access/%s' % (s, g), None, None)
    if x == 3:
        pid = rnd.choice(list(world.policies))
        body = dict(world.policies[pid])
        body['winbox'] = dict(body['winbox'], port=rnd.randint(20000, 29999))
        return 'write policy put', 'PUT', P + '/' + pid, body, None
    if x == 4:
        return ('write note put', 'PUT', '/v1/sites/%s/note' % site,
                {'content': '# note %d\n\n%s' % (rnd.randrange(10 ** 6), 'x' * rnd.randint(10, 400))},
                None)

    def keep_job(status, raw, site=site):
        if status == 201:
            world.jobs.setdefault(site, []).append(json.loads(raw)['id'])
            del world.jobs[site][:-50]
    return ('write job create', 'POST', '/v1/sites/%s/jobs' % site,
            {'description': 'bench', 'script': ':log info "bench"'}, keep_job)


async def run_load(port, world, dur, seed):
    stats = {}  # class -> [latencies ms]
    slow = []   # (start s since the load began, ms, class) of answers over SLOW_MS
    errors = {}
    examples = {}
    stop_at = time.monotonic() + dur

    async def client(i):
        rnd = random.Random(seed * 1000 + i)
        conn = Conn(port, '127.0.%d.%d' % (200 + i // 250, 1 + i % 250))
        owned = []
        period = CLIENTS / RATE if RATE > 0 else 0.0
        due = time.perf_counter() + (period * i / CLIENTS if period else 0.0)
        while time.monotonic() < stop_at:
            cls, method, path, body, on_answer = plan(world, owned, rnd)
            if period:  # paced: wait for this request's slot, count from it
                wait = due - time.perf_counter()
                if wait > 0:
                    await asyncio.sleep(wait)
                t0 = due
                due += period
            else:
                t0 = time.perf_counter()
            try:
                status, raw = await conn.request(method, path, body)
            except ConnectionError:
                status, raw = 0, b''
            ms = (time.perf_counter() - t0) * 1000.0
            stats.setdefault(cls, []).append(ms)
            if ms > SLOW_MS:
                slow.append((t0 - load_t0, ms, cls))
            if status == 0 or status >= 400:
                errors[cls] = errors.get(cls, 0) + 1
                examples.setdefault(cls, (status, raw[:200]))
            elif on_answer:
                on_answer(status, raw)
        conn.close()

    cpu0, t0 = time.process_time(), time.monotonic()
    load_t0 = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(CLIENTS)))
    wall = time.monotonic() - t0
    report_slow(slow, wall)
    return stats, errors, examples, wall, (time.process_time() - cpu0) / wall


def report_slow(slow, wall):
    """When the answers over SLOW_MS started, by 100 ms window: a stall (everything waits at
    once) shows as few windows holding most of them, queueing as many windows with a few each."""
    if not slow:
        return
    by_window = {}
    for start, ms, cls in slow:
        by_window.setdefault(int(start * 10), []).append(ms)
    worst = sorted(by_window.items(), key=lambda kv: -len(kv[1]))[:5]
    print('answers over %d ms: %d, started in %d of %d windows of 100 ms; the fullest: %s' % (
        SLOW_MS, len(slow), len(by_window), int(wall * 10) + 1,
        ', '.join('%.1f s: %d' % (w / 10.0, len(v)) for w, v in worst)))


def report(title, stats, errors, examples, wall, cpu):
    total = sum(len(v) for v in stats.values())
    print('\n%s: %d requests in %.1f s = %.0f req/s, %d errors; client CPU %.0f %%' % (
        title, total, wall, total / wall, sum(errors.values()), cpu * 100))
    print('%-22s %7s %9s %9s %9s %6s' % ('route', 'n', 'p50 ms', 'p99 ms', 'max ms', 'errors'))
    groups = {'READS': [], 'WRITES': []}
    for cls in sorted(stats):
        v = sorted(stats[cls])
        groups['READS' if cls.startswith('read') else 'WRITES'].extend(v)
        print('%-22s %7d %9.2f %9.2f %9.2f %6d' % (cls, len(v), pct(v, 50), pct(v, 99), v[-1],
                                                  errors.get(cls, 0)))
    for g, v in groups.items():
        v.sort()
        if v:
            e = sum(n for c, n in errors.items() if c.startswith(g[:-1].lower()))
            print('%-22s %7d %9.2f %9.2f %9.2f %6d' % (g, len(v), pct(v, 50), pct(v, 99), v[-1], e))
    for cls, ex in sorted(examples.items()):
        print('  first error of %s: %s %r' % (cls, ex[0], ex[1]))


def writer_counters(loop, port):
    """(holds, held seconds, commits) of the store's writer from /metrics, or None. On a
    connection of its own: one kept across the load would be closed by then (idle timeout)."""
    conn = Conn(port)
    try:
        st, raw = loop.run_until_complete(conn.request('GET', '/metrics'))
    except ConnectionError:
        return None
    finally:
        conn.close()
    if st != 200:
        return None
    vals = {}
    for line in raw.decode().splitlines():
        if line.startswith('tikgate_store_writer_'):
            name, _, v = line.partition(' ')
            vals[name] = float(v)
    keys = ('tikgate_store_writer_holds_total', 'tikgate_store_writer_held_seconds_total',
            'tikgate_store_writer_commits_total')
    return tuple(vals[k] for k in keys) if all(k in vals for k in keys) else None


def jobs_by_status(db):
    try:
        c = sqlite3.connect('file:%s?mode=ro' % db, uri=True, timeout=5)
        rows = c.execute('SELECT status, count(*) FROM jobs GROUP BY status ORDER BY 1').fetchall()
        c.close()
        return ', '.join('%s %d' % r for r in rows) or 'none'
    except sqlite3.Error as e:
        return 'unreadable (%s)' % e


def main():
    for b in (TIKGATED, SIM):
        if not os.access(b, os.X_OK):
            sys.exit('missing %s (BUILD=%s)' % (b, BUILD))
    tmp = tempfile.TemporaryDirectory(prefix='tg-bench-mixed-')
    procs = []

    def cleanup():
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in reversed(procs):
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if os.environ.get('KEEP_LOG'):  # KEEP_LOG=file: tikgated's log is copied there
            subprocess.call(['cp', os.path.join(tmp.name, 'tikgated.log'), os.environ['KEEP_LOG']])
        tmp.cleanup()

    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    try:
        print('mixed load: %d CPUs, kernel %s; load average before: %s' % (
            os.cpu_count(), os.uname().release, loadavg()))
        port = free_port()
        lo = random.randint(30, 60) * 100
        env = dict(os.environ)
        env.update({'TIKGATE_DATA_DIR': tmp.name, 'TIKGATE_LISTEN': '127.0.0.1:%d' % port,
                    'TIKGATE_BOOTSTRAP_TOKEN': KEY, 'TIKGATE_MANAGEMENT_NETWORKS': '127.0.0.0/8',
                    'TIKGATE_LOG_LEVEL': LOG_LEVEL, 'TIKGATE_VPN': 'off',
                    'TIKGATE_ALLOW_PRIVATE_SOURCES': '1', 'TIKGATE_EDGE_LISTEN': '127.0.0.1',
                    'TIKGATE_ENTRY_POINT': '127.0.0.1',
                    'TIKGATE_EDGE_PORTS': '%d-%d' % (20000 + lo, 20000 + lo + 2999),
                    'TIKGATE_SHARE_DIR': ROOT})
        env.update(EXTRA_ENV)
        log = open(os.path.join(tmp.name, 'tikgated.log'), 'ab')
        tg = subprocess.Popen([TIKGATED], env=env, stdout=log, stderr=subprocess.STDOUT)
        procs.append(tg)
        loop = asyncio.new_event_loop()
        api = Conn(port)

        def call(method, path, body=None):
            st, raw = loop.run_until_complete(api.request(method, path, body))
            return st, (json.loads(raw) if raw else None)

        for _ in range(200):
            try:
                if call('GET', '/healthz')[0] == 200:
                    break
            except ConnectionError:
                pass
            time.sleep(0.05)
        else:
            raise RuntimeError('tikgated did not start')

        world = World()
        pol = call('GET', P)[1][0]
        base = {k: pol[k] for k in SVCS + ('trusted_networks', 'custom_input_rules')}
        for i in range(POLICIES):
            st, p = call('POST', P, dict(base, name='bench-%d' % i))
            assert st == 201, (st, p)
            world.policies[p['id']] = dict(base, name='bench-%d' % i)
        net = random.randint(100, 250)
        sims = []
        for i in range(SITES):
            st, s = call('POST', '/v1/sites', {'name': 'bench-site-%d' % i})
            assert st == 201, (st, s)
            world.sites.append(s['id'])
            pid = list(world.policies)[i % POLICIES]
            st, _ = call('POST', '%s/%s/sites' % (P, pid), {'sites': [s['id']]})
            assert st in (200, 204), st
            addr = '127.%d.%d.%d' % (net, random.randint(0, 255), 2 + i)
            sdir = os.path.join(tmp.name, 'sim%d' % i)
            os.mkdir(sdir)
            slog = open(os.path.join(sdir, 'sim.log'), 'ab')
            procs.append(subprocess.Popen(
                [SIM, '--address', addr, '--port-offset', '10000', '--state-file',
                 os.path.join(sdir, 'state.json'), '--log-level', 'warn',
                 '--bootstrap-command', s['bootstrap_command']],
                stdout=slog, stderr=subprocess.STDOUT))
            sims.append((s['id'], addr))
        deadline = time.time() + 60
        while time.time() < deadline:
            online = sum(1 for sid, _ in sims
                         if call('GET', '/v1/sites/' + sid)[1].get('status') == 'online')
            if online == SITES:
                break
            time.sleep(0.5)
        else:
            raise RuntimeError('only %d of %d sims adopted' % (online, SITES))
        for sid in world.sites:
            st, j = call('POST', '/v1/sites/%s/jobs' % sid,
                         {'description': 'seed', 'script': ':log info "seed"'})
            assert st == 201, (st, j)
            world.jobs[sid] = [j['id']]
        time.sleep(2)  # the adoption's and the seeds' jobs settle
        db = os.path.join(tmp.name, 'tikgate.db')
        print('tikgated %s: log level %s, %d sites (%d sims online), %d policies; %d clients, '
              '%d %% writes, %.0f s, %s' % (
                  TIKGATED, LOG_LEVEL, SITES, SITES, POLICIES, CLIENTS, WRITE_PCT, DUR,
                  'paced at %.0f req/s (latency from each scheduled start)' % RATE if RATE > 0
                  else 'closed loop (each client sends on as soon as answered)'))
        print('jobs before: %s' % jobs_by_status(db))
        rss0 = rss_kib(tg.pid)
        w0 = writer_counters(loop, port)
        cpu0, wall0 = cpu_s(tg.pid), time.monotonic()
        rss_max = [rss0]

        async def sample():
            while True:
                rss_max[0] = max(rss_max[0], rss_kib(tg.pid))
                await asyncio.sleep(0.5)

        async def measured():
            t = asyncio.ensure_future(sample())
            try:
                return await run_load(port, world, DUR, 1)
            finally:
                t.cancel()
        res = loop.run_until_complete(measured())
        cpu1, wall1 = cpu_s(tg.pid), time.monotonic()
        w1 = writer_counters(loop, port)
        report('tikgated', *res)
        if w0 and w1:
            holds, held, commits = (w1[k] - w0[k] for k in range(3))
            print('store writer: %d holds (%.0f/s), held %.1f s of %.1f s (%.0f %% busy), '
                  '%d COMMITs, %.2f holds per request' % (
                      holds, holds / (wall1 - wall0), held, wall1 - wall0,
                      100 * held / (wall1 - wall0), commits,
                      holds / max(1, sum(len(v) for v in res[0].values()))))
        print('tikgated CPU: %.1f s in %.1f s (%.0f %% of one CPU; %d CPUs here)' % (
            cpu1 - cpu0, wall1 - wall0, 100 * (cpu1 - cpu0) / (wall1 - wall0), os.cpu_count()))
        print('tikgated RSS: %d KiB before, %d KiB max, %d KiB after' % (rss0, rss_max[0],
                                                                          rss_kib(tg.pid)))
        print('jobs right after: %s' % jobs_by_status(db))
        time.sleep(5)
        print('jobs 5 s later:   %s' % jobs_by_status(db))
        api.close()

        # The reference: the same client and mix against nginx `return 200`.
        if REF_DUR > 0 and os.access(NGINX, os.X_OK):
            nport = free_port()
            ndir = os.path.join(tmp.name, 'nginx')
            os.makedirs(os.path.join(ndir, 'logs'))
            body = json.dumps(pol).replace("'", '')
            with open(os.path.join(ndir, 'nginx.conf'), 'w') as f:
                f.write('daemon off; master_process off; worker_processes 1;\n'
                        'pid %s/nginx.pid; error_log %s/logs/error.log warn;\n'
                        'events { worker_connections 4096; }\n'
                        'http { access_log off; keepalive_requests 1000000;\n'
                        '  client_body_temp_path %s;\n'
                        '  server { listen 127.0.0.1:%d; default_type application/json;\n'
                        "    location / { return 200 '%s'; } } }\n"
                        % (ndir, ndir, ndir, nport, body))
            ng = subprocess.Popen([NGINX, '-p', ndir, '-c', os.path.join(ndir, 'nginx.conf')],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
            procs.append(ng)
            time.sleep(0.5)
            # Fake ids for the writes' answers: the grant create needs an id back.
            ref_world = World()
            ref_world.sites = world.sites
            ref_world.policies = world.policies
            ref_world.jobs = dict(world.jobs)
            res = loop.run_until_complete(run_load(nport, ref_world, REF_DUR, 2))
            report('reference: nginx `return 200` (%.0f s, same client and mix)' % REF_DUR, *res)
        print('\nload average after: %s' % loadavg())
    finally:
        cleanup()


if __name__ == '__main__':
    main()
