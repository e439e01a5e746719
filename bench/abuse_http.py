#!/usr/bin/env python3
"""bench/abuse_http.py - pre-auth HTTP abuse (security-review F7): run through abuse_http.sh.

1. tikgated (release build, TIKGATE_ROLES=api, log level warn) starts with its default caps,
   except TIKGATE_HTTP_REQUEST_TIMEOUT_MS=$HOLD_MS (default 120 000): with the default 30 s
   deadline the held connections would be closed before the measurement ends (an attacker
   reconnects, which costs him a TCP handshake per 30 s; the steady state is what is measured).
2. One address: opens PER_IP + 100 connections from 127.0.0.2 and counts how many the server
   keeps (the per-address cap) - one address cannot take them all.
3. IDLE (default 5000) idle pre-auth connections, each with half a request line sent, spread
   over 127.0.0.10.. at IDLE_PER_ADDR (default 50, under the per-address cap of 64) per address.
4. While they are held: SAMPLES sequential requests, each on a new connection from 127.0.0.3,
   of GET /healthz and of an authenticated GET /v1/sites; p50/p99/max (target p99 <= 100 ms),
   and the same before the connections were opened.
5. Body memory: BODY_CONN (default 300) connections each announce a body and send part of it,
   unauthenticated; VmRSS of tikgated before, while held, after. Two cases: a 1 MiB body to an
   API route without a key (answered 401 at once, nothing is read) and a login body of 16 000
   bytes, under the 16 KiB cap of unauthenticated routes, of which 15 000 are sent and held.
Standard library only; stops everything it started.
"""
import http.client
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
BUILD = os.environ.get('BUILD') or os.path.join(ROOT, 'build-bench')
TIKGATED = os.path.join(BUILD, 'src', 'daemon', 'tikgated')
IDLE = int(os.environ.get('IDLE', '5000'))
IDLE_PER_ADDR = int(os.environ.get('IDLE_PER_ADDR', '50'))
PER_IP = int(os.environ.get('PER_IP', '64'))  # tikgated's default TIKGATE_HTTP_PER_IP_CONNECTIONS
SAMPLES = int(os.environ.get('SAMPLES', '300'))
BODY_CONN = int(os.environ.get('BODY_CONN', '300'))
HOLD_MS = int(os.environ.get('HOLD_MS', '120000'))
PORT = int(os.environ.get('API_PORT', '18490'))
KEY = 'tg_sk_benchAbuse000000000000000000000'


def rss_kb(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    return -1


def connect(src, timeout=5):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.settimeout(timeout)
    s.bind((src, 0))
    s.connect(('127.0.0.1', PORT))
    return s


def state(s):
    """'open' (silent), 'answered' (the server sent something) or 'closed' (EOF or reset)."""
    s.setblocking(False)
    try:
        return 'answered' if s.recv(1) else 'closed'
    except BlockingIOError:
        return 'open'
    except OSError:
        return 'closed'
    finally:
        s.setblocking(True)


def alive(s):
    return state(s) == 'open'


def request_ms(path, auth):
    t = time.perf_counter()
    c = http.client.HTTPConnection('127.0.0.1', PORT, timeout=10, source_address=('127.0.0.3', 0))
    c.request('GET', path, headers={'Authorization': 'Bearer ' + KEY} if auth else {})
    r = c.getresponse()
    r.read()
    c.close()
    if r.status != 200:
        raise RuntimeError('%s: %d' % (path, r.status))
    return (time.perf_counter() - t) * 1000


def latency(label):
    for path, auth in (('/healthz', False), ('/v1/sites', True)):
        xs = sorted(request_ms(path, auth) for _ in range(SAMPLES))
        p99 = xs[min(len(xs) - 1, int(len(xs) * 0.99))]
        print('%-34s %-18s p50 %6.2f ms  p99 %6.2f ms  max %6.2f ms  (n=%d)' %
              (label, 'GET ' + path + (' (key)' if auth else ''), statistics.median(xs), p99,
               xs[-1], len(xs)))
        sys.stdout.flush()


def body_case(pid, label, head, part):
    before = rss_kb(pid)
    held = []
    for i in range(BODY_CONN):
        s = connect('127.0.1.%d' % (10 + i // 50))
        try:
            s.sendall(head)
            s.sendall(part)
        except OSError:
            pass
        held.append(s)
    time.sleep(1.0)
    during = rss_kb(pid)
    states = [state(s) for s in held]
    for s in held:
        s.close()
    time.sleep(1.0)
    print('%-34s RSS before %7d kB, with %d sent %7d kB (%d open, %d answered, %d closed), '
          'after %7d kB' % (label, before, BODY_CONN, during, states.count('open'),
                            states.count('answered'), states.count('closed'), rss_kb(pid)))


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    tmp = tempfile.TemporaryDirectory(prefix='tg-bench-abuse-')
    env = dict(os.environ, TIKGATE_DATA_DIR=tmp.name, TIKGATE_LISTEN='127.0.0.1:%d' % PORT,
               TIKGATE_BOOTSTRAP_TOKEN=KEY, TIKGATE_ROLES='api', TIKGATE_VPN='off',
               TIKGATE_LOG_LEVEL='warn', TIKGATE_HTTP_REQUEST_TIMEOUT_MS=str(HOLD_MS))
    log = open(os.path.join(tmp.name, 'tikgated.log'), 'wb')
    proc = subprocess.Popen([TIKGATED], env=env, stdout=log, stderr=subprocess.STDOUT)
    held = []
    try:
        for _ in range(200):
            try:
                request_ms('/healthz', False)
                break
            except (OSError, RuntimeError, http.client.HTTPException):
                time.sleep(0.05)
        print('tikgated %s, RLIMIT_NOFILE %d, request deadline %d ms (default 30000)' %
              (TIKGATED, hard, HOLD_MS))
        latency('idle server')

        one = []
        for _ in range(PER_IP + 100):
            try:
                one.append(connect('127.0.0.2'))
                one[-1].sendall(b'GET /healthz HTTP/1.1\r\n')
            except OSError:
                pass
        time.sleep(0.5)
        kept = sum(alive(s) for s in one)
        print('one address (127.0.0.2): %d connections opened, %d kept by the server '
              '(per-address cap %d)' % (len(one), kept, PER_IP))
        for s in one:
            s.close()

        t = time.time()
        for i in range(IDLE):
            s = connect('127.0.%d.%d' % (10 + i // IDLE_PER_ADDR // 250,
                                         10 + (i // IDLE_PER_ADDR) % 250))
            s.sendall(b'GET /healthz HTTP/1.1\r\n')  # half a request, then silence
            held.append(s)
        time.sleep(1.0)
        open_now = sum(alive(s) for s in held)
        print('%d idle pre-auth connections from %d addresses (%d per address): %d open '
              'after %.1f s' % (IDLE, (IDLE + IDLE_PER_ADDR - 1) // IDLE_PER_ADDR, IDLE_PER_ADDR,
                                open_now, time.time() - t))
        latency('with %d idle connections held' % open_now)
        print('tikgated VmRSS with them held: %d kB' % rss_kb(proc.pid))
        for s in held:
            s.close()
        held = []
        time.sleep(1.0)

        body_case(proc.pid, 'body 1 MiB to /v1/sites, no key',
                  b'POST /v1/sites HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n'
                  b'Content-Length: 1048576\r\n\r\n', b'{' * 65536)
        body_case(proc.pid, 'login body 16000 B, 15000 sent',
                  b'POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n'
                  b'Content-Length: 16000\r\n\r\n', b' ' * 15000)
    finally:
        for s in held:
            s.close()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        tmp.cleanup()


if __name__ == '__main__':
    main()
