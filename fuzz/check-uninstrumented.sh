#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The functions a fuzz build leaves out of coverage are really left out
# (tests fuzz.uninstrumented.<target>, label "fuzz"):
#
#   check-uninstrumented.sh BINARY IGNORELIST [FUNC...]
#
# Every function IGNORELIST (fuzz/coverage-ignore.txt, "fun:NAME" lines)
# names that BINARY holds, and every FUNC, which BINARY must hold, has no
# call to __sanitizer_cov_* in its code (objdump -d).  The list goes by
# name: when fuzz_device's invariant checks moved from check_invariants()
# into fuzz_check_core() (fuzz_core_invariants.h), the list kept the old
# name, the checks that run after every step of every input were traced
# again (a loop over the queue's slots, each comparison a call) and
# fuzz_device lost a third of its speed.  Naming the functions that must
# stay untraced here catches that.  fuzz_device's rule grammar (its own
# build of gfault.c, coverage-ignore-grammar.txt) is checked the same way.
set -eu
bin=$1 list=$2
shift 2
[ -x "$bin" ] || { echo "no executable $bin" >&2; exit 2; }
syms=$(nm "$bin" | awk '$2 ~ /^[tT]$/ { print $3 }') ||
    { echo "nm $bin failed" >&2; exit 2; }
names=$(sed -n 's/^fun:\([A-Za-z_][A-Za-z0-9_]*\)$/\1/p' "$list")
fail=0 checked=0
for f in $(printf '%s\n' $names "$@" | awk '!seen[$0]++'); do
    if ! echo "$syms" | grep -qx "$f"; then
        case " $* " in
        *" $f "*) echo "FAIL: $f is not a function of $bin"; fail=1 ;;
        esac
        continue
    fi
    n=$(objdump -d --no-show-raw-insn --disassemble="$f" "$bin" |
        grep -c 'call.*<__sanitizer_cov_' || true)
    checked=$((checked + 1))
    if [ "$n" -gt 0 ]; then
        echo "FAIL: $f has $n coverage calls (not left out by $list?)"
        fail=1
    fi
done
echo "$(basename "$bin"): $checked functions checked"
[ "$fail" -eq 0 ] && echo ok
exit "$fail"
