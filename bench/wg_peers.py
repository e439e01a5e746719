#!/usr/bin/env python3
"""Driver of bench/wg_peers.sh (issue 9): peers into a wireguard-go interface through src/wg, and
one TCP stream through a module-configured tunnel vs a `wg`-configured one, in the same run.

Runs in the namespaces of tests/integration/netns.py (created here, removed on every exit path).
(a) `tikgate-wg bench` in the edge namespace, RUNS times: PEERS peers (real X25519 keys, one /32
    each) in one set=1 message, then ADDS single-peer adds (each its own message), get=1 of the
    whole device, ADDS removes. Medians over runs.
(b) Two edges in the edge namespace, two routers behind the NAT: edge M = `tikgate-wg serve`
    (src/wg: supervised wireguard-go, rtnetlink, UAPI) 100.64.0.1/24 <-> router A 100.64.0.2;
    edge P = plain `wireguard-go` + `wg set` + `ip` 100.64.1.1/24 <-> router B 100.64.1.2.
    iperf3, one TCP stream, edge -> router, DUR s, RUNS runs interleaved M, P, M, P...
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'tests', 'integration'))
import netns  # noqa: E402

BUILD = os.environ.get('BUILD') or os.path.join(HERE, '..', 'build')
TOOL = os.path.join(BUILD, 'src', 'wg', 'tikgate-wg')
PEERS = int(os.environ.get('PEERS', '10000'))
ADDS = int(os.environ.get('ADDS', '50'))
RUNS = int(os.environ.get('RUNS', '3'))
DUR = int(os.environ.get('DUR', '5'))
STREAM = os.environ.get('STREAM', '1') != '0'


def bench_peers(t):
    rows = []
    for i in range(RUNS):
        name = t.wg_name('b%d' % i)
        out = t.run('edge', TOOL, 'bench', '--if', name, '--peers', str(PEERS), '--adds',
                    str(ADDS), '--port', str(52000 + i), timeout=180)
        line = [x for x in out.splitlines() if x.startswith('bench ')][-1]
        row = {k: float(v) for k, v in (kv.split('=', 1) for kv in line.split()[1:])}
        rows.append(row)
        print('  run %d: bulk %.0f ms (%d bytes), add first %.3f / median %.3f / max %.3f ms, '
              'remove median %.3f ms, get=1 %.0f ms, wireguard-go RSS %.0f MB' %
              (i + 1, row['bulk_set_ms'], row['message_bytes'], row['add_first_ms'],
               row['add_median_ms'], row['add_max_ms'], row['remove_median_ms'], row['get_ms'],
               row['wireguard_go_rss_kb'] / 1024), flush=True)
    med = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
    return med


def router(t, ns, ifname, edge_pub, edge_port, addr, edge_addr, tmp):
    priv = netns.sh('wg', 'genkey').strip()
    pub = netns.sh('wg', 'pubkey', input=(priv + '\n').encode()).strip()
    key = os.path.join(tmp, ifname + '.key')
    with open(key, 'w') as f:
        f.write(priv + '\n')
    t.popen(ns, 'wireguard-go', '-f', ifname, env={'WG_PROCESS_FOREGROUND': '1',
                                                    'LOG_LEVEL': 'error'})
    sock = os.path.join(netns.UAPI_DIR, ifname + '.sock')
    netns.wait_until(lambda: os.path.exists(sock), 10, 0.02, sock)
    t.run(ns, 'wg', 'set', ifname, 'private-key', key, 'peer', edge_pub, 'endpoint',
          '%s:%d' % (netns.EDGE_PUB, edge_port), 'allowed-ips', edge_addr + '/32',
          'persistent-keepalive', '25')
    t.ip(ns, 'addr', 'add', addr + '/32', 'peer', edge_addr, 'dev', ifname)
    t.ip(ns, 'link', 'set', ifname, 'mtu', '1420', 'up')
    return pub


def iperf(t, host):
    out = t.run('edge', 'iperf3', '-c', host, '-t', str(DUR), '-J', timeout=DUR + 30)
    return json.loads(out)['end']['sum_received']['bits_per_second'] / 1e6


def bench_stream(t, tmp):
    # Edge M through src/wg.
    ifm, ifp = t.wg_name('m'), t.wg_name('p')
    tool = t.popen('edge', TOOL, 'serve', '--if', ifm, '--address', '100.64.0.1/24', '--port',
                   '51820', stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    ready = tool.stdout.readline().decode()
    if not ready.startswith('ready'):
        raise RuntimeError('tikgate-wg serve: %r' % ready)
    edge_m_pub = dict(kv.split('=', 1) for kv in ready.split()[1:])['public_key']
    # Edge P: plain wireguard-go configured by wg(8) and ip(8).
    ekey = os.path.join(tmp, 'edge-p.key')
    with open(ekey, 'w') as f:
        f.write(netns.sh('wg', 'genkey'))
    t.popen('edge', 'wireguard-go', '-f', ifp, env={'WG_PROCESS_FOREGROUND': '1',
                                                    'LOG_LEVEL': 'error'})
    sock = os.path.join(netns.UAPI_DIR, ifp + '.sock')
    netns.wait_until(lambda: os.path.exists(sock), 10, 0.02, sock)
    with open(ekey, 'rb') as f:
        edge_p_pub = netns.sh('wg', 'pubkey', input=f.read()).strip()

    pub_a = router(t, 'rtr', t.wg_name('ra'), edge_m_pub, 51820, '100.64.0.2', '100.64.0.1', tmp)
    pub_b = router(t, 'rtr2', t.wg_name('rb'), edge_p_pub, 51821, '100.64.1.2', '100.64.1.1', tmp)
    tool.stdin.write(('peer %s 100.64.0.2/32\n' % pub_a).encode())
    tool.stdin.flush()
    if not tool.stdout.readline().startswith(b'ok'):
        raise RuntimeError('peer add failed')
    t.run('edge', 'wg', 'set', ifp, 'listen-port', '51821', 'private-key', ekey, 'peer', pub_b,
          'allowed-ips', '100.64.1.2/32')
    t.ip('edge', 'addr', 'add', '100.64.1.1/24', 'dev', ifp)
    t.ip('edge', 'link', 'set', ifp, 'mtu', '1420', 'up')

    t.popen('rtr', 'iperf3', '-s', '-B', '100.64.0.2', stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
    t.popen('rtr2', 'iperf3', '-s', '-B', '100.64.1.2', stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
    for host in ('100.64.0.2', '100.64.1.2'):
        netns.wait_until(lambda h=host: subprocess.run(
            ['ip', 'netns', 'exec', t.ns['edge'], 'iperf3', '-c', h, '-t', '1', '--connect-timeout',
             '2000'], capture_output=True, timeout=20).returncode == 0,
            40, 0.5, 'iperf3 through the tunnel to ' + host)
    m, p = [], []
    for i in range(RUNS):
        m.append(iperf(t, '100.64.0.2'))
        p.append(iperf(t, '100.64.1.2'))
        print('  run %d: src/wg-configured %.0f Mbit/s, wg-configured %.0f Mbit/s' %
              (i + 1, m[-1], p[-1]), flush=True)
    return statistics.median(m), statistics.median(p)


def main():
    reason = netns.skip_reason()
    if reason:
        print('wg_peers: cannot run: ' + reason)
        return 77
    if not os.access(TOOL, os.X_OK):
        print('wg_peers: %s not built (ninja -C %s)' % (TOOL, BUILD))
        return 1
    with netns.Topology(routers=2) as t, tempfile.TemporaryDirectory(prefix='tg-wgb-') as tmp:
        print('(a) %d peers in one message, then %d single adds (wireguard-go %s), %d runs' %
              (PEERS, ADDS, netns.sh('wireguard-go', '--version').split()[1], RUNS), flush=True)
        med = bench_peers(t)
        print('wg_peers: load %d peers %.0f ms (target <= 2000), add one more: first %.3f ms, '
              'median %.3f ms, max %.3f ms (target <= 1 ms); remove one %.3f ms; get=1 of %d '
              'peers %.0f ms; %.1f KB RSS per peer' %
              (PEERS, med['bulk_set_ms'], med['add_first_ms'], med['add_median_ms'],
               med['add_max_ms'], med['remove_median_ms'], PEERS + ADDS, med['get_ms'],
               med['wireguard_go_rss_kb'] / (PEERS + ADDS)), flush=True)
        if STREAM:
            print('(b) one TCP stream edge -> router through the NAT, %d s, %d runs' % (DUR, RUNS),
                  flush=True)
            m, p = bench_stream(t, tmp)
            print('wg_peers: TCP stream src/wg %.0f Mbit/s vs plain wireguard-go+wg %.0f Mbit/s '
                  '(%.2fx)' % (m, p, m / p if p else 0), flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
