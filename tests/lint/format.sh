#!/usr/bin/env bash
# Checks that every C file git tracks (src/, tests/, fuzz/, bench/) is formatted to the
# repo's .clang-format: `clang-format --dry-run -Werror`. Prints the offending places and
# exits 1 when any file differs; `clang-format -i FILE` fixes one.
set -u
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root" || exit 1
command -v clang-format >/dev/null 2>&1 || {
    echo "format: clang-format not found (scripts/setup.sh --test installs it)" >&2
    exit 1
}
mapfile -t files < <(git ls-files '*.c' '*.h' 2>/dev/null || find src tests fuzz bench -name '*.[ch]')
if ((${#files[@]} == 0)); then
    echo "format: no C files found" >&2
    exit 1
fi
if ! clang-format --dry-run -Werror "${files[@]}"; then
    echo "format: files above differ from .clang-format (run clang-format -i on them)" >&2
    exit 1
fi
echo "format: ${#files[@]} files match .clang-format"
