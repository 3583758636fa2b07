#!/usr/bin/env bash
# vm.enumerate_short: a real enumeration on Kestrel (docs/enumerate.md): a
# tiny workload (a READ of 64 blocks, 8 at a time), cq.post:drop at each of the events
# the clean run counts; every run must pass (the dropped completion
# found by the driver's 1 s timeout, the command retried, the fault shown
# to have fired) and the table must say 1-N ok over exactly the N counted.
#   enumerate-short.sh GAUNTLET OUT
set -euo pipefail
gauntlet="$1" out="$2"
rm -rf "$out"
fail() { echo "FAIL: $*" >&2; exit 1; }
GAUNTLET_NO_BUILD=1 "$gauntlet" enumerate -j 2 --out "$out" \
    --workload "kestrelctl read --lba 8192 --blocks 64 --xfer 8" \
    --setting "echo 1000 > /sys/module/kestrel/parameters/timeout_ms && kestrelctl timeout set 1000" \
    --fault cq.post:drop || fail "gauntlet enumerate exited $?"
n=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["pairs"][0]["events"])' "$out/enumerate.json")
((n >= 1 && n <= 64)) || fail "the clean run counted $n cq.post events, expected a few"
want="cq.post:drop ($n event$([[ $n == 1 ]] || echo s) in the clean run): $([[ $n == 1 ]] && echo "1 ok" || echo "1-$n ok")"
grep -qxF -- "$want" "$out/enumerate.txt" || { cat "$out/enumerate.txt"; fail "the table does not say '$want'"; }
python3 - "$out" "$n" <<'PY' || fail "a run's fault did not fire exactly once"
import json, sys
out, n = sys.argv[1], int(sys.argv[2])
d = json.load(open(out + "/enumerate.json"))
assert sorted(r["n"] for r in d["results"]) == list(range(1, n + 1)), d["results"]
for r in d["results"]:
    f = json.load(open(r["artifacts"] + "/faults.json"))
    assert len(f) == 1 and f[0]["fired"] == 1 and not f[0]["allow_unfired"], (r["name"], f)
PY
echo "PASS: $n cq.post events, each dropped in its own run, all survived"
