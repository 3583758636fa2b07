#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Pattern write/verify on plain files (CTest data.patterns_*, data.bad_usage).
#   patterns.sh roundtrip|mismatch|usage GAUNTLET_DATA WORKDIR
set -e
what="$1" tool="$2" dir="$3"
[ -x "$tool" ] || { echo "no gauntlet-data at '$tool'"; exit 1; }
mkdir -p "$dir"

case "$what" in
roundtrip)
    # Every pattern written over a fresh file reads back; and so do several
    # regions of one file written with different patterns.
    f="$dir/roundtrip.img"; rm -f "$f"
    for p in seq random zero 0x5a; do
        "$tool" write "$f" --lba 3 --blocks 40 --pattern $p --seed 9 --block-size 4096
        "$tool" verify "$f" --lba 3 --blocks 40 --pattern $p --seed 9 --block-size 4096
    done
    # more than one request's worth (1 MiB) of 512-byte blocks
    "$tool" write "$f" --lba 0 --blocks 5000 --pattern random --seed 1
    "$tool" verify "$f" --lba 0 --blocks 5000 --pattern random --seed 1
    # --cached (the harness's host check): the same check, nothing dropped
    "$tool" verify "$f" --lba 0 --blocks 5000 --pattern random --seed 1 --cached
    ;;
mismatch)
    f="$dir/mismatch.img"; rm -f "$f"
    "$tool" write "$f" --lba 0 --blocks 64 --pattern seq --seed 7
    printf '\231' | dd of="$f" bs=1 seek=8728 conv=notrunc 2>/dev/null
    if "$tool" verify "$f" --lba 0 --blocks 64 --pattern seq --seed 7 2>"$f.err"; then
        echo 'corruption not detected'; exit 1
    fi
    cat "$f.err"
    grep -q 'MISMATCH .* lba 17 byte offset 24 (absolute byte 8728): expected 0x18 got 0x99' "$f.err"
    grep -q '1 of 64 blocks MISMATCH' "$f.err"
    # --cached reads the same bytes: the corruption is found all the same
    if "$tool" verify "$f" --lba 0 --blocks 64 --pattern seq --seed 7 --cached 2>"$f.err"; then
        echo 'corruption not detected with --cached'; exit 1
    fi
    grep -q '1 of 64 blocks MISMATCH' "$f.err"
    if "$tool" verify "$f" --lba 0 --blocks 16 --pattern seq --seed 8 2>/dev/null; then
        echo 'wrong seed not detected'; exit 1
    fi
    # past the end of the file is an error, not a pass
    if "$tool" verify "$f" --lba 60 --blocks 8 --pattern seq --seed 7 2>"$f.err"; then
        echo 'read past the end not reported'; exit 1
    fi
    grep -q 'beyond the end of the file' "$f.err"
    ;;
usage)
    # Bad input: status 2 and a message naming the problem; nothing written.
    f="$dir/usage.img"; rm -f "$f"
    expect2() {
        want="$1"; shift
        set +e; "$tool" "$@" >"$f.out" 2>&1; rc=$?; set -e
        if [ "$rc" != 2 ] || ! grep -q -- "$want" "$f.out"; then
            echo "'$*': status $rc, output:"; cat "$f.out"
            echo "(wanted status 2 and '$want')"; exit 1
        fi
    }
    expect2 "unknown command 'frobnicate'" frobnicate
    expect2 "blocks N (> 0) is required" write "$f"
    expect2 "unknown pattern 'bogus'" write "$f" --blocks 4 --pattern bogus
    expect2 "bad byte '0x100'" verify "$f" --blocks 4 --pattern 0x100
    expect2 "bad --block-size 12" write "$f" --blocks 4 --block-size 12
    expect2 "bad number 'ten'" write "$f" --blocks ten
    expect2 "exactly one FILE" write --blocks 4
    expect2 "cached is verify's" write "$f" --blocks 4 --cached
    expect2 "lba L and --blocks N" stress "$f" --blocks 4
    expect2 "threads must be 1..64" stress "$f" --lba 0 --blocks 4 --threads 0
    expect2 "percentages" stress "$f" --lba 0 --blocks 4 --read-pct 101
    expect2 "bad number of seconds" stress "$f" --lba 0 --blocks 4 --duration -1
    expect2 "flush: exactly one FILE" flush
    [ ! -e "$f" ] || { echo "a refused command created $f"; exit 1; }
    # a missing file is a clear error (status 1)
    set +e; "$tool" verify "$dir/no-such.img" --blocks 1 2>"$f.out"; rc=$?; set -e
    [ "$rc" = 1 ] && grep -q "cannot open .*no-such.img" "$f.out" ||
        { echo "missing file: status $rc"; cat "$f.out"; exit 1; }
    # flush: fsync (a device's cache FLUSH); a missing path is status 1
    set +e; "$tool" flush "$dir/no-such.img" 2>"$f.out"; rc=$?; set -e
    [ "$rc" = 1 ] && grep -q "flush: .*no-such.img" "$f.out" ||
        { echo "flush of a missing file: status $rc"; cat "$f.out"; exit 1; }
    : >"$f"
    "$tool" flush "$f" | grep -q "flushed" || { echo "flush of a file failed"; exit 1; }
    rm -f "$f"
    ;;
*)
    echo "usage: patterns.sh roundtrip|mismatch|usage TOOL DIR"; exit 2 ;;
esac
echo "patterns.sh $what: ok"
