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
#  Guest RAM in a file mapped copy-on-write (--snapshot-ram file, the
#  default; run_snapshot.c):
#  1. (above) the saved snapshot has ram.img, the guest's 512 MiB, and a
#     stream of the device state only (under 8 MiB; with RAM it is ~88).
#  5. ram.img written to after the save, then truncated: each refused
#     before QEMU and saved anew (a cold pass), never loaded.
#  6. ram.img zeroed with its size and mtime kept (damage the harness
#     cannot see): the restore fails (QEMU 7.2 refuses the load: its
#     kvmvapic device reads guest RAM when loaded), an error of kind
#     "snapshot" in bounded time, the snapshot discarded; this also shows
#     the guest's RAM comes from ram.img, not the stream.
#  7. --snapshot-ram stream in the same dir does not take the file
#     snapshot (the key covers the layout): it boots and saves its own,
#     RAM in vm.mig, which the next stream run restores; and a file run
#     still restores the file snapshot, untouched by all this.
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
for d in "$snap"/kestrel-*/; do
    [ -f "$d/ram.img" ] || fail "snapshot $d has no ram.img"
    [ "$(stat -c %s "$d/ram.img")" -eq $((512 << 20)) ] ||
        fail "ram.img of $d: $(stat -c %s "$d/ram.img") bytes, not 512 MiB"
    [ "$(stat -c %s "$d/vm.mig")" -lt $((8 << 20)) ] ||
        fail "vm.mig of $d: $(stat -c %s "$d/vm.mig") bytes: RAM is in the stream"
    grep -q '"ram":"file"' "$d/meta.json" || grep -q '"ram": *"file"' "$d/meta.json" ||
        fail "meta.json of $d does not say ram file"
done
echo "ok: RAM in ram.img, the device state alone in vm.mig ($(stat -c %s "$d/vm.mig") bytes)"

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
half=$(( $(stat -c %s "$dir/vm.mig") / 2 ))
truncate -s "$half" "$dir/vm.mig"
run truncated "$s/timeout-dropped-completion.yaml"
res="$tmp/truncated/timeout-dropped-completion/result.json"
[ "$rc" -eq 0 ] || fail "truncated snapshot: exit $rc, expected a cold pass"
[ "$(field "$res" start)" = cold ] || fail "truncated snapshot: start $(field "$res" start), expected cold"
grep -q "\"snapshot\":\"discarded .*vm.mig has $half bytes.*saved " "$res" ||
    fail "truncated snapshot: not reported as discarded and saved anew"
echo "ok: truncated stream refused and saved anew"

# 5. ram.img changed after the save, or truncated: refused, saved anew
# (the snapshot of timeout-dropped-completion's boot + load, saved by 4)
damage_ram() {  # NAME WHAT COMMAND...: damage ram.img, expect a cold pass
    name=$1 what=$2
    shift 2
    [ -f "$dir/ram.img" ] || fail "no ram.img in '$dir'"
    "$@"
    run "$name" "$s/timeout-dropped-completion.yaml"
    res="$tmp/$name/timeout-dropped-completion/result.json"
    [ "$rc" -eq 0 ] || fail "$what: exit $rc, expected a cold pass"
    [ "$(field "$res" start)" = cold ] || fail "$what: start $(field "$res" start), expected cold"
    grep -q "\"snapshot\":\"discarded .*ram.img $what.*saved " "$res" ||
        fail "$what: not reported as discarded and saved anew: $(field "$res" snapshot)"
    echo "ok: ram.img $what: refused, saved anew"
}
damage_ram ram-written "was modified after the save" \
    dd if=/dev/urandom of="$dir/ram.img" bs=4096 count=1 seek=300 conv=notrunc status=none
damage_ram ram-truncated "has $((256 << 20)) bytes" truncate -s $((256 << 20)) "$dir/ram.img"

# 6. ram.img zeroed, size and mtime kept: a clear error, bounded, discarded
mtime=$(stat -c %y "$dir/ram.img")
dd if=/dev/zero of="$dir/ram.img" bs=1M count=512 conv=notrunc status=none
touch -d "$mtime" "$dir/ram.img"
t0=$(date +%s)
run zeroed "$s/timeout-dropped-completion.yaml"
res="$tmp/zeroed/timeout-dropped-completion/result.json"
[ "$rc" -eq 1 ] || fail "zeroed ram.img: exit $rc, expected 1"
[ "$(field "$res" status)" = error ] || fail "zeroed ram.img: status $(field "$res" status), expected error"
[ "$(field "$res" kind)" = snapshot ] || fail "zeroed ram.img: kind $(field "$res" kind)"
[ "$(field "$res" start)" = snapshot ] || fail "zeroed ram.img: start $(field "$res" start)"
grep -q 'snapshot restore failed: ' "$res" || fail "zeroed ram.img: the reason does not say the restore failed"
[ ! -e "$dir" ] || fail "the zeroed snapshot $dir was not discarded"
echo "ok: zeroed ram.img: an error in $(( $(date +%s) - t0 )) s: $(field "$res" reason | cut -c1-120)..."

# 7. the layout is in the key: a stream run neither takes nor touches the
# file snapshot, and restores its own
# (baseline-io's snapshot was discarded in 3: this run saves it anew)
run file1 "$s/baseline-io.yaml"
res="$tmp/file1/baseline-io/result.json"
[ "$rc" -eq 0 ] || fail "baseline-io: exit $rc"
fdir="$(field "$res" snapshot | sed 's|\\/|/|g; s|^.*saved \([^ ;]*\)$|\1|; s|^restored \([^ ]*\) .*|\1|')"
[ -f "$fdir/ram.img" ] || fail "baseline-io: no RAM file snapshot at '$fdir'"
ram_before=$(stat -c '%s %Y' "$fdir/ram.img")
for i in 1 2; do
    run "stream$i" --snapshot-ram stream "$s/baseline-io.yaml"
    res="$tmp/stream$i/baseline-io/result.json"
    [ "$rc" -eq 0 ] || fail "--snapshot-ram stream run $i: exit $rc"
    want=cold
    [ "$i" -eq 1 ] || want=snapshot
    [ "$(field "$res" start)" = $want ] || fail "--snapshot-ram stream run $i: start $(field "$res" start), expected $want"
done
sdir="$(field "$res" snapshot | sed 's|\\/|/|g; s|^restored \([^ ]*\) .*|\1|')"
[ "$sdir" != "$fdir" ] || fail "the stream run restored the file snapshot $fdir"
[ ! -e "$sdir/ram.img" ] || fail "the stream snapshot $sdir has a ram.img"
[ "$(stat -c %s "$sdir/vm.mig")" -gt $((32 << 20)) ] ||
    fail "the stream snapshot's vm.mig has $(stat -c %s "$sdir/vm.mig") bytes: no RAM in it?"
[ "$(stat -c '%s %Y' "$fdir/ram.img")" = "$ram_before" ] || fail "the file snapshot's ram.img changed"
run file2 "$s/baseline-io.yaml"
res="$tmp/file2/baseline-io/result.json"
[ "$rc" -eq 0 ] && [ "$(field "$res" start)" = snapshot ] || fail "baseline-io did not restore after the stream runs"
echo "ok: --snapshot-ram stream saved and restored its own ($(stat -c %s "$sdir/vm.mig") bytes of stream), the file snapshot untouched"
