#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# run-bigbufs-test.sh BIN: test_ioctl_bigbufs passes, and ASan reports an
# overflow and a use after free of a kept buffer (fuzz_ioctl_dev.c).
bin="$1"
"$bin" ok || { echo "FAIL: ok mode"; exit 1; }
for mode in overflow uaf; do
    out=$("$bin" "$mode" 2>&1) && { echo "FAIL: $mode not caught"; exit 1; }
    echo "$out" | grep -q 'ERROR: AddressSanitizer: use-after-poison' ||
        { echo "$out" | tail -n 20; echo "FAIL: $mode: no ASan report"; exit 1; }
    echo "ok: $mode reported by ASan"
done
