#!/usr/bin/env bash
# vm.noflush_proof: the test target kestrel-noflush (tests/targets/
# kestrel-noflush/) boots, loads the TEST-ONLY driver, and its FLUSHes
# never reach the device (noflush-proof.yaml passes); the same steps
# against the real driver (targets/kestrel) fail at the FLUSH count, which
# shows that the scenario can fail.
#
#   noflush-proof.sh REPO BUILD
set -euo pipefail

[[ $# -eq 2 ]] || { echo "usage: $0 REPO BUILD" >&2; exit 2; }
repo="$1" build="$2"
out="$build/results/ctest-noflush-proof"
scen="$repo/tests/targets/kestrel-noflush/noflush-proof.yaml"
mkdir -p "$out"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
export GAUNTLET_NO_BUILD=1 GAUNTLET_BUILD="$build"
cd "$repo"

echo "== the variant: must pass"
./gauntlet run -j 1 --target-dir "$repo/tests/targets" --out "$out/variant" \
    "$scen"

echo "== control, the real driver: must fail at the FLUSH count"
# Without the variant's load line, which the real driver does not print.
grep -v 'TEST BUILD' "$scen" >"$tmp/noflush-proof-control.yaml"
rc=0
./gauntlet run -j 1 --target "$repo/targets/kestrel" --out "$out/control" \
    "$tmp/noflush-proof-control.yaml" >"$tmp/control.log" 2>&1 || rc=$?
cat "$tmp/control.log"
if [[ $rc -eq 0 ]]; then
    echo "FAIL: the control passed: the real driver's FLUSH was not counted"
    exit 1
fi
if ! grep -q 'counter fault rule 0 is 1, expected == 0' "$tmp/control.log"; then
    echo "FAIL: the control failed, but not at the FLUSH count"
    exit 1
fi
echo "ok: the variant sends no FLUSH; the real driver's one is counted"
