#!/bin/sh
# harness.coverage_tool: gauntlet-coverage merges tracefiles from different
# build places into one file per source path, keeps each test name apart,
# checks goals and names what each source alone reaches.
#   coverage-tool.sh GAUNTLET_COVERAGE FIXTURE_DIR
set -u
tool=$1
fx=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fails=0
check() {   # check DESCRIPTION GREP-PATTERN FILE
    if grep -q -e "$2" "$3"; then
        echo "ok: $1"
    else
        echo "FAIL: $1 (no /$2/ in $3):"
        cat "$3"
        fails=$((fails + 1))
    fi
}

"$tool" --root /repo --map /build/kbuild/driver/=/repo/driver/ --keep driver/ \
    --goal "drv=driver/:line>=50,branch>=50" --notes "$fx/notes.txt" \
    --info "$work/m.info" --gcovr "$work/m.json" "$fx/a.info" "$fx/b.info" \
    >"$work/out" 2>&1
rc=$?
[ $rc -eq 0 ] || { echo "FAIL: exit $rc"; cat "$work/out"; exit 1; }
# a.info's Kbuild path and b.info's repo path are one file; list.h is dropped
check "one file after --map and --root" '^driver/kestrel_x.c ' "$work/out"
if grep -q 'list.h' "$work/out" "$work/m.info"; then
    echo "FAIL: --keep let list.h through"; fails=$((fails + 1))
fi
# union: lines 10,11,20,21 of 5 hit = 80%; both functions; branch 1 of 2
check "union of lines" '80.0%      4/5 ' "$work/out"
check "union of functions" '100.0%    2/2 ' "$work/out"
check "union of branches" '50.0%     1/2 ' "$work/out"
check "goal met" 'drv .*lines 80.0% (goal 50%) met  branches 50.0% (goal 50%) met' "$work/out"
# vm_one alone reaches line 11; vm_two alone reaches beta; vm_three nothing new
check "only-here function" 'vm_two .* 1  beta' "$work/out"
check "adds nothing" '3 source(s), 1 of which add nothing' "$work/out"
check "stale note" 'beta is now reached; its note' "$work/out"
# the merged tracefile keeps the test names and sums within one
check "merged keeps vm_one" '^TN:vm_one' "$work/m.info"
check "merged keeps vm_three" '^TN:vm_three' "$work/m.info"
check "gcovr json" '"gcovr/format_version": "0.3"' "$work/m.json"
# merging the merged file again with itself doubles counts, same coverage
"$tool" --root /repo --keep driver/ --info "$work/m2.info" "$work/m.info" "$work/m.info" >"$work/out2" 2>&1
check "re-merge of a merged file" '80.0%      4/5 ' "$work/out2"
check "counts add up" '^DA:10,6$' "$work/m2.info"
# an unreached function with a note shows the reason
"$tool" --root /repo --map /build/kbuild/driver/=/repo/driver/ --keep driver/ \
    --notes "$fx/notes.txt" "$fx/a.info" >"$work/out6" 2>&1
check "reason of an unreached function" 'kestrel_x.c:20 beta: only reachable on real hardware' "$work/out6"
# a missed goal fails only with --fail-under
"$tool" --root /repo --keep driver/ --goal "drv=driver/:line>=90" --fail-under \
    "$fx/b.info" >"$work/out3" 2>&1
rc=$?
[ $rc -eq 1 ] && echo "ok: --fail-under exits 1" || { echo "FAIL: --fail-under exit $rc"; fails=$((fails + 1)); }
check "missed goal shown" 'MISSED' "$work/out3"
# a malformed tracefile: file:line and exit 2
"$tool" "$fx/bad.info" >"$work/out4" 2>&1
rc=$?
[ $rc -eq 2 ] && echo "ok: bad tracefile exits 2" || { echo "FAIL: bad tracefile exit $rc"; fails=$((fails + 1)); }
check "bad tracefile names the line" 'bad.info:3: bad DA line' "$work/out4"
"$tool" --goal "nonsense" "$fx/b.info" >"$work/out5" 2>&1
rc=$?
[ $rc -eq 2 ] && echo "ok: bad --goal exits 2" || { echo "FAIL: bad --goal exit $rc"; fails=$((fails + 1)); }
[ $fails -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
