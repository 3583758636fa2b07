#!/bin/sh
# fault-log.sh GAUNTLET TOP: the fault log in real VMs (docs/scenarios.md,
# "The fault log"): a Kestrel scenario whose rules are replaced and whose
# device is unplugged and plugged back, and an nvme scenario whose faults
# live on the fault port (a surprise removal downs the port's link, the
# port must come back with no rule for the re-plugged device), must each
# leave a fault-log.json that holds exactly the firings faults.json counts
# (plus the surprise removal's own rule), once each, in order
# (fault-log-check.py; its --selftest is harness.fault_log_check).
gauntlet="$1" top="$2"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
vs="$top/tests/harness/vm-scenarios"
"$gauntlet" run -j 2 --out "$out/run" "$vs/fault-log-kestrel.yaml" \
    "$vs/fault-log-port.yaml" >"$out/log" 2>&1
rc=$?
cat "$out/log"
if [ "$rc" != 0 ]; then
    echo "FAIL: a scenario did not pass (exit $rc)"
    tail -n 40 "$out"/run/*/steps.log 2>/dev/null
    exit 1
fi
fail=0
for s in fault-log-kestrel fault-log-port; do
    grep "fault log:" "$out/run/$s/steps.log"
    python3 "$top/tests/harness/fault-log-check.py" "$out/run/$s" \
        --extra "link:allones" || fail=1
done
# the port's log is read from the port
python3 -c 'import json, sys
l = json.load(open(sys.argv[1]))
sys.exit(0 if l and all(e["object"] == "/machine/peripheral/rp1" for e in l) else 1)' \
    "$out/run/fault-log-port/fault-log.json" ||
    { echo "FAIL: the port scenario's log was not read from rp1"; fail=1; }
exit $fail
