#!/bin/sh
# runner-bad-input.sh RUNNER TOP: a malformed scenario, an unknown target
# and a fault step on a target without a fault engine each stop the runner
# before any VM starts (no --qemu is even given), with exit status 2 and
# the file:line:col of the problem.
runner="$1" top="$2"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fail=0
check() {  # NAME EXPECTED-REGEX ARGS...
    name="$1" re="$2"
    shift 2
    "$runner" --targets "$top/harness/targets" "$@" >"$tmp/out" 2>&1
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
printf 'name: x\ndescription: d\nsteps:\n  - boot: {}\n  - faults: {set: "irq:drop"}\n' >"$tmp/nvme.yaml"
check no-fault-engine 'nvme.yaml:5:5: step .faults. needs a device fault engine' \
    --target nvme "$tmp/nvme.yaml"
printf 'name: x\ndescription: d\nsteps:\n  - run: {cmd: ls}\n  - boot: {}\n' >"$tmp/boot.yaml"
check late-boot "boot.yaml:5:5: 'boot' may only be the first step" "$tmp/boot.yaml"
# one bad file among good ones: nothing runs
check mixed 'nothing was run' "$top/scenarios/baseline-io.yaml" "$tmp/typo.yaml"
exit $fail
