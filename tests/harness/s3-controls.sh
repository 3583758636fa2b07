#!/bin/sh
# s3-controls.sh GAUNTLET TOP: real S3 cycles in one boot (QEMU patch 0005)
# and the suspend step's count in real VMs
# (tests/harness/vm-scenarios/s3/*.yaml): four cycles counted by QMP and by
# the guest, then a fast orderly unplug without the attention button's
# grace; and the negative control, a guest count that does not grow, a
# clear step failure at the step.
gauntlet="$1" top="$2"
vs="$top/tests/harness/vm-scenarios/s3"
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
    "s3-good": ("pass", None, None),
    "s3-frozen-count": ("fail", 12, r":12:5: suspend: 2 S3 cycles asked, the guest counted 0 "
                        r"successful suspends"),
}
def extra(name, d, r):
    if name == "s3-frozen-count" and (r.get("s3_suspends"), r.get("s3_wakeups")) != (2, 2):
        return (f"the machine should still have slept twice: "
                f"{r.get('s3_suspends')} SUSPEND, {r.get('s3_wakeups')} WAKEUP")
    if name != "s3-good":
        return None
    log = open(os.path.join(d, "steps.log")).read()
    m = re.search(r"hotplug remove: k1 gone ([0-9.]+) s after the slot's power-off \(fast\)", log)
    if (r.get("s3_suspends"), r.get("s3_wakeups")) != (4, 4) or \
            "the guest counted 3 (suspend_stats/success 0 -> 3)" not in log or \
            "the guest counted 1 (suspend_stats/success 3 -> 4)" not in log:
        return (f"S3 counts {r.get('s3_suspends')}/{r.get('s3_wakeups')}, "
                "or the step log does not show the guest's counts")
    # the button's grace alone is 5 s
    if not m or float(m.group(1)) >= 4.0:
        return f"the fast unplug took {m.group(1) if m else '?'} s"
    return None

sys.exit(check_results(res, want, extra))
PY
rc=$?
[ $rc -ne 0 ] && cat "$out/log"
exit $rc
