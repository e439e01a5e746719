"""Issue 9 §3-4: the tunnel address is the trust boundary (security-review.md F1, F2).

tikgated with the default TIKGATE_MANAGEMENT_NETWORKS (100.64.0.0/10) on loopback, VPN off:

- F1, validation: a typed tunnel address on loopback, unspecified, link-local, multicast or
  v4-mapped loopback is refused (400 tunnel_address_forbidden); another site's address, also of
  another tenant, is refused (409 tunnel_address_taken); a key without the admin scope cannot
  set one (403).
- F1, relay: a site whose stored address points at 127.0.0.1 (written into the database as an
  older version could have left it) with grants on the node's own API port and on a
  loopback-only service: the edge opens no listener, records `target_refused`, nothing reaches
  either service.
- F2: a fake RouterOS API server on such an address gets no connection, so no password, and
  the job fails with the reason in its log.
"""
import os
import socket
import threading
import time

import netutil
import tg
from simharness import wait_for

ENV = {'TIKGATE_MANAGEMENT_NETWORKS': '100.64.0.0/10', 'TIKGATE_ALLOW_PRIVATE_SOURCES': '1',
       'TIKGATE_EDGE_LISTEN': '127.0.0.1', 'TIKGATE_ENTRY_POINT': '127.0.0.1',
       'TIKGATE_EDGE_PORTS': '24000-24999', 'TIKGATE_JOB_BACKOFF_MS': '50',
       'TIKGATE_JOB_MAX_ATTEMPTS': '2'}


class Recorder:
    """A TCP server that records whatever any client sends (a fake router / internal service)."""

    def __init__(self, host):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.received = b''
        self.accepted = 0
        self._stop = False
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        while not self._stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            c.settimeout(1)
            try:
                self.received += c.recv(65536)
                c.sendall(b'\x05!trap\x00')
            except OSError:
                pass
            c.close()

    def close(self):
        self._stop = True
        self.t.join(2)
        self.sock.close()


class TrustBoundary(tg.DaemonTest):
    daemon_env = ENV

    def set_address_in_db(self, site_id, addr, adopted=False):
        self.d.db_execute('UPDATE sites SET tunnel_address = ? WHERE id = ?', (addr, site_id))
        if adopted:
            now = int(time.time())
            self.d.db_execute("UPDATE sites SET status = 'online', adopted_at = ?, configured_at = ?, "
                              "last_seen_at = ?, bootstrap_used_at = ?, verified_at = ? "
                              "WHERE id = ?", (now, now, now, now, now, site_id))

    def policy_with_ports(self, name, winbox, api):
        pol = self.d.request('GET', '/v1/control-plane/policies').json[0]
        body = {k: pol[k] for k in ('winbox', 'ssh', 'http', 'https', 'telnet', 'ftp', 'api',
                                    'api_ssl', 'trusted_networks', 'custom_input_rules')}
        body['name'] = name
        body['winbox']['port'] = winbox
        body['api']['port'] = api
        r = self.d.request('POST', '/v1/control-plane/policies', body)
        self.assertEqual(r.status, 201, r)
        return r.json['id']

    def test_typed_addresses_are_refused(self):
        site = self.d.request('POST', '/v1/sites', {'name': 'f1'}).json
        path = '/v1/sites/' + site['id']
        for addr in ('127.0.0.1', '127.0.0.5', '0.0.0.0', '::1', '::ffff:127.0.0.1',
                     '169.254.169.254', '224.0.0.1', '10.1.2.3', '100.64.0.1'):
            r = self.d.request('PATCH', path, {'tunnel_address': addr})
            self.assertError(r, 400, 'invalid_request_error', 'tunnel_address_forbidden',
                             'tunnel_address')
        r = self.d.request('POST', '/v1/sites', {'name': 'x', 'tunnel_address': '127.0.0.1'})
        self.assertError(r, 400, 'invalid_request_error', 'tunnel_address_forbidden')
        # A router of another tenant: its address is taken.
        _, other_key = self.d.tenant_create("tenant-b")
        r = self.d.request('POST', '/v1/sites', {'name': 'b', 'tunnel_address': '100.64.7.7'},
                           auth=other_key)
        self.assertEqual(r.status, 201, r)
        r = self.d.request('PATCH', path, {'tunnel_address': '100.64.7.7'})
        self.assertError(r, 409, 'conflict_error', 'tunnel_address_taken', 'tunnel_address')
        r = self.d.request('PATCH', path, {'tunnel_address': '100.64.7.8'})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json['tunnel']['mode'], 'external')

    def test_relay_to_loopback_and_the_node_is_refused_at_connect(self):
        internal = Recorder('127.0.0.1')  # a loopback-only service of the control-plane host
        try:
            pol = self.policy_with_ports('f1-relay', internal.port, 8728)
            site = self.d.request('POST', '/v1/sites', {'name': 'f1-relay', 'policy_id': pol}).json
            base = '/v1/control-plane/%s' % site['id']
            self.set_address_in_db(site['id'], '127.0.0.1')
            r = self.d.request('POST', base + '/transient-access',
                               {'type': 'winbox', 'full_access': True,
                                'allow_only_cidr': '127.0.0.1/32'})
            self.assertEqual(r.status, 201, r)
            a = r.json
            path = '%s/transient-access/%s/connections' % (base, a['id'])
            recs = wait_for(lambda: [c for c in self.d.request('GET', path).json
                                     if c['outcome'] == 'target_refused'], 10)
            self.assertTrue(recs, self.d.request('GET', path).json)
            self.assertFalse(netutil.port_open(a['port']))
            self.assertEqual(internal.accepted, 0)
            self.assertIn('not opened: refused to connect to 127.0.0.1', self.d.log())
        finally:
            internal.close()
        # The node's own API port through a grant whose site points at the node: same.
        pol = self.policy_with_ports('f1-api', self.d.port, 8728)
        site = self.d.request('POST', '/v1/sites', {'name': 'f1-api', 'policy_id': pol}).json
        self.set_address_in_db(site['id'], '0.0.0.0')
        r = self.d.request('POST', '/v1/control-plane/%s/transient-access' % site['id'],
                           {'type': 'winbox', 'allow_only_cidr': '127.0.0.1/32'})
        self.assertEqual(r.status, 201, r)
        time.sleep(1)
        self.assertFalse(netutil.port_open(r.json['port']))

    def test_fake_router_gets_no_password(self):
        fake = Recorder('127.0.0.77')
        try:
            pol = self.policy_with_ports('f2', 8291, fake.port)
            site = self.d.request('POST', '/v1/sites', {'name': 'f2', 'policy_id': pol}).json
            r = self.d.request('PATCH', '/v1/sites/' + site['id'],
                               {'tunnel_address': '127.0.0.77'})
            self.assertError(r, 400, 'invalid_request_error', 'tunnel_address_forbidden')
            self.set_address_in_db(site['id'], '127.0.0.77', adopted=True)  # as before the fix
            r = self.d.request('POST', '/v1/sites/%s/jobs' % site['id'],
                               {'description': 'f2', 'script': ':log info "x"'})
            self.assertEqual(r.status, 201, r)
            jid = r.json['id']
            j = wait_for(lambda: (lambda x: x if x['status'] in ('completed', 'failed') else None)(
                self.d.request('GET', '/v1/sites/%s/jobs/%s' % (site['id'], jid)).json), 15)
            self.assertTrue(j)
            self.assertEqual(j['status'], 'failed')
            self.assertIn('refused to connect to 127.0.0.77', j['last_error'])
            self.assertEqual(fake.accepted, 0)
            self.assertNotIn(b'password', fake.received)
        finally:
            fake.close()


if __name__ == '__main__':
    tg.main()
