#!/bin/sh
# runner-panic.sh GAUNTLET TOP: a guest that panics ends as a failure of
# kind "panic" (exit status 1), with the panic in the reason, and its
# QEMU is gone -- not a hang, not a hung runner -- and the fault that fired
# before the panic is in its fault log (QEMU stopped at the guest's reset
# and was read before it was ended).
gauntlet="$1" top="$2"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
"$gauntlet" run --out "$out" "$top/tests/harness/vm-scenarios/panic.yaml" >"$out/log" 2>&1
rc=$?
cat "$out/log"
res="$out/expect-panic/result.json"
[ "$rc" -eq 1 ] || { echo "FAIL: exit $rc, expected 1"; exit 1; }
grep -q '"kind":"panic"' "$res" || { echo "FAIL: kind is not panic:"; cat "$res"; exit 1; }
grep -q 'guest kernel panic' "$res" || { echo "FAIL: reason lacks the panic"; exit 1; }
# the same as fields (what campaign signatures read): the kind, and the
# step it happened in, at its place in the file
python3 - "$res" <<'PY' || { echo "FAIL: result.json failure fields:"; cat "$res"; exit 1; }
import json, sys
f = json.load(open(sys.argv[1]))["failure"]
assert f["kind"] == "panic", f
assert f["verdict"] is None, f
assert f["step"] == {"type": "run", "line": 13, "col": 5}, f
PY
python3 - "$res" "$out/expect-panic/fault-log.json" <<'PY' || { echo "FAIL: the fault log lost the fault before the panic"; exit 1; }
import json, sys
fl = json.load(open(sys.argv[1]))["fault_log"]
log = json.load(open(sys.argv[2]))
assert fl["entries"] == 1, fl
assert len(log) == 1 and log[0]["rule"] == "cq.post:delay(1ms):once", log
PY
echo "ok: panic verdict, with the fault log read after the panic"
