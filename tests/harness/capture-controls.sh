#!/bin/sh
# capture-controls.sh GAUNTLET TOP: captured values (a run step's
# `capture: NAME`, a faults step's ${NAME}) in real VMs: the failures only a
# run can see are each a clear step failure, at the step, with the reason
# (tests/harness/vm-scenarios/capture/*.yaml); and a good capture reaches
# QEMU, faults.json and the step log with its value.
gauntlet="$1" top="$2"
vs="$top/tests/harness/vm-scenarios/capture"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
"$gauntlet" run -j 2 --out "$out/res" "$vs"/*.yaml >"$out/log" 2>&1
python3 - "$out/res" "$top/tests/harness" <<'PY'
import json, os, re, sys
sys.path.insert(0, sys.argv[2])
from want_results import check_results
res = sys.argv[1]
# name: (status, failing step's line, reason regex)
want = {
    "capture-empty": ("fail", 8, r"capture A: the command printed nothing \(blanks aside\)"),
    "capture-long": ("fail", 8, r"capture A: the command printed 257 bytes .*expected at most 256"),
    "capture-bad-rule": ("fail", 9, r"faults: 'dma\.write\[addr=zz\]:drop': .*bad fault rule"),
    "capture-two-rules": ("fail", 9, r"faults: 'dma\.write\[addr=\$\{A\}\]:drop' is 2 rule\(s\) with "
                          r"its captured values, 1 as written: 'dma\.write\[addr=0x1000;msi:drop\]:drop'"),
    "capture-good": ("pass", None, None),
}
def extra(name, d, r):
    if name != "capture-good":
        return None
    rules = [f["rule"] for f in json.load(open(os.path.join(d, "faults.json")))]
    log = open(os.path.join(d, "steps.log")).read()
    if rules != ["dma.write[addr=0x1000-0x1fff]:drop:once", "msi[vector=3]:drop:once"]:
        return f"faults.json rules {rules}"
    if "captured LO = '0x1000-0x1fff'" not in log or \
            "faults 'dma.write[addr=0x1000-0x1fff]:drop:once': ok" not in log or \
            "fault-add 'msi[vector=3]:drop:once': ok" not in log:
        return "the step log does not show the values sent"
    return None

sys.exit(check_results(res, want, extra))
PY
rc=$?
[ $rc -ne 0 ] && cat "$out/log"
exit $rc
