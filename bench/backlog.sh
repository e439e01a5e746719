#!/usr/bin/env bash
# bench/backlog.sh - issue 14: urgent jobs through a backlog (not a test; figures in
# docs/benchmarks.md).
#
#   bench/backlog.sh                          # both parts, the issue's sizes
#   PARTS=teardown BACKLOG=1000 ROUNDS=5 bench/backlog.sh
#   PARTS=converge SIMS=20 JOBS=10000 bench/backlog.sh
#   TIKGATE_TEST_DATABASE=postgres bench/backlog.sh   # on a private PostgreSQL server
#   BUILD=dir bench/backlog.sh                # another meson build dir (default build-bench)
#
# 1. teardown: the time from a grant's expiry to its user being gone from the simulated router
#    while BACKLOG (1 000) custom jobs are pending on its site (target: 2 s);
# 2. converge: SIMS (20) simulated routers, JOBS (10 000) mixed jobs queued at once: the time
#    until every router matches the store, and until the urgent part of it does.
# Stops everything it started (bench/backlog.py).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export BUILD=${BUILD:-$ROOT/build-bench}
if [[ ! -x $BUILD/src/daemon/tikgated || ! -x $BUILD/src/sim/tikgate-sim ]]; then
    [[ -d $BUILD ]] || meson setup "$BUILD" "$ROOT" -Dbuildtype=release -Dtests=false >/dev/null
    ninja -C "$BUILD" src/daemon/tikgated src/sim/tikgate-sim >/dev/null
fi
export TIKGATED=$BUILD/src/daemon/tikgated TIKGATE_SIM=$BUILD/src/sim/tikgate-sim
export PYTHONDONTWRITEBYTECODE=1
exec timeout -k 20 1800 python3 "$ROOT/bench/backlog.py"
