"""HTTPS (issue 10, part 3): tikgated serving TLS from TIKGATE_TLS_CERT/KEY, the security
headers, SIGHUP reloads, and routers (tikgate-sim) that verify certificates.

The test makes its own CAs and server certificates with the openssl CLI; everything runs on
loopback. The sim trusts only what it imported with /certificate import or got with
--ca-file, never the host's CA bundle.
"""
import hashlib
import http.client
import os
import re
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import unittest
import warnings

import simharness
import tg
from simharness import wait_for

ENV = {'TIKGATE_POLL_INTERVAL': '1', 'TIKGATE_ROLES': 'api,scheduler'}


def openssl(*args):
    subprocess.run(['openssl'] + list(args), check=True, capture_output=True, timeout=30)


class Pki:
    """CAs and server certificates in a temporary directory (EC P-256, openssl CLI)."""

    def __init__(self):
        self.tmp = tempfile.TemporaryDirectory(prefix='tg-pki-')
        self.dir = self.tmp.name

    def path(self, name):
        return os.path.join(self.dir, name)

    def ca(self, name):
        openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
                '-nodes', '-keyout', self.path(name + '.key'), '-out', self.path(name + '.pem'),
                '-days', '30', '-subj', '/CN=' + name,
                '-addext', 'basicConstraints=critical,CA:TRUE',
                '-addext', 'keyUsage=critical,keyCertSign,cRLSign')
        return self.path(name + '.pem')

    def server(self, name, ca, san='DNS:localhost,IP:127.0.0.1'):
        key, csr, crt = (self.path(name + x) for x in ('.key', '.csr', '.pem'))
        ext = self.path(name + '.ext')
        with open(ext, 'w') as f:
            f.write('subjectAltName=%s\nextendedKeyUsage=serverAuth\n' % san)
        openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
                '-keyout', key, '-out', csr, '-subj', '/CN=' + name)
        openssl('x509', '-req', '-in', csr, '-CA', self.path(ca + '.pem'), '-CAkey',
                self.path(ca + '.key'), '-CAcreateserial', '-out', crt, '-days', '30',
                '-extfile', ext)
        return crt, key

    def fingerprint(self, pem):
        return hashlib.sha256(ssl.PEM_cert_to_DER_cert(read(pem).decode())).hexdigest()


def read(path):
    with open(path, 'rb') as f:
        return f.read()


def replace(path, data):
    """Writes data to path atomically (what an operator's certificate renewal does)."""
    with open(path + '.tmp', 'wb') as f:
        f.write(data)
    os.replace(path + '.tmp', path)


def peer_der(d):
    conn = d.connection()
    conn.request('GET', '/healthz')
    conn.getresponse().read()
    der = conn.sock.getpeercert(binary_form=True)
    conn.close()
    return der


class Https(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pki = Pki()
        cls.ca1 = cls.pki.ca('ca1')
        cls.ca2 = cls.pki.ca('ca2')
        cls.srv1 = cls.pki.server('srv1', 'ca1')
        cls.srv1b = cls.pki.server('srv1b', 'ca1')
        # the daemon serves copies, so the test can swap them under it
        cls.live_cert, cls.live_key = cls.pki.path('live.pem'), cls.pki.path('live.key')
        replace(cls.live_cert, read(cls.srv1[0]))
        replace(cls.live_key, read(cls.srv1[1]))
        cls.d = tg.Daemon(env=ENV, tls=(cls.live_cert, cls.live_key, cls.ca1)).start()

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()
        cls.pki.tmp.cleanup()

    def assert_security_headers(self, r, tls=True):
        h = {k.lower(): v for k, v in r.headers.items()}
        self.assertEqual(h.get('x-content-type-options'), 'nosniff', r.headers)
        self.assertEqual(h.get('referrer-policy'), 'no-referrer', r.headers)
        self.assertEqual(h.get('x-frame-options'), 'DENY', r.headers)
        csp = h.get('content-security-policy', '')
        self.assertIn("frame-ancestors 'none'", csp)
        self.assertIn("script-src 'self'", csp)
        self.assertIn("object-src 'none'", csp)
        if tls:
            self.assertRegex(h.get('strict-transport-security', ''), r'^max-age=\d{7,}')
        else:
            self.assertNotIn('strict-transport-security', h)

    def test_api_portal_errors_over_https_carry_the_headers(self):
        for method, path, auth, status in (('GET', '/healthz', None, 200),
                                           ('GET', '/v1/sites', tg.ADMIN_KEY, 200),
                                           ('GET', '/', None, 200),
                                           ('GET', '/v1/sites', None, 401),
                                           ('GET', '/nope', tg.ADMIN_KEY, 404),
                                           ('GET', '/ca.pem', None, 404)):
            r = self.d.request(method, path, auth=auth)
            self.assertEqual(r.status, status, (path, r))
            self.assert_security_headers(r)
        self.assertIn('"TLS certificate', self.d.log().replace('msg":"TLS', '"TLS'))

    def test_large_cached_answer_over_https(self):
        # a cached answer of 16 kB or more is a file (api/rcache.c): over TLS libmicrohttpd
        # reads it instead of sendfile(2); the bytes are the same every time
        body = dict(tg.seed_json_blocks()[2])  # seed 001's create body
        body['winbox'] = dict(body['winbox'], networks=['10.%d.0.0/16' % i for i in range(40)])
        for i in range(20):
            self.assertEqual(self.d.request('POST', '/v1/control-plane/policies',
                                            dict(body, name='tls-big-%d' % i)).status, 201)
        answers = [self.d.request('GET', '/v1/control-plane/policies?limit=100')
                   for _ in range(3)]
        self.assertEqual([r.status for r in answers], [200] * 3)
        self.assertGreater(len(answers[0].raw), 16 << 10)
        self.assertEqual({r.raw for r in answers}, {answers[0].raw})
        self.assertEqual(int(answers[2].headers['Content-Length']), len(answers[2].raw))

    def test_plain_http_and_old_tls_are_refused(self):
        with socket.create_connection(('127.0.0.1', self.d.port), timeout=5) as s:
            s.sendall(b'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n')
            try:
                got = s.recv(4096)
            except OSError:
                got = b''
        self.assertFalse(got.startswith(b'HTTP/'), got)
        ctx = self.d.ssl_context()
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', DeprecationWarning)
            ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
            ctx.maximum_version = ssl.TLSVersion.TLSv1_1
        try:
            ctx.set_ciphers('ALL:@SECLEVEL=0')
        except ssl.SSLError:
            pass
        with self.assertRaises((ssl.SSLError, OSError)):
            with socket.create_connection(('127.0.0.1', self.d.port), timeout=5) as s:
                with ctx.wrap_socket(s, server_hostname='127.0.0.1'):
                    pass
        # a client that does not trust the CA refuses the server
        bad = http.client.HTTPSConnection('127.0.0.1', self.d.port, timeout=5,
                                          context=ssl.create_default_context(cafile=self.ca2))
        with self.assertRaises(ssl.SSLError):
            bad.request('GET', '/healthz')
        bad.close()

    def test_sighup_reload_keeps_connections_and_survives_bad_files(self):
        old_der = peer_der(self.d)
        keep = self.d.connection()
        keep.request('GET', '/healthz')
        self.assertEqual(keep.getresponse().read()[:10], b'{"status":')
        # renewal: new certificate and key, then SIGHUP
        replace(self.live_cert, read(self.srv1b[0]))
        replace(self.live_key, read(self.srv1b[1]))
        n = self.d.log().count('TLS certificate reloaded')
        self.d.proc.send_signal(signal.SIGHUP)
        self.assertTrue(wait_for(lambda: self.d.log().count('TLS certificate reloaded') > n, 5),
                        self.d.log()[-2000:])
        new_der = peer_der(self.d)
        self.assertNotEqual(new_der, old_der)
        self.assertEqual(new_der, ssl.PEM_cert_to_DER_cert(read(self.srv1b[0]).decode()))
        # the connection opened before the reload still works (keep-alive, same socket)
        keep.request('GET', '/healthz')
        r = keep.getresponse()
        self.assertEqual(r.status, 200)
        r.read()
        self.assertEqual(keep.sock.getpeercert(binary_form=True), old_der)
        keep.close()
        # a broken file: the error is logged and the certificate in use stays
        replace(self.live_cert, b'-----BEGIN CERTIFICATE-----\nbroken\n')
        self.d.proc.send_signal(signal.SIGHUP)
        self.assertTrue(wait_for(lambda: 'TLS reload failed' in self.d.log(), 5))
        self.assertIn('still serving the previous certificate', self.d.log())
        self.assertEqual(peer_der(self.d), new_der)
        # a key that does not belong to the certificate: refused the same way
        replace(self.live_cert, read(self.srv1[0]))
        n = self.d.log().count('does not belong')
        self.d.proc.send_signal(signal.SIGHUP)
        self.assertTrue(wait_for(lambda: self.d.log().count('does not belong') > n, 5))
        self.assertEqual(peer_der(self.d), new_der)
        replace(self.live_key, read(self.srv1[1]))
        self.d.proc.send_signal(signal.SIGHUP)
        self.assertTrue(wait_for(lambda: peer_der(self.d) == old_der, 5))
        self.assertEqual(self.d.proc.poll(), None)

    def test_bad_certificate_refuses_to_start(self):
        broken = self.pki.path('broken.pem')
        replace(broken, b'not a certificate\n')
        for cert, key, why in ((broken, self.srv1[1], 'no usable PEM certificate'),
                               (self.srv1[0], self.srv1b[1], 'does not belong'),
                               (self.srv1[0], self.pki.path('missing.key'), 'cannot open'),
                               (self.srv1[0], None, 'both a certificate and a key')):
            env = dict(ENV, TIKGATE_TLS_CERT=cert)
            d = tg.Daemon(env=env)
            if key:
                d.extra_env['TIKGATE_TLS_KEY'] = key
            with self.assertRaises(RuntimeError) as e:
                d.start(timeout=5)
            self.assertIn(why, str(e.exception))
            self.assertIn('cannot serve HTTPS' if key else 'TLS needs', str(e.exception))
            d.cleanup()
        # TIKGATE_TLS_CA without an https public URL makes no sense
        d = tg.Daemon(env=dict(ENV, TIKGATE_TLS_CA=self.ca1))
        with self.assertRaises(RuntimeError) as e:
            d.start(timeout=5)
        self.assertIn('needs an https TIKGATE_PUBLIC_URL', str(e.exception))
        d.cleanup()


class RoutersVerify(unittest.TestCase):
    """The sim bootstraps with certificate checks on; a wrong server is refused."""

    @classmethod
    def setUpClass(cls):
        cls.pki = Pki()
        cls.ca1 = cls.pki.ca('ca1')
        cls.ca2 = cls.pki.ca('ca2')
        cls.srv1 = cls.pki.server('srv1', 'ca1')
        cls.srv2 = cls.pki.server('srv2', 'ca2')
        cls.wrong_host = cls.pki.server('wrong', 'ca1', san='DNS:wrong.example')
        cls.fp1 = cls.pki.fingerprint(cls.ca1)
        cls.fp2 = cls.pki.fingerprint(cls.ca2)
        cls.cleanups = []

    @classmethod
    def tearDownClass(cls):
        for c in reversed(cls.cleanups):
            c()
        cls.pki.tmp.cleanup()

    def daemon(self, srv, ca_file=None, client_ca=None, check_hostname=True):
        env = dict(ENV)
        if ca_file:
            env['TIKGATE_TLS_CA'] = ca_file
        d = tg.Daemon(env=env, tls=(srv[0], srv[1], client_ca or self.ca1))
        if not check_hostname:  # the test itself talks to a server with the wrong name
            ctx = d.ssl_context()
            ctx.check_hostname = False
            d.ssl_context = lambda cafile=None: ctx
        d.extra_env['TIKGATE_PUBLIC_URL'] = 'https://127.0.0.1:%d' % d.port
        d.start()
        self.cleanups.append(d.cleanup)
        return d

    def sim(self, address, command, extra=None):
        s = simharness.Sim(address, bootstrap_command=command, poll_interval=0.3,
                           extra=extra).start()
        self.cleanups.append(s.cleanup)
        return s

    def site(self, d):
        s = d.request('POST', '/v1/sites', {'name': 'tls'}).json
        return s['id'], s['bootstrap_command']

    def status(self, d, site_id):
        return d.request('GET', '/v1/sites/' + site_id).json['status']

    def files_left(self, sim):
        """The files the sim's /file held after its last script run."""
        lines = re.findall(r'after [^:]+: /file holds (\d+) file\(s\)(?:: ([^"]*))?',
                           sim.log())
        return lines[-1] if lines else ('0', '')

    def assert_pending(self, d, site_id, sim, why):
        time.sleep(2.5)
        self.assertEqual(self.status(d, site_id), 'pending_onboarding', sim.log()[-3000:])
        self.assertRegex(sim.log(), why)

    def test_with_tls_ca_the_router_installs_and_verifies_the_ca(self):
        d = self.daemon(self.srv1, ca_file=self.ca1)
        r = d.request('GET', '/ca.pem', auth=None)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.raw.count(b'BEGIN CERTIFICATE'), 1)
        site_id, cmd = self.site(d)
        self.assertIn('fingerprint="%s"' % self.fp1, cmd)
        self.assertEqual(cmd.count('check-certificate=no'), 1)  # only the CA's own fetch
        self.assertIn('/bootstrap/', cmd.split('check-certificate=no')[1])
        sim = self.sim('127.0.0.31', cmd)
        self.assertTrue(wait_for(lambda: self.status(d, site_id) == 'online', 15),
                        sim.log()[-3000:])
        self.assertTrue(simharness.adoption_script_done(sim), sim.log()[-3000:])
        certs = sim.menu('/certificate')
        self.assertEqual([c['fingerprint'] for c in certs], [self.fp1])
        self.assertEqual(certs[0]['name'], 'tikgate-ca.pem_0')
        sched = {x['name']: x for x in sim.menu('/system/scheduler')}['tikgate-poll']
        self.assertIn('check-certificate=yes', sched['on-event'])
        self.assertIn('/file remove', sched['on-event'])
        # polls keep succeeding with the check on, and no fetched file stays on the router
        self.assertTrue(wait_for(lambda: d.log().count('POST /poll 200') >= 3, 10), d.log())
        self.assertEqual(self.files_left(sim)[0], '0', sim.log()[-3000:])
        self.assertNotRegex(sim.log(), r'tikgate-poll failed')
        self.assertEqual(self.status(d, site_id), 'online')

    def test_a_real_certificate_needs_no_ca_step(self):
        # a certificate routers trust out of the box: the sim's --ca-file stands in for the
        # router's built-in trust anchors
        d = self.daemon(self.srv1)
        site_id, cmd = self.site(d)
        self.assertNotIn('/certificate', cmd)
        self.assertIn('check-certificate=yes', cmd)
        sim = self.sim('127.0.0.32', cmd, extra=['--ca-file', self.ca1])
        self.assertTrue(wait_for(lambda: self.status(d, site_id) == 'online', 15),
                        sim.log()[-3000:])
        self.assertEqual(sim.menu('/certificate'), [])
        # the same command on a router that does not trust the CA is refused
        site2, cmd2 = self.site(d)
        sim2 = self.sim('127.0.0.33', cmd2)
        self.assert_pending(d, site2, sim2, r'bootstrap failed at line 1: /tool fetch .*failed')

    def test_wrong_ca_is_refused(self):
        # the real CA is fetched and matches, but the server (a man in the middle) presents a
        # certificate from another CA: the checked bootstrap fetch fails
        d = self.daemon(self.srv2, ca_file=self.ca1, client_ca=self.ca2)
        site_id, cmd = self.site(d)
        sim = self.sim('127.0.0.34', cmd)
        self.assert_pending(d, site_id, sim, r'bootstrap failed at line 1: /tool fetch .*/bootstrap')
        self.assertEqual([c['fingerprint'] for c in sim.menu('/certificate')], [self.fp1])

    def test_wrong_host_name_is_refused(self):
        d = self.daemon(self.wrong_host, ca_file=self.ca1, check_hostname=False)
        site_id, cmd = self.site(d)
        sim = self.sim('127.0.0.35', cmd)
        self.assert_pending(d, site_id, sim, r'bootstrap failed at line 1: /tool fetch .*/bootstrap')

    def test_ca_with_another_fingerprint_is_removed(self):
        # the server hands out ca2, but the operator's command vouches for ca1
        d = self.daemon(self.srv2, ca_file=self.ca2, client_ca=self.ca2)
        site_id, cmd = self.site(d)
        self.assertIn(self.fp2, cmd)
        sim = self.sim('127.0.0.36', cmd.replace(self.fp2, self.fp1))
        self.assert_pending(d, site_id, sim, r'does not have the fingerprint of this command')
        self.assertEqual(sim.menu('/certificate'), [])  # the wrong CA did not stay
        self.assertEqual(self.files_left(sim)[0], '0')


if __name__ == '__main__':
    tg.main()
