#!/bin/sh
# port-controls.sh GAUNTLET TOP [TARGET_DIR]: the negative control of every
# fault-port scenario (scenarios/port/*.yaml), in real VMs.  Each scenario
# runs again with its rules taken out (every `faults: {set: "..."}` becomes
# the empty set, and `counter: {source: fault ...}` steps, which count
# those rules, are blanked); it must then fail, and fail at one of its
# steps marked `# reaction`: without the fault, the driver's reaction the
# scenario checks is not there.  A scenario with no `# reaction` step is
# refused.  (The scenarios themselves pass in vm.scenarios_port.)
gauntlet="$1" top="$2" tdir="${3:-}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
mkdir -p "$out/controls"
python3 - "$top/scenarios/port" "$out/controls" <<'PY' || exit 1
import glob, os, re, sys
src, dst = sys.argv[1], sys.argv[2]
bad = 0
for f in sorted(glob.glob(os.path.join(src, "*.yaml"))):
    lines = open(f).read().split("\n")
    if not any(l.rstrip().endswith("# reaction") for l in lines):
        print(f"{f}: no step marked '# reaction'", file=sys.stderr)
        bad = 1
    out = []
    for l in lines:
        if re.match(r"^\s*- faults: \{set: ", l):
            l = re.sub(r"\{set: .*\}", '{set: ""}', l)
        elif re.match(r"^\s*- counter: \{source: fault", l):
            l = "  # (control: counter of the removed rules)"
        elif re.match(r"^name: ", l):
            l = l + "-control"
        out.append(l)
    open(os.path.join(dst, os.path.basename(f)), "w").write("\n".join(out))
sys.exit(bad)
PY
set -- run -j 2 --out "$out/res"
[ -n "$tdir" ] && set -- "$@" --target-dir "$tdir"
"$gauntlet" "$@" "$out"/controls/*.yaml >"$out/log" 2>&1
python3 - "$out/controls" "$out/res" <<'PY'
import glob, json, os, sys
ctl, res = sys.argv[1], sys.argv[2]
fail = 0
for f in sorted(glob.glob(os.path.join(ctl, "*.yaml"))):
    lines = open(f).read().split("\n")
    name = [l.split(":", 1)[1].strip() for l in lines if l.startswith("name:")][0]
    react = {i + 1 for i, l in enumerate(lines) if l.rstrip().endswith("# reaction")}
    try:
        r = json.load(open(os.path.join(res, name, "result.json")))
    except OSError as e:
        print(f"FAIL {name}: no result ({e})")
        fail = 1
        continue
    st = ((r.get("failure") or {}).get("step") or {})
    if r["status"] != "fail" or st.get("line") not in react:
        print(f"FAIL {name}: without its rules it should fail at a reaction "
              f"step (lines {sorted(react)}), it ended '{r['status']}': "
              f"{r.get('reason')}")
        fail = 1
    else:
        print(f"ok {name}: without its rules the reaction is not there "
              f"(line {st['line']}: {r.get('reason')})")
sys.exit(fail)
PY
rc=$?
[ $rc -ne 0 ] && cat "$out/log"
exit $rc
