#!/bin/sh
# guest-phase-controls.sh GAUNTLET TOP: the guest phase's verdicts run
# their guest commands as one list (one agent round trip, judge.c); each
# must still fail or skip on its own, and only it (docs/scenarios.md):
#  - a module kept in use fails the unload verdict alone;
#  - a non-empty kmemleak report (a stand-in file: the stock kernel has no
#    kmemleak) fails the kmemleak verdict alone;
#  - a scan that does not complete (a stand-in directory) is an error of
#    the kmemleak verdict, not a pass, and only it;
#  - a device that never becomes ready again skips integrity-guest after
#    the readiness poll inside its command, and the unload still passes;
#  - the list was really sent in one go (the step log says so), and the
#    kernel log it brought back gzip'd is unpacked into kernel.log.
# Restored from a snapshot where they can be: what enumerations run.
gauntlet="$1" top="$2"
# shellcheck source=controls-lib.sh
. "$top/tests/harness/controls-lib.sh"
gp="$vs/guest-phase"

run "guest-phase controls" gp -j 1 --snapshot --snapshot-dir "$out/snapshots" \
    "$gp/unload-held.yaml" "$gp/kmemleak-standin.yaml" "$gp/not-ready-at-end.yaml" \
    "$gp/kmemleak-no-report.yaml"

check "$out/gp/unload-held/result.json" '
assert r["status"] == "pass", r["reason"]
u = v["unload"]
assert u["status"] == "pass" and u["detail"].startswith("failed as expected"), u
assert "rmmod kestrel" in u["detail"] and "exited 1" in u["detail"], u
assert v["integrity-guest"]["status"] == "pass", v["integrity-guest"]
assert v["kmemleak"]["status"] == "skip", v["kmemleak"]
assert v["kernel-log"]["status"] == "pass", v["kernel-log"]
print("ok: a module in use fails the unload verdict alone:", u["detail"])'

check "$out/gp/kmemleak-standin/result.json" '
assert r["status"] == "pass", r["reason"]
k = v["kmemleak"]
assert k["status"] == "pass" and k["detail"].startswith("failed as expected"), k
assert "kmemleak reports leaks" in k["detail"], k
assert v["unload"]["status"] == "pass", v["unload"]
assert v["integrity-guest"]["status"] == "pass", v["integrity-guest"]
print("ok: a kmemleak report fails the kmemleak verdict alone:", k["detail"])'

check "$out/gp/kmemleak-no-report/result.json" '
assert r["status"] == "error", (r["status"], r["reason"])
k = v["kmemleak"]
assert k["status"] == "error" and "did not complete" in k["detail"], k
assert v["unload"]["status"] == "pass", v["unload"]
assert v["integrity-guest"]["status"] == "pass", v["integrity-guest"]
print("ok: a kmemleak scan that did not complete is an error:", k["detail"])'

check "$out/gp/not-ready-at-end/result.json" '
assert r["status"] == "pass", r["reason"]
g = v["integrity-guest"]
assert g["status"] == "skip" and "device not ready at the end" in g["detail"], g
assert v["unload"]["status"] == "pass", v["unload"]
print("ok: a device never ready again skips integrity-guest:", g["detail"])'

# the kernel log came gzip'd and was unpacked: the driver's probe is in it
grep -q 'kestrel0: [0-9]* blocks' "$out/gp/unload-held/kernel.log" ||
    { echo "FAIL: kernel.log lacks the driver's probe line"; fail=1; }
for s in unload-held kmemleak-standin not-ready-at-end; do
    grep -q "guest: [0-9]* commands in one go" "$out/gp/$s/steps.log" ||
        { echo "FAIL: $s: the guest phase was not one list"; fail=1; }
done
controls_end
