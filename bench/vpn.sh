#!/usr/bin/env bash
# bench/vpn.sh - issue 9: the Management VPN as tikgated runs it (not a test), in one run.
#
#   bench/vpn.sh                      # PEERS=10000 ADDS=10 RUNS=3 DUR=5
#   PEERS=2000 RUNS=1 DUR=3 bench/vpn.sh
#   BUILD=dir bench/vpn.sh            # meson build dir holding tikgated and tikgate-sim (./build)
#   VERBOSE=1 bench/vpn.sh            # also the VPN role's log lines of each add
#
# In the namespaces of tests/integration/netns.py (edge, NAT, router, LAN; created and removed
# on every exit path), tikgated with TIKGATE_VPN=wireguard in the edge namespace, tikgate-sim
# --wireguard behind the NAT running the site's bootstrap command (bench/vpn.py says how each
# figure is taken):
# (a) adopt -> first handshake, adopt -> first express push completed through the tunnel;
# (b) PEERS managed sites written into the store -> all on the edge's interface (wg show), then
#     ADDS more adopted through the API one by one -> each peer on the interface (targets <= 2 s,
#     <= 1 ms); for reference, in the same run, the same UAPI messages by tikgate-wg bench
#     (bench/wg_peers.sh (a)) to a second wireguard-go;
# (c) one TCP stream through the edge (tikgated's forward relay) + tunnel vs the same stream
#     through the tunnel alone, runs interleaved (target >= 0.9x).
# Root only; bounded by `timeout`. Needs wireguard-go, wireguard-tools, nftables, iperf3, curl
# (scripts/setup.sh --test).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export BUILD=${BUILD:-$ROOT/build}
export PYTHONDONTWRITEBYTECODE=1
if [[ ! -x $BUILD/src/daemon/tikgated || ! -x $BUILD/src/sim/tikgate-sim || ! -x $BUILD/src/wg/tikgate-wg ]]; then
    ninja -C "$BUILD" src/daemon/tikgated src/sim/tikgate-sim src/wg/tikgate-wg >/dev/null
fi
for p in wireguard-go wg nft iperf3 curl; do
    command -v "$p" >/dev/null || { echo "vpn: $p missing (scripts/setup.sh --test)" >&2; exit 1; }
done
exec timeout --signal=TERM --kill-after=20 "${TIMEOUT:-600}" python3 "$ROOT/bench/vpn.py"
