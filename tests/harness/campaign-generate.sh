#!/usr/bin/env bash
# gauntlet-campaign's schedules, no VM: run i of seed S is the same file
# every time (and in every shard), another seed gives other files, every
# file passes the real runner's checks (gauntlet-runner --list: the parser,
# the device's fault-rule parser and the target checks), shards cover every
# run exactly once, and bad arguments get a clear error and exit 2.
#   campaign-generate.sh GAUNTLET_CAMPAIGN GAUNTLET_RUNNER TARGETS_DIR \
#       VOCAB_TARGETS_DIR WORKDIR
# TARGETS_DIR: the runner's targets (--targets); VOCAB_TARGETS_DIR: the
# folder of targets/NAME/campaign.yaml, the campaign's --targets.
set -euo pipefail
gcbin="$1" runner="$2" targets="$3" vocab="$4" work="$5"
rm -rf "$work"
mkdir -p "$work"
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
[[ $(cat "$work"/a/*.yaml | grep -c '^  - faults:') -gt 20 ]] || fail "too few faults steps"
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
grep -q '^  - kfault: {type: \(failslab\|fail_page_alloc\)' "$work"/d/*.yaml ||
    fail "no debug run arms a kernel fault"
grep -q '^kernel: debug' "$work"/d/*.yaml || fail "debug runs do not ask for the debug kernel"
# the real runner accepts every file
"$runner" --list --targets "$targets" "$work/a" "$work/d" >"$work/list.txt" ||
    fail "gauntlet-runner --list refused a generated file"
[[ $(wc -l <"$work/list.txt") == 120 ]] || fail "runner listed $(wc -l <"$work/list.txt") of 120"
gc --seed 42 --runs 20 --target nvme --generate-only "$work/n" >/dev/null
grep -q '^  - faults:' "$work"/n/*.yaml && fail "an nvme run has Kestrel faults"
"$runner" --list --targets "$targets" "$work/n" >/dev/null || fail "runner refused an nvme run"
# virtio-blk has a vocabulary too (no device faults); its files parse
gc --seed 42 --runs 20 --target virtio-blk --generate-only "$work/v" >/dev/null ||
    fail "virtio-blk runs were not generated"
grep -q '^  - faults:' "$work"/v/*.yaml && fail "a virtio-blk run has device faults"
grep -q '^target: virtio-blk$' "$work"/v/*.yaml || fail "virtio-blk runs name another target"

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
