#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The write ledger end to end on plain files, no VM (CTest data.ledger_*):
# gauntlet-data stress --ledger L, then gauntlet-ledger check L --backing F.
#   ledger.sh CASE GAUNTLET_DATA GAUNTLET_LEDGER WORKDIR
#
# pass       a stress run's ledger checks clean (strict and relaxed), with
#            non-zero counts in the JSON; GAUNTLET_LEDGER is used and
#            --no-ledger wins over it; two processes appending to one
#            ledger at once check clean with --map.
# lost       zero a block whose last write a flush covered: a violation
#            naming the lba and the generation (relaxed, so only the flush
#            holds it).
# rollback   a block rolled back to the older generation of an earlier
#            session (a copy of the file taken between two sessions).
# torn       one byte flipped in a written block: torn.
# powercut   no flushes; every block zeroed: fails under --end strict, and
#            passes once the harness's P line follows the writes.
# malformed  a malformed line: status 2 with its line number; a ledger
#            whose last line is partial (a power cut) is read without it.
# pattern    gauntlet-data write --ledger (fixed patterns: WP records, its
#            fsync's B/F): checks clean with a pattern_writes count; a
#            block zeroed is lost, naming "pattern random seed 4 (flushed";
#            a stress run over it and a rollback to the pattern (older:
#            lost), then a pattern write over it again (clean); a
#            kestrelctl-flush-like session's B/F makes a pattern write
#            before a P line flushed (zeros fail), without it they pass;
#            malformed WP/XP lines: status 2 with the line number; verify
#            records nothing.
# errors     usage and I/O errors: status 2 (checker) or 1 (an unwritable
#            ledger for the stress), with the path.
set -euo pipefail
what="$1" tool="$2" checker="$3" dir="$4/ledger-$what"
[[ -x "$tool" && -x "$checker" ]] || { echo "no gauntlet-data or gauntlet-ledger"; exit 1; }
rm -rf "$dir"; mkdir -p "$dir"
f="$dir/disk.img" L="$dir/ledger"
blocks=2048

fresh() { rm -f "$f" "$L"; truncate -s $((blocks * 512)) "$f"; }
stress() { "$tool" stress "$f" --lba 0 --blocks $blocks --threads 4 --duration 1 "$@" >"$dir/stress.out"; }
# check EXPECTED_STATUS ARGS...: runs the checker, output in $dir/check.*
check() {
    local want=$1 rc=0; shift
    "$checker" check "$@" >"$dir/check.out" 2>"$dir/check.err" || rc=$?
    cat "$dir/check.out"; head -n 5 "$dir/check.err"
    [[ $rc == "$want" ]] || { echo "gauntlet-ledger check $*: status $rc, wanted $want"; exit 1; }
}
json() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$dir/j.json" "$1"; }
# The blocks whose last W record a successful flush covers, as "lba gen"
# (the flush's B record after the W, its F record anywhere after).
flushed_blocks() {
    awk '$1 == "W" { for (i = 0; i < $6; i++) { last[$5 + i] = NR; gen[$5 + i] = $7 } }
         $1 == "B" { b[$3] = NR } $1 == "F" && b[$3] > lastb { lastb = b[$3] }
         END { for (k in last) if (last[k] < lastb) print k, gen[k] }' "$L" | sort -n
}
flip() {    # flip one byte of block $1 at offset $2
    local off=$(($1 * 512 + $2)) byte
    byte=$(od -An -tu1 -j $off -N1 "$f" | tr -d ' ')
    printf "\\$(printf '%03o' $(( (byte ^ 0x5a) & 255 )))" | dd of="$f" bs=1 seek=$off conv=notrunc 2>/dev/null
}
zero_block() { dd if=/dev/zero of="$f" bs=512 seek="$1" count=1 conv=notrunc 2>/dev/null; }

case "$what" in
pass)
    fresh
    stress --ledger "$L" --flush-pct 5
    grep -q '^stress: PASS$' "$dir/stress.out"
    grep -q "^stress: ledger $L session [0-9a-f]\{16\}$" "$dir/stress.out"
    check 0 "$L" --backing "$f" --json "$dir/j.json"
    for k in writes_acknowledged writes_flushed writes_checked blocks_checked; do
        (( $(json $k) > 0 )) || { echo "$k is $(json $k)"; exit 1; }
    done
    [[ $(json violations) == 0 && $(json sessions) == 1 && $(json end) == strict ]]
    (( $(json writes_acknowledged) == $(grep -c '^W ' "$L") ))
    check 0 "$L" --backing "$f" --end relaxed
    # $GAUNTLET_LEDGER when no option; --no-ledger wins over it
    rm -f "$L"
    GAUNTLET_LEDGER="$L" stress
    [[ $(grep -c '^GLEDGER1 S ' "$L") == 1 ]] || { echo "GAUNTLET_LEDGER not used"; exit 1; }
    check 0 "$L" --backing "$f"
    g="$dir/disk2.img"; rm -f "$g"; truncate -s $((blocks * 512)) "$g"
    GAUNTLET_LEDGER="$L" "$tool" stress "$g" --lba 0 --blocks $blocks --duration 1 --no-ledger >/dev/null
    [[ $(grep -c '^GLEDGER1 S ' "$L") == 1 ]] || { echo "--no-ledger did not win"; exit 1; }
    # two processes, two files, one ledger at once: whole lines, both clean
    fresh; rm -f "$g"; truncate -s $((blocks * 512)) "$g"
    "$tool" stress "$f" --lba 0 --blocks $blocks --duration 1 --seed 3 --ledger "$L" >/dev/null &
    p1=$!
    "$tool" stress "$g" --lba 0 --blocks $blocks --duration 1 --seed 4 --ledger "$L" >/dev/null
    wait $p1
    check 0 "$L" --map "$f=$f" --map "$g=$g" --json "$dir/j.json"
    [[ $(json sessions) == 2 ]]
    # and the same ledger against the wrong files fails
    check 1 "$L" --map "$f=$g" --map "$g=$f"
    # the same two on one tty (a pty the test reads, as the host reads the
    # guest's serial port): raw, whole lines, both clean
    fresh; rm -f "$g"; truncate -s $((blocks * 512)) "$g"
    python3 - "$tool" "$f" "$g" "$L" $blocks <<'PY'
import os, select, subprocess, sys, time
tool, f, g, out, blocks = sys.argv[1:6]
m, s = os.openpty()
tty = os.ttyname(s)
procs = [subprocess.Popen([tool, "stress", path, "--lba", "0", "--blocks", blocks,
                           "--duration", "1", "--seed", seed, "--ledger", tty],
                          stdout=subprocess.DEVNULL) for path, seed in ((f, "3"), (g, "4"))]
# s stays open here until the writers are done: a pty whose slave nobody
# holds reads EIO, and the writers may not have opened it yet
data, end = b"", time.time() + 60
while time.time() < end:
    r, _, _ = select.select([m], [], [], 0.2)
    if r:
        data += os.read(m, 65536)
    elif all(p.poll() is not None for p in procs):
        break
for p in procs:
    if p.poll() is None:
        p.kill()
rc = [p.wait(timeout=10) for p in procs]
os.close(s)
open(out, "wb").write(data)
assert rc == [0, 0], rc
assert b"\r" not in data, "the tty was not set raw"
PY
    check 0 "$L" --map "$f=$f" --map "$g=$g" --json "$dir/j.json"
    [[ $(json sessions) == 2 ]] && (( $(json writes_acknowledged) > 0 ))
    ;;
lost)
    fresh
    stress --ledger "$L" --flush-pct 20
    read -r lba gen < <(flushed_blocks | head -n 1)
    [[ -n ${lba:-} ]] || { echo "no flushed block in the ledger"; exit 1; }
    check 0 "$L" --backing "$f" --end relaxed
    zero_block "$lba"
    check 1 "$L" --backing "$f" --end relaxed --json "$dir/j.json"
    grep -q "VIOLATION lost $f lba $lba (device $f): expected session [0-9a-f]* thread [0-9] gen $gen (flushed at ledger line [0-9]*) or later; found zeros" "$dir/check.err"
    [[ $(json violations) == 1 ]]
    python3 - "$dir/j.json" "$lba" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
v = j["violation_list"][0]
assert v["lba"] == int(sys.argv[2]) and v["kind"] == "lost" and v["found"] == "zeros", v
assert set(v) == {"lba", "device", "backing", "kind", "expected", "found"}, v
assert set(j) == {"sessions", "power_cuts", "writes_acknowledged", "writes_flushed",
                  "writes_failed", "pattern_writes", "writes_checked", "blocks_checked", "violations",
                  "partial_lines", "end", "violation_list"}, j
PY
    ;;
rollback)
    fresh
    stress --ledger "$L" --seed 11
    cp "$f" "$dir/old.img"
    stress --ledger "$L" --seed 12
    check 0 "$L" --backing "$f"
    # a block both sessions wrote, back to the first session's content
    lba=$(awk '/^GLEDGER1 S/ { n++ }
               $1 == "W" { for (i = 0; i < $6; i++) w[n, $5 + i] = 1 }
               END { for (b = 0; b < '$blocks'; b++) if (w[1, b] && w[2, b]) { print b; exit } }' "$L")
    [[ -n $lba ]] || { echo "no block written by both sessions"; exit 1; }
    dd if="$dir/old.img" of="$f" bs=512 skip="$lba" seek="$lba" count=1 conv=notrunc 2>/dev/null
    check 1 "$L" --backing "$f"
    grep -Eq "VIOLATION lost $f lba $lba .*found gen [0-9]+ \(session [0-9a-f]{16} thread [0-9], acknowledged at ledger line [0-9]+: older\)" "$dir/check.err"
    ;;
torn)
    fresh
    stress --ledger "$L"
    lba=$(awk '$1 == "W" { print $5; exit }' "$L")
    flip "$lba" 300
    check 1 "$L" --backing "$f"
    grep -q "VIOLATION torn $f lba $lba .*found torn (header: seed 1 thread [0-9] gen [0-9]*, checksum bad)" "$dir/check.err"
    ;;
powercut)
    fresh
    stress --ledger "$L" --flush-pct 0
    ! grep -q '^B ' "$L"
    check 0 "$L" --backing "$f"
    fresh_data() { rm -f "$f"; truncate -s $((blocks * 512)) "$f"; }
    fresh_data                          # every write lost
    check 1 "$L" --backing "$f" --max-violations 3 --json "$dir/j.json"
    listed() { python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["violation_list"]))' "$dir/j.json"; }
    (( $(json violations) > 20 )) && [[ $(listed) == 3 ]]
    check 1 "$L" --backing "$f" --json "$dir/j.json"
    [[ $(listed) == 20 ]]               # the default
    check 0 "$L" --backing "$f" --end relaxed
    echo "P qemu killed (power cut)" >>"$L"
    echo "C a comment from the harness" >>"$L"
    check 0 "$L" --backing "$f" --json "$dir/j.json"
    [[ $(json power_cuts) == 1 && $(json writes_checked) == 0 ]]
    (( $(json blocks_checked) > 0 ))
    ;;
malformed)
    fresh
    stress --ledger "$L"
    n=$(($(wc -l <"$L") + 1))
    cp "$L" "$dir/good"
    echo "W 0123 what" >>"$L"
    echo "C after it" >>"$L"
    check 2 "$L" --backing "$f"
    grep -q "^gauntlet-ledger: $L:$n: " "$dir/check.err"
    # a last line cut short is ignored and counted
    head -c -7 "$dir/good" >"$L"
    check 0 "$L" --backing "$f" --json "$dir/j.json"
    [[ $(json partial_lines) == 1 ]]
    # a ledger of only a partial line
    printf 'GLEDGER1 S 01234' >"$L"
    check 0 "$L" --backing "$f" --json "$dir/j.json"
    [[ $(json partial_lines) == 1 && $(json sessions) == 0 && $(json blocks_checked) == 0 ]]
    ;;
pattern)
    fresh
    "$tool" write "$f" --lba 100 --blocks 300 --pattern random --seed 4 --ledger "$L" >/dev/null
    grep -q '^GLEDGER1 S [0-9a-f]\{16\} tool=gauntlet-data-write .* threads=1 pattern=random$' "$L"
    [[ $(grep -c '^WP ' "$L") -ge 1 && $(grep -c '^B ' "$L") == 1 && $(grep -c '^F ' "$L") == 1 ]]
    check 0 "$L" --backing "$f" --json "$dir/j.json"
    (( $(json pattern_writes) == $(grep -c '^WP ' "$L") && $(json writes_flushed) == $(json writes_acknowledged) ))
    (( $(json blocks_checked) == 300 ))
    # verify records nothing, and takes no ledger option
    GAUNTLET_LEDGER="$L" "$tool" verify "$f" --lba 100 --blocks 300 --pattern random --seed 4 >/dev/null
    [[ $(grep -c '^GLEDGER1 S ' "$L") == 1 ]] || { echo "verify recorded"; exit 1; }
    # a block of it zeroed: lost, named
    cp "$f" "$dir/pattern.img"
    zero_block 250
    check 1 "$L" --backing "$f" --end relaxed
    grep -q "VIOLATION lost .* lba 250 .*expected session [0-9a-f]* pattern random seed 4 (flushed at ledger line 2) or later; found zeros" "$dir/check.err"
    # a stress run over part of it (4 threads on 100..163), then back to the pattern
    cp "$dir/pattern.img" "$f"
    "$tool" stress "$f" --lba 100 --blocks 64 --duration 1 --seed 11 --flush-pct 20 --ledger "$L" >/dev/null
    check 0 "$L" --backing "$f"
    b=$(awk '$1 == "W" { print $5; exit }' "$L")
    dd if="$dir/pattern.img" of="$f" bs=512 skip="$b" seek="$b" count=1 conv=notrunc 2>/dev/null
    check 1 "$L" --backing "$f"
    grep -q "VIOLATION lost .* lba $b .*found pattern random seed 4 (session [0-9a-f]*, acknowledged at ledger line 2: older)" "$dir/check.err"
    GAUNTLET_LEDGER="$L" "$tool" write "$f" --lba 100 --blocks 64 --pattern 0x5a >/dev/null
    check 0 "$L" --backing "$f" --json "$dir/j.json"
    (( $(json sessions) == 3 ))
    # kestrelctl write ... && kestrelctl flush, then a power cut: hand-made
    # from a real WP record (kestrelctl is the guest's)
    fresh
    "$tool" write "$f" --lba 0 --blocks 8 --pattern random --seed 4 --ledger "$dir/real" >/dev/null
    sid=$(awk '$2 == "S" { print $3 }' "$dir/real")
    {   echo "GLEDGER1 S $sid tool=kestrelctl-write dev=/dev/kestrel0 seed=4 bs=512 lba=0 blocks=8 threads=1 pattern=random"
        grep '^WP ' "$dir/real"
        echo "E $sid writes=1 flushes=0"
        echo "GLEDGER1 S 00000000000000ee tool=kestrelctl-flush dev=/dev/kestrel0 seed=0 bs=512 lba=0 blocks=0 threads=1"
        echo "B 00000000000000ee 1"
        echo "F 00000000000000ee 1"
        echo "E 00000000000000ee writes=0 flushes=1"
        echo "P power cut"; } >"$L"
    check 0 "$L" --backing "$f" --json "$dir/j.json"
    (( $(json writes_flushed) == 1 && $(json power_cuts) == 1 ))
    zero_block 3
    check 1 "$L" --backing "$f"
    grep -q "lba 3 .*pattern random seed 4 (flushed at ledger line 2)" "$dir/check.err"
    grep -v '^[BF] 00000000000000ee' "$L" | sed 's/flushes=1/flushes=0/' >"$L.noflush"
    check 0 "$L.noflush" --backing "$f"     # unflushed before the cut: old or new
    # malformed pattern records: status 2 with the line number
    for bad in "WP $sid 1 0 8 random 4" "WP $sid 1 0 8 nope 4 0123456789abcdef" \
               "XP $sid 1 0 8 random" "WP $sid 1 0 99 random 4 0123456789abcdef"; do
        { head -n 1 "$L"; echo "$bad"; } >"$L.bad"
        check 2 "$L.bad" --backing "$f"
        grep -q "^gauntlet-ledger: $L.bad:2: " "$dir/check.err" || { echo "no line number for '$bad'"; cat "$dir/check.err"; exit 1; }
    done
    # a WP csum that is not its pattern's: a broken ledger
    sed 's/^\(WP .*\) [0-9a-f]\{16\}$/\1 0123456789abcdef/' "$L" >"$L.bad"
    check 2 "$L.bad" --backing "$f"
    grep -q "$L.bad:2: the WP record's csum" "$dir/check.err"
    ;;
errors)
    fresh
    stress --ledger "$L"
    check 2 "$L"
    grep -q -- "--backing FILE or --map DEV=FILE is needed" "$dir/check.err"
    check 2 "$L" --backing "$dir/no-such.img"
    grep -q "cannot read the backing file $dir/no-such.img" "$dir/check.err"
    check 2 "$dir/no-such-ledger" --backing "$f"
    grep -q "cannot read the ledger $dir/no-such-ledger" "$dir/check.err"
    check 2 "$L" --backing "$f" --end sometimes
    check 2 "$L" --map "nodevice"
    truncate -s 4096 "$f"
    check 2 "$L" --backing "$f"
    grep -q "beyond the end of the backing file" "$dir/check.err"
    rc=0; "$tool" stress "$f" --lba 0 --blocks 8 --duration 1 --ledger "$dir/no/such/L" \
        >/dev/null 2>"$dir/stress.err" || rc=$?
    [[ $rc == 1 ]] && grep -q "ledger $dir/no/such/L: open: No such file or directory" "$dir/stress.err" ||
        { echo "an unwritable ledger: status $rc"; cat "$dir/stress.err"; exit 1; }
    ;;
*)
    echo "usage: ledger.sh pass|lost|rollback|torn|powercut|malformed|pattern|errors TOOL CHECKER DIR"; exit 2 ;;
esac
echo "ledger.sh $what: ok"
