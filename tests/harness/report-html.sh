#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# report-html.sh GAUNTLET TOP RESULTS OUT: report.html renders in headless
# Chromium and shows what the run holds.
#
#   RESULTS  a run's folder (the default suite's: vm.scenarios_default)
#   OUT      where the rendered DOMs and the screenshots are kept
#
# Besides RESULTS, one small run of its own that fails (a guest panic after
# an injected fault: tests/harness/vm-scenarios/panic.yaml), so that a
# failing scenario's reason and a fault-log entry are on a page.  For each
# page the runner wrote: chromium --dump-dom and --screenshot, then
# report-html-check.py (every scenario's name and status, the failure's
# reason, every fault-log entry).  Negative controls: a page with one
# scenario's row taken out, one without the failure's reason and one
# without a fault-log entry, each rendered again, must fail the check.
set -u
gauntlet="$1" top="$2" results="$3" out="$4"
check="$top/tests/harness/report-html-check.py"
fail() { echo "FAIL: $*"; exit 1; }

command -v chromium >/dev/null ||
    fail "no chromium (scripts/deps.sh report installs Debian's chromium)"
rm -rf "$out"
mkdir -p "$out"
profile="$out/chromium-profile"

# render NAME FILE: $out/NAME.dom.html and $out/NAME.png (bounded waits)
render() {
    # root needs --no-sandbox; the profile is ours, not the user's
    timeout 120 chromium --headless --no-sandbox --disable-gpu \
        --user-data-dir="$profile" --dump-dom "file://$2" \
        >"$out/$1.dom.html" 2>"$out/$1.chromium.log" ||
        fail "chromium --dump-dom $2 failed (see $out/$1.chromium.log)"
    grep -q '</html>' "$out/$1.dom.html" || fail "$1: no DOM from chromium"
    timeout 120 chromium --headless --no-sandbox --disable-gpu \
        --user-data-dir="$profile" --hide-scrollbars --window-size=1280,1600 \
        --screenshot="$out/$1.png" "file://$2" >>"$out/$1.chromium.log" 2>&1 ||
        fail "chromium --screenshot $2 failed"
    [ -s "$out/$1.png" ] || fail "$1: no screenshot"
}

[ -f "$results/report.json" ] || fail "no run in $results (vm.scenarios_default)"
[ -s "$results/report.html" ] || fail "the runner wrote no $results/report.html"

# a failing run of its own
"$gauntlet" run --out "$out/panic" "$top/tests/harness/vm-scenarios/panic.yaml" \
    >"$out/panic.log" 2>&1
rc=$?
[ "$rc" -eq 1 ] || { cat "$out/panic.log"; fail "panic run: exit $rc, expected 1"; }
[ -s "$out/panic/report.html" ] || fail "the runner wrote no $out/panic/report.html"
grep -q '"status": *"fail"' "$out/panic/report.json" || fail "panic run did not fail"

render default "$(cd "$results" && pwd)/report.html"
python3 "$check" "$out/default.dom.html" "$results" || fail "default suite's page"
render panic "$out/panic/report.html"
python3 "$check" "$out/panic.dom.html" "$out/panic" || fail "failing run's page"
grep -q 'guest kernel panic' "$out/panic.dom.html" || fail "the panic's reason not shown"

# negative controls: broken pages (copies beside the originals, so that
# their relative links stay right) must fail the same check
broken() { # NAME DIR PYTHON-EDIT
    python3 - "$2/report.html" "$2/report-broken.html" "$3" <<'PY' || fail "cannot break $1"
import re, sys
src, dst, how = sys.argv[1], sys.argv[2], sys.argv[3]
s = open(src, encoding="utf-8").read()
if how == "row":        # the results table loses its first scenario's row
    i = s.index('id="results"')
    j = s.index("<tr>", s.index("</tr>", i))
    k = s.index("</tr>", j) + 5
    t = s[:j] + s[k:]
elif how == "reason":   # the failure's reason is gone
    t = re.sub(r'<p class="reason">.*?</p>', "", s, flags=re.S)
elif how == "fault":    # the first fault-log row is gone
    t = re.sub(r'<tr class="fault">.*?</tr>', "", s, count=1, flags=re.S)
assert t != s, how
open(dst, "w", encoding="utf-8").write(t)
PY
    render "$1-broken" "$(cd "$2" && pwd)/report-broken.html"
    rm -f "$2/report-broken.html"
    if python3 "$check" "$out/$1-broken.dom.html" "$2" >"$out/$1-broken.check" 2>&1; then
        cat "$out/$1-broken.check"
        fail "negative control $1: a broken page passed the check"
    fi
    echo "ok: negative control $1: $(grep -m1 'report-html-check: ' "$out/$1-broken.check")"
}
broken row "$out/panic" row
broken reason "$out/panic" reason
broken fault "$out/panic" fault
echo "ok: report.html renders in Chromium and shows every scenario, status," \
     "reason and fault-log entry; screenshots in $out/default.png, $out/panic.png"
