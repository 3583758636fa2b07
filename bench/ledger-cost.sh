#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The write ledger's cost: gauntlet-data stress ops/s on a plain file
# without a ledger (--no-ledger) and with one (--ledger to a regular file),
# in the same bench run.
#
#   bench/ledger-cost.sh [-n N] [--duration S] [--threads T] [--flush-pct F]
#                        [--vm N]
#
# N runs of each (default 5), alternating so both see the same machine
# load, each S seconds (default 3) of `gauntlet-data stress` with T threads
# (default 4) and F% flushes (default 2) over 16384 blocks of 512 bytes of a
# file in a temporary folder (page cache: the figure is the ledger's CPU and
# system-call cost, the worst case; a real device is slower per request).
# Each ledger is then checked with gauntlet-ledger (it must pass; its time
# is printed too).  Prints every sample, the medians and their ratio.
# A tty ledger (the guest's serial channel) cannot be measured on the host:
# --vm N adds N alternating pairs of guest runs (tests/vm/boot-stress.sh:
# `kestrelctl stress --verify`, 2 threads, qd 16, 10 s, on Kestrel under
# TCG) without a ledger and with one on the second serial port, checked on
# the host (boots VMs: run it under the machine's VM lock if it has one).
# Set GAUNTLET_NO_BUILD=1 when the build is current.
set -euo pipefail

TOP=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
BUILD=${GAUNTLET_BUILD:-$TOP/build}
n=5 duration=3 threads=4 flush=2 vm=0
while [[ $# -gt 0 ]]; do
    case $1 in
    -n) n=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --flush-pct) flush=$2; shift 2 ;;
    --vm) vm=$2; shift 2 ;;
    -h|--help) sed -n '4,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "ledger-cost.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
for v in "$n" "$duration" "$threads"; do
    [[ $v =~ ^[1-9][0-9]*$ ]] || { echo "ledger-cost.sh: -n, --duration and --threads want positive counts, got '$v'" >&2; exit 2; }
done
[[ $vm =~ ^[0-9]+$ ]] || { echo "ledger-cost.sh: --vm wants a count, got '$vm'" >&2; exit 2; }
[[ $flush =~ ^[0-9]+$ ]] || { echo "ledger-cost.sh: --flush-pct wants a percentage, got '$flush'" >&2; exit 2; }
if [[ ${GAUNTLET_NO_BUILD:-0} != 1 ]]; then
    "$TOP/gauntlet" build >&2
fi
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

(( vm > 0 )) || exit 0
# ---- in the guest: the serial channel -----------------------------------------
vm_run() {  # vm_run DIR [--ledger-tool T]: prints ops/s
    local d=$1; shift
    "$TOP/tests/vm/boot-stress.sh" --qemu "$BUILD/qemu/qemu-system-x86_64" \
        --kernel "$BUILD/guest/vmlinuz" --initrd "$BUILD/guest/initramfs.cpio.gz" \
        --host-tool "$tool" --workdir "$d" --duration 10 --stress-blocks 4096 --seed 5 \
        "$@" >"$d.log" 2>&1 || { tail -n 20 "$d.log" >&2; exit 1; }
    sed -n 's/^stress: .*: \([0-9]*\) ops\/s,.*/\1/p' "$d/result.txt"
}
voff=() von=()
for ((i = 1; i <= vm; i++)); do
    voff+=("$(vm_run "$work/vm-off-$i")")
    von+=("$(vm_run "$work/vm-on-$i" --ledger-tool "$checker")")
    echo "guest run $i: no ledger ${voff[-1]} ops/s, ledger on ttyS1 ${von[-1]} ops/s" >&2
done
m_off=$(printf '%s\n' "${voff[@]}" | median)
m_on=$(printf '%s\n' "${von[@]}" | median)
echo "guest kestrelctl stress, no ledger: median $m_off ops/s (n=$vm: ${voff[*]})"
echo "guest kestrelctl stress, ledger on a serial port: median $m_on ops/s (n=$vm: ${von[*]})"
echo "ratio in the guest: $(awk -v a="$m_on" -v b="$m_off" 'BEGIN { printf "%.3f", a / b }')"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

