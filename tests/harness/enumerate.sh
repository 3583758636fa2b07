#!/usr/bin/env bash
# gauntlet enumerate without a VM (docs/enumerate.md), against the campaign
# tests' stand-in runner (campaign-fake-runner.sh), which gives each rule
# the hits of its point from GAUNTLET_FAKE_HITS and fails a scenario that
# holds GAUNTLET_FAKE_CULPRIT with a kernel WARNING:
#   - generation from given counts (--counts, --generate-only): one file
#     per (point, action, n), n = 1..N, each arming POINT:ACTION:nth=n
#     (once for n = 1) before the workload, the rule not in allow_unfired;
#     --max-n and --sample bound and spread the values; the files pass
#     gauntlet-runner --list; a pair the target's checker refuses is left
#     out with a message, a point no action makes a rule with exits 2;
#   - the clean run counts the events (the rules' hits) and every n runs;
#   - the negative control: the run that faults n=3 of cq.post fails, the
#     table says "1-2 ok, 3 FAIL sig#1, 4-5 ok", the failure is shrunk to a
#     file that reproduces, and the exit status is 1; with no culprit the
#     same enumeration passes with exit 0;
#   - a point the workload never reaches: "NOTHING TO ENUMERATE", exit 1;
#   - a clean run that fails stops everything with exit 1;
#   - shards 1/2 and 2/2 together run every n once, and merge gives the
#     whole table again.
#   enumerate.sh GAUNTLET_CAMPAIGN GAUNTLET_RUNNER FAKE_RUNNER TARGETS_DIR BUILD WORKDIR
set -euo pipefail
gcbin="$1" runner="$2" fake="$3" targets="$4" build="$5" work="$6"
export GAUNTLET_BUILD="$build"
rm -rf "$work"
mkdir -p "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }
jcheck() { python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); sys.exit(0 if eval("(" + sys.argv[2] + ")") else 1)' "$1" "$2"; }
wl="kestrelctl stress --lba 8192 --blocks 256 --batches 4 --threads 1 --qd 2 --verify --allow-errors --keep-going"
en() {
    "$gcbin" enumerate --targets "$targets" --target kestrel --workload "$wl" \
        --setting "kestrelctl timeout set 1000" "$@"
}

# ---- generation from given counts ---------------------------------------------
echo '{"cq.post": 5, "irq": 3}' >"$work/counts.json"
en --point cq.post --point irq --action drop --action "delay(200us)" \
    --counts "$work/counts.json" --generate-only "$work/gen" >"$work/gen.log"
cat "$work/gen.log"
n=$(ls "$work"/gen/schedules/e*.yaml | wc -l)
((n == 16)) || fail "$n files, expected 16 (cq.post: 2 actions x 5, irq: 2 x 3)"
f="$work/gen/schedules/e1-cq.post-n3.yaml"
grep -qx -- '- faults: {set: "cq.post:drop:nth=3"}' "$f" || fail "$f does not arm cq.post:drop:nth=3"
grep -qx -- '- faults: {set: "cq.post:drop:once"}' "$work/gen/schedules/e1-cq.post-n1.yaml" ||
    fail "n=1 is not written 'once'"
grep -qx -- '- faults: {set: "irq:delay(200us):nth=2"}' "$work/gen/schedules/e4-irq-n2.yaml" ||
    fail "pair 4 is not irq:delay(200us)"
[[ ! -e "$work/gen/schedules/e3-irq-n4.yaml" ]] || fail "irq has 3 events, n=4 was generated"
! grep -q allow_unfired "$work"/gen/schedules/e*.yaml || fail "an enumerated rule is allowed not to fire"
steps=$(sed -n 's/^- \([a-z_]*\):.*/\1/p' "$f" | tr '\n' ' ')
[[ "$steps" == "boot load run faults workload workload_stop " ]] ||
    fail "steps are '$steps', expected the setting, the rule, then the workload to its end"
"$runner" --list --targets "$targets" "$work"/gen/schedules/e*.yaml >"$work/list.log" 2>&1 ||
    { cat "$work/list.log"; fail "gauntlet-runner --list refuses a generated file"; }
# --max-n and --sample
en --point cq.post --action drop --counts "$work/counts.json" --max-n 2 \
    --generate-only "$work/gen-max" >/dev/null
[[ "$(ls "$work"/gen-max/schedules/e*.yaml | xargs -n1 basename | tr '\n' ' ')" == "e1-cq.post-n1.yaml e1-cq.post-n2.yaml " ]] ||
    fail "--max-n 2 did not give n = 1, 2"
echo '{"cq.post": 100}' >"$work/counts100.json"
en --point cq.post --action drop --counts "$work/counts100.json" --sample 4 \
    --generate-only "$work/gen-sample" >/dev/null
got=$(ls "$work"/gen-sample/schedules/e*.yaml | sed 's/.*-n\([0-9]*\)\.yaml/\1/' | sort -n | tr '\n' ' ')
[[ "$got" == "1 34 67 100 " ]] || fail "--sample 4 over 100 gave n = $got, expected 1 34 67 100"
# a pair the checker refuses is left out; a point with no valid action: exit 2
en --point cq.post --point irq --action drop --action "corrupt(tag=1)" \
    --counts "$work/counts.json" --generate-only "$work/gen-refused" >"$work/refused.log" 2>&1 ||
    { cat "$work/refused.log"; fail "a refused pair stopped the generation"; }
grep -q "irq:corrupt(tag=1) is not a rule of this target" "$work/refused.log" ||
    { cat "$work/refused.log"; fail "the refused pair irq:corrupt(tag=1) is not named"; }
set +e
en --point irq --action "corrupt(tag=1)" --counts "$work/counts.json" \
    --generate-only "$work/gen-bad" >"$work/bad.log" 2>&1
rc=$?
en --point cq.post --action drop >"$work/noworkload.log" 2>&1 --counts "$work/nosuch.json" \
    --generate-only "$work/gen-nocounts"
rc2=$?
"$gcbin" enumerate --targets "$targets" --target kestrel --point cq.post --action drop \
    >"$work/usage.log" 2>&1
rc3=$?
set -e
((rc == 2)) && grep -q -- "--point irq makes no rule" "$work/bad.log" ||
    { cat "$work/bad.log"; fail "a point with no valid action: exit $rc, expected 2 and a message"; }
((rc2 == 2)) || fail "a missing --counts file: exit $rc2, expected 2"
((rc3 == 2)) && grep -q -- "--workload" "$work/usage.log" || fail "no --workload: exit $rc3, expected 2"

# ---- the negative control: the stand-in fails n=3 of cq.post --------------------
export GAUNTLET_FAKE_HITS="cq.post=5|irq=3"
set +e
GAUNTLET_FAKE_CULPRIT='"cq.post:drop:nth=3"' en --runner "$fake" --point cq.post --point irq \
    --action drop -j 2 --out "$work/e" >"$work/e.log" 2>&1
rc=$?
set -e
cat "$work/e.log"
((rc == 1)) || fail "exit status $rc with n=3 failing, expected 1"
grep -qx "cq.post:drop (5 events in the clean run): 1-2 ok, 3 FAIL sig#1, 4-5 ok" "$work/e/enumerate.txt" ||
    { cat "$work/e/enumerate.txt"; fail "the table does not say 1-2 ok, 3 FAIL sig#1, 4-5 ok"; }
grep -qx "irq:drop (3 events in the clean run): 1-3 ok" "$work/e/enumerate.txt" ||
    fail "the table does not say irq 1-3 ok"
grep -qx "sig#1: WARNING in kestrel_fake_reap \[kestrel\]" "$work/e/enumerate.txt" ||
    fail "the table does not name sig#1"
jcheck "$work/e/enumerate.json" "d['pairs'][0]['events'] == 5 and d['pairs'][1]['events'] == 3 and
    d['ran'] == 8 and d['fail'] == 1 and d['pass'] == 7 and
    [r['n'] for r in d['results'] if r['status'] == 'fail'] == [3] and
    d['signatures'][0]['reproduced'] is True" || fail "enumerate.json is not the runs'"
jcheck "$work/e/campaign.json" "d['tool'] == 'gauntlet-enumerate' and d['fail'] == 1" ||
    fail "campaign.json is not the enumeration's"
grep -q 'testsuite name="enumerate-kestrel-shard1-of-1" tests="8" failures="1"' "$work/e/junit.xml" ||
    fail "junit.xml does not hold the 8 runs and the failure"
grep -q 'nth=1000000000000000' "$work/e/schedules/enum-clean.yaml" || fail "no counting rule in the clean run"
# report.html carries the table (written after enumerate.json)
python3 - "$work/e/report.html" <<'PY' || fail "report.html does not show the enumeration's table"
import sys
from html.parser import HTMLParser
class P(HTMLParser):
    pre = False; text = ""
    def handle_starttag(self, tag, attrs):
        self.pre = tag == "pre" and ("class", "enum-table") in attrs
    def handle_endtag(self, tag):
        self.pre = False
    def handle_data(self, data):
        if self.pre: self.text += data
p = P(); p.feed(open(sys.argv[1]).read())
assert "cq.post:drop (5 events in the clean run): 1-2 ok, 3 FAIL sig#1, 4-5 ok" in p.text, p.text
PY
grep -q 'allow_unfired: \[0, 1\]' "$work/e/schedules/enum-clean.yaml" ||
    fail "the clean run's counting rules are not allowed to stay unfired"
# the same without a culprit passes
GAUNTLET_FAKE_CULPRIT='no such rule' en --runner "$fake" --point cq.post --point irq \
    --action drop --out "$work/ok" >"$work/ok.log" 2>&1 || { cat "$work/ok.log"; fail "a clean enumeration did not exit 0"; }
grep -qx "cq.post:drop (5 events in the clean run): 1-5 ok" "$work/ok/enumerate.txt" ||
    fail "the clean enumeration's table is not 1-5 ok"

# ---- a point the workload never reaches ------------------------------------------
set +e
GAUNTLET_FAKE_CULPRIT='no such rule' en --runner "$fake" --point cq.post --point sq.fetch \
    --action drop --out "$work/z" >"$work/z.log" 2>&1
rc=$?
# ---- a clean run that fails ------------------------------------------------------
GAUNTLET_FAKE_CULPRIT='enum-clean' en --runner "$fake" --point cq.post --action drop \
    --out "$work/cf" >"$work/cf.log" 2>&1
rc2=$?
set -e
((rc == 1)) && grep -q "sq.fetch:drop (0 events in the clean run): NOTHING TO ENUMERATE" "$work/z/enumerate.txt" ||
    { cat "$work/z.log"; fail "a point with 0 events: exit $rc, expected 1 and NOTHING TO ENUMERATE"; }
((rc2 == 1)) && grep -q "the clean run did not pass" "$work/cf.log" &&
    ! ls "$work"/cf/schedules/e1-* >/dev/null 2>&1 ||
    { cat "$work/cf.log"; fail "a failing clean run: exit $rc2, expected 1 and no enumeration"; }
jcheck "$work/cf/enumerate.json" "d['clean']['status'] == 'fail' and d['ran'] == 0 and
    d['pairs'][0]['point'] == 'cq.post' and d['pairs'][0]['events'] == -1" ||
    fail "a failing clean run's enumerate.json does not say so"

# ---- shards and merge -------------------------------------------------------------
set +e
for k in 1 2; do
    GAUNTLET_FAKE_CULPRIT='"cq.post:drop:nth=3"' en --runner "$fake" --point cq.post \
        --point irq --action drop --shard "$k/2" --out "$work/s$k" >"$work/s$k.log" 2>&1
done
set -e
jcheck "$work/s1/enumerate.json" "sorted(r['run'] for r in d['results']) == [0, 2, 4, 6]" ||
    fail "shard 1/2 did not take runs 0, 2, 4, 6"
jcheck "$work/s2/enumerate.json" "sorted(r['run'] for r in d['results']) == [1, 3, 5, 7]" ||
    fail "shard 2/2 did not take runs 1, 3, 5, 7"
grep -qx "cq.post:drop (5 events in the clean run): 1 ok, 3 FAIL sig#1, 5 ok" "$work/s1/enumerate.txt" ||
    { cat "$work/s1/enumerate.txt"; fail "shard 1's table does not show only its own n"; }
"$gcbin" merge "$work/s1" "$work/s2" --out "$work/m" >"$work/m.log" ||
    { cat "$work/m.log"; fail "merge failed"; }
cat "$work/m.log"
grep -qx "cq.post:drop (5 events in the clean run): 1-2 ok, 3 FAIL sig#1, 4-5 ok" "$work/m/enumerate.txt" ||
    { cat "$work/m/enumerate.txt"; fail "the merged table is not the whole one"; }
jcheck "$work/m/enumerate.json" "d['ran'] == 8 and d['fail'] == 1 and len(d['results']) == 8" ||
    fail "the merged enumerate.json does not hold the 8 runs"
# shards of different enumerations do not merge
set +e
"$gcbin" merge "$work/s1" "$work/z" --out "$work/m2" >"$work/m2.log" 2>&1
rc=$?
set -e
((rc == 2)) && grep -q "enumerate.json" "$work/m2.log" ||
    { cat "$work/m2.log"; fail "merging two different enumerations: exit $rc, expected 2"; }

# ---- a campaign's fired fraction per point (every drawn rule must fire) -----------
# The stand-in fires a rule whose trigger is once or nth=K, K <= its point's
# hits, and no other: campaign.json's fired_by_point must count exactly
# that over the runs' faults.json, the summary print it and call the
# unfired rules allow_unfired let pass UNTESTED; merge sums the shards.
export GAUNTLET_FAKE_HITS="cq.post=20|sq.fetch=5"
for k in 1 2; do
    GAUNTLET_FAKE_CULPRIT='no such rule' "$gcbin" --targets "$targets" --target kestrel \
        --runner "$fake" --seed 1 --runs 20 --shard "$k/2" --out "$work/camp$k" \
        >"$work/camp$k.log" 2>&1 || { cat "$work/camp$k.log"; fail "campaign shard $k"; }
done
"$gcbin" merge "$work/camp1" "$work/camp2" --out "$work/campm" >/dev/null || fail "merge of the campaign shards"
python3 - "$work" <<'PY' || fail "merged fired_by_point is not the rules'"
import json, re, sys, glob
work = sys.argv[1]
hits = {"cq.post": 20, "sq.fetch": 5}
want = {}
for f in glob.glob(f"{work}/camp[12]/schedules/*.yaml"):
    for line in open(f):
        m = re.match(r'^- faults: \{(set|add): "(.*)"\}$', line)
        if not m:
            continue
        for rule in m.group(2).split(";"):
            pt = re.split(r"[\[:]", rule)[0]
            trig = rule.rsplit(":", 1)[1]
            n = 1 if trig == "once" else int(trig[4:]) if re.fullmatch(r"nth=\d+", trig) else 0
            d = want.setdefault(pt, [0, 0])
            d[0] += 1
            d[1] += 1 if 1 <= n <= hits.get(pt, 0) else 0
d = json.load(open(f"{work}/campm/campaign.json"))
got = {e["point"]: [e["drawn"], e["fired"]] for e in d["fired_by_point"]}
print("want", want, "got", got)
assert got == want, (got, want)
assert d["fired"]["drawn"] == sum(v[0] for v in want.values())
assert d["fired"]["fired"] == sum(v[1] for v in want.values())
assert 0 < d["fired"]["fired"] < d["fired"]["drawn"]
PY
grep -q "fault rules fired: [0-9]* of [0-9]* drawn" "$work/camp1.log" ||
    fail "the campaign summary does not give the fired fraction"
grep -q "UNTESTED: [0-9]* drawn rule(s) never fired" "$work/camp1.log" ||
    fail "the campaign summary does not report the unfired rules allow_unfired let pass"

# ---- a vocabulary's events: only triggers the workload can reach -------------------
# cq.post with events: 5 gets triggers that first fire within 5 events
# (once, nth/every <= 5, prob and after counted), reset with events: 0 is
# never drawn; the vocabulary without events (the control) draws both
# beyond.  The shipped one's files pass the runner's checks.
mkdir -p "$work/tgt" "$work/tgt0"
cp -r "$targets/kestrel" "$work/tgt/"
cp -r "$targets/kestrel" "$work/tgt0/"
sed -i '/^ *events: [0-9]*$/d; /^  ends: /d' "$work/tgt0/kestrel/campaign.yaml" "$work/tgt/kestrel/campaign.yaml"
python3 - "$work/tgt/kestrel/campaign.yaml" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()
s = s.replace("    - point: cq.post\n", "    - point: cq.post\n      events: 5\n", 1)
s = s.replace("    - point: reset\n", "    - point: reset\n      events: 0\n", 1)
open(p, "w").write(s)
PY
grep -q "events: 5" "$work/tgt/kestrel/campaign.yaml" || fail "the test vocabulary has no events"
"$gcbin" --targets "$work/tgt" --target kestrel --seed 1 --runs 150 --generate-only "$work/ev" >/dev/null ||
    fail "the vocabulary with events does not generate"
"$gcbin" --targets "$work/tgt0" --target kestrel --seed 1 --runs 150 --generate-only "$work/ev0" >/dev/null
"$gcbin" --targets "$targets" --target kestrel --seed 1 --runs 150 --generate-only "$work/evs" >/dev/null ||
    fail "the shipped vocabulary does not generate"
"$runner" --list --targets "$targets" "$work"/evs/*.yaml >"$work/evs.log" 2>&1 ||
    { tail "$work/evs.log"; fail "gauntlet-runner --list refuses a file of the shipped vocabulary"; }
! grep -qE '"(reg\.read|reset|ctrl\.enable|power)[:[]' "$work"/evs/*.yaml ||
    fail "the shipped vocabulary drew a point it says the workload never reaches"
# the workload's `ends` (the stress's --duration): every faults step comes
# while it runs, 0.3 s before its end at the latest, and before any
# hotplug (an unplug ends it); the vocabulary without it breaks both
cat >"$work/ends.py" <<'PY'
import glob, re, sys
late = 0
for f in glob.glob(sys.argv[1] + "/*.yaml"):
    t, dur, unplugged = 0.0, None, False
    for line in open(f):
        m = re.search(r"--duration (\d+)", line)
        if line.startswith("- workload:") and m:
            dur = int(m.group(1))
        m = re.match(r"^- wait: \{seconds: ([\d.]+)\}", line)
        if m:
            t += float(m.group(1))
        if line.startswith("- hotplug:"):
            unplugged = True
        if line.startswith("- faults: {set") or line.startswith("- faults: {add"):
            if unplugged or t + 0.3 >= dur - 1e-9:
                late += 1
print(late)
PY
late=$(python3 "$work/ends.py" "$work/evs")
late0=$(python3 "$work/ends.py" "$work/ev0")
echo "ends: faults steps after the workload's end or an unplug: $late (without ends: $late0)"
((late0 > 0)) || fail "the control has no faults step after the workload's end or an unplug"
((late == 0)) || fail "$late faults steps come after the workload's end or an unplug"
cat >"$work/reach.py" <<'PY'
import glob, math, re, sys
reach = {}
for f in glob.glob(sys.argv[1] + "/*.yaml"):
    for line in open(f):
        m = re.match(r'^- faults: \{(set|add): "(.*)"\}$', line)
        if not m:
            continue
        for rule in m.group(2).split(";"):
            pt = re.split(r"[\[:]", rule)[0]
            trig = rule[rule.rindex(":") + 1:] if "(" not in rule else rule[rule.rindex(")") + 2:]
            r = 1 if trig.startswith(("once", "always")) else 0
            m2 = re.match(r"(nth|every)=(\d+)", trig)
            if m2:
                r = int(m2.group(2))
            m2 = re.match(r"prob=([\d.]+)%", trig)
            if m2:
                r = math.ceil(100 / float(m2.group(1)))
            m2 = re.search(r"after=(\d+)", trig)
            if m2:
                r += int(m2.group(1))
            reach.setdefault(pt, []).append(r)
print(len(reach.get("reset", [])), max(reach.get("cq.post", [0])), len(reach.get("cq.post", [])))
PY
read -r nreset maxcq ncq < <(python3 "$work/reach.py" "$work/ev")
read -r nreset0 maxcq0 ncq0 < <(python3 "$work/reach.py" "$work/ev0")
echo "events: reset rules $nreset, cq.post rules $ncq reaching at most event $maxcq; shipped: reset $nreset0, cq.post at most $maxcq0"
((nreset0 > 0 && maxcq0 > 5)) || fail "the control draws no reset rule or no cq.post trigger past event 5"
((nreset == 0)) || fail "reset (events: 0) was drawn $nreset times"
((ncq > 0 && maxcq <= 5)) || fail "a cq.post trigger first fires at event $maxcq, past its events: 5"
echo "PASS"
