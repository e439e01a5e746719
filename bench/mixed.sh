#!/usr/bin/env bash
# bench/mixed.sh - issue 13: mixed API load with simulated routers connected (not a test).
#
#   bench/mixed.sh                       # CLIENTS=100 DUR=30 SITES=20 POLICIES=5, log level info
#   DUR=60 bench/mixed.sh                # the issue's 60 s
#   LOG_LEVEL=warn bench/mixed.sh        # without the access log
#   BUILD=dir bench/mixed.sh             # another meson build dir (default build-bench)
#   TG_ENV='TIKGATE_X=1 ...' bench/mixed.sh   # extra tikgated environment
#
# tikgated (all roles, edge on 127.0.0.1, VPN off) on a free loopback port, SITES tikgate-sims
# on random 127.x.y.z adopting themselves, then CLIENTS keep-alive clients for DUR s: 80 % reads
# (sites, policies, grants, jobs: lists and objects), 20 % writes (grant create/PATCH/DELETE,
# policy PUT, note PUT, job POST). Prints p50/p99/max per route and per class, req/s, errors,
# RSS, jobs by status before/after, load average before/after; then the same client and mix
# against nginx `return 200` for REF_DUR s (the client's own floor). Targets (issue 13): p99 <=
# 50 ms for reads and <= 100 ms for writes, the job backlog bounded.
# Bounded: the whole run is killed after DUR + 240 s; every process it starts is stopped.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export BUILD=${BUILD:-$ROOT/build-bench}
. "$ROOT/bench/need.sh"
bench_need nginx:nginx-light
[[ -d $BUILD ]] || meson setup "$BUILD" "$ROOT" -Dbuildtype=release -Dtests=false >/dev/null
ninja -C "$BUILD" >/dev/null # up to date: what is measured is this checkout
DUR=${DUR:-30}
export DUR
exec timeout -k 10 $((${DUR%.*} + 240)) python3 "$ROOT/bench/mixed.py"
