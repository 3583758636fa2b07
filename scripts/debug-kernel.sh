#!/usr/bin/env bash
# Build (once, cached) the debug guest kernel from Debian's linux-source-6.1:
# KASAN, kmemleak, lockdep, gcov, kcov, fault injection, everything built in.
#
#   scripts/debug-kernel.sh            build if needed, print the cache dir
#   scripts/debug-kernel.sh --print    build if needed, print the vmlinuz path
#   scripts/debug-kernel.sh --out DIR  also link DIR/vmlinuz, DIR/kernel-config,
#                                      DIR/kdir (the build tree, a KDIR for
#                                      out-of-tree modules), DIR/kernel-modules
#                                      (its lib/modules/<release>) and write
#                                      DIR/kernel-version
#   options: --quiet, -j N (default: nproc)
#
# The config is `make allnoconfig` plus scripts/debug-kernel.config (applied
# as KCONFIG_ALLCONFIG), then `make olddefconfig`; every option the fragment
# sets must survive, or the build stops and names the dropped ones.  The
# source is /usr/src/linux-source-6.1.tar.xz (apt-get install
# linux-source-6.1 when missing and root).  make runs under nice -n 10.
# Output, in
#   ${GAUNTLET_CACHE:-~/.cache/gauntlet}/debug-kernel-<key>/
#       vmlinuz          the kernel image (bzImage)
#       config           its .config
#       System.map
#       kernel-release   uname -r of the guest, e.g. 6.1.192-gauntlet-debug
#       build-time       wall seconds of the whole build (unpack, config,
#                        make, prune, self-test)
#       package          linux-source version, key, fragment sha256
#       build.log        the make log
#       build/           the built tree pruned to what module builds need
#                        (~100 MB, with vmlinux): use as KDIR, e.g.
#                        driver/build-module.sh --kdir <dir>/build or
#                        make -C <dir>/build M=$PWD modules; a module opts in
#                        to coverage with GCOV_PROFILE := y (gcov, data in
#                        /sys/kernel/debug/gcov/<module build dir>/) and
#                        KCOV_INSTRUMENT := y (kcov) in its Kbuild
#       modules/         lib/modules/<release>: the in-tree drivers the
#                        fragment builds as modules (nvme, virtio, vfio)
# <key> = first 16 hex digits of sha256(the pinned linux-source-6.1
# version, the fragment, this script).  The build runs in a temporary directory in the
# cache (log: debug-kernel-<key>.log next to it) that is renamed into place
# only when complete; a complete cache hit returns at once.  The first build
# takes ~16 min on 2 cores (about 1150 objects) and ~2.5 GB of disk while
# building, ~110 MB after.
set -euo pipefail

SELF="$(readlink -f "${BASH_SOURCE[0]}")"
TOP="$(cd "$(dirname "$SELF")/.." && pwd)"
FRAGMENT="$TOP/scripts/debug-kernel.config"
CACHE_ROOT="${GAUNTLET_CACHE:-$HOME/.cache/gauntlet}"
SRC_PKG=linux-source-6.1
PIN_FILE="$TOP/scripts/debug-kernel.version"

die() { echo "debug-kernel: $*" >&2; exit 1; }
say() { [[ $quiet -eq 1 ]] || echo "debug-kernel: $*" >&2; }
usage() {
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$SELF" >&2
    exit 2
}

mode=dir
out=""
quiet=0
jobs="$(nproc)"
while [[ $# -gt 0 ]]; do
    case "$1" in
    --print) mode=vmlinuz ;;
    --out) out="${2:?--out needs a directory}"; shift ;;
    --quiet|-q) quiet=1 ;;
    -j) jobs="${2:?-j needs a number}"; shift ;;
    -j*) jobs="${1#-j}" ;;
    -h|--help) usage ;;
    *) echo "debug-kernel: unknown argument '$1'" >&2; usage ;;
    esac
    shift
done
[[ "$jobs" =~ ^[1-9][0-9]*$ ]] || die "bad -j '$jobs'"
[[ -r "$FRAGMENT" ]] || die "no config fragment $FRAGMENT"

[[ -r "$PIN_FILE" ]] || die "no $PIN_FILE (the pinned $SRC_PKG version)"
version="$(tr -d ' \t\r\n' <"$PIN_FILE")"
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+-[0-9a-z.+~]+$ ]] || die "bad version '$version' in $PIN_FILE"
SRC_TAR="$CACHE_ROOT/linux-source-$version/linux-source-6.1.tar.xz"

# The pinned source package, downloaded (not installed) and unpacked once.
fetch_source() {
    local d="$CACHE_ROOT/linux-source-$version" tmp deb
    [[ -f "$d/.complete" && -r "$SRC_TAR" ]] && return 0
    command -v apt-get >/dev/null || die "apt-get not found"
    mkdir -p "$CACHE_ROOT"
    tmp="$(mktemp -d "$CACHE_ROOT/.linux-source-$version.XXXXXX")"
    chmod 0755 "$tmp"   # _apt, the download sandbox user, writes here
    say "downloading $SRC_PKG=$version (apt-get download)"
    if ! (cd "$tmp" && apt-get download -q "$SRC_PKG=$version" >"$tmp/download.log" 2>&1); then
        if [[ $(id -u) -eq 0 ]]; then
            apt-get update -q >"$tmp/update.log" 2>&1 || true
            (cd "$tmp" && apt-get download -q "$SRC_PKG=$version" >"$tmp/download.log" 2>&1) ||
                { cat "$tmp/download.log" >&2; rm -rf "$tmp"; die "apt-get download $SRC_PKG=$version failed"; }
        else
            cat "$tmp/download.log" >&2; rm -rf "$tmp"
            die "apt-get download $SRC_PKG=$version failed (run 'apt-get update' as root?)"
        fi
    fi
    deb="$(find "$tmp" -maxdepth 1 -name "${SRC_PKG}_*.deb" | head -n 1)"
    [[ -n "$deb" ]] || { rm -rf "$tmp"; die "apt-get download produced no .deb"; }
    [[ "$(dpkg-deb -f "$deb" Version)" == "$version" ]] ||
        { rm -rf "$tmp"; die "$deb is not version $version"; }
    dpkg-deb -x "$deb" "$tmp/root"
    [[ -r "$tmp/root/usr/src/linux-source-6.1.tar.xz" ]] ||
        { rm -rf "$tmp"; die "$deb has no usr/src/linux-source-6.1.tar.xz"; }
    rm -rf "$d"
    mkdir -p "$d"
    mv "$tmp/root/usr/src/linux-source-6.1.tar.xz" "$d/"
    echo "$version" >"$d/version"
    touch "$d/.complete"
    rm -rf "$tmp"
}

key="$({ echo "$SRC_PKG $version"; cat "$FRAGMENT"; cat "$SELF"; } | sha256sum | cut -c1-16)"
dir="$CACHE_ROOT/debug-kernel-$key"
log="$CACHE_ROOT/debug-kernel-$key.log"

complete() {
    [[ -f "$dir/.complete" && -f "$dir/vmlinuz" && -f "$dir/build/Module.symvers" ]]
}

# The symbols the fragment sets (=y/=n/=value, "is not set") must be in the
# final .config exactly so; print the ones that are not.
check_config() {  # FRAGMENT CONFIG
    local line sym bad=()
    while IFS= read -r line; do
        if [[ "$line" =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]]; then
            sym="${BASH_REMATCH[1]}"
            grep -qxF -- "$line" "$2" ||
                bad+=("$line (got: $(grep -E "^(# )?${sym}[= ]" "$2" || echo absent))")
        elif [[ "$line" =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
            sym="${BASH_REMATCH[1]}"
            ! grep -qE "^$sym=" "$2" || bad+=("$line (got: $(grep -E "^$sym=" "$2"))")
        fi
    done <"$1"
    if [[ ${#bad[@]} -gt 0 ]]; then
        printf '  %s\n' "${bad[@]}"
        return 1
    fi
}

run_logged() {  # what, command...
    local what="$1"; shift
    echo "+ $*" >>"$log"
    if ! "$@" >>"$log" 2>&1; then
        echo "debug-kernel: $what failed; last lines of $log:" >&2
        tail -n 40 "$log" >&2
        exit 1
    fi
}

build() {
    command -v gcc >/dev/null || die "gcc not found (apt-get install build-essential)"
    fetch_source
    local t0 tmp tree release k
    t0="$(date +%s)"
    mkdir -p "$CACHE_ROOT"
    tmp="$(mktemp -d "$CACHE_ROOT/.debug-kernel-$key.XXXXXX")"
    # shellcheck disable=SC2064
    trap "rm -rf '$tmp'" EXIT
    : >"$log"
    local kmake=(nice -n 10 make -C "$tmp/out/build" ARCH=x86_64
                 KBUILD_BUILD_USER=gauntlet KBUILD_BUILD_HOST=gauntlet)

    say "unpacking $SRC_TAR ($SRC_PKG $version)"
    mkdir -p "$tmp/out"
    tar -xJf "$SRC_TAR" -C "$tmp"
    [[ -f "$tmp/linux-source-6.1/Makefile" ]] || die "$SRC_TAR has no linux-source-6.1/Makefile"
    mv "$tmp/linux-source-6.1" "$tmp/out/build"
    tree="$tmp/out/build"

    say "configuring (allnoconfig + $(basename "$FRAGMENT"))"
    run_logged allnoconfig "${kmake[@]}" KCONFIG_ALLCONFIG="$FRAGMENT" allnoconfig
    run_logged olddefconfig "${kmake[@]}" olddefconfig
    local dropped
    if ! dropped="$(check_config "$FRAGMENT" "$tree/.config")"; then
        echo "debug-kernel: options of $(basename "$FRAGMENT") that did not survive olddefconfig" \
             "(a dependency is missing; fix the fragment):" >&2
        echo "$dropped" >&2
        exit 1
    fi

    say "building with -j$jobs (nice 10; log: $log)"
    run_logged make "${kmake[@]}" -j"$jobs" all
    release="$(cat "$tree/include/config/kernel.release")"
    [[ -f "$tree/arch/x86/boot/bzImage" ]] || die "no bzImage after the build"
    [[ -f "$tree/Module.symvers" ]] || die "no Module.symvers after the build"

    cp "$tree/arch/x86/boot/bzImage" "$tmp/out/vmlinuz"
    cp "$tree/.config" "$tmp/out/config"
    cp "$tree/System.map" "$tmp/out/System.map"
    echo "$release" >"$tmp/out/kernel-release"
    if [[ -s "$tree/modules.order" ]]; then
        run_logged modules_install "${kmake[@]}" INSTALL_MOD_PATH="$tmp/mods" modules_install
        mv "$tmp/mods/lib/modules/$release" "$tmp/out/modules"
        rm -f "$tmp/out/modules/build" "$tmp/out/modules/source"
    fi

    # Keep what out-of-tree module builds need, like a linux-headers package:
    # the top Makefiles, .config, Module.symvers, include/ (with generated/),
    # arch/x86 (Makefiles, headers, generated asm), scripts/ (modpost,
    # fixdep...), the objtool binary; plus vmlinux and System.map for
    # symbolising reports.  The sources and objects of the image go (~1.5 GB).
    say "pruning the build tree"
    for k in "$tree"/* "$tree"/.tmp_*; do
        case "${k##*/}" in
        Makefile|Kbuild|Kconfig|Module.symvers|System.map|vmlinux|modules.*) ;;
        include|arch|scripts|tools) ;;
        *) rm -rf "$k" ;;
        esac
    done
    for k in "$tree"/arch/*; do
        case "${k##*/}" in x86|Kconfig) ;; *) rm -rf "$k" ;; esac
    done
    for k in "$tree"/tools/*; do
        [[ "${k##*/}" == objtool ]] || rm -rf "$k"
    done
    find "$tree/arch/x86" "$tree/tools/objtool" \
        \( -name '*.o' -o -name '*.a' -o -name '*.o.cmd' -o -name '*.a.cmd' \
           -o -name '*.c' -o -name '*.S' \) -type f -print0 | xargs -0 -r rm -f
    rm -f "$tree"/arch/x86/boot/compressed/vmlinux* "$tree"/arch/x86/boot/vmlinux.bin \
          "$tree"/arch/x86/boot/setup.elf "$tree"/arch/x86/boot/bzImage

    # The tree must still build a module, with gcov and kcov instrumentation.
    say "checking the tree as KDIR (a gcov-profiled test module)"
    mkdir -p "$tmp/selftest"
    cat >"$tmp/selftest/dktest.c" <<'EOF'
#include <linux/module.h>
#include <linux/slab.h>
static int __init dktest_init(void) { kfree(kmalloc(8, GFP_KERNEL)); return 0; }
static void __exit dktest_exit(void) { }
module_init(dktest_init);
module_exit(dktest_exit);
MODULE_LICENSE("GPL");
EOF
    printf 'obj-m := dktest.o\nGCOV_PROFILE := y\nKCOV_INSTRUMENT := y\n' >"$tmp/selftest/Kbuild"
    run_logged "test module build" "${kmake[@]}" M="$tmp/selftest" modules
    [[ -f "$tmp/selftest/dktest.ko" && -f "$tmp/selftest/dktest.gcno" ]] ||
        die "test module built without gcov notes (dktest.gcno missing)"
    nm "$tmp/selftest/dktest.ko" >"$tmp/selftest/nm.txt"
    grep -q __gcov_init "$tmp/selftest/nm.txt" ||
        die "test module has no gcov constructor (__gcov_init)"
    grep -q __sanitizer_cov_trace_pc "$tmp/selftest/nm.txt" ||
        die "test module has no kcov instrumentation"
    grep -q __asan_ "$tmp/selftest/nm.txt" ||
        die "test module has no KASAN instrumentation"

    echo $(( $(date +%s) - t0 )) >"$tmp/out/build-time"
    {
        echo "source=$SRC_PKG"
        echo "version=$version"
        echo "key=$key"
        echo "fragment_sha256=$(sha256sum "$FRAGMENT" | cut -d' ' -f1)"
        echo "gcc=$(gcc -dumpfullversion)"
    } >"$tmp/out/package"
    cp "$log" "$tmp/out/build.log"
    rm -rf "$dir"
    touch "$tmp/out/.complete"
    mv "$tmp/out" "$dir"
    rm -rf "$tmp" "$log"
    trap - EXIT
    say "built $release in $(cat "$dir/build-time") s"
}

if ! complete; then
    mkdir -p "$CACHE_ROOT"
    exec 9>"$CACHE_ROOT/debug-kernel-$key.lock"
    flock 9
    complete || build
    flock -u 9
    say "$(cat "$dir/kernel-release") in $dir"
fi

if [[ -n "$out" ]]; then
    # shellcheck source=scripts/kernel-publish.sh
    . "$TOP/scripts/kernel-publish.sh"
    if [[ -d "$dir/modules" ]]; then
        kernel_publish "$dir" "$out" build:kdir modules:kernel-modules
    else
        kernel_publish "$dir" "$out" build:kdir
    fi
fi

case "$mode" in
dir) echo "$dir" ;;
vmlinuz) echo "$dir/vmlinuz" ;;
esac
