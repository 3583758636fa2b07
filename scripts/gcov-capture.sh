#!/usr/bin/env bash
# An lcov tracefile from a gcov data tree: geninfo over the .gcda files
# under GCDA_ROOT, each paired with its .gcno, which lives at the path the
# .gcda's path mirrors below GCDA_ROOT (a tree written under GCOV_PREFIX,
# or a guest's /sys/kernel/debug/gcov copied out by the runner: a run's
# gcov/guest).  Used by `gauntlet coverage` (scripts/coverage.sh) and by
# `gauntlet enumerate` for the driver lines each run reached
# (harness/campaign_enum_gcov.c).
#   gcov-capture.sh GCDA_ROOT TEST_NAME OUT BASE_DIR [LOG]
# BASE_DIR resolves relative source paths; geninfo's messages go to LOG
# (default: stderr).  Exit 0: OUT written; 1: no .gcda with its .gcno
# (each missing .gcno said on stderr); 2: bad usage or geninfo failed.
set -uo pipefail
[[ $# -eq 4 || $# -eq 5 ]] || { echo "usage: $0 GCDA_ROOT TEST_NAME OUT BASE_DIR [LOG]" >&2; exit 2; }
root="${1%/}" tn="$2" outf="$3" base="$4" log="${5:-/dev/stderr}"
[[ -d "$root" ]] || { echo "gcov-capture: $root: no such folder" >&2; exit 1; }
command -v geninfo >/dev/null || { echo "gcov-capture: no geninfo (scripts/deps.sh coverage)" >&2; exit 2; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
n=0
while IFS= read -r -d '' gcda; do
    abs="${gcda#"$root"}"
    if [[ ! -f "${abs%.gcda}.gcno" ]]; then
        echo "gcov-capture: $tn: no ${abs%.gcda}.gcno for $gcda (built elsewhere?): skipped" >&2
        continue
    fi
    mkdir -p "$tmp$(dirname "$abs")"
    cp "$gcda" "$tmp$abs"
    cp "${abs%.gcda}.gcno" "$tmp${abs%.gcda}.gcno"
    n=$((n + 1))
done < <(find "$root" -name '*.gcda' -print0)
((n > 0)) || exit 1
rm -f "$outf"
geninfo --quiet --rc lcov_branch_coverage=1 --base-directory "$base" -t "$tn" \
    -o "$outf" "$tmp" 2>>"$log" || { echo "gcov-capture: $tn: geninfo failed (see $log)" >&2; exit 2; }
[[ -s "$outf" ]] || { echo "gcov-capture: $tn: geninfo wrote nothing" >&2; exit 2; }
