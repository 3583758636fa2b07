#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Gauntlet's speed figures, one table, each row with the command that
# produced it (the README's "Measured figures" carries its output).
#
#   bench/table.sh [-n N] [--skip-suite] [--skip-campaign] [--skip-fuzz]
#                  [--fuzz-runs N]
#
#   -n N             samples of cold boot and of restore (default 5)
#   --skip-suite     no default-suite rows (two whole suite runs, ~10 min
#                    under TCG on 2 cores)
#   --skip-campaign  no campaign row
#   --skip-fuzz      no fuzzing row
#   --fuzz-runs N    runs per fuzz target (bench/fuzz-speed.sh, default
#                    200000)
#
# Rows: cold boot to driver-ready and snapshot restore to ready, with their
# ratio, and the restore with RAM in the stream (bench/boot-vs-restore.sh); the default suite's wall time, -j 2,
# cold and with --snapshot (from an empty snapshot dir, so the saves are
# in it); campaign runs per minute (`./gauntlet campaign`, when this tree
# has it; CAMPAIGN_ARGS, default "--seed 1 --runs 20"); fuzz executions per
# second per target (bench/fuzz-speed.sh).  A skipped or unavailable row
# says so.  Builds first unless GAUNTLET_NO_BUILD=1.
set -euo pipefail

. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib.sh"
BUILD=${GAUNTLET_BUILD:-$TOP/build}
n=5 suite=1 campaign=1 fuzz=1 fuzz_runs=200000
while [[ $# -gt 0 ]]; do
    case $1 in
    -n) n=${2-}; shift; shift || true ;;
    --skip-suite) suite=0; shift ;;
    --skip-campaign) campaign=0; shift ;;
    --skip-fuzz) fuzz=0; shift ;;
    --fuzz-runs) fuzz_runs=${2-}; shift; shift || true ;;
    -h|--help) bench_help ;;
    *) bench_unknown "$1" ;;
    esac
done
bench_posint -n "$n"
bench_posint --fuzz-runs "$fuzz_runs"

bench_build
export GAUNTLET_NO_BUILD=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rows=()
row() { rows+=("| $1 | $2 | \`$3\` |"); echo "measured: $1: $2" >&2; }
load() { cut -d' ' -f1 /proc/loadavg; }

# -- boot against restore ------------------------------------------------------
echo "== cold boot vs restore (load $(load))" >&2
bench_cmd="bench/boot-vs-restore.sh -n $n"
"$TOP/bench/boot-vs-restore.sh" -n "$n" >"$work/bvr.txt"
cold=$(sed -n 's/^cold boot to driver-ready: *//p' "$work/bvr.txt")
rest=$(sed -n 's/^snapshot restore to ready: *//p' "$work/bvr.txt")
ratio=$(sed -n 's/^ratio cold\/restore: *//p' "$work/bvr.txt")
srest=$(sed -n 's/^stream restore to ready: *//p' "$work/bvr.txt")
sratio=$(sed -n 's/^ratio stream\/file restore: *//p' "$work/bvr.txt")
row "Cold boot to driver-ready (QEMU start to the ready check after load)" "$cold" "$bench_cmd"
row "Snapshot restore to driver-ready" "$rest; ratio $ratio" "$bench_cmd"
row "The same, RAM in the migration stream (--snapshot-ram stream)" "$srest; stream/file $sratio x" "$bench_cmd"

# -- the default suite ------------------------------------------------------------
suite_row() {  # LABEL CMD-SUFFIX ARGS...
    local label=$1 shown=$2 out=$work/suite-$RANDOM wall counts
    shift 2
    echo "== default suite $shown (load $(load))" >&2
    "$TOP/gauntlet" run -j 2 --out "$out" "$@" >"$out.log" 2>&1 || true
    if [[ ! -f $out/report.json ]]; then
        tail -n 20 "$out.log" >&2
        row "$label" "not measured: the run wrote no report" "./gauntlet run -j 2$shown"
        return
    fi
    wall=$(sed -n 's/^  "wall_s":\([0-9.]*\).*/\1/p' "$out/report.json")
    counts=$(for k in pass fail skip error; do
                 printf '%s %s, ' "$(sed -n "s/^  \"$k\":\([0-9]*\).*/\1/p" "$out/report.json")" "$k"
             done)
    row "$label" "$(printf '%.0f s wall (%s)' "$wall" "${counts%, }")" "./gauntlet run -j 2$shown"
}
if [[ $suite == 1 ]]; then
    nsuite=$(grep -cvE '^[[:space:]]*(#|$)' "$TOP/scenarios/suites/default.txt")
    suite_row "Default suite ($nsuite scenarios), -j 2, each VM booted" ""
    suite_row "Default suite, -j 2, --snapshot (empty snapshot dir: the saves are included)" \
        " --snapshot" --snapshot --snapshot-dir "$work/snapshots"
else
    row "Default suite wall time" "skipped (--skip-suite)" "./gauntlet run -j 2"
fi

# -- campaign -----------------------------------------------------------------------
camp_args=${CAMPAIGN_ARGS:---seed 1 --runs 20}
camp_cmd="./gauntlet campaign $camp_args"
if [[ $campaign == 0 ]]; then
    row "Campaign runs per minute" "skipped (--skip-campaign)" "$camp_cmd"
elif [[ ! -x $BUILD/harness/gauntlet-campaign ]]; then
    row "Campaign runs per minute" "n/a (gauntlet campaign not built)" "$camp_cmd"
else
    echo "== campaign (load $(load))" >&2
    runs=$(sed -n 's/.*--runs[ =]\([0-9]*\).*/\1/p' <<<"$camp_args")
    start=$(date +%s.%N)
    rc=0
    # shellcheck disable=SC2086 # CAMPAIGN_ARGS is a word list
    (cd "$TOP" && ./gauntlet campaign $camp_args) >"$work/campaign.log" 2>&1 || rc=$?
    end=$(date +%s.%N)
    if [[ $rc -gt 1 || -z $runs ]]; then
        tail -n 20 "$work/campaign.log" >&2
        row "Campaign runs per minute" "not measured: exit $rc${runs:+}" "$camp_cmd"
    else
        row "Campaign runs per minute" "$(awk -v r="$runs" -v s="$start" -v e="$end" \
            'BEGIN { printf "%.1f runs/min (%d runs in %.0f s)", r * 60 / (e - s), r, e - s }')" "$camp_cmd"
    fi
fi

# -- fuzzing --------------------------------------------------------------------------
if [[ $fuzz == 1 ]]; then
    echo "== fuzzing (load $(load))" >&2
    if "$TOP/bench/fuzz-speed.sh" "$BUILD/fuzz/clang" "$fuzz_runs" >"$work/fuzz.txt" 2>"$work/fuzz.err"; then
        row "Fuzz executions per second, one core, $fuzz_runs runs from the seeds" \
            "$(awk '$1 ~ /^fuzz_/ && NF >= 6 {
                        printf "%s%s %s/s (%s per CPU second)", sep, $1, $2, $4; sep = ", " }
                    $1 == "fuzz-speed:" && /load average on|runs per target/ { load = $0 }
                    END { sub(/.*load average /, "", load); if (load != "") printf "; load %s", load }' \
                "$work/fuzz.txt")" \
            "bench/fuzz-speed.sh build/fuzz/clang $fuzz_runs"
    else
        tail -n 20 "$work/fuzz.err" >&2
        row "Fuzz executions per second" "not measured: bench/fuzz-speed.sh failed" "bench/fuzz-speed.sh"
    fi
else
    row "Fuzz executions per second" "skipped (--skip-fuzz)" "bench/fuzz-speed.sh"
fi

accel=$(grep -q ' hypervisor' /proc/cpuinfo && echo "TCG (host is a VM)" || echo "KVM when usable")
printf 'Gauntlet bench, %s, %d cores, %s, load average at the end %s\n\n' \
    "$(date -u +%Y-%m-%d)" "$(nproc)" "$accel" "$(load)"
printf '| Figure | Value | Command |\n|---|---|---|\n'
printf '%s\n' "${rows[@]}"
