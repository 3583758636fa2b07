#!/bin/sh
# runner-panic.sh GAUNTLET TOP: a guest that panics ends as a failure of
# kind "panic" (exit status 1), with the panic in the reason, and its
# QEMU is gone -- not a hang, not a hung runner.
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
assert f["step"] == {"type": "run", "line": 8, "col": 5}, f
PY
echo "ok: panic verdict"
