#!/usr/bin/env bash
# Build kestrel.ko against the guest kernel's headers, out of the source tree.
#
#   driver/build-module.sh [--out DIR] [--kdir DIR] [--check]
#                          [--test-flush-noop] [-j N]
#
#   --out DIR    output directory (default: <repo>/build/driver).  The module
#                is DIR/kestrel.ko; DIR/kbuild/ holds the copy of the sources
#                Kbuild compiles, so the source tree stays clean.
#   --kdir DIR   kernel build directory (default: $KDIR, else the Debian
#                headers /usr/src/linux-headers-<abi>-amd64 of the ABI pinned
#                in driver/kernel-abi, installed with apt-get when missing).
#                Point it at a debug kernel's build tree to build for that.
#   --check      also run the static checks on every driver source and fail
#                on any finding: a clean W=1 build, sparse (C=2), and
#                checkpatch.pl --strict --no-tree -f.  A checkpatch finding
#                is accepted only where the line, or one of the three lines
#                above it, carries a comment "checkpatch: TYPE <why>".
#   --test-flush-noop  build the test-only variant (-DKESTREL_TEST_FLUSH_NOOP)
#                that completes every FLUSH with success without sending it
#                to the device, for the ledger's negative control; it says
#                so at load and in modinfo (test_build).  Never for use.
#   -j N         parallel jobs (default: nproc)
#
# checkpatch.pl is not in the headers package: it is taken from Debian's
# linux-source-6.1 (/usr/src/linux-source-6.1.tar.xz, installed with apt-get
# when missing) and cached in ${GAUNTLET_CACHE:-~/.cache/gauntlet}/checkpatch-6.1.
set -euo pipefail

SCRIPT="$(readlink -f "${BASH_SOURCE[0]}")"
HERE="$(dirname "$SCRIPT")"
REPO="$(dirname "$HERE")"
CACHE="${GAUNTLET_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gauntlet}"

log() { echo "[kestrel] $*" >&2; }
die() { echo "[kestrel] error: $*" >&2; exit 1; }

usage() {
    sed -n '2,28p' "$SCRIPT" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

out_dir="$REPO/build/driver"
kdir="${KDIR:-}"
check=0
variant=()
jobs="$(nproc)"
while [[ $# -gt 0 ]]; do
    case "$1" in
    --out) [[ $# -ge 2 ]] || usage; out_dir="$2"; shift 2 ;;
    --out=*) out_dir="${1#--out=}"; shift ;;
    --kdir) [[ $# -ge 2 ]] || usage; kdir="$2"; shift 2 ;;
    --kdir=*) kdir="${1#--kdir=}"; shift ;;
    --check) check=1; shift ;;
    --test-flush-noop) variant=(KESTREL_TEST_FLUSH_NOOP=y); shift ;;
    -j) [[ $# -ge 2 ]] || usage; jobs="$2"; shift 2 ;;
    -j*) jobs="${1#-j}"; shift ;;
    -h|--help) usage ;;
    *) echo "[kestrel] unknown argument: $1" >&2; usage ;;
    esac
done

abi="$(tr -d '[:space:]' <"$HERE/kernel-abi")"
[[ "$abi" =~ ^[0-9]+\.[0-9]+\.[0-9]+-[0-9]+$ ]] ||
    die "driver/kernel-abi holds '$abi', expected e.g. 6.1.0-50"

# Install Debian packages, or say exactly what is missing.
apt_install() {
    if [[ $(id -u) -ne 0 ]]; then
        die "need package(s) $*; not root, so not installing them: run 'sudo apt-get install $*' (or pass --kdir)"
    fi
    log "installing $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >&2 ||
        die "apt-get install $* failed"
}

# ---- kernel build directory ----------------------------------------------
if [[ -z "$kdir" ]]; then
    kdir="/usr/src/linux-headers-$abi-amd64"
    if [[ ! -f "$kdir/Makefile" ]]; then
        apt_install "linux-headers-$abi-amd64"
    fi
fi
[[ -f "$kdir/Makefile" ]] || die "no kernel build directory at $kdir (no Makefile)"

# ---- copy of the sources ----------------------------------------------------
# Copy a file only when its content changed, keeping its mtime, so make
# rebuilds exactly what changed.
sync_file() {
    local src="$1" dst="$2"
    if ! cmp -s "$src" "$dst" 2>/dev/null; then
        mkdir -p "$(dirname "$dst")"
        cp -p "$src" "$dst"
    fi
}

# The module's sources: Kbuild, driver/*.[ch], the UAPI and hardware headers.
sync_tree() {
    local tree="$1" f
    for f in "$HERE"/Kbuild "$HERE"/*.c "$HERE"/*.h; do
        sync_file "$f" "$tree/driver/$(basename "$f")"
    done
    sync_file "$HERE/include/uapi/kestrel.h" "$tree/driver/include/uapi/kestrel.h"
    sync_file "$REPO/qemu-device/include/kestrel_hw.h" \
        "$tree/qemu-device/include/kestrel_hw.h"
}

kmake() {
    local tree="$1"; shift
    make -C "$kdir" M="$tree/driver" -j"$jobs" ${variant[@]+"${variant[@]}"} "$@"
}

mkdir -p "$out_dir"
out_dir="$(readlink -f "$out_dir")"
case "$out_dir/" in
"$HERE"/*) die "--out $out_dir is inside the source directory $HERE" ;;
esac

build_tree="$out_dir/kbuild"
sync_tree "$build_tree"
# Kbuild rebuilds every object whose flags changed, so a build tree that
# switches between the variant and the normal module never mixes them.
want="${variant[*]-}"
log "building kestrel.ko${want:+ ($want, test only)} against $kdir"
kmake "$build_tree" modules >&2 || die "module build failed"
cp -p "$build_tree/driver/kestrel.ko" "$out_dir/kestrel.ko"
log "built $out_dir/kestrel.ko"

[[ $check -eq 1 ]] || exit 0

# ---- static checks --------------------------------------------------------
# Findings are counted only in our own files (a copy lives under check/).
ours='(driver|qemu-device/include)/[^ :]*\.[ch]:[0-9]+(:[0-9]+)?: (warning|error)'

check_tree="$out_dir/check"
sync_tree "$check_tree"
kmake "$check_tree" clean >/dev/null 2>&1 || true

log "W=1 build"
w1_log="$out_dir/check-w1.log"
if ! kmake "$check_tree" W=1 modules >"$w1_log" 2>&1; then
    cat "$w1_log" >&2
    die "W=1 build failed"
fi
w1_count=$(grep -Ec "$ours" "$w1_log" || true)

if ! command -v sparse >/dev/null; then
    apt_install sparse
fi
log "sparse (C=2)"
sparse_log="$out_dir/check-sparse.log"
# W=1 again so nothing recompiles: the log holds sparse's findings only.
if ! kmake "$check_tree" W=1 C=2 modules >"$sparse_log" 2>&1; then
    cat "$sparse_log" >&2
    die "sparse build failed"
fi
sparse_count=$(grep -Ec "$ours" "$sparse_log" || true)
sparse_other=$(grep -E ': (warning|error):' "$sparse_log" | grep -Evc "$ours" || true)

# checkpatch.pl and its data files, from Debian's linux-source-6.1.
cp_dir="$CACHE/checkpatch-6.1"
checkpatch="$cp_dir/scripts/checkpatch.pl"
if [[ ! -f "$checkpatch" ]]; then
    mkdir -p "$CACHE"
    exec 9>"$CACHE/checkpatch-6.1.lock"
    flock 9
    if [[ ! -f "$checkpatch" ]]; then
        tarball=/usr/src/linux-source-6.1.tar.xz
        [[ -f "$tarball" ]] || apt_install linux-source-6.1
        [[ -f "$tarball" ]] || die "linux-source-6.1 did not provide $tarball"
        log "extracting checkpatch.pl from $tarball"
        tmp="$(mktemp -d "$CACHE/checkpatch-6.1.XXXXXX")"
        tar -xJf "$tarball" -C "$tmp" --strip-components=1 \
            linux-source-6.1/scripts/checkpatch.pl \
            linux-source-6.1/scripts/spelling.txt \
            linux-source-6.1/scripts/const_structs.checkpatch ||
            die "cannot extract checkpatch.pl from $tarball"
        rm -rf "$cp_dir"
        mv "$tmp" "$cp_dir"
    fi
    exec 9>&-
fi

# A finding FILE:LINE of TYPE is justified by "checkpatch: TYPE" on
# LINE or on one of the three lines above it.
justified() {
    local file="$1" line="$2" type="$3" from
    from=$((line > 3 ? line - 3 : 1))
    sed -n "${from},${line}p" "$file" | grep -q "checkpatch: $type\\b"
}

log "checkpatch --strict"
cp_log="$out_dir/check-checkpatch.log"
: >"$cp_log"
cp_count=0
cp_justified=0
cp_files=0
for f in "$HERE"/*.c "$HERE"/*.h; do
    rel="${f#"$REPO"/}"
    cp_files=$((cp_files + 1))
    # checkpatch exits 1 when it has findings; they are parsed below.
    out="$(cd "$REPO" && perl "$checkpatch" --strict --no-tree --terse \
        --show-types --no-summary -f "$rel" 2>&1)" || true
    [[ -n "$out" ]] || continue
    echo "$out" >>"$cp_log"
    while IFS= read -r l; do
        if [[ "$l" =~ ^([^:]+):([0-9]+):\ (ERROR|WARNING|CHECK):([A-Z0-9_]+): ]]; then
            if justified "$REPO/${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}" \
                "${BASH_REMATCH[4]}"; then
                cp_justified=$((cp_justified + 1))
            else
                cp_count=$((cp_count + 1))
                echo "$l" >&2
            fi
        elif [[ -n "$l" ]]; then
            cp_count=$((cp_count + 1))
            echo "$l" >&2
        fi
    done <<<"$out"
done

[[ $w1_count -eq 0 ]] || grep -E "$ours" "$w1_log" >&2
[[ $sparse_count -eq 0 ]] || grep -E "$ours" "$sparse_log" >&2
echo "W=1: $w1_count warnings"
echo "sparse: $sparse_count warnings ($sparse_other in kernel headers, not ours)"
echo "checkpatch --strict: $cp_count unjustified findings, $cp_justified justified, in $cp_files files"
echo "logs: $w1_log $sparse_log $cp_log"
if [[ $w1_count -ne 0 || $sparse_count -ne 0 || $cp_count -ne 0 ]]; then
    die "static checks failed"
fi
log "static checks clean"
