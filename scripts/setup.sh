#!/usr/bin/env bash
# Installs what tikgate needs on a fresh Debian 12 machine (as root) and builds it.
#   scripts/setup.sh            build dependencies + build (./build)
#   scripts/setup.sh --test     also what the test suite needs (linters, fuzzing, benchmarks' peers)
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_PKGS=(build-essential pkg-config meson ninja-build python3
            libmicrohttpd-dev libgnutls28-dev libjansson-dev libsqlite3-dev libsodium-dev libjwt-dev
            libpq-dev libmnl-dev
            libssl-dev libcurl4-openssl-dev)
# What tikgated needs at run time beyond its libraries: wireguard-go for the management VPN
# where the kernel has no WireGuard module (DESIGN.md §10; with the module the kernel's is used).
RUN_PKGS=(wireguard-go)
# wireguard-tools (wg), nftables (the NAT namespace) and iperf3: the namespace tests and
# bench/wg_peers.sh; openssl: tests/integration/test_tls.py makes its CAs and certificates;
# clang-format and clang-tidy: tests/lint (format.sh, tidy.sh); iproute2: `ip netns`;
# postgresql-15: the suite pg starts a private server from /usr/lib/postgresql/15/bin
# (tests/integration/pgserver.py: initdb, postgres, psql, pg_dump; no cluster of the system's);
# git: test_demo runs the demo from a fresh clone (without git it would fall back to the
# checkout itself); util-linux: unshare (test_storage_faults) and setpriv (test_vpn_nonroot);
# openssh-server, openssh-client, sshpass: test_cli_ssh runs `tikgate ssh` (OpenSSH's client,
# given the password by sshpass) through the edge to an sshd of its own (never the system's:
# installed without starting its service, see below).
TEST_PKGS=(libcmocka-dev clang libclang-rt-14-dev clang-format clang-tidy curl sqlite3 chromium
           openssl wireguard-tools nftables iperf3 iproute2 postgresql-15 git util-linux
           openssh-server openssh-client sshpass)

want=("${BUILD_PKGS[@]}" "${RUN_PKGS[@]}")
if [[ "${1:-}" == "--test" ]]; then
    want+=("${TEST_PKGS[@]}")
    # The machine image ships Node.js 20 (with npm); Debian's own nodejs only when none is there.
    command -v node >/dev/null 2>&1 || want+=(nodejs npm)
fi

missing=()
for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}"
    if [[ $(id -u) -ne 0 ]]; then
        echo "setup: missing Debian packages and not root; run: sudo apt-get install ${missing[*]}" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    # Packages install without starting their services (policy-rc.d 101: "action forbidden"):
    # the tests start their own sshd and PostgreSQL on loopback; a system sshd on port 22 of
    # every address is not something a test run may leave behind.
    own_policy=false
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        own_policy=true
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    if $own_policy; then
        rm -f /usr/sbin/policy-rc.d
        trap - EXIT
    fi
fi

if [[ "${1:-}" == "--test" ]] && [[ -f package-lock.json ]]; then
    # (a node_modules with the portal's library only, from a plain set-up, lacks the tools)
    if [[ ! -d node_modules/playwright-core ]] || [[ package-lock.json -nt node_modules ]]; then
        npm ci --no-audit --no-fund --loglevel=error
    fi
elif [[ -f package-lock.json ]] && [[ ! -f node_modules/uplot/dist/uPlot.iife.min.js ]]; then
    # The portal's charts (uPlot, pinned in package-lock.json), served by tikgated from
    # node_modules/uplot/dist/ (docs/portal.md "Charts"). Without npm the dashboard shows its
    # counts and lists but says the charts could not be drawn.
    if command -v npm >/dev/null 2>&1; then
        npm ci --omit=dev --no-audit --no-fund --loglevel=error ||
            echo "setup: npm ci failed: the portal's dashboard will have no charts" >&2
    else
        echo "setup: npm not found: the portal's dashboard will have no charts (run npm ci --omit=dev)" >&2
    fi
fi

if [[ ! -f build/build.ninja ]]; then
    rm -rf build
    if ! out=$(meson setup build 2>&1); then
        echo "$out" >&2
        echo "setup: meson setup failed" >&2
        exit 1
    fi
fi
if ! out=$(ninja -C build 2>&1); then
    echo "$out" | tail -40 >&2
    echo "setup: build failed" >&2
    exit 1
fi
echo "setup: built $(pwd)/build/src/daemon/tikgated"
