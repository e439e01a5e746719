"""Issue 14 "How it is checked": deadlines and convergence through faults.

- The router stops answering (tikgate-sim SIGSTOPped) with jobs queued and a forward expiring:
  the edge still cuts the forward's live connection at its deadline and refuses its port (the
  edge never needs the router for that), the jobs wait instead of failing, and when the
  router answers again everything converges: the jobs complete and the forward's dst-nat
  rule leaves the router.
- tikgated itself stopped (SIGSTOP) across a forward's deadline: on SIGCONT the edge cuts the
  connection and refuses the port at once; the grant reads expired and leaves the router.

No assertion on time: every wait is a bounded wait_for. Addresses: the router 127.0.0.121,
the LAN device (an echo server) 127.0.0.122, masqueraded relays from 127.0.0.123; edge ports
27000-27099.
"""
import datetime
import signal
import time

import netutil
import simharness
import tg
from simharness import wait_for

ENV = {'TIKGATE_POLL_INTERVAL': '1', 'TIKGATE_ALLOW_PRIVATE_SOURCES': '1',
       'TIKGATE_EDGE_LISTEN': '127.0.0.1', 'TIKGATE_ENTRY_POINT': '127.0.0.1',
       'TIKGATE_EDGE_PORTS': '27000-27099', 'TIKGATE_JOB_BACKOFF_MS': '200',
       'TIKGATE_JOB_MAX_ATTEMPTS': '30', 'TIKGATE_JOB_BACKOFF_MAX_MS': '1000'}
ROUTER, LAN, MASQ = '127.0.0.121', '127.0.0.122', '127.0.0.123'


def iso_in(seconds):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds)
    return t.strftime('%Y-%m-%dT%H:%M:%S+00:00')


class Faults(tg.DaemonTest):
    daemon_env = ENV

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.site, cls.sim = simharness.adopted(cls.d, 'faults', ROUTER, lan_address=MASQ)
        cls.addClassCleanup(cls.sim.cleanup)
        cls.base = '/v1/control-plane/%s' % cls.site
        cls.lan = netutil.EchoServer(LAN, 0)
        cls.addClassCleanup(cls.lan.close)

    def forward(self):
        """A committed forward to the LAN echo server and a live connection through it."""
        r = self.d.request('POST', self.base + '/transient-forward',
                           {'expire_after_minutes': 10, 'dst_address': LAN,
                            'dst_port': self.lan.port, 'allow_only_cidr': '127.0.0.1/32'})
        self.assertEqual(r.status, 201, r)
        f = r.json
        ok = wait_for(lambda: self.grant(f['id'])['config_committed_to_site'], 15)
        self.assertTrue(ok, self.sim.log()[-2000:])
        s = wait_for(lambda: self.live(f['port']), 10)
        self.assertTrue(s, 'no bytes came back through the forward')
        self.addCleanup(s.close)
        return f, s

    def grant(self, gid):
        return self.d.request('GET', '%s/transient-forward/%s' % (self.base, gid)).json

    @staticmethod
    def live(port):
        try:
            s = netutil.connect(port, timeout=2)
            if netutil.roundtrip(s, b'ping') == b'ping':
                return s
            s.close()
        except OSError:
            pass
        return None

    def nat_rules(self, gid):
        return [n for n in self.sim.menu('/ip/firewall/nat')
                if n.get('comment') == 'tikgate:fwd:' + gid]

    def job(self, jid):
        return self.d.request('GET', '/v1/sites/%s/jobs/%s' % (self.site, jid)).json

    def test_router_stopped_edge_still_cuts_then_everything_converges(self):
        f, s = self.forward()
        self.assertEqual(len(self.nat_rules(f['id'])), 1)
        self.sim.pause()
        resumed = False
        try:
            jobs = [self.d.request('POST', '/v1/sites/%s/jobs' % self.site,
                                   {'description': 'queued %d' % i,
                                    'script': ':log info "queued %d"' % i}).json['id']
                    for i in range(3)]
            r = self.d.request('PATCH', '%s/transient-forward/%s' % (self.base, f['id']),
                               {'expires_at': iso_in(2)})
            self.assertEqual(r.status, 200, r)
            # The edge cuts at the deadline on its own: the router is not asked.
            self.assertIsNotNone(netutil.wait_closed(s, 15), 'the live connection stayed open')
            self.assertTrue(wait_for(lambda: not netutil.port_open(f['port']), 5))
            g = self.grant(f['id'])
            self.assertTrue(g['expired'], g)
            self.assertFalse(g['config_removed_from_site'], g)  # the router has not answered
            # The jobs wait for the router: none failed, none is done.
            states = [self.job(j)['status'] for j in jobs]
            self.assertTrue(all(st in ('pending', 'running') for st in states), states)
            self.assertEqual(len(self.nat_rules(f['id'])), 1)  # still on the stopped router
            self.sim.resume()
            resumed = True
            done = wait_for(lambda: all(self.job(j)['status'] == 'completed' for j in jobs), 60)
            self.assertTrue(done, [self.job(j) for j in jobs])
            self.assertTrue(wait_for(lambda: not self.nat_rules(f['id']), 30),
                            self.sim.log()[-2000:])
            self.assertTrue(wait_for(lambda: self.grant(f['id'])['config_removed_from_site'],
                                     15))
        finally:
            if not resumed:
                self.sim.resume()

    def test_tikgated_stopped_across_a_deadline_holds_it_on_resume(self):
        f, s = self.forward()
        r = self.d.request('PATCH', '%s/transient-forward/%s' % (self.base, f['id']),
                           {'expires_at': iso_in(2)})
        self.assertEqual(r.status, 200, r)
        self.d.proc.send_signal(signal.SIGSTOP)
        try:
            time.sleep(4)  # past the deadline while nothing of tikgated runs
            self.assertIsNone(self.d.proc.poll())
        finally:
            self.d.proc.send_signal(signal.SIGCONT)
        self.assertIsNotNone(netutil.wait_closed(s, 10), 'the live connection stayed open')
        self.assertTrue(wait_for(lambda: not netutil.port_open(f['port']), 5))
        self.assertTrue(self.grant(f['id'])['expired'])
        self.assertTrue(wait_for(lambda: not self.nat_rules(f['id']), 30),
                        self.sim.log()[-2000:])


if __name__ == '__main__':
    tg.main()
