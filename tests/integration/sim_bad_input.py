#!/usr/bin/env python3
"""Integration test: tikgate-sim's API port survives bad input (standard library only).

Over-long words (refused from the length prefix), control bytes, random
garbage, commands before login (trap, then !fatal), a bad script in the
bootstrap command; after each, a fresh connection still logs in and works.
Bounded in time; loopback only.

env: TIKGATE_SIM (the binary).
"""
import os
import random
import socket
import subprocess
import sys
import time

SIM = os.environ.get("TIKGATE_SIM")


def enc_len(n):
    if n < 0x80:
        return bytes([n])
    if n < 0x4000:
        return (n | 0x8000).to_bytes(2, "big")
    if n < 0x200000:
        return (n | 0xC00000).to_bytes(3, "big")
    if n < 0x10000000:
        return (n | 0xE0000000).to_bytes(4, "big")
    return b"\xf0" + n.to_bytes(4, "big")


def sentence(*words):
    out = b""
    for w in words:
        b = w.encode() if isinstance(w, str) else w
        out += enc_len(len(b)) + b
    return out + b"\x00"


def read_sentence(sock):
    words = []
    while True:
        b0 = sock.recv(1)
        if not b0:
            raise ConnectionError("closed")
        c = b0[0]
        if c < 0x80:
            n = c
        elif c < 0xC0:
            n = ((c & 0x3F) << 8) | sock.recv(1)[0]
        elif c < 0xE0:
            n = int.from_bytes(bytes([c & 0x1F]) + recv_n(sock, 2), "big")
        else:
            n = int.from_bytes(bytes([c & 0x0F]) + recv_n(sock, 3), "big")
        if n == 0:
            return words
        words.append(recv_n(sock, n).decode(errors="replace"))


def recv_n(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def closed_by_peer(sock):
    sock.settimeout(3)
    try:
        while sock.recv(4096):
            pass
        return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def main():
    if not SIM:
        print("TIKGATE_SIM is not set")
        return 2
    addr = f"127.{random.randint(100, 250)}.{random.randint(1, 250)}.{random.randint(2, 250)}"
    with socket.socket() as s:
        s.bind((addr, 0))
        port = s.getsockname()[1]
    args = [SIM, "--address", addr, "--admin-password", "pw", "--service", f"api={port}",
            "--bootstrap-command", ':do { /tool fetch url="http://127.0.0.1:1/x" } on-error={ '
            ':log info "unreachable" }; /bogus; :if (1) do={ }']
    for svc in ("telnet", "ftp", "www", "ssh", "www-ssl", "winbox", "api-ssl"):
        args += ["--service", f"{svc}=off"]
    log = open(os.devnull, "w") if not os.environ.get("SIM_LOG") else sys.stderr
    sim = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=log)
    try:
        def conn():
            deadline = time.monotonic() + 5
            while True:
                try:
                    c = socket.create_connection((addr, port), timeout=5)
                    c.settimeout(5)
                    return c
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)

        def works():
            with conn() as c:
                c.sendall(sentence("/login", "=name=admin", "=password=pw", ".tag=l"))
                assert read_sentence(c) == ["!done", ".tag=l"], "login"
                c.sendall(sentence("/system/identity/print"))
                assert read_sentence(c) == ["!re", "=name=MikroTik"], "identity"
                assert read_sentence(c) == ["!done"]

        works()
        print("ok - the sim survived a bad bootstrap command")

        # a word announced as 256 MiB: refused from the prefix, connection closed
        with conn() as c:
            c.sendall(enc_len(0x10000000) + b"abc")
            assert closed_by_peer(c), "over-long word not refused"
        # control byte
        with conn() as c:
            c.sendall(b"\xf8abc")
            assert closed_by_peer(c), "control byte not refused"
        # too many words in one sentence
        with conn() as c:
            c.sendall(b"".join(enc_len(1) + b"x" for _ in range(2000)))
            assert closed_by_peer(c), "too many words not refused"
        works()
        print("ok - over-long word, control byte, too many words: connection closed")

        # commands before login: trap, then !fatal after the limit
        with conn() as c:
            c.sendall(sentence("/user/print", ".tag=1"))
            assert read_sentence(c)[:2] == ["!trap", "=message=not logged in"]
            assert read_sentence(c) == ["!done", ".tag=1"]
            for _ in range(20):
                try:
                    c.sendall(sentence("/user/print"))
                except (BrokenPipeError, ConnectionResetError):
                    break  # the router closed after its !fatal: what we expect
            got = []
            try:
                while True:
                    got.append(read_sentence(c))
            except (ConnectionError, socket.timeout):
                pass
            assert ["!fatal", "not logged in"] in got, got[-3:]
        print("ok - commands before login: trap, then !fatal")

        # random garbage on many connections
        rnd = random.Random(7)
        for i in range(200):
            with conn() as c:
                try:
                    c.sendall(bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 300))))
                    if i % 2:
                        c.sendall(sentence("/login", "=name=admin", "=password=pw"))
                        c.sendall(sentence("/user/print", "?#" + "".join(
                            rnd.choice("!&|.0123456789x") for _ in range(40))))
                except OSError:
                    pass
        # valid session with bad commands
        with conn() as c:
            c.sendall(sentence("/login", "=name=admin", "=password=pw"))
            read_sentence(c)
            for words in (("/user/add", "=name="), ("/user/set", "=.id=*zz"), ("/",),
                          ("/ip/service/set", "=numbers=api", "=port=0"), ("=x=y",),
                          ("/user/print", "?"), ("/user/add", "=" + "a" * 70 + "=1")):
                c.sendall(sentence(*words))
                r = read_sentence(c)
                assert r[0] == "!trap", (words, r)
                assert read_sentence(c)[0] == "!done"
        works()
        assert sim.poll() is None, "the sim died"
        print("ok - garbage and bad commands: traps, no crash")
    finally:
        sim.terminate()
        try:
            rc = sim.wait(timeout=5)
        except subprocess.TimeoutExpired:
            sim.kill()
            rc = "killed"
    if rc != 0:
        print(f"FAIL: exit status {rc}")
        return 1
    print("ok - SIGTERM: clean exit")
    return 0


if __name__ == "__main__":
    sys.exit(main())
