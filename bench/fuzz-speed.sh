#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Executions per second of each Gauntlet fuzz target, single core.
#
#   bench/fuzz-speed.sh [FUZZ_BIN_DIR] [RUNS]
#
# FUZZ_BIN_DIR: where fuzz_<target> binaries are (default: build/fuzz/clang,
# built first with a clang-14 sub-build in /tmp if missing).  RUNS: per
# target (default 200000).  Each target starts from its checked-in seed
# corpus (fuzz/corpus/<target>, given as -seed_inputs: no corpus directory,
# so no time goes into writing new units to disk) with -seed=1 and its
# dictionary; the rate is libFuzzer's own
# stat::number_of_executed_units divided by the wall time of the run.
# Targets: fuzz_ioctl >= 100000/s, fuzz_completion and fuzz_device
# >= 20000/s (the "goal" column); fuzz_fault_rules and fuzz_scenario have
# no goal.  The machine should be otherwise idle: the figures are wall
# clock on core 0.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$root/build/fuzz/clang}
runs=${2:-200000}
targets="fuzz_device fuzz_completion fuzz_ioctl fuzz_fault_rules fuzz_scenario"

if [ ! -x "$bin/fuzz_device" ] || [ ! -x "$bin/fuzz_scenario" ]; then
    bin=${TMPDIR:-/tmp}/gauntlet-fuzz-bench-build
    echo "building the fuzz targets in $bin" >&2
    cmake -S "$root/fuzz" -B "$bin" -DCMAKE_C_COMPILER=clang-14 >/dev/null
    cmake --build "$bin" -j "$(nproc)" >/dev/null
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf '%-18s %12s %10s %8s\n' target execs/s goal units
for t in $targets; do
    case $t in
        fuzz_ioctl) goal=100000 ;;
        fuzz_device|fuzz_completion) goal=20000 ;;
        *) goal=- ;;
    esac
    seeds=$(ls "$root/fuzz/corpus/$t"/* | paste -sd, -)
    start=$(date +%s.%N)
    taskset -c 0 "$bin/$t" -runs="$runs" -seed=1 -print_final_stats=1 \
        -dict="$root/fuzz/dict/$t.dict" -seed_inputs="$seeds" \
        >"$work/$t.log" 2>&1 ||
        { tail -n 30 "$work/$t.log" >&2; echo "$t failed" >&2; exit 1; }
    end=$(date +%s.%N)
    units=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t.log")
    rate=$(echo "$units $start $end" | awk '{ printf "%d", $1 / ($3 - $2) }')
    printf '%-18s %12s %10s %8s\n' "$t" "$rate" "$goal" "$units"
done
