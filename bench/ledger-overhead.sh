#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The write ledger's cost: the verified stress's ops/s without the ledger
# (--no-ledger) and with it (every acknowledged write a record on the
# ledger's serial port, drained before the next request), in one VM and
# one run, alternating so both see the same machine load.
#
#   bench/ledger-overhead.sh [-n ROUNDS] [-d SECONDS] [--target kestrel|nvme|virtio-blk]
#
# Kestrel runs `kestrelctl stress` (4 threads, queue depth 16); nvme and
# virtio-blk run `gauntlet-data stress` (the target's own stress command,
# one thread).  Prints every sample, the medians and their ratio (with /
# without).  Set GAUNTLET_NO_BUILD=1 when the build is current.
set -euo pipefail

. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib.sh"
n=3 d=5 target=kestrel
while [[ $# -gt 0 ]]; do
    case $1 in
    -n) n=${2-}; shift; shift || true ;;
    -d) d=${2-}; shift; shift || true ;;
    --target) target=${2-}; shift; shift || true ;;
    -h|--help) bench_help ;;
    *) bench_unknown "$1" ;;
    esac
done
bench_posint -n "$n"
bench_posint -d "$d"
case $target in
kestrel) cmd="kestrelctl stress --threads 4 --qd 16 --duration $d --lba 8192 --blocks 8192 --verify" ;;
nvme) cmd="gauntlet-data stress /dev/nvme0n1 --lba 8192 --blocks 8192 --threads 1 --duration $d" ;;
virtio-blk) cmd="gauntlet-data stress /dev/vda --lba 8192 --blocks 8192 --threads 1 --duration $d" ;;
*) bench_usage_die "unknown target '$target'" ;;
esac

bench_build
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/bench.yaml" <<YAML
name: bench-ledger
description: the verified stress with and without the write ledger, alternating
target: $target
timeout: $((n * d * 2 * 3 + 300))
steps:
  - load: {}
  - run:
      cmd: >
        for i in \$(seq $n); do for m in off on; do
        if [ \$m = off ]; then o=--no-ledger; else o=; fi;
        r=\$($cmd \$o | sed -n 's/.* \([0-9][0-9]*\) ops\/s.*/\1/p' | tail -n 1);
        echo "sample \$m \$r"; done; done
      timeout: $((n * d * 2 * 3 + 120))
YAML
GAUNTLET_NO_BUILD=1 "$TOP/gauntlet" run -j 1 --out "$work/out" "$work/bench.yaml" \
    >"$work/log" 2>&1 || { cat "$work/log" >&2; echo "ledger-overhead.sh: the run failed" >&2; exit 1; }
grep -o 'sample \(on\|off\) [0-9]*' "$work/out/bench-ledger/steps.log" >"$work/samples" ||
    { echo "ledger-overhead.sh: no samples in the run's steps.log" >&2; exit 1; }
cat "$work/samples"
python3 - "$work/samples" "$target" <<'PY'
import statistics, sys
s = {"on": [], "off": []}
for line in open(sys.argv[1]):
    _, m, v = line.split()
    s[m].append(int(v))
on, off = statistics.median(s["on"]), statistics.median(s["off"])
print(f"{sys.argv[2]}: stress without the ledger {off:.0f} ops/s, with it {on:.0f} ops/s "
      f"(medians of {len(s['off'])}); ratio with/without {on / off:.3f}")
PY
