#!/usr/bin/env python3
"""bench/policy_push.py - policy update -> visible on a simulated router (express push).

Run through bench/policy_push.sh. Starts tikgated (poll interval 30 s, so only the express push
can be fast) and one tikgate-sim that adopts itself through the site's bootstrap_command, then
sends N policy updates (PUT of the default policy, winbox.port changed each time), one after the
other, and for each measures the time from just before the PUT is sent to the new port being
visible on the router: a RouterOS API session logged in to the sim as admin runs
`/ip/service/print ?name=winbox` in a loop. Prints median, p90, p99 and max in ms.
Standard library only; stops everything it started.
"""
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from benchstats import pct  # noqa: E402 (bench/, beside this script)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'integration'))
import rosapi  # noqa: E402  (the tests' tiny RouterOS API client, stdlib only)

BUILD = os.environ.get('BUILD') or os.path.join(ROOT, 'build-bench')
TIKGATED = os.path.join(BUILD, 'src', 'daemon', 'tikgated')
SIM = os.path.join(BUILD, 'src', 'sim', 'tikgate-sim')
N = int(os.environ.get('N', '200'))
WARMUP = int(os.environ.get('WARMUP', '5'))
POLL_SLEEP_MS = float(os.environ.get('POLL_SLEEP_MS', '0'))
TIMEOUT_S = float(os.environ.get('TIMEOUT_S', '10'))   # per update: beyond it, count as lost
DEADLINE_S = float(os.environ.get('DEADLINE_S', '300'))  # the whole run
KEY = 'tg_sk_benchPolicyPush0123456789abcdefgh'
P = '/v1/control-plane/policies'


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class Api:
    def __init__(self, port):
        self.port = port
        self.conn = None

    def request(self, method, path, body=None):
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection('127.0.0.1', self.port, timeout=10)
            try:
                h = {'Authorization': 'Bearer ' + KEY}
                data = None
                if body is not None:
                    data = json.dumps(body).encode()
                    h['Content-Type'] = 'application/json'
                self.conn.request(method, path, body=data, headers=h)
                r = self.conn.getresponse()
                raw = r.read()
                return r.status, (json.loads(raw) if raw else None)
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise


def main():
    for b in (TIKGATED, SIM):
        if not os.access(b, os.X_OK):
            sys.exit('missing %s (build: meson setup %s -Dbuildtype=release -Dtests=false && '
                     'ninja -C %s)' % (b, BUILD, BUILD))
    t_start = time.time()
    tmp = tempfile.TemporaryDirectory(prefix='tg-bench-push-')
    procs = []

    def cleanup():
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        tmp.cleanup()

    try:
        port = free_port()
        env = dict(os.environ)
        env.update({'TIKGATE_DATA_DIR': tmp.name, 'TIKGATE_LISTEN': '127.0.0.1:%d' % port,
                    'TIKGATE_BOOTSTRAP_TOKEN': KEY, 'TIKGATE_MANAGEMENT_NETWORKS': '127.0.0.0/8',
                    'TIKGATE_POLL_INTERVAL': '30', 'TIKGATE_LOG_LEVEL': 'warn',
                    'TIKGATE_VPN': 'off'})
        log = open(os.path.join(tmp.name, 'tikgated.log'), 'ab')
        procs.append(subprocess.Popen([TIKGATED], env=env, stdout=log, stderr=subprocess.STDOUT))
        api = Api(port)
        for _ in range(200):
            try:
                if api.request('GET', '/healthz')[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.05)
        else:
            raise RuntimeError('tikgated did not start')

        st, site = api.request('POST', '/v1/sites', {'name': 'bench-push'})
        assert st == 201, (st, site)
        # A loopback address of our own for the simulated router (several sessions share lo).
        addr = '127.%d.%d.%d' % (random.randint(100, 250), random.randint(0, 255),
                                 random.randint(2, 250))
        sim_state = os.path.join(tmp.name, 'sim.json')
        slog = open(os.path.join(tmp.name, 'sim.log'), 'ab')
        # No --poll-interval: the sim polls at the interval tikgated installs (30 s).
        procs.append(subprocess.Popen(
            [SIM, '--address', addr, '--port-offset', '10000', '--state-file', sim_state,
             '--log-level', 'warn', '--bootstrap-command', site['bootstrap_command']],
            stdout=slog, stderr=subprocess.STDOUT))

        # Adopted: online, and the adoption script has created the API user on the router.
        deadline = time.time() + 20
        while time.time() < deadline:
            s = api.request('GET', '/v1/sites/' + site['id'])[1]
            users = []
            try:
                with open(sim_state) as f:
                    users = [u['name'] for u in json.load(f).get('/user', [])]
            except (OSError, ValueError):
                pass
            if s['status'] == 'online' and s.get('tunnel_address') == addr and \
                    'tikgate-api' in users:
                break
            time.sleep(0.1)
        else:
            raise RuntimeError('the sim did not adopt itself')

        pol = api.request('GET', P)[1][0]
        body = {k: pol[k] for k in ('name', 'winbox', 'ssh', 'http', 'https', 'telnet', 'ftp',
                                    'api', 'api_ssl', 'trusted_networks', 'custom_input_rules')}
        ros = rosapi.Client(addr, 8728, timeout=5)
        ros.login('admin', '')

        def winbox_port():
            return ros.run('/ip/service/print', '?name=winbox', '=.proplist=port')[0]['port']

        lat, put_ms, lost = [], [], 0
        cur = int(winbox_port())
        print('tikgated policy push benchmark: %d CPUs, kernel %s, load average before: %s'
              % (os.cpu_count(), os.uname().release, ' '.join(open('/proc/loadavg').read().split()[:3])))
        print('N=%d (+%d warm-up) sequential updates; poll interval 30 s; router %s' %
              (N, WARMUP, addr))
        for i in range(WARMUP + N):
            if time.time() - t_start > DEADLINE_S:
                print('deadline reached after %d updates' % i)
                break
            new = 20001 + (i % 2000)
            if new == cur:
                new += 1
            body['winbox'] = dict(body['winbox'], port=new)
            want = str(new)
            t0 = time.perf_counter()
            st, _ = api.request('PUT', P + '/' + pol['id'], body)
            t1 = time.perf_counter()
            assert st == 200, st
            seen = None
            while time.perf_counter() - t0 < TIMEOUT_S:
                if winbox_port() == want:
                    seen = time.perf_counter()
                    break
                if POLL_SLEEP_MS:
                    time.sleep(POLL_SLEEP_MS / 1000.0)
            cur = new
            if i < WARMUP:
                continue
            if seen is None:
                lost += 1
                continue
            lat.append((seen - t0) * 1000.0)
            put_ms.append((t1 - t0) * 1000.0)
        ros.close()

        # How the jobs were delivered: every policy job should have been pushed.
        jobs = api.request('GET', '/v1/sites/%s/jobs' % site['id'])[1]
        policy_jobs = [j for j in jobs if j.get('kind') == 'policy']
        completed = sum(1 for j in policy_jobs if j.get('status') == 'completed')
        pulled = 0
        for j in policy_jobs[:20]:
            ev = api.request('GET', '/v1/sites/%s/jobs/%s' % (site['id'], j['id']))[1]
            if any(e['kind'] == 'downloaded' for e in ev.get('events', [])):
                pulled += 1

        lat.sort()
        put_ms.sort()
        print()
        print('policy update -> visible in the sim\'s /ip/service (ms), %d updates, %d lost:'
              % (len(lat), lost))
        print('    median %7.2f   p90 %7.2f   p99 %7.2f   max %7.2f   min %6.2f' %
              (pct(lat, 50), pct(lat, 90), pct(lat, 99), lat[-1] if lat else float('nan'),
               lat[0] if lat else float('nan')))
        print('    (of which the PUT itself: median %.2f, p99 %.2f ms)' %
              (pct(put_ms, 50), pct(put_ms, 99)))
        print('    policy jobs listed: %d, completed: %d; of the newest 20, pulled instead of '
              'pushed: %d' % (len(policy_jobs), completed, pulled))
        ok = lat and pct(lat, 99) <= 100.0 and lost == 0
        print('    target p99 <= 100 ms: %s' % ('met' if ok else 'NOT met'))
        print('load average after: %s; elapsed %.1f s' %
              (' '.join(open('/proc/loadavg').read().split()[:3]), time.time() - t_start))
    finally:
        cleanup()


if __name__ == '__main__':
    main()
