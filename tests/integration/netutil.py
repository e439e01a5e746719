"""Loopback helpers for the relay tests: echo servers and clients (127.0.0.0/8 only)."""
import socket
import threading
import time


class EchoServer:
    """Echoes bytes back on (host, port) until stopped. Counts accepted connections."""

    def __init__(self, host='127.0.0.1', port=0):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(64)
        self.host, self.port = self.sock.getsockname()
        self.accepted = 0
        self._stop = False
        self._conns = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        self.sock.settimeout(0.2)
        while not self._stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            self._conns.append(c)
            threading.Thread(target=self._echo, args=(c,), daemon=True).start()

    @staticmethod
    def _echo(c):
        try:
            while True:
                data = c.recv(65536)
                if not data:
                    break
                c.sendall(data)
        except OSError:
            pass
        finally:
            c.close()

    def close(self):
        self._stop = True
        self.thread.join(2)
        self.sock.close()


def connect(port, host='127.0.0.1', source=None, timeout=5):
    s = socket.socket()
    s.settimeout(timeout)
    if source:
        s.bind((source, 0))
    s.connect((host, port))
    return s


def roundtrip(sock, payload):
    """Sends payload and reads the same number of bytes back; returns them (b'' on EOF)."""
    sock.sendall(payload)
    got = b''
    while len(got) < len(payload):
        chunk = sock.recv(65536)
        if not chunk:
            break
        got += chunk
    return got


def wait_closed(sock, timeout):
    """Seconds until the peer closes or resets sock, or None if it stays open for timeout."""
    start = time.time()
    sock.settimeout(timeout)
    try:
        while True:
            if not sock.recv(65536):
                return time.time() - start
    except (ConnectionResetError, BrokenPipeError):
        return time.time() - start
    except socket.timeout:
        return None


def port_open(port, host='127.0.0.1'):
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False
