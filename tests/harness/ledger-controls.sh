#!/bin/sh
# ledger-controls.sh GAUNTLET TOP: the write ledger's negative controls and
# its positive one, in real VMs (docs/ledger.md):
#  - a power cut after FLUSHed writes passes with kestrel.ko, and fails the
#    ledger verdict with the test driver that completes FLUSH without
#    sending it (tests/targets/kestrel-noflush);
#  - dma.read:drop (zeros written, success said) fails the ledger verdict,
#    under kestrelctl stress and under a fixed-pattern kestrelctl write
#    followed by kestrelctl flush (WP records, B/F);
#  - a surprise removal under write load passes with a non-zero count of
#    writes checked after their acknowledgement;
#  - expect_fail (how lying-flush ships a negative control) fails the run
#    when the verdict it names does not fail.
gauntlet="$1" top="$2"
# shellcheck source=controls-lib.sh
. "$top/tests/harness/controls-lib.sh"

run "flushed-then-cut (kestrel.ko)" good "$vs/ledger-flushed-then-cut.yaml"
check "$out/good/ledger-flushed-then-cut/result.json" '
assert r["status"] == "pass", r["reason"]
assert v["ledger"]["status"] == "pass", v["ledger"]
assert l["writes_flushed"] > 0 and l["blocks_checked"] > 0, l
assert l["violations"] == 0 and l["power_cuts"] == 1, l
print("ok: power cut after flushes passes with kestrel.ko:", v["ledger"]["detail"])'

run "flushed-then-cut (kestrel-noflush)" noflush \
    --target "$top/tests/targets/kestrel-noflush" "$vs/ledger-flushed-then-cut.yaml"
check "$out/noflush/ledger-flushed-then-cut/result.json" '
assert r["status"] == "fail", r["status"]
assert v["ledger"]["status"] == "fail", v["ledger"]
assert l["violations"] > 0, l
e = l["violation_list"][0]
assert "flushed" in e["expected"], e
print("ok: a driver that never sends FLUSH fails the ledger:", v["ledger"]["detail"])'

run "dma.read:drop" drop "$vs/ledger-dma-drop.yaml"
check "$out/drop/ledger-dma-drop/result.json" '
assert r["status"] == "fail", r["status"]
assert r["failure"]["verdict"] == "ledger", r["failure"]
assert l["violations"] > 0 and l["writes_acknowledged"] > 0, l
e = l["violation_list"][0]
assert "zero" in e["found"], e
print("ok: dma.read:drop fails the ledger:", v["ledger"]["detail"])'

run "dma.read:drop under kestrelctl write" pdrop "$vs/ledger-pattern-dma-drop.yaml"
check "$out/pdrop/ledger-pattern-dma-drop/result.json" '
assert r["status"] == "fail", r["status"]
assert r["failure"]["verdict"] == "ledger", r["failure"]
assert l["violations"] > 0 and l["pattern_writes"] > 0, l
assert l["writes_flushed"] == l["writes_acknowledged"], l
e = l["violation_list"][0]
assert "pattern random seed 4 (flushed" in e["expected"] and e["found"] == "zeros", e
print("ok: dma.read:drop under a pattern write fails the ledger:", v["ledger"]["detail"])'

run "surprise removal under load" surprise "$top/scenarios/surprise-removal-under-load.yaml"
check "$out/surprise/surprise-removal-under-load/result.json" '
assert r["status"] == "pass", r["reason"]
assert v["ledger"]["status"] == "pass", v["ledger"]
assert l["writes_checked"] > 0 and l["blocks_checked"] > 0, l
print("ok: surprise removal under writes passes the ledger:", v["ledger"]["detail"])'

# expect_fail (lying-flush's way of shipping a negative control) fails the
# run when its verdict does not fail
run "expect_fail unmet" unmet "$vs/expect-fail-unmet.yaml"
check "$out/unmet/expect-fail-unmet/result.json" '
assert r["status"] == "fail", r["status"]
assert r["failure"]["verdict"] == "kernel-log", r["failure"]
assert "expected to fail (expect_fail) but passed" in v["kernel-log"]["detail"], v["kernel-log"]
print("ok: an expect_fail verdict that passes fails the run")'

controls_end
