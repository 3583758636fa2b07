#!/usr/bin/env bash
# driver.noflush_variant: the test-only module (build-module.sh
# --test-flush-noop) is what it says, and the normal module is not it.
#
#   noflush-variant.sh NORMAL.ko VARIANT.ko
#
# The variant must carry the line it prints at load and its modinfo tag
# test_build=flush-noop, and be built for the same kernel (vermagic) as the
# normal module; the normal module must carry neither, so the define can
# never leak into it.
set -euo pipefail

[[ $# -eq 2 ]] || { echo "usage: $0 NORMAL.ko VARIANT.ko" >&2; exit 2; }
normal="$1" variant="$2"
warn='kestrel: TEST BUILD: FLUSH is not sent to the device'
tag='test_build=flush-noop'
fail=0

for f in "$normal" "$variant"; do
    [[ -s "$f" ]] || { echo "FAIL: $f is missing (build the default target)"; exit 1; }
done
# grep -q would stop reading early and fail strings with SIGPIPE (pipefail).
has() { strings -a "$1" | grep -F -- "$2" >/dev/null; }

if has "$variant" "$warn" && has "$variant" "$tag"; then
    echo "ok: $variant carries its load warning and $tag"
else
    echo "FAIL: $variant lacks '$warn' or '$tag'"; fail=1
fi
if has "$normal" "TEST BUILD" || has "$normal" "test_build="; then
    echo "FAIL: the normal module $normal is a test build"; fail=1
else
    echo "ok: $normal is not a test build"
fi
vm_n="$(strings -a "$normal" | grep -m1 '^vermagic=' || true)"
vm_v="$(strings -a "$variant" | grep -m1 '^vermagic=' || true)"
if [[ -n "$vm_n" && "$vm_n" == "$vm_v" ]]; then
    echo "ok: same kernel ($vm_n)"
else
    echo "FAIL: vermagic differs: '$vm_n' vs '$vm_v'"; fail=1
fi
exit $fail
