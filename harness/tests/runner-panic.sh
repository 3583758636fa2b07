#!/bin/sh
# runner-panic.sh GAUNTLET TOP: a guest that panics ends as a failure of
# kind "panic" (exit status 1), with the panic in the reason, and its
# QEMU is gone -- not a hang, not a hung runner.
gauntlet="$1" top="$2"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
"$gauntlet" run --out "$out" "$top/harness/tests/vm-scenarios/panic.yaml" >"$out/log" 2>&1
rc=$?
cat "$out/log"
res="$out/expect-panic/result.json"
[ "$rc" -eq 1 ] || { echo "FAIL: exit $rc, expected 1"; exit 1; }
grep -q '"kind":"panic"' "$res" || { echo "FAIL: kind is not panic:"; cat "$res"; exit 1; }
grep -q 'guest kernel panic' "$res" || { echo "FAIL: reason lacks the panic"; exit 1; }
echo "ok: panic verdict"
