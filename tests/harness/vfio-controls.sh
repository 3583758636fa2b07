#!/bin/sh
# vfio-controls.sh GAUNTLET TOP: the user-space driver's negative control,
# in a real VM on kestrel-vfio (docs/vfio.md): a process that ignores the
# device request keeps the device, so an orderly hot-unplug cannot finish;
# the run must fail at the hotplug step with the reason (the device not
# released, vfio-pci's relayed requests in the console tail), bounded in
# time.
# (vfio-hot-unplug-process-alive, where the request is honoured, passes in
# vm.scenarios_vfio.)
gauntlet="$1" top="$2"
# shellcheck source=controls-lib.sh
. "$top/tests/harness/controls-lib.sh"

start=$(date +%s)
run "unplug request ignored" ignored "$vs/vfio-unplug-ignored.yaml"
took=$(($(date +%s) - start))
check "$out/ignored/vfio-unplug-ignored/result.json" '
assert r["status"] == "fail", r["status"]
assert r["failure"]["kind"] == "step", r["failure"]
assert r["failure"]["step"]["type"] == "hotplug", r["failure"]
assert "did not release k1" in r["reason"], r["reason"]
assert "Relaying device request to user" in r["reason"], r["reason"]
print("ok: an ignored device request fails the hotplug step:", r["reason"][:160])'
# bounded: the hotplug step's 60 s wait, boot and teardown, not the 600 s
# hold, and no wait for the half-removed device to be ready again
[ "$took" -lt 120 ] || { echo "FAIL: the run took $took s"; fail=1; }
echo "the run took $took s"
controls_end
