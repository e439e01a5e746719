#!/usr/bin/env bash
# bench/api.sh with tikgated on PostgreSQL (issue 11: target >= 0.5 x nginx): a private
# PostgreSQL 15 cluster made and removed by tests/integration/pgserver.py (as user nobody when
# root; fsync off, which reads do not notice), then bench/api.sh with TIKGATE_DATABASE pointing
# at it. Same options as bench/api.sh (DUR, RUNS, CONN, LOG_LEVEL, HTTP_THREADS, BUILD...).
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 tests/integration/pgserver.py -- \
    bash -c 'TIKGATE_DATABASE=$TG_TEST_DATABASE exec bench/api.sh "$@"' bench/api.sh "$@"
