#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# gauntlet-data stress on a plain file, no VM (CTest data.stress_*).
#   stress.sh pass|corrupt GAUNTLET_DATA WORKDIR
#
# pass:    a timed run and a run ended by SIGTERM both pass, with the
#          final read-back and ops/s in the summary.
# corrupt: the negative control.  While a stress runs, this script (a helper
#          process) stops it, flips one byte in blocks the stress wrote,
#          and lets it finish with SIGTERM: the final read-back must fail
#          with the MISMATCH report.  The same run without the flip passes,
#          so the failure is the corruption's.  Blocks 64 apart, at least
#          9 of them over 4 threads: a thread still owes at most one request
#          (<= 32 blocks) when it resumes, so at most one corrupted block
#          per thread can be rewritten before the read-back.
set -euo pipefail
what="$1" tool="$2" dir="$3"
[[ -x "$tool" ]] || { echo "no gauntlet-data at '$tool'"; exit 1; }
mkdir -p "$dir"
f="$dir/stress-$what.img"
blocks=4096
rm -f "$f"; truncate -s $((blocks * 512)) "$f"

# Wait (bounded) for pid; sets rc.
wait_bounded() {
    local pid=$1 i
    for ((i = 0; i < 300; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid"; echo "stress did not end within 30 s"; exit 1
    fi
    rc=0; wait "$pid" || rc=$?
}

# A stress stopped with SIGSTOP; corrupt=1 flips bytes meanwhile.
stopped_run() {
    local corrupt=$1 name=$2 pid n=0 b off byte
    "$tool" stress "$f" --lba 0 --blocks $blocks --threads 4 --seed 5 \
        >"$dir/$name.out" 2>"$dir/$name.err" &
    pid=$!
    sleep 1.5
    kill -STOP "$pid"
    if [[ $corrupt == 1 ]]; then
        for ((b = 10; b < blocks; b += 64)); do
            [[ "$(dd if="$f" bs=512 skip=$b count=1 2>/dev/null | head -c 8)" == KSTRESS1 ]] || continue
            off=$((b * 512 + 200))
            byte=$(od -An -tu1 -j $off -N1 "$f" | tr -d ' ')
            printf "\\$(printf '%03o' $(( (byte ^ 0x5a) & 255 )))" |
                dd of="$f" bs=1 seek=$off conv=notrunc 2>/dev/null
            n=$((n + 1))
        done
        echo "$name: corrupted $n blocks the stress had written"
        (( n >= 9 )) || { kill -KILL "$pid"; echo "too few written blocks ($n)"; exit 1; }
    fi
    kill -TERM "$pid"
    kill -CONT "$pid"
    wait_bounded "$pid"
    echo "$name: status $rc"; cat "$dir/$name.out"; head -n 8 "$dir/$name.err"
}

case "$what" in
pass)
    "$tool" stress "$f" --lba 0 --blocks $blocks --threads 4 --duration 2 --seed 3 \
        >"$dir/timed.out"
    cat "$dir/timed.out"
    grep -q 'ops/s' "$dir/timed.out"
    grep -q '^stress: PASS$' "$dir/timed.out"
    grep -Eq 'verified [1-9][0-9]* blocks during the run and [1-9][0-9]* in the final read-back, 0 mismatches' "$dir/timed.out"
    # the file holds stress blocks now, and a later verify of a pattern fails
    if "$tool" verify "$f" --blocks 64 --pattern zero >/dev/null 2>&1; then
        echo "the stress wrote nothing"; exit 1
    fi
    stopped_run 0 sigterm
    [[ $rc == 0 ]] || { echo "an undisturbed run ended by SIGTERM failed"; exit 1; }
    grep -q '^stress: PASS$' "$dir/sigterm.out"
    ;;
corrupt)
    stopped_run 1 corrupt
    [[ $rc == 1 ]] || { echo "corruption not detected (status $rc)"; exit 1; }
    grep -q "gauntlet-data: MISMATCH $f lba [0-9]* byte offset 200 " "$dir/corrupt.err"
    grep -q '^stress: FAIL$' "$dir/corrupt.out"
    # positive control: the same dance without the flip passes
    rm -f "$f"; truncate -s $((blocks * 512)) "$f"
    stopped_run 0 control
    [[ $rc == 0 ]] || { echo "the control run failed: the failure above is not the corruption's"; exit 1; }
    ;;
*)
    echo "usage: stress.sh pass|corrupt TOOL DIR"; exit 2 ;;
esac
echo "stress.sh $what: ok"
