"""A private PostgreSQL server for the tests (DESIGN.md §11: every test on both backends).

    from pgserver import PgServer
    with PgServer() as pg:
        url = pg.create_database('t1')      # postgresql://tikgate@/t1?host=<socket dir>

stop_server() / start_server() stop the cluster (fast shutdown: clients are disconnected) and
start it again on the same data and socket, for outage tests (test_pg_outage.py).

or as a wrapper that runs a command against a fresh database:

    pgserver.py -- COMMAND ARGS...      (TG_TEST_DATABASE=<url> TG_TEST_PSQL=<psql> COMMAND)

initdb and postgres from the Debian package (/usr/lib/postgresql/<n>/bin, or PG_BIN) in a
temporary directory, listening only on a unix socket in that directory (no TCP port), fsync
off. As root they run as the user `nobody` (PostgreSQL refuses to run as root) on a directory
it owns; the server gets SIGTERM when this process dies (PR_SET_PDEATHSIG), and stop() (also
at exit and on SIGTERM/SIGINT) shuts it down and removes the directory. Start-up is bounded
(30 s). Exits 77 (skip) when no PostgreSQL is installed.
"""
import atexit
import ctypes
import glob
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time

SKIP = 77


def pg_bin():
    if os.environ.get('PG_BIN'):
        return os.environ['PG_BIN']
    found = sorted(glob.glob('/usr/lib/postgresql/*/bin/postgres'),
                   key=lambda p: int(p.split('/')[4]) if p.split('/')[4].isdigit() else 0)
    return os.path.dirname(found[-1]) if found else None


def _demote(uid, gid):
    def run():
        if uid is not None:
            os.setgid(gid)
            os.setgroups([])
            os.setuid(uid)
        # After setuid (a credential change clears it): die with the test process.
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    return run


class PgServer:
    def __init__(self, timeout=30):
        self.bin = pg_bin()
        if not self.bin:
            raise FileNotFoundError('no PostgreSQL server (/usr/lib/postgresql/*/bin)')
        self.timeout = timeout
        self.proc = None
        self.dir = None
        self.uid = self.gid = None
        if os.geteuid() == 0:
            pw = pwd.getpwnam('nobody')
            self.uid, self.gid = pw.pw_uid, pw.pw_gid

    def _run(self, args, **kw):
        return subprocess.run(args, preexec_fn=_demote(self.uid, self.gid), check=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60,
                              **kw)

    def start(self):
        # Under /tmp when root: `nobody` must reach it (TMPDIR may be a private directory), and
        # the socket path stays short (107 bytes at most).
        self.dir = tempfile.mkdtemp(prefix='tg-pg-', dir='/tmp' if self.uid is not None else None)
        os.chmod(self.dir, 0o755)
        if self.uid is not None:
            os.chown(self.dir, self.uid, self.gid)
        atexit.register(self.stop)
        for sig in (signal.SIGTERM, signal.SIGINT):
            if signal.getsignal(sig) in (signal.SIG_DFL, signal.default_int_handler):
                signal.signal(sig, lambda s, f: sys.exit(128 + s))
        data = os.path.join(self.dir, 'data')
        self._run([os.path.join(self.bin, 'initdb'), '-D', data, '-U', 'tikgate', '-A', 'trust',
                   '-E', 'UTF8', '--no-sync', '--no-instructions'])
        return self.start_server()

    def start_server(self):
        """Starts postgres on the cluster made by start() (again after stop_server())."""
        data = os.path.join(self.dir, 'data')
        self.log = open(os.path.join(self.dir, 'postgres.log'), 'ab')
        self.proc = subprocess.Popen(
            [os.path.join(self.bin, 'postgres'), '-D', data, '-k', self.dir, '-c',
             'listen_addresses=', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c',
             'full_page_writes=off', '-c', 'max_connections=200'],
            preexec_fn=_demote(self.uid, self.gid), stdout=self.log, stderr=subprocess.STDOUT,
            cwd=self.dir)
        deadline = time.time() + self.timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError('postgres exited: ' + self.server_log())
            if subprocess.run(self.psql_args('postgres') + ['-c', 'SELECT 1'],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0:
                return self
            time.sleep(0.1)
        raise RuntimeError('postgres did not start: ' + self.server_log())

    def stop_server(self):
        """Fast shutdown of the server, keeping the cluster (start_server() brings it back)."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # fast shutdown: sessions are terminated
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if getattr(self, 'log', None):
            self.log.close()
            self.log = None

    def server_log(self):
        try:
            with open(os.path.join(self.dir, 'postgres.log'), 'rb') as f:
                return f.read().decode(errors='replace')[-4000:]
        except OSError:
            return ''

    def psql_path(self):
        return os.path.join(self.bin, 'psql')

    def url(self, db):
        return 'postgresql://tikgate@/%s?host=%s' % (db, self.dir)

    def psql_args(self, db):
        return [self.psql_path(), '-X', '-q', '-v', 'ON_ERROR_STOP=1', self.url(db)]

    def create_database(self, name):
        subprocess.run(self.psql_args('postgres') + ['-c', 'CREATE DATABASE "%s"' % name],
                       check=True, stdout=subprocess.DEVNULL, timeout=60)
        return self.url(name)

    def stop(self):
        self.stop_server()
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def main(argv):
    if '--' not in argv or argv.index('--') == len(argv) - 1:
        print('usage: pgserver.py -- COMMAND ARGS...', file=sys.stderr)
        return 2
    cmd = argv[argv.index('--') + 1:]
    if not pg_bin():
        print('pgserver: no PostgreSQL installed, skipping', file=sys.stderr)
        return SKIP
    with PgServer() as pg:
        env = dict(os.environ, TG_TEST_DATABASE=pg.create_database('tg_test'),
                   TG_TEST_PSQL=pg.psql_path())
        return subprocess.run(cmd, env=env).returncode


if __name__ == '__main__':
    sys.exit(main(sys.argv))
