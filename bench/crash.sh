#!/usr/bin/env bash
# The crash-consistency run of issue 14 at a larger scale than the suite's (which runs
# tests/integration/test_crash_consistency.py with CRASH_KILLS=6): SEEDS runs of KILLS SIGKILLs
# each (default 5 x 40, 8 operations between kills), on SQLite, or on PostgreSQL with DB=postgres.
# Prints each run's workload and result, then "N runs, N failed". Loopback only.
#   BUILD=build bench/crash.sh        KILLS=40 SEEDS=5 DB=sqlite
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
KILLS=${KILLS:-40}
SEEDS=${SEEDS:-5}
DB=${DB:-sqlite}
failed=0
for seed in $(seq 1 "$SEEDS"); do
    out=$(CRASH_SEED=$seed CRASH_KILLS=$KILLS TIKGATE_TEST_DATABASE=$DB \
          TIKGATED=$BUILD/src/daemon/tikgated TIKGATE_SIM=$BUILD/src/sim/tikgate-sim \
          PYTHONDONTWRITEBYTECODE=1 timeout 900 python3 tests/integration/test_crash_consistency.py 2>&1)
    rc=$?
    echo "seed $seed: $(grep -m1 'kills:' <<<"$out") -> $([ $rc = 0 ] && echo ok || echo FAILED)"
    if [ $rc != 0 ]; then
        failed=$((failed + 1))
        grep -A6 '^FAIL\|^ERROR\|Error' <<<"$out" | head -20
    fi
done
echo "$SEEDS runs, $failed failed ($KILLS kills each, $DB)"
[ $failed = 0 ]
