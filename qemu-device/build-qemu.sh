#!/usr/bin/env bash
# Build qemu-system-x86_64 (Debian's QEMU 7.2 source) with the Kestrel PCI
# device overlaid as hw/kestrel, and cache the result.
#
#   qemu-device/build-qemu.sh [--flavour asan] [--out DIR] [-j N]
#   qemu-device/build-qemu.sh [--flavour asan] --print-binary
#
# --flavour asan builds a second QEMU with AddressSanitizer and
# UndefinedBehaviorSanitizer (configure --enable-sanitizers) and without
# TCG (the device tests use the qtest accelerator only) and with only the
# devices they use (qemu/asan-devices.mak: q35, pcie-root-port, Kestrel),
# which makes it a smaller build.  It is cached apart, in
# CACHE/qemu-asan-<key>/, and pruned apart.
#
# Cache layout (CACHE = ${GAUNTLET_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gauntlet}):
#   CACHE/dl/                 downloaded Debian source package (shared)
#   CACHE/qemu-<key>/src/     unpacked qemu-7.2+dfsg tree, Debian patches applied
#   CACHE/qemu-<key>/build/   meson/ninja build dir; the binary is
#                             build/qemu-system-x86_64
#   CACHE/qemu-current        symlink to the last qemu-<key> built
#   CACHE/qemu-asan-<key>/, CACHE/qemu-asan-current: the same for --flavour asan
# <key> hashes the source package version, the configure flags, the overlay
# build-system files (qemu/Kconfig, qemu/meson.build, qemu/cc-gcov), our
# patches to QEMU (qemu/patches/*.patch, applied after Debian's) and this
# script. Device
# sources and trace-events are NOT in the key: they are synced into
# src/hw/kestrel (copied only when changed) and ninja rebuilds just them.
#
# Kestrel's sources are compiled with gcov (qemu/cc-gcov, the configure
# --cc; nothing else is instrumented): every run of the binary writes their
# .gcda files at exit, under $GCOV_PREFIX when set (the harness sets it per
# scenario).  The .gcno notes stay in build/libcommon.fa.p/.
#
# The binary carries no firmware: run it with
#   -L /usr/share/seabios -L /usr/share/qemu
# (those dirs are also compiled in as its default firmware path).
#
# Environment:
#   GAUNTLET_CACHE         cache root (see above)
#   KESTREL_SRC_OVERRIDE   use this dir instead of qemu-device/ (it holds
#                          src/, include/, qemu/); for testing the pipeline
#   QEMU_DEB_VERSION       Debian source version to use (default: newest
#                          that `apt-cache showsrc qemu` knows)
#   GAUNTLET_QEMU_CONFIGURE_EXTRA  extra configure flags (part of the key)
#   GAUNTLET_QEMU_KEEP     how many qemu-<key> dirs to keep (default 2)
set -euo pipefail

SCRIPT="$(readlink -f "${BASH_SOURCE[0]}")"
HERE="$(dirname "$SCRIPT")"
OVERLAY="${KESTREL_SRC_OVERRIDE:-$HERE}"
CACHE="${GAUNTLET_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gauntlet}"
KEEP="${GAUNTLET_QEMU_KEEP:-2}"

# Debian's firmware (packages seabios, qemu-system-data, ipxe-qemu), compiled
# in as the default search path so that even a run without -L finds it.
FIRMWARE_DIRS=(/usr/share/seabios /usr/share/qemu /usr/lib/ipxe/qemu)
# Every flag is part of the cache key.
CONFIGURE_FLAGS=(
    --target-list=x86_64-softmmu
    --without-default-features      # host libraries off; devices unaffected
    --enable-tcg
    --enable-kvm
    --enable-fdt=system
    --enable-trace-backends=log     # -trace 'kestrel_*' prints to stderr/-D
    --disable-docs
    --disable-werror
    --disable-install-blobs
    --with-git-submodules=ignore
    "--firmwarepath=$(IFS=:; echo "${FIRMWARE_DIRS[*]}")"
)
if [[ -n "${GAUNTLET_QEMU_CONFIGURE_EXTRA:-}" ]]; then
    read -r -a _extra <<<"$GAUNTLET_QEMU_CONFIGURE_EXTRA"
    CONFIGURE_FLAGS+=("${_extra[@]}")
fi
# Build-system files of the overlay: they are part of the cache key.
KEY_FILES=("$OVERLAY/qemu/Kconfig" "$OVERLAY/qemu/meson.build"
           "$OVERLAY/qemu/cc-gcov" "$SCRIPT")
# Our patches to QEMU itself (qemu/patches/*.patch, applied in name order
# after Debian's at unpack): part of the key.
shopt -s nullglob
QEMU_PATCHES=("$OVERLAY"/qemu/patches/*.patch)
shopt -u nullglob
KEY_FILES+=("${QEMU_PATCHES[@]}")

log() { echo "[qemu] $*" >&2; }
die() { echo "[qemu] error: $*" >&2; exit 1; }

usage() {
    sed -n '2,12p' "$SCRIPT" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

out_dir=""
flavour="${GAUNTLET_QEMU_FLAVOUR:-}"
print_only=0
jobs=""
while [[ $# -gt 0 ]]; do
    case "$1" in
    --out) [[ $# -ge 2 ]] || usage; out_dir="$2"; shift 2 ;;
    --out=*) out_dir="${1#--out=}"; shift ;;
    --print-binary) print_only=1; shift ;;
    --flavour) [[ $# -ge 2 ]] || usage; flavour="$2"; shift 2 ;;
    --flavour=*) flavour="${1#--flavour=}"; shift ;;
    -j) [[ $# -ge 2 ]] || usage; jobs="$2"; shift 2 ;;
    -j*) jobs="${1#-j}"; shift ;;
    -h|--help) usage ;;
    *) echo "[qemu] unknown argument: $1" >&2; usage ;;
    esac
done

# Flavours: the default one, and asan (its own flags, its own cache dirs).
case "$flavour" in
"" | default) flavour=""; PREFIX="qemu" ;;
asan)
    PREFIX="qemu-asan"
    for i in "${!CONFIGURE_FLAGS[@]}"; do
        [[ "${CONFIGURE_FLAGS[$i]}" == --enable-tcg ]] && CONFIGURE_FLAGS[$i]=--disable-tcg
    done
    CONFIGURE_FLAGS+=(--enable-sanitizers --without-default-devices
                      --with-devices-x86_64=gauntlet-asan)
    KEY_FILES+=("$OVERLAY/qemu/asan-devices.mak")
    ;;
*) echo "[qemu] unknown flavour: $flavour (known: default, asan)" >&2; usage ;;
esac

now() { echo "${EPOCHREALTIME/[,]/.}"; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { d = b - a; printf (d < 10 ? "%.1f s" : "%d s"), d }'; }
T0="$(now)"

# ---- 1. cache key ----------------------------------------------------------
newest_version() {
    local v best=""
    while read -r v; do
        if [[ -z "$best" ]] || dpkg --compare-versions "$v" gt "$best"; then
            best="$v"
        fi
    done
    [[ -n "$best" ]] && echo "$best"
}

qemu_version() {
    if [[ -n "${QEMU_DEB_VERSION:-}" ]]; then
        echo "$QEMU_DEB_VERSION"
        return
    fi
    local v
    v="$(apt-cache showsrc --only-source qemu 2>/dev/null |
         sed -n 's/^Version: //p' | newest_version || true)"
    if [[ -z "$v" ]]; then
        # No deb-src index (offline machine?): fall back to what was downloaded.
        v="$(for d in "$CACHE"/dl/qemu_*.dsc; do
                 [[ -f "$d" ]] && sed -n 's/^Version: //p' "$d"
             done | newest_version || true)"
    fi
    [[ -n "$v" ]] ||
        die "apt knows no source package 'qemu'; run scripts/deps.sh qemu (adds deb-src, apt-get update)"
    echo "$v"
}

for f in "${KEY_FILES[@]}"; do
    [[ -f "$f" ]] || die "missing $f"
done
VERSION="$(qemu_version)"
KEY="$(
    {
        echo "version=$VERSION"
        printf 'flag=%s\n' "${CONFIGURE_FLAGS[@]}"
        for f in "${KEY_FILES[@]}"; do
            echo "--- $(basename "$f")"
            cat "$f"
        done
    } | sha256sum | cut -c1-16
)"
DIR="$CACHE/$PREFIX-$KEY"
SRC="$DIR/src"
BUILD="$DIR/build"
BIN="$BUILD/qemu-system-x86_64"

if [[ $print_only -eq 1 ]]; then
    echo "$BIN"
    [[ -x "$BIN" ]] || { echo "[qemu] (not built yet)" >&2; exit 1; }
    exit 0
fi

mkdir -p "$DIR"
exec 9>"$DIR.lock"
if ! flock -n 9; then
    log "waiting for another build of $PREFIX-$KEY ..."
    flock 9
fi
touch "$DIR"    # mtime = last use, for pruning

# ---- 2. fetch + unpack (once per key) -------------------------------------
# Fetches into CACHE/dl (shared by all keys) with `apt-get source`, then
# unpacks with dpkg-source, which applies the Debian patch series exactly as
# a plain `apt-get source qemu` does.
fetch_source() {
    local dsc="$1" tmp
    [[ -f "$CACHE/dl/$dsc" ]] && return 0
    mkdir -p "$CACHE/dl"
    tmp="$(mktemp -d "$CACHE/dl/tmp.XXXXXX")"
    # apt drops privileges to _apt for downloads when it can; let it write.
    chmod 755 "$tmp"
    if ! (cd "$tmp" && apt-get source -q --download-only "qemu=$VERSION") \
            >"$DIR/fetch.log" 2>&1; then
        rm -rf "$tmp"
        tail -n 20 "$DIR/fetch.log" >&2
        die "apt-get source qemu=$VERSION failed (run scripts/deps.sh qemu?)"
    fi
    mv -f "$tmp"/* "$CACHE/dl/"
    rmdir "$tmp"
}

unpack() {
    local t dsc
    t="$(now)"
    dsc="qemu_${VERSION#*:}.dsc"
    log "unpack qemu $VERSION -> $SRC ..."
    rm -rf "$SRC" "$BUILD" "$DIR/.unpacked" "$DIR/.configured" "$DIR/src.tmp"
    (
        exec 8>"$CACHE/dl.lock"
        flock 8
        fetch_source "$dsc"
        dpkg-source -x "$CACHE/dl/$dsc" "$DIR/src.tmp" >"$DIR/unpack.log" 2>&1 || {
            tail -n 20 "$DIR/unpack.log" >&2
            die "dpkg-source -x $dsc failed"
        }
    )
    patch_tree "$DIR/src.tmp"
    mv "$DIR/src.tmp" "$SRC"
    touch "$DIR/.unpacked"
    log "unpack done ($(since "$t"))"
}

# Hook hw/kestrel into the QEMU tree. Idempotent.
patch_tree() {
    local s="$1"
    grep -qx "subdir('kestrel')" "$s/hw/meson.build" ||
        echo "subdir('kestrel')" >>"$s/hw/meson.build"
    grep -qx "source kestrel/Kconfig" "$s/hw/Kconfig" ||
        echo "source kestrel/Kconfig" >>"$s/hw/Kconfig"
    if ! grep -q "^    'hw/kestrel',$" "$s/meson.build"; then
        grep -q "^    'hw/misc',$" "$s/meson.build" ||
            die "cannot find 'hw/misc' in trace_events_subdirs of meson.build"
        sed -i "s|^    'hw/misc',\$|&\n    'hw/kestrel',|" "$s/meson.build"
    fi
    # The dfsg tarball has no pc-bios/edk2-*.fd.bz2: never try to unpack them
    # (Debian also comments out subdir('pc-bios'); this covers both cases).
    sed -i 's/^\( *unpack_edk2_blobs = \)bzip2\.found()/\1false/' "$s/meson.build"
    grep -q "^  *unpack_edk2_blobs = bzip2" "$s/meson.build" &&
        die "could not disable unpack_edk2_blobs"
    local p
    for p in "${QEMU_PATCHES[@]}"; do
        patch -d "$s" -p1 --forward --quiet <"$p" >>"$DIR/unpack.log" 2>&1 ||
            die "patch $(basename "$p") does not apply (see $DIR/unpack.log)"
    done
    mkdir -p "$s/hw/kestrel"
    if [[ "$flavour" == asan ]]; then
        cp "$OVERLAY/qemu/asan-devices.mak" \
           "$s/configs/devices/x86_64-softmmu/gauntlet-asan.mak"
    fi
}

[[ -f "$DIR/.unpacked" && -d "$SRC" ]] || unpack

# ---- 3. overlay: sync device sources into src/hw/kestrel ------------------
sync_overlay() {
    local dst="$SRC/hw/kestrel" f name changed=0 removed=0
    declare -A want=()
    shopt -s nullglob
    local files=(
        "$OVERLAY"/src/*.c "$OVERLAY"/src/*.h
        "$OVERLAY"/include/*.h
        "$OVERLAY"/qemu/Kconfig "$OVERLAY"/qemu/meson.build
        "$OVERLAY"/qemu/trace-events
        "$OVERLAY"/qemu/*.c "$OVERLAY"/qemu/*.h
    )
    shopt -u nullglob
    mkdir -p "$dst"
    for f in "${files[@]}"; do
        [[ -f "$f" ]] || continue
        name="$(basename "$f")"
        [[ -z "${want[$name]+x}" ]] ||
            die "overlay file name clash: ${want[$name]} and $f"
        want[$name]="$f"
        if ! cmp -s "$f" "$dst/$name"; then
            cp "$f" "$dst/$name.tmp" && mv -f "$dst/$name.tmp" "$dst/$name"
            changed=$((changed + 1))
        fi
    done
    # Like every QEMU hw/ dir, hw/kestrel needs a trace.h that includes the
    # header generated from trace-events; provide it unless the overlay does.
    if [[ -z "${want[trace.h]+x}" ]]; then
        want[trace.h]="(generated)"
        f='#include "trace/trace-hw_kestrel.h"'
        if [[ "$(cat "$dst/trace.h" 2>/dev/null)" != "$f" ]]; then
            echo "$f" >"$dst/trace.h"
            changed=$((changed + 1))
        fi
    fi
    for f in "$dst"/* "$dst"/.[!.]*; do
        [[ -e "$f" ]] || continue
        name="$(basename "$f")"
        if [[ -z "${want[$name]+x}" ]]; then
            rm -rf "$f"
            removed=$((removed + 1))
        fi
    done
    if [[ $changed -gt 0 || $removed -gt 0 ]]; then
        log "overlay: $changed file(s) updated, $removed removed in hw/kestrel"
    fi
}
sync_overlay

# ---- 4. configure (once per key) ------------------------------------------
if [[ ! -f "$DIR/.configured" || ! -f "$BUILD/build.ninja" ]]; then
    t="$(now)"
    log "configure ..."
    rm -rf "$BUILD" "$DIR/.configured"
    mkdir -p "$BUILD"
    # The compiler wrapper (gcov for hw/kestrel) is copied into the cache
    # dir, so the build never depends on where the checkout lives; its
    # content is part of the key.  QEMU links with c++, not the wrapper:
    # --coverage on every link brings in gcov's run-time library.
    install -m 755 "$OVERLAY/qemu/cc-gcov" "$DIR/cc-gcov"
    if ! (cd "$BUILD" && "$SRC/configure" "${CONFIGURE_FLAGS[@]}" \
            "--cc=$DIR/cc-gcov" --extra-ldflags=--coverage) \
            >"$DIR/configure.log" 2>&1; then
        tail -n 40 "$DIR/configure.log" >&2
        die "configure failed (full log: $DIR/configure.log)"
    fi
    touch "$DIR/.configured"
    log "configure done ($(since "$t"))"
fi

# ---- 5. build --------------------------------------------------------------
t="$(now)"
ninja_args=(-C "$BUILD")
[[ -n "$jobs" ]] && ninja_args+=(-j "$jobs")
# Compiler diagnostics from the log, without ninja's progress lines and the
# (very long) compiler command lines.
diagnostics() {
    grep -v -E '^(\[[0-9]+/[0-9]+\] |(cc|c\+\+|gcc|g\+\+|clang) .{200})' "$DIR/build.log" |
        grep -v -E '^ninja: ' || true
}
if ! ninja "${ninja_args[@]}" qemu-system-x86_64 >"$DIR/build.log" 2>&1; then
    diagnostics | head -n 80 >&2
    die "build failed (full log: $DIR/build.log)"
fi
# Warnings in our own sources are worth seeing even when the build works.
if grep -q 'hw/kestrel/.*warning:' "$DIR/build.log"; then
    diagnostics | head -n 60 >&2
fi
# (QEMU regenerates qemu-version.h on every run; that step is not work.)
steps="$(grep '^\[[0-9]*/[0-9]*\] ' "$DIR/build.log" | grep -vc 'qemu-version\.h' || true)"
if [[ "$steps" -gt 0 ]]; then
    log "build: $steps step(s) ($(since "$t"))"
fi
[[ -x "$BIN" ]] || die "ninja succeeded but $BIN is missing"

# A binary run from the build tree relocates its firmware path into
# build/qemu-bundle/ (QEMU 7.2 get_relocated_path): point that at the system
# dirs, so the compiled-in default works without -L.
for d in "${FIRMWARE_DIRS[@]}"; do
    if [[ "$(readlink "$BUILD/qemu-bundle$d" 2>/dev/null)" != "$d" ]]; then
        mkdir -p "$(dirname "$BUILD/qemu-bundle$d")"
        ln -sfn "$d" "$BUILD/qemu-bundle$d"
    fi
done

# ---- 6. publish ------------------------------------------------------------
relink() {    # relink TARGET LINK: atomically, and only when it changes
    [[ "$(readlink "$2" 2>/dev/null)" == "$1" ]] && return 0
    ln -sfn "$1" "$2.tmp.$$" && mv -Tf "$2.tmp.$$" "$2"
}
relink "$PREFIX-$KEY" "$CACHE/$PREFIX-current"
if [[ -n "$out_dir" ]]; then
    mkdir -p "$out_dir"
    relink "$BIN" "$out_dir/qemu-system-x86_64"
fi

# Drop old cache dirs, keeping the $KEEP most recently used (never one that
# another build holds locked).
prune() {
    local d n=0
    # shellcheck disable=SC2012  # names are ours: qemu-<hex>
    while IFS= read -r d; do
        d="${d%/}"
        [[ -L "$d" || ! -d "$d" ]] && continue    # qemu-current
        # only our own qemu-<key> dirs (not e.g. a nested cache root)
        [[ "$(basename "$d")" =~ ^$PREFIX-[0-9a-f]{16}$ ]] || continue
        n=$((n + 1))
        [[ "$d" == "$DIR" || $n -le $KEEP ]] && continue
        (
            exec 7>"$d.lock"
            flock -n 7 || exit 0
            log "prune old $(basename "$d")"
            rm -rf "$d"
            rm -f "$d.lock"
        )
    done < <(ls -1dt "$CACHE/$PREFIX"-*/ 2>/dev/null)
}
prune

log "ready: $BIN (total $(since "$T0"))"
echo "$BIN"
