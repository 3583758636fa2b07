#!/usr/bin/env bash
# The shrinker against a stand-in runner (campaign-fake-runner.sh) that
# fails a scenario iff it contains one chosen fault rule: the campaign must
# group the failure under the WARNING's signature, shrink it to boot, load
# and that one rule, write it as a scenario file that reproduces, and say
# so in campaign.json.  A `ledger` verdict failure that needs the power
# cut keeps it, one that does not loses it (the workload's stop comes
# back).  Then `merge` over two shards of the same campaign.
#   campaign-shrink.sh GAUNTLET_CAMPAIGN FAKE_RUNNER VOCAB_TARGETS_DIR WORKDIR
set -euo pipefail
gcbin="$1" fake="$2" vocab="$3" work="$4"
rm -rf "$work"
mkdir -p "$work"
# The runs pinned below (seeds 5 and 42) are those of the Kestrel
# vocabulary without its points' `events:` and its workload's `ends:`
# (issue 17, which changed the draws); those draws are harness.enumerate's.
cp -r "$vocab" "$work/vocab"
sed -i '/^ *events: [0-9]*$/d; /^  ends: /d' "$work/vocab/kestrel/campaign.yaml"
vocab="$work/vocab"
fail() { echo "FAIL: $*" >&2; exit 1; }
# the campaign as ./gauntlet calls it (the shipped kestrel vocabulary)
gc() {
    if [[ "${1:-}" == merge ]]; then
        "$gcbin" "$@"
    else
        "$gcbin" --targets "$vocab" --target kestrel "$@"
    fi
}
# jcheck FILE EXPR: a Python expression over the JSON document d is true
jcheck() { python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); sys.exit(0 if eval("(" + sys.argv[2] + ")") else 1)' "$1" "$2"; }

# a rule that is not alone in its faults step, from the generated runs
gc --seed 5 --runs 12 --generate-only "$work/gen" >/dev/null
culprit="" victim=""
for f in "$work"/gen/*.yaml; do
    rules=$(sed -n 's/^- faults: {\(set\|add\): "\(.*;.*\)"}$/\2/p' "$f" | head -1)
    if [[ -n "$rules" ]]; then
        culprit="${rules##*;}" victim="$f"
        break
    fi
done
[[ -n "$culprit" ]] || fail "no generated run has a faults step with two rules"
echo "culprit rule: $culprit (first in $victim)"
nbad=$(grep -lF -- "$culprit" "$work"/gen/*.yaml | wc -l)

set +e
GAUNTLET_FAKE_CULPRIT="$culprit" gc --runner "$fake" --seed 5 --runs 12 -j 2 \
    --shrink-attempts 200 --out "$work/c" >"$work/c.log" 2>&1
rc=$?
set -e
cat "$work/c.log"
((rc == 1)) || fail "exit status $rc, expected 1 (a run failed)"
sig="WARNING in kestrel_fake_reap [kestrel]"
jcheck "$work/c/campaign.json" "d['fail'] == $nbad and d['pass'] == 12 - $nbad and
    len(d['signatures']) == 1 and d['signatures'][0]['signature'] == '$sig' and
    d['signatures'][0]['count'] == $nbad and d['signatures'][0]['reproduced'] is True" ||
    fail "campaign.json does not group $nbad failure(s) under '$sig' with a reproducing shrink"
shrunk=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["signatures"][0]["shrunk"])' "$work/c/campaign.json")
[[ -f "$shrunk" ]] || fail "no shrunk file $shrunk"
cat "$shrunk"
# what is left: boot, load and one faults step holding exactly the culprit
steps=$(sed -n 's/^- \([a-z_]*\):.*/\1/p' "$shrunk" | tr '\n' ' ')
[[ "$steps" == "boot load faults " ]] || fail "shrunk steps are '$steps', expected 'boot load faults'"
grep -qE "^- faults: \{(set|add): \"$(printf '%s' "$culprit" | sed 's/[][\.*^$()+?{}|]/\\&/g')\"\}$" "$shrunk" ||
    fail "the shrunk faults step is not exactly the culprit rule"
grep -q "seed 5, run" "$shrunk" || fail "the description does not say seed and run"
# the shrunk file is an ordinary scenario: the stand-in fails it again
GAUNTLET_FAKE_CULPRIT="$culprit" "$fake" --out "$work/again" "$shrunk" && fail "shrunk file passes"

# power cuts and the ledger verdict (a host-side verdict: no kernel report,
# the signature is the verdict): a failure that needs the cut keeps it, one
# that does not loses it, and each gets its signature and a shrunk file
# that fails again.  Seed 5's runs 0, 3, 9 and 10 end in a cut; only run 9
# has the write cache on.
# shrunk_of DIR: the shrunk file of DIR's only signature
shrunk_of() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["signatures"][0]["shrunk"])' "$1/campaign.json"; }
grep -qx 'write_cache: true' "$work/gen/campaign-s5-r00009.yaml" &&
    grep -qx -- '- power_cut: {at: now, boot_again: true}' "$work/gen/campaign-s5-r00009.yaml" ||
    fail "run 9 of seed 5 is not a cut with a second boot and the write cache"
[[ $(grep -lx 'write_cache: true' "$work"/gen/*.yaml | wc -l) == 1 ]] || fail "more runs than run 9 have the cache"
# needs the cut, its second boot and the cache
set +e
GAUNTLET_FAKE_CULPRIT="no such rule" GAUNTLET_FAKE_LEDGER="boot_again: true|write_cache: true" \
    gc --runner "$fake" --seed 5 --runs 12 -j 2 --shrink-attempts 200 --out "$work/cut" \
    >"$work/cut.log" 2>&1
rc=$?
set -e
((rc == 1)) || fail "ledger failure (needs the cut): exit $rc, expected 1: $(tail -5 "$work/cut.log")"
jcheck "$work/cut/campaign.json" "d['fail'] == 1 and len(d['signatures']) == 1 and
    d['signatures'][0]['signature'] == 'verdict:ledger' and d['signatures'][0]['count'] == 1 and
    d['signatures'][0]['reproduced'] is True and
    [r['signature'] for r in d['results'] if r['run'] == 9] == ['verdict:ledger']" ||
    fail "the ledger failure of run 9 has no signature or no reproducing shrink: $(cat "$work/cut/campaign.json")"
shrunk=$(shrunk_of "$work/cut")
cat "$shrunk"
steps=$(sed -n 's/^- \([a-z_]*\):.*/\1/p' "$shrunk" | tr '\n' ' ')
[[ "$steps" == "boot load power_cut load " ]] ||
    fail "shrunk steps are '$steps', expected 'boot load power_cut load' (the cut kept)"
grep -qx -- '- power_cut: {at: now, boot_again: true}' "$shrunk" && grep -qx 'write_cache: true' "$shrunk" ||
    fail "the shrunk file lost the second boot or the cache it needs"
grep -q "drop step [0-9]* (power_cut)" "$work/cut/failures/"*/shrink.log ||
    fail "the shrinker never tried to drop the cut"
GAUNTLET_FAKE_CULPRIT="no such rule" GAUNTLET_FAKE_LEDGER="boot_again: true|write_cache: true" \
    "$fake" --out "$work/cut-again" "$shrunk" && fail "shrunk file passes"
# needs only the workload of run 0 (its --seed): the cut, its second boot
# and its load go, and the workload gets its stop back
set +e
GAUNTLET_FAKE_CULPRIT="no such rule" GAUNTLET_FAKE_LEDGER="--seed 814493" \
    gc --runner "$fake" --seed 5 --runs 12 -j 2 --shrink-attempts 200 --out "$work/nocut" \
    >"$work/nocut.log" 2>&1
rc=$?
set -e
((rc == 1)) || fail "ledger failure (needs no cut): exit $rc, expected 1: $(tail -5 "$work/nocut.log")"
grep -q -- '--seed 814493' "$work/gen/campaign-s5-r00000.yaml" && grep -q '^- power_cut:' "$work/gen/campaign-s5-r00000.yaml" ||
    fail "run 0 of seed 5 is not a cut run with workload seed 814493"
jcheck "$work/nocut/campaign.json" "d['fail'] == 1 and len(d['signatures']) == 1 and
    d['signatures'][0]['signature'] == 'verdict:ledger' and d['signatures'][0]['reproduced'] is True" ||
    fail "the ledger failure of run 0: $(cat "$work/nocut/campaign.json")"
shrunk=$(shrunk_of "$work/nocut")
cat "$shrunk"
steps=$(sed -n 's/^- \([a-z_]*\):.*/\1/p' "$shrunk" | tr '\n' ' ')
[[ "$steps" == "boot load workload workload_stop " ]] ||
    fail "shrunk steps are '$steps', expected 'boot load workload workload_stop' (the cut dropped, the stop back)"
grep -qx -- '- workload_stop: {name: io, wait: true, timeout: 124}' "$shrunk" ||
    fail "the workload's stop is not its own (wait: true, duration 4 + 120)"
grep -q '^write_cache:' "$shrunk" && fail "write_cache without a cut"

# shards: merge two halves of the same campaign, no shrinking
for k in 1 2; do
    GAUNTLET_FAKE_CULPRIT="$culprit" gc --runner "$fake" --seed 5 --runs 12 -j 2 \
        --shard "$k/2" --no-shrink --out "$work/shard$k" >/dev/null 2>&1 || true
done
have_lcov=0
if command -v lcov >/dev/null; then
    have_lcov=1
    printf 'TN:\nSF:/src/a.c\nDA:1,1\nDA:2,0\nend_of_record\n' >"$work/shard1/coverage.info"
    printf 'TN:\nSF:/src/a.c\nDA:1,0\nDA:2,3\nend_of_record\n' >"$work/shard2/coverage.info"
else
    echo "note: no lcov here, the tracefile merge is not tested"
fi
gc merge "$work/shard1" "$work/shard2" --out "$work/merged"
jcheck "$work/merged/campaign.json" "d['ran'] == 12 and d['fail'] == $nbad and
    len(d['results']) == 12 and len(d['signatures']) == 1 and
    d['signatures'][0]['count'] == $nbad" || fail "merged campaign.json is wrong"
grep -q '<testsuites name="gauntlet" tests="12" failures="'"$nbad"'"' "$work/merged/junit.xml" ||
    fail "merged junit.xml totals are wrong"
[[ $(grep -c '<testsuite ' "$work/merged/junit.xml") == 2 ]] || fail "merged junit.xml lost a shard"
if ((have_lcov)); then
    grep -q '^DA:2,3$' "$work/merged/coverage.info" && grep -q '^DA:1,1$' "$work/merged/coverage.info" ||
        fail "merged coverage.info is not the sum of both tracefiles"
fi
# --time: no new batch once the time is up, and the report says how many ran
GAUNTLET_FAKE_CULPRIT="no such rule" GAUNTLET_FAKE_SLEEP=2 gc --runner "$fake" \
    --seed 5 --runs 12 -j 2 --time 1 --out "$work/timed" >"$work/timed.log" 2>&1 ||
    fail "the timed campaign failed: $(cat "$work/timed.log")"
jcheck "$work/timed/campaign.json" "d['ran'] == 4 and d['selected'] == 12 and
    d['stopped_by_time'] is True and len(d['results']) == 4" ||
    fail "--time 1 with 2 s batches of 4 should run 4 of 12"
grep -q "4 of 12 selected runs ran (stopped by --time)" "$work/timed.log" ||
    fail "the summary does not say how many runs ran"

# a failed boot never reached the driver: an error, run once more, not
# shrunk; a failed
# step is named by the step
GAUNTLET_FAKE_CULPRIT="no such rule" GAUNTLET_FAKE_BOOTFAIL="name: campaign-s5-r00001" \
    GAUNTLET_FAKE_STEPFAIL="name: campaign-s5-r00002" gc --runner "$fake" --seed 5 \
    --runs 4 --no-shrink --out "$work/kinds" >"$work/kinds.log" 2>&1 && fail "failures but exit 0"
jcheck "$work/kinds/campaign.json" "d['pass'] == 2 and d['error'] == 1 and d['fail'] == 1 and
    [(r['signature'], r['boot_retries']) for r in d['results'] if r['run'] == 1] == [('error:boot', 2)] and
    [s['signature'] for s in d['signatures']] == ['step:workload_stop']" ||
    fail "boot failure / step failure misclassified: $(cat "$work/kinds/campaign.json")"

# a kernel report before the driver was loaded (a guest starved by its host
# stalls in boot) is not the driver's either
GAUNTLET_FAKE_CULPRIT="name: campaign-s5-r00003" GAUNTLET_FAKE_EARLY=1 gc --runner "$fake" \
    --seed 5 --runs 4 --no-shrink --out "$work/early" >"$work/early.log" 2>&1 && fail "exit 0"
jcheck "$work/early/campaign.json" "d['error'] == 1 and d['fail'] == 0 and
    [(r['signature'], r['boot_retries']) for r in d['results'] if r['run'] == 3] ==
    [('error:before-load', 2)]" ||
    fail "a report before the load was not an error: $(cat "$work/early/campaign.json")"

# an RCU stall the kernel blames on a starved CPU, with no driver frame
GAUNTLET_FAKE_CULPRIT="no such rule" GAUNTLET_FAKE_STARVED="name: campaign-s5-r00002" \
    gc --runner "$fake" --seed 5 --runs 4 --no-shrink --out "$work/starved" \
    >"$work/starved.log" 2>&1 && fail "exit 0"
jcheck "$work/starved/campaign.json" "d['error'] == 1 and d['fail'] == 0 and
    [r['signature'] for r in d['results'] if r['run'] == 2] == ['error:host-starved']" ||
    fail "a starved guest's RCU stall was not an error: $(cat "$work/starved/campaign.json")"

# runner arguments pass through; --snapshot is passed when the runner has it
for snap in "" 1; do
    rm -f "$work/args.log"
    GAUNTLET_FAKE_CULPRIT="no such rule" GAUNTLET_FAKE_SNAPSHOT="$snap" \
        GAUNTLET_FAKE_ARGS_LOG="$work/args.log" gc --runner "$fake" --seed 5 --runs 3 \
        --runner-arg --extra --runner-arg "two words" --out "$work/snap$snap" >/dev/null 2>&1 ||
        fail "campaign with the stand-in failed"
    grep -q -- "--extra two words -j 2 --out $work/snap$snap/runs/batch-0000" "$work/args.log" ||
        fail "runner arguments not passed through: $(cat "$work/args.log")"
    if [[ -n "$snap" ]]; then
        grep -q -- "--snapshot --snapshot-dir $work/snap1/snapshots " "$work/args.log" ||
            fail "--snapshot not passed to a runner that has it: $(cat "$work/args.log")"
    else
        grep -q -- "--snapshot" "$work/args.log" && fail "--snapshot passed to a runner without it"
    fi
done

# bad input loses nothing and says where
echo '<testsuites>' >"$work/shard2/junit.xml"
set +e
gc merge "$work/shard1" "$work/shard2" --out "$work/merged2" 2>"$work/merge.err"
rc=$?
set -e
((rc == 2)) || fail "merge of a broken junit.xml exited $rc, expected 2"
grep -q "shard2/junit.xml" "$work/merge.err" || fail "merge error does not name the file"
[[ ! -e "$work/merged2/junit.xml" ]] || fail "merge wrote output despite a bad input"
echo "PASS"
