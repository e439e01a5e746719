#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite:
# unit tests (cmocka), fuzz-corpus replays, integration tests against the real daemon,
# the OpenAPI lint, and a bounded libFuzzer run when clang's fuzzer runtime is present.
# Ends with one line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test || exit 1

passed=0
failed=0

meson test -C build --print-errorlogs --num-processes 2
log=build/meson-logs/testlog.json
if [[ -f "$log" ]]; then
    read -r p f < <(python3 - "$log" <<'PY'
import json, sys
p = f = 0
for line in open(sys.argv[1]):
    line = line.strip()
    if not line:
        continue
    r = json.loads(line)
    if r.get('result') in ('OK', 'EXPECTEDFAIL', 'SKIP'):
        p += 1
    else:
        f += 1
print(p, f)
PY
)
    passed=$((passed + p))
    failed=$((failed + f))
else
    failed=$((failed + 1))
fi

if tests/lint/openapi.sh; then passed=$((passed + 1)); else failed=$((failed + 1)); fi

if [[ -x scripts/fuzz.sh ]]; then
    if scripts/fuzz.sh "${TIKGATE_FUZZ_SECONDS:-20}"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
    fi
fi

echo "${passed} passed, ${failed} failed"
[[ $failed -eq 0 ]]
