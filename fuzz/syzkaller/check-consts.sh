#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# ctest fuzz.syzkaller_consts: kestrel.txt.const must be what the UAPI
# header gives today (compiled, not copied), kestrel.txt must name
# exactly the KESTREL_* constants the const file holds, and its structs
# must have the header's fields (check-fields.py).
#   check-consts.sh [CC]        (default cc; amd64 hosts only)
#   check-consts.sh --write     regenerate kestrel.txt.const
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cc=${1:-cc}
write=0
[ "$cc" = --write ] && { write=1; cc=cc; }
[ "$(uname -m)" = x86_64 ] || { echo "skipped: the const file is for amd64"; exit 0; }
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
"$cc" -Wall -Wextra -Werror -I "$root/driver/include" "$here/kestrel-consts.c" -o "$w/kc"
"$w/kc" >"$w/kestrel.txt.const"
if [ $write = 1 ]; then
    cp "$w/kestrel.txt.const" "$here/kestrel.txt.const"
    echo "wrote $here/kestrel.txt.const"
    exit 0
fi
if ! diff -u "$here/kestrel.txt.const" "$w/kestrel.txt.const"; then
    echo "kestrel.txt.const is stale: fuzz/syzkaller/check-consts.sh --write"
    exit 1
fi
# Every KESTREL_ name used in the description has a value, and vice versa.
grep -o 'KESTREL_[A-Z0-9_]*' "$here/kestrel.txt" | sort -u >"$w/used"
sed -n 's/^\(KESTREL_[A-Z0-9_]*\) = .*/\1/p' "$here/kestrel.txt.const" | sort -u >"$w/have"
if ! diff -u "$w/have" "$w/used"; then
    echo "kestrel.txt and kestrel.txt.const disagree on the constants (- const only, + description only)"
    exit 1
fi
# The structs: the header's fields, in order, with the header's array sizes.
python3 "$here/check-fields.py" "$root/driver/include/uapi/kestrel.h" "$here/kestrel.txt"
echo "kestrel.txt.const matches driver/include/uapi/kestrel.h ($(wc -l <"$w/have") constants)"
