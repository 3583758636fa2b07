#!/usr/bin/env bash
# vm.write_cache_shutdown_flush: the driver's shutdown() flushes the
# device's volatile write cache.  scenarios/write-cache-flush-at-reboot.yaml
# leaves 64 unflushed blocks in the cache and reboots; QEMU exits and an
# unflushed cache is lost.  Afterwards the backing file must hold them with
# kestrel.ko, and must not with the test-only driver that never sends FLUSH
# (tests/targets/kestrel-noflush): the control that shows the check can fail.
#
#   shutdown-flush.sh REPO BUILD
set -euo pipefail

[[ $# -eq 2 ]] || { echo "usage: $0 REPO BUILD" >&2; exit 2; }
repo="$1" build="$2"
out="$build/results/ctest-shutdown-flush"
scen="$repo/scenarios/write-cache-flush-at-reboot.yaml"
data="$build/harness/data/gauntlet-data"
check=(--lba 4096 --blocks 64 --pattern random --seed 2 --block-size 512)
export GAUNTLET_NO_BUILD=1 GAUNTLET_BUILD="$build"
cd "$repo"
mkdir -p "$out"

echo "== kestrel.ko: the scenario passes and the blocks are on the disk"
./gauntlet run -j 1 --out "$out/kestrel" "$scen"
"$data" verify "$out/kestrel/write-cache-flush-at-reboot/disk-k1.img" "${check[@]}"

echo "== control, the driver that never sends FLUSH: the blocks are lost"
# Its scenario run fails too (the integrity region is lost as well).
./gauntlet run -j 1 --target-dir "$repo/tests/targets" \
    --target kestrel-noflush --out "$out/noflush" "$scen" || true
img="$out/noflush/write-cache-flush-at-reboot/disk-k1.img"
[[ -f "$img" ]] || { echo "FAIL: the control left no backing file"; exit 1; }
if "$data" verify "$img" "${check[@]}"; then
    echo "FAIL: the control's blocks are on the disk: the check cannot fail"
    exit 1
fi
echo "ok: shutdown() flushed the cache; without FLUSH the blocks are lost"
