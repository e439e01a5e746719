"""Starts tikgate-sim processes for integration tests (loopback addresses only)."""
import datetime
import json
import os
import signal
import subprocess
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
SIM = os.environ.get('TIKGATE_SIM') or os.path.join(ROOT, 'build', 'src', 'sim', 'tikgate-sim')


class Sim:
    """One simulated router on `address`; ports below 1024 are offset by 10000."""

    def __init__(self, address, bootstrap_command=None, poll_interval=0.3, admin_password='',
                 lan_address=None, extra=None):
        self.address = address
        self.tmp = tempfile.TemporaryDirectory(prefix='tg-sim-')
        self.state_file = os.path.join(self.tmp.name, 'state.json')
        self.log_path = os.path.join(self.tmp.name, 'sim.log')
        args = [SIM, '--address', address, '--port-offset', '10000',
                '--state-file', self.state_file, '--poll-interval', str(poll_interval),
                '--admin-password', admin_password]
        if bootstrap_command:
            args += ['--bootstrap-command', bootstrap_command]
        if lan_address:
            args += ['--lan-address', lan_address]
        self.args = args + (extra or [])
        self.proc = None

    def start(self):
        self._log = open(self.log_path, 'ab')
        self.proc = subprocess.Popen(self.args, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.time() + 5
        while time.time() < deadline and not os.path.exists(self.state_file):
            if self.proc.poll() is not None:
                raise RuntimeError('tikgate-sim exited:\n' + self.log())
            time.sleep(0.02)
        return self

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self._log.close()
        self.proc = None

    def pause(self):
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self):
        self.proc.send_signal(signal.SIGCONT)

    def cleanup(self):
        if self.proc and self.proc.poll() is None:
            self.resume()
        self.stop()
        self.tmp.cleanup()

    def state(self):
        for _ in range(50):
            try:
                with open(self.state_file) as f:
                    return json.load(f)
            except (OSError, ValueError):
                time.sleep(0.02)
        raise RuntimeError('no state file')

    def menu(self, path):
        return self.state().get(path, [])

    def log(self):
        try:
            with open(self.log_path, 'rb') as f:
                return f.read().decode(errors='replace')
        except OSError:
            return ''


def adoption_script_done(sim, timeout=15):
    """True once sim ran its adoption script to the end (its last line confirms the adoption
    to tikgate, which pushes jobs to the site only after that: migration 0021)."""
    return wait_for(lambda: 'tikgate: adoption complete' in sim.log(), timeout)


def adopted(daemon, name, address, timeout=15, **kw):
    """A new site `name` on daemon (tg.Daemon) and a started Sim on address (Sim's keyword
    arguments kw) that adopted it: (site id, sim). The sim is stopped if it does not."""
    site = daemon.request('POST', '/v1/sites', {'name': name}).json
    sim = Sim(address, bootstrap_command=site['bootstrap_command'], **kw).start()
    if not wait_for(lambda: daemon.request('GET', '/v1/sites/' + site['id']).json['status']
                    == 'online', timeout):
        log = sim.log()
        sim.cleanup()
        raise RuntimeError('the simulator did not adopt:\n' + log)
    if not adoption_script_done(sim, timeout):
        log = sim.log()
        sim.cleanup()
        raise RuntimeError('the simulator did not finish the adoption script:\n' + log)
    return site['id'], sim


def iso_in(seconds):
    """RFC 3339 (UTC, whole seconds) of now + seconds."""
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds)
    return t.strftime('%Y-%m-%dT%H:%M:%S+00:00')


def wait_for(pred, timeout=10, interval=0.05):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(interval)
    return last
