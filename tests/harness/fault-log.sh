#!/bin/sh
# fault-log.sh GAUNTLET TOP: the fault log in a real VM (docs/scenarios.md,
# "The fault log"): a Kestrel scenario whose rules are replaced and whose
# device is unplugged and plugged back must leave a fault-log.json that
# holds exactly the firings faults.json counts, once each, in order
# (fault-log-check.py; its --selftest is harness.fault_log_check).
gauntlet="$1" top="$2"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
"$gauntlet" run --out "$out/run" \
    "$top/tests/harness/vm-scenarios/fault-log-kestrel.yaml" >"$out/log" 2>&1
rc=$?
cat "$out/log"
d="$out/run/fault-log-kestrel"
if [ "$rc" != 0 ]; then
    echo "FAIL: the scenario did not pass (exit $rc)"
    tail -n 40 "$d/steps.log" 2>/dev/null
    exit 1
fi
grep "fault log" "$d/steps.log"
python3 "$top/tests/harness/fault-log-check.py" "$d"
