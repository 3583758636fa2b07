#!/usr/bin/env bash
# gauntlet enumerate --kfault without a VM (docs/enumerate.md), against the
# campaign tests' stand-in runner (campaign-fake-runner.sh), which writes
# kestrelctl stress's fail-nth line as if the workload's ioctls reached
# GAUNTLET_FAKE_KSITES sites, and fails a scenario that holds
# GAUNTLET_FAKE_CULPRIT with a kernel WARNING:
#   - generation from given counts: one file per n = 1..N, each with the
#     capability's filters (failslab: sleeping allocations counted, page
#     allocations not; fail_page_alloc: the reverse), its kfault step and
#     the workload under GAUNTLET_FAIL_NTH=n; --max-n bounds n; the files
#     pass gauntlet-runner --list;
#   - the clean run (no kfault step, GAUNTLET_FAIL_NTH=1000000000) counts
#     the sites and every n runs: "1-4 ok", exit 0;
#   - the negative control: the run with fail-nth 2 fails, the table says
#     "1 ok, 2 FAIL sig#1, 3-4 ok", the failure is shrunk to a file that
#     keeps the filters and reproduces, exit 1;
#   - a workload that prints no fail-nth count (not kestrelctl stress):
#     exit 2 and why; a clean run that injected: exit 1;
#   - fail_function:F: the clean run arms F with space 10^9 (no kfault
#     step) and reads what is left after the workload; each run's kfault
#     step fails call n (space n); the negative control fails call 2;
#   - bad usage exits 2: --kfault without --kernel debug, with --fault,
#     twice, an unknown capability, fail_function without a C identifier.
#   (kestrelctl's GAUNTLET_FAIL_NTH: unit.vfio_kestrelctl_failnth.)
#   enumerate-kfault.sh GAUNTLET_CAMPAIGN GAUNTLET_RUNNER FAKE_RUNNER TARGETS_DIR BUILD WORKDIR
set -euo pipefail
gcbin="$1" runner="$2" fake="$3" targets="$4" build="$5" work="$6"
export GAUNTLET_BUILD="$build"
rm -rf "$work"
mkdir -p "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }
jcheck() { python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); sys.exit(0 if eval("(" + sys.argv[2] + ")") else 1)' "$1" "$2"; }
wl="kestrelctl -d /dev/kestrel0 stress --lba 8192 --blocks 16 --batches 2 --threads 1 --qd 2 --blocks-max 8 --seed 3 --verify --allow-errors --keep-going"
en() {
    "$gcbin" enumerate --targets "$targets" --target kestrel --workload "$wl" "$@"
}

# ---- generation from given counts ---------------------------------------------
echo '{"failslab": 5, "fail_page_alloc": 3}' >"$work/counts.json"
en --kernel debug --kfault failslab --counts "$work/counts.json" --generate-only "$work/gen" >"$work/gen.log"
cat "$work/gen.log"
got=$(ls "$work"/gen/schedules/e*.yaml | sed 's/.*-n\([0-9]*\)\.yaml/\1/' | sort -n | tr '\n' ' ')
[[ "$got" == "1 2 3 4 5 " ]] || fail "failslab with 5 sites gave n = $got, expected 1..5"
f="$work/gen/schedules/e1-failslab-n3.yaml"
steps=$(sed -n 's/^- \([a-z_]*\):.*/\1/p' "$f" | tr '\n' ' ')
[[ "$steps" == "boot load run kfault workload workload_stop " ]] ||
    fail "steps are '$steps', expected the filters, the kfault step, then the workload"
grep -qF -- '- kfault: {type: failslab, probability: 100, times: 1, interval: 1, require: true}' "$f" ||
    fail "$f does not arm failslab"
grep -qF -- "cmd: \"export GAUNTLET_FAIL_NTH=3; $wl\"" "$f" || fail "$f's workload is not under GAUNTLET_FAIL_NTH=3"
# only the driver's sites: every slab cache marked at boot but kmemleak's
# (its metadata allocation follows each traced one, silently), cache-filter
# on, and the run checks the marks took before counting
for x in "echo N > /sys/kernel/debug/failslab/ignore-gfp-wait" \
         "echo Y > /sys/kernel/debug/failslab/cache-filter" \
         "grep -qx 1 /sys/kernel/slab/kmalloc-64/failslab && grep -qx 0 /sys/kernel/slab/kmemleak_object/failslab" \
         "echo 1000 > /sys/kernel/debug/fail_page_alloc/min-order" \
         '- boot: {cmdline: "slub_debug=A;-,kmemleak_object,kmemleak_scan_area"}'; do
    grep -qF -- "$x" "$f" || fail "$f lacks the filter '$x'"
done
"$runner" --list --targets "$targets" "$work"/gen/schedules/e*.yaml >"$work/list.log" 2>&1 ||
    { cat "$work/list.log"; fail "gauntlet-runner --list refuses a generated file"; }
en --kernel debug --kfault fail_page_alloc --counts "$work/counts.json" --max-n 2 \
    --generate-only "$work/gen-pa" >/dev/null
[[ "$(ls "$work"/gen-pa/schedules/e*.yaml | xargs -n1 basename | tr '\n' ' ')" == "e1-fail_page_al-n1.yaml e1-fail_page_al-n2.yaml " ]] ||
    fail "fail_page_alloc with --max-n 2 did not give n = 1, 2"
f="$work/gen-pa/schedules/e1-fail_page_al-n2.yaml"
for x in "echo Y > /sys/kernel/debug/failslab/cache-filter" \
         "echo N > /sys/kernel/debug/fail_page_alloc/ignore-gfp-wait" \
         "echo 0 > /sys/kernel/debug/fail_page_alloc/min-order" \
         "kfault: {type: fail_page_alloc"; do
    grep -qF -- "$x" "$f" || fail "$f lacks '$x'"
done
# no slab cache marked: no failslab site counts in fail_page_alloc's runs
grep -qx -- "- boot: {}" "$f" || fail "$f boots with a cmdline (slab caches marked for failslab)"
"$runner" --list --targets "$targets" "$work"/gen-pa/schedules/e*.yaml >"$work/list2.log" 2>&1 ||
    { cat "$work/list2.log"; fail "gauntlet-runner --list refuses a fail_page_alloc file"; }

# ---- bad usage --------------------------------------------------------------------
set +e
declare -A bad=(
    [nodebug]="--kfault failslab --counts $work/counts.json --generate-only $work/b1"
    [withfault]="--kernel debug --kfault failslab --fault cq.post:drop --counts $work/counts.json --generate-only $work/b2"
    [twice]="--kernel debug --kfault failslab --kfault fail_page_alloc"
    [unknown]="--kernel debug --kfault failmem"
    [function]="--kernel debug --kfault fail_function:9bad"
    [function2]="--kernel debug --kfault fail_function:"
)
for k in "${!bad[@]}"; do
    # shellcheck disable=SC2086
    en ${bad[$k]} >"$work/bad-$k.log" 2>&1
    rc=$?
    ((rc == 2)) && grep -q "gauntlet-enumerate: .*kfault\|gauntlet-enumerate: --kfault" "$work/bad-$k.log" ||
        { cat "$work/bad-$k.log"; set -e; fail "bad usage '$k': exit $rc, expected 2 with a message about --kfault"; }
done
set -e

# ---- the clean run's count, every n passes ------------------------------------------
export GAUNTLET_FAKE_KSITES=4
GAUNTLET_FAKE_CULPRIT='no such thing' en --kernel debug --kfault failslab --runner "$fake" \
    --out "$work/ok" >"$work/ok.log" 2>&1 || { cat "$work/ok.log"; fail "a clean kfault enumeration did not exit 0"; }
cat "$work/ok.log"
grep -qx "failslab:fail-nth (4 events in the clean run): 1-4 ok" "$work/ok/enumerate.txt" ||
    { cat "$work/ok/enumerate.txt"; fail "the table is not 1-4 ok"; }
c="$work/ok/schedules/enum-clean.yaml"
grep -q "GAUNTLET_FAIL_NTH=1000000000;" "$c" || fail "the clean run does not count with fail-nth 10^9"
! grep -q "kfault:" "$c" || fail "the clean run arms a kfault step (kfault-fired would fail it)"
grep -qF "echo N > /sys/kernel/debug/failslab/ignore-gfp-wait" "$c" && grep -qF "slub_debug=A;-,kmemleak_object" "$c" ||
    fail "the clean run lacks the filters or the boot's cache marks"
"$runner" --list --targets "$targets" "$c" >"$work/list-clean.log" 2>&1 ||
    { cat "$work/list-clean.log"; fail "gauntlet-runner --list refuses the clean run"; }
jcheck "$work/ok/enumerate.json" "d['kfault'] == 'failslab' and d['kernel'] == 'debug' and
    d['pairs'][0]['events'] == 4 and d['ran'] == 4 and d['pass'] == 4" ||
    fail "enumerate.json is not the kernel enumeration's"

# ---- the negative control: fail-nth 2 fails ------------------------------------------
set +e
GAUNTLET_FAKE_CULPRIT='GAUNTLET_FAIL_NTH=2;' en --kernel debug --kfault failslab --runner "$fake" \
    --out "$work/e" >"$work/e.log" 2>&1
rc=$?
set -e
cat "$work/e.log"
((rc == 1)) || fail "exit status $rc with n=2 failing, expected 1"
grep -qx "failslab:fail-nth (4 events in the clean run): 1 ok, 2 FAIL sig#1, 3-4 ok" "$work/e/enumerate.txt" ||
    { cat "$work/e/enumerate.txt"; fail "the table does not say 1 ok, 2 FAIL sig#1, 3-4 ok"; }
jcheck "$work/e/enumerate.json" "d['signatures'][0]['reproduced'] is True" ||
    fail "the failure was not shrunk to a file that reproduces"
s=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["signatures"][0]["shrunk"])' "$work/e/enumerate.json")
grep -qF "GAUNTLET_FAIL_NTH=2;" "$s" && grep -qF "echo 1000 > /sys/kernel/debug/fail_page_alloc/min-order" "$s" ||
    { cat "$s"; fail "the shrunk file lost the workload's fail-nth or the filters"; }

# ---- a kfault-fired failure is shrunk with its workload --------------------------
# (an injection without the kernel's report): the stand-in fails
# kfault-fired for fail-nth 3, and for any kfault step without a workload,
# as the real verdict does; a shrink that drops the workload "reproduces"
# trivially and proves nothing, so the shrinker must keep it.
set +e
GAUNTLET_FAKE_KFIRED='GAUNTLET_FAIL_NTH=3;' GAUNTLET_FAKE_CULPRIT='no such thing' en --kernel debug \
    --kfault failslab --runner "$fake" --out "$work/kf" >"$work/kf.log" 2>&1
rc=$?
set -e
cat "$work/kf.log"
((rc == 1)) || fail "exit status $rc with kfault-fired failing at n=3, expected 1"
grep -qx "failslab:fail-nth (4 events in the clean run): 1-2 ok, 3 FAIL sig#1, 4 ok" "$work/kf/enumerate.txt" ||
    { cat "$work/kf/enumerate.txt"; fail "the table does not say 1-2 ok, 3 FAIL sig#1, 4 ok"; }
jcheck "$work/kf/enumerate.json" "d['signatures'][0]['signature'] == 'verdict:kfault-fired' and
    d['signatures'][0]['reproduced'] is True" || fail "the kfault-fired failure was not shrunk to a file that reproduces"
s=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["signatures"][0]["shrunk"])' "$work/kf/enumerate.json")
grep -qF "export GAUNTLET_FAIL_NTH=3; $wl" "$s" && grep -q '^- kfault:' "$s" ||
    { cat "$s"; fail "the shrunk kfault-fired file dropped the workload (or the kfault step): it fails trivially"; }
! grep -q "drop step .*(workload)" "$(dirname "$s")/shrink.log" ||
    { cat "$(dirname "$s")/shrink.log"; fail "the shrinker tried a kfault-fired candidate without the workload"; }

# ---- the error paths each run reached (gcov) ---------------------------------------
# A real gcov build of a tiny "driver" (a folder named driver/): its data
# when the submit succeeds is the clean run's, when it fails (the error
# path, lines 7-8) run n=2's; run n=4 has no gcov data.  Each run names the
# driver lines it reached that the clean run did not, read with lcov.
src="$work/gsrc/driver"
mkdir -p "$src" "$work/gcovdata/n4"
cat >"$src/kestrel_fake.c" <<'C'
int kestrel_fake_submit(int fail);
int kestrel_fake_submit(int fail)
{
	int r = 0;

	if (fail) {
		r = -12;
		r += fail;
	}
	return r;
}

int main(int argc, char **argv)
{
	(void)argv;
	return kestrel_fake_submit(argc > 1) < -100;
}
C
# absolute paths, as Kbuild compiles the module (M=)
(cd "$src" && gcc --coverage -O0 -c "$src/kestrel_fake.c" -o "$src/kestrel_fake.o" &&
    gcc --coverage "$src/kestrel_fake.o" -o "$src/kestrel_fake")
"$src/kestrel_fake"
mkdir -p "$work/gcovdata/clean$src" && mv "$src/kestrel_fake.gcda" "$work/gcovdata/clean$src/"
"$src/kestrel_fake" fail
mkdir -p "$work/gcovdata/n2$src" && mv "$src/kestrel_fake.gcda" "$work/gcovdata/n2$src/"
GAUNTLET_FAKE_GCOV="$work/gcovdata" GAUNTLET_FAKE_CULPRIT='no such thing' en --kernel debug \
    --kfault failslab --runner "$fake" --out "$work/gc" >"$work/gc.log" 2>&1 ||
    { cat "$work/gc.log"; fail "the enumeration with gcov data did not exit 0"; }
cat "$work/gc/enumerate.txt"
for want in "    error paths reached (gcov: the driver's lines the clean run did not reach):" \
            "      n=1: none beyond the clean run's lines" \
            "      n=2: kestrel_fake_submit: lines 7-8 (driver/kestrel_fake.c)" \
            "      n=3: none beyond the clean run's lines"; do
    grep -qxF -- "$want" "$work/gc/enumerate.txt" || fail "the table lacks '$want'"
done
grep -qF -- "      n=4: not read (no gcov data read from " "$work/gc/enumerate.txt" ||
    fail "run n=4 (no gcov data) does not say why its paths were not read"
grep -qF -- "n=2: kestrel_fake_submit: lines 7-8 (driver/kestrel_fake.c)" "$work/gc.log" ||
    fail "the printed table lacks n=2's error path"
jcheck "$work/gc/enumerate.json" "[r for r in d['results'] if r['n'] == 2][0]['error_paths'] ==
    [{'file': 'driver/kestrel_fake.c', 'function': 'kestrel_fake_submit', 'lines': [7, 8],
      'ranges': '7-8'}] and [r for r in d['results'] if r['n'] == 1][0]['error_paths'] == []
    and d['gcov']['runs_read'] == 3" || fail "enumerate.json's error_paths are not the run's new lines"
# report.html's enumeration table carries them too
grep -qF "n=2: kestrel_fake_submit: lines 7-8 (driver/kestrel_fake.c)" "$work/gc/report.html" ||
    fail "report.html lacks n=2's error path"
# without the clean run's data, nothing is named, and the report says why
rm -rf "$work/gcovdata-nc" && mkdir -p "$work/gcovdata-nc/clean" && cp -r "$work/gcovdata/n2" "$work/gcovdata-nc/"
GAUNTLET_FAKE_GCOV="$work/gcovdata-nc" GAUNTLET_FAKE_CULPRIT='no such thing' en --kernel debug \
    --kfault failslab --runner "$fake" --out "$work/gc2" >"$work/gc2.log" 2>&1 ||
    { cat "$work/gc2.log"; fail "the enumeration without the clean run's gcov data did not exit 0"; }
grep -q "error paths not named: the clean run's no gcov data" "$work/gc2.log" &&
    ! grep -q "error paths reached" "$work/gc2/enumerate.txt" ||
    { cat "$work/gc2.log"; fail "without the clean run's gcov data, the paths are not left out with the reason"; }

# ---- a workload without the fail-nth line; a clean run that injected ------------------
set +e
GAUNTLET_FAKE_KSITES= GAUNTLET_FAKE_CULPRIT='no such thing' en --kernel debug --kfault failslab \
    --runner "$fake" --out "$work/nl" >"$work/nl.log" 2>&1
rc=$?
GAUNTLET_FAKE_KSITES=2000000000 GAUNTLET_FAKE_CULPRIT='no such thing' en --kernel debug \
    --kfault failslab --runner "$fake" --out "$work/inj" >"$work/inj.log" 2>&1
rc2=$?
set -e
((rc == 2)) && grep -q "printed no fail-nth count" "$work/nl.log" && ! ls "$work"/nl/schedules/e1-* >/dev/null 2>&1 ||
    { cat "$work/nl.log"; fail "no fail-nth line: exit $rc, expected 2, the reason and no run"; }
((rc2 == 1)) && grep -q "the clean run injected a failure" "$work/inj.log" ||
    { cat "$work/inj.log"; fail "a clean run that injected: exit $rc2, expected 1"; }

# ---- fail_function:F: calls counted by space, call n failed ---------------------------
set +e
GAUNTLET_FAKE_KSITES=3 GAUNTLET_FAKE_CULPRIT='space: 2,' "$gcbin" enumerate --targets "$targets" \
    --target kestrel --kernel debug --kfault fail_function:kestrel_req_map --runner "$fake" \
    --workload "kestrelctl -d /dev/kestrel0 read --lba 8192 --blocks 16" --out "$work/ff" >"$work/ff.log" 2>&1
rc=$?
set -e
cat "$work/ff.log"
((rc == 1)) || fail "fail_function with call 2 failing: exit $rc, expected 1"
grep -qx "fail_function:kestrel_req_map (3 events in the clean run): 1 ok, 2 FAIL sig#1, 3 ok" "$work/ff/enumerate.txt" ||
    { cat "$work/ff/enumerate.txt"; fail "the fail_function table is not 1 ok, 2 FAIL sig#1, 3 ok"; }
c="$work/ff/schedules/enum-clean.yaml"
grep -qF "echo kestrel_req_map > /sys/kernel/debug/fail_function/inject" "$c" &&
    grep -qF 'echo N > $d/task-filter && echo 1000000000 > $d/space && echo 1 > $d/times && echo 100 > $d/probability' "$c" &&
    grep -qF '$((1000000000 - $(cat /sys/kernel/debug/fail_function/space)))' "$c" && ! grep -q "kfault:" "$c" ||
    { cat "$c"; fail "the fail_function clean run does not count with space 10^9"; }
grep -qF -- "- kfault: {type: fail_function, function: kestrel_req_map, probability: 100, times: 1, interval: 1, space: 3, require: true}" \
    "$work/ff/schedules/e1-fail_functio-n3.yaml" || fail "run n=3 does not fail call 3 (space 3)"
"$runner" --list --targets "$targets" "$work"/ff/schedules/e*.yaml >"$work/list3.log" 2>&1 ||
    { cat "$work/list3.log"; fail "gauntlet-runner --list refuses a fail_function file"; }

echo "PASS"
