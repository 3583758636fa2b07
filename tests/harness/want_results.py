"""What the VM control scripts share (capture-controls.sh, s3-controls.sh):
each scenario of a run directory must end with the status wanted, failing
at the line wanted with a reason that matches; then a check of its own.

    want = {NAME: (STATUS, FAILING_STEP_LINE or None, REASON_REGEX or None)}
    extra(name, artifacts_dir, result) -> None, or what is wrong
    sys.exit(check_results(res_dir, want, extra))
"""
import json
import os
import re


def check_results(res, want, extra=None):
    fail = 0
    for name, (status, line, reason) in want.items():
        d = os.path.join(res, name)
        try:
            with open(os.path.join(d, "result.json")) as f:
                r = json.load(f)
        except (OSError, ValueError) as e:
            print(f"FAIL {name}: no result ({e})")
            fail = 1
            continue
        st = (r.get("failure") or {}).get("step") or {}
        if r["status"] != status or (line and st.get("line") != line) or \
                (reason and not re.search(reason, r.get("reason") or "")):
            print(f"FAIL {name}: {r['status']} at line {st.get('line')}: {r.get('reason')} "
                  f"(wanted {status} at line {line}: /{reason}/)")
            fail = 1
            continue
        wrong = extra(name, d, r) if extra else None
        if wrong:
            print(f"FAIL {name}: {wrong}")
            fail = 1
            continue
        print(f"ok {name}: {r['status']}{': ' + r['reason'] if r.get('reason') else ''}")
    return fail
