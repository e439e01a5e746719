#!/usr/bin/env bash
# Installs what is missing, builds, and starts tikgated on SQLite under ./var.
# TIKGATE_* variables (README.md) are honoured, e.g. TIKGATE_BOOTSTRAP_TOKEN, TIKGATE_LISTEN.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# The data dir holds the database and the keys: the service user's alone (security-review F12).
(umask 077 && mkdir -p var)
chmod 0700 var
exec ./build/src/daemon/tikgated "$@"
