"""Security-review F9: slow routers cannot stall other tenants' express pushes.

The review's attack: a tenant's four adopted sites whose tunnel address is a server that
accepts the RouterOS API connection and then trickles one byte every 5 s (never a whole
sentence, so the 10 s per-read timeout is never reached). Before the fix the four pushes held
the four dispatcher workers for ever and a victim tenant's express job stayed pending.

Now: a tenant may hold at most TIKGATE_DISPATCH_TENANT_WORKERS (default workers - 1) workers,
so the victim's job (a fake RouterOS API that answers at once, on 127.0.0.71) completes within
a few seconds while the attacker's pushes are still stuck; and every push has one total
deadline (TIKGATE_PUSH_DEADLINE_MS, 4 s here), after which the attacker's jobs retry and fail
with the reason in their log. Addresses are loopback ones inside the harness's management
networks (127.0.0.0/8, tests/integration/tg.py); adoption is written into the database.
"""
import os
import socket
import threading
import time

import rosapi
import tg
from simharness import wait_for

ENV = {'TIKGATE_DISPATCH_WORKERS': '4', 'TIKGATE_PUSH_DEADLINE_MS': '4000',
       'TIKGATE_JOB_BACKOFF_MS': '50', 'TIKGATE_JOB_MAX_ATTEMPTS': '2',
       'TIKGATE_EDGE_LISTEN': '127.0.0.1', 'TIKGATE_EDGE_PORTS': '25000-25099'}
API_PORT = 8728  # the default policy's api port, on each fake router's own address


class Group:
    """Live connections over several servers (the most at once)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.live = 0
        self.most = 0


class Server:
    """A TCP server on host:API_PORT; each connection runs handler(conn) in a thread."""

    def __init__(self, host, handler, group=None):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, API_PORT))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.handler = handler
        self.stopping = False
        self.group = group or Group()
        self.accepted = 0
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        g = self.group
        with g.lock:
            self.accepted += 1
            g.live += 1
            g.most = max(g.most, g.live)
        try:
            self.handler(self, c)
        except OSError:
            pass
        finally:
            c.close()
            with g.lock:
                g.live -= 1

    def close(self):
        self.stopping = True
        self.t.join(2)
        self.sock.close()


def trickle(server, c):
    """One byte every 5 s: the length of a word that never ends, then its first bytes."""
    c.settimeout(0.5)
    b = b'\x7f'
    while not server.stopping:
        c.sendall(b)
        b = b'x'
        end = time.time() + 5
        while time.time() < end and not server.stopping:
            try:
                if c.recv(65536) == b'':
                    return  # tikgated gave up
            except socket.timeout:
                pass


def read_sentence(f):
    words = []
    while True:
        n = f.read(1)
        if not n:
            return None
        length = n[0]
        if length & 0x80:  # 2-byte lengths are enough for these tests
            length = ((length & 0x3f) << 8) | f.read(1)[0]
        if length == 0:
            return words
        words.append(f.read(length).decode())


def send_sentence(c, words):
    c.sendall(b''.join(rosapi.encode_length(len(w.encode())) + w.encode() for w in words) + b'\0')


def good_router(server, c):
    """Answers /login with !done and /execute with the script's final :put (the success mark)."""
    c.settimeout(5)
    f = c.makefile('rb')
    while True:
        words = read_sentence(f)
        if words is None:
            return
        tag = [w for w in words if w.startswith('.tag=')]
        reply = ['!done']
        script = [w for w in words if w.startswith('=script=')]
        if words[0] == '/execute' and script:
            mark = script[0].rsplit(':put "', 1)[-1].rstrip('"')
            reply.append('=ret=' + mark + '\n')
        send_sentence(c, reply + tag)


class PushFairness(tg.DaemonTest):
    daemon_env = ENV

    def adopt(self, site_id, addr):
        now = int(time.time())
        # as an adoption does: verified now (the drift check's first turn is an interval away)
        self.d.db_execute("UPDATE sites SET tunnel_address = ?, status = 'online', "
                          "adopted_at = ?, configured_at = ?, last_seen_at = ?, bootstrap_used_at = ?, "
                          "verified_at = ? WHERE id = ?",
                          (addr, now, now, now, now, now, site_id))

    def job(self, site_id, key=tg.ADMIN_KEY):
        r = self.d.request('POST', '/v1/sites/%s/jobs' % site_id,
                           {'description': 'f9', 'script': ':log info "f9"'}, auth=key)
        self.assertEqual(r.status, 201, r)
        return r.json['id']

    def get_job(self, site_id, job_id, key=tg.ADMIN_KEY):
        return self.d.request('GET', '/v1/sites/%s/jobs/%s' % (site_id, job_id), auth=key).json

    def sample_running(self, tenant, stop, most):
        """Until stop is set: the most jobs of tenant being pushed at once (the store's view)."""
        while not stop.is_set():
            n = self.d.db_query("SELECT count(*) FROM jobs j JOIN sites s ON s.id = j.site_id "
                                "WHERE s.tenant_id = ? AND j.status = 'running' AND "
                                "j.via = 'push'", (tenant,))[0][0]
            most[0] = max(most[0], n)
            time.sleep(0.02)

    def test_slow_routers_do_not_stall_another_tenant(self):
        tenant, key = self.d.tenant_create('attacker')
        stop, most = threading.Event(), [0]
        sampler = threading.Thread(target=self.sample_running, args=(tenant, stop, most))
        sampler.start()
        try:
            self.attack(key)
        finally:
            stop.set()
            sampler.join(5)
        # never more than the share (workers - 1) at once, also across the retries
        self.assertEqual(most[0], 3)

    def attack(self, key):
        held = Group()
        slow = [Server('127.0.0.%d' % (81 + i), trickle, held) for i in range(4)]
        victim_router = Server('127.0.0.71', good_router)
        try:
            sites = []
            for i in range(4):
                r = self.d.request('POST', '/v1/sites', {'name': 'slow%d' % i}, auth=key)
                self.assertEqual(r.status, 201, r)
                self.adopt(r.json['id'], '127.0.0.%d' % (81 + i))
                sites.append(r.json['id'])
            victim = self.d.request('POST', '/v1/sites', {'name': 'victim'}).json['id']
            self.adopt(victim, '127.0.0.71')
            slow_jobs = [(s, self.job(s, key)) for s in sites]
            # the attacker's pushes take their share of the workers (3 of 4) and hang there
            self.assertTrue(wait_for(lambda: held.live >= 3, 5), held.live)
            t0 = time.time()
            jid = self.job(victim)
            j = wait_for(lambda: (lambda x: x if x['status'] == 'completed' else None)(
                self.get_job(victim, jid)), 10)
            took = time.time() - t0
            self.assertTrue(j, self.get_job(victim, jid))
            self.assertLess(took, 3.0, 'the victim waited %.1f s' % took)
            self.assertEqual(victim_router.accepted, 1)
            # the total deadline ends each slow push: retried once, then failed with the reason
            for site, sj in slow_jobs:
                j = wait_for(lambda: (lambda x: x if x['status'] == 'failed' else None)(
                    self.get_job(site, sj, key)), 30)
                self.assertTrue(j, self.get_job(site, sj, key))
                self.assertIn('did not finish within 4000 ms', j['last_error'])
            self.assertTrue(wait_for(lambda: held.live == 0, 3), held.live)
        finally:
            for s in slow + [victim_router]:
                s.close()


if __name__ == '__main__':
    tg.main()
