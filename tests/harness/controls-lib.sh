# controls-lib.sh: what the VM negative-control scripts share
# (ledger-controls.sh, iommu-controls.sh, vfio-controls.sh). Sourced after
# setting gauntlet="$1" top="$2":
#   run NAME OUTDIR ARGS...     gauntlet run --out $out/OUTDIR ARGS, log kept
#   check RESULT.JSON PYTHON    assertions on a scenario's result.json:
#                               r is the result, v its verdicts by name,
#                               l its ledger counts, i its iommu counts
#   controls_end                exit 1 (with the run logs' tails) if any
#                               check failed
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
fail=0
vs="$top/tests/harness/vm-scenarios"

run() {
    name="$1" dir="$2"
    shift 2
    "$gauntlet" run --out "$out/$dir" "$@" >"$out/$dir.log" 2>&1
    echo "$name: exit $?"
}

check() {
    python3 - "$1" "$2" <<'PY' || { echo "FAIL: $1:"; cat "$1"; fail=1; }
import json, sys
r = json.load(open(sys.argv[1]))
v = {x["name"]: x for x in r["verdicts"]}
l = r.get("ledger") or {}
i = r.get("iommu") or {}
exec(sys.argv[2])
PY
}

controls_end() {
    [ "$fail" -eq 0 ] && exit 0
    for f in "$out"/*.log; do echo "== $f"; tail -n 20 "$f"; done
    exit 1
}
