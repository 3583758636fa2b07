#!/usr/bin/env bash
# Install Gauntlet's build dependencies from the Debian archive.
#
#   scripts/deps.sh GROUP...     e.g. `scripts/deps.sh qemu unit`
#   scripts/deps.sh all
#   scripts/deps.sh --list [GROUP...]   print the packages, install nothing
#
# Groups are plain package lists (below). `apt-get update` runs only when
# something is actually missing. The `qemu` group also makes sure a deb-src
# entry exists, because qemu-device/build-qemu.sh fetches QEMU with
# `apt-get source qemu`.
set -euo pipefail

# ---- package groups (one list per group) ----------------------------------
declare -A GROUPS_PKGS
# QEMU 7.2 from Debian source, x86_64-softmmu only, plus the firmware our
# firmware-less build needs at run time:
#   seabios           /usr/share/seabios/bios-256k.bin, vgabios-*.bin
#   qemu-system-data  /usr/share/qemu/kvmvapic.bin, linuxboot_dma.bin, ...
#   ipxe-qemu         /usr/lib/ipxe/qemu/{efi,pxe}-*.rom (NIC option ROMs)
GROUPS_PKGS[qemu]="dpkg-dev xz-utils gcc libc6-dev pkg-config python3 meson
  ninja-build libglib2.0-dev libpixman-1-dev libfdt-dev zlib1g-dev
  seabios qemu-system-data ipxe-qemu"
# Unit tests: the Check framework, driven by CMake/ctest; linux-libc-dev
# has <linux/vfio.h> for the user-space driver (driver/vfio).
GROUPS_PKGS[unit]="check pkg-config cmake gcc libc6-dev linux-libc-dev"
GROUPS_PKGS[json]="libjson-c-dev"
# The kernel module: build-module.sh installs the pinned linux-headers
# package itself; W=1 checks use sparse.
GROUPS_PKGS[driver]="make gcc sparse"
# The guest image: a static busybox in a gzip'd cpio initramfs.
GROUPS_PKGS[vm]="busybox-static cpio gzip"
# The harness: scenario files (libyaml, parser and emitter), QMP/reports
# (json-c), JUnit XML (libxml2's xmlTextWriter), the guest's kernel log
# gzip'd on its way out (zlib); its tests read campaign vocabularies with
# python3-yaml (tests/harness/campaign-generate.sh).
GROUPS_PKGS[harness]="libyaml-dev libjson-c-dev libxml2-dev zlib1g-dev python3 python3-yaml"
# libFuzzer targets: clang-14 with its fuzzer and sanitizer runtimes.
GROUPS_PKGS[fuzz]="clang-14 libclang-rt-14-dev llvm-14 python3 zip"
# The debug guest kernel (scripts/debug-kernel.sh, from linux-source-6.1):
# kconfig needs flex and bison, objtool libelf, timeconst bc; the source
# package itself is installed by the script.
GROUPS_PKGS[kernel]="make gcc bc flex bison libelf-dev libssl-dev xz-utils cpio"
# Tests of the project's own files: the CI workflow is parsed with
# python3-yaml (tests/ci/workflow-campaign.sh), JUnit checked with xmllint.
GROUPS_PKGS[ci]="python3 python3-yaml libxml2-utils"
# gauntlet coverage: lcov (geninfo, genhtml) and gcovr (Cobertura XML).
GROUPS_PKGS[coverage]="lcov gcovr"
# report.html's test (vm.report_html) opens the page in headless Chromium.
GROUPS_PKGS[report]="chromium"
ALL_GROUPS="qemu unit json driver vm harness fuzz kernel coverage ci report"

# Files the qemu group must provide (checked after install).
QEMU_FIRMWARE_FILES="/usr/share/seabios/bios-256k.bin
  /usr/share/qemu/kvmvapic.bin /usr/share/qemu/linuxboot_dma.bin"

SRC_LIST=/etc/apt/sources.list.d/gauntlet-src.sources
SRC_CONTENT='Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
'

die() { echo "deps: $*" >&2; exit 1; }

usage() {
    echo "usage: $0 [--list] GROUP... | all   (groups: $ALL_GROUPS)" >&2
    exit 2
}

list_only=0
groups=()
for a in "$@"; do
    case "$a" in
    --list) list_only=1 ;;
    -h|--help) usage ;;
    all) read -r -a tmp <<<"$ALL_GROUPS"; groups+=("${tmp[@]}") ;;
    *) [[ -n "${GROUPS_PKGS[$a]+x}" ]] || { echo "deps: unknown group '$a'" >&2; usage; }
       groups+=("$a") ;;
    esac
done
[[ ${#groups[@]} -gt 0 ]] || usage

# Collect the packages of all requested groups, de-duplicated, in order.
declare -A seen
pkgs=()
want_qemu=0
for g in "${groups[@]}"; do
    [[ "$g" == qemu ]] && want_qemu=1
    for p in ${GROUPS_PKGS[$g]}; do
        [[ -n "${seen[$p]+x}" ]] && continue
        seen[$p]=1
        pkgs+=("$p")
    done
done

if [[ $list_only -eq 1 ]]; then
    printf '%s\n' "${pkgs[@]}"
    exit 0
fi

is_root() { [[ $(id -u) -eq 0 ]]; }

installed() {
    [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" == "install ok installed" ]]
}

missing=()
for p in "${pkgs[@]}"; do
    installed "$p" || missing+=("$p")
done

# Is any deb-src entry for the Debian main archive configured already?
have_deb_src() {
    local f
    [[ -f "$SRC_LIST" ]] && return 0
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [[ -f "$f" ]] && grep -Eq '^[[:space:]]*deb-src[[:space:]].*debian' "$f" && return 0
    done
    for f in /etc/apt/sources.list.d/*.sources; do
        [[ -f "$f" ]] || continue
        # deb822 stanza whose Types include deb-src
        grep -Eqi '^Types:.*deb-src' "$f" && return 0
    done
    return 1
}

need_src=0
need_update=0
if [[ $want_qemu -eq 1 ]]; then
    have_deb_src || need_src=1
fi

if ! is_root; then
    if [[ ${#missing[@]} -gt 0 || $need_src -eq 1 ]]; then
        echo "deps: not root; these steps are needed (run them as root):" >&2
        if [[ $need_src -eq 1 ]]; then
            echo "  # add a deb-src entry for 'apt-get source qemu':" >&2
            printf '  printf %q > %s\n' "$SRC_CONTENT" "$SRC_LIST" >&2
            echo "  apt-get update" >&2
        fi
        if [[ ${#missing[@]} -gt 0 ]]; then
            echo "  apt-get install -y --no-install-recommends ${missing[*]}" >&2
        fi
        exit 1
    fi
fi

if [[ $need_src -eq 1 ]]; then
    echo "deps: adding deb-src entry $SRC_LIST"
    printf '%s' "$SRC_CONTENT" >"$SRC_LIST"
    need_update=1
fi
# deb-src configured but its index never fetched (fresh machine)?
if [[ $want_qemu -eq 1 && $need_update -eq 0 ]] &&
   [[ -z "$(apt-cache showsrc --only-source qemu 2>/dev/null | head -n1)" ]]; then
    is_root || die "apt has no source index for qemu; run 'apt-get update' as root"
    need_update=1
fi
[[ ${#missing[@]} -gt 0 ]] && need_update=1

export DEBIAN_FRONTEND=noninteractive
if [[ $need_update -eq 1 ]]; then
    echo "deps: apt-get update"
    apt-get update -q >/dev/null || apt-get update
fi
if [[ ${#missing[@]} -gt 0 ]]; then
    echo "deps: apt-get install ${missing[*]}"
    apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if [[ $want_qemu -eq 1 ]]; then
    for f in $QEMU_FIRMWARE_FILES; do
        [[ -r "$f" ]] || die "expected firmware file $f is missing after install"
    done
fi
echo "deps: ok (${groups[*]})"
