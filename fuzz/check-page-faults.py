#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Page faults per execution of a fuzz target (tests fuzz.faults.<target>).

    check-page-faults.py BINARY SEED_DIR DICT LIMIT [RUNS]

Runs BINARY twice from the seeds in SEED_DIR (-seed_inputs, no corpus
directory, -seed=1, the dictionary DICT if it exists): BASE executions,
then BASE + RUNS (default 20000).  With the same seed the second run
repeats the first and goes on, so the difference of their minor page
faults (getrusage of the child) over RUNS is what one more execution
costs, start-up aside.  Fails when it is above LIMIT.  ASan's quarantine
is off in these runs (ASAN_OPTIONS gets quarantine_size_mb=0): a freed
block is reused at once, so what is counted is memory mapped afresh for
each input, not the quarantine's first 256 MiB filling up (which a long
campaign pays once).

Why: a target whose input allocates a large buffer pays, under ASan, a
fresh mmap, its page faults and an munmap every execution (ASan's
allocator maps every block above 128 KiB).  fuzz_device did so for the
write cache's 1 MiB write-back buffer, at 22 page faults per execution:
a third of its time went to the kernel and it ran at a fifth of its
speed.  Page faults, unlike executions per second, do not depend on how
loaded the machine is, so this test can guard the speed on a shared CI.

LIMIT 0 makes any page fault a failure: that is the negative control
(fuzz.faults_control, WILL_FAIL): it shows that the count is read.
"""
import os
import resource
import subprocess
import sys
import tempfile

BASE = 2000


def run(binary, seeds, dictionary, runs, workdir):
    """Minor page faults of one run of `runs` executions."""
    args = [binary, f"-runs={runs}", "-seed=1", "-max_len=4096",
            "-print_final_stats=1", f"-seed_inputs={seeds}"]
    if dictionary and os.path.isfile(dictionary):
        args.append(f"-dict={dictionary}")
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = ":".join(
        o for o in (env.get("ASAN_OPTIONS", ""), "quarantine_size_mb=0") if o)
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_minflt
    with open(os.path.join(workdir, f"run-{runs}.log"), "w+") as log:
        proc = subprocess.run(args, stdout=log, stderr=subprocess.STDOUT,
                              cwd=workdir, env=env, timeout=600,
                              check=False)
        after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_minflt
        log.seek(0)
        text = log.read()
    if proc.returncode != 0:
        sys.stderr.write(text[-4000:])
        sys.exit(f"{binary}: exit status {proc.returncode}")
    units = None
    for line in text.splitlines():
        if line.startswith("stat::number_of_executed_units:"):
            units = int(line.rsplit(":", 1)[1])
    if units != runs:
        sys.exit(f"{binary}: {units} executions, expected {runs}")
    return after - before


def main():
    if len(sys.argv) not in (5, 6):
        sys.exit(__doc__.strip().splitlines()[2].strip())
    binary, seed_dir, dictionary = map(os.path.abspath, sys.argv[1:4])
    limit = float(sys.argv[4])
    runs = int(sys.argv[5]) if len(sys.argv) == 6 else 20000
    seeds = sorted(os.path.join(seed_dir, f) for f in os.listdir(seed_dir)
                   if not f.startswith(".") and f != "README")
    if not seeds or runs <= 0:
        sys.exit(f"no seeds in {seed_dir} or RUNS {runs} not positive")
    with tempfile.TemporaryDirectory(prefix="gauntlet-faults-") as work:
        first = run(binary, ",".join(seeds), dictionary, BASE, work)
        second = run(binary, ",".join(seeds), dictionary, BASE + runs, work)
    per = max(second - first, 0) / runs
    name = os.path.basename(binary)
    print(f"{name}: {first} minor page faults in {BASE} executions, "
          f"{second} in {BASE + runs}: {per:.3f} per execution "
          f"(limit {limit:g})")
    if per > limit:
        print(f"FAIL: {name} takes {per:.3f} page faults per execution, "
              f"more than {limit:g} (a large allocation per input?)")
        sys.exit(1)
    print("ok")


if __name__ == "__main__":
    main()
