#!/bin/sh
# runner-snapshot.sh GAUNTLET TOP: --snapshot fast reset with real VMs.
#  1. Three default scenarios, -j 2, in an empty snapshot dir: all pass;
#     baseline-io and hotplug-remove-idle share a snapshot, so one saves it
#     (start "cold") and the other restores it (start "snapshot").
#  2. A scenario that must fail (tests/harness/vm-scenarios/
#     snapshot-must-fail.yaml) restored from that snapshot: start
#     "snapshot", it still fails, on the kernel-log (hung task) and
#     forbid-log verdicts, and its expect_log of a boot line passed.
#  3. The snapshot's stream damaged (its header overwritten): the run is
#     an error of kind "snapshot" naming QEMU's complaint, the snapshot is
#     discarded, nothing hangs.
#  4. A truncated stream is refused before QEMU and rebuilt: the scenario
#     passes cold with the snapshot saved anew.
gauntlet="$1" top="$2"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
snap="$tmp/snapshots"
s="$top/scenarios"
fail() { echo "FAIL: $*"; exit 1; }
field() {  # FILE KEY: a top-level string field of result.json
    sed -n "s/^  \"$2\":\"\\([^\"]*\\)\".*/\\1/p" "$1"
}
verdict() {  # FILE NAME: that verdict's status
    grep -A1 "\"name\":\"$2\"" "$1" | sed -n 's/^ *"status":"\([a-z]*\)".*/\1/p'
}
run() {  # OUT ARGS...: gauntlet run --snapshot, output in $tmp/OUT.log
    out="$1"
    shift
    "$gauntlet" run --snapshot --snapshot-dir "$snap" --out "$tmp/$out" "$@" \
        >"$tmp/$out.log" 2>&1
    rc=$?
    cat "$tmp/$out.log"
}

# 1. pass, one saves, one restores
run pass -j 2 "$s/baseline-io.yaml" "$s/hotplug-remove-idle.yaml" \
    "$s/timeout-dropped-completion.yaml"
[ "$rc" -eq 0 ] || fail "default scenarios under --snapshot: exit $rc"
starts="$(field "$tmp/pass/baseline-io/result.json" start) $(field "$tmp/pass/hotplug-remove-idle/result.json" start)"
case "$starts" in
    "cold snapshot"|"snapshot cold") ;;
    *) fail "baseline-io and hotplug-remove-idle started '$starts', expected one cold (saving) and one from the snapshot" ;;
esac
grep -q '"snapshot":"saved ' "$tmp/pass/baseline-io/result.json" \
    "$tmp/pass/hotplug-remove-idle/result.json" || fail "no scenario saved the snapshot"
echo "ok: 3 scenarios pass under --snapshot; started: $starts"

# 2. a scenario that must fail still fails when restored
run mustfail "$top/tests/harness/vm-scenarios/snapshot-must-fail.yaml"
res="$tmp/mustfail/snapshot-must-fail/result.json"
[ "$rc" -eq 1 ] || fail "snapshot-must-fail: exit $rc, expected 1"
[ "$(field "$res" start)" = snapshot ] || fail "snapshot-must-fail did not start from the snapshot"
[ "$(field "$res" status)" = fail ] || fail "snapshot-must-fail: status $(field "$res" status), expected fail"
[ "$(verdict "$res" kernel-log)" = fail ] || fail "kernel-log verdict is not fail"
grep -q 'blocked for more than' "$tmp/mustfail/snapshot-must-fail/kernel-verdict.txt" ||
    fail "kernel-verdict.txt lacks the hung task"
[ "$(verdict "$res" forbid-log)" = fail ] || fail "forbid-log verdict is not fail"
grep -q 'step run at' "$tmp/mustfail/snapshot-must-fail/steps.log" ||
    fail "the steps after expect_log (boot line) did not run"
echo "ok: restored snapshot-must-fail fails on kernel-log (hung task) and forbid-log"

# 3. a damaged stream: a clear error, the snapshot discarded, no hang
# the snapshot of boot + load {} (step 2 restored it)
dir="$(field "$res" snapshot | sed 's|\\/|/|g; s|^restored \([^ ]*\) .*|\1|')"
[ -f "$dir/vm.mig" ] || fail "no snapshot at '$dir'"
printf 'JUNK' | dd of="$dir/vm.mig" bs=1 seek=0 conv=notrunc 2>/dev/null
run damaged "$s/baseline-io.yaml"
res="$tmp/damaged/baseline-io/result.json"
[ "$rc" -eq 1 ] || fail "damaged snapshot: exit $rc, expected 1"
[ "$(field "$res" status)" = error ] || fail "damaged snapshot: status $(field "$res" status), expected error"
[ "$(field "$res" kind)" = snapshot ] || fail "damaged snapshot: kind $(field "$res" kind)"
grep -q 'snapshot restore failed: .*Not a migration stream' "$res" || fail "the reason does not say what was wrong"
[ ! -e "$dir" ] || fail "the damaged snapshot $dir was not discarded"
echo "ok: damaged stream: $(field "$res" reason | cut -c1-160)..."

# 4. a truncated stream: refused before QEMU, rebuilt, the scenario passes
run again "$s/timeout-dropped-completion.yaml"
[ "$rc" -eq 0 ] || fail "timeout-dropped-completion from its snapshot: exit $rc"
res="$tmp/again/timeout-dropped-completion/result.json"
[ "$(field "$res" start)" = snapshot ] || fail "timeout-dropped-completion did not restore"
dir="$(field "$res" snapshot | sed 's|\\/|/|g; s|^restored \([^ ]*\) .*|\1|')"
[ -f "$dir/vm.mig" ] || fail "no snapshot at '$dir'"
truncate -s 1000000 "$dir/vm.mig"
run truncated "$s/timeout-dropped-completion.yaml"
res="$tmp/truncated/timeout-dropped-completion/result.json"
[ "$rc" -eq 0 ] || fail "truncated snapshot: exit $rc, expected a cold pass"
[ "$(field "$res" start)" = cold ] || fail "truncated snapshot: start $(field "$res" start), expected cold"
grep -q '"snapshot":"discarded .*vm.mig has 1000000 bytes.*saved ' "$res" ||
    fail "truncated snapshot: not reported as discarded and saved anew"
echo "ok: truncated stream refused and saved anew"
