#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# ci.bench_usage: every bench script parses its arguments the same way
# (bench/lib.sh) before it builds or boots anything:
#   - it sources bench/lib.sh (fuzz-speed.sh, a POSIX sh script with
#     positional arguments, is the one exception: it does the same by hand);
#   - --help prints its header comment (its usage line included, no code)
#     and exits 0;
#   - an unknown argument exits 2 with "NAME: unknown argument";
#   - where the help offers -n, `-n 0` and `-n x` exit 2 naming -n.
#
#   bench-usage.sh TOP               check TOP/bench
#   bench-usage.sh --self-test TOP   the negative control: a copy of a bench
#                                    script that ignores unknown arguments,
#                                    and one whose help runs into its code,
#                                    must each fail the check
set -uo pipefail

fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

check_dir() {   # DIR: the bench folder to check; prints failures, returns their count
    local dir=$1 f name out rc n=0
    for f in "$dir"/*.sh; do
        name=$(basename "$f")
        case $name in
        lib.sh) continue ;;
        esac
        n=$((n + 1))
        [[ $name == fuzz-speed.sh ]] ||
            grep -q '^\. "$(dirname "$(readlink -f "${BASH_SOURCE\[0\]}")")/lib.sh"$' "$f" ||
            fail "$name does not source bench/lib.sh"
        out=$(GAUNTLET_NO_BUILD=1 timeout 10 bash "$f" --help 2>&1); rc=$?
        [[ $rc -eq 0 ]] || fail "$name --help exits $rc"
        grep -q "bench/$name" <<<"$out" || fail "$name --help does not show its usage line"
        grep -qE '^(set -|\. "|TOP=)' <<<"$out" && fail "$name --help prints code: $(head -c 200 <<<"$out")"
        out=$(GAUNTLET_NO_BUILD=1 timeout 10 bash "$f" --no-such-option 2>&1 >/dev/null); rc=$?
        [[ $rc -eq 2 ]] || fail "$name --no-such-option exits $rc, not 2"
        [[ $out == "$name: unknown argument '--no-such-option'"* ]] ||
            fail "$name --no-such-option says '$out'"
        if GAUNTLET_NO_BUILD=1 bash "$f" --help 2>/dev/null | grep -q -- '\[-n '; then
            for bad in 0 x; do
                out=$(GAUNTLET_NO_BUILD=1 timeout 10 bash "$f" -n "$bad" 2>&1 >/dev/null); rc=$?
                [[ $rc -eq 2 && $out == *"-n wants a positive integer, got '$bad'"* ]] ||
                    fail "$name -n $bad: exit $rc, '$out'"
            done
        fi
    done
    [[ $n -gt 0 ]] || fail "no bench script found in $dir"
}

if [[ ${1:-} == --self-test ]]; then
    top=$2
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    for broken in unknown help; do
        mkdir -p "$tmp/$broken"
        cp "$top/bench/lib.sh" "$top/bench/boot-vs-restore.sh" "$tmp/$broken/"
        case $broken in
        unknown) sed -i 's/^    \*) bench_unknown "\$1" ;;$/    *) exit 0 ;;/' "$tmp/$broken/boot-vs-restore.sh" ;;
        help) sed -i 's/^set -euo pipefail$/# and more\nset -euo pipefail/; s/^# every sample/every=1 # every sample/' "$tmp/$broken/boot-vs-restore.sh"
              sed -i "s/{ exit }/{ print }/" "$tmp/$broken/lib.sh" ;;
        esac
        out=$(check_dir "$tmp/$broken")
        if [[ -z $out ]]; then
            echo "FAIL: the broken copy ($broken) passed the check"
            exit 1
        fi
        echo "ok: the broken copy ($broken) fails: $(head -n 1 <<<"$out")"
    done
    exit 0
fi

check_dir "${1:?usage: bench-usage.sh [--self-test] TOP}/bench"
[[ $fails -eq 0 ]] || exit 1
echo "ok: every bench script parses its arguments through bench/lib.sh"
