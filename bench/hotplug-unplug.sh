#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The orderly hot-unplug through the attention button (device_del, pciehp's
# 5 s grace) against the fast one (the guest powers the slot off: hotplug
# step `fast: true`), in the same bench run.
#
#   bench/hotplug-unplug.sh [-n N]
#
# Runs bench/unplug.yaml (boot, load, write; four times remove and add,
# each followed by a verified read) N times with the button and N times
# fast (default 3 each), alternating so both see the same machine load.
# Each unplug's figure is the runner's "gone X s after" line in steps.log:
# from the unplug request (device_del, or the guest's write to the slot's
# power file) to QEMU's DEVICE_DELETED; each run's is its duration_s.
# Prints the medians of both and their ratios.  Boots VMs: run it under
# the VM lock.  Set GAUNTLET_NO_BUILD=1 when the build is current.
set -euo pipefail

. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib.sh"
n=3
while [[ $# -gt 0 ]]; do
    case $1 in
    -n) n=${2-}; shift; shift || true ;;
    -h|--help) bench_help ;;
    *) bench_unknown "$1" ;;
    esac
done
bench_posint -n "$n"

bench_build
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sed -e 's/^name: unplug-bench$/name: unplug-bench-fast/' \
    -e 's/hotplug: {action: remove}/hotplug: {action: remove, fast: true}/' \
    "$TOP/bench/unplug.yaml" >"$work/unplug-fast.yaml"
grep -q 'fast: true' "$work/unplug-fast.yaml" ||
    { echo "hotplug-unplug.sh: bench/unplug.yaml has no orderly unplug to make fast" >&2; exit 1; }

# run FILE NAME OUT: one run; appends its unplug times to OUT.unplugs and
# its duration to OUT.runs
run() {
    local file=$1 name=$2 out=$3 dir
    dir=$work/r$RANDOM$RANDOM
    GAUNTLET_NO_BUILD=1 "$TOP/gauntlet" run -j 1 --out "$dir" "$file" >"$work/log" 2>&1 ||
        { cat "$work/log" >&2; echo "hotplug-unplug.sh: $name failed" >&2; exit 1; }
    sed -n 's/.*hotplug remove: [^ ]* gone \([0-9.]*\) s after.*/\1/p' \
        "$dir/$name/steps.log" >>"$out.unplugs"
    python3 -c 'import json, sys; print("%.1f" % json.load(open(sys.argv[1]))["duration_s"])' \
        "$dir/$name/result.json" >>"$out.runs"
}
median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

echo "load $(cut -d' ' -f1-3 /proc/loadavg), $n runs each, 4 unplugs a run" >&2
for ((i = 1; i <= n; i++)); do
    run "$TOP/bench/unplug.yaml" unplug-bench "$work/button"
    run "$work/unplug-fast.yaml" unplug-bench-fast "$work/fast"
    echo "run $i: button $(tail -1 "$work/button.runs") s, fast $(tail -1 "$work/fast.runs") s" >&2
done
for m in button fast; do
    [[ $(wc -l <"$work/$m.unplugs") -eq $((4 * n)) ]] ||
        { echo "hotplug-unplug.sh: $m: $(wc -l <"$work/$m.unplugs") unplug times, expected $((4 * n))" >&2; exit 1; }
done
bu=$(median <"$work/button.unplugs") fu=$(median <"$work/fast.unplugs")
br=$(median <"$work/button.runs") fr=$(median <"$work/fast.runs")
echo "unplug (request to DEVICE_DELETED), median of $((4 * n)): button $bu s, fast $fu s: x$(awk -v a="$bu" -v b="$fu" 'BEGIN { printf "%.1f", a / b }')"
echo "scenario (boot to end), median of $n: button $br s, fast $fr s: x$(awk -v a="$br" -v b="$fr" 'BEGIN { printf "%.2f", a / b }')"
