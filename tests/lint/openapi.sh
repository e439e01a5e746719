#!/usr/bin/env bash
# Lints api/openapi.yaml with the Redocly CLI pinned in package-lock.json.
#
# Installs the linter with `npm ci` when node_modules lacks it (Node.js >= 20.19
# and npm must be on PATH; the machine image provides them). Exits non-zero when
# the linter reports an error (warnings are printed but do not fail). The last
# line is the plain test summary: "1 passed, 0 failed" or "0 passed, 1 failed".
set -u

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root" || exit 1

fail() {
    echo "openapi lint: $*" >&2
    echo "0 passed, 1 failed"
    exit 1
}

command -v node >/dev/null 2>&1 || fail "node not found (Node.js >= 20.19 is needed)"
command -v npm >/dev/null 2>&1 || fail "npm not found"
node -e 'const [a, b] = process.versions.node.split(".").map(Number);
         process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' ||
    fail "Node.js $(node --version) is too old; @redocly/cli needs >= 20.19"

if [ ! -x node_modules/.bin/redocly ]; then
    echo "openapi lint: node_modules missing, running npm ci"
    npm ci --no-audit --no-fund || fail "npm ci failed"
fi

if npm run --silent lint:openapi 2>&1; then
    echo "1 passed, 0 failed"
    exit 0
fi
echo "0 passed, 1 failed"
exit 1
