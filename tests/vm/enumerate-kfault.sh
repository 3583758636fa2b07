#!/usr/bin/env bash
# vm.enumerate_kfault: a real kernel-side enumeration on the debug kernel
# (docs/enumerate.md, --kfault): a tiny kestrelctl stress workload (one
# thread, 2 batches of at most 8 blocks, verified), failslab with fail-nth
# over its ioctls, counting only the driver's sites (kmemleak's silent
# metadata allocations left out: docs/enumerate.md).  The clean run must
# count at least one failslab site; each run n = 1..min(3, sites) must
# pass with every verdict, its workload must report exactly one injection
# at fail-nth n, and the kfault-fired verdict must have found it with
# [kestrel] on the stack.  The report names the driver's error paths each
# run reached (gcov): at least one run reached a line of kestrel's code
# that the clean run did not.
# With PART fail_function (vm.enumerate_kfault_function):
# fail_function:kestrel_req_map over the same workload instead: its calls
# counted, calls 1 and 2 failed in turn, both runs pass with the failure
# reported in kestrel's code.
#   enumerate-kfault.sh GAUNTLET OUT [failslab|fail_function]
set -euo pipefail
gauntlet="$1" out="$2" part="${3:-failslab}"
fail() { echo "FAIL: $*" >&2; exit 1; }
wl="kestrelctl -d /dev/kestrel0 stress --lba 8192 --blocks 16 --batches 2 --threads 1 --qd 2 --blocks-max 8 --seed 3 --verify --allow-errors --keep-going"
case "$part" in
failslab) ;;
fail_function) out="$out-ff" ;;
*) fail "unknown part '$part' (failslab or fail_function)" ;;
esac
rm -rf "$out"
if [[ "$part" == failslab ]]; then
GAUNTLET_NO_BUILD=1 "$gauntlet" enumerate -j 1 --kernel debug --out "$out" --max-n 3 \
    --shrink-attempts 3 --workload "$wl" --kfault failslab || fail "gauntlet enumerate exited $?"
python3 - "$out" <<'PY' || fail "the enumeration's runs do not show one injection each"
import json, re, sys
out = sys.argv[1]
d = json.load(open(out + "/enumerate.json"))
p = d["pairs"][0]
n = p["events"]
assert p["point"] == "failslab" and p["action"] == "fail-nth" and n >= 1, p
m = min(3, n)
want = "failslab:fail-nth (%d event%s in the clean run%s): %s" % (
    n, "" if n == 1 else "s", "; n = 1..%d (--max-n)" % m if m < n else "",
    "1 ok" if m == 1 else "1-%d ok" % m)
assert want in d["table"], (want, d["table"])
assert sorted(r["n"] for r in d["results"]) == list(range(1, m + 1)), d["results"]
for r in d["results"]:
    assert r["status"] == "pass", r
    log = open(r["artifacts"] + "/steps.log").read()
    assert re.search(r"stress: fail-nth %d: 1 thread\(s\) armed, 1 injected" % r["n"], log), r["name"]
    res = json.load(open(r["artifacts"] + "/result.json"))
    kf = [v for v in res["verdicts"] if v["name"] == "kfault-fired"]
    assert kf and kf[0]["status"] == "pass" and "in kestrel's code" in kf[0]["detail"], (r["name"], kf)
# the error paths (gcov): every run read, at least one reached lines of the
# driver's own files the clean run did not
assert d["gcov"]["runs_read"] == m, d["gcov"]
reached = [(r["n"], p) for r in d["results"] for p in r["error_paths"]
           if p["file"].startswith("driver/kestrel") and p["lines"]]
assert reached, [r.get("error_paths_text") for r in d["results"]]
assert "error paths reached (gcov" in d["table"], d["table"]
for nn, p in reached:
    print("  n=%d reached %s: lines %s (%s)" % (nn, p["function"], p["ranges"], p["file"]))
print("PASS: %d failslab sites counted; n = 1..%d each injected once, all survived, "
      "error paths named" % (n, m))
PY
exit 0
fi
# fail_function:kestrel_req_map (the driver's ALLOW_ERROR_INJECTION on the
# submit path): the clean run counts its calls, calls 1 and 2 fail in turn
GAUNTLET_NO_BUILD=1 "$gauntlet" enumerate -j 1 --kernel debug --out "$out" --max-n 2 \
    --shrink-attempts 3 --workload "$wl" --kfault fail_function:kestrel_req_map || fail "the fail_function enumeration exited $?"
python3 - "$out" <<'PY' || fail "the fail_function runs do not show their injection"
import json, sys
d = json.load(open(sys.argv[1] + "/enumerate.json"))
p = d["pairs"][0]
n = p["events"]
assert p["point"] == "fail_function" and p["action"] == "kestrel_req_map" and n >= 2, p
assert "fail_function:kestrel_req_map (%d events in the clean run%s): 1-2 ok" % (
    n, "; n = 1..2 (--max-n)" if n > 2 else "") in d["table"], d["table"]
for r in d["results"]:
    assert r["status"] == "pass", r
    res = json.load(open(r["artifacts"] + "/result.json"))
    kf = [v for v in res["verdicts"] if v["name"] == "kfault-fired"]
    assert kf and kf[0]["status"] == "pass" and kf[0]["detail"].startswith("fail_function: 1 failure(s)"), (r["name"], kf)
print("PASS: %d calls of kestrel_req_map counted; calls 1 and 2 each failed once, survived" % n)
PY
