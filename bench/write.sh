#!/usr/bin/env bash
# bench/write.sh - issue 13: creates/s of transient access (a write route) against the same
# writes done by a bare SQLite loop, in the same run (not a test).
#
#   bench/write.sh                     # DUR=5 CONN=64 RUNS=3, log level info
#   BUILD=dir bench/write.sh           # another meson build dir (default build-release)
#
# tikgated (roles api,scheduler: no dispatcher, so the setup jobs stay queued and nothing but the
# create is measured; no edge, so no listener per grant; TIKGATE_EDGE_PORTS=10000-60000)
# with the default durability (SQLite WAL, synchronous=NORMAL) and log level $LOG_LEVEL. One
# site, then wrk -c$CONN POSTs `/v1/control-plane/{site}/transient-access` {type winbox, 30 min,
# allow_only_cidr 127.0.0.1/32}: each answer 201 is one grant + its setup job + 2 events in one
# transaction. References, alternating with it: bench/write_ref.c (compiled here) and
# bench/write_ref.py, the same rows inserted in a copy of the same database with the same
# pragmas, one transaction per create, no HTTP (what the storage does on this machine; the C
# loop is the ratio's reference). Prints creates/s, the ratios, load before/after.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build-release}
DUR=${DUR:-5}
CONN=${CONN:-64}
RUNS=${RUNS:-3}
LOG_LEVEL=${LOG_LEVEL:-info}
PORT=${PORT:-18482}
KEY=tg_sk_benchWrite0000000000000000000
. "$(dirname "$0")/need.sh"
bench_need wrk curl
if [[ ! -f $BUILD/build.ninja ]]; then
    meson setup "$BUILD" "$ROOT" -Dbuildtype=release -Dtests=false >&2
fi
ninja -C "$BUILD" src/daemon/tikgated >&2
TMP=$(mktemp -d /tmp/tikgate-bench-write.XXXXXX)
PID=
cleanup() {
    set +e
    [[ -n $PID ]] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# Every run starts tikgated on a fresh data dir, as the references start from a fresh copy:
# grants accumulate (15 000 a run) and would fill the edge's port range (50 000) by the third.
start_tikgated() {
    [[ -n $PID ]] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
    rm -rf "$TMP/data" && mkdir -p "$TMP/data"
    TIKGATE_DATA_DIR=$TMP/data TIKGATE_LISTEN=127.0.0.1:$PORT TIKGATE_BOOTSTRAP_TOKEN=$KEY \
        TIKGATE_LOG_LEVEL=$LOG_LEVEL TIKGATE_ROLES=api,scheduler TIKGATE_VPN=off \
        TIKGATE_ENTRY_POINT=127.0.0.1 TIKGATE_EDGE_PORTS=10000-60000 \
        TIKGATE_ALLOW_PRIVATE_SOURCES=1 TIKGATE_SHARE_DIR=$ROOT \
        timeout -k 5 $((DUR * 3 + 120)) "$BUILD/src/daemon/tikgated" \
        >>"$TMP/tikgated.out" 2>>"$TMP/tikgated.err" &
    PID=$!
    for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.05; done
    site=$(api -X POST -d '{"name":"bench-write"}' "http://127.0.0.1:$PORT/v1/sites" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
    URL=http://127.0.0.1:$PORT/v1/control-plane/$site/transient-access
    api -X POST -d "$BODY" -o /dev/null "$URL" || { echo "create failed" >&2; exit 1; }
}
api() { curl -sf -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' "$@"; }
BODY='{"type":"winbox","expire_after_minutes":30,"allow_only_cidr":"127.0.0.1/32"}'
start_tikgated
# The reference's database: a consistent copy of tikgated's (one grant and its job in it).
python3 -c 'import sqlite3,sys; s=sqlite3.connect(sys.argv[1]); d=sqlite3.connect(sys.argv[2]); s.backup(d)' \
    "$TMP/data/tikgate.db" "$TMP/ref.db"
cc -O2 -o "$TMP/write_ref" "$ROOT/bench/write_ref.c" -lsqlite3
REF_SITE=$site # the site of ref.db, the references' copy of the first run's store
mapfile -t REF_SQL < <(python3 "$ROOT/bench/write_ref.py" --sql "$TMP/ref.db" "$REF_SITE")
cat >"$TMP/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '$BODY'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $KEY"
LUA
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "tikgated: $BUILD/src/daemon/tikgated, log level $LOG_LEVEL, SQLite WAL synchronous=NORMAL"
echo "wrk -t1 -c$CONN -d${DUR}s POST $URL (references: bench/write_ref.c and .py, ${DUR}s each)"
rates=() refs=() pyrefs=()
for r in $(seq "$RUNS"); do
    ((r == 1)) || start_tikgated
    wrk -t1 -c"$CONN" -d2s -s "$TMP/post.lua" "$URL" >/dev/null # warm-up
    wrk -t1 -c"$CONN" -d"${DUR}s" --latency -s "$TMP/post.lua" "$URL" >"$TMP/wrk.$r.txt"
    total=$(awk '/requests in/ {print $1}' "$TMP/wrk.$r.txt")
    bad=$(awk '/Non-2xx/ {print $NF}' "$TMP/wrk.$r.txt")
    secs=$(awk '/requests in/ {sub(/s,/, "", $4); print $4}' "$TMP/wrk.$r.txt")
    a=$(awk -v t="$total" -v b="${bad:-0}" -v s="$secs" 'BEGIN {printf "%.0f", (t - b) / s}')
    cp "$TMP/ref.db" "$TMP/ref.$r.db"
    ref=$("$TMP/write_ref" "$TMP/ref.$r.db" "$DUR" "${REF_SQL[@]}")
    rm -f "$TMP"/ref."$r".db*
    cp "$TMP/ref.db" "$TMP/ref.$r.db"
    pyref=$(python3 "$ROOT/bench/write_ref.py" "$TMP/ref.$r.db" "$REF_SITE" "$DUR")
    rm -f "$TMP"/ref."$r".db*
    rates+=("$a") refs+=("$ref") pyrefs+=("$pyref")
    echo "run $r: tikgated $a creates/s (non-2xx ${bad:-0}, p99 $(awk '$1 == "99%" {print $2}' \
        "$TMP/wrk.$r.txt")), C loop $ref, Python loop $pyref creates/s, ratio to C $(awk \
        -v a="$a" -v b="$ref" 'BEGIN {printf "%.3f", a / b}')"
done
med() { printf '%s\n' "$@" | sort -g | awk -v n=$# 'NR == int(n / 2) + 1'; }
ma=$(med "${rates[@]}")
mr=$(med "${refs[@]}")
mp=$(med "${pyrefs[@]}")
echo "median: tikgated $ma creates/s, C loop $mr, Python loop $mp creates/s; ratio to the C loop \
$(awk -v a="$ma" -v b="$mr" 'BEGIN {printf "%.3f", a / b}') (target >= 0.8)"
echo "grants in tikgated's store after the last run: $(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from grants").fetchone()[0])' "$TMP/data/tikgate.db")"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
