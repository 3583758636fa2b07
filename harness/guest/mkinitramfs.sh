#!/usr/bin/env bash
# Build the Gauntlet guest initramfs (cpio newc, gzip): static busybox, our
# init, plus whatever the caller adds (driver modules, tools, hooks).
#
#   mkinitramfs.sh -o OUT.cpio.gz [OPTIONS]
#
#   --autoload-ko PATH     a driver module init loads at boot (with
#                          gauntlet.modparams)  -> /lib/gauntlet/autoload/
#   --busybox PATH         static busybox (default /bin/busybox of the
#                          busybox-static package)
#   --init PATH            PID 1 script (default: init next to this script)
#   --kernel-modules DIR   the guest kernel's lib/modules/<release>, for --kmod
#                          (scripts/guest-kernel.sh unpacks it: <cache>/modules)
#   --kmod NAME            a guest-kernel module (e.g. nvme) and everything it
#                          depends on, loaded at boot before the
#                          --autoload-ko modules
#   --kmod-lazy NAME       the same files, not loaded at boot: the load order
#                          goes to /etc/gauntlet/kmods.d/NAME, for
#                          gauntlet-modload NAME (a driver under test)
#   --add SRC:DEST         a file or directory at DEST in the image; a DEST
#                          ending in / keeps SRC's name (repeatable), e.g.
#                          --add run.sh:/etc/gauntlet/run
#                          --add agent.sh:/etc/gauntlet/init.d/50-agent.sh
#   --append-to BASE       write BASE followed by a second archive holding only
#                          the --add/--kmod files: the kernel unpacks both, the
#                          later one wins.  Cheap per-test images.
#
# The image is reproducible (sorted, owner 0:0, fixed mtimes, gzip -n).  See
# init for the boot protocol (gauntlet.run=, GAUNTLET-RESULT: ...).
set -euo pipefail

HERE="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"

die() { echo "mkinitramfs: $*" >&2; exit 1; }
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}" >&2; exit 2; }

out=""
autoload=()
busybox=/bin/busybox
init="$HERE/init"
kmoddir=""
base=""
kmods=()
lazy=()
adds=()
while [[ $# -gt 0 ]]; do
    case "$1" in
    -o|--out) out="${2:?}"; shift ;;
    --autoload-ko) autoload+=("${2:?}"); shift ;;
    --busybox) busybox="${2:?}"; shift ;;
    --init) init="${2:?}"; shift ;;
    --kernel-modules) kmoddir="${2:?}"; shift ;;
    --kmod) kmods+=("${2:?}"); shift ;;
    --kmod-lazy) lazy+=("${2:?}"); shift ;;
    --add) adds+=("${2:?}"); shift ;;
    --append-to) base="${2:?}"; shift ;;
    -h|--help) usage ;;
    *) echo "mkinitramfs: unknown argument '$1'" >&2; usage ;;
    esac
    shift
done
[[ -n "$out" ]] || usage

# An ELF program we copy must not need a dynamic loader (there is none).
check_static() {
    [[ -f "$1" ]] || die "$2: no such file: $1"
    if command -v readelf >/dev/null && readelf -l "$1" 2>/dev/null | grep -q 'program interpreter'; then
        die "$2 ($1) is dynamically linked; the initramfs needs a static binary"
    fi
}

stage="$(mktemp -d "${TMPDIR:-/tmp}/gauntlet-initramfs.XXXXXX")"
trap 'rm -rf "$stage"' EXIT
root="$stage/root"
mkdir -p "$root"

# ---- the base image ---------------------------------------------------------
if [[ -z "$base" ]]; then
    if [[ ! -x "$busybox" && "$busybox" == /bin/busybox && $(id -u) -eq 0 ]]; then
        echo "mkinitramfs: installing busybox-static (apt-get)" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q busybox-static >&2 ||
            die "apt-get install busybox-static failed"
    fi
    if [[ ! -x "$busybox" ]]; then
        die "no static busybox at $busybox (apt-get install busybox-static)"
    fi
    check_static "$busybox" busybox
    [[ -f "$init" ]] || die "no init script at $init"

    mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,lib/gauntlet,etc/gauntlet/init.d} \
             "$root"/{dev,proc,sys,tmp,run,root,mnt,var/log}
    cp "$busybox" "$root/bin/busybox"
    chmod 0755 "$root/bin/busybox"
    # The equivalent of `busybox --install -s`, done at build time.
    while read -r applet; do
        [[ -n "$applet" && ! -e "$root/$applet" ]] || continue
        [[ "$applet" == */* ]] && mkdir -p "$root/${applet%/*}"
        ln -s /bin/busybox "$root/$applet"
    done < <("$busybox" --list-full)
    install -m 0755 "$init" "$root/init"
    echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
    echo 'root:x:0:' >"$root/etc/group"
    echo gauntlet-guest >"$root/etc/hostname"

else
    [[ -f "$base" ]] || die "--append-to: no such file: $base"
fi
for ko in "${autoload[@]}"; do
    [[ -f "$ko" && "$ko" == *.ko ]] || die "--autoload-ko: no module file $ko"
    mkdir -p "$root/lib/gauntlet/autoload"
    install -m 0644 "$ko" "$root/lib/gauntlet/autoload/"
done

# ---- guest-kernel modules with their dependencies -------------------------------
# Dependencies come from each module's .modinfo "depends=" (the Debian
# package ships no modules.dep and depmod may be missing on the host).
if [[ ${#kmods[@]} -gt 0 || ${#lazy[@]} -gt 0 ]]; then
    [[ -n "$kmoddir" && -d "$kmoddir/kernel" ]] ||
        die "--kmod needs --kernel-modules DIR (the guest's lib/modules/<release>)"
    command -v objcopy >/dev/null || die "--kmod needs objcopy (binutils)"
    declare -A kmod_file kmod_seen
    while read -r f; do
        b="${f##*/}"; b="${b%%.ko*}"
        kmod_file[${b//-/_}]="$f"
    done < <(find "$kmoddir/kernel" -name '*.ko*')
    mkdir -p "$root/lib/gauntlet/kmod" "$root/etc/gauntlet"
    list="$root/etc/gauntlet/kmods"
    [[ ${#kmods[@]} -eq 0 ]] || : >"$list"
    kmod_add() {   # NAME: dependencies first, then the module
        local name="${1//-/_}" src f deps d
        [[ -z "${kmod_seen[$name]+x}" ]] || return 0
        kmod_seen[$name]=1
        src="${kmod_file[$name]:-}"
        [[ -n "$src" ]] || die "module '$1' not found under $kmoddir/kernel"
        f="${src##*/}"
        case "$f" in
        *.ko) cp "$src" "$stage/$name.ko" ;;
        *.ko.xz) xz -dc "$src" >"$stage/$name.ko" ;;
        *.ko.zst) zstd -qdc "$src" >"$stage/$name.ko" ;;
        *.ko.gz) gzip -dc "$src" >"$stage/$name.ko" ;;
        *) die "unexpected module file $src" ;;
        esac
        deps="$(objcopy -O binary --only-section=.modinfo "$stage/$name.ko" /dev/stdout |
                tr '\0' '\n' | sed -n 's/^depends=//p')"
        for d in ${deps//,/ }; do kmod_add "$d"; done
        mv "$stage/$name.ko" "$root/lib/gauntlet/kmod/${f%%.ko*}.ko"
        echo "${f%%.ko*}.ko" >>"$list"
    }
    for m in "${kmods[@]}"; do kmod_add "$m"; done
    [[ ${#kmods[@]} -eq 0 ]] ||
        echo "mkinitramfs: guest modules: $(tr '\n' ' ' <"$list")" >&2
    mkdir -p "$root/etc/gauntlet/kmods.d"
    for m in "${lazy[@]}"; do
        kmod_seen=()
        list="$root/etc/gauntlet/kmods.d/$m"
        : >"$list"
        kmod_add "$m"
        echo "mkinitramfs: lazy module $m: $(tr '\n' ' ' <"$list")" >&2
    done
fi

# ---- caller's files --------------------------------------------------------
for spec in "${adds[@]}"; do
    [[ "$spec" == *:* ]] || die "--add wants SRC:DEST, got '$spec'"
    src="${spec%%:*}"
    dest="${spec#*:}"
    [[ -e "$src" ]] || die "--add: no such file: $src"
    [[ "$dest" == /* ]] || dest="/$dest"
    [[ "$dest" == */ ]] && dest="$dest$(basename "$src")"
    mkdir -p "$root$(dirname "$dest")"
    if [[ -d "$src" ]]; then
        mkdir -p "$root$dest"
        cp -a "$src/." "$root$dest/"
    else
        # an ELF program must be static (a module has no interpreter: fine)
        if [[ "$(head -c 4 "$src" | od -An -c | tr -d ' ')" == '177ELF' ]]; then
            check_static "$src" "--add $src"
        fi
        cp -L "$src" "$root$dest"
        # keep the executable bit of the source
        if [[ -x "$src" ]]; then chmod 0755 "$root$dest"; else chmod 0644 "$root$dest"; fi
    fi
done

# ---- archive ---------------------------------------------------------------------
# One newc entry written by hand: a device node (needs no mknod privilege).
newc_entry() {  # name mode(octal) rdevmajor rdevminor ino
    local name="$1" mode=$((8#$2)) maj="$3" min="$4" ino="$5"
    local namesize=$(( ${#name} + 1 ))
    printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
        "$ino" "$mode" 0 0 1 "${SOURCE_DATE_EPOCH:-0}" 0 0 0 "$maj" "$min" "$namesize" 0
    printf '%s\0' "$name"
    head -c $(( (4 - (110 + namesize) % 4) % 4 )) /dev/zero
}

mtime="${SOURCE_DATE_EPOCH:-0}"
find "$root" -exec touch -h -d "@$mtime" {} +
cpio_tool=(busybox cpio)
[[ -x "$busybox" ]] && cpio_tool=("$busybox" cpio)
{
    if [[ -z "$base" ]]; then
        # /dev/console must exist before init runs: the kernel opens it as
        # init's stdin/stdout/stderr.
        newc_entry dev 040755 0 0 1
        newc_entry dev/console 020600 5 1 2
        newc_entry 'TRAILER!!!' 0 0 0 0
    fi
    (cd "$root" && find . -mindepth 1 | LC_ALL=C sort | sed 's|^\./||' |
        "${cpio_tool[@]}" -o -H newc -R 0:0 --ignore-devno --renumber-inodes 2>/dev/null)
} | gzip -n -6 >"$stage/new.cpio.gz"

tmp_out="$(mktemp "$(dirname "$out")/.$(basename "$out").XXXXXX")"
if [[ -n "$base" ]]; then
    cat "$base" "$stage/new.cpio.gz" >"$tmp_out"
else
    cat "$stage/new.cpio.gz" >"$tmp_out"
fi
chmod 0644 "$tmp_out"
mv -f "$tmp_out" "$out"
echo "mkinitramfs: $out ($(du -k "$out" | cut -f1) KiB)" >&2
