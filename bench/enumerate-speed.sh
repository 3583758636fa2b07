#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Enumeration runs with snapshots against booting every run, in the same
# bench run, and where a restored run's fixed cost goes.
#
#   bench/enumerate-speed.sh [-n ROUNDS] [-b BATCH] [--accel auto|kvm|tcg]
#                            [--keep DIR]
#
# The runs are those of `gauntlet enumerate` (docs/enumerate.md), shorter:
# boot, load, a 200 ms command timeout, one rule cq.post:drop:nth=K (K =
# 1, 2, 3, ... over the runs), a short verified stress (one batch of 64
# blocks, written and read back), every verdict; the fault must fire.
# Each round runs BATCH such files (default 4) in one gauntlet-runner
# invocation booting every run, then BATCH in one invocation with
# --snapshot (a fresh --snapshot-dir primed by one unmeasured run first),
# -j 1, alternating so both see the same machine load (default 3 rounds).
#
# Prints, per mode: runs per minute (runs / the invocations' wall time),
# the median run's wall time (an invocation's wall over its runs), its
# steps' time (steps.log: from the first step after boot and load to the
# judging) and the fixed cost (wall minus steps); the ratio of the rates;
# and the restored runs' per-phase breakdown from steps.log timestamps
# (medians): QEMU start, the restore, clock and ready check, the ledger's
# final flush, each verdict (the guest ones: from the previous mark to
# the verdict's line), the kernel log and gcov listing (to QEMU's stop),
# QEMU's exit, the result, and the runner's own share (invocation wall
# over its runs minus the scenario's duration).  Ratios and rates only:
# nothing here is a pass/fail test.  Boots VMs: run it under the VM lock.
# Set GAUNTLET_NO_BUILD=1 when the build is current.  --keep DIR keeps
# the runs' artifacts (steps.log, ...) in DIR instead of a removed tmp dir.
set -euo pipefail

TOP=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
rounds=3 batch=4
accel=()
keep=
while [[ $# -gt 0 ]]; do
    case $1 in
    -n) rounds=$2; shift 2 ;;
    -b) batch=$2; shift 2 ;;
    --accel) accel=(--accel "$2"); shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    -h|--help) sed -n '4,31p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "enumerate-speed.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
[[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "enumerate-speed.sh: -n wants a positive count, got '$rounds'" >&2; exit 2; }
[[ $batch =~ ^[1-9][0-9]*$ ]] || { echo "enumerate-speed.sh: -b wants a positive count, got '$batch'" >&2; exit 2; }

if [[ ${GAUNTLET_NO_BUILD:-0} != 1 ]]; then
    "$TOP/gauntlet" build >&2
fi
if [[ -n $keep ]]; then
    mkdir -p "$keep"
    work=$(mktemp -d "$(readlink -f "$keep")/enumerate-speed.XXXXXX")
    echo "enumerate-speed.sh: artifacts kept in $work" >&2
else
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
fi

# scenario NAME K: one enumeration run file, the K-th completion dropped
scenario() {
    cat >"$work/$1.yaml" <<EOF
name: $1
description: >
  bench/enumerate-speed.sh: an enumeration run (docs/enumerate.md), the
  completion of event $2 dropped in a short verified stress.
steps:
  - boot: {}
  - load: {}
  - run: {cmd: "echo 200 > /sys/module/kestrel/parameters/timeout_ms && kestrelctl timeout set 200"}
  - faults: {set: "cq.post:drop:nth=$2"}
  - workload: {name: io, cmd: "kestrelctl stress --lba 8192 --blocks 64 --batches 1 --threads 1 --qd 4 --blocks-max 8 --seed 3 --verify --allow-errors --keep-going"}
  - workload_stop: {name: io, wait: true, timeout: 120}
EOF
    echo "$work/$1.yaml"
}

# invoke MODE OUT FILE...: one runner invocation, -j 1; prints its wall time
invoke() {
    local mode=$1 out=$2 t0 t1
    local snap=()
    shift 2
    [[ $mode == cold ]] || snap=(--snapshot --snapshot-dir "$work/snapshots")
    t0=$(date +%s.%N)
    if ! GAUNTLET_NO_BUILD=1 "$TOP/gauntlet" run -j 1 "${accel[@]}" "${snap[@]}" \
            --out "$out" "$@" >"$out.log" 2>&1; then
        tail -n 30 "$out.log" >&2
        echo "enumerate-speed.sh: a $mode run failed (its artifacts: $out)" >&2
        trap - EXIT
        exit 1
    fi
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }'
}

files() {  # PREFIX: BATCH files, nth=1, 2, 3, 4, 1, ...
    local i
    for ((i = 0; i < batch; i++)); do
        scenario "$1-$i" $((i % 4 + 1))
    done
}

echo "load $(cut -d' ' -f1-3 /proc/loadavg); $rounds rounds of $batch runs each way" >&2
mapfile -t f < <(files prime)
invoke prime "$work/prime" "${f[0]}" >/dev/null
for ((r = 1; r <= rounds; r++)); do
    mapfile -t f < <(files "cold$r")
    w=$(invoke cold "$work/cold-$r" "${f[@]}")
    echo "cold $r $w" >>"$work/walls"
    mapfile -t f < <(files "snap$r")
    w=$(invoke snapshot "$work/snap-$r" "${f[@]}")
    echo "snapshot $r $w" >>"$work/walls"
    echo "round $r/$rounds: $(grep " $r " "$work/walls" | awk '{ printf "%s %s s  ", $1, $3 }')" >&2
done

python3 - "$work" "$batch" <<'PY'
import glob, json, os, re, statistics, sys

work, batch = sys.argv[1], int(sys.argv[2])
LINE = re.compile(r"^\[ *(\d+\.\d{3})\] (.*)$")   # the runner's, not dmesg's


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def phases(path):
    """steps.log -> (steps_s, [(phase, seconds)]) of one run"""
    lines = []
    for ln in open(path, errors="replace"):
        m = LINE.match(ln.rstrip("\n"))
        if m:
            lines.append((float(m.group(1)), m.group(2)))
    t_first = None
    t_judge = None
    for i, (t, msg) in enumerate(lines):
        m = re.match(r"step (\S+) at ", msg)
        if m and m.group(1) not in ("boot", "load") and t_first is None:
            t_first = t
        if t_first is not None and re.match(r"(verdict |fault log of )", msg):
            t_judge = lines[i - 1][0] if i else t
            break
    if t_first is None or t_judge is None:
        raise SystemExit(f"enumerate-speed.sh: no steps or no verdicts in {path}")
    out = []
    prev = 0.0

    def mark(name, t):
        nonlocal prev
        out.append((name, t - prev))
        prev = t

    judging = False
    for t, msg in lines:
        if msg.startswith("restore: "):
            mark("start: scenario to QEMU restore", t)
        elif msg.startswith("restored in "):
            mark("restore: migration load, agent", t)
        elif msg.startswith("restored: driver ready"):
            mark("wall clock set, ready check", t)
        elif t == t_first and not out:
            mark("boot and load", t)
        elif t == t_judge and not judging:
            mark("steps", t)
            judging = True
        elif judging and msg.startswith("ledger: final flush"):
            mark("ledger's final flush (ready, flush)", t)
        elif judging and (m := re.match(r"qemu stopped in ([0-9.]+) s", msg)):
            mark("kernel log read (dmesg), gcov", t - float(m.group(1)))
            mark("QEMU exit (quit, reaped)", t)
        elif judging and (m := re.match(r"verdict (\S+):", msg)):
            mark("verdict " + m.group(1), t)
        elif judging and msg.startswith("result: "):
            mark("fault log, result", t)
    return t_judge - t_first, out


rows = {}
walls = {}
for ln in open(os.path.join(work, "walls")):
    mode, r, w = ln.split()
    walls.setdefault(mode, []).append(float(w))
    d = os.path.join(work, ("cold" if mode == "cold" else "snap") + "-" + r)
    for res in sorted(glob.glob(d + "/*/result.json")):
        j = json.load(open(res))
        want = "cold" if mode == "cold" else "snapshot"
        if j["status"] != "pass" or j["start"] != want:
            raise SystemExit(f"enumerate-speed.sh: {res}: status {j['status']}, "
                             f"start {j['start']} (want pass, {want})")
        steps, ph = phases(os.path.join(os.path.dirname(res), "steps.log"))
        rows.setdefault(mode, []).append((float(w) / batch, j["duration_s"], steps, ph))

rate = {}
for mode in ("cold", "snapshot"):
    rs = rows[mode]
    n = len(rs)
    rate[mode] = 60.0 * n / sum(walls[mode])
    wall = med([r[0] for r in rs])
    steps = med([r[2] for r in rs])
    fixed = med([r[0] - r[2] for r in rs])
    print(f"{mode:8s}: {rate[mode]:5.1f} runs/min ({n} runs); a run: wall {wall:.2f} s, "
          f"steps {steps:.2f} s, fixed cost {fixed:.2f} s (medians)")
print(f"ratio snapshot/cold runs per minute: {rate['snapshot'] / rate['cold']:.1f} x")
print("restored run, per phase (median s):")
names = []
for r in rows["snapshot"]:
    for name, _ in r[3]:
        if name not in names:
            names.append(name)
for name in names:
    vals = [sum(s for nm, s in r[3] if nm == name) for r in rows["snapshot"]]
    print(f"  {name:38s} {med(vals):6.3f}")
print(f"  {'runner (invocation over its runs)':38s} {med([r[0] - r[1] for r in rows['snapshot']]):6.3f}")
print(f"  {'fixed cost (wall minus steps)':38s} {med([r[0] - r[2] for r in rows['snapshot']]):6.3f}")
PY
