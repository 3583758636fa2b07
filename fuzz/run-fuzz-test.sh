#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# ctest driver of one fuzz target (tests fuzz.<target>, label "fuzz"):
#   run-fuzz-test.sh BINARY CORPUS_DIR REGRESSION_DIR WORK_DIR RUNS [DICT]
# 1. replays every seed in CORPUS_DIR and every input in REGRESSION_DIR
#    (each must run clean: no crash, no leak, no sanitizer report);
# 2. fuzzes for RUNS executions from the seeds, with a fixed seed.  New
#    inputs go to WORK_DIR (emptied first), never into the source tree.
set -eu
bin=$1 corpus=$2 regressions=$3 work=$4 runs=$5 dict=${6:-}

rm -rf "$work"
mkdir -p "$work/new" "$work/artifacts"

files=$(find "$corpus" "$regressions" -type f ! -name README ! -name '.*' 2>/dev/null | sort)
if [ -n "$files" ]; then
    echo "replaying $(echo "$files" | wc -l) inputs"
    # shellcheck disable=SC2086
    "$bin" -runs=1 -artifact_prefix="$work/artifacts/" $files \
        >"$work/replay.log" 2>&1 || { cat "$work/replay.log"; exit 1; }
fi

set -- -runs="$runs" -seed=1 -max_len=4096 -timeout=25 -rss_limit_mb=2048 \
    -artifact_prefix="$work/artifacts/" -print_final_stats=1
[ -n "$dict" ] && [ -f "$dict" ] && set -- "$@" -dict="$dict"
"$bin" "$@" "$work/new" "$corpus" >"$work/fuzz.log" 2>&1 ||
    { tail -n 60 "$work/fuzz.log"; exit 1; }
grep -E '^stat::(number_of_executed_units|new_units_added)' "$work/fuzz.log" || true
echo "ok"
