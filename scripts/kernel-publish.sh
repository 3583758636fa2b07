# shellcheck shell=bash
# Sourced by scripts/guest-kernel.sh and scripts/debug-kernel.sh.
#
#   kernel_publish DIR OUT [SRC:NAME...]
#
# Publish the cached kernel in DIR into OUT: links OUT/vmlinuz and
# OUT/kernel-config, one link OUT/NAME -> DIR/SRC per extra argument, and
# OUT/kernel-version, a real file (so that a build system can depend on
# it: the kernel release and DIR/package), rewritten only when it changes.
kernel_publish() {
    local dir="$1" out="$2" spec tmpv
    shift 2
    mkdir -p "$out"
    ln -sfn "$dir/vmlinuz" "$out/vmlinuz"
    ln -sfn "$dir/config" "$out/kernel-config"
    for spec in "$@"; do
        ln -sfn "$dir/${spec%%:*}" "$out/${spec#*:}"
    done
    tmpv="$(mktemp "$out/.kernel-version.XXXXXX")"
    { cat "$dir/kernel-release"; cat "$dir/package"; } >"$tmpv"
    chmod 0644 "$tmpv"
    if cmp -s "$tmpv" "$out/kernel-version"; then
        rm -f "$tmpv"
    else
        mv "$tmpv" "$out/kernel-version"
    fi
}
