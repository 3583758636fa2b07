#!/bin/sh
# runner-bad-input.sh RUNNER TOP BUILD: a malformed scenario, an unknown
# target, a bad target folder, a fault step on a target without a fault
# engine, and rules the target's own checker refuses each stop the runner
# before any VM starts (no --qemu is even given), with exit status 2 and
# the file:line:col of the problem.
runner="$1" top="$2" build="$3"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fail=0
check() {  # NAME EXPECTED-REGEX ARGS...
    name="$1" re="$2"
    shift 2
    "$runner" --targets "$top/targets" --default-target kestrel --build "$build" \
        "$@" >"$tmp/out" 2>&1
    rc=$?
    if [ "$rc" -ne 2 ] || ! grep -Eq "$re" "$tmp/out"; then
        echo "FAIL $name: exit $rc, output:"; cat "$tmp/out"; fail=1
    else
        echo "ok   $name: $(head -n 1 "$tmp/out")"
    fi
}
printf 'name: x\ndescription: d\nsteps:\n  - hotplg: {action: add}\n' >"$tmp/typo.yaml"
check typo 'typo.yaml:4:5: unknown step .hotplg.' "$tmp/typo.yaml"
printf 'name: x\ndescription: d\ntarget: nosuch\nsteps:\n  - boot: {}\n' >"$tmp/target.yaml"
check target "target 'nosuch'" "$tmp/target.yaml"
# a target without a fault engine (every shipped one has one)
mkdir -p "$tmp/plain/plain"
printf 'name: plain\ndescription: d\ndevice: "x,id={id}"\ndrive_size_mb: 1\nblock_size: 512\nmodule: m\nload: l\nunload: u\nready: r\n' \
    >"$tmp/plain/plain/target.yaml"
printf 'name: x\ndescription: d\nsteps:\n  - boot: {}\n  - faults: {set: "irq:drop"}\n' >"$tmp/plain.yaml"
check no-fault-engine 'plain.yaml:5:5: step .faults. needs a device fault engine' \
    --target-dir "$tmp/plain" --target plain "$tmp/plain.yaml"
printf 'name: x\ndescription: d\nsteps:\n  - run: {cmd: ls}\n  - boot: {}\n' >"$tmp/boot.yaml"
check late-boot "boot.yaml:5:5: 'boot' may only be the first step" "$tmp/boot.yaml"
# rules are judged by the target's checker (Kestrel's own parser), with the
# position of the offending token in the file
printf 'name: x\ndescription: d\nsteps:\n  - faults: {set: cq.post:drp}\n' >"$tmp/r1.yaml"
check rule-plain "r1.yaml:4:27: bad fault rule in 'set': found 'drp', expected an action" "$tmp/r1.yaml"
printf 'name: x\ndescription: d\nsteps:\n  - faults: {add: "irq:drop;cq.post:drp"}\n' >"$tmp/r2.yaml"
check rule-quoted "r2.yaml:4:37: bad fault rule in 'add': found 'drp', expected an action" "$tmp/r2.yaml"
printf 'name: x\ndescription: d\nsteps:\n  - faults:\n      set: >\n        cq.post:drp\n' >"$tmp/r3.yaml"
check rule-folded "r3.yaml:5:12: bad fault rule in 'set' \\(column 9 of the rule text\\): found 'drp'" "$tmp/r3.yaml"
printf "name: x\ndescription: d\nsteps:\n  - faults: {set: 'sq.fetch[op=write]:drop:every=0'}\n" >"$tmp/r4.yaml"
check rule-count "r4.yaml:4:50: bad fault rule in 'set': found '0'" "$tmp/r4.yaml"
# a ${NAME} (a value captured by a run step) is checked as the number 0:
# the grammar error after it is still found, at its column as written; an
# unknown name is refused by the parser
printf 'name: x\ndescription: d\ntarget: virtio-blk\nsteps:\n  - run: {cmd: echo 1, capture: A}\n  - faults: {set: "dma.write[addr=${A}]:drp"}\n' >"$tmp/c1.yaml"
check capture-rule "c1.yaml:6:41: bad fault rule in 'set': found 'drp', expected an action" "$tmp/c1.yaml"
printf 'name: x\ndescription: d\ntarget: virtio-blk\nsteps:\n  - run: {cmd: echo 1, capture: A}\n  - faults: {set: "dma.write[addr=${B}]:drop"}\n' >"$tmp/c2.yaml"
check capture-unknown 'c2.yaml:6:35: \$\{B\} has no value: no run step before this one captures .B.' "$tmp/c2.yaml"
check rule-file "bad-fault-column.yaml:9:30: bad fault rule in 'add': found 'corrupt', expected an action valid for irq" \
    "$top/tests/harness/bad-fault-column.yaml"
# a target folder that is not one: a clear error naming the file
mkdir -p "$tmp/tdir/broken"
printf 'name: broken\ndescription: d\ndevice: x\n' >"$tmp/tdir/broken/target.yaml"
printf 'name: x\ndescription: d\ntarget: broken\nsteps:\n  - boot: {}\n' >"$tmp/t1.yaml"
check target-missing-key "broken/target.yaml: missing required key 'drive_size_mb'" \
    --target-dir "$tmp/tdir" "$tmp/t1.yaml"
printf 'name: broken\ndescription: d\ndevice: x\ndrive_size_mb: 1\nblock_size: 512\nmodule: m\nload: l\nunload: u\nready: r\nguest_files: [{src: a}]\n' >"$tmp/tdir/broken/target.yaml"
check target-bad-files "broken/target.yaml:10:15: 'guest_files': an entry needs both src and dest" \
    --target-dir "$tmp/tdir" "$tmp/t1.yaml"
printf 'name: other\ndescription: d\ndevice: x\ndrive_size_mb: 1\nblock_size: 512\nmodule: m\nload: l\nunload: u\nready: r\n' >"$tmp/tdir/broken/target.yaml"
check target-misnamed "the target is named 'other', not 'broken'" --target-dir "$tmp/tdir" "$tmp/t1.yaml"
# a checker that dies is the harness's problem, said as such
printf 'name: broken\ndescription: d\ndevice: x\ndrive_size_mb: 1\nblock_size: 512\nmodule: m\nload: l\nunload: u\nready: r\nfault_set: f\nfault_stats: s\nfault_check: "exit 3"\n' >"$tmp/tdir/broken/target.yaml"
printf 'name: x\ndescription: d\ntarget: broken\nsteps:\n  - faults: {set: a}\n' >"$tmp/t2.yaml"
check checker-broken "t2.yaml:5:5: target broken: fault checker 'exit 3' failed \\(exit status 3\\)" \
    --target-dir "$tmp/tdir" "$tmp/t2.yaml"
# reboot ends the VM: it must be the last step
printf 'name: x\ndescription: d\nsteps:\n  - boot: {}\n  - reboot: {}\n  - run: {cmd: ls}\n' >"$tmp/reboot.yaml"
check early-reboot "reboot.yaml:5:5: 'reboot' must be the last step" "$tmp/reboot.yaml"
# one bad file among good ones: nothing runs
# a power cut that does not boot again ends the VM: the last step
printf 'name: x\ndescription: d\nsteps:\n  - load: {}\n  - power_cut: {}\n  - load: {}\n' >"$tmp/cut.yaml"
check early-power-cut "cut.yaml:5:5: 'power_cut' must be the last step.*boot_again" "$tmp/cut.yaml"
# a cut at a device event needs the device's fault engine
printf 'name: x\ndescription: d\nsteps:\n  - load: {}\n  - power_cut: {at: device}\n' >"$tmp/cutdev.yaml"
check device-cut-no-engine "cutdev.yaml:5:5: 'power_cut' at 'device' needs a device fault engine" \
    --target-dir "$tmp/plain" --target plain "$tmp/cutdev.yaml"
# write_cache needs the target's argument for it
printf 'name: broken\ndescription: d\ndevice: x\ndrive_size_mb: 1\nblock_size: 512\nmodule: m\nload: l\nunload: u\nready: r\n' >"$tmp/tdir/broken/target.yaml"
printf 'name: x\ndescription: d\ntarget: broken\nwrite_cache: true\nsteps:\n  - boot: {}\n' >"$tmp/wc.yaml"
check write-cache-unsupported "wc.yaml: 'write_cache: true', but target 'broken' names no device argument" \
    --target-dir "$tmp/tdir" "$tmp/wc.yaml"
# expect_fail names verdicts that exist
printf 'name: x\ndescription: d\nexpect_fail: [ledgr]\nsteps:\n  - boot: {}\n' >"$tmp/xf.yaml"
check expect-fail-unknown "xf.yaml: 'expect_fail': no verdict is named 'ledgr'" "$tmp/xf.yaml"
check mixed 'nothing was run' "$top/scenarios/baseline-io.yaml" "$tmp/typo.yaml"
exit $fail
