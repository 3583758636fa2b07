#!/bin/bash -eu
# SPDX-License-Identifier: GPL-2.0-or-later
#
# OSS-Fuzz / ClusterFuzzLite build of the Gauntlet fuzz targets.
#
# Uses the standard environment: $CC, $CFLAGS (sanitizer and coverage
# flags, e.g. -fsanitize=address,fuzzer-no-link), $LIB_FUZZING_ENGINE
# (the fuzzing engine to link, e.g. -fsanitize=fuzzer), $SRC (where the
# checkout lives: $SRC/main or $SRC/gauntlet, or set GAUNTLET_SRC), $OUT.
# Writes $OUT/<target>, $OUT/<target>_seed_corpus.zip, $OUT/<target>.dict.
#
# Locally:
#   CC=clang-14 CFLAGS="-fsanitize=address,fuzzer-no-link" \
#   LIB_FUZZING_ENGINE=-fsanitize=fuzzer OUT=/tmp/out SRC=/work \
#   fuzz/build.sh
# (GAUNTLET_SRC=/path/to/checkout overrides the $SRC lookup; without $SRC
# the checkout this script lives in is used.)
#
# Every target compiles the project's own sources, unchanged: the device
# core and host double from qemu-device/, kestrel_lib.c from driver/,
# the scenario parser from harness/ (fuzz_scenario links the system's libyaml:
# libyaml-dev, found with pkg-config when it is there).

here=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${GAUNTLET_SRC:-}" ]; then
    GAUNTLET_SRC=$here
    for d in "${SRC:-}/main" "${SRC:-}/gauntlet" "${SRC:-}"; do
        if [ -f "$d/fuzz/fuzz_device.c" ]; then GAUNTLET_SRC=$d; break; fi
    done
fi
: "${CC:=clang}" "${CFLAGS:=}" "${OUT:?set OUT}" "${LIB_FUZZING_ENGINE:?set LIB_FUZZING_ENGINE}"
S=$GAUNTLET_SRC
QD=$S/qemu-device
DRV=$S/driver
FZ=$S/fuzz
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
mkdir -p "$OUT" "$W/gen"

python3 "$QD/standalone/gen-trace-stubs.py" "$QD/qemu/trace-events" "$W/gen/trace.h"

CORE_INC="-I$QD/standalone -I$QD/include -I$QD/src -I$W/gen"
LIB_INC="-I$DRV -I$DRV/include -I$QD/include"
STD="-std=gnu11 -g"
# Keep the reset sweeps over all 1024 command slots uninstrumented (see
# coverage-ignore.txt) when building for a coverage-guided engine.
case "$CFLAGS" in
    *fuzzer*|*sanitize-coverage*)
        STD="$STD -fsanitize-coverage-ignorelist=$FZ/coverage-ignore.txt" ;;
esac
case "$CFLAGS" in
    *-fsanitize=*) STD="$STD -fsanitize-ignorelist=$FZ/coverage-ignore.txt" ;;
esac

cc() { # out src incs
    $CC $CFLAGS $STD $3 -c "$2" -o "$W/$1.o"
}
cc core   "$QD/src/kestrel_core.c"        "$CORE_INC"
cc fault  "$QD/src/kestrel_fault.c"       "$CORE_INC"
cc gfault "$QD/src/gfault.c"              "$CORE_INC"
# fuzz_device's fault engine: the rule grammar untraced (its rules come
# from a fixed table; coverage-ignore-grammar.txt), as fuzz/CMakeLists.txt
GRAMMAR_INC=$CORE_INC
case "$CFLAGS" in
    *fuzzer*|*sanitize-coverage*)
        GRAMMAR_INC="$CORE_INC -fsanitize-coverage-ignorelist=$FZ/coverage-ignore-grammar.txt" ;;
esac
cc gfault_table "$QD/src/gfault.c"        "$GRAMMAR_INC"
cc gport  "$QD/src/gport_fault.c"         "$CORE_INC"
cc gpi    "$QD/src/gport_interpose.c"     "$CORE_INC"
cc host   "$QD/standalone/kestrel_host.c" "$CORE_INC"
cc lib    "$DRV/kestrel_lib.c"            "$LIB_INC"
cc kvfio  "$DRV/vfio/kvfio.c"             "$LIB_INC -I$DRV/vfio"
cc kvfio_iova "$DRV/vfio/kvfio_iova.c"    "$LIB_INC -I$DRV/vfio"
cc ioctl_dev "$FZ/fuzz_ioctl_dev.c"       "$CORE_INC"
for f in scenario scenario_values scenario_steps scenario_dump scenario_capture; do
    cc "$f" "$S/harness/$f.c" "-I$S/harness $(pkg-config --cflags yaml-0.1 2>/dev/null || true)"
done
cc yaml_writer "$S/harness/yaml_writer.c" "-I$S/harness $(pkg-config --cflags yaml-0.1 2>/dev/null || true)"
# libyaml linked statically when its archive is there: OSS-Fuzz and
# ClusterFuzzLite run the targets in an image without libyaml installed.
YAML_A="$(pkg-config --variable=libdir yaml-0.1 2>/dev/null || echo /usr/lib)/libyaml.a"
if [ -f "$YAML_A" ]; then
    YAML_LIBS=$YAML_A
else
    YAML_LIBS=$(pkg-config --libs yaml-0.1 2>/dev/null || echo -lyaml)
fi

link() { # target objs... (incs for the harness first)
    local t=$1 incs=$2 extra=
    shift 2
    # fuzz_ioctl's own comparisons are not traced (see fuzz/CMakeLists.txt)
    case "$t:$CFLAGS" in
        fuzz_ioctl:*fuzzer*) extra=-fno-sanitize-coverage=trace-cmp ;;
    esac
    $CC $CFLAGS $STD $extra $incs -c "$FZ/$t.c" -o "$W/$t.o"
    $CXX_OR_CC $CFLAGS "$W/$t.o" "$@" $LIB_FUZZING_ENGINE -o "$OUT/$t"
}
# libFuzzer is C++: link with $CXX when OSS-Fuzz provides it.
CXX_OR_CC=${CXX:-$CC}
link fuzz_device      "$CORE_INC" "$W/core.o" "$W/fault.o" "$W/gfault_table.o" "$W/gport.o" "$W/host.o"
link fuzz_vmload      "$CORE_INC" "$W/core.o" "$W/fault.o" "$W/gfault.o" "$W/gport.o" "$W/host.o"
link fuzz_fault_rules "$CORE_INC" "$W/core.o" "$W/fault.o" "$W/gfault.o" "$W/gport.o" "$W/host.o"
link fuzz_port        "$CORE_INC" "$W/gfault.o" "$W/gport.o" "$W/gpi.o" "$W/host.o" "$W/core.o" "$W/fault.o"
link fuzz_completion  "$LIB_INC"  "$W/lib.o"
link fuzz_vfio_completion "$LIB_INC -I$DRV/vfio" "$W/kvfio.o" "$W/kvfio_iova.o" \
                      "$W/lib.o" -lpthread
link fuzz_ioctl       "$LIB_INC"  "$W/lib.o" "$W/ioctl_dev.o" \
                      "$W/core.o" "$W/fault.o" "$W/gfault.o" "$W/gport.o" "$W/host.o"
link fuzz_scenario    "-I$S/harness"  "$W/scenario.o" "$W/scenario_values.o" \
                      "$W/scenario_steps.o" "$W/scenario_dump.o" "$W/scenario_capture.o" \
                      "$W/yaml_writer.o" \
                      $YAML_LIBS -lm

for t in fuzz_device fuzz_vmload fuzz_completion fuzz_ioctl fuzz_fault_rules fuzz_scenario fuzz_port \
         fuzz_vfio_completion; do
    cp "$FZ/dict/$t.dict" "$OUT/$t.dict"
    rm -f "$OUT/${t}_seed_corpus.zip"
    (cd "$FZ/corpus/$t" && zip -q -j "$OUT/${t}_seed_corpus.zip" ./*)
    if [ -d "$FZ/regressions/$t" ] && ls "$FZ/regressions/$t"/* >/dev/null 2>&1; then
        (cd "$FZ/regressions/$t" && zip -q -j "$OUT/${t}_seed_corpus.zip" ./*)
    fi
done
echo "fuzz/build.sh: targets in $OUT"
