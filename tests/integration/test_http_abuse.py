"""Pre-auth HTTP abuse (security-review F7) and the HTTP parts of F11, F12, F15.

Each test holds its own sockets and closes them; the daemon runs with a small per-address cap
and a short request deadline so the bounds are reached quickly.
"""
import os
import re
import socket
import stat
import time
import unittest

import tg

PER_IP = 8
DEADLINE_MS = 1500


def raw_connect(port, src='127.0.0.1', timeout=5):
    s = socket.socket()
    s.settimeout(timeout)
    s.bind((src, 0))
    s.connect(('127.0.0.1', port))
    return s


def read_reply(s, limit=65536):
    """Everything the server sends until it closes or goes quiet for the socket timeout."""
    data = b''
    try:
        while len(data) < limit:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
            if b'\r\n\r\n' in data:
                head, _, body = data.partition(b'\r\n\r\n')
                m = re.search(rb'(?i)content-length: *(\d+)', head)
                if m and len(body) >= int(m.group(1)):
                    break
    except (socket.timeout, ConnectionResetError):
        pass  # quiet, or closed with a reset (a refused connection over a cap)
    return data


def closed_by_peer(s, within):
    """True when the server closes s (EOF or reset) within `within` seconds."""
    s.settimeout(within)
    try:
        while True:
            chunk = s.recv(4096)
            if not chunk:
                return True
    except socket.timeout:
        return False
    except OSError:
        return True


class HttpAbuseTest(tg.DaemonTest):
    daemon_env = {'TIKGATE_HTTP_PER_IP_CONNECTIONS': str(PER_IP),
                  'TIKGATE_HTTP_REQUEST_TIMEOUT_MS': str(DEADLINE_MS),
                  'TIKGATE_HTTP_PUBLIC_MAX_BODY': '4096'}

    def test_per_address_cap(self):
        """One address holds at most PER_IP connections; another address still gets served."""
        held = [raw_connect(self.d.port, src='127.0.0.8') for _ in range(PER_IP)]
        try:
            time.sleep(0.2)
            extra = raw_connect(self.d.port, src='127.0.0.8')
            extra.sendall(b'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n')
            self.assertNotIn(b'200 OK', read_reply(extra)[:64], 'over the per-address cap')
            extra.close()
            other = raw_connect(self.d.port, src='127.0.0.9')
            other.sendall(b'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
            self.assertIn(b'200 OK', read_reply(other)[:64])
            other.close()
        finally:
            for s in held:
                s.close()

    def test_header_deadline_is_total(self):
        """A client trickling a header byte every 0.3 s is cut off at the total deadline."""
        s = raw_connect(self.d.port, src='127.0.0.3')
        try:
            s.sendall(b'GET /healthz HTTP/1.1\r\n')
            start = time.time()
            cut = False
            while time.time() - start < DEADLINE_MS / 1000 * 4:
                try:
                    s.sendall(b'X')
                except OSError:
                    cut = True
                    break
                if closed_by_peer(s, 0.3):
                    cut = True
                    break
            elapsed = time.time() - start
            self.assertTrue(cut, 'a trickled header kept the connection open')
            self.assertLess(elapsed, DEADLINE_MS / 1000 + 1.5, elapsed)
        finally:
            s.close()

    def test_body_deadline_is_total(self):
        """An authenticated upload trickled byte by byte is cut off at the total deadline."""
        s = raw_connect(self.d.port, src='127.0.0.4')
        try:
            s.sendall(('POST /v1/sites HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n'
                       'Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n'
                       % tg.ADMIN_KEY).encode())
            start = time.time()
            cut = False
            while time.time() - start < DEADLINE_MS / 1000 * 4:
                try:
                    s.sendall(b' ')
                except OSError:
                    cut = True
                    break
                if closed_by_peer(s, 0.3):
                    cut = True
                    break
            self.assertTrue(cut, 'a trickled body kept the connection open')
            self.assertLess(time.time() - start, DEADLINE_MS / 1000 + 1.5)
        finally:
            s.close()

    def test_unauthenticated_body_refused_before_it_is_sent(self):
        """401 on the headers alone: the server answers without waiting for the body."""
        s = raw_connect(self.d.port, src='127.0.0.5')
        try:
            s.sendall(b'POST /v1/sites HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n'
                      b'Content-Length: 1000000\r\n\r\n{"name":')
            reply = read_reply(s)
            self.assertIn(b' 401 ', reply[:32], reply[:200])
            self.assertIn(b'authentication_required', reply)
        finally:
            s.close()

    def test_public_route_small_body_cap(self):
        """Routes without an API key take at most TIKGATE_HTTP_PUBLIC_MAX_BODY: 413 at once."""
        s = raw_connect(self.d.port, src='127.0.0.6')
        try:
            s.sendall(b'POST /v1/auth/login HTTP/1.1\r\nHost: x\r\n'
                      b'Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n{')
            reply = read_reply(s)
            self.assertIn(b' 413 ', reply[:32], reply[:200])
            self.assertIn(b'4096 bytes', reply)
        finally:
            s.close()
        # chunked, no length announced: still capped
        big = b'{"email":"' + b'a' * 5000 + b'"}'
        r = self.d.request('POST', '/adopt/nosuchtoken0123456789', raw=big, auth=None,
                           content_type='text/plain')
        self.assertError(r, 413, 'invalid_request_error', 'body_too_large')
        # an authenticated route keeps max_body
        r = self.d.request('POST', '/v1/sites', raw=b'{"name":"' + b'x' * 5000 + b'"}')
        self.assertNotEqual(r.status, 413, r)

    def test_unknown_route_refused_before_body(self):
        s = raw_connect(self.d.port, src='127.0.0.7')
        try:
            s.sendall(b'POST /v1/nosuchroute HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n'
                      b'\r\n{')
            reply = read_reply(s)
            self.assertIn(b' 404 ', reply[:32], reply[:200])
        finally:
            s.close()

    def test_security_headers_on_errors_and_files(self):
        for path, auth in (('/', None), ('/assets/app.js', None), ('/v1/sites', None),
                           ('/nosuch', None), ('/v1/sites', tg.ADMIN_KEY)):
            r = self.d.request('GET', path, auth=auth)
            for h in ('X-Content-Type-Options', 'X-Frame-Options', 'Content-Security-Policy',
                      'Referrer-Policy'):
                self.assertIn(h, r.headers, (path, r.status))
            self.assertIn("frame-ancestors 'none'", r.headers['Content-Security-Policy'])

    def test_percent_ff_path_has_message(self):
        r = self.d.request('GET', '/%FF%FE', auth=None)
        self.assertError(r, 404, 'not_found_error', 'route_not_found')
        self.assertTrue(r.json['message'])

    def test_nul_in_path_is_404(self):
        self.assertEqual(self.d.request('GET', '/assets/app.js', auth=None).status, 200)
        r = self.d.request('GET', '/assets/app.js%00.png', auth=None)
        self.assertEqual(r.status, 404, r)

    def test_invalid_utf8_facts_keep_identity(self):
        """F15: facts with invalid UTF-8 are stored; Site JSON still has identity (U+FFFD)."""
        s = self.d.request('POST', '/v1/sites', {'name': 'utf8'}).json
        token = re.search(r'/bootstrap/(\w+)"', s['bootstrap_command']).group(1)
        r = self.d.request('POST', '/adopt/' + token, auth=None, content_type='text/plain',
                           raw=b'identity=\xff\xferouter;model=CHR;serial-number=X1;version=7.15;'
                           b'tunnel-address=127.0.0.251/32')
        self.assertEqual(r.status, 200, r)
        site = self.d.request('GET', '/v1/sites/' + s['id']).json
        self.assertIn('identity', site)
        self.assertEqual(site['identity'], '\ufffd\ufffdrouter')
        listed = self.d.request('GET', '/v1/sites').json
        items = listed['data'] if isinstance(listed, dict) else listed
        self.assertIn('\ufffd\ufffdrouter', [x.get('identity') for x in items])

    def test_invalid_utf8_job_text(self):
        """F15: a text/plain job that is not UTF-8 is refused as such, not as empty."""
        site = self.d.request('POST', '/v1/sites', {'name': 'utf8-job'}).json['id']
        r = self.d.request('POST', '/v1/sites/%s/jobs' % site, raw=b'/log info \xff\xfe',
                           content_type='text/plain', headers={'X-Description': 'bad bytes'})
        self.assertError(r, 400, 'invalid_request_error', 'parameter_invalid', 'script')
        self.assertIn('UTF-8', r.json['message'])

    def test_token_paths_elided_in_log(self):
        token = 'SecretBootstrapTokenABCDEF0123456789'
        self.d.request('GET', '/bootstrap/' + token, auth=None)
        self.d.request('POST', '/adopt/' + token, raw=b'x', auth=None, content_type='text/plain')
        # the signed job URLs carry their signature in the query string, which is not logged
        self.d.request('GET', '/job/01234567-89ab-7def-8123-456789abcdef/update?status=done'
                       '&signature=SecretSignature0123456789abcdef', auth=None)
        time.sleep(0.2)
        log = self.d.log()
        self.assertNotIn(token, log)
        self.assertNotIn('SecretSignature', log)
        self.assertIn('GET /job/01234567-89ab-7def-8123-456789abcdef/update 403', log)
        self.assertIn('GET /bootstrap/...', log)
        self.assertIn('POST /adopt/...', log)


class DataDirTest(unittest.TestCase):
    """F11: a generated admin key is printed once; F12: the data dir and its files are private."""

    def mode(self, path):
        return stat.S_IMODE(os.lstat(path).st_mode)

    def test_modes_and_key_shown_once(self):
        d = tg.Daemon(env={'TIKGATE_BOOTSTRAP_TOKEN': None})
        try:
            os.chmod(d.data_dir, 0o755)  # as scripts/run.sh's `mkdir -p var` used to leave it
            d.start()
            d.request('GET', '/healthz', auth=None)
            with open(os.path.join(d.data_dir, 'admin.key')) as f:
                key = f.read().strip()
            self.assertEqual(d.log().count(key), 1, d.log())
            self.assertEqual(d.request('GET', '/v1/sites', auth=key).status, 200)
            d.stop()
            for name in ('tikgate.db', 'tikgate.db-wal', 'tikgate.db-shm', 'master.key',
                         'admin.key', 'admin.password', 'tikgated.log'):
                path = os.path.join(d.data_dir, name)
                if os.path.exists(path):
                    self.assertEqual(self.mode(path), 0o600, name)
            self.assertEqual(self.mode(d.data_dir), 0o700)
            # a later start fixes modes loosened in between and does not print the key again
            os.chmod(d.data_dir, 0o755)
            os.chmod(os.path.join(d.data_dir, 'admin.key'), 0o644)
            if tg.BACKEND == 'sqlite':  # PostgreSQL: no database file here
                os.chmod(os.path.join(d.data_dir, 'tikgate.db'), 0o644)
            d.start()
            d.stop()
            self.assertEqual(d.log().count(key), 1)
            self.assertIn('admin API key: in DATA_DIR/admin.key', d.log())
            self.assertIn('(group/other access)', d.log())
            self.assertEqual(self.mode(d.data_dir), 0o700)
            self.assertEqual(self.mode(os.path.join(d.data_dir, 'admin.key')), 0o600)
            if tg.BACKEND == 'sqlite':
                self.assertEqual(self.mode(os.path.join(d.data_dir, 'tikgate.db')), 0o600)
        finally:
            d.cleanup()


if __name__ == '__main__':
    tg.main()
