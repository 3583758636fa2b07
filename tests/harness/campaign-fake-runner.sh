#!/usr/bin/env bash
# A stand-in for gauntlet-runner, for the shrinker's tests only: it takes
# the runner's options (-j N, --out DIR, others ignored) and scenario files,
# and "fails" a scenario iff its file contains $GAUNTLET_FAKE_CULPRIT (a
# fixed string), with a kernel WARNING in its console.log, as a driver bug
# would.  It writes DIR/report.json and DIR/NAME/result.json like the
# runner.  --help prints a usage without --snapshot, or with it when
# GAUNTLET_FAKE_SNAPSHOT is set; GAUNTLET_FAKE_ARGS_LOG: a file that gets
# each invocation's arguments.  GAUNTLET_FAKE_BOOTFAIL / _STEPFAIL: a
# string that makes a scenario fail in its boot step / its workload_stop.
# GAUNTLET_FAKE_EARLY: the WARNING comes before the module is loaded.
# GAUNTLET_FAKE_STARVED: a string that gives a scenario the RCU stall of a
# guest its host starved (from a real log of this campaign).  GAUNTLET_FAKE_SLEEP:
# seconds each invocation takes.  GAUNTLET_FAKE_LEDGER: fixed strings
# separated by '|'; a scenario holding every one of them fails the `ledger`
# verdict (a host-side verdict: no kernel report in its console.log), as
# a lost acknowledged write would.  GAUNTLET_FAKE_HITS: 'POINT=N|POINT=N'
# (gauntlet enumerate's tests): each scenario's faults.json lists the rules
# of its faults steps in order, each with hits N for its point (0 for a point not
# listed), fired 1 when its trigger is once or nth=K with K <= N, else 0,
# and allow_unfired as the scenario's list says.  GAUNTLET_FAKE_RATE
# (campaign-generate.sh): faults.json from the timing model of
# campaign-fake-fire.py (events per fire_within at each point, rules
# disarmed by a set, a clear or an unplug, starving actions; see there).
# GAUNTLET_FAKE_KSITES=N
# (gauntlet enumerate --kfault's tests): a scenario whose workload exports
# GAUNTLET_FAIL_NTH=A gets kestrelctl stress's fail-nth line in its
# steps.log, as if its ioctls reached N sites: A injected when A <= N, and
# min(A, N) sites counted; a clean run of --kfault fail_function:F (its
# workload reads fail_function/space) gets the line with N calls.
# GAUNTLET_FAKE_KFIRED: a fixed string; a scenario with a kfault step
# fails the kfault-fired verdict when it holds the string (an injection
# without the kernel's report) or has no workload step (armed, nothing
# injected: the trivial failure of a shrink that dropped the workload).
# GAUNTLET_FAKE_GCOV=DIR: each scenario's gcov/guest is a copy of DIR/nA
# for a workload under GAUNTLET_FAIL_NTH=A when that folder exists, else
# of DIR/clean (gauntlet enumerate's error paths).
set -euo pipefail
if [[ -n "${GAUNTLET_FAKE_ARGS_LOG:-}" ]]; then
    printf '%s\n' "$*" >>"$GAUNTLET_FAKE_ARGS_LOG"
fi
out="" files=()
while (($#)); do
    case "$1" in
    --help)
        echo "usage: fake-runner [-j N] [--out DIR] FILE..."
        if [[ -n "${GAUNTLET_FAKE_SNAPSHOT:-}" ]]; then
            echo "  --snapshot             start from a snapshot"
            echo "  --snapshot-dir DIR     where snapshots live"
        fi
        exit 0 ;;
    -j|--out|--qemu|--targets|--stock-kernel|--stock-initrd|--host-tool|--kernel-version|--snapshot-dir|--extra)
        [[ "$1" == --out ]] && out="$2"; shift 2 ;;
    --*) shift ;;
    *) files+=("$1"); shift ;;
    esac
done
[[ -n "$out" ]] || { echo "fake-runner: --out is required" >&2; exit 2; }
mkdir -p "$out"
culprit="${GAUNTLET_FAKE_CULPRIT:?set GAUNTLET_FAKE_CULPRIT}"
sleep "${GAUNTLET_FAKE_SLEEP:-0}"   # a batch that takes time (--time tests)
# all_in 'A|B|...' FILE: FILE holds every one of the strings
all_in() {
    local IFS='|' x
    for x in $1; do
        grep -qF -- "$x" "$2" || return 1
    done
}
json='{"tool":"gauntlet","scenarios":['
sep="" fail=0 pass=0
for f in "${files[@]}"; do
    name=$(sed -n 's/^name: "\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$f" | head -1)
    [[ -n "$name" ]] || { echo "$f: no name" >&2; exit 2; }
    dir="$out/$name"
    mkdir -p "$dir"
    if [[ -n "${GAUNTLET_FAKE_BOOTFAIL:-}" ]] && grep -qF -- "$GAUNTLET_FAKE_BOOTFAIL" "$f"; then
        status=fail kind=boot reason="$f:9:5: boot: boot failed: guest agent not ready"
        failure='{"kind":"boot","verdict":null,"step":{"type":"boot","line":9,"col":5}}'
        echo "[    1.000000] slow" >"$dir/console.log"
        fail=$((fail + 1))
    elif [[ -n "${GAUNTLET_FAKE_STEPFAIL:-}" ]] && grep -qF -- "$GAUNTLET_FAKE_STEPFAIL" "$f"; then
        status=fail kind=step reason="$f:20:5: workload_stop: workload 'io' exited 1, expected 0: MISMATCH"
        failure='{"kind":"step","verdict":null,"step":{"type":"workload_stop","line":20,"col":5}}'
        echo "[    1.000000] quiet kernel" >"$dir/console.log"
        fail=$((fail + 1))
    elif [[ -n "${GAUNTLET_FAKE_STARVED:-}" ]] && grep -qF -- "$GAUNTLET_FAKE_STARVED" "$f"; then
        status=fail kind=kernel-log reason="kernel-log: INFO: rcu detected stall in handle_softirqs"
        failure='{"kind":"verdict","verdict":"kernel-log","step":null}'
        cat >"$dir/console.log" <<LOG
[   17.719451] kestrel: loading out-of-tree module taints kernel.
[   42.864011] rcu: INFO: rcu_preempt self-detected stall on CPU
[   42.867682] rcu: 	0-...!: (2 ticks this GP) idle=098c/1/0x4000000000000000 softirq=365/365 fqs=0
[   46.831685] 	(t=5471 jiffies g=-507 q=4 ncpus=1)
[   46.832179] rcu: rcu_preempt kthread timer wakeup didn't happen for 5470 jiffies! g-507 f0x0 RCU_GP_WAIT_FQS(5) ->state=0x402
[   46.832816] rcu: rcu_preempt kthread starved for 5471 jiffies! g-507 f0x0 RCU_GP_WAIT_FQS(5) ->state=0x402 ->cpu=0
[   46.833111] rcu: 	Unless rcu_preempt kthread gets sufficient CPU time, OOM is now expected behavior.
[   46.850517] CPU: 0 PID: 114 Comm: kestrelctl Tainted: G           OE      6.1.0-50-amd64 #1
[   46.886115] RIP: 0010:handle_softirqs+0x7d/0x280
[   46.887000] Call Trace:
[   46.887922]  __irq_exit_rcu+0xac/0xe0
[   46.888006]  sysvec_apic_timer_interrupt+0x3a/0x90
LOG
        fail=$((fail + 1))
    elif [[ -n "${GAUNTLET_FAKE_LEDGER:-}" ]] && all_in "$GAUNTLET_FAKE_LEDGER" "$f"; then
        status=fail kind=ledger reason="ledger: 3 violation(s): block 9001: expected generation 4, found generation 2"
        failure='{"kind":"verdict","verdict":"ledger","step":null}'
        echo "[    9.000000] kestrel: loading out-of-tree module taints kernel." >"$dir/console.log"
        fail=$((fail + 1))
    elif [[ -n "${GAUNTLET_FAKE_KFIRED:-}" ]] && grep -q -- '^- kfault:' "$f" &&
         { grep -qF -- "$GAUNTLET_FAKE_KFIRED" "$f" || ! grep -q -- '^- workload:' "$f"; }; then
        status=fail kind=verdict reason="kfault-fired: failslab was armed but the kernel reported no injected failure"
        failure='{"kind":"verdict","verdict":"kfault-fired","step":null}'
        echo "[    9.000000] kestrel: loading out-of-tree module taints kernel." >"$dir/console.log"
        fail=$((fail + 1))
    elif grep -qF -- "$culprit" "$f"; then
        status=fail kind=kernel-log reason="kernel-log: WARNING in kestrel_fake_reap [kestrel]"
        failure='{"kind":"verdict","verdict":"kernel-log","step":null}'
        cat >"$dir/console.log" <<LOG
$([[ -n "${GAUNTLET_FAKE_EARLY:-}" ]] || echo "[    9.000000] kestrel: loading out-of-tree module taints kernel.")
[   10.000000] ------------[ cut here ]------------
[   10.000001] WARNING: CPU: 0 PID: 99 at drivers/kestrel/kestrel_io.c:123 kestrel_fake_reap+0x10/0x20 [kestrel]
[   10.000002] Modules linked in: kestrel
[   10.000003] Call Trace:
[   10.000004]  <TASK>
[   10.000005]  kestrel_fake_reap+0x10/0x20 [kestrel]
[   10.000006]  </TASK>
[   10.000007] ---[ end trace 0000000000000000 ]---
LOG
        fail=$((fail + 1))
    else
        status=pass kind="" reason=""
        failure='{"kind":"","verdict":null,"step":null}'
        echo "[    1.000000] nothing to see" >"$dir/console.log"
        pass=$((pass + 1))
    fi
    if [[ -n "${GAUNTLET_FAKE_HITS:-}" ]]; then
        rules=$(sed -n 's/.*faults: {\(set\|add\): "\([^"]*\)"}.*/\2/p' "$f" | paste -sd';')
        au=",$(sed -n 's/^allow_unfired: \[\(.*\)\]$/\1/p' "$f" | tr -d ' '),"
        fj="[" k=0
        IFS=';' read -ra rl <<<"$rules"
        for rule in "${rl[@]}"; do
            pt=${rule%%:*} pt=${pt%%\[*} hits=0 fired=0
            IFS='|' read -ra hl <<<"$GAUNTLET_FAKE_HITS"
            for h in "${hl[@]}"; do
                [[ "${h%%=*}" == "$pt" ]] && hits=${h#*=}
            done
            trig=${rule##*:}
            case "$trig" in
            once) nth=1 ;;
            nth=*) nth=${trig#nth=} ;;
            *) nth=0 ;;
            esac
            ((${#nth} < 10 && nth >= 1 && nth <= hits)) && fired=1
            fj+="$([[ $k == 0 ]] || echo ,){\"index\":$k,\"rule\":\"$rule\",\"fired\":$fired,\"hits\":$hits,\"allow_unfired\":$([[ "$au" == *",$k,"* ]] && echo true || echo false)}"
            k=$((k + 1))
        done
        echo "$fj]" >"$dir/faults.json"
    fi
    if [[ -n "${GAUNTLET_FAKE_RATE:-}" ]]; then
        python3 "$(dirname "$0")/campaign-fake-fire.py" "$f" >"$dir/faults.json"
    fi
    if [[ -n "${GAUNTLET_FAKE_KSITES:-}" ]] && grep -q 'GAUNTLET_FAIL_NTH=[0-9]' "$f"; then
        a=$(sed -n 's/.*GAUNTLET_FAIL_NTH=\([0-9]*\).*/\1/p' "$f" | head -1)
        ks=$GAUNTLET_FAKE_KSITES inj=0
        ((a <= ks)) && inj=1 ks=$a
        echo "[1.0] workload 'io' ended: exit 0; stdout: stress: fail-nth $a: 1 thread(s) armed, $inj injected; $ks fault-injection sites counted in the ioctls of the busiest" >"$dir/steps.log"
    fi
    if [[ -n "${GAUNTLET_FAKE_KSITES:-}" ]] && grep -q 'fail_function/space' "$f"; then
        echo "[1.0] workload 'io' ended: exit 0; stdout: fail-nth 1000000000: 1 thread(s) armed, 0 injected; $GAUNTLET_FAKE_KSITES calls" >"$dir/steps.log"
    fi
    if [[ -n "${GAUNTLET_FAKE_GCOV:-}" ]]; then
        a=$(sed -n 's/.*GAUNTLET_FAIL_NTH=\([0-9]*\).*/\1/p' "$f" | head -1)
        g="$GAUNTLET_FAKE_GCOV/clean"
        [[ -n "$a" && -d "$GAUNTLET_FAKE_GCOV/n$a" ]] && g="$GAUNTLET_FAKE_GCOV/n$a"
        mkdir -p "$dir/gcov/guest"
        cp -r "$g/." "$dir/gcov/guest/"
    fi
    r="{\"name\":\"$name\",\"file\":\"$f\",\"status\":\"$status\",\"kind\":\"$kind\",\"reason\":\"$reason\",\"failure\":$failure,\"duration_s\":0.1,\"artifacts\":\"$dir\"}"
    echo "$r" >"$dir/result.json"
    json+="$sep$r"
    sep=","
done
json+="],\"pass\":$pass,\"fail\":$fail,\"skip\":0,\"error\":0}"
echo "$json" >"$out/report.json"
cat >"$out/junit.xml" <<XML
<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="gauntlet" tests="$((pass + fail))" failures="$fail" errors="0" skipped="0" time="0.1">
  <testsuite name="gauntlet" tests="$((pass + fail))" failures="$fail" errors="0" skipped="0" time="0.1">
  </testsuite>
</testsuites>
XML
((fail == 0))
