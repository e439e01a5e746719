#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite:
# unit tests (cmocka, node --test), fuzz-corpus replays, lints (module boundaries, format),
# integration tests against the real daemon (loopback and network namespaces), the store unit
# tests and the main integration tests again on a private PostgreSQL server (suite pg,
# tests/integration/pgserver.py; included in the first meson test run below), the browser
# test, the same again under ASan+UBSan and TSan, the OpenAPI lint, clang-tidy, and a bounded
# libFuzzer run when clang's fuzzer runtime is present.
# Ends with one line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test || exit 1

passed=0
failed=0
failures=()

# Adds the results of a meson test run (its testlog.json) to the totals.
count_meson() {
    local log="$1/meson-logs/testlog.json"
    if [[ ! -f "$log" ]]; then
        failed=$((failed + 1))
        failures+=("$1: no test log")
        return
    fi
    local p f names
    read -r p f names < <(python3 - "$log" <<'PY'
import json, sys
p = f = 0
bad = []
for line in open(sys.argv[1]):
    line = line.strip()
    if not line:
        continue
    r = json.loads(line)
    if r.get('result') in ('OK', 'EXPECTEDFAIL', 'SKIP'):
        p += 1
    else:
        f += 1
        bad.append(r.get('name', '?') + '(' + str(r.get('result')) + ')')
print(p, f, ' '.join(bad))
PY
)
    passed=$((passed + p))
    failed=$((failed + f))
    if [[ -n "$names" ]]; then
        failures+=("$1: $names")
    fi
}

# Every suite of the build, pg included (it skips with 77 when no PostgreSQL is installed).
meson test -C build --print-errorlogs --num-processes 2
count_meson build

# The same unit and integration tests once more against an ASan+UBSan build (clang):
# any sanitizer report fails the test that caused it (tests/integration/tg.py checks the log).
if command -v clang >/dev/null 2>&1 && [[ "${TIKGATE_SKIP_SANITIZERS:-0}" != 1 ]]; then
    if [[ ! -f build-asan/build.ninja ]]; then
        rm -rf build-asan
        CC=clang meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false \
            >/dev/null || { failed=$((failed + 1)); failures+=("asan setup"); }
    fi
    if ninja -C build-asan >/dev/null; then
        ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
            meson test -C build-asan --suite unit --suite integration --print-errorlogs \
            --num-processes 2
        count_meson build-asan
    else
        echo "test: the sanitizer build failed"
        failed=$((failed + 1))
        failures+=("asan build")
    fi
fi

if tests/lint/openapi.sh; then passed=$((passed + 1)); else failed=$((failed + 1)); failures+=(openapi); fi

# clang-tidy with the repo's .clang-tidy over src/ (the boundaries and format lints run above,
# in meson's suite 'lint'; the pedantic build is the build itself).
if tests/lint/tidy.sh build; then passed=$((passed + 1)); else failed=$((failed + 1)); failures+=(tidy); fi

# The integration tests once more against a ThreadSanitizer build of the daemon: the HTTP
# workers, dispatcher, scheduler and edge threads share the store and the relay.
if command -v clang >/dev/null 2>&1 && [[ "${TIKGATE_SKIP_SANITIZERS:-0}" != 1 ]]; then
    if [[ ! -f build-tsan/build.ninja ]]; then
        rm -rf build-tsan
        CC=clang meson setup build-tsan -Db_sanitize=thread -Db_lundef=false \
            >/dev/null || { failed=$((failed + 1)); failures+=("tsan setup"); }
    fi
    if ninja -C build-tsan >/dev/null; then
        TSAN_OPTIONS=halt_on_error=0 \
            meson test -C build-tsan --suite integration --print-errorlogs --num-processes 2
        count_meson build-tsan
    else
        echo "test: the ThreadSanitizer build failed"
        failed=$((failed + 1))
        failures+=("tsan build")
    fi
fi

if [[ -x scripts/fuzz.sh ]]; then
    if scripts/fuzz.sh "${TIKGATE_FUZZ_SECONDS:-20}" >build/fuzz.log 2>&1; then
        passed=$((passed + 1))
        tail -n 12 build/fuzz.log
    else
        failed=$((failed + 1))
        failures+=(fuzz)
        tail -n 60 build/fuzz.log
    fi
fi

# The failures are repeated last, where a truncated CI log still shows them.
for f in "${failures[@]}"; do
    echo "FAILED: $f"
done
echo "${passed} passed, ${failed} failed"
[[ $failed -eq 0 ]]
