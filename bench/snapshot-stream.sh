#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Why the runner saves snapshots with `cat` and not `gzip -1`: the time for
# QEMU to load the migration stream each way, and the stream's size.
#
#   bench/snapshot-stream.sh [-n N]
#
# Saves a snapshot of bench/ready.yaml with `gauntlet run --snapshot`,
# restores it once to get the restored QEMU command line, gzips the stream
# (gzip -1), then N times each (default 5, alternating) starts that QEMU
# with -incoming defer and times QMP migrate-incoming from
# "exec:cat vm.mig" and from "exec:gzip -dc vm.mig.gz" until query-migrate
# says completed.  Prints the sizes, every sample and the medians.  QMP is
# spoken by python3 (a QEMU build dependency).  Set GAUNTLET_NO_BUILD=1
# when the build is current.
set -euo pipefail

. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib.sh"
n=5
while [[ $# -gt 0 ]]; do
    case $1 in
    -n) n=${2-}; shift; shift || true ;;
    -h|--help) bench_help ;;
    *) bench_unknown "$1" ;;
    esac
done
bench_posint -n "$n"
bench_build
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for r in save restore; do
    GAUNTLET_NO_BUILD=1 "$TOP/gauntlet" run -j 1 --accel tcg --snapshot \
        --snapshot-dir "$work/snapshots" --out "$work/$r" "$TOP/bench/ready.yaml" \
        >"$work/$r.log" 2>&1 || { cat "$work/$r.log" >&2; exit 1; }
done
snap=$(ls -d "$work"/snapshots/kestrel-*/)
gzip -1 -c "$snap/vm.mig" >"$work/vm.mig.gz"
printf 'stream: %d bytes raw, %d bytes gzip -1\n' "$(stat -c %s "$snap/vm.mig")" \
    "$(stat -c %s "$work/vm.mig.gz")"

python3 - "$work" "$work/restore/bench-ready" "$snap/vm.mig" "$work/vm.mig.gz" "$n" <<'PY'
import json, os, shlex, socket, statistics, subprocess, sys, time

work, rundir, raw, gz, n = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
cmd = shlex.split(open(os.path.join(rundir, "qemu-cmdline.txt")).read())
d = os.path.join(work, "vm")
os.makedirs(d)
cmd = [a.replace(rundir, d) for a in cmd]

def load(uri):
    for f in ("qmp.sock", "agent.sock"):
        if os.path.exists(os.path.join(d, f)):
            os.unlink(os.path.join(d, f))
    subprocess.run(["cp", "--sparse=always", os.path.join(rundir, "disk-k1.img"), d], check=True)
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        s = socket.socket(socket.AF_UNIX)
        end = time.time() + 30
        while True:
            try:
                s.connect(os.path.join(d, "qmp.sock"))
                break
            except OSError:
                if time.time() > end or p.poll() is not None:
                    sys.exit("QEMU did not come up")
                time.sleep(0.005)
        s.settimeout(30)
        f = s.makefile("rw")
        def qmp(c, a=None):
            f.write(json.dumps({"execute": c, **({"arguments": a} if a else {})}) + "\n")
            f.flush()
            while True:
                r = json.loads(f.readline())
                if "return" in r or "error" in r:
                    return r
        f.readline()
        qmp("qmp_capabilities")
        t = time.time()
        qmp("migrate-incoming", {"uri": uri})
        while True:
            st = qmp("query-migrate")["return"].get("status")
            if st == "completed":
                break
            if st == "failed" or time.time() > t + 60:
                sys.exit("migration " + str(st))
            time.sleep(0.005)
        took = time.time() - t
        qmp("quit")
        p.wait(timeout=30)
        return took
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()

cat, gzd = [], []
for i in range(n):
    cat.append(load("exec:cat '%s'" % raw))
    gzd.append(load("exec:gzip -dc '%s'" % gz))
fmt = lambda v: " ".join("%.3f" % x for x in v)
print("load with cat:      median %.2f s  (n=%d: %s)" % (statistics.median(cat), n, fmt(cat)))
print("load with gzip -dc: median %.2f s  (n=%d: %s)" % (statistics.median(gzd), n, fmt(gzd)))
PY
