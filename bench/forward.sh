#!/usr/bin/env bash
# bench/forward.sh - issue 4a: a real tikgated transient forward vs HAProxy, same run (not a test).
#
#   bench/forward.sh                 # DUR=5 RUNS=3 CONC=64 IDLE=10000 (clamped to the fd limit)
#   DUR=3 RUNS=1 IDLE=2000 bench/forward.sh
#   BUILD=dir bench/forward.sh       # meson build dir holding src/daemon/tikgated (build-bench)
#   THREADS="1 2" bench/forward.sh   # per count T: tikgated TIKGATE_EDGE_THREADS=T vs nbthread T
#
# tikgated runs with TIKGATE_ROLES=$ROLES (default api,scheduler,edge: no dispatcher, because
# there is no router behind the site and its setup job would only retry against nothing),
# TIKGATE_ALLOW_PRIVATE_SOURCES=1, TIKGATE_EDGE_LISTEN=127.0.0.1, TIKGATE_EDGE_PORTS (below)
# (EDGE_BASE..: below the ephemeral range 32768-60999, whose ports outgoing sockets take), log level warn,
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
# Everything shares the machine's CPUs. For each T in THREADS one tikgated (its own data dir,
# API port, edge ports EDGE_BASE+100k..+99 and sinks) and one HAProxy (ports HAP_BASE+100k+i)
# run side by side, and every run of (a) and (b) goes through all of them in turn (order
# reversed every other run), so that the machine's load drifts alike over what is compared.
# The summary gives each ratio per T and the T / 1 scaling of both.
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
EDGE_BASE=${EDGE_BASE:-26000}
HAP_BASE=${HAP_BASE:-27001}
KEY=tg_sk_benchForward0123456789abcdefghijk
TIKGATED=$BUILD/src/daemon/tikgated

. "$(dirname "$0")/need.sh"
bench_need haproxy curl
[[ -d $BUILD ]] || meson setup "$BUILD" "$ROOT" -Dbuildtype=release -Dtests=false >/dev/null
ninja -C "$BUILD" src/daemon/tikgated >/dev/null # up to date: what is measured is this checkout

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

call() { # call API METHOD PATH [JSON] -> body on stdout; fails on HTTP >= 400
    curl -sS --fail-with-body -X "$2" -H "Authorization: Bearer $KEY" \
        -H 'Content-Type: application/json' ${4:+--data "$4"} "$1$3"
}
jget() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
wait_port() { # wait_port HOST PORT
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && return 0
        sleep 0.05
    done
    echo "port $1:$2 never opened" >&2; tail -n 5 "$tmp"/out.* >&2
    exit 1
}

# setup K T: tikgated number K with T relay threads, its three forwards and their sinks, and an
# HAProxy with nbthread T to the same sinks. Sets TG_PID[T] HAP_PID[T] SINK[T] ONCE[T] ECHO[T]
# (the forwards' ports) and H_SINK[T] H_ONCE[T] H_ECHO[T] (HAProxy's).
declare -A TG_PID HAP_PID SINK ONCE ECHO H_SINK H_ONCE H_ECHO
setup() {
    local k=$1 t=$2 api_port api site lo hb
    lo=$((EDGE_BASE + 100 * k)) hb=$((HAP_BASE + 100 * k))
    api_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    api=http://127.0.0.1:$api_port
    mkdir -p "$tmp/data.$t"
    start "tikgated.$t" env TIKGATE_DATA_DIR="$tmp/data.$t" TIKGATE_LISTEN=127.0.0.1:$api_port TIKGATE_VPN=off \
        TIKGATE_BOOTSTRAP_TOKEN=$KEY TIKGATE_MANAGEMENT_NETWORKS=127.0.0.0/8 \
        TIKGATE_ROLES="$ROLES" TIKGATE_ALLOW_PRIVATE_SOURCES=1 TIKGATE_EDGE_LISTEN=127.0.0.1 \
        TIKGATE_ENTRY_POINT=127.0.0.1 TIKGATE_EDGE_PORTS="$lo-$((lo + 99))" TIKGATE_LOG_LEVEL=warn \
        TIKGATE_EDGE_CONNS_PER_GRANT=86400 TIKGATE_EDGE_CONNS_PER_SOURCE=86400 \
        TIKGATE_HTTP_MAX_CONNECTIONS=256 TIKGATE_FD_RESERVE=256 TIKGATE_EDGE_THREADS="$t" \
        "$TIKGATED"
    TG_PID[$t]=$LAST_PID
    for _ in $(seq 200); do curl -sf "$api/healthz" >/dev/null && break; sleep 0.05; done
    curl -sf "$api/healthz" >/dev/null || { echo "tikgated did not start:" >&2; cat "$tmp/out.tikgated.$t" >&2; exit 1; }
    site=$(call "$api" POST /v1/sites "{\"name\":\"bench-forward-$t\"}" | jget id)
    call "$api" PATCH "/v1/sites/$site" "{\"tunnel_address\":\"$TUNNEL\"}" >/dev/null
    local ports=()
    for _ in 1 2 3; do
        ports+=("$(call "$api" POST "/v1/control-plane/$site/transient-forward" \
            '{"expire_after_minutes":30,"dst_address":"192.168.88.10","dst_port":80,"allow_only_cidr":"127.0.0.0/24"}' |
            jget port)")
    done
    SINK[$t]=${ports[0]} ONCE[$t]=${ports[1]} ECHO[$t]=${ports[2]}
    H_SINK[$t]=$hb H_ONCE[$t]=$((hb + 1)) H_ECHO[$t]=$((hb + 2))
    start "sink.$t" "$LOAD" server sink "$TUNNEL:${SINK[$t]}"
    start "once.$t" "$LOAD" server once "$TUNNEL:${ONCE[$t]}"
    start "echo.$t" "$LOAD" server echo "$TUNNEL:${ECHO[$t]}"
    cat >"$tmp/haproxy.$t.cfg" <<HAP
global
    nbthread $t
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
    bind 127.0.0.1:${H_SINK[$t]}
    server s $TUNNEL:${SINK[$t]}
listen once
    bind 127.0.0.1:${H_ONCE[$t]}
    server s $TUNNEL:${ONCE[$t]}
listen echo
    bind 127.0.0.1:${H_ECHO[$t]}
    server s $TUNNEL:${ECHO[$t]}
HAP
    start "haproxy.$t" haproxy -db -f "$tmp/haproxy.$t.cfg"
    HAP_PID[$t]=$LAST_PID
    for p in ${SINK[$t]} ${ONCE[$t]} ${ECHO[$t]}; do wait_port "$TUNNEL" "$p"; wait_port 127.0.0.1 "$p"; done
    for p in ${H_SINK[$t]} ${H_ONCE[$t]} ${H_ECHO[$t]}; do wait_port 127.0.0.1 "$p"; done
}
k=0
for T in $THREADS; do setup "$k" "$T"; k=$((k + 1)); done
sleep 0.5 # the probe connections above end and are recorded

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0) ? a / b : 0}'; }
med() { tr ' ' '\n' <<<"$1" | grep . | median; }
lim=$(awk -v d="$DUR" 'BEGIN {print int(d * 3 + 20)}')
first=${THREADS%% *}
names=(direct)
for T in $THREADS; do names+=("tikgated-$T" "haproxy-$T"); done

echo "tikgated transient forward vs HAProxy: $(nproc) CPUs, kernel $(uname -r), $(haproxy -v | head -1 | cut -d' ' -f1-3)"
echo "DUR=${DUR}s RUNS=$RUNS CONC=$CONC IDLE=$IDLE ROLES=$ROLES THREADS=\"$THREADS\";" \
    "tikgated-T: TIKGATE_EDGE_THREADS=T, haproxy-T: nbthread T; every run goes through all"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

target_of() { # target_of NAME sink|once|echo -> host:port
    local t=${1#*-} kind=${2^^}
    case $1 in
    direct) local -n m=$kind; echo "$TUNNEL:${m[$first]}" ;;
    tikgated-*) local -n m=$kind; echo "127.0.0.1:${m[$t]}" ;;
    haproxy-*) local -n m=H_$kind; echo "127.0.0.1:${m[$t]}" ;;
    esac
}
order() { # order RUN -> the names, reversed on even runs
    if (($1 % 2)); then printf '%s\n' "${names[@]}"; else printf '%s\n' "${names[@]}" | tac; fi
}

# --- (a) one TCP stream ---
declare -A tp cp idle
for r in $(seq "$RUNS"); do
    for name in $(order "$r"); do
        tp[$name]+="$(timeout "$lim" "$LOAD" stream "$(target_of "$name" sink)" "$DUR") "
    done
done
echo "(a) one TCP stream, Gbit/s (median of $RUNS; all runs)"
for name in "${names[@]}"; do
    printf '    %-12s %6s   (%s)\n' "$name" "$(med "${tp[$name]}")" "${tp[$name]% }"
done
echo

# --- (b) new connections per second ---
thread_ticks() { # PID -> "tid ticks" per thread (utime + stime)
    for f in /proc/"$1"/task/*/stat; do
        awk '{sub(/^.*\) /, ""); print FILENAME, $12 + $13}' "$f" 2>/dev/null
    done | sed 's|/proc/[0-9]*/task/||; s|/stat||' | sort
}
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
proc_ticks() { # PID -> utime + stime of all its threads, in clock ticks
    [[ -n $1 ]] || { echo 0; return; }
    awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$1/stat"
}
relay_pid() { # NAME -> the relay's PID (none for direct)
    case $1 in
    tikgated-*) echo "${TG_PID[${1#*-}]}" ;;
    haproxy-*) echo "${HAP_PID[${1#*-}]}" ;;
    esac
}
tcp_out_segs() { awk '$1 == "Tcp:" && $2 ~ /^[0-9]/ {print $12}' /proc/net/snmp; } # OutSegs, whole machine
ctx_switches() { # PID -> voluntary + involuntary context switches of all its threads
    [[ -n $1 ]] || { echo 0; return; }
    cat /proc/"$1"/task/*/status 2>/dev/null | awk '/ctxt_switches/ {n += $2} END {print n + 0}'
}
declare -A cpu_ticks conns segs ctxs
for T in $THREADS; do thread_ticks "${TG_PID[$T]}" >"$tmp/ticks.before.$T"; done
for r in $(seq "$RUNS"); do
    for name in $(order "$r"); do
        rp=$(relay_pid "$name")
        t0=$(proc_ticks "$rp") s0=$(tcp_out_segs) x0=$(ctx_switches "$rp")
        read -r rate errs < <(timeout "$lim" "$LOAD" cps "$(target_of "$name" once)" "$DUR" "$CONC")
        sleep 0.3 # the relay's last closes and the role's last records
        cpu_ticks[$name]=$((${cpu_ticks[$name]:-0} + $(proc_ticks "$rp") - t0))
        segs[$name]=$((${segs[$name]:-0} + $(tcp_out_segs) - s0))
        ctxs[$name]=$((${ctxs[$name]:-0} + $(ctx_switches "$rp") - x0))
        conns[$name]=$(awk -v a="${conns[$name]:-0}" -v r="$rate" -v d="$DUR" 'BEGIN {printf "%d", a + r * d}')
        cp[$name]+="$rate "
        [[ $errs == 0 ]] || echo "    ($name: $errs failed connections)"
        sleep 1
    done
done
echo "(b) new connections/s (connect, 16 B echo, server closes; $CONC parallel; median of $RUNS)"
for name in "${names[@]}"; do
    printf '    %-12s %8s   (%s)\n' "$name" "$(med "${cp[$name]}")" "${cp[$name]% }"
done
sleep 1
hz=$(getconf CLK_TCK)
per_conn() { # NAME COUNT [FORMAT] -> COUNT / NAME's connections
    awk -v x="$2" -v c="${conns[$1]}" -v f="${3:-%.3f}" 'BEGIN {printf f, c ? x / c : 0}'
}
us_per_conn() { # NAME -> its relay's CPU microseconds per connection
    per_conn "$1" "$(awk -v t="${cpu_ticks[$1]:-0}" -v hz="$hz" 'BEGIN {printf "%.0f", t / hz * 1e6}')" %.1f
}
echo "    per connection, over each one's $RUNS runs: the relay process's CPU (all its threads, user +" \
    "system), its context switches, the TCP segments the machine sent (OutSegs: both legs, all parties)"
for name in "${names[@]}"; do
    if [[ $name == direct ]]; then
        printf '    %-12s %8s   %12s   %6s segments\n' "$name" "-" "-" "$(per_conn "$name" "${segs[$name]}")"
    else
        printf '    %-12s %5s us   %6s switches   %6s segments   (%d connections)\n' "$name" \
            "$(us_per_conn "$name")" "$(per_conn "$name" "${ctxs[$name]}")" \
            "$(per_conn "$name" "${segs[$name]}")" "${conns[$name]}"
    fi
done
for T in $THREADS; do
    thread_ticks "${TG_PID[$T]}" >"$tmp/ticks.after.$T"
    echo "    tikgated-$T during (b): CPU s per thread (busiest first):" \
        "$(join "$tmp/ticks.before.$T" "$tmp/ticks.after.$T" | awk -v hz="$hz" '{printf "%.1f\n", ($3 - $2) / hz}' |
            sort -gr | head -4 | tr '\n' ' ')"
done
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
        'BEGIN {printf "    %-12s RSS %7d kB -> %7d kB: %6.0f bytes per idle connection\n", n, b, a, (a - b) * 1024 / c}'
    idle[$1]=$(((after - before) * 1024 / IDLE))
    sleep 2
}
echo "(c) process RSS per idle relayed connection ($IDLE connections, each relayed 1 byte each way)"
for T in $THREADS; do
    idle_run "tikgated-$T" "${TG_PID[$T]}" "$(target_of "tikgated-$T" echo)"
    idle_run "haproxy-$T" "${HAP_PID[$T]}" "$(target_of "haproxy-$T" echo)"
done
echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "summary (medians): T   stream Gbit/s tikgated / haproxy   conn/s tikgated / haproxy   idle B/conn"
for T in $THREADS; do
    a_tg=$(med "${tp[tikgated-$T]}") a_hap=$(med "${tp[haproxy-$T]}")
    b_tg=$(med "${cp[tikgated-$T]}") b_hap=$(med "${cp[haproxy-$T]}")
    printf '    T=%-2s  %6s / %-6s = %sx   %7s / %-7s = %sx   %5s / %s\n' "$T" "$a_tg" "$a_hap" \
        "$(ratio "$a_tg" "$a_hap")" "$b_tg" "$b_hap" "$(ratio "$b_tg" "$b_hap")" \
        "${idle[tikgated-$T]}" "${idle[haproxy-$T]}"
done
b1=$(med "${cp[tikgated-$first]}") h1=$(med "${cp[haproxy-$first]}")
for T in $THREADS; do
    [[ $T == "$first" ]] && continue
    echo "    conn/s T=$T / T=$first: tikgated $(ratio "$(med "${cp[tikgated-$T]}")" "$b1")x," \
        "haproxy $(ratio "$(med "${cp[haproxy-$T]}")" "$h1")x   (target for tikgated: >= 1.6 at 2 / 1)"
done
echo "targets: conn/s >= 1.2x HAProxy at the same T, stream >= 1.2x, <= 512 B per idle connection"
for T in $THREADS; do
    echo "    T=$T relay CPU per connection: tikgated $(us_per_conn "tikgated-$T") us / haproxy" \
        "$(us_per_conn "haproxy-$T") us = $(ratio "$(us_per_conn "tikgated-$T")" "$(us_per_conn "haproxy-$T")")x" \
        "(below 1: tikgated spends less CPU on a connection)"
done
# Counted in the SQLite files, not through GET .../connections (that list is not paginated).
for T in $THREADS; do
    nrec=$(python3 -c 'import sqlite3,sys; c=sqlite3.connect("file:"+sys.argv[1]+"?mode=ro", uri=True); print(c.execute("SELECT count(*) FROM grant_connections").fetchone()[0])' "$tmp/data.$T/tikgate.db")
    echo "connection records stored by tikgated-$T (all forwards, whole run): $nrec"
done
