#!/usr/bin/env bash
# bench/edge.sh - tikgate edge vs HAProxy on loopback, in the same run (not a test).
#
#   bench/edge.sh                 # DUR=5 RUNS=3 IDLE=10000 CONC=64 by default
#   DUR=3 RUNS=1 bench/edge.sh    # quicker
#   THREADS=2 bench/edge.sh       # the edge with 2 relay loops, HAProxy with nbthread 2
#
# Prints (a) one TCP stream's throughput (Gbit/s, median of RUNS) direct, through the edge
# (splice and copy modes) and through HAProxy 'tcp' with splice-request/response, nbthread THREADS;
# (b) new connections/s (connect, send 16 B, read the echo, close; CONC parallel loops);
# (c) RSS delta of the relay process per idle relayed connection over IDLE connections.
# Generator, relay and sink share the machine's CPUs: these are CPU-bound ceilings, and anything
# else running on the machine (a build, a fuzzer) shows up in them: check `top` first.
# Needs: haproxy (Debian package). Loopback only (127.0.0.1), ports 21001-21033.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
DUR=${DUR:-5}
RUNS=${RUNS:-3}
IDLE=${IDLE:-10000}
CONC=${CONC:-64}

. "$(dirname "$0")/need.sh"
bench_need haproxy
# 2 descriptors per relayed connection: raise the soft limit as far as the hard limit allows.
# Where the hard limit cannot be raised (no CAP_SYS_RESOURCE), IDLE is clamped to what fits.
ulimit -n 200000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
fit=$(( ($(ulimit -n) - 600) / 2 ))  # haproxy: 2 fds per conn + 2 per pipe (maxpipes 200)
if (( IDLE > fit )); then
    echo "note: open-files limit $(ulimit -n): IDLE clamped from $IDLE to $fit" >&2
    IDLE=$fit
fi

tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

# --- binaries: from the meson build when bench/ is part of it, else built here ---
if [[ -x $BUILD/bench/edge_load && -x $BUILD/bench/edge_bench_server ]]; then
    LOAD=$BUILD/bench/edge_load
    SERVER=$BUILD/bench/edge_bench_server
else
    ninja -C "$BUILD" src/edge/libtg_edge.a src/common/libtg_common.a >/dev/null
    CFLAGS="-O2 -g -std=c17 -D_GNU_SOURCE"
    cc $CFLAGS -o "$tmp/edge_load" "$ROOT/bench/edge_load.c"
    cc $CFLAGS -I "$ROOT/src/edge" -I "$ROOT/src/common" -o "$tmp/edge_bench_server" \
        "$ROOT/bench/edge_bench_server.c" "$BUILD/src/edge/libtg_edge.a" \
        "$BUILD/src/common/libtg_common.a" -lsodium -lpthread
    LOAD=$tmp/edge_load
    SERVER=$tmp/edge_bench_server
fi

SINK=21001 ECHO=21002 ONCE=21003                 # discard / echo / echo once then close
E_SINK=21011 E_ECHO=21021 E_ONCE=21031           # edge, splice mode
C_SINK=21012 C_ECHO=21022 C_ONCE=21032           # edge, copy mode
H_SINK=21013 H_ECHO=21023 H_ONCE=21033           # haproxy

wait_port() {
    for _ in $(seq 100); do
        (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
        sleep 0.05
    done
    echo "port $1 never opened" >&2; tail -n 5 "$tmp"/out.* >&2
    exit 1
}

start() { # start CMD... ; sets LAST_PID
    "$@" >"$tmp/out.$(basename "$1").$RANDOM" 2>&1 &
    LAST_PID=$!
    pids+=("$LAST_PID")
}

start "$LOAD" server sink $SINK
start "$LOAD" server echo $ECHO
start "$LOAD" server once $ONCE
export EDGE_THREADS=${THREADS:-1} # relay loops of the edge, and HAProxy's nbthread
start "$SERVER" splice $((IDLE + 50)) $E_SINK:$SINK $E_ECHO:$ECHO $E_ONCE:$ONCE
EDGE_PID=$LAST_PID
start "$SERVER" copy $((IDLE + 50)) $C_SINK:$SINK $C_ECHO:$ECHO $C_ONCE:$ONCE
COPY_PID=$LAST_PID
cat >"$tmp/haproxy.cfg" <<EOF
global
    nbthread $EDGE_THREADS
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
    server s 127.0.0.1:$SINK
listen echo
    bind 127.0.0.1:$H_ECHO
    server s 127.0.0.1:$ECHO
listen once
    bind 127.0.0.1:$H_ONCE
    server s 127.0.0.1:$ONCE
EOF
start haproxy -db -f "$tmp/haproxy.cfg"
HAP_PID=$LAST_PID
for p in $SINK $ECHO $ONCE $E_SINK $E_ECHO $E_ONCE $C_SINK $C_ECHO $C_ONCE $H_SINK $H_ECHO $H_ONCE; do wait_port "$p"; done

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0) ? a / b : 0}'; }

echo "tikgate edge benchmark: $(nproc) CPUs, kernel $(uname -r), $(haproxy -v | head -1 | cut -d' ' -f1-3)"
echo "DUR=${DUR}s RUNS=$RUNS CONC=$CONC IDLE=$IDLE; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

# --- (a) single-stream throughput, runs interleaved ---
declare -A tp
for r in $(seq "$RUNS"); do
    for path in direct:$SINK edge_splice:$E_SINK edge_copy:$C_SINK haproxy_splice:$H_SINK; do
        name=${path%%:*} port=${path##*:}
        tp[$name]+="$("$LOAD" stream "$port" "$DUR") "
    done
done
echo "(a) one TCP stream, Gbit/s (median of $RUNS; all runs)"
for name in direct edge_splice edge_copy haproxy_splice; do
    printf '    %-16s %6s   (%s)\n' "$name" "$(tr ' ' '\n' <<<"${tp[$name]}" | grep . | median)" "${tp[$name]% }"
done
hap=$(tr ' ' '\n' <<<"${tp[haproxy_splice]}" | grep . | median)
es=$(tr ' ' '\n' <<<"${tp[edge_splice]}" | grep . | median)
ec=$(tr ' ' '\n' <<<"${tp[edge_copy]}" | grep . | median)
echo "    ratio edge_splice/haproxy = $(ratio "$es" "$hap")   edge_copy/haproxy = $(ratio "$ec" "$hap")"
echo

# --- (b) new connections per second ---
declare -A cp
for r in $(seq "$RUNS"); do
    paths=(direct:$ONCE edge_splice:$E_ONCE edge_copy:$C_ONCE haproxy_splice:$H_ONCE)
    (( r % 2 == 0 )) && paths=(haproxy_splice:$H_ONCE edge_copy:$C_ONCE edge_splice:$E_ONCE direct:$ONCE)
    for path in "${paths[@]}"; do
        name=${path%%:*} port=${path##*:}
        read -r rate errs < <("$LOAD" cps "$port" "$DUR" "$CONC")
        cp[$name]+="$rate "
        [[ $errs == 0 ]] || echo "    ($name: $errs failed connections)"
        sleep 1 # let TIME_WAIT settle a little between paths
    done
done
echo "(b) new connections/s (connect, 16 B echo, server closes; $CONC parallel; median of $RUNS)"
for name in direct edge_splice edge_copy haproxy_splice; do
    printf '    %-16s %8s   (%s)\n' "$name" "$(tr ' ' '\n' <<<"${cp[$name]}" | grep . | median)" "${cp[$name]% }"
done
hap=$(tr ' ' '\n' <<<"${cp[haproxy_splice]}" | grep . | median)
es=$(tr ' ' '\n' <<<"${cp[edge_splice]}" | grep . | median)
ec=$(tr ' ' '\n' <<<"${cp[edge_copy]}" | grep . | median)
echo "    ratio edge_splice/haproxy = $(ratio "$es" "$hap")   edge_copy/haproxy = $(ratio "$ec" "$hap")"
echo

# --- (c) memory per idle relayed connection ---
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
idle_run() { # name pid port
    local before after holder
    before=$(rss_kb "$2")
    "$LOAD" idle "$3" "$IDLE" >"$tmp/idle.out" 2>&1 &
    holder=$!
    for _ in $(seq 600); do grep -q ready "$tmp/idle.out" && break; sleep 0.1; done
    grep -q ready "$tmp/idle.out" || { echo "idle holder failed: $(cat "$tmp/idle.out")" >&2; exit 1; }
    sleep 0.5
    after=$(rss_kb "$2")
    kill "$holder"
    wait "$holder" 2>/dev/null || true
    awk -v n="$1" -v b="$before" -v a="$after" -v c="$IDLE" \
        'BEGIN {printf "    %-16s RSS %7d kB -> %7d kB: %6.0f bytes per idle connection\n", n, b, a, (a - b) * 1024 / c}'
    sleep 1
}
echo "(c) process RSS per idle relayed connection ($IDLE connections, each relayed 1 byte each way)"
idle_run edge_splice "$EDGE_PID" $E_ECHO
idle_run edge_copy "$COPY_PID" $C_ECHO
idle_run haproxy_splice "$HAP_PID" $H_ECHO
