# SPDX-License-Identifier: GPL-2.0-or-later
#
# What every bench script shares; sourced after `set -euo pipefail`, never
# run.  The script's help is its header comment: the comment lines from
# line 4 (after the shebang, the SPDX line and a blank comment) up to the
# first line that is not a comment, so the help cannot drift from the text
# when the header grows.
#
#   . "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib.sh"
#   bench_help                 print the header comment, exit 0
#   bench_usage_die MESSAGE    "NAME: MESSAGE" on stderr, exit 2
#   bench_unknown ARG          the message for an unknown argument, exit 2
#   bench_posint WHAT VALUE    exit 2 unless VALUE is a positive integer
#   bench_build                ./gauntlet build, unless GAUNTLET_NO_BUILD=1

# shellcheck shell=bash
TOP=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
BENCH_NAME=$(basename "$0")

bench_help() {
    awk 'NR < 4 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"
    exit 0
}

bench_usage_die() {
    echo "$BENCH_NAME: $*" >&2
    exit 2
}

bench_unknown() {
    bench_usage_die "unknown argument '$1' (see --help)"
}

bench_posint() {
    [[ $2 =~ ^[1-9][0-9]*$ ]] ||
        bench_usage_die "$1 wants a positive integer, got '$2'"
}

bench_build() {
    if [[ ${GAUNTLET_NO_BUILD:-0} != 1 ]]; then
        "$TOP/gauntlet" build >&2
    fi
}
