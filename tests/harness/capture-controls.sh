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
python3 - "$out/res" <<'PY'
import json, os, re, sys
res = sys.argv[1]
fail = 0
# name: (status, failing step's line, reason regex)
want = {
    "capture-empty": ("fail", 8, r"capture A: the command printed nothing \(blanks aside\)"),
    "capture-long": ("fail", 8, r"capture A: the command printed 257 bytes .*expected at most 256"),
    "capture-bad-rule": ("fail", 9, r"faults: 'dma\.write\[addr=zz\]:drop': .*bad fault rule"),
    "capture-two-rules": ("fail", 9, r"faults: 'dma\.write\[addr=\$\{A\}\]:drop' is 2 rule\(s\) with "
                          r"its captured values, 1 as written: 'dma\.write\[addr=0x1000;msi:drop\]:drop'"),
    "capture-good": ("pass", None, None),
}
for name, (status, line, reason) in want.items():
    d = os.path.join(res, name)
    try:
        r = json.load(open(os.path.join(d, "result.json")))
    except OSError as e:
        print(f"FAIL {name}: no result ({e})")
        fail = 1
        continue
    st = ((r.get("failure") or {}).get("step") or {})
    if r["status"] != status or (line and st.get("line") != line) or \
            (reason and not re.search(reason, r.get("reason") or "")):
        print(f"FAIL {name}: {r['status']} at line {st.get('line')}: {r.get('reason')} "
              f"(wanted {status} at line {line}: /{reason}/)")
        fail = 1
        continue
    if name == "capture-good":
        rules = [f["rule"] for f in json.load(open(os.path.join(d, "faults.json")))]
        log = open(os.path.join(d, "steps.log")).read()
        if rules != ["dma.write[addr=0x1000-0x1fff]:drop:once", "msi[vector=3]:drop:once"]:
            print(f"FAIL {name}: faults.json rules {rules}")
            fail = 1
            continue
        if "captured LO = '0x1000-0x1fff'" not in log or \
                "faults 'dma.write[addr=0x1000-0x1fff]:drop:once': ok" not in log or \
                "fault-add 'msi[vector=3]:drop:once': ok" not in log:
            print(f"FAIL {name}: the step log does not show the values sent")
            fail = 1
            continue
    print(f"ok {name}: {r['status']}{': ' + r['reason'] if r.get('reason') else ''}")
sys.exit(fail)
PY
rc=$?
[ $rc -ne 0 ] && cat "$out/log"
exit $rc
