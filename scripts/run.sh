#!/usr/bin/env bash
# Installs what is missing, builds, and starts tikgated on SQLite under ./var.
# TIKGATE_* variables (README.md) are honoured, e.g. TIKGATE_BOOTSTRAP_TOKEN, TIKGATE_LISTEN.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
mkdir -p var
exec ./build/src/daemon/tikgated "$@"
