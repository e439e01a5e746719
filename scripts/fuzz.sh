#!/bin/sh
# fuzz.sh - run every libFuzzer target for a bounded time.
#
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
#   SECONDS  time per target (default 30)
#   TARGET   target names (default: every fuzz/<t>/ holding fuzz_<t>.c: today ros_wire,
#            api_json, cidr, sim_script, sim_script_run, job_plan, http_route, wg_uapi,
#            wg_genl)
#
# Configures a separate clang build dir (build-fuzz: CC=clang, -Dfuzzing=true,
# ASan+UBSan, werror off: the warning gate is the main build) on first use,
# builds only the fuzz binaries, and runs each one for SECONDS over its seed
# corpus (fuzz/<t>/corpus, read-only) plus a scratch corpus in
# build-fuzz/fuzz-corpus/<t>. Convention: fuzz/<t>/fuzz_<t>.c is a target listed
# in fuzz/meson.build, which builds it as build-fuzz/fuzz/fuzz_<t> (a directory
# missing from that list fails to build here, so it is not silently skipped).
# Crash inputs land in build-fuzz/fuzz-artifacts/<t>/; copy a fixed one into the
# seed corpus so the replay test (meson test --suite fuzz) keeps it. Exits 1 if
# any target crashed or failed to build.
set -eu

secs=${1:-30}
[ $# -gt 0 ] && shift
case $secs in
    ''|*[!0-9]*) echo "usage: $0 [SECONDS] [TARGET...]" >&2; exit 2 ;;
esac

cd "$(dirname "$0")/.."
bdir=build-fuzz

if [ ! -f "$bdir/build.ninja" ]; then
    CC=clang meson setup "$bdir" -Dfuzzing=true -Db_sanitize=address,undefined \
        -Db_lundef=false -Dbuildtype=debugoptimized -Dwerror=false
else
    meson configure "$bdir" -Dfuzzing=true >/dev/null
fi

if [ $# -eq 0 ]; then
    for d in fuzz/*/; do
        t=$(basename "$d")
        [ -f "${d}fuzz_$t.c" ] && set -- "$@" "$t"
    done
fi

failed=0
for t in "$@"; do
    bin="$bdir/fuzz/fuzz_$t"
    if [ ! -f "fuzz/$t/fuzz_$t.c" ]; then
        echo "fuzz.sh: no such target: $t" >&2
        failed=1
        continue
    fi
    if ! ninja -C "$bdir" "fuzz/fuzz_$t"; then
        echo "fuzz.sh: $t: build failed" >&2
        failed=1
        continue
    fi
    mkdir -p "$bdir/fuzz-corpus/$t" "$bdir/fuzz-artifacts/$t"
    seeds=
    [ -d "fuzz/$t/corpus" ] && seeds="fuzz/$t/corpus"
    echo "fuzz.sh: running $t for ${secs}s"
    # shellcheck disable=SC2086 # $seeds is empty or one path without spaces
    if ! "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$bdir/fuzz-artifacts/$t/" "$bdir/fuzz-corpus/$t" $seeds; then
        echo "fuzz.sh: $t: CRASH (inputs in $bdir/fuzz-artifacts/$t/)" >&2
        failed=1
    fi
done
exit $failed
