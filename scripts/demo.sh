#!/usr/bin/env bash
# scripts/run.sh --demo: tikgated with a handful of simulated routers that adopt themselves.
#
# Everything runs as the calling user on loopback (no root, no VPN): tikgated on plain HTTP
# with an embedded SQLite store in a fresh data dir, and TIKGATE_DEMO_SITES (5) tikgate-sim
# processes on 127.0.77.11, .12, ... each with its own board and RouterOS version. The sites are
# created through the API with the admin key tikgated stores in its data dir, and each sim runs
# its site's bootstrap command, as an operator pasting it into a router's terminal would.
# Prints the portal URL, the admin login and ready-to-paste commands for a transient login
# through the edge; Ctrl-C (SIGINT) or SIGTERM stops every process it started.
#
# Environment (all optional; docs/demo.md):
#   TIKGATE_DEMO_DIR     data dir, deleted and re-created at every start (default: ./var/demo)
#   TIKGATE_BUILD_DIR    build dir with the binaries (default: ./build, built by scripts/setup.sh;
#                        when set, setup/build is skipped and the binaries must exist)
#   TIKGATE_DEMO_SITES   number of simulated routers, 1-20 (default 5)
#   TIKGATE_DEMO_NET     first three octets of the routers' addresses (default 127.0.77)
#   TIKGATE_LISTEN       API/portal address (default 127.0.0.1:8080)
#   TIKGATE_EDGE_PORTS   the edge's port range (default 41000-41999)
#   TIKGATE_DEMO_TIMEOUT seconds to wait for every site to be online (default 60)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

demo_dir=${TIKGATE_DEMO_DIR:-var/demo}
n_sites=${TIKGATE_DEMO_SITES:-5}
net=${TIKGATE_DEMO_NET:-127.0.77}
listen=${TIKGATE_LISTEN:-127.0.0.1:8080}
edge_ports=${TIKGATE_EDGE_PORTS:-41000-41999}
timeout=${TIKGATE_DEMO_TIMEOUT:-60}

die() {
    echo "demo: $*" >&2
    exit 1
}

if ! [[ $n_sites =~ ^[0-9]+$ ]] || ((n_sites < 1 || n_sites > 20)); then
    die "TIKGATE_DEMO_SITES must be 1-20"
fi
[[ $net =~ ^127\.[0-9]{1,3}\.[0-9]{1,3}$ ]] || die "TIKGATE_DEMO_NET must be 127.X.Y (loopback)"
[[ $listen =~ ^127\.[0-9.]+:[0-9]+$ ]] || die "TIKGATE_LISTEN must be a loopback address:port"
(($# == 0)) || die "usage: scripts/run.sh --demo (settings are environment variables: docs/demo.md)"
command -v curl >/dev/null || die "curl is needed (apt-get install curl)"

if [[ -n ${TIKGATE_BUILD_DIR:-} ]]; then
    build=$(cd "$TIKGATE_BUILD_DIR" && pwd) || die "TIKGATE_BUILD_DIR=$TIKGATE_BUILD_DIR is not a directory"
else
    scripts/setup.sh
    build=$root/build
fi
tikgated=$build/src/daemon/tikgated
sim=$build/src/sim/tikgate-sim
cli=$build/src/cli/tikgate
for b in "$tikgated" "$sim"; do
    [[ -x $b ]] || die "$b is missing (build with: meson setup build && ninja -C build)"
done
[[ -x $cli ]] || echo "demo: $cli is missing: the CLI lines below need a full build" >&2

# A fresh demo every time: nothing from an earlier run (sites, keys, grants) is reused. Only a
# directory an earlier demo made (it holds the marker) or an empty one is deleted.
case $demo_dir in
'' | / | . | ..) die "refusing TIKGATE_DEMO_DIR=$demo_dir" ;;
esac
if [[ -e $demo_dir ]]; then
    if [[ -f $demo_dir/.tikgate-demo ]] || [[ -d $demo_dir && -z $(ls -A -- "$demo_dir") ]]; then
        rm -rf -- "$demo_dir"
    else
        die "$demo_dir exists and is not a demo's data dir; remove it or set TIKGATE_DEMO_DIR"
    fi
fi
(umask 077 && mkdir -p -- "$demo_dir" && : >"$demo_dir/.tikgate-demo")
demo_dir=$(cd "$demo_dir" && pwd)
url=http://$listen

pids=()
stopping=0
# Stops every process this script started (SIGTERM, then SIGKILL after 5 s). Runs once, on
# every exit path: Ctrl-C, SIGTERM, an error under set -e, tikgated dying.
# shellcheck disable=SC2317 # invoked by the traps
cleanup() {
    local rc=$?
    ((stopping)) && return
    stopping=1
    trap - INT TERM EXIT
    if ((${#pids[@]})); then
        echo "demo: stopping ${#pids[@]} processes"
        kill -TERM "${pids[@]}" 2>/dev/null || true
        local i
        for ((i = 0; i < 50; i++)); do
            kill -0 "${pids[@]}" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "${pids[@]}" 2>/dev/null || true
        wait "${pids[@]}" 2>/dev/null || true
    fi
    exit "$rc"
}
# shellcheck disable=SC2317
on_signal() {
    echo
    (exit 0) # a requested stop is a clean exit
    cleanup
}
trap cleanup EXIT
trap on_signal INT TERM

export TIKGATE_DATA_DIR=$demo_dir
export TIKGATE_LISTEN=$listen
export TIKGATE_VPN=off # no WireGuard interface, no root: the edge relays on loopback
export TIKGATE_MANAGEMENT_NETWORKS=127.0.0.0/8
export TIKGATE_ALLOW_PRIVATE_SOURCES=1 # grants from 127.0.0.1 (a lab setting, docs/demo.md)
export TIKGATE_EDGE_LISTEN=127.0.0.1
export TIKGATE_ENTRY_POINT=127.0.0.1
export TIKGATE_EDGE_PORTS=$edge_ports
export TIKGATE_POLL_INTERVAL=${TIKGATE_POLL_INTERVAL:-5}
export TIKGATE_JOB_BACKOFF_MS=${TIKGATE_JOB_BACKOFF_MS:-200}
unset TIKGATE_BOOTSTRAP_TOKEN TIKGATE_PUBLIC_URL TIKGATE_DATABASE TIKGATE_TLS_CERT TIKGATE_TLS_KEY \
    TIKGATE_TLS_CA TIKGATE_ROLES \
    TIKGATE_ADMIN_PASSWORD TIKGATE_CONFIG

"$tikgated" >"$demo_dir/tikgated.log" 2>&1 &
pids+=($!)
daemon=$!

for ((i = 0; i < 100; i++)); do
    kill -0 "$daemon" 2>/dev/null || die "tikgated exited: $(tail -n 20 "$demo_dir/tikgated.log")"
    curl -fsS -o /dev/null "$url/healthz" 2>/dev/null && break
    sleep 0.1
done
((i < 100)) || die "tikgated did not answer $url/healthz: $(tail -n 20 "$demo_dir/tikgated.log")"
key=$(cat "$demo_dir/admin.key")
password=$(cat "$demo_dir/admin.password")
email=${TIKGATE_ADMIN_EMAIL:-admin@tikgate.local}

api() { # METHOD PATH [JSON]
    local body=()
    [[ $# -gt 2 ]] && body=(-H 'Content-Type: application/json' --data "$3")
    curl -fsS -X "$1" -H "Authorization: Bearer $key" "${body[@]}" "$url$2"
}
json_get() { # FIELD < JSON
    python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}

# board and RouterOS version per router, for variety (CHR and x86 have no /system routerboard;
# defconf routers start with RouterOS's default firewall)
boards=("RB5009UG+S+" "CHR" "C53UiG+5HPaxD2HPaxD" "x86" "RB4011iGS+5HacQ2HnD")
versions=("7.16" "7.19" "7.8" "7.24" "7.15")
names=()
for ((i = 0; i < n_sites; i++)); do
    name=demo-$((i + 1))
    names+=("$name")
    site=$(api POST /v1/sites "{\"name\": \"$name\"}")
    cmd=$(json_get bootstrap_command <<<"$site")
    extra=()
    ((i % 2 == 1)) && extra+=(--defconf)
    "$sim" --address "$net.$((11 + i))" --port-offset 10000 --identity "$name" \
        --board "${boards[i % 5]}" --ros-version "${versions[i % 5]}" "${extra[@]}" \
        --admin-password demo --state-file "$demo_dir/$name.json" \
        --bootstrap-command "$cmd" >"$demo_dir/$name.log" 2>&1 &
    pids+=($!)
done

echo "demo: waiting for $n_sites routers to adopt (at most ${timeout}s)..."
t0=$SECONDS
while :; do
    kill -0 "$daemon" 2>/dev/null || die "tikgated exited: $(tail -n 20 "$demo_dir/tikgated.log")"
    online=$(api GET /v1/sites | python3 -c \
        'import json, sys; print(sum(s["status"] == "online" for s in json.load(sys.stdin)))')
    ((online >= n_sites)) && break
    ((SECONDS - t0 < timeout)) || die "only $online of $n_sites sites online after ${timeout}s (logs in $demo_dir)"
    sleep 0.5
done

ros_client="python3 tests/integration/rosapi.py"
if [[ -d node_modules/node-routeros ]] && command -v node >/dev/null; then
    ros_client="NODE_PATH=node_modules node tests/integration/ros_cmd.js"
fi
cat <<EOF

demo: $n_sites sites online in $((SECONDS - t0))s: ${names[*]} (routers on $net.11-$((10 + n_sites)))
demo: portal   $url/   sign in as $email / $password
demo: API key  $key   (also in $demo_dir/admin.key; OpenAPI at $url/openapi.yaml)
demo: logs     $demo_dir/tikgated.log, $demo_dir/demo-N.log

Try it (in another terminal, from $root):

  export TIKGATE_URL=$url TIKGATE_TOKEN=$key
  $cli sites list
  # a 30-minute WinBox login on demo-1 for 127.0.0.1 (read-write):
  $cli access create demo-1 --type winbox --full --for 30m --from 127.0.0.1/32 -o json
  # or the shortcut (waits for the router, prints the winbox:// link and the credentials):
  $cli winbox demo-1 --full --wait
  # or the same with curl:
  curl -s -H "Authorization: Bearer \$TIKGATE_TOKEN" -H 'Content-Type: application/json' \\
    -d '{"type": "winbox", "full_access": true, "expire_after_minutes": 30, "allow_only_cidr": "127.0.0.1/32"}' \\
    \$TIKGATE_URL/v1/control-plane/$(api GET /v1/sites | python3 -c \
    'import json, sys; print(json.load(sys.stdin)[0]["id"])')/transient-access
  # then log in through the edge with the grant's entry_point, port, username and password
  # (a few seconds after, once config_committed_to_site is true):
  $ros_client 127.0.0.1 PORT USERNAME PASSWORD /system/identity/print

Ctrl-C stops everything.
EOF

# Until Ctrl-C/SIGTERM (the trap) or tikgated ends by itself. A foreground sleep rather than
# `wait`: Ctrl-C reaches the whole process group, and bash skips its INT trap when the child
# it waits for (tikgated, which handles SIGINT) exits normally; a sleep killed by SIGINT does
# run it.
while kill -0 "$daemon" 2>/dev/null; do
    sleep 0.5
done
rc=0
wait "$daemon" || rc=$?
if ((rc == 0)); then # tikgated exits 0 only when signalled: a stop, not a failure
    echo "demo: tikgated stopped"
    exit 0
fi
echo "demo: tikgated exited with $rc: $(tail -n 5 "$demo_dir/tikgated.log")" >&2
exit 1
