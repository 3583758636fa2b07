#!/usr/bin/env bash
# harness.noflush_target_in_sync: tests/targets/kestrel-noflush/target.yaml
# stays a copy of targets/kestrel/target.yaml but for its name, its
# description, the driver module in guest_files and comments, so that
# negative controls run on the same target as everything else.
#
#   noflush-in-sync.sh REPO
set -euo pipefail
[[ $# -eq 1 ]] || { echo "usage: $0 REPO" >&2; exit 2; }
norm() {
    grep -Ev '^[[:space:]]*#|^name:|^description:|^  - \{src: "\{build\}/driver[^"]*/kestrel\.ko"' "$1"
}
if diff -u <(norm "$1/targets/kestrel/target.yaml") \
           <(norm "$1/tests/targets/kestrel-noflush/target.yaml"); then
    echo "ok: kestrel-noflush follows targets/kestrel"
else
    echo "FAIL: tests/targets/kestrel-noflush/target.yaml differs from targets/kestrel/target.yaml (above); copy the change"
    exit 1
fi
