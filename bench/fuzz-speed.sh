#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Executions per second of each Gauntlet fuzz target, single core.
#
#   bench/fuzz-speed.sh [FUZZ_BIN_DIR] [RUNS] [REPEATS] [BASELINE_BIN_DIR]
#
# FUZZ_BIN_DIR: where fuzz_<target> binaries are (default: build/fuzz/clang,
# built first with a clang-14 sub-build in /tmp if missing).  RUNS: per
# target (default 200000).  REPEATS: runs of each target (default 3; the
# targets take turns, so a burst of load elsewhere spreads over all of
# them); the table gives the median and the range.  Each run starts from
# the target's checked-in seed corpus (fuzz/corpus/<target>, given as
# -seed_inputs: no corpus directory, so no time goes into writing new
# units to disk) with -seed=1 and its dictionary; the rate is libFuzzer's
# own stat::number_of_executed_units divided by the wall time of the run.
# Targets: fuzz_ioctl >= 100000/s, fuzz_completion and fuzz_device
# >= 20000/s (the "goal" column); fuzz_fault_rules and fuzz_scenario have
# no goal.  The machine should be otherwise idle: the figures are wall
# clock on core 0, and the load average is printed with them.  On a shared
# machine the "cpu" column helps: executions per second of CPU time the
# target got (user + system, from /usr/bin/time), what one core of its own
# would give, cache contention aside.  fuzz_port has no goal either; it is
# measured since its rate fell to a tenth of the others' (FUZZ_SPEED_TARGETS
# overrides the list).
# BASELINE_BIN_DIR: other binaries of the same targets (an older build) to
# compare with in the same run: each target runs from FUZZ_BIN_DIR and then
# from BASELINE_BIN_DIR in every repeat, on the same seeds, so both see
# the same load; their rows are "target" and "target@base".
set -eu
case ${1:-} in
-h|--help)
    awk 'NR < 4 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"
    exit 0 ;;
-*)
    echo "fuzz-speed.sh: unknown argument '$1' (see --help)" >&2
    exit 2 ;;
esac
for v in "${2:-1}" "${3:-1}"; do
    case $v in
    ''|*[!0-9]*|0*)
        echo "fuzz-speed.sh: RUNS and REPEATS want positive integers, got '$v'" >&2
        exit 2 ;;
    esac
done
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$root/build/fuzz/clang}
runs=${2:-200000}
reps=${3:-3}
base=${4:-}
targets=${FUZZ_SPEED_TARGETS:-"fuzz_device fuzz_completion fuzz_ioctl fuzz_fault_rules fuzz_scenario fuzz_port"}
if [ -n "$base" ]; then
    for t in $targets; do
        [ -x "$base/$t" ] || { echo "fuzz-speed.sh: no $base/$t (BASELINE_BIN_DIR)" >&2; exit 2; }
    done
fi

if [ ! -x "$bin/fuzz_device" ] || [ ! -x "$bin/fuzz_scenario" ]; then
    bin=${TMPDIR:-/tmp}/gauntlet-fuzz-bench-build
    echo "building the fuzz targets in $bin" >&2
    cmake -S "$root/fuzz" -B "$bin" -DCMAKE_C_COMPILER=clang-14 >/dev/null
    cmake --build "$bin" -j "$(nproc)" >/dev/null
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
timer=
[ -x /usr/bin/time ] && timer=timed
timed() { /usr/bin/time -f '%U %S' -o "$work/time" "$@"; }
echo "fuzz-speed: $runs runs per target, $reps repeats; load average" \
    "$(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
measure() { # row binary-dir target
    local row=$1 dir=$2 t=$3 seeds start end units
    seeds=$(ls "$root/fuzz/corpus/$t"/* | paste -sd, -)
    start=$(date +%s.%N)
    $timer taskset -c 0 "$dir/$t" -runs="$runs" -seed=1 \
        -print_final_stats=1 -dict="$root/fuzz/dict/$t.dict" \
        -seed_inputs="$seeds" >"$work/$row.log" 2>&1 ||
        { tail -n 30 "$work/$row.log" >&2; echo "$row failed" >&2; exit 1; }
    end=$(date +%s.%N)
    units=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$row.log")
    echo "$units $start $end" |
        awk '{ printf "%d\n", $1 / ($3 - $2) }' >>"$work/$row.rates"
    if [ -n "$timer" ]; then
        echo "$units $(cat "$work/time")" |
            awk '{ printf "%d\n", $1 / ($2 + $3) }' >>"$work/$row.cpu"
    else
        echo 0 >>"$work/$row.cpu"
    fi
}
rep=1
while [ "$rep" -le "$reps" ]; do
    for t in $targets; do
        measure "$t" "$bin" "$t"
        [ -z "$base" ] || measure "$t@base" "$base" "$t"
    done
    rep=$((rep + 1))
done
[ -z "$base" ] || echo "fuzz-speed: target@base: the binaries in $base"
median() { # file: "median min-max" of its numbers
    sort -n "$1" | awk '{ r[NR] = $1 }
        END {
            m = NR % 2 ? r[(NR + 1) / 2] : int((r[NR / 2] + r[NR / 2 + 1]) / 2)
            printf "%d %s\n", m, r[1] "-" r[NR]
        }'
}
printf '%-23s %10s %16s %10s %16s %8s\n' target execs/s range cpu range goal
for t in $targets; do
    case $t in
        fuzz_ioctl) goal=100000 ;;
        fuzz_device|fuzz_completion) goal=20000 ;;
        *) goal=- ;;
    esac
    for row in "$t" ${base:+"$t@base"}; do
        # shellcheck disable=SC2046
        printf '%-23s %10s %16s %10s %16s %8s\n' "$row" \
            $(median "$work/$row.rates") $(median "$work/$row.cpu") "$goal"
    done
done
echo "fuzz-speed: load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
