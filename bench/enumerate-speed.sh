#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Enumeration runs with snapshots against booting every run, in the same
# bench run, and where a restored run's fixed cost goes.
#
#   bench/enumerate-speed.sh [-n ROUNDS] [-b BATCH] [--accel auto|kvm|tcg]
#                            [--no-stream] [--keep DIR]
#
# The runs are those of `gauntlet enumerate` (docs/enumerate.md), shorter:
# boot, load, a 200 ms command timeout, one rule cq.post:drop:nth=K (K =
# 1, 2, 3, ... over the runs), a short verified stress (one batch of 64
# blocks, written and read back), every verdict; the fault must fire.
# Each round runs BATCH such files (default 4) in one gauntlet-runner
# invocation booting every run, then BATCH in one invocation with
# --snapshot (guest RAM in a file mapped copy-on-write, the default), then
# BATCH with --snapshot --snapshot-ram stream (RAM in the migration
# stream, the layout before; --no-stream leaves these out), each snapshot
# layout primed by one unmeasured run first in a fresh --snapshot-dir,
# -j 1, alternating so all see the same machine load (default 3 rounds).
#
# Prints, per mode: runs per minute (runs / the invocations' wall time),
# the median run's wall time (an invocation's wall over its runs), its
# steps' time (steps.log: from the first step after boot and load to the
# judging), the fixed cost (wall minus steps) and the median ready_s
# (QEMU start to driver ready); the ratios of the rates; and, per
# snapshot layout, the restored runs' per-phase breakdown from steps.log
# timestamps (medians): QEMU start, the restore, clock and ready check,
# the ledger's final flush, each verdict (the guest ones: from the
# previous mark to the verdict's line), the kernel log and gcov listing
# (to QEMU's stop),
# QEMU's exit, the result, and the runner's own share (invocation wall
# over its runs minus the scenario's duration).  Ratios and rates only:
# nothing here is a pass/fail test.  Boots VMs: run it under the VM lock.
# Set GAUNTLET_NO_BUILD=1 when the build is current.  --keep DIR keeps
# the runs' artifacts (steps.log, ...) in DIR instead of a removed tmp dir.
set -euo pipefail

. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib.sh"
rounds=3 batch=4 stream=1
accel=()
keep=
while [[ $# -gt 0 ]]; do
    case $1 in
    -n) rounds=${2-}; shift; shift || true ;;
    -b) batch=${2-}; shift; shift || true ;;
    --no-stream) stream=0; shift ;;
    --accel) accel=(--accel "$2"); shift 2 ;;
    --keep) keep=${2-}; shift; shift || true ;;
    -h|--help) bench_help ;;
    *) bench_unknown "$1" ;;
    esac
done
bench_posint -n "$rounds"
bench_posint -b "$batch"

bench_build
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
    [[ $mode != stream && $mode != prime-stream ]] || snap+=(--snapshot-ram stream)
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

modes=(cold snapshot)
[[ $stream == 0 ]] || modes+=(stream)
echo "load $(cut -d' ' -f1-3 /proc/loadavg); $rounds rounds of $batch runs each way (${modes[*]})" >&2
mapfile -t f < <(files prime)
invoke prime "$work/prime" "${f[0]}" >/dev/null
if [[ $stream == 1 ]]; then
    invoke prime-stream "$work/prime-stream" "${f[0]}" >/dev/null
fi
for ((r = 1; r <= rounds; r++)); do
    for m in "${modes[@]}"; do
        mapfile -t f < <(files "$m$r")
        w=$(invoke "$m" "$work/$m-$r" "${f[@]}")
        echo "$m $r $w" >>"$work/walls"
    done
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
    d = os.path.join(work, mode + "-" + r)
    for res in sorted(glob.glob(d + "/*/result.json")):
        j = json.load(open(res))
        want = "cold" if mode == "cold" else "snapshot"
        if j["status"] != "pass" or j["start"] != want:
            raise SystemExit(f"enumerate-speed.sh: {res}: status {j['status']}, "
                             f"start {j['start']} (want pass, {want})")
        steps, ph = phases(os.path.join(os.path.dirname(res), "steps.log"))
        rows.setdefault(mode, []).append((float(w) / batch, j["duration_s"], steps, ph,
                                          j.get("ready_s") or float("nan")))

LABEL = {"cold": "cold", "snapshot": "snapshot (RAM file, copy-on-write)",
         "stream": "snapshot (RAM in the stream)"}
rate = {}
modes = [m for m in ("cold", "snapshot", "stream") if m in rows]
for mode in modes:
    rs = rows[mode]
    n = len(rs)
    rate[mode] = 60.0 * n / sum(walls[mode])
    wall = med([r[0] for r in rs])
    steps = med([r[2] for r in rs])
    fixed = med([r[0] - r[2] for r in rs])
    ready = med([r[4] for r in rs])
    print(f"{LABEL[mode]}: {rate[mode]:5.1f} runs/min ({n} runs); a run: wall {wall:.2f} s, "
          f"steps {steps:.2f} s, fixed cost {fixed:.2f} s, ready_s {ready:.3f} (medians)")
print(f"ratio snapshot/cold runs per minute: {rate['snapshot'] / rate['cold']:.1f} x")
if "stream" in rate:
    print(f"ratio stream snapshot/cold runs per minute: {rate['stream'] / rate['cold']:.1f} x")
    print(f"ratio RAM file/stream runs per minute: {rate['snapshot'] / rate['stream']:.2f} x; "
          f"ready_s stream/file: {med([r[4] for r in rows['stream']]) / med([r[4] for r in rows['snapshot']]):.2f} x")
snaps = [m for m in modes if m != "cold"]
print("restored run, per phase (median s): " + "  ".join(f"{m:>8s}" for m in snaps))
names = []
for m in snaps:
    for r in rows[m]:
        for name, _ in r[3]:
            if name not in names:
                names.append(name)


def col(m, f):
    return f"{med([f(r) for r in rows[m]]):8.3f}"


for name in names:
    print(f"  {name:38s} " + "  ".join(
        col(m, lambda r: sum(s for nm, s in r[3] if nm == name)) for m in snaps))
print(f"  {'runner (invocation over its runs)':38s} " +
      "  ".join(col(m, lambda r: r[0] - r[1]) for m in snaps))
print(f"  {'fixed cost (wall minus steps)':38s} " +
      "  ".join(col(m, lambda r: r[0] - r[2]) for m in snaps))
print(f"  {'ready_s (QEMU start to driver ready)':38s} " +
      "  ".join(col(m, lambda r: r[4]) for m in snaps))
PY
