#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# fuzz_device (libFuzzer on Kestrel's core and the host double) against
# QEMU's own generic-fuzz target (tests/qtest/fuzz/generic_fuzz.c) on the
# same device inside a whole QEMU 7.2 built with --enable-fuzzing (clang).
#
#   bench/qemu-generic-fuzz.sh [--time S] [--build-only] [-j N]
#
# The fuzzing QEMU is built by qemu-device/build-qemu.sh itself (unchanged),
# with GAUNTLET_QEMU_CONFIGURE_EXTRA="--enable-fuzzing --cc=clang-14 ..." and
# a cache root of its own, $GAUNTLET_CACHE/qemu-fuzz (the source download
# dl/ is shared by a symlink), so the main cache, its qemu-current link and
# its pruning of old builds are not touched; then `ninja qemu-fuzz-x86_64`
# in that build dir.  Both are cached: a second run only fuzzes.
#
# Each fuzzer runs S seconds (default 60) on one core from an empty corpus
# (generic-fuzz has no seeds; fuzz_device gets its checked-in seeds, as in
# campaigns), and the script prints executions per second, libFuzzer's
# final cov:/ft: (the two are not comparable between binaries: QEMU's
# counts cover all of QEMU) and the corpus each grew.
#   generic-fuzz: QEMU_FUZZ_ARGS="-drive ... -device kestrel,drive=d0"
#                 QEMU_FUZZ_OBJECTS="kestrel"  (the MMIO/PIO regions and
#                 DMA of every object whose name matches)
set -euo pipefail

. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib.sh"
CACHE=${GAUNTLET_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gauntlet}
FCACHE=$CACHE/qemu-fuzz
CLANG=${GAUNTLET_FUZZ_CC:-clang-14}
CLANGXX=${GAUNTLET_FUZZ_CXX:-clang++-14}
secs=60 build_only=0 jobs=$(nproc)
while [[ $# -gt 0 ]]; do
    case $1 in
    --time) secs=${2:-}; shift; shift || true ;;
    --build-only) build_only=1; shift ;;
    -j) jobs=${2:-}; shift; shift || true ;;
    -h|--help) bench_help ;;
    *) bench_unknown "$1" ;;
    esac
done
bench_posint --time "$secs"
bench_posint -j "$jobs"
say() { echo "[qemu-generic-fuzz] $*" >&2; }

# ---- the fuzzing QEMU (cached) -----------------------------------------------
mkdir -p "$FCACHE"
if [[ -d "$CACHE/dl" && ! -e "$FCACHE/dl" ]]; then
    ln -s "$CACHE/dl" "$FCACHE/dl"
fi
say "QEMU with --enable-fuzzing (cache $FCACHE)"
GAUNTLET_CACHE=$FCACHE \
GAUNTLET_QEMU_CONFIGURE_EXTRA="--enable-fuzzing --cc=$CLANG --cxx=$CLANGXX --objcc=$CLANG" \
    "$TOP/qemu-device/build-qemu.sh" -j "$jobs" >&2
qbuild=$(readlink -f "$FCACHE/qemu-current")/build
if [[ ! -x "$qbuild/qemu-fuzz-x86_64" || "$qbuild/qemu-system-x86_64" -nt "$qbuild/qemu-fuzz-x86_64" ]]; then
    say "ninja qemu-fuzz-x86_64"
    ninja -C "$qbuild" -j "$jobs" qemu-fuzz-x86_64 >"$FCACHE/fuzz-build.log" 2>&1 ||
        { tail -n 30 "$FCACHE/fuzz-build.log" >&2; exit 1; }
fi
qfuzz=$qbuild/qemu-fuzz-x86_64
fuzz_device=$TOP/build/fuzz/clang/fuzz_device
if [[ ! -x "$fuzz_device" ]]; then
    say "building fuzz_device"
    cmake --build "$TOP/build" --target gauntlet_fuzz >&2
fi
[[ $build_only = 1 ]] && { echo "$qfuzz"; exit 0; }

# ---- the runs --------------------------------------------------------------------
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
truncate -s 64M "$work/disk.img"
mkdir -p "$work/qemu-corpus" "$work/dev-corpus"

run() { # name log cmd...
    local name=$1 log=$2 t0 t1
    shift 2
    t0=$(date +%s.%N)
    taskset -c 0 "$@" >"$log" 2>&1 || { tail -n 30 "$log" >&2; say "$name failed"; exit 1; }
    t1=$(date +%s.%N)
    awk -v n="$name" -v a="$t0" -v b="$t1" -v u="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")" \
        -v c="$(grep -oE ' cov: [0-9]+ ft: [0-9]+' "$log" | tail -n 1)" \
        'BEGIN { printf "%-14s %10d %10d  %s\n", n, u, u / (b - a), c }'
}
printf '%-14s %10s %10s  %s\n' fuzzer execs execs/s "final coverage"
QEMU_FUZZ_ARGS="-drive if=none,id=d0,format=raw,file=$work/disk.img -device kestrel,drive=d0,ready-delay-us=0" \
QEMU_FUZZ_OBJECTS="kestrel" \
    run generic-fuzz "$work/qemu.log" "$qfuzz" --fuzz-target=generic-fuzz \
        -max_total_time="$secs" -print_final_stats=1 -seed=1 "$work/qemu-corpus"
run fuzz_device "$work/dev.log" "$fuzz_device" -max_total_time="$secs" \
    -print_final_stats=1 -seed=1 -dict="$TOP/fuzz/dict/fuzz_device.dict" \
    "$work/dev-corpus" "$TOP/fuzz/corpus/fuzz_device"
echo "corpus: generic-fuzz $(find "$work/qemu-corpus" -type f | wc -l) inputs," \
     "fuzz_device $(find "$work/dev-corpus" -type f | wc -l) new inputs"
