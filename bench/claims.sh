#!/usr/bin/env bash
# bench/claims.sh - issue 11: claims without a leader (not a test; figures in docs/benchmarks.md).
#
#   bench/claims.sh                       # everything with the issue's sizes
#   N=20000 DUR=20 DRAIN=20000 bench/claims.sh   # quicker
#   PARTS=drain bench/claims.sh           # some of claims,expiry,drain
#   BUILD=dir bench/claims.sh             # another meson build dir (default build-bench)
#
# 1. push-job claims per second with two dispatcher nodes on PostgreSQL (bench/claim_bench:
#    batch claims, one claimer per node) against one claim per transaction in the same run;
# 2. expiry lateness of N grants (default 100 000) expiring over DUR seconds (default 60) with
#    two tikgated scheduler nodes on one PostgreSQL (p50/p99/max; torn down twice must be 0);
# 3. the drain of DRAIN grants (default 100 000) already expired at start, on SQLite (one node)
#    and on PostgreSQL (two nodes), target <= 5 s, while the API's GET p99 is measured (target
#    <= 20 ms).
# A private PostgreSQL server (tests/integration/pgserver.py). Stops everything it started.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export BUILD=${BUILD:-$ROOT/build-bench}
if [[ ! -x $BUILD/src/daemon/tikgated || ! -x $BUILD/bench/claim_bench ]]; then
    [[ -d $BUILD ]] || meson setup "$BUILD" -Dbuildtype=release -Dtests=false >/dev/null
    ninja -C "$BUILD" src/daemon/tikgated bench/claim_bench >/dev/null
fi
exec timeout -k 20 900 python3 "$ROOT/bench/claims.py"
