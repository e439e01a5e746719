#!/usr/bin/env bash
# lint_configure_without_cmocka: the project configures and builds tikgated on a machine without
# the test packages, which is what README's first command (scripts/run.sh) installs. Meson is
# made blind to cmocka only (a native file: a pkg-config that knows no cmocka, no cmake), into
# a build directory of its own; nothing on the machine changes. A target of tests/unit used
# outside it broke exactly this once (route_table, 2026-12-03).
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
real=$(command -v pkg-config)
cat >"$tmp/pkg-config" <<WRAP
#!/bin/sh
for a in "\$@"; do [ "\$a" = cmocka ] && exit 1; done
exec "$real" "\$@"
WRAP
chmod +x "$tmp/pkg-config"
printf "[binaries]\npkgconfig = '%s'\ncmake = 'false'\n" "$tmp/pkg-config" >"$tmp/native.ini"
if ! out=$(meson setup --native-file "$tmp/native.ini" "$tmp/build" "$src" 2>&1); then
    printf '%s\n' "$out" | tail -n 20 >&2
    echo "FAIL: meson setup fails without cmocka (scripts/run.sh on a fresh machine)" >&2
    exit 1
fi
grep -q "cmocka found: NO" <<<"$out" || { printf "%s\n" "$out" | grep -i cmocka >&2; echo "FAIL: cmocka was found anyway" >&2; exit 1; }
if ! out=$(ninja -C "$tmp/build" src/daemon/tikgated 2>&1); then
    printf '%s\n' "$out" | tail -n 20 >&2
    echo "FAIL: tikgated does not build without cmocka" >&2
    exit 1
fi
echo "configured and built tikgated without cmocka"
