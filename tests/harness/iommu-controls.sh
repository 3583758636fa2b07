#!/bin/sh
# iommu-controls.sh GAUNTLET TOP: the iommu verdict's negative controls, in
# real VMs on kestrel-iommu (docs/scenarios.md, verdict iommu):
#  - a DMA the IOMMU faults (a segment redirected to unmapped memory) in a
#    scenario that expects none fails the run on the iommu verdict, with
#    the fault counted on the host and its lines in result.json;
#  - a scenario that expects a fault where none happens fails on it too.
# (The hostile-DMA scenarios that expect their faults pass in
# vm.scenarios_iommu.)
gauntlet="$1" top="$2"
# shellcheck source=controls-lib.sh
. "$top/tests/harness/controls-lib.sh"

run "unexpected DMA fault" unexpected "$vs/iommu-unexpected-fault.yaml"
check "$out/unexpected/iommu-unexpected-fault/result.json" '
assert r["status"] == "fail", r["status"]
assert r["failure"]["verdict"] == "iommu", r["failure"]
assert v["iommu"]["status"] == "fail", v["iommu"]
assert i["faults"] >= 1 and i["host_dmar"] >= 1, i
assert i["expected"] == "==" and i["expected_value"] == 0, i
assert any("vtd_dmar_fault" in l and "addr 0x1000" in l for l in i["lines"]), i
for name in ("integrity-host", "kernel-log"):
    assert v[name]["status"] == "pass", v[name]
print("ok: an unexpected DMA fault fails the iommu verdict:", v["iommu"]["detail"])'

run "expected fault missing" missing "$vs/iommu-missing-fault.yaml"
check "$out/missing/iommu-missing-fault/result.json" '
assert r["status"] == "fail", r["status"]
assert r["failure"]["verdict"] == "iommu", r["failure"]
assert i["faults"] == 0 and i["expected"] == ">=" and i["expected_value"] == 1, i
print("ok: an expected fault that never comes fails the iommu verdict:", v["iommu"]["detail"])'

controls_end
