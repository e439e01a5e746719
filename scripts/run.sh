#!/usr/bin/env bash
# Installs what is missing, builds, and starts tikgated on SQLite under ./var.
# TIKGATE_* variables (README.md) are honoured, e.g. TIKGATE_BOOTSTRAP_TOKEN, TIKGATE_LISTEN.
#   scripts/run.sh --demo    tikgated with simulated routers that adopt themselves, no root
#                            needed (scripts/demo.sh, docs/demo.md)
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ "${1:-}" == "--demo" ]]; then
    shift
    exec scripts/demo.sh "$@"
fi
scripts/setup.sh
# The data dir holds the database and the keys: the service user's alone (security-review F12).
(umask 077 && mkdir -p var)
chmod 0700 var
exec ./build/src/daemon/tikgated "$@"
