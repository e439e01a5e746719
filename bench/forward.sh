#!/usr/bin/env bash
# bench/forward.sh - issue 4a: a real tikgated transient forward vs HAProxy, same run (not a test).
#
#   bench/forward.sh                 # DUR=5 RUNS=3 CONC=64 IDLE=10000 (clamped to the fd limit)
#   DUR=3 RUNS=1 IDLE=2000 bench/forward.sh
#   BUILD=dir bench/forward.sh       # meson build dir holding src/daemon/tikgated (build-bench)
#   THREADS="1 2" bench/forward.sh   # one whole set per count: TIKGATE_EDGE_THREADS=T vs nbthread T
#
# tikgated runs with TIKGATE_ROLES=$ROLES (default api,scheduler,edge: no dispatcher, because
# there is no router behind the site and its setup job would only retry against nothing),
# TIKGATE_ALLOW_PRIVATE_SOURCES=1, TIKGATE_EDGE_LISTEN=127.0.0.1, TIKGATE_EDGE_PORTS=$EDGE_PORTS
# (below the ephemeral range 32768-60999, whose ports outgoing sockets take), log level warn,
# the edge's per-grant and per-source caps out of the way (86 400) and the descriptors left to
# HTTP and the rest small (TIKGATE_HTTP_MAX_CONNECTIONS=256, TIKGATE_FD_RESERVE=256), so that
# the relay may hold IDLE connections (tikgated sizes it as (limit - reserve) / 2).
# A site gets tunnel_address $TUNNEL (PATCH /v1/sites/{id}); three forwards are created on it
# (POST /v1/control-plane/{site}/transient-forward, allow_only_cidr 127.0.0.0/24). The edge
# relays entry 127.0.0.1:<port> to $TUNNEL:<port> (the router-side port of the grant, where the
# router's dst-nat rule would listen): the sinks of bench/edge_load.c listen there directly, no
# simulator, so what is measured is tikgate's relay and nothing of the router's.
# HAProxy 'mode tcp', nbthread T (the relay threads tikgated runs with, TIKGATE_EDGE_THREADS=T),
# option splice-request/splice-response forwards 127.0.0.1:$HAP_BASE+i to the same sinks.
# Everything shares the machine's CPUs. (a)-(c) run once per T in THREADS (each set with a fresh
# tikgated, HAProxy and sinks); the summary gives each ratio per T and tikgated's T / 1 scaling.
#
# (a) one TCP stream, 256 KiB writes for DUR s, Gbit/s (median of RUNS, runs interleaved)
# (b) new connections/s: CONC parallel loops of connect (sources 127.0.0.2-251), 16 B echo,
#     the server closes first (median of RUNS, order alternated)
# (c) RSS delta of the tikgated (resp. haproxy) process over IDLE idle relayed connections
#     (each relayed 1 byte each way), per connection. IDLE is clamped so that 2 descriptors per
#     connection fit in the open-files limit (raised to the hard limit first).
# Targets (issue 4): throughput >= 1.0x HAProxy, >= 10 000 conn/s, <= 16 KiB per idle connection;
# (issue 13) conn/s >= 1.2x HAProxy at the same thread count, 2 threads >= 1.6x 1 thread,
# stream >= 1.2x HAProxy, <= 512 B per idle connection.
# Bounded: `timeout` around every load step; every process started here is stopped on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build-bench}
DUR=${DUR:-5}
RUNS=${RUNS:-3}
CONC=${CONC:-64}
IDLE=${IDLE:-10000}
THREADS=${THREADS:-1 2}
ROLES=${ROLES:-api,scheduler,edge}
TUNNEL=${TUNNEL:-127.0.0.20}
EDGE_PORTS=${EDGE_PORTS:-26000-26099}
HAP_BASE=${HAP_BASE:-26201}
KEY=tg_sk_benchForward0123456789abcdefghijk
TIKGATED=$BUILD/src/daemon/tikgated

need=()
command -v haproxy >/dev/null || need+=(haproxy)
command -v curl >/dev/null || need+=(curl)
if ((${#need[@]})); then
    [[ $(id -u) -eq 0 ]] || { echo "missing: ${need[*]} (apt-get install ${need[*]})" >&2; exit 1; }
    apt-get install -y "${need[@]}" >/dev/null
fi
if [[ ! -x $TIKGATED ]]; then
    [[ -d $BUILD ]] || meson setup "$BUILD" -Dbuildtype=release -Dtests=false >/dev/null
    ninja -C "$BUILD" src/daemon/tikgated >/dev/null
fi

# Two descriptors per relayed connection, in tikgated and in HAProxy (plus pipes).
ulimit -n 200000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
fit=$(( ($(ulimit -n) - 600) / 2 ))
if (( IDLE > fit )); then
    echo "note: open-files limit $(ulimit -n) (hard $(ulimit -Hn)): IDLE clamped from $IDLE to $fit" >&2
    IDLE=$fit
fi

tmp=$(mktemp -d /tmp/tg-bench-fwd.XXXXXX)
pids=()
stop_all() { # stops every process started so far
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    pids=()
}
cleanup() {
    stop_all
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start() { # start NAME CMD... ; sets LAST_PID
    local name=$1; shift
    "$@" >"$tmp/out.$name" 2>&1 &
    LAST_PID=$!
    pids+=("$LAST_PID")
}

# The generator/sinks: compiled here, they need nothing but libc.
cc -O2 -std=c17 -D_GNU_SOURCE -o "$tmp/edge_load" "$ROOT/bench/edge_load.c"
LOAD=$tmp/edge_load

run_set() { # run_set T: (a)-(c) with T relay threads in tikgated and nbthread T in HAProxy
T=$1
api_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
API=http://127.0.0.1:$api_port
start tikgated env TIKGATE_DATA_DIR="$tmp/data" TIKGATE_LISTEN=127.0.0.1:$api_port \
    TIKGATE_BOOTSTRAP_TOKEN=$KEY TIKGATE_MANAGEMENT_NETWORKS=127.0.0.0/8 \
    TIKGATE_ROLES="$ROLES" TIKGATE_ALLOW_PRIVATE_SOURCES=1 TIKGATE_EDGE_LISTEN=127.0.0.1 \
    TIKGATE_ENTRY_POINT=127.0.0.1 TIKGATE_EDGE_PORTS="$EDGE_PORTS" TIKGATE_LOG_LEVEL=warn \
    TIKGATE_EDGE_CONNS_PER_GRANT=86400 TIKGATE_EDGE_CONNS_PER_SOURCE=86400 \
    TIKGATE_HTTP_MAX_CONNECTIONS=256 TIKGATE_FD_RESERVE=256 TIKGATE_EDGE_THREADS="$T" \
    "$TIKGATED"
TG_PID=$LAST_PID
mkdir -p "$tmp/data"
for _ in $(seq 200); do curl -sf "$API/healthz" >/dev/null && break; sleep 0.05; done
curl -sf "$API/healthz" >/dev/null || { echo "tikgated did not start:" >&2; cat "$tmp/out.tikgated" >&2; exit 1; }

call() { # call METHOD PATH [JSON] -> body on stdout; fails on HTTP >= 400
    curl -sS --fail-with-body -X "$1" -H "Authorization: Bearer $KEY" \
        -H 'Content-Type: application/json' ${3:+--data "$3"} "$API$2"
}
jget() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

site=$(call POST /v1/sites '{"name":"bench-forward"}' | jget id)
call PATCH "/v1/sites/$site" "{\"tunnel_address\":\"$TUNNEL\"}" >/dev/null
fwd() { # fwd -> "id port"
    call POST "/v1/control-plane/$site/transient-forward" \
        '{"expire_after_minutes":30,"dst_address":"192.168.88.10","dst_port":80,"allow_only_cidr":"127.0.0.0/24"}' |
        python3 -c 'import json,sys; f=json.load(sys.stdin); print(f["id"], f["port"])'
}
read -r SINK_ID SINK <<<"$(fwd)"
read -r ONCE_ID ONCE <<<"$(fwd)"
read -r ECHO_ID ECHO <<<"$(fwd)"
H_SINK=$HAP_BASE H_ONCE=$((HAP_BASE + 1)) H_ECHO=$((HAP_BASE + 2))

start sink "$LOAD" server sink "$TUNNEL:$SINK"
start once "$LOAD" server once "$TUNNEL:$ONCE"
start echo "$LOAD" server echo "$TUNNEL:$ECHO"
cat >"$tmp/haproxy.cfg" <<EOF
global
    nbthread $T
    maxconn $((IDLE + 50))
    maxpipes 200
defaults
    mode tcp
    timeout connect 5s
    timeout client 10m
    timeout server 10m
    option splice-request
    option splice-response
listen sink
    bind 127.0.0.1:$H_SINK
    server s $TUNNEL:$SINK
listen once
    bind 127.0.0.1:$H_ONCE
    server s $TUNNEL:$ONCE
listen echo
    bind 127.0.0.1:$H_ECHO
    server s $TUNNEL:$ECHO
EOF
start haproxy haproxy -db -f "$tmp/haproxy.cfg"
HAP_PID=$LAST_PID

wait_port() { # wait_port HOST PORT
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && return 0
        sleep 0.05
    done
    echo "port $1:$2 never opened" >&2; tail -n 5 "$tmp"/out.* >&2
    exit 1
}
for p in $SINK $ONCE $ECHO; do wait_port "$TUNNEL" "$p"; wait_port 127.0.0.1 "$p"; done
for p in $H_SINK $H_ONCE $H_ECHO; do wait_port 127.0.0.1 "$p"; done
sleep 0.5 # the probe connections above end and are recorded

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0) ? a / b : 0}'; }
lim=$(awk -v d="$DUR" 'BEGIN {print int(d * 3 + 20)}')

echo "=== set T=$T: tikgated TIKGATE_EDGE_THREADS=$T vs HAProxy nbthread $T"
echo "tikgated transient forward vs HAProxy: $(nproc) CPUs, kernel $(uname -r), $(haproxy -v | head -1 | cut -d' ' -f1-3)"
echo "DUR=${DUR}s RUNS=$RUNS CONC=$CONC IDLE=$IDLE ROLES=$ROLES; forwards 127.0.0.1:{$SINK,$ONCE,$ECHO} -> $TUNNEL"
echo "load average before set T=$T: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

# --- (a) one TCP stream ---
declare -A tp
for r in $(seq "$RUNS"); do
    for path in direct:$TUNNEL:$SINK tikgated:127.0.0.1:$SINK haproxy:127.0.0.1:$H_SINK; do
        name=${path%%:*} target=${path#*:}
        tp[$name]+="$(timeout "$lim" "$LOAD" stream "$target" "$DUR") "
    done
done
echo "(a) one TCP stream, Gbit/s (median of $RUNS; all runs)"
for name in direct tikgated haproxy; do
    printf '    %-10s %6s   (%s)\n' "$name" "$(tr ' ' '\n' <<<"${tp[$name]}" | grep . | median)" "${tp[$name]% }"
done
A_TG=$(tr ' ' '\n' <<<"${tp[tikgated]}" | grep . | median)
A_HAP=$(tr ' ' '\n' <<<"${tp[haproxy]}" | grep . | median)
echo "    ratio tikgated/haproxy = $(ratio "$A_TG" "$A_HAP")   (target >= 1.0)"
echo

# --- (b) new connections per second ---
thread_ticks() { # PID -> "tid ticks" per thread (utime + stime)
    for f in /proc/"$1"/task/*/stat; do
        awk '{sub(/^.*\) /, ""); print FILENAME, $12 + $13}' "$f" 2>/dev/null
    done | sed 's|/proc/[0-9]*/task/||; s|/stat||' | sort
}
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
thread_ticks "$TG_PID" >"$tmp/ticks.before"
B_RSS0=$(rss_kb "$TG_PID")
declare -A cp
for r in $(seq "$RUNS"); do
    paths=(direct:$TUNNEL:$ONCE tikgated:127.0.0.1:$ONCE haproxy:127.0.0.1:$H_ONCE)
    (( r % 2 == 0 )) && paths=(haproxy:127.0.0.1:$H_ONCE tikgated:127.0.0.1:$ONCE direct:$TUNNEL:$ONCE)
    for path in "${paths[@]}"; do
        name=${path%%:*} target=${path#*:}
        read -r rate errs < <(timeout "$lim" "$LOAD" cps "$target" "$DUR" "$CONC")
        cp[$name]+="$rate "
        [[ $errs == 0 ]] || echo "    ($name: $errs failed connections)"
        sleep 1
    done
done
echo "(b) new connections/s (connect, 16 B echo, server closes; $CONC parallel; median of $RUNS)"
for name in direct tikgated haproxy; do
    printf '    %-10s %8s   (%s)\n' "$name" "$(tr ' ' '\n' <<<"${cp[$name]}" | grep . | median)" "${cp[$name]% }"
done
B_TG=$(tr ' ' '\n' <<<"${cp[tikgated]}" | grep . | median)
B_HAP=$(tr ' ' '\n' <<<"${cp[haproxy]}" | grep . | median)
echo "    ratio tikgated/haproxy = $(ratio "$B_TG" "$B_HAP")   (target >= 10 000 conn/s)"
sleep 1
thread_ticks "$TG_PID" >"$tmp/ticks.after"
hz=$(getconf CLK_TCK)
echo "    tikgated during (b): RSS $B_RSS0 kB -> $(rss_kb "$TG_PID") kB; CPU s per thread (busiest first):" \
    "$(join "$tmp/ticks.before" "$tmp/ticks.after" | awk -v hz="$hz" '{printf "%.1f\n", ($3 - $2) / hz}' |
        sort -gr | head -4 | tr '\n' ' ')"
echo

# --- (c) memory per idle relayed connection ---
idle_run() { # name pid target
    local before after holder
    before=$(rss_kb "$2")
    "$LOAD" idle "$3" "$IDLE" >"$tmp/idle.out" 2>&1 &
    holder=$!
    pids+=("$holder")
    for _ in $(seq 600); do grep -q ready "$tmp/idle.out" && break; sleep 0.1; done
    grep -q ready "$tmp/idle.out" || { echo "idle holder failed: $(cat "$tmp/idle.out")" >&2; exit 1; }
    sleep 0.5
    after=$(rss_kb "$2")
    kill "$holder"
    wait "$holder" 2>/dev/null || true
    awk -v n="$1" -v b="$before" -v a="$after" -v c="$IDLE" \
        'BEGIN {printf "    %-10s RSS %7d kB -> %7d kB: %6.0f bytes per idle connection\n", n, b, a, (a - b) * 1024 / c}'
    echo $(( (after - before) * 1024 / IDLE )) >"$tmp/idle.$1"
    sleep 2
}
echo "(c) process RSS per idle relayed connection ($IDLE connections, each relayed 1 byte each way)"
idle_run tikgated "$TG_PID" 127.0.0.1:$ECHO
idle_run haproxy "$HAP_PID" 127.0.0.1:$H_ECHO
C_TG=$(cat "$tmp/idle.tikgated") C_HAP=$(cat "$tmp/idle.haproxy")
echo "    ratio tikgated/haproxy = $(ratio "$C_TG" "$C_HAP")   (target <= 16384 bytes)"
# Counted in the SQLite file, not through GET .../connections: that list is not paginated and
# building it for 100 000+ records would inflate tikgated's RSS before (c).
nrec=$(python3 -c 'import sqlite3,sys; c=sqlite3.connect("file:"+sys.argv[1]+"?mode=ro", uri=True); print(c.execute("SELECT count(*) FROM grant_connections").fetchone()[0])' "$tmp/data/tikgate.db")
echo "    connection records stored by tikgated (all forwards, whole run): $nrec"
echo
echo "load average after set T=$T: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
SUM+=("$(printf '%s %s %s %s %s %s %s' "$T" "$A_TG" "$A_HAP" "$B_TG" "$B_HAP" "$C_TG" "$C_HAP")")
stop_all
rm -rf "$tmp/data" "$tmp"/out.* "$tmp"/ticks.* "$tmp"/idle.*
}

SUM=()
for T in $THREADS; do run_set "$T"; done
echo "summary (medians): T  stream Gbit/s tg/hap  conn/s tg/hap  idle B/conn tg/hap"
B1=
for row in "${SUM[@]}"; do
    read -r t a_tg a_hap b_tg b_hap c_tg c_hap <<<"$row"
    [[ $t == 1 ]] && B1=$b_tg
    printf '    T=%-2s  %6s/%-6s = %sx   %7s/%-7s = %sx   %5s/%-5s\n' "$t" "$a_tg" "$a_hap" \
        "$(ratio "$a_tg" "$a_hap")" "$b_tg" "$b_hap" "$(ratio "$b_tg" "$b_hap")" "$c_tg" "$c_hap"
done
if [[ -n $B1 ]]; then
    for row in "${SUM[@]}"; do
        read -r t _ _ b_tg _ <<<"$row"
        [[ $t == 1 ]] || echo "    tikgated conn/s T=$t / T=1 = $(ratio "$b_tg" "$B1")x   (target >= 1.6 at T=2)"
    done
fi
echo "targets: conn/s >= 1.2x HAProxy at the same T, stream >= 1.2x, <= 512 B per idle connection"
