#!/usr/bin/env bash
# bench/abuse_edge.sh - security-review F8: a flood of refused edge connections (not a test).
#
#   bench/abuse_edge.sh                    # N=10000 refused connections in DUR=10 s
#   N=3000 DUR=3 bench/abuse_edge.sh       # quicker
#   BUILD=dir bench/abuse_edge.sh          # another meson build dir (default build-bench)
#
# tikgated (roles api,scheduler,edge, TIKGATE_ALLOW_PRIVATE_SOURCES=1, edge on 127.0.0.1, log
# level warn, the default refused-connection settings: 10 s interval, 1000 records per grant)
# on 127.0.0.1:<free port>; one site (tunnel_address 127.0.0.20) with one transient access,
# allow_only_cidr 127.0.0.1/32. The flood: N connections from 127.0.0.9 (not allowed), paced
# evenly over DUR s, each connect + close. Then (after the refused interval has been written):
# grant_connections rows of the grant and the sum of their counts, growth of tikgate.db plus
# its WAL, and the latency of an authenticated GET /v1/sites/{id} (one keep-alive connection,
# back to back) for DUR s before the flood and during it: p50 / p99 / max, requests.
# Bounded: 300 s in all; every process it starts is stopped at the end.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export BUILD=${BUILD:-$ROOT/build-bench}
if [[ ! -x $BUILD/src/daemon/tikgated ]]; then
    [[ -d $BUILD ]] || meson setup "$BUILD" -Dbuildtype=release -Dtests=false >/dev/null
    ninja -C "$BUILD" src/daemon/tikgated >/dev/null
fi
exec timeout -k 10 300 python3 "$ROOT/bench/abuse_edge.py"
