#!/usr/bin/env bash
# gauntlet coverage: one coverage report of the driver and the device from
# every source that runs them, in lcov HTML, Cobertura XML and a terminal
# summary.
#
#   ./gauntlet coverage [OPTIONS]
#
# Sources (each its own lcov test name, so the report can tell them apart):
#   unit          the Check unit tests of the device core and of the
#                 driver's shared code, built with gcc --coverage in
#                 build/coverage/host
#   fuzz_replay   every fuzz target replaying its corpus and regressions,
#                 built with clang-14 --coverage in build/coverage/fuzz
#                 (lines and functions; its branches are left out: clang
#                 numbers branches differently from gcc)
#   device_qtest  the device tests (ctest -L device): the real QEMU, whose
#                 Kestrel objects are compiled with gcov (qemu-device/qemu/cc-gcov)
#   vm_<scenario> every scenario, run on the debug kernel (with --snapshot:
#                 scenarios that start with boot + load restore one saved
#                 VM, whose counters already hold that boot and load):
#                 kestrel.ko's gcov data copied out of the guest
#                 (/sys/kernel/debug/gcov) and Kestrel's from QEMU
#                 (GCOV_PREFIX per scenario)
#
# Options:
#   --results DIR    use the scenarios already run in DIR (a gauntlet run
#                    --kernel debug output) instead of running them; repeatable
#   --suite FILE     scenarios to run (repeatable; default: the default and
#                    the debug suites, on the debug kernel)
#   --no-vm --no-unit --no-fuzz --no-device   leave a source out
#   --merge FILE     add a tracefile made elsewhere (a CI shard's
#                    coverage.info); with only --merge, nothing runs
#   --out DIR        report directory (default build/coverage/report)
#   --fail-under     exit 1 when a coverage goal is missed
#   -j N             scenarios in parallel
#
# Outputs in the report directory: coverage.info (merged lcov tracefile, one
# record per source: mergeable again), html/index.html (genhtml),
# cobertura.xml (gcovr), summary.txt (per file, the goals, each source's
# contribution, and every function nothing reaches with the reason from
# docs/coverage-notes.txt).  Goals: driver lines >= 90%, branches >= 70%;
# Kestrel core lines >= 90%.
set -euo pipefail

TOP="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
BUILD="${GAUNTLET_BUILD:-$TOP/build}"
JOBS="${GAUNTLET_JOBS:-$(nproc)}"
say() { printf '[coverage] %s\n' "$*" >&2; }
die() { printf '[coverage] error: %s\n' "$*" >&2; exit 2; }

results=()
suites=()
merges=()
do_vm=1 do_unit=1 do_fuzz=1 do_device=1
out="$BUILD/coverage/report"
fail_under=()
while [[ $# -gt 0 ]]; do
    case "$1" in
    --results) results+=("$(readlink -f "${2:?--results needs a directory}")"); shift 2 ;;
    --suite) suites+=("${2:?--suite needs a file}"); shift 2 ;;
    --merge) merges+=("$(readlink -f "${2:?--merge needs a tracefile}")"); shift 2 ;;
    --no-vm) do_vm=0; shift ;;
    --no-unit) do_unit=0; shift ;;
    --no-fuzz) do_fuzz=0; shift ;;
    --no-device) do_device=0; shift ;;
    --out) out="${2:?}"; shift 2 ;;
    --fail-under) fail_under=(--fail-under); shift ;;
    -j) JOBS="${2:?}"; shift 2 ;;
    -h|--help) sed -n '2,42p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
    esac
done
if [[ ${#merges[@]} -gt 0 && ${#results[@]} -eq 0 && ${#suites[@]} -eq 0 ]]; then
    do_vm=0 do_unit=0 do_fuzz=0 do_device=0
fi
for f in "${merges[@]}"; do
    [[ -f "$f" ]] || die "--merge $f: no such file"
done
for d in "${results[@]}"; do
    [[ -d "$d" ]] || die "--results $d: no such directory"
done

mkdir -p "$out"
out="$(readlink -f "$out")"
work="$BUILD/coverage"
mkdir -p "$work/info"
rm -f "$work"/info/*.info
LCOV_RC=(--rc lcov_branch_coverage=1)
tracefiles=("${merges[@]}")

# An lcov tracefile from a gcov data tree whose .gcda paths mirror their
# .gcno's (scripts/gcov-capture.sh; gauntlet enumerate uses it too).
#   capture_mirror GCDA_ROOT TEST_NAME OUT BASE_DIR
capture_mirror() {
    "$TOP/scripts/gcov-capture.sh" "$1" "$2" "$3" "$4" "$work/geninfo.log"
}

# ---- paths: QEMU's build tree and the overlay files in it ------------------
qemu_bin="$(readlink -f "$BUILD/qemu/qemu-system-x86_64" 2>/dev/null || true)"
qbuild="$(dirname "$qemu_bin")"
maps=()
if [[ -d "$qbuild/../src/hw/kestrel" ]]; then
    qsrc="$(readlink -f "$qbuild/../src/hw/kestrel")"
    for f in "$qsrc"/*.[ch]; do
        name="$(basename "$f")"
        for d in qemu-device/src qemu-device/include qemu-device/qemu; do
            if [[ -f "$TOP/$d/$name" ]]; then
                cmp -s "$f" "$TOP/$d/$name" ||
                    say "warning: $f differs from $d/$name (QEMU not rebuilt?)"
                maps+=(--map "$f=$d/$name")
                break
            fi
        done
    done
fi
# kestrel.ko's Kbuild copy (driver/build-module.sh --out build/driver-debug)
kb="$BUILD/driver-debug/kbuild"
maps+=(--map "$kb/driver/=driver/" --map "$kb/qemu-device/=qemu-device/")

# ---- unit tests -------------------------------------------------------------
if [[ $do_unit -eq 1 ]]; then
    say "unit tests, built with gcc --coverage ($work/host)"
    cmake -S "$TOP" -B "$work/host" -DCMAKE_BUILD_TYPE=Debug \
        -DCMAKE_C_FLAGS="--coverage" -DGAUNTLET_BUILD_QEMU=OFF \
        -DGAUNTLET_VM_TESTS=OFF -DGAUNTLET_FUZZ=OFF >"$work/host-configure.log" 2>&1 ||
        { tail -n 30 "$work/host-configure.log" >&2; die "configure failed"; }
    cmake --build "$work/host" -j "$JOBS" --target kestrel_unit_tests \
        kestrel_driver_tests kestrel-fault-check kvfio_tests kestrelctl-double \
        gauntlet-ledger >"$work/host-build.log" 2>&1 ||
        { tail -n 30 "$work/host-build.log" >&2; die "build failed"; }
    lcov --quiet --zerocounters -d "$work/host"
    (cd "$work/host" && ctest -R '^(unit\.|driver\.lib$)' --output-on-failure) >&2 ||
        die "unit tests failed"
    lcov --quiet "${LCOV_RC[@]}" -c -d "$work/host" -t unit -o "$work/info/unit.info" \
        2>>"$work/geninfo.log"
    tracefiles+=("$work/info/unit.info")
fi

# ---- fuzz corpus replay -------------------------------------------------------
if [[ $do_fuzz -eq 1 ]]; then
    cc="$(command -v clang-14 || true)"
    gcovtool="$(command -v llvm-cov-14 || true)"
    if [[ -z "$cc" || -z "$gcovtool" ]]; then
        say "fuzz replay left out: clang-14 / llvm-cov-14 missing (./gauntlet deps)"
    else
        say "fuzz corpus replay, built with clang-14 --coverage ($work/fuzz)"
        cmake -S "$TOP/fuzz" -B "$work/fuzz" -DCMAKE_C_COMPILER="$cc" \
            -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_FLAGS="--coverage" \
            -DCMAKE_EXE_LINKER_FLAGS="--coverage" >"$work/fuzz-configure.log" 2>&1 ||
            { tail -n 30 "$work/fuzz-configure.log" >&2; die "fuzz configure failed"; }
        cmake --build "$work/fuzz" -j "$JOBS" >"$work/fuzz-build.log" 2>&1 ||
            { tail -n 30 "$work/fuzz-build.log" >&2; die "fuzz build failed"; }
        find "$work/fuzz" -name '*.gcda' -delete
        for bin in "$work"/fuzz/fuzz_*; do
            [[ -x "$bin" && ! -d "$bin" ]] || continue
            t="$(basename "$bin")"
            inputs=()
            for d in "$TOP/fuzz/corpus/$t" "$TOP/fuzz/regressions/$t"; do
                [[ -d "$d" ]] && inputs+=("$d")
            done
            [[ ${#inputs[@]} -gt 0 ]] || continue
            "$bin" -runs=0 "${inputs[@]}" >"$work/fuzz-replay-$t.log" 2>&1 ||
                die "$t failed replaying its corpus (see $work/fuzz-replay-$t.log)"
        done
        printf '#!/bin/sh\nexec %s gcov "$@"\n' "$gcovtool" >"$work/llvm-gcov"
        chmod +x "$work/llvm-gcov"
        lcov --quiet --gcov-tool "$work/llvm-gcov" -c -d "$work/fuzz" -t fuzz_replay \
            -o "$work/info/fuzz_replay.info" 2>>"$work/geninfo.log"
        tracefiles+=("$work/info/fuzz_replay.info")
    fi
fi

# ---- device tests (real QEMU over qtest) ---------------------------------------
if [[ $do_device -eq 1 ]]; then
    [[ -x "$qemu_bin" ]] || die "no QEMU at $BUILD/qemu (./gauntlet build)"
    say "device tests (ctest -L device), QEMU's gcov data in $work/device-gcda"
    rm -rf "$work/device-gcda"
    (cd "$BUILD" && GCOV_PREFIX="$work/device-gcda" ctest -L device --output-on-failure) >&2 ||
        die "device tests failed"
    if capture_mirror "$work/device-gcda" device_qtest "$work/info/device_qtest.info" "$qbuild"; then
        tracefiles+=("$work/info/device_qtest.info")
    else
        say "device tests left no gcov data (QEMU built without qemu-device/qemu/cc-gcov?)"
    fi
fi

# ---- scenarios on the debug kernel ------------------------------------------------
explicit_results=${#results[@]}
if [[ $do_vm -eq 1 && ${#results[@]} -eq 0 ]]; then
    [[ ${#suites[@]} -gt 0 ]] ||
        suites=("$TOP/scenarios/suites/default.txt" "$TOP/scenarios/suites/debug.txt")
    mapfile -t scen < <(for s in "${suites[@]}"; do
        grep -v -E '^[[:space:]]*(#|$)' "$s"; done | awk '!seen[$0]++')
    res="$BUILD/results/coverage-$(date +%Y%m%d-%H%M%S)"
    say "${#scen[@]} scenario(s) on the debug kernel -> $res"
    # a failing scenario still has coverage; the run's verdicts are its own
    (cd "$TOP" && GAUNTLET_NO_BUILD="${GAUNTLET_NO_BUILD:-0}" \
        "$TOP/gauntlet" run --kernel debug --snapshot -j "$JOBS" --out "$res" "${scen[@]}") ||
        say "some scenarios did not pass (see $res); their coverage still counts"
    results=("$res")
fi
if [[ $do_vm -eq 1 ]]; then
    n=0
    for d in "${results[@]}"; do
        for s in "$d"/*/; do
            s="${s%/}"
            [[ -d "$s/gcov" ]] || continue
            name="$(basename "$s")"
            tn="vm_$(printf '%s' "$name" | tr -c 'A-Za-z0-9_' '_')"
            parts=()
            if [[ -d "$s/gcov/guest" ]] &&
                capture_mirror "$s/gcov/guest" "$tn" "$s/gcov/guest.info" "$BUILD"; then
                parts+=("$s/gcov/guest.info")
            fi
            if [[ -d "$s/gcov/qemu" ]] &&
                capture_mirror "$s/gcov/qemu" "$tn" "$s/gcov/qemu.info" "$qbuild"; then
                parts+=("$s/gcov/qemu.info")
            fi
            [[ ${#parts[@]} -gt 0 ]] || continue
            # one tracefile per scenario, paths already relative to the
            # repository: what a shard publishes and `--merge` takes
            "$BUILD/harness/gauntlet-coverage" --root "$TOP" "${maps[@]}" \
                --keep driver/ --keep qemu-device/ --info "$s/coverage.info" \
                "${parts[@]}" >/dev/null
            tracefiles+=("$s/coverage.info")
            n=$((n + 1))
        done
    done
    say "$n scenario(s) with coverage data"
    if [[ $n -eq 0 ]]; then
        # asked for these results: having none is an error, not a warning
        [[ $explicit_results -eq 0 ]] ||
            die "no scenario coverage in ${results[*]} (run on the debug kernel?)"
        say "warning: no scenario coverage (stock kernel? run them with --kernel debug)"
    fi
fi

[[ ${#tracefiles[@]} -gt 0 ]] || die "no coverage data at all"

# ---- merge and report -------------------------------------------------------------
say "merging ${#tracefiles[@]} tracefile(s) -> $out"
set +e
"$BUILD/harness/gauntlet-coverage" --root "$TOP" "${maps[@]}" \
    --keep driver/kestrel_ --keep qemu-device/src/ --keep qemu-device/qemu/ \
    --keep qemu-device/include/ \
    --goal "driver=driver/kestrel_:line>=90,branch>=70" \
    --goal "kestrel-core=qemu-device/src/kestrel_core.c:line>=90" \
    --notes "$TOP/docs/coverage-notes.txt" \
    --info "$out/coverage.info" --gcovr "$out/coverage.gcovr.json" \
    --summary "$out/summary.txt" "${fail_under[@]}" "${tracefiles[@]}"
rc=$?
set -e
[[ $rc -le 1 ]] || die "gauntlet-coverage failed"
(cd "$TOP" && genhtml --quiet "${LCOV_RC[@]}" --show-details --legend \
    --title "Gauntlet: kestrel.ko and the Kestrel device" \
    -o "$out/html" "$out/coverage.info") 2>"$out/genhtml.log" ||
    { tail -n 20 "$out/genhtml.log" >&2; die "genhtml failed"; }
gcovr --root "$TOP" --add-tracefile "$out/coverage.gcovr.json" \
    --cobertura "$out/cobertura.xml" --cobertura-pretty >/dev/null 2>"$out/gcovr.log" ||
    { tail -n 20 "$out/gcovr.log" >&2; die "gcovr failed"; }
say "HTML:      $out/html/index.html"
say "Cobertura: $out/cobertura.xml"
say "lcov:      $out/coverage.info (merge it with: ./gauntlet coverage --merge FILE ...)"
exit $rc
