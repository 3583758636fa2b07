#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# One fuzz target in earnest (`./gauntlet fuzz`):
#
#   fuzz/gauntlet-fuzz.sh TARGET [--time S] [--jobs N] [--fresh] [-- LIBFUZZER_ARGS...]
#
#   TARGET    fuzz_device, fuzz_vmload, fuzz_completion, fuzz_ioctl,
#             fuzz_fault_rules, fuzz_scenario, fuzz_port, fuzz_vfio_completion
#             (a directory of fuzz/corpus/)
#   --time S  seconds of fuzzing (-max_total_time, per job; default 600)
#   --jobs N  parallel libFuzzer processes sharing one corpus (default 1)
#   --fresh   start the work corpus again from the checked-in seeds
#
# Builds the target if needed (the clang sub-build of fuzz/CMakeLists.txt
# in $GAUNTLET_BUILD/fuzz/clang, default build/), then fuzzes it with its
# dictionary in $GAUNTLET_BUILD/fuzz-runs/TARGET/:
#   corpus/      the work corpus: the checked-in seeds and regression inputs
#                copied in (fuzz/ itself is never written), plus what the
#                campaigns find; it is kept between runs (see --fresh)
#   artifacts/   libFuzzer's crash-*, leak-*, timeout-*, oom-* of this run
#   crashes/     each of them, and its minimised form (-minimize_crash=1)
#                as crashes/<name>.min
#   fuzz.log (fuzz-<job>.log with --jobs)
# Then it prints the crashes, the coverage reached (libFuzzer's cov: and
# ft: figures, the work corpus size) and exits 1 if anything crashed,
# 0 otherwise (2 for a usage or build error).
set -euo pipefail

TOP=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
BUILD=${GAUNTLET_BUILD:-$TOP/build}
CC_FUZZ=${GAUNTLET_FUZZ_CC:-clang-14}

say() { printf '[gauntlet fuzz] %s\n' "$*" >&2; }
usage() { # [status]
    sed -n '4,13p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit "${1:-2}"
}

target= secs=600 jobs=1 fresh=0
while [ $# -gt 0 ]; do
    case $1 in
    --time) secs=${2:?--time needs seconds}; shift 2 ;;
    --time=*) secs=${1#*=}; shift ;;
    --jobs) jobs=${2:?--jobs needs a count}; shift 2 ;;
    --jobs=*) jobs=${1#*=}; shift ;;
    --fresh) fresh=1; shift ;;
    -h|--help) usage 0 ;;
    --) shift; break ;;
    -*) say "unknown option '$1'"; usage ;;
    *) [ -z "$target" ] || usage; target=$1; shift ;;
    esac
done
extra=("$@")
[ -n "$target" ] || usage
case $secs in ''|*[!0-9]*) say "--time: '$secs' is not a number of seconds"; exit 2 ;; esac
case $jobs in ''|*[!0-9]*|0) say "--jobs: '$jobs' is not a positive count"; exit 2 ;; esac
if [ ! -d "$TOP/fuzz/corpus/$target" ] || [ ! -f "$TOP/fuzz/$target.c" ]; then
    say "unknown target '$target'; targets: $(cd "$TOP/fuzz/corpus" && echo *)"
    exit 2
fi

# ---- build -----------------------------------------------------------------
inner=$BUILD/fuzz/clang
if [ -f "$inner/CMakeCache.txt" ]; then
    :
elif [ -f "$BUILD/CMakeCache.txt" ]; then
    say "building the fuzz sub-build (cmake --build $BUILD --target gauntlet_fuzz)"
    cmake --build "$BUILD" --target gauntlet_fuzz >&2 ||
        { say "build failed"; exit 2; }
else
    # No top-level build yet: configure the sub-build as the top level would.
    say "configuring $inner with $CC_FUZZ"
    cmake -S "$TOP/fuzz" -B "$inner" -DCMAKE_C_COMPILER="$CC_FUZZ" \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo >&2 || { say "configure failed"; exit 2; }
fi
say "building $target"
cmake --build "$inner" --target "$target" >"$BUILD/fuzz-build-$target.log" 2>&1 ||
    { tail -n 40 "$BUILD/fuzz-build-$target.log" >&2; say "build failed"; exit 2; }
bin=$inner/$target

# ---- the work directory ------------------------------------------------------
run=$BUILD/fuzz-runs/$target
[ "$fresh" = 1 ] && rm -rf "$run/corpus"
rm -rf "$run/artifacts" "$run/crashes"
rm -f "$run"/fuzz*.log
mkdir -p "$run/corpus" "$run/artifacts" "$run/crashes"
for d in "$TOP/fuzz/corpus/$target" "$TOP/fuzz/regressions/$target"; do
    [ -d "$d" ] || continue
    find "$d" -maxdepth 1 -type f ! -name '.*' ! -name README \
        -exec cp -p -t "$run/corpus" {} +
done
dict=$TOP/fuzz/dict/$target.dict
set -- -max_total_time="$secs" -timeout=25 -rss_limit_mb=2048 \
    -artifact_prefix="$run/artifacts/" -print_final_stats=1
[ -f "$dict" ] && set -- "$@" -dict="$dict"
nseeds=$(find "$run/corpus" -type f | wc -l)
say "$target: ${secs}s x $jobs job(s), $nseeds inputs in $run/corpus"

# ---- fuzz --------------------------------------------------------------------
rc=0
if [ "$jobs" = 1 ]; then
    (cd "$run" && "$bin" "$@" "${extra[@]}" corpus >fuzz.log 2>&1) || rc=$?
    logs=("$run/fuzz.log")
else
    # -jobs writes fuzz-<n>.log into the current directory
    (cd "$run" && "$bin" "$@" -jobs="$jobs" -workers="$jobs" "${extra[@]}" \
        corpus >fuzz.log 2>&1) || rc=$?
    logs=("$run"/fuzz-*.log)
fi

# ---- crashes -----------------------------------------------------------------
crashes=()
for a in "$run"/artifacts/crash-* "$run"/artifacts/leak-* \
         "$run"/artifacts/timeout-* "$run"/artifacts/oom-*; do
    [ -f "$a" ] && crashes+=("$a")
done
if [ "$rc" != 0 ] && [ ${#crashes[@]} = 0 ]; then
    say "$target exited with status $rc and left no artifact:"
    tail -n 30 "${logs[@]}" >&2
    exit 2
fi
for a in "${crashes[@]}"; do
    name=$(basename "$a")
    cp -p "$a" "$run/crashes/$name"
    (cd "$run" && "$bin" -minimize_crash=1 -max_total_time=60 -runs=100000 \
        -timeout=25 -rss_limit_mb=2048 \
        -exact_artifact_path="$run/crashes/$name.min" "$a" \
        >"$run/crashes/$name.minimize.log" 2>&1) || true
    [ -f "$run/crashes/$name.min" ] || cp -p "$a" "$run/crashes/$name.min"
    "$bin" -timeout=25 -rss_limit_mb=2048 "$run/crashes/$name.min" \
        >"$run/crashes/$name.min.log" 2>&1 || true
done

# ---- report ------------------------------------------------------------------
stat_of() { # "cov" or "ft": from each log's last status line, the largest
    local key=$1 best=0 v l
    for l in "${logs[@]}"; do
        v=$(grep -oE " $key: [0-9]+" "$l" | tail -n 1 | grep -oE '[0-9]+$' || true)
        [ -n "$v" ] && [ "$v" -gt "$best" ] && best=$v
    done
    echo "$best"
}
units=0
for l in "${logs[@]}"; do
    v=$(sed -n 's/^stat::number_of_executed_units: *//p' "$l" | tail -n 1)
    units=$((units + ${v:-0}))
done
ncorp=$(find "$run/corpus" -type f | wc -l)
kcorp=$(find "$run/corpus" -type f -printf '%s\n' | awk '{ s += $1 } END { printf "%.1f", s / 1024 }')
echo "target:     $target (${secs}s x $jobs job(s), seed $(grep -m1 -oE 'Seed: [0-9]+' "${logs[0]}" | cut -d' ' -f2))"
echo "executions: $units"
echo "coverage:   cov: $(stat_of cov) ft: $(stat_of ft)$([ "$jobs" != 1 ] && echo ' (largest of the jobs)')"
echo "corpus:     $ncorp inputs, ${kcorp} KiB in $run/corpus (was $nseeds)"
echo "logs:       ${logs[*]}"
if [ ${#crashes[@]} = 0 ]; then
    echo "crashes:    none"
    exit 0
fi
echo "crashes:    ${#crashes[@]}"
for a in "${crashes[@]}"; do
    name=$(basename "$a")
    why=$(grep -m1 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|invariant violated|refused|differs|does not' \
          "$run/crashes/$name.min.log" 2>/dev/null || true)
    echo "  $run/crashes/$name.min ($(wc -c <"$run/crashes/$name.min") bytes, from $(wc -c <"$a"))${why:+: $why}"
done
echo "replay:     $bin $run/crashes/<name>.min"
exit 1
