#!/usr/bin/env bash
# bench/expiry.sh - issue 4b: expiry precision of tikgated's scheduler (not a test).
#
#   bench/expiry.sh                          # GRANTS=100000 expiring over SPREAD=60 s
#   GRANTS=10000 SPREAD=20 bench/expiry.sh   # quicker
#   BUILD=dir bench/expiry.sh                # another meson build dir (default build-bench)
#
# tikgated with TIKGATE_ROLES=api,scheduler (no edge: 100 000 listeners do not fit the fd limit
# or one entry point's 65 535 ports); the tenant and site come from the API, the grants are
# inserted straight into the SQLite file (expires_at uniform over now+15 s .. now+75 s), then
# tikgated is restarted and its scheduler tears them down. Lateness of a grant = creation time
# of its teardown job ('created' event) - expires_at. Prints p50, p99, max and how many were
# torn down. Target (issue 4): p99 <= 1 s. Bounded: LEAD+SPREAD+GRACE (135 s by default) plus
# start-up; stops every process it started.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export BUILD=${BUILD:-$ROOT/build-bench}
if [[ ! -x $BUILD/src/daemon/tikgated ]]; then
    [[ -d $BUILD ]] || meson setup "$BUILD" -Dbuildtype=release -Dtests=false >/dev/null
    ninja -C "$BUILD" src/daemon/tikgated >/dev/null
fi
exec timeout -k 20 400 python3 "$ROOT/bench/expiry.py"
