#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# ctest unit.fault_check: kestrel-fault-check judges rule texts in both
# vocabularies (--vocab kestrel, the default, and --vocab port), with the
# exit statuses and messages docs/targets.md gives; every rule of the
# Examples block of docs/fault-port.md is a valid port rule.
#   test-fault-check.sh PATH-TO-kestrel-fault-check [docs/fault-port.md]
set -u
tool=$1
doc=${2:-}
fails=0

# expect STATUS OUTPUT TEXT [ARGS...]: the tool, given TEXT on stdin,
# exits STATUS and prints OUTPUT (stdout).
expect() {
    want_rc=$1 want_out=$2 text=$3
    shift 3
    out=$(printf '%s' "$text" | "$tool" "$@" 2>/dev/null)
    rc=$?
    if [ "$rc" != "$want_rc" ] || [ "$out" != "$want_out" ]; then
        echo "FAIL: '$text' $*: got $rc '$out', want $want_rc '$want_out'"
        fails=$((fails + 1))
    fi
}

# Kestrel, by default and by name: as before the port existed
expect 0 2 "cq.post:drop:once;irq:delay(1ms)"
expect 0 2 "cq.post:drop:once;irq:delay(1ms)" --vocab kestrel
expect 0 0 ""
expect 1 "column 9: found 'bogus', expected an action (drop, delay, stall, corrupt, flip, duplicate, spurious, storm, fatal, allones, dma_error, lie, powercut)" "cq.post:bogus"
# port rules are not Kestrel's (the negative control of --vocab port)
expect 1 "column 1: found 'msi', expected a point (ctrl.enable, reg.read, sq.fetch, sgl.fetch, dma.read, dma.write, cq.post, irq, reset, power)" "msi:drop"
expect 1 "column 18: found '[', expected ':' (link takes no filter)" "link:allones;link[x]" --vocab port

# the port
expect 0 3 "msi[vector=3]:drop:nth=3;dma.write[addr=0x1000-0x1fff]:corrupt(offset=8,value=0x5a);link:allones" --vocab port
expect 0 1 "mmio.read[bar=2,off=0x10]:corrupt(value)" --vocab=port
expect 1 "column 1: found 'cq.post', expected a point (dma.read, dma.write, msi, mmio.read, cfg.read, link)" "cq.post:drop" --vocab port
expect 1 "column 15: found '6', expected a BAR number 0..5" "mmio.read[bar=6]:allones" --vocab port

# usage
expect 2 "" "msi:drop" --vocab
expect 2 "" "msi:drop" --vocab nvme
expect 2 "" "msi:drop" --strict
expect 2 "" "msi:drop" --vocab port extra

# the port's documented examples
if [ -n "$doc" ]; then
    examples=$(awk '/^## Examples/ { on = 1; next }
                    on && /^```/ { n++; next }
                    on && n == 1 { print }' "$doc")
    [ -n "$examples" ] || { echo "FAIL: no examples in $doc"; fails=$((fails + 1)); }
    echo "$examples" | while IFS= read -r rule; do
        expect 0 1 "$rule" --vocab port
        [ "$fails" -eq 0 ] || exit 1
    done || fails=$((fails + 1))
fi

if [ "$fails" -ne 0 ]; then
    echo "$fails failures"
    exit 1
fi
echo ok
