#!/bin/bash -eu
# SPDX-License-Identifier: GPL-2.0-or-later
# ClusterFuzzLite's build step: the project's own OSS-Fuzz build script
# ($CC, $CFLAGS, $LIB_FUZZING_ENGINE, $SRC and $OUT come from the image).
exec "$SRC/gauntlet/fuzz/build.sh"
