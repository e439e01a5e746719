#!/usr/bin/env python3
"""Integration test of tikgate-sim's pull loop (standard library only).

A tiny HTTP server on 127.0.0.1 plays tikgated: it serves a bootstrap script,
answers the adoption with an onboarding script (scheduler tikgate-poll, API
user, /ip service change), and answers polls with two jobs in the wrapper of
docs/internals/script-subset.md: a good one (busy, done), one that fails when
it runs (busy, fail) and one with a command RouterOS does not have (a syntax
error: nothing runs, not even its on-error, so no update at all). The sim runs with --bootstrap-command
and --poll-interval 0.2; the checks read its --state-file. Bounded in time.

env: TIKGATE_SIM (the binary).
"""
import http.server
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

SIM = os.environ.get("TIKGATE_SIM")
DEADLINE = 30.0


class Plane:
    """What the fake control plane saw."""

    def __init__(self):
        self.lock = threading.Lock()
        self.events = []  # ("adopt", body) / ("poll", auth) / ("job", id, status)
        self.polls = 0


def make_handler(plane, base):
    bootstrap = (
        "# tikgate bootstrap (test)\n"
        ':local id [/system identity get name]\n'
        ':local ver [/system resource get version]\n'
        ':local serial [/system routerboard get serial-number]\n'
        ':local addr [/ip address get [find interface="tikgate-mgmt"] address]\n'
        ':local facts ("identity=" . $id . ";version=" . $ver . ";serial=" . $serial . '
        '";address=" . $addr)\n'
        f'/tool fetch url="{base}/adopt/tok" http-method=post http-data=$facts '
        'dst-path="tikgate-adopt.rsc"\n'
        '/import file-name="tikgate-adopt.rsc"\n'
    )
    poll_event = (
        f'/tool fetch url=\\"{base}/poll\\" http-method=post '
        'http-header-field=\\"Authorization: Bearer devtok\\" http-data=\\"hb\\" '
        'dst-path=\\"tikgate-poll.rsc\\"; /import file-name=\\"tikgate-poll.rsc\\"'
    )
    adopt = (
        '/system scheduler remove [find name="tikgate-poll"]\n'
        f'/system scheduler add name="tikgate-poll" interval=30s start-time=startup '
        f'on-event="{poll_event}" comment="tikgate:poll:1"\n'
        '/user remove [find comment="tikgate:api:1"]\n'
        '/user add name="tikgate-api" group="full" password="Secret\\"1" '
        'address="127.0.0.0/8" comment="tikgate:api:1"\n'
        ':log info "adopted"\n'
    )

    def job(jid, payload):
        url = f"{base}/job/{jid}/update?signature=sig{jid}&status="
        return (
            ":do {\n"
            f'/tool fetch url="{url}busy" output=none\n'
            f"{payload}\n"
            f'/tool fetch url="{url}done" output=none\n'
            "} on-error={\n"
            f'/tool fetch url="{url}fail" output=none\n'
            "}\n"
        )

    jobs = [
        job(1, '/ip service set ssh port=2222 address="10.0.0.0/8,127.0.0.1/32" disabled=no\n'
               '/user add name="tmp-1" group="read" password="x" comment="tikgate:tmp:1"'),
        job(2, '/user add name="nope" group="no-such-group"'),
        job(3, '/interface bridge add name="br-nope"'),
    ]

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def reply(self, code, body):
            data = body.encode()
            self.send_response(code)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def body(self):
            n = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(n).decode() if n else ""

        def do_GET(self):
            u = urllib.parse.urlparse(self.path)
            if u.path == "/bootstrap/tok":
                return self.reply(200, bootstrap)
            if u.path.startswith("/job/"):
                q = urllib.parse.parse_qs(u.query)
                jid = u.path.split("/")[2]
                if q.get("signature") != [f"sig{jid}"]:
                    return self.reply(403, "bad signature")
                with plane.lock:
                    plane.events.append(("job", jid, q["status"][0]))
                return self.reply(200, "")
            return self.reply(404, "no")

        def do_POST(self):
            body = self.body()
            if self.path == "/adopt/tok":
                with plane.lock:
                    plane.events.append(("adopt", body))
                return self.reply(200, adopt)
            if self.path == "/poll":
                with plane.lock:
                    plane.events.append(("poll", self.headers.get("Authorization")))
                    n = plane.polls
                    plane.polls += 1
                return self.reply(200, jobs[n] if n < len(jobs) else "# no job\n")
            return self.reply(404, "no")

    return Handler


def free_port(host):
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def fail(msg, log):
    print("FAIL:", msg)
    print("--- sim log ---")
    print(log)
    sys.exit(1)


def main():
    if not SIM:
        print("TIKGATE_SIM is not set")
        return 2
    plane = Plane()
    web = http.server.ThreadingHTTPServer(("127.0.0.1", 0), None)
    base = f"http://127.0.0.1:{web.server_address[1]}"
    web.RequestHandlerClass = make_handler(plane, base)
    threading.Thread(target=web.serve_forever, daemon=True).start()

    addr = f"127.{random.randint(100, 250)}.{random.randint(1, 250)}.{random.randint(2, 250)}"
    tmp = tempfile.mkdtemp(prefix="tg-sim-pull-")
    state_path = os.path.join(tmp, "state.json")
    log_path = os.path.join(tmp, "sim.log")
    args = [SIM, "--address", addr, "--port-offset", "20000", "--state-file", state_path,
            "--poll-interval", "0.2", "--identity", "sim-pull",
            "--bootstrap-command",
            f'/tool fetch url="{base}/bootstrap/tok" dst-path="tikgate-boot.rsc"; '
            '/import file-name="tikgate-boot.rsc"']
    for svc in ("telnet", "ftp", "www", "ssh", "www-ssl", "winbox", "api-ssl"):
        args += ["--service", f"{svc}=off"]
    args += ["--service", f"api={free_port(addr)}"]
    with open(log_path, "w") as logf:
        sim = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=logf)
    log = lambda: open(log_path).read()  # noqa: E731
    try:
        t0 = time.monotonic()
        while time.monotonic() - t0 < DEADLINE:
            with plane.lock:
                statuses = [e[1:] for e in plane.events if e[0] == "job"]
                polls = plane.polls
            if ("2", "fail") in statuses and polls >= 6:
                break
            if sim.poll() is not None:
                fail(f"the sim exited with {sim.returncode}", log())
            time.sleep(0.05)
        else:
            fail(f"timed out; events: {plane.events}", log())

        with plane.lock:
            events = list(plane.events)
        adopt = [e for e in events if e[0] == "adopt"]
        if len(adopt) != 1:
            fail(f"expected one adoption, got {adopt}", log())
        facts = dict(kv.split("=", 1) for kv in adopt[0][1].split(";"))
        if facts.get("identity") != "sim-pull" or facts.get("address") != f"{addr}/32" \
                or facts.get("version") != "7.16" or not facts.get("serial"):
            fail(f"bad facts {facts}", log())
        auths = {e[1] for e in events if e[0] == "poll"}
        if auths != {"Bearer devtok"}:
            fail(f"poll headers {auths}", log())
        statuses = [e[1:] for e in events if e[0] == "job"]
        if statuses != [("1", "busy"), ("1", "done"), ("2", "busy"), ("2", "fail")]:
            fail(f"job updates {statuses}", log())
        print("ok - bootstrap, adoption facts, poll with header, job busy/done and busy/fail")
        if "bad command name bridge" not in log():
            fail("the syntax error of job 3 is not in the sim's log", log())
        print("ok - a job with a syntax error runs nothing and reports nothing")

        with open(state_path) as f:
            state = json.load(f)
        sched = [s for s in state["/system/scheduler"] if s["name"] == "tikgate-poll"]
        if len(sched) != 1 or sched[0]["interval"] != "30s" or "/poll" not in sched[0]["on-event"]:
            fail(f"scheduler {sched}", log())
        users = {u["name"]: u for u in state["/user"]}
        api = users.get("tikgate-api")
        if not api or api["password"] != 'Secret"1' or api["group"] != "full" \
                or api["comment"] != "tikgate:api:1":
            fail(f"API user {api}", log())
        if users.get("tmp-1", {}).get("group") != "read":
            fail(f"job 1 user {users.get('tmp-1')}", log())
        if any(u["name"] == "br-nope" for u in state["/user"]):
            fail("job 2 changed something", log())
        ssh = [s for s in state["/ip/service"] if s["name"] == "ssh"][0]
        if ssh["port"] != "2222" or ssh["address"] != "10.0.0.0/8,127.0.0.1/32" \
                or ssh["disabled"] != "false":
            fail(f"ssh service {ssh}", log())
        if state["/system/identity"]["name"] != "sim-pull":
            fail("identity", log())
        print("ok - state file: scheduler, API user, job user, /ip service ssh")

        # the changed service really listens (22 -> 2222, above 1024: no offset)
        deadline = time.monotonic() + 3
        while True:
            try:
                socket.create_connection((addr, 2222), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    fail("ssh service not listening on 2222", log())
                time.sleep(0.05)
        if "on-error caught line 3: /user add: input does not match any value of group" \
                not in log():
            fail("the bad job's failure was not logged as caught", log())
        print("ok - ssh listener follows /ip service; the failure is in the log")

        out = subprocess.run([SIM, "--state", state_path], capture_output=True, text=True,
                             timeout=10)
        if out.returncode != 0 or json.loads(out.stdout) != json.load(open(state_path)):
            fail("--state does not print the state file", log())
        print("ok - --state prints the state")
    finally:
        sim.terminate()
        try:
            rc = sim.wait(timeout=5)
        except subprocess.TimeoutExpired:
            sim.kill()
            rc = "killed"
        web.shutdown()
    if rc != 0:
        fail(f"SIGTERM exit status {rc}", log())
    print("ok - SIGTERM: clean exit")
    for name in os.listdir(tmp):
        os.unlink(os.path.join(tmp, name))
    os.rmdir(tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
