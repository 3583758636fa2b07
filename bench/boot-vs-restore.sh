#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Cold boot to driver-ready against snapshot restore to driver-ready, in
# the same bench run.
#
#   bench/boot-vs-restore.sh [-n N] [--accel auto|kvm|tcg]
#
# Runs bench/ready.yaml (boot, load, one command) with gauntlet-runner, N
# times cold and N times restored from a snapshot (default 5 each),
# alternating so both see the same machine load; one unmeasured --snapshot
# run first saves the snapshot (in a temporary --snapshot-dir).  Each figure
# is the run's result.json "ready_s": from QEMU's start to the target's
# ready check passing after the load (cold) or after the restore.  Prints
# every sample, the medians and their ratio.  Set GAUNTLET_NO_BUILD=1 when
# the build is current.
set -euo pipefail

. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib.sh"
n=5
accel=()
while [[ $# -gt 0 ]]; do
    case $1 in
    -n) n=${2-}; shift; shift || true ;;
    --accel) accel=(--accel "$2"); shift 2 ;;
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
    [[ $mode != prime ]] || want=cold
    [[ $mode != restore ]] || want=snapshot
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

median() { sort -g | awk '{ v[NR] = $1 } END { printf "%.2f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

run prime prime >/dev/null
cold=() restore=()
for ((i = 1; i <= n; i++)); do
    cold+=("$(run cold "cold-$i")")
    restore+=("$(run restore "restore-$i")")
    echo "run $i/$n: cold ${cold[-1]} s, restore ${restore[-1]} s" >&2
done
mc=$(printf '%s\n' "${cold[@]}" | median)
mr=$(printf '%s\n' "${restore[@]}" | median)
printf 'cold boot to driver-ready:    median %s s  (n=%d: %s)\n' "$mc" "$n" "${cold[*]}"
printf 'snapshot restore to ready:    median %s s  (n=%d: %s)\n' "$mr" "$n" "${restore[*]}"
printf 'ratio cold/restore:           %s x\n' "$(awk -v c="$mc" -v r="$mr" 'BEGIN { printf "%.1f", c / r }')"
