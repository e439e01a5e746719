"""A minimal RouterOS API client (standard library only), for checking logins in tests.

It speaks the wire protocol of reference/routeros.md §1 (length-prefixed words, sentences
ending in an empty word) and the plain /login. It is deliberately independent of src/ros.
"""
import socket


def encode_length(n):
    if n < 0x80:
        return bytes([n])
    if n < 0x4000:
        return (n | 0x8000).to_bytes(2, 'big')
    if n < 0x200000:
        return (n | 0xC00000).to_bytes(3, 'big')
    if n < 0x10000000:
        return (n | 0xE0000000).to_bytes(4, 'big')
    return b'\xf0' + n.to_bytes(4, 'big')


class TrapError(Exception):
    pass


class Client:
    def __init__(self, host, port, timeout=5):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b''

    def close(self):
        self.sock.close()

    def send(self, words):
        data = b''.join(encode_length(len(w)) + w for w in (x.encode() for x in words))
        self.sock.sendall(data + b'\x00')

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError('closed by the router')
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _length(self):
        b0 = self._read(1)[0]
        if b0 < 0x80:
            return b0
        if b0 < 0xC0:
            return ((b0 & 0x3F) << 8) | self._read(1)[0]
        if b0 < 0xE0:
            return ((b0 & 0x1F) << 16) | int.from_bytes(self._read(2), 'big')
        if b0 < 0xF0:
            return ((b0 & 0x0F) << 24) | int.from_bytes(self._read(3), 'big')
        return int.from_bytes(self._read(4), 'big')

    def sentence(self):
        words = []
        while True:
            n = self._length()
            if n == 0:
                return words
            words.append(self._read(n).decode('utf-8', 'replace'))

    def run(self, *words):
        """Runs a command; returns the !re rows as dicts. Raises TrapError on !trap."""
        self.send(list(words))
        rows, trap = [], None
        while True:
            s = self.sentence()
            if not s:
                continue
            kind = s[0]
            attrs = {}
            for w in s[1:]:
                if w.startswith('='):
                    k, _, v = w[1:].partition('=')
                    attrs[k] = v
            if kind == '!re':
                rows.append(attrs)
            elif kind == '!trap':
                trap = attrs.get('message', 'trap')
            elif kind == '!fatal':
                raise ConnectionError(' '.join(s[1:]))
            elif kind == '!done':
                if trap:
                    raise TrapError(trap)
                return rows

    def login(self, user, password):
        self.run('/login', '=name=' + user, '=password=' + password)


def can_login(host, port, user, password):
    c = Client(host, port)
    try:
        c.login(user, password)
        return True
    except TrapError:
        return False
    finally:
        c.close()


def main(argv):
    """rosapi.py HOST PORT USER PASSWORD COMMAND [WORD...]: logs in, runs one command and
    prints its rows as JSON (a trap or a refused login: the message on stderr, exit 1)."""
    import json
    import sys
    if len(argv) < 6:
        print('usage: rosapi.py HOST PORT USER PASSWORD COMMAND [WORD...]', file=sys.stderr)
        return 2
    host, port, user, password = argv[1], int(argv[2]), argv[3], argv[4]
    try:
        c = Client(host, port)
        try:
            c.login(user, password)
            rows = c.run(*argv[5:])
        finally:
            c.close()
    except (TrapError, OSError) as e:
        print('rosapi: %s' % e, file=sys.stderr)
        return 1
    print(json.dumps(rows, indent=1))
    return 0


if __name__ == '__main__':
    import sys
    sys.exit(main(sys.argv))
