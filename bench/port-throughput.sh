#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The fault port's cost with no rule armed: the nvme target's throughput
# in the guest behind a plain pcie-root-port and behind the gauntlet-port,
# in one run, alternating VMs so both see the same machine load.
#
#   bench/port-throughput.sh [-n ROUNDS] [-d SECONDS]
#
# Each round boots one VM per port type (the nvme target with root_port
# set, in a copy of its folder) and measures, in the guest:
#   read MB/s   eight dd passes over the 64 MiB disk, O_DIRECT, 1 MiB requests,
#               timed with the guest's /proc/uptime (busybox dd says no time);
#   stress      gauntlet-data stress ops/s (verified 4 KiB-ish I/O, one
#               thread, SECONDS long).
# Prints every sample, the medians per port type and the ratios
# (gauntlet-port / pcie-root-port).  Set GAUNTLET_NO_BUILD=1 when the
# build is current.  The issue's target: a read ratio of at least 0.5.
set -euo pipefail

. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib.sh"
n=3 d=5
while [[ $# -gt 0 ]]; do
    case $1 in
    -n) n=${2-}; shift; shift || true ;;
    -d) d=${2-}; shift; shift || true ;;
    -h|--help) bench_help ;;
    *) bench_unknown "$1" ;;
    esac
done
bench_posint -n "$n"
bench_posint -d "$d"

bench_build
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for port in pcie-root-port gauntlet-port; do
    t="$work/targets/nvme-$port"
    mkdir -p "$t"
    cp -r "$TOP/targets/nvme/." "$t/"
    sed -i -e "s/^name: .*/name: nvme-$port/" -e '/^root_port:/d' \
        -e '/^fault_object:/d' "$t/target.yaml"
    # the port's rules stay empty: the cost measured is the port's alone
    printf 'root_port: %s\n' "$port" >>"$t/target.yaml"
done
cat >"$work/bench.yaml" <<YAML
name: bench-port
description: nvme throughput behind the root port under test, no rule armed
timeout: $((d * 3 + 300))
steps:
  - load: {}
  - run:
      cmd: >
        a=\$(cut -d' ' -f1 /proc/uptime);
        for i in 1 2 3 4 5 6 7 8; do
        dd if=/dev/nvme0n1 of=/dev/null bs=1M count=64 iflag=direct 2>/dev/null; done &&
        b=\$(cut -d' ' -f1 /proc/uptime) &&
        echo "sample read 536870912 \$(awk "BEGIN { print \$b - \$a }")";
        gauntlet-data stress /dev/nvme0n1 --lba 8192 --blocks 8192 --threads 1
        --duration $d --no-ledger | sed -n 's/.* \([0-9][0-9]*\) ops\/s.*/sample stress \1/p'
      timeout: $((d * 3 + 120))
YAML
: >"$work/samples"
for r in $(seq "$n"); do
    for port in pcie-root-port gauntlet-port; do
        out="$work/out-$r-$port"
        GAUNTLET_NO_BUILD=1 "$TOP/gauntlet" run -j 1 --target-dir "$work/targets" \
            --target "nvme-$port" --out "$out" "$work/bench.yaml" >"$work/log" 2>&1 ||
            { cat "$work/log" >&2; echo "port-throughput.sh: the run failed" >&2; exit 1; }
        grep 'stdout: sample\|^sample' "$out/bench-port/steps.log" |
            grep -o 'sample [a-z]* [0-9. ]*[0-9]' |
            sed "s/^sample /$port /" | tee -a "$work/samples"
    done
done
python3 - "$work/samples" <<'PY'
import statistics, sys
read, stress = {}, {}
for line in open(sys.argv[1]):
    f = line.split()
    if f[1] == "read" and len(f) == 4:
        read.setdefault(f[0], []).append(int(f[2]) / float(f[3]) / 1e6)
    elif f[1] == "stress":
        stress.setdefault(f[0], []).append(int(f[2]))
def med(d, k):
    if k not in d or not d[k]:
        sys.exit(f"port-throughput.sh: no {k} samples")
    return statistics.median(d[k])
rp, gp = med(read, "pcie-root-port"), med(read, "gauntlet-port")
sp, sg = med(stress, "pcie-root-port"), med(stress, "gauntlet-port")
print(f"read: pcie-root-port {rp:.1f} MB/s, gauntlet-port {gp:.1f} MB/s; ratio {gp / rp:.3f}")
print(f"stress: pcie-root-port {sp:.0f} ops/s, gauntlet-port {sg:.0f} ops/s; ratio {sg / sp:.3f}")
PY
