#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kestrelctl's commands through libkvfio, end to end, without VFIO or a VM:
# kestrelctl-double -d double: is the same kestrelctl and the same libkvfio
# as -d vfio:BDF, on Kestrel's device core in-process (kvfio_double.c),
# its media saved in a raw image between runs.
#
#   kestrelctl-double.sh CASE KESTRELCTL_DOUBLE GAUNTLET_LEDGER WORKDIR
#
# Cases:
#   io         write, then read --verify in another process; flush
#   stress     stress --verify with the ledger while completions are
#              dropped: timeouts, resets and retries counted, PASS, and
#              gauntlet-ledger holds the image to the ledger
#   corrupt    negative control: the device flips bits of READ data:
#              stress --verify must fail with mismatches
#   unplug     hold: the device request releases the device (exit 0)
#   ignored    negative control: hold --ignore-unplug-request keeps it
#              (exit 1, "still held"), unplug_ignored counted
set -u
case_=$1 K=$2 LEDGER=$3 W=$4/$1
rm -rf "$W" && mkdir -p "$W" || exit 2
export KVFIO_STATE_DIR=$W/state KVFIO_DOUBLE_DISK=$W/disk.img
unset KVFIO_DOUBLE_FAULTS KVFIO_DOUBLE_REQUEST_MS KVFIO_IGNORE_UNPLUG_REQUEST
fail() { echo "FAIL ($case_): $*"; exit 1; }
counter() { cat "$KVFIO_STATE_DIR/double/$1" 2>/dev/null || echo missing; }

case $case_ in
io)
    "$K" -d double: write --lba 8 --blocks 300 --pattern random --seed 5 \
        --ledger "$W/ledger" || fail "write"
    "$K" -d double: flush --ledger "$W/ledger" || fail "flush"
    "$K" -d double: read --lba 8 --blocks 300 --pattern random --seed 5 \
        --verify || fail "read --verify"
    # The other seed must not verify: the check can fail.
    "$K" -d double: read --lba 8 --blocks 300 --pattern random --seed 6 \
        --verify >"$W/neg.out" 2>&1 && fail "a wrong seed verified"
    "$LEDGER" check "$W/ledger" --backing "$W/disk.img" || fail "ledger"
    [ "$(counter opens)" = 4 ] || fail "opens $(counter opens), want 4"
    # The fixed path a target's stats key names.
    [ "$(cat "$KVFIO_STATE_DIR/last/opens")" = 4 ] || fail "last/opens"
    [ "$(counter timeouts)" = 0 ] || fail "timeouts $(counter timeouts)"
    "$K" -d double: counters --json | grep -q '"completed": [1-9]' ||
        fail "counters --json"
    ;;
stress)
    KVFIO_DOUBLE_FAULTS='cq.post:drop:every=40' KVFIO_TIMEOUT_MS=100 \
        "$K" -d double: stress --threads 2 --qd 8 --batches 30 --verify \
        --prefill --ledger "$W/ledger" || fail "stress"
    t=$(counter timeouts) r=$(counter resets) y=$(counter retries)
    [ "$t" -ge 1 ] && [ "$r" -ge "$t" ] && [ "$y" -ge "$t" ] ||
        fail "timeouts $t resets $r retries $y"
    [ "$(counter failed)" = 0 ] || fail "failed $(counter failed)"
    "$LEDGER" check "$W/ledger" --backing "$W/disk.img" || fail "ledger"
    ;;
failnth)
    # GAUNTLET_FAIL_NTH (gauntlet enumerate --kfault): a bad value, and a
    # kernel without /proc/thread-self/fail-nth, are refused with a
    # message and exit 1; without it the same stress passes
    for v in 0 abc 1000000001 -1; do
        GAUNTLET_FAIL_NTH=$v "$K" -d double: stress --threads 1 --qd 2 --batches 2 \
            --verify >"$W/out" 2>&1 && fail "GAUNTLET_FAIL_NTH=$v passed"
        grep -q "GAUNTLET_FAIL_NTH wants 1..1000000000, got '$v'" "$W/out" ||
            fail "GAUNTLET_FAIL_NTH=$v: no message"
    done
    if [ ! -e /proc/thread-self/fail-nth ]; then
        GAUNTLET_FAIL_NTH=3 "$K" -d double: stress --threads 1 --qd 2 --batches 2 \
            --verify >"$W/out" 2>&1 && fail "GAUNTLET_FAIL_NTH=3 passed without fail-nth"
        grep -q "GAUNTLET_FAIL_NTH: /proc/thread-self/fail-nth: No such file" "$W/out" ||
            fail "no fail-nth: no message"
    fi
    "$K" -d double: stress --threads 1 --qd 2 --batches 2 --verify >"$W/out" 2>&1 ||
        fail "the stress without GAUNTLET_FAIL_NTH failed"
    ;;
corrupt)
    KVFIO_DOUBLE_FAULTS='dma.write[op=read]:flip:every=5' \
        "$K" -d double: stress --threads 1 --qd 4 --batches 20 --verify \
        --prefill >"$W/out" 2>&1 && fail "stress passed on corrupted reads"
    grep -q "mismatch" "$W/out" || { cat "$W/out"; fail "no mismatch reported"; }
    ;;
unplug)
    KVFIO_DOUBLE_REQUEST_MS=300 "$K" -d double: hold --seconds 5 \
        >"$W/out" 2>&1 || { cat "$W/out"; fail "hold did not release"; }
    grep -q "released on the device request" "$W/out" || fail "no release"
    [ "$(counter released)" = 1 ] || fail "released $(counter released)"
    ;;
ignored)
    KVFIO_DOUBLE_REQUEST_MS=300 "$K" --ignore-unplug-request -d double: \
        hold --seconds 1 >"$W/out" 2>&1 && { cat "$W/out"; fail "released"; }
    grep -q "still held" "$W/out" || { cat "$W/out"; fail "no 'still held'"; }
    [ "$(counter released)" = 0 ] || fail "released $(counter released)"
    [ "$(counter unplug_ignored)" -ge 1 ] ||
        fail "unplug_ignored $(counter unplug_ignored)"
    ;;
*)
    echo "usage: $0 io|stress|corrupt|unplug|ignored KESTRELCTL GAUNTLET_LEDGER WORKDIR" >&2
    exit 2 ;;
esac
echo "PASS ($case_)"
