#!/usr/bin/env bash
# fuzz.oss_fuzz_build: the OSS-Fuzz / ClusterFuzzLite build
# (.clusterfuzzlite/build.sh calls fuzz/build.sh) makes every target with
# its dictionary and seed corpus, and each target runs.
#   oss-fuzz-build-test.sh CC WORKDIR TARGET...
set -euo pipefail
cc="$1" work="$2"
shift 2
rm -rf "$work"
mkdir -p "$work/out" "$work/build" "$work/run"
CC="$cc" CFLAGS="-fsanitize=address,fuzzer-no-link -O1" \
    LIB_FUZZING_ENGINE=-fsanitize=fuzzer OUT="$work/out" WORK="$work/build" \
    GAUNTLET_SRC="$(cd "$(dirname "$0")/.." && pwd)" \
    bash "$(dirname "$0")/build.sh"
for t in "$@"; do
    for f in "$t" "$t.dict" "${t}_seed_corpus.zip"; do
        [[ -s "$work/out/$f" ]] || { echo "FAIL: build.sh made no $f"; exit 1; }
    done
    mkdir -p "$work/run/$t"
    "$work/out/$t" -runs=200 "$work/run/$t" >"$work/run/$t.log" 2>&1 ||
        { tail -n 20 "$work/run/$t.log"; echo "FAIL: $t does not run"; exit 1; }
    echo "ok: $t"
done
