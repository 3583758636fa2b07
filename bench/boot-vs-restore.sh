#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Cold boot to driver-ready against snapshot restore to driver-ready, in
# the same bench run.
#
#   bench/boot-vs-restore.sh [-n N] [--accel auto|kvm|tcg] [--no-stream]
#
# Runs bench/ready.yaml (boot, load, one command) with gauntlet-runner, N
# times cold, N times restored from a snapshot whose guest RAM is a file
# mapped copy-on-write (--snapshot, the default layout) and N times from
# one with RAM in the migration stream (--snapshot-ram stream, the layout
# before; --no-stream leaves these out), default 5 each, alternating so
# all see the same machine load; one unmeasured run per layout first saves
# its snapshot (in a temporary --snapshot-dir).  Each figure is the run's
# result.json "ready_s": from QEMU's start to the target's ready check
# passing after the load (cold) or after the restore.  Prints every
# sample, the medians and their ratios.  Set GAUNTLET_NO_BUILD=1 when the
# build is current.
set -euo pipefail

. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib.sh"
n=5 stream=1
accel=()
while [[ $# -gt 0 ]]; do
    case $1 in
    -n) n=${2-}; shift; shift || true ;;
    --accel) accel=(--accel "$2"); shift 2 ;;
    --no-stream) stream=0; shift ;;
    -h|--help) bench_help ;;
    *) bench_unknown "$1" ;;
    esac
done
bench_posint -n "$n"

bench_build
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# run MODE NAME: one run; prints its ready_s (checks how it started)
run() {
    local mode=$1 name=$2 want=$1 res start ready
    local snap=()

    [[ $mode == cold ]] || snap=(--snapshot --snapshot-dir "$work/snapshots")
    [[ $mode != prime* ]] || want=cold
    [[ $mode != restore* ]] || want=snapshot
    [[ $mode != *stream ]] || snap+=(--snapshot-ram stream)
    if ! GAUNTLET_NO_BUILD=1 "$TOP/gauntlet" run -j 1 "${accel[@]}" "${snap[@]}" \
            --out "$work/$name" "$TOP/bench/ready.yaml" >"$work/$name.log" 2>&1; then
        cat "$work/$name.log" >&2
        echo "boot-vs-restore.sh: the $mode run failed" >&2
        exit 1
    fi
    res=$work/$name/bench-ready/result.json
    start=$(sed -n 's/^ *"start":"\([a-z]*\)".*/\1/p' "$res")
    ready=$(sed -n 's/^ *"ready_s":\([0-9.e+-]*\).*/\1/p' "$res")
    if [[ $start != "$want" || -z $ready ]]; then
        echo "boot-vs-restore.sh: $mode run started '$start' (want $want), ready_s '$ready'" >&2
        exit 1
    fi
    printf '%.3f\n' "$ready"
}

median() { sort -g | awk '{ v[NR] = $1 } END { printf "%.3f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a / b }'; }

echo "load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
run prime prime >/dev/null
[[ $stream == 0 ]] || run prime-stream prime-stream >/dev/null
cold=() restore=() rstream=()
for ((i = 1; i <= n; i++)); do
    cold+=("$(run cold "cold-$i")")
    restore+=("$(run restore "restore-$i")")
    [[ $stream == 0 ]] || rstream+=("$(run restore-stream "restore-stream-$i")")
    echo "run $i/$n: cold ${cold[-1]} s, restore ${restore[-1]} s${rstream:+, restore (RAM in the stream) ${rstream[-1]} s}" >&2
done
mc=$(printf '%s\n' "${cold[@]}" | median)
mr=$(printf '%s\n' "${restore[@]}" | median)
printf 'cold boot to driver-ready:    median %s s  (n=%d: %s)\n' "$mc" "$n" "${cold[*]}"
printf 'snapshot restore to ready:    median %s s  (n=%d: %s)  RAM file, copy-on-write\n' "$mr" "$n" "${restore[*]}"
if [[ $stream == 1 ]]; then
    ms=$(printf '%s\n' "${rstream[@]}" | median)
    printf 'stream restore to ready:      median %s s  (n=%d: %s)  RAM in the stream\n' "$ms" "$n" "${rstream[*]}"
fi
printf 'ratio cold/restore:           %s x\n' "$(ratio "$mc" "$mr")"
if [[ $stream == 1 ]]; then
    printf 'ratio cold/stream restore:    %s x\n' "$(ratio "$mc" "$ms")"
    printf 'ratio stream/file restore:    %s x\n' "$(awk -v a="$ms" -v b="$mr" 'BEGIN { printf "%.2f", a / b }')"
fi
