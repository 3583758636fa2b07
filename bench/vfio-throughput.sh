#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Throughput of the user-space driver against the kernel driver, and of the
# kernel driver with the guest's IOMMU against without (issue 16): verified
# `kestrelctl stress` ops/s on the same Kestrel, in one run.
#
#   bench/vfio-throughput.sh [-n ROUNDS] [-d SECONDS]
#
# Each round boots two VMs, one after the other (-j 1):
#   - with intel-iommu (strict): kestrel.ko's stress, then libkvfio's
#     (kestrelctl -d /sys/bus/pci/devices/0000:01:00.0) on the same device
#     after vfio-pci takes it, alternating in the VM;
#   - without an IOMMU: kestrel.ko's stress.
# Both drivers get the same stress (4 threads, queue depth 16, --verify, no
# write ledger).  Prints every sample, the medians and the two ratios:
# libkvfio / kestrel.ko (both under the IOMMU, same VM) and kestrel.ko with
# / without the IOMMU (rounds interleaved).  GAUNTLET_NO_BUILD=1 when the
# build is current.
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
stress="stress --threads 4 --qd 16 --duration $d --lba 8192 --blocks 8192 --verify --no-ledger"
ops="sed -n 's/.* \\([0-9][0-9]*\\) ops\\/s.*/\\1/p' | tail -n 1"
kernel="insmod /lib/gauntlet/target/kestrel.ko && i=0; while ! grep -qx live /sys/class/misc/kestrel0/state 2>/dev/null && [ \$i -lt 100 ]; do sleep 0.1; i=\$((i+1)); done; r=\$(kestrelctl $stress | $ops); rmmod kestrel"
vfio="/lib/gauntlet/target/kestrel-vfio.sh load && /lib/gauntlet/target/kestrel-vfio.sh ready && r=\$(kestrelctl -d /sys/bus/pci/devices/0000:01:00.0 $stress | $ops); rmmod vfio_pci"
for i in $(seq "$n"); do
    cat >"$work/r$i-a-iommu.yaml" <<YAML
name: r$i-a-iommu
description: kestrel.ko, then libkvfio, under intel-iommu
timeout: $((d * 6 + 300))
steps:
  - run:
      cmd: >
        $kernel; echo "sample kernel-iommu \$r";
        $vfio; echo "sample vfio-iommu \$r"
      timeout: $((d * 6 + 120))
YAML
    cat >"$work/r$i-b-plain.yaml" <<YAML
name: r$i-b-plain
description: kestrel.ko without an IOMMU
iommu: none
timeout: $((d * 3 + 300))
steps:
  - run:
      cmd: >
        $kernel; echo "sample kernel-plain \$r"
      timeout: $((d * 3 + 120))
YAML
done
GAUNTLET_NO_BUILD=1 "$TOP/gauntlet" run -j 1 --target "$TOP/bench/targets/kestrel-vfio-bench" \
    --out "$work/out" "$work"/r*.yaml >"$work/log" 2>&1 ||
    { cat "$work/log" >&2; echo "vfio-throughput.sh: the run failed" >&2; exit 1; }
cat "$work"/out/r*/steps.log | grep -o 'sample [a-z-]* [0-9][0-9]*' >"$work/samples" ||
    { echo "vfio-throughput.sh: no samples in the runs' steps.log" >&2; exit 1; }
cat "$work/samples"
python3 - "$work/samples" <<'PY'
import statistics, sys
s = {}
for line in open(sys.argv[1]):
    _, m, v = line.split()
    s.setdefault(m, []).append(int(v))
for m in ("kernel-iommu", "vfio-iommu", "kernel-plain"):
    if len(s.get(m, [])) == 0:
        sys.exit(f"vfio-throughput.sh: no sample of {m}")
med = {m: statistics.median(v) for m, v in s.items()}
for m in ("kernel-plain", "kernel-iommu", "vfio-iommu"):
    print(f"{m}: {med[m]:.0f} ops/s (median of {len(s[m])})")
print(f"libkvfio / kestrel.ko, both under intel-iommu: {med['vfio-iommu'] / med['kernel-iommu']:.3f}")
print(f"kestrel.ko with / without intel-iommu: {med['kernel-iommu'] / med['kernel-plain']:.3f}")
PY
