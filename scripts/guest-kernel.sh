#!/usr/bin/env bash
# Fetch and unpack the pinned guest kernel (Debian linux-image-<abi>-amd64).
#
#   scripts/guest-kernel.sh            fetch if needed, print the cache dir
#   scripts/guest-kernel.sh --print    fetch if needed, print the vmlinuz path
#   scripts/guest-kernel.sh --out DIR  also link DIR/vmlinuz, DIR/kernel-config,
#                                      DIR/kernel-modules, DIR/kernel-version
#   options: --abi ABI (default: driver/kernel-abi), --quiet
#
# The package is fetched with `apt-get download` (nothing is installed) and
# unpacked with `dpkg-deb -x` into
#   ${GAUNTLET_CACHE:-~/.cache/gauntlet}/kernel-<abi>/
#       vmlinuz          the kernel image (bzImage, signed Debian build)
#       config           its .config
#       System.map
#       modules/         lib/modules/<abi>-amd64 (for in-guest modules)
#       kernel-release   uname -r of the guest, e.g. 6.1.0-50-amd64
#       package          the exact package: name, version, sha256 of the .deb
#       notes            drivers the initramfs would need as modules (nvme...)
# A cached, complete unpack is reused (a second run takes milliseconds).
set -euo pipefail

TOP="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
CACHE_ROOT="${GAUNTLET_CACHE:-$HOME/.cache/gauntlet}"

die() { echo "guest-kernel: $*" >&2; exit 1; }
say() { [[ $quiet -eq 1 ]] || echo "guest-kernel: $*" >&2; }
usage() {
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}" >&2
    exit 2
}

abi=""
mode=dir
out=""
quiet=0
while [[ $# -gt 0 ]]; do
    case "$1" in
    --print) mode=vmlinuz ;;
    --abi) abi="${2:?--abi needs a value}"; shift ;;
    --out) out="${2:?--out needs a directory}"; shift ;;
    --quiet|-q) quiet=1 ;;
    -h|--help) usage ;;
    *) echo "guest-kernel: unknown argument '$1'" >&2; usage ;;
    esac
    shift
done

if [[ -z "$abi" ]]; then
    [[ -r "$TOP/driver/kernel-abi" ]] || die "no $TOP/driver/kernel-abi"
    abi="$(tr -d ' \t\r\n' <"$TOP/driver/kernel-abi")"
fi
[[ "$abi" =~ ^[0-9]+\.[0-9]+\.[0-9]+-[0-9]+$ ]] || die "bad kernel ABI '$abi'"

release="$abi-amd64"
pkg="linux-image-$release"
dir="$CACHE_ROOT/kernel-$abi"

complete() { [[ -f "$dir/.complete" && -f "$dir/vmlinuz" && -d "$dir/modules" ]]; }

fetch() {
    command -v apt-get >/dev/null || die "apt-get not found"
    command -v dpkg-deb >/dev/null || die "dpkg-deb not found"
    mkdir -p "$CACHE_ROOT"
    local tmp
    tmp="$(mktemp -d "$CACHE_ROOT/.kernel-$abi.XXXXXX")"
    # shellcheck disable=SC2064
    trap "rm -rf '$tmp'" EXIT
    # _apt (the download sandbox user) must be able to write here.
    chmod 0755 "$tmp"

    say "downloading $pkg (apt-get download)"
    if ! (cd "$tmp" && apt-get download -q "$pkg" >"$tmp/download.log" 2>&1); then
        # A stale package list is the usual cause; refresh it once if we can.
        if [[ $(id -u) -eq 0 ]]; then
            say "apt-get download failed; running apt-get update and retrying"
            apt-get update -q >"$tmp/update.log" 2>&1 ||
                { cat "$tmp/update.log" >&2; die "apt-get update failed"; }
            (cd "$tmp" && apt-get download -q "$pkg" >"$tmp/download.log" 2>&1) ||
                { cat "$tmp/download.log" >&2; die "apt-get download $pkg failed"; }
        else
            cat "$tmp/download.log" >&2
            die "apt-get download $pkg failed (run 'apt-get update' as root?)"
        fi
    fi
    local deb
    deb="$(find "$tmp" -maxdepth 1 -name "${pkg}_*.deb" | head -n 1)"
    [[ -n "$deb" ]] || die "apt-get download produced no .deb"

    say "unpacking $(basename "$deb")"
    mkdir -p "$tmp/root" "$tmp/out"
    dpkg-deb -x "$deb" "$tmp/root"
    [[ -f "$tmp/root/boot/vmlinuz-$release" ]] || die "no boot/vmlinuz-$release in $deb"
    [[ -d "$tmp/root/lib/modules/$release" ]] || die "no lib/modules/$release in $deb"
    mv "$tmp/root/boot/vmlinuz-$release" "$tmp/out/vmlinuz"
    mv "$tmp/root/boot/config-$release" "$tmp/out/config"
    [[ -f "$tmp/root/boot/System.map-$release" ]] &&
        mv "$tmp/root/boot/System.map-$release" "$tmp/out/System.map"
    mv "$tmp/root/lib/modules/$release" "$tmp/out/modules"
    echo "$release" >"$tmp/out/kernel-release"
    {
        echo "package=$(dpkg-deb -f "$deb" Package)"
        echo "version=$(dpkg-deb -f "$deb" Version)"
        echo "source=$(dpkg-deb -f "$deb" Source)"
        echo "deb=$(basename "$deb")"
        echo "sha256=$(sha256sum "$deb" | cut -d' ' -f1)"
    } >"$tmp/out/package"

    # Which storage/virtio drivers are modules?  A harness that wants them
    # in the guest must put them (and their dependencies) in the initramfs,
    # e.g. harness/guest/mkinitramfs.sh --kmod nvme.
    {
        echo "# CONFIG options of $release relevant to the guest image"
        for opt in BLK_DEV_NVME NVME_CORE VIRTIO_PCI VIRTIO_BLK VIRTIO_CONSOLE \
                   SERIAL_8250 DEVTMPFS DEBUG_FS PCI_MSI DETECT_HUNG_TASK \
                   MODULE_SIG_FORCE MODULE_COMPRESS_XZ MODULE_COMPRESS_ZSTD \
                   RD_GZIP KASAN PROVE_LOCKING; do
            v="$(grep -E "^(# )?CONFIG_${opt}[= ]" "$tmp/out/config" || true)"
            echo "${v:-# CONFIG_$opt: absent}"
        done
    } >"$tmp/out/notes"

    rm -rf "$dir"
    touch "$tmp/out/.complete"
    mv "$tmp/out" "$dir"
    rm -rf "$tmp"
    trap - EXIT
}

if ! complete; then
    mkdir -p "$CACHE_ROOT"
    exec 9>"$CACHE_ROOT/kernel-$abi.lock"
    flock 9
    complete || fetch
    flock -u 9
    say "$(grep '^version=' "$dir/package" | cut -d= -f2) in $dir"
fi

if [[ -n "$out" ]]; then
    # shellcheck source=scripts/kernel-publish.sh
    . "$TOP/scripts/kernel-publish.sh"
    kernel_publish "$dir" "$out" modules:kernel-modules
fi

case "$mode" in
dir) echo "$dir" ;;
vmlinuz) echo "$dir/vmlinuz" ;;
esac
