#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The write ledger's cost: gauntlet-data stress ops/s on a plain file
# without a ledger (--no-ledger) and with one (--ledger to a regular file),
# in the same bench run.
#
#   bench/ledger-cost.sh [-n N] [--duration S] [--threads T] [--flush-pct F]
#
# N runs of each (default 5), alternating so both see the same machine
# load, each S seconds (default 3) of `gauntlet-data stress` with T threads
# (default 4) and F% flushes (default 2) over 16384 blocks of 512 bytes of a
# file in a temporary folder (page cache: the figure is the ledger's CPU and
# system-call cost, the worst case; a real device is slower per request).
# Each ledger is then checked with gauntlet-ledger (it must pass; its time
# is printed too).  Prints every sample, the medians and their ratio.
# A tty ledger (the guest's serial channel) cannot be measured on the host:
# bench/ledger-overhead.sh measures it in a VM.
# Set GAUNTLET_NO_BUILD=1 when the build is current.
set -euo pipefail

. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib.sh"
BUILD=${GAUNTLET_BUILD:-$TOP/build}
n=5 duration=3 threads=4 flush=2
while [[ $# -gt 0 ]]; do
    case $1 in
    -n) n=${2-}; shift; shift || true ;;
    --duration) duration=${2-}; shift; shift || true ;;
    --threads) threads=${2-}; shift; shift || true ;;
    --flush-pct) flush=${2-}; shift; shift || true ;;
    -h|--help) bench_help ;;
    *) bench_unknown "$1" ;;
    esac
done
bench_posint -n "$n"
bench_posint --duration "$duration"
bench_posint --threads "$threads"
[[ $flush =~ ^[0-9]+$ && $flush -le 100 ]] ||
    bench_usage_die "--flush-pct wants a percentage, got '$flush'"
bench_build
tool=$BUILD/harness/data/gauntlet-data checker=$BUILD/harness/data/gauntlet-ledger
[[ -x $tool && -x $checker ]] || { echo "ledger-cost.sh: build gauntlet-data and gauntlet-ledger first" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# run LEDGER-ARGS...: prints ops/s
run() {
    rm -f "$work/disk.img"; truncate -s $((16384 * 512)) "$work/disk.img"
    "$tool" stress "$work/disk.img" --lba 0 --blocks 16384 --threads "$threads" \
        --duration "$duration" --flush-pct "$flush" "$@" >"$work/out" ||
        { cat "$work/out" >&2; exit 1; }
    sed -n 's/.*: \([0-9]*\) ops\/s,.*/\1/p' "$work/out"
}
median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

off=() on=() checks=() lines=()
echo "load $(cut -d' ' -f1-3 /proc/loadavg), $threads threads, ${duration} s a run, flush $flush%" >&2
for ((i = 1; i <= n; i++)); do
    off+=("$(run --no-ledger)")
    rm -f "$work/ledger"
    on+=("$(run --ledger "$work/ledger")")
    t0=$(date +%s.%N)
    "$checker" check "$work/ledger" --backing "$work/disk.img" >/dev/null ||
        { echo "ledger-cost.sh: the ledger of run $i does not check clean" >&2; exit 1; }
    checks+=("$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')")
    lines+=("$(wc -l <"$work/ledger")")
    echo "run $i: no ledger ${off[-1]} ops/s, ledger ${on[-1]} ops/s (${lines[-1]} records, checked in ${checks[-1]} s)" >&2
done
m_off=$(printf '%s\n' "${off[@]}" | median)
m_on=$(printf '%s\n' "${on[@]}" | median)
echo "no ledger: median $m_off ops/s (n=$n: ${off[*]})"
echo "ledger to a file: median $m_on ops/s (n=$n: ${on[*]})"
echo "ratio ledger/no ledger: $(awk -v a="$m_on" -v b="$m_off" 'BEGIN { printf "%.3f", a / b }')"
echo "check time: median $(printf '%s\n' "${checks[@]}" | median) s for a median of $(printf '%s\n' "${lines[@]}" | median) records"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

