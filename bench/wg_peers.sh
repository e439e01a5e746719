#!/usr/bin/env bash
# bench/wg_peers.sh - issue 9: the edge's WireGuard interface through src/wg (not a test).
#
#   bench/wg_peers.sh                     # PEERS=10000 ADDS=50 RUNS=3 DUR=5
#   PEERS=50000 RUNS=1 STREAM=0 bench/wg_peers.sh
#   BUILD=dir bench/wg_peers.sh           # meson build dir holding src/wg/tikgate-wg (./build)
#
# (a) loads PEERS peers into a wireguard-go interface in one UAPI set=1 message through the
#     module, then adds ADDS more one message each (targets of the issue: <= 2 s and <= 1 ms),
#     dumps the device (get=1) and removes the added ones; medians of RUNS runs.
# (b) one TCP stream (iperf3, DUR s) from the edge namespace to a router behind the NAT, through
#     a module-configured wireguard-go vs a wg(8)-configured one, runs interleaved (STREAM=0
#     skips it).
# Root only; runs in network namespaces it creates and removes (tests/integration/netns.py), on
# every exit path; bounded by `timeout`. Needs wireguard-go, wireguard-tools, nftables, iperf3
# (scripts/setup.sh --test).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export BUILD=${BUILD:-$ROOT/build}
export PYTHONDONTWRITEBYTECODE=1
if [[ ! -x $BUILD/src/wg/tikgate-wg ]]; then
    ninja -C "$BUILD" src/wg/tikgate-wg >/dev/null
fi
for p in wireguard-go wg nft iperf3; do
    command -v "$p" >/dev/null || { echo "wg_peers: $p missing (scripts/setup.sh --test)" >&2; exit 1; }
done
exec timeout --signal=TERM --kill-after=20 "${TIMEOUT:-900}" python3 "$ROOT/bench/wg_peers.py"
