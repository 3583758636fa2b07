#!/usr/bin/env bash
# vm.target_walk: docs/targets.md's walk from nothing to a passing run of a
# target of one's own, as a newcomer would do it: the doc's shell blocks
# marked <!-- walk --> run in order from the repository's top, with
# $MY_TARGETS a temporary folder outside the repository and no rebuild
# (GAUNTLET_NO_BUILD=1).  Then what they left is checked: every scenario
# ran against the copied target under its new name, with the target's own
# guest file in its composed image.  Last, a copy of kestrel under another
# name runs a device-fault scenario: {build} tools and the rule checker
# work from a folder outside the repository too.
#   target-walk.sh TOP BUILD
set -euo pipefail
top="$1" build="$2"
fail() { echo "FAIL: $*" >&2; exit 1; }
tmp="$(mktemp -d /tmp/gauntlet-walk.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
export MY_TARGETS="$tmp/my-targets" GAUNTLET_NO_BUILD=1 GAUNTLET_BUILD="$build"
case "$MY_TARGETS" in "$top"/*) fail "the walk's folder is inside the repository" ;; esac

# the walk's blocks, in order
awk '/^<!-- walk -->$/ { want = 1; next }
     want && /^```sh$/ { inblock = 1; want = 0; next }
     inblock && /^```$/ { inblock = 0; next }
     inblock { print }' "$top/docs/targets.md" >"$tmp/walk.sh"
[[ $(grep -c 'gauntlet run' "$tmp/walk.sh") -ge 2 ]] || fail "docs/targets.md has no walk (found: $(cat "$tmp/walk.sh"))"
echo "--- the walk (docs/targets.md)"
cat "$tmp/walk.sh"
echo "---"
(cd "$top" && bash -euo pipefail "$tmp/walk.sh") || fail "the walk failed"

results="$MY_TARGETS/results"
[[ -f "$results/report.json" ]] || fail "the walk left no report in $results"
python3 - "$results/report.json" "$top/scenarios/generic" <<'PY' || fail "the report is not a run of my-disk"
import glob, json, sys
r = json.load(open(sys.argv[1]))
sc = r["scenarios"]
n = len(glob.glob(sys.argv[2] + "/*.yaml"))
assert len(sc) == n, "expected the %d generic scenarios, got %d" % (n, len(sc))
for s in sc:
    assert s["target"] == "my-disk", "%s ran against %s" % (s["name"], s["target"])
    assert s["status"] in ("pass", "skip"), "%s: %s %s" % (s["name"], s["status"], s.get("reason"))
assert sum(s["status"] == "pass" for s in sc) >= n - 1, "fewer than %d passed" % (n - 1)
print("report: %d scenarios against my-disk, %d passed" % (len(sc), sum(s["status"] == "pass" for s in sc)))
PY
grep -q 'guest\$ my-disk-ready' "$results/generic-baseline/steps.log" ||
    fail "the target's own ready check did not run"
grep -q "initrd $build/images/my-disk-stock-" "$results/generic-baseline/steps.log" ||
    fail "the scenario did not boot the composed my-disk image"

# a campaign on it, from its copied vocabulary, the runs against the copy
(cd "$top" && ./gauntlet campaign --target-dir "$MY_TARGETS" --target my-disk \
    --seed 1 --runs 1 --no-shrink --out "$tmp/camp") || fail "a campaign on my-disk failed"
python3 - "$tmp/camp/campaign.json" <<'PY' || fail "the campaign did not run on my-disk"
import json, sys
c = json.load(open(sys.argv[1]))
assert c["vocabulary"].endswith("/my-disk/campaign.yaml"), c["vocabulary"]
assert [r["status"] for r in c["results"]] == ["pass"], c["results"]
PY
grep -q "initrd $build/images/my-disk-stock-" "$tmp"/camp/runs/batch-*/*/steps.log ||
    fail "the campaign's run did not boot my-disk's image"

# a copy of kestrel, under another name, with a device-fault scenario
cp -r "$top/targets/kestrel" "$MY_TARGETS/kestrel-copy"
sed -i 's/^name: .*/name: kestrel-copy/' "$MY_TARGETS/kestrel-copy/target.yaml"
(cd "$top" && ./gauntlet run --target-dir "$MY_TARGETS" --target kestrel-copy \
    scenarios/timeout-dropped-completion.yaml --out "$tmp/kc") ||
    fail "kestrel-copy did not pass timeout-dropped-completion"
grep -Eq '"target": ?"kestrel-copy"' "$tmp/kc/timeout-dropped-completion/result.json" ||
    fail "the scenario did not run against kestrel-copy"
# and its checker still judges rules from there
printf 'name: x\ndescription: d\nsteps:\n  - faults: {set: "cq.post:drp"}\n' >"$tmp/bad.yaml"
if (cd "$top" && ./gauntlet run --target-dir "$MY_TARGETS" --target kestrel-copy \
        "$tmp/bad.yaml" --list) >"$tmp/bad.out" 2>&1; then
    fail "kestrel-copy accepted a bad rule"
fi
grep -q "bad.yaml:4:28: bad fault rule in 'set': found 'drp'" "$tmp/bad.out" ||
    fail "kestrel-copy's checker error: $(cat "$tmp/bad.out")"
echo "target walk: ok"
