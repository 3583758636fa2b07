#!/usr/bin/env bash
# Campaign vocabularies (docs/campaigns.md, "Vocabulary files"), no VM:
#  - a bad vocabulary gets "file:line:col: message" and exit 2, never a
#    crash (hand-written cases, then every line of the kestrel file
#    deleted in turn, the file cut at many places, and its numbers
#    replaced by bad ones);
#  - a target without campaign.yaml gets an error naming the missing file;
#  - the draws come from the file: a one-point test vocabulary
#    (campaign-vocab/kestrel/campaign.yaml) gives only its point, actions,
#    setting and workload, its "sure" triggers decide allow_unfired (and
#    a power cut makes every rule unsure), its power cuts come after its
#    wait, and the runner accepts the files; the write cache on a target
#    without one stops the campaign; nvme's file gives the port's faults,
#    hotplug and suspend,
#    kernel faults only with --kernel debug, and a copy with other weights
#    gives other runs;
#  - harness/campaign*.[ch] name no target outside comments.
#   campaign-vocab.sh GAUNTLET_CAMPAIGN GAUNTLET_RUNNER RUNNER_TARGETS_DIR \
#       VOCAB_TARGETS_DIR TEST_VOCAB_DIR HARNESS_SRC_DIR WORKDIR
set -euo pipefail
gc="$1" runner="$2" rtargets="$3" vocab="$4" testvocab="$5" src="$6" work="$7"
rm -rf "$work"
mkdir -p "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }

# ---- a target without a vocabulary ------------------------------------------
mkdir -p "$work/empty/nvme"
set +e
"$gc" --targets "$work/empty" --target nvme --seed 1 --runs 2 --generate-only "$work/x" \
    >/dev/null 2>"$work/err.txt"
rc=$?
set -e
((rc == 2)) || fail "a target without campaign.yaml: exit $rc, expected 2"
grep -qF "gauntlet-campaign: $work/empty/nvme/campaign.yaml: no campaign vocabulary for target 'nvme' (No such file or directory)" \
    "$work/err.txt" || fail "missing vocabulary: '$(cat "$work/err.txt")'"
[[ ! -e "$work/x" ]] || fail "files were written without a vocabulary"

# ---- bad vocabularies: file:line:col and exit 2 -------------------------------
# badcase NAME 'EXPECTED' <<FILE: the file goes to $work/bad/NAME/campaign.yaml
# and the error must be exactly "gauntlet-campaign: PATH:EXPECTED"
nbad=0
badcase() {
    local name="$1" want="$2" f="$work/bad/$1/campaign.yaml" rc
    mkdir -p "$work/bad/$name"
    cat >"$f"
    set +e
    "$gc" --targets "$work/bad" --target "$name" --seed 1 --runs 3 \
        --generate-only "$work/bad-out" >/dev/null 2>"$work/err.txt"
    rc=$?
    set -e
    ((rc == 2)) || fail "$name: exit $rc, expected 2 ($(cat "$work/err.txt"))"
    [[ -n "${CV_SHOW:-}" ]] && { echo "== $name: $(cat "$work/err.txt")"; cat -n "$f" | head -20; } || [[ "$(cat "$work/err.txt")" == "gauntlet-campaign: $f:$want" ]] ||
        fail "$name: said '$(cat "$work/err.txt")', expected 'gauntlet-campaign: $f:$want'"
    nbad=$((nbad + 1))
}
# a minimal valid file, the start of most cases
head='workload:
  cmd: "$GAUNTLET_STRESS"
  stop: {wait: false, timeout: 120}'
events='events:
  count: 1..2
  first_wait: 0.5
  gap: 0.3..1.0'

badcase yaml-syntax "4:7: YAML: did not find expected ',' or '}' while parsing a flow mapping that starts at 3:9" <<EOF
workload:
  cmd: x
  stop: {wait: false, timeout: 120
$events
  weights: {suspend: 1}
EOF
badcase empty ' the file is empty (a campaign vocabulary needs at least workload and events)' </dev/null
badcase unknown-key "15:7: unknown key 'wieght' in a fault point (expected one of: point, weight, every_command, events, filters, actions)" <<EOF
$head
$events
  weights: {faults: 1}
faults:
  rules: 1
  add_chance: 0
  triggers: [once]
  points:
    - point: cq.post
      wieght: 3
      actions: [drop]
EOF
badcase empty-range "5:10: count: the range 4..1 is empty (LO > HI)" <<EOF
$head
events:
  count: 4..1
EOF
badcase no-variable "16:20: '{us}' in 'delay({us}us)' names no variable (give it in vars)" <<EOF
$head
$events
  weights: {faults: 1}
faults:
  rules: 1
  add_chance: 0
  triggers: [once]
  points:
    - point: irq
      actions:
        - {action: "delay({us}us)", benign: true}
EOF
badcase unused-variable "16:54: variable 'ms' is not used in 'delay({us}us)'" <<EOF
$head
$events
  weights: {faults: 1}
faults:
  rules: 1
  add_chance: 0
  triggers: [once]
  points:
    - point: irq
      actions:
        - {action: "delay({us}us)", vars: {us: 1..9, ms: 1..9}}
EOF
badcase bad-variable "5:40: variable 'n' wants a range LO..HI (e.g. 50..900, 0x1..0x7fff) or a list of choices ([a, b]), got 'many'" <<EOF
workload:
  cmd: x
  options:
    - --verify
    - {opt: "--threads {n}", vars: {n: many}}
  stop: {wait: false, timeout: 120}
$events
  weights: {suspend: 1}
EOF
badcase no-section "8:13: events weight 'faults' is above 0, but the file has no 'faults' section" <<EOF
$head
$events
  weights: {faults: 3, suspend: 1}
suspend:
  s3: 50
  levels: [freezer]
  cycles: 1
EOF
badcase wrong-type "13:11: points wants a list, got a scalar" <<EOF
$head
$events
  weights: {faults: 1}
faults:
  rules: 1
  add_chance: 0
  triggers: [once]
  points: cq.post
EOF
badcase duplicate-key "4:3: duplicate key 'cmd' in workload" <<EOF
workload:
  cmd: x
  stop: {wait: false, timeout: 120}
  cmd: y
$events
  weights: {suspend: 1}
EOF
badcase benign-only "16:11: action 'spurious' is not benign, and every trigger it may take is benign_only" <<EOF
$head
$events
  weights: {faults: 1}
faults:
  rules: 1
  add_chance: 0
  triggers: [{trigger: always, benign_only: true}]
  points:
    - point: irq
      actions:
        - spurious
        - drop
EOF
badcase otherwise "12:43: otherwise is the text for actions that are not benign: it needs benign_only: true" <<EOF
$head
$events
  weights: {faults: 1}
faults:
  rules: 1
  add_chance: 0
  triggers: [{trigger: always, otherwise: once}]
  points:
    - point: irq
      actions: [drop]
EOF
badcase too-long "14:7: a rule at point 'irq' may be 166 characters long, at most 159" <<EOF
$head
$events
  weights: {faults: 1}
faults:
  rules: 1
  add_chance: 0
  triggers: [once]
  points:
    - point: irq
      actions:
        - {action: "delay({x})", vars: {x: [$(printf 'a%.0s' {1..150})]}}
EOF
badcase bad-timeout "3:31: timeout wants seconds, 1..7200, written N or N+M with workload variables (e.g. \"{duration}+120\"), got 'soon' (as 'soon')" <<EOF
workload:
  cmd: x
  stop: {wait: true, timeout: soon}
$events
  weights: {suspend: 1}
EOF
badcase two-documents "11:1: a second YAML document; a campaign vocabulary is one document" <<EOF
$head
$events
  weights: {hotplug: 1}
hotplug: {modes: {remove: 1}, replug_after: 1, settle: 1}
---
workload: {}
EOF
badcase pm-level "11:21: unknown pm_test level 's4' (expected one of: freezer, devices, platform, processors, core)" <<EOF
$head
$events
  weights: {suspend: 1}
suspend:
  s3: 50
  levels: [freezer, s4]
  cycles: 1
EOF
badcase kfault-type "13:11: unknown kernel fault type 'fail_futex' (expected one of: failslab, fail_page_alloc)" <<EOF
$head
$events
  weights: {hotplug: 1}
hotplug: {modes: {surprise: 1}, replug_after: 1, settle: 1}
kfaults:
  chance: 50
  count: 1
  types: [fail_futex]
  probability: 5
  times: -1
  interval: 1
EOF
badcase hotplug-no-weight "9:18: hotplug modes: remove, remove_fast or surprise needs a weight above 0" <<EOF
$head
$events
  weights: {hotplug: 1}
hotplug: {modes: {remove: 0, remove_fast: 0, surprise: 0}, replug_after: 1, settle: 1}
EOF
badcase too-many-steps "5:10: a run could have 35 steps, at most 32: fewer events or kernel faults" <<EOF
$head
events:
  count: 1..6
  first_wait: 0.5
  gap: 0.3
  weights: {hotplug: 1}
hotplug: {modes: {remove: 1}, replug_after: 1, settle: 1}
kfaults: {chance: 50, count: 1..2, types: [failslab], probability: 5, times: -1, interval: 1}
EOF
# power_cut (the end of a run): its keys, its percentages, its wait, its
# shape, and the step it adds to the bound
badcase power-cut-key "10:25: unknown key 'boot_agian' in power_cut (expected one of: chance, boot_again, write_cache, after, within)" <<EOF
$head
$events
  weights: {hotplug: 1}
hotplug: {modes: {remove: 1}, replug_after: 1, settle: 1}
power_cut: {chance: 15, boot_agian: 50}
EOF
badcase power-cut-chance "10:38: write_cache wants an integer in 0..100, got '150'" <<EOF
$head
$events
  weights: {hotplug: 1}
hotplug: {modes: {remove: 1}, replug_after: 1, settle: 1}
power_cut: {chance: 15, write_cache: 150}
EOF
badcase power-cut-no-chance "10:12: power_cut needs 'chance'" <<EOF
$head
$events
  weights: {hotplug: 1}
hotplug: {modes: {remove: 1}, replug_after: 1, settle: 1}
power_cut: {boot_again: 50}
EOF
badcase power-cut-after "12:10: after wants seconds in 0.1..600 with LO <= HI, got '0..1'" <<EOF
$head
$events
  weights: {hotplug: 1}
hotplug: {modes: {remove: 1}, replug_after: 1, settle: 1}
power_cut:
  chance: 15
  after: 0..1
EOF
badcase power-cut-scalar "10:12: power_cut wants a mapping, got a scalar" <<EOF
$head
$events
  weights: {hotplug: 1}
hotplug: {modes: {remove: 1}, replug_after: 1, settle: 1}
power_cut: 15
EOF
badcase power-cut-within "12:45: within: the first wait (up to 0.5 s) and after (up to 1.5 s) may reach 2 s, the shortest within ('{d}'): make them shorter" <<EOF
workload:
  cmd: x
  vars: {d: 2..5}
  options: ["--duration {d}"]
  stop: {wait: true, timeout: "{d}+30"}
$events
  weights: {hotplug: 1}
hotplug: {modes: {remove: 1}, replug_after: 1, settle: 1}
power_cut: {chance: 15, after: 1.5, within: "{d}"}
EOF
badcase power-cut-within-text "10:33: within wants seconds, 1..7200, written N or N+M with workload variables (e.g. \"{duration}+120\"), got 'soon' (as 'soon')" <<EOF
$head
$events
  weights: {hotplug: 1}
hotplug: {modes: {remove: 1}, replug_after: 1, settle: 1}
power_cut: {chance: 15, within: soon}
EOF
# 4 kernel faults, the workload, its wait, 5 events of 5 steps and the
# stop are 32 steps; a cut's wait makes it 33
badcase power-cut-steps "5:10: a run could have 33 steps, at most 32: fewer events or kernel faults" <<EOF
$head
events:
  count: 1..5
  first_wait: 0.5
  gap: 0.3
  weights: {hotplug: 1}
hotplug: {modes: {remove: 1}, replug_after: 1, settle: 1}
kfaults: {chance: 50, count: 1..4, types: [failslab], probability: 5, times: -1, interval: 1}
power_cut: {chance: 15}
EOF
# an action's starves names points of the file; fire_within is one number
badcase starves-unknown "18:46: starves: 'cq.psot' is not a point of this file" <<EOF
$head
$events
  weights: {faults: 1}
faults:
  rules: 1
  add_chance: 0
  triggers: [once]
  points:
    - point: sq.fetch
      actions: [drop]
    - point: cq.post
      actions:
        - {action: drop, starves: [sq.fetch, cq.psot]}
EOF
badcase starves-scalar "16:35: starves wants a list, got a scalar" <<EOF
$head
$events
  weights: {faults: 1}
faults:
  rules: 1
  add_chance: 0
  triggers: [once]
  points:
    - point: cq.post
      actions:
        - {action: drop, starves: cq.post}
EOF
badcase starves-trigger "13:23: unknown key 'starves' in a trigger (expected one of: trigger, vars, weight, sure, benign_only, otherwise)" <<EOF
$head
$events
  weights: {faults: 1}
faults:
  rules: 1
  add_chance: 0
  triggers:
    - {trigger: once, starves: [cq.post]}
  points:
    - point: cq.post
      actions: [drop]
EOF
badcase fire-within-range "13:16: fire_within is one number of seconds, not a range" <<EOF
$head
$events
  weights: {faults: 1}
faults:
  rules: 1
  add_chance: 0
  triggers: [once]
  fire_within: 0.5..1.0
  points:
    - point: cq.post
      actions: [drop]
EOF
echo "bad vocabularies: $nbad cases, each with its file:line:col"

# never a crash: every line of the kestrel vocabulary deleted in turn, and
# the file cut at many places; each variant loads and generates (exit 0) or
# is refused with its position (exit 2)
mkdir -p "$work/mut/mutant"
m="$work/mut/mutant/campaign.yaml"
orig="$vocab/kestrel/campaign.yaml"
nlines=$(wc -l <"$orig")
nbytes=$(wc -c <"$orig")
nok=0 nref=0
mutant() {
    local rc
    set +e
    "$gc" --targets "$work/mut" --target mutant --seed 3 --runs 4 --kernel debug \
        --generate-only "$work/mut-out" >/dev/null 2>"$work/err.txt"
    rc=$?
    set -e
    if ((rc == 0)); then
        nok=$((nok + 1))
    elif ((rc == 2)) && grep -qE "^gauntlet-campaign: $m(:[0-9]+:[0-9]+)?: " "$work/err.txt"; then
        nref=$((nref + 1))
    else
        fail "$1: exit $rc, '$(cat "$work/err.txt")'"
    fi
}
for ((i = 1; i <= nlines; i++)); do
    sed "${i}d" "$orig" >"$m"
    mutant "kestrel vocabulary without line $i"
done
for ((i = 0; i < nbytes; i += 37)); do
    head -c "$i" "$orig" >"$m"
    mutant "kestrel vocabulary cut at byte $i"
done
# and every number of it replaced by 0, -1, a number too big for 64 bits
# or a stray quote
for v in 0 -1 99999999999999999999 '"'; do
    for ((i = 1; i <= nlines; i++)); do
        sed -n "${i}p" "$orig" | grep -q '[0-9]' || continue
        sed "${i}s/[0-9][0-9]*/$v/" "$orig" >"$m"
        mutant "kestrel vocabulary with the first number of line $i replaced by $v"
    done
done
echo "mutants: $nok loaded, $nref refused with a position, none crashed"
((nok > 0 && nref > 0)) || fail "the mutants should include both kinds"

# ---- the draws come from the file ---------------------------------------------
"$gc" --targets "$testvocab" --target kestrel --seed 9 --runs 30 --generate-only "$work/t" \
    >/dev/null || fail "the test vocabulary does not generate"
nrules=0 nsure=0 ncut=0
for f in "$work"/t/*.yaml; do
    n=$(basename "$f")
    grep -qE '^- run: \{cmd: "echo [7-9] > /tmp/campaign-vocab-setting"\}$' "$f" ||
        fail "$n: not the test vocabulary's setting"
    grep -qE '^- workload: \{name: io, cmd: "kestrelctl stress --lba 9000 --duration ([23])( --verify)?( --allow-errors)?"\}$' "$f" ||
        fail "$n: not the test vocabulary's workload: $(grep workload: "$f")"
    # the disturbed option iff the run has device faults (a cut may come
    # before the first event)
    [[ $(grep -c -- '--allow-errors' "$f") == $(grep -c '^- faults:' "$f" | sed 's/[1-9][0-9]*/1/') ]] ||
        fail "$n: --allow-errors without device faults, or faults without it"
    d=$(sed -n 's/.*--duration \([23]\).*/\1/p' "$f")
    cut=0
    if grep -q '^- power_cut:' "$f"; then
        # the file's power_cut: the wait before it is its after, 0.3..0.5
        cut=1 ncut=$((ncut + 1))
        grep -B1 '^- power_cut:' "$f" | grep -qE '^- wait: \{seconds: 0\.[345]\}$' ||
            fail "$n: the wait before the cut is not the test vocabulary's 0.3..0.5"
        # within: "{d}": the waits up to the cut stay below the duration
        sum=$(sed -n '/^- workload:/,$ s/^- wait: {seconds: \([0-9.]*\)}$/\1/p' "$f" |
              awk '{ s += $1 } END { printf "%.1f", s }')
        awk -v s="$sum" -v d="$d" 'BEGIN { exit !(s < d) }' ||
            fail "$n: the cut comes after $sum s of waits, the workload runs $d s"
    else
        grep -qF -e "- workload_stop: {name: io, wait: true, timeout: $((d + 30))}" "$f" ||
            fail "$n: the timeout is not {d}+30"
    fi
    grep -qE '^- (suspend|hotplug|kfault):' "$f" && fail "$n: an event of weight 0 was drawn"
    # every rule: the one point, its two actions, the two triggers
    rules=$(sed -n 's/^- faults: {\(set\|add\): "\(.*\)"}$/\2/p' "$f" | tr ';' '\n')
    if [[ -z "$rules" ]]; then
        # a cut before the first event; otherwise faults is the only event
        ((cut)) || fail "$n: no faults step, the only event with a weight"
        continue
    fi
    while read -r rule; do
        [[ "$rule" =~ ^cq\.post:(drop|delay\(1[0-9][0-9]us\)):(once|nth=[5-9])$ ]] ||
            fail "$n: rule '$rule' is not from the test vocabulary"
        nrules=$((nrules + 1))
    done <<<"$rules"
    grep -q 'faults: {add' "$f" && fail "$n: add_chance 0 drew an add"
    # the first rule is sure (not in allow_unfired) iff its trigger is
    # "once", the vocabulary's only sure trigger, and no power cut may
    # come before it fires
    first=$(head -n 1 <<<"$rules")
    if [[ "$first" == *:once ]] && ((!cut)); then
        grep -qE '^allow_unfired: \[0[],]' "$f" && fail "$n: the sure first rule is in allow_unfired"
        nsure=$((nsure + 1))
    else
        grep -qE '^allow_unfired: \[0[],]' "$f" || fail "$n: the unsure first rule must be allowed to stay unfired"
    fi
done
((nrules > 40 && nsure > 0 && nsure < 30 && ncut > 0 && ncut < 30)) ||
    fail "test vocabulary: $nrules rules, $nsure sure first rules, $ncut cuts over 30 runs"
grep -q '^- power_cut:' $(grep -l '^- faults: {set: "[^;"]*:once[;"]' "$work"/t/*.yaml) ||
    fail "no run whose first rule is once ends in a cut (the sure rule is not shown unsure)"
echo "test vocabulary: $nrules rules over 30 runs, all from its one point; $nsure sure; $ncut power cuts"
"$runner" --list --targets "$rtargets" "$work/t" >/dev/null ||
    fail "gauntlet-runner --list refused a file of the test vocabulary"
# the shipped kestrel vocabulary, same seed: other points, another workload
"$gc" --targets "$vocab" --target kestrel --seed 9 --runs 30 --generate-only "$work/k" >/dev/null
grep -qE 'faults: \{(set|add): "(sq\.fetch|irq|reg\.read|reset|power)' "$work"/k/*.yaml ||
    fail "the shipped kestrel vocabulary draws only cq.post"
grep -q -- '--lba 9000' "$work"/k/*.yaml && fail "the shipped vocabulary drew the test workload"

# nvme: hotplug and suspend from its file, kernel faults with --kernel debug
"$gc" --targets "$vocab" --target nvme --seed 4 --runs 40 --generate-only "$work/n" >/dev/null
"$gc" --targets "$vocab" --target nvme --seed 4 --runs 40 --kernel debug \
    --generate-only "$work/nd" >/dev/null
for what in 'hotplug: {action: remove' 'hotplug: {action: surprise' 'suspend: {mode: s3' \
            'suspend: {mode: pm_test' 'workload: {name: io, cmd: "$GAUNTLET_STRESS"}' \
            'workload_stop: {name: io, wait: false, timeout: 120}'; do
    grep -qF -- "$what" "$work"/n/*.yaml || fail "no nvme run contains '$what'"
done
grep -q '^- faults: {set: "\(msi\|dma\.read\|dma\.write\|mmio\.read\|cfg\.read\|link\)[:\[]' \
    "$work"/n/*.yaml || fail "no nvme run has the fault port's faults"
grep -q '^- kfault:' "$work"/n/*.yaml && fail "a stock-kernel nvme run arms a kernel fault"
grep -q '^- kfault: {type: \(failslab\|fail_page_alloc\), probability: \([1-9]\|10\), times: -1, interval: 1, require: true}$' \
    "$work"/nd/*.yaml || fail "no debug nvme run arms a kernel fault"
"$runner" --list --targets "$rtargets" "$work/n" "$work/nd" >/dev/null ||
    fail "gauntlet-runner --list refused an nvme run"
# the same seed with nvme's file changed: no hotplug, no kernel faults
mkdir -p "$work/n2/nvme"
sed -e 's/weights: {faults: 45, clear: 10, suspend: 20, hotplug: 25}/weights: {faults: 45, clear: 10, suspend: 20, hotplug: 0}/' \
    -e 's/^  chance: 40$/  chance: 0/' "$vocab/nvme/campaign.yaml" >"$work/n2/nvme/campaign.yaml"
! cmp -s "$vocab/nvme/campaign.yaml" "$work/n2/nvme/campaign.yaml" || fail "the sed changed nothing"
"$gc" --targets "$work/n2" --target nvme --seed 4 --runs 40 --kernel debug \
    --generate-only "$work/n2out" >/dev/null
grep -q '^- \(hotplug\|kfault\):' "$work"/n2out/*.yaml &&
    fail "hotplug or kfault drawn with weight 0 / chance 0"
grep -qF 'suspend: {mode: s3' "$work"/n2out/*.yaml || fail "the changed nvme file draws no suspend"

# a rule the target refuses (the device's own parser, through the scenario
# parser) stops the campaign before any file is written
mkdir -p "$work/badrule/kestrel"
cp "$vocab/kestrel/target.yaml" "$work/badrule/kestrel/"   # its rule checker
sed 's/- {action: duplicate, weight: 10}/- {action: duplicate(twice), weight: 1000}/' \
    "$vocab/kestrel/campaign.yaml" >"$work/badrule/kestrel/campaign.yaml"
! cmp -s "$vocab/kestrel/campaign.yaml" "$work/badrule/kestrel/campaign.yaml" || fail "the sed changed nothing"
set +e
"$gc" --targets "$work/badrule" --target kestrel --seed 1 --runs 20 --generate-only "$work/br" \
    >/dev/null 2>"$work/err.txt"
rc=$?
set -e
((rc == 2)) && grep -q 'generated scenario does not parse' "$work/err.txt" &&
    grep -q 'duplicate(twice)' "$work/err.txt" ||
    fail "a rule the device refuses: exit $rc, '$(head -c 300 "$work/err.txt")'"

# the write cache on a target that has none (no write_cache in its
# target.yaml): the campaign stops before any file is written, naming it
mkdir -p "$work/nocache/nvme"
grep -v '^write_cache:' "$rtargets/nvme/target.yaml" >"$work/nocache/nvme/target.yaml"
sed 's/^power_cut: .*/power_cut: {chance: 100, write_cache: 100}/' "$vocab/nvme/campaign.yaml" \
    >"$work/nocache/nvme/campaign.yaml"
grep -q '^power_cut: {chance: 100, write_cache: 100}$' "$work/nocache/nvme/campaign.yaml" ||
    fail "the sed changed nothing"
set +e
"$gc" --targets "$work/nocache" --target nvme --seed 1 --runs 3 --generate-only "$work/nc" \
    >/dev/null 2>"$work/err.txt"
rc=$?
set -e
((rc == 2)) && grep -qF "'write_cache: true', but target 'nvme' names no write_cache in its target.yaml (set power_cut's write_cache to 0 in its campaign.yaml)" "$work/err.txt" ||
    fail "write_cache on a target without one: exit $rc, '$(head -c 300 "$work/err.txt")'"
[[ ! -e "$work/nc" ]] || [[ -z "$(ls "$work/nc")" ]] || fail "files were written for a target without a cache"

# ---- no target named in the campaign's C files ------------------------------------
# comments are stripped by the preprocessor; strings and code stay
names_in() {
    gcc -fpreprocessed -dD -E -P "$1" 2>/dev/null |
        grep -inE 'kestrel|nvme|virtio|/sys/module/' || true
}
printf '/* kestrel, nvme */\nstatic const char *t = "nvme";\n' >"$work/probe.c"
[[ -n "$(names_in "$work/probe.c")" ]] || fail "the check misses a name in a string"
printf '/* kestrel and virtio in a comment only */\n// nvme too\nint x;\n' >"$work/probe2.c"
[[ -z "$(names_in "$work/probe2.c")" ]] || fail "the check flags a comment"
for f in "$src"/campaign*.c "$src"/campaign*.h; do
    hits=$(names_in "$f")
    [[ -z "$hits" ]] || fail "$f names a target outside comments: $hits"
done
echo PASS
