#!/usr/bin/env bash
# Runs clang-tidy with the repo's .clang-tidy over every C file of src/, using the
# compile_commands.json of a meson build dir (default: build). Exits 1 on any finding.
#   tests/lint/tidy.sh [BUILD_DIR]
set -u
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root" || exit 1
bdir="${1:-build}"
command -v clang-tidy >/dev/null 2>&1 || {
    echo "tidy: clang-tidy not found (scripts/setup.sh --test installs it)" >&2
    exit 1
}
[[ -f "$bdir/compile_commands.json" ]] || {
    echo "tidy: no $bdir/compile_commands.json (meson setup $bdir first)" >&2
    exit 1
}
mapfile -t files < <(git ls-files 'src/*.c' 2>/dev/null || find src -name '*.c')
out=$(printf '%s\n' "${files[@]}" | xargs -P "$(nproc)" -n 8 clang-tidy -p "$bdir" --quiet 2>/dev/null)
rc=$?
if [[ -n "$out" ]] && grep -q 'error:\|warning:' <<<"$out"; then
    grep -E 'error:|warning:' <<<"$out" | sort -u
    echo "tidy: findings above (checks in .clang-tidy)" >&2
    exit 1
fi
if ((rc != 0)); then
    echo "tidy: clang-tidy failed (exit $rc)" >&2
    exit 1
fi
echo "tidy: ${#files[@]} files clean"
