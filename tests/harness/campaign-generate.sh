#!/usr/bin/env bash
# gauntlet-campaign's schedules, no VM: run i of seed S is the same file
# every time (and in every shard), another seed gives other files, power
# cuts are drawn with and without a second boot and the write cache (and
# a run without one is the file it was before cuts existed), every
# file passes the real runner's checks (gauntlet-runner --list: the parser,
# the device's fault-rule parser and the target checks), shards cover every
# run exactly once, and bad arguments get a clear error and exit 2.
#   campaign-generate.sh GAUNTLET_CAMPAIGN GAUNTLET_RUNNER TARGETS_DIR \
#       VOCAB_TARGETS_DIR WORKDIR
# TARGETS_DIR: the runner's targets (--targets); VOCAB_TARGETS_DIR: the
# folder of targets/NAME/campaign.yaml, the campaign's --targets.
set -euo pipefail
gcbin="$1" runner="$2" targets="$3" vocab="$4" work="$5"
shipped="$4"
rm -rf "$work"
mkdir -p "$work"
# The runs pinned below (seeds 5 and 42) are those of the Kestrel
# vocabulary without its points' `events:`, its workload's `ends:`, its
# `fire_within` and its actions' `starves` (issue 17, which changed the
# draws); those draws are harness.enumerate's and the end of this file's.
cp -r "$vocab" "$work/vocab"
sed -i '/^ *events: [0-9]*$/d; /^  ends: /d; /^  fire_within: /d; /^ *starves: /d
        s/, starves: \*all_points//' "$work/vocab/kestrel/campaign.yaml"
grep -v '^ *#' "$work/vocab/kestrel/campaign.yaml" | grep -q 'starves\|fire_within' &&
    { echo "FAIL: the pinned vocabulary still has starves or fire_within" >&2; exit 1; }
vocab="$work/vocab"
fail() { echo "FAIL: $*" >&2; exit 1; }
# the campaign as ./gauntlet calls it: the shipped vocabularies, kestrel
# unless a later --target says otherwise
gc() {
    if [[ "${1:-}" == merge ]]; then
        "$gcbin" "$@"
    else
        "$gcbin" --targets "$vocab" --target kestrel "$@"
    fi
}

# determinism
gc --seed 42 --runs 60 --generate-only "$work/a" >/dev/null
gc --seed 42 --runs 60 --generate-only "$work/b" >/dev/null
[[ $(ls "$work/a" | wc -l) == 60 ]] || fail "expected 60 files"
diff -r "$work/a" "$work/b" >/dev/null || fail "the same seed gave different files"
gc --seed 43 --runs 60 --generate-only "$work/c" >/dev/null
ndiff=0
for f in "$work"/a/*.yaml; do
    g="$work/c/$(basename "$f" | sed 's/-s42-/-s43-/')"
    [[ -f "$g" ]] || fail "seed 43 lacks $(basename "$g")"
    # compare the steps only (the name and description carry the seed)
    cmp -s <(sed -n '/^steps:/,$p' "$f") <(sed -n '/^steps:/,$p' "$g") || ndiff=$((ndiff + 1))
done
((ndiff >= 55)) || fail "seeds 42 and 43 share the steps of $((60 - ndiff)) of 60 runs"
# different runs of one seed differ too
[[ $(cat "$work"/a/*.yaml | grep -c '^- faults:') -gt 20 ]] || fail "too few faults steps"
[[ $(sort -u <(for f in "$work"/a/*.yaml; do sed -n '/^steps:/,$p' "$f" | md5sum; done) | wc -l) -ge 58 ]] ||
    fail "runs of one seed repeat each other"
# what a schedule contains, over 60 runs
for what in 'faults: {set' 'hotplug: {action: remove' 'hotplug: {action: surprise' \
            'suspend: {mode: s3' 'suspend: {mode: pm_test' 'workload: {name' '--verify' \
            'allow-errors'; do
    grep -qF -- "$what" "$work"/a/*.yaml || fail "no run contains '$what'"
done
grep -q 'kfault' "$work"/a/*.yaml && fail "a stock-kernel run arms a kernel fault"
# the debug kernel adds kernel faults
gc --seed 42 --runs 60 --kernel debug --generate-only "$work/d" >/dev/null
grep -q '^- kfault: {type: \(failslab\|fail_page_alloc\)' "$work"/d/*.yaml ||
    fail "no debug run arms a kernel fault"
grep -q '^kernel: debug' "$work"/d/*.yaml || fail "debug runs do not ask for the debug kernel"
# the real runner accepts every file
"$runner" --list --targets "$targets" "$work/a" "$work/d" >"$work/list.txt" ||
    fail "gauntlet-runner --list refused a generated file"
[[ $(wc -l <"$work/list.txt") == 120 ]] || fail "runner listed $(wc -l <"$work/list.txt") of 120"
# nvme and virtio-blk draw the fault port's faults, never Kestrel's points;
# the runner (the port's rule checker) accepts every file
gc --seed 42 --runs 20 --target nvme --generate-only "$work/n" >/dev/null
grep -q '^- faults: {set: "\(msi\|dma\.read\|dma\.write\|mmio\.read\|cfg\.read\|link\)[:\[]' \
    "$work"/n/*.yaml || fail "no nvme run has the port's faults"
grep -qE '(cq\.post|sq\.fetch|sgl\.fetch|irq|reg\.read):' "$work"/n/*.yaml &&
    fail "an nvme run has Kestrel faults"
"$runner" --list --targets "$targets" "$work/n" >/dev/null || fail "runner refused an nvme run"
gc --seed 42 --runs 20 --target virtio-blk --generate-only "$work/v" >/dev/null ||
    fail "virtio-blk runs were not generated"
grep -q '^- faults: {set: "\(msi\|mmio\.read\|cfg\.read\|link\)[:\[]' "$work"/v/*.yaml ||
    fail "no virtio-blk run has the port's faults"
grep -qE '^- faults: \{(set|add): ".*(^|["; ])((dma\.(read|write)|link)[:\[]|msi:drop)' "$work"/v/*.yaml &&
    fail "a virtio-blk run draws a failed DMA, a dropped MSI or the link (docs/findings.md)"
grep -qE '(cq\.post|sq\.fetch|sgl\.fetch|irq|reg\.read):' "$work"/v/*.yaml &&
    fail "a virtio-blk run has Kestrel faults"
grep -q '^target: virtio-blk$' "$work"/v/*.yaml || fail "virtio-blk runs name another target"
"$runner" --list --targets "$targets" "$work/v" >/dev/null || fail "runner refused a virtio-blk run"

# power cuts (the vocabularies' power_cut section), over the same 60 runs
# of seed 42 (all three targets) and 60 of seed 42 on the debug kernel:
# some runs end in a cut, with and without a second boot, with and without
# the write cache; a cut is the last step (or followed by exactly the load
# of the second boot), no workload_stop follows it, the cache is on only
# in cut runs, and in a cut run every rule may stay unfired (the cut comes
# at a time, not after a count of commands)
gc --seed 42 --runs 60 --target nvme --generate-only "$work/pn" >/dev/null
gc --seed 42 --runs 60 --target virtio-blk --generate-only "$work/pv" >/dev/null
ncut=0 nagain=0 nonce=0 ncache=0 nnocache=0 nrulecut=0
for f in "$work"/a/*.yaml "$work"/d/*.yaml "$work"/pn/*.yaml "$work"/pv/*.yaml; do
    n="${f#"$work"/}"
    steps=$(sed -n 's/^- \([a-z_]*\):.*/\1/p' "$f" | tr '\n' ' ')
    if ! grep -q '^- power_cut:' "$f"; then
        grep -q '^write_cache:' "$f" && fail "$n: write_cache without a power cut"
        [[ "$steps" == *" workload_stop " ]] || fail "$n: no cut, and it does not end with workload_stop: $steps"
        continue
    fi
    ncut=$((ncut + 1))
    [[ $(grep -c '^- power_cut:' "$f") == 1 ]] || fail "$n: more than one power cut"
    grep -q '^- workload_stop:' "$f" && fail "$n: a workload_stop in a run with a power cut"
    grep -q 'power cut while the workload runs' "$f" || fail "$n: the description does not say it ends in a cut"
    if grep -qx -- '- power_cut: {at: now, boot_again: true}' "$f"; then
        nagain=$((nagain + 1))
        [[ "$steps" == *" workload wait "*"power_cut load " ]] ||
            fail "$n: a cut with boot_again is not the workload ... wait, cut, load: $steps"
    else
        grep -qx -- '- power_cut: {at: now, boot_again: false}' "$f" || fail "$n: not a cut at now"
        nonce=$((nonce + 1))
        [[ "$steps" == *" workload wait "*"power_cut " ]] ||
            fail "$n: a cut without boot_again is not the workload ... wait, then the last step: $steps"
    fi
    # the wait right before the cut is the vocabulary's after: 0.1..0.4
    # (kestrel), 0.1..1.5 (nvme, virtio-blk)
    hi=1.5
    grep -q '^target: kestrel$' "$f" && hi=0.4
    w=$(grep -B1 '^- power_cut:' "$f" | sed -n 's/^- wait: {seconds: \([0-9.]*\)}$/\1/p')
    awk -v w="$w" -v hi="$hi" 'BEGIN { exit !(w != "" && w >= 0.1 && w <= hi) }' ||
        fail "$n: the wait before the cut is '$w', not in 0.1..$hi"
    # kestrel's within: "{duration}": the waits from the workload's start
    # to the cut stay below the stress's duration (it ends by itself)
    if [[ "$hi" == 0.4 ]]; then
        d=$(sed -n 's/.*--duration \([0-9]*\).*/\1/p' "$f")
        sum=$(sed -n '/^- workload:/,$ s/^- wait: {seconds: \([0-9.]*\)}$/\1/p' "$f" |
              awk '{ s += $1 } END { printf "%.1f", s }')
        awk -v s="$sum" -v d="$d" 'BEGIN { exit !(d != "" && s < d) }' ||
            fail "$n: the cut comes after $sum s of waits, the workload runs $d s"
    fi
    if grep -qx 'write_cache: true' "$f"; then ncache=$((ncache + 1)); else nnocache=$((nnocache + 1)); fi
    # every rule of a cut run is in allow_unfired
    nr=$(sed -n 's/^- faults: {\(set\|add\): "\(.*\)"}$/\2/p' "$f" | tr ';' '\n' | grep -c . || true)
    if ((nr > 0)); then
        nrulecut=$((nrulecut + 1))
        want=$(seq -s ', ' 0 $((nr - 1)))
        grep -qx "allow_unfired: \[$want\]" "$f" || fail "$n: not every rule of a cut run is in allow_unfired"
    fi
done
echo "power cuts: $ncut of 240 runs ($nagain boot again, $nonce do not; $ncache with the write cache, $nnocache without; $nrulecut with device faults)"
((ncut >= 20 && nagain >= 5 && nonce >= 5 && ncache >= 5 && nnocache >= 5 && nrulecut >= 2)) ||
    fail "too few power cuts of each kind"
for t in pn pv; do
    grep -qx 'write_cache: true' "$work"/$t/*.yaml || fail "no $t run turns the write cache on"
done
"$runner" --list --targets "$targets" "$work/pn" "$work/pv" >/dev/null ||
    fail "gauntlet-runner --list refused an nvme or virtio-blk run with a cut"
# a run without a cut is the file it was before cuts existed: the
# vocabulary without its power_cut section gives the same file
mkdir -p "$work/nocut/kestrel"
sed '/^power_cut:/d' "$vocab/kestrel/campaign.yaml" >"$work/nocut/kestrel/campaign.yaml"
"$gcbin" --targets "$work/nocut" --target kestrel --seed 42 --runs 60 --generate-only "$work/nc" >/dev/null
nsame=0
for f in "$work"/a/*.yaml; do
    grep -q '^- power_cut:' "$f" && continue
    cmp -s "$f" "$work/nc/$(basename "$f")" || fail "$(basename "$f"): no cut, but not the file drawn without power_cut"
    nsame=$((nsame + 1))
done
grep -q '^- power_cut:' "$work"/nc/*.yaml && fail "a vocabulary without power_cut drew a cut"
((nsame >= 40)) || fail "only $nsame runs without a cut"

# every candidate the shrinker writes for a run with a cut (the cut
# dropped and the stop back, the second boot dropped, the cache dropped,
# steps, rules, options) passes the real runner's checks too: shrink two
# `ledger` failures against the stand-in runner, one that needs the cut,
# its second boot and the cache (seed 5, run 9) and one that needs only
# the workload of a cut run (run 0), then --list every file written
fake="$(dirname "$0")/campaign-fake-runner.sh"
for want in "boot_again: true|write_cache: true" "--seed 814493"; do
    GAUNTLET_FAKE_CULPRIT="no such rule" GAUNTLET_FAKE_LEDGER="$want" gc --runner "$fake" \
        --seed 5 --runs 12 -j 2 --shrink-attempts 200 --out "$work/shr" >/dev/null 2>&1 &&
        fail "the stand-in's ledger failure ($want) did not fail the campaign"
    mapfile -t cands < <(find "$work/shr/failures" -name '*.yaml')
    ((${#cands[@]} >= 10)) || fail "only ${#cands[@]} shrink candidates for '$want'"
    grep -q '^- power_cut:' "${cands[@]}" && grep -L '^- power_cut:' "${cands[@]}" | grep -q . ||
        fail "the candidates for '$want' are not with and without the cut"
    "$runner" --list --targets "$targets" "${cands[@]}" >/dev/null ||
        fail "gauntlet-runner --list refused a shrink candidate of '$want'"
    rm -rf "$work/shr"
done

# shards: 1/3, 2/3, 3/3 are the same files as the whole, each once
for k in 1 2 3; do
    gc --seed 42 --runs 60 --shard "$k/3" --generate-only "$work/s$k" >/dev/null
done
cat <(ls "$work/s1") <(ls "$work/s2") <(ls "$work/s3") | sort >"$work/shards.txt"
ls "$work/a" | sort >"$work/all.txt"
diff "$work/shards.txt" "$work/all.txt" >/dev/null || fail "shards do not cover every run exactly once"
[[ $(ls "$work/s2" | wc -l) == 20 ]] || fail "shard 2/3 of 60 has $(ls "$work/s2" | wc -l) runs"
ls "$work/s2" | grep -q 'r00001.yaml' || fail "shard 2/3 lacks run 1 (i % 3 == 1)"
for k in 1 2 3; do
    for f in "$work/s$k"/*.yaml; do
        cmp -s "$f" "$work/a/$(basename "$f")" || fail "$(basename "$f") differs in shard $k"
    done
done

# ---- every drawn rule can fire (docs/campaigns.md, "Every drawn rule must fire")
# The shipped Kestrel vocabulary against the stand-in runner's timing
# model (campaign-fake-fire.py): each point brings its `events` every
# `fire_within` seconds while the workload runs, time passes in the waits,
# a set, a clear, an unplug or a cut disarms the rules, and the actions the
# vocabulary marks `starves` stop every event once they fire, for good.
# Seeds 1 and 2 (the runs measured in real VMs) and 40 runs of seed 3:
# every drawn rule fires.  The control: the same vocabulary without
# fire_within and starves (the generator as it was) leaves rules unfired.
fake="$(dirname "$0")/campaign-fake-runner.sh"
kv="$shipped/kestrel/campaign.yaml"
read -r fire_within starving < <(python3 - "$kv" <<'PY'
import re, sys, yaml
v = yaml.safe_load(open(sys.argv[1]))["faults"]
acts = sorted({a["action"] for p in v["points"] for a in p["actions"]
               if isinstance(a, dict) and a.get("starves")})
print(v.get("fire_within", 0), "^(" + "|".join(re.escape(a) for a in acts) + ")$")
PY
)
echo "kestrel: fire_within $fire_within s, starving actions $starving"
[[ "$fire_within" == 1.0 ]] || fail "the kestrel vocabulary's fire_within is '$fire_within', expected 1.0"
# the datasheet's holds: a stall stops the engine until a reset, a dropped
# command is waited out by its thread
for a in stall drop; do
    [[ "$a" =~ $starving ]] || fail "the kestrel vocabulary does not mark '$a' as starving"
done
rates=$(python3 - "$kv" <<'PY'
import sys, yaml
v = yaml.safe_load(open(sys.argv[1]))["faults"]
print("|".join(f"{p['point']}={p.get('events', 0)}" for p in v["points"]))
PY
)
fired_campaign() {   # OUT VOCAB_DIR SEED RUNS: prints "fired drawn"
    GAUNTLET_FAKE_CULPRIT="no such rule" GAUNTLET_FAKE_RATE="$rates" \
        GAUNTLET_FAKE_WITHIN="$fire_within" GAUNTLET_FAKE_STARVES="$starving" \
        "$gcbin" --targets "$2" --target kestrel --runner "$fake" --seed "$3" --runs "$4" \
        -j 2 --no-shrink --out "$1" >"$1.log" 2>&1 || { cat "$1.log"; fail "campaign $1 failed"; }
    python3 -c "import json; d = json.load(open('$1/campaign.json'))['fired']; print(d['fired'], d['drawn'])"
}
for sr in 1:20 2:20 3:40; do
    read -r nf nd < <(fired_campaign "$work/fire-${sr%:*}" "$shipped" "${sr%:*}" "${sr#*:}")
    echo "seed ${sr%:*}, ${sr#*:} runs: $nf of $nd drawn rules fire in the model"
    ((nd >= ${sr#*:} / 2 && nf == nd)) || fail "seed ${sr%:*}: $nf of $nd drawn rules fire in the model"
    grep -q 'UNTESTED' "$work/fire-${sr%:*}.log" && fail "seed ${sr%:*}: the summary says UNTESTED"
done
mkdir -p "$work/nofire/kestrel"
sed '/^  fire_within: /d; /^ *starves: /d; s/, starves: \*all_points//' "$kv" \
    >"$work/nofire/kestrel/campaign.yaml"
nunfired=0
for s in 1 2; do
    read -r nf nd < <(fired_campaign "$work/nofire-$s" "$work/nofire" "$s" 20)
    echo "control, seed $s without fire_within and starves: $nf of $nd fire"
    nunfired=$((nunfired + nd - nf))
done
((nunfired > 0)) || fail "control: without fire_within and starves every rule fires; the model shows nothing"

# ... and the schedules say so: after a faults step the next event waits
# fire_within; a faults step comes fire_within before the workload's end
# at the latest; after a rule with a starving action no rule comes until
# an unplug, and none shares its step; no rule delays every command by
# milliseconds (Kestrel's delay(ms) is not benign: no `always`).  Runs
# are not made easy: 200 runs
# of seed 42 still draw stalls, drops, clears, adds, steps of several
# rules, each kind of unplug, S3, pm_test and power cuts.
gcbin_shipped() { "$gcbin" --targets "$shipped" --target kestrel "$@"; }
gcbin_shipped --seed 42 --runs 200 --generate-only "$work/fw" >/dev/null
python3 - "$work/fw" "$fire_within" "$starving" <<'PY' || fail "a schedule breaks a rule of firing"
import glob, re, sys
d, within, starving = sys.argv[1], float(sys.argv[2]), re.compile(sys.argv[3])
count = dict.fromkeys(["stall", "drop", "clear", "add", "multi", "remove", "fast",
                       "surprise", "s3", "pm_test", "cut", "faults_after_suspend"], 0)
for f in sorted(glob.glob(d + "/*.yaml")):
    steps = re.findall(r"^- (\w+): \{(.*)\}$", open(f).read(), re.M)
    dur = float(re.search(r"--duration (\d+)", open(f).read()).group(1))
    t, last_faults, starved, suspended = 0.0, None, False, False
    for kind, body in steps:
        if kind == "wait":
            t += float(re.search(r"seconds: ([\d.]+)", body).group(1))
            continue
        if last_faults is not None and kind != "load" and \
                not (kind == "workload_stop" and "wait: true" in body):
            if t - last_faults < within - 1e-9:
                sys.exit(f"{f}: {kind} {t - last_faults:.1f} s after a faults step")
        last_faults = None
        if kind == "faults":
            m = re.match(r'(set|add|clear): "?([^"]*)"?', body)
            if m.group(1) == "clear":
                count["clear"] += 1
                continue
            count["add"] += m.group(1) == "add"
            if t + within > dur + 1e-9:
                sys.exit(f"{f}: rules armed at {t:.1f} s, {within} s before the end ({dur} s) at the latest")
            rules = m.group(2).split(";")
            count["multi"] += len(rules) > 1
            count["faults_after_suspend"] += suspended
            for r in rules:
                action = re.match(r"[^:]+:(.+):[^:]+$", r).group(1)
                # a delay in milliseconds on every command leaves the run a
                # few events a second: it is not benign
                if re.search(r"ms\):always", r):
                    sys.exit(f"{f}: rule '{r}' delays every command by milliseconds")
                count["stall"] += action == "stall"
                count["drop"] += action == "drop"
                if starved:
                    sys.exit(f"{f}: rule '{r}' armed after a starving rule")
                if starving.search(action):
                    starved = True
                    if len(rules) > 1:
                        sys.exit(f"{f}: the starving rule '{r}' shares its step")
            last_faults = t
        elif kind == "hotplug":
            if "add" in body:
                starved = False
            else:
                count["fast" if "fast: true" in body else re.search(r"action: (\w+)", body).group(1)] += 1
        elif kind == "suspend":
            count["s3" if "mode: s3" in body else "pm_test"] += 1
            suspended = True
        elif kind == "power_cut":
            count["cut"] += 1
print("200 runs of seed 42:", ", ".join(f"{k} {v}" for k, v in count.items()))
low = [k for k, v in count.items() if v < 3]
if low:
    sys.exit(f"too few of: {', '.join(low)}")
PY
"$runner" --list --targets "$targets" "$work/fw" >/dev/null ||
    fail "gauntlet-runner --list refused a file of the shipped kestrel vocabulary"

# bad arguments: exit 2 and a message naming the problem
bad() {
    local want="$1"; shift
    set +e
    gc "$@" >"$work/out.txt" 2>"$work/err.txt"
    local rc=$?
    set -e
    ((rc == 2)) || fail "'$*' exited $rc, expected 2"
    grep -q -- "$want" "$work/err.txt" || fail "'$*' said '$(cat "$work/err.txt")', expected '$want'"
}
bad "--seed and --runs are required" --runs 3
bad "--seed and --runs are required" --seed 3
bad "--runs wants an integer in 1..10000000, got '0'" --seed 1 --runs 0
bad "--runs wants an integer" --seed 1 --runs 3x
bad "--seed wants an integer" --seed -1 --runs 3
bad "--shard wants K/M" --seed 1 --runs 3 --shard 0/2
bad "--shard wants K/M" --seed 1 --runs 3 --shard 3/2
bad "--shard wants K/M" --seed 1 --runs 3 --shard 1/2/3
bad "--kernel wants stock or debug" --seed 1 --runs 3 --kernel fancy
bad "--time wants an integer" --seed 1 --runs 3 --time soon
bad "-j wants an integer in 1..64" --seed 1 --runs 3 -j 0
bad "--target wants a target name" --seed 1 --runs 3 --target 'a b'
bad "unexpected argument 'extra'" --seed 1 --runs 3 extra
bad "--runner PATH is required" --seed 1 --runs 1 --out "$work/norunner"
bad "runner /nonexistent" --seed 1 --runs 1 --runner /nonexistent --out "$work/norunner2"
bad "usage" --seed 1 --runs 1 --bogus
# without ./gauntlet's defaults: the target and its vocabulary are named
set +e
"$gcbin" --seed 1 --runs 3 --generate-only "$work/none" >/dev/null 2>"$work/err.txt"
rc=$?
set -e
((rc == 2)) && grep -q -- "--target NAME and --targets DIR are required" "$work/err.txt" ||
    fail "no --target/--targets: exit $rc, '$(cat "$work/err.txt")'"
bad "not a directory" merge /nonexistent --out "$work/m"
bad "usage: gauntlet merge" merge "$work/a"
bad "no junit.xml, campaign.json" merge "$work/a" --out "$work/m"
echo PASS
